//! HTTP of the OpenID Connect provider and of staff single sign-on.
//!
//! Protocol endpoints ([`router`], not JSON API, outside `/api/v1`):
//! - `GET /.well-known/openid-configuration` — discovery (OpenID Connect Discovery §4);
//! - `GET /oidc/jwks` — the `oidc` keys: active and retired-but-published (RFC 7517);
//! - `GET /oidc/authorize` — checks the request; with a signed-in provider session
//!   (cookie `oc_oidc_session`, path `/oidc`) it redirects with a code at once, otherwise it
//!   shows the sign-in form (zh and en, phone width); an unknown client or redirect URI
//!   shows an error page and never redirects;
//! - `POST /oidc/authorize` — the form: CSRF token (double submit: hidden field = cookie
//!   `oc_oidc_csrf`, `SameSite=Strict`), then the ordinary password login (throttling
//!   included), then the code redirect;
//! - `POST /oidc/token` — code → tokens; errors as RFC 6749 §5.2 JSON `{"error", …}`;
//! - `GET|POST /oidc/userinfo` — claims for a Bearer access token (RFC 6750 errors);
//! - `GET /auth/oidc/login`, `GET /auth/oidc/callback` — staff single sign-on through an
//!   external provider (see [`crate::sso`]).
//!
//! Admin API ([`api_routes`], platform admins): `/api/v1/oidc/clients`,
//! `/api/v1/oidc/clients/{client_id}`, `/api/v1/keys`, `/api/v1/keys/rotate`.

use crate::http::{Auth, ClientAddr};
use crate::keystore::{KeyInfo, PURPOSE_OIDC};
use crate::oidc::{
    AuthorizeFailure, AuthorizeParams, ClientView, NewClient, TokenForm, ValidAuthorize,
};
use crate::Iam;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::Engine;
use onecity_core::{Error, ErrorCode, Problem};
use onecity_http::{ApiResult, Json, Path, Query};
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

/// Cookie holding the provider's sign-in session (a session token), path `/oidc`.
pub const SESSION_COOKIE: &str = "oc_oidc_session";
/// Cookie holding the sign-in form's CSRF token, path `/oidc`.
pub const CSRF_COOKIE: &str = "oc_oidc_csrf";

/// The protocol endpoints (state: [`Iam`]).
pub fn router(iam: Iam) -> Router {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/oidc/jwks", get(jwks))
        .route("/oidc/authorize", get(authorize_get).post(authorize_post))
        .route("/oidc/token", axum::routing::post(token))
        .route("/oidc/userinfo", get(userinfo).post(userinfo))
        .route("/auth/oidc/login", get(crate::sso::login_route))
        .route("/auth/oidc/callback", get(crate::sso::callback_route))
        .route("/auth/oidc/config", get(crate::sso::config_route))
        .with_state(iam)
}

/// The admin API (state: [`Iam`]).
pub fn api_routes() -> OpenApiRouter<Iam> {
    OpenApiRouter::new()
        .routes(routes!(list_clients, create_client))
        .routes(routes!(revoke_client))
        .routes(routes!(list_keys))
        .routes(routes!(rotate_key))
}

async fn discovery(State(iam): State<Iam>) -> Response {
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        axum::Json(iam.oidc_discovery()),
    )
        .into_response()
}

async fn jwks(State(iam): State<Iam>) -> Response {
    let keys = match iam.keystore() {
        Ok(ks) => ks.jwks(PURPOSE_OIDC).await,
        Err(e) => Err(e),
    };
    match keys {
        Ok(v) => (
            [(header::CACHE_CONTROL, "public, max-age=60")],
            axum::Json(v),
        )
            .into_response(),
        Err(e) => onecity_http::problem_response(&e),
    }
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn secure_flag(iam: &Iam) -> &'static str {
    if iam.issuer().starts_with("https://") {
        "; Secure"
    } else {
        ""
    }
}

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

