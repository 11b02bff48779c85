//! [`Policy`]: a health gate and an operation timeout around calls to a
//! dependency — the seed's `BulkheadPattern`.
//!
//! A bulkhead bounds *how much* of a resource a compartment may use; a
//! policy decides *whether to call at all*. It watches the calls' outcomes
//! over a sliding time window and, when the dependency looks sick (too many
//! failures, too many slow calls), opens its gate: calls are refused at
//! once with [`PolicyError::Open`] instead of piling onto a dependency that
//! cannot answer. After `recovery` it lets a few probes through; if they all
//! pass it closes again.
//!
//! ```text
//!            failure rate, slow-call rate or error count reached
//!   Closed ─────────────────────────────────────────────────────▶ Open
//!     ▲                                                            │
//!     │ all half_open_calls probes pass        recovery has passed │
//!     │                                                            ▼
//!     └──────────────────────────── HalfOpen ◀─────────────────────┘
//!                                      │  a probe fails ──▶ Open
//! ```

mod error;
mod fallback;
mod gate;
mod settings;

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::clock::{Clock, SystemClock};
use crate::error::{BuildError, RejectReason, TaskError};
use crate::semaphore::SemaphoreBulkhead;
use crate::thread_pool::ThreadPoolBulkhead;

pub use error::PolicyError;
pub use fallback::Fallback;
pub use settings::{FallbackStrategy, PolicyConfig};

use gate::{Gate, Outcome, Thresholds};

/// The state of a policy's health gate.
///
/// # Examples
///
/// ```
/// use bulkheads::{Policy, State};
///
/// let policy = Policy::builder("search").build()?;
/// assert_eq!(policy.state(), State::Closed);
/// # Ok::<(), bulkheads::BuildError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Healthy: every call goes through and is counted.
    Closed,
    /// Sick: every call is refused with [`PolicyError::Open`] until the
    /// recovery period is over.
    Open,
    /// Probing: `half_open_calls` calls go through; the rest are refused.
    HalfOpen,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Closed => "closed",
            State::Open => "open",
            State::HalfOpen => "half-open",
        })
    }
}

/// A policy's state and the counts of its current window, from
/// [`Policy::health`]. The counts are reported whatever their size, also
/// below `minimum_calls`; in Open and HalfOpen they are those of the window
/// that opened the gate, as it ages.
///
/// # Examples
///
/// ```
/// use bulkheads::{Policy, State};
///
/// let policy = Policy::builder("search").build()?;
/// let _ = policy.call(|| Ok::<_, ()>(1));
/// let _ = policy.call(|| Err::<u32, _>("down"));
/// let health = policy.health();
/// assert_eq!((health.state, health.calls, health.failures), (State::Closed, 2, 1));
/// assert_eq!(health.failure_rate, 0.5);
/// # Ok::<(), bulkheads::BuildError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Health {
    /// The gate's state.
    pub state: State,
    /// Calls counted in the window (successes and failures).
    pub calls: u64,
    /// Calls in the window that failed (`Err`, panic, timeout).
    pub failures: u64,
    /// Calls in the window that took `slow_call_threshold` or longer.
    pub slow_calls: u64,
    /// `failures / calls`, 0 with no calls.
    pub failure_rate: f64,
    /// `slow_calls / calls`, 0 with no calls.
    pub slow_call_rate: f64,
    /// How many times the gate has opened since the policy was built.
    pub times_opened: u64,
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} calls, {} failed ({:.1}%), {} slow ({:.1}%), times opened: {}",
            self.state,
            self.calls,
            self.failures,
            self.failure_rate * 100.0,
            self.slow_calls,
            self.slow_call_rate * 100.0,
            self.times_opened
        )
    }
}

