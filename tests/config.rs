//! `Config`: the seed's YAML verbatim, its TOML twin, named bulkheads with
//! overrides, `Registry::from_config`, and bad input of every sort — each
//! an error naming the key path and line, never a panic or a hang.
#![cfg(feature = "config")]

use std::error::Error;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bulkheads::{
    BuildError, BuildErrorKind, Config, ConfigError, ConfigErrorKind, FallbackStrategy,
    MonitoringConfig, PolicyConfig, PolicyError, Registry, State,
};

/// The seed's configuration file, exactly as the seed ships it.
const SEED_YAML: &str = "\
bulkhead:
  enabled: true
  thresholds:
    failure_rate: 50%
    response_time: 5s
    error_count: 10
  timeouts:
    operation: 30s
    recovery: 60s
  fallback:
    enabled: true
    strategy: cached_response
  monitoring:
    metrics_enabled: true
    health_check_interval: 10s
";

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
}

/// The settings the seed's file stands for, written out by hand.
fn seed_settings() -> PolicyConfig {
    let mut expected = PolicyConfig::default();
    expected.enabled = true;
    expected.failure_rate_threshold = 0.5;
    expected.slow_call_rate_threshold = 0.5;
    expected.slow_call_threshold = Duration::from_secs(5);
    expected.error_count_threshold = 10;
    expected.timeout = Some(Duration::from_secs(30));
    expected.recovery = Duration::from_secs(60);
    expected.fallback = FallbackStrategy::CachedResponse;
    expected
}

/// A scratch file in the target directory, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, contents: &[u8]) -> TempFile {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("config-tests");
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{}-{name}", std::process::id()));
        fs::write(&path, contents).unwrap();
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

#[test]
fn the_seeds_yaml_file_is_kept_verbatim_and_parses_as_every_policys_defaults() {
    let on_disk = fs::read_to_string(example("bulkheads.yaml")).unwrap();
    assert_eq!(
        on_disk, SEED_YAML,
        "examples/bulkheads.yaml must stay the seed's file"
    );

    for config in [
        Config::from_yaml_str(SEED_YAML).unwrap(),
        Config::from_path(example("bulkheads.yaml")).unwrap(),
    ] {
        assert!(config.enabled());
        let monitoring: MonitoringConfig = config.monitoring();
        assert!(monitoring.metrics_enabled);
        assert_eq!(monitoring.health_check_interval, Duration::from_secs(10));
        assert!(config.names().is_empty());
        // No name is listed, so every name gets the seed's settings.
        for name in ["search", "checkout", "anything"] {
            assert_eq!(
                config.policy_config(name).unwrap(),
                seed_settings(),
                "{name}"
            );
            assert_eq!(config.policy(name).unwrap().config(), &seed_settings());
        }
        assert!(Registry::from_config(&config).unwrap().names().is_empty());
    }
}

#[test]
fn the_toml_twin_of_the_seed_gives_the_same_settings() {
    let yaml = Config::from_path(example("bulkheads.yaml")).unwrap();
    let toml = Config::from_path(example("bulkheads.toml")).unwrap();
    assert_eq!(toml.enabled(), yaml.enabled());
    assert_eq!(toml.monitoring(), yaml.monitoring());
    assert_eq!(toml.policy_config("search").unwrap(), seed_settings());
}

#[test]
fn a_policy_from_the_seed_opens_at_its_error_count_and_not_before() {
    let policy = Config::from_yaml_str(SEED_YAML)
        .unwrap()
        .policy("search")
        .unwrap();
    for failures in 1..=10 {
        assert_eq!(
            policy.health().state,
            State::Closed,
            "after {} failures",
            failures - 1
        );
        let err = policy
            .call(|| Err::<u32, _>("down".to_owned()))
            .unwrap_err();
        assert!(matches!(err, PolicyError::Failed(_)));
    }
    assert_eq!(policy.health().state, State::Open, "error_count: 10");
    let mut ran = false;
    let refused = policy.call(|| {
        ran = true;
        Ok::<_, String>(2)
    });
    assert!(matches!(refused, Err(PolicyError::Open)));
    assert!(!ran, "an open gate does not run the call");
}

