//! Durations as written in hooks.yaml, flowspec.yaml and on flags: one meaning
//! everywhere.
//!
//! A bare number is seconds (`600`, `1.5`); a number with units is read by
//! [humantime](https://docs.rs/humantime) (`30s`, `10m`, `1h30m`, `2days`).
//!
//! ```
//! use std::time::Duration;
//! use flowspec_core::duration;
//! assert_eq!(duration::parse("600").unwrap(), Duration::from_secs(600));
//! assert_eq!(duration::parse("10m").unwrap(), Duration::from_secs(600));
//! assert_eq!(duration::parse("1h30m").unwrap(), Duration::from_secs(5400));
//! assert_eq!(duration::parse("1.5").unwrap(), Duration::from_millis(1500));
//! let err = duration::parse("soon").unwrap_err();
//! assert!(err.to_string().contains("`soon`"), "{err}");
//! ```
//!
//! In a serde struct, [`serde`] reads either a number or a string:
//!
//! ```
//! #[derive(serde::Deserialize)]
//! struct Section {
//!     #[serde(default, with = "flowspec_core::duration::serde")]
//!     timeout: Option<std::time::Duration>,
//! }
//! let s: Section = serde_json::from_str(r#"{"timeout": "10m"}"#).unwrap();
//! assert_eq!(s.timeout, Some(std::time::Duration::from_secs(600)));
//! let s: Section = serde_json::from_str(r#"{"timeout": 30}"#).unwrap();
//! assert_eq!(s.timeout, Some(std::time::Duration::from_secs(30)));
//! ```

use std::time::Duration;

use thiserror::Error;

/// The forms a duration may take, for error messages and hints.
pub const ACCEPTED_FORMS: &str =
    "a number of seconds (`600`, `1.5`) or a number with units (`30s`, `10m`, `1h30m`)";

/// Why a text is not a duration.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("`{text}` is not a duration: write {ACCEPTED_FORMS}")]
pub struct DurationError {
    text: String,
}

impl DurationError {
    /// The text that was given.
    pub fn text(&self) -> &str {
        &self.text
    }
}

/// Reads a duration: a bare number is seconds, otherwise units as humantime reads them.
/// Negative, NaN and out-of-range values are refused.
pub fn parse(text: &str) -> Result<Duration, DurationError> {
    let trimmed = text.trim();
    let error = || DurationError {
        text: text.to_owned(),
    };
    if trimmed.is_empty() {
        return Err(error());
    }
    if trimmed.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        let seconds: f64 = trimmed.parse().map_err(|_| error())?;
        return from_secs(seconds).ok_or_else(error);
    }
    humantime::parse_duration(trimmed).map_err(|_| error())
}

/// A number of seconds as a duration, if it is finite and not negative.
pub fn from_secs(seconds: f64) -> Option<Duration> {
    Duration::try_from_secs_f64(seconds).ok()
}

/// Serde support for `Option<Duration>` fields: a number (seconds) or a string
/// ([`parse`]). Use with `#[serde(default, with = "flowspec_core::duration::serde")]`.
pub mod serde {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Seconds(f64),
        Text(String),
    }

    /// Reads a number of seconds or a duration text.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let raw = Option::<Raw>::deserialize(d)
            .map_err(|_| serde::de::Error::custom(format!("expected {}", super::ACCEPTED_FORMS)))?;
        match raw {
            None => Ok(None),
            Some(Raw::Seconds(s)) => super::from_secs(s).map(Some).ok_or_else(|| {
                serde::de::Error::custom(super::DurationError {
                    text: s.to_string(),
                })
            }),
            Some(Raw::Text(t)) => super::parse(&t).map(Some).map_err(serde::de::Error::custom),
        }
    }

    /// Writes the duration as humantime text (`10m`).
    pub fn serialize<S: Serializer>(value: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(d) => s.serialize_str(&humantime::format_duration(*d).to_string()),
            None => s.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_read_seconds_and_units_alike() {
        for (text, secs) in [
            ("600", 600.0),
            ("0", 0.0),
            (" 45 ", 45.0),
            ("1.5", 1.5),
            ("30s", 30.0),
            ("10m", 600.0),
            ("1h30m", 5400.0),
            ("1h 30m", 5400.0),
            ("250ms", 0.25),
            ("2days", 172_800.0),
        ] {
            assert_eq!(parse(text), Ok(Duration::from_secs_f64(secs)), "{text}");
        }
    }

    #[test]
    fn should_refuse_what_is_not_a_duration_naming_the_text_and_the_forms() {
        for text in ["soon", "", "-5", "10 parsecs", "1..5", "m10"] {
            let err = parse(text).unwrap_err();
            assert_eq!(err.text(), text);
            let message = err.to_string();
            assert!(message.contains(&format!("`{text}`")), "{message}");
            assert!(
                message.contains("`10m`") && message.contains("`600`"),
                "{message}"
            );
        }
        assert_eq!(from_secs(-1.0), None);
        assert_eq!(from_secs(f64::NAN), None);
    }
}
