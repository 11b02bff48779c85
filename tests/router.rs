//! Router: which pattern serves a URL, whatever order the patterns came in.

mod common;

use bulkheads::{RouteError, Router, SemaphoreBulkhead};
use std::sync::Arc;

use common::Rng;

/// The patterns under test, with the name each routes to.
const PATTERNS: &[(&str, &str)] = &[
    ("api.example.com/search", "api-search"),
    ("api.example.com/search/v2", "api-search-v2"),
    ("api.example.com", "api"),
    ("api.example.com:8443/search", "api-8443-search"),
    ("/search", "search"),
    ("/checkout", "checkout"),
    ("/reports/", "reports"),
    ("[::1]/internal", "ipv6-internal"),
    ("127.0.0.1:9000", "local-9000"),
    ("/files/caf%C3%A9", "cafe"),
    ("bücher.example/katalog", "idn"),
];

/// URL → the route it must take with `PATTERNS` and a default.
const TABLE: &[(&str, &str)] = &[
    // A host pattern, prefixes on segment boundaries.
    ("https://api.example.com/search", "api-search"),
    ("https://api.example.com/search/", "api-search"),
    ("https://api.example.com/search/v2/items", "api-search-v2"),
    ("https://api.example.com/search/v20", "api-search"),
    ("https://api.example.com/searching", "api"),
    ("https://api.example.com/", "api"),
    ("https://api.example.com", "api"),
    // A pattern naming the host beats a hostless one, however long.
    ("https://api.example.com/checkout/confirm", "api"),
    // Hosts: case, trailing dot, international names.
    ("https://API.Example.COM/search", "api-search"),
    ("https://api.example.com./search", "api-search"),
    ("http://BÜCHER.example/katalog/1", "idn"),
    ("https://xn--bcher-kva.example/katalog", "idn"),
    ("https://bücher.example/kat", "default"),
    // Ports: a pattern with the port wins at equal length; a longer
    // prefix without the port still wins; implicit ports count.
    ("https://api.example.com:8443/search/x", "api-8443-search"),
    ("https://api.example.com:8443/search/v2", "api-search-v2"),
    ("https://api.example.com:8443/", "api"),
    ("https://api.example.com:443/search", "api-search"),
    ("http://127.0.0.1:9000/anything", "local-9000"),
    ("http://127.0.0.1:9001/anything", "default"),
    ("http://127.0.0.1:9001/checkout", "checkout"),
    ("http://127.0.0.1/checkout", "checkout"),
    // IPv6 in brackets, compared by value.
    ("http://[::1]:8080/internal/x", "ipv6-internal"),
    ("http://[0:0:0:0:0:0:0:1]/internal", "ipv6-internal"),
    ("http://[::1]/search", "search"),
    ("http://[::2]/internal", "default"),
    // User info, query and fragment play no part.
    ("http://user:pw@api.example.com/search", "api-search"),
    ("http://checkout@shop.example.com/search", "search"),
    (
        "https://api.example.com/search?q=/checkout#/checkout",
        "api-search",
    ),
    ("https://shop.example.com/checkout#frag", "checkout"),
    ("https://shop.example.com/?/checkout", "default"),
    // Percent-decoded paths, dot segments resolved, empty segments dropped.
    ("https://api.example.com/%73earch", "api-search"),
    ("https://api.example.com/other/../search", "api-search"),
    ("https://api.example.com/other/%2e%2e/search", "api-search"),
    (
        "https://api.example.com/other/%2E./search/./v2",
        "api-search-v2",
    ),
    ("https://api.example.com/search%2Fv2", "api-search-v2"),
    (
        "https://shop.example.com/search%2F..%2Fcheckout",
        "checkout",
    ),
    ("https://api.example.com//search", "api-search"),
    ("https://shop.example.com/../../checkout", "checkout"),
    ("https://shop.example.com/files/café", "cafe"),
    ("https://shop.example.com/files/caf%c3%a9/menu", "cafe"),
    ("https://shop.example.com/files/cafe", "default"),
    // Hostless patterns, any host.
    ("https://shop.example.com/search", "search"),
    ("https://shop.example.com/searching", "default"),
    ("https://shop.example.com/checkout/confirm", "checkout"),
    ("https://shop.example.com/Checkout", "default"),
    ("https://shop.example.com/reports", "reports"),
    ("https://shop.example.com/reports/", "reports"),
    ("https://shop.example.com/reports/2024/q1", "reports"),
    ("ftp://files.example.com/search", "search"),
    ("git+ssh://API.example.com/search", "api-search"),
    ("file:///checkout/x", "checkout"),
];

