use super::*;

async fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(&dir.path().join("state/flowspec.db"))
        .await
        .unwrap();
    (dir, store)
}

/// Claims `hook` for `event_id` (which must be free) and records `status`.
async fn run_once(store: &Store, event_id: &str, hook: &str, status: HookStatus) {
    let Claim::Run(token) = store
        .claim(event_id, hook, Duration::from_secs(30), false)
        .await
        .unwrap()
    else {
        panic!("the first claim of {event_id} runs")
    };
    store.finish(&token, status, Some(0)).await.unwrap();
}

#[tokio::test]
async fn should_share_one_connection_between_clones_and_refuse_use_after_close() {
    let (_dir, store) = store().await;
    let clone = store.clone();
    let claim = store
        .claim("e1", "h", Duration::from_secs(30), false)
        .await
        .unwrap();
    let Claim::Run(token) = claim else {
        panic!("the first claim runs: {claim:?}")
    };
    clone
        .finish(&token, HookStatus::Success, Some(0))
        .await
        .unwrap();
    assert_eq!(store.hook_runs("e1").await.unwrap()[0].status, "success");
    store.close().await;
    let err = clone.hook_runs("e1").await.unwrap_err();
    assert!(
        matches!(err, StoreError::Query(sqlx::Error::PoolClosed)),
        "{err}"
    );
}

#[tokio::test]
async fn should_run_once_then_skip_after_success() {
    let (_dir, store) = store().await;
    let lease = Duration::from_secs(30);
    let Claim::Run(token) = store.claim("e1", "h", lease, false).await.unwrap() else {
        panic!("first claim must run")
    };
    assert_eq!(token.attempt, 1);
    store
        .finish(&token, HookStatus::Success, Some(0))
        .await
        .unwrap();
    assert_eq!(
        store.claim("e1", "h", lease, false).await.unwrap(),
        Claim::AlreadySucceeded
    );
    let Claim::Run(forced) = store.claim("e1", "h", lease, true).await.unwrap() else {
        panic!("--force must run")
    };
    assert_eq!(forced.attempt, 2);
}

#[tokio::test]
async fn should_retry_after_a_failure_with_the_next_attempt() {
    let (_dir, store) = store().await;
    let lease = Duration::from_secs(30);
    let Claim::Run(token) = store.claim("e1", "h", lease, false).await.unwrap() else {
        panic!()
    };
    store
        .finish(&token, HookStatus::Failed, Some(1))
        .await
        .unwrap();
    let Claim::Run(again) = store.claim("e1", "h", lease, false).await.unwrap() else {
        panic!()
    };
    assert_eq!(again.attempt, 2);
    let runs = store.hook_runs("e1").await.unwrap();
    assert_eq!(runs[0].status, "running");
    assert_eq!(runs[0].attempt, 2);
}

#[tokio::test]
async fn should_take_over_a_claim_whose_owner_died() {
    let (dir, store) = store().await;
    // A claim left behind by a process that no longer exists on this host.
    let dead = format!("{}|{}|deadbeef", hostname(), i32::MAX - 7);
    sqlx::query("INSERT INTO hook_runs (event_id, hook_name, status, attempt, owner, lease_until, started_at) VALUES ('e', 'h', 'running', 1, $1, $2, 0)")
        .bind(dead)
        .bind(now_ms() + 60_000)
        .execute(&store.pool)
        .await
        .unwrap();
    let Claim::Run(token) = store
        .claim("e", "h", Duration::from_secs(5), false)
        .await
        .unwrap()
    else {
        panic!("a dead owner's claim must be taken over")
    };
    assert_eq!(token.attempt, 2);
    drop(dir);
}

