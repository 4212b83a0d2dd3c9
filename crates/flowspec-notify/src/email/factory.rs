//! Building the `email` notifier from its `integrations:` entry.

use super::*;
use flowspec_core::notifier::Example;

/// `email`.
pub struct Factory;

impl NotifierFactory for Factory {
    fn kind(&self) -> &'static str {
        "email"
    }

    fn describe(&self) -> &'static str {
        "email over SMTP (STARTTLS or implicit TLS), text and HTML parts, recipients per event"
    }

    fn example_yaml(&self) -> &'static str {
        r#"integrations:
  email:
    enabled: true
    smtp:
      host: "smtp.example.com"
      port: 587
      secure: true
    from: "specs@example.com"
    recipients:
      implementation_failed:
        - "oncall@example.com"
      pr_created:
        - "reviewers@example.com"
"#
    }

    fn example(&self) -> Example {
        Example::not_http()
    }

    fn secrets(&self) -> &'static [SecretVar] {
        &[SMTP_HOST, SMTP_USER, SMTP_PASSWORD]
    }

    fn build(&self, config: &Node, cx: &NotifierContext<'_>) -> Result<Vec<Built>, ConfigErrors> {
        let parsed: EmailConfig = cx.deserialize(config)?;
        let smtp_node = config.get("smtp");
        let field_node = |f: &str| smtp_node.and_then(|s| s.get(f));
        let mut errors = ConfigErrors::default();

        let host = match &parsed.smtp.host {
            Some(h) => cx.interpolate(field_node("host"), "smtp.host", h).map(Some),
            None => cx
                .secret(None, &SMTP_HOST)
                .map(|s| s.map(|s| s.expose_secret().to_owned())),
        };
        let user = match &parsed.smtp.user {
            Some(u) => cx.interpolate(field_node("user"), "smtp.user", u).map(Some),
            None => Ok(cx
                .vars()
                .get(SMTP_USER.env)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)),
        };
        let password = cx.secret(field_node("password"), &SMTP_PASSWORD);
        let (host, user, password) = match (host, user, password) {
            (Ok(h), Ok(u), Ok(p)) => (h.unwrap_or_default(), u, p),
            (h, u, p) => {
                for e in [h.err(), u.err(), p.err()].into_iter().flatten() {
                    errors.push(e);
                }
                return Err(errors);
            }
        };

        let secure = parsed.smtp.secure.unwrap_or(true);
        let mut tls = parsed.smtp.tls.unwrap_or(match (secure, parsed.smtp.port) {
            (false, _) => TlsMode::None,
            (true, Some(465)) => TlsMode::Implicit,
            (true, _) => TlsMode::Starttls,
        });
        let mut host = host;
        let mut port = parsed.smtp.port;
        if let Some(api_url) = &parsed.api_url {
            match url::Url::parse(api_url) {
                Ok(u) if u.host_str().is_some() => {
                    tls = match u.scheme() {
                        "smtps" => TlsMode::Implicit,
                        "smtp+starttls" => TlsMode::Starttls,
                        "smtp" => TlsMode::None,
                        other => {
                            errors.push(cx.error(config.get("api_url"), "api_url", format!("unsupported scheme `{other}`: use smtp://, smtp+starttls:// or smtps://")));
                            TlsMode::Starttls
                        }
                    };
                    host = u
                        .host_str()
                        .unwrap_or_default()
                        .trim_start_matches('[')
                        .trim_end_matches(']')
                        .to_owned();
                    port = u.port().or(port);
                }
                _ => errors.push(cx.error(
                    config.get("api_url"),
                    "api_url",
                    "`api_url` must be a URL such as smtps://smtp.example.com:465",
                )),
            }
        }
        if tls == TlsMode::None && !is_loopback_host(&host) {
            errors.push(
                cx.error(smtp_node.and_then(|s| s.get("secure")).or(config.get("api_url")), "smtp.secure", format!("SMTP without TLS to `{host}` would send mail and passwords in clear"))
                    .hint("use `secure: true` (STARTTLS on 587, implicit TLS on 465); plain SMTP is allowed only to localhost/127.0.0.1/::1"),
            );
        }
        let port = port.unwrap_or(match tls {
            TlsMode::Implicit => 465,
            TlsMode::Starttls => 587,
            TlsMode::None => 25,
        });
        let timeout = match &parsed.smtp.timeout {
            Some(t) => match humantime::parse_duration(t) {
                Ok(d) => d,
                Err(e) => {
                    errors.push(cx.error(
                        field_node("timeout"),
                        "smtp.timeout",
                        format!("invalid duration `{t}`: {e}"),
                    ));
                    Duration::from_secs(30)
                }
            },
            None => Duration::from_secs(30),
        };
        let parse_box = |text: &str,
                         node: Option<&Node>,
                         field: &str,
                         errors: &mut ConfigErrors|
         -> Option<Mailbox> {
            match text.parse::<Mailbox>() {
                Ok(m) => Some(m),
                Err(e) => {
                    errors.push(cx.error(
                        node,
                        field,
                        format!("`{text}` is not an email address: {e}"),
                    ));
                    None
                }
            }
        };
        let from = parse_box(&parsed.from, config.get("from"), "from", &mut errors);
        let to: Vec<Mailbox> = parsed
            .to
            .iter()
            .filter_map(|t| parse_box(t, config.get("to"), "to", &mut errors))
            .collect();
        let mut recipients = Vec::new();
        let mut events = Vec::new();
        for (event, list) in &parsed.recipients {
            let node = config.get("recipients").and_then(|r| r.get(event));
            let matcher = match EventMatcher::parse([event.as_str()]) {
                Ok(m) => m,
                Err(m) => {
                    errors.push(cx.error(node, &format!("recipients.{event}"), m));
                    continue;
                }
            };
            let boxes: Vec<Mailbox> = list
                .iter()
                .filter_map(|t| parse_box(t, node, &format!("recipients.{event}"), &mut errors))
                .collect();
            events.push(event.clone());
            recipients.push((matcher, boxes));
        }
        if !to.is_empty() {
            events.push("*".into());
        }
        if to.is_empty() && recipients.is_empty() {
            errors.push(
                cx.error(
                    None,
                    "recipients",
                    "no recipients: set `recipients:` per event and/or `to:` for every event",
                )
                .hint("e.g. `recipients: {implementation_failed: [oncall@example.com]}`"),
            );
        }
        let credentials = match (user, password) {
            (Some(u), Some(p)) => Some((u, p)),
            (Some(_), None) => {
                errors.push(cx.error(field_node("user"), "smtp.password", "an SMTP user is set but no password: set SMTP_PASSWORD (or `smtp.password: \"${VAR}\"`)"));
                None
            }
            _ => None,
        };
        if credentials.is_some() && tls == TlsMode::None && !is_loopback_host(&host) {
            // Already refused above; never send a password in clear.
        }
        let Some(from) = from else {
            return Err(errors);
        };
        let notifier = EmailNotifier {
            name: cx.name().to_owned(),
            host,
            port,
            tls,
            credentials,
            timeout,
            from,
            to,
            recipients,
            subject_prefix: parsed.subject_prefix.unwrap_or_default(),
        };
        errors.into_result(vec![
            Built::new(cx.name(), Arc::new(notifier)).with_events(events),
        ])
    }
}
