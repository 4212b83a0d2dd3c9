//! The notifier kinds a program knows: the built-in ones plus any an embedder adds.

use std::sync::Arc;

use flowspec_core::config::{ConfigErrors, Node};
use flowspec_core::notifier::{Built, NotifierContext, NotifierFactory, SecretVar};

/// Kind → factory. Cheap to clone.
///
/// ```
/// use flowspec_notify::Registry;
/// let registry = Registry::with_builtins();
/// assert!(registry.get("slack").is_some());
/// assert!(registry.kinds().any(|k| k == "slack"));
/// ```
#[derive(Clone, Default)]
pub struct Registry {
    factories: Vec<Arc<dyn NotifierFactory>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.kinds()).finish()
    }
}

impl Registry {
    /// No kinds at all.
    pub fn empty() -> Self {
        Registry::default()
    }

    /// The built-in kinds ([`crate::BUILTIN`]).
    pub fn with_builtins() -> Self {
        let mut registry = Registry::empty();
        for factory in crate::BUILTIN {
            registry = registry.register_static(*factory);
        }
        registry
    }

    /// Adds a kind; one with the same `kind()` is replaced.
    pub fn register(mut self, factory: Arc<dyn NotifierFactory>) -> Self {
        self.factories.retain(|f| f.kind() != factory.kind());
        self.factories.push(factory);
        self
    }

    /// Adds a `&'static` kind (a unit struct, like the built-in ones).
    pub fn register_static(self, factory: &'static dyn NotifierFactory) -> Self {
        self.register(Arc::new(Static(factory)))
    }

    /// The factory of `kind`.
    pub fn get(&self, kind: &str) -> Option<&Arc<dyn NotifierFactory>> {
        self.factories.iter().find(|f| f.kind() == kind)
    }

    /// Every kind, in registration order.
    pub fn kinds(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.factories.iter().map(|f| f.kind())
    }

    /// Every factory.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn NotifierFactory>> {
        self.factories.iter()
    }
}

/// A `&'static` factory (from `BUILTIN`) as an `Arc`.
struct Static(&'static dyn NotifierFactory);

impl NotifierFactory for Static {
    fn kind(&self) -> &'static str {
        self.0.kind()
    }

    fn describe(&self) -> &'static str {
        self.0.describe()
    }

    fn example_yaml(&self) -> &'static str {
        self.0.example_yaml()
    }

    fn routing_key(&self) -> &'static str {
        self.0.routing_key()
    }

    fn secrets(&self) -> &'static [SecretVar] {
        self.0.secrets()
    }

    fn build(&self, config: &Node, cx: &NotifierContext<'_>) -> Result<Vec<Built>, ConfigErrors> {
        self.0.build(config, cx)
    }
}
