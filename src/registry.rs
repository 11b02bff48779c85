//! [`Registry`]: every named bulkhead of a program, created in one place,
//! looked up by name, and reported together as a stats table.

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::compartment::Compartment;
use crate::error::{BuildError, BuildErrorKind};
use crate::semaphore::{SemaphoreBuilder, SemaphoreBulkhead};
use crate::stats::BulkheadStats;
use crate::sync::Mutex;
use crate::thread_pool::{ThreadPoolBuilder, ThreadPoolBulkhead};

/// One registered bulkhead, of any kind (handed back as its own type by
/// upcasting to `Any`), and what the compartments it replaced counted.
#[derive(Clone)]
struct Entry {
    compartment: Arc<dyn Compartment>,
    /// Compartments this name held before, replaced and still shutting
    /// down: their stats are read live. Written by `replace`.
    retiring: Vec<Arc<dyn Compartment>>,
    /// The final stats of the compartments this name held before, summed
    /// (`None` until one has retired). Written by `replace`.
    retired: Option<BulkheadStats>,
}

impl Entry {
    fn new<K: Compartment>(this: Arc<K>) -> Self {
        Entry {
            compartment: this,
            retiring: Vec::new(),
            retired: None,
        }
    }

    /// The compartment's stats with its predecessors' totals added in.
    fn stats(&self) -> BulkheadStats {
        let mut stats = self.compartment.stats();
        for old in &self.retiring {
            stats.absorb(&old.stats());
        }
        if let Some(retired) = &self.retired {
            stats.absorb(retired);
        }
        stats
    }

    /// The bulkhead as a `K`, or a kind conflict when it is another kind.
    fn of<K: Compartment>(&self, name: &str) -> Result<Arc<K>, BuildError> {
        let any: Arc<dyn Any + Send + Sync> = self.compartment.clone();
        any.downcast::<K>()
            .map_err(|_| BuildError::new(BuildErrorKind::KindConflict, name))
    }
}

/// Named bulkheads of every kind, created or fetched by name.
///
/// * [`thread_pool`](Self::thread_pool) and [`semaphore`](Self::semaphore)
///   create a bulkhead the first time a name is used and return the same
///   `Arc` on every later call; the later calls' configuration is ignored
///   (the existing bulkhead is not changed).
/// * A name belongs to one kind: asking for a semaphore under a thread
///   pool's name (or the other way round) is a [`BuildError`] of kind
///   [`KindConflict`](BuildErrorKind::KindConflict).
/// * Callers racing to create the same name get one instance: the creation
///   runs under the registry's lock.
/// * [`stats`](Self::stats) reports every bulkhead sorted by name, and
///   [`table`](Self::table) (or `Display` on the registry) prints them as a
///   table.
///
/// # Examples
///
/// ```
/// use bulkheads::Registry;
/// use std::sync::Arc;
///
/// let registry = Registry::new();
/// let search = registry.thread_pool("search", |b| b.threads(4).queue_capacity(100))?;
/// let checkout = registry.semaphore("checkout", 50)?;
///
/// // Elsewhere in the program: the same bulkheads, by name.
/// assert!(Arc::ptr_eq(&search, &registry.thread_pool("search", |b| b)?));
/// assert!(Arc::ptr_eq(&checkout, &registry.get_semaphore("checkout").unwrap()));
///
/// assert_eq!(registry.names(), ["checkout", "search"]);
/// println!("{registry}");
/// # Ok::<(), bulkheads::BuildError>(())
/// ```
#[derive(Default)]
pub struct Registry {
    /// The bulkheads by name. Written by creators and `remove`, read by
    /// lookups and reports; every access holds the lock. Creation happens
    /// under it too, so racing creators of one name build it once.
    entries: Mutex<BTreeMap<String, Entry>>,
}

