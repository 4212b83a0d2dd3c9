//! Several `flowspec serve` processes on one PostgreSQL store, started at the same
//! moment on an empty database.

use std::collections::HashMap;

use flowspec_core::testing::TempPostgres;

use crate::serve::{events_with_status_env, post_event, start_server_in};
use crate::{TestProject, wait_until};

#[test]
fn should_start_three_receivers_at_once_on_an_empty_postgres_and_run_each_event_once() {
    let db = TempPostgres::start();
    let p = TestProject::new(
        r#"
hooks:
  - name: record
    events: [shared.test]
    command: echo "$FLOWSPEC_EVENT_ID $FLOWSPEC_ATTEMPT" >> runs.txt
"#,
    );
    p.write(
        ".flowspec/flowspec.yaml",
        "state:\n  url: ${FLOWSPEC_STATE_URL}\n",
    );
    let url = db.url();

    // All three create the schema at the same moment: none may fail on another's
    // CREATE TABLE.
    let starting: Vec<_> = (0..3)
        .map(|_| {
            let (dir, url) = (p.path().to_owned(), url.clone());
            std::thread::spawn(move || start_server_in(&dir, 2, &[("FLOWSPEC_STATE_URL", &url)]))
        })
        .collect();
    let mut servers: Vec<_> = starting.into_iter().map(|s| s.join().unwrap()).collect();

    let mut accepted = Vec::new();
    for i in 0..60 {
        let id = format!("shared-{i}");
        let (_, addr) = &servers[i % servers.len()];
        let body = format!(r#"{{"event_type":"shared.test","event_id":"{id}"}}"#);
        assert_eq!(post_event(*addr, &body), 202, "event {id} accepted");
        accepted.push(id);
    }
    let runs = || {
        let mut count: HashMap<String, usize> = HashMap::new();
        for line in p.read("runs.txt").lines() {
            let id = line.split(' ').next().unwrap_or_default().to_owned();
            *count.entry(id).or_default() += 1;
        }
        count
    };
    wait_until("every accepted event ran its hook", || {
        runs().len() == accepted.len()
    });
    // Settled: nothing more runs once the queue is done.
    wait_until("the shared queue is done", || {
        events_with_status_env(&p, "done", &[("FLOWSPEC_STATE_URL", &url)]).len() == accepted.len()
    });
    for id in &accepted {
        assert_eq!(runs().get(id), Some(&1), "{id} ran once, by one receiver");
    }
    for (server, _) in &mut servers {
        server.kill().unwrap();
        server.wait().unwrap();
    }
}
