//! Building a [`Forge`] from a `github` (or `gitlab`) profile of `ci:`: the same
//! `config:` (repository, token, API URL) the CI provider reads.

use std::path::Path;
use std::sync::{Arc, Mutex};

use flowspec_core::config::{ConfigError, ConfigErrorKind, ConfigErrors, Node, Vars};
use flowspec_core::provider::{CiProvider, ProviderContext, ProviderFactory, ProviderRegistry};

use super::Forge;
use crate::config::CiSettings;

/// The forges flowspec can open pull requests on, by `provider:`.
pub const FORGE_KINDS: &[&str] = &["github", "gitlab"];

/// Which `ci:` profile to take the forge from.
#[derive(Clone, Debug, Default)]
pub struct ForgeSettings {
    /// The profile name; `None`: the default profile.
    pub profile: Option<String>,
}

type Slot = Arc<Mutex<Option<Arc<dyn Forge>>>>;

type Built = (Arc<dyn CiProvider>, Arc<dyn Forge>);

/// Builds the provider as its own factory does and keeps it as a [`Forge`] too: the
/// CI settings only hand out `dyn CiProvider`, and the configuration must be read
/// (and its errors located) exactly as for `ci` commands.
struct Capture {
    slot: Slot,
    factory: &'static dyn ProviderFactory,
    build: fn(&Node, &ProviderContext<'_>) -> Result<Built, ConfigErrors>,
}

impl Capture {
    /// The capture for forge `kind`, if that platform is compiled in.
    fn of(kind: &str, slot: Slot) -> Option<Capture> {
        match kind {
            #[cfg(feature = "github")]
            "github" => Some(Capture {
                slot,
                factory: &crate::github::Factory,
                build: |config, cx| {
                    let provider = Arc::new(crate::github::build_provider(config, cx)?);
                    Ok((provider.clone(), provider))
                },
            }),
            #[cfg(feature = "gitlab")]
            "gitlab" => Some(Capture {
                slot,
                factory: &crate::gitlab::Factory,
                build: |config, cx| {
                    let provider = Arc::new(crate::gitlab::build_provider(config, cx)?);
                    Ok((provider.clone(), provider))
                },
            }),
            _ => None,
        }
    }
}

impl ProviderFactory for Capture {
    fn kind(&self) -> &'static str {
        self.factory.kind()
    }

    fn describe(&self) -> &'static str {
        self.factory.describe()
    }

    fn example_yaml(&self) -> &'static str {
        self.factory.example_yaml()
    }

    fn build(
        &self,
        config: &Node,
        cx: &ProviderContext<'_>,
    ) -> Result<Arc<dyn CiProvider>, ConfigErrors> {
        let (provider, forge) = (self.build)(config, cx)?;
        *self.slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(forge);
        Ok(provider)
    }
}

/// The forge of the profile `settings.profile` of `ci`; a profile of another
/// provider (Jenkins, CircleCI...) is refused with a hint.
///
/// ```
/// use flowspec_core::config::{Node, Vars};
/// use flowspec_providers::config::CiSettings;
/// use flowspec_providers::forge::{ForgeSettings, build_forge};
///
/// let root = Node::parse("ci:\n  provider: github\n  config:\n    repo: octo/app\n").unwrap();
/// let ci = CiSettings::parse(root.get("ci").unwrap(), None, None).unwrap();
/// let forge = build_forge(&ci, &ForgeSettings::default(), &Vars::from_pairs([("GITHUB_TOKEN", "t")]), std::path::Path::new("/nonexistent")).unwrap();
/// assert_eq!(forge.kind(), "github");
/// ```
pub fn build_forge(
    ci: &CiSettings,
    settings: &ForgeSettings,
    vars: &Vars,
    project_root: &Path,
) -> Result<Arc<dyn Forge>, ConfigErrors> {
    let profile = ci
        .profile(settings.profile.as_deref())
        .map_err(ConfigErrors::from)?;
    if !FORGE_KINDS.contains(&profile.provider.as_str()) {
        return Err(ConfigError::new(
            ConfigErrorKind::InvalidValue,
            format!(
                "pull requests need a `github` or `gitlab` profile of `ci:`, and profile `{}` uses `{}`",
                profile.name, profile.provider
            ),
        )
        .path(profile.config_path().trim_end_matches(".config").to_owned() + ".provider")
        .hint(
            "add a `github` or `gitlab` profile under `ci.profiles` and name it with `profile:` (or --profile)",
        )
        .into());
    }
    let slot: Slot = Arc::default();
    let registry = match Capture::of(&profile.provider, slot.clone()) {
        Some(capture) => ProviderRegistry::new().register(Arc::new(capture)),
        None => crate::registry(),
    };
    ci.build(settings.profile.as_deref(), &registry, vars, project_root)?;
    let forge = slot
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
        .expect("a built profile was captured");
    Ok(forge)
}

/// The forge of a hook action under `key` (`pr:`, `status:`, `pr_comment:`), after
/// its own checks left `errors`: a missing `ci:` section is one more located error,
/// and a disabled hook opens no forge (`Ok(None)`: the action is built but never
/// connects).
pub fn hook_forge(
    ci: Option<&CiSettings>,
    key: &str,
    profile: Option<String>,
    value: &Node,
    cx: &flowspec_core::action::BuildContext<'_>,
    mut errors: ConfigErrors,
) -> Result<Option<Arc<dyn Forge>>, ConfigErrors> {
    let Some(ci) = ci else {
        errors.push(cx.locate(
            ConfigError::new(
                ConfigErrorKind::MissingField,
                format!("this hook uses `{key}:` but .flowspec/flowspec.yaml has no `ci:` section"),
            )
            .path(cx.key_path.clone())
            .at(value.loc)
            .hint("add `ci: {provider: github, config: {repo: owner/name}}` (or a `gitlab` profile) to .flowspec/flowspec.yaml"),
        ));
        return Err(errors);
    };
    errors.into_result(())?;
    if !cx.enabled {
        return Ok(None);
    }
    build_forge(ci, &ForgeSettings { profile }, cx.vars, cx.project_root).map(Some)
}
