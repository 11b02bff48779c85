//! Stress: 1,000,000 mixed operations from 8 threads over four pools (one
//! with a long queue, whose workers give spawned jobs' slots back in
//! batches) and two semaphores, with live resizes, panicking tasks,
//! rejections and one pool shut down (`shutdown_now`) mid-flight. At the
//! end every handle has been joined and the books balance exactly:
//!
//! * per pool, `submitted == completed + panicked + cancelled`;
//! * `completed`, `panicked`, `cancelled`, `submitted` and `rejected` equal
//!   what the callers themselves observed (joins, spawned closures that
//!   ran, refusals);
//! * per semaphore, `permitted` and `rejected` equal the callers' tallies,
//!   no more holders than the largest limit ever set, none left at the end.
//!
//! CI runs it in release: `cargo test --release --test stress`. A watchdog
//! aborts the process if the run hangs (a hang detector, not a timing
//! assertion: the bound is generous).

mod common;

use std::panic;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use bulkheads::{
    BuildErrorKind, RejectReason, SemaphoreBulkhead, TaskError, TaskHandle, ThreadPoolBulkhead,
};
use common::Rng;

const THREADS: usize = 8;
const OPS: usize = 1_000_000;
const OPS_PER_THREAD: usize = OPS / THREADS;
/// The pool that thread 0 shuts down (with `shutdown_now`) mid-flight.
const DOOMED: usize = 2;
/// The pool with a long queue, whose workers give the slots of finished
/// spawns back in batches (the small pools give each back at once).
const BATCHED: usize = 3;
const SHUTDOWN_AT: usize = OPS_PER_THREAD / 3;
/// Semaphore limits move within 1..=MAX_LIMIT (never 0: blocking acquires
/// must be able to finish).
const MAX_LIMIT: usize = 6;
const PANIC_MSG: &str = "intentional stress panic";
const WATCHDOG: Duration = Duration::from_secs(120);

/// What the callers observed on one pool.
#[derive(Default)]
struct PoolBook {
    handles: AtomicUsize,
    spawned_ok: AtomicUsize,
    spawned_panicking: AtomicUsize,
    spawn_ran: AtomicUsize,
    spawn_panicked: AtomicUsize,
    joined_ok: AtomicUsize,
    joined_panicked: AtomicUsize,
    joined_cancelled: AtomicUsize,
    rejected: AtomicUsize,
    rejected_shut_down: AtomicUsize,
}

/// What the callers observed on one semaphore.
#[derive(Default)]
struct SemBook {
    permitted: AtomicUsize,
    rejected: AtomicUsize,
    holders: AtomicUsize,
    peak: AtomicUsize,
}

impl SemBook {
    fn hold<R>(&self, f: impl FnOnce() -> R) -> R {
        let now = self.holders.fetch_add(1, SeqCst) + 1;
        self.peak.fetch_max(now, SeqCst);
        let r = f();
        self.holders.fetch_sub(1, SeqCst);
        r
    }
}

struct Pending {
    pool: usize,
    handle: TaskHandle<usize>,
    expected: usize,
    panics: bool,
}

fn task(value: usize, panics: bool) -> impl FnOnce() -> usize + Send + 'static {
    move || {
        if panics {
            panic!("{}", PANIC_MSG);
        }
        value * 2
    }
}

fn join_all(pending: &mut Vec<Pending>, books: &[Arc<PoolBook>]) {
    for p in pending.drain(..) {
        let book = &books[p.pool];
        match p.handle.join() {
            Ok(v) => {
                assert!(!p.panics, "a panicking task returned");
                assert_eq!(v, p.expected * 2);
                book.joined_ok.fetch_add(1, SeqCst);
            }
            Err(TaskError::Panicked(_)) => {
                assert!(p.panics, "a task panicked that should not");
                book.joined_panicked.fetch_add(1, SeqCst);
            }
            Err(other) => {
                assert!(other.is_cancelled(), "{other}");
                assert_eq!(p.pool, DOOMED, "only the shut-down pool cancels");
                book.joined_cancelled.fetch_add(1, SeqCst);
            }
        }
    }
}

fn refused(book: &PoolBook, pool: usize, reason: RejectReason, waited: bool) {
    book.rejected.fetch_add(1, SeqCst);
    match reason {
        RejectReason::ShutDown => {
            assert_eq!(pool, DOOMED, "only one pool is shut down");
            book.rejected_shut_down.fetch_add(1, SeqCst);
        }
        RejectReason::Full => assert!(!waited, "a waiting submit is never Full"),
        other => panic!("unexpected rejection {other:?}"),
    }
}

