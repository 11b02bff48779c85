//! Processes: what a `ProcessBulkhead` adds to running a short program.
//!
//! One group, `processes`, two contenders running `true` to its end and
//! collecting its output:
//!
//! * `command_output`: a bare `std::process::Command::output()` (stdout
//!   and stderr piped, read on the calling thread with `poll`).
//! * `bulkhead_run`: `ProcessBulkhead::run` with a timeout set: admission,
//!   a process group, two reader threads, the deadline loop, the group
//!   kill after exit and the reap.
//!
//! After the group, the same two run round-robin (one of each, 600
//! times, three rounds) and the medians and their ratio are printed: on a
//! shared machine, alternating keeps both sides under the same load.
//!
//! Run: `cargo bench --bench processes -- --measurement-time 5 --warm-up-time 1`.
//! The numbers are in BENCHMARKS.md, "Processes".

use std::process::Command;
use std::time::{Duration, Instant};

use bulkheads::ProcessBulkhead;
use criterion::{criterion_group, Criterion};

fn bench_bulkhead() -> ProcessBulkhead {
    ProcessBulkhead::builder("bench")
        .max_concurrent(1)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("a valid configuration")
}

fn processes(c: &mut Criterion) {
    let bulkhead = bench_bulkhead();
    let mut group = c.benchmark_group("processes");
    group.bench_function("command_output", |b| {
        b.iter(|| {
            let out = Command::new("true").output().expect("true runs");
            assert!(out.status.success());
        })
    });
    group.bench_function("bulkhead_run", |b| {
        b.iter(|| {
            bulkhead.run(Command::new("true")).expect("true runs");
        })
    });
    group.finish();
}

/// One of each, alternately, `RUNS` times per round; prints the medians.
fn round_robin() {
    const RUNS: usize = 600;
    let bulkhead = bench_bulkhead();
    println!("\nround robin, {RUNS} runs of `true` each per round (medians):");
    for round in 1..=3 {
        let (mut bare, mut bulk) = (Vec::with_capacity(RUNS), Vec::with_capacity(RUNS));
        for _ in 0..RUNS {
            let start = Instant::now();
            Command::new("true").output().expect("true runs");
            bare.push(start.elapsed());
            let start = Instant::now();
            bulkhead.run(Command::new("true")).expect("true runs");
            bulk.push(start.elapsed());
        }
        bare.sort();
        bulk.sort();
        let (bare, bulk) = (bare[RUNS / 2], bulk[RUNS / 2]);
        println!(
            "  round {round}: command_output {bare:?}, bulkhead_run {bulk:?}, ratio {:.3}",
            bulk.as_secs_f64() / bare.as_secs_f64()
        );
    }
}

criterion_group!(benches, processes);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    round_robin();
}
