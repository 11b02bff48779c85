//! Policy: the health gate's transitions, what counts as a failure, the
//! cached fallback, the operation timeout and exact counts under
//! concurrency. Time comes from a ManualClock: no sleeps, no timing.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use bulkheads::{
    BuildErrorKind, Clock, Fallback, FallbackStrategy, ManualClock, Policy, PolicyBuilder,
    PolicyConfig, PolicyError, RejectReason, SemaphoreBulkhead, State, ThreadPoolBulkhead,
};

const RECOVERY: Duration = Duration::from_secs(60);

/// A policy on a manual clock, with the clock to move it.
fn manual(builder: PolicyBuilder) -> (Policy, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new());
    let policy = builder.clock(clock.clone()).build().unwrap();
    (policy, clock)
}

fn ok(policy: &Policy) -> Result<u32, PolicyError<&'static str>> {
    policy.call(|| Ok(1))
}

fn fail(policy: &Policy) -> Result<u32, PolicyError<&'static str>> {
    policy.call(|| Err("dependency down"))
}

/// The seed's own test: a normal request succeeds; when the dependency
/// fails the cached fallback answers; after recovery requests succeed
/// again.
#[test]
fn the_seed_scenario_success_then_fallback_then_success_after_recovery() {
    let (policy, clock) = manual(Policy::builder("search"));
    let cache = policy.fallback();
    let healthy = Cell::new(true);
    let request = || {
        if healthy.get() {
            Ok(String::from("results for rust"))
        } else {
            Err("search backend unreachable")
        }
    };

    // Normal request.
    assert_eq!(
        cache.call(&policy, request).unwrap(),
        "results for rust",
        "a healthy dependency answers"
    );

    // The dependency fails: the fallback serves the cached response, and
    // after the seed's 10 errors the gate opens.
    healthy.set(false);
    for _ in 0..10 {
        assert_eq!(cache.call(&policy, request).unwrap(), "results for rust");
    }
    assert_eq!(policy.state(), State::Open);
    let ran = Cell::new(false);
    let served = cache.call(&policy, || {
        ran.set(true);
        request()
    });
    assert_eq!(served.unwrap(), "results for rust");
    assert!(!ran.get(), "an open gate does not call the dependency");

    // The dependency recovers; after the recovery period the probes pass.
    healthy.set(true);
    clock.advance(RECOVERY);
    for _ in 0..3 {
        assert_eq!(cache.call(&policy, request).unwrap(), "results for rust");
    }
    assert_eq!(policy.state(), State::Closed);
    assert_eq!(policy.call(request).unwrap(), "results for rust");
}

#[test]
fn the_seed_defaults_are_the_policy_defaults() {
    let c = PolicyConfig::default();
    assert_eq!(c.failure_rate_threshold, 0.5);
    assert_eq!(c.slow_call_threshold, Duration::from_secs(5));
    assert_eq!(c.slow_call_rate_threshold, 0.5);
    assert_eq!(c.error_count_threshold, 10);
    assert_eq!(c.timeout, Some(Duration::from_secs(30)));
    assert_eq!(c.recovery, Duration::from_secs(60));
    assert_eq!(c.fallback, FallbackStrategy::CachedResponse);
    assert!(c.enabled);
    let policy = Policy::builder("search").build().unwrap();
    assert_eq!(policy.config(), &c);
}

#[test]
fn the_gate_opens_at_exactly_the_failure_rate_once_minimum_calls_are_reached() {
    let (policy, _clock) = manual(
        Policy::builder("search")
            .failure_rate_threshold(0.5)
            .minimum_calls(10)
            .error_count_threshold(1000),
    );
    // 5 failures in 9 calls is 55%, but 9 calls give no verdict.
    for _ in 0..5 {
        fail(&policy).unwrap_err();
    }
    for _ in 0..4 {
        ok(&policy).unwrap();
    }
    assert_eq!(policy.state(), State::Closed);
    assert_eq!(policy.health().calls, 9);
    // The 10th call, a success, makes it 5 of 10: exactly 50%.
    ok(&policy).unwrap();
    assert_eq!(policy.state(), State::Open);
    assert_eq!(policy.health().failure_rate, 0.5);
    assert!(matches!(ok(&policy), Err(PolicyError::Open)));
}

