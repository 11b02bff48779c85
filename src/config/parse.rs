//! YAML and TOML text to a [`Node`] tree with positions, within fixed
//! bounds on size, nesting and alias expansion.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{DefaultMessageFormatter, MessageFormatter};

use super::error::{ConfigError, ConfigErrorKind, Position};
use super::lines::Lines;
use super::node::{join, Key, Node, Value};

/// The deepest nesting of mappings and lists accepted. The schema needs
/// four levels (`bulkheads.search.thresholds.failure_rate`).
pub(crate) const MAX_DEPTH: usize = 32;

/// Keys and values (scalars, lists and mappings, the document's own
/// included) a document may hold, YAML aliases expanded; a file of
/// thousands of bulkheads stays below it.
const MAX_NODES: usize = 100_000;

/// Events YAML aliases may replay in all: what keeps a billion-laughs
/// document to a few kilobytes of work.
const MAX_REPLAYED_EVENTS: usize = 10_000;

/// Rejects text longer than `limit` bytes, pointing at where it crosses it.
pub(crate) fn check_size(text: &str, limit: usize) -> Result<(), ConfigError> {
    if text.len() <= limit {
        return Ok(());
    }
    Err(ConfigError::new(
        ConfigErrorKind::TooLarge,
        format!(
            "the input is {} bytes, more than the {limit} a configuration may have; split it or trim it",
            text.len()
        ),
    )
    .at(Some(Lines::new(text).position(limit))))
}

/// Parses YAML text into a tree.
pub(crate) fn yaml(text: &str) -> Result<Node, ConfigError> {
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_depth: MAX_DEPTH,
            flow_nesting_limit: MAX_DEPTH,
            max_nodes: MAX_NODES,
            max_documents: 1,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: MAX_REPLAYED_EVENTS,
            max_replay_stack_depth: MAX_DEPTH,
        },
        // Every entry reaches the tree, duplicates too (`11` and `0xB`
        // alike), which reports them with the key path.
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::PassThrough,
        // `.nan`, `.inf` and `1e400` reach the schema, which refuses them
        // at their own key, as it does in TOML.
        non_finite_float_policy: serde_saphyr::NonFiniteFloatPolicy::PassThrough,
        // `yes`/`no`/`on`/`off` stay text, as in YAML 1.2 and TOML.
        strict_booleans: true,
        with_snippet: false,
    };
    match serde_saphyr::from_str_with_options::<YamlNode>(text, options) {
        Ok(YamlNode(node)) => Ok(node),
        Err(err) => {
            let err = yaml_error(&err);
            // The parser stopped before a tree existed: read the key path
            // from the indentation of the lines above the error.
            let path = err.line().and_then(|line| yaml_key_path(text, line));
            Err(match path {
                Some(path) => err.at_path(path),
                None => err,
            })
        }
    }
}

/// The block-style key path of line `line` (1-based): its own key, then
/// the key of each less indented line above it. `None` when no line up to
/// it holds a key.
fn yaml_key_path(text: &str, line: usize) -> Option<String> {
    let mut keys = Vec::new();
    let mut indent = usize::MAX;
    let lines: Vec<&str> = text.lines().take(line).collect();
    for l in lines.iter().rev() {
        if l.starts_with("---") || l.starts_with("...") {
            break; // a document boundary: nothing above belongs to this line
        }
        let trimmed = l.trim_start();
        let this_indent = l.len() - trimmed.len();
        if trimmed.is_empty() || trimmed.starts_with('#') || this_indent >= indent {
            continue;
        }
        if let Some(key) = block_key(trimmed) {
            keys.push(key);
            indent = this_indent;
            if indent == 0 {
                break;
            }
        }
    }
    keys.reverse();
    (!keys.is_empty()).then(|| {
        keys.iter()
            .fold(String::new(), |path, key| join(&path, key))
    })
}

