//! A real HTTP service whose endpoints live in their own compartments.
//!
//! `/search`, `/checkout` and `/analytics` each run on their own
//! `ThreadPoolBulkhead`, registered in one `Registry`; a `Router` picks the
//! compartment for each request. When a compartment is full the request is
//! answered at once with `503 Service Unavailable` and `Retry-After: 1`,
//! while the other endpoints keep serving. `GET /stats` shows the
//! registry's table; `GET /shutdown` stops the service, after the requests
//! already admitted have been answered.
//!
//! The handlers stand in for work waiting on slow dependencies (search's
//! index takes 300 ms, checkout's payment call 5 ms, analytics' warehouse
//! 100 ms), so search is the compartment a flood fills.
//!
//! ```text
//! cargo run --example server -- 127.0.0.1:8080 60   # address, seconds to run (optional)
//! BULKHEADS_ADDR=127.0.0.1:8080 BULKHEADS_RUN_FOR=60 cargo run --example server
//!
//! # in another terminal: flood search, checkout still answers
//! for i in $(seq 40); do curl -s -o /dev/null -w '%{http_code} ' localhost:8080/search & done; wait
//! curl -i localhost:8080/checkout
//! curl localhost:8080/stats
//! curl localhost:8080/shutdown
//! ```
//!
//! Without an address it listens on 127.0.0.1:8080; without a time it
//! runs until `/shutdown`. The first line it prints is
//! `listening on http://ADDRESS` (useful with port 0).

use std::error::Error;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use bulkheads::{Registry, Rejected, Router, ThreadPoolBulkhead};
use tiny_http::{Header, Request, Response, Server};

/// Seconds a client is asked to wait before retrying a refused request.
const RETRY_AFTER_SECONDS: u64 = 1;

/// What a request path leads to.
enum Route {
    /// Work that runs in a compartment of its own.
    Work(Endpoint),
    /// The registry's stats table, answered at once.
    Stats,
    /// Stop the service.
    Shutdown,
}

/// An endpoint: its compartment and what it does with a request.
struct Endpoint {
    pool: Arc<ThreadPoolBulkhead>,
    handler: fn(Request),
}

/// Stands in for a call to a slow dependency, then answers.
fn answer_after(request: Request, dependency: Duration, body: &str) {
    thread::sleep(dependency);
    // The client may have hung up; nothing to do then.
    let _ = request.respond(Response::from_string(body));
}

fn search(request: Request) {
    answer_after(request, Duration::from_millis(300), "search results\n");
}

fn checkout(request: Request) {
    answer_after(request, Duration::from_millis(5), "order placed\n");
}

fn analytics(request: Request) {
    answer_after(request, Duration::from_millis(100), "event recorded\n");
}

/// The service: its compartments, and the routes to them.
pub struct Service {
    registry: Arc<Registry>,
    routes: Router<Route>,
}

/// Whether the service goes on after a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Control {
    Continue,
    Stop,
}

impl Service {
    /// Every compartment is configured here, in one place.
    pub fn new() -> Result<Service, Box<dyn Error>> {
        let registry = Arc::new(Registry::new());
        let endpoint = |name: &str, threads, queue, handler| {
            registry
                .thread_pool(name, |b| b.threads(threads).queue_capacity(queue))
                .map(|pool| Route::Work(Endpoint { pool, handler }))
        };
        let routes = Router::builder()
            .route("/search", endpoint("search", 2, 2, search)?)
            .route("/checkout", endpoint("checkout", 4, 8, checkout)?)
            .route("/analytics", endpoint("analytics", 2, 4, analytics)?)
            .route("/stats", Route::Stats)
            .route("/shutdown", Route::Shutdown)
            .build()?;
        Ok(Service { registry, routes })
    }

    /// Routes one request: into its compartment, or answered here.
    pub fn dispatch(&self, request: Request) -> Control {
        // The request target is a path; the router takes absolute URLs.
        let url = format!("http://service{}", request.url());
        match self.routes.route(&url) {
            Ok(Route::Work(endpoint)) => {
                if let Err(request) = offer(endpoint, request) {
                    let _ = request.respond(busy(endpoint.pool.name()));
                }
            }
            Ok(Route::Stats) => {
                let _ = request.respond(Response::from_string(self.registry.table().to_string()));
            }
            Ok(Route::Shutdown) => {
                let _ = request.respond(Response::from_string("shutting down\n"));
                return Control::Stop;
            }
            Err(_) => {
                let text = format!("no endpoint at {}\n", request.url());
                let _ = request.respond(Response::from_string(text).with_status_code(404));
            }
        }
        Control::Continue
    }

    /// Stops admitting work and waits until every admitted request has
    /// been answered.
    pub fn shutdown(&self) {
        self.registry.shutdown();
    }

    /// The stats table of every compartment.
    pub fn stats(&self) -> String {
        self.registry.table().to_string()
    }
}

/// Hands `request` to `endpoint`'s compartment, or gives it back when the
/// compartment is full (or shut down), to be answered with a 503.
///
/// `try_spawn_with` hands the input itself back on rejection, so the
/// refused request needs no shared slot to be taken back out of, and the
/// refusal allocates nothing. No handle is kept: the handler answers the
/// request itself.
// The request comes back by value, as `try_spawn_with` hands it back:
// boxing it would allocate on every refusal.
#[allow(clippy::result_large_err)]
fn offer(endpoint: &Endpoint, request: Request) -> Result<(), Request> {
    endpoint
        .pool
        .try_spawn_with(request, endpoint.handler)
        .map_err(Rejected::into_inner)
}

/// The answer for a full compartment.
fn busy(compartment: &str) -> Response<std::io::Cursor<Vec<u8>>> {
    let retry_after =
        Header::from_bytes("Retry-After", RETRY_AFTER_SECONDS.to_string()).expect("a valid header");
    Response::from_string(format!(
        "{compartment} is busy; retry in {RETRY_AFTER_SECONDS} s\n"
    ))
    .with_status_code(503)
    .with_header(retry_after)
}

/// Serves requests on `server` until `/shutdown` or, if given, for
/// `run_for`; then lets admitted requests finish and returns the final
/// stats table.
pub fn serve(server: &Server, run_for: Option<Duration>) -> Result<String, Box<dyn Error>> {
    let service = Service::new()?;
    let deadline = run_for.map(|d| Instant::now() + d);
    loop {
        let request = match deadline {
            None => server.recv()?,
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                match server.recv_timeout(left)? {
                    Some(request) => request,
                    None => break, // time is up
                }
            }
        };
        if service.dispatch(request) == Control::Stop {
            break;
        }
    }
    service.shutdown();
    Ok(service.stats())
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let addr = args
        .next()
        .or_else(|| std::env::var("BULKHEADS_ADDR").ok())
        .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    let run_for = match args
        .next()
        .or_else(|| std::env::var("BULKHEADS_RUN_FOR").ok())
    {
        Some(seconds) => Some(Duration::from_secs(seconds.parse().map_err(|e| {
            format!("the run time must be a whole number of seconds, not `{seconds}`: {e}")
        })?)),
        None => None,
    };
    let server = Server::http(&addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let bound = server
        .server_addr()
        .to_ip()
        .ok_or("the server did not bind an IP address")?;
    println!("listening on http://{bound}");
    let stats = serve(&server, run_for)?;
    print!("{stats}");
    Ok(())
}