fn router(patterns: &[(&'static str, &'static str)], default: bool) -> Router<&'static str> {
    let mut builder = Router::builder();
    for &(pattern, name) in patterns {
        builder = builder.route(pattern, name);
    }
    if default {
        builder = builder.default("default");
    }
    builder.build().expect("the test patterns are well formed")
}

fn answers(router: &Router<&'static str>) -> Vec<Result<&'static str, RouteError>> {
    TABLE
        .iter()
        .map(|(url, _)| router.route(url).copied())
        .collect()
}

#[test]
fn every_url_in_the_table_takes_its_route() {
    let router = router(PATTERNS, true);
    let mut wrong = Vec::new();
    for &(url, expected) in TABLE {
        match router.route(url) {
            Ok(&got) if got == expected => {}
            other => wrong.push(format!("{url}: expected {expected}, got {other:?}")),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn an_unmatched_url_without_a_default_is_unmatched_with_the_url_as_given() {
    let router = router(PATTERNS, false);
    for &(url, expected) in TABLE {
        let got = router.route(url);
        if expected == "default" {
            assert_eq!(
                got,
                Err(RouteError::Unmatched {
                    url: url.to_owned()
                })
            );
        } else {
            assert_eq!(got, Ok(&expected), "{url}");
        }
    }
}

#[test]
fn strings_that_are_not_absolute_urls_are_errors_even_with_a_default() {
    let router = router(PATTERNS, true);
    for url in [
        "",
        "/search",
        "search",
        "api.example.com/search",
        "not a url",
        "http://",
        "http://[::1/internal",
        "http://api.example.com:99999/search",
        "mailto:search@example.com",
        "data:text/plain,checkout",
    ] {
        match router.route(url) {
            Err(RouteError::InvalidUrl { url: given, .. }) => assert_eq!(given, url),
            other => panic!("{url:?}: expected InvalidUrl, got {other:?}"),
        }
    }
}

#[test]
fn the_same_patterns_in_any_order_give_the_same_answers() {
    let expected = answers(&router(PATTERNS, true));
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut patterns = PATTERNS.to_vec();
    for round in 0..300 {
        rng.shuffle(&mut patterns);
        assert_eq!(
            answers(&router(&patterns, true)),
            expected,
            "round {round}, order {patterns:?}"
        );
    }
}

/// Every permutation of `items` (Heap's algorithm).
fn permutations<T: Clone>(items: &mut [T], k: usize, out: &mut Vec<Vec<T>>) {
    if k <= 1 {
        out.push(items.to_vec());
        return;
    }
    for i in 0..k {
        permutations(items, k - 1, out);
        let j = if k % 2 == 0 { i } else { 0 };
        items.swap(j, k - 1);
    }
}

#[test]
fn every_insertion_order_of_overlapping_patterns_gives_the_same_answers() {
    // The first six patterns all compete for the same URLs.
    let mut overlapping = PATTERNS[..6].to_vec();
    let mut orders = Vec::new();
    let n = overlapping.len();
    permutations(&mut overlapping, n, &mut orders);
    assert_eq!(orders.len(), 720);
    let urls = [
        "https://api.example.com/search/v2/x",
        "https://api.example.com:8443/search/x",
        "https://api.example.com:8443/search/v2",
        "https://api.example.com/checkout",
        "https://shop.example.com/search/x",
        "https://shop.example.com/checkout",
    ];
    let route_all = |router: &Router<&'static str>| -> Vec<&'static str> {
        urls.iter().map(|url| *router.route(url).unwrap()).collect()
    };
    let first = route_all(&router(&orders[0], false));
    assert_eq!(
        first,
        [
            "api-search-v2",
            "api-8443-search",
            "api-search-v2",
            "api",
            "search",
            "checkout"
        ]
    );
    for order in &orders {
        assert_eq!(route_all(&router(order, false)), first, "order {order:?}");
    }
}

#[test]
fn malformed_patterns_are_refused_at_build() {
    for pattern in [
        "",
        " /search",
        "/search ",
        "/sea\trch",
        "/search?q=x",
        "/search#top",
        "https://api.example.com/search",
        "//api.example.com/search",
        "user@api.example.com/search",
        "api.example.com:http/search",
        "api.example.com:99999",
        "api.example.com:+80",
        "api.example.com:",
        ":8080/search",
        "::1/internal",
        "[::1/internal",
        "[::1]x/internal",
        "[::g]/internal",
        "api\\example.com/search",
        "api%example.com/search",
        "exa<mple.com",
    ] {
        let result = Router::builder().route(pattern, ()).build();
        match result {
            Err(RouteError::MalformedPattern {
                pattern: given,
                reason,
            }) => {
                assert_eq!(given, pattern);
                assert!(!reason.is_empty());
            }
            other => panic!("{pattern:?}: expected MalformedPattern, got {other:?}"),
        }
    }
}

#[test]
fn patterns_equal_after_normalisation_are_duplicates() {
    for (first, second) in [
        ("/reports", "/reports/"),
        ("/a//b", "/a/b"),
        ("API.example.com/search", "api.example.com/search"),
        ("api.example.com", "api.example.com/"),
        ("api.example.com.", "api.example.com"),
        ("/a/./b", "/a/b"),
        ("/a/x/../b", "/a/b"),
        ("/%61", "/a"),
        ("[0::1]:80", "[::1]:80"),
        ("bücher.example", "xn--bcher-kva.example"),
    ] {
        let result = Router::builder().route(first, 1).route(second, 2).build();
        assert_eq!(
            result.map(|_| ()),
            Err(RouteError::DuplicatePattern {
                pattern: second.to_owned(),
                first: first.to_owned()
            })
        );
    }
}

#[test]
fn a_pattern_with_a_port_and_one_without_are_different_patterns() {
    let router = Router::builder()
        .route("localhost", "any port")
        .route("localhost:8080", "8080")
        .route("localhost:80", "80")
        .build()
        .unwrap();
    assert_eq!(router.route("http://localhost:8080/x"), Ok(&"8080"));
    assert_eq!(router.route("http://localhost/x"), Ok(&"80"));
    assert_eq!(router.route("https://localhost/x"), Ok(&"any port"));
    assert_eq!(router.route("http://localhost:9/x"), Ok(&"any port"));
}

#[test]
fn a_router_routes_to_shared_bulkheads() {
    let search = Arc::new(SemaphoreBulkhead::new("search", 1));
    let general = Arc::new(SemaphoreBulkhead::new("general", 4));
    let router = Router::builder()
        .route("/search", Arc::clone(&search))
        .default(Arc::clone(&general))
        .build()
        .unwrap();
    let _held = router
        .route("https://example.com/search?q=1")
        .unwrap()
        .try_acquire()
        .unwrap();
    // The search compartment is full; the default one is not.
    assert!(router
        .route("https://example.com/search/2")
        .unwrap()
        .try_acquire()
        .is_err());
    assert!(router
        .route("https://example.com/home")
        .unwrap()
        .try_acquire()
        .is_ok());
    assert_eq!(search.stats().rejected, 1);
}

#[test]
fn arbitrary_strings_never_panic_as_urls_or_patterns() {
    const PIECES: &[&str] = &[
        "http",
        "https",
        ":",
        "//",
        "/",
        "[",
        "]",
        "::1",
        "@",
        "?",
        "#",
        "%",
        "%2e",
        "%2F",
        "%zz",
        "%",
        ".",
        "..",
        "a",
        "B",
        "ü",
        "\u{0}",
        " ",
        "\\",
        "80",
        "99999",
        "xn--",
        "-",
        "*",
        "example.com",
        "\u{200b}",
        "%C3",
        "%A9",
        "\u{1F600}",
    ];
    let patterns = Router::builder()
        .route("example.com/a", 1)
        .route("/a/b", 2)
        .route("[::1]:80", 3)
        .default(0)
        .build()
        .unwrap();
    let mut rng = Rng(42);
    for _ in 0..20_000 {
        let len = rng.below(12);
        let text: String = (0..len)
            .map(|_| PIECES[rng.below(PIECES.len() as u64)])
            .collect();
        // Any answer is fine; a panic fails the test.
        let _ = patterns.route(&text);
        let _ = patterns.route(&format!("http://example.com/{text}"));
        let _ = Router::builder().route(text.as_str(), ()).build();
    }
}