const STYLE: &str = "body{font-family:system-ui,'Noto Sans CJK SC',sans-serif;margin:0;background:#f4f6f8;color:#1d2a36}\
main{max-width:420px;margin:0 auto;padding:24px 16px}h1{font-size:1.3rem}\
label{display:block;margin:12px 0 4px}input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:10px;font-size:1rem}\
button{margin-top:16px;width:100%;padding:12px;font-size:1rem;background:#1f5fa8;color:#fff;border:0;border-radius:4px}\
.err{background:#fde8e8;color:#8a1c1c;padding:10px;border-radius:4px}.app{color:#555}";

fn page(
    status: StatusCode,
    title: &str,
    body: &str,
    extra: &[(header::HeaderName, String)],
) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body><main>{body}</main></body></html>",
        esc(title)
    );
    let mut r = (status, html).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
        ),
    );
    for (k, v) in extra {
        if let Ok(v) = HeaderValue::from_str(v) {
            h.append(k.clone(), v);
        }
    }
    r
}

fn error_page(e: &Error) -> Response {
    let status = StatusCode::from_u16(e.code.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let generic;
    let e = if e.code == ErrorCode::Internal {
        // Internal details stay in the log, never on the page.
        tracing::error!(error = %e, "oidc sign-in page failed");
        generic = Error::new(ErrorCode::Internal, onecity_core::GENERIC_5XX_DETAIL);
        &generic
    } else {
        e
    };
    page(
        status,
        "登录失败 Sign-in error",
        &format!(
            "<h1>无法登录 Cannot sign in</h1><p class=\"err\" id=\"error\" data-code=\"{}\">{}</p>\
             <p>请返回原应用重试。Go back to the application and try again.</p>",
            esc(e.code.code()),
            esc(&e.detail)
        ),
        &[],
    )
}

fn redirect(location: &str, cookies: &[String]) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    r
}

fn sign_in_form(
    iam: &Iam,
    req: &ValidAuthorize,
    q: &AuthorizeParams,
    message: Option<&str>,
    status: StatusCode,
) -> Response {
    let mut csrf = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut csrf);
    let csrf = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(csrf);
    let hidden: String = [
        ("response_type", q.response_type.as_deref()),
        ("client_id", q.client_id.as_deref()),
        ("redirect_uri", q.redirect_uri.as_deref()),
        ("scope", q.scope.as_deref()),
        ("state", q.state.as_deref()),
        ("nonce", q.nonce.as_deref()),
        ("code_challenge", q.code_challenge.as_deref()),
        ("code_challenge_method", q.code_challenge_method.as_deref()),
    ]
    .iter()
    .filter_map(|(k, v)| {
        v.map(|v| format!("<input type=\"hidden\" name=\"{k}\" value=\"{}\">", esc(v)))
    })
    .collect();
    let msg = message
        .map(|m| format!("<p class=\"err\" id=\"error\">{}</p>", esc(m)))
        .unwrap_or_default();
    let body = format!(
        "<h1>登录 onecity · Sign in</h1><p class=\"app\">应用 Application: <strong>{}</strong></p>{msg}\
         <form method=\"post\" action=\"/oidc/authorize\">{hidden}\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <label for=\"username\">用户名 Username</label><input type=\"text\" id=\"username\" name=\"username\" autocomplete=\"username\" required maxlength=\"256\">\
         <label for=\"password\">密码 Password</label><input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required maxlength=\"1024\">\
         <button type=\"submit\">登录 Sign in</button></form>",
        esc(&req.client_name)
    );
    page(
        status,
        "登录 Sign in",
        &body,
        &[(
            header::SET_COOKIE,
            format!(
                "{CSRF_COOKIE}={csrf}; Path=/oidc; HttpOnly; SameSite=Strict; Max-Age=1800{}",
                secure_flag(iam)
            ),
        )],
    )
}

