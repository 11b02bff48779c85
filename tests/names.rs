//! Worker threads carry the pool's name and index, and the configured stack.

mod common;

use bulkheads::ThreadPoolBulkhead;

#[test]
fn threads_are_named_name_dash_index() {
    let pool = ThreadPoolBulkhead::builder("search")
        .threads(3)
        .build()
        .unwrap();
    let names = common::names_of_threads_running(&pool, 3);
    assert_eq!(names, ["search-0", "search-1", "search-2"]);
    assert_eq!(pool.name(), "search");
}

#[test]
fn a_large_stack_size_lets_deep_recursion_run() {
    fn depth(n: u64) -> u64 {
        let pad = [n; 64]; // about 512 bytes a frame
        if n == 0 {
            0
        } else {
            std::hint::black_box(&pad);
            1 + depth(n - 1)
        }
    }
    let pool = ThreadPoolBulkhead::builder("deep")
        .threads(1)
        .stack_size(64 << 20)
        .build()
        .unwrap();
    assert_eq!(pool.execute(|| depth(20_000)).unwrap(), 20_000);
}

#[test]
fn the_default_thread_count_is_the_number_of_cpus() {
    let pool = ThreadPoolBulkhead::builder("default").build().unwrap();
    assert_eq!(pool.stats().threads, num_cpus_like());
    assert_eq!(pool.stats().queue_capacity, 0);
}

fn num_cpus_like() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}
