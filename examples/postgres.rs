//! Connection isolation on PostgreSQL: analytics and transactions each get
//! their own named r2d2 pool, so a storm of slow analytics queries holds
//! every analytics connection and every transactional insert still gets a
//! connection within its own wait.
//!
//! Sixteen threads flood `analytics` (4 connections, waiting at most
//! 20 ms for one) with `SELECT pg_sleep(0.2)`; once every analytics
//! connection is busy, four threads write 400 orders through
//! `transactional` (4 connections, waiting at most 1 s), for about a
//! second. A latency is from asking for the connection to the insert's
//! answer. The program exits
//! with status 1 if a single insert fails, if analytics was never refused
//! (the flood did not fill its compartment, so nothing was shown), or if
//! the orders written do not all arrive; with status 2 when there is no
//! server to talk to.
//!
//! Run it with a server:
//!
//! ```sh
//! BULKHEADS_PG_URL="host=127.0.0.1 port=5432 user=postgres" \
//!     cargo run --release --features r2d2 --example postgres
//! ```
//!
//! or let `.ci/postgres.sh` start a throwaway cluster and run it.

use std::error::Error;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use bulkheads::{ConnectionError, Registry};
use r2d2_postgres::postgres::{Config, NoTls};
use r2d2_postgres::PostgresConnectionManager;

type Manager = PostgresConnectionManager<NoTls>;

const URL_VAR: &str = "BULKHEADS_PG_URL";
const DEFAULT_URL: &str = "host=127.0.0.1 port=5432 user=postgres dbname=postgres";
const FLOOD_THREADS: usize = 16;
const WRITERS: usize = 4;
const ORDERS_PER_WRITER: usize = 100;
/// A writer's pause between orders, so the writes span several flood rounds.
const ORDER_PAUSE: Duration = Duration::from_millis(10);
const TRANSACTIONAL_WAIT: Duration = Duration::from_secs(1);

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(1)
        }
    }
}

/// Sets up the two compartments: one place, one function.
fn configure(registry: &Registry, config: &Config) -> Result<(), Box<dyn Error>> {
    registry.connection_pool(
        "analytics",
        PostgresConnectionManager::new(config.clone(), NoTls),
        |b| {
            b.min_idle(4)
                .max_size(4)
                .max_wait(Duration::from_millis(20))
        },
    )?;
    registry.connection_pool(
        "transactional",
        PostgresConnectionManager::new(config.clone(), NoTls),
        |b| b.min_idle(4).max_size(4).max_wait(TRANSACTIONAL_WAIT),
    )?;
    Ok(())
}

