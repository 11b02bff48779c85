//! [`Router`]: picks the value (a bulkhead, a pool, a policy) that serves a
//! URL, by host and longest path prefix, whatever order the patterns were
//! given in.
//!
//! URLs and the hosts of patterns are parsed with the `url` crate, the
//! WHATWG URL parser that browsers follow and `reqwest` uses: it lowercases
//! hosts, turns international names into their ASCII form, normalises IPv4
//! and IPv6 addresses, and resolves dot segments (also encoded ones, such
//! as `%2e%2e`). Paths are then percent-decoded here and split into
//! segments.
//!
//! # How a URL is matched
//!
//! Patterns are kept in a tree per host, keyed by path segment, so a lookup
//! costs a hash lookup per segment of the URL's path, however many patterns
//! there are.

use std::borrow::Cow;
use std::collections::HashMap;
use std::error::Error;
use std::fmt;

use percent_encoding::percent_decode_str;
use url::Url;

/// Routes URLs to values by host and path prefix: one bulkhead per
/// endpoint of a remote service.
///
/// # The rule
///
/// A pattern is `[host[:port]]/path-prefix` (`api.example.com/search`,
/// `/checkout`, `[::1]:8080/internal`) or a bare `host[:port]`
/// (`api.example.com`, which covers every path on that host). For a URL:
///
/// 1. The patterns naming the URL's host come first: if any of them
///    matches, a hostless pattern never wins (as a server block is chosen
///    before its locations).
/// 2. Among the candidates left, the longest path prefix wins, on segment
///    boundaries: `/search` matches `/search` and `/search/x`, not
///    `/searching`.
/// 3. When a pattern with the URL's port and one without any port have the
///    same path prefix, the one with the port wins.
/// 4. Otherwise the [default](RouterBuilder::default), if there is one.
///
/// The answer does not depend on the order the patterns were added in.
///
/// # What is compared
///
/// * Hosts compare case-insensitively, in their ASCII form (`Bücher.example`
///   is `xn--bcher-kva.example`); a trailing dot is ignored. IPv6 hosts are
///   written in brackets (`[::1]`); addresses compare by value
///   (`[0:0::1]` is `[::1]`).
/// * A pattern without a port matches any port. A pattern with one matches
///   that port, also when the URL leaves it implicit (`https://h/` is port
///   443).
/// * Paths compare percent-decoded, segment by segment, after dot segments
///   are resolved, so `/search/%2e%2e/checkout` and `/%63heckout` are both
///   routed as `/checkout`. An encoded slash (`%2F`) separates segments
///   like a slash. Empty segments are dropped: the paths `/reports`, `/reports/` and
///   `//reports` are the same (a pattern is written `/reports` or `/reports/`).
/// * User info, query and fragment play no part.
///
/// # Examples
///
/// ```
/// use bulkheads::{RouteError, Router};
///
/// let router = Router::builder()
///     .route("api.example.com/search", "search")
///     .route("/checkout", "checkout")
///     .route("api.example.com", "api")
///     .default("general")
///     .build()?;
///
/// assert_eq!(router.route("https://api.example.com/search/v2?q=rust")?, &"search");
/// assert_eq!(router.route("https://API.example.com:8443/searching")?, &"api");
/// assert_eq!(router.route("http://shop.example.com/checkout/")?, &"checkout");
/// // A pattern naming the host beats a hostless one with a longer prefix.
/// assert_eq!(router.route("https://api.example.com/checkout")?, &"api");
/// assert_eq!(router.route("https://other.example.com/")?, &"general");
/// # Ok::<(), RouteError>(())
/// ```
#[derive(Clone)]
pub struct Router<B> {
    /// The patterns as written, with their values; the trees hold indices
    /// into it.
    routes: Vec<(String, B)>,
    /// Patterns naming a host, by normalised host.
    hosts: HashMap<String, HostRoutes>,
    /// Patterns without a host.
    hostless: Node,
    /// The value for URLs no pattern matches.
    default: Option<B>,
}

/// The patterns of one host: those without a port and those per port.
#[derive(Clone, Default)]
struct HostRoutes {
    any_port: Node,
    ports: HashMap<u16, Node>,
}

/// A node of a path tree: the route ending here, if any, and the subtrees
/// by next (decoded) segment.
#[derive(Clone, Default)]
struct Node {
    route: Option<usize>,
    children: HashMap<Box<[u8]>, Node>,
}

