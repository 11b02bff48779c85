//! Isolation, live: one flooded endpoint must not starve the others.
//!
//! A small service has three endpoints, each waiting on a slow dependency
//! (simulated with `thread::sleep`, like a blocking database call):
//!
//! | endpoint  | service time | normal load | its bulkhead          |
//! |-----------|--------------|-------------|-----------------------|
//! | search    | 50 ms        | 200 req/s   | 20 threads + 20 queue |
//! | checkout  | 5 ms         | 1000 req/s  | 50 threads + 50 queue |
//! | analytics | 30 ms        | 100 req/s   | 10 threads + 10 queue |
//!
//! Then search is flooded with 10x its load: 2000 req/s, 100 threads' worth of
//! waiting. The demo runs three copies of the service side by side:
//!
//! 0. **A normal day**: no flood, one bulkhead per endpoint. This is
//!    checkout's baseline.
//! 1. **The flood on ONE shared pool** with the same 80 threads and 80 queue
//!    slots as the three bulkheads together. Search takes every thread and
//!    every queue slot; checkout, which did nothing wrong, waits behind the
//!    search backlog or is turned away at the door.
//! 2. **The same flood on bulkheads.** Search's excess is rejected at
//!    *search's* door, in microseconds, and checkout runs as on a normal day.
//!
//! Why side by side rather than one after the other: the copies share one
//! machine, so whatever else runs on it (a compiler, a noisy neighbour) slows
//! all three alike, and the comparison stays fair on a small, busy machine.
//! (Bulkheads isolate threads, not CPU: the endpoints here mostly wait, so
//! CPU is not what runs out. The 240 worker threads are mostly asleep.)
//! The clients are shared too: one generator thread per endpoint issues
//! requests at a fixed rate (open loop, like real users who do not wait for
//! each other) and hands each request to every copy at the same instant; the
//! normal-day copy receives only every tenth search request.
//!
//! Each request is offered with `try_spawn`. A rejection hands the work back
//! unrun, where a real service would serve a fallback or a 503; here it is
//! counted. Latency runs from the request's arrival to the end of its work,
//! queueing included.
//!
//! Run it with `cargo run --release --example isolation`.

use std::error::Error;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use bulkheads::{BuildError, ThreadPoolBulkhead};

/// How long the clients send requests.
const RUN_FOR: Duration = Duration::from_secs(8);

/// The flood multiplies search's normal rate by this.
const FLOOD: u64 = 10;

/// One endpoint of the service.
struct Endpoint {
    name: &'static str,
    /// Time spent waiting on the slow dependency for one request.
    service_time: Duration,
    /// Normal arrival rate, requests per second.
    rate: u64,
    /// Its own bulkhead.
    threads: usize,
    queue_capacity: usize,
}

const SEARCH: usize = 0;
const CHECKOUT: usize = 1;

const ENDPOINTS: [Endpoint; 3] = [
    Endpoint {
        name: "search",
        service_time: Duration::from_millis(50),
        rate: 200,
        threads: 20,
        queue_capacity: 20,
    },
    Endpoint {
        name: "checkout",
        service_time: Duration::from_millis(5),
        rate: 1000,
        threads: 50,
        queue_capacity: 50,
    },
    Endpoint {
        name: "analytics",
        service_time: Duration::from_millis(30),
        rate: 100,
        threads: 10,
        queue_capacity: 10,
    },
];

/// What happened to one endpoint's requests in one copy of the service.
#[derive(Default)]
struct Tally {
    requests: AtomicU64,
    rejected: AtomicU64,
    /// Arrival-to-response latency of every served request.
    latencies: Mutex<Vec<Duration>>,
}

/// One copy of the service.
struct Scenario {
    label: &'static str,
    /// The pool serving each endpoint (the same pool three times when shared).
    pools: [Arc<ThreadPoolBulkhead>; 3],
    /// Search's load, as a multiple of its normal rate.
    search_load: u64,
    tallies: [Arc<Tally>; 3],
}

impl Scenario {
    /// One pool for the whole service, as big as the three bulkheads together.
    fn shared_pool(label: &'static str, search_load: u64) -> Result<Scenario, BuildError> {
        let pool = ThreadPoolBulkhead::builder("shared")
            .threads(ENDPOINTS.iter().map(|e| e.threads).sum())
            .queue_capacity(ENDPOINTS.iter().map(|e| e.queue_capacity).sum())
            .build()?;
        let pool = Arc::new(pool);
        Ok(Scenario::new(
            label,
            [pool.clone(), pool.clone(), pool],
            search_load,
        ))
    }

    /// One bulkhead per endpoint.
    fn bulkheads(label: &'static str, search_load: u64) -> Result<Scenario, BuildError> {
        let build = |e: &Endpoint| {
            ThreadPoolBulkhead::builder(e.name)
                .threads(e.threads)
                .queue_capacity(e.queue_capacity)
                .build()
                .map(Arc::new)
        };
        let [search, checkout, analytics] = &ENDPOINTS;
        let pools = [build(search)?, build(checkout)?, build(analytics)?];
        Ok(Scenario::new(label, pools, search_load))
    }

    fn new(label: &'static str, pools: [Arc<ThreadPoolBulkhead>; 3], search_load: u64) -> Self {
        Scenario {
            label,
            pools,
            search_load,
            tallies: Default::default(),
        }
    }

    /// This scenario's load on an endpoint, as a multiple of its normal rate.
    fn load(&self, endpoint: usize) -> u64 {
        if endpoint == SEARCH {
            self.search_load
        } else {
            1
        }
    }
}

