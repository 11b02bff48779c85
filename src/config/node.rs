//! The document as a tree of values with positions, whichever format it
//! came from, and a serde `Deserializer` over it that knows the key path of
//! every value: each error it reports names the key path and the line and
//! column of the key or value at fault.

use std::collections::HashMap;
use std::fmt;

use serde::de::{self, DeserializeSeed, IntoDeserializer, Unexpected, Visitor};

use super::error::{ConfigError, ConfigErrorKind, Position};

/// One value of the document and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub(crate) value: Value,
    pub(crate) at: Option<Position>,
}

/// A key of a mapping and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Key {
    pub(crate) name: String,
    pub(crate) at: Option<Position>,
}

/// The values a YAML or TOML document can hold, as far as a configuration
/// needs them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Key, Node)>),
}

impl Node {
    /// The node at `keys` below this one, if every key exists.
    pub(crate) fn get(&self, keys: &[&str]) -> Option<&Node> {
        keys.iter().try_fold(self, |node, key| match &node.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k.name == *key).map(|(_, v)| v),
            _ => None,
        })
    }

    /// Where the key `key` of this mapping is written, if it is.
    pub(crate) fn key_at(&self, key: &str) -> Option<Position> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k.name == key)?.0.at,
            _ => None,
        }
    }

    /// Where each key of this mapping is written, by name (the first
    /// place of a name given twice); empty for any other node.
    pub(crate) fn key_positions(&self) -> HashMap<&str, Option<Position>> {
        match &self.value {
            Value::Map(entries) => {
                let mut positions = HashMap::with_capacity(entries.len());
                for (key, _) in entries {
                    positions.entry(key.name.as_str()).or_insert(key.at);
                }
                positions
            }
            _ => HashMap::new(),
        }
    }

    /// The key path of the first key or text value below this node that
    /// satisfies `pred`.
    pub(crate) fn path_where(&self, pred: &dyn Fn(&str) -> bool) -> Option<String> {
        fn walk(node: &Node, path: &str, pred: &dyn Fn(&str) -> bool) -> Option<String> {
            match &node.value {
                Value::Str(s) if pred(s) => Some(path.to_owned()),
                Value::Seq(items) => items
                    .iter()
                    .enumerate()
                    .find_map(|(i, item)| walk(item, &format!("{path}[{i}]"), pred)),
                Value::Map(entries) => entries.iter().find_map(|(key, value)| {
                    let path = join(path, &key.name);
                    if pred(&key.name) {
                        Some(path)
                    } else {
                        walk(value, &path, pred)
                    }
                }),
                _ => None,
            }
        }
        walk(self, "", pred)
    }

    /// Whether the document holds no key at all: nothing, only comments,
    /// or an empty mapping (`{}`).
    pub(crate) fn is_empty_document(&self) -> bool {
        match &self.value {
            Value::Null => true,
            Value::Map(entries) => entries.is_empty(),
            _ => false,
        }
    }

    /// Deserializes `T` from this node; errors carry key paths below `path`.
    pub(crate) fn deserialize<'a, T: de::Deserialize<'a>>(
        &'a self,
        path: &str,
    ) -> Result<T, ConfigError> {
        T::deserialize(NodeDe {
            node: self,
            path: path.to_owned(),
        })
        .map_err(DeError::into_config_error)
    }
}

/// What a value looks like, for "found ..." in messages.
fn describe(value: &Value) -> String {
    match value {
        Value::Null => "an empty value".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Str(s) => format!("{s:?}"),
        Value::Seq(_) => "a list".to_owned(),
        Value::Map(_) => "a mapping".to_owned(),
    }
}

fn describe_unexpected(unexpected: &Unexpected<'_>) -> String {
    match unexpected {
        Unexpected::Bool(b) => b.to_string(),
        Unexpected::Unsigned(u) => u.to_string(),
        Unexpected::Signed(i) => i.to_string(),
        Unexpected::Float(f) => f.to_string(),
        Unexpected::Str(s) => format!("{s:?}"),
        Unexpected::Unit | Unexpected::Option => "an empty value".to_owned(),
        Unexpected::Seq => "a list".to_owned(),
        Unexpected::Map => "a mapping".to_owned(),
        other => other.to_string(),
    }
}

/// `path.key`, with the key quoted (`bulkheads."api.v1"`) when it is
/// empty or holds a dot, a space, a quote, a bracket or a control
/// character, so the path stays unambiguous and on one line.
pub(crate) fn join(path: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && !key
            .chars()
            .any(|c| matches!(c, '.' | ' ' | '"' | '[' | ']') || c.is_control());
    match (path.is_empty(), plain) {
        (true, true) => key.to_owned(),
        (true, false) => format!("{key:?}"),
        (false, true) => format!("{path}.{key}"),
        (false, false) => format!("{path}.{key:?}"),
    }
}

/// An error met while deserializing the tree; located at the innermost key
/// path that saw it.
#[derive(Debug)]
pub(crate) struct DeError {
    kind: ConfigErrorKind,
    message: String,
    location: Option<(String, Option<Position>)>,
}

impl DeError {
    pub(crate) fn new(kind: ConfigErrorKind, message: String) -> Self {
        DeError {
            kind,
            message,
            location: None,
        }
    }

    /// Places the error at `path`/`at` unless an inner value already did.
    fn locate(mut self, path: &str, at: Option<Position>) -> Self {
        if self.location.is_none() {
            self.location = Some((path.to_owned(), at));
        }
        self
    }