#[test]
fn enabled_false_builds_policies_that_pass_every_call_through() {
    let text = SEED_YAML.replace(
        "enabled: true\n  thresholds",
        "enabled: false\n  thresholds",
    );
    let config = Config::from_yaml_str(&text).unwrap();
    assert!(!config.enabled());
    let policy = config.policy("search").unwrap();
    assert!(!policy.config().enabled);
    for _ in 0..100 {
        let err = policy
            .call(|| Err::<u32, _>("down".to_owned()))
            .unwrap_err();
        assert!(matches!(err, PolicyError::Failed(_)), "the call still ran");
    }
    assert_eq!(policy.call(|| Ok::<_, String>(7)).unwrap(), 7);
}

#[test]
fn named_bulkheads_override_the_defaults_key_by_key() {
    let config = Config::from_path(example("service.yaml")).unwrap();
    assert_eq!(
        config.names(),
        ["analytics", "checkout", "search", "thumbnails"]
    );

    let search = config.policy_config("search").unwrap();
    assert_eq!(search.failure_rate_threshold, 0.3);
    assert_eq!(
        search.slow_call_rate_threshold, 0.3,
        "follows the failure rate"
    );
    assert_eq!(search.error_count_threshold, 10, "inherited from bulkhead:");
    assert_eq!(search.timeout, Some(Duration::from_secs(30)));

    let analytics = config.policy_config("analytics").unwrap();
    assert_eq!(analytics.timeout, Some(Duration::from_secs(2)));
    assert_eq!(analytics.recovery, Duration::from_secs(60));
    assert_eq!(analytics.fallback, FallbackStrategy::None);
    assert_eq!(analytics.failure_rate_threshold, 0.5);

    assert_eq!(config.policy_config("checkout").unwrap(), seed_settings());
    assert_eq!(config.policy_config("not-listed").unwrap(), seed_settings());
}

#[test]
fn a_named_strategy_leaves_a_disabled_default_fallback_disabled() {
    let config = Config::from_yaml_str(
        "\
bulkhead:
  fallback: { enabled: false }
bulkheads:
  search: { kind: thread_pool, fallback: { strategy: cached_response } }
  checkout: { kind: semaphore, fallback: { enabled: true } }
",
    )
    .unwrap();
    assert_eq!(
        config.policy_config("search").unwrap().fallback,
        FallbackStrategy::None,
        "enabled: false is inherited key by key"
    );
    assert_eq!(
        config.policy_config("checkout").unwrap().fallback,
        FallbackStrategy::CachedResponse
    );
    assert_eq!(
        config.policy_config("not-listed").unwrap().fallback,
        FallbackStrategy::None
    );
}

#[test]
#[cfg(all(unix, feature = "process"))]
fn the_toml_twin_gives_the_same_registry() {
    let from_yaml =
        Registry::from_config(&Config::from_path(example("service.yaml")).unwrap()).unwrap();
    let from_toml =
        Registry::from_config(&Config::from_path(example("service.toml")).unwrap()).unwrap();

    assert_eq!(
        from_yaml.names(),
        ["analytics", "checkout", "search", "thumbnails"]
    );
    assert_eq!(from_toml.names(), from_yaml.names());
    let kinds = |r: &Registry| -> Vec<(String, &'static str, usize)> {
        r.stats()
            .iter()
            .map(|s| (s.name().to_owned(), s.kind(), s.limit()))
            .collect()
    };
    assert_eq!(kinds(&from_toml), kinds(&from_yaml));
    // One line per bulkhead: name, kind, limits and (fresh) counters.
    let summary =
        |r: &Registry| -> Vec<String> { r.stats().iter().map(|s| s.to_string()).collect() };
    assert_eq!(summary(&from_toml), summary(&from_yaml));

    for registry in [&from_yaml, &from_toml] {
        let search = registry.get_thread_pool("search").unwrap().stats();
        assert_eq!((search.threads, search.queue_capacity), (20, 100));
        let analytics = registry.get_thread_pool("analytics").unwrap().stats();
        assert_eq!((analytics.threads, analytics.queue_capacity), (10, 10));
        let checkout = registry.get_semaphore("checkout").unwrap();
        assert_eq!(checkout.max_concurrent(), 50);
        assert_eq!(checkout.max_wait(), Duration::from_millis(100));
        assert!(!checkout.is_fair());
        assert_eq!(registry.stats()[3].kind(), "process", "thumbnails");
        assert_eq!(registry.stats()[3].limit(), 4, "thumbnails: max_concurrent");
    }
    assert_eq!(from_toml.stats()[3].kind(), from_yaml.stats()[3].kind());
}

