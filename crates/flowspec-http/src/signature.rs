//! Webhook signatures: signed by the notifiers, verified by the server, one
//! implementation for both:
//!
//! - `X-Signature-256: sha256=<hex>`: lowercase hex HMAC-SHA256 of the exact body bytes
//!   with the endpoint's `secret` as key (UTF-8), the scheme of GitHub's
//!   `X-Hub-Signature-256`.
//! - Standard Webhooks: `webhook-id`, `webhook-timestamp` (Unix
//!   seconds) and `webhook-signature: v1,<base64>`, the HMAC-SHA256 of
//!   `{id}.{timestamp}.{body}` keyed with the base64-decoded `whsec_` secret. With
//!   several keys (rotation), one `v1,` signature per key, space-separated.
//! - Shared tokens (bearer tokens, GitLab's `X-Gitlab-Token`): [`tokens_equal`], and
//!   [`bearer_token`] to read `Authorization: Bearer <token>`.
//! - Replay keys for schemes without a delivery id of their own: [`body_digest`].
//!
//! Every comparison runs in constant time.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// The `X-Signature-256` header value for `body`.
///
/// ```
/// // GitHub's documented example.
/// let header = flowspec_http::signature::sha256_header(b"It's a Secret to Everybody", b"Hello, World!");
/// assert_eq!(header, "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
/// ```
pub fn sha256_header(secret: &[u8], body: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Whether `header` is a valid `sha256=<hex>` signature of `body` (constant time).
pub fn verify_sha256_header(secret: &[u8], body: &[u8], header: &str) -> bool {
    let Some(hex_sig) = header.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Ok(sig) = hex::decode(hex_sig) else {
        return false;
    };
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

/// Whether a received token equals the expected one, in time that does not depend on
/// where they differ (the lengths may leak, not the contents).
///
/// ```
/// use flowspec_http::signature::tokens_equal;
/// assert!(tokens_equal("s3cret-token", "s3cret-token"));
/// assert!(!tokens_equal("s3cret-token", "s3cret-tokem"));
/// ```
pub fn tokens_equal(received: &str, expected: &str) -> bool {
    // HMAC both with a fixed key and compare the digests: constant time, any lengths.
    let digest = |text: &str| {
        let mut mac = HmacSha256::new_from_slice(b"flowspec token comparison")
            .expect("HMAC takes keys of any length");
        mac.update(text.as_bytes());
        mac
    };
    digest(received)
        .verify_slice(&digest(expected).finalize().into_bytes())
        .is_ok()
}

/// The SHA-256 digest of `body` as `sha256:<lowercase hex>`: one canonical key per
/// body, however its signature was written (hex case, extra headers). Receivers use it
/// to refuse a signed body seen before.
///
/// ```
/// use flowspec_http::signature::body_digest;
/// assert_eq!(
///     body_digest(b"abc"),
///     "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
/// );
/// ```
pub fn body_digest(body: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(body)))
}

/// The token of an `Authorization: Bearer <token>` header value. The scheme is
/// matched in any case (`bearer`, `BEARER`), as RFC 9110 says auth schemes are
/// case-insensitive; `None` for another scheme or an empty token.
///
/// ```
/// use flowspec_http::signature::bearer_token;
/// assert_eq!(bearer_token("Bearer abc"), Some("abc"));
/// assert_eq!(bearer_token("bearer  abc "), Some("abc"));
/// assert_eq!(bearer_token("Basic YTpi"), None);
/// ```
pub fn bearer_token(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.trim().split_once([' ', '\t'])?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Whether `hex_signature` is the lowercase or uppercase hex HMAC-SHA256 of `body`
/// (schemes without a `sha256=` prefix, such as CircleCI's `v1=<hex>`).
pub fn verify_hmac_hex(secret: &[u8], body: &[u8], hex_signature: &str) -> bool {
    let Ok(sig) = hex::decode(hex_signature.trim()) else {
        return false;
    };
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

/// A Standard Webhooks signing key: the bytes behind a `whsec_<base64>` secret.
#[derive(Clone)]
pub struct SigningKey(Vec<u8>);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(***)")
    }
}

impl SigningKey {
    /// Decodes `whsec_<base64>` (the prefix is optional). The error never repeats the secret.
    pub fn parse(secret: &str) -> Result<SigningKey, String> {
        let b64 = secret.trim().trim_start_matches("whsec_");
        let bytes = STANDARD
            .decode(b64)
            .map_err(|_| "a Standard Webhooks secret must be `whsec_` followed by base64 (24 to 64 random bytes)".to_owned())?;
        if bytes.is_empty() {
            return Err("the Standard Webhooks secret is empty".to_owned());
        }
        Ok(SigningKey(bytes))
    }

    /// How many bytes the key has (the decoded secret; 24 to 64 is usual).
    pub fn byte_len(&self) -> usize {
        self.0.len()
    }

    /// `base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}"))`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        STANDARD.encode(mac.finalize().into_bytes())
    }
}

