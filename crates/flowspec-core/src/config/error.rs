//! Configuration errors that say what, where (file, line, column, key path) and how to fix.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};

use super::node::Loc;

/// What kind of mistake a [`ConfigError`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigErrorKind {
    /// The file could not be read.
    Io,
    /// The file is not valid YAML (or has a duplicate key).
    Syntax,
    /// A key that is not a known field.
    UnknownField,
    /// A required field is absent.
    MissingField,
    /// A field has the wrong type or an invalid value.
    InvalidValue,
    /// A name that must be unique is used twice.
    Duplicate,
    /// A referenced file or directory does not exist.
    MissingFile,
    /// `${VAR}` names a variable that is not set and has no default.
    UnsetVariable,
}

/// One configuration problem.
///
/// `Display` renders a compact single-paragraph form
/// (`file:line:col: message` plus an optional hint); [`ConfigError::render`] draws the
/// offending source line with a caret, like the Rust compiler.
#[derive(Clone)]
pub struct ConfigError(Box<Details>);

// Boxed: errors travel in `Result`s everywhere and should stay one pointer wide.
#[derive(Clone)]
struct Details {
    kind: ConfigErrorKind,
    file: Option<PathBuf>,
    loc: Option<Loc>,
    key_path: String,
    message: String,
    hint: Option<String>,
    source_text: Option<Arc<str>>,
}

impl ConfigError {
    /// A new error of `kind` with a message; add the place with the builder methods.
    pub fn new(kind: ConfigErrorKind, message: impl Into<String>) -> Self {
        ConfigError(Box::new(Details {
            kind,
            file: None,
            loc: None,
            key_path: String::new(),
            message: message.into(),
            hint: None,
            source_text: None,
        }))
    }

    /// Sets the file and its text (the text is used to draw the snippet).
    pub fn in_file(mut self, file: &Path, text: Option<Arc<str>>) -> Self {
        self.0.file = Some(file.to_path_buf());
        self.0.source_text = text;
        self
    }

    /// Sets the location in the file.
    pub fn at(mut self, loc: Loc) -> Self {
        self.0.loc = loc.is_known().then_some(loc);
        self
    }

    /// Sets the key path, e.g. `hooks[2].fail_mode`.
    pub fn path(mut self, key_path: impl Into<String>) -> Self {
        self.0.key_path = key_path.into();
        self
    }

    /// Adds a hint that says how to fix the problem.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.0.hint = Some(hint.into());
        self
    }

    /// The kind of problem.
    pub fn kind(&self) -> ConfigErrorKind {
        self.0.kind
    }

    /// The file, when the error comes from one.
    pub fn file(&self) -> Option<&Path> {
        self.0.file.as_deref()
    }

    /// 1-based line and column, when known.
    pub fn line_column(&self) -> Option<(u32, u32)> {
        self.0.loc.map(|l| (l.line, l.column))
    }

    /// The key path, e.g. `hooks[2].fail_mode` (empty for file-level errors).
    pub fn key_path(&self) -> &str {
        &self.0.key_path
    }

    /// The message without location.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// The hint, if one is known.
    pub fn hint_text(&self) -> Option<&str> {
        self.0.hint.as_deref()
    }

    fn title(&self) -> String {
        if self.0.key_path.is_empty() {
            self.0.message.clone()
        } else {
            format!("{} (at `{}`)", self.0.message, self.0.key_path)
        }
    }

    /// Renders the error with the source line and a caret under the offending value.
    ///
    /// ```
    /// use std::path::Path;
    /// let errors = flowspec_core::settings::Settings::parse(Path::new("flowspec.yaml"), "audit:\n  pth: x\n")
    ///     .unwrap_err();
    /// let text = errors.iter().next().unwrap().render(false);
    /// assert!(text.contains("pth: x"), "{text}");
    /// ```
    pub fn render(&self, color: bool) -> String {
        let renderer = if color {
            Renderer::styled()
        } else {
            Renderer::plain()
        };
        let title = self.title();
        let file_name = self.0.file.as_ref().map(|f| f.display().to_string());
        let mut group = Group::with_title(Level::ERROR.primary_title(title.as_str()));
        let mut drew_snippet = false;
        if let (Some(text), Some(loc)) = (self.0.source_text.as_deref(), self.0.loc)
            && let Some((line_start, line)) = line_of(text, loc)
        {
            // Offsets from the parser may fall inside a multi-byte character (a BOM
            // mid-line, say): widen the span to whole characters.
            let start = char_start(line, loc.offset.saturating_sub(line_start));
            let mut end = char_end(line, start + loc.len.max(1));
            // A multi-line value is underlined up to the end of its first line.
            if let Some(nl) = line[start..end].find('\n') {
                end = start + nl;
            }
            let end = char_end(line, end.max(start + 1));
            let mut snippet = Snippet::source(line.trim_end_matches('\n'))
                .line_start(loc.line as usize)
                .annotation(AnnotationKind::Primary.span(start..end));
            if let Some(name) = &file_name {
                snippet = snippet.path(name.as_str());
            }
            group = group.element(snippet);
            drew_snippet = true;
        }
        if !drew_snippet && let Some(name) = &file_name {
            let place = match self.0.loc {
                Some(l) => format!("in {name}:{}:{}", l.line, l.column),
                None => format!("in {name}"),
            };
            group = group.element(Level::NOTE.message(place));
        }
        let mut report: Vec<Group<'_>> = vec![group];
        if let Some(hint) = &self.0.hint {
            report.push(Group::with_title(
                Level::HELP.secondary_title(hint.as_str()),
            ));
        }
        renderer.render(&report)
    }
}