#[test]
#[cfg(not(all(unix, feature = "process")))]
fn a_process_bulkhead_in_a_build_without_process_support_is_unsupported() {
    let config = Config::from_path(example("service.yaml")).unwrap();
    let err = Registry::from_config(&config).unwrap_err();
    assert_eq!(err.kind(), ConfigErrorKind::Unsupported);
    assert_eq!(err.path(), "bulkheads.thumbnails");
    assert!(err.line().is_some());
}

#[test]
fn a_registry_from_a_file_runs_work_in_each_compartment() {
    let config = Config::from_yaml_str(
        "bulkheads:\n  search: { kind: thread_pool, threads: 2, queue_capacity: 4 }\n  checkout: { kind: semaphore, max_concurrent: 1 }\n",
    )
    .unwrap();
    let registry = Registry::from_config(&config).unwrap();
    let search = registry.get_thread_pool("search").unwrap();
    assert_eq!(search.execute(|| 6 * 7).unwrap(), 42);

    let checkout = registry.get_semaphore("checkout").unwrap();
    let held = checkout.try_acquire().unwrap();
    assert!(
        checkout.call(|| ()).is_err(),
        "max_concurrent: 1 is in force"
    );
    drop(held);
    assert!(checkout.call(|| ()).is_ok());
}

#[test]
fn a_builder_refusal_is_a_build_error_at_the_bulkheads_key() {
    // A NUL cannot be in a thread's name: the file is read, the pool is not
    // built.
    let yaml = "bulkheads:\n  \"a\\0b\":\n    kind: thread_pool\n    threads: 1\n";
    let config = Config::from_yaml_str(yaml).unwrap();
    let err = Registry::from_config(&config).unwrap_err();
    assert_eq!(err.kind(), ConfigErrorKind::Build);
    assert_eq!(err.path(), "bulkheads.\"a\\0b\"");
    assert_eq!((err.line(), err.column()), (Some(2), Some(3)));
    let source = err.source().unwrap().downcast_ref::<BuildError>().unwrap();
    assert_eq!(source.kind(), BuildErrorKind::InvalidName);
    assert!(
        err.to_string().starts_with("bulkheads.\"a\\0b\": "),
        "{err}"
    );
}

enum Format {
    Yaml,
    Toml,
}

fn parse(format: &Format, text: &str) -> Result<Config, ConfigError> {
    match format {
        Format::Yaml => Config::from_yaml_str(text),
        Format::Toml => Config::from_toml_str(text),
    }
}

/// A bad input, the error it must give, and where.
struct Bad {
    what: &'static str,
    format: Format,
    text: String,
    kind: ConfigErrorKind,
    path: String,
    line: usize,
    column: Option<usize>,
}

fn bad(what: &'static str, format: Format, text: impl Into<String>, kind: ConfigErrorKind) -> Bad {
    Bad {
        what,
        format,
        text: text.into(),
        kind,
        path: String::new(),
        line: 1,
        column: None,
    }
}

impl Bad {
    fn at(mut self, path: impl Into<String>, line: usize, column: usize) -> Bad {
        self.path = path.into();
        self.line = line;
        self.column = Some(column);
        self
    }
    fn on_line(mut self, path: impl Into<String>, line: usize) -> Bad {
        self.path = path.into();
        self.line = line;
        self
    }
}

/// Nine anchors, each a list of nine aliases of the one before: 9^9
/// strings if expanded.
fn billion_laughs() -> String {
    let mut text = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
    for pair in names.windows(2) {
        let aliases = vec![format!("*{}", pair[0]); 9].join(",");
        text.push_str(&format!("{}: &{} [{aliases}]\n", pair[1], pair[1]));
    }
    text
}

