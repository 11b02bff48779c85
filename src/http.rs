//! [`HttpClient`] (feature `http`): a `ureq` agent behind one
//! [`SemaphoreBulkhead`] and one timeout per endpoint of a remote service,
//! so a hanging `/search` cannot use up the calls `/checkout` needs.
//!
//! The endpoint of a request is chosen by a [`Router`]: the pattern naming
//! the URL's host and the longest path prefix (see [`Router`] for the rule).
//! Each endpoint's bulkhead is a semaphore in a [`Registry`], named after
//! the endpoint, so the client's endpoints appear in the same stats table
//! as the rest of the program's bulkheads.

use std::error::Error;
use std::fmt;
use std::io::{self, Read};
use std::sync::Arc;
use std::time::Duration;

use ureq::http::{Method, Request, Response};
use ureq::{AsSendBody, Body};
use url::Url;

use crate::error::BuildError;
use crate::registry::Registry;
use crate::router::{RouteError, Router};
use crate::semaphore::{OwnedPermit, SemaphoreBulkhead};

/// The name of the endpoint that [`HttpClientBuilder::default_endpoint`]
/// creates.
pub const DEFAULT_ENDPOINT: &str = "default";

/// An HTTP client with one bulkhead and one timeout per endpoint.
///
/// A request is routed to its endpoint by URL (see [`Router`]), takes one
/// of that endpoint's permits (at once, or within the semaphore's
/// `max_wait` if the registry already held one with a wait), and runs on
/// the client's [`ureq::Agent`] with the endpoint's timeout.
///
/// * **Permits.** The permit is held until the response body has been read
///   to its end or dropped, so a slow body counts against its endpoint as
///   much as slow headers do. Drop or read responses you do not need.
/// * **Timeouts.** An endpoint's timeout is ureq's
///   [`timeout_global`](ureq::config::ConfigBuilder::timeout_global) for
///   the request: it runs from the start of the call to the end of the
///   body. Expiry before the response arrives is [`HttpError::Timeout`];
///   expiry while the body is read is an `io::Error` from the body reader.
/// * **Statuses.** With ureq's default configuration a 4xx or 5xx answer
///   is [`HttpError::Status`]. An agent given to
///   [`HttpClientBuilder::agent`] with `http_status_as_error(false)`
///   returns them as responses instead.
///
/// `HttpClient` is `Send + Sync`; share it across threads by reference or
/// in an `Arc`.
///
/// # Examples
///
/// ```
/// use bulkheads::http::{HttpClient, HttpError};
/// use std::time::Duration;
///
/// // A local service that answers one request.
/// let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
/// let base = format!("http://{}", server.server_addr().to_ip().unwrap());
/// let service = std::thread::spawn(move || {
///     let request = server.recv().unwrap();
///     request.respond(tiny_http::Response::from_string("order placed")).unwrap();
/// });
///
/// let client = HttpClient::builder()
///     .endpoint("/search", 0, Duration::from_secs(2))   // closed: rejects every call
///     .endpoint("/checkout", 50, Duration::from_secs(5))
///     .build()?;
///
/// let mut response = client.get(&format!("{base}/checkout"))?;
/// assert_eq!(response.body_mut().read_to_string().unwrap(), "order placed");
///
/// let err = client.get(&format!("{base}/search?q=rust")).unwrap_err();
/// assert!(matches!(err, HttpError::Rejected { endpoint } if endpoint == "/search"));
///
/// print!("{}", client.registry().table());
/// service.join().unwrap();
/// # Ok::<(), HttpError>(())
/// ```
pub struct HttpClient {
    agent: ureq::Agent,
    router: Router<Endpoint>,
    registry: Arc<Registry>,
}

/// One endpoint: its bulkhead and its timeout.
#[derive(Debug)]
struct Endpoint {
    bulkhead: Arc<SemaphoreBulkhead>,
    timeout: Duration,
}

impl HttpClient {
    /// A builder with no endpoints, no default, its own registry and a
    /// default ureq agent.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::http::HttpClient;
    /// use std::time::Duration;
    ///
    /// let client = HttpClient::builder()
    ///     .endpoint("api.example.com/search", 10, Duration::from_secs(2))
    ///     .endpoint("api.example.com/checkout", 50, Duration::from_secs(5))
    ///     .default_endpoint(20, Duration::from_secs(10))
    ///     .build()?;
    /// assert_eq!(client.registry().names(), ["api.example.com/checkout", "api.example.com/search", "default"]);
    /// # Ok::<(), bulkheads::http::HttpError>(())
    /// ```
    pub fn builder() -> HttpClientBuilder {
        HttpClientBuilder {
            endpoints: Vec::new(),
            default: None,
            registry: None,
            agent: None,
        }
    }

