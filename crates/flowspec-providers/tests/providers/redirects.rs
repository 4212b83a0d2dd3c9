//! A CI API that answers with a redirect to another origin (a compromised or
//! misconfigured server, or a hijacked path): the credentials a provider sends (a
//! custom CI's `auth: {type: header}` key, its extra `headers:`, CircleCI's
//! `Circle-Token`) must never reach that origin.

use flowspec_core::provider::{CiProvider, ProviderErrorKind, RunId};
use flowspec_providers::circleci::CircleciProvider;
use flowspec_providers::custom::CustomProvider;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

/// Server A answers `from` with a redirect to the same path on server B.
async fn redirect_to_other_origin(from: &str) -> (MockServer, MockServer) {
    let (a, b) = (MockServer::start().await, MockServer::start().await);
    Mock::given(path(from))
        .respond_with(
            ResponseTemplate::new(307).insert_header("location", format!("{}{from}", b.uri())),
        )
        .mount(&a)
        .await;
    fallback(&b).await;
    (a, b)
}

#[tokio::test]
async fn should_not_send_a_custom_ci_header_key_or_extra_headers_to_a_redirected_origin() {
    let (a, b) = redirect_to_other_origin("/s/1").await;
    let yaml = format!(
        "trigger_url: {u}/t\nstatus_url: {u}/s/{{run_id}}\nauth: {{type: header, name: X-Api-Key, value: '${{CI_KEY}}'}}\nheaders: {{X-Team-Secret: team-s3cret}}\n",
        u = a.uri()
    );
    let provider = with_cx(&[("CI_KEY", "key-s3cret")], |cx| {
        CustomProvider::from_node(&node(&yaml), cx)
    })
    .unwrap()
    .with_http(fast_http());

    let err = provider.get_run(&RunId::new("1")).await.unwrap_err();

    assert_eq!(
        b.received_requests().await.unwrap().len(),
        0,
        "the redirect's origin received a request"
    );
    assert_eq!(err.kind(), ProviderErrorKind::InvalidRequest, "{err}");
    let text = err.to_string();
    assert!(text.contains(&format!("`{}`", b.uri())), "{text}");
    assert!(
        !text.contains("key-s3cret") && !text.contains("team-s3cret"),
        "{text}"
    );
}

#[tokio::test]
async fn should_not_send_the_circle_token_to_a_redirected_origin() {
    let pipeline = "5034460f-c7c4-4c43-9457-de07e2029e7b";
    let (a, b) = redirect_to_other_origin(&format!("/api/v2/pipeline/{pipeline}")).await;
    let yaml = format!(
        "api_url: {}/api/v2\nproject_slug: gh/acme/app\nbranch: main\n",
        a.uri()
    );
    let provider = with_cx(&[("CIRCLE_TOKEN", "circle-s3cret")], |cx| {
        CircleciProvider::from_node(&node(&yaml), cx)
    })
    .unwrap()
    .with_http(fast_http());

    let err = provider.get_run(&RunId::new(pipeline)).await.unwrap_err();

    assert_eq!(
        b.received_requests().await.unwrap().len(),
        0,
        "the redirect's origin received a request"
    );
    let text = err.to_string();
    assert!(text.contains(&format!("`{}`", b.uri())), "{text}");
    assert!(!text.contains("circle-s3cret"), "{text}");
}