async fn authorize_get(
    State(iam): State<Iam>,
    headers: HeaderMap,
    q: Result<axum::extract::Query<AuthorizeParams>, QueryRejection>,
) -> Response {
    let Ok(axum::extract::Query(q)) = q else {
        return error_page(&Error::new(
            ErrorCode::InvalidQuery,
            "the authorization request's parameters are malformed",
        ));
    };
    let req = match iam.check_authorize(&q).await {
        Ok(r) => r,
        Err(AuthorizeFailure::Page(e)) => return error_page(&e),
        Err(AuthorizeFailure::Redirect(loc)) => return redirect(&loc, &[]),
    };
    if req.prompt.as_deref() != Some("login") {
        if let Some(tok) = cookie(&headers, SESSION_COOKIE) {
            if let Ok(p) = iam.session_principal(tok).await {
                return match iam.issue_code(&req, &p).await {
                    Ok(loc) => redirect(&loc, &[]),
                    Err(e) => error_page(&e),
                };
            }
        }
    }
    if req.prompt.as_deref() == Some("none") {
        return redirect(
            &iam.authorize_error(&req, "login_required", "the user is not signed in"),
            &[],
        );
    }
    sign_in_form(&iam, &req, &q, None, StatusCode::OK)
}

/// The sign-in form's fields: the authorization request plus the credentials.
#[derive(Debug, Deserialize)]
struct AuthorizeForm {
    #[serde(flatten)]
    params: AuthorizeParams,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

async fn authorize_post(
    State(iam): State<Iam>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    form: Result<axum::Form<AuthorizeForm>, FormRejection>,
) -> Response {
    let Ok(axum::Form(f)) = form else {
        return error_page(&Error::new(
            ErrorCode::MalformedBody,
            "the sign-in form is malformed",
        ));
    };
    let req = match iam.check_authorize(&f.params).await {
        Ok(r) => r,
        Err(AuthorizeFailure::Page(e)) => return error_page(&e),
        Err(AuthorizeFailure::Redirect(loc)) => return redirect(&loc, &[]),
    };
    let cookie_csrf = cookie(&headers, CSRF_COOKIE).unwrap_or("");
    if f.csrf.len() < 32 || !crate::oidc_http::ct_eq(f.csrf.as_bytes(), cookie_csrf.as_bytes()) {
        return sign_in_form(
            &iam,
            &req,
            &f.params,
            Some("表单已过期，请重试。The form expired or was not sent by this page; please try again."),
            StatusCode::FORBIDDEN,
        );
    }
    if f.username.is_empty() || f.username.len() > 256 || f.password.len() > 1024 {
        return sign_in_form(
            &iam,
            &req,
            &f.params,
            Some("用户名或密码错误。Username or password is wrong."),
            StatusCode::UNAUTHORIZED,
        );
    }
    let token = match iam.login(&f.username, &f.password, addr).await {
        Ok(crate::mfa::LoginOutcome::Session { token, .. }) => token,
        Ok(_) => {
            // The provider's form has no second step yet: an account that needs a second
            // factor cannot sign other applications in through it.
            return sign_in_form(
                &iam,
                &req,
                &f.params,
                Some("此账号需要第二因素认证，暂不能经此页面登录其他应用。This account needs a second factor, which this sign-in page does not offer yet."),
                StatusCode::FORBIDDEN,
            );
        }
        Err(e) => {
            let (msg, status) = match e.code {
                ErrorCode::InvalidCredentials => (
                    "用户名或密码错误。Username or password is wrong.",
                    StatusCode::UNAUTHORIZED,
                ),
                ErrorCode::LoginThrottled => (
                    "失败次数过多，请稍后再试。Too many failed sign-ins; try again later.",
                    StatusCode::TOO_MANY_REQUESTS,
                ),
                ErrorCode::LoginBusy => (
                    "系统繁忙，请稍后再试。Busy; try again in a second.",
                    StatusCode::SERVICE_UNAVAILABLE,
                ),
                _ => return error_page(&e),
            };
            let mut r = sign_in_form(&iam, &req, &f.params, Some(msg), status);
            if let Some(s) = e.retry_after {
                if let Ok(v) = HeaderValue::from_str(&s.to_string()) {
                    r.headers_mut().insert(header::RETRY_AFTER, v);
                }
            }
            return r;
        }
    };
    let p = match iam.session_principal(&token).await {
        Ok(p) => p,
        Err(e) => return error_page(&e),
    };
    match iam.issue_code(&req, &p).await {
        Ok(loc) => redirect(
            &loc,
            &[
                format!(
                    "{SESSION_COOKIE}={token}; Path=/oidc; HttpOnly; SameSite=Lax; Max-Age={}{}",
                    iam.config().token_ttl_secs,
                    secure_flag(&iam)
                ),
                format!("{CSRF_COOKIE}=; Path=/oidc; HttpOnly; SameSite=Strict; Max-Age=0"),
            ],
        ),
        Err(e) => error_page(&e),
    }
}

pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn oauth_error(e: &Error, basic_used: bool) -> Response {
    metrics::counter!("onecity_oidc_token_refused_total", "code" => e.code.code()).increment(1);
    let (status, code) = match e.code {
        ErrorCode::InvalidClient => (StatusCode::UNAUTHORIZED, "invalid_client"),
        ErrorCode::InvalidGrant => (StatusCode::BAD_REQUEST, "invalid_grant"),
        ErrorCode::SigningKeyUnavailable => {
            (StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable")
        }
        c if c.status() >= 500 => (StatusCode::INTERNAL_SERVER_ERROR, "server_error"),
        _ => (StatusCode::BAD_REQUEST, "invalid_request"),
    };
    let detail = if status.is_server_error() {
        onecity_core::GENERIC_5XX_DETAIL.to_string()
    } else {
        e.detail.clone()
    };
    if status.is_server_error() {
        tracing::error!(error = %e, "oidc token endpoint failed");
    }
    let mut r = (
        status,
        axum::Json(serde_json::json!({"error": code, "error_description": detail})),
    )
        .into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if basic_used && status == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"onecity\""),
        );
    }
    r
}

