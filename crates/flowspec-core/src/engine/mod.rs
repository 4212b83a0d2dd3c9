//! The engine: hooks, store, audit log and reporter put together.
//!
//! Build one with [`Engine::builder`] (hooks in Rust), [`EngineBuilder::discover`]
//! (the project around a directory) or [`EngineBuilder::from_config_path`], then call
//! [`Engine::emit`]. See [`dispatch`] for the exact semantics of a dispatch.

pub mod dispatch;
mod gate;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use thiserror::Error;

use crate::action::{Action, ActionFactory, builtin_factories};
use crate::audit::{AuditError, AuditLog};
use crate::config::{ConfigError, ConfigErrorKind, ConfigErrors, DotenvError, Vars, interpolate};
use crate::project::{DiscoverError, ProjectPaths};
use crate::report::{Reporter, SilentReporter};
use crate::secret::{Masker, looks_secret};
use crate::settings::{DEFAULT_OUTPUT_TAIL_BYTES, Settings};
use crate::spec::HookSpec;
use crate::spec::load::{LoadOptions, load_file};
use crate::store::{Store, StoreError};

pub use dispatch::{EmitOptions, Prepared};

/// How long a timed-out process gets between SIGTERM and SIGKILL by default.
pub const DEFAULT_KILL_GRACE: Duration = Duration::from_secs(3);

/// Why an engine could not be built.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum BuildError {
    /// hooks.yaml or flowspec.yaml has problems (all of them are listed).
    #[error("{0}")]
    Config(ConfigErrors),
    /// No project was found.
    #[error(transparent)]
    Discover(#[from] DiscoverError),
    /// The `.env` file is malformed.
    #[error(transparent)]
    Dotenv(#[from] DotenvError),
    /// The store could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The audit log could not be opened.
    #[error(transparent)]
    Audit(#[from] AuditError),
}

/// Why a dispatch failed as a whole (as opposed to a hook failing, which is in the
/// report).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The store could not record a claim or a result; hooks are not run blind.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No hook has that name.
    #[error("no hook named `{name}`{}", suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default())]
    UnknownHook {
        /// The name asked for.
        name: String,
        /// The closest existing name.
        suggestion: Option<String>,
    },
}

/// The dispatch engine. Cheap to clone; share one per process.
///
/// ```no_run
/// use flowspec_core::{Engine, Event, HookSpec};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let engine = Engine::builder()
///     .hook(HookSpec::builder("hello").on("*.completed").command("cat").build()?)
///     .build()
///     .await?;
/// let report = engine.emit(Event::builder("implement.completed").feature("auth").build()?).await?;
/// assert!(!report.is_blocked());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) root: PathBuf,
    pub(crate) hooks_file: Option<PathBuf>,
    pub(crate) hooks: Vec<HookSpec>,
    pub(crate) store: Option<Store>,
    pub(crate) audit: Option<AuditLog>,
    pub(crate) protection: RwLock<Protection>,
    pub(crate) reporter: Arc<dyn Reporter>,
    pub(crate) tail_bytes: usize,
    pub(crate) kill_grace: Duration,
    pub(crate) settings: Settings,
    pub(crate) vars: Vars,
    pub(crate) gates: gate::Gates,
}

/// What the engine keeps from hooks and from what it writes: the secrets it masks and
/// the inherited variables hooks do not get.
#[derive(Clone, Default)]
pub(crate) struct Protection {
    pub(crate) masker: Masker,
    pub(crate) withheld_env: Arc<[String]>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("root", &self.inner.root)
            .field("hooks", &self.inner.hooks.len())
            .field("store", &self.inner.store)
            .field("audit", &self.inner.audit.as_ref().map(AuditLog::path))
            .field("masker", &self.masker())
            .finish()
    }
}

impl Engine {
    /// An engine with no project: add hooks in Rust; no store or audit unless set.
    pub fn builder() -> EngineBuilder {
        EngineBuilder::new()
    }

    /// All hooks, in file order (disabled ones included).
    pub fn hooks(&self) -> &[HookSpec] {
        &self.inner.hooks
    }

    /// A hook by name.
    pub fn hook(&self, name: &str) -> Option<&HookSpec> {
        self.inner.hooks.iter().find(|h| h.name() == name)
    }

