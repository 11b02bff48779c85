//! Stats are exact at rest: the conservation law holds.

mod common;

use bulkheads::{RejectReason, TaskError, ThreadPoolBulkhead};
use common::{blocker, Gate, Started};
use std::sync::{Arc, Barrier};
use std::thread;

#[test]
fn a_fresh_pool_reports_its_configuration() {
    let pool = ThreadPoolBulkhead::builder("fresh")
        .threads(3)
        .queue_capacity(9)
        .build()
        .unwrap();
    let s = pool.stats();
    assert_eq!(s.name, "fresh");
    assert_eq!(
        (s.threads, s.queue_capacity, s.active, s.queued),
        (3, 9, 0, 0)
    );
    assert_eq!(
        (
            s.submitted,
            s.completed,
            s.panicked,
            s.cancelled,
            s.rejected
        ),
        (0, 0, 0, 0, 0)
    );
    assert_eq!(s.utilization(), 0.0);
    assert!(s.to_string().starts_with("fresh: thread pool"));
}

#[test]
fn active_queued_and_utilization_follow_the_work() {
    let pool = ThreadPoolBulkhead::builder("busy")
        .threads(4)
        .queue_capacity(4)
        .build()
        .unwrap();
    let (started, gate) = (Started::new(), Gate::new());
    let handles: Vec<_> = (0..6)
        .map(|_| pool.try_submit(blocker(&started, &gate, ())).unwrap())
        .collect();
    started.wait_for(4);
    let s = pool.stats();
    assert_eq!((s.active, s.queued, s.submitted), (4, 2, 6));
    assert_eq!(s.utilization(), 1.0);
    gate.open();
    handles.into_iter().for_each(|h| h.join().unwrap());
    pool.wait_idle();
    let s = pool.stats();
    assert_eq!((s.active, s.queued, s.completed), (0, 0, 6));
}

#[test]
fn join_returning_means_stats_already_count_the_task() {
    let pool = ThreadPoolBulkhead::builder("visible")
        .threads(2)
        .build()
        .unwrap();
    for i in 1..=500 {
        pool.try_submit(|| ()).unwrap().join().unwrap();
        assert_eq!(pool.stats().completed, i);
    }
}

#[test]
fn conservation_holds_under_six_racing_producers() {
    common::quiet_intentional_panics();
    let pool = Arc::new(
        ThreadPoolBulkhead::builder("law")
            .threads(2)
            .queue_capacity(4)
            .build()
            .unwrap(),
    );
    let start = Arc::new(Barrier::new(6));
    let producers: Vec<_> = (0..6)
        .map(|p| {
            let (pool, start) = (pool.clone(), start.clone());
            thread::spawn(move || {
                start.wait();
                let (mut ok, mut panicked, mut rejected) = (0usize, 0usize, 0usize);
                let mut handles = Vec::new();
                for i in 0..2_000usize {
                    let work = move || {
                        if (i + p) % 7 == 0 {
                            panic!("intentional");
                        }
                        i
                    };
                    match pool.try_submit(work) {
                        Ok(h) => handles.push(h),
                        Err(r) => {
                            assert_eq!(r.reason(), RejectReason::Full);
                            rejected += 1;
                        }
                    }
                    if handles.len() > 16 {
                        for h in handles.drain(..) {
                            match h.join() {
                                Ok(_) => ok += 1,
                                Err(TaskError::Panicked(_)) => panicked += 1,
                                Err(other) => unreachable!("{other}"),
                            }
                        }
                    }
                }
                for h in handles {
                    match h.join() {
                        Ok(_) => ok += 1,
                        Err(TaskError::Panicked(_)) => panicked += 1,
                        Err(other) => unreachable!("{other}"),
                    }
                }
                (ok, panicked, rejected)
            })
        })
        .collect();
    let (mut ok, mut panicked, mut rejected) = (0, 0, 0);
    for p in producers {
        let (o, pa, r) = p.join().unwrap();
        ok += o;
        panicked += pa;
        rejected += r;
    }
    pool.wait_idle();
    let s = pool.stats();
    assert_eq!(ok + panicked + rejected, 12_000);
    assert_eq!(
        (s.completed, s.panicked, s.rejected),
        (ok, panicked, rejected)
    );
    assert_eq!(s.submitted, s.completed + s.panicked + s.cancelled);
    assert_eq!(s.submitted + s.rejected, 12_000);
}

/// One task running and three queued read exactly that, and a finished
/// spawn's slot is back at once: nothing is held for a batch.
#[test]
fn one_running_and_three_queued_read_exactly_that() {
    const CAPACITY: usize = 256;
    let pool = common::pool("exact", 1, CAPACITY - 1);
    let (first, second) = (Gate::new(), Gate::new());
    let started = Started::new();
    pool.try_spawn(blocker(&started, &first, ())).unwrap();
    started.wait_for(1);
    for _ in 0..3 {
        pool.try_spawn(|| {}).unwrap();
    }
    let s = pool.stats();
    assert_eq!((s.active, s.queued, s.completed), (1, 3, 0), "{s:?}");
    pool.try_spawn(blocker(&started, &second, ())).unwrap();
    // The worker runs the first blocker and the three quick jobs, then
    // starts the second blocker: their four slots are free again.
    first.open();
    started.wait_for(1);
    let s = pool.stats();
    assert_eq!((s.active, s.queued, s.completed), (1, 0, 4), "{s:?}");
    let admitted = (0..CAPACITY)
        .take_while(|_| pool.try_spawn(|| {}).is_ok())
        .count();
    assert_eq!(
        admitted,
        CAPACITY - 1,
        "only the running blocker holds a slot"
    );
    second.open();
    pool.wait_idle();
    let s = pool.stats();
    assert_eq!(
        (s.active, s.queued, s.submitted, s.completed),
        (0, 0, CAPACITY + 4, CAPACITY + 4),
        "{s:?}"
    );
}
