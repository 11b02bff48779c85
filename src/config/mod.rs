//! [`Config`] (feature `config`): named bulkheads and their policies from a
//! YAML or TOML file, with every error placed at its key path, line and
//! column.
//!
//! The layout is the seed's `bulkhead:` section (defaults for every
//! bulkhead's [`Policy`], plus monitoring) and a `bulkheads:` map of named
//! bulkheads, each with a `kind` and that kind's builder settings, and
//! optional `thresholds`, `timeouts` and `fallback` sections overriding the
//! defaults for that name:
//!
//! ```yaml
//! bulkhead:
//!   enabled: true
//!   thresholds:
//!     failure_rate: 50%        # failure_rate_threshold
//!     slow_call_rate: 50%      # slow_call_rate_threshold (default: follows failure_rate)
//!     response_time: 5s        # slow_call_threshold
//!     error_count: 10          # error_count_threshold
//!     minimum_calls: 10
//!     window: 60s
//!     half_open_calls: 3
//!   timeouts:
//!     operation: 30s           # timeout
//!     recovery: 60s
//!   fallback:
//!     enabled: true            # false: FallbackStrategy::None
//!     strategy: cached_response  # or none
//!   monitoring:
//!     metrics_enabled: true
//!     health_check_interval: 10s
//! bulkheads:
//!   search:   { kind: thread_pool, threads: 20, queue_capacity: 100, thresholds: { failure_rate: 30% } }
//!   checkout: { kind: semaphore, max_concurrent: 50, max_wait: 100ms }
//!   thumbs:   { kind: process, max_concurrent: 4, timeout: 30s, memory_limit: 512MiB }
//! ```

mod error;
mod lines;
mod node;
mod parse;
mod schema;
mod values;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::time::Duration;

pub use self::error::{ConfigError, ConfigErrorKind};

use self::error::Position;
use self::lines::Lines;
use self::node::Node;
use self::schema::{Fallback, Kind, Named, Strategy, Thresholds, Timeouts};
use crate::policy::{FallbackStrategy, Policy, PolicyConfig};
use crate::registry::Registry;

/// A configuration read from YAML or TOML: the defaults every bulkhead's
/// [`Policy`] starts from, monitoring settings, and named bulkheads.
///
/// What holds:
/// * The seed's YAML file parses verbatim; its `bulkhead:` section gives
///   the defaults, so [`policy(name)`](Self::policy) works for every name,
///   listed or not.
/// * Unknown keys are errors, as are values of the wrong type or out of
///   range and keys of another kind of bulkhead (`threads` on a
///   semaphore). Every [`ConfigError`] names the key path and, for text,
///   the line and column.
/// * Input is bounded: at most [`MAX_INPUT_BYTES`](Self::MAX_INPUT_BYTES),
///   32 levels of nesting, 100,000 keys and values, and a fixed budget of
///   YAML alias expansion, and is read in time linear in its size, so a
///   hostile file is refused quickly in little memory — never a panic or a
///   hang.
/// * A `Config` is plain data: reading it starts no thread;
///   [`Registry::from_config`] builds the bulkheads.
///
/// # Examples
///
/// ```
/// use bulkheads::{Config, Registry};
/// use std::time::Duration;
///
/// let config = Config::from_yaml_str(
///     "
/// bulkhead:
///   thresholds: { failure_rate: 50%, response_time: 5s, error_count: 10 }
///   timeouts: { operation: 30s, recovery: 60s }
/// bulkheads:
///   search:   { kind: thread_pool, threads: 4, queue_capacity: 100, thresholds: { failure_rate: 30% } }
///   checkout: { kind: semaphore, max_concurrent: 50, max_wait: 100ms }
/// ",
/// )?;
/// assert_eq!(config.names(), ["checkout", "search"]);
/// assert_eq!(config.policy_config("search")?.failure_rate_threshold, 0.3);
/// assert_eq!(config.policy_config("anything")?.recovery, Duration::from_secs(60));
///
/// let registry = Registry::from_config(&config)?;
/// assert_eq!(registry.get_semaphore("checkout").unwrap().max_concurrent(), 50);
/// # Ok::<(), bulkheads::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Config {
    enabled: bool,
    monitoring: MonitoringConfig,
    /// The `bulkhead:` section's policy keys.
    defaults: Sections,
    /// Where `bulkhead:` is written, for errors about the defaults.
    defaults_at: Option<Position>,
    /// `bulkheads:`, by name.
    bulkheads: BTreeMap<String, Entry>,
}

