//! Shutdown loses nothing: every admitted task runs or is reported cancelled.

mod common;

use bulkheads::{RejectReason, TaskError, ThreadPoolBulkhead};
use common::{blocker, Gate, Started};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Barrier};
use std::thread;
use std::time::Duration;

#[test]
fn shutdown_runs_everything_queued_then_rejects() {
    let pool = ThreadPoolBulkhead::builder("drain")
        .threads(2)
        .queue_capacity(50)
        .build()
        .unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..52)
        .map(|_| {
            let r = ran.clone();
            pool.try_submit(move || r.fetch_add(1, Ordering::SeqCst))
                .unwrap()
        })
        .collect();
    pool.shutdown();
    assert_eq!(ran.load(Ordering::SeqCst), 52);
    assert!(handles.iter().all(|h| h.is_finished()));
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(
        pool.try_submit(|| ()).unwrap_err().reason(),
        RejectReason::ShutDown
    );
    assert_eq!(
        pool.submit(|| ()).unwrap_err().reason(),
        RejectReason::ShutDown
    );
    assert_eq!(
        pool.try_spawn(|| ()).unwrap_err().reason(),
        RejectReason::ShutDown
    );
    assert_eq!(
        pool.submit_timeout(|| (), Duration::from_millis(1))
            .unwrap_err()
            .reason(),
        RejectReason::ShutDown
    );
    pool.shutdown(); // idempotent
}

#[test]
fn shutdown_now_cancels_the_queue_and_counts_it() {
    let pool = Arc::new(
        ThreadPoolBulkhead::builder("now")
            .threads(2)
            .queue_capacity(5)
            .build()
            .unwrap(),
    );
    let (started, gate) = (Started::new(), Gate::new());
    let running: Vec<_> = (0..2)
        .map(|i| pool.try_submit(blocker(&started, &gate, i)).unwrap())
        .collect();
    started.wait_for(2);
    let queued: Vec<_> = (0..5)
        .map(|i| pool.try_submit(move || i).unwrap())
        .collect();

    let stopper = common::stop_in_background(&pool, |p| p.shutdown_now());
    gate.open();
    assert_eq!(stopper.join().unwrap(), 5);
    for (i, h) in running.into_iter().enumerate() {
        assert_eq!(h.join().unwrap(), i);
    }
    for h in queued {
        assert!(matches!(h.join(), Err(TaskError::Cancelled)));
    }
    let s = pool.stats();
    assert_eq!((s.submitted, s.completed, s.cancelled), (7, 2, 5));
}

#[test]
fn shutdown_timeout_reports_true_when_everything_finishes() {
    let pool = ThreadPoolBulkhead::builder("in-time")
        .threads(2)
        .queue_capacity(10)
        .build()
        .unwrap();
    for _ in 0..12 {
        pool.try_spawn(|| ()).unwrap();
    }
    assert!(pool.shutdown_timeout(Duration::from_secs(60)));
    assert_eq!(pool.stats().completed, 12);
}

#[test]
fn shutdown_timeout_cancels_the_queue_past_the_deadline() {
    let pool = ThreadPoolBulkhead::builder("late")
        .threads(1)
        .queue_capacity(3)
        .build()
        .unwrap();
    let (started, gate) = (Started::new(), Gate::new());
    let running = pool.try_submit(blocker(&started, &gate, 7)).unwrap();
    started.wait_for(1);
    let queued: Vec<_> = (0..3)
        .map(|i| pool.try_submit(move || i).unwrap())
        .collect();
    assert!(!pool.shutdown_timeout(Duration::from_millis(1)));
    for h in queued {
        assert!(matches!(h.join(), Err(TaskError::Cancelled)));
    }
    gate.open();
    assert_eq!(running.join().unwrap(), 7);
    pool.wait_idle();
    let s = pool.stats();
    assert_eq!((s.submitted, s.completed, s.cancelled), (4, 1, 3));
}

