//! loom models of the real `ThreadPoolBulkhead` (`src/thread_pool/*`),
//! compiled from the crate's own sources with `RUSTFLAGS="--cfg loom"`.
//!
//! Under loom the pool queue's two channels are the `sync` facade's
//! `Mutex<VecDeque>`s, not crossbeam-channel (loom cannot see inside
//! crossbeam's lock-free lists); everything else — the queue's overflow and
//! nudge logic, the slot counter, the task cell, the worker loop, the
//! Exit-token shutdown protocol, the counters — is the code that ships.
//! Pools have one worker thread, two in one model (loom allows five threads
//! including the main one), and a queue of at most one.
//!
//! There are no timeouts here: loom has no time, so a model that would hang
//! (a stranded task, a lost wake-up) is reported as a deadlock.
#![cfg(loom)]

use bulkheads::{PoolStats, TaskError, ThreadPoolBulkhead};
use loom::sync::{Arc, Condvar, Mutex};
use loom::thread;

fn pool(queue: usize) -> ThreadPoolBulkhead {
    ThreadPoolBulkhead::builder("m")
        .threads(1)
        .queue_capacity(queue)
        .build()
        .expect("one loom thread")
}

fn conserved(s: &PoolStats) -> bool {
    s.submitted == s.completed + s.panicked + s.cancelled
}

/// Silences the panics the models cause on purpose.
fn quiet_intentional_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let msg = info
                .payload()
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| info.payload().downcast_ref::<String>().map(String::as_str));
            if msg != Some("intentional") {
                default(info);
            }
        }));
    });
}

/// A task's slot is free before its result is visible: at capacity 1, a
/// `try_submit` right after `join` always finds room.
#[test]
fn a_joined_task_has_already_freed_its_slot() {
    loom::model(|| {
        let pool = pool(0);
        let first = pool.try_submit(|| 1).unwrap();
        assert_eq!(first.join().unwrap(), 1);
        let second = pool
            .try_submit(|| 2)
            .expect("the slot was freed before join returned");
        assert_eq!(second.join().unwrap(), 2);
        let stats = pool.stats();
        assert_eq!((stats.submitted, stats.completed), (2, 2));
        drop(pool);
    });
}

/// A thread that offers `|| 7` to `pool` once and joins it if admitted
/// (`None`: refused, full or shut down).
fn racing_submitter(
    pool: &Arc<ThreadPoolBulkhead>,
) -> thread::JoinHandle<Option<Result<i32, TaskError>>> {
    let p = pool.clone();
    thread::spawn(move || match p.try_submit(|| 7) {
        Ok(handle) => Some(handle.join()),
        Err(rejected) => {
            assert!(rejected.is_shut_down() || rejected.is_full());
            None
        }
    })
}

/// Shutdown races a submission from another thread. The task is either
/// refused, run, or (never, with `shutdown`) cancelled — and its join
/// always returns: no task is stranded behind the Exit token.
#[test]
fn a_task_admitted_during_shutdown_is_run_never_stranded() {
    loom::model(|| {
        let pool = Arc::new(pool(1));
        let submitter = racing_submitter(&pool);
        pool.shutdown();
        if let Some(joined) = submitter.join().unwrap() {
            assert_eq!(joined.unwrap(), 7);
        }
        let stats = pool.stats();
        assert!(conserved(&stats), "{stats:?}");
        assert_eq!(stats.cancelled, 0);
    });
}

/// `shutdown_now` races a submission: the task is run or reported
/// Cancelled, and the count `shutdown_now` returns matches.
#[test]
fn a_task_admitted_during_shutdown_now_is_run_or_cancelled() {
    loom::model(|| {
        let pool = Arc::new(pool(1));
        let submitter = racing_submitter(&pool);
        let cancelled = pool.shutdown_now();
        let joined = submitter.join().unwrap();
        let stats = pool.stats();
        assert!(conserved(&stats), "{stats:?}");
        match joined {
            Some(Ok(v)) => assert_eq!((v, stats.completed), (7, 1)),
            Some(Err(TaskError::Cancelled)) => assert_eq!(stats.cancelled, 1),
            Some(Err(e)) => panic!("unexpected {e:?}"),
            None => assert_eq!(stats.submitted, 0),
        }
        // shutdown_now joins the worker before counting, so its count is
        // every cancellation, the worker's included.
        assert_eq!(cancelled, stats.cancelled);
    });
}

