//! Links the `flowspec` executable position-dependent on Linux with glibc.
//!
//! A position-independent executable is relocated by the dynamic loader at every start:
//! ~43,000 relative relocations that write into ~180 pages of otherwise shared,
//! read-only data, each a copy-on-write page fault. That is 40 % of a `flowspec
//! --version` and a third of a short `flowspec emit` (see docs/decisions.md). Libraries,
//! heap, stack and thread stacks stay randomized. `FLOWSPEC_BUILD_PIE=1` keeps the
//! default position-independent link, for distributions that require it.

use std::env;

fn main() {
    println!("cargo:rerun-if-env-changed=FLOWSPEC_BUILD_PIE");
    println!("cargo:rerun-if-changed=build.rs");
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let libc = env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let keep_pie = env::var("FLOWSPEC_BUILD_PIE").is_ok_and(|v| v == "1");
    if os == "linux" && libc == "gnu" && !keep_pie {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
