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