/// A health gate, an operation timeout and a fallback setting around calls
/// to one dependency.
///
/// Share it between threads by reference or in an `Arc`; every method takes
/// `&self`. The gate's rules:
///
/// * **Closed → Open** when, over the sliding `window` and with at least
///   `minimum_calls` calls in it, the failure rate (failed / calls) reaches
///   `failure_rate_threshold`, or the slow-call rate (slow / calls; a call
///   is slow at `slow_call_threshold` or longer, on the policy's clock)
///   reaches `slow_call_rate_threshold`; or, whatever the number of calls,
///   when the failures in the window reach `error_count_threshold`.
/// * A **failure** is `Err(E)`, a panic (caught and returned as
///   [`PolicyError::Panicked`]) or a [`Timeout`](PolicyError::Timeout). A
///   call the bulkhead refused ([`PolicyError::Rejected`]) did not reach the
///   dependency and is not counted at all.
/// * **Open** refuses every call with [`PolicyError::Open`], without
///   running it, for `recovery`; then **HalfOpen** lets exactly
///   `half_open_calls` probes through (others get `Open`). When all of them
///   succeed, the gate closes with a fresh window; a probe that fails opens
///   it again. A slow probe that succeeds is a success: the slow-call rule
///   is a rate over the window, and probes are not counted in it.
/// * A call is counted in the state it was let through in: a call let
///   through while Closed that ends after the gate opened counts only in
///   that Closed state's window and causes no transition; after the gate
///   has closed again it is not in the fresh window.
///
/// The window, slow calls and recovery run on the policy's [`Clock`]; the
/// operation timeout is real time.
///
/// # Examples
///
/// ```
/// use bulkheads::{ManualClock, Policy, PolicyError, State};
/// use std::sync::Arc;
/// use std::time::Duration;
///
/// let clock = Arc::new(ManualClock::new());
/// let policy = Policy::builder("payments")
///     .error_count_threshold(3)
///     .recovery(Duration::from_secs(30))
///     .half_open_calls(1)
///     .clock(clock.clone())
///     .build()?;
///
/// for _ in 0..3 {
///     let _ = policy.call(|| Err::<(), _>("connection refused"));
/// }
/// assert_eq!(policy.state(), State::Open);
/// assert!(matches!(policy.call(|| Ok::<_, ()>(1)), Err(PolicyError::Open)));
///
/// clock.advance(Duration::from_secs(30));
/// assert_eq!(policy.call(|| Ok::<_, ()>(1)).ok(), Some(1)); // the probe
/// assert_eq!(policy.state(), State::Closed);
/// # Ok::<(), bulkheads::BuildError>(())
/// ```
pub struct Policy {
    /// Names the policy in `Debug` and in build errors.
    name: String,
    /// The settings in force, as given.
    config: PolicyConfig,
    /// Time for the window, slow calls and recovery.
    clock: Arc<dyn Clock>,
    /// The instant gate times are measured from.
    origin: Instant,
    /// The state machine and its counters.
    gate: Gate,
}

impl Policy {
    /// A builder with the seed's defaults (see [`PolicyConfig`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let policy = bulkheads::Policy::builder("search").build()?;
    /// assert_eq!(policy.name(), "search");
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn builder(name: impl Into<String>) -> PolicyBuilder {
        PolicyBuilder {
            name: name.into(),
            config: PolicyConfig::default(),
            slow_rate_set: false,
            clock: None,
        }
    }

    /// The policy's name.
    ///
    /// # Examples
    ///
    /// ```
    /// let policy = bulkheads::Policy::builder("checkout").build()?;
    /// assert_eq!(policy.name(), "checkout");
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The settings in force.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let policy = bulkheads::Policy::builder("search").recovery(Duration::from_secs(5)).build()?;
    /// assert_eq!(policy.config().recovery, Duration::from_secs(5));
    /// assert_eq!(policy.config().failure_rate_threshold, 0.5);
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn config(&self) -> &PolicyConfig {
        &self.config
    }