#[test]
fn a_failure_rate_just_under_the_threshold_keeps_the_gate_closed() {
    let (policy, _clock) = manual(
        Policy::builder("search")
            .failure_rate_threshold(0.5)
            .minimum_calls(10)
            .error_count_threshold(1000),
    );
    for _ in 0..4 {
        fail(&policy).unwrap_err();
    }
    for _ in 0..6 {
        ok(&policy).unwrap();
    }
    fail(&policy).unwrap_err(); // 5 of 11
    assert_eq!(policy.state(), State::Closed);
    let h = policy.health();
    assert_eq!((h.calls, h.failures), (11, 5));
}

#[test]
fn the_error_count_opens_the_gate_whatever_the_number_of_calls() {
    let (policy, _clock) = manual(
        Policy::builder("search")
            .minimum_calls(1000)
            .error_count_threshold(3),
    );
    fail(&policy).unwrap_err();
    fail(&policy).unwrap_err();
    assert_eq!(policy.state(), State::Closed);
    fail(&policy).unwrap_err();
    assert_eq!(policy.state(), State::Open);
    assert_eq!(policy.health().times_opened, 1);
}

#[test]
fn failures_leave_the_window_once_it_has_slid_past_them() {
    let window = Duration::from_secs(10);
    let (policy, clock) = manual(
        Policy::builder("search")
            .window(window)
            .minimum_calls(1000)
            .error_count_threshold(3),
    );
    fail(&policy).unwrap_err();
    fail(&policy).unwrap_err();
    clock.advance(window);
    assert_eq!(
        policy.health().failures,
        0,
        "a full window later they are gone"
    );
    fail(&policy).unwrap_err();
    assert_eq!(policy.state(), State::Closed);

    // Within 0.9 of a window they still count.
    fail(&policy).unwrap_err();
    clock.advance(window * 9 / 10);
    fail(&policy).unwrap_err();
    assert_eq!(policy.state(), State::Open);
}

#[test]
fn slow_calls_are_counted_and_open_the_gate_at_the_slow_call_rate() {
    let threshold = Duration::from_millis(500);
    let (policy, clock) = manual(
        Policy::builder("search")
            .slow_call_threshold(threshold)
            .slow_call_rate_threshold(0.5)
            .minimum_calls(4),
    );
    let call_taking = |d: Duration| {
        policy
            .call(|| {
                clock.advance(d);
                Ok::<_, ()>(())
            })
            .unwrap()
    };
    call_taking(threshold); // exactly the threshold: slow
    call_taking(threshold * 3); // slow
    call_taking(threshold - Duration::from_nanos(1)); // quick
    let h = policy.health();
    assert_eq!((h.calls, h.slow_calls, h.failures), (3, 2, 0));
    assert_eq!(
        policy.state(),
        State::Closed,
        "3 calls are under the minimum"
    );
    call_taking(Duration::ZERO);
    assert_eq!(policy.state(), State::Open, "2 slow of 4 calls is 50%");
}

#[test]
fn the_slow_call_rate_follows_the_failure_rate_unless_set() {
    let p = Policy::builder("s")
        .failure_rate_threshold(0.3)
        .build()
        .unwrap();
    assert_eq!(p.config().slow_call_rate_threshold, 0.3);
    let p = Policy::builder("s")
        .slow_call_rate_threshold(0.9)
        .failure_rate_threshold(0.3)
        .build()
        .unwrap();
    assert_eq!(p.config().slow_call_rate_threshold, 0.9);
}

/// Opens `policy` with `error_count` failures, then lets recovery pass.
fn open_then_recover(policy: &Policy, clock: &ManualClock, error_count: usize) {
    for _ in 0..error_count {
        fail(policy).unwrap_err();
    }
    assert_eq!(policy.state(), State::Open);
    clock.advance(RECOVERY - Duration::from_nanos(1));
    assert!(matches!(ok(policy), Err(PolicyError::Open)), "not yet");
    clock.advance(Duration::from_nanos(1));
}

