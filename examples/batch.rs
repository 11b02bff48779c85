//! A batch job with backpressure: push 1,000,000 items through a bounded
//! thread pool without ever holding more than a few hundred in memory.
//!
//! The producer uses the blocking `spawn`: when all `threads +
//! queue_capacity` slots are taken it simply waits for a slot, so the queue
//! (and the memory it holds) stays flat however fast the producer is. A
//! progress line every 100,000 items shows items done, the rate, the queue
//! depth, and the tasks in flight (running + queued), which never exceed
//! `threads + queue_capacity`.
//!
//! Run it with `cargo run --release --example batch`.

use std::error::Error;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bulkheads::ThreadPoolBulkhead;

const ITEMS: u64 = 1_000_000;
const REPORT_EVERY: u64 = 100_000;
const QUEUE_CAPACITY: usize = 256;

/// The per-item work: a little arithmetic standing in for parsing a record.
fn process(item: u64) -> u64 {
    let mut x = item.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    for _ in 0..32 {
        x ^= x >> 29;
        x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    }
    x & 0xFF
}

fn main() -> Result<(), Box<dyn Error>> {
    let threads = std::thread::available_parallelism().map_or(4, |n| n.get());
    let pool = ThreadPoolBulkhead::builder("batch")
        .threads(threads)
        .queue_capacity(QUEUE_CAPACITY)
        .build()?;
    println!(
        "pushing {ITEMS} items through {threads} threads, at most {} in flight",
        threads + QUEUE_CAPACITY
    );

    let checksum = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let capacity = threads + QUEUE_CAPACITY;
    let mut most_in_flight = 0;
    for item in 0..ITEMS {
        let checksum = Arc::clone(&checksum);
        // Blocks while the pool is full: backpressure, not an ever-growing
        // queue. It only fails after a shutdown, which we never do here.
        pool.spawn(move || {
            checksum.fetch_add(process(item), Ordering::Relaxed);
        })
        .map_err(|rejected| format!("item {item}: {rejected}"))?;

        if (item + 1) % REPORT_EVERY == 0 {
            let stats = pool.stats();
            // Running plus queued: what the pool holds in memory right now.
            let in_flight = stats.active + stats.queued;
            most_in_flight = most_in_flight.max(in_flight);
            let secs = start.elapsed().as_secs_f64();
            println!(
                "{:>9} submitted  {:>9} done  {:>10.0} items/s  queue depth {:>3}  in flight {:>3}/{capacity}",
                item + 1,
                stats.completed,
                stats.completed as f64 / secs,
                stats.queued,
                in_flight,
            );
        }
    }
    pool.wait_idle();
    let elapsed = start.elapsed();
    let stats = pool.stats();
    assert_eq!(stats.completed as u64, ITEMS);
    assert!(
        most_in_flight <= capacity,
        "backpressure keeps the pool bounded"
    );
    println!(
        "done: {} items in {:.2?} ({:.0} items/s), at most {most_in_flight} in flight, checksum {}",
        stats.completed,
        elapsed,
        ITEMS as f64 / elapsed.as_secs_f64(),
        checksum.load(Ordering::Relaxed)
    );
    Ok(())
}