/// The key of a `key: value` or `key:` line, unquoted.
fn block_key(line: &str) -> Option<&str> {
    if line.starts_with(['-', '[', '{', '&', '*', '!', '|', '>', '?']) {
        return None;
    }
    let colon = line
        .char_indices()
        .find(|&(i, c)| {
            c == ':'
                && line[i + 1..]
                    .chars()
                    .next()
                    .map_or(true, char::is_whitespace)
        })?
        .0;
    let key = line[..colon].trim().trim_matches(['"', '\'']);
    (!key.is_empty()).then_some(key)
}

fn yaml_error(err: &serde_saphyr::Error) -> ConfigError {
    use serde_saphyr::budget::BudgetBreach;
    use serde_saphyr::Error as E;
    let mut inner = err;
    while let E::AliasError { error, .. } | E::WithSnippet { error, .. } = inner {
        inner = error;
    }
    let at = err.location().and_then(|l| position(l.line(), l.column()));
    let too_complex =
        |message: String| ConfigError::new(ConfigErrorKind::TooComplex, message).at(at);
    let message = printable(&DefaultMessageFormatter.format_message(inner));
    match inner {
        E::Budget {
            breach: BudgetBreach::Documents { .. },
            ..
        } => ConfigError::new(
            ConfigErrorKind::Syntax,
            "a second YAML document starts here; a configuration is one document",
        )
        .at(at),
        E::Budget {
            breach: BudgetBreach::Depth { .. },
            ..
        } => too_complex(format!(
            "the document nests deeper than {MAX_DEPTH} levels; a configuration needs four"
        )),
        E::Budget {
            breach: BudgetBreach::Nodes { .. },
            ..
        } => too_complex(too_many_nodes()),
        E::Budget { .. } => too_complex(format!(
            "{message}; a configuration file needs far less than this parser's bounds allow"
        )),
        E::AliasReplayLimitExceeded { .. }
        | E::AliasExpansionLimitExceeded { .. }
        | E::AliasReplayStackDepthExceeded { .. }
        | E::AliasReplayCounterOverflow { .. } => too_complex(format!(
            "YAML aliases expand to more than {MAX_REPLAYED_EVENTS} values here; refusing what looks like an alias bomb"
        )),
        _ if message.contains("recursion limit") => too_complex(format!(
            "the document nests deeper than {MAX_DEPTH} levels; a configuration needs four"
        )),
        E::Eof { .. } => ConfigError::new(ConfigErrorKind::Empty, message).at(at),
        _ => ConfigError::new(ConfigErrorKind::Syntax, message).at(at),
    }
}

/// The message with control characters escaped, so a hostile file cannot
/// put terminal escapes or line breaks into an error.
fn printable(message: &str) -> String {
    message
        .chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

fn position(line: u64, column: u64) -> Option<Position> {
    (line > 0).then(|| Position {
        line: usize::try_from(line).unwrap_or(usize::MAX),
        column: usize::try_from(column.max(1)).unwrap_or(usize::MAX),
    })
}

/// A node read from YAML with the position of its first character.
struct YamlNode(Node);

impl<'de> Deserialize<'de> for YamlNode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let spanned = serde_saphyr::Spanned::<YamlValue>::deserialize(d)?;
        let at = position(spanned.referenced.line(), spanned.referenced.column());
        Ok(YamlNode(Node {
            value: spanned.value.0,
            at,
        }))
    }
}

/// A mapping key read from YAML: any scalar, as text.
struct YamlKey(Key);

impl<'de> Deserialize<'de> for YamlKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let YamlNode(node) = YamlNode::deserialize(d)?;
        let at = node.at;
        let name = match node.value {
            Value::Str(s) => s,
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Null => "null".to_owned(),
            Value::Seq(_) | Value::Map(_) => {
                return Err(de::Error::custom(
                    "a key must be a plain name, not a list or a mapping",
                ))
            }
        };
        Ok(YamlKey(Key { name, at }))
    }
}

struct YamlValue(Value);

