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

/// Lines of `runs.txt`: `start|end <event id> <attempt> <receiver pid>`.
fn run_lines(p: &TestProject) -> Vec<(String, String, u32, u32)> {
    p.read("runs.txt")
        .lines()
        .filter_map(|line| {
            let mut parts = line.split(' ');
            Some((
                parts.next()?.to_owned(),
                parts.next()?.to_owned(),
                parts.next()?.parse().ok()?,
                parts.next()?.parse().ok()?,
            ))
        })
        .collect()
}

#[test]
fn should_lose_nothing_when_one_of_three_receivers_is_killed_under_load() {
    let db = TempPostgres::start();
    let p = TestProject::new(
        r#"
hooks:
  - name: record
    events: [shared.test]
    command: |
      echo "start $FLOWSPEC_EVENT_ID $FLOWSPEC_ATTEMPT $PPID" >> runs.txt
      sleep 0.3
      echo "end $FLOWSPEC_EVENT_ID $FLOWSPEC_ATTEMPT $PPID" >> runs.txt
"#,
    );
    p.write(
        ".flowspec/flowspec.yaml",
        "state:\n  url: ${FLOWSPEC_STATE_URL}\nserver:\n  lease: 3s\n",
    );
    let url = db.url();
    let env = [("FLOWSPEC_STATE_URL", url.as_str())];
    let mut servers: Vec<_> = (0..3).map(|_| start_server_in(p.path(), 2, &env)).collect();
    let victim = servers[0].0.id();

    // Load all three at once.
    let post_all =
        |servers: &[(std::process::Child, std::net::SocketAddr)], from: usize, to: usize| {
            let addrs: Vec<_> = servers.iter().map(|(_, a)| *a).collect();
            let posters: Vec<_> = addrs
                .iter()
                .enumerate()
                .map(|(n, addr)| {
                    let addr = *addr;
                    let count = addrs.len();
                    std::thread::spawn(move || {
                        (from..to)
                            .filter(|i| i % count == n)
                            .map(|i| {
                                let id = format!("load-{i}");
                                let body =
                                    format!(r#"{{"event_type":"shared.test","event_id":"{id}"}}"#);
                                assert_eq!(post_event(addr, &body), 202, "{id} accepted");
                                id
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            posters
                .into_iter()
                .flat_map(|t| t.join().unwrap())
                .collect::<Vec<_>>()
        };
    let mut accepted = post_all(&servers, 0, 60);

    // Kill the first receiver while it runs a hook.
    wait_until("the first receiver is running a hook", || {
        let lines = run_lines(&p);
        lines.iter().any(|(what, id, _, pid)| {
            what == "start"
                && *pid == victim
                && !lines
                    .iter()
                    .any(|(w, i, _, q)| w == "end" && i == id && *q == victim)
        })
    });
    let (mut killed, _) = servers.remove(0);
    killed.kill().unwrap(); // SIGKILL
    killed.wait().unwrap();
    let in_flight: Vec<String> = {
        let lines = run_lines(&p);
        lines
            .iter()
            .filter(|(what, id, _, pid)| {
                what == "start"
                    && *pid == victim
                    && !lines
                        .iter()
                        .any(|(w, i, _, q)| w == "end" && i == id && *q == victim)
            })
            .map(|(_, id, _, _)| id.clone())
            .collect()
    };
    // The others keep taking load.
    accepted.extend(post_all(&servers, 60, 90));

    wait_until("every accepted event is done", || {
        events_with_status_env(&p, "done", &env).len() == accepted.len()
    });
    let lines = run_lines(&p);
    let mut reruns = 0;
    for id in &accepted {
        let starts: Vec<_> = lines
            .iter()
            .filter(|(what, i, _, _)| what == "start" && i == id)
            .collect();
        let survivors: Vec<_> = starts
            .iter()
            .filter(|(_, _, _, pid)| *pid != victim)
            .collect();
        assert!(
            survivors.len() <= 1,
            "{id} ran more than once after the kill: {starts:?}"
        );
        match starts.as_slice() {
            [(_, _, attempt, _)] => assert_eq!(*attempt, 1, "{id} ran once, as attempt 1"),
            [first, again] => {
                reruns += 1;
                assert_eq!(
                    first.3, victim,
                    "{id}: only the killed receiver's runs are redone"
                );
                assert!(
                    in_flight.contains(id),
                    "{id} ran again but was not in flight"
                );
                assert!(
                    again.2 > 1,
                    "{id} ran again flagged FLOWSPEC_ATTEMPT > 1: {starts:?}"
                );
            }
            other => panic!("{id} started {} times: {other:?}", other.len()),
        }
    }
    assert!(
        reruns >= 1,
        "the hook the killed receiver was running ran again"
    );
    assert!(
        reruns <= 2,
        "at most its two workers' events ran again, not {reruns}"
    );
    for (server, _) in &mut servers {
        server.kill().unwrap();
        server.wait().unwrap();
    }
}

#[test]
fn should_hold_max_concurrent_per_key_across_receivers() {
    let db = TempPostgres::start();
    let p = TestProject::new(
        r#"
hooks:
  - name: deploy
    events: [deploy.requested]
    max_concurrent: 1
    concurrency_key: environment
    command: |
      env=$(echo "$FLOWSPEC_EVENT_ID" | cut -d- -f1)
      echo "start $env" >> deploys.txt
      sleep 0.1
      echo "end $env" >> deploys.txt
"#,
    );
    p.write(
        ".flowspec/flowspec.yaml",
        "state:\n  url: ${FLOWSPEC_STATE_URL}\n",
    );
    let url = db.url();
    let env = [("FLOWSPEC_STATE_URL", url.as_str())];
    let mut servers: Vec<_> = (0..3).map(|_| start_server_in(p.path(), 4, &env)).collect();
    let mut posted = 0;
    for i in 0..24 {
        let environment = if i % 2 == 0 { "staging" } else { "production" };
        let body = format!(
            r#"{{"event_type":"deploy.requested","event_id":"{environment}-{i}","environment":"{environment}"}}"#
        );
        assert_eq!(post_event(servers[i % 3].1, &body), 202);
        posted += 1;
    }
    wait_until("every deploy is done", || {
        events_with_status_env(&p, "done", &env).len() == posted
    });
    let log = p.read("deploys.txt");
    for environment in ["staging", "production"] {
        let mut running = 0;
        let mut ran = 0;
        for line in log.lines().filter(|l| l.ends_with(environment)) {
            if line.starts_with("start") {
                running += 1;
                ran += 1;
                assert_eq!(running, 1, "two deploys to {environment} at once:\n{log}");
            } else {
                running -= 1;
            }
        }
        assert_eq!(ran, 12, "every deploy to {environment} ran once:\n{log}");
    }
    for (server, _) in &mut servers {
        server.kill().unwrap();
        server.wait().unwrap();
    }
}