impl Registry {
    /// An empty registry.
    ///
    /// # Examples
    ///
    /// ```
    /// let registry = bulkheads::Registry::new();
    /// assert!(registry.names().is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// The thread pool named `name`, created with `configure` if there is
    /// none yet.
    ///
    /// `configure` receives [`ThreadPoolBulkhead::builder(name)`](ThreadPoolBulkhead::builder)
    /// and returns it configured; it is called only when the pool does not
    /// exist yet, and outside the registry's lock (so it may itself use the
    /// registry). The pool is then built under the lock.
    ///
    /// # Errors
    ///
    /// [`BuildError`] of kind [`KindConflict`](BuildErrorKind::KindConflict)
    /// when `name` is a semaphore, or whatever
    /// [`ThreadPoolBuilder::build`] reports.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::Registry;
    ///
    /// let registry = Registry::new();
    /// let search = registry.thread_pool("search", |b| b.threads(2).queue_capacity(10))?;
    /// assert_eq!(search.execute(|| 1 + 1).unwrap(), 2);
    ///
    /// // A second call gets the same pool; its configuration is ignored.
    /// let again = registry.thread_pool("search", |b| b.threads(64))?;
    /// assert_eq!(again.stats().threads, 2);
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn thread_pool<C>(
        &self,
        name: &str,
        configure: C,
    ) -> Result<Arc<ThreadPoolBulkhead>, BuildError>
    where
        C: FnOnce(ThreadPoolBuilder) -> ThreadPoolBuilder,
    {
        self.get_or_create(
            name,
            || configure(ThreadPoolBulkhead::builder(name)),
            ThreadPoolBuilder::build,
        )
    }

    /// The semaphore named `name`, created fail-fast (as
    /// [`SemaphoreBulkhead::new`]) with a limit of `max_concurrent` if there
    /// is none yet.
    ///
    /// # Errors
    ///
    /// [`BuildError`] of kind [`KindConflict`](BuildErrorKind::KindConflict)
    /// when `name` is a thread pool, or whatever
    /// [`SemaphoreBuilder::build`] reports (an empty name, a limit above
    /// 2^30 - 1).
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{BuildErrorKind, Registry};
    ///
    /// let registry = Registry::new();
    /// let checkout = registry.semaphore("checkout", 50)?;
    /// assert_eq!(checkout.max_concurrent(), 50);
    ///
    /// let err = registry.thread_pool("checkout", |b| b.threads(1)).unwrap_err();
    /// assert_eq!(err.kind(), BuildErrorKind::KindConflict);
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn semaphore(
        &self,
        name: &str,
        max_concurrent: usize,
    ) -> Result<Arc<SemaphoreBulkhead>, BuildError> {
        self.semaphore_with(name, |b| b.max_concurrent(max_concurrent))
    }

    /// The semaphore named `name`, created with `configure` if there is
    /// none yet. `configure` receives
    /// [`SemaphoreBulkhead::builder(name)`](SemaphoreBulkhead::builder) and
    /// is called only when the semaphore does not exist yet, outside the
    /// registry's lock.
    ///
    /// # Errors
    ///
    /// As [`semaphore`](Self::semaphore).
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::Registry;
    /// use std::time::Duration;
    ///
    /// let registry = Registry::new();
    /// let db = registry.semaphore_with("db", |b| {
    ///     b.max_concurrent(10).max_wait(Duration::from_millis(50)).fair(true)
    /// })?;
    /// assert!(db.is_fair());
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn semaphore_with<C>(
        &self,
        name: &str,
        configure: C,
    ) -> Result<Arc<SemaphoreBulkhead>, BuildError>
    where
        C: FnOnce(SemaphoreBuilder) -> SemaphoreBuilder,
    {
        self.get_or_create(
            name,
            || configure(SemaphoreBulkhead::builder(name)),
            SemaphoreBuilder::build,
        )
    }

    /// The bulkhead of kind `K` named `name`: `None` if the name is free,
    /// an error if another kind holds it.
    pub(crate) fn lookup<K: Compartment>(&self, name: &str) -> Result<Option<Arc<K>>, BuildError> {
        self.entries
            .lock()
            .get(name)
            .map(|entry| entry.of::<K>(name))
            .transpose()
    }

    /// Create-or-get for any kind: `configure` runs outside the lock (only
    /// when the name looks free), the check, `build` and insert run under
    /// it, so racing creators get one instance.
    pub(crate) fn get_or_create<K: Compartment, B>(
        &self,
        name: &str,
        configure: impl FnOnce() -> B,
        build: impl FnOnce(B) -> Result<K, BuildError>,
    ) -> Result<Arc<K>, BuildError> {
        if let Some(existing) = self.lookup::<K>(name)? {
            return Ok(existing);
        }
        let builder = configure();
        let mut entries = self.entries.lock();
        if let Some(entry) = entries.get(name) {
            return entry.of::<K>(name);
        }
        let created = Arc::new(build(builder)?);
        entries.insert(name.to_owned(), Entry::new(Arc::clone(&created)));
        Ok(created)
    }

