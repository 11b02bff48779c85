//! Where user values are dropped. A worker keeps the emptied allocations of
//! finished jobs and hands them back in batches, to be freed by a later
//! submit on the submitting thread. Only empty allocations may travel: a
//! spawned closure's captures, and a detached task's result, are dropped on
//! the worker when the job finishes, never later inside someone's submit.

mod common;

use std::cell::Cell;
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::Duration;

use common::Watchdog;

thread_local! {
    /// Set on the submitting thread while it is inside a submit call.
    static IN_SUBMIT: Cell<bool> = const { Cell::new(false) };
}

/// What a [`DropSpy`] reports: the dropping thread's name, and whether the
/// drop happened inside a submit call.
type Report = (Option<String>, bool);

/// Reports, when dropped, where it was dropped.
struct DropSpy(Sender<Report>);

impl Drop for DropSpy {
    fn drop(&mut self) {
        let name = std::thread::current().name().map(str::to_owned);
        let _ = self.0.send((name, IN_SUBMIT.with(Cell::get)));
    }
}

fn submitting<R>(f: impl FnOnce() -> R) -> R {
    IN_SUBMIT.with(|c| c.set(true));
    let r = f();
    IN_SUBMIT.with(|c| c.set(false));
    r
}

fn spies() -> (Sender<Report>, Receiver<Report>) {
    mpsc::channel()
}

#[test]
fn a_detached_tasks_result_is_dropped_by_the_worker_with_no_later_submit() {
    let _watchdog = Watchdog::arm("detached result drop", Duration::from_secs(60));
    let pool = common::pool("detached", 1, 4);
    let (tx, rx) = spies();
    let gate = common::Gate::new();
    let g = gate.clone();
    let handle = pool
        .try_submit(move || {
            g.wait();
            DropSpy(tx)
        })
        .unwrap();
    drop(handle); // detached before it finishes: the worker owns the result
    gate.open();
    // Nothing else is submitted: the result must not wait for a submit.
    let (name, _) = rx.recv().unwrap();
    assert_eq!(name.as_deref(), Some("detached-0"));
}

#[test]
fn a_spawned_closures_captures_are_dropped_by_the_worker() {
    let _watchdog = Watchdog::arm("spawn capture drop", Duration::from_secs(60));
    let pool = common::pool("captures", 1, 4);
    let (tx, rx) = spies();
    let spy = DropSpy(tx);
    pool.spawn(move || {
        let _keep = &spy;
    })
    .unwrap();
    let (name, _) = rx.recv().unwrap();
    assert_eq!(name.as_deref(), Some("captures-0"));
}

#[test]
fn freeing_finished_jobs_on_a_submit_runs_no_user_code() {
    // A long queue, so workers batch what finished jobs leave behind and
    // later submits free those batches.
    let pool = common::pool("stream", 2, 512);
    let (tx, rx) = spies();
    let n = 5_000;
    for i in 0..n {
        let spy = DropSpy(tx.clone());
        if i % 2 == 0 {
            submitting(|| pool.spawn(move || drop(spy))).unwrap();
        } else {
            let result = DropSpy(tx.clone());
            let handle = submitting(|| {
                pool.submit(move || {
                    drop(spy);
                    result
                })
            })
            .unwrap();
            drop(handle); // outside the submit call: may drop the result here
        }
    }
    drop(tx);
    pool.wait_idle();
    assert_eq!(pool.stats().completed, n);
    // Shutting down joins the workers and frees whatever is still waiting,
    // so every drop has been reported by the time the pool is gone.
    drop(pool);
    let drops: Vec<bool> = rx.try_iter().map(|(_, in_submit)| in_submit).collect();
    // Every closure's spy, plus every task's result.
    assert_eq!(drops.len(), n + n / 2);
    let inside_submit = drops.iter().filter(|&&inside| inside).count();
    assert_eq!(inside_submit, 0, "user values dropped inside a submit call");
}

#[test]
fn a_task_detached_before_it_runs_still_runs_and_gives_its_slot_back() {
    let _watchdog = Watchdog::arm("detached before running", Duration::from_secs(60));
    common::quiet_intentional_panics();
    let (threads, queue) = (1, 3);
    let pool = common::pool("queued-detached", threads, queue);
    let (gate, running) = common::occupy(&pool, threads);
    let (tx, rx) = spies();
    // Queued behind the blocker; handles dropped before they can run.
    let spy = DropSpy(tx.clone());
    drop(pool.try_submit(move || spy).unwrap());
    drop(
        pool.try_submit(|| -> u8 { panic!("intentional: a detached task panics") })
            .unwrap(),
    );
    let (started, blocked) = (common::Started::new(), common::Gate::new());
    drop(
        pool.try_submit(common::blocker(&started, &blocked, ()))
            .unwrap(),
    );
    assert_eq!(pool.stats().queued, queue);
    gate.open();
    running.into_iter().for_each(|h| h.join().unwrap());
    // The result nobody can join is dropped by the worker.
    let (name, in_submit) = rx.recv().unwrap();
    assert_eq!(name.as_deref(), Some("queued-detached-0"));
    assert!(!in_submit);
    started.wait_for(1);
    blocked.open();
    pool.wait_idle();
    let stats = pool.stats();
    assert_eq!((stats.completed, stats.panicked), (3, 1));
    assert_eq!((stats.active, stats.queued), (0, 0));
    // Every slot is back: the pool admits its whole capacity again.
    let (gate, handles) = common::occupy(&pool, threads);
    let queued: Vec<_> = (0..queue).map(|_| pool.try_submit(|| 1).unwrap()).collect();
    assert!(pool.try_submit(|| 1).unwrap_err().is_full());
    gate.open();
    handles.into_iter().for_each(|h| h.join().unwrap());
    assert_eq!(
        queued.into_iter().map(|h| h.join().unwrap()).sum::<i32>(),
        3
    );
}
