//! The `ci:` section of `.flowspec/flowspec.yaml`.
//!
//! One CI:
//!
//! ```yaml
//! ci:
//!   provider: github          # github | gitlab | jenkins | circleci | custom
//!   config:
//!     repo: octo/app          # default: the `origin` remote of the checkout
//!     token: ${GITHUB_FLOWSPEC}   # default: GITHUB_TOKEN, then GH_TOKEN
//! ```
//!
//! Several CIs: named profiles, each in the same shape, and an optional `default`
//! (otherwise the first profile). `--profile NAME` (CLI) and `profile:` (the `ci`
//! hook action) pick one.
//!
//! ```yaml
//! ci:
//!   default: tests
//!   profiles:
//!     tests:
//!       provider: github
//!       config: { repo: octo/app }
//!     deploy:
//!       provider: gitlab
//!       config: { project: ops/deploy }
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::{ConfigError, ConfigErrorKind, ConfigErrors, Loc, Node, Value, Vars, suggest};
use crate::provider::{CiProvider, ProviderContext, ProviderRegistry};
use crate::settings::Settings;

/// The name of the profile of the single-CI shape (`ci: {provider: …, config: …}`).
pub const DEFAULT_PROFILE: &str = "default";

/// One configured CI: its `provider:` and its `config:` (kept as a located tree for
/// the provider's factory).
#[derive(Clone, Debug)]
pub struct Profile {
    /// The profile name (`default` for the single-CI shape).
    pub name: String,
    /// The `provider:` value.
    pub provider: String,
    provider_loc: Loc,
    config: Node,
    key_path: String,
}

impl Profile {
    /// The key path of its `config:` (`ci.config`, `ci.profiles.deploy.config`).
    pub fn config_path(&self) -> &str {
        &self.key_path
    }
}

/// The parsed `ci:` section.
#[derive(Clone, Debug, Default)]
pub struct CiSettings {
    profiles: Vec<Profile>,
    default: Option<String>,
    file: Option<PathBuf>,
    text: Option<Arc<str>>,
}

impl CiSettings {
    /// The `ci:` section of the project settings, if there is one.
    pub fn from_settings(settings: &Settings) -> Result<Option<CiSettings>, ConfigErrors> {
        let Some(node) = settings.section("ci") else {
            return Ok(None);
        };
        CiSettings::parse(node, settings.file(), settings.text()).map(Some)
    }