    /// The project root.
    pub fn project_root(&self) -> &Path {
        &self.inner.root
    }

    /// The hooks file, when hooks came from one.
    pub fn hooks_file(&self) -> Option<&Path> {
        self.inner.hooks_file.as_deref()
    }

    /// The project settings (flowspec.yaml).
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The variables used for `${VAR}` (process environment and `.env`).
    pub fn vars(&self) -> &Vars {
        &self.inner.vars
    }

    /// The masker applied to everything the engine writes.
    pub fn masker(&self) -> Masker {
        self.protection().masker
    }

    /// Masks `values` too, from the next hook run on, in every clone of this engine:
    /// for credentials learned after the engine was built (a server adds its sources'
    /// secrets when it starts).
    pub fn add_secrets<S: AsRef<str>>(&self, values: impl IntoIterator<Item = S>) {
        let mut protection = self
            .inner
            .protection
            .write()
            .unwrap_or_else(|e| e.into_inner());
        protection.masker = protection.masker.extended(values);
    }

    /// Hooks started from now on, in every clone of this engine, do not inherit the
    /// environment variables `names` from this process, unless a hook sets one in its
    /// `env` (a server withholds its sources' secrets this way).
    pub fn withhold_env<S: Into<String>>(&self, names: impl IntoIterator<Item = S>) {
        let mut protection = self
            .inner
            .protection
            .write()
            .unwrap_or_else(|e| e.into_inner());
        let mut all: Vec<String> = protection.withheld_env.to_vec();
        all.extend(names.into_iter().map(Into::into));
        all.sort();
        all.dedup();
        protection.withheld_env = all.into();
    }

    /// The names passed to [`Engine::withhold_env`].
    pub fn withheld_env(&self) -> Arc<[String]> {
        self.protection().withheld_env
    }

    pub(crate) fn protection(&self) -> Protection {
        self.inner
            .protection
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The store, if there is one.
    pub fn store(&self) -> Option<&Store> {
        self.inner.store.as_ref()
    }

    /// The audit log path, if auditing.
    pub fn audit_path(&self) -> Option<&Path> {
        self.inner.audit.as_ref().map(AuditLog::path)
    }
}

enum StateChoice {
    ProjectDefault,
    Path(PathBuf),
    Url(String),
    Given(Store),
    Disabled,
}

enum AuditChoice {
    ProjectDefault,
    Path(PathBuf),
    Disabled,
}

/// Builds an [`Engine`].
#[must_use]
pub struct EngineBuilder {
    project: Option<ProjectPaths>,
    root: Option<PathBuf>,
    hooks: Vec<HookSpec>,
    handlers: HashMap<String, Arc<dyn Action>>,
    factories: Vec<Arc<dyn ActionFactory>>,
    vars: Option<Vars>,
    state: StateChoice,
    audit: AuditChoice,
    reporter: Arc<dyn Reporter>,
    kill_grace: Duration,
    secrets: Vec<String>,
    withheld_env: Vec<String>,
}

impl Default for EngineBuilder {
    fn default() -> Self {
        EngineBuilder::new()
    }
}

impl EngineBuilder {
    /// A builder without a project: no hooks file, no store, no audit log.
    pub fn new() -> Self {
        EngineBuilder {
            project: None,
            root: None,
            hooks: Vec::new(),
            handlers: HashMap::new(),
            factories: builtin_factories(),
            vars: None,
            state: StateChoice::Disabled,
            audit: AuditChoice::Disabled,
            reporter: Arc::new(SilentReporter),
            kill_grace: DEFAULT_KILL_GRACE,
            secrets: Vec::new(),
            withheld_env: Vec::new(),
        }
    }

    /// A builder for `project`: its hooks.yaml, flowspec.yaml, `.env`, store and audit log.
    pub fn from_project(project: ProjectPaths) -> Self {
        EngineBuilder {
            project: Some(project),
            state: StateChoice::ProjectDefault,
            audit: AuditChoice::ProjectDefault,
            ..EngineBuilder::new()
        }
    }

    /// The project around `start` (walking up to the first `.flowspec/hooks/hooks.yaml`).
    pub fn discover(start: &Path) -> Result<Self, DiscoverError> {
        Ok(EngineBuilder::from_project(ProjectPaths::discover(start)?))
    }