impl Node {
    /// Inserts `route` at `segments`; the route already there, if any.
    fn insert(&mut self, segments: &[&[u8]], route: usize) -> Option<usize> {
        let mut node = self;
        for segment in segments {
            node = node.children.entry(Box::from(*segment)).or_default();
        }
        match node.route {
            Some(existing) => Some(existing),
            None => {
                node.route = Some(route);
                None
            }
        }
    }

    /// The route with the longest prefix of `segments`, and that prefix's
    /// length in segments.
    fn longest(&self, segments: &[&[u8]]) -> Option<(usize, usize)> {
        let mut best = self.route.map(|route| (0, route));
        let mut node = self;
        for (depth, segment) in segments.iter().enumerate() {
            match node.children.get(*segment) {
                Some(child) => node = child,
                None => break,
            }
            if let Some(route) = node.route {
                best = Some((depth + 1, route));
            }
        }
        best
    }
}

impl<B> Router<B> {
    /// A builder with no patterns and no default.
    ///
    /// # Examples
    ///
    /// ```
    /// let router = bulkheads::Router::builder().route("/search", 1).build()?;
    /// assert_eq!(router.route("http://localhost/search")?, &1);
    /// # Ok::<(), bulkheads::RouteError>(())
    /// ```
    pub fn builder() -> RouterBuilder<B> {
        RouterBuilder {
            routes: Vec::new(),
            default: None,
        }
    }

    /// The value for `url`, chosen by the rule in the [type's
    /// documentation](Router).
    ///
    /// # Errors
    ///
    /// * [`RouteError::InvalidUrl`] when `url` is not an absolute URL with a
    ///   path (`/search`, `example.com/x`, `mailto:a@b`); the default is not
    ///   used for these.
    /// * [`RouteError::Unmatched`] when no pattern matches and there is no
    ///   default; it holds `url` as given.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{RouteError, Router};
    ///
    /// let router = Router::builder().route("/search", "search").build()?;
    /// assert_eq!(router.route("http://h/search/../search/v2")?, &"search");
    /// assert_eq!(
    ///     router.route("http://h/searching"),
    ///     Err(RouteError::Unmatched { url: "http://h/searching".into() })
    /// );
    /// assert!(matches!(router.route("/search"), Err(RouteError::InvalidUrl { .. })));
    /// # Ok::<(), RouteError>(())
    /// ```
    pub fn route(&self, url: &str) -> Result<&B, RouteError> {
        let parsed = Url::parse(url).map_err(|e| RouteError::InvalidUrl {
            url: url.to_owned(),
            reason: e.to_string(),
        })?;
        self.route_parsed(&parsed, url)
    }

    /// [`route`](Self::route) for a URL already parsed; `url` is the text
    /// to put in an error.
    pub(crate) fn route_parsed(&self, parsed: &Url, url: &str) -> Result<&B, RouteError> {
        if parsed.cannot_be_a_base() {
            return Err(RouteError::InvalidUrl {
                url: url.to_owned(),
                reason: "it has no hierarchical path (like `mailto:` or `data:` URLs)".to_owned(),
            });
        }
        let decoded = decode(parsed.path());
        let segments = segments(&decoded);
        let hosted = parsed
            .host_str()
            .and_then(|host| self.hosts.get(lowercase(trim_dot(host)).as_ref()))
            .and_then(|host| {
                let with_port = parsed
                    .port_or_known_default()
                    .and_then(|port| host.ports.get(&port))
                    .and_then(|node| node.longest(&segments));
                let any_port = host.any_port.longest(&segments);
                match (with_port, any_port) {
                    // Equal prefixes: the pattern naming the port wins.
                    (Some(p), Some(a)) if a.0 > p.0 => Some(a),
                    (Some(p), _) => Some(p),
                    (None, a) => a,
                }
            });
        let found = hosted.or_else(|| self.hostless.longest(&segments));
        match (found, &self.default) {
            (Some((_, route)), _) => Ok(&self.routes[route].1),
            (None, Some(default)) => Ok(default),
            (None, None) => Err(RouteError::Unmatched {
                url: url.to_owned(),
            }),
        }
    }