    /// The bulkhead named `name` if it is of kind `K` (`None` when the name
    /// is free or holds another kind): the generic form of
    /// [`get_thread_pool`](Self::get_thread_pool) and its siblings.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{Registry, SemaphoreBulkhead, ThreadPoolBulkhead};
    ///
    /// let registry = Registry::new();
    /// registry.semaphore("checkout", 5)?;
    /// assert!(registry.get::<SemaphoreBulkhead>("checkout").is_some());
    /// assert!(registry.get::<ThreadPoolBulkhead>("checkout").is_none());
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn get<K: Compartment>(&self, name: &str) -> Option<Arc<K>> {
        self.lookup(name).ok().flatten()
    }

    /// The thread pool named `name`, if there is one (`None` also when the
    /// name is a semaphore).
    ///
    /// # Examples
    ///
    /// ```
    /// let registry = bulkheads::Registry::new();
    /// registry.thread_pool("search", |b| b.threads(1))?;
    /// assert!(registry.get_thread_pool("search").is_some());
    /// assert!(registry.get_thread_pool("missing").is_none());
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn get_thread_pool(&self, name: &str) -> Option<Arc<ThreadPoolBulkhead>> {
        self.lookup(name).ok().flatten()
    }

    /// The semaphore named `name`, if there is one (`None` also when the
    /// name is a thread pool).
    ///
    /// # Examples
    ///
    /// ```
    /// let registry = bulkheads::Registry::new();
    /// registry.semaphore("checkout", 5)?;
    /// assert_eq!(registry.get_semaphore("checkout").unwrap().max_concurrent(), 5);
    /// assert!(registry.get_semaphore("search").is_none());
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn get_semaphore(&self, name: &str) -> Option<Arc<SemaphoreBulkhead>> {
        self.lookup(name).ok().flatten()
    }

    /// The names of every bulkhead, sorted.
    ///
    /// # Examples
    ///
    /// ```
    /// let registry = bulkheads::Registry::new();
    /// registry.semaphore("b", 1)?;
    /// registry.semaphore("a", 1)?;
    /// assert_eq!(registry.names(), ["a", "b"]);
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn names(&self) -> Vec<String> {
        self.entries.lock().keys().cloned().collect()
    }

    /// Puts `new` in the registry under `name` in place of the compartment
    /// there (or under a free name), and returns it: how a compartment is
    /// restarted after a shutdown, or rebuilt with another size or
    /// configuration.
    ///
    /// * From the moment the swap is made, lookups by name return `new`.
    ///   Holders of the old `Arc` keep it; once it is shut down it refuses
    ///   with [`RejectReason::ShutDown`](crate::RejectReason::ShutDown), the
    ///   signal to look the name up again.
    /// * The old compartment is then shut down
    ///   ([`Compartment::shutdown`]; for a thread pool, its admitted tasks
    ///   still run), and `replace` waits for that, unless it is called from
    ///   one of the old pool's own tasks.
    /// * **Counts are reported together**: the name's row in
    ///   [`stats`](Self::stats) and [`table`](Self::table) shows the new
    ///   compartment's gauges (limit, active, waiting) and the running
    ///   totals (submitted, completed, panicked, cancelled, rejected, ...)
    ///   of the new compartment plus every one it replaced. The old
    ///   compartment's totals are read live until its shutdown is done,
    ///   then kept as final; anything counted through an old `Arc` after
    ///   that (a semaphore, which has nothing to shut down, still admits)
    ///   is not reported.
    ///
    /// # Errors
    ///
    /// [`BuildError`] of kind [`NameMismatch`](BuildErrorKind::NameMismatch)
    /// when `new` is named otherwise than `name`, or
    /// [`KindConflict`](BuildErrorKind::KindConflict) when `name` holds a
    /// compartment of another kind. On error the registry is unchanged and
    /// `new` is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{BulkheadStats, Registry, ThreadPoolBulkhead};
    ///
    /// let registry = Registry::new();
    /// let search = registry.thread_pool("search", |b| b.threads(1))?;
    /// search.execute(|| ()).unwrap();
    ///
    /// // Rebuild it larger; the old pool finishes its work and shuts down.
    /// let bigger = ThreadPoolBulkhead::builder("search").threads(4).queue_capacity(16).build()?;
    /// let search = registry.replace("search", bigger)?;
    /// search.execute(|| ()).unwrap();
    ///
    /// let own = registry.get_thread_pool("search").unwrap().stats();
    /// assert_eq!((own.threads, own.submitted), (4, 1)); // the new pool's own
    /// let BulkheadStats::ThreadPool(row) = &registry.stats()[0] else { unreachable!() };
    /// assert_eq!((row.threads, row.submitted, row.completed), (4, 2, 2)); // together
    /// println!("{registry}");
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn replace<K: Compartment>(&self, name: &str, new: K) -> Result<Arc<K>, BuildError> {
        if new.name() != name {
            return Err(BuildError::new(BuildErrorKind::NameMismatch, name));
        }
        let new = Arc::new(new);
        let old = {
            let mut entries = self.entries.lock();
            let mut entry = Entry::new(Arc::clone(&new));
            let old = match entries.get(name) {
                Some(previous) => {
                    previous.of::<K>(name)?;
                    entry.retiring = previous.retiring.clone();
                    entry.retiring.push(Arc::clone(&previous.compartment));
                    entry.retired = previous.retired.clone();
                    Some(Arc::clone(&previous.compartment))
                }
                None => None,
            };
            entries.insert(name.to_owned(), entry);
            old
        };
        if let Some(old) = old {
            // Outside the lock: joining workers may take a while, and their
            // tasks may use the registry.
            old.shutdown();
            self.retire(name, &old);
        }
        Ok(new)
    }

