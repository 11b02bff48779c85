//! Connection isolation: [`ConnectionBulkhead`] gives one function of a
//! program its own named [`r2d2::Pool`], so a storm of slow analytics
//! queries can hold every analytics connection and transactions still get
//! theirs (feature `r2d2`).
//!
//! # Design
//!
//! The pool is a real `r2d2::Pool<M>`; the bulkhead adds a name, counters,
//! and an answer to the one question r2d2's own timeout error leaves open:
//! *why* no connection came. r2d2 reports "every connection is out" and
//! "the database is down" as the same `r2d2::Error`. The bulkhead tells
//! them apart with two hooks r2d2 offers:
//!
//! * an **error handler** that keeps the latest failed connection attempt's
//!   (or failed checkout test's) error, as the manager returned it;
//! * a **connection customizer** whose `on_acquire` runs after every
//!   successful connect and clears that error.
//!
//! A caller that finds no idle connection then reads the pool's state:
//! when every connection is handed out, the compartment is full
//! ([`ConnectionError::Rejected`]); when there is room for another
//! connection but the latest attempt to open one failed, the database is
//! down ([`ConnectionError::Connect`], with the manager's error as its
//! `source()`), and the caller is answered at once instead of waiting for a
//! connection that cannot come. r2d2 keeps retrying in the background,
//! backing off up to 15 seconds between attempts; the first success clears
//! the error.
//!
//! Building a bulkhead never fails because the database is down (a service
//! can start while one of its databases is away): [`ConnectionBuilder::build`]
//! opens one connection to learn whether the database answers, closes it,
//! and builds the pool with `build_unchecked`, which opens its connections
//! in the background.

use std::error::Error;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use r2d2::{CustomizeConnection, HandleError, ManageConnection, Pool, PooledConnection};

use crate::admission::MAX_SLOTS;
use crate::compartment::Compartment;
use crate::error::{BuildError, BuildErrorKind, RejectReason};
use crate::registry::Registry;
use crate::stats::BulkheadStats;
// Re-exported at the crate root from here, beside the pool it describes.
pub use crate::stats::ConnectionStats;
use crate::sync::{AtomicUsize, Mutex, Ordering};

/// The pool size [`ConnectionBuilder`] uses when
/// [`max_size`](ConnectionBuilder::max_size) is not called (r2d2's default).
const DEFAULT_MAX_SIZE: usize = 10;

/// How long [`ConnectionBulkhead::get`] waits when
/// [`max_wait`](ConnectionBuilder::max_wait) is not called (r2d2's default
/// connection timeout).
const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(30);

/// A manager's error, shared by every caller that is told about it.
type SharedError = Arc<dyn Error + Send + Sync + 'static>;

/// A named connection pool: one function's own share of a database's
/// connections, built on [`r2d2::Pool`].
///
/// * [`get`](Self::get) waits up to the configured
///   [`max_wait`](ConnectionBuilder::max_wait) for a connection;
///   [`try_get`](Self::try_get) is refused at once when every connection
///   is handed out.
/// * A refusal says why: [`ConnectionError::Rejected`] when every
///   connection is out (the compartment is full; the database may be
///   fine), [`ConnectionError::Connect`] when the database could not be
///   reached (the manager's own error is its `source()`).
/// * Connections go back to the pool when the [`PooledConnection`] is
///   dropped.
/// * [`stats`](Self::stats) counts connections handed out, refusals and
///   connect errors separately.
///
/// # Examples
///
/// ```
/// use bulkheads::{ConnectionBulkhead, ConnectionError, RejectReason};
/// use r2d2_sqlite::SqliteConnectionManager;
///
/// let analytics = ConnectionBulkhead::builder("analytics")
///     .max_size(2)
///     .build(SqliteConnectionManager::memory())?;
///
/// let a = analytics.get()?;
/// let b = analytics.get()?;
/// let n: i64 = a.query_row("SELECT 6 * 7", [], |row| row.get(0))?;
/// assert_eq!(n, 42);
///
/// // Both connections are out: the next request is refused at once.
/// match analytics.try_get() {
///     Err(ConnectionError::Rejected { reason, .. }) => assert_eq!(reason, RejectReason::Full),
///     other => panic!("{other:?}"),
/// }
/// drop((a, b));
/// assert_eq!(analytics.stats().rejected, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ConnectionBulkhead<M: ManageConnection> {
    /// Fixed at construction; shared with every error that names the pool,
    /// so a refusal allocates nothing.
    name: Arc<str>,
    /// The r2d2 pool. Its own lock guards its connections.
    pool: Pool<M>,
    /// The latest connection error, written by r2d2's threads through the
    /// hooks and read by callers that found no idle connection.
    health: Arc<Health>,
    /// How long `get` waits. Fixed at construction.
    max_wait: Duration,
    /// The pool's `max_size`. Fixed at construction.
    max_size: usize,
    /// Callers blocked in `get` or `try_get`. Written by them, read by
    /// `stats()`.
    waiting: AtomicUsize,
    /// Connections handed out. Written by successful callers, read by
    /// `stats()`.
    acquired: AtomicUsize,
    /// Requests refused because every connection was out. Written by
    /// refused callers, read by `stats()`.
    rejected: AtomicUsize,
    /// Requests refused because the database could not be reached. Written
    /// by those callers, read by `stats()`.
    connect_errors: AtomicUsize,
}