    /// Parses the node under `ci:`; `file` and `text` locate errors.
    pub fn parse(
        node: &Node,
        file: Option<&Path>,
        text: Option<Arc<str>>,
    ) -> Result<CiSettings, ConfigErrors> {
        let mut settings = CiSettings {
            file: file.map(Path::to_path_buf),
            text,
            ..CiSettings::default()
        };
        let mut errors = ConfigErrors::default();
        let Some(entries) = node.as_map() else {
            errors.push(
                settings.locate(
                    ConfigError::new(
                        ConfigErrorKind::InvalidValue,
                        format!("`ci` must be a mapping, found {}", node.value.kind()),
                    )
                    .at(node.loc)
                    .path("ci")
                    .hint("write `ci: {provider: github, config: {repo: owner/name}}`"),
                ),
            );
            return errors.into_result(settings);
        };
        const KEYS: &[&str] = &["provider", "config", "profiles", "default"];
        for (key, _) in entries {
            if !KEYS.contains(&key.name.as_str()) {
                let hint = match suggest(&key.name, KEYS.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => "known fields: `provider`, `config`, `profiles`, `default`".into(),
                };
                errors.push(
                    settings.locate(
                        ConfigError::new(
                            ConfigErrorKind::UnknownField,
                            format!("unknown field `{}`", key.name),
                        )
                        .at(key.loc)
                        .path(format!("ci.{}", key.name))
                        .hint(hint),
                    ),
                );
            }
        }
        let single = node.get("provider").is_some() || node.get("config").is_some();
        if single {
            match settings.profile_from(DEFAULT_PROFILE, node, "ci") {
                Ok(p) => settings.profiles.push(p),
                Err(e) => errors.push(e),
            }
        }
        if let Some(profiles) = node.get("profiles") {
            if single {
                errors.push(
                    settings.locate(
                        ConfigError::new(
                            ConfigErrorKind::InvalidValue,
                            "`ci` has both `provider`/`config` and `profiles`",
                        )
                        .at(profiles.loc)
                        .path("ci.profiles")
                        .hint("move the single CI under `profiles:` with a name of its own"),
                    ),
                );
            }
            match profiles.as_map() {
                Some(entries) if !entries.is_empty() => {
                    for (key, value) in entries {
                        let path = format!("ci.profiles.{}", key.name);
                        match settings.profile_from(&key.name, value, &path) {
                            Ok(p) => settings.profiles.push(p),
                            Err(e) => errors.push(e),
                        }
                    }
                }
                _ => errors.push(settings.locate(
                    ConfigError::new(
                        ConfigErrorKind::InvalidValue,
                        "`ci.profiles` must be a mapping of profile names to `{provider, config}`",
                    )
                    .at(profiles.loc)
                    .path("ci.profiles"),
                )),
            }
        } else if !single {
            errors.push(
                settings.locate(
                    ConfigError::new(ConfigErrorKind::MissingField, "missing field `provider`")
                        .at(node.loc)
                        .path("ci")
                        .hint("write `provider: github` (or gitlab, jenkins, circleci, custom)"),
                ),
            );
        }
        if let Some(default) = node.get("default") {
            match default.as_str() {
                Some(name) if settings.profiles.iter().any(|p| p.name == name) => {
                    settings.default = Some(name.to_owned());
                }
                _ => {
                    let name = default.scalar_text().unwrap_or_default();
                    let names: Vec<&str> =
                        settings.profiles.iter().map(|p| p.name.as_str()).collect();
                    errors.push(
                        settings.locate(
                            ConfigError::new(
                                ConfigErrorKind::InvalidValue,
                                format!("`ci.default` names no profile: `{name}`"),
                            )
                            .at(default.loc)
                            .path("ci.default")
                            .hint(
                                match suggest(&name, names.iter().copied()) {
                                    Some(s) => format!("did you mean `{s}`?"),
                                    None => format!("profiles: {}", names.join(", ")),
                                },
                            ),
                        ),
                    );
                }
            }
        }
        errors.into_result(settings)
    }

    fn profile_from(&self, name: &str, node: &Node, path: &str) -> Result<Profile, ConfigError> {
        let provider = node.get("provider");
        let Some(kind) = provider.and_then(Node::as_str) else {
            return Err(self.locate(
                ConfigError::new(
                    ConfigErrorKind::MissingField,
                    if provider.is_some() {
                        "`provider` must be a name"
                    } else {
                        "missing field `provider`"
                    },
                )
                .at(provider.map_or(node.loc, |p| p.loc))
                .path(format!("{path}.provider"))
                .hint("one of github, gitlab, jenkins, circleci, custom"),
            ));
        };
        if path != "ci" {
            for (key, _) in node.as_map().unwrap_or_default() {
                if key.name != "provider" && key.name != "config" {
                    return Err(self.locate(
                        ConfigError::new(
                            ConfigErrorKind::UnknownField,
                            format!("unknown field `{}`", key.name),
                        )
                        .at(key.loc)
                        .path(format!("{path}.{}", key.name))
                        .hint("a profile has `provider` and `config`"),
                    ));
                }
            }
        }
        Ok(Profile {
            name: name.to_owned(),
            provider: kind.to_owned(),
            provider_loc: provider.map_or(node.loc, |p| p.loc),
            config: node
                .get("config")
                .cloned()
                .unwrap_or_else(|| Node::synthetic(Value::Map(Vec::new()))),
            key_path: format!("{path}.config"),
        })
    }

