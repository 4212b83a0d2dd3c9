//! `flowspec serve` with `server.dashboard` serves the dashboard under /ui/ beside the
//! receiver; `flowspec dashboard` refuses to start without a token and says what to add.
//! (The pages themselves are tested in a browser in crates/flowspec-dashboard.)

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use crate::serve::start_server_with;
use crate::{TestProject, run};

/// One HTTP/1.1 request; the whole response as text.
fn http(addr: SocketAddr, request: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn should_serve_the_dashboard_beside_the_receiver_behind_a_login() {
    let p = TestProject::new("hooks: []\n");
    p.write(
        ".flowspec/flowspec.yaml",
        "server:\n  dashboard:\n    token: ${DASH_TOKEN}\n",
    );
    let (mut child, addr) = start_server_with(&p, 1, &[("DASH_TOKEN", "open-sesame-123")]);
    let get = |path: &str| {
        http(
            addr,
            &format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
        )
    };
    let runs = get("/ui/runs");
    assert!(runs.starts_with("HTTP/1.1 303"), "{runs}");
    assert!(
        runs.contains("location: /ui/login?next=%2Fui%2Fruns"),
        "{runs}"
    );
    assert!(
        get("/healthz").starts_with("HTTP/1.1 200"),
        "the receiver still answers"
    );

    let login = |token: &str| {
        let body = format!("token={token}");
        http(
            addr,
            &format!(
                "POST /ui/login HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            ),
        )
    };
    let refused = login("wrong");
    assert!(refused.starts_with("HTTP/1.1 401"), "{refused}");
    assert!(
        !refused.contains("open-sesame-123"),
        "the token never shows"
    );
    let accepted = login("open-sesame-123");
    assert!(accepted.starts_with("HTTP/1.1 303"), "{accepted}");
    let cookie = accepted
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .expect("a session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let session = cookie.split(';').next().unwrap();
    let events = http(
        addr,
        &format!(
            "GET /ui/events HTTP/1.1\r\nHost: {addr}\r\nCookie: {session}\r\nConnection: close\r\n\r\n"
        ),
    );
    assert!(events.starts_with("HTTP/1.1 200"), "{events}");
    assert!(
        events.contains("content-security-policy: default-src 'none'"),
        "{events}"
    );
    assert!(events.contains("<h1>Events</h1>"), "{events}");

    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn should_refuse_to_serve_the_dashboard_without_a_token_and_say_what_to_add() {
    let p = TestProject::new("hooks: []\n");
    let (code, _, err) = run(p.cmd().args(["dashboard", "--bind", "127.0.0.1:0"]));
    assert_eq!(code, 6, "{err}");
    assert!(
        err.contains("the dashboard is off") && err.contains("FLOWSPEC_DASHBOARD_TOKEN"),
        "{err}"
    );

    p.write(
        ".flowspec/flowspec.yaml",
        "server:\n  dashboard:\n    token: ${DASH_TOKEN}\n",
    );
    let (code, _, err) = run(p.cmd().args(["dashboard"]).env("DASH_TOKEN", ""));
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("would be open"), "{err}");
}
