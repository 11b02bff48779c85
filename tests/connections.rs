//! Connection isolation on real SQLite files: a full pool is refused at its
//! own door, the other pool keeps serving, and "every connection is out"
//! is told apart from "the database cannot be opened".
#![cfg(feature = "r2d2")]

use std::error::Error;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use bulkheads::{
    BuildErrorKind, BulkheadStats, ConnectionBulkhead, ConnectionError, ConnectionStats, Registry,
    RejectReason,
};
use r2d2_sqlite::{rusqlite, SqliteConnectionManager};

/// A directory of its own for one test's database files, removed at the end.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "bulkheads-connections-{}-{test}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    /// A manager for the SQLite file `{name}.db` in this directory.
    fn sqlite(&self, name: &str) -> SqliteConnectionManager {
        SqliteConnectionManager::file(self.0.join(format!("{name}.db")))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn stats_of(registry: &Registry, name: &str) -> ConnectionStats {
    match registry.stats().into_iter().find(|s| s.name() == name) {
        Some(BulkheadStats::Connection(stats)) => stats,
        other => panic!("expected connection stats for {name}, got {other:?}"),
    }
}

#[test]
fn exhausting_analytics_never_delays_transactional() {
    let dir = TempDir::new("exhaust");
    let registry = Registry::new();
    let analytics = registry
        .connection_pool("analytics", dir.sqlite("analytics"), |b| b.max_size(3))
        .unwrap();
    // No waiting allowed at all: every transactional request below must be
    // served from an idle connection at once, or it fails.
    let transactional = registry
        .connection_pool("transactional", dir.sqlite("transactional"), |b| {
            b.min_idle(1).max_size(2).max_wait(Duration::ZERO)
        })
        .unwrap();
    // Open one transactional connection and put it back (through r2d2
    // itself, which waits for it to open), so one is idle.
    drop(transactional.pool().get().unwrap());
    transactional
        .get()
        .unwrap()
        .execute_batch("CREATE TABLE orders (id INTEGER PRIMARY KEY, total INTEGER)")
        .unwrap();

    // Every analytics connection is held by a slow "query".
    let held: Vec<_> = (0..3).map(|_| analytics.get().unwrap()).collect();
    let refused = analytics.try_get().unwrap_err();
    assert_eq!(refused.reject_reason(), Some(RejectReason::Full));
    assert_eq!(refused.name(), "analytics");

    // Meanwhile, from another thread, every transactional request is
    // served at once.
    let worker = {
        let transactional = transactional.clone();
        thread::spawn(move || {
            for total in 0..20 {
                let conn = transactional.try_get().expect("transactional was delayed");
                conn.execute("INSERT INTO orders (total) VALUES (?1)", [total])
                    .unwrap();
            }
        })
    };
    worker.join().unwrap();

    let count: i64 = transactional
        .try_get()
        .unwrap()
        .query_row("SELECT COUNT(*) FROM orders", [], |row| row.get(0))
        .unwrap();
    assert_eq!(count, 20);
    let analytics_stats = stats_of(&registry, "analytics");
    assert_eq!((analytics_stats.in_use, analytics_stats.rejected), (3, 1));
    let transactional_stats = stats_of(&registry, "transactional");
    assert_eq!(
        (
            transactional_stats.rejected,
            transactional_stats.connect_errors
        ),
        (0, 0)
    );
    assert_eq!(transactional_stats.acquired, 22);
    drop(held);
}

#[test]
fn try_get_on_an_exhausted_pool_is_rejected_at_once_and_counted() {
    let dir = TempDir::new("try-get");
    // A long max_wait: a try_get that waited for it would not say Full.
    let pool = ConnectionBulkhead::builder("reports")
        .max_size(2)
        .max_wait(Duration::from_secs(60))
        .build(dir.sqlite("reports"))
        .unwrap();
    let a = pool.get().unwrap();
    let b = pool.get().unwrap();

    for _ in 0..3 {
        match pool.try_get() {
            Err(ConnectionError::Rejected { name, reason }) => {
                assert_eq!(&*name, "reports");
                assert_eq!(reason, RejectReason::Full);
            }
            other => panic!("expected a rejection, got {other:?}"),
        }
    }
    let stats = pool.stats();
    assert_eq!(
        (stats.acquired, stats.rejected, stats.connect_errors),
        (2, 3, 0)
    );
    assert_eq!(stats.in_use, 2);

    drop(a);
    assert!(pool.try_get().is_ok());
    drop(b);
}

#[test]
fn get_on_an_exhausted_pool_times_out_as_a_rejection_not_a_connect_error() {
    let dir = TempDir::new("get-timeout");
    let pool = ConnectionBulkhead::builder("search")
        .max_size(1)
        .max_wait(Duration::from_millis(10))
        .build(dir.sqlite("search"))
        .unwrap();
    let _held = pool.pool().get().unwrap(); // opened and held: nothing can come back
    let err = pool.get().unwrap_err();
    assert_eq!(err.reject_reason(), Some(RejectReason::Timeout));
    assert!(err.source().is_none());
    assert!(err.to_string().starts_with("search: rejected"), "{err}");
    let stats = pool.stats();
    assert_eq!(
        (stats.rejected, stats.connect_errors, stats.waiting),
        (1, 0, 0)
    );
}

#[test]
fn a_waiting_get_receives_the_connection_given_back() {
    let dir = TempDir::new("hand-back");
    let pool = std::sync::Arc::new(
        ConnectionBulkhead::builder("ledger")
            .max_size(1)
            .max_wait(Duration::from_secs(60))
            .build(dir.sqlite("ledger"))
            .unwrap(),
    );
    let held = pool.get().unwrap();
    let (done, finished) = mpsc::channel();
    let waiter = {
        let pool = pool.clone();
        thread::spawn(move || {
            let conn = pool.get();
            done.send(conn.is_ok()).unwrap();
        })
    };
    // The waiter has announced itself before it blocks in r2d2.
    while pool.stats().waiting == 0 {
        thread::yield_now();
    }
    assert!(
        finished.try_recv().is_err(),
        "the waiter got a connection that was held"
    );
    drop(held);
    assert!(finished.recv().unwrap());
    waiter.join().unwrap();
    let stats = pool.stats();
    assert_eq!((stats.acquired, stats.rejected, stats.waiting), (2, 0, 0));
}

#[test]
fn an_unopenable_database_path_gives_connect_with_the_sqlite_error() {
    let dir = TempDir::new("unopenable");
    let path = dir.path().join("no-such-directory").join("app.db");
    let registry = Registry::new();
    // The database being down does not stop the pool from being built.
    let pool = registry
        .connection_pool("archive", SqliteConnectionManager::file(&path), |b| {
            b.max_size(2).max_wait(Duration::from_secs(60))
        })
        .unwrap();

    for err in [pool.get().unwrap_err(), pool.try_get().unwrap_err()] {
        match &err {
            ConnectionError::Connect { name, source } => {
                assert_eq!(&**name, "archive");
                let sqlite = source
                    .downcast_ref::<rusqlite::Error>()
                    .expect("the manager's own error");
                assert_eq!(
                    sqlite.sqlite_error_code(),
                    Some(rusqlite::ErrorCode::CannotOpen)
                );
            }
            other => panic!("expected a connect error, got {other:?}"),
        }
        let source = err.source().expect("Error::source is the manager's error");
        assert!(source.is::<rusqlite::Error>());
        assert!(
            err.to_string().starts_with("archive: cannot connect"),
            "{err}"
        );
        assert_eq!(err.reject_reason(), None);
    }
    let stats = stats_of(&registry, "archive");
    assert_eq!(
        (stats.acquired, stats.rejected, stats.connect_errors),
        (0, 0, 2)
    );
    assert_eq!(stats.in_use, 0);
}

#[test]
fn a_database_that_comes_back_is_used_again() {
    let dir = TempDir::new("comes-back");
    let missing = dir.path().join("later");
    let pool = ConnectionBulkhead::builder("archive")
        .min_idle(0)
        .max_size(1)
        .build(SqliteConnectionManager::file(missing.join("app.db")))
        .unwrap();
    assert!(matches!(
        pool.try_get(),
        Err(ConnectionError::Connect { .. })
    ));

    std::fs::create_dir_all(&missing).unwrap();
    // r2d2 retries in the background; its own get wakes when a
    // connection opens.
    drop(pool.pool().get().unwrap());

    let conn = pool.try_get().unwrap();
    conn.execute_batch("CREATE TABLE t (x INTEGER)").unwrap();
    let stats = pool.stats();
    assert_eq!((stats.acquired, stats.connect_errors), (1, 1));
}

#[test]
fn a_lookup_by_an_unknown_name_is_unknown_pool() {
    let dir = TempDir::new("unknown");
    let registry = Registry::new();
    registry.semaphore("checkout", 5).unwrap();
    registry
        .connection_pool("ledger", dir.sqlite("ledger"), |b| b.max_size(1))
        .unwrap();

    for name in ["missing", "checkout"] {
        match registry.connection::<SqliteConnectionManager>(name) {
            Err(ConnectionError::UnknownPool(unknown)) => assert_eq!(unknown, name),
            other => panic!("expected UnknownPool, got {other:?}"),
        }
        assert!(registry
            .get_connection_pool::<SqliteConnectionManager>(name)
            .is_none());
    }
    let err = registry
        .connection::<SqliteConnectionManager>("missing")
        .unwrap_err();
    assert!(err.to_string().contains("`missing`"), "{err}");
    assert!(registry
        .connection::<SqliteConnectionManager>("ledger")
        .is_ok());

    // A name held by another kind is a kind conflict, as for every kind.
    let conflict = registry
        .connection_pool("checkout", SqliteConnectionManager::memory(), |b| b)
        .unwrap_err();
    assert_eq!(conflict.kind(), BuildErrorKind::KindConflict);
}

#[test]
fn a_second_create_returns_the_same_pool_unchanged() {
    let dir = TempDir::new("same");
    let registry = Registry::new();
    let first = registry
        .connection_pool("ledger", dir.sqlite("ledger"), |b| b.max_size(2))
        .unwrap();
    let again = registry
        .connection_pool("ledger", SqliteConnectionManager::memory(), |b| {
            b.max_size(9)
        })
        .unwrap();
    assert!(std::sync::Arc::ptr_eq(&first, &again));
    assert_eq!(again.max_size(), 2);
}

#[test]
fn stats_are_exact_at_rest() {
    let dir = TempDir::new("stats");
    let registry = Registry::new();
    let pool = registry
        .connection_pool("ledger", dir.sqlite("ledger"), |b| {
            b.min_idle(3).max_size(3)
        })
        .unwrap();
    let held: Vec<_> = (0..3).map(|_| pool.get().unwrap()).collect();
    for _ in 0..2 {
        assert!(pool.try_get().is_err());
    }
    drop(held);

    let stats = stats_of(&registry, "ledger");
    assert_eq!(stats.name, "ledger");
    assert_eq!(stats.max_size, 3);
    assert_eq!(stats.in_use, 0);
    assert_eq!(stats.idle, 3);
    assert_eq!(stats.waiting, 0);
    assert_eq!(stats.acquired, 3);
    assert_eq!(stats.rejected, 2);
    assert_eq!(stats.connect_errors, 0);
    assert_eq!(stats.utilization(), 0.0);
    assert_eq!(stats, pool.stats());

    let table = registry.table().to_string();
    let row = table.lines().find(|l| l.starts_with("ledger")).unwrap();
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        cells,
        // limit, active, waiting, submitted (acquired), completed and
        // panicked (none for connections), rejected, util
        [
            "ledger",
            "connection",
            "pool",
            "3",
            "0",
            "0",
            "3",
            "-",
            "-",
            "2",
            "0%"
        ]
    );
    assert!(stats
        .to_string()
        .starts_with("ledger: connection pool, 0/3 connections in use, 3 idle"));
}

#[test]
fn invalid_sizes_and_durations_are_build_errors() {
    let manager = SqliteConnectionManager::memory;
    let kind = |b: bulkheads::ConnectionBuilder<SqliteConnectionManager>| {
        b.build(manager()).unwrap_err().kind()
    };
    assert_eq!(
        kind(ConnectionBulkhead::builder(" ")),
        BuildErrorKind::EmptyName
    );
    assert_eq!(
        kind(ConnectionBulkhead::builder("a").max_size(0)),
        BuildErrorKind::ZeroConnections
    );
    assert_eq!(
        kind(ConnectionBulkhead::builder("a").max_size(usize::MAX)),
        BuildErrorKind::TooLarge
    );
    assert_eq!(
        kind(ConnectionBulkhead::builder("a").min_idle(3).max_size(2)),
        BuildErrorKind::MinIdleAboveMaxSize
    );
    assert_eq!(
        kind(ConnectionBulkhead::builder("a").idle_timeout(Some(Duration::ZERO))),
        BuildErrorKind::ZeroDuration
    );
    assert_eq!(
        kind(ConnectionBulkhead::builder("a").max_lifetime(Some(Duration::ZERO))),
        BuildErrorKind::ZeroDuration
    );
}
