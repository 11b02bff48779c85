//! Cancelling one task, emptying the queue, and calls from a pool's own
//! worker, none of which closes the pool or waits for itself.

mod common;

use bulkheads::{ExecuteError, TaskError, ThreadPoolBulkhead};
use common::Watchdog;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc};
use std::time::Duration;

/// Long enough never to fire on a working pool; only turns a deadlock
/// into a failure.
const HANG: Duration = Duration::from_secs(60);

#[test]
fn cancelling_a_queued_task_frees_its_slot_at_once_and_it_never_runs() {
    let pool = common::pool("cancel-one", 1, 1);
    let (gate, running) = common::occupy(&pool, 1);
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    let queued = pool.try_submit(move || r.fetch_add(1, SeqCst)).unwrap();
    assert!(pool.try_submit(|| 0).unwrap_err().is_full());

    assert!(queued.cancel());
    assert!(queued.is_finished());
    // The slot is free before the worker has reached the cancelled job.
    let next = pool
        .try_submit(|| 7)
        .expect("the cancelled task's slot is free");
    assert!(!queued.cancel(), "a second cancel has nothing to do");

    gate.open();
    running.into_iter().for_each(|h| h.join().unwrap());
    assert_eq!(next.join().unwrap(), 7);
    assert!(matches!(queued.join(), Err(TaskError::Cancelled)));
    pool.wait_idle();
    assert_eq!(ran.load(SeqCst), 0, "a cancelled task never runs");
    let stats = pool.stats();
    assert_eq!(
        (stats.submitted, stats.completed, stats.cancelled),
        (3, 2, 1)
    );
}

#[test]
fn cancelling_a_running_task_returns_false_and_it_completes() {
    let pool = common::pool("cancel-running", 1, 0);
    let (started_tx, started) = mpsc::channel();
    let gate = common::Gate::new();
    let g = gate.clone();
    let handle = pool
        .try_submit(move || {
            started_tx.send(()).unwrap();
            g.wait();
            "finished"
        })
        .unwrap();
    started.recv().unwrap();
    assert!(!handle.cancel());
    gate.open();
    assert_eq!(handle.join().unwrap(), "finished");
    assert_eq!(pool.stats().cancelled, 0);
}

#[test]
fn cancel_queued_returns_the_count_and_the_pool_keeps_serving() {
    let pool = common::pool("drain", 2, 5);
    let (gate, running) = common::occupy(&pool, 2);
    let ran = Arc::new(AtomicUsize::new(0));
    let queued: Vec<_> = (0..5)
        .map(|_| {
            let r = ran.clone();
            pool.try_submit(move || r.fetch_add(1, SeqCst)).unwrap()
        })
        .collect();

    assert_eq!(pool.cancel_queued(), 5);
    assert!(!pool.is_shut_down());
    // Every queued slot is free while both running tasks still hold theirs.
    let more: Vec<_> = (0..5)
        .map(|i| pool.try_submit(move || i).unwrap())
        .collect();
    assert!(pool.try_submit(|| 0).unwrap_err().is_full());
    assert_eq!(pool.cancel_queued(), 5);
    assert_eq!(pool.cancel_queued(), 0);

    gate.open();
    running.into_iter().for_each(|h| h.join().unwrap());
    for h in queued.into_iter().chain(more) {
        assert!(h.join().unwrap_err().is_cancelled());
    }
    assert_eq!(pool.execute(|| 9).unwrap(), 9, "the pool keeps serving");
    pool.wait_idle();
    assert_eq!(ran.load(SeqCst), 0);
    let stats = pool.stats();
    assert_eq!(stats.cancelled, 10);
    assert_eq!(
        stats.submitted,
        stats.completed + stats.panicked + stats.cancelled
    );
}

#[test]
fn execute_on_the_pools_own_worker_runs_inline_instead_of_hanging() {
    let _watchdog = Watchdog::arm("execute on its own worker", HANG);
    // One thread, no queue: a queued inner call could never run.
    let pool = Arc::new(common::pool("self-call", 1, 0));
    let p = pool.clone();
    let outer = pool
        .try_submit(move || {
            let inner = p.execute(|| std::thread::current().name().map(str::to_owned));
            p.wait_idle(); // returns at once on its own worker
            inner
        })
        .unwrap();
    let inner = outer.join().unwrap().unwrap();
    assert_eq!(
        inner.as_deref(),
        Some("self-call-0"),
        "ran on the calling worker"
    );
}

#[test]
fn a_panic_in_an_inline_execute_is_reported_not_propagated() {
    common::quiet_intentional_panics();
    let _watchdog = Watchdog::arm("execute on its own worker", HANG);
    let pool = Arc::new(common::pool("self-panic", 1, 0));
    let p = pool.clone();
    let outer = pool
        .try_submit(
            move || match p.execute(|| -> u8 { panic!("intentional: inner") }) {
                Err(ExecuteError::Panicked(_)) => "reported",
                _ => "not reported",
            },
        )
        .unwrap();
    assert_eq!(outer.join().unwrap(), "reported");
    assert_eq!(pool.stats().panicked, 0, "the outer task returned");
}

#[test]
fn a_pool_cancelled_empty_still_admits_up_to_its_capacity() {
    let pool = ThreadPoolBulkhead::builder("refill")
        .threads(1)
        .queue_capacity(3)
        .build()
        .unwrap();
    let (gate, running) = common::occupy(&pool, 1);
    for _ in 0..3 {
        let h = pool.try_submit(|| ()).unwrap();
        assert!(h.cancel());
    }
    let admitted: Vec<_> = (0..3)
        .map(|i| pool.try_submit(move || i).unwrap())
        .collect();
    assert!(pool.try_submit(|| 0).unwrap_err().is_full());
    gate.open();
    running.into_iter().for_each(|h| h.join().unwrap());
    let values: Vec<_> = admitted.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(values, [0, 1, 2]);
}
