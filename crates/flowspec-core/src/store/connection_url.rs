//! Database URLs: the `sqlite://` URL of a file path, and URLs made safe to show.

use std::path::Path;

/// What a file path must not carry as itself in a `sqlite://` URL: controls, the
/// characters that end a URL path (`?`, `#`), `%` (sqlx decodes the path), and the
/// ones a URL parser escapes on its own. Bytes beyond ASCII are always encoded, as
/// UTF-8 bytes, which sqlx decodes back.
const SQLITE_PATH: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// The `sqlite://` URL that opens (creating if needed) the file at `path`.
pub(super) fn sqlite_url(path: &Path) -> String {
    let encoded =
        percent_encoding::percent_encode(path.as_os_str().as_encoded_bytes(), SQLITE_PATH);
    format!("sqlite://{encoded}?mode=rwc")
}

/// A URL with its password replaced by `***`.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) => "<invalid URL>".to_owned(),
    }
}