fn worker(
    id: usize,
    pools: &[ThreadPoolBulkhead],
    books: &[Arc<PoolBook>],
    sems: &[SemaphoreBulkhead],
    sem_books: &[SemBook],
) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ ((id as u64 + 1) * 0x1234_5678_9abc_def1));
    let mut pending: Vec<Pending> = Vec::with_capacity(64);
    for op in 0..OPS_PER_THREAD {
        if id == 0 && op == SHUTDOWN_AT {
            pools[DOOMED].shutdown_now();
            assert!(pools[DOOMED].is_shut_down());
        }
        let roll = rng.below(1000);
        let p = rng.below(pools.len() as u64);
        let (pool, book) = (&pools[p], &books[p]);
        let s = rng.below(sems.len() as u64);
        let (sem, sem_book) = (&sems[s], &sem_books[s]);
        let panics = rng.below(20) == 0;
        let value = rng.below(1 << 20);
        match roll {
            // try_submit, joined later in a batch; submit, waiting for room
            // (backpressure); or try_submit and join at once (a round trip)
            0..=449 => {
                let (submitted, waited) = if (300..380).contains(&roll) {
                    (pool.submit(task(value, panics)), true)
                } else {
                    (pool.try_submit(task(value, panics)), false)
                };
                match submitted {
                    Ok(handle) => {
                        book.handles.fetch_add(1, SeqCst);
                        pending.push(Pending {
                            pool: p,
                            handle,
                            expected: value,
                            panics,
                        });
                        if roll >= 380 {
                            let mut last = pending.split_off(pending.len() - 1);
                            join_all(&mut last, books);
                        }
                    }
                    Err(r) => refused(book, p, r.reason(), waited),
                }
            }
            // try_spawn: fire and forget, counted when it runs
            450..=599 => {
                let b = Arc::clone(book);
                let spawned = pool.try_spawn(move || {
                    if panics {
                        b.spawn_panicked.fetch_add(1, SeqCst);
                        panic!("{}", PANIC_MSG);
                    }
                    b.spawn_ran.fetch_add(1, SeqCst);
                });
                match spawned {
                    Ok(()) if panics => {
                        book.spawned_panicking.fetch_add(1, SeqCst);
                    }
                    Ok(()) => {
                        book.spawned_ok.fetch_add(1, SeqCst);
                    }
                    Err(r) => refused(book, p, r.reason(), false),
                }
            }
            // semaphore: try_acquire and hold briefly
            600..=749 => match sem.try_acquire() {
                Ok(permit) => {
                    sem_book.permitted.fetch_add(1, SeqCst);
                    sem_book.hold(|| std::hint::black_box(value));
                    drop(permit);
                }
                Err(r) => {
                    assert_eq!(r.reason(), RejectReason::Full);
                    sem_book.rejected.fetch_add(1, SeqCst);
                }
            },
            // semaphore: call (fail-fast) with a closure that may panic
            750..=849 => {
                let result = panic::catch_unwind(panic::AssertUnwindSafe(|| {
                    sem.call(|| {
                        sem_book.hold(|| {
                            if panics {
                                panic!("{}", PANIC_MSG);
                            }
                            value
                        })
                    })
                }));
                match result {
                    Ok(Ok(v)) => {
                        assert_eq!(v, value);
                        sem_book.permitted.fetch_add(1, SeqCst);
                    }
                    Ok(Err(r)) => {
                        assert_eq!(r.reason(), RejectReason::Full);
                        sem_book.rejected.fetch_add(1, SeqCst);
                    }
                    Err(_) => {
                        // Admitted, then the closure panicked: the permit
                        // was released while unwinding.
                        assert!(panics);
                        sem_book.holders.fetch_sub(1, SeqCst);
                        sem_book.permitted.fetch_add(1, SeqCst);
                    }
                }
            }
            // semaphore: acquire, waiting
            850..=989 => {
                let permit = sem.acquire();
                sem_book.permitted.fetch_add(1, SeqCst);
                sem_book.hold(|| std::hint::black_box(value));
                drop(permit);
            }
            // live resizes
            990..=994 => {
                let threads = 1 + rng.below(3);
                match pool.set_threads(threads) {
                    Ok(()) => {}
                    Err(e) => {
                        assert_eq!((p, e.kind()), (DOOMED, BuildErrorKind::ShutDown));
                    }
                }
            }
            995..=997 => {
                let queue = if p == BATCHED {
                    200 + rng.below(200)
                } else {
                    rng.below(9)
                };
                match pool.set_queue_capacity(queue) {
                    Ok(()) => {}
                    Err(e) => {
                        assert_eq!((p, e.kind()), (DOOMED, BuildErrorKind::ShutDown));
                    }
                }
            }
            _ => sem.set_max_concurrent(1 + rng.below(MAX_LIMIT as u64)),
        }
        if pending.len() >= 32 {
            join_all(&mut pending, books);
        }
    }
    join_all(&mut pending, books);
}

