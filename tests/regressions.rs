//! One test per defect found in review of the pool, each failing on the
//! code before its fix: a nested blocking submit, a joiner behind another
//! result's destructor, admission order across a resize, and the count
//! `shutdown_now` reports.

mod common;

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bulkheads::TaskError;
use common::{Gate, Started, Watchdog};

/// One thread, 63 queue places: a task blocked on a gate, then a task that
/// calls the blocking `spawn` on its own pool, then fillers up to the
/// capacity. Once the gate opens, the nested `spawn` must get a slot (the
/// first task's) and return: no finished job's slot may be held back.
#[test]
fn a_nested_blocking_spawn_on_a_full_pool_returns_once_a_slot_frees() {
    let _watchdog = Watchdog::arm("nested spawn", Duration::from_secs(60));
    let pool = Arc::new(common::pool("nested", 1, 63));
    let (started, gate) = (Started::new(), Gate::new());
    pool.try_spawn(common::blocker(&started, &gate, ()))
        .unwrap();
    started.wait_for(1);
    let (done_tx, done) = mpsc::channel();
    let inner = Arc::clone(&pool);
    pool.try_spawn(move || {
        inner.spawn(|| ()).expect("room comes back");
        done_tx.send(()).unwrap();
    })
    .unwrap();
    let mut fillers = 0;
    while pool.try_spawn(|| ()).is_ok() {
        fillers += 1;
    }
    assert_eq!(fillers, 62);
    gate.open();
    done.recv().expect("the nested spawn returned");
    pool.wait_idle();
    let s = pool.stats();
    assert_eq!((s.submitted, s.completed), (65, 65), "{s:?}");
}

/// A value whose destructor blocks until the test lets it go.
struct SlowDrop {
    dropping: mpsc::Sender<()>,
    release: Arc<Mutex<mpsc::Receiver<()>>>,
}

impl Drop for SlowDrop {
    fn drop(&mut self) {
        let _ = self.dropping.send(());
        let _ = self.release.lock().unwrap().recv();
    }
}

/// A task finished; another task's result (its handle dropped) is being
/// dropped on the worker, slowly. Joining the finished task, asking
/// whether it finished, and a timed join all return meanwhile.
#[test]
fn a_finished_task_joins_while_another_result_is_being_dropped() {
    let _watchdog = Watchdog::arm("join behind a drop", Duration::from_secs(60));
    let pool = common::pool("drops", 1, 4);
    let (dropping_tx, dropping) = mpsc::channel();
    let (release, release_rx) = mpsc::channel();
    let release_rx = Arc::new(Mutex::new(release_rx));
    let first = pool.try_submit(|| 1).unwrap();
    let timed = pool.try_submit(|| 2).unwrap();
    drop(
        pool.try_submit(move || SlowDrop {
            dropping: dropping_tx,
            release: release_rx,
        })
        .unwrap(),
    );
    dropping.recv().unwrap(); // the worker is inside the slow destructor
    assert!(first.is_finished());
    assert_eq!(first.join().unwrap(), 1);
    assert_eq!(
        timed
            .join_timeout(Duration::from_secs(30))
            .ok()
            .unwrap()
            .unwrap(),
        2
    );
    // The pool is not idle while that destructor runs.
    assert!(!pool.wait_idle_timeout(Duration::from_millis(10)));
    release.send(()).unwrap();
    pool.wait_idle();
}

/// Tasks start in admission order, also after the thread count changed
/// and the queue grew past what the pool was built with (one thread runs
/// them, so start order is observable).
#[test]
fn tasks_start_in_admission_order_across_live_resizes() {
    let pool = common::pool("fifo", 1, 2);
    pool.set_threads(2).unwrap();
    pool.set_threads(1).unwrap();
    let (started, gate) = (Started::new(), Gate::new());
    let blocker = pool
        .try_submit(common::blocker(&started, &gate, ()))
        .unwrap();
    started.wait_for(1);
    let order = Arc::new(Mutex::new(Vec::new()));
    let submit = |i: usize| {
        let order = Arc::clone(&order);
        pool.try_submit(move || order.lock().unwrap().push(i))
            .unwrap()
    };
    let mut handles: Vec<_> = (0..2).map(submit).collect();
    pool.set_queue_capacity(5_000).unwrap();
    handles.extend((2..2_500).map(submit));
    pool.set_queue_capacity(6_000).unwrap();
    handles.extend((2_500..5_000).map(submit));
    gate.open();
    blocker.join().unwrap();
    for h in handles {
        h.join().unwrap();
    }
    let order = order.lock().unwrap();
    assert_eq!(order.len(), 5_000);
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "out of order near {:?}",
        order.windows(2).find(|w| w[0] >= w[1])
    );
}

/// Two `shutdown_now` calls and a `cancel_queued` race over 100 queued
/// tasks: each reports only what it cancelled, and together exactly what
/// the handles report as cancelled.
#[test]
fn concurrent_cancellers_each_report_their_own_cancellations() {
    let pool = Arc::new(common::pool("cancellers", 1, 100));
    let (started, gate) = (Started::new(), Gate::new());
    let blocker = pool
        .try_submit(common::blocker(&started, &gate, ()))
        .unwrap();
    started.wait_for(1);
    let queued: Vec<_> = (0..100)
        .map(|i| pool.try_submit(move || i).unwrap())
        .collect();
    let callers: Vec<_> = (0..3)
        .map(|i| {
            let pool = Arc::clone(&pool);
            std::thread::spawn(move || {
                if i == 0 {
                    pool.cancel_queued()
                } else {
                    pool.shutdown_now()
                }
            })
        })
        .collect();
    gate.open();
    let reported: usize = callers.into_iter().map(|c| c.join().unwrap()).sum();
    blocker.join().unwrap();
    let cancelled = queued
        .into_iter()
        .map(|h| h.join())
        .filter(|r| matches!(r, Err(TaskError::Cancelled)))
        .count();
    assert_eq!(reported, cancelled);
    let s = pool.stats();
    assert_eq!(reported, s.cancelled, "{s:?}");
    assert_eq!(s.submitted, s.completed + s.cancelled, "{s:?}");
}

/// `execute` and `wait_idle` called from the pool's own task return
/// instead of waiting for themselves.
#[test]
fn execute_and_wait_idle_on_the_pools_own_worker_do_not_deadlock() {
    let _watchdog = Watchdog::arm("self-calls", Duration::from_secs(60));
    let pool = Arc::new(common::pool("self", 1, 0));
    let inner = Arc::clone(&pool);
    let value = pool
        .execute(move || {
            inner.wait_idle();
            inner.execute(|| 21).unwrap() * 2
        })
        .unwrap();
    assert_eq!(value, 42);
    let inner = Arc::clone(&pool);
    common::quiet_intentional_panics();
    let inner_result = pool
        .execute(move || inner.execute(|| -> i32 { panic!("intentional") }))
        .unwrap();
    assert!(matches!(
        inner_result,
        Err(bulkheads::ExecuteError::Panicked(_))
    ));
}
