//! Hook-run overhead: N hooks of `/bin/true` through the engine (with the SQLite
//! idempotency store and the audit log, as in real use) versus spawning N `/bin/true`
//! directly — the physical limit. Also the same for `sh -c` hooks reading the payload.
//!
//! `cargo bench -p flowspec-core --bench hook_runs [-- N]`   (N defaults to 2000)
//! Goal: engine time ≤ 1.3 × direct spawning.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Instant;

use flowspec_core::{Engine, Event, HookSpec};

fn direct(n: usize, workers: usize, shell: bool, payload: &[u8]) -> f64 {
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                for _ in 0..n / workers {
                    let mut cmd = if shell {
                        let mut c = Command::new("/bin/sh");
                        c.args(["-c", "cat >/dev/null"]);
                        c
                    } else {
                        Command::new("/bin/true")
                    };
                    let mut child = cmd
                        .stdin(Stdio::piped())
                        .stdout(Stdio::piped())
                        .stderr(Stdio::piped())
                        .spawn()
                        .expect("spawn");
                    if let Some(mut stdin) = child.stdin.take() {
                        let _ = stdin.write_all(payload);
                    }
                    child.wait().expect("wait");
                }
            });
        }
    });
    n as f64 / started.elapsed().as_secs_f64()
}

async fn engine(n: usize, workers: usize, shell: bool, dir: Option<&std::path::Path>) -> f64 {
    let per_worker = n / workers;
    let mut builder = Engine::builder();
    if let Some(dir) = dir {
        builder = builder
            .state_path(dir.join(format!("state-{workers}-{shell}.db")))
            .audit_log(dir.join(format!("audit-{workers}-{shell}.log")));
    }
    for i in 0..per_worker {
        let hook = HookSpec::builder(format!("h{i}")).on("bench.run");
        let hook = if shell {
            hook.command("cat >/dev/null")
        } else {
            hook.script("/bin/true")
        };
        builder = builder.hook(hook.build().expect("hook"));
    }
    let engine = builder.build().await.expect("engine");
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let engine = engine.clone();
        tasks.push(tokio::spawn(async move {
            let event = Event::builder("bench.run")
                .feature("bench")
                .build()
                .expect("event");
            let report = engine.emit(event).await.expect("emit");
            assert!(report.failures().is_empty(), "{:?}", report.failures());
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    n as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(2000);
    let dir = tempfile::tempdir().expect("temp dir");
    let payload = Event::builder("bench.run")
        .feature("bench")
        .build()
        .expect("event")
        .to_vec();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    println!("{n} hook runs, payload {} bytes", payload.len());
    println!(
        "{:<34} {:>10} {:>10} {:>7} {:>16}",
        "case", "direct/s", "engine/s", "ratio", "no store/audit/s"
    );
    for (label, workers, shell) in [
        ("/bin/true, 1 worker", 1, false),
        ("/bin/true, 2 workers", 2, false),
        ("sh -c reading stdin, 1 worker", 1, true),
        ("sh -c reading stdin, 2 workers", 2, true),
    ] {
        // Warm up both paths once.
        direct(50, workers, shell, &payload);
        let d = direct(n, workers, shell, &payload);
        let e = runtime.block_on(engine(n, workers, shell, Some(dir.path())));
        let bare = runtime.block_on(engine(n, workers, shell, None));
        println!(
            "{label:<34} {d:>10.0} {e:>10.0} {:>6.2}× {bare:>16.0}",
            d / e
        );
    }
}
