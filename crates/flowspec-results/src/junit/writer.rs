//! Writing the normalized model back as JUnit XML (Surefire's flavour, with
//! `flakyFailure`/`rerunFailure` for reruns).

use std::io::{self, Write};

use crate::model::{Status, TestCase};

/// One `<testsuite>` to write.
#[derive(Clone, Copy, Debug)]
pub struct WriteSuite<'a> {
    /// The suite's name.
    pub name: &'a str,
    /// Its test cases.
    pub cases: &'a [TestCase],
}

/// Writes `<testsuites>` with one `<testsuite>` per entry.
///
/// ```
/// use flowspec_results::junit::{WriteSuite, write};
/// use flowspec_results::model::TestCase;
///
/// let cases = [TestCase::new("math", "adds")];
/// let mut xml = Vec::new();
/// write(&mut xml, &[WriteSuite { name: "math", cases: &cases }])?;
/// assert!(String::from_utf8(xml).unwrap().contains(r#"<testcase name="adds""#));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn write(mut out: impl Write, suites: &[WriteSuite<'_>]) -> io::Result<()> {
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(out, "<testsuites>")?;
    for suite in suites {
        let failures = suite
            .cases
            .iter()
            .filter(|c| c.status == Status::Failed)
            .count();
        let errors = suite
            .cases
            .iter()
            .filter(|c| c.status == Status::Error)
            .count();
        let skipped = suite
            .cases
            .iter()
            .filter(|c| c.status == Status::Skipped)
            .count();
        writeln!(
            out,
            r#"  <testsuite name="{}" tests="{}" failures="{failures}" errors="{errors}" skipped="{skipped}">"#,
            attr(suite.name),
            suite.cases.len()
        )?;
        for case in suite.cases {
            write_case(&mut out, case)?;
        }
        writeln!(out, "  </testsuite>")?;
    }
    writeln!(out, "</testsuites>")
}

fn write_case(out: &mut impl Write, case: &TestCase) -> io::Result<()> {
    write!(out, r#"    <testcase name="{}""#, attr(&case.name))?;
    if let Some(classname) = &case.classname {
        write!(out, r#" classname="{}""#, attr(classname))?;
    }
    if let Some(time) = case.time {
        write!(out, r#" time="{time}""#)?;
    }
    if let Some(file) = &case.file {
        write!(out, r#" file="{}""#, attr(file))?;
    }
    if let Some(line) = case.line {
        write!(out, r#" line="{line}""#)?;
    }
    writeln!(out, ">")?;
    if !case.properties.is_empty() {
        writeln!(out, "      <properties>")?;
        for p in &case.properties {
            writeln!(
                out,
                r#"        <property name="{}" value="{}"/>"#,
                attr(&p.name),
                attr(&p.value)
            )?;
        }
        writeln!(out, "      </properties>")?;
    }
    if let Some(failure) = &case.failure {
        let element = failure.kind.as_str();
        write!(out, "      <{element}")?;
        if let Some(message) = &failure.message {
            write!(out, r#" message="{}""#, attr(message))?;
        }
        if let Some(kind) = &failure.failure_type {
            write!(out, r#" type="{}""#, attr(kind))?;
        }
        writeln!(
            out,
            ">{}</{element}>",
            text(failure.stack.as_deref().unwrap_or(""))
        )?;
    }
    if case.status == Status::Skipped {
        match &case.skip_message {
            Some(message) => writeln!(out, r#"      <skipped message="{}"/>"#, attr(message))?,
            None => writeln!(out, "      <skipped/>")?,
        }
    }
    for rerun in &case.reruns {
        let element = rerun.kind.element();
        write!(out, "      <{element}")?;
        if let Some(message) = &rerun.message {
            write!(out, r#" message="{}""#, attr(message))?;
        }
        if let Some(kind) = &rerun.failure_type {
            write!(out, r#" type="{}""#, attr(kind))?;
        }
        write!(out, ">")?;
        if let Some(stack) = &rerun.stack {
            write!(out, "<stackTrace>{}</stackTrace>", text(stack))?;
        }
        writeln!(out, "</{element}>")?;
    }
    if let Some(output) = &case.system_out {
        writeln!(out, "      <system-out>{}</system-out>", text(output))?;
    }
    if let Some(output) = &case.system_err {
        writeln!(out, "      <system-err>{}</system-err>", text(output))?;
    }
    writeln!(out, "    </testcase>")
}

fn attr(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
    out
}

fn text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
    out
}
