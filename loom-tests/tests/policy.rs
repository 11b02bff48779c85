//! loom models of the real `Policy` health gate (`src/policy/gate.rs`),
//! compiled from the crate's own sources with `RUSTFLAGS="--cfg loom"`.
//!
//! Time is a `ManualClock` (its counter is a facade atomic, so loom sees
//! it too); it only moves where a model advances it. Under loom the window
//! has two buckets instead of ten, which changes nothing about the state
//! machine.
#![cfg(loom)]

use std::sync::Arc as StdArc;
use std::time::Duration;

use bulkheads::{ManualClock, Policy, PolicyBuilder, PolicyError, State};
use loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use loom::sync::Arc;
use loom::thread;

const RECOVERY: Duration = Duration::from_secs(60);

fn policy(builder: PolicyBuilder) -> (StdArc<Policy>, StdArc<ManualClock>) {
    let clock = StdArc::new(ManualClock::new());
    let policy = builder
        .recovery(RECOVERY)
        .clock(clock.clone())
        .build()
        .unwrap();
    (StdArc::new(policy), clock)
}

fn fail(policy: &Policy) -> Result<(), PolicyError<()>> {
    policy.call(|| Err(()))
}

fn succeed(policy: &Policy) -> Result<(), PolicyError<()>> {
    policy.call(|| Ok(()))
}

/// Runs `theirs` on a new thread and `mine` on this one, at once; returns
/// (mine, theirs).
fn race<T: Send + 'static>(
    p: &StdArc<Policy>,
    theirs: fn(&Policy) -> T,
    mine: fn(&Policy) -> T,
) -> (T, T) {
    let other = {
        let p = p.clone();
        thread::spawn(move || theirs(&p))
    };
    let mine = mine(p);
    (mine, other.join().unwrap())
}

/// A policy whose gate one failure opened and whose recovery has passed:
/// the next `probes` calls are probes.
fn half_open(probes: usize) -> StdArc<Policy> {
    let (policy, clock) = policy(
        Policy::builder("m")
            .error_count_threshold(1)
            .half_open_calls(probes),
    );
    assert!(fail(&policy).is_err());
    assert_eq!(policy.state(), State::Open);
    clock.advance(RECOVERY);
    policy
}

/// Two callers fail at once and together reach the error count: whichever
/// records last sees both failures, so the gate opens — exactly once.
#[test]
fn two_failures_reaching_the_error_count_open_the_gate_once() {
    loom::model(|| {
        let (p, _clock) = policy(
            Policy::builder("m")
                .minimum_calls(usize::MAX)
                .error_count_threshold(2),
        );
        let (mine, theirs) = race(&p, fail, fail);
        assert!(matches!(mine, Err(PolicyError::Failed(()))));
        assert!(matches!(theirs, Err(PolicyError::Failed(()))));
        let h = p.health();
        assert_eq!((h.state, h.failures, h.times_opened), (State::Open, 2, 1));
    });
}

/// A success and a failure race to be the `minimum_calls`-th call at a 50%
/// threshold: the quick success may skip evaluating, but then the failure's
/// evaluation sees it. The gate always ends open, opened once.
#[test]
fn a_racing_success_and_failure_decide_minimum_calls_exactly() {
    loom::model(|| {
        let (p, _clock) = policy(
            Policy::builder("m")
                .failure_rate_threshold(0.5)
                .minimum_calls(2)
                .error_count_threshold(100),
        );
        let (_, theirs) = race(&p, succeed, fail);
        theirs.unwrap();
        let h = p.health();
        assert_eq!((h.state, h.calls, h.times_opened), (State::Open, 2, 1));
    });
}

/// Two failures racing with `error_count_threshold(2)`, a 2 s window (two
/// buckets of 1 s under loom): one on another thread, the other here after
/// the clock moves by `lag`, so the other one's reading may lag this one's
/// by `lag`. Returns the health once both have ended.
fn lagging_failure(lag: Duration) -> bulkheads::Health {
    let (p, clock) = policy(
        Policy::builder("m")
            .window(Duration::from_secs(2))
            .minimum_calls(usize::MAX)
            .error_count_threshold(2),
    );
    let other = {
        let p = p.clone();
        thread::spawn(move || fail(&p))
    };
    clock.advance(lag);
    assert!(fail(&p).is_err());
    assert!(other.join().unwrap().is_err());
    p.health()
}

