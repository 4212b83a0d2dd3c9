//! An opened project: found once, its settings, variables and masker loaded once; its
//! store, engine, CI clients and notification hub opened when asked for.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use flowspec_core::ProjectPaths;
use flowspec_core::action::ActionFactory;
use flowspec_core::audit::AuditLog;
use flowspec_core::config::{ConfigError, ConfigErrorKind, ConfigErrors, Vars};
use flowspec_core::engine::open_project_store;
use flowspec_core::provider::CiProvider;
use flowspec_core::report::Reporter;
use flowspec_core::secret::Masker;
use flowspec_core::settings::Settings;
use flowspec_core::{Engine, EngineBuilder, Store};
use flowspec_notify::action::NotifyActionFactory;
use flowspec_notify::delivery::{self, Notifications};
use flowspec_providers::config::CiSettings;
use flowspec_results::config::ResultsConfig;
use flowspec_results::store::ResultsStore;
use flowspec_server::queue::Queue;
use flowspec_transport::{RedisTransport, TransportConfig};
use tokio::sync::OnceCell;

use crate::error::{Error, Result};

/// The sections of flowspec.yaml this library understands, besides the core's own
/// `audit` and `state`.
pub const KNOWN_SECTIONS: &[&str] = &[
    "server",
    "integrations",
    "notifications",
    flowspec_results::config::SECTION,
    "ci",
    flowspec_transport::config::SECTION,
];

/// Builds one hook action kind for a project.
type ActionKind = fn(&Project) -> Result<Arc<dyn ActionFactory>>;

/// Every hook action kind the engine knows beyond the core's `script`/`command`/
/// `action`: adding one is one line here.
#[cfg(feature = "render")]
const ACTION_KINDS: &[ActionKind] = &[
    notify_action,
    ci_action,
    retry_flaky_action,
    crate::pr::action_factory,
    crate::pr::status_action_factory,
    crate::pr::comment_action_factory,
];
/// Without `render`, no `pr_comment:` (its Markdown is rendered there).
#[cfg(not(feature = "render"))]
const ACTION_KINDS: &[ActionKind] = &[
    notify_action,
    ci_action,
    retry_flaky_action,
    crate::pr::action_factory,
    crate::pr::status_action_factory,
];

fn notify_action(project: &Project) -> Result<Arc<dyn ActionFactory>> {
    Ok(Arc::new(NotifyActionFactory::new(project.notifications()?)))
}

fn ci_action(project: &Project) -> Result<Arc<dyn ActionFactory>> {
    Ok(Arc::new(
        flowspec_providers::action::CiActionFactory::from_settings_file(
            &project.paths.settings_file,
            flowspec_providers::registry(),
        )?,
    ))
}

fn retry_flaky_action(project: &Project) -> Result<Arc<dyn ActionFactory>> {
    Ok(Arc::new(
        flowspec_results::ci::RetryFlakyFactory::from_project(
            &project.paths,
            flowspec_providers::registry(),
        )?,
    ))
}

/// A project's test results: the `results:` settings and the results store.
#[derive(Clone)]
pub struct Results {
    /// `results:` of flowspec.yaml.
    pub config: ResultsConfig,
    /// The results store (in the project's state store).
    pub store: ResultsStore,
}

/// An opened flowspec project.
///
/// ```no_run
/// # async fn run() -> Result<(), flowspec::Error> {
/// let project = flowspec::Project::discover(std::path::Path::new("."))?;
/// let engine = project.engine(std::sync::Arc::new(flowspec::SilentReporter)).await?;
/// println!("{} hooks", engine.hooks().len());
/// # Ok(()) }
/// ```
pub struct Project {
    paths: ProjectPaths,
    settings: Settings,
    vars: Vars,
    secrets: Vec<String>,
    masker: RwLock<Masker>,
    store: OnceCell<Store>,
}

impl std::fmt::Debug for Project {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Project")
            .field("root", &self.paths.root)
            .field("has_hooks", &self.has_hooks())
            .finish_non_exhaustive()
    }
}

impl Project {
    /// The nearest project walking up from `start`: the first directory whose
    /// `.flowspec/` holds `hooks/hooks.yaml` or `flowspec.yaml` (either is enough).
    pub fn discover(start: &Path) -> Result<Project> {
        let paths =
            ProjectPaths::discover(start).map_err(|e| Error::NoProject { start: e.start })?;
        Project::from_paths(paths)
    }

    /// The project of an explicitly given hooks file (`--config`).
    pub fn from_hooks_file(path: &Path) -> Result<Project> {
        if !path.is_file() {
            return Err(Error::NoHooksFile {
                path: path.to_path_buf(),
            });
        }
        Project::from_paths(ProjectPaths::from_hooks_file(path))
    }

