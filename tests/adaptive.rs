//! Adaptive sizing: the deterministic rule, on semaphores and pools.

mod common;

use std::sync::Arc;
use std::time::Duration;

use bulkheads::{Adaptive, BuildErrorKind, SemaphoreBulkhead, ThreadPoolBulkhead};

fn semaphore(limit: usize) -> Arc<SemaphoreBulkhead> {
    Arc::new(SemaphoreBulkhead::new("adaptive", limit))
}

#[test]
fn a_mean_above_target_plus_a_tenth_grows_the_limit_by_half() {
    let b = semaphore(10);
    let adaptive = Adaptive::for_semaphore(b.clone(), 1, 100);
    adaptive.record(0.85);
    adaptive.record(0.95);
    assert_eq!(adaptive.tick().unwrap(), 15);
    assert_eq!(b.max_concurrent(), 15);
    assert_eq!(adaptive.tick_with(0.81).unwrap(), 23); // ⌈22.5⌉
}

#[test]
fn a_mean_below_target_minus_a_tenth_shrinks_the_limit_by_a_fifth() {
    let b = semaphore(10);
    let adaptive = Adaptive::for_semaphore(b.clone(), 1, 100);
    adaptive.record(0.0);
    adaptive.record(0.5);
    assert_eq!(adaptive.tick().unwrap(), 8); // mean 0.25
    assert_eq!(b.max_concurrent(), 8);
    assert_eq!(adaptive.tick_with(0.59).unwrap(), 6); // ⌊6.4⌋
}

#[test]
fn a_mean_inside_the_band_keeps_the_limit() {
    let b = semaphore(10);
    let adaptive = Adaptive::for_semaphore(b.clone(), 1, 100);
    for sample in [0.6, 0.7, 0.8] {
        assert_eq!(adaptive.tick_with(sample).unwrap(), 10, "sample {sample}");
    }
    // The mean decides, not the extremes: 0.2 and 1.0 average to 0.6.
    adaptive.record(0.2);
    adaptive.record(1.0);
    assert_eq!(adaptive.tick().unwrap(), 10);
    assert_eq!(b.max_concurrent(), 10);
}

#[test]
fn the_limit_is_clamped_to_min_and_max() {
    let b = semaphore(10);
    let adaptive = Adaptive::for_semaphore(b.clone(), 7, 12);
    assert_eq!(adaptive.tick_with(1.0).unwrap(), 12);
    assert_eq!(adaptive.tick_with(1.0).unwrap(), 12);
    assert_eq!(adaptive.tick_with(0.0).unwrap(), 9);
    assert_eq!(adaptive.tick_with(0.0).unwrap(), 7);
    assert_eq!(adaptive.tick_with(0.0).unwrap(), 7);
    assert_eq!(b.max_concurrent(), 7);
}

#[test]
fn small_limits_still_move_by_at_least_one() {
    let b = semaphore(1);
    let adaptive = Adaptive::for_semaphore(b.clone(), 0, 4);
    assert_eq!(adaptive.tick_with(1.0).unwrap(), 2);
    assert_eq!(adaptive.tick_with(0.0).unwrap(), 1);
    assert_eq!(adaptive.tick_with(0.0).unwrap(), 0);
    assert_eq!(
        adaptive.tick_with(1.0).unwrap(),
        1,
        "a closed compartment can reopen"
    );
}

#[test]
fn a_custom_target_moves_the_band() {
    let b = semaphore(10);
    let adaptive = Adaptive::for_semaphore(b, 1, 100).target(0.5);
    assert_eq!(adaptive.tick_with(0.65).unwrap(), 15);
    assert_eq!(adaptive.tick_with(0.35).unwrap(), 12);
    assert_eq!(adaptive.tick_with(0.5).unwrap(), 12);
}

#[test]
fn a_tick_without_samples_reads_the_bulkheads_utilization() {
    let b = semaphore(4);
    let adaptive = Adaptive::for_semaphore(b.clone(), 1, 100);
    let held: Vec<_> = (0..4).map(|_| b.try_acquire().unwrap()).collect();
    assert_eq!(adaptive.tick().unwrap(), 6); // 4/4 busy
    drop(held);
    assert_eq!(adaptive.tick().unwrap(), 4); // idle: ⌊4.8⌋
}

