//! Fault injection: values and closures whose
//! destructors panic, and a task that never returns (threads the OS
//! refuses are injected by unit tests in `src/thread_pool/builder.rs`). Each fault must come
//! back as a value (an error, a `false`) or be contained, never take a
//! worker or the caller down.

mod common;

use std::panic;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use bulkheads::{TaskError, ThreadPoolBulkhead};
use common::Gate;

const PANIC_MSG: &str = "intentional fault-injection panic";

/// A value whose destructor panics (after telling `dropped`, if set).
struct Bomb(Option<mpsc::Sender<()>>);

impl Drop for Bomb {
    fn drop(&mut self) {
        if let Some(dropped) = self.0.take() {
            let _ = dropped.send(());
        }
        panic!("{}", PANIC_MSG);
    }
}

fn assert_conserved(pool: &ThreadPoolBulkhead) {
    let s = pool.stats();
    assert_eq!(s.submitted, s.completed + s.panicked + s.cancelled, "{s:?}");
}

#[test]
fn a_detached_result_that_panics_on_drop_does_not_kill_the_worker() {
    common::quiet_intentional_panics();
    let pool = ThreadPoolBulkhead::builder("bomb")
        .threads(1)
        .queue_capacity(1)
        .build()
        .unwrap();
    let worker_id = pool.execute(|| thread::current().id()).unwrap();

    // Detach the handle while the task still runs, so the result is
    // dropped on the worker, not here.
    let gate = Gate::default();
    let g = gate.clone();
    let handle = pool
        .try_submit(move || {
            g.wait();
            Bomb(None)
        })
        .unwrap();
    drop(handle);
    gate.open();

    // The same worker thread lives on and runs the next task.
    assert_eq!(pool.execute(|| thread::current().id()).unwrap(), worker_id);
    pool.wait_idle();
    let s = pool.stats();
    assert_eq!(s.threads, 1);
    assert_eq!((s.submitted, s.completed, s.panicked), (3, 3, 0), "{s:?}");
    pool.shutdown();
}

#[test]
fn a_joined_result_that_panics_on_drop_panics_only_where_it_is_dropped() {
    common::quiet_intentional_panics();
    let pool = ThreadPoolBulkhead::builder("bomb-joined")
        .threads(1)
        .build()
        .unwrap();
    let worker_id = pool.execute(|| thread::current().id()).unwrap();
    let bomb = pool.try_submit(|| Bomb(None)).unwrap().join().unwrap();
    // The value is the caller's now; its destructor fires here, not on the
    // worker.
    let exploded = panic::catch_unwind(panic::AssertUnwindSafe(move || drop(bomb)));
    assert!(exploded.is_err());
    assert_eq!(pool.execute(|| thread::current().id()).unwrap(), worker_id);
    pool.wait_idle();
    assert_eq!(pool.stats().threads, 1);
    assert_conserved(&pool);
}

#[test]
fn closures_that_panic_on_drop_when_cancelled_by_shutdown_now_are_contained() {
    common::quiet_intentional_panics();
    let pool = ThreadPoolBulkhead::builder("cancel-bomb")
        .threads(1)
        .queue_capacity(2)
        .build()
        .unwrap();
    let (started_tx, started) = mpsc::channel();
    let gate = Gate::default();
    let g = gate.clone();
    let running = pool
        .try_submit(move || {
            started_tx.send(()).unwrap();
            g.wait();
            1
        })
        .unwrap();
    started.recv().unwrap(); // the only thread is busy: the next two queue
    let (dropped_tx, dropped) = mpsc::channel();
    let bomb = Bomb(Some(dropped_tx.clone()));
    let queued = pool
        .try_submit(move || {
            let _keep = &bomb;
            2
        })
        .unwrap();
    let bomb = Bomb(Some(dropped_tx));
    pool.try_spawn(move || {
        let _keep = &bomb;
    })
    .unwrap();

    // The running task may finish once both queued closures have been
    // dropped by the cancellation (the timeout is a hang guard only: on
    // expiry the gate opens anyway and the assertions below fail).
    let opener = thread::spawn(move || {
        for _ in 0..2 {
            let _ = dropped.recv_timeout(Duration::from_secs(60));
        }
        gate.open();
    });
    let cancelled = panic::catch_unwind(panic::AssertUnwindSafe(|| pool.shutdown_now()))
        .expect("shutdown_now must not panic");
    opener.join().unwrap();
    assert_eq!(cancelled, 2);
    assert_eq!(running.join().unwrap(), 1);
    assert!(matches!(queued.join(), Err(TaskError::Cancelled)));
    let s = pool.stats();
    assert_eq!((s.completed, s.cancelled, s.panicked), (1, 2, 0), "{s:?}");
    assert_conserved(&pool);
}

#[test]
fn a_task_that_never_returns_does_not_stop_shutdown_timeout_from_returning_false() {
    let pool = ThreadPoolBulkhead::builder("stuck")
        .threads(1)
        .queue_capacity(1)
        .build()
        .unwrap();
    let (started_tx, started) = mpsc::channel();
    let (release, stuck) = mpsc::channel::<()>();
    let never = pool
        .try_submit(move || {
            started_tx.send(()).unwrap();
            stuck.recv().unwrap(); // released only after the assertion
            "released"
        })
        .unwrap();
    started.recv().unwrap();
    let queued = pool.try_submit(|| "never ran").unwrap();

    assert!(!pool.shutdown_timeout(Duration::from_millis(20)));
    assert!(pool.is_shut_down());
    // Past the deadline the queue was cancelled; the stuck task was not
    // waited for.
    assert!(matches!(queued.join(), Err(TaskError::Cancelled)));
    assert!(!never.is_finished());

    release.send(()).unwrap();
    assert_eq!(never.join().unwrap(), "released");
    pool.shutdown(); // an explicit shutdown still joins the straggler
    let s = pool.stats();
    assert_eq!((s.completed, s.cancelled), (1, 1), "{s:?}");
    assert_conserved(&pool);
}
