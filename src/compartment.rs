//! [`Compartment`]: what every kind of bulkhead has in common — a name, a
//! way in that can refuse, and stats — so the [`Registry`](crate::Registry)
//! and its stats table treat every kind alike.

use crate::stats::BulkheadStats;

/// One named, bounded compartment of any kind: a thread pool, a semaphore,
/// a process bulkhead, a connection pool.
///
/// The [`Registry`](crate::Registry) holds compartments of every kind under
/// one name space and reports them together through this trait; a new kind
/// plugs in by implementing it.
///
/// # Examples
///
/// ```
/// use bulkheads::{Compartment, SemaphoreBulkhead, ThreadPoolBulkhead};
///
/// let pool = ThreadPoolBulkhead::builder("search").threads(1).build()?;
/// let sem = SemaphoreBulkhead::new("checkout", 5);
/// let all: [&dyn Compartment; 2] = [&pool, &sem];
/// let names: Vec<&str> = all.iter().map(|c| c.name()).collect();
/// assert_eq!(names, ["search", "checkout"]);
/// assert_eq!(all[1].stats().limit(), 5);
/// # Ok::<(), bulkheads::BuildError>(())
/// ```
pub trait Compartment: std::any::Any + Send + Sync {
    /// The compartment's name, as given to its builder.
    fn name(&self) -> &str;

    /// A point-in-time snapshot of what the compartment is doing.
    fn stats(&self) -> BulkheadStats;

    /// Stops admitting work and lets what was admitted finish, if the kind
    /// has such a notion ([`Registry::shutdown`](crate::Registry::shutdown)
    /// calls it on every entry). The default does nothing: a semaphore has
    /// nothing to shut down.
    fn shutdown(&self) {}
}

impl Compartment for crate::ThreadPoolBulkhead {
    fn name(&self) -> &str {
        crate::ThreadPoolBulkhead::name(self)
    }
    fn stats(&self) -> BulkheadStats {
        crate::ThreadPoolBulkhead::stats(self).into()
    }
    fn shutdown(&self) {
        crate::ThreadPoolBulkhead::shutdown(self)
    }
}

impl Compartment for crate::SemaphoreBulkhead {
    fn name(&self) -> &str {
        crate::SemaphoreBulkhead::name(self)
    }
    fn stats(&self) -> BulkheadStats {
        crate::SemaphoreBulkhead::stats(self).into()
    }
}
