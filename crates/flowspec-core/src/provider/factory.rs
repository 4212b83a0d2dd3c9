//! Building providers from configuration: one [`ProviderFactory`] per platform, and
//! a [`ProviderRegistry`] that finds them by `provider:` name.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::CiProvider;
use crate::config::{ConfigError, ConfigErrorKind, ConfigErrors, Node, Vars, suggest};
use crate::registry::{Registered, Registry};

/// Builds a [`CiProvider`] from the `config:` mapping of its `ci:` entry.
///
/// One per platform, registered in a plain list (`flowspec_providers::BUILTIN`);
/// embedders add theirs with [`ProviderRegistry::register`].
pub trait ProviderFactory: Send + Sync {
    /// The `provider:` name (`github`, `gitlab`, `jenkins`, `circleci`, `custom`):
    /// lowercase snake_case.
    fn kind(&self) -> &'static str;

    /// One line for `--help` and docs.
    fn describe(&self) -> &'static str;

    /// A complete `ci:` section of flowspec.yaml using this provider (checked by
    /// tests: it must parse and build).
    fn example_yaml(&self) -> &'static str;

    /// The variables [`example_yaml`](Self::example_yaml) needs to build (its
    /// token variables, with example values): generic tests build every registered
    /// example with them. Default: none.
    fn example_vars(&self) -> &'static [(&'static str, &'static str)] {
        &[]
    }

    /// Validates `config` (the node under `config:`) and builds the provider. Must not
    /// touch the network: problems are reported with their file, line and key path.
    fn build(
        &self,
        config: &Node,
        cx: &ProviderContext<'_>,
    ) -> Result<Arc<dyn CiProvider>, ConfigErrors>;
}

impl<T: ProviderFactory + ?Sized> ProviderFactory for &T {
    fn kind(&self) -> &'static str {
        (**self).kind()
    }
    fn describe(&self) -> &'static str {
        (**self).describe()
    }
    fn example_yaml(&self) -> &'static str {
        (**self).example_yaml()
    }
    fn example_vars(&self) -> &'static [(&'static str, &'static str)] {
        (**self).example_vars()
    }
    fn build(
        &self,
        config: &Node,
        cx: &ProviderContext<'_>,
    ) -> Result<Arc<dyn CiProvider>, ConfigErrors> {
        (**self).build(config, cx)
    }
}

impl fmt::Debug for dyn ProviderFactory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProviderFactory({})", self.kind())
    }
}

/// What a factory may use while building.
#[derive(Clone)]
#[non_exhaustive]
pub struct ProviderContext<'a> {
    /// Variables for `${VAR}` and the conventional token variables.
    pub vars: &'a Vars,
    /// The project root: the git checkout whose remote and branch are the defaults.
    pub project_root: &'a Path,
    /// The file being read, if any.
    pub file: Option<PathBuf>,
    /// Its text, for error snippets.
    pub file_text: Option<Arc<str>>,
    /// The key path of the `config:` node (`ci.config`, `ci.profiles.deploy.config`).
    pub key_path: String,
}

impl<'a> ProviderContext<'a> {
    /// A context with variables and a project root; key path `ci.config`.
    pub fn new(vars: &'a Vars, project_root: &'a Path) -> Self {
        ProviderContext {
            vars,
            project_root,
            file: None,
            file_text: None,
            key_path: "ci.config".into(),
        }
    }

    /// Sets the file (and its text) that errors point into.
    pub fn file(mut self, file: &Path, text: Option<Arc<str>>) -> Self {
        self.file = Some(file.to_path_buf());
        self.file_text = text;
        self
    }

    /// Sets the key path of the `config:` node.
    pub fn key_path(mut self, key_path: impl Into<String>) -> Self {
        self.key_path = key_path.into();
        self
    }

    /// The key path of a field of `config:` (`ci.config.repo`).
    pub fn field_path(&self, field: &str) -> String {
        format!("{}.{field}", self.key_path)
    }

    /// Attaches this context's file to an error that has none.
    pub fn locate(&self, error: ConfigError) -> ConfigError {
        match (error.file(), &self.file) {
            (None, Some(file)) => error.in_file(file, self.file_text.clone()),
            _ => error,
        }
    }
}

impl fmt::Debug for ProviderContext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderContext")
            .field("project_root", &self.project_root)
            .field("file", &self.file)
            .field("key_path", &self.key_path)
            .finish()
    }
}

/// The provider factories known to a program, by `provider:` name.
///
/// ```
/// use flowspec_core::provider::ProviderRegistry;
/// let registry = ProviderRegistry::new();
/// assert!(registry.get("github").is_none());
/// let err = registry.require("github", None).unwrap_err();
/// assert!(err.to_string().contains("unknown CI provider `github`"));
/// ```
pub type ProviderRegistry = Registry<dyn ProviderFactory>;

impl Registered for dyn ProviderFactory {
    fn kind(&self) -> &'static str {
        ProviderFactory::kind(self)
    }

    fn shared(factory: &'static Self) -> Arc<Self> {
        Arc::new(factory)
    }
}

impl Registry<dyn ProviderFactory> {
    /// The factory for `kind`, or an error that lists the known kinds (and suggests
    /// the closest one), located at `at` when given.
    pub fn require(
        &self,
        kind: &str,
        at: Option<crate::config::Loc>,
    ) -> Result<&Arc<dyn ProviderFactory>, ConfigError> {
        self.get(kind).ok_or_else(|| {
            if let Some(message) = self.compiled_out(kind) {
                let err = ConfigError::new(ConfigErrorKind::InvalidValue, message)
                    .hint("the default features of flowspec-providers include every platform");
                return match at {
                    Some(loc) => err.at(loc),
                    None => err,
                };
            }
            let kinds = self.kinds();
            let hint = match suggest(kind, kinds.iter().copied()) {
                Some(s) => format!("did you mean `{s}`?"),
                None if kinds.is_empty() => "no CI provider is compiled in".to_owned(),
                None => format!("known providers: {}", kinds.join(", ")),
            };
            let mut err = ConfigError::new(
                ConfigErrorKind::InvalidValue,
                format!("unknown CI provider `{kind}`"),
            )
            .hint(hint);
            if let Some(loc) = at {
                err = err.at(loc);
            }
            err
        })
    }
}