#[test]
fn half_open_admits_exactly_the_probe_count_and_closes_when_all_pass() {
    let (policy, clock) = manual(
        Policy::builder("search")
            .error_count_threshold(1)
            .half_open_calls(2)
            .recovery(RECOVERY),
    );
    open_then_recover(&policy, &clock, 1);

    // Probes nest so that all are in flight at once: the third call, while
    // two probes are running, is refused without running.
    let third_ran = Cell::new(false);
    let outer = policy.call(|| {
        let inner = policy.call(|| {
            let third = policy.call(|| {
                third_ran.set(true);
                Ok::<_, &str>(3)
            });
            assert!(matches!(third, Err(PolicyError::Open)));
            assert_eq!(policy.state(), State::HalfOpen);
            Ok::<_, &str>(2)
        });
        assert_eq!(inner.unwrap(), 2);
        assert_eq!(policy.state(), State::HalfOpen, "one probe still running");
        Ok::<_, &str>(1)
    });
    assert_eq!(outer.unwrap(), 1);
    assert!(!third_ran.get());
    assert_eq!(policy.state(), State::Closed);
    assert_eq!(policy.health().calls, 0, "closing starts a fresh window");
    assert_eq!(policy.health().times_opened, 1);
}

#[test]
fn a_failed_probe_opens_the_gate_again_for_another_recovery() {
    let (policy, clock) = manual(
        Policy::builder("search")
            .error_count_threshold(1)
            .half_open_calls(3)
            .recovery(RECOVERY),
    );
    open_then_recover(&policy, &clock, 1);
    ok(&policy).unwrap();
    fail(&policy).unwrap_err();
    assert_eq!(policy.state(), State::Open);
    assert_eq!(policy.health().times_opened, 2);
    open_then_recover(&policy, &clock, 0);
    for _ in 0..3 {
        ok(&policy).unwrap();
    }
    assert_eq!(policy.state(), State::Closed);
}

#[test]
fn a_slow_probe_that_succeeds_counts_as_passed() {
    // API.md: all probes succeed → Closed; a failure is Err, a panic or a
    // timeout. A slow success is a success.
    let (policy, clock) = manual(
        Policy::builder("search")
            .error_count_threshold(1)
            .half_open_calls(1)
            .slow_call_threshold(Duration::from_secs(1)),
    );
    open_then_recover(&policy, &clock, 1);
    policy
        .call(|| {
            clock.advance(Duration::from_secs(1));
            Ok::<_, ()>(())
        })
        .unwrap();
    assert_eq!(policy.state(), State::Closed);
    assert_eq!(
        policy.health().calls,
        0,
        "probes are not in the fresh window"
    );
}

#[test]
fn a_full_semaphore_is_rejected_and_not_counted() {
    let (policy, _clock) = manual(Policy::builder("search").error_count_threshold(1));
    let semaphore = SemaphoreBulkhead::new("search", 1);
    let _held = semaphore.try_acquire().unwrap();
    let ran = Cell::new(false);
    let r = policy.call_on(&semaphore, || {
        ran.set(true);
        Err::<(), _>("never runs")
    });
    assert!(matches!(r, Err(PolicyError::Rejected(RejectReason::Full))));
    assert!(!ran.get());
    let h = policy.health();
    assert_eq!((h.state, h.calls, h.failures), (State::Closed, 0, 0));
}