fn run() -> Result<bool, Box<dyn Error>> {
    let url = std::env::var(URL_VAR).unwrap_or_else(|_| DEFAULT_URL.to_owned());
    let mut config: Config = url.parse()?;
    config.connect_timeout(Duration::from_secs(3));

    let registry = Arc::new(Registry::new());
    configure(&registry, &config)?;
    let analytics = registry
        .get_connection_pool::<Manager>("analytics")
        .ok_or("configured")?;
    let transactional = registry
        .get_connection_pool::<Manager>("transactional")
        .ok_or("configured")?;

    // Is there a server? The pool says so at once, with the driver's error.
    let mut setup = match transactional.get() {
        Ok(conn) => conn,
        Err(err @ ConnectionError::Connect { .. }) => {
            no_server(&url, &err);
            std::process::exit(2);
        }
        Err(err) => return Err(err.into()),
    };
    setup.batch_execute(
        "DROP TABLE IF EXISTS bulkheads_orders;
         CREATE TABLE bulkheads_orders (id serial PRIMARY KEY, writer int NOT NULL, total int NOT NULL)",
    )?;
    drop(setup);

    let started = Instant::now();
    let flooding = Arc::new(AtomicBool::new(true));
    let flood_served = Arc::new(AtomicUsize::new(0));
    let flood: Vec<_> = (0..FLOOD_THREADS)
        .map(|_| {
            let (analytics, flooding, served) =
                (analytics.clone(), flooding.clone(), flood_served.clone());
            thread::spawn(move || -> Result<(), String> {
                while flooding.load(Ordering::Relaxed) {
                    match analytics.get() {
                        Ok(mut conn) => {
                            conn.batch_execute("SELECT pg_sleep(0.2)")
                                .map_err(|e| e.to_string())?;
                            served.fetch_add(1, Ordering::Relaxed);
                        }
                        // The compartment is full: shed the report, try later.
                        Err(ConnectionError::Rejected { .. }) => {
                            thread::sleep(Duration::from_millis(5))
                        }
                        Err(err) => return Err(err.to_string()),
                    }
                }
                Ok(())
            })
        })
        .collect();

    // Wait until the flood holds every analytics connection (or a flood
    // thread has stopped on an error, reported below).
    while analytics.stats().in_use < analytics.max_size()
        && !flood.iter().any(thread::JoinHandle::is_finished)
    {
        thread::sleep(Duration::from_millis(5));
    }
    let refused_before = analytics.stats().rejected;

    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let transactional = transactional.clone();
            thread::spawn(move || {
                let mut latencies = Vec::with_capacity(ORDERS_PER_WRITER);
                let mut failures = Vec::new();
                for total in 0..ORDERS_PER_WRITER {
                    let asked = Instant::now();
                    let result =
                        transactional
                            .get()
                            .map_err(|e| e.to_string())
                            .and_then(|mut conn| {
                                conn.execute(
                                    "INSERT INTO bulkheads_orders (writer, total) VALUES ($1, $2)",
                                    &[&(writer as i32), &(total as i32)],
                                )
                                .map_err(|e| e.to_string())
                            });
                    match result {
                        Ok(_) => latencies.push(asked.elapsed()),
                        Err(err) => failures.push(err),
                    }
                    thread::sleep(ORDER_PAUSE);
                }
                (latencies, failures)
            })
        })
        .collect();

    let mut latencies = Vec::new();
    let mut failures = Vec::new();
    for writer in writers {
        let (l, f) = writer.join().map_err(|_| "a writer panicked")?;
        latencies.extend(l);
        failures.extend(f);
    }
    let refused_during_writes = analytics.stats().rejected - refused_before;
    flooding.store(false, Ordering::Relaxed);
    let mut flood_errors = Vec::new();
    for thread in flood {
        if let Err(err) = thread.join().map_err(|_| "a flood thread panicked")? {
            flood_errors.push(err);
        }
    }

    let written: i64 = transactional
        .get()?
        .query_one("SELECT COUNT(*) FROM bulkheads_orders", &[])?
        .get(0);
    transactional
        .get()?
        .batch_execute("DROP TABLE bulkheads_orders")?;

    latencies.sort();
    let expected = WRITERS * ORDERS_PER_WRITER;
    println!(
        "{:.1} s: {FLOOD_THREADS} threads flooding analytics with pg_sleep(0.2), {WRITERS} writers inserting {expected} orders\n",
        started.elapsed().as_secs_f64()
    );
    println!(
        "{:<14} {:>8} {:>8} {:>9} {:>10} {:>10} {:>10}",
        "pool", "asked", "served", "refused", "p50", "p99", "max"
    );
    let analytics_stats = analytics.stats();
    println!(
        "{:<14} {:>8} {:>8} {:>9} {:>10} {:>10} {:>10}",
        "analytics",
        analytics_stats.acquired + analytics_stats.rejected + analytics_stats.connect_errors,
        flood_served.load(Ordering::Relaxed),
        analytics_stats.rejected,
        "-",
        "-",
        "-"
    );
    println!(
        "{:<14} {:>8} {:>8} {:>9} {:>10} {:>10} {:>10}\n",
        "transactional",
        expected,
        latencies.len(),
        failures.len(),
        millis(percentile(&latencies, 0.50)),
        millis(percentile(&latencies, 0.99)),
        millis(latencies.last().copied()),
    );
    print!("{}", registry.table());

    let mut ok = true;
    if !failures.is_empty() {
        ok = false;
        println!(
            "\nFAIL: {} of {expected} transactional inserts failed while analytics was flooded; first: {}",
            failures.len(),
            failures[0]
        );
    }
    if refused_during_writes == 0 {
        ok = false;
        println!("\nFAIL: analytics was never refused during the writes: the flood did not fill its compartment");
    }
    if written != expected as i64 {
        ok = false;
        println!("\nFAIL: {written} orders in the table, {expected} written");
    }
    if let Some(err) = flood_errors.first() {
        ok = false;
        println!("\nFAIL: an analytics query failed: {err}");
    }
    if ok {
        println!(
            "\nOK: every transactional insert got a connection within {} ms while analytics refused {refused_during_writes} requests",
            TRANSACTIONAL_WAIT.as_millis(),
        );
    }
    Ok(ok)
}

fn no_server(url: &str, err: &ConnectionError) {
    eprintln!("No PostgreSQL server answers at {URL_VAR}={url:?}:\n  {err}");
    // The error's message already includes its source; print the causes below it.
    let mut source = err.source().and_then(|s| s.source());
    while let Some(cause) = source {
        eprintln!("  caused by: {cause}");
        source = cause.source();
    }
    eprintln!();
    eprintln!("Start a throwaway one and run this example against it with");
    eprintln!("  .ci/postgres.sh");
    eprintln!("or point {URL_VAR} at a server you have, for example:");
    eprintln!("  docker run --rm -d -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:16");
    eprintln!("  {URL_VAR}=\"host=127.0.0.1 port=5432 user=postgres\" \\");
    eprintln!("      cargo run --release --features r2d2 --example postgres");
}

fn percentile(sorted: &[Duration], q: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let index = ((sorted.len() - 1) as f64 * q).round() as usize;
    Some(sorted[index])
}

fn millis(d: Option<Duration>) -> String {
    match d {
        Some(d) => format!("{:.2} ms", d.as_secs_f64() * 1000.0),
        None => "-".to_owned(),
    }
}