/// One named bulkhead as read, and where its name is written.
#[derive(Debug, Clone)]
struct Entry {
    settings: Named,
    at: Option<Position>,
}

/// The policy sections of one layer (`bulkhead:` or a named entry).
#[derive(Debug, Clone, Default)]
struct Sections {
    thresholds: Thresholds,
    timeouts: Timeouts,
    fallback: Fallback,
}

/// The seed's `monitoring:` section.
///
/// # Examples
///
/// ```
/// use bulkheads::Config;
/// use std::time::Duration;
///
/// let config = Config::from_yaml_str(
///     "bulkhead:\n  monitoring:\n    metrics_enabled: false\n    health_check_interval: 30s\n",
/// )?;
/// let monitoring = config.monitoring();
/// assert!(!monitoring.metrics_enabled);
/// assert_eq!(monitoring.health_check_interval, Duration::from_secs(30));
/// # Ok::<(), bulkheads::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct MonitoringConfig {
    /// Whether metrics should be exported (`monitoring.metrics_enabled`).
    /// Default: true, as in the seed's file.
    pub metrics_enabled: bool,
    /// How often health should be checked
    /// (`monitoring.health_check_interval`). Default: 10 s, as in the
    /// seed's file.
    pub health_check_interval: Duration,
}

impl Default for MonitoringConfig {
    fn default() -> Self {
        MonitoringConfig {
            metrics_enabled: true,
            health_check_interval: Duration::from_secs(10),
        }
    }
}

/// The format of configuration text.
#[derive(Debug, Clone, Copy)]
enum Format {
    Yaml,
    Toml,
}

impl Config {
    /// The largest input accepted, in bytes (1 MiB). A configuration of a
    /// thousand bulkheads is a fraction of it; anything larger is refused
    /// before it is parsed.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{Config, ConfigErrorKind};
    ///
    /// let huge = format!("# {}\nbulkhead:\n  enabled: true\n", "x".repeat(Config::MAX_INPUT_BYTES));
    /// assert_eq!(Config::from_yaml_str(&huge).unwrap_err().kind(), ConfigErrorKind::TooLarge);
    /// ```
    pub const MAX_INPUT_BYTES: usize = 1 << 20;

    /// Reads a configuration file: YAML for `.yaml` or `.yml`, TOML for
    /// `.toml`.
    ///
    /// At most [`MAX_INPUT_BYTES`](Self::MAX_INPUT_BYTES) are read; the file
    /// must be UTF-8. Errors carry the file's path
    /// ([`ConfigError::file`]) besides the key path and position.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] of kind [`Io`](ConfigErrorKind::Io) (unreadable, or
    /// another extension), [`TooLarge`](ConfigErrorKind::TooLarge),
    /// [`NotUtf8`](ConfigErrorKind::NotUtf8), or any error of
    /// [`from_yaml_str`](Self::from_yaml_str).
    ///
    /// # Examples
    ///
    /// ```
    /// let config = bulkheads::Config::from_path(
    ///     concat!(env!("CARGO_MANIFEST_DIR"), "/examples/bulkheads.yaml"),
    /// )?;
    /// assert!(config.enabled());
    /// # Ok::<(), bulkheads::ConfigError>(())
    /// ```
    pub fn from_path(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let path = path.as_ref();
        Self::read_path(path).map_err(|e| e.in_file(path))
    }