    /// The project of an explicit hooks file.
    pub fn from_config_path(path: &Path) -> Self {
        EngineBuilder::from_project(ProjectPaths::from_hooks_file(path))
    }

    /// Sets the project root for an engine without a project (default: the current directory).
    pub fn project_root(mut self, root: impl Into<PathBuf>) -> Self {
        self.root = Some(root.into());
        self
    }

    /// Adds a hook built in Rust (after the file's hooks).
    pub fn hook(mut self, hook: HookSpec) -> Self {
        self.hooks.push(hook);
        self
    }

    /// Registers an in-process handler for `action: <name>` in hooks.yaml.
    pub fn handler(mut self, name: impl Into<String>, action: Arc<dyn Action>) -> Self {
        self.handlers.insert(name.into(), action);
        self
    }

    /// Registers an action kind (a new hooks.yaml key such as `ci` or `notify`).
    /// A factory with the key of an existing one replaces it.
    pub fn action_factory(mut self, factory: Arc<dyn ActionFactory>) -> Self {
        self.factories.retain(|f| f.key() != factory.key());
        self.factories.push(factory);
        self
    }

    /// Uses these variables instead of the process environment and `.env`.
    pub fn vars(mut self, vars: Vars) -> Self {
        self.vars = Some(vars);
        self
    }

    /// Uses an open store.
    pub fn store(mut self, store: Store) -> Self {
        self.state = StateChoice::Given(store);
        self
    }

    /// Keeps state in the SQLite file at `path`.
    pub fn state_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.state = StateChoice::Path(path.into());
        self
    }

    /// Keeps state in the database at `url` (`sqlite://...` or `postgres://...`).
    pub fn state_url(mut self, url: impl Into<String>) -> Self {
        self.state = StateChoice::Url(url.into());
        self
    }

    /// No idempotency store: every emit runs every matching hook.
    pub fn no_state(mut self) -> Self {
        self.state = StateChoice::Disabled;
        self
    }

    /// Writes the audit log to `path`.
    pub fn audit_log(mut self, path: impl Into<PathBuf>) -> Self {
        self.audit = AuditChoice::Path(path.into());
        self
    }

    /// Writes no audit log.
    pub fn no_audit(mut self) -> Self {
        self.audit = AuditChoice::Disabled;
        self
    }

    /// Receives progress callbacks.
    pub fn reporter(mut self, reporter: Arc<dyn Reporter>) -> Self {
        self.reporter = reporter;
        self
    }

    /// Sets the SIGTERM → SIGKILL grace after a timeout.
    pub fn kill_grace(mut self, grace: Duration) -> Self {
        self.kill_grace = grace;
        self
    }

    /// Masks `value` everywhere, like a token.
    pub fn secret(mut self, value: impl Into<String>) -> Self {
        self.secrets.push(value.into());
        self
    }

    /// Hooks do not inherit the environment variable `name` from this process, unless
    /// a hook sets it in its `env`.
    pub fn withhold_env(mut self, name: impl Into<String>) -> Self {
        self.withheld_env.push(name.into());
        self
    }

