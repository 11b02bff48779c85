//! A dependency goes down and comes back, behind a policy and a cached
//! fallback: the seed's `BulkheadPattern` scenario, printed step by step.
//!
//! A `search` endpoint calls a backend through a thread-pool bulkhead, a
//! policy with the seed's thresholds (failure rate 50%, 10 errors, recovery
//! 60 s) and a cache of the last good answer. The backend is healthy, then
//! fails: users get the cached answer while the policy counts the
//! failures, then opens its gate and stops calling the backend at all. A
//! minute later (on a manual clock, so the example runs at once) the
//! backend is back, three probes pass and the gate closes.
//!
//! Run it with `cargo run --example policy`.

use std::error::Error;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bulkheads::{Fallback, ManualClock, Policy, PolicyError, ThreadPoolBulkhead};

/// A backend that can be switched off, counting the requests it sees.
#[derive(Default)]
struct Backend {
    down: AtomicBool,
    requests: AtomicUsize,
}

impl Backend {
    fn search(&self, query: &str) -> Result<String, String> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if self.down.load(Ordering::Relaxed) {
            Err(String::from("connection refused"))
        } else {
            Ok(format!("3 results for {query:?}"))
        }
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let clock = Arc::new(ManualClock::new());
    let policy = Policy::builder("search").clock(clock.clone()).build()?;
    let pool = ThreadPoolBulkhead::builder("search").threads(4).build()?;
    let cache: Fallback<String> = policy.fallback();
    let backend = Arc::new(Backend::default());

    let request = |n: usize| {
        let b = backend.clone();
        let before = b.requests.load(Ordering::Relaxed);
        let answer = cache.call_on(&policy, &pool, move || b.search("rust"));
        let reached = backend.requests.load(Ordering::Relaxed) > before;
        let shown = match &answer {
            Ok(text) => text.clone(),
            Err(PolicyError::Open) => String::from("(gate open, nothing cached)"),
            Err(e) => format!("error: {e}"),
        };
        println!(
            "  request {n:>2}: {shown:<24} backend called: {:<5} gate: {}",
            reached,
            policy.health()
        );
    };

    println!("1. healthy");
    for n in 1..=3 {
        request(n);
    }

    println!("2. the backend fails: the cached answer is served, failures are counted");
    backend.down.store(true, Ordering::Relaxed);
    for n in 4..=12 {
        request(n);
    }

    println!("3. the gate is open: the backend is not called at all");
    for n in 13..=15 {
        request(n);
    }

    println!("4. the backend recovers; 60 s later the gate lets three probes through");
    backend.down.store(false, Ordering::Relaxed);
    clock.advance(Duration::from_secs(60));
    for n in 16..=18 {
        request(n);
    }

    println!("5. closed again, with a fresh window");
    for n in 19..=20 {
        request(n);
    }
    println!(
        "backend saw {} of 20 requests",
        backend.requests.load(Ordering::Relaxed)
    );
    Ok(())
}