impl<'de> Deserialize<'de> for YamlValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor).map(YamlValue)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a YAML value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Int(v.into()))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        i128::try_from(v)
            .map(Value::Int)
            .map_err(|_| E::custom("the number is too large"))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(YamlNode(node)) = seq.next_element()? {
            items.push(node);
        }
        Ok(Value::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some((YamlKey(key), YamlNode(node))) = map.next_entry()? {
            entries.push((key, node));
        }
        Ok(Value::Map(entries))
    }
}

/// Parses TOML text into a tree.
pub(crate) fn toml(text: &str) -> Result<Node, ConfigError> {
    let lines = Lines::new(text);
    // The TOML parser bounds its own nesting (at 80 levels).
    let document = toml::de::DeTable::parse(text).map_err(|err| toml_error(&err, text, &lines))?;
    let at = Some(lines.position(document.span().start));
    let table = document.into_inner();
    if table.is_empty() {
        return Ok(Node {
            value: Value::Null,
            at,
        });
    }
    let mut tree = TomlTree {
        lines: &lines,
        nodes: 0,
    };
    tree.count("", at)?;
    Ok(Node {
        value: tree.table(table, "", 1)?,
        at,
    })
}

fn toml_error(err: &toml::de::Error, text: &str, lines: &Lines<'_>) -> ConfigError {
    let message = printable(err.message().trim_end());
    let too_deep = message.contains("recurs");
    // The parser's limit on dotted keys reports no place: the culprit is
    // the key or header with the most parts.
    let Some(span) = err.span().or_else(|| too_deep.then(|| deepest_key(text))) else {
        return ConfigError::new(ConfigErrorKind::Syntax, message);
    };
    let at = Some(lines.position(span.start));
    let path = printable(&toml_key_path(text, span).unwrap_or_default());
    let error = if too_deep {
        ConfigError::new(
            ConfigErrorKind::TooComplex,
            format!("the document nests deeper than the TOML parser allows ({message}); a configuration needs four levels"),
        )
    } else if message == "duplicate key" {
        ConfigError::new(
            ConfigErrorKind::DuplicateKey,
            "the key or table is given twice; keep one",
        )
    } else {
        ConfigError::new(ConfigErrorKind::Syntax, message)
    };
    error.at_path(path).at(at)
}

/// Where the first key or table header with the most dotted parts
/// starts, as an empty span.
fn deepest_key(text: &str) -> std::ops::Range<usize> {
    let mut deepest = (0, 0..0);
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        let body = line.trim_start();
        let start = line_start + (line.len() - body.len());
        let parts = key_parts(body);
        if parts > deepest.0 {
            deepest = (parts, start..start);
        }
        line_start += line.len();
    }
    deepest.1
}

/// The dotted parts of the key of a `key = value` line or of a `[table]`
/// header; 0 for any other line.
fn key_parts(line: &str) -> usize {
    let header = line.starts_with('[');
    let end = if header { ']' } else { '=' };
    let mut parts = 1;
    let mut quote = None;
    let mut escaped = false;
    for c in line.trim_start_matches('[').chars() {
        match quote {
            Some(_) if escaped => escaped = false,
            Some('"') if c == '\\' => escaped = true,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '.' => parts += 1,
            None if c == end => return parts,
            None if c == '#' => return 0,
            None => {}
        }
    }
    0
}

/// The key path a TOML syntax error sits in, read from the text around it:
/// the table header it falls under (or in) and the key of its line.
/// `None` when the line is neither a header nor a `key = value` line.
fn toml_key_path(text: &str, span: std::ops::Range<usize>) -> Option<String> {
    let start = span.start.min(text.len());
    let line_start = text.get(..start)?.rfind('\n').map_or(0, |i| i + 1);
    let line_end = text
        .get(start..)?
        .find('\n')
        .map_or(text.len(), |i| start + i);
    let line = text.get(line_start..line_end)?;
    let header_of = |line: &str| -> Option<String> {
        let inner = line.trim().strip_prefix('[')?;
        let end = inner.find(']')?;
        Some(dotted(inner.get(..end)?.trim_start_matches('[')))
    };
    if let Some(header) = header_of(line) {
        // In a header: the path up to the end of the span.
        let upto = text.get(line_start..span.end.min(line_end))?;
        let upto = upto.trim().trim_start_matches('[');
        return Some(dotted(upto.trim_end_matches(']')))
            .filter(|p| !p.is_empty())
            .or(Some(header));
    }
    let (key, _) = line.split_once('=')?;
    let key = dotted(key);
    if key.is_empty() {
        return None;
    }
    let header = text
        .get(..line_start)?
        .lines()
        .rev()
        .find_map(header_of)
        .unwrap_or_default();
    Some(if header.is_empty() {
        key
    } else {
        format!("{header}.{key}")
    })
}