/// A queued task cancelled by `shutdown_now` while another runs: the
/// running one completes, the queued one reports Cancelled (or ran, if the
/// worker reached it before the cancel flag), and the law holds.
#[test]
fn shutdown_now_with_a_queued_task_accounts_for_both() {
    loom::model(|| {
        let pool = pool(1);
        let a = pool.try_submit(|| 1).unwrap();
        let b = pool.try_submit(|| 2).unwrap();
        let cancelled = pool.shutdown_now();
        let ra = a.join();
        let rb = b.join();
        let stats = pool.stats();
        assert!(conserved(&stats), "{stats:?}");
        assert_eq!(stats.submitted, 2);
        let n_cancelled = [&ra, &rb]
            .iter()
            .filter(|r| matches!(r, Err(TaskError::Cancelled)))
            .count();
        assert_eq!(n_cancelled, cancelled);
        assert_eq!(stats.cancelled, cancelled);
        assert_eq!(stats.completed, 2 - cancelled);
    });
}

/// Stats while a task is in flight: what is submitted and not finished is
/// exactly what is active or queued; after `wait_idle` the law is exact,
/// panics included.
#[test]
fn stats_account_for_in_flight_tasks_and_balance_when_idle() {
    quiet_intentional_panics();
    loom::model(|| {
        let pool = Arc::new(pool(1));
        // A latch the task waits on, so it is surely in flight below.
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        let g = gate.clone();
        pool.try_spawn(move || {
            let (lock, cv) = &*g;
            let mut open = lock.lock().unwrap();
            while !*open {
                open = cv.wait(open).unwrap();
            }
        })
        .unwrap();
        let p = pool.clone();
        let other = thread::spawn(move || {
            if let Ok(h) = p.try_submit(|| -> u8 { panic!("intentional") }) {
                assert!(matches!(h.join(), Err(TaskError::Panicked(_))));
            }
        });
        let s = pool.stats();
        let finished = s.completed + s.panicked + s.cancelled;
        assert!(s.submitted >= 1 && finished < s.submitted, "{s:?}");
        assert!(
            s.active + s.queued >= 1,
            "the gated task is in flight: {s:?}"
        );
        {
            let (lock, cv) = &*gate;
            *lock.lock().unwrap() = true;
            cv.notify_all();
        }
        other.join().unwrap();
        pool.wait_idle();
        let s = pool.stats();
        assert!(conserved(&s), "{s:?}");
        assert_eq!((s.active, s.queued, s.cancelled), (0, 0, 0));
        assert_eq!(s.completed, 1);
        assert_eq!(s.submitted + s.rejected, 2);
    });
}

/// A producer blocked in `submit` (waiting for room) gets the slot that
/// the running task frees: the slot release wakes it.
#[test]
fn a_blocked_submit_gets_the_slot_a_finished_task_frees() {
    loom::model(|| {
        let pool = Arc::new(pool(0));
        let first = pool.try_submit(|| 1).unwrap();
        let p = pool.clone();
        let producer = thread::spawn(move || p.submit(|| 2).ok().map(|h| h.join()));
        assert_eq!(first.join().unwrap(), 1);
        let second = producer.join().unwrap().expect("admitted, never refused");
        assert_eq!(second.unwrap(), 2);
        let stats = pool.stats();
        assert_eq!(
            (stats.submitted, stats.completed, stats.rejected),
            (2, 2, 0)
        );
    });
}

/// A producer blocked in `submit` (waiting for room) while the pool shuts
/// down is either admitted and run, or woken with `ShutDown`: never left
/// asleep.
#[test]
fn a_blocked_submit_is_admitted_or_woken_by_shutdown() {
    loom::model(|| {
        let pool = Arc::new(pool(0));
        let first = pool.try_submit(|| 1).unwrap();
        let p = pool.clone();
        let producer = thread::spawn(move || match p.submit(|| 2) {
            Ok(handle) => assert_eq!(handle.join().unwrap(), 2),
            Err(rejected) => assert!(rejected.is_shut_down()),
        });
        pool.shutdown();
        producer.join().unwrap();
        assert_eq!(first.join().unwrap(), 1);
        let stats = pool.stats();
        assert!(conserved(&stats), "{stats:?}");
    });
}