/// What the pool last learnt about the database.
struct Health {
    /// The error of the latest failed connection attempt or checkout test,
    /// `None` since the latest successful connect. Written by the probe in
    /// `build` and by r2d2's threads (the hooks), read by callers on their
    /// slow path; every access holds the lock.
    last_error: Mutex<Option<SharedError>>,
}

impl Health {
    fn last_error(&self) -> Option<SharedError> {
        self.last_error.lock().clone()
    }

    fn set(&self, error: Option<SharedError>) {
        *self.last_error.lock() = error;
    }
}

/// r2d2's error handler: keeps the manager's error for the callers.
struct RecordError(Arc<Health>);

impl<E: Error + Send + Sync + 'static> HandleError<E> for RecordError {
    fn handle_error(&self, error: E) {
        self.0.set(Some(Arc::new(error)));
    }
}

impl fmt::Debug for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecordError")
    }
}

/// r2d2's connection customizer: runs the user's customizer, if any, and
/// clears the kept error once a connection has been opened.
struct RecordSuccess<C, E> {
    inner: Option<Box<dyn CustomizeConnection<C, E>>>,
    health: Arc<Health>,
}

impl<C: Send + 'static, E: 'static> CustomizeConnection<C, E> for RecordSuccess<C, E> {
    fn on_acquire(&self, conn: &mut C) -> Result<(), E> {
        if let Some(inner) = &self.inner {
            inner.on_acquire(conn)?;
        }
        self.health.set(None);
        Ok(())
    }

    fn on_release(&self, conn: C) {
        if let Some(inner) = &self.inner {
            inner.on_release(conn);
        }
    }
}