    fn read_path(path: &Path) -> Result<Config, ConfigError> {
        let format = match path.extension().and_then(|e| e.to_str()) {
            Some("yaml" | "yml") => Format::Yaml,
            Some("toml") => Format::Toml,
            _ => {
                return Err(ConfigError::new(
                    ConfigErrorKind::Io,
                    "cannot tell the format: name the file *.yaml, *.yml or *.toml",
                ))
            }
        };
        let io = |e: std::io::Error| {
            ConfigError::new(ConfigErrorKind::Io, format!("cannot read the file: {e}"))
                .with_source(e)
        };
        let file = File::open(path).map_err(io)?;
        // One byte past the limit is enough to know it is too large.
        let mut bytes = Vec::new();
        file.take(Self::MAX_INPUT_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        if bytes.len() > Self::MAX_INPUT_BYTES {
            let prefix = String::from_utf8_lossy(&bytes[..Self::MAX_INPUT_BYTES]);
            return Err(ConfigError::new(
                ConfigErrorKind::TooLarge,
                format!(
                    "the file is larger than the {} bytes a configuration may have; split it or trim it",
                    Self::MAX_INPUT_BYTES
                ),
            )
            .at(Some(Lines::new(&prefix).end())));
        }
        let text = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => return Err(not_utf8(e.as_bytes(), e.utf8_error(), format)),
        };
        Self::from_text(&text, format)
    }

    /// Parses a YAML configuration.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] of kind [`TooLarge`](ConfigErrorKind::TooLarge),
    /// [`Empty`](ConfigErrorKind::Empty) (no keys at all: nothing, only
    /// comments, or `{}`),
    /// [`Syntax`](ConfigErrorKind::Syntax),
    /// [`TooComplex`](ConfigErrorKind::TooComplex) (nesting or alias
    /// expansion beyond the bounds), [`UnknownKey`](ConfigErrorKind::UnknownKey),
    /// [`DuplicateKey`](ConfigErrorKind::DuplicateKey),
    /// [`MissingKey`](ConfigErrorKind::MissingKey) (a named bulkhead without
    /// `kind`), [`InvalidValue`](ConfigErrorKind::InvalidValue), or
    /// [`Build`](ConfigErrorKind::Build) when a policy's settings do not fit
    /// together.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{Config, ConfigErrorKind};
    ///
    /// let config = Config::from_yaml_str("bulkhead:\n  timeouts:\n    recovery: 250ms\n")?;
    /// assert_eq!(config.policy_config("search")?.recovery.as_millis(), 250);
    ///
    /// let err = Config::from_yaml_str("bulkhead:\n  timeouts:\n    recovery: soon\n").unwrap_err();
    /// assert_eq!(err.kind(), ConfigErrorKind::InvalidValue);
    /// assert_eq!(err.path(), "bulkhead.timeouts.recovery");
    /// assert_eq!((err.line(), err.column()), (Some(3), Some(15)));
    /// # Ok::<(), bulkheads::ConfigError>(())
    /// ```
    pub fn from_yaml_str(text: &str) -> Result<Config, ConfigError> {
        Self::from_text(text, Format::Yaml)
    }

    /// Parses a TOML configuration. Durations and rates are strings
    /// (`"5s"`, `"50%"`); a rate may also be a number (`0.5`).
    ///
    /// # Errors
    ///
    /// As [`from_yaml_str`](Self::from_yaml_str).
    ///
    /// # Examples
    ///
    /// ```
    /// let config = bulkheads::Config::from_toml_str(
    ///     r#"
    /// [bulkhead.thresholds]
    /// failure_rate = "50%"
    /// response_time = "5s"
    ///
    /// [bulkheads.checkout]
    /// kind = "semaphore"
    /// max_concurrent = 50
    /// "#,
    /// )?;
    /// assert_eq!(config.names(), ["checkout"]);
    /// # Ok::<(), bulkheads::ConfigError>(())
    /// ```
    pub fn from_toml_str(text: &str) -> Result<Config, ConfigError> {
        Self::from_text(text, Format::Toml)
    }

    fn from_text(text: &str, format: Format) -> Result<Config, ConfigError> {
        parse::check_size(text, Self::MAX_INPUT_BYTES)?;
        let root = match format {
            Format::Yaml => parse::yaml(text)?,
            Format::Toml => parse::toml(text)?,
        };
        Self::from_node(&root)
    }