#[test]
fn a_full_thread_pool_is_rejected_and_not_counted() {
    let (policy, _clock) = manual(Policy::builder("search").error_count_threshold(1));
    let pool = ThreadPoolBulkhead::builder("search")
        .threads(1)
        .build()
        .unwrap();
    let (release, blocked) = mpsc::channel::<()>();
    let busy = pool.try_submit(move || blocked.recv().unwrap()).unwrap();
    let r = policy.call_on(&pool, || Err::<(), _>("never runs"));
    assert!(matches!(r, Err(PolicyError::Rejected(RejectReason::Full))));
    assert_eq!(policy.health().calls, 0);
    release.send(()).unwrap();
    busy.join().unwrap();
    assert_eq!(policy.call_on(&pool, || Ok::<_, ()>(5)).unwrap(), 5);
    assert_eq!(policy.health().calls, 1);
}

#[test]
fn a_rejected_probe_gives_its_place_back() {
    let (policy, clock) = manual(
        Policy::builder("search")
            .error_count_threshold(1)
            .half_open_calls(1),
    );
    let semaphore = SemaphoreBulkhead::new("search", 1);
    open_then_recover(&policy, &clock, 1);
    let held = semaphore.try_acquire().unwrap();
    let r = policy.call_on(&semaphore, || Ok::<_, &str>(1));
    assert!(matches!(r, Err(PolicyError::Rejected(_))));
    assert_eq!(policy.state(), State::HalfOpen);
    drop(held);
    assert_eq!(policy.call_on(&semaphore, || Ok::<_, &str>(2)).unwrap(), 2);
    assert_eq!(policy.state(), State::Closed);
}

#[test]
fn a_panic_is_caught_and_counted_as_a_failure() {
    let (policy, _clock) = manual(Policy::builder("search").error_count_threshold(2));
    let r = policy.call(|| -> Result<u32, ()> { panic!("parser bug") });
    match r {
        Err(PolicyError::Panicked(payload)) => {
            assert_eq!(payload.downcast_ref::<&str>(), Some(&"parser bug"));
        }
        other => panic!("expected Panicked, got {other:?}"),
    }
    assert_eq!(policy.health().failures, 1);

    let pool = ThreadPoolBulkhead::builder("p").threads(1).build().unwrap();
    let r = policy.call_on(&pool, || -> Result<u32, ()> { panic!("on a worker") });
    assert!(matches!(r, Err(PolicyError::Panicked(_))));
    assert_eq!(policy.state(), State::Open);
}

#[test]
fn the_cached_fallback_returns_the_last_good_value() {
    let (policy, _clock) = manual(Policy::builder("prices").error_count_threshold(2));
    let cache = Fallback::cached();
    assert!(
        matches!(
            cache.call(&policy, || Err("down")),
            Err(PolicyError::Failed("down"))
        ),
        "nothing cached yet"
    );
    assert_eq!(cache.call(&policy, || Ok::<_, &str>(10)).unwrap(), 10);
    assert_eq!(cache.call(&policy, || Ok::<_, &str>(11)).unwrap(), 11);
    assert_eq!(cache.call(&policy, || Err("down")).unwrap(), 11);
    assert_eq!(policy.state(), State::Open);
    assert_eq!(cache.call(&policy, || Ok::<_, &str>(12)).unwrap(), 11);
    assert_eq!(cache.last(), Some(11));

    let none = Fallback::from_strategy(FallbackStrategy::None);
    assert_eq!(none.call(&policy, || Ok::<_, &str>(1)).ok(), None);
    assert!(matches!(
        none.call(&policy, || Ok::<_, &str>(1)),
        Err(PolicyError::Open)
    ));
    assert_eq!(none.last(), None);
}

#[test]
fn the_operation_timeout_returns_timeout_and_the_task_keeps_its_slot() {
    let (policy, _clock) = manual(
        Policy::builder("search")
            .timeout(Duration::from_millis(20))
            .error_count_threshold(5),
    );
    let pool = ThreadPoolBulkhead::builder("search")
        .threads(1)
        .build()
        .unwrap();
    let (release, blocked) = mpsc::channel::<()>();
    let (ended_tx, ended) = mpsc::channel::<()>();
    let r = policy.call_on(&pool, move || {
        blocked.recv().unwrap();
        ended_tx.send(()).unwrap();
        Ok::<_, ()>(1)
    });
    assert!(matches!(r, Err(PolicyError::Timeout)));
    assert_eq!(policy.health().failures, 1, "a timeout is a failure");

    // The task still runs and holds the pool's only slot.
    assert_eq!(pool.stats().active, 1);
    let r = policy.call_on(&pool, || Ok::<_, ()>(2));
    assert!(matches!(r, Err(PolicyError::Rejected(RejectReason::Full))));

    release.send(()).unwrap();
    ended.recv().unwrap();
    pool.wait_idle();
    assert_eq!(policy.call_on(&pool, || Ok::<_, ()>(3)).unwrap(), 3);
}