#[tokio::test]
async fn should_wait_for_a_live_claim_and_report_its_result() {
    let (_dir, store) = store().await;
    let lease = Duration::from_secs(30);
    let Claim::Run(token) = store.claim("e", "h", lease, false).await.unwrap() else {
        panic!()
    };
    // A second process (same store, another owner id) claims while we run.
    let mut other = store.clone();
    other.owner = Owner {
        id: "otherhost|1|x".to_owned(),
        host: "otherhost".into(),
        pid: 1,
    };
    let waiter = tokio::spawn(async move { other.claim("e", "h", lease, false).await.unwrap() });
    // Finish only once the other process has seen the run and waits for it.
    store.claim_waits.notified().await;
    store
        .finish(&token, HookStatus::Failed, Some(2))
        .await
        .unwrap();
    assert_eq!(
        waiter.await.unwrap(),
        Claim::RanElsewhere(HookStatus::Failed)
    );
}

#[tokio::test]
async fn should_open_a_store_under_a_path_with_non_ascii_letters_spaces_and_url_characters() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("prüf").join("a b#c?d%41 ünï");
    let path = dir.join(".flowspec/state/flowspec.db");
    let store = Store::open_sqlite(&path).await.unwrap();
    run_once(&store, "e", "h", HookStatus::Success).await;
    store.close().await;
    assert!(path.is_file(), "the database is at {}", path.display());
    // Nothing else was created beside the project: no mojibake directory.
    let entries: Vec<_> = std::fs::read_dir(root.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(entries, ["prüf"]);
    let state: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| !name.starts_with("flowspec.db"))
        .collect();
    assert!(state.is_empty(), "{state:?}");
    // Reopened, the same file holds the run.
    let again = Store::open_sqlite(&path).await.unwrap();
    assert_eq!(
        again
            .claim("e", "h", Duration::from_secs(30), false)
            .await
            .unwrap(),
        Claim::AlreadySucceeded
    );
}

#[test]
fn should_percent_encode_every_byte_that_is_not_plain_ascii_in_sqlite_urls() {
    assert_eq!(
        sqlite_url(Path::new("/tmp/x/prüf/a b#?%.db")),
        "sqlite:///tmp/x/pr%C3%BCf/a%20b%23%3F%25.db?mode=rwc"
    );
}

#[tokio::test]
async fn should_tell_a_held_lock_from_other_errors_by_its_code() {
    use sqlx::ConnectOptions;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("locks.db");
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true)
        .busy_timeout(Duration::ZERO);
    let mut holder = options.connect().await.unwrap();
    holder
        .execute("CREATE TABLE t (x INTEGER); BEGIN EXCLUSIVE")
        .await
        .unwrap();
    let mut other = options.connect().await.unwrap();
    let busy = other.execute("INSERT INTO t VALUES (1)").await.unwrap_err();
    assert!(is_busy(Backend::Sqlite, &busy), "{busy}");
    let syntax = other.execute("INSERT INTO").await.unwrap_err();
    assert!(!is_busy(Backend::Sqlite, &syntax), "{syntax}");
    assert!(!is_busy(Backend::Sqlite, &sqlx::Error::PoolClosed));
    holder.execute("COMMIT").await.unwrap();
    other.execute("INSERT INTO t VALUES (1)").await.unwrap();
}

#[tokio::test]
async fn should_tell_live_and_gone_owners_on_this_host_by_their_pid() {
    let (_dir, store) = store().await;
    let owner = |pid: &str| format!("{}|{pid}|abc", store.owner.host);
    // 0 and below would address process groups, 1 is init: only the lease decides.
    for pid in ["0", "-1", "1"] {
        assert!(store.owner_alive(&owner(pid)), "{pid}");
    }
    assert!(!store.owner_alive(&owner(&(i32::MAX - 7).to_string())));
    let parent = std::os::unix::process::parent_id().to_string();
    assert!(store.owner_alive(&owner(&parent)));
    // Our pid with another nonce: a process before us that died.
    assert!(!store.owner_alive(&owner(&std::process::id().to_string())));
    assert!(store.owner_alive(store.owner_id()));
    assert!(store.owner_alive(&format!("elsewhere|{}|abc", i32::MAX - 7)));
}

#[test]
fn should_redact_passwords_in_urls() {
    assert_eq!(redact_url("postgres://u:pw@db/x"), "postgres://u:***@db/x");
}

