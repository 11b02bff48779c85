//! SemaphoreBulkhead: admission, rejection, release, waits, resize.

use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use bulkheads::{BuildErrorKind, OwnedPermit, RejectReason, SemaphoreBulkhead};

/// Spins (yielding) until `cond` holds: synchronises on observable state,
/// never on time.
fn until(mut cond: impl FnMut() -> bool) {
    while !cond() {
        thread::yield_now();
    }
}

/// A thread blocked in `acquire_owned` on `b` (returns once it is parked):
/// the receiver hears when it gets the permit; joining it yields the permit.
fn parked_waiter(
    b: &Arc<SemaphoreBulkhead>,
) -> (mpsc::Receiver<()>, thread::JoinHandle<OwnedPermit>) {
    let (tx, rx) = mpsc::channel();
    let waiting_before = b.stats().waiting;
    let bb = b.clone();
    let waiter = thread::spawn(move || {
        let p = bb.acquire_owned();
        tx.send(()).unwrap();
        p
    });
    until(|| b.stats().waiting == waiting_before + 1);
    (rx, waiter)
}

#[test]
fn calls_under_the_limit_are_permitted_and_counted() {
    let b = SemaphoreBulkhead::new("checkout", 3);
    let permits: Vec<_> = (0..3).map(|_| b.try_acquire().unwrap()).collect();
    let s = b.stats();
    assert_eq!((s.active, s.permitted, s.rejected), (3, 3, 0));
    assert_eq!(s.utilization(), 1.0);
    drop(permits);
    assert_eq!(b.call(|| 5).ok(), Some(5));
    assert_eq!(b.stats().permitted, 4);
}

#[test]
fn a_full_bulkhead_rejects_at_once_and_counts_the_rejection() {
    let b = SemaphoreBulkhead::new("checkout", 1);
    let _held = b.try_acquire().unwrap();
    let err = b.try_acquire().unwrap_err();
    assert_eq!(err.reason(), RejectReason::Full);
    let rejected = b.call(|| "work").unwrap_err();
    assert_eq!(rejected.reason(), RejectReason::Full);
    assert_eq!((rejected.into_inner())(), "work");
    let s = b.stats();
    assert_eq!((s.active, s.permitted, s.rejected), (1, 1, 2));
}

#[test]
fn a_permit_is_released_when_dropped() {
    let b = SemaphoreBulkhead::new("db", 1);
    {
        let _p = b.try_acquire().unwrap();
        assert!(b.try_acquire().is_err());
    }
    assert_eq!(b.stats().active, 0);
    assert!(b.try_acquire().is_ok());
}

#[test]
fn a_timed_wait_gets_a_permit_released_while_it_waits() {
    let b = Arc::new(SemaphoreBulkhead::new("db", 1));
    let held = b.try_acquire_owned().unwrap();
    let waiter = {
        let b = b.clone();
        thread::spawn(move || {
            b.acquire_timeout(Duration::from_secs(60))
                .map(|_p| ())
                .map_err(|e| e.reason())
        })
    };
    until(|| b.stats().waiting == 1);
    drop(held);
    assert_eq!(waiter.join().unwrap(), Ok(()));
    assert_eq!(b.stats().permitted, 2);
}

#[test]
fn a_timed_wait_that_runs_out_is_rejected_with_timeout() {
    let b = SemaphoreBulkhead::new("db", 1);
    let _held = b.try_acquire().unwrap();
    let err = b.acquire_timeout(Duration::from_millis(1)).unwrap_err();
    assert_eq!(err.reason(), RejectReason::Timeout);
    let fair = SemaphoreBulkhead::builder("db")
        .max_concurrent(1)
        .fair(true)
        .build()
        .unwrap();
    let _held = fair.try_acquire().unwrap();
    let err = fair.acquire_timeout(Duration::from_millis(1)).unwrap_err();
    assert_eq!(err.reason(), RejectReason::Timeout);
    assert_eq!(
        fair.stats().waiting,
        0,
        "a timed-out waiter leaves the line"
    );
}

#[test]
fn call_with_a_max_wait_times_out_with_the_closure_given_back() {
    let b = SemaphoreBulkhead::builder("db")
        .max_concurrent(1)
        .max_wait(Duration::from_millis(1))
        .build()
        .unwrap();
    let _held = b.try_acquire().unwrap();
    let rejected = b.call(|| 7).unwrap_err();
    assert_eq!(rejected.reason(), RejectReason::Timeout);
    assert_eq!((rejected.into_inner())(), 7);
}

#[test]
fn a_limit_of_zero_rejects_every_call_until_raised() {
    for fair in [false, true] {
        let b = SemaphoreBulkhead::builder("kill-switch")
            .max_concurrent(0)
            .fair(fair)
            .build()
            .unwrap();
        assert!(b.try_acquire().unwrap_err().is_full());
        assert!(b.call(|| ()).is_err());
        b.set_max_concurrent(1);
        assert!(b.call(|| ()).is_ok());
        b.set_max_concurrent(0);
        assert!(b.call(|| ()).is_err());
    }
}

