//! A finished task's allocation is reused by a later task of the same type,
//! and only of the same type: every task still runs once with its own
//! closure, and every handle gets its own result, whatever mix of task
//! types, dropped handles and spawns a thread submits.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};

use bulkheads::ThreadPoolBulkhead;

#[test]
fn mixed_task_types_each_get_their_own_results() {
    let pool = ThreadPoolBulkhead::builder("mixed")
        .threads(2)
        .queue_capacity(16)
        .build()
        .unwrap();
    let spawned = Arc::new(AtomicUsize::new(0));
    let detached = Arc::new(AtomicUsize::new(0));
    let rounds = 5_000;
    for round in 0..rounds {
        // Handles kept and joined, of two result types.
        let number = pool.submit(move || round * 3).unwrap();
        let text = pool.submit(move || format!("round {round}")).unwrap();
        // A handle dropped at once: its cell comes back for reuse.
        let counter = Arc::clone(&detached);
        drop(
            pool.submit(move || counter.fetch_add(1, Ordering::Relaxed))
                .unwrap(),
        );
        // A spawn, whose box comes back too.
        let counter = Arc::clone(&spawned);
        pool.spawn(move || {
            counter.fetch_add(1, Ordering::Relaxed);
        })
        .unwrap();
        assert_eq!(number.join().unwrap(), round * 3);
        assert_eq!(text.join().unwrap(), format!("round {round}"));
    }
    pool.wait_idle();
    assert_eq!(spawned.load(Ordering::Relaxed), rounds);
    assert_eq!(detached.load(Ordering::Relaxed), rounds);
    let stats = pool.stats();
    assert_eq!(stats.submitted, 4 * rounds);
    assert_eq!(stats.completed, 4 * rounds);
}

/// One closure type for every task of the next test, so that their cells
/// can be reused for each other: returns `n + 1`, after saying it started
/// and waiting for a go, if given the channels for that.
fn plus_one(
    n: u32,
    gate: Option<(mpsc::Sender<()>, mpsc::Receiver<()>)>,
) -> impl FnOnce() -> u32 + Send + 'static {
    move || {
        if let Some((started, go)) = gate {
            started.send(()).unwrap();
            go.recv().unwrap();
        }
        n + 1
    }
}

#[test]
fn a_reused_cell_is_not_finished_before_its_new_task_runs() {
    let pool = ThreadPoolBulkhead::builder("fresh")
        .threads(1)
        .queue_capacity(64)
        .build()
        .unwrap();
    for round in 0..2_000u32 {
        // A task that finishes after its handle was dropped: the worker
        // published its result, then kept the emptied cell for reuse.
        let (started_tx, started) = mpsc::channel();
        let (go, go_rx) = mpsc::channel();
        let handle = pool
            .submit(plus_one(round, Some((started_tx, go_rx))))
            .unwrap();
        started.recv().unwrap();
        drop(handle);
        go.send(()).unwrap();
        pool.wait_idle();
        // Hold the worker, then submit a task of the same type: whichever
        // cell it got, it must not look finished before it ran.
        let (release, hold) = mpsc::channel::<()>();
        pool.spawn(move || {
            let _ = hold.recv();
        })
        .unwrap();
        let handle = pool.submit(plus_one(round, None)).unwrap();
        assert!(
            !handle.is_finished(),
            "round {round}: finished before it ran"
        );
        release.send(()).unwrap();
        assert_eq!(handle.join().unwrap(), round + 1);
    }
}
