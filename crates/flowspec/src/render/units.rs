//! Durations, times and commits for people.

/// A duration in milliseconds for people: `212ms`, `3.4s`, `2m05s`.
///
/// ```
/// assert_eq!(flowspec::render::human_ms(3_400), "3.4s");
/// assert_eq!(flowspec::render::human_ms(125_000), "2m05s");
/// ```
pub fn human_ms(ms: u64) -> String {
    match ms {
        0..1000 => format!("{ms}ms"),
        1000..60_000 => format!("{:.1}s", ms as f64 / 1000.0),
        _ => format!("{}m{:02}s", ms / 60_000, (ms % 60_000) / 1000),
    }
}

/// A time in epoch milliseconds as `YYYY-MM-DD HH:MM:SS` (UTC).
///
/// ```
/// assert_eq!(flowspec::render::utc_time(0), "1970-01-01 00:00:00");
/// ```
pub fn utc_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(
        || ms.to_string(),
        |t| t.format("%Y-%m-%d %H:%M:%S").to_string(),
    )
}

/// A test's time in seconds for people: `250ms`, `1.50s`, `2m05s`.
///
/// ```
/// assert_eq!(flowspec::render::seconds(0.25), "250ms");
/// assert_eq!(flowspec::render::seconds(1.5), "1.50s");
/// ```
pub fn seconds(s: f64) -> String {
    if s < 1.0 {
        format!("{:.0}ms", s * 1000.0)
    } else if s < 60.0 {
        format!("{s:.2}s")
    } else {
        format!("{}m{:02}s", (s / 60.0) as u64, (s % 60.0) as u64)
    }
}

/// A commit shortened to twelve characters (not bytes: a custom CI's commit id need
/// not be ASCII).
///
/// ```
/// assert_eq!(flowspec::render::short("0123456789abcdef"), "0123456789ab");
/// ```
pub fn short(commit: &str) -> &str {
    commit
        .char_indices()
        .nth(12)
        .map_or(commit, |(end, _)| &commit[..end])
}