    /// The same router with `f` applied to every value; the first error
    /// `f` returns, if any.
    #[cfg(feature = "http")]
    pub(crate) fn try_map<C, E>(
        self,
        mut f: impl FnMut(B) -> Result<C, E>,
    ) -> Result<Router<C>, E> {
        let mut routes = Vec::with_capacity(self.routes.len());
        for (pattern, value) in self.routes {
            routes.push((pattern, f(value)?));
        }
        Ok(Router {
            routes,
            hosts: self.hosts,
            hostless: self.hostless,
            default: self.default.map(f).transpose()?,
        })
    }

    /// The number of patterns (the default not counted).
    ///
    /// # Examples
    ///
    /// ```
    /// let router = bulkheads::Router::builder().route("/a", 1).route("/b", 2).default(0).build()?;
    /// assert_eq!(router.len(), 2);
    /// # Ok::<(), bulkheads::RouteError>(())
    /// ```
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// Whether there are no patterns (there may still be a default).
    ///
    /// # Examples
    ///
    /// ```
    /// let router = bulkheads::Router::builder().default("all").build()?;
    /// assert!(router.is_empty());
    /// assert_eq!(router.route("https://example.com/")?, &"all");
    /// # Ok::<(), bulkheads::RouteError>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// The patterns as written, with their values, in the order they were
    /// added, and then the default (with `None` as its pattern).
    ///
    /// # Examples
    ///
    /// ```
    /// let router = bulkheads::Router::builder().route("/a", 1).default(0).build()?;
    /// let all: Vec<_> = router.iter().collect();
    /// assert_eq!(all, [(Some("/a"), &1), (None, &0)]);
    /// # Ok::<(), bulkheads::RouteError>(())
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (Option<&str>, &B)> {
        self.routes
            .iter()
            .map(|(pattern, value)| (Some(pattern.as_str()), value))
            .chain(self.default.iter().map(|value| (None, value)))
    }
}

impl<B: fmt::Debug> fmt::Debug for Router<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Router")
            .field("routes", &self.routes)
            .field("default", &self.default)
            .finish()
    }
}

/// Collects the patterns and the default of a [`Router`]; [`build`]
/// checks them.
///
/// [`build`]: RouterBuilder::build
///
/// # Examples
///
/// ```
/// use bulkheads::{Router, SemaphoreBulkhead};
/// use std::sync::Arc;
///
/// let router: Router<Arc<SemaphoreBulkhead>> = Router::builder()
///     .route("api.example.com/search", Arc::new(SemaphoreBulkhead::new("search", 10)))
///     .route("/checkout", Arc::new(SemaphoreBulkhead::new("checkout", 50)))
///     .default(Arc::new(SemaphoreBulkhead::new("general", 20)))
///     .build()?;
/// let bulkhead = router.route("https://api.example.com/search/v2?q=rust")?;
/// assert_eq!(bulkhead.name(), "search");
/// # Ok::<(), bulkheads::RouteError>(())
/// ```
#[derive(Clone)]
pub struct RouterBuilder<B> {
    routes: Vec<(String, B)>,
    default: Option<B>,
}

impl<B> RouterBuilder<B> {
    /// Routes URLs matching `pattern` to `value`. The pattern is checked
    /// by [`build`](Self::build).
    ///
    /// # Examples
    ///
    /// ```
    /// let router = bulkheads::Router::builder()
    ///     .route("api.example.com:8443/search", "search on 8443")
    ///     .route("[::1]/internal", "internal")
    ///     .build()?;
    /// assert_eq!(router.route("https://api.example.com:8443/search")?, &"search on 8443");
    /// assert_eq!(router.route("http://[0:0::1]:9000/internal/x")?, &"internal");
    /// # Ok::<(), bulkheads::RouteError>(())
    /// ```
    pub fn route(mut self, pattern: impl Into<String>, value: B) -> Self {
        self.routes.push((pattern.into(), value));
        self
    }

    /// The value for URLs no pattern matches. Without one, such URLs are
    /// [`RouteError::Unmatched`]. A second call replaces the first value.
    ///
    /// # Examples
    ///
    /// ```
    /// let router = bulkheads::Router::builder().route("/a", "a").default("rest").build()?;
    /// assert_eq!(router.route("http://h/b")?, &"rest");
    /// # Ok::<(), bulkheads::RouteError>(())
    /// ```
    pub fn default(mut self, value: B) -> Self {
        self.default = Some(value);
        self
    }

