//! Clocks: the manual clock moves only when told, the coarse clock moves
//! on its own and never backwards. No sleeps: the coarse clock's tests wait
//! for its readings to change.

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use bulkheads::{Clock, CoarseClock, ManualClock, Policy, State, SystemClock};

#[test]
fn a_manual_clock_moves_only_when_advanced_from_any_thread() {
    let clock = Arc::new(ManualClock::new());
    let t0 = clock.now();
    assert_eq!(clock.now(), t0);
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let clock = clock.clone();
            thread::spawn(move || {
                for _ in 0..250 {
                    clock.advance(Duration::from_millis(1));
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(clock.now() - t0, Duration::from_secs(1));
}

#[test]
fn the_system_clock_never_goes_backwards() {
    let mut last = SystemClock.now();
    for _ in 0..1000 {
        let now = SystemClock.now();
        assert!(now >= last);
        last = now;
    }
}

#[test]
fn a_coarse_clock_moves_on_its_own_and_never_backwards() {
    let clock = CoarseClock::start(Duration::from_millis(1)).unwrap();
    let mut last = clock.now();
    let mut changes = 0;
    while changes < 3 {
        let now = clock.now();
        assert!(now >= last, "the coarse clock went backwards");
        if now > last {
            changes += 1;
        }
        last = now;
        thread::yield_now();
    }
    drop(clock); // stops and joins its thread
}

#[test]
fn a_policy_on_a_coarse_clock_counts_and_opens_like_any_other() {
    let clock = Arc::new(CoarseClock::start(Duration::from_millis(1)).unwrap());
    let policy = Policy::builder("search")
        .error_count_threshold(2)
        .clock(clock)
        .build()
        .unwrap();
    assert_eq!(policy.call(|| Ok::<_, ()>(1)).unwrap(), 1);
    let _ = policy.call(|| Err::<(), _>("down"));
    let _ = policy.call(|| Err::<(), _>("down"));
    let h = policy.health();
    assert_eq!((h.state, h.calls, h.failures), (State::Open, 3, 2));
}

#[test]
fn a_coarse_clock_with_a_resolution_too_long_to_add_stands_still_and_stops() {
    let clock = CoarseClock::start(Duration::MAX).unwrap();
    let t0 = clock.now();
    assert_eq!(clock.now(), t0, "no tick ever comes due");
    drop(clock); // joins the ticker; a debug build asserts it did not panic
}
