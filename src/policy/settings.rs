//! [`PolicyConfig`] and [`FallbackStrategy`]: a policy's settings as plain
//! data, with the seed's defaults.

use std::time::Duration;

use crate::error::{BuildError, BuildErrorKind};

/// What a caller is answered with when a call through a policy fails.
///
/// [`Fallback::from_strategy`](crate::Fallback::from_strategy) turns it into
/// a fallback; [`Policy::fallback`](crate::Policy::fallback) does so with
/// the policy's own setting.
///
/// # Examples
///
/// ```
/// use bulkheads::{FallbackStrategy, PolicyConfig};
///
/// assert_eq!(PolicyConfig::default().fallback, FallbackStrategy::CachedResponse);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FallbackStrategy {
    /// No fallback: every [`PolicyError`](crate::PolicyError) reaches the
    /// caller.
    None,
    /// Answer a failed or refused call with the last successful response
    /// (the seed's `cached_response`); when there has been none yet, the
    /// error reaches the caller.
    CachedResponse,
}

/// The settings of a [`Policy`](crate::Policy), as plain data: what
/// [`Policy::config`](crate::Policy::config) reports and what
/// [`PolicyBuilder::config`](crate::PolicyBuilder::config) builds from.
///
/// Fields are named after the builder's setters and mean the same; the
/// builder's documentation gives each contract. `Default` holds the seed's
/// values:
///
/// | field | default |
/// |---|---|
/// | `failure_rate_threshold` | `0.5` (the seed's `failure_rate: 50%`) |
/// | `slow_call_threshold` | 5 s (the seed's `response_time`) |
/// | `slow_call_rate_threshold` | `0.5` |
/// | `error_count_threshold` | 10 (the seed's `error_count`) |
/// | `minimum_calls` | 10 |
/// | `window` | 60 s |
/// | `recovery` | 60 s (the seed's `timeouts.recovery`) |
/// | `half_open_calls` | 3 |
/// | `timeout` | `Some(30 s)` (the seed's `timeouts.operation`) |
/// | `fallback` | [`FallbackStrategy::CachedResponse`] |
/// | `enabled` | `true` |
///
/// On the builder, `slow_call_rate_threshold` follows
/// `failure_rate_threshold` unless set on its own; in a `PolicyConfig`
/// both are plain fields, so code that fills one in by hand sets both.
/// Values are checked when the policy is built
/// ([`PolicyBuilder::build`](crate::PolicyBuilder::build)), not here.
///
/// # Examples
///
/// ```
/// use bulkheads::{Policy, PolicyConfig};
/// use std::time::Duration;
///
/// let mut settings = PolicyConfig::default();
/// settings.failure_rate_threshold = 0.3;
/// settings.slow_call_rate_threshold = 0.3;
/// settings.recovery = Duration::from_secs(10);
///
/// let policy = Policy::builder("search").config(settings.clone()).build()?;
/// assert_eq!(policy.config(), &settings);
/// # Ok::<(), bulkheads::BuildError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PolicyConfig {
    /// Open when, with at least `minimum_calls` calls in the window, the
    /// share of failed calls reaches this (above 0, at most 1).
    pub failure_rate_threshold: f64,
    /// A call that takes this long or longer is slow.
    pub slow_call_threshold: Duration,
    /// Open when, with at least `minimum_calls` calls in the window, the
    /// share of slow calls reaches this (above 0, at most 1).
    pub slow_call_rate_threshold: f64,
    /// Open when the failures in the window reach this many, whatever the
    /// number of calls (at least 1).
    pub error_count_threshold: usize,
    /// The rates give no verdict on fewer calls than this in the window.
    pub minimum_calls: usize,
    /// How far back the sliding window reaches (above zero).
    pub window: Duration,
    /// How long the gate stays open before it lets probes through.
    pub recovery: Duration,
    /// How many probes the half-open gate lets through; all must pass to
    /// close it (at least 1).
    pub half_open_calls: usize,
    /// How long a caller waits for a task on a thread pool before it gives
    /// up with [`PolicyError::Timeout`](crate::PolicyError::Timeout);
    /// `None` waits as long as the task takes (above zero when set).
    pub timeout: Option<Duration>,
    /// What a failed call is answered with (see [`FallbackStrategy`]).
    pub fallback: FallbackStrategy,
    /// `false` passes every call straight through: nothing is counted and
    /// the gate never opens.
    pub enabled: bool,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            failure_rate_threshold: 0.5,
            slow_call_threshold: Duration::from_secs(5),
            slow_call_rate_threshold: 0.5,
            error_count_threshold: 10,
            minimum_calls: 10,
            window: Duration::from_secs(60),
            recovery: Duration::from_secs(60),
            half_open_calls: 3,
            timeout: Some(Duration::from_secs(30)),
            fallback: FallbackStrategy::CachedResponse,
            enabled: true,
        }
    }
}

impl PolicyConfig {
    /// Checks every value; the error's kind names the first one out of
    /// range.
    pub(crate) fn validate(&self, name: &str) -> Result<(), BuildError> {
        let fail = |kind| Err(BuildError::new(kind, name));
        crate::error::check_not_blank(name)?;
        let rate_ok = |r: f64| r > 0.0 && r <= 1.0;
        if !rate_ok(self.failure_rate_threshold) || !rate_ok(self.slow_call_rate_threshold) {
            return fail(BuildErrorKind::InvalidRate);
        }
        if self.error_count_threshold == 0 {
            return fail(BuildErrorKind::ZeroErrorCount);
        }
        if self.half_open_calls == 0 {
            return fail(BuildErrorKind::ZeroHalfOpenCalls);
        }
        if self.slow_call_threshold.is_zero() {
            return fail(BuildErrorKind::ZeroSlowCallThreshold);
        }
        if self.window.is_zero() {
            return fail(BuildErrorKind::ZeroWindow);
        }
        if self.timeout.is_some_and(|t| t.is_zero()) {
            return fail(BuildErrorKind::ZeroTimeout);
        }
        Ok(())
    }
}