#[test]
fn new_accepts_an_empty_name_but_the_builder_rejects_it() {
    assert_eq!(SemaphoreBulkhead::new("", 1).name(), "");
    let err = SemaphoreBulkhead::builder(" ").build().unwrap_err();
    assert_eq!(err.kind(), BuildErrorKind::EmptyName);
    let err = SemaphoreBulkhead::builder("x")
        .max_concurrent(usize::MAX)
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), BuildErrorKind::TooLarge);
}

#[test]
fn growing_wakes_a_parked_waiter_at_once() {
    for fair in [false, true] {
        let b = Arc::new(
            SemaphoreBulkhead::builder("grow")
                .max_concurrent(1)
                .fair(fair)
                .build()
                .unwrap(),
        );
        let _held = b.try_acquire_owned().unwrap();
        let (rx, waiter) = parked_waiter(&b);
        b.set_max_concurrent(2);
        // The holder never releases: only the grow can admit the waiter.
        rx.recv().unwrap();
        let p = waiter.join().unwrap();
        assert_eq!(b.stats().active, 2, "fair = {fair}");
        drop(p);
        assert_eq!(b.stats().active, 1, "fair = {fair}");
    }
}

#[test]
fn shrinking_with_holders_returns_at_once_and_admits_nobody_until_under_the_limit() {
    for fair in [false, true] {
        let b = SemaphoreBulkhead::builder("shrink")
            .max_concurrent(4)
            .fair(fair)
            .build()
            .unwrap();
        let mut held: Vec<_> = (0..4).map(|_| b.try_acquire().unwrap()).collect();
        b.set_max_concurrent(2); // must not wait for the 4 holders
        let s = b.stats();
        assert_eq!((s.active, s.max_concurrent), (4, 2));
        held.pop();
        assert!(b.try_acquire().is_err(), "3 held, limit 2");
        held.pop();
        assert!(b.try_acquire().is_err(), "2 held, limit 2");
        held.pop();
        let p = b.try_acquire().expect("1 held, limit 2: room");
        assert!(b.try_acquire().is_err());
        drop(p);
        drop(held);
        assert_eq!(b.stats().active, 0, "fair = {fair}");
    }
}

#[test]
fn shrinking_with_a_fair_waiter_queued_admits_it_only_under_the_new_limit() {
    let b = Arc::new(
        SemaphoreBulkhead::builder("shrink-fair")
            .max_concurrent(2)
            .fair(true)
            .build()
            .unwrap(),
    );
    let mut held: Vec<_> = (0..2).map(|_| b.try_acquire_owned().unwrap()).collect();
    let (rx, waiter) = parked_waiter(&b);
    b.set_max_concurrent(1);
    held.pop(); // 1 held, limit 1: no room yet
    assert!(rx.try_recv().is_err());
    assert_eq!(b.stats().waiting, 1);
    held.pop(); // 0 held: the waiter gets it
    rx.recv().unwrap();
    let p = waiter.join().unwrap();
    assert_eq!(b.stats().active, 1);
    drop(p);
}

#[test]
fn call_releases_its_permit_when_the_closure_panics() {
    let b = SemaphoreBulkhead::new("panics", 1);
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| b.call(|| panic!("boom"))));
    assert!(outcome.is_err());
    assert_eq!(b.stats().active, 0);
    assert!(b.try_acquire().is_ok());
}

#[test]
fn owned_permits_move_across_threads_and_release_there() {
    let b = Arc::new(SemaphoreBulkhead::new("owned", 2));
    let permits = vec![b.try_acquire_owned().unwrap(), b.acquire_owned()];
    assert!(b.try_acquire_owned().is_err());
    let barrier = Arc::new(Barrier::new(3));
    let handles: Vec<_> = permits
        .into_iter()
        .map(|permit| {
            let barrier = barrier.clone();
            thread::spawn(move || {
                assert_eq!(permit.bulkhead().name(), "owned");
                barrier.wait(); // both permits are held on other threads now
                drop(permit);
            })
        })
        .collect();
    barrier.wait();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(b.stats().active, 0);
    assert!(b.acquire_owned_timeout(Duration::from_secs(60)).is_ok());
}

#[test]
fn a_blocking_acquire_waits_for_a_release() {
    let b = Arc::new(SemaphoreBulkhead::new("blocking", 1));
    let held = b.acquire_owned();
    let (rx, waiter) = parked_waiter(&b);
    assert!(rx.try_recv().is_err(), "admitted while the permit was held");
    drop(held);
    rx.recv().unwrap();
    drop(waiter.join().unwrap());
    assert_eq!(b.stats().active, 0);
}
