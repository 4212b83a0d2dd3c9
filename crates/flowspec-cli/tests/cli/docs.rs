//! The documentation is checked: every YAML and JSON block in README.md and docs/*.md
//! parses, a block that is a whole hooks.yaml or flowspec.yaml loads through the real
//! loader, and every `flowspec …` command shown (in a shell block, a usage line of a text
//! block or a code span of the prose) exists and accepts the flags it shows.
//!
//! A block that is deliberately partial (a fragment of a larger file, or JSON with `…`
//! standing for elided content) carries `<!-- fragment -->` on the line before its
//! opening fence.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::{TestProject, run};

/// The marker, on the line before a fence, of a deliberately partial block.
const FRAGMENT: &str = "<!-- fragment -->";

/// Top-level keys of `.flowspec/flowspec.yaml`.
const SETTINGS_KEYS: &[&str] = &[
    "ci",
    "integrations",
    "notifications",
    "server",
    "results",
    "audit",
    "state",
    "transport",
];

/// One fenced block of a Markdown file.
struct Block {
    /// The file, relative to the workspace root (`docs/ci.md`).
    file: String,
    /// The 1-based line of the opening fence.
    line: usize,
    /// The info string's first word (`yaml`, `sh`...).
    lang: String,
    /// The block's lines, with the fence's indentation removed.
    text: String,
    /// The line before the fence is [`FRAGMENT`].
    fragment: bool,
}

impl Block {
    fn at(&self, offset: usize) -> String {
        format!("{}:{}", self.file, self.line + 1 + offset)
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("the crate sits in crates/")
        .to_path_buf()
}

/// README.md and docs/*.md, relative to the workspace root, sorted.
fn doc_files() -> Vec<String> {
    let root = workspace_root();
    let mut files = vec!["README.md".to_owned()];
    let mut docs: Vec<String> = std::fs::read_dir(root.join("docs"))
        .expect("docs/ exists")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".md"))
        .map(|name| format!("docs/{name}"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

/// The fenced blocks of `file` (backtick fences, possibly indented under a list item).
fn blocks(file: &str) -> Vec<Block> {
    let text = std::fs::read_to_string(workspace_root().join(file)).expect("a doc file");
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let trimmed = lines[i].trim_start();
        let Some(info) = trimmed.strip_prefix("```") else {
            i += 1;
            continue;
        };
        let indent = lines[i].len() - trimmed.len();
        let lang = info.split_whitespace().next().unwrap_or("").to_lowercase();
        let fragment = i > 0 && lines[i - 1].trim() == FRAGMENT;
        let start = i;
        let mut body = Vec::new();
        i += 1;
        while i < lines.len() && !lines[i].trim_start().starts_with("```") {
            let line = lines[i];
            let strip = line.len() - line.trim_start().len();
            body.push(&line[strip.min(indent)..]);
            i += 1;
        }
        i += 1; // the closing fence
        out.push(Block {
            file: file.to_owned(),
            line: start + 1,
            lang,
            text: body.join("\n") + "\n",
            fragment,
        });
    }
    out
}

fn all_blocks() -> Vec<Block> {
    doc_files().iter().flat_map(|f| blocks(f)).collect()
}

/// What a YAML block is, by its top-level keys.
#[derive(Debug, PartialEq)]
enum YamlKind {
    Hooks,
    Settings,
    Other,
}

fn yaml_kind(value: &serde_json::Value) -> YamlKind {
    let Some(map) = value.as_object() else {
        return YamlKind::Other;
    };
    if map.contains_key("hooks") {
        YamlKind::Hooks
    } else if map.keys().any(|k| SETTINGS_KEYS.contains(&k.as_str())) {
        YamlKind::Settings
    } else {
        YamlKind::Other
    }
}

/// The project around a doc's hooks.yaml: a `ci:` section (with the `tests` profile the
/// docs use) and the integrations their hooks notify, as a reader's project has them.
const AROUND_HOOKS: &str = "\
ci:
  default: main
  profiles:
    main: {provider: github, config: {repo: octo/app}}
    tests: {provider: github, config: {repo: octo/tests}}
integrations:
  slack: {enabled: true}
  pagerduty: {enabled: true}
";

/// The `${NAME}` and `${NAME:-default}` variables a block refers to.
fn variables(text: &str) -> Vec<String> {
    text.split("${")
        .skip(1)
        .filter_map(|rest| {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            (!name.is_empty()).then_some(name)
        })
        .collect()
}

/// A value of the shape a variable named `name` holds (a URL for `*_URL`...).
fn placeholder(name: &str) -> &'static str {
    if name.contains("WHSEC") {
        "whsec_YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE="
    } else if name.contains("REDIS") {
        "redis://127.0.0.1:6379/0"
    } else if name.contains("DSN") {
        "https://public@o1.ingest.sentry.io/1"
    } else if name.ends_with("_URL") {
        "https://hooks.example.com/flowspec"
    } else if name.ends_with("_EMAIL") {
        "dev@example.com"
    } else {
        "value-from-the-environment"
    }
}

