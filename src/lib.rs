//! placeholder
#![deny(missing_docs, missing_debug_implementations)]
#![forbid(unsafe_code)]

mod admission;
mod error;
mod stats;
mod sync;
mod thread_pool;

pub use error::{BuildError, BuildErrorKind, ExecuteError, RejectReason, Rejected, TaskError};
pub use stats::{BulkheadStats, PoolStats, SemaphoreStats};
pub use thread_pool::{TaskHandle, ThreadPoolBuilder, ThreadPoolBulkhead};
