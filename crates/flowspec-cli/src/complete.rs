//! Shell completion that knows the project: hook, integration and CI profile names come
//! from the files of the project the command line being completed would open.
//!
//! The shell calls `flowspec` back on every TAB with `COMPLETE=<shell>` set (the script
//! `flowspec completions SHELL` prints registers that); [`complete_if_asked`] answers
//! and exits before anything else runs. Completion never fails loudly: a project that
//! cannot be found or read completes no names.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::CommandFactory as _;
use clap_complete::engine::{ArgValueCandidates, CompletionCandidate};
use clap_complete::env::{CompleteEnv, Shells};
use flowspec::Project;
use flowspec_core::config::{Node, Value};

use crate::cli::Cli;

/// Answers a completion request (`COMPLETE` set) and exits; returns otherwise.
pub fn complete_if_asked() {
    CompleteEnv::with_factory(Cli::command).complete();
}

/// Writes the script that registers completion for `shell`: it calls this binary back
/// for every completion, so names follow the project's files as they change.
pub fn write_registration(
    shell: clap_complete::Shell,
    program: Option<&Path>,
) -> std::io::Result<Vec<u8>> {
    let name = shell.to_string();
    let shells = Shells::builtins();
    let completer = shells
        .completer(&name)
        .ok_or_else(|| std::io::Error::other(format!("no completion for shell `{name}`")))?;
    // By default as `COMPLETE=bash flowspec` would: the program as it was called, so a
    // binary run by path keeps completing with itself.
    let program = match program {
        Some(program) => program.to_path_buf(),
        None => {
            let called = std::env::args_os()
                .next()
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("flowspec"));
            if called.components().count() > 1 {
                std::env::current_dir().unwrap_or_default().join(called)
            } else {
                called
            }
        }
    };
    let mut script = Vec::new();
    completer.write_registration(
        "COMPLETE",
        "flowspec",
        "flowspec",
        &program.to_string_lossy(),
        &mut script,
    )?;
    Ok(script)
}

/// Completes the hooks of hooks.yaml, with their descriptions.
pub fn hook_names() -> ArgValueCandidates {
    ArgValueCandidates::new(|| {
        let Some(project) = project_of_command_line() else {
            return Vec::new();
        };
        let Ok(text) = std::fs::read_to_string(&project.paths().hooks_file) else {
            return Vec::new();
        };
        // Read leniently: a hooks file with an error elsewhere still completes its names.
        let Ok(root) = Node::parse(&text) else {
            return Vec::new();
        };
        let Some(Value::Seq(hooks)) = root.get("hooks").map(|n| &n.value) else {
            return Vec::new();
        };
        hooks
            .iter()
            .filter_map(|hook| {
                let name = hook.get("name")?.as_str()?;
                let help = hook.get("description").and_then(Node::as_str);
                Some(CompletionCandidate::new(name).help(help.map(|h| h.to_owned().into())))
            })
            .collect()
    })
}

/// Completes the integrations of flowspec.yaml (`slack`, `webhooks.analytics`), and the
/// kind of those with several endpoints (`webhooks` names all of them).
pub fn integration_names() -> ArgValueCandidates {
    ArgValueCandidates::new(|| {
        let Some(project) = project_of_command_line() else {
            return Vec::new();
        };
        let names: Vec<String> = match flowspec_notify::config::load(
            project.settings(),
            project.vars(),
            &flowspec_notify::registry(),
        ) {
            Ok(config) => config.names().map(str::to_owned).collect(),
            // Invalid somewhere: the entries as written still complete.
            Err(_) => project
                .settings()
                .section("integrations")
                .and_then(Node::as_map)
                .map(|entries| entries.iter().map(|(k, _)| k.name.clone()).collect())
                .unwrap_or_default(),
        };
        let mut candidates: Vec<CompletionCandidate> = Vec::new();
        for name in &names {
            if let Some((kind, _)) = name.split_once('.')
                && !candidates.iter().any(|c| c.get_value() == kind)
            {
                candidates.push(
                    CompletionCandidate::new(kind).help(Some("every endpoint of this kind".into())),
                );
            }
            candidates.push(CompletionCandidate::new(name));
        }
        candidates
    })
}

