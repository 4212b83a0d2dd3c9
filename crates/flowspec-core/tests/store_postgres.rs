//! The store against a real PostgreSQL server: the same code as SQLite.

use std::time::Duration;

use flowspec_core::HookStatus;
use flowspec_core::store::{Backend, Claim, Store};
use flowspec_core::testing::TempPostgres;

async fn open(url: &str) -> Store {
    // The server may accept TCP a moment before it accepts logins.
    for _ in 0..50 {
        if let Ok(store) = Store::open(url).await {
            return store;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Store::open(url).await.expect("open the PostgreSQL store")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_keep_idempotency_state_in_postgres() {
    let server = TempPostgres::start();
    let store = open(&server.url()).await;
    assert_eq!(store.backend(), Backend::Postgres);
    let lease = Duration::from_secs(30);

    let Claim::Run(token) = store.claim("e1", "deploy", lease, false).await.unwrap() else {
        panic!("the first claim runs")
    };
    store
        .finish(&token, HookStatus::Failed, Some(2))
        .await
        .unwrap();
    let Claim::Run(retry) = store.claim("e1", "deploy", lease, false).await.unwrap() else {
        panic!("a failed hook runs again")
    };
    assert_eq!(retry.attempt, 2);
    store
        .finish(&retry, HookStatus::Success, Some(0))
        .await
        .unwrap();

    // A second server process sharing the database sees the success.
    let other = open(&server.url()).await;
    assert_eq!(
        other.claim("e1", "deploy", lease, false).await.unwrap(),
        Claim::AlreadySucceeded
    );
    let runs = other.hook_runs("e1").await.unwrap();
    assert_eq!(
        (runs[0].status.as_str(), runs[0].attempt, runs[0].exit_code),
        ("success", 2, Some(0))
    );
    store.close().await;
    other.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_create_the_schema_once_when_many_processes_open_an_empty_database_at_once() {
    let server = TempPostgres::start();
    drop(open(&server.url()).await); // the server accepts logins; the schema exists now
    // A fresh database on the same server, opened by eight stores at the same moment.
    let admin = open(&server.url()).await;
    sqlx::query("CREATE DATABASE racing")
        .execute(admin.pool())
        .await
        .unwrap();
    let url = server.url().rsplit_once('/').unwrap().0.to_owned() + "/racing";
    let opening: Vec<_> = (0..8)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { Store::open(&url).await })
        })
        .collect();
    for store in opening {
        let store = store
            .await
            .unwrap()
            .expect("every concurrent open succeeds");
        store.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_refuse_a_schema_written_by_a_newer_flowspec() {
    let server = TempPostgres::start();
    let store = open(&server.url()).await;
    const V2: &[flowspec_core::store::migrate::Migration] = &[
        &["CREATE TABLE IF NOT EXISTS notes (id TEXT PRIMARY KEY)"],
        &["ALTER TABLE notes ADD COLUMN body TEXT"],
    ];
    assert_eq!(store.migrate("notes", V2).await.unwrap(), 2);
    assert_eq!(
        store.migrate("notes", V2).await.unwrap(),
        2,
        "nothing runs twice"
    );
    let error = store
        .migrate("notes", &V2[..1])
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("version 2, newer than the 1") && error.contains("upgrade flowspec"),
        "{error}"
    );
    store.close().await;
}
