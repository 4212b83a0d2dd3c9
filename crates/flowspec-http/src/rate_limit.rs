//! Reading how long a server wants us to wait: `Retry-After` (seconds or an HTTP
//! date), `X-RateLimit-Reset-After` (Discord, seconds), and the reset time of
//! `X-RateLimit-Reset` / `RateLimit-Reset` (GitHub and GitLab: a Unix time).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::HeaderMap;

/// The wait a response asks for, if it says.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    if let Some(value) = header(headers, "retry-after") {
        if let Ok(secs) = value.trim().parse::<f64>() {
            return Some(Duration::from_secs_f64(secs.max(0.0)));
        }
        if let Ok(date) = httpdate::parse_http_date(value.trim()) {
            return Some(date.duration_since(now).unwrap_or_default());
        }
    }
    if let Some(secs) =
        header(headers, "x-ratelimit-reset-after").and_then(|v| v.trim().parse::<f64>().ok())
    {
        return Some(Duration::from_secs_f64(secs.max(0.0)));
    }
    reset_at(headers).map(|at| at.duration_since(now).unwrap_or_default())
}

/// When the rate limit resets, from `X-RateLimit-Reset` or `RateLimit-Reset`.
/// Values above 10⁹ are Unix times; smaller ones are seconds from now (IETF draft).
pub fn reset_at(headers: &HeaderMap) -> Option<SystemTime> {
    let value =
        header(headers, "x-ratelimit-reset").or_else(|| header(headers, "ratelimit-reset"))?;
    let secs = value.trim().parse::<f64>().ok()?;
    if secs > 1e9 {
        Some(UNIX_EPOCH + Duration::from_secs_f64(secs))
    } else {
        Some(SystemTime::now() + Duration::from_secs_f64(secs.max(0.0)))
    }
}

/// Whether the response says the rate limit is used up (`X-RateLimit-Remaining: 0`).
pub fn exhausted(headers: &HeaderMap) -> bool {
    header(headers, "x-ratelimit-remaining")
        .or_else(|| header(headers, "ratelimit-remaining"))
        .is_some_and(|v| v.trim() == "0")
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    HeaderName::from_bytes(k.as_bytes()).unwrap(),
                    HeaderValue::from_str(v).unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn should_read_seconds_dates_and_reset_times() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(
            retry_after(&headers(&[("retry-after", "7")]), now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            retry_after(
                &headers(&[("retry-after", "Tue, 14 Nov 2023 22:13:30 GMT")]),
                now
            ),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            retry_after(&headers(&[("x-ratelimit-reset", "1700000042")]), now),
            Some(Duration::from_secs(42))
        );
        assert_eq!(
            retry_after(&headers(&[("x-ratelimit-reset-after", "1.5")]), now),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(retry_after(&headers(&[]), now), None);
        assert!(exhausted(&headers(&[("x-ratelimit-remaining", "0")])));
    }
}