    /// The gate's state now. An open gate whose recovery is over reports
    /// `Open` until the next call turns it half-open.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{Policy, State};
    ///
    /// let policy = Policy::builder("search").error_count_threshold(1).build()?;
    /// let _ = policy.call(|| Err::<(), _>("down"));
    /// assert_eq!(policy.state(), State::Open);
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn state(&self) -> State {
        self.gate.state()
    }

    /// The state and the counts of the window ending now.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::Policy;
    ///
    /// let policy = Policy::builder("search").build()?;
    /// let _ = policy.call(|| Ok::<_, ()>(()));
    /// assert_eq!(policy.health().calls, 1);
    /// println!("{}", policy.health()); // closed: 1 calls, 0 failed (0.0%), ...
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn health(&self) -> Health {
        self.gate.health(self.since_origin(self.clock.now()))
    }

    /// A new, empty [`Fallback`] following the policy's `fallback`
    /// setting. Keep it beside the policy: its cache lives in it.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{FallbackStrategy, Policy};
    ///
    /// let policy = Policy::builder("search").build()?;
    /// let cache = policy.fallback::<String>();
    /// assert_eq!(cache.strategy(), FallbackStrategy::CachedResponse);
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn fallback<T: Clone>(&self) -> Fallback<T> {
        Fallback::from_strategy(self.config.fallback)
    }

    /// Runs `f` on the caller's thread through the health gate.
    ///
    /// The operation timeout does not apply (a call on the caller's own
    /// thread cannot be walked away from); use
    /// [`call_on`](Policy::call_on) with a thread pool for that.
    ///
    /// # Errors
    ///
    /// [`PolicyError::Open`] without running `f` when the gate is open;
    /// [`PolicyError::Failed`] with `f`'s error; [`PolicyError::Panicked`]
    /// when `f` panicked (the panic is caught; `f`'s captures are not used
    /// again).
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{Policy, PolicyError};
    ///
    /// let policy = Policy::builder("search").build()?;
    /// assert_eq!(policy.call(|| Ok::<_, String>(42)).ok(), Some(42));
    /// let err = policy.call(|| -> Result<u32, String> { panic!("bug") }).unwrap_err();
    /// assert!(matches!(err, PolicyError::Panicked(_)));
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn call<T, E, F>(&self, f: F) -> Result<T, PolicyError<E>>
    where
        F: FnOnce() -> Result<T, E>,
    {
        self.guard(|_| run_caught(f))
    }

    /// [`call`](Policy::call), answering any error with `fallback(error)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::Policy;
    ///
    /// let policy = Policy::builder("recommendations").build()?;
    /// let picks = policy.call_or_else(
    ///     || Err::<Vec<&str>, _>("service down"),
    ///     |_err| vec!["bestsellers"],
    /// );
    /// assert_eq!(picks, ["bestsellers"]);
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn call_or_else<T, E, F, G>(&self, f: F, fallback: G) -> T
    where
        F: FnOnce() -> Result<T, E>,
        G: FnOnce(PolicyError<E>) -> T,
    {
        self.call(f).unwrap_or_else(fallback)
    }

    /// Runs `f` through the health gate *and* a bulkhead: a
    /// [`ThreadPoolBulkhead`] (on one of its threads, with the operation
    /// timeout) or a [`SemaphoreBulkhead`] (on the caller's thread, under a
    /// permit). See [`Isolation`] for what each does.
    ///
    /// # Errors
    ///
    /// As [`call`](Policy::call), plus [`PolicyError::Rejected`] when the
    /// bulkhead refused the call (not counted against the dependency) and,
    /// on a pool, [`PolicyError::Timeout`] when the caller stopped waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{Policy, SemaphoreBulkhead, ThreadPoolBulkhead};
    ///
    /// let policy = Policy::builder("search").build()?;
    /// let pool = ThreadPoolBulkhead::builder("search").threads(2).build()?;
    /// let semaphore = SemaphoreBulkhead::new("search-inline", 4);
    ///
    /// assert_eq!(policy.call_on(&pool, || Ok::<_, String>(1)).ok(), Some(1));
    /// assert_eq!(policy.call_on(&semaphore, || Ok::<_, String>(2)).ok(), Some(2));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn call_on<B, F>(&self, bulkhead: &B, f: F) -> Result<B::Value, PolicyError<B::Error>>
    where
        B: Isolation<F> + ?Sized,
    {
        self.guard(|timeout| bulkhead.run(f, timeout))
    }