/// The text of the line holding `loc`, with its byte offset.
fn line_of(text: &str, loc: Loc) -> Option<(usize, &str)> {
    let mut start = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        if i + 1 == loc.line as usize {
            return Some((start, line));
        }
        start += line.len();
    }
    None
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.0.file, self.0.loc) {
            (Some(file), Some(loc)) => {
                write!(f, "{}:{}:{}: ", file.display(), loc.line, loc.column)?
            }
            (Some(file), None) => write!(f, "{}: ", file.display())?,
            _ => {}
        }
        f.write_str(&self.title())?;
        if let Some(hint) = &self.0.hint {
            write!(f, " (hint: {hint})")?;
        }
        Ok(())
    }
}

impl fmt::Debug for ConfigError {
    // The source text is left out: it is long and may hold values better not repeated.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigError")
            .field("kind", &self.0.kind)
            .field("file", &self.0.file)
            .field("line_column", &self.line_column())
            .field("key_path", &self.0.key_path)
            .field("message", &self.0.message)
            .field("hint", &self.0.hint)
            .finish()
    }
}

impl std::error::Error for ConfigError {}

/// Every problem found in a configuration, in file order.
#[derive(Clone, Debug, Default)]
pub struct ConfigErrors {
    errors: Vec<ConfigError>,
}

impl ConfigErrors {
    /// The errors.
    pub fn iter(&self) -> impl Iterator<Item = &ConfigError> {
        self.errors.iter()
    }

    /// How many errors there are.
    pub fn len(&self) -> usize {
        self.errors.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// Adds one.
    pub fn push(&mut self, error: ConfigError) {
        self.errors.push(error);
    }

    /// Adds all of `other`.
    pub fn extend(&mut self, other: ConfigErrors) {
        self.errors.extend(other.errors);
    }

    /// `Ok(value)` when there are no errors.
    pub fn into_result<T>(mut self, value: T) -> Result<T, ConfigErrors> {
        if self.errors.is_empty() {
            Ok(value)
        } else {
            self.errors.sort_by_key(|e| {
                (
                    e.0.file.clone(),
                    e.0.loc.map_or((0, 0), |l| (l.line, l.column)),
                )
            });
            Err(self)
        }
    }

    /// Shows file paths relative to `base` where they are below it.
    pub fn relative_to(mut self, base: &Path) -> Self {
        for error in &mut self.errors {
            if let Some(relative) = error
                .0
                .file
                .as_ref()
                .and_then(|f| f.strip_prefix(base).ok())
            {
                error.0.file = Some(relative.to_path_buf());
            }
        }
        self
    }

    /// Renders every error with its snippet, then a count.
    pub fn render(&self, color: bool) -> String {
        let mut out = String::new();
        for error in &self.errors {
            out.push_str(&error.render(color));
            out.push_str("\n\n");
        }
        let n = self.errors.len();
        out.push_str(&format!(
            "{n} configuration error{} found",
            if n == 1 { "" } else { "s" }
        ));
        out
    }
}

impl From<ConfigError> for ConfigErrors {
    fn from(error: ConfigError) -> Self {
        ConfigErrors {
            errors: vec![error],
        }
    }
}

impl IntoIterator for ConfigErrors {
    type Item = ConfigError;
    type IntoIter = std::vec::IntoIter<ConfigError>;

