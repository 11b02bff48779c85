//! Registry: create-or-get by name, kind conflicts, reports, shutdown.

use std::sync::{Arc, Barrier};
use std::thread;

use bulkheads::{BuildErrorKind, BulkheadStats, Registry, RejectReason};

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
