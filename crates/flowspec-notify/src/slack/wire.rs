//! What Slack is sent and what it answers: payloads, and its errors mapped to `NotifyError`s.

/// Slack's mention syntax for `@channel`, `@here`, `@everyone`, user and group ids;
/// anything else is kept as written.
pub(super) fn mention(m: &str) -> String {
    let bare = m.trim().trim_start_matches('@');
    match bare {
        "channel" | "here" | "everyone" => format!("<!{bare}>"),
        _ if bare.starts_with("subteam^") => format!("<!{bare}>"),
        _ if bare.len() >= 9
            && (bare.starts_with('U') || bare.starts_with('W'))
            && bare
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()) =>
        {
            format!("<@{bare}>")
        }
        _ => m.to_owned(),
    }
}

/// Escapes `&`, `<` and `>` as Slack's mrkdwn requires.
pub(super) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The hint for one of Slack's error codes.
pub(super) fn hint(code: &str) -> Option<&'static str> {
    Some(match code {
        "invalid_payload" => {
            "Slack refused the JSON or its blocks; check custom templates for very long or malformed text"
        }
        "no_text" => "the message had neither text nor blocks",
        "invalid_token" | "no_service" | "no_service_id" | "no_team" => {
            "the webhook was revoked or the URL is wrong: create a new incoming webhook and update SLACK_WEBHOOK_URL"
        }
        "channel_not_found" => {
            "the webhook's channel no longer exists or the app was removed from it"
        }
        "channel_is_archived" => {
            "the channel is archived: unarchive it or point the webhook elsewhere, then `flowspec notify enable slack`"
        }
        "action_prohibited" => "a workspace admin restricted this webhook",
        "user_not_found" => "a mentioned user does not exist",
        _ => return None,
    })
}