fn basic_credentials(headers: &HeaderMap) -> Option<Option<(String, String)>> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let rest = v
        .strip_prefix("Basic ")
        .or_else(|| v.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok());
    // RFC 6749 §2.3.1: id and secret are form-urlencoded before joining.
    let pair = decoded.and_then(|d| {
        let (id, secret) = d.split_once(':')?;
        let dec = |s: &str| {
            form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
        };
        Some((dec(id)?, dec(secret)?))
    });
    Some(pair)
}

async fn token(
    State(iam): State<Iam>,
    headers: HeaderMap,
    form: Result<axum::Form<TokenForm>, FormRejection>,
) -> Response {
    let basic = basic_credentials(&headers);
    let basic_used = basic.is_some();
    let basic = match basic {
        Some(None) => {
            return oauth_error(
                &Error::new(
                    ErrorCode::InvalidClient,
                    "the Basic credentials are malformed",
                ),
                true,
            )
        }
        Some(Some(p)) => Some(p),
        None => None,
    };
    let Ok(axum::Form(f)) = form else {
        return oauth_error(
            &Error::invalid("send application/x-www-form-urlencoded parameters, each once"),
            basic_used,
        );
    };
    if f.grant_type.as_deref() != Some("authorization_code") {
        let mut r = oauth_error(
            &Error::invalid("only grant_type=authorization_code is supported"),
            basic_used,
        );
        *r.body_mut() = axum::body::Body::from(
            serde_json::json!({"error": "unsupported_grant_type", "error_description": "only grant_type=authorization_code is supported"}).to_string(),
        );
        return r;
    }
    match iam.exchange_code(&f, basic).await {
        Ok(t) => (
            [
                (header::CACHE_CONTROL, "no-store"),
                (header::PRAGMA, "no-cache"),
            ],
            axum::Json(t),
        )
            .into_response(),
        Err(e) => oauth_error(&e, basic_used),
    }
}