    /// Checks the patterns and builds the router.
    ///
    /// # Errors
    ///
    /// * [`RouteError::MalformedPattern`] for the first pattern (in the
    ///   order given) that is empty, holds whitespace, a control character,
    ///   a query, a fragment, a scheme or user info, names a host the URL
    ///   parser rejects, an IPv6 address without brackets, or a port that is
    ///   not a number from 0 to 65535.
    /// * [`RouteError::DuplicatePattern`] when two patterns are the same
    ///   after normalisation (`/reports` and `/reports/`,
    ///   `API.example.com` and `api.example.com`).
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{RouteError, Router};
    ///
    /// let err = Router::builder().route("/reports", 1).route("/reports/", 2).build().unwrap_err();
    /// assert_eq!(
    ///     err,
    ///     RouteError::DuplicatePattern { pattern: "/reports/".into(), first: "/reports".into() }
    /// );
    /// let err = Router::builder().route("/search?q=x", 1).build().unwrap_err();
    /// assert!(matches!(err, RouteError::MalformedPattern { .. }));
    /// ```
    pub fn build(self) -> Result<Router<B>, RouteError> {
        let mut router = Router {
            routes: Vec::with_capacity(self.routes.len()),
            hosts: HashMap::new(),
            hostless: Node::default(),
            default: self.default,
        };
        for (index, (pattern, value)) in self.routes.into_iter().enumerate() {
            let parsed =
                Pattern::parse(&pattern).map_err(|reason| RouteError::MalformedPattern {
                    pattern: pattern.clone(),
                    reason,
                })?;
            let decoded = decode(&parsed.path);
            let segments = segments(&decoded);
            let node = match parsed.host {
                None => &mut router.hostless,
                Some(host) => {
                    let host = router.hosts.entry(host).or_default();
                    match parsed.port {
                        None => &mut host.any_port,
                        Some(port) => host.ports.entry(port).or_default(),
                    }
                }
            };
            if let Some(first) = node.insert(&segments, index) {
                return Err(RouteError::DuplicatePattern {
                    first: router.routes[first].0.clone(),
                    pattern,
                });
            }
            router.routes.push((pattern, value));
        }
        Ok(router)
    }
}

impl<B: fmt::Debug> fmt::Debug for RouterBuilder<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RouterBuilder")
            .field("routes", &self.routes)
            .field("default", &self.default)
            .finish()
    }
}

/// A pattern taken apart: normalised host, port, and the path as the URL
/// parser left it (dot segments resolved, still percent-encoded).
struct Pattern {
    host: Option<String>,
    port: Option<u16>,
    path: String,
}

impl Pattern {
    /// Parses `pattern`, or says what is wrong with it.
    fn parse(pattern: &str) -> Result<Pattern, String> {
        if pattern.is_empty() {
            return Err("it is empty".to_owned());
        }
        if pattern.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("it holds whitespace or a control character".to_owned());
        }
        if pattern.contains('?') {
            return Err("it holds a query (`?`); the query plays no part in routing".to_owned());
        }
        if pattern.contains('#') {
            return Err(
                "it holds a fragment (`#`); the fragment plays no part in routing".to_owned(),
            );
        }
        if pattern.contains("://") {
            return Err("it names a scheme; write the host without it".to_owned());
        }
        if pattern.starts_with("//") {
            return Err("it starts with `//`; write the host without slashes before it".to_owned());
        }
        let (authority, path) = match pattern.find('/') {
            Some(0) => ("", pattern),
            Some(slash) => pattern.split_at(slash),
            None => (pattern, "/"),
        };
        // The path goes through the same parser as the URLs it will meet.
        let path = Url::parse(&format!("http://pattern.invalid{path}"))
            .map_err(|e| format!("its path does not parse: {e}"))?
            .path()
            .to_owned();
        if authority.is_empty() {
            return Ok(Pattern {
                host: None,
                port: None,
                path,
            });
        }
        if authority.contains('@') {
            return Err("it holds user info (`@`); user info plays no part in routing".to_owned());
        }
        let (host, port) = split_port(authority)?;
        let host = normalise_host(host)?;
        Ok(Pattern {
            host: Some(host),
            port,
            path,
        })
    }
}