#[test]
fn dropping_the_pool_runs_what_was_admitted() {
    let ran = Arc::new(AtomicUsize::new(0));
    let pool = ThreadPoolBulkhead::builder("drop")
        .threads(1)
        .queue_capacity(20)
        .build()
        .unwrap();
    for _ in 0..21 {
        let r = ran.clone();
        pool.try_spawn(move || {
            r.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
    }
    drop(pool);
    assert_eq!(ran.load(Ordering::SeqCst), 21);
}

#[test]
fn a_pool_dropped_on_its_own_worker_does_not_deadlock() {
    let pool = Arc::new(
        ThreadPoolBulkhead::builder("own")
            .threads(2)
            .queue_capacity(4)
            .build()
            .unwrap(),
    );
    let (done_tx, done_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let inner = pool.clone();
    let handle = pool
        .try_submit(move || {
            go_rx.recv().unwrap();
            drop(inner); // the last reference: Drop runs on this worker
            done_tx
                .send(thread::current().name().map(str::to_owned))
                .unwrap();
            "finished"
        })
        .unwrap();
    drop(pool);
    go_tx.send(()).unwrap();
    let name = done_rx.recv().unwrap().unwrap();
    assert!(name.starts_with("own-"));
    assert_eq!(handle.join().unwrap(), "finished");
}

#[test]
fn shutdown_called_from_a_task_does_not_deadlock() {
    let pool = Arc::new(
        ThreadPoolBulkhead::builder("self-stop")
            .threads(1)
            .queue_capacity(2)
            .build()
            .unwrap(),
    );
    let p = pool.clone();
    let h = pool
        .try_submit(move || {
            p.shutdown();
            assert!(!p.shutdown_timeout(Duration::from_secs(1)));
            p.try_submit(|| ()).unwrap_err().reason()
        })
        .unwrap();
    assert_eq!(h.join().unwrap(), RejectReason::ShutDown);
    pool.shutdown();
}

#[test]
fn no_worker_thread_is_left_after_shutdown_returns() {
    let pool = ThreadPoolBulkhead::builder("joined")
        .threads(3)
        .build()
        .unwrap();
    let alive = Arc::new(()); // each worker holds a clone while it runs a task
    let barrier = Arc::new(Barrier::new(3));
    for _ in 0..3 {
        let (a, b) = (alive.clone(), barrier.clone());
        pool.try_spawn(move || {
            b.wait();
            drop(a);
        })
        .unwrap();
    }
    pool.shutdown();
    assert_eq!(Arc::strong_count(&alive), 1);
    // The workers themselves are joined: their thread-local state is gone.
    assert!(pool.is_shut_down());
}

#[test]
fn submitters_racing_shutdown_never_strand_a_task() {
    for round in 0..50 {
        let pool = Arc::new(
            ThreadPoolBulkhead::builder("race")
                .threads(2)
                .queue_capacity(8)
                .build()
                .unwrap(),
        );
        let start = Arc::new(Barrier::new(4));
        let producers: Vec<_> = (0..3)
            .map(|_| {
                let (p, s) = (pool.clone(), start.clone());
                thread::spawn(move || {
                    s.wait();
                    let mut handles = Vec::new();
                    for i in 0..200 {
                        match p.try_submit(move || i) {
                            Ok(h) => handles.push(h),
                            Err(r) if r.reason() == RejectReason::ShutDown => break,
                            Err(_) => thread::yield_now(),
                        }
                    }
                    let (mut ran, mut cancelled) = (0usize, 0usize);
                    for h in handles {
                        match h.join() {
                            Ok(_) => ran += 1,
                            Err(TaskError::Cancelled) => cancelled += 1,
                            Err(e) => panic!("{e}"),
                        }
                    }
                    (ran, cancelled)
                })
            })
            .collect();
        start.wait();
        let cancelled_by_shutdown = if round % 2 == 0 {
            pool.shutdown_now()
        } else {
            pool.shutdown();
            0
        };
        let (mut ran, mut cancelled) = (0, 0);
        for p in producers {
            let (r, c) = p.join().unwrap();
            ran += r;
            cancelled += c;
        }
        let s = pool.stats();
        assert_eq!(s.submitted, ran + cancelled);
        assert_eq!((s.completed, s.cancelled), (ran, cancelled));
        assert_eq!(cancelled_by_shutdown, cancelled);
    }
}