    fn from_node(root: &Node) -> Result<Config, ConfigError> {
        if root.is_empty_document() {
            return Err(ConfigError::new(
                ConfigErrorKind::Empty,
                "the configuration is empty; give it a `bulkhead:` section, a `bulkheads:` map, or both",
            )
            .at(Some(Position { line: 1, column: 1 })));
        }
        let file: schema::File = root.deserialize("")?;
        let defaults = file.bulkhead.unwrap_or_default();
        let monitoring = defaults.monitoring.unwrap_or_default();
        let default_monitoring = MonitoringConfig::default();
        let mut config = Config {
            enabled: defaults.enabled.unwrap_or(true),
            monitoring: MonitoringConfig {
                metrics_enabled: monitoring
                    .metrics_enabled
                    .unwrap_or(default_monitoring.metrics_enabled),
                health_check_interval: monitoring
                    .health_check_interval
                    .map_or(default_monitoring.health_check_interval, |d| d.0),
            },
            defaults: Sections {
                thresholds: defaults.thresholds.unwrap_or_default(),
                timeouts: defaults.timeouts.unwrap_or_default(),
                fallback: defaults.fallback.unwrap_or_default(),
            },
            defaults_at: root.key_at("bulkhead"),
            bulkheads: BTreeMap::new(),
        };
        let named_at = root
            .get(&["bulkheads"])
            .map(Node::key_positions)
            .unwrap_or_default();
        for (name, settings) in file.bulkheads.unwrap_or_default() {
            let at = named_at.get(name.as_str()).copied().flatten();
            let path = node::join("bulkheads", &name);
            if let Some(key) = settings.foreign_key() {
                let key_at = root.get(&["bulkheads", &name]).and_then(|n| n.key_at(key));
                return Err(ConfigError::new(
                    ConfigErrorKind::UnknownKey,
                    format!(
                        "not a setting of a {} bulkhead; its settings are {}",
                        settings.kind.as_str(),
                        settings.kind.keys().join(", ")
                    ),
                )
                .at_path(node::join(&path, key))
                .at(key_at));
            }
            if let Some(total) = settings.too_many_slots() {
                let value_at = root
                    .get(&["bulkheads", &name, "queue_capacity"])
                    .and_then(|n| n.at);
                return Err(ConfigError::new(
                    ConfigErrorKind::InvalidValue,
                    format!(
                        "threads plus queue_capacity may be at most {}, found {total}; lower either",
                        crate::admission::MAX_SLOTS
                    ),
                )
                .at_path(node::join(&path, "queue_capacity"))
                .at(value_at));
            }
            config.bulkheads.insert(name, Entry { settings, at });
        }
        // Settings that do not fit together are reported now, not when a
        // policy is first asked for.
        config.resolve(None)?;
        for name in config.bulkheads.keys() {
            config.resolve(Some(name))?;
        }
        Ok(config)
    }

    /// The seed's `bulkhead.enabled`: false makes every policy from this
    /// configuration pass calls straight through. Default: true.
    ///
    /// # Examples
    ///
    /// ```
    /// let config = bulkheads::Config::from_yaml_str("bulkhead:\n  enabled: false\n")?;
    /// assert!(!config.enabled());
    /// assert!(!config.policy_config("search")?.enabled);
    /// # Ok::<(), bulkheads::ConfigError>(())
    /// ```
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// The seed's `bulkhead.monitoring` section (defaults where it is
    /// silent: metrics on, health checked every 10 s).
    ///
    /// # Examples
    ///
    /// ```
    /// let config = bulkheads::Config::from_yaml_str("bulkheads: {}\nbulkhead: {}\n")?;
    /// assert_eq!(config.monitoring(), bulkheads::MonitoringConfig::default());
    /// # Ok::<(), bulkheads::ConfigError>(())
    /// ```
    pub fn monitoring(&self) -> MonitoringConfig {
        self.monitoring
    }

    /// The names under `bulkheads:`, sorted.
    ///
    /// # Examples
    ///
    /// ```
    /// let config = bulkheads::Config::from_yaml_str(
    ///     "bulkheads:\n  search: { kind: thread_pool }\n  checkout: { kind: semaphore }\n",
    /// )?;
    /// assert_eq!(config.names(), ["checkout", "search"]);
    /// # Ok::<(), bulkheads::ConfigError>(())
    /// ```
    pub fn names(&self) -> Vec<String> {
        self.bulkheads.keys().cloned().collect()
    }