#[test]
fn resizing_a_busy_semaphore_loses_no_permit() {
    let b = semaphore(4);
    let adaptive = Adaptive::for_semaphore(b.clone(), 1, 100);
    let held: Vec<_> = (0..4).map(|_| b.try_acquire().unwrap()).collect();
    assert_eq!(adaptive.tick_with(0.0).unwrap(), 3);
    assert_eq!(b.stats().active, 4, "holders keep their permits");
    drop(held);
    assert_eq!(b.stats().active, 0);
    let again: Vec<_> = (0..3).map(|_| b.try_acquire().unwrap()).collect();
    assert!(b.try_acquire().is_err());
    drop(again);
}

#[test]
fn a_thread_pool_grows_and_shrinks_its_threads() {
    let pool = Arc::new(
        ThreadPoolBulkhead::builder("adaptive-pool")
            .threads(4)
            .build()
            .unwrap(),
    );
    let adaptive = Adaptive::for_thread_pool(pool.clone(), 2, 8);
    assert_eq!(adaptive.tick_with(0.9).unwrap(), 6);
    assert_eq!(pool.stats().threads, 6);
    assert_eq!(adaptive.tick_with(1.0).unwrap(), 8);
    assert_eq!(adaptive.tick_with(1.0).unwrap(), 8);
    assert_eq!(adaptive.tick_with(0.1).unwrap(), 6);
    assert_eq!(adaptive.tick_with(0.1).unwrap(), 4);
    assert_eq!(adaptive.tick_with(0.1).unwrap(), 3);
    assert_eq!(adaptive.tick_with(0.1).unwrap(), 2);
    assert_eq!(adaptive.tick_with(0.1).unwrap(), 2);
    assert_eq!(pool.stats().threads, 2);
    assert_eq!(pool.execute(|| 5).unwrap(), 5);
}

#[test]
fn a_pool_needs_at_least_one_thread_and_a_shut_down_pool_is_an_error() {
    let pool = Arc::new(
        ThreadPoolBulkhead::builder("adaptive-pool")
            .threads(1)
            .build()
            .unwrap(),
    );
    let adaptive = Adaptive::for_thread_pool(pool.clone(), 0, 4);
    assert_eq!(adaptive.min(), 1);
    assert_eq!(adaptive.tick_with(0.0).unwrap(), 1);
    pool.shutdown();
    let err = adaptive.tick_with(1.0).unwrap_err();
    assert_eq!(err.kind(), BuildErrorKind::ShutDown);
}

#[test]
fn the_driver_stops_when_its_handle_is_dropped() {
    let b = semaphore(10);
    // An hour-long interval: dropping must not wait for it.
    let driver = Adaptive::for_semaphore(b.clone(), 1, 100)
        .start(Duration::from_secs(3600))
        .unwrap();
    assert_eq!(driver.adaptive().limit(), 10);
    drop(driver);
    // The driver's clone of the Arc is gone: the thread has ended.
    assert_eq!(Arc::strong_count(&b), 1);
}

#[test]
fn the_driver_resizes_a_saturated_semaphore_by_itself() {
    let b = semaphore(2);
    let held: Vec<_> = (0..2).map(|_| b.try_acquire().unwrap()).collect();
    let driver = Adaptive::for_semaphore(b.clone(), 1, 3)
        .start(Duration::from_millis(10))
        .unwrap();
    // Fully busy: the driver must grow the limit to the max, 3.
    while b.max_concurrent() != 3 {
        std::thread::yield_now();
    }
    drop(driver);
    drop(held);
}

/// The names of this process's threads (as the kernel keeps them: 15
/// bytes at most).
fn thread_names() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .map(|tasks| {
            tasks
                .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
                .map(|n| n.trim().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// A driver whose pool is shut down stops by itself (its thread exits),
/// even when no resize is due.
#[cfg(target_os = "linux")]
#[test]
fn a_driver_stops_once_its_pool_is_shut_down() {
    let _watchdog = common::Watchdog::arm("driver stop", std::time::Duration::from_secs(60));
    let pool = std::sync::Arc::new(
        bulkheads::ThreadPoolBulkhead::builder("drv")
            .threads(2)
            .build()
            .unwrap(),
    );
    let driver = bulkheads::Adaptive::for_thread_pool(pool.clone(), 1, 4)
        .start(std::time::Duration::from_millis(1))
        .unwrap();
    // The thread names itself as it starts: wait until it has.
    while !thread_names().iter().any(|n| n == "drv-adaptive") {
        std::thread::yield_now();
    }
    pool.shutdown();
    while thread_names().iter().any(|n| n == "drv-adaptive") {
        std::thread::yield_now();
    }
    drop(driver);
}
