//! Round trip: submit one task to an idle pool of two workers and wait for
//! its value. This is the latency a caller pays to move one call onto a
//! bulkhead's threads (two thread hand-offs: there and back).
//!
//! Contenders, all in the group `round_trip`:
//!
//! * `bulkheads_try_submit_join`: `try_submit(..)?.join()`.
//! * `bulkheads_execute`: `execute(..)` (the same, in one call).
//! * `rayon_install`: `rayon::ThreadPool::install` from a non-worker thread.
//! * `threadpool_execute_mpsc`: `threadpool::ThreadPool::execute`, the value
//!   sent back on a new `std::sync::mpsc::channel` per call.
//! * `threadpool_execute_crossbeam`: the same with a new
//!   `crossbeam_channel::bounded(1)` per call.
//! * `floor_crossbeam_bounded`: the floor pool of `common` (a crossbeam
//!   bounded channel feeding two plain threads), the value sent back on a new
//!   `crossbeam_channel::bounded(1)` per call.
//!
//! Run: `cargo bench --bench round_trip`.

mod common;

use std::hint::black_box;
use std::time::Duration;

use bulkheads::ThreadPoolBulkhead;
use common::{FloorPool, THREADS};
use criterion::{criterion_group, criterion_main, Criterion};

fn round_trip(c: &mut Criterion) {
    let mut group = c.benchmark_group("round_trip");
    group
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));

    {
        let pool = ThreadPoolBulkhead::builder("round-trip")
            .threads(THREADS)
            .queue_capacity(16)
            .build()
            .expect("build the pool");
        group.bench_function("bulkheads_try_submit_join", |b| {
            b.iter(|| {
                let x = black_box(21u64);
                let handle = pool.try_submit(move || x * 2).expect("an idle pool admits");
                handle.join().expect("the task returns")
            })
        });
        group.bench_function("bulkheads_execute", |b| {
            b.iter(|| {
                let x = black_box(21u64);
                pool.execute(move || x * 2).expect("an idle pool runs it")
            })
        });
    }

    {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(THREADS)
            .build()
            .expect("build the rayon pool");
        group.bench_function("rayon_install", |b| {
            b.iter(|| {
                let x = black_box(21u64);
                pool.install(move || x * 2)
            })
        });
    }

    {
        let pool = threadpool::ThreadPool::new(THREADS);
        group.bench_function("threadpool_execute_mpsc", |b| {
            b.iter(|| {
                let x = black_box(21u64);
                let (tx, rx) = std::sync::mpsc::channel();
                pool.execute(move || tx.send(x * 2).expect("the caller waits"));
                rx.recv().expect("the task sends")
            })
        });
        group.bench_function("threadpool_execute_crossbeam", |b| {
            b.iter(|| {
                let x = black_box(21u64);
                let (tx, rx) = crossbeam_channel::bounded(1);
                pool.execute(move || tx.send(x * 2).expect("the caller waits"));
                rx.recv().expect("the task sends")
            })
        });
    }

    {
        let pool = FloorPool::new(THREADS, 16);
        group.bench_function("floor_crossbeam_bounded", |b| {
            b.iter(|| {
                let x = black_box(21u64);
                let (tx, rx) = crossbeam_channel::bounded(1);
                pool.execute(Box::new(move || tx.send(x * 2).expect("the caller waits")));
                rx.recv().expect("the task sends")
            })
        });
    }

    group.finish();
}

criterion_group!(benches, round_trip);
criterion_main!(benches);
