//! Live resizing: growing admits more at once, shrinking loses nothing.

mod common;

use bulkheads::{BuildErrorKind, RejectReason, ThreadPoolBulkhead};
use common::{blocker, Gate, Started};
use std::sync::{Arc, Barrier};

#[test]
fn growing_threads_admits_more_at_once() {
    let pool = ThreadPoolBulkhead::builder("grow")
        .threads(1)
        .build()
        .unwrap();
    let (started, gate) = (Started::new(), Gate::new());
    let mut handles = vec![pool.try_submit(blocker(&started, &gate, ())).unwrap()];
    started.wait_for(1);
    assert_eq!(
        pool.try_submit(|| ()).unwrap_err().reason(),
        RejectReason::Full
    );

    pool.set_threads(4).unwrap();
    assert_eq!(pool.stats().threads, 4);
    for _ in 0..3 {
        handles.push(pool.try_submit(blocker(&started, &gate, ())).unwrap());
    }
    started.wait_for(3); // four tasks run at once: the new threads are live
    assert_eq!(pool.stats().active, 4);
    assert_eq!(
        pool.try_submit(|| ()).unwrap_err().reason(),
        RejectReason::Full
    );
    gate.open();
    handles.into_iter().for_each(|h| h.join().unwrap());
}

#[test]
fn shrinking_lets_running_tasks_finish_and_loses_nothing() {
    let pool = ThreadPoolBulkhead::builder("shrink")
        .threads(4)
        .queue_capacity(4)
        .build()
        .unwrap();
    let (started, gate) = (Started::new(), Gate::new());
    let handles: Vec<_> = (0..8)
        .map(|i| pool.try_submit(blocker(&started, &gate, i)).unwrap())
        .collect();
    started.wait_for(4);

    pool.set_threads(1).unwrap();
    let stats = pool.stats();
    // Four still run on the retiring threads; a snapshot never shows more
    // active than the configured threads.
    assert_eq!((stats.threads, stats.active), (1, 1));
    assert!(stats.queued <= stats.queue_capacity, "{stats:?}");
    // 8 in flight, capacity now 1 + 4: nothing new until under it.
    assert_eq!(
        pool.try_submit(|| 0).unwrap_err().reason(),
        RejectReason::Full
    );

    gate.open();
    let sum: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(sum, 28);
    pool.wait_idle();

    // Only one thread is left: two tasks can never run at the same time.
    let barrier = Arc::new(Barrier::new(2));
    let b = barrier.clone();
    let first = pool.try_submit(move || b.wait().is_leader());
    assert!(first.is_ok());
    let overflow = pool.try_submit(|| ());
    let queued = overflow.expect("queue has room");
    barrier.wait(); // releases the first task; the queued one runs after it
    first.unwrap().join().unwrap();
    queued.join().unwrap();
    let s = pool.stats();
    assert_eq!(s.submitted, s.completed);
}

#[test]
fn shrink_then_grow_keeps_names_within_range() {
    let pool = ThreadPoolBulkhead::builder("names")
        .threads(4)
        .build()
        .unwrap();
    pool.set_threads(2).unwrap();
    pool.set_threads(4).unwrap();
    pool.set_threads(3).unwrap();
    let mut names = common::names_of_threads_running(&pool, 3);
    names.dedup();
    assert_eq!(names.len(), 3);
    for n in names {
        let index: usize = n.strip_prefix("names-").unwrap().parse().unwrap();
        assert!(index < 4, "{n}");
    }
}

#[test]
fn queue_capacity_can_be_raised_and_lowered_live() {
    let pool = common::pool("queue", 1, 0);
    let (gate, h) = common::occupy(&pool, 1);
    pool.set_queue_capacity(2).unwrap();
    let q1 = pool.try_submit(|| 1).unwrap();
    let q2 = pool.try_submit(|| 2).unwrap();
    assert!(pool.try_submit(|| 3).is_err());
    pool.set_queue_capacity(0).unwrap();
    assert_eq!(pool.stats().queue_capacity, 0);
    gate.open();
    h.into_iter().for_each(|h| h.join().unwrap());
    assert_eq!(q1.join().unwrap() + q2.join().unwrap(), 3);
    pool.wait_idle();
    pool.try_submit(|| ()).unwrap().join().unwrap();
}

#[test]
fn resizing_to_zero_or_after_shutdown_is_an_error() {
    let pool = ThreadPoolBulkhead::builder("bad")
        .threads(2)
        .build()
        .unwrap();
    assert_eq!(
        pool.set_threads(0).unwrap_err().kind(),
        BuildErrorKind::ZeroThreads
    );
    assert_eq!(
        pool.set_threads(usize::MAX).unwrap_err().kind(),
        BuildErrorKind::TooLarge
    );
    assert_eq!(
        pool.set_queue_capacity(usize::MAX).unwrap_err().kind(),
        BuildErrorKind::TooLarge
    );
    assert_eq!(pool.stats().threads, 2);
    pool.shutdown();
    assert_eq!(
        pool.set_threads(3).unwrap_err().kind(),
        BuildErrorKind::ShutDown
    );
}

#[test]
fn resizing_under_load_loses_no_task() {
    let pool = Arc::new(
        ThreadPoolBulkhead::builder("churn")
            .threads(2)
            .queue_capacity(16)
            .build()
            .unwrap(),
    );
    let producer = {
        let p = pool.clone();
        std::thread::spawn(move || {
            let handles: Vec<_> = (0..20_000u64)
                .map(|i| p.submit(move || i).unwrap())
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum::<u64>()
        })
    };
    for n in [4, 1, 3, 2, 5, 1, 2].iter().cycle().take(200) {
        pool.set_threads(*n).unwrap();
    }
    assert_eq!(producer.join().unwrap(), (0..20_000u64).sum());
    pool.wait_idle();
    let s = pool.stats();
    assert_eq!((s.submitted, s.completed, s.rejected), (20_000, 20_000, 0));
}

/// A retiring worker may take its token while a task sits behind it in the
/// queue's overflow (the pool's preallocated channel here holds one job,
/// the token). The other workers are parked: someone must wake one of them
/// for the task, or it waits forever while threads sit idle.
#[test]
fn a_worker_retiring_while_a_task_waits_never_strands_it() {
    let _watchdog = common::Watchdog::arm("retire race", std::time::Duration::from_secs(120));
    let pool = common::pool("retire", 1, 0);
    pool.set_threads(3).unwrap();
    for i in 0..20_000u64 {
        pool.set_threads(2).unwrap();
        assert_eq!(pool.submit(move || i).unwrap().join().unwrap(), i);
        pool.set_threads(3).unwrap();
    }
    pool.wait_idle();
    let s = pool.stats();
    assert_eq!((s.submitted, s.completed, s.rejected), (20_000, 20_000, 0));
}