    /// The settings of the policy named `name`: the named entry's
    /// `thresholds`, `timeouts` and `fallback` over the `bulkhead:`
    /// defaults over [`PolicyConfig::default`]. A name the file does not
    /// list gets the defaults alone.
    ///
    /// Key by key: `failure_rate` → `failure_rate_threshold`,
    /// `slow_call_rate` → `slow_call_rate_threshold` (when given nowhere,
    /// it follows the failure rate in force, as on the builder),
    /// `response_time` → `slow_call_threshold`, `error_count` →
    /// `error_count_threshold`, `minimum_calls`, `window`,
    /// `half_open_calls`; `timeouts.operation` → `timeout`,
    /// `timeouts.recovery` → `recovery`; `fallback.enabled: false` →
    /// [`FallbackStrategy::None`], otherwise `fallback.strategy`
    /// (`cached_response` when enabled without a strategy);
    /// `bulkhead.enabled` → `enabled`. Each key overrides on its own, so a
    /// name's `fallback: { strategy: cached_response }` under the defaults'
    /// `fallback: { enabled: false }` is still disabled:
    /// [`FallbackStrategy::None`].
    ///
    /// # Errors
    ///
    /// [`ConfigError`] of kind [`Build`](ConfigErrorKind::Build) when the
    /// name is empty (the settings themselves were checked when the file
    /// was read).
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{Config, FallbackStrategy};
    /// use std::time::Duration;
    ///
    /// let config = Config::from_yaml_str(
    ///     "
    /// bulkhead:
    ///   thresholds: { failure_rate: 50%, error_count: 10 }
    ///   fallback: { enabled: true, strategy: cached_response }
    /// bulkheads:
    ///   search: { kind: thread_pool, thresholds: { failure_rate: 30% }, fallback: { enabled: false } }
    /// ",
    /// )?;
    /// let search = config.policy_config("search")?;
    /// assert_eq!(search.failure_rate_threshold, 0.3);
    /// assert_eq!(search.slow_call_rate_threshold, 0.3);
    /// assert_eq!(search.error_count_threshold, 10);
    /// assert_eq!(search.fallback, FallbackStrategy::None);
    /// assert_eq!(config.policy_config("other")?.fallback, FallbackStrategy::CachedResponse);
    /// # Ok::<(), bulkheads::ConfigError>(())
    /// ```
    pub fn policy_config(&self, name: &str) -> Result<PolicyConfig, ConfigError> {
        crate::error::check_not_blank(name).map_err(|e| ConfigError::build("", None, e))?;
        self.resolve(self.bulkheads.get(name).map(|_| name))
    }

    /// The [`Policy`] named `name`, built from
    /// [`policy_config(name)`](Self::policy_config).
    ///
    /// # Errors
    ///
    /// As [`policy_config`](Self::policy_config).
    ///
    /// # Examples
    ///
    /// ```
    /// let config = bulkheads::Config::from_path(
    ///     concat!(env!("CARGO_MANIFEST_DIR"), "/examples/bulkheads.yaml"),
    /// )?;
    /// let policy = config.policy("search")?;
    /// let answer: Result<u32, _> = policy.call(|| Ok::<_, std::io::Error>(42));
    /// assert_eq!(answer.unwrap(), 42);
    /// # Ok::<(), bulkheads::ConfigError>(())
    /// ```
    pub fn policy(&self, name: &str) -> Result<Policy, ConfigError> {
        let settings = self.policy_config(name)?;
        let (path, at) = self.place(self.bulkheads.get(name).map(|_| name));
        Policy::builder(name)
            .config(settings)
            .build()
            .map_err(|e| ConfigError::build(&path, at, e))
    }

    /// The key path and position of a layer: `bulkheads.<name>` or
    /// `bulkhead`.
    fn place(&self, name: Option<&str>) -> (String, Option<Position>) {
        match name.and_then(|n| self.bulkheads.get(n).map(|e| (n, e))) {
            Some((name, entry)) => (node::join("bulkheads", name), entry.at),
            None => ("bulkhead".to_owned(), self.defaults_at),
        }
    }

