//! Publishing: entries as subscribers and people read them, idempotent by event id.

use super::*;

async fn raw(redis: &TempRedis) -> redis::aio::MultiplexedConnection {
    redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

#[tokio::test]
async fn should_publish_events_in_order_with_their_id_type_and_json() {
    let redis = TempRedis::start();
    let transport = transport(&redis, "g", "c");
    let sent = events(3);
    let ids = transport.publish_events(&sent).await.unwrap();
    assert_eq!(ids.len(), 3);
    let mut conn = raw(&redis).await;
    let entries: Vec<Raw<Vec<u8>>> = redis::cmd("XRANGE")
        .arg("flowspec:events")
        .arg("-")
        .arg("+")
        .query_async(&mut conn)
        .await
        .unwrap();
    let got: Vec<&str> = entries.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(got, ids.iter().map(String::as_str).collect::<Vec<_>>());
    for ((_, fields), event) in entries.iter().zip(&sent) {
        let field = |name: &str| &fields.iter().find(|(n, _)| n == name).unwrap().1;
        assert_eq!(field("id"), event.id().as_str().as_bytes());
        assert_eq!(field("type"), b"build.completed");
        assert_eq!(
            Event::from_slice(field("event")).unwrap().data(),
            event.data()
        );
    }
}

#[tokio::test]
async fn should_publish_an_event_once_when_the_publication_is_retried() {
    let redis = TempRedis::start();
    let transport = transport(&redis, "g", "c");
    let event = events(1).remove(0);
    let first = transport
        .publish_events(std::slice::from_ref(&event))
        .await
        .unwrap();
    // A retry after a lost answer, in a batch with a new event.
    let mut batch = vec![event];
    batch.extend(events(1));
    let again = transport.publish_events(&batch).await.unwrap();
    assert_eq!(again[0], first[0], "the retried event keeps its entry");
    assert_ne!(again[1], first[0]);
    assert_eq!(transport.status(None).await.unwrap().length, 2);
}

#[tokio::test]
async fn should_say_the_server_is_unavailable_without_showing_the_password() {
    let redis = TempRedis::start();
    let port = redis.port();
    drop(redis);
    let url = format!("redis://:pw-not-to-show@127.0.0.1:{port}/0");
    let transport = RedisTransport::new(TransportConfig::new(&url).unwrap()).unwrap();
    let error = transport.publish_events(&events(1)).await.unwrap_err();
    assert!(error.is_unavailable(), "{error}");
    let text = error.to_string();
    assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
    assert!(!text.contains("pw-not-to-show"), "{text}");
    assert!(!format!("{error:?}").contains("pw-not-to-show"));
}

#[tokio::test]
async fn should_refuse_a_wrong_password_as_refused_not_unavailable() {
    let redis = TempRedis::start();
    let mut conn = raw(&redis).await;
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("requirepass")
        .arg("right-one")
        .query_async(&mut conn)
        .await
        .unwrap();
    let url = format!("redis://:wrong-one@127.0.0.1:{}/0", redis.port());
    let transport = RedisTransport::new(TransportConfig::new(&url).unwrap()).unwrap();
    let error = transport.publish_events(&events(1)).await.unwrap_err();
    assert!(
        !error.is_unavailable(),
        "waiting does not fix a password: {error}"
    );
    let text = error.to_string();
    assert!(!text.contains("wrong-one"), "{text}");
    assert!(text.to_lowercase().contains("pass"), "{text}");
}

#[tokio::test]
async fn should_report_an_empty_status_before_anything_was_published() {
    let redis = TempRedis::start();
    let status = transport(&redis, "g", "c").status(None).await.unwrap();
    assert_eq!(status.length, 0);
    assert!(status.groups.is_empty());
    assert_eq!(status.last_id, None);
    assert_eq!(status.dead_letter_stream, "flowspec:events:dead");
}
