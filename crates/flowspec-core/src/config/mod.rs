//! Reading configuration: a located YAML tree, typed deserialization with located
//! errors, `${VAR}` interpolation, and error rendering.
//!
//! - [`Node`]: a YAML document whose every value remembers its line and column.
//! - [`from_node`]: serde deserialization from a [`Node`] with errors that name the
//!   line, column and key path, and suggest the right name for a typo.
//! - [`interpolate`] and [`Vars`]: `${VAR}` and `${VAR:-default}`.
//! - [`ConfigError`] / [`ConfigErrors`]: what is wrong, where, and how to fix it.

pub mod de;
mod error;
mod interpolate;
mod node;

pub use de::{from_node, from_node_in};
pub use error::{ConfigError, ConfigErrorKind, ConfigErrors, suggest, syntax_error};
pub use interpolate::{DotenvError, InterpolateError, Interpolated, Vars, interpolate};
pub use node::{Key, Loc, Node, Value};