impl<C, E> fmt::Debug for RecordSuccess<C, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordSuccess")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<M> ConnectionBulkhead<M>
where
    M: ManageConnection,
    M::Error: Send + Sync,
{
    /// A builder for a connection pool named `name`.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::ConnectionBulkhead;
    /// use r2d2_sqlite::SqliteConnectionManager;
    /// use std::time::Duration;
    ///
    /// let path = std::env::temp_dir().join(format!("bulkheads-doc-{}.db", std::process::id()));
    /// let transactional = ConnectionBulkhead::builder("transactional")
    ///     .min_idle(1)
    ///     .max_size(5)
    ///     .max_wait(Duration::from_millis(100))
    ///     .build(SqliteConnectionManager::file(&path))?;
    /// assert_eq!(transactional.max_size(), 5);
    /// # drop(transactional);
    /// # let _ = std::fs::remove_file(&path);
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn builder(name: &str) -> ConnectionBuilder<M> {
        ConnectionBuilder {
            name: name.to_owned(),
            min_idle: None,
            max_size: DEFAULT_MAX_SIZE,
            max_wait: DEFAULT_MAX_WAIT,
            idle_timeout: Some(Duration::from_secs(10 * 60)),
            max_lifetime: Some(Duration::from_secs(30 * 60)),
            test_on_check_out: true,
            customizer: None,
        }
    }

    /// A connection, waiting up to the configured
    /// [`max_wait`](ConnectionBuilder::max_wait) for one to come free or
    /// to be opened. The connection goes back to the pool when dropped.
    ///
    /// When the latest attempt to open a connection failed and the pool
    /// has room for another, the database is taken to be down and the
    /// call returns [`ConnectionError::Connect`] at once, without waiting;
    /// r2d2 keeps trying to connect in the background.
    ///
    /// # Errors
    ///
    /// * [`ConnectionError::Rejected`] with [`RejectReason::Timeout`]: no
    ///   connection came free within `max_wait` (every connection is out,
    ///   or the one being opened took longer).
    /// * [`ConnectionError::Connect`]: the database could not be reached;
    ///   `source()` is the manager's error.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::ConnectionBulkhead;
    /// use r2d2_sqlite::SqliteConnectionManager;
    ///
    /// let reports = ConnectionBulkhead::builder("reports").build(SqliteConnectionManager::memory())?;
    /// let conn = reports.get()?;
    /// conn.execute_batch("CREATE TABLE t (x INTEGER)")?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get(&self) -> Result<PooledConnection<M>, ConnectionError> {
        if let Some(conn) = self.pool.try_get() {
            return Ok(self.acquired(conn));
        }
        if self.has_room() {
            if let Some(error) = self.health.last_error() {
                return self.database_down(error);
            }
        }
        self.wait()
    }

    /// A connection if one can be had without waiting for another caller
    /// to give one back: refused at once when every connection is handed
    /// out. When there is room for another connection but none is idle
    /// (the pool is still opening them), it waits up to `max_wait` for one
    /// to open. The connection goes back to the pool when dropped.
    ///
    /// # Errors
    ///
    /// * [`ConnectionError::Rejected`] with [`RejectReason::Full`]: every
    ///   connection is out; with [`RejectReason::Timeout`]: the connection
    ///   being opened did not come within `max_wait`.
    /// * [`ConnectionError::Connect`]: the latest attempt to open a
    ///   connection failed; `source()` is the manager's error.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{ConnectionBulkhead, ConnectionError, RejectReason};
    /// use r2d2_sqlite::SqliteConnectionManager;
    ///
    /// let search = ConnectionBulkhead::builder("search")
    ///     .max_size(1)
    ///     .build(SqliteConnectionManager::memory())?;
    /// let held = search.try_get()?;
    /// let err = search.try_get().unwrap_err();
    /// assert_eq!(err.reject_reason(), Some(RejectReason::Full));
    /// drop(held);
    /// assert!(search.try_get().is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn try_get(&self) -> Result<PooledConnection<M>, ConnectionError> {
        if let Some(conn) = self.pool.try_get() {
            return Ok(self.acquired(conn));
        }
        if !self.has_room() {
            return Err(self.rejected(RejectReason::Full));
        }
        if let Some(error) = self.health.last_error() {
            return self.database_down(error);
        }
        self.wait()
    }

    /// The pool's name.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::ConnectionBulkhead;
    /// use r2d2_sqlite::SqliteConnectionManager;
    ///
    /// let pool = ConnectionBulkhead::builder("ledger").build(SqliteConnectionManager::memory())?;
    /// assert_eq!(pool.name(), "ledger");
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The most connections the pool holds, in use and idle together.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::ConnectionBulkhead;
    /// use r2d2_sqlite::SqliteConnectionManager;
    ///
    /// let pool = ConnectionBulkhead::builder("ledger").build(SqliteConnectionManager::memory())?;
    /// assert_eq!(pool.max_size(), 10); // the default
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn max_size(&self) -> usize {
        self.max_size
    }

    /// How long [`get`](Self::get) waits for a connection.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::ConnectionBulkhead;
    /// use r2d2_sqlite::SqliteConnectionManager;
    /// use std::time::Duration;
    ///
    /// let pool = ConnectionBulkhead::builder("ledger")
    ///     .max_wait(Duration::from_millis(250))
    ///     .build(SqliteConnectionManager::memory())?;
    /// assert_eq!(pool.max_wait(), Duration::from_millis(250));
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn max_wait(&self) -> Duration {
        self.max_wait
    }

    /// The underlying r2d2 pool, for what the bulkhead does not wrap (its
    /// `state()`, its configuration). Connections taken from it directly
    /// bypass the bulkhead's counters.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::ConnectionBulkhead;
    /// use r2d2_sqlite::SqliteConnectionManager;
    ///
    /// let pool = ConnectionBulkhead::builder("ledger")
    ///     .max_size(3)
    ///     .build(SqliteConnectionManager::memory())?;
    /// assert_eq!(pool.pool().max_size(), 3);
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn pool(&self) -> &Pool<M> {
        &self.pool
    }

    /// A snapshot of the pool: its connections from r2d2's state, its
    /// callers' outcomes from the bulkhead's counters.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::ConnectionBulkhead;
    /// use r2d2_sqlite::SqliteConnectionManager;
    ///
    /// let pool = ConnectionBulkhead::builder("ledger")
    ///     .max_size(1)
    ///     .build(SqliteConnectionManager::memory())?;
    /// let conn = pool.get()?;
    /// assert!(pool.try_get().is_err());
    /// let stats = pool.stats();
    /// assert_eq!((stats.in_use, stats.acquired, stats.rejected), (1, 1, 1));
    /// # drop(conn);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stats(&self) -> ConnectionStats {
        let state = self.pool.state();
        ConnectionStats {
            name: self.name.to_string(),
            max_size: self.max_size,
            in_use: state.connections.saturating_sub(state.idle_connections) as usize,
            idle: state.idle_connections as usize,
            // Counters only; a snapshot may be a few calls apart between
            // fields while callers run.
            waiting: self.waiting.load(Ordering::Relaxed),
            acquired: self.acquired.load(Ordering::Relaxed),
            rejected: self.rejected.load(Ordering::Relaxed),
            connect_errors: self.connect_errors.load(Ordering::Relaxed),
        }
    }

    /// Whether fewer than `max_size` connections are handed out.
    fn has_room(&self) -> bool {
        let state = self.pool.state();
        (state.connections.saturating_sub(state.idle_connections) as usize) < self.max_size
    }

    /// Waits up to `max_wait` in r2d2 (which also asks for a connection
    /// to be opened when there is room), then says why none came.
    fn wait(&self) -> Result<PooledConnection<M>, ConnectionError> {
        // Counters only; no other memory is published through them.
        self.waiting.fetch_add(1, Ordering::Relaxed);
        let got = self.pool.get_timeout(self.max_wait);
        // Counters only, as above.
        self.waiting.fetch_sub(1, Ordering::Relaxed);
        match got {
            Ok(conn) => Ok(self.acquired(conn)),
            Err(_) => match self.health.last_error() {
                Some(error) if self.has_room() => Err(self.connect_error(error)),
                _ => Err(self.rejected(RejectReason::Timeout)),
            },
        }
    }

    /// Answers a caller while the database is known to be down, after
    /// asking r2d2 (with a zero wait) to keep an attempt to connect
    /// scheduled: a pool with `min_idle(0)` has none of its own.
    fn database_down(&self, error: SharedError) -> Result<PooledConnection<M>, ConnectionError> {
        match self.pool.get_timeout(Duration::ZERO) {
            Ok(conn) => Ok(self.acquired(conn)),
            Err(_) => Err(self.connect_error(error)),
        }
    }

    fn acquired(&self, conn: PooledConnection<M>) -> PooledConnection<M> {
        // A counter only; no other memory is published through it.
        self.acquired.fetch_add(1, Ordering::Relaxed);
        conn
    }

    fn rejected(&self, reason: RejectReason) -> ConnectionError {
        // A counter only; no other memory is published through it.
        self.rejected.fetch_add(1, Ordering::Relaxed);
        ConnectionError::Rejected {
            name: Arc::clone(&self.name),
            reason,
        }
    }

    fn connect_error(&self, source: SharedError) -> ConnectionError {
        // A counter only; no other memory is published through it.
        self.connect_errors.fetch_add(1, Ordering::Relaxed);
        ConnectionError::Connect {
            name: Arc::clone(&self.name),
            source,
        }
    }
}