    /// Moves `old`, now shut down, from the name's retiring compartments
    /// to its final totals.
    fn retire(&self, name: &str, old: &Arc<dyn Compartment>) {
        let last = old.stats();
        let mut entries = self.entries.lock();
        let Some(entry) = entries.get_mut(name) else {
            return; // removed meanwhile: nothing to report into
        };
        let before = entry.retiring.len();
        entry
            .retiring
            .retain(|c| Arc::as_ptr(c) as *const () != Arc::as_ptr(old) as *const ());
        if entry.retiring.len() == before {
            return; // the name was removed and taken again meanwhile
        }
        match &mut entry.retired {
            Some(retired) => retired.absorb(&last),
            None => entry.retired = Some(last),
        }
    }

    /// Removes the bulkhead named `name` from the registry; true if there
    /// was one.
    ///
    /// The bulkhead itself lives on while anyone holds its `Arc` (a thread
    /// pool shuts down when the last one is dropped). The name is free
    /// again, for either kind.
    ///
    /// # Examples
    ///
    /// ```
    /// let registry = bulkheads::Registry::new();
    /// registry.semaphore("legacy", 1)?;
    /// assert!(registry.remove("legacy"));
    /// assert!(!registry.remove("legacy"));
    /// registry.thread_pool("legacy", |b| b.threads(1))?; // the name is free
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn remove(&self, name: &str) -> bool {
        // Take the entry out under the lock, drop it after: dropping the
        // last `Arc` of a pool joins its threads.
        let removed = self.entries.lock().remove(name);
        removed.is_some()
    }

    /// Snapshots of every bulkhead, sorted by name.
    ///
    /// # Examples
    ///
    /// ```
    /// let registry = bulkheads::Registry::new();
    /// registry.semaphore("checkout", 2)?;
    /// registry.thread_pool("analytics", |b| b.threads(1))?;
    /// let names: Vec<_> = registry.stats().iter().map(|s| s.name().to_owned()).collect();
    /// assert_eq!(names, ["analytics", "checkout"]);
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn stats(&self) -> Vec<BulkheadStats> {
        // Snapshot the entries, then read the stats without the lock.
        let entries: Vec<Entry> = self.entries.lock().values().cloned().collect();
        entries.iter().map(Entry::stats).collect()
    }

    /// A table of every bulkhead's stats, ready to print: one row per
    /// bulkhead, sorted by name, with columns name, kind, limit
    /// (`threads+queue` for a pool), active, waiting (queued tasks or
    /// blocked callers), the totals submitted, completed, panicked and
    /// rejected, and utilization. A row's totals include those of the
    /// compartments [`replace`](Self::replace)d under its name.
    ///
    /// # Examples
    ///
    /// ```
    /// let registry = bulkheads::Registry::new();
    /// registry.semaphore("checkout", 50)?;
    /// let table = registry.table().to_string();
    /// assert!(table.starts_with("name"));
    /// assert!(table.contains("checkout"));
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn table(&self) -> StatsTable {
        StatsTable { rows: self.stats() }
    }

