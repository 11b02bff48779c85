//! The `server` example, end to end: its own code serves on 127.0.0.1, a
//! real HTTP client floods `/search`, and `/checkout` keeps answering.
#![cfg(feature = "http")]

mod common;

// The example's code, as `cargo run --example server` runs it (its `main`
// is not used here).
#[allow(dead_code)]
#[path = "../examples/server.rs"]
mod server;

use std::thread;
use std::time::Duration;

use common::Watchdog;

/// Status and `Retry-After` header of a GET.
fn get(agent: &ureq::Agent, url: &str) -> (u16, Option<String>) {
    let response = agent.get(url).call().expect("the service answers");
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (response.status().as_u16(), retry_after)
}

#[test]
fn a_search_flood_gets_503s_with_retry_after_while_checkout_answers_200() {
    let _watchdog = Watchdog::arm("server example", Duration::from_secs(300));
    let listener = tiny_http::Server::http("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let base = format!("http://{}", listener.server_addr().to_ip().unwrap());
    let service = thread::spawn(move || server::serve(&listener, None).map_err(|e| e.to_string()));
    // Statuses come back as responses, so 503s can be read.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();

    // Search has 2 threads and 2 queue seats, each request takes its slot
    // for a while: a burst of 16 at once overflows it. Bursts repeat (a
    // bounded number of times) until one has been refused.
    let mut search = Vec::new();
    let mut checkout = Vec::new();
    for _burst in 0..10 {
        let flood: Vec<_> = (0..16)
            .map(|i| {
                let (agent, url) = (agent.clone(), format!("{base}/search?q={i}"));
                thread::spawn(move || get(&agent, &url))
            })
            .collect();
        // Checkout, meanwhile, one request after another.
        for _ in 0..5 {
            checkout.push(get(&agent, &format!("{base}/checkout")));
        }
        search.extend(flood.into_iter().map(|t| t.join().unwrap()));
        if search.iter().any(|(status, _)| *status == 503) {
            break;
        }
    }

    assert!(
        checkout.iter().all(|(status, _)| *status == 200),
        "{checkout:?}"
    );
    let refused: Vec<_> = search.iter().filter(|(status, _)| *status == 503).collect();
    assert!(
        !refused.is_empty(),
        "no search request was refused: {search:?}"
    );
    assert!(
        refused
            .iter()
            .all(|(_, retry)| retry.as_deref() == Some("1")),
        "{refused:?}"
    );
    assert!(
        search
            .iter()
            .all(|(status, _)| *status == 200 || *status == 503),
        "{search:?}"
    );
    assert!(
        search.iter().any(|(status, _)| *status == 200),
        "{search:?}"
    );

    // The stats table reports the refusals in search's row, none in checkout's.
    let mut stats = agent.get(&format!("{base}/stats")).call().unwrap();
    let table = stats.body_mut().read_to_string().unwrap();
    let row = |name: &str| -> Vec<String> {
        table
            .lines()
            .find(|line| line.starts_with(name))
            .unwrap_or_else(|| panic!("no `{name}` row in\n{table}"))
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    };
    // Columns: name, kind (two words), limit (threads+queue), active,
    // waiting, submitted, completed, panicked, rejected, util.
    assert_eq!(row("search")[3], "2+2", "{table}");
    assert_eq!(row("search")[9], refused.len().to_string(), "{table}");
    assert_eq!(row("checkout")[9], "0", "{table}");
    assert!(table.contains("analytics"), "{table}");

    assert_eq!(get(&agent, &format!("{base}/shutdown")).0, 200);
    let final_stats = service.join().unwrap().expect("the service ran");
    assert!(final_stats.contains("search"), "{final_stats}");
}