impl<M: ManageConnection> fmt::Debug for ConnectionBulkhead<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionBulkhead")
            .field("name", &self.name)
            .field("max_size", &self.max_size)
            .field("max_wait", &self.max_wait)
            .field("state", &self.pool.state())
            .finish_non_exhaustive()
    }
}

impl<M> Compartment for ConnectionBulkhead<M>
where
    M: ManageConnection,
    M::Error: Send + Sync,
{
    fn name(&self) -> &str {
        ConnectionBulkhead::name(self)
    }
    fn stats(&self) -> BulkheadStats {
        ConnectionBulkhead::stats(self).into()
    }
}

/// Configures a [`ConnectionBulkhead`]; from
/// [`ConnectionBulkhead::builder`].
///
/// The seed's `min_size` and `max_size` are
/// [`min_idle`](Self::min_idle) and [`max_size`](Self::max_size) here, as
/// in r2d2.
///
/// # Examples
///
/// ```
/// use bulkheads::ConnectionBulkhead;
/// use r2d2_sqlite::SqliteConnectionManager;
/// use std::time::Duration;
///
/// let pool = ConnectionBulkhead::builder("analytics")
///     .min_idle(1)
///     .max_size(5)
///     .max_wait(Duration::from_millis(100))
///     .idle_timeout(Some(Duration::from_secs(60)))
///     .build(SqliteConnectionManager::memory())?;
/// assert_eq!(pool.pool().min_idle(), Some(1));
/// # Ok::<(), bulkheads::BuildError>(())
/// ```
pub struct ConnectionBuilder<M: ManageConnection> {
    name: String,
    min_idle: Option<usize>,
    max_size: usize,
    max_wait: Duration,
    idle_timeout: Option<Duration>,
    max_lifetime: Option<Duration>,
    test_on_check_out: bool,
    customizer: Option<Box<dyn CustomizeConnection<M::Connection, M::Error>>>,
}

