//! Where flowspec may send requests, and how targets are shown in messages.
//!
//! Outgoing webhook and API targets must be HTTPS. Plain HTTP is allowed only for
//! loopback addresses (`localhost`, `127.0.0.0/8`, `::1`): local relays and test mocks.

use std::net::IpAddr;

use url::{Host, Url};

use crate::error::{HttpError, HttpErrorKind};

/// Checks that `url` may be used as a target.
///
/// ```
/// use flowspec_http::target::check_target;
/// assert!(check_target("https://hooks.slack.com/services/T/B/x").is_ok());
/// assert!(check_target("http://127.0.0.1:8080/hook").is_ok());
/// assert!(check_target("http://example.com/hook").is_err());
/// ```
pub fn check_target(url: &str) -> Result<Url, HttpError> {
    let parsed = Url::parse(url)
        .map_err(|e| HttpError::new(HttpErrorKind::InvalidRequest, format!("invalid URL: {e}")))?;
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if is_loopback(&parsed) => Ok(parsed),
        "http" => Err(HttpError::new(
            HttpErrorKind::InvalidRequest,
            format!(
                "{} uses plain HTTP; targets must be HTTPS (plain HTTP is allowed only for localhost, 127.0.0.0/8 and ::1)",
                redact(&parsed)
            ),
        )),
        other => Err(HttpError::new(
            HttpErrorKind::InvalidRequest,
            format!("unsupported URL scheme `{other}`: use https://"),
        )),
    }
}

/// Whether the URL's host is a loopback address.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// The URL without path, query or credentials (`https://hooks.slack.com/…`): safe to
/// print, since webhook paths and queries often are the secret.
///
/// ```
/// use flowspec_http::target::redact;
/// let url = url::Url::parse("https://user:pw@hooks.slack.com/services/T0/B0/secret?x=1").unwrap();
/// assert_eq!(redact(&url), "https://hooks.slack.com/…");
/// ```
pub fn redact(url: &Url) -> String {
    let host = url.host_str().unwrap_or("");
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let rest = if url.path() == "/" && url.query().is_none() {
        ""
    } else {
        "/…"
    };
    format!("{}://{host}{port}{rest}", url.scheme())
}

/// Everything but the RFC 3986 unreserved characters (`A-Z a-z 0-9 - . _ ~`).
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `value` percent-encoded as one URL path segment or query value: `/`, spaces,
/// `?`, `#`, `%` and non-ASCII bytes are escaped, so a run id, workflow file, branch,
/// project path or work item type cannot change the request's path.
///
/// ```
/// use flowspec_http::target::path_segment;
/// assert_eq!(path_segment("group/app"), "group%2Fapp");
/// assert_eq!(path_segment("feature/a b"), "feature%2Fa%20b");
/// assert_eq!(path_segment("$User Story"), "%24User%20Story");
/// assert_eq!(path_segment("prüf-1.0_~x"), "pr%C3%BCf-1.0_~x");
/// ```
pub fn path_segment(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, SEGMENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_allow_https_and_loopback_http_only() {
        for ok in [
            "https://x.example/a",
            "http://localhost:9/a",
            "http://127.0.0.2/a",
            "http://[::1]:80/",
        ] {
            assert!(check_target(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://10.0.0.1/a",
            "http://localhost.evil.com/",
            "ftp://x/",
            "not a url",
        ] {
            assert!(check_target(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn should_never_print_paths_or_credentials() {
        let err = check_target("http://hooks.example.com/services/SECRET").unwrap_err();
        assert!(!err.to_string().contains("SECRET"), "{err}");
    }
}