    fn into_iter(self) -> Self::IntoIter {
        self.errors.into_iter()
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// A YAML syntax error (or duplicate key) in `file` as a located [`ConfigError`].
pub fn syntax_error(file: &Path, text: &Arc<str>, error: &serde_saphyr::Error) -> ConfigError {
    let message = error.without_snippet().to_string();
    // The location is shown by the snippet; drop serde-saphyr's own " at line X, column Y".
    let message = match message.rsplit_once(" at line ") {
        Some((head, tail)) if tail.contains(", column ") => head.to_owned(),
        _ => message,
    };
    let mut config_error =
        ConfigError::new(ConfigErrorKind::Syntax, format!("invalid YAML: {message}"))
            .in_file(file, Some(text.clone()));
    if let Some(loc) = error.location() {
        let mut loc = Loc::from_saphyr(loc, text);
        loc.len = loc.len.max(1);
        config_error = config_error.at(loc);
    }
    config_error
}

/// Suggests the closest of `candidates` to a mistyped `name`, if one is close enough.
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(name, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// `at`, or the start of the character it falls in, within `line`.
fn char_start(line: &str, at: usize) -> usize {
    let mut at = at.min(line.len());
    while !line.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// `at`, or the end of the character it falls in, within `line`.
fn char_end(line: &str, at: usize) -> usize {
    let mut at = at.min(line.len());
    while !line.is_char_boundary(at) {
        at += 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_suggest_the_closest_field() {
        let fields = ["fail_mode", "timeout", "parallel"];
        assert_eq!(suggest("fail_mod", fields), Some("fail_mode"));
        assert_eq!(suggest("timout", fields), Some("timeout"));
        assert_eq!(suggest("zzz", fields), None);
    }

    #[test]
    fn should_render_file_line_and_hint() {
        let text: Arc<str> = "hooks:\n  - fail_mod: stop\n".into();
        let err = ConfigError::new(ConfigErrorKind::UnknownField, "unknown field `fail_mod`")
            .in_file(Path::new("hooks.yaml"), Some(text))
            .at(Loc {
                line: 2,
                column: 5,
                offset: 11,
                len: 8,
            })
            .path("hooks[0]")
            .hint("did you mean `fail_mode`?");
        assert_eq!(
            err.to_string(),
            "hooks.yaml:2:5: unknown field `fail_mod` (at `hooks[0]`) (hint: did you mean `fail_mode`?)"
        );
        let rendered = err.render(false);
        assert!(rendered.contains("hooks.yaml:2:5"), "{rendered}");
        assert!(rendered.contains("^^^^^^^^"), "{rendered}");
    }

    /// Found by the `config` fuzz target: a byte-order mark in the middle of a line
    /// put the underline inside a character and rendering panicked.
    #[test]
    fn should_render_an_error_on_a_line_holding_a_multibyte_character() {
        let text = "results:\n \u{feff} quarantine: [\"tests.test_net::*\"]\n  auto_retry:\n    enabled: true\n";
        let errors = crate::settings::Settings::parse(std::path::Path::new("flowspec.yaml"), text)
            .expect_err("a BOM is not indentation");
        let rendered = errors.render(false);
        assert!(rendered.contains("flowspec.yaml"), "{rendered}");
    }
}
