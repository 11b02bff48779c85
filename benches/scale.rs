//! Scale: what a compartment costs to have, and whether a big batch stays
//! within bounded memory.
//!
//! Criterion group `scale`: creating 100 named pools of two threads each
//! (`create_100_pools/...`), bulkheads beside `threadpool` and `rayon` pools
//! of the same size. Only creation is timed; the pools are dropped (their
//! threads joined) after the clock stops.
//!
//! Before the group runs, a memory report is printed. Each line is measured
//! in a fresh child process (this bench binary re-run with
//! `BULKHEADS_SCALE_PROBE` set), so one probe's heap and allocator arenas do
//! not leak into the next:
//!
//! * resident and virtual memory per pool: `/proc/self/statm` before and
//!   after creating 100 pools of two threads (every thread has run a task,
//!   so its stack and thread-locals are touched), divided by 100;
//! * peak resident memory growth of a batch: `VmHWM` from
//!   `/proc/self/status` (reset first through `/proc/self/clear_refs`) minus
//!   the resident size before the batch, for 100,000 and 1,000,000 no-op
//!   tasks submitted with blocking `spawn` into a pool of two threads and a
//!   queue of 1024; beside it the same 1,000,000-task batch on `threadpool`
//!   and `rayon` (unbounded queues) and on the crossbeam bounded floor.
//!
//! Run: `cargo bench --bench scale`.

mod common;

use std::process::Command;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use bulkheads::ThreadPoolBulkhead;
use common::{FloorPool, THREADS};
use criterion::{criterion_group, BatchSize, Criterion, SamplingMode};

const POOLS: usize = 100;
const QUEUE: usize = 1024;
const PROBE: &str = "BULKHEADS_SCALE_PROBE";

/// The page size, from the auxiliary vector (`AT_PAGESZ`), else 4 KiB.
fn page_size() -> u64 {
    const AT_PAGESZ: u64 = 6;
    let auxv = std::fs::read("/proc/self/auxv").unwrap_or_default();
    auxv.chunks_exact(16)
        .map(|pair| {
            let key = u64::from_ne_bytes(pair[..8].try_into().expect("8 bytes"));
            let value = u64::from_ne_bytes(pair[8..].try_into().expect("8 bytes"));
            (key, value)
        })
        .find(|&(key, _)| key == AT_PAGESZ)
        .map_or(4096, |(_, value)| value)
}

/// (virtual size, resident size) in bytes, from `/proc/self/statm`.
fn statm() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/self/statm").expect("read /proc/self/statm");
    let mut fields = text
        .split_whitespace()
        .map(|f| f.parse::<u64>().expect("a page count"));
    let page = page_size();
    let size = fields.next().expect("size") * page;
    let resident = fields.next().expect("resident") * page;
    (size, resident)
}

/// Peak resident size (`VmHWM`) in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .expect("VmHWM in /proc/self/status")
        * 1024
}

/// Resets `VmHWM` to the current resident size; false if the kernel refused.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn kib(bytes: u64) -> f64 {
    bytes as f64 / 1024.0
}

/// Makes every worker of a bulkheads pool run a task at once, so each
/// thread has started and touched its stack.
fn touch_all_threads(pool: &ThreadPoolBulkhead) {
    let barrier = Arc::new(Barrier::new(THREADS + 1));
    for _ in 0..THREADS {
        let barrier = Arc::clone(&barrier);
        pool.try_spawn(move || {
            barrier.wait();
        })
        .expect("an idle pool admits one task per thread");
    }
    barrier.wait();
    pool.wait_idle();
}

/// Child side: creates 100 pools of the given kind and prints
/// `virtual_per_pool resident_per_pool` in bytes.
fn probe_pools(kind: &str) {
    let (size0, rss0) = statm();
    let keep: Box<dyn std::any::Any> = match kind {
        "bulkheads" => {
            let pools: Vec<_> = (0..POOLS)
                .map(|i| {
                    let pool = ThreadPoolBulkhead::builder(format!("pool-{i}"))
                        .threads(THREADS)
                        .build()
                        .expect("build a pool");
                    touch_all_threads(&pool);
                    pool
                })
                .collect();
            Box::new(pools)
        }
        "threadpool" => {
            let pools: Vec<_> = (0..POOLS)
                .map(|i| {
                    let pool = threadpool::Builder::new()
                        .num_threads(THREADS)
                        .thread_name(format!("pool-{i}"))
                        .build();
                    let barrier = Arc::new(Barrier::new(THREADS + 1));
                    for _ in 0..THREADS {
                        let barrier = Arc::clone(&barrier);
                        pool.execute(move || {
                            barrier.wait();
                        });
                    }
                    barrier.wait();
                    pool.join();
                    pool
                })
                .collect();
            Box::new(pools)
        }
        "rayon" => {
            let pools: Vec<_> = (0..POOLS)
                .map(|i| {
                    let pool = rayon::ThreadPoolBuilder::new()
                        .num_threads(THREADS)
                        .thread_name(move |t| format!("pool-{i}-{t}"))
                        .build()
                        .expect("build a rayon pool");
                    // `broadcast` runs once on every thread of the pool.
                    pool.broadcast(|_| ());
                    pool
                })
                .collect();
            Box::new(pools)
        }
        other => panic!("unknown pool kind {other}"),
    };
    std::thread::sleep(Duration::from_millis(100));
    let (size1, rss1) = statm();
    println!(
        "{} {}",
        size1.saturating_sub(size0) / POOLS as u64,
        rss1.saturating_sub(rss0) / POOLS as u64
    );
    drop(keep);
}