    fn into_config_error(self) -> ConfigError {
        let (path, at) = self.location.unwrap_or_default();
        ConfigError::new(self.kind, self.message)
            .at_path(path)
            .at(at)
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError::new(ConfigErrorKind::InvalidValue, msg.to_string())
    }

    fn invalid_type(unexp: Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        DeError::new(
            ConfigErrorKind::InvalidValue,
            format!("expected {exp}, found {}", describe_unexpected(&unexp)),
        )
    }

    fn invalid_value(unexp: Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        Self::invalid_type(unexp, exp)
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        DeError::new(
            ConfigErrorKind::InvalidValue,
            format!("expected one of {}, found {variant:?}", expected.join(", ")),
        )
    }

    fn unknown_field(_field: &str, expected: &'static [&'static str]) -> Self {
        DeError::new(
            ConfigErrorKind::UnknownKey,
            format!(
                "unknown key; the keys allowed here are {}",
                expected.join(", ")
            ),
        )
    }

    fn missing_field(field: &'static str) -> Self {
        DeError::new(
            ConfigErrorKind::MissingKey,
            format!("missing key `{field}`; add it"),
        )
    }

    fn duplicate_field(field: &'static str) -> Self {
        DeError::new(
            ConfigErrorKind::DuplicateKey,
            format!("`{field}` is given twice; keep one"),
        )
    }
}

/// Deserializes one node, knowing its key path.
struct NodeDe<'a> {
    node: &'a Node,
    path: String,
}

impl<'a> NodeDe<'a> {
    fn locate(&self, err: DeError) -> DeError {
        err.locate(&self.path, self.node.at)
    }

    fn expect_map(&self, what: &str) -> Result<&'a [(Key, Node)], DeError> {
        match &self.node.value {
            Value::Map(entries) => Ok(entries),
            other => Err(self.locate(DeError::new(
                ConfigErrorKind::InvalidValue,
                format!("expected {what}, found {}", describe(other)),
            ))),
        }
    }
}

impl<'de> de::Deserializer<'de> for NodeDe<'de> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let result = match &self.node.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Int(i) => {
                if let Ok(u) = u64::try_from(*i) {
                    visitor.visit_u64(u)
                } else if let Ok(s) = i64::try_from(*i) {
                    visitor.visit_i64(s)
                } else {
                    visitor.visit_i128(*i)
                }
            }
            Value::Float(f) => visitor.visit_f64(*f),
            Value::Str(s) => visitor.visit_str(s),
            Value::Seq(items) => visitor.visit_seq(SeqDe {
                items: items.iter().enumerate(),
                path: &self.path,
            }),
            Value::Map(entries) => {
                check_unique_keys(entries, &self.path)?;
                visitor.visit_map(MapDe {
                    entries: entries.iter(),
                    value: None,
                    path: &self.path,
                })
            }
        };
        result.map_err(|e| self.locate(e))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.node.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.expect_map("a mapping of keys to values")?;
        self.deserialize_any(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.expect_map("a mapping of names to settings")?;
        self.deserialize_any(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match &self.node.value {
            Value::Str(s) => {
                let de: de::value::StrDeserializer<'_, DeError> = s.as_str().into_deserializer();
                visitor.visit_enum(de).map_err(|e| self.locate(e))
            }
            other => Err(self.locate(DeError::new(
                ConfigErrorKind::InvalidValue,
                format!(
                    "expected one of {}, found {}",
                    variants.join(", "),
                    describe(other)
                ),
            ))),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct identifier
    }
}

/// A key given twice in one mapping is an error at its second place,
/// naming the first (YAML parsers differ on this; we never pick one).
fn check_unique_keys(entries: &[(Key, Node)], path: &str) -> Result<(), DeError> {
    let mut seen: HashMap<&str, Option<Position>> = HashMap::with_capacity(entries.len());
    for (key, _) in entries {
        if let Some(first) = seen.insert(&key.name, key.at) {
            let first = match first {
                Some(p) => format!(" (first at line {} column {})", p.line, p.column),
                None => String::new(),
            };
            return Err(DeError::new(
                ConfigErrorKind::DuplicateKey,
                format!("the key is given twice{first}; keep one"),
            )
            .locate(&join(path, &key.name), key.at));
        }
    }
    Ok(())
}

struct SeqDe<'a, I> {
    items: I,
    path: &'a str,
}

impl<'de, I> de::SeqAccess<'de> for SeqDe<'_, I>
where
    I: Iterator<Item = (usize, &'de Node)>,
{
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        match self.items.next() {
            Some((i, node)) => seed
                .deserialize(NodeDe {
                    node,
                    path: format!("{}[{i}]", self.path),
                })
                .map(Some),
            None => Ok(None),
        }
    }
}

struct MapDe<'a, 'de, I> {
    entries: I,
    value: Option<(String, &'de Node)>,
    path: &'a str,
}

impl<'de, I> de::MapAccess<'de> for MapDe<'_, 'de, I>
where
    I: Iterator<Item = &'de (Key, Node)>,
{
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        let Some((key, node)) = self.entries.next() else {
            return Ok(None);
        };
        let path = join(self.path, &key.name);
        let de: de::value::StrDeserializer<'_, DeError> = key.name.as_str().into_deserializer();
        let k = seed.deserialize(de).map_err(|e| e.locate(&path, key.at))?;
        self.value = Some((path, node));
        Ok(Some(k))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        match self.value.take() {
            Some((path, node)) => seed.deserialize(NodeDe { node, path }),
            None => Err(DeError::new(
                ConfigErrorKind::InvalidValue,
                "a value was asked for before its key".to_owned(),
            )),
        }
    }
}
