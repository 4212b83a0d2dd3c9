//! Secrets: which values are secret, and masking them as `***` wherever text leaves
//! the process (terminal, audit log, logs, errors).
//!
//! A value is secret when it is held by an environment variable whose name contains
//! `TOKEN`, `SECRET`, `KEY`, `PASSWORD` or `WEBHOOK_URL` (any case), when a hook's
//! `env` entry with such a name or reading such a variable produces it, or when its
//! variable is listed under `secrets:` in hooks.yaml. Embedders add the values their
//! configuration uses as credentials ([`EngineBuilder::secret`](crate::EngineBuilder::secret),
//! [`Engine::add_secrets`](crate::Engine::add_secrets)): the `flowspec` facade adds
//! every credential of flowspec.yaml (server sources, signing keys, notifier and CI
//! credentials, literal or read from a variable of any name), and the server adds its
//! sources' secrets when it starts. Values shorter than
//! [`MIN_SECRET_LEN`] bytes are not masked: masking every `1` in the output would hide
//! more than it protects.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use aho_corasick::{AhoCorasick, MatchKind};
pub use secrecy::{ExposeSecret, SecretString};

/// The replacement for a secret value.
pub const MASK: &str = "***";

/// Values shorter than this are never masked.
pub const MIN_SECRET_LEN: usize = 4;

const SECRET_NAME_PARTS: [&str; 5] = ["TOKEN", "SECRET", "KEY", "PASSWORD", "WEBHOOK_URL"];

/// Whether an environment variable name looks like it holds a secret.
///
/// ```
/// use flowspec_core::secret::looks_secret;
/// assert!(looks_secret("GITHUB_TOKEN"));
/// assert!(looks_secret("slack_webhook_url"));
/// assert!(!looks_secret("ENVIRONMENT"));
/// ```
pub fn looks_secret(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    SECRET_NAME_PARTS.iter().any(|part| upper.contains(part))
}

/// Replaces every known secret value in text with `***`.
///
/// Cheap to clone; an empty masker returns its input untouched without allocating.
///
/// ```
/// use flowspec_core::secret::Masker;
///
/// let masker = Masker::new(["ghp_abc123"]);
/// assert_eq!(masker.mask("token=ghp_abc123 ok"), "token=*** ok");
/// assert_eq!(format!("{masker:?}"), "Masker(1 secret)");
/// ```
#[derive(Clone, Default)]
pub struct Masker {
    automaton: Option<Arc<AhoCorasick>>,
    values: Arc<[String]>,
}

impl Masker {
    /// A masker for `secrets`; values shorter than [`MIN_SECRET_LEN`] are ignored.
    pub fn new<S: AsRef<str>>(secrets: impl IntoIterator<Item = S>) -> Self {
        let mut values: Vec<String> = secrets
            .into_iter()
            .map(|s| s.as_ref().to_owned())
            .filter(|s| s.len() >= MIN_SECRET_LEN)
            .collect();
        values.sort();
        values.dedup();
        if values.is_empty() {
            return Masker::default();
        }
        // Leftmost-longest so that a secret containing another is masked whole.
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&values)
            .ok()
            .map(Arc::new);
        Masker {
            automaton,
            values: values.into(),
        }
    }

    /// This masker's secrets and `more`.
    ///
    /// ```
    /// use flowspec_core::secret::Masker;
    ///
    /// let masker = Masker::new(["ghp_abc123"]).extended(["whsec_xyz789"]);
    /// assert_eq!(masker.mask("ghp_abc123 whsec_xyz789"), "*** ***");
    /// ```
    pub fn extended<S: AsRef<str>>(&self, more: impl IntoIterator<Item = S>) -> Masker {
        let mine = self.values.iter().map(String::as_str);
        let more: Vec<S> = more.into_iter().collect();
        Masker::new(mine.chain(more.iter().map(AsRef::as_ref)))
    }

    /// How many distinct secrets are masked.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether nothing is masked.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// `text` with every secret replaced by `***`.
    pub fn mask<'a>(&self, text: &'a str) -> Cow<'a, str> {
        match &self.automaton {
            Some(ac) if ac.is_match(text) => {
                Cow::Owned(ac.replace_all(text, &vec![MASK; self.values.len()]))
            }
            _ => Cow::Borrowed(text),
        }
    }

    /// Masks every string inside a JSON value.
    pub fn mask_json(&self, value: &mut serde_json::Value) {
        if self.is_empty() {
            return;
        }
        match value {
            serde_json::Value::String(s) => {
                if let Cow::Owned(masked) = self.mask(s) {
                    *s = masked;
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|v| self.mask_json(v)),
            serde_json::Value::Object(map) => map.values_mut().for_each(|v| self.mask_json(v)),
            _ => {}
        }
    }
}

impl fmt::Debug for Masker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.values.len();
        write!(
            f,
            "Masker({count} secret{})",
            if count == 1 { "" } else { "s" }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_mask_every_occurrence_of_every_secret() {
        let m = Masker::new(["secret-one", "two-2-two", "x"]);
        assert_eq!(m.len(), 2, "values under 4 bytes are ignored");
        assert_eq!(
            m.mask("a secret-one b two-2-two c secret-one x"),
            "a *** b *** c *** x"
        );
    }

    #[test]
    fn should_mask_the_longest_overlapping_secret() {
        let m = Masker::new(["abcd", "abcdefgh"]);
        assert_eq!(m.mask("[abcdefgh]"), "[***]");
    }

    #[test]
    fn should_keep_its_secrets_when_extended() {
        let m = Masker::new(["secret-one"]).extended(["two-2-two", "secret-one"]);
        assert_eq!(m.len(), 2);
        assert_eq!(m.mask("secret-one two-2-two"), "*** ***");
        assert_eq!(format!("{m:?}"), "Masker(2 secrets)");
    }

    #[test]
    fn should_not_allocate_when_nothing_matches() {
        let m = Masker::new(["secret"]);
        assert!(matches!(m.mask("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn should_mask_json_strings_recursively() {
        let m = Masker::new(["hunter22"]);
        let mut v = serde_json::json!({"a": ["x hunter22"], "b": {"c": "hunter22"}, "n": 1});
        m.mask_json(&mut v);
        assert_eq!(
            v,
            serde_json::json!({"a": ["x ***"], "b": {"c": "***"}, "n": 1})
        );
    }
}