#[test]
fn policies_work_through_arcs_from_the_registry() {
    let registry = bulkheads::Registry::new();
    let semaphore = registry.semaphore("checkout", 2).unwrap();
    let pool = registry.thread_pool("search", |b| b.threads(1)).unwrap();
    let policy = Policy::builder("checkout").build().unwrap();
    assert_eq!(policy.call_on(&semaphore, || Ok::<_, ()>(1)).unwrap(), 1);
    assert_eq!(policy.call_on(&pool, || Ok::<_, ()>(2)).unwrap(), 2);
}

#[test]
fn a_disabled_policy_passes_everything_through_and_never_opens() {
    let (policy, _clock) = manual(
        Policy::builder("search")
            .enabled(false)
            .error_count_threshold(1),
    );
    for _ in 0..5 {
        fail(&policy).unwrap_err();
    }
    assert_eq!(ok(&policy).unwrap(), 1);
    let h = policy.health();
    assert_eq!((h.state, h.calls), (State::Closed, 0));
}

#[test]
fn invalid_settings_are_build_errors() {
    let kind = |b: PolicyBuilder| b.build().unwrap_err().kind();
    let b = || Policy::builder("search");
    assert_eq!(kind(Policy::builder(" ")), BuildErrorKind::EmptyName);
    assert_eq!(
        kind(b().failure_rate_threshold(0.0)),
        BuildErrorKind::InvalidRate
    );
    assert_eq!(
        kind(b().failure_rate_threshold(1.5)),
        BuildErrorKind::InvalidRate
    );
    assert_eq!(
        kind(b().failure_rate_threshold(f64::NAN)),
        BuildErrorKind::InvalidRate
    );
    assert_eq!(
        kind(b().slow_call_rate_threshold(-0.1)),
        BuildErrorKind::InvalidRate
    );
    assert_eq!(
        kind(b().error_count_threshold(0)),
        BuildErrorKind::ZeroErrorCount
    );
    assert_eq!(
        kind(b().half_open_calls(0)),
        BuildErrorKind::ZeroHalfOpenCalls
    );
    assert_eq!(kind(b().window(Duration::ZERO)), BuildErrorKind::ZeroWindow);
    assert_eq!(
        kind(b().slow_call_threshold(Duration::ZERO)),
        BuildErrorKind::ZeroSlowCallThreshold
    );
    assert_eq!(
        kind(b().timeout(Duration::ZERO)),
        BuildErrorKind::ZeroTimeout
    );
    let err = b().failure_rate_threshold(2.0).build().unwrap_err();
    assert!(err.to_string().contains("search"), "{err}");
}

#[test]
fn eight_threads_keep_the_counts_exact() {
    const THREADS: usize = 8;
    const CALLS: usize = 2_000;
    // Nothing can open the gate: every call is counted.
    let (policy, clock) = manual(
        Policy::builder("search")
            .error_count_threshold(usize::MAX)
            .minimum_calls(usize::MAX)
            .slow_call_threshold(Duration::from_nanos(1)),
    );
    let barrier = Barrier::new(THREADS);
    thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                barrier.wait();
                for i in 0..CALLS {
                    let _ = policy.call(|| {
                        clock.advance(Duration::from_nanos(1)); // every call is slow
                        if i % 4 == 0 {
                            Err(())
                        } else {
                            Ok(())
                        }
                    });
                }
            });
        }
    });
    let h = policy.health();
    assert_eq!(h.calls, (THREADS * CALLS) as u64);
    assert_eq!(h.failures, (THREADS * CALLS / 4) as u64);
    assert_eq!(h.slow_calls, (THREADS * CALLS) as u64);
    assert_eq!(h.state, State::Closed);
}