    /// Nanoseconds from the policy's origin to `now` (saturating: about
    /// 584 years).
    fn since_origin(&self, now: Instant) -> u64 {
        let d = now.saturating_duration_since(self.origin);
        d.as_secs()
            .saturating_mul(1_000_000_000)
            .saturating_add(u64::from(d.subsec_nanos()))
    }

    /// Admits through the gate, runs, and records the outcome.
    fn guard<T, E>(
        &self,
        run: impl FnOnce(Option<Duration>) -> Result<T, PolicyError<E>>,
    ) -> Result<T, PolicyError<E>> {
        if !self.config.enabled {
            return run(self.config.timeout);
        }
        let start = self.clock.now();
        let Some(ticket) = self.gate.admit(|| self.since_origin(start)) else {
            return Err(PolicyError::Open);
        };
        let result = run(self.config.timeout);
        let failed = match &result {
            Ok(_) => false,
            Err(e) if e.counts_as_failure() => true,
            // Refused by the bulkhead (or by an inner policy): it never
            // reached the dependency. Dropping the ticket counts nothing.
            Err(_) => return result,
        };
        let end = self.clock.now();
        let slow = end.saturating_duration_since(start) >= self.config.slow_call_threshold;
        ticket.record(Outcome { failed, slow }, self.since_origin(end));
        result
    }
}

/// Runs `f`, catching a panic.
fn run_caught<T, E>(f: impl FnOnce() -> Result<T, E>) -> Result<T, PolicyError<E>> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(PolicyError::Failed(e)),
        Err(payload) => Err(PolicyError::Panicked(payload)),
    }
}

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Policy")
            .field("name", &self.name)
            .field("state", &self.state())
            .field("config", &self.config)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

/// A bulkhead a [`Policy`] can run an operation `F` through with
/// [`Policy::call_on`].
///
/// Implemented for [`ThreadPoolBulkhead`], [`SemaphoreBulkhead`] and an
/// `Arc` of either (as the [`Registry`](crate::Registry) hands them out);
/// implement it for your own compartment to put it behind a policy.
///
/// # Examples
///
/// ```
/// use bulkheads::{Isolation, PolicyError, SemaphoreBulkhead};
///
/// let semaphore = SemaphoreBulkhead::new("search", 1);
/// let r: Result<u32, PolicyError<()>> = semaphore.run(|| Ok(5), None);
/// assert_eq!(r.ok(), Some(5));
/// ```
pub trait Isolation<F> {
    /// What the operation returns on success.
    type Value;
    /// What the operation returns on failure.
    type Error;

    /// Runs `f` inside the bulkhead. `timeout` is the policy's operation
    /// timeout, for bulkheads that run `f` elsewhere and can stop waiting.
    ///
    /// Must map the outcome exactly: refused without running →
    /// [`PolicyError::Rejected`]; `f` panicked → [`PolicyError::Panicked`];
    /// `f` returned `Err(e)` → [`PolicyError::Failed(e)`](PolicyError::Failed);
    /// gave up waiting → [`PolicyError::Timeout`].
    ///
    /// # Errors
    ///
    /// As above.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{Isolation, PolicyError, RejectReason, SemaphoreBulkhead};
    ///
    /// let closed = SemaphoreBulkhead::new("maintenance", 0);
    /// let r: Result<u32, PolicyError<()>> = closed.run(|| Ok(1), None);
    /// assert!(matches!(r, Err(PolicyError::Rejected(RejectReason::Full))));
    /// ```
    fn run(&self, f: F, timeout: Option<Duration>)
        -> Result<Self::Value, PolicyError<Self::Error>>;
}

