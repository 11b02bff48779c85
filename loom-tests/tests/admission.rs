//! loom models of the lock-free slot counter, `src/admission.rs`, compiled
//! from the crate's own source with `RUSTFLAGS="--cfg loom"`.
//!
//! Run: `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 cargo test --release`
//! from `loom-tests/`. Every model is small on purpose (at most four
//! threads including the main one): loom explores every interleaving.
//!
//! Blocking calls here never carry a deadline (loom has no time): a lost
//! wake-up shows up as a deadlock, which loom reports as a failure.
#![cfg(loom)]

use bulkheads::__loom::{Refused, Slots};
use loom::cell::UnsafeCell;
use loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use loom::sync::Arc;
use loom::thread;

/// A counter of `capacity` slots, every one taken.
fn full(capacity: usize) -> Arc<Slots> {
    let slots = Arc::new(Slots::new(capacity));
    for _ in 0..capacity {
        slots.try_acquire().unwrap();
    }
    slots
}

/// Runs `f` on `n` loom threads, each with its own handle on `slots`.
fn on_threads<T: Send + 'static>(
    n: usize,
    slots: &Arc<Slots>,
    f: fn(&Slots) -> T,
) -> Vec<thread::JoinHandle<T>> {
    (0..n)
        .map(|_| {
            let s = slots.clone();
            thread::spawn(move || f(&s))
        })
        .collect()
}

/// Takes a slot, checks the number of holders against `capacity`, touches
/// data that only holders may touch, and releases.
fn hold_once(slots: &Slots, capacity: usize, holders: &AtomicUsize, peak: &AtomicUsize) -> bool {
    if slots.try_acquire().is_err() {
        return false;
    }
    let now = holders.fetch_add(1, SeqCst) + 1;
    peak.fetch_max(now, SeqCst);
    assert!(now <= capacity, "{now} holders at capacity {capacity}");
    holders.fetch_sub(1, SeqCst);
    slots.release();
    true
}

#[test]
fn never_more_holders_than_capacity_and_the_count_returns_to_zero() {
    for capacity in [1, 2] {
        loom::model(move || {
            let slots = Arc::new(Slots::new(capacity));
            let holders = Arc::new(AtomicUsize::new(0));
            let peak = Arc::new(AtomicUsize::new(0));
            let racers: Vec<_> = (0..2)
                .map(|_| {
                    let (s, h, p) = (slots.clone(), holders.clone(), peak.clone());
                    thread::spawn(move || hold_once(&s, capacity, &h, &p))
                })
                .collect();
            hold_once(&slots, capacity, &holders, &peak);
            for r in racers {
                r.join().unwrap();
            }
            assert!(peak.load(SeqCst) <= capacity);
            assert_eq!(slots.snapshot().count, 0);
            // Nothing leaked: the counter admits `capacity` again.
            for _ in 0..capacity {
                slots.try_acquire().unwrap();
            }
            assert_eq!(slots.try_acquire(), Err(Refused::Full));
        });
    }
}

/// Capacity 1 is a lock: what one holder wrote, the next holder must see.
/// `UnsafeCell` makes loom check that the acquire/release orderings create
/// that happens-before edge (a Relaxed CAS or fetch_sub is a data race).
#[test]
fn a_slot_of_one_orders_its_holders_like_a_lock() {
    loom::model(|| {
        let slots = Arc::new(Slots::new(1));
        let data = Arc::new(UnsafeCell::new(0usize));
        let racers: Vec<_> = (0..2)
            .map(|_| {
                let (s, d) = (slots.clone(), data.clone());
                thread::spawn(move || {
                    if s.try_acquire().is_ok() {
                        // SAFETY: only the single slot holder touches the
                        // cell; loom checks that claim.
                        d.with_mut(|p| unsafe { *p += 1 });
                        s.release();
                    }
                })
            })
            .collect();
        for r in racers {
            r.join().unwrap();
        }
        assert_eq!(slots.snapshot().count, 0);
    });
}

/// One release makes room for exactly one acquirer.
#[test]
fn one_release_admits_at_most_one_of_two_racing_acquirers() {
    loom::model(|| {
        let slots = full(2);
        let racers = on_threads(2, &slots, |s| s.try_acquire().is_ok());
        let released = slots.release();
        assert!(released.remaining <= 1);
        let admitted = racers
            .into_iter()
            .map(|r| r.join().unwrap())
            .filter(|&ok| ok)
            .count();
        assert!(admitted <= 1, "one release admitted {admitted}");
        assert_eq!(slots.snapshot().count, 1 + admitted);
    });
}

