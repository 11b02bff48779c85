//! Registry: create-or-get by name, kind conflicts, reports, shutdown.

use std::sync::{Arc, Barrier};
use std::thread;

use bulkheads::{
    BuildErrorKind, BulkheadStats, Registry, RejectReason, SemaphoreBulkhead, ThreadPoolBulkhead,
};

mod common;

#[test]
fn a_second_call_with_the_same_name_returns_the_same_bulkhead_unchanged() {
    let registry = Registry::new();
    let pool = registry.thread_pool("search", |b| b.threads(2)).unwrap();
    let again = registry.thread_pool("search", |b| b.threads(9)).unwrap();
    assert!(Arc::ptr_eq(&pool, &again));
    assert_eq!(again.stats().threads, 2);

    let sem = registry.semaphore("checkout", 5).unwrap();
    let again = registry.semaphore("checkout", 50).unwrap();
    assert!(Arc::ptr_eq(&sem, &again));
    assert_eq!(again.max_concurrent(), 5);
    let with = registry
        .semaphore_with("checkout", |b| b.max_concurrent(1))
        .unwrap();
    assert!(Arc::ptr_eq(&sem, &with));

    assert!(Arc::ptr_eq(
        &pool,
        &registry.get_thread_pool("search").unwrap()
    ));
    assert!(Arc::ptr_eq(
        &sem,
        &registry.get_semaphore("checkout").unwrap()
    ));
}

#[test]
fn a_name_used_by_the_other_kind_is_a_kind_conflict() {
    let registry = Registry::new();
    registry.thread_pool("search", |b| b.threads(1)).unwrap();
    registry.semaphore("checkout", 1).unwrap();
    let err = registry.semaphore("search", 1).unwrap_err();
    assert_eq!(err.kind(), BuildErrorKind::KindConflict);
    let err = registry
        .thread_pool("checkout", |b| b.threads(1))
        .unwrap_err();
    assert_eq!(err.kind(), BuildErrorKind::KindConflict);
    assert!(registry.get_semaphore("search").is_none());
    assert!(registry.get_thread_pool("checkout").is_none());
}

#[test]
fn invalid_configuration_is_an_error_and_registers_nothing() {
    let registry = Registry::new();
    let err = registry.thread_pool("bad", |b| b.threads(0)).unwrap_err();
    assert_eq!(err.kind(), BuildErrorKind::ZeroThreads);
    let err = registry.semaphore("", 1).unwrap_err();
    assert_eq!(err.kind(), BuildErrorKind::EmptyName);
    assert!(registry.names().is_empty());
}

#[test]
fn racing_creators_from_eight_threads_get_one_instance() {
    for round in 0..20 {
        let registry = Arc::new(Registry::new());
        let barrier = Arc::new(Barrier::new(8));
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (registry, barrier) = (registry.clone(), barrier.clone());
                thread::spawn(move || {
                    barrier.wait();
                    let pool = registry.thread_pool("shared", |b| b.threads(1)).unwrap();
                    let sem = registry.semaphore("sem", 3).unwrap();
                    (pool, sem)
                })
            })
            .collect();
        let pools: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let (first_pool, first_sem) = &pools[0];
        for (pool, sem) in &pools {
            assert!(Arc::ptr_eq(first_pool, pool), "round {round}");
            assert!(Arc::ptr_eq(first_sem, sem), "round {round}");
        }
        assert_eq!(registry.names(), ["sem", "shared"]);
    }
}

#[test]
fn stats_has_one_entry_per_bulkhead_sorted_by_name() {
    let registry = Registry::new();
    registry.semaphore("zeta", 1).unwrap();
    registry.thread_pool("alpha", |b| b.threads(1)).unwrap();
    let checkout = registry.semaphore("mid", 4).unwrap();
    let _held = checkout.try_acquire().unwrap();
    let stats = registry.stats();
    let names: Vec<_> = stats.iter().map(BulkheadStats::name).collect();
    assert_eq!(names, ["alpha", "mid", "zeta"]);
    match &stats[1] {
        BulkheadStats::Semaphore(s) => assert_eq!((s.active, s.max_concurrent), (1, 4)),
        other => panic!("expected a semaphore, got {other:?}"),
    }
    assert!(matches!(stats[0], BulkheadStats::ThreadPool(_)));
}

#[test]
fn the_table_contains_a_header_and_every_name() {
    let registry = Registry::new();
    registry.semaphore("checkout", 50).unwrap();
    registry
        .thread_pool("search", |b| b.threads(2).queue_capacity(10))
        .unwrap();
    let table = registry.table().to_string();
    let lines: Vec<_> = table.lines().collect();
    assert_eq!(lines.len(), 3);
    for column in [
        "name", "kind", "limit", "active", "waiting", "rejected", "util",
    ] {
        assert!(lines[0].contains(column), "missing column {column}");
    }
    assert!(lines[1].starts_with("checkout") && lines[1].contains("semaphore"));
    assert!(lines[2].starts_with("search") && lines[2].contains("thread pool"));
    assert_eq!(registry.to_string(), table);
}

#[test]
fn remove_forgets_a_name_so_it_can_be_reused() {
    let registry = Registry::new();
    let old = registry.semaphore("legacy", 1).unwrap();
    assert!(registry.remove("legacy"));
    assert!(!registry.remove("legacy"));
    assert!(registry.get_semaphore("legacy").is_none());
    let pool = registry.thread_pool("legacy", |b| b.threads(1)).unwrap();
    assert_eq!(pool.execute(|| 3).unwrap(), 3);
    // The removed semaphore still works for whoever holds it.
    assert!(old.try_acquire().is_ok());
}

