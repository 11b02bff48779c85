//! Connections: the cost of taking a connection through a
//! `ConnectionBulkhead` and giving it back (`try_get` + drop) beside the
//! same on a bare `r2d2::Pool` (`try_get` + drop), on a SQLite file.
//!
//! Both pools hold 4 open connections to the same file, configured alike;
//! one thread takes and returns one connection per iteration, so every
//! `try_get` finds an idle connection. Two configurations, in the group
//! `connections`:
//!
//! * `.../checked`: r2d2's default, `test_on_check_out(true)`: every
//!   checkout runs the manager's `is_valid` (an empty SQLite statement).
//! * `.../unchecked`: `test_on_check_out(false)`: the pools' own
//!   bookkeeping only, where the bulkhead's additions weigh the most.
//!
//! Run: `cargo bench --features r2d2 --bench connections`.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use bulkheads::ConnectionBulkhead;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use r2d2_sqlite::SqliteConnectionManager;

const CONNECTIONS: usize = 4;

fn database() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bulkheads-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join("bench.db")
}

fn connections(c: &mut Criterion) {
    let path = database();
    let mut group = c.benchmark_group("connections");
    group
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));

    for (config, checked) in [("checked", true), ("unchecked", false)] {
        let bulkhead = ConnectionBulkhead::builder("bench")
            .max_size(CONNECTIONS)
            .test_on_check_out(checked)
            .build(SqliteConnectionManager::file(&path))
            .expect("bulkhead");
        let bare = r2d2::Pool::builder()
            .max_size(CONNECTIONS as u32)
            .test_on_check_out(checked)
            .build(SqliteConnectionManager::file(&path))
            .expect("r2d2 pool");
        // Every connection open before the clock starts.
        drop(bulkhead.pool().get().expect("open"));
        while bulkhead.stats().idle < CONNECTIONS {
            std::thread::yield_now();
        }

        group.bench_function(BenchmarkId::new("bulkheads_try_get", config), |b| {
            b.iter(|| {
                let conn = black_box(&bulkhead).try_get().expect("an idle connection");
                black_box(&conn);
            })
        });
        group.bench_function(BenchmarkId::new("r2d2_try_get", config), |b| {
            b.iter(|| {
                let conn = black_box(&bare).try_get().expect("an idle connection");
                black_box(&conn);
            })
        });
        let stats = bulkhead.stats();
        assert_eq!((stats.rejected, stats.connect_errors), (0, 0));
    }
    group.finish();
    let _ = std::fs::remove_dir_all(path.parent().expect("a dir"));
}

criterion_group!(benches, connections);
criterion_main!(benches);