/// A reading that lags by a bucket is still in the window: whichever
/// failure records last sees both and opens the gate, once.
#[test]
fn a_recorder_lagging_by_a_bucket_still_sees_the_later_failure() {
    loom::model(|| {
        let h = lagging_failure(Duration::from_secs(1));
        assert_eq!((h.state, h.failures, h.times_opened), (State::Open, 2, 1));
    });
}

/// A reading that may lag a whole window (the same bucket, one period
/// older) never erases the current failure: either both are in the window
/// and the gate opens, or only the current one is and it stays closed.
#[test]
fn a_recorder_lagging_by_a_window_erases_nothing() {
    loom::model(|| {
        let h = lagging_failure(Duration::from_secs(2));
        assert!(
            matches!((h.state, h.failures), (State::Open, 2) | (State::Closed, 1)),
            "{h}"
        );
    });
}

/// Three callers arrive after recovery with `half_open_calls(2)`: never
/// more than two probes run at once, and after all have ended the gate is
/// closed, opened only the once.
#[test]
fn half_open_admits_at_most_the_probe_count() {
    loom::model(|| {
        let p = half_open(2);
        let probing = Arc::new(AtomicUsize::new(0));
        let ran = Arc::new(AtomicUsize::new(0));
        let call = {
            let (p, probing, ran) = (p.clone(), probing.clone(), ran.clone());
            move || {
                p.call(|| {
                    let now = probing.fetch_add(1, SeqCst) + 1;
                    assert!(
                        now <= 2,
                        "{now} calls in flight through a half-open gate of 2"
                    );
                    ran.fetch_add(1, SeqCst);
                    probing.fetch_sub(1, SeqCst);
                    Ok::<_, ()>(())
                })
            }
        };
        let a = thread::spawn(call.clone());
        let b = thread::spawn(call.clone());
        let c = call();
        let results = [a.join().unwrap(), b.join().unwrap(), c];
        let refused = results
            .iter()
            .filter(|r| matches!(r, Err(PolicyError::Open)))
            .count();
        assert_eq!(ran.load(SeqCst) + refused, 3);
        assert!(ran.load(SeqCst) >= 2, "both probe places were used");
        let h = p.health();
        assert_eq!((h.state, h.times_opened), (State::Closed, 1));
    });
}

/// Two probes, one passing and one failing, in any order: the gate ends
/// open (reopened once), never closed.
#[test]
fn a_failing_probe_wins_over_a_passing_one() {
    loom::model(|| {
        let p = half_open(2);
        let (mine, theirs) = race(&p, succeed, fail);
        assert!(!matches!(mine, Ok(())));
        let h = p.health();
        assert_eq!((h.state, h.times_opened), (State::Open, 2));
        // The passing call was a probe or refused, never an ordinary call
        // of a closed gate: probes are not counted in the window, and the
        // failure that opened the gate has slid out of it during recovery,
        // so the window is empty.
        assert!(matches!(theirs, Ok(()) | Err(PolicyError::Open)));
        assert_eq!(h.calls, 0);
    });
}

/// With one probe place, two racing callers: exactly one runs; the other
/// is refused. A probe that fails reopens the gate for a new recovery.
#[test]
fn one_probe_place_admits_exactly_one_caller() {
    loom::model(|| {
        let p = half_open(1);
        let ran = Arc::new(AtomicUsize::new(0));
        let call = {
            let (p, ran) = (p.clone(), ran.clone());
            move || {
                p.call(|| {
                    ran.fetch_add(1, SeqCst);
                    Err::<(), _>(())
                })
            }
        };
        let other = thread::spawn(call.clone());
        let mine = call();
        let theirs = other.join().unwrap();
        assert_eq!(ran.load(SeqCst), 1);
        let opens = [&mine, &theirs]
            .iter()
            .filter(|r| matches!(r, Err(PolicyError::Open)))
            .count();
        assert_eq!(opens, 1);
        let h = p.health();
        assert_eq!((h.state, h.times_opened), (State::Open, 2));
    });
}