#[test]
fn every_bad_input_is_an_error_naming_the_key_and_line() {
    use ConfigErrorKind::*;
    use Format::{Toml, Yaml};

    let deep_flow = format!(
        "bulkhead:\n  thresholds: {}{}\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let deep_maps = format!(
        "bulkhead:\n  thresholds: {}1{}\n",
        "{a: ".repeat(10_000),
        "}".repeat(10_000)
    );
    let mut deep_block = String::from("bulkhead:\n");
    for level in 1..=200 {
        deep_block.push_str(&format!("{}a:\n", "  ".repeat(level)));
    }
    let deep_toml = format!(
        "[bulkhead]\nthresholds = {}{}\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let deep_key = vec!["a"; 100].join(".");
    let deep_dotted_toml = format!("{deep_key} = 1\n");
    let deep_header_toml = format!("[bulkhead]\nenabled = true\n[{deep_key}]\n");
    // 40,000 names in just under 1 MiB: four keys and values each, so the
    // node budget (100,000) is crossed at the 25,000th.
    let forty_thousand_toml: String = std::iter::once("[bulkheads]\n".to_owned())
        .chain((0..40_000).map(|i| format!("n{i:05}={{kind=\"semaphore\"}}\n")))
        .collect();
    assert!(forty_thousand_toml.len() <= Config::MAX_INPUT_BYTES);
    let forty_thousand_yaml: String = std::iter::once("bulkheads:\n".to_owned())
        .chain((0..37_000).map(|i| format!("  n{i:05}: {{kind: semaphore}}\n")))
        .collect();
    assert!(forty_thousand_yaml.len() <= Config::MAX_INPUT_BYTES);
    // 10,000 good names, then one with a misspelt key.
    let late_typo_toml: String = std::iter::once("[bulkheads]\n".to_owned())
        .chain((0..10_000).map(|i| format!("n{i:05}={{kind=\"semaphore\"}}\n")))
        .chain(["n10000={kind=\"semaphore\",max_concurent=1}\n".to_owned()])
        .collect();
    let late_typo_yaml: String = std::iter::once("bulkheads:\n".to_owned())
        .chain((0..10_000).map(|i| format!("  n{i:05}: {{kind: semaphore}}\n")))
        .chain(["  n10000: {kind: semaphore, max_concurent: 1}\n".to_owned()])
        .collect();

    let cases = [
        bad("negative threads", Yaml, "bulkheads:\n  search:\n    kind: thread_pool\n    threads: -1\n", InvalidValue)
            .at("bulkheads.search.threads", 4, 14),
        bad("negative threads", Toml, "[bulkheads.search]\nkind = \"thread_pool\"\nthreads = -1\n", InvalidValue)
            .at("bulkheads.search.threads", 3, 11),
        bad("zero threads", Yaml, "bulkheads:\n  search: { kind: thread_pool, threads: 0 }\n", InvalidValue)
            .at("bulkheads.search.threads", 2, 41),
        bad("a failure rate of 150%", Yaml, "bulkhead:\n  thresholds:\n    failure_rate: 150%\n", InvalidValue)
            .at("bulkhead.thresholds.failure_rate", 3, 19),
        bad("a failure rate of 150%", Toml, "[bulkhead.thresholds]\nfailure_rate = \"150%\"\n", InvalidValue)
            .at("bulkhead.thresholds.failure_rate", 2, 16),
        bad("a failure rate of 1.5", Yaml, "bulkhead:\n  thresholds:\n    failure_rate: 1.5\n", InvalidValue)
            .at("bulkhead.thresholds.failure_rate", 3, 19),
        bad("a response time of fast", Yaml, "bulkhead:\n  thresholds:\n    response_time: fast\n", InvalidValue)
            .at("bulkhead.thresholds.response_time", 3, 20),
        bad("a response time of fast", Toml, "[bulkhead.thresholds]\nresponse_time = \"fast\"\n", InvalidValue)
            .at("bulkhead.thresholds.response_time", 2, 17),
        bad("a duration without a unit", Yaml, "bulkhead:\n  timeouts: { recovery: 60 }\n", InvalidValue)
            .at("bulkhead.timeouts.recovery", 2, 25),
        bad("a zero window", Yaml, "bulkhead:\n  thresholds: { window: 0s }\n", InvalidValue)
            .at("bulkhead.thresholds.window", 2, 25),
        bad("yes is not a boolean", Yaml, "bulkhead:\n  enabled: yes\n", InvalidValue)
            .at("bulkhead.enabled", 2, 12),
        bad("a size without a known unit", Yaml, "bulkheads:\n  t: { kind: process, memory_limit: lots }\n", InvalidValue)
            .at("bulkheads.t.memory_limit", 2, 37),
        bad("a dotted name", Yaml, "bulkheads:\n  api.v1: { kind: semaphore, max_concurrent: -2 }\n", InvalidValue)
            .at("bulkheads.\"api.v1\".max_concurrent", 2, 46),
        bad("an unknown key", Yaml, "bulkhead:\n  enabled: true\n  enabeld: true\n", UnknownKey)
            .at("bulkhead.enabeld", 3, 3),
        bad("an unknown key", Toml, "[bulkhead]\nenabeld = true\n", UnknownKey).at("bulkhead.enabeld", 2, 1),
        bad("an unknown top-level key", Yaml, "bulkheadz:\n  enabled: true\n", UnknownKey).at("bulkheadz", 1, 1),
        bad("a setting of another kind", Yaml, "bulkheads:\n  checkout:\n    kind: semaphore\n    threads: 4\n", UnknownKey)
            .at("bulkheads.checkout.threads", 4, 5),
        bad("a wrong kind", Yaml, "bulkheads:\n  search:\n    kind: fiber\n", InvalidValue)
            .at("bulkheads.search.kind", 3, 11),
        bad("a wrong kind", Toml, "[bulkheads.search]\nkind = \"connection_pool\"\n", InvalidValue)
            .at("bulkheads.search.kind", 2, 8),
        bad("a missing kind", Yaml, "bulkheads:\n  search:\n    threads: 4\n", MissingKey)
            .on_line("bulkheads.search", 3),
        bad("a duplicate name", Yaml, "bulkheads:\n  search: { kind: thread_pool }\n  search: { kind: semaphore }\n", DuplicateKey)
            .at("bulkheads.search", 3, 3),
        bad("a duplicate name", Toml, "[bulkheads.search]\nkind = \"thread_pool\"\n[bulkheads.search]\nkind = \"semaphore\"\n", DuplicateKey)
            .on_line("bulkheads.search", 3),
        bad("a duplicate key", Toml, "[bulkheads.search]\nkind = \"thread_pool\"\nkind = \"semaphore\"\n", DuplicateKey)
            .at("bulkheads.search.kind", 3, 1),
        bad("a duplicate name beside a number key", Yaml,
            "bulkheads: {1: {kind: semaphore}, search: {kind: thread_pool, threads: 2}, search: {kind: semaphore}}\n", DuplicateKey)
            .at("bulkheads.search", 1, 76),
        bad("11 and 0xB, one integer twice", Yaml, "bulkheads:\n  11: {kind: semaphore}\n  0xB: {kind: semaphore}\n", DuplicateKey)
            .at("bulkheads.11", 3, 3),
        bad("a duplicate key", Yaml, "bulkheads:\n  search:\n    kind: thread_pool\n    threads: 2\n    threads: 3\n", DuplicateKey)
            .at("bulkheads.search.threads", 5, 5),
        bad("an empty file", Yaml, "", Empty).at("", 1, 1),
        bad("an empty file", Toml, "", Empty).at("", 1, 1),
        bad("only comments", Yaml, "# nothing here\n\n", Empty).at("", 1, 1),
        bad("only comments", Toml, "# nothing here\n\n", Empty).at("", 1, 1),
        bad("an empty mapping", Yaml, "{}\n", Empty).at("", 1, 1),
        bad("a byte order mark", Toml, "\u{feff}bulkhead = 5\n", InvalidValue).at("bulkhead", 1, 12),
        bad("a byte order mark", Yaml, "\u{feff}bulkhead: 5\n", InvalidValue).at("bulkhead", 1, 11),
        bad("a NaN rate", Yaml, "bulkhead:\n  thresholds:\n    failure_rate: .nan\n", InvalidValue)
            .at("bulkhead.thresholds.failure_rate", 3, 19),
        bad("an infinite count", Yaml, "bulkhead:\n  thresholds:\n    error_count: .inf\n", InvalidValue)
            .at("bulkhead.thresholds.error_count", 3, 18),
        bad("a number too large for a float", Yaml, "bulkhead:\n  thresholds: { minimum_calls: 1e400 }\n", InvalidValue)
            .at("bulkhead.thresholds.minimum_calls", 2, 32),
        bad("an infinite rate", Toml, "[bulkhead.thresholds]\nfailure_rate = inf\n", InvalidValue)
            .at("bulkhead.thresholds.failure_rate", 2, 16),
        bad("an empty rate", Yaml, "bulkhead:\n  thresholds: { failure_rate: \"\" }\n", InvalidValue)
            .at("bulkhead.thresholds.failure_rate", 2, 31),
        bad("a zero response time", Yaml, "bulkhead:\n  thresholds: { response_time: 0ms }\n", InvalidValue)
            .at("bulkhead.thresholds.response_time", 2, 32),
        bad("a zero memory limit", Yaml, "bulkheads:\n  t: { kind: process, memory_limit: 0 }\n", InvalidValue)
            .at("bulkheads.t.memory_limit", 2, 37),
        bad("a zero process timeout", Yaml, "bulkheads:\n  t: { kind: process, timeout: 0s }\n", InvalidValue)
            .at("bulkheads.t.timeout", 2, 32),
        bad("a zero CPU time limit", Toml, "[bulkheads.t]\nkind = \"process\"\ncpu_time_limit = \"0s\"\n", InvalidValue)
            .at("bulkheads.t.cpu_time_limit", 3, 18),
        bad("two billion threads", Yaml, "bulkheads:\n  search: { kind: thread_pool, threads: 2000000000 }\n", InvalidValue)
            .at("bulkheads.search.threads", 2, 41),
        bad("four billion queue places", Yaml, "bulkheads:\n  search: { kind: thread_pool, threads: 1, queue_capacity: 4000000000 }\n", InvalidValue)
            .at("bulkheads.search.queue_capacity", 2, 60),
        bad("threads plus queue places over the limit", Toml,
            "[bulkheads.search]\nkind = \"thread_pool\"\nthreads = 2\nqueue_capacity = 1073741822\n", InvalidValue)
            .at("bulkheads.search.queue_capacity", 4, 18),
        bad("two billion permits", Yaml, "bulkheads:\n  checkout: { kind: semaphore, max_concurrent: 2000000000 }\n", InvalidValue)
            .at("bulkheads.checkout.max_concurrent", 2, 48),
        bad("a stack of 2^64 bytes", Yaml, "bulkheads:\n  search: { kind: thread_pool, stack_size: 18446744073709551615 }\n", InvalidValue)
            .at("bulkheads.search.stack_size", 2, 44),
        bad("a list at the top", Yaml, "- bulkhead\n", InvalidValue).at("", 1, 1),
        bad("a list for a section", Yaml, "bulkhead:\n  thresholds: [50%, 5s]\n", InvalidValue)
            .at("bulkhead.thresholds", 2, 15),
        bad("an unclosed bracket", Yaml, "bulkhead:\n  thresholds: [\n", Syntax).at("bulkhead.thresholds", 2, 15),
        bad("an unclosed array", Toml, "[bulkhead]\nthresholds = [1,\n", Syntax).on_line("bulkhead.thresholds", 2),
        bad("two documents", Yaml, "bulkhead: {}\n---\nbulkhead: {}\n", Syntax).on_line("", 2),
        bad("deep flow nesting", Yaml, deep_flow, TooComplex).on_line("bulkhead.thresholds", 2),
        bad("deep flow mappings", Yaml, deep_maps, TooComplex).on_line("bulkhead.thresholds", 2),
        bad("deep block nesting", Yaml, deep_block, TooComplex)
            .on_line("bulkhead.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a", 33),
        bad("deep nesting", Toml, deep_toml, TooComplex).on_line("bulkhead.thresholds", 2),
        bad("a deep dotted key", Toml, deep_dotted_toml, TooComplex).at(deep_key.as_str(), 1, 1),
        bad("a deep table header", Toml, deep_header_toml, TooComplex).at(deep_key.as_str(), 3, 1),
        bad("40,000 names", Toml, forty_thousand_toml, TooComplex).at("bulkheads.n24999", 25_001, 8),
        bad("37,000 names", Yaml, forty_thousand_yaml, TooComplex).at("bulkheads.n24999", 25_001, 11),
        bad("a typo after 10,000 names", Toml, late_typo_toml, UnknownKey)
            .at("bulkheads.n10000.max_concurent", 10_002, 26),
        bad("a typo after 10,000 names", Yaml, late_typo_yaml, UnknownKey)
            .at("bulkheads.n10000.max_concurent", 10_002, 29),
        bad("a billion laughs", Yaml, billion_laughs(), TooComplex).on_line("e", 5),
    ];

    for case in &cases {
        let err = match parse(&case.format, &case.text) {
            Ok(_) => panic!("{}: accepted", case.what),
            Err(err) => err,
        };
        let shown = err.to_string();
        assert_eq!(err.kind(), case.kind, "{}: {shown}", case.what);
        assert_eq!(err.path(), case.path, "{}: {shown}", case.what);
        assert_eq!(err.line(), Some(case.line), "{}: {shown}", case.what);
        if let Some(column) = case.column {
            assert_eq!(err.column(), Some(column), "{}: {shown}", case.what);
        }
        assert!(
            shown.contains(&format!("at line {} column", case.line)),
            "{}: {shown}",
            case.what
        );
        if !case.path.is_empty() {
            assert!(
                shown.starts_with(&format!("{}: ", case.path)),
                "{}: {shown}",
                case.what
            );
        }
        assert!(!shown.contains('\n'), "{}: one line: {shown}", case.what);
    }
}

#[test]
fn messages_say_what_was_expected_and_what_was_found() {
    let err =
        Config::from_yaml_str("bulkheads:\n  search:\n    kind: thread_pool\n    threads: -1\n")
            .unwrap_err();
    assert_eq!(
        err.to_string(),
        "bulkheads.search.threads: expected a positive integer, found -1 at line 4 column 14"
    );
    let err = Config::from_yaml_str("bulkhead:\n  enabeld: true\n").unwrap_err();
    assert!(
        err.message()
            .contains("enabled, thresholds, timeouts, fallback, monitoring"),
        "{err}"
    );
    let err = Config::from_yaml_str("bulkheads:\n  x: { kind: fiber }\n").unwrap_err();
    assert!(
        err.message().contains("thread_pool, semaphore, process"),
        "{err}"
    );
    assert!(err.message().contains("\"fiber\""), "{err}");

    let err =
        Config::from_yaml_str("bulkheads:\n  search: { kind: thread_pool, threads: 2000000000 }\n")
            .unwrap_err();
    assert_eq!(
        err.message(),
        "expected an integer of at most 1073741823, found 2000000000"
    );
    let err =
        Config::from_yaml_str("bulkhead:\n  thresholds: { failure_rate: .nan }\n").unwrap_err();
    assert!(err.message().ends_with("found NaN"), "{err}");
    let err =
        Config::from_yaml_str("bulkhead:\n  thresholds: { error_count: .inf }\n").unwrap_err();
    assert!(err.message().ends_with("found inf"), "{err}");
    // A rate is shown quoted, as every text value is: an empty one, or one
    // holding a terminal escape, stays visible and harmless.
    let err =
        Config::from_yaml_str("bulkhead:\n  thresholds: { failure_rate: \"\" }\n").unwrap_err();
    assert!(err.message().ends_with("found \"\""), "{err}");
    let err = Config::from_yaml_str("bulkhead:\n  thresholds: { failure_rate: \"\\e[2J\" }\n")
        .unwrap_err();
    assert!(err.message().ends_with(r#"found "\u{1b}[2J""#), "{err}");
}

#[test]
fn a_ten_megabyte_file_is_refused_before_it_is_parsed() {
    let mut text = String::from("bulkhead:\n  enabled: true\n");
    while text.len() < 10 << 20 {
        text.push_str("# padding padding padding padding padding padding padding padding\n");
    }
    let file = TempFile::new("huge.yaml", text.as_bytes());
    for err in [
        Config::from_path(&file.0).unwrap_err(),
        Config::from_yaml_str(&text).unwrap_err(),
    ] {
        assert_eq!(err.kind(), ConfigErrorKind::TooLarge, "{err}");
        assert!(
            err.line().unwrap() > 1,
            "points where the limit is crossed: {err}"
        );
    }
}

#[test]
fn invalid_utf8_is_an_error_at_the_key_that_holds_it() {
    let yaml = TempFile::new(
        "latin1.yaml",
        b"bulkheads:\n  search:\n    kind: thread\xffpool\n",
    );
    let err = Config::from_path(&yaml.0).unwrap_err();
    assert_eq!(err.kind(), ConfigErrorKind::NotUtf8);
    assert_eq!(err.path(), "bulkheads.search.kind");
    assert_eq!((err.line(), err.column()), (Some(3), Some(17)));
    assert_eq!(err.file(), Some(yaml.0.as_path()));

    let toml = TempFile::new(
        "latin1.toml",
        b"[bulkhead]\nenabled = true\n\n[bulkheads.cafe]\nkind = \"s\xe9maphore\"\n",
    );
    let err = Config::from_path(&toml.0).unwrap_err();
    assert_eq!(err.kind(), ConfigErrorKind::NotUtf8);
    assert_eq!(err.path(), "bulkheads.cafe.kind");
    assert_eq!((err.line(), err.column()), (Some(5), Some(10)));
}

#[test]
fn from_path_picks_the_format_by_extension_and_names_the_file_in_errors() {
    let yml = TempFile::new("seed.yml", SEED_YAML.as_bytes());
    assert_eq!(
        Config::from_path(&yml.0)
            .unwrap()
            .policy_config("x")
            .unwrap(),
        seed_settings()
    );

    let json = TempFile::new("seed.json", b"{}");
    let err = Config::from_path(&json.0).unwrap_err();
    assert_eq!(err.kind(), ConfigErrorKind::Io);
    assert!(err.to_string().contains(".yaml, *.yml or *.toml"), "{err}");

    let err = Config::from_path("no/such/dir/bulkheads.yaml").unwrap_err();
    assert_eq!(err.kind(), ConfigErrorKind::Io);
    assert!(err.source().is_some());
    assert!(
        err.to_string().ends_with(" in no/such/dir/bulkheads.yaml"),
        "{err}"
    );

    let bad = TempFile::new("bad.toml", b"[bulkhead]\nenabled = \"sometimes\"\n");
    let err = Config::from_path(&bad.0).unwrap_err();
    assert_eq!(err.path(), "bulkhead.enabled");
    assert!(
        err.to_string()
            .ends_with(&format!("at line 2 column 11 in {}", bad.0.display())),
        "{err}"
    );
}

/// A small deterministic generator, so a failure reproduces.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) as usize
    }
}

#[test]
fn no_prefix_or_mutation_of_a_valid_file_panics_and_every_error_has_a_line() {
    let check = |format: &Format, text: &str| {
        if let Err(err) = parse(format, text) {
            assert!(err.line().is_some(), "no line for {text:?}: {err}");
            assert!(
                !err.to_string().contains(['\n', '\u{1b}']),
                "one plain line: {err:?}"
            );
        }
    };
    for (format, name) in [
        (Format::Yaml, "service.yaml"),
        (Format::Toml, "service.toml"),
    ] {
        let text = fs::read_to_string(example(name)).unwrap();
        for end in (0..=text.len()).filter(|&i| text.is_char_boundary(i)) {
            check(&format, &text[..end]);
        }
        let alphabet: Vec<char> = "-:[]{}&*!|>#\"' \n\t\u{1b}0%s.,=~?@`\\".chars().collect();
        let mut rng = Lcg(0x5eed);
        for _ in 0..800 {
            let mut chars: Vec<char> = text.chars().collect();
            for _ in 0..1 + rng.next() % 3 {
                let at = rng.next() % chars.len();
                chars[at] = alphabet[rng.next() % alphabet.len()];
            }
            check(&format, &chars.into_iter().collect::<String>());
        }
    }
}