#[test]
fn eight_threads_racing_to_open_the_gate_open_it_once() {
    const THREADS: usize = 8;
    const CALLS: usize = 500;
    // Only the error count can open it.
    let (policy, _clock) = manual(
        Policy::builder("search")
            .minimum_calls(usize::MAX)
            .error_count_threshold(100),
    );
    let barrier = Barrier::new(THREADS);
    let (ran, refused) = (AtomicUsize::new(0), AtomicUsize::new(0));
    thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                barrier.wait();
                for _ in 0..CALLS {
                    let r = policy.call(|| {
                        ran.fetch_add(1, Ordering::Relaxed);
                        Err::<(), _>("down")
                    });
                    if matches!(r, Err(PolicyError::Open)) {
                        refused.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    let h = policy.health();
    assert_eq!(h.state, State::Open);
    assert_eq!(h.times_opened, 1);
    let ran = ran.load(Ordering::Relaxed);
    assert_eq!(ran + refused.load(Ordering::Relaxed), THREADS * CALLS);
    assert_eq!(h.failures as usize, ran, "every call that ran was counted");
    assert!(ran >= 100);
}

#[test]
fn a_probe_from_an_earlier_half_open_state_is_not_counted() {
    let (policy, clock) = manual(
        Policy::builder("search")
            .error_count_threshold(1)
            .half_open_calls(2)
            .slow_call_threshold(RECOVERY * 10), // the clock moves inside a probe
    );
    open_then_recover(&policy, &clock, 1);
    // The first probe is still running when a second one fails, the gate
    // reopens, recovers, and a probe of the new half-open state passes.
    let stale = policy.call(|| {
        fail(&policy).unwrap_err();
        assert_eq!(policy.state(), State::Open);
        clock.advance(RECOVERY);
        ok(&policy).unwrap();
        assert_eq!(policy.state(), State::HalfOpen);
        Ok::<_, &str>(())
    });
    stale.unwrap();
    assert_eq!(
        policy.state(),
        State::HalfOpen,
        "one probe of this half-open state passed; the stale one does not count"
    );
    ok(&policy).unwrap();
    assert_eq!(policy.state(), State::Closed);
}

#[test]
fn a_call_let_through_while_closed_changes_nothing_once_the_gate_moved_on() {
    let (policy, clock) = manual(
        Policy::builder("search")
            .error_count_threshold(1)
            .half_open_calls(2),
    );
    let late = policy.call(|| {
        open_then_recover(&policy, &clock, 1);
        ok(&policy).unwrap(); // a probe: now half-open
        assert_eq!(policy.state(), State::HalfOpen);
        Err::<(), _>("late failure from the closed state")
    });
    assert!(matches!(late, Err(PolicyError::Failed(_))));
    assert_eq!(
        policy.state(),
        State::HalfOpen,
        "the late failure reopened nothing"
    );
    assert_eq!(policy.health().times_opened, 1);
}

#[test]
fn a_call_let_through_in_an_earlier_closed_state_is_not_in_the_fresh_window() {
    let (policy, clock) = manual(
        Policy::builder("search")
            .error_count_threshold(2)
            .half_open_calls(1)
            .minimum_calls(1000),
    );
    let late = policy.call(|| {
        fail(&policy).unwrap_err();
        fail(&policy).unwrap_err();
        assert_eq!(policy.state(), State::Open);
        clock.advance(RECOVERY);
        ok(&policy).unwrap(); // the one probe passes: closed, fresh window
        assert_eq!(policy.state(), State::Closed);
        Err::<(), _>("late failure from the first closed state")
    });
    assert!(matches!(late, Err(PolicyError::Failed(_))));
    let h = policy.health();
    assert_eq!((h.calls, h.failures), (0, 0), "the fresh window is empty");
    fail(&policy).unwrap_err();
    assert_eq!(
        policy.state(),
        State::Closed,
        "one failure in the fresh window is below the error count of 2"
    );
    fail(&policy).unwrap_err();
    assert_eq!(policy.state(), State::Open);
}

/// A clock whose next reading, once armed, is taken and then held back
/// until released: what a thread preempted between reading the clock and
/// recording its call looks like.
#[derive(Debug)]
struct HeldClock {
    time: ManualClock,
    armed: AtomicBool,
    taken: Mutex<mpsc::Sender<()>>,
    release: Mutex<mpsc::Receiver<()>>,
}

impl Clock for HeldClock {
    fn now(&self) -> Instant {
        let t = self.time.now();
        if self.armed.swap(false, Ordering::SeqCst) {
            self.taken.lock().unwrap().send(()).unwrap();
            self.release.lock().unwrap().recv().unwrap();
        }
        t
    }
}

/// A policy on a `HeldClock` (10 s window), and a thread that has read the
/// clock at the end of a failed call and waits to record it: returns the
/// policy, the clock, the sender that lets the thread go on, and the thread.
fn preempted_failure(
    builder: PolicyBuilder,
) -> (
    Arc<Policy>,
    Arc<HeldClock>,
    mpsc::Sender<()>,
    thread::JoinHandle<()>,
) {
    let (taken_tx, taken) = mpsc::channel();
    let (release, release_rx) = mpsc::channel();
    let clock = Arc::new(HeldClock {
        time: ManualClock::new(),
        armed: AtomicBool::new(false),
        taken: Mutex::new(taken_tx),
        release: Mutex::new(release_rx),
    });
    let policy = Arc::new(
        builder
            .window(Duration::from_secs(10))
            .minimum_calls(usize::MAX)
            .clock(clock.clone())
            .build()
            .unwrap(),
    );
    let late = {
        let (policy, clock) = (policy.clone(), clock.clone());
        thread::spawn(move || {
            let r = policy.call(|| {
                clock.armed.store(true, Ordering::SeqCst);
                Err::<(), _>("preempted")
            });
            assert!(r.is_err());
        })
    };
    taken.recv().unwrap(); // it has read the clock and is held
    (policy, clock, release, late)
}

#[test]
fn a_recorder_preempted_for_a_window_never_erases_current_counts() {
    let (policy, clock, release, late) =
        preempted_failure(Policy::builder("search").error_count_threshold(6));
    clock.time.advance(Duration::from_secs(10)); // a window on: the same bucket
    for _ in 0..5 {
        fail(&policy).unwrap_err();
    }
    release.send(()).unwrap();
    late.join().unwrap();
    assert_eq!(
        policy.health().failures,
        5,
        "the late call is outside the window and erased nothing"
    );
    fail(&policy).unwrap_err();
    assert_eq!(policy.state(), State::Open, "the sixth failure opens it");
}

#[test]
fn a_recorder_whose_reading_lags_still_sees_a_later_call_in_the_window() {
    let (policy, clock, release, late) =
        preempted_failure(Policy::builder("search").error_count_threshold(2));
    clock.time.advance(Duration::from_secs(1)); // the next bucket
    fail(&policy).unwrap_err();
    assert_eq!(policy.state(), State::Closed, "one failure so far");
    release.send(()).unwrap();
    late.join().unwrap();
    let h = policy.health();
    assert_eq!(
        (h.failures, h.state),
        (2, State::Open),
        "the late failure makes two in the window: it opens the gate"
    );
}

#[test]
fn policies_and_fallbacks_can_be_shared_between_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<Policy>();
    shared::<Fallback<String>>();
    shared::<ManualClock>();
    shared::<PolicyConfig>();

    let policy = Arc::new(Policy::builder("search").build().unwrap());
    let p = policy.clone();
    thread::spawn(move || p.call(|| Ok::<_, ()>(1)).unwrap())
        .join()
        .unwrap();
    assert_eq!(policy.health().calls, 1);
}
