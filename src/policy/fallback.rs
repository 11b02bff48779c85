//! [`Fallback`]: answers a failed call with the last good response.

use std::fmt;

use crate::sync::Mutex;

use super::{FallbackStrategy, Isolation, Policy, PolicyError};

/// A fallback that runs calls through a [`Policy`] and, with
/// [`FallbackStrategy::CachedResponse`], keeps a clone of each success to
/// answer later failures with — the seed's `strategy: cached_response`.
///
/// Any [`PolicyError`] (gate open, bulkhead full, timeout, panic, `Err`) is
/// answered with the last success when there is one; before the first
/// success, and always with [`FallbackStrategy::None`], the error reaches
/// the caller. The failure is still counted by the policy: the fallback
/// changes what the caller sees, not the gate's view of the dependency.
///
/// Share it like the policy (by reference or in an `Arc`); the cached value
/// sits behind a short lock taken once per call.
///
/// # Examples
///
/// ```
/// use bulkheads::{Fallback, Policy};
///
/// let policy = Policy::builder("prices").build()?;
/// let cache = Fallback::cached();
///
/// assert_eq!(cache.call(&policy, || Ok::<_, String>(42)).ok(), Some(42));
/// // The dependency fails: the last good price is served instead.
/// assert_eq!(cache.call(&policy, || Err("timeout".to_string())).ok(), Some(42));
/// assert_eq!(policy.health().failures, 1); // still counted
/// # Ok::<(), bulkheads::BuildError>(())
/// ```
pub struct Fallback<T> {
    /// What failures are answered with; fixed at construction.
    strategy: FallbackStrategy,
    /// The last success, under `CachedResponse`. Written by successful
    /// calls, read by failed ones and `last`.
    last: Mutex<Option<T>>,
}

impl<T: Clone> Fallback<T> {
    /// A fallback that serves the last successful response
    /// ([`FallbackStrategy::CachedResponse`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{Fallback, FallbackStrategy};
    ///
    /// let cache = Fallback::<String>::cached();
    /// assert_eq!(cache.strategy(), FallbackStrategy::CachedResponse);
    /// assert_eq!(cache.last(), None);
    /// ```
    pub fn cached() -> Self {
        Fallback::from_strategy(FallbackStrategy::CachedResponse)
    }

    /// A fallback following `strategy`; with [`FallbackStrategy::None`]
    /// every error reaches the caller.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{Fallback, FallbackStrategy, Policy};
    ///
    /// let policy = Policy::builder("prices").build()?;
    /// let none = Fallback::from_strategy(FallbackStrategy::None);
    /// assert_eq!(none.call(&policy, || Ok::<_, &str>(1)).ok(), Some(1));
    /// assert!(none.call(&policy, || Err("down")).is_err());
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn from_strategy(strategy: FallbackStrategy) -> Self {
        Fallback {
            strategy,
            last: Mutex::new(None),
        }
    }

    /// The strategy this fallback follows.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{Fallback, FallbackStrategy};
    ///
    /// assert_eq!(Fallback::<u8>::cached().strategy(), FallbackStrategy::CachedResponse);
    /// ```
    pub fn strategy(&self) -> FallbackStrategy {
        self.strategy
    }

    /// A clone of the last successful response, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{Fallback, Policy};
    ///
    /// let policy = Policy::builder("prices").build()?;
    /// let cache = Fallback::cached();
    /// let _ = cache.call(&policy, || Ok::<_, ()>(7));
    /// assert_eq!(cache.last(), Some(7));
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn last(&self) -> Option<T> {
        self.last.lock().clone()
    }

    /// Runs `f` through `policy` ([`Policy::call`]), keeps a success, and
    /// answers an error with the last success when the strategy allows.
    ///
    /// # Errors
    ///
    /// The [`PolicyError`] of the call, when there is no response to fall
    /// back on.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{Fallback, Policy, PolicyError};
    ///
    /// let policy = Policy::builder("prices").build()?;
    /// let cache = Fallback::<u32>::cached();
    /// // Nothing cached yet: the error comes through.
    /// assert!(matches!(cache.call(&policy, || Err("down")), Err(PolicyError::Failed("down"))));
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn call<E, F>(&self, policy: &Policy, f: F) -> Result<T, PolicyError<E>>
    where
        F: FnOnce() -> Result<T, E>,
    {
        self.serve(policy.call(f))
    }

    /// Runs `f` through `policy` and `bulkhead` ([`Policy::call_on`]),
    /// keeps a success, and answers an error with the last success when
    /// the strategy allows.
    ///
    /// # Errors
    ///
    /// As [`call`](Fallback::call).
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{Fallback, Policy, SemaphoreBulkhead};
    ///
    /// let policy = Policy::builder("prices").build()?;
    /// let semaphore = SemaphoreBulkhead::new("prices", 1);
    /// let cache = Fallback::cached();
    /// assert_eq!(cache.call_on(&policy, &semaphore, || Ok::<_, ()>(3)).ok(), Some(3));
    ///
    /// let _busy = semaphore.try_acquire()?; // full: rejected, served from the cache
    /// assert_eq!(cache.call_on(&policy, &semaphore, || Ok::<_, ()>(4)).ok(), Some(3));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn call_on<B, F>(
        &self,
        policy: &Policy,
        bulkhead: &B,
        f: F,
    ) -> Result<T, PolicyError<B::Error>>
    where
        B: Isolation<F, Value = T> + ?Sized,
    {
        self.serve(policy.call_on(bulkhead, f))
    }

    /// Keeps a success; replaces an error with the cached value if allowed.
    fn serve<E>(&self, result: Result<T, PolicyError<E>>) -> Result<T, PolicyError<E>> {
        if self.strategy != FallbackStrategy::CachedResponse {
            return result;
        }
        match result {
            Ok(value) => {
                *self.last.lock() = Some(value.clone());
                Ok(value)
            }
            Err(err) => self.last.lock().clone().ok_or(err),
        }
    }
}

impl<T> fmt::Debug for Fallback<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fallback")
            .field("strategy", &self.strategy)
            .field("cached", &self.last.lock().is_some())
            .finish()
    }
}