/// Splits `host[:port]`, with IPv6 hosts in brackets.
fn split_port(authority: &str) -> Result<(&str, Option<u16>), String> {
    let (host, port) = if authority.starts_with('[') {
        let close = authority
            .find(']')
            .ok_or("its IPv6 host has no closing `]`")?;
        let (host, rest) = authority.split_at(close + 1);
        match rest.strip_prefix(':') {
            Some(port) => (host, Some(port)),
            None if rest.is_empty() => (host, None),
            None => return Err(format!("`{rest}` follows its IPv6 host; expected `:port`")),
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        None => None,
        Some(port) if port.contains(':') => {
            return Err("its host holds `:`; write IPv6 hosts in brackets, as `[::1]`".to_owned())
        }
        Some(port) => Some(
            port.parse::<u16>()
                .ok()
                .filter(|_| port.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| format!("its port `{port}` is not a number from 0 to 65535"))?,
        ),
    };
    if host.is_empty() {
        return Err("its host is empty".to_owned());
    }
    Ok((host, port))
}

/// The host as the URL parser writes it for URLs (lowercase, ASCII,
/// addresses normalised), without a trailing dot.
fn normalise_host(host: &str) -> Result<String, String> {
    let url = Url::parse(&format!("http://{host}/"))
        .map_err(|e| format!("its host `{host}` does not parse: {e}"))?;
    match url.host_str() {
        // Anything the parser read as more than a host (a backslash starts
        // a path in http URLs) is not a host.
        Some(parsed) if url.path() == "/" && url.port().is_none() => {
            Ok(trim_dot(parsed).to_owned())
        }
        _ => Err(format!("`{host}` is not a host name or address")),
    }
}

/// `host` without one trailing dot (`example.com.` is `example.com`).
fn trim_dot(host: &str) -> &str {
    match host.strip_suffix('.') {
        Some(trimmed) if !trimmed.is_empty() => trimmed,
        _ => host,
    }
}

/// `host` in lowercase. The URL parser lowercases the hosts of `http`,
/// `https`, `ws`, `wss`, `ftp` and `file` URLs; other schemes' hosts keep
/// their case.
fn lowercase(host: &str) -> Cow<'_, str> {
    if host.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(host.to_ascii_lowercase())
    } else {
        Cow::Borrowed(host)
    }
}

/// `path` percent-decoded, as bytes.
fn decode(path: &str) -> Cow<'_, [u8]> {
    percent_decode_str(path).into()
}

/// The segments of a decoded path: split at `/`, empty and `.` segments
/// dropped, `..` taking the segment before it away (decoding may have
/// made new ones out of `%2F`).
fn segments(decoded: &[u8]) -> Vec<&[u8]> {
    let mut segments = Vec::new();
    for segment in decoded.split(|&b| b == b'/') {
        match segment {
            b"" | b"." => {}
            b".." => {
                segments.pop();
            }
            _ => segments.push(segment),
        }
    }
    segments
}

/// Why a router could not be built, or could not route a URL.
///
/// # Examples
///
/// ```
/// use bulkheads::{RouteError, Router};
///
/// let router = Router::builder().route("/search", ()).build()?;
/// match router.route("https://example.com/checkout") {
///     Err(RouteError::Unmatched { url }) => assert_eq!(url, "https://example.com/checkout"),
///     other => unreachable!("{other:?}"),
/// }
/// # Ok::<(), RouteError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RouteError {
    /// No pattern matches the URL and the router has no default.
    Unmatched {
        /// The URL as given.
        url: String,
    },
    /// The string to route is not an absolute URL with a path.
    InvalidUrl {
        /// The string as given.
        url: String,
        /// What the URL parser said.
        reason: String,
    },
    /// A pattern cannot be read (reported by [`RouterBuilder::build`]).
    MalformedPattern {
        /// The pattern as given.
        pattern: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Two patterns are the same after normalisation (reported by
    /// [`RouterBuilder::build`]).
    DuplicatePattern {
        /// The later pattern, as given.
        pattern: String,
        /// The earlier pattern it repeats, as given.
        first: String,
    },
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RouteError::Unmatched { url } => write!(
                f,
                "no route for `{url}`: no pattern matches its host and path and there is no default; add a pattern or a default"
            ),
            RouteError::InvalidUrl { url, reason } => write!(
                f,
                "cannot route `{url}`: {reason}; give an absolute URL such as `https://host/path`"
            ),
            RouteError::MalformedPattern { pattern, reason } => write!(
                f,
                "malformed route pattern `{pattern}`: {reason}; write `[host[:port]]/path-prefix` or `host[:port]`"
            ),
            RouteError::DuplicatePattern { pattern, first } => write!(
                f,
                "route pattern `{pattern}` is the same as `{first}`; give each pattern once"
            ),
        }
    }
}

impl Error for RouteError {}