#[test]
fn shutdown_stops_every_pool() {
    let registry = Registry::new();
    let a = registry.thread_pool("a", |b| b.threads(1)).unwrap();
    let b = registry.thread_pool("b", |b| b.threads(2)).unwrap();
    let sem = registry.semaphore("c", 1).unwrap();
    registry.shutdown();
    for pool in [&a, &b] {
        assert!(pool.is_shut_down());
        let rejected = pool.try_submit(|| ()).unwrap_err();
        assert_eq!(rejected.reason(), RejectReason::ShutDown);
    }
    assert!(sem.try_acquire().is_ok(), "semaphores are left as they are");
    assert_eq!(registry.names(), ["a", "b", "c"]);
}

#[test]
fn a_registry_is_send_sync_default_and_debug() {
    fn assert_traits<T: Send + Sync + Default + std::fmt::Debug>() {}
    assert_traits::<Registry>();
    let registry = Registry::default();
    registry.semaphore("x", 1).unwrap();
    assert!(format!("{registry:?}").contains('x'));
}

#[test]
fn replace_keeps_the_totals_of_the_compartment_it_replaced() {
    let registry = Registry::new();
    let old = registry
        .thread_pool("search", |b| b.threads(1).queue_capacity(0))
        .unwrap();
    old.execute(|| ()).unwrap();
    old.execute(|| ()).unwrap();
    let (gate, running) = common::occupy(&old, 1);
    assert!(old.try_submit(|| ()).unwrap_err().is_full());
    gate.open();
    running.into_iter().for_each(|h| h.join().unwrap());

    let rebuilt = ThreadPoolBulkhead::builder("search")
        .threads(3)
        .queue_capacity(5)
        .build()
        .unwrap();
    let new = registry.replace("search", rebuilt).unwrap();
    assert!(old.is_shut_down(), "the old pool was shut down");
    assert!(old.try_submit(|| ()).unwrap_err().is_shut_down());
    assert!(Arc::ptr_eq(
        &new,
        &registry.get_thread_pool("search").unwrap()
    ));
    new.execute(|| ()).unwrap();

    let BulkheadStats::ThreadPool(row) = &registry.stats()[0] else {
        panic!("a thread pool row");
    };
    // 3 + 1 submitted; the refusal made through the old `Arc` after the
    // replace is past its final totals and not reported.
    assert_eq!((row.threads, row.queue_capacity), (3, 5));
    assert_eq!(
        (row.submitted, row.completed, row.rejected),
        (4, 4, 1),
        "the old pool's totals are reported with the new one's"
    );
    assert_eq!(new.stats().submitted, 1, "the new pool counts its own");

    // A second replace keeps both predecessors' totals.
    registry
        .replace(
            "search",
            ThreadPoolBulkhead::builder("search")
                .threads(1)
                .build()
                .unwrap(),
        )
        .unwrap();
    assert!(new.is_shut_down());
    let BulkheadStats::ThreadPool(row) = &registry.stats()[0] else {
        panic!("a thread pool row");
    };
    assert_eq!((row.threads, row.submitted, row.completed), (1, 4, 4));
}

#[test]
fn replace_refuses_another_name_or_another_kind() {
    let registry = Registry::new();
    registry.semaphore("checkout", 2).unwrap();
    let pool = ThreadPoolBulkhead::builder("checkout")
        .threads(1)
        .build()
        .unwrap();
    let err = registry.replace("checkout", pool).unwrap_err();
    assert_eq!(err.kind(), BuildErrorKind::KindConflict);
    let err = registry
        .replace("checkout", SemaphoreBulkhead::new("payments", 2))
        .unwrap_err();
    assert_eq!(err.kind(), BuildErrorKind::NameMismatch);
    assert_eq!(
        registry.get_semaphore("checkout").unwrap().max_concurrent(),
        2
    );

    // A free name is simply taken.
    let fresh = registry
        .replace("fresh", SemaphoreBulkhead::new("fresh", 1))
        .unwrap();
    assert!(Arc::ptr_eq(
        &fresh,
        &registry.get_semaphore("fresh").unwrap()
    ));
}

#[test]
fn the_table_shows_a_pools_limit_as_threads_plus_queue_and_the_totals() {
    let registry = Registry::new();
    let search = registry
        .thread_pool("search", |b| b.threads(4).queue_capacity(16))
        .unwrap();
    search.execute(|| ()).unwrap();
    let checkout = registry.semaphore("checkout", 50).unwrap();
    drop(checkout.try_acquire().unwrap());
    let table = registry.table().to_string();
    let lines: Vec<Vec<&str>> = table
        .lines()
        .map(|l| {
            l.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect()
        })
        .collect();
    assert_eq!(
        lines[0],
        [
            "name",
            "kind",
            "limit",
            "active",
            "waiting",
            "submitted",
            "completed",
            "panicked",
            "rejected",
            "util"
        ]
    );
    assert_eq!(
        lines[1],
        [
            "checkout",
            "semaphore",
            "50",
            "0",
            "0",
            "1",
            "-",
            "-",
            "0",
            "0%"
        ]
    );
    assert_eq!(
        lines[2],
        [
            "search",
            "thread pool",
            "4+16",
            "0",
            "0",
            "1",
            "1",
            "0",
            "0",
            "0%"
        ]
    );
}