/// Child side: runs one batch and prints `peak_growth_bytes elapsed_ns
/// hwm_was_reset`.
fn probe_batch(kind: &str, tasks: usize) {
    // Pools are built and warmed before the baseline.
    let bulkheads = (kind == "bulkheads").then(|| {
        let pool = ThreadPoolBulkhead::builder("batch")
            .threads(THREADS)
            .queue_capacity(QUEUE)
            .build()
            .expect("build the pool");
        touch_all_threads(&pool);
        pool
    });
    let tp = (kind == "threadpool").then(|| {
        let pool = threadpool::ThreadPool::new(THREADS);
        pool.execute(|| ());
        pool.join();
        pool
    });
    let rp = (kind == "rayon").then(|| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(THREADS)
            .build()
            .expect("build a rayon pool");
        pool.broadcast(|_| ());
        pool
    });
    let floor = (kind == "floor").then(|| {
        let pool = FloorPool::new(THREADS, QUEUE);
        pool.execute(Box::new(|| ()));
        pool.wait_idle();
        pool
    });

    let reset = reset_peak_rss();
    let (_, before) = statm();
    let start = Instant::now();
    if let Some(pool) = &bulkheads {
        common::bulkheads_spawn_batch(pool, tasks);
    } else if let Some(pool) = &tp {
        common::threadpool_batch(pool, tasks);
    } else if let Some(pool) = &rp {
        common::rayon_spawn_batch(pool, tasks);
    } else if let Some(pool) = &floor {
        common::floor_batch(pool, tasks);
    } else {
        panic!("unknown batch kind {kind}");
    }
    let elapsed = start.elapsed();
    let peak = peak_rss();
    println!(
        "{} {} {}",
        peak.saturating_sub(before),
        elapsed.as_nanos(),
        reset
    );
}

/// Runs this binary as a probe child and returns its stdout words.
fn run_probe(arg: &str) -> Vec<String> {
    let exe = std::env::current_exe().expect("the bench binary");
    let out = Command::new(exe)
        .env(PROBE, arg)
        .output()
        .expect("run the probe child");
    assert!(
        out.status.success(),
        "probe {arg} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

fn memory_report() {
    println!(
        "scale: memory per pool ({POOLS} pools of {THREADS} threads, each in a fresh process)"
    );
    println!(
        "  {:<12} {:>16} {:>16}",
        "pool", "resident/pool", "virtual/pool"
    );
    for kind in ["bulkheads", "threadpool", "rayon"] {
        let words = run_probe(&format!("pools:{kind}"));
        let virt: u64 = words[0].parse().expect("bytes");
        let rss: u64 = words[1].parse().expect("bytes");
        println!(
            "  {:<12} {:>12.1} KiB {:>12.1} KiB",
            kind,
            kib(rss),
            kib(virt)
        );
    }
    println!("scale: peak resident growth of a no-op batch (2 threads; each in a fresh process)");
    println!(
        "  {:<34} {:>10} {:>14} {:>12} {:>10}",
        "batch", "tasks", "peak growth", "bytes/task", "time"
    );
    let batches = [
        ("bulkheads", "bulkheads spawn, queue 1024", 100_000),
        ("bulkheads", "bulkheads spawn, queue 1024", 1_000_000),
        ("floor", "crossbeam bounded(1024) floor", 1_000_000),
        ("threadpool", "threadpool execute (unbounded)", 1_000_000),
        ("rayon", "rayon spawn (unbounded)", 1_000_000),
    ];
    let mut all_reset = true;
    for (kind, label, tasks) in batches {
        let words = run_probe(&format!("batch:{kind}:{tasks}"));
        let growth: u64 = words[0].parse().expect("bytes");
        let nanos: u64 = words[1].parse().expect("ns");
        all_reset &= words[2] == "true";
        println!(
            "  {:<34} {:>10} {:>10.0} KiB {:>12.2} {:>7.0} ms",
            label,
            tasks,
            kib(growth),
            growth as f64 / tasks as f64,
            nanos as f64 / 1e6
        );
    }
    if !all_reset {
        println!(
            "  (note: /proc/self/clear_refs refused a peak reset; peaks include process start)"
        );
    }
}

fn create_pools(c: &mut Criterion) {
    let mut group = c.benchmark_group("scale");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));

    group.bench_function("create_100_pools/bulkheads", |b| {
        b.iter_batched(
            || (),
            |()| {
                (0..POOLS)
                    .map(|i| {
                        ThreadPoolBulkhead::builder(format!("pool-{i}"))
                            .threads(THREADS)
                            .build()
                            .expect("build a pool")
                    })
                    .collect::<Vec<_>>()
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("create_100_pools/threadpool", |b| {
        b.iter_batched(
            || (),
            |()| {
                (0..POOLS)
                    .map(|i| {
                        threadpool::Builder::new()
                            .num_threads(THREADS)
                            .thread_name(format!("pool-{i}"))
                            .build()
                    })
                    .collect::<Vec<_>>()
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("create_100_pools/rayon", |b| {
        b.iter_batched(
            || (),
            |()| {
                (0..POOLS)
                    .map(|i| {
                        rayon::ThreadPoolBuilder::new()
                            .num_threads(THREADS)
                            .thread_name(move |t| format!("pool-{i}-{t}"))
                            .build()
                            .expect("build a rayon pool")
                    })
                    .collect::<Vec<_>>()
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, create_pools);

fn main() {
    if let Ok(probe) = std::env::var(PROBE) {
        let parts: Vec<&str> = probe.split(':').collect();
        match parts.as_slice() {
            ["pools", kind] => probe_pools(kind),
            ["batch", kind, tasks] => probe_batch(kind, tasks.parse().expect("a task count")),
            _ => panic!("unknown probe {probe}"),
        }
        return;
    }
    memory_report();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
