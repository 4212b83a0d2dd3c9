//! Login with the dashboard token, sessions in memory, and CSRF tokens.
//!
//! A session is a random id in an `HttpOnly`, `SameSite=Strict` cookie scoped to
//! `/ui`; it carries its own random CSRF token, which every form sends back. Sessions
//! end at logout, after `session_ttl`, or when the process restarts.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, extract::Query};
use flowspec_core::secret::ExposeSecret;
use maud::html;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::BASE;
use crate::layout::{self, Page};
use crate::pages::State as AppState;

/// The session cookie's name.
pub(crate) const COOKIE: &str = "flowspec_session";
/// More sessions than this: the oldest go (only a holder of the token can make one).
const MAX_SESSIONS: usize = 1000;
/// A failed login waits this long before answering, so guessing is slow.
const FAILED_LOGIN_DELAY: Duration = Duration::from_millis(400);

/// The logged-in session of a request, put there by [`require_session`].
#[derive(Clone, Debug)]
pub(crate) struct Session {
    pub(crate) csrf: String,
}

struct Entry {
    csrf: String,
    expires: Instant,
}

/// The live sessions.
pub(crate) struct Sessions {
    ttl: Duration,
    entries: Mutex<HashMap<String, Entry>>,
}

impl Sessions {
    pub(crate) fn new(ttl: Duration) -> Sessions {
        Sessions {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// A new session: (id, csrf token).
    fn create(&self) -> (String, String) {
        let (id, csrf) = (random_token(), random_token());
        let now = Instant::now();
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|_, e| e.expires > now);
        if entries.len() >= MAX_SESSIONS
            && let Some(oldest) = entries
                .iter()
                .min_by_key(|(_, e)| e.expires)
                .map(|(k, _)| k.clone())
        {
            entries.remove(&oldest);
        }
        entries.insert(
            id.clone(),
            Entry {
                csrf: csrf.clone(),
                expires: now + self.ttl,
            },
        );
        (id, csrf)
    }

    fn get(&self, id: &str) -> Option<Session> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        match entries.get(id) {
            Some(e) if e.expires > Instant::now() => Some(Session {
                csrf: e.csrf.clone(),
            }),
            Some(_) => {
                entries.remove(id);
                None
            }
            None => None,
        }
    }

    fn remove(&self, id: &str) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }
}

/// 32 random bytes from the operating system, as hex.
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    // The OS generator failing is not something a dashboard can carry on without.
    getrandom::fill(&mut bytes).expect("the operating system's random generator works");
    hex::encode(bytes)
}

fn session_id(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
}

/// Whether a browser says the request comes from somewhere other than this origin:
/// `Sec-Fetch-Site` other than `same-origin` or `none` (typed, bookmarked), or, from a
/// browser without it, an `Origin` naming another host. Scripts without a browser send
/// neither; they still need the session cookie and its CSRF token.
fn cross_site(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return !matches!(site, "same-origin" | "none");
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        let origin_host = origin
            .split_once("://")
            .map_or(origin, |(_, rest)| rest)
            .trim_end_matches('/');
        return origin == "null" || Some(origin_host) != host;
    }
    false
}

/// Lets a request through with its [`Session`], or sends it to the login page (GET)
/// or refuses it (403, anything else). The login page and the assets are open.
pub(crate) async fn require_session(
    State(state): State<Arc<AppState>>,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if path == format!("{BASE}/login") || path.starts_with(&format!("{BASE}/assets/")) {
        return next.run(request).await;
    }
    let session = session_id(request.headers()).and_then(|id| state.sessions.get(id));
    match session {
        Some(session) => {
            request.extensions_mut().insert(session);
            next.run(request).await
        }
        None if request.method() == Method::GET => {
            let wanted = request
                .uri()
                .path_and_query()
                .map_or(BASE.to_owned(), |p| p.to_string());
            let next = crate::layout::query_value(&wanted);
            Redirect::to(&format!("{BASE}/login?next={next}")).into_response()
        }
        None => forbidden("log in first: this request has no dashboard session"),
    }
}

/// A 403 page.
pub(crate) fn forbidden(why: &str) -> Response {
    let page = Page::new("Refused").body(html! {
        h1 { "Refused" }
        p.error { (why) }
        p { a href={(BASE) "/login"} { "Log in" } }
    });
    (StatusCode::FORBIDDEN, page.render()).into_response()
}

/// The fields of a state-changing form: the CSRF token beside the form's own fields.
pub(crate) trait CsrfField {
    /// The `csrf` field as sent.
    fn csrf(&self) -> &str;
}

/// A form that passed the CSRF check: its token is the session's, and the browser
/// did not say it came from another site.
pub(crate) struct CsrfForm<T>(pub(crate) T);