/// Loads a whole hooks.yaml or flowspec.yaml in a temporary project through the
/// loader of every command (`flowspec hooks list`), and a flowspec.yaml also through
/// `flowspec hooks validate`; `Err` holds flowspec's message. The variables the
/// block names are set, and the scripts its hooks name exist.
fn load_through_flowspec(
    kind: &YamlKind,
    value: &serde_json::Value,
    text: &str,
) -> Result<(), String> {
    let p = match kind {
        YamlKind::Hooks => {
            let p = TestProject::new(text);
            p.write(".flowspec/flowspec.yaml", AROUND_HOOKS);
            let scripts = value["hooks"].as_array().into_iter().flatten();
            for script in scripts.filter_map(|h| h["script"].as_str()) {
                p.write_script(script, "#!/bin/sh\n");
            }
            p
        }
        YamlKind::Settings => {
            let p = TestProject::new("hooks: []\n");
            p.write(".flowspec/flowspec.yaml", text);
            p
        }
        YamlKind::Other => return Ok(()),
    };
    // `hooks list` builds the engine every command builds; `hooks validate` also checks
    // the `server:` section.
    let commands: &[[&str; 2]] = match kind {
        YamlKind::Hooks => &[["hooks", "list"]],
        _ => &[["hooks", "list"], ["hooks", "validate"]],
    };
    for command in commands {
        let mut cmd = p.cmd();
        for name in variables(text) {
            let value = placeholder(&name);
            cmd.env(name, value);
        }
        let (code, stdout, stderr) = run(cmd.args(command));
        if code != 0 {
            return Err(format!(
                "`flowspec {}` exits {code}: {}{}",
                command.join(" "),
                stdout.trim(),
                stderr.trim()
            ));
        }
    }
    Ok(())
}

#[test]
fn every_yaml_block_parses_and_whole_files_load() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for block in all_blocks() {
        if !matches!(block.lang.as_str(), "yaml" | "yml") {
            continue;
        }
        checked += 1;
        let docs: Vec<serde_json::Value> = match serde_saphyr::from_multiple(&block.text) {
            Ok(docs) => docs,
            Err(e) => {
                failures.push(format!("{}: invalid YAML: {e}", block.at(0)));
                continue;
            }
        };
        if block.fragment || docs.len() != 1 {
            continue;
        }
        let kind = yaml_kind(&docs[0]);
        if let Err(e) = load_through_flowspec(&kind, &docs[0], &block.text) {
            failures.push(format!(
                "{}: a whole {} that flowspec refuses (mark it `{FRAGMENT}` if it is \
                 deliberately partial):\n{e}",
                block.at(0),
                if kind == YamlKind::Hooks {
                    "hooks.yaml"
                } else {
                    "flowspec.yaml"
                },
            ));
        }
    }
    assert!(checked > 20, "only {checked} YAML blocks found");
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