impl<M> ConnectionBuilder<M>
where
    M: ManageConnection,
    M::Error: Send + Sync,
{
    /// How many idle connections the pool keeps open, ready to hand out
    /// (the seed's `min_size`). Default: `max_size`, as in r2d2. With 0
    /// the pool opens connections only when asked.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::ConnectionBulkhead;
    /// use r2d2_sqlite::SqliteConnectionManager;
    ///
    /// let lazy = ConnectionBulkhead::builder("rare")
    ///     .min_idle(0)
    ///     .build(SqliteConnectionManager::memory())?;
    /// assert_eq!(lazy.stats().idle, 0);
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn min_idle(mut self, min_idle: usize) -> Self {
        self.min_idle = Some(min_idle);
        self
    }

    /// The most connections the pool holds, in use and idle together: the
    /// compartment's limit. Default: 10, as in r2d2. Must be at least 1.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{BuildErrorKind, ConnectionBulkhead};
    /// use r2d2_sqlite::SqliteConnectionManager;
    ///
    /// let err = ConnectionBulkhead::builder("none")
    ///     .max_size(0)
    ///     .build(SqliteConnectionManager::memory())
    ///     .unwrap_err();
    /// assert_eq!(err.kind(), BuildErrorKind::ZeroConnections);
    /// ```
    pub fn max_size(mut self, max_size: usize) -> Self {
        self.max_size = max_size;
        self
    }

    /// How long [`get`](ConnectionBulkhead::get) waits for a connection
    /// (and [`try_get`](ConnectionBulkhead::try_get) for one being
    /// opened). Default: 30 seconds, r2d2's connection timeout. Zero makes
    /// `get` refuse at once, as `try_get` does.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::ConnectionBulkhead;
    /// use r2d2_sqlite::SqliteConnectionManager;
    /// use std::time::Duration;
    ///
    /// let fail_fast = ConnectionBulkhead::builder("checkout")
    ///     .max_wait(Duration::ZERO)
    ///     .build(SqliteConnectionManager::memory())?;
    /// assert_eq!(fail_fast.max_wait(), Duration::ZERO);
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait;
        self
    }

    /// Idle connections are closed after this long unused (down to
    /// `min_idle`). Default: 10 minutes, as in r2d2; `None` never closes
    /// them for being idle. Must not be zero.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::ConnectionBulkhead;
    /// use r2d2_sqlite::SqliteConnectionManager;
    ///
    /// let pool = ConnectionBulkhead::builder("keep")
    ///     .idle_timeout(None)
    ///     .build(SqliteConnectionManager::memory())?;
    /// assert_eq!(pool.pool().idle_timeout(), None);
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn idle_timeout(mut self, idle_timeout: Option<Duration>) -> Self {
        self.idle_timeout = idle_timeout;
        self
    }

    /// Connections are closed once this old, when idle. Default: 30
    /// minutes, as in r2d2; `None` keeps them. Must not be zero.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::ConnectionBulkhead;
    /// use r2d2_sqlite::SqliteConnectionManager;
    /// use std::time::Duration;
    ///
    /// let pool = ConnectionBulkhead::builder("rotate")
    ///     .max_lifetime(Some(Duration::from_secs(300)))
    ///     .build(SqliteConnectionManager::memory())?;
    /// assert_eq!(pool.pool().max_lifetime(), Some(Duration::from_secs(300)));
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn max_lifetime(mut self, max_lifetime: Option<Duration>) -> Self {
        self.max_lifetime = max_lifetime;
        self
    }

    /// Whether a connection is checked with the manager's `is_valid` before
    /// it is handed out. Default: true, as in r2d2. A failed check closes
    /// that connection and counts as a connection error until the next
    /// connection opens.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::ConnectionBulkhead;
    /// use r2d2_sqlite::SqliteConnectionManager;
    ///
    /// let pool = ConnectionBulkhead::builder("trusting")
    ///     .test_on_check_out(false)
    ///     .build(SqliteConnectionManager::memory())?;
    /// assert!(!pool.pool().test_on_check_out());
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn test_on_check_out(mut self, test_on_check_out: bool) -> Self {
        self.test_on_check_out = test_on_check_out;
        self
    }

    /// Runs `customizer` on every connection the pool opens and closes,
    /// as r2d2's `connection_customizer` does (session settings, pragmas).
    /// An error from its `on_acquire` counts as a failed connection
    /// attempt. Default: none.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::ConnectionBulkhead;
    /// use r2d2::CustomizeConnection;
    /// use r2d2_sqlite::{rusqlite, SqliteConnectionManager};
    ///
    /// #[derive(Debug)]
    /// struct ForeignKeys;
    /// impl CustomizeConnection<rusqlite::Connection, rusqlite::Error> for ForeignKeys {
    ///     fn on_acquire(&self, conn: &mut rusqlite::Connection) -> Result<(), rusqlite::Error> {
    ///         conn.execute_batch("PRAGMA foreign_keys = ON")
    ///     }
    /// }
    ///
    /// let pool = ConnectionBulkhead::builder("orders")
    ///     .connection_customizer(Box::new(ForeignKeys))
    ///     .build(SqliteConnectionManager::memory())?;
    /// let on: i64 = pool.get()?.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?;
    /// assert_eq!(on, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn connection_customizer(
        mut self,
        customizer: Box<dyn CustomizeConnection<M::Connection, M::Error>>,
    ) -> Self {
        self.customizer = Some(customizer);
        self
    }

    /// Builds the pool over `manager`.
    ///
    /// It first opens one connection with `manager` to learn whether the
    /// database answers, and closes it; a database that is down does not
    /// fail the build (the first `get` or `try_get` reports it as
    /// [`ConnectionError::Connect`]). The pool then opens `min_idle`
    /// connections in the background.
    ///
    /// # Errors
    ///
    /// [`BuildError`] of kind [`EmptyName`](BuildErrorKind::EmptyName),
    /// [`ZeroConnections`](BuildErrorKind::ZeroConnections) (`max_size(0)`),
    /// [`TooLarge`](BuildErrorKind::TooLarge),
    /// [`MinIdleAboveMaxSize`](BuildErrorKind::MinIdleAboveMaxSize), or
    /// [`ZeroDuration`](BuildErrorKind::ZeroDuration) (an `idle_timeout` or
    /// `max_lifetime` of zero).
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{BuildErrorKind, ConnectionBulkhead};
    /// use r2d2_sqlite::SqliteConnectionManager;
    ///
    /// let err = ConnectionBulkhead::builder("odd")
    ///     .min_idle(6)
    ///     .max_size(5)
    ///     .build(SqliteConnectionManager::memory())
    ///     .unwrap_err();
    /// assert_eq!(err.kind(), BuildErrorKind::MinIdleAboveMaxSize);
    /// ```
    pub fn build(self, manager: M) -> Result<ConnectionBulkhead<M>, BuildError> {
        let fail = |kind| Err(BuildError::new(kind, &self.name));
        crate::error::check_not_blank(&self.name)?;
        if self.max_size == 0 {
            return fail(BuildErrorKind::ZeroConnections);
        }
        if self.max_size > MAX_SLOTS {
            return fail(BuildErrorKind::TooLarge);
        }
        if self.min_idle.is_some_and(|min| min > self.max_size) {
            return fail(BuildErrorKind::MinIdleAboveMaxSize);
        }
        if self.idle_timeout == Some(Duration::ZERO) || self.max_lifetime == Some(Duration::ZERO) {
            return fail(BuildErrorKind::ZeroDuration);
        }

        let health = Arc::new(Health {
            last_error: Mutex::new(None),
        });
        if let Err(error) = manager.connect() {
            health.set(Some(Arc::new(error)));
        }
        // The checks above keep every r2d2 builder assertion true: sizes
        // fit a u32 (MAX_SLOTS does), min_idle <= max_size, durations are
        // not zero.
        let pool = Pool::builder()
            .max_size(self.max_size as u32)
            .min_idle(self.min_idle.map(|min| min as u32))
            .idle_timeout(self.idle_timeout)
            .max_lifetime(self.max_lifetime)
            .test_on_check_out(self.test_on_check_out)
            .error_handler(Box::new(RecordError(Arc::clone(&health))))
            .connection_customizer(Box::new(RecordSuccess {
                inner: self.customizer,
                health: Arc::clone(&health),
            }))
            .build_unchecked(manager);
        Ok(ConnectionBulkhead {
            name: Arc::from(self.name),
            pool,
            health,
            max_wait: self.max_wait,
            max_size: self.max_size,
            waiting: AtomicUsize::new(0),
            acquired: AtomicUsize::new(0),
            rejected: AtomicUsize::new(0),
            connect_errors: AtomicUsize::new(0),
        })
    }
}

