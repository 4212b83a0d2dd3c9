//! Building the `webhooks` notifier from its `integrations:` entry.

use super::*;

/// `webhooks`.
pub struct Factory;

impl NotifierFactory for Factory {
    fn kind(&self) -> &'static str {
        "webhooks"
    }

    fn describe(&self) -> &'static str {
        "custom HTTPS endpoints: the event as JSON, HMAC and Standard Webhooks signatures, retries, 410 handling"
    }

    fn example_yaml(&self) -> &'static str {
        r##"integrations:
  webhooks:
    enabled: true
    endpoints:
      - name: "internal-system"
        url: "https://internal.example.com/spec-webhook"
        events:
          - "spec_approved"
          - "implementation_completed"
        headers:
          Authorization: "Bearer ${WEBHOOK_TOKEN:-token-from-env}"
        retry_count: 3

      - name: "analytics"
        url: "https://analytics.example.com/events"
        events:
          - "implementation_completed"
        # HMAC signature verification
        secret: "${WEBHOOK_SECRET}"
        signing_keys: ["${WEBHOOK_SIGNING_KEY}"]
"##
    }

    fn secrets(&self) -> &'static [SecretVar] {
        // Endpoints name their own variables; these are the ones the example uses.
        &[SECRET, SIGNING_KEY]
    }

    fn build(&self, config: &Node, cx: &NotifierContext<'_>) -> Result<Vec<Built>, ConfigErrors> {
        let parsed: WebhooksConfig = cx.deserialize(config)?;
        let endpoint_nodes: Vec<&Node> = match config.get("endpoints").map(|n| &n.value) {
            Some(YamlValue::Seq(items)) => items.iter().collect(),
            _ => Vec::new(),
        };
        if parsed.endpoints.is_empty() {
            return Err(cx
                .error(
                    config.get("endpoints"),
                    "endpoints",
                    "`endpoints` is empty: add at least one `- name: ... url: ...`",
                )
                .into());
        }
        let mut errors = ConfigErrors::default();
        let mut built = Vec::new();
        let mut names: Vec<&str> = Vec::new();
        for (i, (endpoint, node)) in parsed.endpoints.iter().zip(endpoint_nodes).enumerate() {
            let field = |f: &str| format!("endpoints[{i}].{f}");
            if endpoint.name.is_empty()
                || !endpoint
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                errors.push(cx.error(
                    node.get("name"),
                    &field("name"),
                    "an endpoint name uses letters, digits, `-` and `_`",
                ));
                continue;
            }
            if names.contains(&endpoint.name.as_str()) {
                errors.push(cx.error(
                    node.get("name"),
                    &field("name"),
                    format!("two endpoints are named `{}`", endpoint.name),
                ));
                continue;
            }
            names.push(&endpoint.name);
            // Every problem of the endpoint is reported, so nothing `continue`s early.
            let target = match cx.interpolate(node.get("url"), &field("url"), &endpoint.url) {
                Ok(url) => match Endpoint::with_api_url(&url, parsed.api_url.as_deref()) {
                    Ok(t) => Some(t),
                    Err(m) => {
                        errors.push(cx.error(node.get("url"), &field("url"), m));
                        None
                    }
                },
                Err(e) => {
                    errors.push(e);
                    None
                }
            };
            let mut headers = Vec::new();
            for (name, value) in &endpoint.headers {
                let at = node.get("headers").and_then(|h| h.get(name));
                match cx.interpolate_secret(at, &field(&format!("headers.{name}")), value) {
                    Ok(v) => headers.push((name.clone(), v)),
                    Err(e) => errors.push(e),
                }
            }
            let secret = match node.get("secret") {
                Some(n) => match cx.secret(Some(n), &SECRET) {
                    Ok(s) => s,
                    Err(e) => {
                        errors.push(e);
                        None
                    }
                },
                None => None,
            };
            let mut keys = Vec::new();
            if let Some(YamlValue::Seq(items)) = node.get("signing_keys").map(|n| &n.value) {
                for item in items {
                    match cx.secret(Some(item), &SIGNING_KEY) {
                        Ok(Some(s)) => match SigningKey::parse(s.expose_secret()) {
                            Ok(k) => keys.push(k),
                            Err(m) => errors.push(cx.error(Some(item), &field("signing_keys"), m)),
                        },
                        Ok(None) => {}
                        Err(e) => errors.push(e),
                    }
                }
            }
            let timeout = match &endpoint.timeout {
                Some(t) => match duration(t) {
                    Ok(d) if d > Duration::ZERO => d,
                    Ok(_) => {
                        errors.push(cx.error(
                            node.get("timeout"),
                            &field("timeout"),
                            "`timeout` must be more than 0",
                        ));
                        Duration::from_secs(30)
                    }
                    Err(m) => {
                        errors.push(cx.error(node.get("timeout"), &field("timeout"), m));
                        Duration::from_secs(30)
                    }
                },
                None => Duration::from_secs(30),
            };
            let schedule = match (&endpoint.retry_schedule, endpoint.retry_count) {
                (Some(list), _) => {
                    let mut out = Vec::new();
                    for text in list {
                        match duration(text) {
                            Ok(d) => out.push(d),
                            Err(m) => errors.push(cx.error(
                                node.get("retry_schedule"),
                                &field("retry_schedule"),
                                m,
                            )),
                        }
                    }
                    Some(out)
                }
                (None, Some(n)) if n > crate::config::MAX_RETRY_COUNT => {
                    errors.push(cx.error(
                        node.get("retry_count"),
                        &field("retry_count"),
                        format!(
                            "`retry_count` must be at most {}",
                            crate::config::MAX_RETRY_COUNT
                        ),
                    ));
                    None
                }
                (None, Some(n)) => Some(crate::config::exponential(n)),
                (None, None) => None,
            };
            let Some(target) = target else {
                continue;
            };
            let name = format!("{}.{}", cx.name(), endpoint.name);
            let notifier = WebhookNotifier {
                name: name.clone(),
                target,
                headers,
                secret,
                keys,
                timeout,
                client: HttpClient::without_redirects(),
            };
            let mut b = Built::new(name, Arc::new(notifier)).with_events(endpoint.events.clone());
            if let Some(schedule) = schedule {
                b = b.with_retry_schedule(schedule);
            }
            built.push(b);
        }
        errors.into_result(built)
    }
}