    /// `hooks_file` when given, else [`Project::discover`] from `start`.
    pub fn open(start: &Path, hooks_file: Option<&Path>) -> Result<Project> {
        match hooks_file {
            Some(path) => Project::from_hooks_file(path),
            None => Project::discover(start),
        }
    }

    /// Opens the project at these paths: reads flowspec.yaml and the variables.
    pub fn from_paths(paths: ProjectPaths) -> Result<Project> {
        let settings = Settings::load(&paths.settings_file)?;
        let vars = Vars::from_process(Some(&paths.dotenv_file))?;
        let secrets = crate::secrets::project_secrets(&settings, &vars);
        let masker = Masker::new(&secrets);
        Ok(Project {
            paths,
            settings,
            vars,
            secrets,
            masker: RwLock::new(masker),
            store: OnceCell::new(),
        })
    }

    /// Where the project's files are.
    pub fn paths(&self) -> &ProjectPaths {
        &self.paths
    }

    /// The project root.
    pub fn root(&self) -> &Path {
        &self.paths.root
    }

    /// flowspec.yaml (empty settings when there is none).
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The variables: the process environment over `.env`.
    pub fn vars(&self) -> &Vars {
        &self.vars
    }

    /// Whether the project has a hooks file.
    pub fn has_hooks(&self) -> bool {
        self.paths.hooks_file.is_file()
    }

    /// The hooks file, or [`Error::NoHooks`] for a command that needs hooks.
    pub fn require_hooks(&self) -> Result<&Path> {
        if self.has_hooks() {
            Ok(&self.paths.hooks_file)
        } else {
            Err(Error::NoHooks {
                path: self.paths.hooks_file.clone(),
            })
        }
    }