    /// Sends a `GET` request to `url` through its endpoint's bulkhead.
    ///
    /// # Errors
    ///
    /// See [`HttpError`]: the URL has no endpoint or is not a URL
    /// ([`Route`](HttpError::Route)), the endpoint is full
    /// ([`Rejected`](HttpError::Rejected)), no response came within its
    /// timeout ([`Timeout`](HttpError::Timeout)), the answer was a 4xx or
    /// 5xx ([`Status`](HttpError::Status)), or ureq failed otherwise
    /// ([`Transport`](HttpError::Transport)).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # let client = bulkheads::http::HttpClient::builder()
    /// #     .default_endpoint(20, std::time::Duration::from_secs(10)).build()?;
    /// let mut response = client.get("https://api.example.com/search?q=rust")?;
    /// let body = response.body_mut().read_to_string().unwrap();
    /// # Ok::<(), bulkheads::http::HttpError>(())
    /// ```
    pub fn get(&self, url: &str) -> Result<Response<Body>, HttpError> {
        self.run(Method::GET, url, ())
    }

    /// Sends a `POST` request with `body` to `url` through its endpoint's
    /// bulkhead.
    ///
    /// # Errors
    ///
    /// As [`get`](Self::get).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # let client = bulkheads::http::HttpClient::builder()
    /// #     .default_endpoint(20, std::time::Duration::from_secs(10)).build()?;
    /// let response = client.post("https://api.example.com/checkout", "cart=42")?;
    /// assert_eq!(response.status(), 200);
    /// # Ok::<(), bulkheads::http::HttpError>(())
    /// ```
    pub fn post(&self, url: &str, body: impl AsSendBody) -> Result<Response<Body>, HttpError> {
        self.run(Method::POST, url, body)
    }

    /// Sends any request (method, headers and body as built with
    /// [`ureq::http::Request`]) through its endpoint's bulkhead. The
    /// endpoint is chosen by the request's URI, which must be absolute.
    ///
    /// # Errors
    ///
    /// As [`get`](Self::get).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use ureq::http::Request;
    /// # let client = bulkheads::http::HttpClient::builder()
    /// #     .default_endpoint(20, std::time::Duration::from_secs(10)).build()?;
    ///
    /// let request = Request::put("https://api.example.com/checkout/42")
    ///     .header("content-type", "application/json")
    ///     .body(r#"{"quantity":2}"#)
    ///     .unwrap();
    /// let response = client.send(request)?;
    /// # Ok::<(), bulkheads::http::HttpError>(())
    /// ```
    pub fn send<S: AsSendBody>(&self, request: Request<S>) -> Result<Response<Body>, HttpError> {
        let endpoint = self.router.route(&request.uri().to_string())?;
        self.call_on(endpoint, request)
    }

