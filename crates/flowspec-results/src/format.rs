//! Which format a report is in, from its first bytes (never its file name).

use serde::{Deserialize, Serialize};

/// The formats read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Format {
    /// JUnit XML (any dialect).
    Junit,
    /// Cobertura XML coverage.
    Cobertura,
    /// LCOV tracefile.
    Lcov,
    /// .NET TRX (Visual Studio test results).
    Trx,
    /// `go test -json` output.
    GoTestJson,
    /// NUnit 3 (`<test-run>`) or NUnit 2.5 (`<test-results>`) XML.
    Nunit,
    /// xUnit.net v2 XML (`<assemblies>`).
    Xunit,
    /// CTRF JSON (`{"results": {"tool": …, "tests": […]}}`).
    Ctrf,
    /// TAP (Test Anything Protocol) output.
    Tap,
    /// Jest's `--json` output.
    JestJson,
    /// mocha's `json` reporter.
    MochaJson,
    /// RSpec's `json` formatter.
    RspecJson,
    /// `dart test --reporter json` / `flutter test --machine` events.
    DartJson,
    /// JaCoCo XML coverage.
    Jacoco,
    /// Go cover profile (`go test -coverprofile`).
    GoCover,
}

impl Format {
    /// The name used in messages and JSON: `junit`, `nunit`, `ctrf`…
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Junit => "junit",
            Format::Cobertura => "cobertura",
            Format::Lcov => "lcov",
            Format::Trx => "trx",
            Format::GoTestJson => "go-test-json",
            Format::Nunit => "nunit",
            Format::Xunit => "xunit",
            Format::Ctrf => "ctrf",
            Format::Tap => "tap",
            Format::JestJson => "jest-json",
            Format::MochaJson => "mocha-json",
            Format::RspecJson => "rspec-json",
            Format::DartJson => "dart-json",
            Format::Jacoco => "jacoco",
            Format::GoCover => "go-cover",
        }
    }

    /// Whether the format holds coverage, not test results.
    ///
    /// ```
    /// use flowspec_results::Format;
    ///
    /// assert!(Format::Lcov.is_coverage());
    /// assert!(!Format::Junit.is_coverage());
    /// ```
    pub fn is_coverage(self) -> bool {
        matches!(
            self,
            Format::Cobertura | Format::Lcov | Format::Jacoco | Format::GoCover
        )
    }

    /// Guesses the format from the first bytes of a file: the root element of an
    /// XML document (`testsuites`/`testsuite`, `coverage`, `TestRun` in the
    /// TeamTest namespace, `test-run`/`test-results`, `assemblies`), LCOV's
    /// `TN:`/`SF:`, or a first line that is a JSON object with an `"Action"`
    /// (`go test -json`).
    ///
    /// ```
    /// use flowspec_results::Format;
    ///
    /// assert_eq!(Format::sniff(b"<testsuites>"), Some(Format::Junit));
    /// assert_eq!(
    ///     Format::sniff(br#"<TestRun xmlns="http://microsoft.com/schemas/VisualStudio/TeamTest/2010">"#),
    ///     Some(Format::Trx)
    /// );
    /// assert_eq!(
    ///     Format::sniff(br#"{"Time":"2025-01-01T00:00:00Z","Action":"start","Package":"x"}"#),
    ///     Some(Format::GoTestJson)
    /// );
    /// assert_eq!(Format::sniff(br#"<test-run id="2">"#), Some(Format::Nunit));
    /// ```
    pub fn sniff(head: &[u8]) -> Option<Format> {
        let text = String::from_utf8_lossy(head);
        let text = text.trim_start_matches('\u{feff}').trim_start();
        if text.starts_with("TN:") || text.starts_with("SF:") {
            return Some(Format::Lcov);
        }
        if let Some(mode) = text.strip_prefix("mode:") {
            let mode = mode.lines().next().unwrap_or_default().trim();
            return matches!(mode, "set" | "count" | "atomic").then_some(Format::GoCover);
        }
        if text.starts_with('{') {
            return sniff_json(text);
        }
        if is_tap(text) {
            return Some(Format::Tap);
        }
        if text.starts_with('<') {
            return sniff_xml(text);
        }
        None
    }
}