#[tokio::test]
async fn should_take_over_a_claim_of_another_machine_once_its_lease_ran_out() {
    let (_dir, store) = store().await;
    // A receiver on another machine took the hook and then stopped renewing.
    let lease_until = now_ms() + 300;
    sqlx::query("INSERT INTO hook_runs (event_id, hook_name, status, attempt, owner, lease_until, started_at) VALUES ('e', 'h', 'running', 1, 'elsewhere|4242|abc', $1, 0)")
        .bind(lease_until)
        .execute(&store.pool)
        .await
        .unwrap();
    let Claim::Run(token) = store
        .claim("e", "h", Duration::from_secs(5), false)
        .await
        .unwrap()
    else {
        panic!("an expired lease must be taken over")
    };
    assert!(now_ms() >= lease_until, "taken over only after the lease");
    assert_eq!(token.attempt, 2, "the hook runs again as attempt 2");
}

#[tokio::test]
async fn should_renew_the_leases_this_process_holds_and_no_others() {
    let (_dir, store) = store().await;
    store.use_renewed_leases(Duration::from_secs(2));
    let Claim::Run(_token) = store
        .claim("e", "h", Duration::from_secs(3600), false)
        .await
        .unwrap()
    else {
        panic!("first claim runs")
    };
    let lease_of = |owner_is_me: bool| {
        let store = store.clone();
        async move {
            let sql = if owner_is_me {
                "SELECT lease_until FROM hook_runs WHERE owner = $1"
            } else {
                "SELECT lease_until FROM hook_runs WHERE owner <> $1"
            };
            sqlx::query_scalar::<_, i64>(sql)
                .bind(store.owner_id().to_owned())
                .fetch_one(&mut *store.conn().await.unwrap())
                .await
                .unwrap()
        }
    };
    // The claim lasts the renewed lease, not the hook's whole run.
    assert!(lease_of(true).await <= now_ms() + 2_000);
    sqlx::query("INSERT INTO hook_runs (event_id, hook_name, status, attempt, owner, lease_until, started_at) VALUES ('e2', 'h', 'running', 1, 'elsewhere|1|x', 5, 0)")
        .execute(&store.pool)
        .await
        .unwrap();
    let slot = store
        .acquire_slot("deploy", "staging", 1, Duration::from_secs(3600))
        .await
        .unwrap();
    let before = now_ms();
    assert_eq!(
        store.renew_leases().await.unwrap(),
        2,
        "the claim and the slot"
    );
    assert!(lease_of(true).await >= before + 2_000);
    assert_eq!(
        lease_of(false).await,
        5,
        "another owner's lease is left alone"
    );
    assert!(
        store
            .lease_state()
            .renewed_at
            .is_some_and(|at| at >= before)
    );
    assert!(!store.lease_state().lapsed(now_ms()));
    assert!(store.lease_state().lapsed(now_ms() + 60_000));
    store.release_slot(slot).await.unwrap();
}

