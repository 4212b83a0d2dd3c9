//! One wildcard matcher for the whole workspace: `*` matches any run of characters
//! (including none), everything else matches itself. Used by event selectors
//! (`ci.*`), hook filters (`branch: release/*`), the quarantine list and the
//! report-artifact name patterns of `flowspec-results`.
//!
//! No regex, no character classes, no escapes: a pattern is literal text with
//! stars, compiled once into its literal pieces.
//!
//! ```
//! use flowspec_core::glob::Glob;
//!
//! let glob = Glob::new("com.example.*Test::*");
//! assert!(glob.matches("com.example.CalcTest::adds"));
//! assert!(!glob.matches("org.other.CalcTest::adds"));
//! assert_eq!(glob.as_str(), "com.example.*Test::*");
//! assert!(flowspec_core::glob::glob_match("a*c", "abc"));
//! ```

use std::fmt;

/// A compiled wildcard pattern: literal pieces between `*`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Glob {
    pattern: String,
    // The literal pieces between stars: one piece for a pattern without stars; a
    // pattern starting or ending with `*` has an empty first or last piece.
    pieces: Vec<String>,
}

impl Glob {
    /// Compiles `pattern` (never fails: every text is a pattern).
    pub fn new(pattern: impl Into<String>) -> Self {
        let pattern = pattern.into();
        let pieces = pattern.split('*').map(str::to_owned).collect();
        Glob { pattern, pieces }
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// Whether the pattern has a `*`.
    pub fn has_wildcard(&self) -> bool {
        self.pieces.len() > 1
    }

    /// Whether `text` matches the whole pattern.
    pub fn matches(&self, text: &str) -> bool {
        let (first, last) = match (self.pieces.first(), self.pieces.last()) {
            (Some(first), Some(last)) => (first.as_str(), last.as_str()),
            _ => return text.is_empty(),
        };
        if self.pieces.len() == 1 {
            return first == text;
        }
        if text.len() < first.len() + last.len()
            || !text.starts_with(first)
            || !text.ends_with(last)
        {
            return false;
        }
        let mut rest = &text[first.len()..text.len() - last.len()];
        for piece in &self.pieces[1..self.pieces.len() - 1] {
            match rest.find(piece.as_str()) {
                Some(i) => rest = &rest[i + piece.len()..],
                None => return false,
            }
        }
        true
    }
}

impl fmt::Debug for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Glob({:?})", self.pattern)
    }
}

impl fmt::Display for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.pattern)
    }
}

/// Whether `text` matches `pattern` (compiles it each call; keep a [`Glob`] when
/// matching one pattern often).
pub fn glob_match(pattern: &str, text: &str) -> bool {
    Glob::new(pattern).matches(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_match_stars_anywhere() {
        assert!(glob_match("a::*", "a::b"));
        assert!(glob_match("*::b", "a::b"));
        assert!(glob_match("a*c*e", "abcde"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a**b", "ab"));
        assert!(glob_match("ci.*.completed", "ci.job.completed"));
    }

    #[test]
    fn should_not_match_overlapping_ends_or_missing_pieces() {
        assert!(!glob_match("a*c*e", "abde"));
        assert!(!glob_match("ab*ba", "aba"));
        assert!(!glob_match("a*", "b"));
        assert!(!glob_match("*a", "ab"));
    }

    #[test]
    fn should_match_text_without_stars_literally() {
        assert!(glob_match("exact", "exact"));
        assert!(!glob_match("exact", "exactly"));
        assert!(glob_match("", ""));
        assert!(!glob_match("", "x"));
        assert!(!Glob::new("exact").has_wildcard());
        assert!(Glob::new("release/*").has_wildcard());
    }

    #[test]
    fn should_keep_the_pattern_as_written() {
        let glob = Glob::new("release/*");
        assert_eq!(glob.as_str(), "release/*");
        assert_eq!(glob.to_string(), "release/*");
        assert_eq!(format!("{glob:?}"), "Glob(\"release/*\")");
    }
}