impl<M: ManageConnection> fmt::Debug for ConnectionBuilder<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionBuilder")
            .field("name", &self.name)
            .field("min_idle", &self.min_idle)
            .field("max_size", &self.max_size)
            .field("max_wait", &self.max_wait)
            .field("idle_timeout", &self.idle_timeout)
            .field("max_lifetime", &self.max_lifetime)
            .field("test_on_check_out", &self.test_on_check_out)
            .field("customizer", &self.customizer)
            .finish()
    }
}

/// Why a [`ConnectionBulkhead`] gave no connection.
///
/// The point of the type is the first two variants: r2d2's own timeout
/// error means either of them; here they are apart, and counted apart in
/// [`ConnectionStats`].
///
/// # Examples
///
/// ```
/// use bulkheads::{ConnectionBulkhead, ConnectionError};
/// use r2d2_sqlite::SqliteConnectionManager;
///
/// let missing = std::env::temp_dir().join("no-such-dir-for-bulkheads").join("x.db");
/// let pool = ConnectionBulkhead::builder("archive")
///     .build(SqliteConnectionManager::file(&missing))?;
/// match pool.get() {
///     Err(ConnectionError::Rejected { .. }) => println!("archive is busy: shed the request"),
///     Err(err @ ConnectionError::Connect { .. }) => println!("{err}"), // the database is down
///     Err(other) => println!("{other}"),
///     Ok(_conn) => println!("connected"),
/// }
/// # Ok::<(), bulkheads::BuildError>(())
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ConnectionError {
    /// Every connection of the pool was handed out: at once for
    /// [`try_get`](ConnectionBulkhead::try_get) ([`RejectReason::Full`]),
    /// after `max_wait` for [`get`](ConnectionBulkhead::get)
    /// ([`RejectReason::Timeout`]). The database may be fine; the
    /// compartment is full.
    Rejected {
        /// The pool's name.
        name: Arc<str>,
        /// Why: full, or timed out waiting.
        reason: RejectReason,
    },
    /// The database refused the connection or could not be reached; the
    /// connection manager's own error is `source` (and
    /// [`Error::source`]).
    Connect {
        /// The pool's name.
        name: Arc<str>,
        /// The connection manager's error, as it returned it (downcast it
        /// to the manager's error type to inspect it).
        source: Arc<dyn Error + Send + Sync + 'static>,
    },
    /// A [`Registry`] lookup by a name under which no connection pool (of
    /// the asked manager type) was ever created.
    UnknownPool(String),
}

