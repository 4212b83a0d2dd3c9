//! A registry of backend factories by kind: one type for CI providers
//! ([`ProviderRegistry`](crate::provider::ProviderRegistry)) and notifiers
//! ([`NotifierRegistry`](crate::notifier::NotifierRegistry)).

use std::fmt;
use std::sync::Arc;

/// A factory that a [`Registry`] holds: it names its kind (`github`, `slack`).
pub trait Registered: Send + Sync {
    /// The kind, as written in the configuration.
    fn kind(&self) -> &'static str;

    /// `factory` shared (the built-in lists hold `&'static` factories).
    fn shared(factory: &'static Self) -> Arc<Self>;
}

/// Kind → factory, in registration order. Cheap to clone.
pub struct Registry<F: ?Sized + Registered> {
    factories: Vec<Arc<F>>,
    // Kinds a build left out (a crate feature off), with the message a lookup gives.
    compiled_out: Vec<(&'static str, Arc<str>)>,
}

impl<F: ?Sized + Registered> Registry<F> {
    /// An empty registry.
    pub fn new() -> Self {
        Registry {
            factories: Vec::new(),
            compiled_out: Vec::new(),
        }
    }

    /// A registry with `factories` (a crate's `BUILTIN` list).
    pub fn from_static(factories: &[&'static F]) -> Self {
        factories.iter().fold(Registry::new(), |registry, factory| {
            registry.register(F::shared(factory))
        })
    }

    /// Adds a factory; one with the same kind is replaced.
    pub fn register(mut self, factory: Arc<F>) -> Self {
        self.factories.retain(|f| f.kind() != factory.kind());
        self.compiled_out
            .retain(|(kind, _)| *kind != factory.kind());
        self.factories.push(factory);
        self
    }

    /// Records that `kind` exists but is not compiled into this build: looking it up
    /// gives `message` (which names the crate feature to enable) instead of "unknown".
    ///
    /// ```
    /// use flowspec_core::provider::ProviderRegistry;
    /// let registry = ProviderRegistry::new().not_built_in(
    ///     "jenkins",
    ///     "the `jenkins` CI provider is not built in: enable the crate feature `jenkins`",
    /// );
    /// assert!(registry.get("jenkins").is_none());
    /// assert!(registry.compiled_out("jenkins").unwrap().contains("feature `jenkins`"));
    /// ```
    pub fn not_built_in(mut self, kind: &'static str, message: impl Into<String>) -> Self {
        if self.get(kind).is_none() {
            self.compiled_out.retain(|(k, _)| *k != kind);
            self.compiled_out.push((kind, Arc::from(message.into())));
        }
        self
    }

    /// Why `kind` is missing, when it was left out of this build
    /// ([`not_built_in`](Registry::not_built_in)).
    pub fn compiled_out(&self, kind: &str) -> Option<&str> {
        self.compiled_out
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, message)| &**message)
    }

    /// The factory for `kind`.
    pub fn get(&self, kind: &str) -> Option<&Arc<F>> {
        self.factories.iter().find(|f| f.kind() == kind)
    }

    /// Every kind, in registration order.
    pub fn kinds(&self) -> Vec<&'static str> {
        self.factories.iter().map(|f| f.kind()).collect()
    }

    /// Every factory, in registration order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<F>> {
        self.factories.iter()
    }
}

impl<F: ?Sized + Registered> Default for Registry<F> {
    fn default() -> Self {
        Registry::new()
    }
}

impl<F: ?Sized + Registered> Clone for Registry<F> {
    fn clone(&self) -> Self {
        Registry {
            factories: self.factories.clone(),
            compiled_out: self.compiled_out.clone(),
        }
    }
}

impl<F: ?Sized + Registered> fmt::Debug for Registry<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.kinds()).finish()
    }
}