    /// The bulkhead that requests to `url` go through.
    ///
    /// # Errors
    ///
    /// As [`Router::route`].
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::http::HttpClient;
    /// use std::time::Duration;
    ///
    /// let client = HttpClient::builder()
    ///     .endpoint_named("search", "api.example.com/search", 10, Duration::from_secs(2))
    ///     .build()?;
    /// let search = client.bulkhead("https://api.example.com/search/v2")?;
    /// assert_eq!((search.name(), search.max_concurrent()), ("search", 10));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn bulkhead(&self, url: &str) -> Result<&Arc<SemaphoreBulkhead>, RouteError> {
        self.router.route(url).map(|endpoint| &endpoint.bulkhead)
    }

    /// The registry holding the endpoints' bulkheads: the one given to
    /// [`HttpClientBuilder::registry`], or the client's own.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::http::HttpClient;
    /// use std::time::Duration;
    ///
    /// let client = HttpClient::builder().endpoint("/search", 10, Duration::from_secs(2)).build()?;
    /// assert_eq!(client.registry().stats()[0].name(), "/search");
    /// # Ok::<(), bulkheads::http::HttpError>(())
    /// ```
    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// The ureq agent requests run on.
    ///
    /// # Examples
    ///
    /// ```
    /// let client = bulkheads::http::HttpClient::builder().build()?;
    /// assert!(client.agent().config().http_status_as_error());
    /// # Ok::<(), bulkheads::http::HttpError>(())
    /// ```
    pub fn agent(&self) -> &ureq::Agent {
        &self.agent
    }

    /// Routes `url`, parsed once so that ureq requests exactly the URL that
    /// was routed, and sends `method` with `body` to its endpoint.
    fn run<S: AsSendBody>(
        &self,
        method: Method,
        url: &str,
        body: S,
    ) -> Result<Response<Body>, HttpError> {
        let mut parsed = Url::parse(url).map_err(|e| RouteError::InvalidUrl {
            url: url.to_owned(),
            reason: e.to_string(),
        })?;
        let endpoint = self.router.route_parsed(&parsed, url)?;
        // A fragment is never sent.
        parsed.set_fragment(None);
        let request = Request::builder()
            .method(method)
            .uri(parsed.as_str())
            .body(body)
            .map_err(|e| HttpError::Transport(ureq::Error::Http(e)))?;
        self.call_on(endpoint, request)
    }

    /// Takes a permit of `endpoint`, sends `request` with the endpoint's
    /// timeout, and hands the permit to the response's body.
    fn call_on<S: AsSendBody>(
        &self,
        endpoint: &Endpoint,
        request: Request<S>,
    ) -> Result<Response<Body>, HttpError> {
        let bulkhead = &endpoint.bulkhead;
        let name = || bulkhead.name().to_owned();
        let admitted = if bulkhead.max_wait().is_zero() {
            bulkhead.try_acquire_owned()
        } else {
            bulkhead.acquire_owned_timeout(bulkhead.max_wait())
        };
        let permit = admitted.map_err(|_| HttpError::Rejected { endpoint: name() })?;
        let request = self
            .agent
            .configure_request(request)
            .timeout_global(Some(endpoint.timeout))
            .build();
        match self.agent.run(request) {
            Ok(response) => Ok(hold_until_read(response, permit)),
            Err(ureq::Error::Timeout(_)) => Err(HttpError::Timeout { endpoint: name() }),
            Err(ureq::Error::Io(e)) if e.kind() == io::ErrorKind::TimedOut => {
                Err(HttpError::Timeout { endpoint: name() })
            }
            Err(ureq::Error::StatusCode(code)) => Err(HttpError::Status {
                endpoint: name(),
                code,
            }),
            Err(e) => Err(HttpError::Transport(e)),
        }
    }
}

/// `response` with a body that gives `permit` back at its end or when it
/// is dropped.
fn hold_until_read(response: Response<Body>, permit: OwnedPermit) -> Response<Body> {
    let (parts, body) = response.into_parts();
    let mut rebuilt = Body::builder();
    if let Some(mime_type) = body.mime_type() {
        rebuilt = rebuilt.mime_type(mime_type);
    }
    // The reader has already decompressed and decoded the body; the new
    // one passes its bytes on as they are.
    let body = rebuilt.reader(PermitReader {
        inner: body.into_reader(),
        permit: Some(permit),
    });
    Response::from_parts(parts, body)
}

/// A body reader holding its endpoint's permit until the end of the body.
struct PermitReader<R> {
    inner: R,
    permit: Option<OwnedPermit>,
}

impl<R: Read> Read for PermitReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            // The end of the body: the endpoint's slot is free again.
            self.permit = None;
        }
        Ok(n)
    }
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("endpoints", &self.router)
            .finish_non_exhaustive()
    }
}

/// Configures an [`HttpClient`]: its endpoints, the registry their
/// bulkheads live in, and the ureq agent.
///
/// # Examples
///
/// ```
/// use bulkheads::http::HttpClient;
/// use bulkheads::Registry;
/// use std::{sync::Arc, time::Duration};
///
/// let registry = Arc::new(Registry::new());
/// registry.thread_pool("reports", |b| b.threads(2))?;
/// let client = HttpClient::builder()
///     .registry(Arc::clone(&registry))
///     .endpoint_named("search", "api.example.com/search", 10, Duration::from_secs(2))
///     .build()?;
/// // One table for the pool and the client's endpoint.
/// assert_eq!(registry.names(), ["reports", "search"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct HttpClientBuilder {
    /// The endpoints' patterns, in the order given.
    endpoints: Vec<(String, EndpointSpec)>,
    default: Option<EndpointSpec>,
    registry: Option<Arc<Registry>>,
    agent: Option<ureq::Agent>,
}

