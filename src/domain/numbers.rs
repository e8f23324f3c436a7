//! Whole numbers in JSON bodies, as JSON Schema's `integer` counts them: `7` and `7.0` alike.
//! serde refuses `7.0` for an integer field; clients whose JSON libraries write whole numbers as
//! floats would get a 422 for a value their schema validator accepts. These deserializers take
//! both, and refuse fractions and values out of range with a message naming the range.

use serde::de::{Deserialize, Deserializer, Error};

fn number<E: Error>(n: serde_json::Number, min: i64, max: i64) -> Result<i64, E> {
    let value = match (n.as_i64(), n.as_f64()) {
        (Some(i), _) => Some(i),
        (None, Some(f)) if f.fract() == 0.0 && f >= min as f64 && f <= max as f64 => Some(f as i64),
        _ => None,
    };
    match value {
        Some(v) if (min..=max).contains(&v) => Ok(v),
        _ => Err(E::custom(format!(
            "must be a whole number between {min} and {max}"
        ))),
    }
}

/// A whole number in `0..=i32::MAX` (non-negative and storable as a 32-bit integer).
pub fn non_negative_i32<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    number(n, 0, i32::MAX as i64).map(|v| v as u32)
}

/// A whole number that fits an `i32`; range rules are the domain's.
pub fn any_i32<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    number(n, i32::MIN as i64, i32::MAX as i64).map(|v| v as i32)
}

/// An optional whole number that fits an `i32`; range rules are the domain's.
pub fn optional_i32<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i32>, D::Error> {
    Option::<serde_json::Number>::deserialize(d)?
        .map(|n| number(n, i32::MIN as i64, i32::MAX as i64).map(|v| v as i32))
        .transpose()
}