    fn locate(&self, error: ConfigError) -> ConfigError {
        match &self.file {
            Some(file) if error.file().is_none() => error.in_file(file, self.text.clone()),
            _ => error,
        }
    }

    /// The profiles, in file order.
    pub fn profiles(&self) -> &[Profile] {
        &self.profiles
    }

    /// The profile `name`, or the default one (`default:`, else the first).
    pub fn profile(&self, name: Option<&str>) -> Result<&Profile, ConfigError> {
        let wanted = name.or(self.default.as_deref());
        match wanted {
            None => self.profiles.first().ok_or_else(|| {
                ConfigError::new(ConfigErrorKind::MissingField, "`ci` has no profile")
            }),
            Some(name) => self
                .profiles
                .iter()
                .find(|p| p.name == name)
                .ok_or_else(|| {
                    let names: Vec<&str> = self.profiles.iter().map(|p| p.name.as_str()).collect();
                    ConfigError::new(
                        ConfigErrorKind::InvalidValue,
                        format!("no CI profile named `{name}`"),
                    )
                    .hint(match suggest(name, names.iter().copied()) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => format!("profiles in flowspec.yaml: {}", names.join(", ")),
                    })
                }),
        }
    }

    /// Builds the provider of profile `name` (or the default profile).
    pub fn build(
        &self,
        name: Option<&str>,
        registry: &ProviderRegistry,
        vars: &Vars,
        project_root: &Path,
    ) -> Result<Arc<dyn CiProvider>, ConfigErrors> {
        let profile = self.profile(name).map_err(|e| self.locate(e))?;
        let factory = registry
            .require(&profile.provider, Some(profile.provider_loc))
            .map_err(|e| {
                self.locate(
                    e.path(profile.key_path.trim_end_matches(".config").to_owned() + ".provider"),
                )
            })?;
        let mut cx = ProviderContext::new(vars, project_root).key_path(profile.key_path.clone());
        if let Some(file) = &self.file {
            cx = cx.file(file, self.text.clone());
        }
        factory.build(&profile.config, &cx).map_err(|errors| {
            let mut located = ConfigErrors::default();
            for e in errors.iter() {
                located.push(self.locate(e.clone()));
            }
            located
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<CiSettings, ConfigErrors> {
        let root = Node::parse(yaml).unwrap();
        CiSettings::parse(
            root.get("ci").unwrap(),
            Some(Path::new("flowspec.yaml")),
            None,
        )
    }

    #[test]
    fn should_read_the_single_ci_shape_as_the_default_profile() {
        let s = parse("ci:\n  provider: github\n  config:\n    repo: octo/app\n").unwrap();
        let p = s.profile(None).unwrap();
        assert_eq!(
            (p.name.as_str(), p.provider.as_str()),
            ("default", "github")
        );
        assert_eq!(p.config_path(), "ci.config");
    }

    #[test]
    fn should_pick_named_profiles_and_the_declared_default() {
        let s = parse(
            "ci:\n  default: deploy\n  profiles:\n    tests:\n      provider: github\n    deploy:\n      provider: gitlab\n      config: {project: ops/deploy}\n",
        )
        .unwrap();
        assert_eq!(s.profile(None).unwrap().name, "deploy");
        assert_eq!(s.profile(Some("tests")).unwrap().provider, "github");
        let err = s.profile(Some("test")).unwrap_err();
        assert_eq!(err.hint_text(), Some("did you mean `tests`?"));
    }

    #[test]
    fn should_locate_mistakes() {
        let err = parse("ci:\n  provder: github\n").unwrap_err();
        let first = err.iter().next().unwrap();
        assert_eq!(first.line_column(), Some((2, 3)));
        assert_eq!(first.hint_text(), Some("did you mean `provider`?"));
        let err =
            parse("ci:\n  default: nope\n  profiles:\n    a: {provider: github}\n").unwrap_err();
        assert!(
            err.to_string().contains("`ci.default` names no profile"),
            "{err}"
        );
    }
}