    /// The policy settings for a listed name (or the defaults for `None`),
    /// checked by the policy builder's own rules.
    fn resolve(&self, name: Option<&str>) -> Result<PolicyConfig, ConfigError> {
        let empty = Sections::default();
        let named = match name.and_then(|n| self.bulkheads.get(n)) {
            Some(entry) => Sections {
                thresholds: entry.settings.thresholds.clone().unwrap_or_default(),
                timeouts: entry.settings.timeouts.clone().unwrap_or_default(),
                fallback: entry.settings.fallback.clone().unwrap_or_default(),
            },
            None => empty,
        };
        let base = &self.defaults;
        let mut settings = PolicyConfig {
            enabled: self.enabled,
            ..PolicyConfig::default()
        };

        let (t, d) = (&named.thresholds, &base.thresholds);
        if let Some(rate) = t.failure_rate.or(d.failure_rate) {
            settings.failure_rate_threshold = rate.0;
            settings.slow_call_rate_threshold = rate.0;
        }
        if let Some(rate) = t.slow_call_rate.or(d.slow_call_rate) {
            settings.slow_call_rate_threshold = rate.0;
        }
        if let Some(slow) = t.response_time.or(d.response_time) {
            settings.slow_call_threshold = slow.0;
        }
        if let Some(n) = t.error_count.or(d.error_count) {
            settings.error_count_threshold = n.0;
        }
        if let Some(n) = t.minimum_calls.or(d.minimum_calls) {
            settings.minimum_calls = n.0;
        }
        if let Some(w) = t.window.or(d.window) {
            settings.window = w.0;
        }
        if let Some(n) = t.half_open_calls.or(d.half_open_calls) {
            settings.half_open_calls = n.0;
        }

        let (t, d) = (&named.timeouts, &base.timeouts);
        if let Some(op) = t.operation.or(d.operation) {
            settings.timeout = Some(op.0);
        }
        if let Some(r) = t.recovery.or(d.recovery) {
            settings.recovery = r.0;
        }

        let (f, d) = (&named.fallback, &base.fallback);
        let enabled = f.enabled.or(d.enabled);
        let strategy = f.strategy.or(d.strategy);
        settings.fallback = match (enabled, strategy) {
            (Some(false), _) | (_, Some(Strategy::None)) => FallbackStrategy::None,
            (_, Some(Strategy::CachedResponse)) | (Some(true), None) => {
                FallbackStrategy::CachedResponse
            }
            (None, None) => settings.fallback,
        };

        let (path, at) = self.place(name);
        let policy_name = name.unwrap_or("bulkhead");
        Policy::builder(policy_name)
            .config(settings.clone())
            .build()
            .map_err(|e| ConfigError::build(&path, at, e))?;
        Ok(settings)
    }
}

/// Where the first invalid byte is, as a line and column of the valid text
/// before it, and the key it sits in when the rest of the text parses.
fn not_utf8(bytes: &[u8], err: std::str::Utf8Error, format: Format) -> ConfigError {
    let valid = std::str::from_utf8(&bytes[..err.valid_up_to()]).unwrap_or_default();
    let at = Lines::new(valid).end();
    // Parse a copy with the invalid bytes replaced by U+FFFD; the first key
    // or value holding one is where the bad bytes are.
    let lossy = String::from_utf8_lossy(bytes);
    let parsed = match format {
        Format::Yaml => parse::yaml(&lossy),
        Format::Toml => parse::toml(&lossy),
    };
    let path = parsed
        .ok()
        .and_then(|root| root.path_where(&|s: &str| s.contains(char::REPLACEMENT_CHARACTER)))
        .unwrap_or_default();
    let what = match format {
        Format::Yaml => "YAML",
        Format::Toml => "TOML",
    };
    ConfigError::new(
        ConfigErrorKind::NotUtf8,
        format!("the file is not valid UTF-8 ({what} files must be); save it as UTF-8"),
    )
    .at_path(path)
    .at(Some(at))
    .with_source(err)
}

