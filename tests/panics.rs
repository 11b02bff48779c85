//! A panicking task is contained: the worker survives, the handle reports it.

mod common;

use bulkheads::{ExecuteError, TaskError, ThreadPoolBulkhead};
use std::collections::HashSet;
use std::sync::{Arc, Barrier, Mutex};

#[test]
fn a_panic_reaches_the_handle_with_its_payload() {
    common::quiet_intentional_panics();
    let pool = ThreadPoolBulkhead::builder("panics")
        .threads(1)
        .build()
        .unwrap();
    let err = pool
        .try_submit(|| -> u8 { panic!("intentional: boom") })
        .unwrap()
        .join()
        .unwrap_err();
    assert!(err.is_panic());
    assert_eq!(err.panic_message(), Some("intentional: boom"));
    match err {
        TaskError::Panicked(payload) => {
            assert_eq!(
                *payload.downcast_ref::<&str>().unwrap(),
                "intentional: boom"
            )
        }
        other => panic!("unexpected {other:?}"),
    }
    let err = pool
        .execute(|| -> u8 { std::panic::panic_any(42u32) })
        .unwrap_err();
    match err {
        ExecuteError::Panicked(payload) => assert_eq!(payload.downcast_ref::<u32>(), Some(&42)),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn workers_survive_panics_and_the_pool_keeps_its_size() {
    common::quiet_intentional_panics();
    let threads = 3;
    let pool = ThreadPoolBulkhead::builder("survivor")
        .threads(threads)
        .queue_capacity(100)
        .build()
        .unwrap();
    let handles: Vec<_> = (0..60)
        .map(|i| {
            pool.try_submit(move || {
                if i % 2 == 0 {
                    panic!("intentional {i}")
                } else {
                    i
                }
            })
            .unwrap()
        })
        .collect();
    let (mut ok, mut panicked) = (0, 0);
    for h in handles {
        match h.join() {
            Ok(_) => ok += 1,
            Err(e) => {
                assert!(e.is_panic());
                panicked += 1
            }
        }
    }
    assert_eq!((ok, panicked), (30, 30));
    pool.wait_idle();
    let stats = pool.stats();
    assert_eq!(
        (stats.completed, stats.panicked, stats.threads),
        (30, 30, threads)
    );

    // All three original workers are still there: three tasks can run at once.
    let barrier = Arc::new(Barrier::new(threads));
    let names = Arc::new(Mutex::new(HashSet::new()));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (b, n) = (barrier.clone(), names.clone());
            pool.try_submit(move || {
                b.wait();
                n.lock()
                    .unwrap()
                    .insert(std::thread::current().name().unwrap().to_owned());
            })
            .unwrap()
        })
        .collect();
    handles.into_iter().for_each(|h| h.join().unwrap());
    assert_eq!(names.lock().unwrap().len(), threads);
}

#[test]
fn a_panicking_spawned_task_is_counted() {
    common::quiet_intentional_panics();
    let pool = ThreadPoolBulkhead::builder("spawned")
        .threads(2)
        .queue_capacity(10)
        .build()
        .unwrap();
    for _ in 0..10 {
        pool.try_spawn(|| panic!("intentional")).unwrap();
    }
    pool.wait_idle();
    let stats = pool.stats();
    assert_eq!(
        (stats.submitted, stats.panicked, stats.completed),
        (10, 10, 0)
    );
    assert_eq!(pool.execute(|| 5).unwrap(), 5);
}