/// Completes the `ci.profiles` entries, with their provider.
pub fn profile_names() -> ArgValueCandidates {
    ArgValueCandidates::new(|| {
        let Some(project) = project_of_command_line() else {
            return Vec::new();
        };
        let Ok(Some(settings)) =
            flowspec_core::provider::config::CiSettings::from_settings(project.settings())
        else {
            return Vec::new();
        };
        settings
            .profiles()
            .iter()
            .map(|p| CompletionCandidate::new(&p.name).help(Some(p.provider.clone().into())))
            .collect()
    })
}

/// The project the command line being completed names: `-C`/`--directory` and
/// `--config` (or `FLOWSPEC_CONFIG`) as the command itself would read them.
fn project_of_command_line() -> Option<Project> {
    // The shell passes the words being completed after `--`.
    let words: Vec<OsString> = std::env::args_os()
        .skip_while(|a| a != "--")
        .skip(1)
        .collect();
    let (directory, config) = location_flags(&words);
    let mut start = std::env::current_dir().ok()?;
    if let Some(dir) = directory {
        start = start.join(dir);
    }
    let config = config.or_else(|| std::env::var_os("FLOWSPEC_CONFIG").map(PathBuf::from));
    let config = config.map(|c| start.join(c));
    Project::open(&start, config.as_deref()).ok()
}

/// `-C DIR` / `--directory DIR` and `--config PATH`, in any of clap's spellings.
fn location_flags(words: &[OsString]) -> (Option<PathBuf>, Option<PathBuf>) {
    let mut directory = None;
    let mut config = None;
    let mut words = words.iter().map(|w| w.to_string_lossy());
    while let Some(word) = words.next() {
        if word == "--" {
            break;
        }
        let (slot, inline) = if let Some(v) = word.strip_prefix("--directory=") {
            (&mut directory, Some(v.to_owned()))
        } else if let Some(v) = word.strip_prefix("--config=") {
            (&mut config, Some(v.to_owned()))
        } else if word == "-C" || word == "--directory" {
            (&mut directory, None)
        } else if word == "--config" {
            (&mut config, None)
        } else if let Some(v) = word.strip_prefix("-C").filter(|v| !v.is_empty()) {
            (&mut directory, Some(v.trim_start_matches('=').to_owned()))
        } else {
            continue;
        };
        let value = match inline {
            Some(v) => Some(v),
            None => words.next().map(|w| w.into_owned()),
        };
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            *slot = Some(Path::new(&value).to_path_buf());
        }
    }
    (directory, config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(line: &str) -> (Option<PathBuf>, Option<PathBuf>) {
        let words: Vec<OsString> = line.split(' ').map(OsString::from).collect();
        location_flags(&words)
    }

    #[test]
    fn reads_every_spelling_of_the_location_flags() {
        let p = |s: &str| Some(PathBuf::from(s));
        assert_eq!(flags("flowspec -C proj hooks test"), (p("proj"), None));
        assert_eq!(flags("flowspec -Cproj hooks test"), (p("proj"), None));
        assert_eq!(flags("flowspec --directory=proj hooks"), (p("proj"), None));
        assert_eq!(
            flags("flowspec --config x/hooks.yaml -C d audit --hook"),
            (p("d"), p("x/hooks.yaml"))
        );
        assert_eq!(flags("flowspec --config=h.yaml ci"), (None, p("h.yaml")));
        // A flag with its value still being typed names nothing.
        assert_eq!(flags("flowspec -C"), (None, None));
        // After `--` words are values, not flags.
        assert_eq!(flags("flowspec emit x -- -C other"), (None, None));
    }
}
