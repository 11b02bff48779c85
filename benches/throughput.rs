//! Throughput: 100,000 no-op tasks submitted from one thread to a pool of two
//! workers, then waiting until all have run. Pools are built once, outside
//! the measured closure; only submitting and draining are timed.
//!
//! Contenders, all in the group `throughput`:
//!
//! * `bulkheads_spawn`: `ThreadPoolBulkhead::spawn` (blocking backpressure,
//!   queue capacity 1024), then `wait_idle`.
//! * `bulkheads_try_spawn_retry`: `try_spawn`; on `Full` the closure comes
//!   back in `Rejected`, the producer calls `thread::yield_now()` and offers
//!   the same closure again, so every task runs exactly once, as in the
//!   other contenders. The number of rejections is printed after the run.
//! * `bulkheads_submit_drop_handle`: `submit` (blocking), the `TaskHandle`
//!   dropped at once (detached), then `wait_idle`.
//! * `rayon_spawn`: `rayon::ThreadPool::spawn` (unbounded injector queue);
//!   each task counts a latch down and the producer sleeps on it.
//! * `rayon_scope`: `ThreadPool::scope` with `Scope::spawn` (rayon's own
//!   wait-for-all).
//! * `threadpool_execute`: `threadpool::ThreadPool::execute` (unbounded
//!   queue) then `join()`.
//! * `floor_crossbeam_bounded`: a crossbeam bounded(1024) channel of
//!   `Box<dyn FnOnce() + Send>` feeding two plain threads; each worker counts
//!   a latch down after each job and the producer sleeps on it.
//!
//! Every task is the same closure capturing one `usize` (see
//! `common::task`), so boxing it allocates everywhere.
//!
//! After each blocking contender, one extra unmeasured batch is run and the
//! number of times the producer thread went to sleep (voluntary context
//! switches, Linux) is printed: a backpressure path that parks per slot
//! shows up here.
//!
//! Run: `cargo bench --bench throughput`.

mod common;

use std::time::Duration;

use bulkheads::ThreadPoolBulkhead;
use common::{report_sleeps, task, FloorPool, THREADS};
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};

const TASKS: usize = 100_000;
const QUEUE: usize = 1024;

fn bulkheads_pool() -> ThreadPoolBulkhead {
    ThreadPoolBulkhead::builder("throughput")
        .threads(THREADS)
        .queue_capacity(QUEUE)
        .build()
        .expect("build the pool")
}

fn throughput(c: &mut Criterion) {
    let mut group = c.benchmark_group("throughput");
    group
        .throughput(Throughput::Elements(TASKS as u64))
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));

    {
        let pool = bulkheads_pool();
        group.bench_function("bulkheads_spawn", |b| {
            b.iter(|| common::bulkheads_spawn_batch(&pool, TASKS))
        });
        report_sleeps("bulkheads_spawn", TASKS, || {
            for i in 0..TASKS {
                pool.spawn(task(i)).expect("pool is running");
            }
        });
        pool.wait_idle();
    }

    {
        let pool = bulkheads_pool();
        group.bench_function("bulkheads_try_spawn_retry", |b| {
            b.iter(|| common::bulkheads_try_spawn_batch(&pool, TASKS))
        });
        let stats = pool.stats();
        println!(
            "bulkheads_try_spawn_retry: {} rejections (retried) for {} tasks run ({:.3} per task)",
            stats.rejected,
            stats.completed,
            stats.rejected as f64 / stats.completed.max(1) as f64
        );
    }

    {
        let pool = bulkheads_pool();
        group.bench_function("bulkheads_submit_drop_handle", |b| {
            b.iter(|| common::bulkheads_submit_batch(&pool, TASKS))
        });
        report_sleeps("bulkheads_submit_drop_handle", TASKS, || {
            for i in 0..TASKS {
                let _detached = pool.submit(task(i)).expect("pool is running");
            }
        });
        pool.wait_idle();
    }

    {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(THREADS)
            .build()
            .expect("build the rayon pool");
        group.bench_function("rayon_spawn", |b| {
            b.iter(|| common::rayon_spawn_batch(&pool, TASKS))
        });
        group.bench_function("rayon_scope", |b| {
            b.iter(|| {
                pool.scope(|s| {
                    for i in 0..TASKS {
                        let work = task(i);
                        s.spawn(move |_| work());
                    }
                });
            })
        });
    }

    {
        let pool = threadpool::ThreadPool::new(THREADS);
        group.bench_function("threadpool_execute", |b| {
            b.iter(|| common::threadpool_batch(&pool, TASKS))
        });
    }

    {
        let pool = FloorPool::new(THREADS, QUEUE);
        group.bench_function("floor_crossbeam_bounded", |b| {
            b.iter(|| common::floor_batch(&pool, TASKS))
        });
        report_sleeps("floor_crossbeam_bounded", TASKS, || {
            for i in 0..TASKS {
                pool.execute(Box::new(task(i)));
            }
        });
        pool.wait_idle();
    }

    group.finish();
}

criterion_group!(benches, throughput);
criterion_main!(benches);
