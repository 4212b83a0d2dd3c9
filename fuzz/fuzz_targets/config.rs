//! hooks.yaml and flowspec.yaml, loaded the way `flowspec` loads them: the first byte
//! chooses the file, the rest is its text. Errors are fine; panics, hangs and
//! unbounded memory are findings.
#![no_main]

use std::path::Path;

use flowspec_core::config::Vars;
use flowspec_core::settings::Settings;
use flowspec_core::spec::load::{LoadOptions, load_str};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let vars = Vars::default();
    if which % 2 == 0 {
        let factories = flowspec_core::action::builtin_factories();
        let handlers = Default::default();
        let options = LoadOptions {
            project_root: Path::new("/nonexistent-project"),
            vars: &vars,
            factories: &factories,
            handlers: &handlers,
        };
        if let Err(errors) = load_str(Path::new(".flowspec/hooks/hooks.yaml"), text, &options) {
            let _ = errors.render(false);
        }
        return;
    }
    let settings = match Settings::parse(Path::new(".flowspec/flowspec.yaml"), text) {
        Ok(settings) => settings,
        Err(errors) => {
            let _ = errors.render(false);
            return;
        }
    };
    let _ = flowspec_core::provider::config::CiSettings::from_settings(&settings)
        .map_err(|e| e.render(false));
    let _ = flowspec_server::ServerConfig::from_settings(&settings, &vars)
        .map_err(|e| e.render(false));
    let _ = flowspec_results::config::ResultsConfig::from_node(
        settings.section(flowspec_results::config::SECTION),
        Path::new(".flowspec/flowspec.yaml"),
        settings.text(),
    );
    let _ = flowspec_notify::config::load(&settings, &vars, &flowspec_notify::registry())
        .map_err(|e| e.render(false));
});
