//! An HTTP client with a bulkhead per endpoint: a hanging `/search`
//! upstream cannot use up the calls `/checkout` needs.
//!
//! The example starts a local upstream service (tiny_http on 127.0.0.1)
//! whose `/search` hangs — it holds every request until the end of the
//! demo — while `/checkout` answers at once. The client gives search 4
//! concurrent calls with a 1 s timeout and checkout 8 with 2 s:
//!
//! 1. four search calls hang upstream and hold all of search's permits;
//! 2. twenty more search calls are refused at once (`HttpError::Rejected`),
//!    without reaching the upstream;
//! 3. meanwhile checkout calls go through in about a millisecond each;
//! 4. the hanging search calls end with `HttpError::Timeout` after search's
//!    own timeout, and the registry's table shows what happened.
//!
//! Run it with `cargo run --example http_client --features http`. It exits
//! by itself.

use std::error::Error;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use bulkheads::http::{HttpClient, HttpError};

/// The local upstream: `/search` hangs until `release` is dropped,
/// anything else answers at once.
struct Upstream {
    server: Arc<tiny_http::Server>,
    base: String,
    /// One message per `/search` request that reached the upstream.
    arrived: mpsc::Receiver<()>,
    release: Option<mpsc::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Upstream {
    fn start() -> Result<Upstream, Box<dyn Error + Send + Sync>> {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0")?);
        let base = format!(
            "http://{}",
            server.server_addr().to_ip().ok_or("no IP address")?
        );
        // Hanging handlers wait on this channel; it closes when the demo
        // drops `release`.
        let (release, hold) = mpsc::channel::<()>();
        let hold = Arc::new(Mutex::new(hold));
        let (arrival, arrived) = mpsc::channel::<()>();
        let thread = {
            let server = Arc::clone(&server);
            thread::spawn(move || {
                let mut handlers = Vec::new();
                while let Ok(request) = server.recv() {
                    let (hold, arrival) = (Arc::clone(&hold), arrival.clone());
                    handlers.push(thread::spawn(move || {
                        if request.url().starts_with("/search") {
                            let _ = arrival.send(());
                            // Blocks until the channel closes.
                            let _ = hold.lock().map(|hold| hold.recv());
                        }
                        let _ = request.respond(tiny_http::Response::from_string("ok"));
                    }));
                }
                for handler in handlers {
                    let _ = handler.join();
                }
            })
        };
        Ok(Upstream {
            server,
            base,
            arrived,
            release: Some(release),
            thread: Some(thread),
        })
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        drop(self.release.take()); // the hanging handlers answer now
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn main() -> Result<(), Box<dyn Error + Send + Sync>> {
    let upstream = Upstream::start()?;
    let base = upstream.base.clone();
    println!("upstream on {base}: /search hangs, /checkout answers at once\n");

    let client = Arc::new(
        HttpClient::builder()
            .endpoint_named("search", "/search", 4, Duration::from_secs(1))
            .endpoint_named("checkout", "/checkout", 8, Duration::from_secs(2))
            .build()?,
    );

    // 1. Four search calls hang upstream, holding search's four permits.
    let hanging: Vec<_> = (0..4)
        .map(|i| {
            let (client, url) = (Arc::clone(&client), format!("{base}/search?q={i}"));
            thread::spawn(move || {
                let started = Instant::now();
                (client.get(&url).map(drop), started.elapsed())
            })
        })
        .collect();
    for _ in 0..4 {
        upstream.arrived.recv_timeout(Duration::from_secs(10))?;
    }

    // 2. More search calls are refused at the door.
    let started = Instant::now();
    let mut rejected = 0;
    for i in 0..20 {
        match client.get(&format!("{base}/search?q=more{i}")) {
            Err(HttpError::Rejected { .. }) => rejected += 1,
            other => println!("unexpected: {other:?}"),
        }
    }
    println!(
        "search: {rejected} of 20 further calls rejected at once ({:.2?} for all 20)",
        started.elapsed()
    );

    // 3. Checkout is unaffected.
    let mut latencies = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        let mut response = client.get(&format!("{base}/checkout"))?;
        response.body_mut().read_to_string()?;
        latencies.push(started.elapsed());
    }
    latencies.sort();
    println!(
        "checkout: 20 of 20 calls answered while search hangs; median {:.2?}, slowest {:.2?}",
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1]
    );

    // 4. The hanging calls end at search's own timeout.
    for call in hanging {
        let (result, took) = call.join().map_err(|_| "a search call panicked")?;
        match result {
            Err(HttpError::Timeout { endpoint }) => {
                println!("{endpoint}: a hanging call timed out after {took:.2?}")
            }
            other => println!("search: unexpected {other:?}"),
        }
    }

    println!("\n{}", client.registry().table());
    drop(upstream);
    Ok(())
}