/// One request: wait on the slow dependency, then answer (record latency).
fn handle_request(service_time: Duration, arrived: Instant, tally: &Tally) {
    thread::sleep(service_time);
    let latency = arrived.elapsed();
    tally
        .latencies
        .lock()
        .expect("a task panicked while recording a latency")
        .push(latency);
}

/// Offers one request to `pool`. On rejection the work comes back unrun.
fn offer(pool: &ThreadPoolBulkhead, service_time: Duration, arrived: Instant, tally: &Arc<Tally>) {
    tally.requests.fetch_add(1, Ordering::Relaxed);
    let task_tally = Arc::clone(tally);
    let request = move || handle_request(service_time, arrived, &task_tally);
    if let Err(rejected) = pool.try_spawn(request) {
        // The door is shut. A real service would serve a cached page or a
        // 503 with the work it got back; we count the refusal.
        drop(rejected.into_inner());
        tally.rejected.fetch_add(1, Ordering::Relaxed);
    }
}

/// The clients of one endpoint: requests at the highest rate any scenario
/// sees, paced by sleeping until each is due (open loop: a slow service does
/// not slow its clients down; a late generator catches up, skipping nothing).
/// A scenario at a lower load receives an evenly spaced share of them.
fn clients(endpoint: usize, scenarios: &[Scenario], start: Instant) {
    let spec = &ENDPOINTS[endpoint];
    let peak = scenarios
        .iter()
        .map(|s| s.load(endpoint))
        .max()
        .unwrap_or(1);
    let rate = spec.rate * peak;
    let total = RUN_FOR.as_secs() * rate;
    for i in 0..total {
        let due = start + Duration::from_nanos(i * 1_000_000_000 / rate);
        let now = Instant::now();
        if due > now {
            thread::sleep(due - now);
        }

        let arrived = Instant::now();
        // Rotate which copy is offered the request first, so that none of
        // them is systematically served ahead of the others.
        for k in 0..scenarios.len() {
            let scenario = &scenarios[(i as usize + k) % scenarios.len()];
            let every = peak / scenario.load(endpoint);
            if i % every == 0 {
                let (pool, tally) = (&scenario.pools[endpoint], &scenario.tallies[endpoint]);
                offer(pool, spec.service_time, arrived, tally);
            }
        }
    }
}

/// Runs every scenario's clients at once, then waits for what was admitted.
fn run(scenarios: &[Scenario]) {
    // A short head start, so that every generator begins on the same schedule.
    let start = Instant::now() + Duration::from_millis(20);
    thread::scope(|scope| {
        for (endpoint, spec) in ENDPOINTS.iter().enumerate() {
            thread::Builder::new()
                .name(format!("{}-clients", spec.name))
                .spawn_scoped(scope, move || clients(endpoint, scenarios, start))
                .expect("cannot start a client thread");
        }
    });
    for scenario in scenarios {
        for pool in &scenario.pools {
            pool.wait_idle();
        }
    }
}

/// The summary of one endpoint in one scenario.
struct Row {
    requests: u64,
    served: usize,
    rejected: u64,
    p50: Duration,
    p99: Duration,
}

impl Row {
    fn of(tally: &Tally) -> Row {
        let mut latencies = tally
            .latencies
            .lock()
            .expect("a task panicked while recording a latency")
            .clone();
        latencies.sort_unstable();
        Row {
            requests: tally.requests.load(Ordering::Relaxed),
            served: latencies.len(),
            rejected: tally.rejected.load(Ordering::Relaxed),
            p50: percentile(&latencies, 50),
            p99: percentile(&latencies, 99),
        }
    }
}

/// Nearest-rank percentile of sorted samples (zero when there are none).
fn percentile(sorted: &[Duration], p: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (p * sorted.len()).div_ceil(100); // ceil(p% of n)
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn main() -> Result<(), Box<dyn Error>> {
    let began = Instant::now();
    let scenarios = [
        Scenario::bulkheads("0 normal day", 1)?,
        Scenario::shared_pool("1 flood, one shared pool", FLOOD)?,
        Scenario::bulkheads("2 flood, bulkheads", FLOOD)?,
    ];
    println!(
        "{} s of traffic; search flooded at {FLOOD}x its normal {} req/s in scenarios 1 and 2\n",
        RUN_FOR.as_secs(),
        ENDPOINTS[SEARCH].rate
    );
    run(&scenarios);

    let rows: Vec<[Row; 3]> = scenarios
        .iter()
        .map(|s| std::array::from_fn(|endpoint| Row::of(&s.tallies[endpoint])))
        .collect();

    println!(
        "{:<26} {:<10} {:>8} {:>7} {:>8} {:>10} {:>10}",
        "scenario", "endpoint", "requests", "served", "rejected", "p50", "p99"
    );
    println!("{}", "-".repeat(85));
    for (scenario, rows) in scenarios.iter().zip(&rows) {
        for (spec, row) in ENDPOINTS.iter().zip(rows) {
            println!(
                "{:<26} {:<10} {:>8} {:>7} {:>8} {:>10} {:>10}",
                scenario.label,
                spec.name,
                row.requests,
                row.served,
                row.rejected,
                ms(row.p50),
                ms(row.p99),
            );
        }
        println!();
    }

    let baseline = rows[0][CHECKOUT].p99;
    println!("checkout p99 against its normal day ({}):", ms(baseline));
    for (scenario, rows) in scenarios.iter().zip(&rows).skip(1) {
        let row = &rows[CHECKOUT];
        println!(
            "  {:<24} {:>10} = {:>5.2}x, {} of {} requests rejected",
            scenario.label,
            ms(row.p99),
            row.p99.as_secs_f64() / baseline.as_secs_f64(),
            row.rejected,
            row.requests,
        );
    }
    println!("\nfinished in {:.1} s", began.elapsed().as_secs_f64());
    Ok(())
}
