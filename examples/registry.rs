//! Named bulkheads set up in one place, and a live stats table.
//!
//! A small service configures its compartments once, in a `Registry`:
//! `search` and `reports` get their own thread pools, `checkout` and
//! `inventory` limit concurrent calls on the request threads with
//! semaphores. Load runs for a moment (search is flooded on purpose) while
//! the main thread prints the registry's table every 100 ms; at the end the
//! registry shuts the pools down and prints the final numbers.
//!
//! Run it with `cargo run --release --example registry`.

use std::error::Error;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use bulkheads::Registry;

/// Where every compartment is configured: one function, one place.
fn configure(registry: &Registry) -> Result<(), Box<dyn Error>> {
    registry.thread_pool("search", |b| b.threads(4).queue_capacity(8))?;
    registry.thread_pool("reports", |b| b.threads(2).queue_capacity(4))?;
    registry.semaphore("checkout", 8)?;
    registry.semaphore_with("inventory", |b| {
        b.max_concurrent(4).max_wait(Duration::from_millis(5))
    })?;
    Ok(())
}

/// Simulated work: a blocking call to a slow dependency.
fn slow_call(ms: u64) {
    thread::sleep(Duration::from_millis(ms));
}

fn main() -> Result<(), Box<dyn Error>> {
    let registry = Arc::new(Registry::new());
    configure(&registry)?;
    let running = Arc::new(AtomicBool::new(true));
    let mut load = Vec::new();

    // Search is flooded: far more requests than 4 threads + 8 queued.
    {
        let (registry, running) = (registry.clone(), running.clone());
        load.push(thread::spawn(move || {
            // Create-or-get: the same pool `configure` built.
            let search = registry.thread_pool("search", |b| b).expect("configured");
            while running.load(Ordering::Relaxed) {
                let _ = search.try_spawn(|| slow_call(20)); // excess is rejected
                thread::sleep(Duration::from_millis(1));
            }
        }));
    }
    // Reports trickle in.
    {
        let (registry, running) = (registry.clone(), running.clone());
        load.push(thread::spawn(move || {
            let reports = registry.get_thread_pool("reports").expect("configured");
            while running.load(Ordering::Relaxed) {
                let _ = reports.try_spawn(|| slow_call(30));
                thread::sleep(Duration::from_millis(20));
            }
        }));
    }
    // Request threads calling checkout and inventory on their own threads.
    for _ in 0..12 {
        let (registry, running) = (registry.clone(), running.clone());
        load.push(thread::spawn(move || {
            let checkout = registry.get_semaphore("checkout").expect("configured");
            let inventory = registry.get_semaphore("inventory").expect("configured");
            while running.load(Ordering::Relaxed) {
                if inventory.call(|| slow_call(3)).is_err() {
                    // Fallback: serve a cached stock level.
                }
                let _ = checkout.call(|| slow_call(5));
            }
        }));
    }

    for tick in 1..=5 {
        thread::sleep(Duration::from_millis(100));
        println!("t = {} ms\n{registry}", tick * 100);
    }
    running.store(false, Ordering::Relaxed);
    for handle in load {
        handle.join().expect("load thread panicked");
    }
    registry.shutdown();
    println!("final, after shutdown\n{registry}");
    for stats in registry.stats() {
        println!("{stats}");
    }
    Ok(())
}
