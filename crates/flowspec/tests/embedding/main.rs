//! What an embedder does with the facade, one module per facade module: each test opens
//! a temporary project and calls the library as the CLI or a bot would.

mod ci_steer;
mod events;
mod hooks;
mod init;
mod notify;
mod results;

use std::path::Path;

/// A temporary directory holding `files` (path, contents).
pub fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        write(dir.path(), path, text);
    }
    dir
}

/// Writes `text` at `relative` below `root`, creating folders.
pub fn write(root: &Path, relative: &str, text: &str) {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A JUnit report with one suite: (name, passed).
pub fn junit(cases: &[(&str, bool)]) -> String {
    let mut xml = String::from("<testsuite name=\"app\">");
    for (name, passed) in cases {
        xml.push_str(&format!(
            "<testcase classname=\"app.T\" name=\"{name}\" time=\"0.1\">"
        ));
        if !passed {
            xml.push_str(&format!(
                "<failure message=\"{name} broke\">at {name}</failure>"
            ));
        }
        xml.push_str("</testcase>");
    }
    xml + "</testsuite>"
}