impl<T, S> FromRequest<S> for CsrfForm<T>
where
    T: DeserializeOwned + CsrfField + Send,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if cross_site(request.headers()) {
            return Err(forbidden("a request from another site was refused"));
        }
        let Some(session) = request.extensions().get::<Session>().cloned() else {
            return Err(forbidden(
                "log in first: this request has no dashboard session",
            ));
        };
        let Form(form) = Form::<T>::from_request(request, state)
            .await
            .map_err(|e| (StatusCode::BAD_REQUEST, e.body_text()).into_response())?;
        if !flowspec_http::signature::tokens_equal(form.csrf(), &session.csrf) {
            return Err(forbidden(
                "the form's CSRF token is missing or stale: reload the page and try again",
            ));
        }
        Ok(CsrfForm(form))
    }
}

#[derive(Deserialize)]
pub(crate) struct LoginQuery {
    next: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    token: String,
    next: Option<String>,
}

/// Only paths of the dashboard are followed after login, never another site.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with(BASE) && !n.starts_with("//") && !n.contains("\\") => n.to_owned(),
        _ => format!("{BASE}/runs"),
    }
}

fn login_page(next: &str, error: Option<&str>) -> Page {
    Page::new("Log in").body(html! {
        main.login {
            h1 { "flowspec" }
            @if let Some(error) = error { p.error role="alert" { (error) } }
            form method="post" action={(BASE) "/login"} {
                input type="hidden" name="next" value=(next);
                label for="token" { "Dashboard token" }
                input #token type="password" name="token" autocomplete="current-password" required autofocus;
                button type="submit" { "Log in" }
            }
            p.hint { "The token is the value of " code { "server.dashboard.token" } " in flowspec.yaml." }
        }
    })
}

pub(crate) async fn login_form(Query(query): Query<LoginQuery>) -> Response {
    login_page(&safe_next(query.next.as_deref()), None)
        .render()
        .into_response()
}

pub(crate) async fn login(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let next = safe_next(form.next.as_deref());
    if cross_site(&headers) {
        return forbidden("a login from another site was refused");
    }
    let expected = state.settings.token.expose_secret();
    if !flowspec_http::signature::tokens_equal(&form.token, expected) {
        tokio::time::sleep(FAILED_LOGIN_DELAY).await;
        let page = login_page(&next, Some("That is not the dashboard token."));
        return (StatusCode::UNAUTHORIZED, page.render()).into_response();
    }
    let (id, _) = state.sessions.create();
    let mut response = Redirect::to(&next).into_response();
    let cookie = session_cookie(
        &id,
        state.settings.session_ttl,
        state.settings.secure_cookie,
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

fn session_cookie(id: &str, ttl: Duration, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{COOKIE}={id}; Path={BASE}; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        ttl.as_secs()
    )
}

#[derive(Deserialize)]
pub(crate) struct LogoutForm {
    csrf: String,
}

impl CsrfField for LogoutForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

pub(crate) async fn logout(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    CsrfForm(_): CsrfForm<LogoutForm>,
) -> Response {
    if let Some(id) = session_id(&headers) {
        state.sessions.remove(id);
    }
    let mut response = Redirect::to(&format!("{BASE}/login")).into_response();
    let cleared = format!("{COOKIE}=; Path={BASE}; HttpOnly; SameSite=Strict; Max-Age=0");
    if let Ok(value) = HeaderValue::from_str(&cleared) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    layout::no_store(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_expire_sessions_and_keep_their_csrf_token() {
        let sessions = Sessions::new(Duration::from_millis(50));
        let (id, csrf) = sessions.create();
        assert_eq!(id.len(), 64);
        assert_ne!(id, csrf);
        assert_eq!(sessions.get(&id).unwrap().csrf, csrf);
        std::thread::sleep(Duration::from_millis(80));
        assert!(sessions.get(&id).is_none(), "expired");
    }

    #[test]
    fn should_follow_only_dashboard_paths_after_login() {
        assert_eq!(
            safe_next(Some("/ui/events?status=dead")),
            "/ui/events?status=dead"
        );
        assert_eq!(safe_next(Some("https://evil.example/")), "/ui/runs");
        assert_eq!(safe_next(Some("//evil.example/ui")), "/ui/runs");
        assert_eq!(safe_next(None), "/ui/runs");
    }

    #[test]
    fn should_tell_cross_site_requests_apart() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(
            !cross_site(&headers),
            "no Origin: a form from an old browser"
        );
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8080"),
        );
        assert!(!cross_site(&headers));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(cross_site(&headers));
        headers.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(cross_site(&headers));
        let mut fetch = HeaderMap::new();
        fetch.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(cross_site(&fetch));
        fetch.insert("sec-fetch-site", HeaderValue::from_static("same-site"));
        assert!(
            cross_site(&fetch),
            "another port of the same host is another origin"
        );
        fetch.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        fetch.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(
            !cross_site(&fetch),
            "the browser's own word wins over a null Origin"
        );
    }

    #[test]
    fn should_write_a_strict_cookie() {
        let cookie = session_cookie("abc", Duration::from_secs(60), true);
        assert_eq!(
            cookie,
            "flowspec_session=abc; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=60; Secure"
        );
    }
}
