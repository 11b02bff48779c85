//! # bulkheads
//!
//! The Bulkhead pattern for synchronous Rust: give each part of a program its
//! own bounded share of threads, permits or connections, so that one flooded
//! feature is refused at its own door while the others keep working.
//!
//! ## The problem
//!
//! A web-like service runs `search`, `checkout` and `analytics` on one shared
//! thread pool. Search's slow dependency hangs and a burst of search requests
//! arrives: every thread soon waits on search, the queue fills with search
//! work, and checkout — which had nothing to do with it — stops answering.
//! One bad feature took the whole program down.
//!
//! ## The fix
//!
//! Partition the resource, as a ship's hull is partitioned into watertight
//! compartments. Each function gets its own pool (or its own concurrency
//! limit); when a compartment is full, new work for it is **rejected at
//! once** — a value, never a panic, never a silent drop: the caller gets the
//! closure back and decides (fallback, retry, shed). The other compartments
//! never notice.
//!
//! ```
//! use bulkheads::{RejectReason, ThreadPoolBulkhead};
//!
//! // Each endpoint gets its own compartment.
//! let search = ThreadPoolBulkhead::builder("search").threads(4).queue_capacity(8).build()?;
//! let checkout = ThreadPoolBulkhead::builder("checkout").threads(2).queue_capacity(4).build()?;
//!
//! // Flood search: beyond 4 running + 8 queued, it refuses at the door.
//! let (release, gate) = std::sync::mpsc::channel::<()>();
//! let gate = std::sync::Arc::new(std::sync::Mutex::new(gate));
//! let mut admitted = Vec::new();
//! let mut refused = 0;
//! for _ in 0..100 {
//!     let gate = gate.clone();
//!     match search.try_submit(move || { let _ = gate.lock().unwrap().recv(); }) {
//!         Ok(handle) => admitted.push(handle),
//!         Err(rejected) => {
//!             assert_eq!(rejected.reason(), RejectReason::Full);
//!             refused += 1; // rejected.into_inner() would give the closure back
//!         }
//!     }
//! }
//! assert_eq!((admitted.len(), refused), (12, 88));
//!
//! // Checkout is untouched by the flood next door.
//! assert_eq!(checkout.execute(|| "order placed")?, "order placed");
//!
//! for _ in 0..admitted.len() { release.send(()).unwrap(); }
//! for handle in admitted { handle.join()?; }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## What it promises
//!
//! * **Bounded.** A [`ThreadPoolBulkhead`] admits at most
//!   `threads + queue_capacity` unfinished tasks; a [`SemaphoreBulkhead`]
//!   holds at most `max_concurrent` permits.
//! * **Fast refusal.** The admission decision is one lock-free
//!   compare-and-swap on a packed counter; a refusal takes no lock and
//!   allocates nothing.
//! * **No lost work.** A refused closure comes back in [`Rejected`]. Every
//!   admitted task either runs or its handle reports
//!   [`TaskError::Cancelled`] — also across shutdowns and resizes.
//! * **Panics contained.** A panicking task is caught; its worker lives on
//!   and the handle reports [`TaskError::Panicked`] with the payload.
//! * **Observable.** [`ThreadPoolBulkhead::stats`], [`SemaphoreBulkhead::stats`]
//!   and [`Registry::stats`] say what each compartment is doing; at rest,
//!   `submitted == completed + panicked + cancelled` exactly.
//! * **Verified.** The lock-free counter and the wait/notify paths import
//!   their atomics, locks and threads from one facade that swaps in `loom`
//!   under `--cfg loom`; the model checks in `loom-tests/` run against these
//!   very sources.
//!
//! ## Child processes
//!
//! A [`ProcessBulkhead`] (feature `process`, on by default, Unix) is the
//! same idea for programs a service shells out to — image converters, PDF
//! renderers, compilers: at most `max_concurrent` children at once, each
//! under a wall-clock timeout and rlimits (address space, CPU time, open
//! files), with stdout and stderr read concurrently and capped. On timeout
//! the child's whole process group is killed and reaped, so nothing
//! outlives the call.
//!
//! ```
//! # #[cfg(all(unix, feature = "process"))]
//! # {
//! use bulkheads::{Limit, ProcessBulkhead, ProcessError};
//! use std::{process::Command, time::Duration};
//!
//! let converters = ProcessBulkhead::builder("converters")
//!     .max_concurrent(2)
//!     .timeout(Duration::from_millis(200))
//!     .build()?;
//!
//! let mut ok = Command::new("sh");
//! ok.args(["-c", "echo converted"]);
//! assert_eq!(converters.run(ok)?.stdout, b"converted\n");
//!
//! let mut stuck = Command::new("sleep");
//! stuck.arg("60");
//! let err = converters.run(stuck).unwrap_err();
//! assert!(matches!(err, ProcessError::TimedOut(_)));
//! assert_eq!(err.limit_hit(), Some(Limit::Timeout));
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Map of the crate
//!
//! | module | holds |
//! |---|---|
//! | `thread_pool` | [`ThreadPoolBulkhead`], its [`ThreadPoolBuilder`], [`TaskHandle`] |
//! | `semaphore` | [`SemaphoreBulkhead`]: caps concurrent calls on the caller's thread |
//! | `process` | `ProcessBulkhead`: child processes under a limit, a timeout and rlimits (feature `process`, Unix); `limits.rs` holds the crate's only `unsafe` |
//! | `registry` | [`Registry`]: named bulkheads created in one place, with a stats table |
//! | `compartment` | [`Compartment`]: what every kind shares (name, stats, shutdown) |
//! | `connection` | `ConnectionBulkhead` (feature `r2d2`): a named r2d2 pool per function, telling a full pool from a database that is down |
//! | `router` | [`Router`]: picks a bulkhead (or any value) for a URL by host and path prefix |
//! | `http` | `HttpClient` (feature `http`): a ureq agent behind one bulkhead and timeout per endpoint |
//! | `adaptive` | [`Adaptive`]: moves a limit toward a target utilization |
//! | `policy` | [`Policy`]: health gate (Closed/Open/HalfOpen), operation timeout, [`Fallback`] |
//! | `config` | `Config` (feature `config`): bulkheads and policies from YAML or TOML, errors with key path and line |
//! | `clock` | [`Clock`], [`SystemClock`], [`ManualClock`], [`CoarseClock`]: injectable time |
//! | `stats` | [`PoolStats`], [`SemaphoreStats`], [`BulkheadStats`] |
//! | `error` | [`Rejected`], [`RejectReason`], [`TaskError`], [`ExecuteError`], [`BuildError`] |
//! | `admission` | the lock-free slot counter behind every admission decision |
//! | `sync` | the facade: std/parking_lot/crossbeam normally, loom under `--cfg loom` |
#![deny(missing_docs, missing_debug_implementations)]
// `deny`, not `forbid`: the one function that sets a child's resource
// limits between fork and exec (src/process/limits.rs) allows it locally.
#![deny(unsafe_code)]