/// On the caller's thread under a permit; a full semaphore (after its
/// configured `max_wait`) is [`PolicyError::Rejected`]. The operation
/// timeout does not apply.
impl<F, T, E> Isolation<F> for SemaphoreBulkhead
where
    F: FnOnce() -> Result<T, E>,
{
    type Value = T;
    type Error = E;

    fn run(&self, f: F, _timeout: Option<Duration>) -> Result<T, PolicyError<E>> {
        match self.call(move || run_caught(f)) {
            Ok(result) => result,
            Err(rejected) => Err(PolicyError::Rejected(rejected.reason())),
        }
    }
}

/// On one of the pool's threads, admitted with `try_submit` (a full pool
/// is [`PolicyError::Rejected`] at once). The caller waits on the task's
/// handle with `join_timeout(timeout)`; when that runs out it gets
/// [`PolicyError::Timeout`] and the handle is dropped, which detaches the
/// task: **the task is not stopped** (Rust cannot stop a running thread).
/// It runs to its end and keeps its slot until then, so the pool never
/// admits more than `threads + queue_capacity` tasks, timed-out ones
/// included. A task cancelled by a shutdown before it ran is
/// `Rejected(ShutDown)`.
impl<F, T, E> Isolation<F> for ThreadPoolBulkhead
where
    F: FnOnce() -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    type Value = T;
    type Error = E;

    fn run(&self, f: F, timeout: Option<Duration>) -> Result<T, PolicyError<E>> {
        let handle = self
            .try_submit(f)
            .map_err(|rejected| PolicyError::Rejected(rejected.reason()))?;
        let joined = match timeout {
            None => handle.join(),
            Some(timeout) => match handle.join_timeout(timeout) {
                Ok(joined) => joined,
                Err(_detached) => return Err(PolicyError::Timeout),
            },
        };
        match joined {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(PolicyError::Failed(e)),
            Err(TaskError::Panicked(payload)) => Err(PolicyError::Panicked(payload)),
            Err(TaskError::Cancelled) => Err(PolicyError::Rejected(RejectReason::ShutDown)),
        }
    }
}

/// Through the bulkhead the `Arc` points to.
impl<F, B> Isolation<F> for Arc<B>
where
    B: Isolation<F> + ?Sized,
{
    type Value = B::Value;
    type Error = B::Error;

    fn run(&self, f: F, timeout: Option<Duration>) -> Result<B::Value, PolicyError<B::Error>> {
        (**self).run(f, timeout)
    }
}

/// Builds a [`Policy`]; every setter has the seed's default (see
/// [`PolicyConfig`]).
///
/// # Examples
///
/// ```
/// use bulkheads::Policy;
/// use std::time::Duration;
///
/// let policy = Policy::builder("search")
///     .failure_rate_threshold(0.5)
///     .slow_call_threshold(Duration::from_secs(5))
///     .error_count_threshold(10)
///     .minimum_calls(10)
///     .window(Duration::from_secs(60))
///     .recovery(Duration::from_secs(60))
///     .half_open_calls(3)
///     .timeout(Duration::from_secs(30))
///     .build()?;
/// assert_eq!(policy.config().slow_call_rate_threshold, 0.5); // follows the failure rate
/// # Ok::<(), bulkheads::BuildError>(())
/// ```
pub struct PolicyBuilder {
    /// The policy's name.
    name: String,
    /// The settings so far.
    config: PolicyConfig,
    /// Whether `slow_call_rate_threshold` was given on its own (or by
    /// `config`); if not, it follows `failure_rate_threshold`.
    slow_rate_set: bool,
    /// The clock, if not the default `SystemClock`.
    clock: Option<Arc<dyn Clock>>,
}