    /// Masks every secret the process holds: secret-looking variables, every
    /// credential of flowspec.yaml (server sources and signing keys, notifier and CI
    /// credentials, literal or read from a variable of any name, URL passwords) and,
    /// once the engine is built, the hooks' secret `env` values.
    pub fn masker(&self) -> Masker {
        self.masker
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The audit log's path (`audit.path`, or `.flowspec/audit.log`).
    pub fn audit_path(&self) -> PathBuf {
        self.settings
            .audit
            .path
            .as_ref()
            .map_or(self.paths.audit_log.clone(), |p| self.paths.root.join(p))
    }

    /// The state store, opened on first use and shared after.
    pub async fn store(&self) -> Result<Store> {
        self.store
            .get_or_try_init(|| async {
                open_project_store(&self.paths, &self.settings, &self.vars)
                    .await
                    .map_err(Error::from)
            })
            .await
            .cloned()
    }

    /// The server's durable event queue in the project's store, with the retries of
    /// `server.queue` (so a replay outside `flowspec serve` gives up when it would).
    pub async fn queue(&self) -> Result<Queue> {
        // A `server:` section with errors is reported by `flowspec check` and refused by
        // `flowspec serve`; reading the queue still works, on the default retries.
        let retry = flowspec_server::ServerConfig::from_settings(&self.settings, &self.vars)
            .map(|config| config.retry)
            .unwrap_or_default();
        Ok(Queue::open(self.store().await?, retry).await?)
    }

    /// The test results: `results:` settings and the results store.
    pub async fn results(&self) -> Result<Results> {
        let config = self.results_config()?;
        let store = ResultsStore::open(&self.store().await?)
            .await?
            .with_retention(self.settings().state.retention.clone());
        Ok(Results { config, store })
    }

    /// `results:` of flowspec.yaml.
    pub fn results_config(&self) -> Result<ResultsConfig> {
        Ok(ResultsConfig::from_node(
            self.settings.section(flowspec_results::config::SECTION),
            self.settings.file().unwrap_or(&self.paths.settings_file),
            self.settings.text(),
        )
        .map_err(ConfigErrors::from)?)
    }

    /// The notification hub of `integrations:`/`notifications:`.
    pub fn notifications(&self) -> Result<Notifications> {
        Ok(delivery::open_project(
            &self.paths,
            &self.vars,
            &flowspec_notify::registry(),
        )?)
    }

    /// The `ci:` settings, or a config error saying how to add them.
    pub fn ci_settings(&self) -> Result<CiSettings> {
        CiSettings::from_settings(&self.settings)?.ok_or_else(|| {
            Error::Config(
                ConfigError::new(
                    ConfigErrorKind::MissingField,
                    "no `ci:` section in flowspec.yaml",
                )
                .in_file(&self.paths.settings_file, None)
                .hint(
                    "add `ci: {provider: github, config: {repo: owner/name}}` (https://github.com/flowspec/flowspec/blob/main/docs/ci.md)",
                )
                .into(),
            )
        })
    }

    /// The CI client of profile `profile` (default: `ci.default`, or the only one).
    pub fn ci(&self, profile: Option<&str>) -> Result<Arc<dyn CiProvider>> {
        Ok(self.ci_settings()?.build(
            profile,
            &flowspec_providers::registry(),
            &self.vars,
            &self.paths.root,
        )?)
    }

    /// `transport:` of flowspec.yaml, `None` without the section.
    pub fn transport_config(&self) -> Result<Option<TransportConfig>> {
        Ok(TransportConfig::from_settings(&self.settings, &self.vars)?)
    }

    /// The transport of `transport:`, or [`Error::NoTransport`] saying how to add it.
    /// It connects on first use.
    pub fn transport(&self) -> Result<Arc<RedisTransport>> {
        let config = self.transport_config()?.ok_or_else(|| Error::NoTransport {
            settings: self.paths.settings_file.clone(),
        })?;
        Ok(Arc::new(RedisTransport::new(config)?))
    }

    /// Every hook action kind: `notify`, `ci`, `retry_flaky`, `pr`.
    pub fn action_factories(&self) -> Result<Vec<Arc<dyn ActionFactory>>> {
        ACTION_KINDS.iter().map(|kind| kind(self)).collect()
    }

    /// The engine with every action kind, the store and the audit log. Without a
    /// hooks file it has no hooks: every emit is a no-op.
    pub async fn engine(&self, reporter: Arc<dyn Reporter>) -> Result<Engine> {
        self.build_engine(reporter, true).await
    }

    /// The engine without store or audit log (listing, planning, validating).
    pub async fn engine_without_state(&self, reporter: Arc<dyn Reporter>) -> Result<Engine> {
        self.build_engine(reporter, false).await
    }

    async fn build_engine(&self, reporter: Arc<dyn Reporter>, with_state: bool) -> Result<Engine> {
        let mut builder = if self.has_hooks() {
            EngineBuilder::from_project(self.paths.clone())
        } else {
            EngineBuilder::new().project_root(self.paths.root.clone())
        };
        for factory in self.action_factories()? {
            builder = builder.action_factory(factory);
        }
        builder = builder.reporter(reporter).vars(self.vars.clone());
        for secret in &self.secrets {
            builder = builder.secret(secret.clone());
        }
        if with_state {
            builder = builder.store(self.store().await?);
            builder = if self.settings.audit.enabled {
                builder.audit_log(self.audit_path())
            } else {
                builder.no_audit()
            };
        } else {
            builder = builder.no_state().no_audit();
        }
        let engine = builder.build().await?;
        self.settings.check_sections(KNOWN_SECTIONS)?;
        *self.masker.write().unwrap_or_else(|e| e.into_inner()) = engine.masker();
        Ok(engine)
    }

    /// Checks hooks.yaml and every section of flowspec.yaml as they would be checked
    /// when used, and returns every problem at once; on success, the engine (without
    /// store or audit log).
    pub async fn validate(&self) -> Result<Engine> {
        self.require_hooks()?;
        let mut errors = ConfigErrors::default();
        let mut builder = EngineBuilder::from_project(self.paths.clone()).vars(self.vars.clone());
        for (i, kind) in ACTION_KINDS.iter().enumerate() {
            match kind(self) {
                Ok(factory) => builder = builder.action_factory(factory),
                // `retry_flaky` reads the `ci:` section too: its errors are `ci`'s.
                Err(Error::Config(_)) if i == 2 => {}
                Err(Error::Config(more)) => {
                    errors.extend(more);
                    // Hooks using `notify:` are still checked, against no integrations.
                    if i == 0 {
                        builder = builder.action_factory(Arc::new(NotifyActionFactory::lenient()));
                    }
                }
                Err(other) => return Err(other),
            }
        }
        let result = builder.no_state().no_audit().build().await;
        if let Err(e) = self.settings.check_sections(KNOWN_SECTIONS) {
            errors.extend(e);
        }
        if let Err(e) = TransportConfig::from_settings(&self.settings, &self.vars) {
            errors.extend(e);
        }
        if self.settings.section("server").is_some()
            && let Err(e) = flowspec_server::ServerConfig::from_settings(&self.settings, &self.vars)
        {
            errors.extend(e);
        }
        match result {
            Ok(engine) if errors.is_empty() => Ok(engine),
            Ok(_) => Err(Error::Config(errors)),
            Err(flowspec_core::BuildError::Config(mut first)) => {
                first.extend(errors);
                Err(Error::Config(first))
            }
            Err(other) => Err(other.into()),
        }
    }

    /// Opens the audit log for appending.
    pub fn audit_log(&self) -> Result<AuditLog> {
        AuditLog::open(&self.audit_path()).map_err(|e| Error::Build(e.into()))
    }
}