    /// Reads the configuration, opens the store and the audit log.
    pub async fn build(self) -> Result<Engine, BuildError> {
        let vars = match self.vars {
            Some(vars) => vars,
            None => Vars::from_process(self.project.as_ref().map(|p| p.dotenv_file.as_path()))?,
        };
        let root = match (&self.project, self.root) {
            (Some(project), _) => project.root.clone(),
            (None, Some(root)) => root,
            (None, None) => std::env::current_dir().unwrap_or_default(),
        };

        let mut errors = ConfigErrors::default();
        let settings = match &self.project {
            Some(project) => Settings::load(&project.settings_file).unwrap_or_else(|e| {
                errors.extend(e);
                Settings::default()
            }),
            None => Settings::default(),
        };
        let mut hooks = Vec::new();
        let mut secret_vars = Vec::new();
        if let Some(project) = &self.project {
            let options = LoadOptions {
                project_root: &root,
                vars: &vars,
                factories: &self.factories,
                handlers: &self.handlers,
            };
            // A discovered project may hold only flowspec.yaml: no hooks then. A hooks
            // file named explicitly (elsewhere) must exist.
            let standard = ProjectPaths::at_root(&project.root).hooks_file;
            let absent = project.hooks_file == standard && !project.hooks_file.exists();
            match (!absent).then(|| load_file(&project.hooks_file, &options)) {
                None => {}
                Some(Ok(file)) => {
                    hooks = file.hooks;
                    secret_vars = file.secret_vars;
                }
                Some(Err(e)) => errors.extend(e),
            }
        }
        for hook in self.hooks {
            if hooks.iter().any(|h: &HookSpec| h.name() == hook.name()) {
                errors.push(ConfigError::new(
                    ConfigErrorKind::Duplicate,
                    format!("a hook named `{}` is already defined", hook.name()),
                ));
            } else {
                hooks.push(hook);
            }
        }
        if !errors.is_empty() {
            return Err(BuildError::Config(errors.into_result(()).unwrap_err()));
        }

        let masker = build_masker(&vars, &secret_vars, &hooks, self.secrets);
        let store = match self.state {
            StateChoice::Disabled => None,
            StateChoice::Given(store) => Some(store),
            StateChoice::Path(path) => Some(Store::open_sqlite(&path).await?),
            StateChoice::Url(url) => Some(Store::open(&url).await?),
            StateChoice::ProjectDefault => {
                let project = self
                    .project
                    .as_ref()
                    .expect("project default implies a project");
                Some(open_project_store(project, &settings, &vars).await?)
            }
        };
        let audit = match self.audit {
            AuditChoice::Disabled => None,
            AuditChoice::Path(path) => Some(AuditLog::open(&path)?),
            AuditChoice::ProjectDefault if !settings.audit.enabled => None,
            AuditChoice::ProjectDefault => {
                let project = self
                    .project
                    .as_ref()
                    .expect("project default implies a project");
                let path = match &settings.audit.path {
                    Some(p) => root.join(p),
                    None => project.audit_log.clone(),
                };
                Some(AuditLog::open(&path)?)
            }
        };
        let tail_bytes = if self.project.is_some() {
            settings.audit.output_tail_bytes
        } else {
            DEFAULT_OUTPUT_TAIL_BYTES
        };
        Ok(Engine {
            inner: Arc::new(Inner {
                root,
                hooks_file: self.project.map(|p| p.hooks_file),
                hooks,
                store,
                audit,
                protection: RwLock::new(Protection {
                    masker,
                    withheld_env: self.withheld_env.into(),
                }),
                reporter: self.reporter,
                tail_bytes,
                kill_grace: self.kill_grace,
                settings,
                vars,
                gates: gate::Gates::default(),
            }),
        })
    }
}

/// Opens a project's store: `state.url` from flowspec.yaml (with `${VAR}`), or the
/// SQLite file under `.flowspec/state/`.
pub async fn open_project_store(
    project: &ProjectPaths,
    settings: &Settings,
    vars: &Vars,
) -> Result<Store, BuildError> {
    let url = match &settings.state.url {
        Some(url) => interpolate(url, vars).map(|i| i.value).map_err(|e| {
            BuildError::Config(
                ConfigError::new(ConfigErrorKind::UnsetVariable, format!("`state.url`: {e}"))
                    .in_file(&project.settings_file, settings.text())
                    .into(),
            )
        })?,
        None => String::new(),
    };
    if url.trim().is_empty() {
        Ok(Store::open_sqlite(&project.state_dir.join("flowspec.db")).await?)
    } else {
        Ok(Store::open(&url).await?)
    }
}

/// Every value to mask: secret-looking variables, declared secret variables, secret
/// hook `env` values, and secrets given in Rust.
fn build_masker(
    vars: &Vars,
    secret_vars: &[String],
    hooks: &[HookSpec],
    extra: Vec<String>,
) -> Masker {
    let from_vars = vars
        .iter()
        .filter(|(name, _)| looks_secret(name) || secret_vars.iter().any(|s| s == name))
        .map(|(_, value)| value.to_owned());
    let from_hooks = hooks
        .iter()
        .flat_map(|h| h.env())
        .filter(|(_, v)| v.is_secret())
        .map(|(_, v)| v.expose().to_owned());
    Masker::new(from_vars.chain(from_hooks).chain(extra))
}