/// The `webhook-signature` header: `v1,<sig>` for each key, space-separated.
///
/// ```
/// use flowspec_http::signature::{SigningKey, standard_signature};
/// // The Standard Webhooks reference test vector.
/// let key = SigningKey::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
/// let header = standard_signature(&[key], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, br#"{"test": 2432232314}"#);
/// assert_eq!(header, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
/// ```
pub fn standard_signature(keys: &[SigningKey], id: &str, timestamp: i64, body: &[u8]) -> String {
    keys.iter()
        .map(|k| format!("v1,{}", k.sign(id, timestamp, body)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Verifies a Standard Webhooks delivery as a receiver would: any `v1` signature
/// matching `key`, and the timestamp within `tolerance_secs` of `now` (constant-time
/// comparison). Timestamps so far off that the distance does not fit in an `i64` are
/// refused like any other stale one.
pub fn verify_standard(
    key: &SigningKey,
    id: &str,
    timestamp: &str,
    body: &[u8],
    header: &str,
    now: i64,
    tolerance_secs: i64,
) -> bool {
    let Ok(ts) = timestamp.trim().parse::<i64>() else {
        return false;
    };
    if !within_tolerance(now, ts, tolerance_secs) {
        return false;
    }
    header
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .any(|b64| {
            let Ok(sig) = STANDARD.decode(b64) else {
                return false;
            };
            let mut mac =
                HmacSha256::new_from_slice(&key.0).expect("HMAC takes keys of any length");
            mac.update(id.as_bytes());
            mac.update(b".");
            mac.update(ts.to_string().as_bytes());
            mac.update(b".");
            mac.update(body);
            mac.verify_slice(&sig).is_ok()
        })
}

/// Whether `ts` is at most `tolerance_secs` from `now`, without overflowing on
/// extreme values (`i64::MIN`, `i64::MAX`).
///
/// ```
/// use flowspec_http::signature::within_tolerance;
/// assert!(within_tolerance(1_000, 1_200, 300));
/// assert!(!within_tolerance(1_000, i64::MIN, 300));
/// ```
pub fn within_tolerance(now: i64, ts: i64, tolerance_secs: i64) -> bool {
    now.checked_sub(ts)
        .and_then(i64::checked_abs)
        .is_some_and(|distance| distance <= tolerance_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_match_githubs_published_vector() {
        let header = sha256_header(b"It's a Secret to Everybody", b"Hello, World!");
        assert_eq!(
            header,
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        );
        assert!(verify_sha256_header(
            b"It's a Secret to Everybody",
            b"Hello, World!",
            &header
        ));
        assert!(!verify_sha256_header(b"wrong", b"Hello, World!", &header));
    }

    #[test]
    fn should_match_the_standard_webhooks_vector_and_verify_with_tolerance() {
        let key = SigningKey::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        let header = standard_signature(
            std::slice::from_ref(&key),
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            body,
        );
        assert_eq!(header, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        let verify = |now| {
            verify_standard(
                &key,
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                "1614265330",
                body,
                &header,
                now,
                300,
            )
        };
        assert!(verify(1614265330));
        assert!(!verify(1614265330 + 301), "outside the 5-minute tolerance");
    }

    #[test]
    fn should_sign_with_every_key_for_rotation() {
        let old = SigningKey::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let new = SigningKey::parse("whsec_dGhpcyBpcyBhIG5ldyBrZXkgZm9yIHRlc3Rz").unwrap();
        let header = standard_signature(&[new.clone(), old.clone()], "msg_1", 10, b"{}");
        assert_eq!(header.split(' ').count(), 2);
        for key in [&old, &new] {
            assert!(verify_standard(key, "msg_1", "10", b"{}", &header, 10, 300));
        }
        assert!(
            SigningKey::parse("whsec_!!!")
                .unwrap_err()
                .contains("base64")
        );
    }

    #[test]
    fn should_refuse_extreme_timestamps_without_overflowing() {
        let key = SigningKey::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        for (ts, now) in [
            (i64::MIN, 1614265330),
            (i64::MAX, 1614265330),
            (i64::MIN, i64::MAX),
            (i64::MAX, i64::MIN),
            (i64::MIN + 1, 0),
        ] {
            let header = standard_signature(std::slice::from_ref(&key), "msg_1", ts, b"{}");
            assert!(
                !verify_standard(&key, "msg_1", &ts.to_string(), b"{}", &header, now, 300),
                "timestamp {ts} at {now}"
            );
        }
        let header = standard_signature(std::slice::from_ref(&key), "m", i64::MAX, b"{}");
        assert!(verify_standard(
            &key,
            "m",
            &i64::MAX.to_string(),
            b"{}",
            &header,
            i64::MAX,
            300
        ));
    }

    #[test]
    fn should_read_bearer_tokens_in_any_case_of_the_scheme() {
        for header in ["Bearer tok", "bearer tok", "BEARER tok", "BeArEr   tok  "] {
            assert_eq!(bearer_token(header), Some("tok"), "{header}");
        }
        for header in ["Bearer", "Bearer ", "Basic tok", "Bearertok", "tok", ""] {
            assert_eq!(bearer_token(header), None, "{header}");
        }
    }

    #[test]
    fn should_digest_equal_bodies_alike_and_different_bodies_apart() {
        assert_eq!(body_digest(b"{}"), body_digest(b"{}"));
        assert_ne!(body_digest(b"{}"), body_digest(b"{ }"));
        assert_eq!(body_digest(b"").len(), "sha256:".len() + 64);
    }
}
