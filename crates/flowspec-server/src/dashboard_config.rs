//! `server.dashboard`: the token that opens the browser dashboard and how its sessions
//! behave. The pages themselves are the `flowspec-dashboard` crate's.

use std::time::Duration;

use flowspec_core::config::{ConfigError, ConfigErrorKind, ConfigErrors, Vars};
use flowspec_core::secret::SecretString;
use serde::Deserialize;

use crate::config::resolve_secret;

/// The dashboard's login settings. `Debug` never shows the token.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct DashboardSettings {
    /// What the login page asks for.
    pub token: SecretString,
    /// Whether the session cookie carries `Secure` (set it behind TLS).
    pub secure_cookie: bool,
    /// How long a session lasts after login.
    pub session_ttl: Duration,
}

impl DashboardSettings {
    /// Settings with `token`, a cookie without `Secure` and 12-hour sessions.
    ///
    /// ```
    /// use flowspec_server::config::DashboardSettings;
    /// let settings = DashboardSettings::new("let-me-in".to_owned().into());
    /// assert_eq!(settings.session_ttl.as_secs(), 12 * 3600);
    /// assert!(!format!("{settings:?}").contains("let-me-in"));
    /// ```
    pub fn new(token: SecretString) -> DashboardSettings {
        DashboardSettings {
            token,
            secure_cookie: false,
            session_ttl: Duration::from_secs(12 * 3600),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDashboard {
    /// From a variable. Example: `${FLOWSPEC_DASHBOARD_TOKEN}`.
    token: Option<String>,
    /// Example: `true` behind TLS.
    secure_cookie: Option<bool>,
    /// Seconds, or a duration with units. Example: `12h`.
    #[serde(default, with = "flowspec_core::duration::serde")]
    session_ttl: Option<Duration>,
}

impl RawDashboard {
    /// The settings, or `None` with an error pushed when the token is missing or empty:
    /// a dashboard section never opens the dashboard without one.
    pub(crate) fn resolve(
        &self,
        vars: &Vars,
        errors: &mut ConfigErrors,
        locate: &dyn Fn(ConfigError) -> ConfigError,
    ) -> Option<DashboardSettings> {
        let before = errors.len();
        let token = resolve_secret(
            self.token.as_ref(),
            "dashboard.token",
            "",
            vars,
            errors,
            locate,
        );
        let Some(token) = token else {
            if errors.len() == before {
                errors.push(locate(
                    ConfigError::new(
                        ConfigErrorKind::MissingField,
                        "`server.dashboard.token` is missing or empty, so the dashboard would be open: it is refused",
                    )
                    .hint("write `token: ${FLOWSPEC_DASHBOARD_TOKEN}` and set the variable, or remove `server.dashboard`"),
                ));
            }
            return None;
        };
        let mut settings = DashboardSettings::new(token);
        settings.secure_cookie = self.secure_cookie.unwrap_or(false);
        if let Some(ttl) = self.session_ttl.filter(|d| !d.is_zero()) {
            settings.session_ttl = ttl;
        }
        Some(settings)
    }
}

#[cfg(test)]
mod tests {
    use flowspec_core::secret::ExposeSecret;

    use crate::ServerConfig;
    use flowspec_core::config::Vars;
    use flowspec_core::settings::Settings;

    fn load(yaml: &str, vars: &[(&str, &str)]) -> Result<ServerConfig, String> {
        let settings =
            Settings::parse("flowspec.yaml".as_ref(), yaml).map_err(|e| e.to_string())?;
        ServerConfig::from_settings(&settings, &Vars::from_pairs(vars.iter().copied()))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn should_open_the_dashboard_only_with_a_token() {
        assert!(load("", &[]).unwrap().dashboard.is_none(), "off by default");
        let config = load(
            "server:\n  dashboard:\n    token: ${T}\n    secure_cookie: true\n    session_ttl: 30m\n",
            &[("T", "dash-token-5678")],
        )
        .unwrap();
        let dashboard = config.dashboard.unwrap();
        assert_eq!(dashboard.token.expose_secret(), "dash-token-5678");
        assert!(dashboard.secure_cookie);
        assert_eq!(dashboard.session_ttl.as_secs(), 1800);
        assert!(!format!("{dashboard:?}").contains("dash-token-5678"));

        let err = load("server:\n  dashboard:\n    token: ${T}\n", &[("T", "")]).unwrap_err();
        assert!(err.contains("would be open"), "{err}");
        assert!(err.contains("server.dashboard.token"), "{err}");
        let err = load("server:\n  dashboard:\n    secure_cookie: true\n", &[]).unwrap_err();
        assert!(err.contains("would be open"), "{err}");
        let err = load("server:\n  dashboard:\n    tokn: x\n", &[]).unwrap_err();
        assert!(err.contains("tokn"), "{err}");
    }
}