impl ConnectionError {
    /// The name of the pool the error is about.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::Registry;
    /// use r2d2_sqlite::SqliteConnectionManager;
    ///
    /// let registry = Registry::new();
    /// let err = registry.connection::<SqliteConnectionManager>("nope").unwrap_err();
    /// assert_eq!(err.name(), "nope");
    /// ```
    pub fn name(&self) -> &str {
        match self {
            ConnectionError::Rejected { name, .. } | ConnectionError::Connect { name, .. } => name,
            ConnectionError::UnknownPool(name) => name,
        }
    }

    /// The rejection reason, when every connection was out.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{ConnectionBulkhead, RejectReason};
    /// use r2d2_sqlite::SqliteConnectionManager;
    ///
    /// let pool = ConnectionBulkhead::builder("one").max_size(1).build(SqliteConnectionManager::memory())?;
    /// let _held = pool.get()?;
    /// assert_eq!(pool.try_get().unwrap_err().reject_reason(), Some(RejectReason::Full));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reject_reason(&self) -> Option<RejectReason> {
        match self {
            ConnectionError::Rejected { reason, .. } => Some(*reason),
            _ => None,
        }
    }
}

impl fmt::Display for ConnectionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectionError::Rejected { name, reason } => {
                write!(f, "{name}: rejected, every connection is in use: {reason}")
            }
            ConnectionError::Connect { name, source } => write!(
                f,
                "{name}: cannot connect to the database: {source}; check that it is running and reachable (the pool keeps retrying)"
            ),
            ConnectionError::UnknownPool(name) => write!(
                f,
                "no connection pool named `{name}` with this connection manager type; create it with Registry::connection_pool first"
            ),
        }
    }
}