/// The last reference to the pool dropped on its own worker starts the
/// shutdown without waiting for itself; the worker still exits (loom
/// reports a deadlock if a thread is left blocked).
#[test]
fn dropping_the_pool_on_its_own_worker_does_not_deadlock() {
    loom::model(|| {
        let pool = std::sync::Arc::new(pool(0));
        let inner = pool.clone();
        let handle = pool
            .try_submit(move || {
                drop(inner);
                3
            })
            .unwrap();
        drop(pool);
        assert_eq!(handle.join().unwrap(), 3);
    });
}

/// Once a task has run and the pool is idle, the law is exact even though
/// the submitting thread may not have returned from `try_spawn` yet: the
/// submission is counted before the task can be seen by a worker.
#[test]
fn the_law_is_exact_once_idle_even_while_the_submitter_returns() {
    loom::model(|| {
        let pool = Arc::new(pool(0));
        let ran = Arc::new(loom::sync::atomic::AtomicBool::new(false));
        let (p, r) = (pool.clone(), ran.clone());
        let submitter = thread::spawn(move || {
            p.try_spawn(move || r.store(true, std::sync::atomic::Ordering::SeqCst))
                .unwrap();
        });
        while !ran.load(std::sync::atomic::Ordering::SeqCst) {
            thread::yield_now();
        }
        pool.wait_idle();
        let stats = pool.stats();
        assert_eq!((stats.submitted, stats.completed), (1, 1), "{stats:?}");
        submitter.join().unwrap();
    });
}

/// A worker told to retire takes its token from the queue's main channel
/// while a task waits behind it in the overflow (the main channel holds one
/// job here, and the token filled it, so the submitter's own wake-up was
/// lost). The other worker sleeps on the main channel: the retiring worker
/// must wake it for the task, or the task is stranded with a thread idle.
#[test]
fn a_retiring_worker_never_strands_a_task_in_the_overflow() {
    loom::model(|| {
        let pool = pool(0);
        pool.set_threads(2).expect("a second loom thread");
        pool.set_threads(1).expect("shrinking never fails");
        let handle = pool.try_submit(|| 7).expect("one slot is free");
        assert_eq!(handle.join().unwrap(), 7);
        drop(pool);
    });
}

/// A worker keeps the slots of finished `spawn` jobs and gives them back in
/// batches (of two under loom). A `spawn` blocked on the full pool is still
/// admitted — by a full batch or by the worker finding the queue empty —
/// and once idle the stats balance with nothing queued.
#[test]
fn a_blocked_spawn_gets_the_slots_a_worker_gives_back_in_a_batch() {
    loom::model(|| {
        let pool = pool(1);
        pool.try_spawn(|| {}).unwrap();
        pool.try_spawn(|| {}).unwrap();
        pool.spawn(|| {}).expect("admitted once a slot comes back");
        pool.wait_idle();
        let stats = pool.stats();
        assert_eq!(
            (stats.submitted, stats.completed, stats.active, stats.queued),
            (3, 3, 0, 0),
            "{stats:?}"
        );
    });
}

/// Slots a worker still holds for finished spawns do not keep a shutdown
/// waiting: the worker gives them back when the queue runs dry, the last
/// release sends the Exit token, and the worker exits.
#[test]
fn deferred_slots_do_not_hold_up_a_shutdown() {
    loom::model(|| {
        let pool = pool(1);
        pool.try_spawn(|| {}).unwrap(); // half a batch: only running dry gives it back
        pool.shutdown();
        let stats = pool.stats();
        assert_eq!((stats.submitted, stats.completed), (1, 1), "{stats:?}");
    });
}

