//! Named bulkheads and their policies from a file: the seed's defaults plus
//! one compartment per function.
//!
//! ```sh
//! cargo run --features config --example config                       # examples/service.yaml
//! cargo run --features config --example config -- examples/service.toml
//! ```

use bulkheads::{Config, Registry};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).unwrap_or_else(|| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/examples/service.yaml").to_owned()
    });
    let config = match Config::from_path(&path) {
        Ok(config) => config,
        Err(err) => {
            // e.g. "bulkheads.search.threads: expected a positive integer,
            // found -1 at line 7 column 14 in examples/service.yaml"
            eprintln!("{err}");
            std::process::exit(2);
        }
    };

    let registry = Registry::from_config(&config)?;
    println!("{registry}");

    println!("policies (enabled: {}):", config.enabled());
    for name in config.names() {
        let p = config.policy_config(&name)?;
        println!(
            "  {name:<12} failure rate {:>3.0}%, slow at {:?}, {} errors, timeout {:?}, recovery {:?}, fallback {:?}",
            p.failure_rate_threshold * 100.0,
            p.slow_call_threshold,
            p.error_count_threshold,
            p.timeout,
            p.recovery,
            p.fallback,
        );
    }
    let monitoring = config.monitoring();
    println!(
        "monitoring: metrics {}, health checked every {:?}",
        if monitoring.metrics_enabled {
            "on"
        } else {
            "off"
        },
        monitoring.health_check_interval
    );
    registry.shutdown();
    Ok(())
}
