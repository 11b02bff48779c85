//! [`ConfigError`]: what is wrong with a configuration, where (key path,
//! line, column) and what to do about it.

use std::error::Error;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::BuildError;

/// What kind of problem a [`ConfigError`] reports.
///
/// # Examples
///
/// ```
/// use bulkheads::{Config, ConfigErrorKind};
///
/// let err = Config::from_yaml_str("bulkhead:\n  enabld: true\n").unwrap_err();
/// assert_eq!(err.kind(), ConfigErrorKind::UnknownKey);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConfigErrorKind {
    /// The file could not be read (not found, no permission, ...), or its
    /// name ends in neither `.yaml`, `.yml` nor `.toml`.
    Io,
    /// The input is larger than [`Config::MAX_INPUT_BYTES`](crate::Config::MAX_INPUT_BYTES).
    TooLarge,
    /// The file is not valid UTF-8.
    NotUtf8,
    /// The document has no key at all: it is empty, only comments, or an
    /// empty mapping (`{}`).
    Empty,
    /// The text is not valid YAML or TOML.
    Syntax,
    /// The document nests deeper, holds more keys and values, or expands
    /// YAML aliases further than a configuration file needs; parsing
    /// stopped at a fixed bound.
    TooComplex,
    /// A key the schema does not know (a typo, or a setting of another
    /// kind of bulkhead).
    UnknownKey,
    /// A key given twice in the same mapping.
    DuplicateKey,
    /// A required key is missing (such as a named bulkhead's `kind`).
    MissingKey,
    /// A value of the wrong type or out of range.
    InvalidValue,
    /// The settings were read, but building the bulkhead or policy failed;
    /// [`source`](Error::source) is the [`BuildError`].
    Build,
    /// The file asks for something this build of the crate cannot do (a
    /// `kind: process` bulkhead without the `process` feature or on a
    /// platform that has no process limits).
    Unsupported,
}

/// An invalid configuration: a file that cannot be read, text that does
/// not parse, a key that is unknown or a value out of range, or settings
/// the builders refused. Never a panic.
///
/// Every error says where: the key path (`bulkheads.search.threads`, empty
/// for the document as a whole), and for text input the 1-based line and
/// column of the offending key or value. `Display` puts them together:
/// `bulkheads.search.threads: expected a positive integer, found -1 at line
/// 7 column 14`, followed by ` in <file>` for [`Config::from_path`](crate::Config::from_path).
///
/// # Examples
///
/// ```
/// use bulkheads::{Config, ConfigErrorKind};
///
/// let yaml = "bulkheads:\n  search:\n    kind: thread_pool\n    threads: -1\n";
/// let err = Config::from_yaml_str(yaml).unwrap_err();
/// assert_eq!(err.kind(), ConfigErrorKind::InvalidValue);
/// assert_eq!(err.path(), "bulkheads.search.threads");
/// assert_eq!((err.line(), err.column()), (Some(4), Some(14)));
/// assert_eq!(
///     err.to_string(),
///     "bulkheads.search.threads: expected a positive integer, found -1 at line 4 column 14"
/// );
/// ```
pub struct ConfigError {
    kind: ConfigErrorKind,
    path: String,
    message: String,
    position: Option<Position>,
    file: Option<PathBuf>,
    source: Option<Box<dyn Error + Send + Sync + 'static>>,
}

/// A 1-based line and column (in characters) in the configuration text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Position {
    pub(crate) line: usize,
    pub(crate) column: usize,
}

impl ConfigError {
    pub(crate) fn new(kind: ConfigErrorKind, message: impl Into<String>) -> Self {
        ConfigError {
            kind,
            path: String::new(),
            message: message.into(),
            position: None,
            file: None,
            source: None,
        }
    }

    pub(crate) fn at_path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    pub(crate) fn at(mut self, position: Option<Position>) -> Self {
        self.position = position;
        self
    }

    pub(crate) fn in_file(mut self, file: &Path) -> Self {
        self.file = Some(file.to_owned());
        self
    }

    pub(crate) fn with_source(mut self, source: impl Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// A [`Build`](ConfigErrorKind::Build) error for the bulkhead or policy
    /// at `path`, keeping the builder's error as the source.
    pub(crate) fn build(path: &str, position: Option<Position>, err: BuildError) -> Self {
        ConfigError::new(ConfigErrorKind::Build, err.to_string())
            .at_path(path)
            .at(position)
            .with_source(err)
    }

    /// What kind of problem this is.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{Config, ConfigErrorKind};
    ///
    /// let err = Config::from_yaml_str("").unwrap_err();
    /// assert_eq!(err.kind(), ConfigErrorKind::Empty);
    /// ```
    pub fn kind(&self) -> ConfigErrorKind {
        self.kind
    }

    /// The dotted key path of the offending key or value
    /// (`bulkheads.search.threads`); empty when the problem concerns the
    /// document as a whole (a syntax error, an empty or oversized file).
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::Config;
    ///
    /// let err = Config::from_yaml_str("bulkhead:\n  thresholds:\n    failure_rate: 150%\n").unwrap_err();
    /// assert_eq!(err.path(), "bulkhead.thresholds.failure_rate");
    /// ```
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The 1-based line of the offending key or value, when the input was
    /// text and the position is known.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::Config;
    ///
    /// let err = Config::from_toml_str("[bulkhead.thresholds]\nresponse_time = \"fast\"\n").unwrap_err();
    /// assert_eq!(err.line(), Some(2));
    /// ```
    pub fn line(&self) -> Option<usize> {
        self.position.map(|p| p.line)
    }

    /// The 1-based column, in characters, of the offending key or value,
    /// when the input was text and the position is known.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::Config;
    ///
    /// let err = Config::from_toml_str("[bulkhead.thresholds]\nresponse_time = \"fast\"\n").unwrap_err();
    /// assert_eq!(err.column(), Some(17));
    /// ```
    pub fn column(&self) -> Option<usize> {
        self.position.map(|p| p.column)
    }

    /// The file the configuration came from, for [`Config::from_path`](crate::Config::from_path).
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::Config;
    ///
    /// let err = Config::from_path("no/such/bulkheads.yaml").unwrap_err();
    /// assert_eq!(err.file().unwrap().to_str(), Some("no/such/bulkheads.yaml"));
    /// assert!(Config::from_yaml_str("").unwrap_err().file().is_none());
    /// ```
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// What is wrong, without the key path and position.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::Config;
    ///
    /// let err = Config::from_yaml_str("bulkhead:\n  thresholds:\n    response_time: fast\n").unwrap_err();
    /// assert_eq!(
    ///     err.message(),
    ///     "expected a duration above zero such as 250ms, 5s or 1m, found \"fast\""
    /// );
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Debug for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigError")
            .field("kind", &self.kind)
            .field("path", &self.path)
            .field("line", &self.line())
            .field("column", &self.column())
            .field("file", &self.file)
            .field("message", &self.message)
            .finish()
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)?;
        if let Some(p) = self.position {
            write!(f, " at line {} column {}", p.line, p.column)?;
        }
        if let Some(file) = &self.file {
            write!(f, " in {}", file.display())?;
        }
        Ok(())
    }
}

impl Error for ConfigError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn Error + 'static))
    }
}