mod adaptive;
mod admission;
mod clock;
mod compartment;
#[cfg(feature = "config")]
mod config;
#[cfg(feature = "r2d2")]
mod connection;
mod error;
mod policy;
#[cfg(all(unix, feature = "process"))]
mod process;
mod registry;
mod router;
mod semaphore;
mod stats;
mod sync;
mod thread_pool;

#[cfg(feature = "http")]
pub mod http;

// Internals for the loom model checks in `loom-tests/`; compiled only with
// RUSTFLAGS="--cfg loom", so normal builds' public API is unchanged.
#[cfg(loom)]
#[doc(hidden)]
#[path = "loom_api.rs"]
pub mod __loom;

pub use adaptive::{Adaptive, AdaptiveDriver};
pub use clock::{Clock, CoarseClock, ManualClock, SystemClock};
pub use compartment::Compartment;
#[cfg(feature = "config")]
pub use config::{Config, ConfigError, ConfigErrorKind, MonitoringConfig};
#[cfg(feature = "r2d2")]
pub use connection::{ConnectionBuilder, ConnectionBulkhead, ConnectionError, ConnectionStats};
pub use error::{BuildError, BuildErrorKind, ExecuteError, RejectReason, Rejected, TaskError};
#[cfg(feature = "http")]
pub use http::{HttpClient, HttpClientBuilder, HttpError};
pub use policy::{
    Fallback, FallbackStrategy, Health, Isolation, Policy, PolicyBuilder, PolicyConfig,
    PolicyError, State,
};
#[cfg(all(unix, feature = "process"))]
pub use process::{Limit, ProcessBuilder, ProcessBulkhead, ProcessError, ProcessOutput};
pub use registry::{Registry, StatsTable};
pub use router::{RouteError, Router, RouterBuilder};
pub use semaphore::{OwnedPermit, Permit, SemaphoreBuilder, SemaphoreBulkhead};
pub use stats::{BulkheadStats, PoolStats, ProcessStats, SemaphoreStats};
pub use thread_pool::{TaskHandle, ThreadPoolBuilder, ThreadPoolBulkhead};