impl Error for ConnectionError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            ConnectionError::Connect { source, .. } => Some(&**source as &(dyn Error + 'static)),
            _ => None,
        }
    }
}

impl Registry {
    /// The connection pool named `name`, built over `manager` with
    /// `configure` if there is none yet.
    ///
    /// `configure` receives
    /// [`ConnectionBulkhead::builder(name)`](ConnectionBulkhead::builder)
    /// and returns it configured. When the pool already exists, `manager`
    /// and `configure` are dropped unused and the existing pool is
    /// returned unchanged. The new pool is built outside the registry's
    /// lock (building opens a connection); when two callers race to create
    /// one name, both build and one pool is kept.
    ///
    /// # Errors
    ///
    /// [`BuildError`] of kind [`KindConflict`](BuildErrorKind::KindConflict)
    /// when `name` holds another kind of bulkhead (or a connection pool
    /// over another manager type), or whatever
    /// [`ConnectionBuilder::build`] reports. A database that is down is
    /// not an error here.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::Registry;
    /// use r2d2_sqlite::SqliteConnectionManager;
    /// use std::sync::Arc;
    /// use std::time::Duration;
    ///
    /// let registry = Registry::new();
    /// let analytics = registry.connection_pool(
    ///     "analytics",
    ///     SqliteConnectionManager::memory(),
    ///     |b| b.min_idle(1).max_size(5).max_wait(Duration::from_millis(100)),
    /// )?;
    /// let same = registry.get_connection_pool::<SqliteConnectionManager>("analytics").unwrap();
    /// assert!(Arc::ptr_eq(&analytics, &same));
    /// println!("{registry}");
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn connection_pool<M, C>(
        &self,
        name: &str,
        manager: M,
        configure: C,
    ) -> Result<Arc<ConnectionBulkhead<M>>, BuildError>
    where
        M: ManageConnection,
        M::Error: Send + Sync,
        C: FnOnce(ConnectionBuilder<M>) -> ConnectionBuilder<M>,
    {
        if let Some(existing) = self.lookup::<ConnectionBulkhead<M>>(name)? {
            return Ok(existing);
        }
        let built = configure(ConnectionBulkhead::builder(name)).build(manager)?;
        self.get_or_create(name, || built, Ok)
    }

    /// The connection pool named `name` over manager type `M`, if there is
    /// one (`None` also when the name holds another kind).
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::Registry;
    /// use r2d2_sqlite::SqliteConnectionManager;
    ///
    /// let registry = Registry::new();
    /// registry.connection_pool("ledger", SqliteConnectionManager::memory(), |b| b.max_size(2))?;
    /// assert_eq!(registry.get_connection_pool::<SqliteConnectionManager>("ledger").unwrap().max_size(), 2);
    /// assert!(registry.get_connection_pool::<SqliteConnectionManager>("other").is_none());
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn get_connection_pool<M>(&self, name: &str) -> Option<Arc<ConnectionBulkhead<M>>>
    where
        M: ManageConnection,
        M::Error: Send + Sync,
    {
        self.get(name)
    }

    /// A connection from the pool named `name`, as
    /// [`ConnectionBulkhead::get`] gives it.
    ///
    /// # Errors
    ///
    /// [`ConnectionError::UnknownPool`] when there is no connection pool
    /// over manager type `M` under `name`; otherwise as
    /// [`ConnectionBulkhead::get`].
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{ConnectionError, Registry};
    /// use r2d2_sqlite::SqliteConnectionManager;
    ///
    /// let registry = Registry::new();
    /// registry.connection_pool("ledger", SqliteConnectionManager::memory(), |b| b.max_size(2))?;
    /// let conn = registry.connection::<SqliteConnectionManager>("ledger")?;
    /// conn.execute_batch("SELECT 1")?;
    /// assert!(matches!(
    ///     registry.connection::<SqliteConnectionManager>("typo"),
    ///     Err(ConnectionError::UnknownPool(name)) if name == "typo"
    /// ));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn connection<M>(&self, name: &str) -> Result<PooledConnection<M>, ConnectionError>
    where
        M: ManageConnection,
        M::Error: Send + Sync,
    {
        match self.get_connection_pool::<M>(name) {
            Some(pool) => pool.get(),
            None => Err(ConnectionError::UnknownPool(name.to_owned())),
        }
    }
}