impl PolicyBuilder {
    /// Replaces every setting with `config`, taken as given (also its
    /// `slow_call_rate_threshold`). Setters called afterwards change single
    /// fields of it.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{Policy, PolicyConfig};
    ///
    /// let mut settings = PolicyConfig::default();
    /// settings.half_open_calls = 1;
    /// let policy = Policy::builder("search").config(settings).build()?;
    /// assert_eq!(policy.config().half_open_calls, 1);
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn config(mut self, config: PolicyConfig) -> Self {
        self.config = config;
        self.slow_rate_set = true;
        self
    }

    /// Open when the share of failed calls in the window reaches `rate`
    /// (above 0, at most 1; default 0.5), given at least `minimum_calls`.
    ///
    /// # Examples
    ///
    /// ```
    /// let policy = bulkheads::Policy::builder("s").failure_rate_threshold(0.25).build()?;
    /// assert_eq!(policy.config().failure_rate_threshold, 0.25);
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn failure_rate_threshold(mut self, rate: f64) -> Self {
        self.config.failure_rate_threshold = rate;
        self
    }

    /// A call taking `threshold` or longer is slow (default 5 s). Zero is
    /// refused by [`build`](PolicyBuilder::build): every call would be slow.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let policy = bulkheads::Policy::builder("s").slow_call_threshold(Duration::from_millis(200)).build()?;
    /// assert_eq!(policy.config().slow_call_threshold, Duration::from_millis(200));
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn slow_call_threshold(mut self, threshold: Duration) -> Self {
        self.config.slow_call_threshold = threshold;
        self
    }

    /// Open when the share of slow calls in the window reaches `rate`
    /// (above 0, at most 1), given at least `minimum_calls`. Default: the
    /// failure-rate threshold.
    ///
    /// # Examples
    ///
    /// ```
    /// let policy = bulkheads::Policy::builder("s").slow_call_rate_threshold(0.8).build()?;
    /// assert_eq!(policy.config().slow_call_rate_threshold, 0.8);
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn slow_call_rate_threshold(mut self, rate: f64) -> Self {
        self.config.slow_call_rate_threshold = rate;
        self.slow_rate_set = true;
        self
    }

    /// Open when the failures in the window reach `count`, whatever the
    /// number of calls (at least 1; default 10).
    ///
    /// # Examples
    ///
    /// ```
    /// let policy = bulkheads::Policy::builder("s").error_count_threshold(3).build()?;
    /// assert_eq!(policy.config().error_count_threshold, 3);
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn error_count_threshold(mut self, count: usize) -> Self {
        self.config.error_count_threshold = count;
        self
    }

    /// The rates give no verdict on fewer than `calls` calls in the window
    /// (default 10; 0 behaves as 1).
    ///
    /// # Examples
    ///
    /// ```
    /// let policy = bulkheads::Policy::builder("s").minimum_calls(20).build()?;
    /// assert_eq!(policy.config().minimum_calls, 20);
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn minimum_calls(mut self, calls: usize) -> Self {
        self.config.minimum_calls = calls;
        self
    }

    /// How far back the sliding window reaches (above zero; default 60 s).
    /// The window moves in tenths of its length: a call leaves it between
    /// 0.9 and 1 window after it ended.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let policy = bulkheads::Policy::builder("s").window(Duration::from_secs(10)).build()?;
    /// assert_eq!(policy.config().window, Duration::from_secs(10));
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn window(mut self, window: Duration) -> Self {
        self.config.window = window;
        self
    }

    /// How long the gate stays open before probing (default 60 s).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let policy = bulkheads::Policy::builder("s").recovery(Duration::from_secs(15)).build()?;
    /// assert_eq!(policy.config().recovery, Duration::from_secs(15));
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn recovery(mut self, recovery: Duration) -> Self {
        self.config.recovery = recovery;
        self
    }