/// Closing races the last releases: exactly one party (the closer, or the
/// release that empties the counter) learns "closed and empty".
#[test]
fn exactly_one_party_sees_closed_and_empty() {
    loom::model(|| {
        let slots = full(2);
        let releasers = on_threads(2, &slots, |s| s.release().closed_and_empty);
        let closer_saw_empty = slots.close() == Some(true);
        let releasers_saw_empty = releasers
            .into_iter()
            .map(|r| r.join().unwrap())
            .filter(|&e| e)
            .count();
        assert_eq!(usize::from(closer_saw_empty) + releasers_saw_empty, 1);
        assert_eq!(slots.try_acquire(), Err(Refused::Closed));
        assert_eq!(slots.close(), None);
    });
}

/// A sleeping acquirer is woken by a release (no lost wake-up: loom
/// reports a deadlock otherwise) and then holds the slot.
#[test]
fn a_release_wakes_a_sleeping_acquirer() {
    loom::model(|| {
        let slots = full(1);
        let s = slots.clone();
        let waiter = thread::spawn(move || {
            s.acquire().unwrap();
            s.release();
        });
        slots.release();
        waiter.join().unwrap();
        assert_eq!(slots.snapshot().count, 0);
        assert_eq!(slots.waiting(), 0);
    });
}

/// Two sleepers, two releases by two threads: both sleepers get in.
#[test]
fn two_releases_wake_two_sleeping_acquirers() {
    loom::model(|| {
        let slots = full(2);
        let waiters = on_threads(2, &slots, |s| s.acquire().unwrap());
        let s = slots.clone();
        let releaser = thread::spawn(move || {
            s.release();
        });
        slots.release();
        releaser.join().unwrap();
        for w in waiters {
            w.join().unwrap();
        }
        assert_eq!(slots.snapshot().count, 2);
    });
}

/// Closing wakes a sleeping acquirer, which is then refused (or got in
/// before the close).
#[test]
fn a_close_wakes_a_sleeping_acquirer() {
    loom::model(|| {
        let slots = full(1);
        let s = slots.clone();
        let waiter = thread::spawn(move || s.acquire());
        assert_eq!(slots.close(), Some(false));
        assert_eq!(waiter.join().unwrap(), Err(Refused::Closed));
        assert!(slots.release().closed_and_empty);
    });
}

/// `wait_empty` returns once the last holder releases, from two threads.
#[test]
fn the_last_release_wakes_wait_empty() {
    loom::model(|| {
        let slots = full(2);
        let s = slots.clone();
        let idle = thread::spawn(move || {
            assert!(s.wait_empty());
            assert_eq!(s.snapshot().count, 0);
        });
        let s = slots.clone();
        let releaser = thread::spawn(move || {
            s.release();
        });
        slots.release();
        releaser.join().unwrap();
        idle.join().unwrap();
    });
}

/// Growing the capacity wakes a sleeper at once (no release happens).
#[test]
fn growing_the_capacity_wakes_a_sleeping_acquirer() {
    loom::model(|| {
        let slots = full(1);
        let s = slots.clone();
        let waiter = thread::spawn(move || s.acquire().unwrap());
        assert_eq!(slots.set_capacity(2), 1);
        waiter.join().unwrap();
        assert_eq!(slots.snapshot().count, 2);
    });
}

/// Shrinking under holders never loses or duplicates a slot: with capacity
/// lowered from 2 to 1 while two holders release, exactly one newcomer
/// gets in afterwards.
#[test]
fn shrinking_under_holders_keeps_the_count_exact() {
    loom::model(|| {
        let slots = full(2);
        let releasers = on_threads(2, &slots, |s| {
            s.release();
        });
        assert_eq!(slots.set_capacity(1), 2);
        for r in releasers {
            r.join().unwrap();
        }
        assert_eq!(slots.snapshot().count, 0);
        slots.try_acquire().unwrap();
        assert_eq!(slots.try_acquire(), Err(Refused::Full));
    });
}

/// Two blocked acquirers, and two single-slot releases: each release wakes
/// one sleeper only, and the one woken passes the wake-up on when it
/// leaves (setting the flag again, or waking the other if there is room),
/// so both are admitted — a lost wake-up would be a deadlock.
#[test]
fn single_wake_ups_never_leave_a_sleeper_behind() {
    loom::model(|| {
        let slots = full(1);
        let waiters = on_threads(2, &slots, |s| {
            s.acquire().expect("admitted once a slot frees");
            s.release();
        });
        slots.release();
        for w in waiters {
            w.join().unwrap();
        }
        assert_eq!(slots.snapshot().count, 0);
    });
}
