//! loom models of the real `SemaphoreBulkhead` (`src/semaphore.rs`, built
//! on `src/admission.rs`), compiled from the crate's own sources with
//! `RUSTFLAGS="--cfg loom"`.
//!
//! Waits here never carry a deadline (loom has no time): a waiter left
//! asleep while a permit is free shows up as a deadlock, which loom reports.
//! Where a model needs "this waiter is queued", it spins on
//! `stats().waiting` with `loom::thread::yield_now`, which loom supports.
#![cfg(loom)]

use std::sync::Arc as StdArc;

use bulkheads::SemaphoreBulkhead;
use loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use loom::sync::{Arc, Mutex};
use loom::thread;

fn semaphore(limit: usize, fair: bool) -> StdArc<SemaphoreBulkhead> {
    StdArc::new(
        SemaphoreBulkhead::builder("m")
            .max_concurrent(limit)
            .fair(fair)
            .build()
            .unwrap(),
    )
}

/// Spins (yielding to loom) until `n` callers wait for a permit.
fn until_waiting(sem: &SemaphoreBulkhead, n: usize) {
    while sem.stats().waiting < n {
        thread::yield_now();
    }
}

/// Counts concurrent holders; panics past `limit`.
struct Holders {
    now: AtomicUsize,
}

impl Holders {
    fn enter(&self, limit: usize) {
        let now = self.now.fetch_add(1, SeqCst) + 1;
        assert!(now <= limit, "{now} holders of {limit} permits");
    }
    fn leave(&self) {
        self.now.fetch_sub(1, SeqCst);
    }
}

/// A parked `acquire` is woken by the permit's release, while a third
/// party's `try_acquire` races it: never two holders of one permit, and
/// the waiter always gets in (no lost wake-up), fair or not.
#[test]
fn a_release_wakes_a_parked_acquirer_while_try_acquire_races() {
    for fair in [false, true] {
        loom::model(move || {
            let sem = semaphore(1, fair);
            let holders = Arc::new(Holders {
                now: AtomicUsize::new(0),
            });
            let held = sem.try_acquire_owned().unwrap();
            holders.enter(1);

            let (s, h) = (sem.clone(), holders.clone());
            let waiter = thread::spawn(move || {
                let permit = s.acquire();
                h.enter(1);
                h.leave();
                drop(permit);
            });
            let (s, h) = (sem.clone(), holders.clone());
            let racer = thread::spawn(move || {
                if let Ok(permit) = s.try_acquire() {
                    h.enter(1);
                    h.leave();
                    drop(permit);
                }
            });
            holders.leave();
            drop(held);
            waiter.join().unwrap();
            racer.join().unwrap();
            let stats = sem.stats();
            assert_eq!((stats.active, stats.waiting), (0, 0));
            assert_eq!(stats.permitted + stats.rejected, 3);
        });
    }
}

/// Fair mode: a queued waiter is never overtaken by a `try_acquire` that
/// arrives while it waits (no barging), and waiters get in in arrival order.
#[test]
fn fair_mode_admits_in_arrival_order_without_barging() {
    loom::model(|| {
        let sem = semaphore(1, true);
        let held = sem.try_acquire_owned().unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));

        let (s, o) = (sem.clone(), order.clone());
        let first = thread::spawn(move || {
            let _permit = s.acquire();
            o.lock().unwrap().push(1);
        });
        until_waiting(&sem, 1);
        let (s, o) = (sem.clone(), order.clone());
        let second = thread::spawn(move || {
            let _permit = s.acquire();
            o.lock().unwrap().push(2);
        });
        until_waiting(&sem, 2);

        // Both are queued: a newcomer is refused, before and after the
        // release (the release hands the permit to the head of the line).
        assert!(sem.try_acquire().is_err());
        drop(held);
        assert!(sem.try_acquire().is_err() || sem.stats().waiting == 0);
        first.join().unwrap();
        second.join().unwrap();
        assert_eq!(*order.lock().unwrap(), vec![1, 2]);
        let stats = sem.stats();
        assert_eq!((stats.active, stats.waiting), (0, 0));
    });
}

/// Growing the limit wakes a parked waiter at once, with no release.
#[test]
fn growing_wakes_a_parked_waiter() {
    for fair in [false, true] {
        loom::model(move || {
            let sem = semaphore(1, fair);
            let held = sem.try_acquire_owned().unwrap();
            let s = sem.clone();
            let waiter = thread::spawn(move || s.acquire_owned());
            sem.set_max_concurrent(2);
            let got = waiter.join().unwrap();
            let stats = sem.stats();
            assert_eq!((stats.active, stats.max_concurrent), (2, 2));
            assert!(sem.try_acquire().is_err());
            drop((held, got));
            assert_eq!(sem.stats().active, 0);
        });
    }
}

/// Shrinking while holders release concurrently: no permit is lost or
/// duplicated. Afterwards exactly the new limit is available.
#[test]
fn shrinking_with_holders_loses_and_duplicates_nothing() {
    for fair in [false, true] {
        loom::model(move || {
            let sem = semaphore(2, fair);
            let holders: Vec<_> = (0..2)
                .map(|_| {
                    let permit = sem.try_acquire_owned().unwrap();
                    thread::spawn(move || drop(permit))
                })
                .collect();
            sem.set_max_concurrent(1);
            for h in holders {
                h.join().unwrap();
            }
            assert_eq!(sem.stats().active, 0);
            let only = sem.try_acquire().unwrap();
            assert!(sem.try_acquire().is_err());
            drop(only);
            assert_eq!(sem.stats().active, 0);
        });
    }
}

/// Shrinking below the holders with a waiter parked, then releasing: the
/// first release is retired (the count is above the new limit), the
/// second goes to the waiter. The count is exact at every step.
#[test]
fn shrinking_with_a_waiter_hands_over_only_real_room() {
    for fair in [false, true] {
        loom::model(move || {
            let sem = semaphore(2, fair);
            let a = sem.try_acquire_owned().unwrap();
            let b = sem.try_acquire_owned().unwrap();
            let s = sem.clone();
            let waiter = thread::spawn(move || {
                let permit = s.acquire();
                assert_eq!(s.stats().active, 1, "alone under the limit of 1");
                drop(permit);
            });
            sem.set_max_concurrent(1);
            drop(a);
            let after_one = sem.stats().active;
            assert!(after_one <= 1, "the waiter entered above the limit");
            drop(b);
            waiter.join().unwrap();
            let stats = sem.stats();
            assert_eq!(
                (stats.active, stats.waiting, stats.max_concurrent),
                (0, 0, 1)
            );
        });
    }
}