    /// Shuts down every bulkhead in the registry that can be shut down
    /// ([`Compartment::shutdown`]; for a thread pool, as
    /// [`ThreadPoolBulkhead::shutdown`]: queued tasks still run; waits for
    /// the workers). Semaphores are left as they are.
    ///
    /// The entries stay registered, so their final stats remain readable;
    /// asking for a shut-down pool by name returns it, and it refuses work
    /// with [`RejectReason::ShutDown`](crate::RejectReason::ShutDown).
    ///
    /// # Examples
    ///
    /// ```
    /// let registry = bulkheads::Registry::new();
    /// let search = registry.thread_pool("search", |b| b.threads(1))?;
    /// registry.shutdown();
    /// assert!(search.is_shut_down());
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn shutdown(&self) {
        // Shut down outside the lock: joining workers may take a while, and
        // their tasks may use the registry.
        let entries: Vec<Entry> = self.entries.lock().values().cloned().collect();
        for entry in entries {
            entry.compartment.shutdown();
        }
    }
}

// Unwind safety: the map changes under its lock by single inserts and
// removals, with the builder's `configure` run outside the lock and the
// builders themselves returning errors rather than panicking; the lock does
// not poison. The compartments it holds are unwind safe themselves.
impl std::panic::UnwindSafe for Registry {}
impl std::panic::RefUnwindSafe for Registry {}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("bulkheads", &self.names())
            .finish()
    }
}

/// Prints [`Registry::table`].
impl fmt::Display for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.table().fmt(f)
    }
}

/// A printable table of bulkhead stats, from [`Registry::table`].
///
/// Columns: `name`, `kind`, `limit` (`threads+queue` for a thread pool,
/// permits or children for other kinds), `active`, `waiting` (queued tasks
/// or blocked callers), then running totals: `submitted` (tasks admitted;
/// permits granted, children started, connections acquired for other
/// kinds), `completed` (tasks returned, children succeeded), `panicked`
/// (tasks), `rejected`; and `util` (utilization in percent). A `-` marks a
/// count the kind does not have. Column widths fit the longest value.
///
/// # Examples
///
/// ```
/// let registry = bulkheads::Registry::new();
/// registry.semaphore("checkout", 50)?;
/// registry.thread_pool("search", |b| b.threads(2))?;
/// let table = registry.table();
/// assert_eq!(table.rows().len(), 2);
/// print!("{table}");
/// // name      kind         limit  active  waiting  submitted  completed  panicked  rejected  util
/// // checkout  semaphore       50       0        0          0          -         -         0    0%
/// // search    thread pool    2+0       0        0          0          0         0         0    0%
/// # Ok::<(), bulkheads::BuildError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct StatsTable {
    rows: Vec<BulkheadStats>,
}

impl StatsTable {
    /// The rows, sorted by name.
    ///
    /// # Examples
    ///
    /// ```
    /// let registry = bulkheads::Registry::new();
    /// registry.semaphore("checkout", 50)?;
    /// assert_eq!(registry.table().rows()[0].name(), "checkout");
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn rows(&self) -> &[BulkheadStats] {
        &self.rows
    }
}

impl fmt::Display for StatsTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const HEADER: [&str; 10] = [
            "name",
            "kind",
            "limit",
            "active",
            "waiting",
            "submitted",
            "completed",
            "panicked",
            "rejected",
            "util",
        ];
        let total = |n: Option<usize>| n.map_or_else(|| "-".to_owned(), |n| n.to_string());
        let cells: Vec<[String; 10]> = self
            .rows
            .iter()
            .map(|s| {
                let [submitted, completed, panicked] = s.totals();
                [
                    s.name().to_owned(),
                    s.kind().to_owned(),
                    s.limit_cell(),
                    s.active().to_string(),
                    s.waiting().to_string(),
                    total(submitted),
                    total(completed),
                    total(panicked),
                    s.rejected().to_string(),
                    format!("{:.0}%", s.utilization() * 100.0),
                ]
            })
            .collect();
        let mut widths = HEADER.map(str::len);
        for row in &cells {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let mut line = |row: [&str; 10]| -> fmt::Result {
            for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
                let sep = if i == 0 { "" } else { "  " };
                if i < 2 {
                    // Text columns align left, numbers right.
                    write!(f, "{sep}{cell:<w$}")?;
                } else {
                    write!(f, "{sep}{cell:>w$}")?;
                }
            }
            writeln!(f)
        };
        line(HEADER)?;
        for row in &cells {
            line(std::array::from_fn(|i| row[i].as_str()))?;
        }
        Ok(())
    }
}