/// `a . "b" .c` as `a.b.c`.
fn dotted(keys: &str) -> String {
    keys.split('.')
        .map(|k| k.trim().trim_matches('"').trim_matches('\''))
        .collect::<Vec<_>>()
        .join(".")
}

/// The TOML parser's tables as a [`Node`] tree: every key and value
/// placed, and counted against [`MAX_NODES`] as YAML's are.
struct TomlTree<'t> {
    lines: &'t Lines<'t>,
    /// Keys and values converted so far.
    nodes: usize,
}

impl TomlTree<'_> {
    /// Counts one key or value at `path`, refusing the one past the budget.
    fn count(&mut self, path: &str, at: Option<Position>) -> Result<(), ConfigError> {
        self.nodes += 1;
        if self.nodes <= MAX_NODES {
            return Ok(());
        }
        Err(
            ConfigError::new(ConfigErrorKind::TooComplex, too_many_nodes())
                .at_path(path)
                .at(at),
        )
    }

    fn table(
        &mut self,
        table: toml::de::DeTable<'_>,
        path: &str,
        depth: usize,
    ) -> Result<Value, ConfigError> {
        let mut entries = Vec::with_capacity(table.len());
        for (key, value) in table {
            let at = Some(self.lines.position(key.span().start));
            let name = key.into_inner().into_owned();
            let path = join(path, &name);
            self.count(&path, at)?;
            let node = self.node(value, &path, depth + 1)?;
            entries.push((Key { name, at }, node));
        }
        Ok(Value::Map(entries))
    }

    fn node(
        &mut self,
        value: toml::Spanned<toml::de::DeValue<'_>>,
        path: &str,
        depth: usize,
    ) -> Result<Node, ConfigError> {
        use toml::de::DeValue;
        let at = Some(self.lines.position(value.span().start));
        if depth > MAX_DEPTH {
            return Err(ConfigError::new(
                ConfigErrorKind::TooComplex,
                format!("nesting deeper than {MAX_DEPTH} levels; a configuration file needs no deep nesting"),
            )
            .at_path(path)
            .at(at));
        }
        self.count(path, at)?;
        let value = match value.into_inner() {
            DeValue::String(s) => Value::Str(s.into_owned()),
            DeValue::Integer(i) => match i128::from_str_radix(i.as_str(), i.radix()) {
                Ok(n) => Value::Int(n),
                Err(_) => {
                    return Err(ConfigError::new(
                        ConfigErrorKind::InvalidValue,
                        "the number is too large",
                    )
                    .at_path(path)
                    .at(at))
                }
            },
            DeValue::Float(f) => match f.as_str().parse::<f64>() {
                Ok(n) => Value::Float(n),
                Err(_) => Value::Str(f.as_str().to_owned()),
            },
            DeValue::Boolean(b) => Value::Bool(b),
            DeValue::Datetime(d) => Value::Str(d.to_string()),
            DeValue::Array(items) => Value::Seq(
                items
                    .into_iter()
                    .enumerate()
                    .map(|(i, item)| self.node(item, &format!("{path}[{i}]"), depth + 1))
                    .collect::<Result<_, _>>()?,
            ),
            DeValue::Table(table) => self.table(table, path, depth)?,
        };
        Ok(Node { value, at })
    }
}

/// What a document over [`MAX_NODES`] is told, in either format.
fn too_many_nodes() -> String {
    format!("the document holds more than {MAX_NODES} keys and values; a configuration file needs far fewer")
}
