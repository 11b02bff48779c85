//! loom models of the real `ThreadPoolBulkhead` (`src/thread_pool/*`),
//! compiled from the crate's own sources with `RUSTFLAGS="--cfg loom"`.
//!
//! Under loom the pool's queue is a `Mutex<VecDeque>` with a `Condvar` from
//! the `sync` facade, not crossbeam-channel (loom cannot see inside
//! crossbeam's lock-free list); everything else — the slot counter, the
//! task cell and its reference counts, cancellation, the worker loop, the
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
/// A worker retires (the pool grew to two threads, then shrank to one)
/// while a task is submitted: the task is run by the worker that stays,
/// never stranded with a thread idle.
#[test]
fn a_retiring_worker_never_strands_a_queued_task() {
    loom::model(|| {
        let pool = pool(0);
        pool.set_threads(2).expect("a second loom thread");
        pool.set_threads(1).expect("shrinking never fails");
        let handle = pool.try_submit(|| 7).expect("one slot is free");
        assert_eq!(handle.join().unwrap(), 7);
        drop(pool);
    });
}

/// A `spawn` blocked on the full pool is admitted when a finished spawn
/// gives its slot back, and once idle the stats balance with nothing
/// queued.
#[test]
fn a_blocked_spawn_gets_the_slot_a_finished_spawn_gives_back() {
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

/// A shutdown right after a spawn waits for it and ends: the spawn's
/// release sends the Exit token, and the worker exits.
#[test]
fn a_shutdown_after_a_spawn_runs_it_and_ends() {
    loom::model(|| {
        let pool = pool(1);
        pool.try_spawn(|| {}).unwrap(); // half a batch: only running dry gives it back
        pool.shutdown();
        let stats = pool.stats();
        assert_eq!((stats.submitted, stats.completed), (1, 1), "{stats:?}");
    });
}

/// A worker told to retire after a spawn: the other worker, and
/// `wait_idle`, see every slot free.
#[test]
fn after_a_retirement_every_slot_is_free() {
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
/// result is dropped by whoever lets go of the cell last, the slot comes
/// back either way, and a `submit` blocked on the full pool is admitted.
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

/// A handle cancels its task while a worker may be starting it: exactly
/// one of the two wins. Cancelled: the slot is free when `cancel`
/// returns and the task never runs. Started: `cancel` is false and the
/// task completes. Either way the stats balance once idle.
#[test]
fn a_cancel_racing_the_worker_either_frees_the_slot_or_lets_the_task_run() {
    loom::model(|| {
        let pool = pool(0);
        let ran = Arc::new(Mutex::new(false));
        let r = ran.clone();
        let handle = pool.try_submit(move || *r.lock().unwrap() = true).unwrap();
        if handle.cancel() {
            assert!(pool.try_submit(|| ()).is_ok(), "the slot was freed at once");
            assert!(matches!(handle.join(), Err(TaskError::Cancelled)));
        } else {
            handle.join().unwrap();
            assert!(*ran.lock().unwrap());
        }
        pool.wait_idle();
        let stats = pool.stats();
        assert!(conserved(&stats), "{stats:?}");
    });
}

/// Two cancellers race over two queued tasks (the first blocks the only
/// thread once it starts): `shutdown_now` and `cancel_queued` each report
/// what they cancelled, and together exactly the tasks whose handles say
/// `Cancelled`.
#[test]
fn concurrent_cancellers_report_each_cancellation_once() {
    loom::model(|| {
        let pool = Arc::new(pool(1));
        let go = Arc::new((Mutex::new(false), Condvar::new()));
        let g = go.clone();
        let blocker = pool
            .try_submit(move || {
                let (lock, cv) = &*g;
                let mut open = lock.lock().unwrap();
                while !*open {
                    open = cv.wait(open).unwrap();
                }
            })
            .unwrap();
        let queued = pool.try_submit(|| 1).unwrap();
        let p = pool.clone();
        let other = thread::spawn(move || p.cancel_queued());
        let mine = {
            let (lock, cv) = &*go;
            *lock.lock().unwrap() = true;
            cv.notify_all();
            pool.shutdown_now()
        };
        let theirs = other.join().unwrap();
        let cancelled = [blocker.join().err(), queued.join().err()]
            .iter()
            .filter(|e| matches!(e, Some(TaskError::Cancelled)))
            .count();
        assert_eq!(mine + theirs, cancelled);
        let stats = pool.stats();
        assert!(conserved(&stats), "{stats:?}");
    });
}
