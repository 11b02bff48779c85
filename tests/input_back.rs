//! The `*_with` submits hand the input itself back on rejection, and every
//! rejection names the bulkhead that refused.

mod common;

use bulkheads::{ExecuteError, RejectReason, SemaphoreBulkhead, ThreadPoolBulkhead};
use std::time::Duration;

/// A request that owns heap data, so that its identity is its address.
struct Request {
    body: Box<[u8; 64]>,
}

impl Request {
    fn new() -> Self {
        Request {
            body: Box::new([7; 64]),
        }
    }
    fn address(&self) -> *const [u8; 64] {
        &*self.body
    }
}

#[test]
fn try_submit_with_on_a_full_pool_returns_the_very_input() {
    let pool = common::pool("search", 1, 0);
    let (gate, running) = common::occupy(&pool, 1);
    let request = Request::new();
    let address = request.address();

    let rejected = pool.try_submit_with(request, |r| r.body.len()).unwrap_err();
    assert_eq!(rejected.reason(), RejectReason::Full);
    assert_eq!(rejected.bulkhead(), "search");
    let back = rejected.into_inner();
    assert_eq!(back.address(), address, "the same request, not a copy");

    let rejected = pool.try_spawn_with(back, drop).unwrap_err();
    let back = rejected.into_inner();
    assert_eq!(back.address(), address);

    let rejected = pool
        .submit_timeout_with(back, |r| r.body.len(), Duration::ZERO)
        .unwrap_err();
    assert_eq!(rejected.reason(), RejectReason::Timeout);
    let back = rejected.into_inner();
    assert_eq!(back.address(), address);

    gate.open();
    running.into_iter().for_each(|h| h.join().unwrap());
    let handle = pool
        .try_submit_with(back, |r| r.address() as usize)
        .unwrap();
    assert_eq!(
        handle.join().unwrap(),
        address as usize,
        "admitted, the task gets the very input"
    );
    assert_eq!(pool.stats().rejected, 3);
}

#[test]
fn the_blocking_with_submits_hand_the_input_back_after_a_shutdown() {
    let pool = common::pool("ingest", 1, 1);
    let sums: Vec<_> = (1..=3)
        .map(|n| {
            pool.submit_with(vec![n; n], |v| v.iter().sum::<usize>())
                .unwrap()
        })
        .collect();
    assert_eq!(
        sums.into_iter()
            .map(|h| h.join().unwrap())
            .collect::<Vec<_>>(),
        [1, 4, 9]
    );
    let (tx, rx) = std::sync::mpsc::channel();
    pool.spawn_with(String::from("record"), move |r| tx.send(r).unwrap())
        .unwrap();
    assert_eq!(rx.recv().unwrap(), "record");

    pool.shutdown();
    let request = Request::new();
    let address = request.address();
    let rejected = pool.submit_with(request, |r| r.body.len()).unwrap_err();
    assert_eq!(rejected.reason(), RejectReason::ShutDown);
    let rejected = pool.spawn_with(rejected.into_inner(), drop).unwrap_err();
    assert_eq!(rejected.into_inner().address(), address);
}

#[test]
fn a_rejection_names_the_bulkhead_in_its_message() {
    let pool = common::pool("search", 1, 0);
    let (gate, running) = common::occupy(&pool, 1);
    let rejected = pool.try_submit(|| ()).unwrap_err();
    assert_eq!(
        rejected.to_string(),
        "search: rejected, the bulkhead is full; retry later, shed the work, or use a fallback"
    );
    let err = pool.execute(|| ()).unwrap_err();
    assert_eq!(err.bulkhead(), Some("search"));
    assert!(matches!(&err, ExecuteError::Rejected(r) if r.is_full()));
    assert!(err
        .to_string()
        .starts_with("search: rejected, the bulkhead is full"));
    gate.open();
    running.into_iter().for_each(|h| h.join().unwrap());

    let checkout = SemaphoreBulkhead::new("checkout", 0);
    let refused = checkout.try_acquire().unwrap_err();
    assert_eq!(refused.bulkhead(), "checkout");
    assert!(refused.to_string().starts_with("checkout: rejected, "));
    assert_eq!(checkout.call(|| ()).unwrap_err().bulkhead(), "checkout");
}

#[test]
fn a_rejection_converts_into_an_io_error_of_the_matching_kind() {
    let pool = ThreadPoolBulkhead::builder("flush")
        .threads(1)
        .build()
        .unwrap();
    let (gate, running) = common::occupy(&pool, 1);
    let err = std::io::Error::from(pool.try_spawn(|| ()).unwrap_err());
    assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
    assert!(err.to_string().starts_with("flush: rejected"));
    gate.open();
    running.into_iter().for_each(|h| h.join().unwrap());
}
