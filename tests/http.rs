//! HttpClient against a real HTTP server on 127.0.0.1: a hanging endpoint
//! fills its own bulkhead and nobody else's.
#![cfg(feature = "http")]

mod common;

use std::net::TcpListener;
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use bulkheads::http::{HttpClient, HttpError};
use bulkheads::{BulkheadStats, Registry, RouteError, SemaphoreStats};
use common::{Gate, Watchdog};

/// A real HTTP service on an ephemeral port of 127.0.0.1, started and
/// stopped by the test:
///
/// * `/search...` and `/hang...` announce their arrival on `arrived`, then
///   hang until the test opens `release`, then answer 200 `released`;
/// * `/status/NNN` answers with status NNN;
/// * `/echo` answers with the request's body;
/// * anything else answers 200 `ok` at once.
struct Upstream {
    server: Arc<tiny_http::Server>,
    base: String,
    arrived: Receiver<String>,
    release: Gate,
    thread: Option<JoinHandle<()>>,
}

impl Upstream {
    fn start() -> Upstream {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind 127.0.0.1:0"));
        let base = format!(
            "http://{}",
            server.server_addr().to_ip().expect("an IP address")
        );
        let (arrivals, arrived) = mpsc::channel();
        let release = Gate::new();
        let thread = {
            let (server, release) = (Arc::clone(&server), release.clone());
            thread::spawn(move || {
                let mut handlers = Vec::new();
                // `recv` fails once the test calls `unblock`.
                while let Ok(request) = server.recv() {
                    let (arrivals, release) = (arrivals.clone(), release.clone());
                    handlers.push(thread::spawn(move || serve(request, &arrivals, &release)));
                }
                for handler in handlers {
                    handler.join().expect("a handler thread");
                }
            })
        };
        Upstream {
            server,
            base,
            arrived,
            release,
            thread: Some(thread),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Waits until `n` hanging requests have reached the server.
    fn wait_for_arrivals(&self, n: usize) {
        for _ in 0..n {
            self.arrived.recv().expect("the server is running");
        }
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.release.open();
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            thread.join().expect("the server thread");
        }
    }
}

fn serve(mut request: tiny_http::Request, arrivals: &mpsc::Sender<String>, release: &Gate) {
    let path = request
        .url()
        .split('?')
        .next()
        .unwrap_or_default()
        .to_owned();
    let response = if path.starts_with("/search") || path.starts_with("/hang") {
        let _ = arrivals.send(path);
        release.wait();
        tiny_http::Response::from_string("released")
    } else if let Some(code) = path.strip_prefix("/status/") {
        tiny_http::Response::from_string("status").with_status_code(code.parse::<u16>().unwrap())
    } else if path == "/echo" {
        let mut body = String::new();
        request.as_reader().read_to_string(&mut body).unwrap();
        tiny_http::Response::from_string(body)
    } else {
        tiny_http::Response::from_string("ok")
    };
    // The client may have given up (timed out) already.
    let _ = request.respond(response);
}

fn semaphore(registry: &Registry, name: &str) -> SemaphoreStats {
    registry
        .stats()
        .into_iter()
        .find_map(|stats| match stats {
            BulkheadStats::Semaphore(s) if s.name == name => Some(s),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no semaphore `{name}` in the registry"))
}

/// A GET of `url` on another thread; its body as text.
fn get_in_background(
    client: &Arc<HttpClient>,
    url: String,
) -> JoinHandle<Result<String, HttpError>> {
    let client = Arc::clone(client);
    thread::spawn(move || {
        let mut response = client.get(&url)?;
        Ok(response
            .body_mut()
            .read_to_string()
            .expect("a readable body"))
    })
}

/// A client with the given (name, pattern, max concurrent, timeout) endpoints.
fn client(endpoints: &[(&str, &str, usize, Duration)]) -> Arc<HttpClient> {
    let mut builder = HttpClient::builder();
    for &(name, pattern, max_concurrent, timeout) in endpoints {
        builder = builder.endpoint_named(name, pattern, max_concurrent, timeout);
    }
    Arc::new(builder.build().expect("well-formed endpoints"))
}

#[test]
fn a_hanging_endpoint_fills_its_bulkhead_while_another_endpoint_keeps_answering() {
    let _watchdog = Watchdog::arm("hanging endpoint test", Duration::from_secs(120));
    let upstream = Upstream::start();
    let client = client(&[
        ("search", "/search", 3, Duration::from_secs(60)),
        ("checkout", "/checkout", 2, Duration::from_secs(60)),
    ]);

    // Three search calls hang upstream and hold all of search's permits.
    let hanging: Vec<_> = (0..3)
        .map(|i| get_in_background(&client, upstream.url(&format!("/search?q={i}"))))
        .collect();
    upstream.wait_for_arrivals(3);

    // Further search calls are refused at the door, without reaching the server.
    for i in 0..20 {
        match client.get(&upstream.url(&format!("/search/more?q={i}"))) {
            Err(HttpError::Rejected { endpoint }) => assert_eq!(endpoint, "search"),
            other => panic!("expected a rejection, got {other:?}"),
        }
    }
    // Checkout is untouched: every call succeeds.
    for _ in 0..50 {
        let mut response = client.get(&upstream.url("/checkout")).unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.body_mut().read_to_string().unwrap(), "ok");
    }
    let registry = client.registry();
    let search = semaphore(registry, "search");
    assert_eq!(
        (search.active, search.permitted, search.rejected),
        (3, 3, 20)
    );
    let checkout = semaphore(registry, "checkout");
    assert_eq!(
        (checkout.active, checkout.permitted, checkout.rejected),
        (0, 50, 0)
    );

    // Once the upstream recovers, the hanging calls complete and give their permits back.
    upstream.release.open();
    for call in hanging {
        assert_eq!(call.join().unwrap().unwrap(), "released");
    }
    assert_eq!(semaphore(registry, "search").active, 0);
    assert!(client.get(&upstream.url("/search?q=again")).is_ok());
}

#[test]
fn timeouts_are_per_endpoint() {
    let _watchdog = Watchdog::arm("per-endpoint timeouts", Duration::from_secs(120));
    let upstream = Upstream::start();
    let client = client(&[
        ("patient", "/hang/patient", 4, Duration::from_secs(60)),
        (
            "impatient",
            "/hang/impatient",
            4,
            Duration::from_millis(200),
        ),
    ]);

    // The patient call reaches the hanging server first and waits there.
    let patient = get_in_background(&client, upstream.url("/hang/patient"));
    upstream.wait_for_arrivals(1);

    // The same hang times the impatient endpoint out.
    match client.get(&upstream.url("/hang/impatient")) {
        Err(HttpError::Timeout { endpoint }) => assert_eq!(endpoint, "impatient"),
        other => panic!("expected a timeout, got {other:?}"),
    }
    // The patient call is still waiting, and gets its answer once released.
    upstream.release.open();
    assert_eq!(patient.join().unwrap().unwrap(), "released");

    let impatient = semaphore(client.registry(), "impatient");
    assert_eq!((impatient.active, impatient.permitted), (0, 1));
}

#[test]
fn statuses_routes_and_transport_failures_are_told_apart_and_the_stats_add_up() {
    let upstream = Upstream::start();
    let registry = Arc::new(Registry::new());
    registry.thread_pool("reports", |b| b.threads(1)).unwrap();
    let client = HttpClient::builder()
        .registry(Arc::clone(&registry))
        .endpoint_named("status", "/status", 4, Duration::from_secs(60))
        .endpoint_named("echo", "/echo", 4, Duration::from_secs(60))
        .endpoint_named("closed", "/closed", 0, Duration::from_secs(60))
        .build()
        .unwrap();

    let mut ok = 0;
    let mut statuses = 0;
    for code in [200, 404, 503, 500, 204] {
        match client.get(&upstream.url(&format!("/status/{code}"))) {
            Ok(response) => {
                assert_eq!(response.status(), code);
                ok += 1;
            }
            Err(HttpError::Status {
                endpoint,
                code: got,
            }) => {
                assert_eq!((endpoint.as_str(), got), ("status", code));
                statuses += 1;
            }
            Err(other) => panic!("{code}: {other}"),
        }
    }
    assert_eq!((ok, statuses), (2, 3));
    // A fragment is not sent; user info and query do not change the endpoint.
    let response = client.get(&upstream.url("/status/202?x=1#top")).unwrap();
    assert_eq!(response.status(), 202);
    drop(response); // gives the permit back
    ok += 1;

    let mut echoed = client.post(&upstream.url("/echo"), "cart=42").unwrap();
    assert_eq!(echoed.body_mut().read_to_string().unwrap(), "cart=42");
    let request = ureq::http::Request::put(upstream.url("/echo"))
        .body("quantity=2")
        .unwrap();
    let mut echoed = client.send(request).unwrap();
    assert_eq!(echoed.body_mut().read_to_string().unwrap(), "quantity=2");

    assert!(matches!(
        client.get(&upstream.url("/closed")),
        Err(HttpError::Rejected { endpoint }) if endpoint == "closed"
    ));
    assert!(matches!(
        client.get(&upstream.url("/unknown")),
        Err(HttpError::Route(RouteError::Unmatched { .. }))
    ));
    assert!(matches!(
        client.get("/status/200"),
        Err(HttpError::Route(RouteError::InvalidUrl { .. }))
    ));

    // Nothing listens on a port that was just released.
    let free = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let client_refused = HttpClient::builder()
        .endpoint_named("refused", &free.to_string(), 4, Duration::from_secs(60))
        .build()
        .unwrap();
    match client_refused.get(&format!("http://{free}/")) {
        Err(HttpError::Transport(_)) => {}
        other => panic!("expected a transport error, got {other:?}"),
    }
    assert_eq!(semaphore(client_refused.registry(), "refused").active, 0);

    // Every call that got a permit was answered, refused by a status or
    // failed; the rejected one never got a permit.
    let status = semaphore(&registry, "status");
    assert_eq!(
        (status.permitted, status.rejected, status.active),
        (ok + statuses, 0, 0)
    );
    let echo = semaphore(&registry, "echo");
    assert_eq!((echo.permitted, echo.active), (2, 0));
    let closed = semaphore(&registry, "closed");
    assert_eq!((closed.permitted, closed.rejected), (0, 1));
    // One table for the pool and the client's endpoints.
    assert_eq!(registry.names(), ["closed", "echo", "reports", "status"]);
}

#[test]
fn a_response_holds_its_permit_until_its_body_is_read_or_dropped() {
    let upstream = Upstream::start();
    let client = HttpClient::builder()
        .endpoint_named("checkout", "/checkout", 1, Duration::from_secs(60))
        .build()
        .unwrap();

    let mut response = client.get(&upstream.url("/checkout")).unwrap();
    assert_eq!(semaphore(client.registry(), "checkout").active, 1);
    assert!(matches!(
        client.get(&upstream.url("/checkout")),
        Err(HttpError::Rejected { .. })
    ));
    assert_eq!(response.body_mut().read_to_string().unwrap(), "ok");
    assert_eq!(semaphore(client.registry(), "checkout").active, 0);

    let unread = client.get(&upstream.url("/checkout")).unwrap();
    assert_eq!(semaphore(client.registry(), "checkout").active, 1);
    drop(unread);
    assert_eq!(semaphore(client.registry(), "checkout").active, 0);
}
