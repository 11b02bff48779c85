//! Throughput side by side in one process, without criterion: the same
//! batch as `benches/throughput.rs` (100,000 no-op tasks from one thread to
//! two workers, then wait for all), run round-robin — one batch of each
//! contender in turn, `ROUNDS` times — so every contender sees the same
//! minutes of a noisy machine. Prints each contender's median and minimum
//! batch time and the ratios of the medians, and the page faults each
//! contender's batches took (memory the allocator had given back to the
//! system and asked for again).
//!
//! Run: `cargo bench --bench side_by_side` (about 20 s).
//!
//! `HEAP_PAD=n` (bytes; a comma-separated list allocates several blocks)
//! allocates and keeps blocks of that size before any pool is built. That
//! moves where later allocations land relative to cache lines, which moves
//! `submit` (docs/perf-notes.md, section 11): a sweep over a few sizes shows the
//! spread a different program would see.

mod common;

use std::time::{Duration, Instant};

use bulkheads::ThreadPoolBulkhead;
use common::{FloorPool, THREADS};

const TASKS: usize = 100_000;
const QUEUE: usize = 1024;
const ROUNDS: usize = 40;

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported.
    let _heap_pad: Vec<Vec<u8>> = std::env::var("HEAP_PAD")
        .ok()
        .map(|sizes| {
            sizes
                .split(',')
                .map(|n| vec![0u8; n.trim().parse().expect("HEAP_PAD: sizes in bytes")])
                .collect()
        })
        .unwrap_or_default();
    let bulkheads = ThreadPoolBulkhead::builder("side-by-side")
        .threads(THREADS)
        .queue_capacity(QUEUE)
        .build()
        .expect("build the pool");
    let rayon = rayon::ThreadPoolBuilder::new()
        .num_threads(THREADS)
        .build()
        .expect("build the rayon pool");
    let threadpool = threadpool::ThreadPool::new(THREADS);
    let floor = FloorPool::new(THREADS, QUEUE);

    type Batch<'a> = (&'static str, Box<dyn Fn() + 'a>);
    let contenders: Vec<Batch<'_>> = vec![
        (
            "bulkheads_spawn",
            Box::new(|| common::bulkheads_spawn_batch(&bulkheads, TASKS)),
        ),
        (
            "bulkheads_try_spawn_retry",
            Box::new(|| common::bulkheads_try_spawn_batch(&bulkheads, TASKS)),
        ),
        (
            "bulkheads_submit_drop_handle",
            Box::new(|| common::bulkheads_submit_batch(&bulkheads, TASKS)),
        ),
        (
            "bulkheads_submit_join_all",
            Box::new(|| common::bulkheads_submit_join_batch(&bulkheads, TASKS)),
        ),
        (
            "rayon_spawn",
            Box::new(|| common::rayon_spawn_batch(&rayon, TASKS)),
        ),
        (
            "threadpool_execute",
            Box::new(|| common::threadpool_batch(&threadpool, TASKS)),
        ),
        (
            "floor_crossbeam_bounded",
            Box::new(|| common::floor_batch(&floor, TASKS)),
        ),
    ];

    // One unmeasured warm-up batch each.
    for (_, batch) in &contenders {
        batch();
    }
    let mut times: Vec<Vec<Duration>> = vec![Vec::with_capacity(ROUNDS); contenders.len()];
    let mut faults: Vec<Option<u64>> = vec![Some(0); contenders.len()];
    for _ in 0..ROUNDS {
        for (((_, batch), t), f) in contenders.iter().zip(&mut times).zip(&mut faults) {
            let before = common::minor_faults();
            let start = Instant::now();
            batch();
            t.push(start.elapsed());
            *f = match (*f, before, common::minor_faults()) {
                (Some(sum), Some(b), Some(a)) => Some(sum + (a - b)),
                _ => None,
            };
        }
    }
    let medians: Vec<Duration> = times
        .iter_mut()
        .map(|t| {
            t.sort();
            t[t.len() / 2]
        })
        .collect();

    println!("side_by_side: {ROUNDS} rounds of {TASKS} tasks, {THREADS} workers");
    println!(
        "{:<28} {:>10} {:>10} {:>14}",
        "contender", "median", "min", "faults/batch"
    );
    for (((name, _), (t, m)), f) in contenders
        .iter()
        .zip(times.iter().zip(&medians))
        .zip(&faults)
    {
        let f = f.map_or_else(|| "n/a".to_string(), |f| (f / ROUNDS as u64).to_string());
        println!("{name:<28} {:>8.2}ms {:>8.2}ms {f:>14}", ms(*m), ms(t[0]));
    }
    let ours = 4;
    let peers = &contenders[ours..];
    print!("{:<28}", "ratio of medians ÷");
    for (name, _) in peers {
        print!(" {name:>24}");
    }
    println!();
    for (i, (name, _)) in contenders[..ours].iter().enumerate() {
        print!("{name:<28}");
        for j in ours..contenders.len() {
            print!(" {:>24.2}", ms(medians[i]) / ms(medians[j]));
        }
        println!();
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