#[test]
fn a_million_mixed_operations_balance_the_books_exactly() {
    common::quiet_intentional_panics();

    let _watchdog = common::Watchdog::arm("stress", WATCHDOG);

    let pools: Arc<Vec<ThreadPoolBulkhead>> = Arc::new(
        [
            ("alpha", 2, 4),
            ("beta", 1, 0),
            ("doomed", 2, 8),
            ("batched", 2, 300),
        ]
        .into_iter()
        .map(|(name, threads, queue)| {
            ThreadPoolBulkhead::builder(name)
                .threads(threads)
                .queue_capacity(queue)
                .build()
                .unwrap()
        })
        .collect(),
    );
    let books: Arc<Vec<Arc<PoolBook>>> =
        Arc::new((0..pools.len()).map(|_| Arc::default()).collect());
    let sems: Arc<Vec<SemaphoreBulkhead>> = Arc::new(vec![
        SemaphoreBulkhead::builder("fair")
            .max_concurrent(3)
            .fair(true)
            .build()
            .unwrap(),
        SemaphoreBulkhead::new("unfair", 2),
    ]);
    let sem_books: Arc<Vec<SemBook>> =
        Arc::new((0..sems.len()).map(|_| SemBook::default()).collect());

    let start = Arc::new(Barrier::new(THREADS));
    let threads: Vec<_> = (0..THREADS)
        .map(|id| {
            let (pools, books, sems, sem_books, start) = (
                pools.clone(),
                books.clone(),
                sems.clone(),
                sem_books.clone(),
                start.clone(),
            );
            thread::spawn(move || {
                start.wait();
                worker(id, &pools, &books, &sems, &sem_books);
            })
        })
        .collect();
    for t in threads {
        t.join().expect("a stress thread failed");
    }

    for (i, (pool, book)) in pools.iter().zip(books.iter()).enumerate() {
        if i == DOOMED {
            // shutdown_now joined the workers: nothing is left in flight.
            assert!(pool.is_shut_down());
        } else {
            pool.wait_idle();
        }
        let s = pool.stats();
        let name = &s.name;
        assert_eq!(
            s.submitted,
            s.completed + s.panicked + s.cancelled,
            "{name}: conservation: {s:?}"
        );
        let spawned = book.spawned_ok.load(SeqCst) + book.spawned_panicking.load(SeqCst);
        let ran = book.spawn_ran.load(SeqCst);
        let spawn_panicked = book.spawn_panicked.load(SeqCst);
        assert_eq!(
            s.submitted,
            book.handles.load(SeqCst) + spawned,
            "{name}: submitted"
        );
        assert_eq!(
            book.handles.load(SeqCst),
            book.joined_ok.load(SeqCst)
                + book.joined_panicked.load(SeqCst)
                + book.joined_cancelled.load(SeqCst),
            "{name}: every handle joined"
        );
        assert_eq!(
            s.completed,
            book.joined_ok.load(SeqCst) + ran,
            "{name}: completed"
        );
        assert_eq!(
            s.panicked,
            book.joined_panicked.load(SeqCst) + spawn_panicked,
            "{name}: panicked"
        );
        assert_eq!(
            s.cancelled,
            book.joined_cancelled.load(SeqCst) + spawned - ran - spawn_panicked,
            "{name}: cancelled"
        );
        assert_eq!(s.rejected, book.rejected.load(SeqCst), "{name}: rejected");
        assert_eq!((s.active, s.queued), (0, 0), "{name}: idle");
        if i != DOOMED {
            assert_eq!(
                s.cancelled, 0,
                "{name}: nothing cancelled without shutdown_now"
            );
            assert_eq!(book.rejected_shut_down.load(SeqCst), 0);
        } else {
            assert!(
                book.rejected_shut_down.load(SeqCst) > 0,
                "the shutdown was mid-flight"
            );
        }
        // The long-queue pool is there for its batched releases; eight
        // producers of quick tasks never fill it.
        assert!(
            s.submitted > 0 && (s.rejected > 0 || i == BATCHED),
            "{name}: exercised both paths: {s:?}"
        );
    }
    for (sem, book) in sems.iter().zip(sem_books.iter()) {
        let s = sem.stats();
        assert_eq!(
            s.permitted,
            book.permitted.load(SeqCst),
            "{}: permitted",
            s.name
        );
        assert_eq!(
            s.rejected,
            book.rejected.load(SeqCst),
            "{}: rejected",
            s.name
        );
        assert_eq!((s.active, s.waiting), (0, 0), "{}: idle", s.name);
        assert_eq!(book.holders.load(SeqCst), 0);
        assert!(
            book.peak.load(SeqCst) <= MAX_LIMIT,
            "{}: too many holders",
            s.name
        );
    }

    // Every pool still shuts down cleanly.
    for pool in pools.iter() {
        pool.shutdown();
    }
}
