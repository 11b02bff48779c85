//! The value types of the schema, each checked as it is read: durations
//! (`250ms`, `5s`, `1m`), rates (`50%`, `0.5`), counts and byte sizes.

use std::fmt;
use std::ops::RangeInclusive;
use std::time::Duration;

use serde::de::{self, Deserialize, Deserializer, Visitor};

/// Splits `512MiB` into 512 and `MiB`: leading ASCII digits that fit a
/// `u64`, and the rest.
fn number_and_unit(text: &str) -> Option<(u64, &str)> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let (number, unit) = text.split_at(digits);
    Some((number.parse().ok()?, unit))
}

/// Parses `250ms`, `5s`, `1m` or `2h`: whole numbers with a unit.
///
/// Returns `None` for anything else (no unit, a fraction, a sign, an
/// unknown unit, or a value too large for a `Duration`).
pub(crate) fn parse_duration(text: &str) -> Option<Duration> {
    let (n, unit) = number_and_unit(text)?;
    match unit {
        "ms" => Some(Duration::from_millis(n)),
        "s" => Some(Duration::from_secs(n)),
        "m" => n.checked_mul(60).map(Duration::from_secs),
        "h" => n.checked_mul(3600).map(Duration::from_secs),
        _ => None,
    }
}

/// Parses `50%` or `0.5` as a rate above 0.0 and at most 1.0.
pub(crate) fn parse_rate(text: &str) -> Option<f64> {
    let rate = match text.strip_suffix('%') {
        Some(percent) => plain_decimal(percent)? / 100.0,
        None => plain_decimal(text)?,
    };
    rate_in_range(rate)
}

/// A decimal number of digits with at most one point: no sign, exponent,
/// `inf` or `nan`, which `f64::from_str` would accept.
fn plain_decimal(text: &str) -> Option<f64> {
    let mut points = 0;
    let well_formed = !text.is_empty()
        && text.bytes().all(|b| match b {
            b'0'..=b'9' => true,
            b'.' => {
                points += 1;
                points == 1
            }
            _ => false,
        })
        && text != ".";
    if well_formed {
        text.parse().ok()
    } else {
        None
    }
}

fn rate_in_range(rate: f64) -> Option<f64> {
    (rate > 0.0 && rate <= 1.0).then_some(rate)
}

/// Parses a byte size: `65536`, `64KiB`, `512MiB`, `1GiB`, `10MB`, `100B`.
pub(crate) fn parse_bytes(text: &str) -> Option<u64> {
    let (n, unit) = number_and_unit(text)?;
    let scale: u64 = match unit {
        "" | "B" => 1,
        "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(scale)
}

/// Builds the "expected ..., found ..." error of a value type.
fn found<E: de::Error>(expected: &str, found: impl fmt::Display) -> E {
    E::custom(format_args!("expected {expected}, found {found}"))
}

/// A duration written with a unit: `250ms`, `5s`, `1m`, `2h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Dur(pub(crate) Duration);

/// A duration above zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PositiveDur(pub(crate) Duration);

/// Deserializes a duration; zero is refused when `positive`.
fn duration<'de, D: Deserializer<'de>>(d: D, positive: bool) -> Result<Duration, D::Error> {
    struct V {
        expected: &'static str,
        positive: bool,
    }
    impl Visitor<'_> for V {
        type Value = Duration;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.expected)
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<Duration, E> {
            match parse_duration(s) {
                Some(d) if !(self.positive && d.is_zero()) => Ok(d),
                _ => Err(found(self.expected, format_args!("{s:?}"))),
            }
        }
        fn visit_u64<E: de::Error>(self, n: u64) -> Result<Duration, E> {
            Err(found(
                &format!("{} (a number needs a unit)", self.expected),
                n,
            ))
        }
        fn visit_i64<E: de::Error>(self, n: i64) -> Result<Duration, E> {
            Err(found(self.expected, n))
        }
        fn visit_f64<E: de::Error>(self, n: f64) -> Result<Duration, E> {
            Err(found(self.expected, n))
        }
    }
    let expected = if positive {
        "a duration above zero such as 250ms, 5s or 1m"
    } else {
        "a duration such as 250ms, 5s or 1m"
    };
    d.deserialize_any(V { expected, positive })
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        duration(d, false).map(Dur)
    }
}

impl<'de> Deserialize<'de> for PositiveDur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        duration(d, true).map(PositiveDur)
    }
}

/// A rate above 0 and at most 1: `50%`, `0.5`, `"0.5"`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rate(pub(crate) f64);

const RATE: &str =
    "a rate above 0% and at most 100% (or above 0.0 and at most 1.0), such as 50% or 0.5";

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Rate;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(RATE)
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Rate, E> {
                parse_rate(s)
                    .map(Rate)
                    .ok_or_else(|| found(RATE, format_args!("{s:?}")))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Rate, E> {
                rate_in_range(n).map(Rate).ok_or_else(|| found(RATE, n))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Rate, E> {
                match n {
                    1 => Ok(Rate(1.0)),
                    _ => Err(found(RATE, n)),
                }
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Rate, E> {
                Err(found(RATE, n))
            }
        }
        d.deserialize_any(V)
    }
}