async fn userinfo(State(iam): State<Iam>, headers: HeaderMap) -> Response {
    let challenge = |error: &str, status: StatusCode| {
        let mut r = (status, axum::Json(serde_json::json!({"error": error}))).into_response();
        if let Ok(v) = HeaderValue::from_str(&format!("Bearer error=\"{error}\"")) {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        r
    };
    let tok = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    let Some(tok) = tok else {
        let mut r = StatusCode::UNAUTHORIZED.into_response();
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return r;
    };
    match iam.oidc_userinfo(tok).await {
        Ok(v) => ([(header::CACHE_CONTROL, "no-store")], axum::Json(v)).into_response(),
        Err(e) if e.code == ErrorCode::InvalidCredentials => {
            challenge("invalid_token", StatusCode::UNAUTHORIZED)
        }
        Err(e) => onecity_http::problem_response(&e),
    }
}

/// Register an OpenID Connect client (platform admins). The answer holds the client secret
/// of a confidential client, shown only here.
#[utoipa::path(post, path = "/api/v1/oidc/clients", tag = "iam", request_body = NewClient,
    responses((status = 201, body = ClientView), (status = 403, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
async fn create_client(
    State(iam): State<Iam>,
    Auth(p): Auth,
    Json(n): Json<NewClient>,
) -> ApiResult<(StatusCode, Json<ClientView>)> {
    Ok((
        StatusCode::CREATED,
        Json(iam.create_oidc_client(&p, &n).await?),
    ))
}

/// The registered OpenID Connect clients (platform admins; no secrets).
#[utoipa::path(get, path = "/api/v1/oidc/clients", tag = "iam",
    responses((status = 200, body = Vec<ClientView>), (status = 403, body = Problem)), security(("bearer" = [])))]
async fn list_clients(State(iam): State<Iam>, Auth(p): Auth) -> ApiResult<Json<Vec<ClientView>>> {
    Ok(Json(iam.list_oidc_clients(&p).await?))
}

/// Revoke an OpenID Connect client (platform admins).
#[utoipa::path(delete, path = "/api/v1/oidc/clients/{client_id}", tag = "iam",
    params(("client_id" = String, Path, description = "client id")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)), security(("bearer" = [])))]
async fn revoke_client(
    State(iam): State<Iam>,
    Auth(p): Auth,
    Path(client_id): Path<String>,
) -> ApiResult<StatusCode> {
    iam.revoke_oidc_client(&p, &client_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Filter of the key list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KeyQuery {
    /// Only this purpose (e.g. `oidc`).
    pub purpose: Option<String>,
}

/// The platform's signing keys (platform admins; public data only).
#[utoipa::path(get, path = "/api/v1/keys", tag = "iam", params(KeyQuery),
    responses((status = 200, body = Vec<KeyInfo>), (status = 403, body = Problem), (status = 503, body = Problem)), security(("bearer" = [])))]
async fn list_keys(
    State(iam): State<Iam>,
    Auth(p): Auth,
    Query(q): Query<KeyQuery>,
) -> ApiResult<Json<Vec<KeyInfo>>> {
    Ok(Json(iam.list_signing_keys(&p, q.purpose.as_deref()).await?))
}

/// Rotation request.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateRequest {
    /// The purpose whose key to rotate, e.g. `oidc`.
    pub purpose: String,
}

/// Rotate a signing key (platform admins): the active key is retired (still published for
/// the grace period) and a new one signs from now on.
#[utoipa::path(post, path = "/api/v1/keys/rotate", tag = "iam", request_body = RotateRequest,
    responses((status = 200, body = KeyInfo), (status = 403, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem)), security(("bearer" = [])))]
async fn rotate_key(
    State(iam): State<Iam>,
    Auth(p): Auth,
    Json(r): Json<RotateRequest>,
) -> ApiResult<Json<KeyInfo>> {
    Ok(Json(iam.rotate_signing_key(&p, &r.purpose).await?))
}