impl Registry {
    /// A registry holding every bulkhead named under `bulkheads:`, each
    /// built by its kind's builder with the settings the file gives (the
    /// builder's defaults for the rest): `thread_pool` → [`thread_pool`](Self::thread_pool)
    /// (`threads`, `queue_capacity`, `stack_size`), `semaphore` →
    /// [`semaphore_with`](Self::semaphore_with) (`max_concurrent`,
    /// `max_wait`, `fair`), `process` → `process` (`max_concurrent`,
    /// `max_wait`, `timeout`, `memory_limit`, `cpu_time_limit`,
    /// `max_open_files`, `output_limit`).
    ///
    /// # Errors
    ///
    /// [`ConfigError`] of kind [`Build`](ConfigErrorKind::Build) at
    /// `bulkheads.<name>` with the builder's [`BuildError`](crate::BuildError)
    /// as its source (a thread the operating system would not start, a
    /// limit the platform does not support), or
    /// [`Unsupported`](ConfigErrorKind::Unsupported) for a `process`
    /// bulkhead in a build without process support. The bulkheads built
    /// before the failing one are dropped again.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{Config, Registry};
    ///
    /// let config = Config::from_yaml_str(
    ///     "bulkheads:\n  search: { kind: thread_pool, threads: 2, queue_capacity: 10 }\n",
    /// )?;
    /// let registry = Registry::from_config(&config)?;
    /// let search = registry.get_thread_pool("search").unwrap();
    /// assert_eq!(search.stats().capacity(), 12);
    /// # Ok::<(), bulkheads::ConfigError>(())
    /// ```
    pub fn from_config(config: &Config) -> Result<Registry, ConfigError> {
        let registry = Registry::new();
        for (name, entry) in &config.bulkheads {
            let path = node::join("bulkheads", name);
            let s = &entry.settings;
            let built = match s.kind {
                Kind::ThreadPool => registry
                    .thread_pool(name, |mut b| {
                        if let Some(n) = s.threads {
                            b = b.threads(n.0);
                        }
                        if let Some(n) = s.queue_capacity {
                            b = b.queue_capacity(n.0);
                        }
                        if let Some(bytes) = s.stack_size {
                            b = b.stack_size(usize::try_from(bytes.0).unwrap_or(usize::MAX));
                        }
                        b
                    })
                    .map(drop),
                Kind::Semaphore => registry
                    .semaphore_with(name, |mut b| {
                        if let Some(n) = s.max_concurrent {
                            b = b.max_concurrent(n.0);
                        }
                        if let Some(d) = s.max_wait {
                            b = b.max_wait(d.0);
                        }
                        if let Some(fair) = s.fair {
                            b = b.fair(fair);
                        }
                        b
                    })
                    .map(drop),
                Kind::Process => build_process(&registry, name, s, &path, entry.at)?,
            };
            built.map_err(|e| ConfigError::build(&path, entry.at, e))?;
        }
        Ok(registry)
    }
}

/// A `kind: process` entry: [`Registry::process`] with the file's settings.
#[cfg(all(unix, feature = "process"))]
fn build_process(
    registry: &Registry,
    name: &str,
    s: &Named,
    _path: &str,
    _at: Option<Position>,
) -> Result<Result<(), crate::error::BuildError>, ConfigError> {
    Ok(registry
        .process(name, |mut b| {
            if let Some(n) = s.max_concurrent {
                b = b.max_concurrent(n.0);
            }
            if let Some(d) = s.max_wait {
                b = b.max_wait(d.0);
            }
            if let Some(d) = s.timeout {
                b = b.timeout(d.0);
            }
            if let Some(bytes) = s.memory_limit {
                b = b.memory_limit(bytes.0);
            }
            if let Some(d) = s.cpu_time_limit {
                b = b.cpu_time_limit(d.0);
            }
            if let Some(n) = s.max_open_files {
                b = b.max_open_files(u64::try_from(n.0).unwrap_or(u64::MAX));
            }
            if let Some(bytes) = s.output_limit {
                b = b.output_limit(usize::try_from(bytes.0).unwrap_or(usize::MAX));
            }
            b
        })
        .map(drop))
}

/// A `kind: process` entry, in a build without process support.
#[cfg(not(all(unix, feature = "process")))]
fn build_process(
    _registry: &Registry,
    name: &str,
    _settings: &Named,
    path: &str,
    at: Option<Position>,
) -> Result<Result<(), crate::error::BuildError>, ConfigError> {
    Err(ConfigError::new(
        ConfigErrorKind::Unsupported,
        format!(
            "`{name}` is a process bulkhead, but this build has no process support; build with the `process` feature on Unix"
        ),
    )
    .at_path(path)
    .at(at))
}
