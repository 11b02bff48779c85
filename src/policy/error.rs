//! [`PolicyError`]: why a call through a policy gave no value.

use std::any::Any;
use std::error::Error;
use std::fmt;

use crate::error::{debug_panicked, payload_message, RejectReason};

/// Why a call through a [`Policy`](crate::Policy) did not return the
/// operation's value.
///
/// `Open` and `Rejected` mean the operation never ran; `Timeout`,
/// `Panicked` and `Failed` mean it ran (or is still running) and count as
/// failures of the dependency in the policy's window. A `Rejected` call is
/// not counted at all: a full bulkhead says nothing about the dependency's
/// health.
///
/// # Examples
///
/// ```
/// use bulkheads::{Policy, PolicyError};
///
/// let policy = Policy::builder("inventory").build()?;
/// let err = policy.call(|| Err::<u32, _>("out of stock")).unwrap_err();
/// assert!(matches!(err, PolicyError::Failed("out of stock")));
/// assert_eq!(err.to_string(), "the operation failed: out of stock");
/// # Ok::<(), bulkheads::BuildError>(())
/// ```
#[non_exhaustive]
pub enum PolicyError<E> {
    /// The health gate is open (or half-open with every probe place taken):
    /// the operation was refused without running. Retry after the
    /// policy's `recovery`, or serve a fallback.
    Open,
    /// The bulkhead the call went through was full, timed out waiting for
    /// room, or was shut down; the operation did not run. Not counted as a
    /// dependency failure.
    Rejected(RejectReason),
    /// The caller stopped waiting for a thread-pool task after the policy's
    /// operation timeout. The task was not stopped (a running thread cannot
    /// be): it keeps its slot in the pool until it really ends, so the pool
    /// never admits past its limit. Counted as a failure.
    Timeout,
    /// The operation panicked; the payload is what `panic!` was given.
    /// Counted as a failure.
    Panicked(Box<dyn Any + Send + 'static>),
    /// The operation returned `Err`. Counted as a failure.
    Failed(E),
}

impl<E> PolicyError<E> {
    /// Whether the health gate refused the call.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(bulkheads::PolicyError::<()>::Open.is_open());
    /// ```
    pub fn is_open(&self) -> bool {
        matches!(self, PolicyError::Open)
    }

    /// Whether the bulkhead refused the call.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{PolicyError, RejectReason};
    ///
    /// assert!(PolicyError::<()>::Rejected(RejectReason::Full).is_rejected());
    /// ```
    pub fn is_rejected(&self) -> bool {
        matches!(self, PolicyError::Rejected(_))
    }

    /// Whether the caller gave up waiting for the operation.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(bulkheads::PolicyError::<()>::Timeout.is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self, PolicyError::Timeout)
    }

    /// Whether the operation ran (or is still running): `Timeout`,
    /// `Panicked` or `Failed`, the errors a policy counts against the
    /// dependency.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{PolicyError, RejectReason};
    ///
    /// assert!(PolicyError::Failed("boom").counts_as_failure());
    /// assert!(!PolicyError::<()>::Rejected(RejectReason::Full).counts_as_failure());
    /// ```
    pub fn counts_as_failure(&self) -> bool {
        matches!(
            self,
            PolicyError::Timeout | PolicyError::Panicked(_) | PolicyError::Failed(_)
        )
    }

    /// The operation's own error, if it returned one.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::PolicyError;
    ///
    /// assert_eq!(PolicyError::Failed(7).into_failed(), Some(7));
    /// assert_eq!(PolicyError::<u8>::Open.into_failed(), None);
    /// ```
    pub fn into_failed(self) -> Option<E> {
        match self {
            PolicyError::Failed(e) => Some(e),
            _ => None,
        }
    }

    /// Applies `f` to the operation's error, keeping every other variant.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::PolicyError;
    ///
    /// let err = PolicyError::Failed(404).map_failed(|code| format!("status {code}"));
    /// assert_eq!(err.into_failed().as_deref(), Some("status 404"));
    /// ```
    pub fn map_failed<G>(self, f: impl FnOnce(E) -> G) -> PolicyError<G> {
        match self {
            PolicyError::Open => PolicyError::Open,
            PolicyError::Rejected(reason) => PolicyError::Rejected(reason),
            PolicyError::Timeout => PolicyError::Timeout,
            PolicyError::Panicked(payload) => PolicyError::Panicked(payload),
            PolicyError::Failed(e) => PolicyError::Failed(f(e)),
        }
    }
}

impl<E: fmt::Debug> fmt::Debug for PolicyError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyError::Open => f.write_str("Open"),
            PolicyError::Rejected(reason) => f.debug_tuple("Rejected").field(reason).finish(),
            PolicyError::Timeout => f.write_str("Timeout"),
            PolicyError::Panicked(payload) => debug_panicked(f, payload.as_ref()),
            PolicyError::Failed(e) => f.debug_tuple("Failed").field(e).finish(),
        }
    }
}

impl<E: fmt::Display> fmt::Display for PolicyError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyError::Open => f.write_str(
                "refused: the health gate is open after recent failures; retry after the recovery period or serve a fallback",
            ),
            PolicyError::Rejected(reason) => write!(f, "rejected: {reason}"),
            PolicyError::Timeout => f.write_str(
                "timed out waiting for the operation; it may still be running and keeps its slot until it ends",
            ),
            PolicyError::Panicked(payload) => match payload_message(payload.as_ref()) {
                Some(msg) => write!(f, "the operation panicked: {msg}"),
                None => f.write_str("the operation panicked"),
            },
            PolicyError::Failed(e) => write!(f, "the operation failed: {e}"),
        }
    }
}

impl<E: Error + 'static> Error for PolicyError<E> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            PolicyError::Failed(e) => Some(e),
            _ => None,
        }
    }
}