#[tokio::test]
async fn should_hold_a_concurrency_slot_until_released_or_its_holder_is_gone() {
    let (_dir, store) = store().await;
    let slots = |key: &'static str| {
        let store = store.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM hook_slots WHERE key_value = $1")
                .bind(key)
                .fetch_one(&mut *store.conn().await.unwrap())
                .await
                .unwrap()
        }
    };
    // A live receiver on another machine holds the one staging slot.
    sqlx::query("INSERT INTO hook_slots (hook_name, key_value, slot, owner, lease_until) VALUES ('deploy', 'staging', 0, 'elsewhere|4242|abc', $1)")
        .bind(now_ms() + 3_600_000)
        .execute(&store.pool)
        .await
        .unwrap();
    let waiting = tokio::time::timeout(
        Duration::from_millis(300),
        store.acquire_slot("deploy", "staging", 1, Duration::from_secs(60)),
    )
    .await;
    assert!(waiting.is_err(), "staging is taken: the deploy waits");
    // Another key, and a wider limit, are free.
    let production = store
        .acquire_slot("deploy", "production", 1, Duration::from_secs(60))
        .await
        .unwrap();
    let second = store
        .acquire_slot("deploy", "staging", 2, Duration::from_secs(60))
        .await
        .unwrap();
    store.release_slot(second).await.unwrap();
    store.release_slot(production).await.unwrap();
    assert_eq!(slots("production").await, 0, "released slots are gone");
    // The holder dies (same host, pid gone): its slot is taken over at once.
    let dead = format!("{}|{}|deadbeef", hostname(), i32::MAX - 7);
    sqlx::query("UPDATE hook_slots SET owner = $1 WHERE key_value = 'staging'")
        .bind(dead)
        .execute(&store.pool)
        .await
        .unwrap();
    let taken = store
        .acquire_slot("deploy", "staging", 1, Duration::from_secs(60))
        .await
        .unwrap();
    drop(taken);
    // Dropped without release (a cancelled run): freed in the background.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while slots("staging").await > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "a dropped slot is freed"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn should_reopen_a_current_store_and_still_serve_every_kind_of_statement() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state/flowspec.db");
    let first = Store::open_sqlite(&path).await.unwrap();
    first.close().await;

    // Reopened on the quick path: in-line claims, then statements through sqlx,
    // then a component's first migration, all on the same file.
    let store = Store::open_sqlite(&path).await.unwrap();
    let held = store
        .held
        .clone()
        .expect("an SQLite store holds a connection");
    assert!(
        matches!(*held.lock().await, Held::Unopened),
        "a current file opens without sqlx's connection"
    );
    run_once(&store, "e", "h", HookStatus::Failed).await;
    assert!(
        matches!(*held.lock().await, Held::Unopened),
        "claims and results run in-line"
    );
    let runs = store.hook_runs("e").await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, "failed");
    assert!(
        matches!(*held.lock().await, Held::Open(_)),
        "opened when asked for"
    );
    const NOTES: &[migrate::Migration] = &[&["CREATE TABLE notes (id TEXT PRIMARY KEY)"]];
    assert_eq!(store.migrate("notes", NOTES).await.unwrap(), 1);
    sqlx::query("INSERT INTO notes (id) VALUES ($1)")
        .bind("n1")
        .execute(&mut *store.conn().await.unwrap())
        .await
        .unwrap();
    store.close().await;
    assert!(
        store.conn().await.is_err(),
        "a closed store refuses statements"
    );

    // A newer schema than this build knows is refused, not skipped by the quick path.
    let store = Store::open_sqlite(&path).await.unwrap();
    sqlx::query(
        "INSERT INTO flowspec_schema (component, version, applied_at) VALUES ('hooks', 99, 0)",
    )
    .execute(&mut *store.conn().await.unwrap())
    .await
    .unwrap();
    store.close().await;
    let error = Store::open_sqlite(&path).await.unwrap_err().to_string();
    assert!(error.contains("99"), "{error}");
}

#[tokio::test]
async fn should_leave_an_empty_wal_after_a_checkpoint_and_keep_every_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state/flowspec.db");
    let store = Store::open_sqlite(&path).await.unwrap();
    store.use_long_wal();
    for i in 0..200 {
        run_once(&store, &format!("e{i}"), "h", HookStatus::Success).await;
    }
    let wal = path.with_file_name("flowspec.db-wal");
    assert!(
        std::fs::metadata(&wal).unwrap().len() > 0,
        "commits went to the WAL"
    );
    store.checkpoint().await.unwrap();
    assert_eq!(
        std::fs::metadata(&wal).unwrap().len(),
        0,
        "the WAL is truncated"
    );
    store.close().await;
    let again = Store::open_sqlite(&path).await.unwrap();
    assert_eq!(
        again
            .claim("e199", "h", Duration::from_secs(30), false)
            .await
            .unwrap(),
        Claim::AlreadySucceeded
    );
}

#[cfg(not(feature = "postgres"))]
#[tokio::test]
async fn should_name_the_postgres_feature_for_a_postgres_url_without_it() {
    let err = Store::open("postgres://app:secret@db.example/flowspec")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("enable the crate feature `postgres`"), "{err}");
    assert!(!err.contains("secret"), "{err}");
}
