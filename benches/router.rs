//! Routing: the cost of `Router::route` for one URL as the number of
//! patterns grows (10, 1,000, 100,000), beside a linear scan that takes the
//! first pattern the URL contains, in insertion order (the seed's
//! `BulkheadHTTPClient` matching), all in the group `route`.
//!
//! Patterns: one host pattern per ten, `svc{i}.example.com/api/v{i}`, and
//! hostless `/{i}/items/{i}` for the rest. URLs:
//!
//! * `.../hit`: a URL matching the last pattern added, with a query, seven
//!   path segments and a port: the deepest walk the tree does for it, and
//!   the worst case for the scan;
//! * `.../miss`: a URL no pattern matches, answered by the default.
//!
//! Building the routers is not measured. Run:
//! `cargo bench --bench router -- --measurement-time 3 --warm-up-time 1`.

use std::hint::black_box;

use bulkheads::Router;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

fn patterns(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            if i % 10 == 0 {
                format!("svc{i}.example.com/api/v{i}")
            } else {
                format!("/{i}/items/{i}")
            }
        })
        .collect()
}

/// The URL routed to the last pattern of `patterns(n)`.
fn hit(n: usize) -> String {
    let last = n - 1;
    if last % 10 == 0 {
        format!("https://svc{last}.example.com:8443/api/v{last}/orders/7/lines/3/x?q=rust#top")
    } else {
        format!("https://shop.example.com:8443/{last}/items/{last}/orders/7/lines/3?q=rust#top")
    }
}

const MISS: &str = "https://shop.example.com:8443/none/of/these/orders/7/lines/3?q=rust#top";

/// The seed's matching: the first pattern (in insertion order) that the
/// URL contains.
fn linear_scan<'a>(patterns: &'a [(String, usize)], default: &'a usize, url: &str) -> &'a usize {
    patterns
        .iter()
        .find(|(pattern, _)| url.contains(pattern.as_str()))
        .map_or(default, |(_, value)| value)
}

fn route(c: &mut Criterion) {
    let mut group = c.benchmark_group("route");
    for n in [10, 1_000, 100_000] {
        let patterns = patterns(n);
        let mut builder = Router::builder();
        for (i, pattern) in patterns.iter().enumerate() {
            builder = builder.route(pattern.as_str(), i);
        }
        let router = builder
            .default(usize::MAX)
            .build()
            .expect("well-formed patterns");
        let scan: Vec<(String, usize)> = patterns.into_iter().zip(0..).collect();
        let default = usize::MAX;
        let hit = hit(n);
        assert_eq!(router.route(&hit), Ok(&(n - 1)));
        assert_eq!(router.route(MISS), Ok(&usize::MAX));
        assert_eq!(linear_scan(&scan, &default, &hit), &(n - 1));
        assert_eq!(linear_scan(&scan, &default, MISS), &usize::MAX);

        group.bench_with_input(
            BenchmarkId::new("bulkheads_router/hit", n),
            &hit,
            |b, url| b.iter(|| router.route(black_box(url))),
        );
        group.bench_with_input(
            BenchmarkId::new("bulkheads_router/miss", n),
            &MISS,
            |b, url| b.iter(|| router.route(black_box(url))),
        );
        group.bench_with_input(BenchmarkId::new("linear_scan/hit", n), &hit, |b, url| {
            b.iter(|| *linear_scan(&scan, &default, black_box(url)))
        });
        group.bench_with_input(BenchmarkId::new("linear_scan/miss", n), &MISS, |b, url| {
            b.iter(|| *linear_scan(&scan, &default, black_box(url)))
        });
    }
    group.finish();
}

criterion_group!(benches, route);
criterion_main!(benches);