    /// How many probes the half-open gate lets through; all must pass to
    /// close it (at least 1; default 3).
    ///
    /// # Examples
    ///
    /// ```
    /// let policy = bulkheads::Policy::builder("s").half_open_calls(1).build()?;
    /// assert_eq!(policy.config().half_open_calls, 1);
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn half_open_calls(mut self, calls: usize) -> Self {
        self.config.half_open_calls = calls;
        self
    }

    /// How long [`call_on`](Policy::call_on) waits for a thread-pool task
    /// (a `Duration`, or `None` to wait as long as it takes; default 30 s).
    /// The task is not stopped when the wait runs out; see
    /// [`PolicyError::Timeout`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let policy = bulkheads::Policy::builder("s").timeout(Duration::from_secs(2)).build()?;
    /// assert_eq!(policy.config().timeout, Some(Duration::from_secs(2)));
    /// let patient = bulkheads::Policy::builder("s").timeout(None).build()?;
    /// assert_eq!(patient.config().timeout, None);
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.config.timeout = timeout.into();
        self
    }

    /// What [`Policy::fallback`] answers failures with (default
    /// [`FallbackStrategy::CachedResponse`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{FallbackStrategy, Policy};
    ///
    /// let policy = Policy::builder("s").fallback(FallbackStrategy::None).build()?;
    /// assert_eq!(policy.config().fallback, FallbackStrategy::None);
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn fallback(mut self, strategy: FallbackStrategy) -> Self {
        self.config.fallback = strategy;
        self
    }

    /// `false` passes every call straight through: nothing is counted and
    /// the gate never opens (default `true`).
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{Policy, State};
    ///
    /// let policy = Policy::builder("s").enabled(false).error_count_threshold(1).build()?;
    /// let _ = policy.call(|| Err::<(), _>("down"));
    /// assert_eq!(policy.state(), State::Closed);
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.config.enabled = enabled;
        self
    }

    /// Where the policy reads time (default [`SystemClock`]); a
    /// [`ManualClock`](crate::ManualClock) makes tests deterministic.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{ManualClock, Policy};
    /// use std::sync::Arc;
    ///
    /// let clock = Arc::new(ManualClock::new());
    /// let policy = Policy::builder("s").clock(clock.clone()).build()?;
    /// # drop(policy);
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Checks the settings and builds the policy.
    ///
    /// # Errors
    ///
    /// [`BuildError`] of kind [`EmptyName`](crate::BuildErrorKind::EmptyName),
    /// [`InvalidRate`](crate::BuildErrorKind::InvalidRate) (a rate not above
    /// 0 and at most 1),
    /// [`ZeroErrorCount`](crate::BuildErrorKind::ZeroErrorCount),
    /// [`ZeroHalfOpenCalls`](crate::BuildErrorKind::ZeroHalfOpenCalls),
    /// [`ZeroSlowCallThreshold`](crate::BuildErrorKind::ZeroSlowCallThreshold),
    /// [`ZeroWindow`](crate::BuildErrorKind::ZeroWindow) or
    /// [`ZeroTimeout`](crate::BuildErrorKind::ZeroTimeout).
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{BuildErrorKind, Policy};
    ///
    /// let err = Policy::builder("s").failure_rate_threshold(1.5).build().unwrap_err();
    /// assert_eq!(err.kind(), BuildErrorKind::InvalidRate);
    /// ```
    pub fn build(self) -> Result<Policy, BuildError> {
        let mut config = self.config;
        if !self.slow_rate_set {
            config.slow_call_rate_threshold = config.failure_rate_threshold;
        }
        config.validate(&self.name)?;
        let thresholds = Thresholds::new(&config);
        let clock = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let origin = clock.now();
        Ok(Policy {
            name: self.name,
            config,
            clock,
            origin,
            gate: Gate::new(thresholds),
        })
    }
}

impl fmt::Debug for PolicyBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PolicyBuilder")
            .field("name", &self.name)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}