#[test]
fn every_json_block_parses() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for block in all_blocks() {
        if block.lang != "json" {
            continue;
        }
        checked += 1;
        if block.fragment && block.text.contains('…') {
            continue;
        }
        // A block may hold one value or several (JSON lines).
        let stream =
            serde_json::Deserializer::from_str(&block.text).into_iter::<serde_json::Value>();
        for value in stream {
            if let Err(e) = value {
                failures.push(format!(
                    "{}: invalid JSON: {e} (mark a block that elides with `…` as `{FRAGMENT}`)",
                    block.at(e.line().saturating_sub(1))
                ));
                break;
            }
        }
    }
    assert!(checked > 5, "only {checked} JSON blocks found");
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// Splits a shell line into words, honouring quotes and `$(…)`, and stopping at the
/// end of the first command (`|`, `&&`, `||`, `;`, `>`, `<`, `#`).
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut chars = line.chars().peekable();
    let mut in_word = false;
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == c {
                        break;
                    }
                    word.push(q);
                }
            }
            '$' if chars.peek() == Some(&'(') => {
                in_word = true;
                let mut depth = 0;
                word.push('$');
                for s in chars.by_ref() {
                    word.push(s);
                    match s {
                        '(' => depth += 1,
                        ')' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '|' | '&' | ';' | '>' | '<' => break,
            '#' if !in_word => break,
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// The `flowspec …` commands of a shell block: (line offset in the block, words after
/// `flowspec`). A line ending in `\` continues on the next.
fn commands(block: &Block) -> Vec<(usize, Vec<String>)> {
    let mut out = Vec::new();
    let lines: Vec<&str> = block.text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let first = i;
        let mut line = lines[i].trim().to_owned();
        while line.ends_with('\\') && i + 1 < lines.len() {
            line.pop();
            i += 1;
            line.push(' ');
            line.push_str(lines[i].trim());
        }
        i += 1;
        let line = line.strip_prefix("$ ").unwrap_or(&line);
        if let Some(rest) = line.strip_prefix("flowspec ") {
            out.push((first, shell_words(rest)));
        }
    }
    out
}

/// `flowspec <words> --help`, cached.
struct Help {
    cache: HashMap<Vec<String>, Result<String, String>>,
    project: TestProject,
}

impl Help {
    fn of(&mut self, words: &[String]) -> Result<String, String> {
        if let Some(known) = self.cache.get(words) {
            return known.clone();
        }
        let (code, stdout, stderr) = run(self.project.cmd().args(words).arg("--help"));
        let answer = if code == 0 {
            Ok(stdout)
        } else {
            Err(stderr.trim().to_owned())
        };
        self.cache.insert(words.to_vec(), answer.clone());
        answer
    }
}

/// The subcommand names listed under `Commands:` in a help text.
pub(crate) fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| l.trim() != "Commands:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("        "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

/// `--flag` is listed in `help` (as `--flag`, followed by no more name characters).
fn help_lists_flag(help: &str, flag: &str) -> bool {
    help.match_indices(flag).any(|(at, _)| {
        let before = help[..at].chars().next_back();
        let after = help[at + flag.len()..].chars().next();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '-')
            && !after.is_some_and(|c| c.is_alphanumeric() || c == '-' || c == '_')
    })
}

/// The `` `flowspec …` `` code spans of the prose (outside fences) of `file`: (line,
/// words after `flowspec`). Usage brackets (`[--event TYPE]`, `ID|--failed`) are read as
/// the words they hold.
fn inline_commands(file: &str) -> Vec<(usize, Vec<String>)> {
    let text = std::fs::read_to_string(workspace_root().join(file)).expect("a doc file");
    let mut out = Vec::new();
    let mut in_fence = false;
    for (n, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        for (i, span) in line.split('`').enumerate() {
            if i % 2 == 1
                && let Some(rest) = span.strip_prefix("flowspec ")
            {
                let rest = rest.replace(['[', ']', '|'], " ");
                out.push((n + 1, shell_words(&rest)));
            }
        }
    }
    out
}

#[test]
fn every_flowspec_command_in_the_docs_exists_and_takes_its_flags() {
    let mut help = Help {
        cache: HashMap::new(),
        project: TestProject::empty(),
    };
    let top = help.of(&[]).expect("flowspec --help");
    let mut failures = Vec::new();
    let mut checked = 0;
    let mut shown: Vec<(String, Vec<String>)> = Vec::new();
    for block in all_blocks() {
        if matches!(block.lang.as_str(), "sh" | "console" | "bash" | "shell") {
            for (offset, words) in commands(&block) {
                shown.push((block.at(offset), words));
            }
        }
        // Usage lines (`flowspec serve [--bind ADDR]`) in text blocks.
        if block.lang == "text" {
            for (offset, line) in block.text.lines().enumerate() {
                if let Some(rest) = line.strip_prefix("flowspec ") {
                    let rest = rest.replace(['[', ']', '|'], " ");
                    shown.push((block.at(offset), shell_words(&rest)));
                }
            }
        }
    }
    for file in doc_files() {
        for (line, words) in inline_commands(&file) {
            shown.push((format!("{file}:{line}"), words));
        }
    }
    for (at, words) in shown {
        {
            checked += 1;
            let mut path: Vec<String> = Vec::new();
            let mut text = top.clone();
            let mut failed = false;
            for word in words.iter().take_while(|w| !w.starts_with('-')) {
                if !subcommands(&text).contains(word) {
                    break;
                }
                path.push(word.clone());
                match help.of(&path) {
                    Ok(t) => text = t,
                    Err(e) => {
                        failures.push(format!(
                            "{}: `flowspec {} --help` failed: {e}",
                            at,
                            path.join(" ")
                        ));
                        failed = true;
                        break;
                    }
                }
            }
            if failed {
                continue;
            }
            if path.is_empty() && !words.iter().all(|w| w.starts_with('-')) {
                failures.push(format!(
                    "{}: `flowspec {}`: no such command",
                    at,
                    words.join(" ")
                ));
                continue;
            }
            if let Some(next) = words.get(path.len())
                && !next.starts_with('-')
                && !matches!(next.as_str(), "..." | "…") // `flowspec ci …`: any of them
                && !subcommands(&text).is_empty()
            {
                failures.push(format!(
                    "{}: `{next}` is not a subcommand of `flowspec {}`",
                    at,
                    path.join(" ")
                ));
                continue;
            }
            for flag in words.iter().filter(|w| w.starts_with("--") && w.len() > 2) {
                let name = flag.split('=').next().unwrap();
                if !help_lists_flag(&text, name) {
                    failures.push(format!(
                        "{}: `flowspec {}` has no flag `{name}`",
                        at,
                        path.join(" ")
                    ));
                }
            }
        }
    }
    assert!(checked > 20, "only {checked} flowspec commands found");
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn the_docs_checker_reads_shell_words_and_flags_as_a_shell_would() {
    assert_eq!(
        shell_words(r#"ci report-status --sha $(git rev-parse --short HEAD) --state success"#),
        [
            "ci",
            "report-status",
            "--sha",
            "$(git rev-parse --short HEAD)",
            "--state",
            "success"
        ]
    );
    assert_eq!(
        shell_words(r#"emit --payload - < event.json # from a file"#),
        ["emit", "--payload", "-"]
    );
    assert_eq!(
        shell_words(r#"results parse 'a b.xml' --json | jq ."#),
        ["results", "parse", "a b.xml", "--json"]
    );
    assert!(help_lists_flag("  --run <ID>\n", "--run"));
    assert!(!help_lists_flag("  --run-id <ID>\n", "--run"));
    assert!(!help_lists_flag("  --no-run\n", "--run"));
}