/// A worker told to retire gives back the slots it deferred first: the
/// other worker, and `wait_idle`, see every slot free.
#[test]
fn a_retiring_worker_gives_back_its_deferred_slots() {
    loom::model(|| {
        let pool = pool(1);
        pool.set_threads(2).expect("a second loom thread");
        pool.try_spawn(|| {}).unwrap();
        pool.set_threads(1).expect("shrinking never fails");
        pool.wait_idle();
        let stats = pool.stats();
        assert_eq!((stats.completed, stats.queued), (1, 0), "{stats:?}");
        assert!(pool.try_spawn(|| {}).is_ok());
        assert!(pool.try_spawn(|| {}).is_ok());
        pool.wait_idle();
    });
}

/// A handle dropped on another thread while its task waits or runs: the
/// worker either sees the handle alive and frees the slot before
/// publishing, or finds itself the only owner and runs the task detached,
/// keeping the slot until the queue runs dry. Either way a `submit`
/// blocked on the full pool is admitted.
#[test]
fn a_handle_dropped_while_its_task_runs_never_strands_its_slot() {
    loom::model(|| {
        let pool = pool(0);
        let first = pool.try_submit(|| 1).unwrap();
        let dropper = thread::spawn(move || drop(first));
        let second = pool.submit(|| 2).expect("admitted once the slot is back");
        assert_eq!(second.join().unwrap(), 2);
        dropper.join().unwrap();
        pool.wait_idle();
        let stats = pool.stats();
        assert_eq!((stats.submitted, stats.completed), (2, 2), "{stats:?}");
    });
}

/// Finished jobs go back to the submitters in batches (two jobs under loom,
/// one spare batch): a worker hands a full batch over, a later submit frees
/// it and returns the empty batch, and the worker fills it again. The pool
/// keeps running and counting through the round trip.
#[test]
fn finished_jobs_travel_back_to_a_submitter_and_the_pool_keeps_going() {
    loom::model(|| {
        let pool = Arc::new(pool(1));
        pool.try_spawn(|| {}).unwrap();
        drop(pool.try_submit(|| 1).unwrap());
        let p = pool.clone();
        let submitter = thread::spawn(move || {
            p.spawn(|| {}).unwrap();
            p.spawn(|| {}).unwrap();
        });
        submitter.join().unwrap();
        pool.wait_idle();
        let stats = pool.stats();
        assert_eq!(
            (stats.submitted, stats.completed, stats.active, stats.queued),
            (4, 4, 0, 0),
            "{stats:?}"
        );
    });
}

/// On a pool that gives slots back in batches (two slots here), a finished
/// task's slot may still be held by its worker when the handle sees the
/// result. The handle then frees it itself, or waits for the worker that
/// is freeing it: either way, once `join` returns, both slots are free.
#[test]
fn a_joined_task_has_already_freed_its_slot_when_slots_come_back_in_batches() {
    loom::model(|| {
        let pool = pool(1);
        let first = pool.try_submit(|| 1).unwrap();
        assert_eq!(first.join().unwrap(), 1);
        let second = pool
            .try_submit(|| 2)
            .expect("the joined task's slot is free");
        let third = pool.try_submit(|| 3).expect("and so is the other one");
        assert_eq!(second.join().unwrap() + third.join().unwrap(), 5);
        pool.wait_idle();
        let stats = pool.stats();
        assert_eq!((stats.submitted, stats.completed), (3, 3), "{stats:?}");
    });
}

/// A task whose handle freed its slot while the worker still listed it:
/// the worker frees nothing more for it, and the shutdown that follows
/// still ends (the worker lets go of the task when the Exit token comes).
#[test]
fn a_slot_freed_by_its_handle_is_not_freed_again_by_the_worker() {
    loom::model(|| {
        let pool = Arc::new(pool(1));
        let p = pool.clone();
        let joiner = thread::spawn(move || {
            let handle = p.try_submit(|| 1).unwrap();
            assert!(handle.is_finished() || handle.join().is_ok());
        });
        joiner.join().unwrap();
        pool.wait_idle();
        let stats = pool.stats();
        assert_eq!(
            (stats.submitted, stats.completed, stats.active, stats.queued),
            (1, 1, 0, 0),
            "{stats:?}"
        );
        pool.shutdown();
    });
}