/// An endpoint as configured, before its bulkhead exists.
#[derive(Debug)]
struct EndpointSpec {
    name: String,
    max_concurrent: usize,
    timeout: Duration,
}

impl HttpClientBuilder {
    /// Adds an endpoint: URLs matching `pattern` (see [`Router`]) run at
    /// most `max_concurrent` at a time, each with `timeout`. Its bulkhead
    /// is a semaphore named `pattern` in the registry.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::http::HttpClient;
    /// use std::time::Duration;
    ///
    /// let client = HttpClient::builder()
    ///     .endpoint("api.example.com/search", 10, Duration::from_secs(2))
    ///     .build()?;
    /// assert_eq!(client.bulkhead("https://api.example.com/search")?.max_concurrent(), 10);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn endpoint(self, pattern: &str, max_concurrent: usize, timeout: Duration) -> Self {
        self.endpoint_named(pattern, pattern, max_concurrent, timeout)
    }

    /// As [`endpoint`](Self::endpoint), with the bulkhead named `name`.
    /// Endpoints given the same name share one bulkhead (the first one's
    /// limit counts), each with its own timeout; a semaphore of that name
    /// already in the registry is used as it is.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::http::HttpClient;
    /// use std::{sync::Arc, time::Duration};
    ///
    /// let client = HttpClient::builder()
    ///     .endpoint_named("payments", "/checkout", 5, Duration::from_secs(5))
    ///     .endpoint_named("payments", "/refunds", 5, Duration::from_secs(20))
    ///     .build()?;
    /// let checkout = client.bulkhead("https://shop.example.com/checkout")?;
    /// let refunds = client.bulkhead("https://shop.example.com/refunds/7")?;
    /// assert!(Arc::ptr_eq(checkout, refunds));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn endpoint_named(
        mut self,
        name: &str,
        pattern: &str,
        max_concurrent: usize,
        timeout: Duration,
    ) -> Self {
        self.endpoints.push((
            pattern.to_owned(),
            EndpointSpec {
                name: name.to_owned(),
                max_concurrent,
                timeout,
            },
        ));
        self
    }

    /// The endpoint for URLs no pattern matches, named
    /// [`DEFAULT_ENDPOINT`]. Without one, such URLs are
    /// [`HttpError::Route`] with [`RouteError::Unmatched`].
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::http::{HttpClient, DEFAULT_ENDPOINT};
    /// use std::time::Duration;
    ///
    /// let client = HttpClient::builder().default_endpoint(20, Duration::from_secs(10)).build()?;
    /// assert_eq!(client.bulkhead("https://example.com/anything")?.name(), DEFAULT_ENDPOINT);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn default_endpoint(mut self, max_concurrent: usize, timeout: Duration) -> Self {
        self.default = Some(EndpointSpec {
            name: DEFAULT_ENDPOINT.to_owned(),
            max_concurrent,
            timeout,
        });
        self
    }

    /// Registers the endpoints' bulkheads in `registry` instead of a
    /// registry of the client's own, so they appear in its stats table.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{http::HttpClient, Registry};
    /// use std::{sync::Arc, time::Duration};
    ///
    /// let registry = Arc::new(Registry::new());
    /// let client = HttpClient::builder()
    ///     .registry(Arc::clone(&registry))
    ///     .endpoint("/search", 10, Duration::from_secs(2))
    ///     .build()?;
    /// assert!(registry.get_semaphore("/search").is_some());
    /// # Ok::<(), bulkheads::http::HttpError>(())
    /// ```
    pub fn registry(mut self, registry: Arc<Registry>) -> Self {
        self.registry = Some(registry);
        self
    }

    /// The ureq agent to run requests on (for TLS, proxy, redirect or
    /// status settings). The default is `ureq::Agent::new_with_defaults()`.
    /// The endpoint's timeout replaces the agent's global timeout per
    /// request.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::http::HttpClient;
    ///
    /// let agent: ureq::Agent = ureq::Agent::config_builder()
    ///     .http_status_as_error(false)   // 4xx and 5xx come back as responses
    ///     .build()
    ///     .into();
    /// let client = HttpClient::builder().agent(agent).build()?;
    /// assert!(!client.agent().config().http_status_as_error());
    /// # Ok::<(), bulkheads::http::HttpError>(())
    /// ```
    pub fn agent(mut self, agent: ureq::Agent) -> Self {
        self.agent = Some(agent);
        self
    }

    /// Checks the patterns, creates (or finds) the endpoints' bulkheads in
    /// the registry, and builds the client.
    ///
    /// # Errors
    ///
    /// * [`HttpError::Route`] for a malformed or duplicate pattern (see
    ///   [`RouterBuilder::build`](crate::RouterBuilder::build)); nothing is
    ///   registered then.
    /// * [`HttpError::Build`] when an endpoint's name is taken in the
    ///   registry by another kind of bulkhead, or its limit is too large.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{http::{HttpClient, HttpError}, RouteError};
    /// use std::time::Duration;
    ///
    /// let err = HttpClient::builder()
    ///     .endpoint("/search", 10, Duration::from_secs(2))
    ///     .endpoint("/search/", 5, Duration::from_secs(1))
    ///     .build()
    ///     .unwrap_err();
    /// assert!(matches!(err, HttpError::Route(RouteError::DuplicatePattern { .. })));
    /// ```
    pub fn build(self) -> Result<HttpClient, HttpError> {
        let mut routes = Router::builder();
        for (pattern, spec) in self.endpoints {
            routes = routes.route(pattern, spec);
        }
        if let Some(spec) = self.default {
            routes = routes.default(spec);
        }
        let specs = routes.build()?;
        let registry = self.registry.unwrap_or_default();
        let router = specs.try_map(|spec| {
            Ok::<_, BuildError>(Endpoint {
                bulkhead: registry.semaphore(&spec.name, spec.max_concurrent)?,
                timeout: spec.timeout,
            })
        })?;
        Ok(HttpClient {
            agent: self.agent.unwrap_or_else(ureq::Agent::new_with_defaults),
            router,
            registry,
        })
    }
}

