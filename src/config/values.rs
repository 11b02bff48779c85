//! The value types of the schema, each checked as it is read: durations
//! (`250ms`, `5s`, `1m`), rates (`50%`, `0.5`), counts and byte sizes.

use std::fmt;
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

/// An integer of at least 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Positive(pub(crate) usize);

/// An integer of at least 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Count(pub(crate) usize);

/// Deserializes an integer no smaller than `min`, as a `usize`.
fn integer<'de, D: Deserializer<'de>>(
    d: D,
    min: u64,
    expected: &'static str,
) -> Result<usize, D::Error> {
    struct V {
        min: u64,
        expected: &'static str,
    }
    impl Visitor<'_> for V {
        type Value = usize;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.expected)
        }
        fn visit_u64<E: de::Error>(self, n: u64) -> Result<usize, E> {
            match usize::try_from(n) {
                Ok(v) if n >= self.min => Ok(v),
                _ => Err(found(self.expected, n)),
            }
        }
        fn visit_i64<E: de::Error>(self, n: i64) -> Result<usize, E> {
            Err(found(self.expected, n))
        }
        fn visit_i128<E: de::Error>(self, n: i128) -> Result<usize, E> {
            Err(found(self.expected, n))
        }
        fn visit_f64<E: de::Error>(self, n: f64) -> Result<usize, E> {
            Err(found(self.expected, n))
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<usize, E> {
            Err(found(self.expected, format_args!("{s:?}")))
        }
    }
    d.deserialize_any(V { min, expected })
}

impl<'de> Deserialize<'de> for Positive {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        integer(d, 1, "a positive integer").map(Positive)
    }
}

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        integer(d, 0, "an integer of 0 or more").map(Count)
    }
}

/// A size in bytes: `65536`, `64KiB`, `512MiB`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bytes(pub(crate) u64);

const BYTES: &str = "a size in bytes such as 65536, 64KiB or 512MiB";

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Bytes;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(BYTES)
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Bytes, E> {
                Ok(Bytes(n))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Bytes, E> {
                Err(found(BYTES, n))
            }
            fn visit_i128<E: de::Error>(self, n: i128) -> Result<Bytes, E> {
                Err(found(BYTES, n))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Bytes, E> {
                Err(found(BYTES, n))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Bytes, E> {
                parse_bytes(s)
                    .map(Bytes)
                    .ok_or_else(|| found(BYTES, format_args!("{s:?}")))
            }
        }
        d.deserialize_any(V)
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