/// `TAP version 13`, or (TAP 12, no version line) a first line that is a plan
/// `1..N` or a test point `ok`/`not ok` followed by more TAP.
fn is_tap(text: &str) -> bool {
    let first = text.lines().next().unwrap_or_default().trim_end();
    if let Some(version) = first.strip_prefix("TAP version ") {
        return version.trim().parse::<u32>().is_ok();
    }
    let plan = first
        .strip_prefix("1..")
        .and_then(|n| n.split_whitespace().next())
        .is_some_and(|n| n.parse::<u64>().is_ok());
    let point = |line: &str| {
        let rest = line
            .strip_prefix("not ok")
            .or_else(|| line.strip_prefix("ok"));
        rest.is_some_and(|r| r.is_empty() || r.starts_with([' ', '\t']))
    };
    plan || (point(first)
        && text
            .lines()
            .skip(1)
            .take(5)
            .any(|l| point(l) || l.starts_with("1..")))
}

/// Whether `"key"` followed by a colon occurs in `text` (a JSON object's key,
/// whatever the spacing).
fn has_key(text: &str, key: &str) -> bool {
    let quoted = format!("\"{key}\"");
    text.match_indices(&quoted)
        .any(|(at, _)| text[at + quoted.len()..].trim_start().starts_with(':'))
}

/// A JSON document or a stream of JSON lines.
fn sniff_json(text: &str) -> Option<Format> {
    if has_key(text, "results") && (has_key(text, "tool") || text.contains("\"CTRF\"")) {
        return Some(Format::Ctrf);
    }
    if has_key(text, "numTotalTests") || has_key(text, "assertionResults") {
        return Some(Format::JestJson);
    }
    if has_key(text, "stats") && (has_key(text, "passes") || has_key(text, "tests")) {
        return Some(Format::MochaJson);
    }
    if has_key(text, "examples") && (has_key(text, "version") || has_key(text, "seed")) {
        return Some(Format::RspecJson);
    }
    let line = text.lines().next().unwrap_or_default();
    // A first line longer than the head is cut: look for the key instead.
    let cut = !text.contains('\n');
    match serde_json::from_str::<serde_json::Value>(line) {
        Ok(v) if v.get("Action").is_some_and(|a| a.is_string()) => Some(Format::GoTestJson),
        Ok(v) if is_dart_event(&v) => Some(Format::DartJson),
        Ok(_) => None,
        Err(_) if cut && line.contains("\"Action\":") => Some(Format::GoTestJson),
        Err(_) => None,
    }
}

/// The first event of `dart test --reporter json`: `{"protocolVersion": …, "type":
/// "start"}` (or any event of its protocol when the start is missing).
fn is_dart_event(v: &serde_json::Value) -> bool {
    let kind = v.get("type").and_then(|t| t.as_str());
    v.get("protocolVersion").is_some() && kind == Some("start")
        || matches!(kind, Some("suite" | "testStart" | "allSuites"))
            && v.get("time").is_some_and(|t| t.is_number())
}

/// The root element, after the prolog (declarations, comments, DOCTYPE).
fn sniff_xml(text: &str) -> Option<Format> {
    let mut rest = text;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        if rest.starts_with('?') || rest.starts_with('!') {
            continue;
        }
        let name: String = rest
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '>' && *c != '/')
            .collect();
        let local = name.rsplit(':').next().unwrap_or(&name);
        return match local {
            "testsuites" | "testsuite" => Some(Format::Junit),
            "coverage" => Some(Format::Cobertura),
            "TestRun" => {
                let tag = rest.split('>').next().unwrap_or(rest);
                tag.contains(crate::trx::TEAMTEST_NAMESPACE)
                    .then_some(Format::Trx)
            }
            "test-run" | "test-results" => Some(Format::Nunit),
            "assemblies" => Some(Format::Xunit),
            // JaCoCo declares its DTD; its first child is the session info.
            "report" if text.contains("//JACOCO//") || rest.contains("<sessioninfo") => {
                Some(Format::Jacoco)
            }
            _ => None,
        };
    }
    None
}

/// The formats recognised, for messages about a file that is none of them.
pub(crate) const KNOWN: &str =
    "JUnit XML, NUnit XML, xUnit.net XML, TRX, `go test -json`, Cobertura XML, LCOV";