/// Why a request through an [`HttpClient`] (or building one) failed.
///
/// # Examples
///
/// ```
/// use bulkheads::http::{HttpClient, HttpError};
/// use std::time::Duration;
///
/// let client = HttpClient::builder().endpoint("/search", 0, Duration::from_secs(1)).build()?;
/// match client.get("https://api.example.com/search") {
///     Err(HttpError::Rejected { endpoint }) => assert_eq!(endpoint, "/search"),
///     other => unreachable!("{other:?}"),
/// }
/// # Ok::<(), HttpError>(())
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum HttpError {
    /// The endpoint's bulkhead was full: the request was not sent.
    Rejected {
        /// The endpoint's name.
        endpoint: String,
    },
    /// No response within the endpoint's timeout.
    Timeout {
        /// The endpoint's name.
        endpoint: String,
    },
    /// The server answered with a 4xx or 5xx status.
    Status {
        /// The endpoint's name.
        endpoint: String,
        /// The HTTP status code.
        code: u16,
    },
    /// The request failed in ureq for another reason (connection refused,
    /// DNS, TLS, protocol); the error is kept.
    Transport(ureq::Error),
    /// The URL is not a URL, or no endpoint matches it and there is no
    /// default endpoint; or, from [`HttpClientBuilder::build`], a pattern
    /// is malformed or repeated.
    Route(RouteError),
    /// From [`HttpClientBuilder::build`]: an endpoint's bulkhead could not
    /// be created.
    Build(BuildError),
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::Rejected { endpoint } => write!(
                f,
                "{endpoint}: rejected, the endpoint's bulkhead is full; the request was not sent: retry later, shed it, or use a fallback"
            ),
            HttpError::Timeout { endpoint } => write!(
                f,
                "{endpoint}: no response within the endpoint's timeout; the service may be slow or hanging"
            ),
            HttpError::Status { endpoint, code } => {
                write!(f, "{endpoint}: the server answered with status {code}")
            }
            HttpError::Transport(e) => write!(f, "the request failed: {e}"),
            HttpError::Route(e) => e.fmt(f),
            HttpError::Build(e) => e.fmt(f),
        }
    }
}

impl Error for HttpError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            HttpError::Transport(e) => Some(e),
            HttpError::Route(e) => Some(e),
            HttpError::Build(e) => Some(e),
            _ => None,
        }
    }
}

impl From<RouteError> for HttpError {
    fn from(e: RouteError) -> Self {
        HttpError::Route(e)
    }
}

impl From<BuildError> for HttpError {
    fn from(e: BuildError) -> Self {
        HttpError::Build(e)
    }
}