/// Where a number falls against the bounds of a value type: `Ok` inside
/// them, else the "expected ..., found ..." error for the bound it misses
/// (`below` describes the lower one, `what` names the unit for the upper).
fn bounded<E: de::Error>(
    n: u64,
    bounds: RangeInclusive<u64>,
    below: &str,
    what: &str,
    shown: impl fmt::Display,
) -> Result<u64, E> {
    if n > *bounds.end() {
        Err(found(&format!("{what} of at most {}", bounds.end()), shown))
    } else if n < *bounds.start() {
        Err(found(below, shown))
    } else {
        Ok(n)
    }
}

/// Reads a whole number within `bounds`, written as a number or as text
/// that `text` understands; anything else is an error saying `expected`.
struct BoundedVisitor {
    expected: String,
    bounds: RangeInclusive<u64>,
    /// The unit named in an "at most" error: "an integer", "a size in bytes".
    unit: &'static str,
    /// Reads the number from text; `None` for text it does not accept.
    text: fn(&str) -> Option<u64>,
}

impl Visitor<'_> for BoundedVisitor {
    type Value = u64;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.expected)
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<u64, E> {
        bounded(n, self.bounds, &self.expected, self.unit, n)
    }
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<u64, E> {
        Err(found(&self.expected, n))
    }
    fn visit_i128<E: de::Error>(self, n: i128) -> Result<u64, E> {
        Err(found(&self.expected, n))
    }
    fn visit_f64<E: de::Error>(self, n: f64) -> Result<u64, E> {
        Err(found(&self.expected, n))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<u64, E> {
        let shown = format!("{s:?}");
        match (self.text)(s) {
            Some(n) => bounded(n, self.bounds, &self.expected, self.unit, shown),
            None => Err(found(&self.expected, shown)),
        }
    }
}

/// An integer from `MIN` to `MAX`, as a `usize`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Int<const MIN: usize, const MAX: usize = { usize::MAX }>(pub(crate) usize);

/// An integer of at least 1.
pub(crate) type Positive = Int<1>;

/// An integer of at least 0.
pub(crate) type Count = Int<0>;

impl<'de, const MIN: usize, const MAX: usize> Deserialize<'de> for Int<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let expected = match MIN {
            0 => "an integer of 0 or more".to_owned(),
            1 => "a positive integer".to_owned(),
            min => format!("an integer of {min} or more"),
        };
        let max = u64::try_from(MAX).unwrap_or(u64::MAX);
        let bounds = u64::try_from(MIN).unwrap_or(u64::MAX)..=max;
        let n = d.deserialize_any(BoundedVisitor {
            expected,
            bounds,
            unit: "an integer",
            text: |_| None,
        })?;
        // Within `MAX`, which is a `usize`.
        Ok(Int(usize::try_from(n).unwrap_or(MAX)))
    }
}

/// A size in bytes from `MIN` (0 or 1) to `MAX`: `65536`, `64KiB`,
/// `512MiB`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bytes<const MIN: u64 = 0, const MAX: u64 = { u64::MAX }>(pub(crate) u64);

impl<'de, const MIN: u64, const MAX: u64> Deserialize<'de> for Bytes<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let expected = if MIN == 0 {
            "a size in bytes such as 65536, 64KiB or 512MiB"
        } else {
            "a size in bytes above zero such as 65536, 64KiB or 512MiB"
        };
        d.deserialize_any(BoundedVisitor {
            expected: expected.to_owned(),
            bounds: MIN..=MAX,
            unit: "a size in bytes",
            text: parse_bytes,
        })
        .map(Bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_whole_numbers_with_a_unit() {
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("5s"), Some(Duration::from_secs(5)));
        assert_eq!(parse_duration("1m"), Some(Duration::from_secs(60)));
        assert_eq!(parse_duration("2h"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_duration("0s"), Some(Duration::ZERO));
        for bad in [
            "",
            "5",
            "s",
            "fast",
            "-5s",
            "1.5s",
            "5 s",
            "5S",
            "5sec",
            "99999999999999999999s",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
        assert_eq!(
            parse_duration("307445734561825861m"),
            None,
            "overflows u64 seconds"
        );
    }

    #[test]
    fn rates_take_percentages_and_fractions_up_to_one() {
        assert_eq!(parse_rate("50%"), Some(0.5));
        assert_eq!(parse_rate("12.5%"), Some(0.125));
        assert_eq!(parse_rate("100%"), Some(1.0));
        assert_eq!(parse_rate("0.5"), Some(0.5));
        for bad in [
            "0%", "0.0", "150%", "1.5", "-1%", "%", "", ".", "nan", "inf", "1e-1", "50 %", "5.0.0%",
        ] {
            assert_eq!(parse_rate(bad), None, "{bad}");
        }
    }

    #[test]
    fn byte_sizes_take_binary_and_decimal_units() {
        assert_eq!(parse_bytes("65536"), Some(65536));
        assert_eq!(parse_bytes("64KiB"), Some(64 << 10));
        assert_eq!(parse_bytes("512MiB"), Some(512 << 20));
        assert_eq!(parse_bytes("1GiB"), Some(1 << 30));
        assert_eq!(parse_bytes("10MB"), Some(10_000_000));
        assert_eq!(parse_bytes("100B"), Some(100));
        for bad in [
            "",
            "MiB",
            "1.5MiB",
            "-1",
            "1mib",
            "1 MiB",
            "99999999999999GiB",
        ] {
            assert_eq!(parse_bytes(bad), None, "{bad}");
        }
    }
}
