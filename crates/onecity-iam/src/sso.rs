//! Staff single sign-on: onecity as an OpenID Connect relying party (OpenID Connect Core
//! §3.1, authorization code flow with PKCE S256) of a city's directory, Keycloak or another
//! onecity.
//!
//! `GET /auth/oidc/login` stores a pending sign-in (state, nonce, PKCE verifier; 10 minutes;
//! the state is kept as SHA-256 only) and redirects to the provider's authorization
//! endpoint (from its discovery document, whose `issuer` must equal the configured one).
//! `GET /auth/oidc/callback` takes the pending sign-in by its state (once), exchanges the
//! code, and verifies the ID token with `jsonwebtoken` against the provider's JWKS (ES256 or
//! RS256 only; `kid` must be in the JWKS, fetched again once when unknown): signature,
//! `iss`, `aud` = our client id, `exp` (30 s leeway), `nonce`. The staff principal is found
//! by `<issuer> <sub>` (never by user name), created or updated (name, e-mail,
//! department), and its grants are replaced by the configured claim mapping; no mapping
//! matched = refused. Then a session token is issued as by a password login, and the
//! browser goes to `/login#sso_token=…` (the console keeps it), or JSON `{token,
//! expires_at}` answers a caller that accepts only `application/json`. Audited as
//! `auth.sso_login` / `auth.sso_failed`.

use crate::{Iam, Role};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use onecity_core::{Error, ErrorCode, Result};
use onecity_store::audit::AuditEntry;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};

/// How long a pending sign-in waits for its callback.
pub const PENDING_SECS: i64 = 600;

/// One claim value mapped to a role (and optionally a department).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleMapping {
    /// The claim value (an element of an array claim, or the string claim itself).
    pub value: String,
    /// `tenant_admin`, `staff` or `auditor`.
    pub role: String,
    /// Department code in the tenant.
    pub department: Option<String>,
}

/// Parses `value=role[@DEPARTMENT],…`, e.g. `roads-team=staff@ROADS,it-admins=tenant_admin`.
/// Error: `invalid_input` naming the bad entry.
pub fn parse_role_map(text: &str) -> Result<Vec<RoleMapping>> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|entry| {
            let (value, rest) = entry.split_once('=').ok_or_else(|| {
                Error::invalid(format!(
                    "sso_role_map: {entry:?} is not value=role[@DEPARTMENT]"
                ))
            })?;
            let (role, dept) = match rest.split_once('@') {
                Some((r, d)) => (r.trim(), Some(d.trim().to_string())),
                None => (rest.trim(), None),
            };
            match Role::parse(role) {
                Some(Role::PlatformAdmin) | None => Err(Error::invalid(format!(
                    "sso_role_map: {role:?} must be tenant_admin, staff or auditor"
                ))),
                Some(_) => Ok(RoleMapping {
                    value: value.trim().to_string(),
                    role: role.to_string(),
                    department: dept.filter(|d| !d.is_empty()),
                }),
            }
        })
        .collect()
}

/// Settings of staff single sign-on.
#[derive(Debug, Clone)]
pub struct SsoConfig {
    /// The provider's issuer URL (discovery at `<issuer>/.well-known/openid-configuration`).
    pub issuer: String,
    /// Our client id there.
    pub client_id: String,
    /// Our client secret there (`None`: a public client, PKCE only).
    pub client_secret: Option<String>,
    /// Our callback URL as registered there, `<base>/auth/oidc/callback`.
    pub redirect_url: String,
    /// The tenant whose staff sign in this way.
    pub tenant: String,
    /// The claim giving the user name (default `preferred_username`).
    pub username_claim: String,
    /// The claim mapped to roles: a string or an array of strings (default `groups`).
    pub role_claim: String,
    /// The mapping; a user none of whose values is mapped is refused.
    pub role_map: Vec<RoleMapping>,
    /// The sign-in button's label (default `统一身份认证 Single sign-on`).
    pub label: String,
}

/// What the provider published (cached for 10 minutes).
#[derive(Debug, Clone)]
pub struct ProviderInfo {
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    jwks: jsonwebtoken::jwk::JwkSet,
    fetched: Instant,
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
}

fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

fn random_b64(n: usize) -> String {
    let mut b = vec![0u8; n];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut b);
    URL_SAFE_NO_PAD.encode(b)
}

fn failed(why: impl Into<String>) -> Error {
    Error::new(ErrorCode::SsoFailed, why)
}

fn unavailable(why: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorCode::SsoUnavailable,
        format!("the identity provider cannot be used: {why}"),
    )
}

fn http() -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(Error::internal)
}

async fn get_json<T: serde::de::DeserializeOwned>(url: &str) -> Result<T> {
    let r = http()?
        .get(url)
        .header(header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(unavailable)?;
    if !r.status().is_success() {
        return Err(unavailable(format!("{url} answered {}", r.status())));
    }
    r.json().await.map_err(unavailable)
}

impl Iam {
    fn sso(&self) -> Result<&SsoConfig> {
        self.inner.cfg.sso.as_ref().ok_or_else(|| {
            Error::new(
                ErrorCode::SsoNotConfigured,
                "single sign-on is not configured on this server (sso_issuer)",
            )
        })
    }

    async fn provider(&self, force_jwks: bool) -> Result<ProviderInfo> {
        let cfg = self.sso()?;
        let mut cache = self.inner.sso_cache.lock().await;
        if let Some(p) = cache.as_mut() {
            if p.fetched.elapsed() < Duration::from_secs(600) {
                if force_jwks {
                    p.jwks = get_json(&p.jwks_uri).await?;
                }
                return Ok(p.clone());
            }
        }
        let url = format!(
            "{}/.well-known/openid-configuration",
            cfg.issuer.trim_end_matches('/')
        );
        let d: Discovery = get_json(&url).await?;
        if d.issuer != cfg.issuer {
            return Err(unavailable(format!(
                "its discovery document names issuer {:?}, not the configured {:?}",
                d.issuer, cfg.issuer
            )));
        }
        let jwks = get_json(&d.jwks_uri).await?;
        let info = ProviderInfo {
            authorization_endpoint: d.authorization_endpoint,
            token_endpoint: d.token_endpoint,
            jwks_uri: d.jwks_uri,
            jwks,
            fetched: Instant::now(),
        };
        *cache = Some(info.clone());
        Ok(info)
    }

    /// Starts a single sign-on: stores the pending sign-in and returns the provider's
    /// authorization URL. Errors: `sso_not_configured`, `sso_unavailable`.
    pub async fn sso_start(&self) -> Result<String> {
        let cfg = self.sso()?;
        let p = self.provider(false).await?;
        let (state, nonce, verifier) = (random_b64(32), random_b64(32), random_b64(32));
        let now = onecity_core::time::now_micros();
        let mut tx = self.inner.db.begin().await?;
        crate::store::oidc::purge_rp_logins(&mut tx, now).await?;
        crate::store::oidc::insert_rp_login(
            &mut tx,
            &sha256_hex(&state),
            &nonce,
            &verifier,
            now,
            now + PENDING_SECS * 1_000_000,
        )
        .await?;
        tx.commit().await?;
        let mut q = form_urlencoded::Serializer::new(String::new());
        q.append_pair("response_type", "code")
            .append_pair("client_id", &cfg.client_id)
            .append_pair("redirect_uri", &cfg.redirect_url)
            .append_pair("scope", "openid profile email")
            .append_pair("state", &state)
            .append_pair("nonce", &nonce)
            .append_pair("code_challenge", &crate::oidc::pkce_s256(&verifier))
            .append_pair("code_challenge_method", "S256");
        let sep = if p.authorization_endpoint.contains('?') {
            '&'
        } else {
            '?'
        };
        Ok(format!("{}{sep}{}", p.authorization_endpoint, q.finish()))
    }

    /// Finishes a single sign-on (see the module docs) and returns a session token
    /// `(token, expires_at)`. Errors: `sso_failed` (unknown, used or expired state, an ID
    /// token that does not verify, no mapped role), `sso_unavailable`.
    pub async fn sso_finish(&self, code: &str, state: &str) -> Result<(String, i64)> {
        let result = self.sso_finish_inner(code, state).await;
        if let Err(e) = &result {
            if e.code == ErrorCode::SsoFailed {
                let after = serde_json::json!({"reason": e.detail});
                let mut tx = self.inner.db.begin().await?;
                self.record(
                    &mut tx,
                    &AuditEntry {
                        tenant: self
                            .sso()
                            .map(|c| c.tenant.as_str())
                            .unwrap_or(crate::SYSTEM_TENANT),
                        actor: "anonymous",
                        action: "auth.sso_failed",
                        resource_type: "principal",
                        resource_id: "",
                        after: Some(&after),
                        ..Default::default()
                    },
                    None,
                )
                .await?;
                tx.commit().await?;
            }
        }
        result
    }

    async fn sso_finish_inner(&self, code: &str, state: &str) -> Result<(String, i64)> {
        let cfg = self.sso()?.clone();
        if state.is_empty() || state.len() > 200 || code.is_empty() || code.len() > 2000 {
            return Err(failed("the callback lacks a code or state"));
        }
        let pending = crate::store::oidc::take_rp_login(&self.inner.db, &sha256_hex(state))
            .await?
            .ok_or_else(|| failed("unknown or already used sign-in state"))?;
        if pending.expires_at <= onecity_core::time::now_micros() {
            return Err(failed(
                "the sign-in took longer than 10 minutes; start again",
            ));
        }
        let p = self.provider(false).await?;
        let mut req = http()?.post(&p.token_endpoint).form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &cfg.redirect_url),
            ("code_verifier", &pending.code_verifier),
            ("client_id", &cfg.client_id),
        ]);
        if let Some(secret) = &cfg.client_secret {
            let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            req = req.basic_auth(enc(&cfg.client_id), Some(enc(secret)));
        }
        let r = req.send().await.map_err(unavailable)?;
        let status = r.status();
        let body: serde_json::Value = r.json().await.map_err(unavailable)?;
        if !status.is_success() {
            return Err(failed(format!(
                "the provider refused the code: {}",
                body["error"].as_str().unwrap_or("error")
            )));
        }
        let id_token = body["id_token"]
            .as_str()
            .ok_or_else(|| failed("the provider sent no id_token"))?;
        let claims = self.verify_id_token(&cfg, id_token, &pending.nonce).await?;
        self.sso_principal(&cfg, &claims).await
    }

    async fn verify_id_token(
        &self,
        cfg: &SsoConfig,
        id_token: &str,
        nonce: &str,
    ) -> Result<serde_json::Value> {
        use jsonwebtoken::{Algorithm, DecodingKey, Validation};
        let header = jsonwebtoken::decode_header(id_token)
            .map_err(|_| failed("the ID token is not a JWT"))?;
        if !matches!(header.alg, Algorithm::ES256 | Algorithm::RS256) {
            return Err(failed("the ID token is not signed with ES256 or RS256"));
        }
        let kid = header
            .kid
            .clone()
            .ok_or_else(|| failed("the ID token has no kid"))?;
        let mut p = self.provider(false).await?;
        if p.jwks.find(&kid).is_none() {
            p = self.provider(true).await?;
        }
        let jwk = p
            .jwks
            .find(&kid)
            .ok_or_else(|| failed("the ID token's kid is not in the provider's JWKS"))?;
        let key =
            DecodingKey::from_jwk(jwk).map_err(|_| failed("the provider's key is unusable"))?;
        let mut v = Validation::new(header.alg);
        v.leeway = 30;
        v.set_issuer(&[cfg.issuer.as_str()]);
        v.set_audience(&[cfg.client_id.as_str()]);
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let data = jsonwebtoken::decode::<serde_json::Value>(id_token, &key, &v).map_err(|e| {
            failed(match e.kind() {
                jsonwebtoken::errors::ErrorKind::InvalidSignature => {
                    "the ID token's signature does not verify"
                }
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => "the ID token has expired",
                jsonwebtoken::errors::ErrorKind::InvalidIssuer => {
                    "the ID token's issuer is not the configured one"
                }
                jsonwebtoken::errors::ErrorKind::InvalidAudience => {
                    "the ID token is not for this client"
                }
                _ => "the ID token does not verify",
            })
        })?;
        let claims = data.claims;
        if claims["nonce"].as_str() != Some(nonce) {
            return Err(failed("the ID token's nonce does not match this sign-in"));
        }
        Ok(claims)
    }

    async fn sso_principal(
        &self,
        cfg: &SsoConfig,
        claims: &serde_json::Value,
    ) -> Result<(String, i64)> {
        let sub = claims["sub"]
            .as_str()
            .filter(|s| !s.is_empty() && s.len() <= 255)
            .ok_or_else(|| failed("the ID token has no subject"))?;
        let external = format!("{} {sub}", cfg.issuer);
        let values: Vec<String> = match &claims[cfg.role_claim.as_str()] {
            serde_json::Value::String(s) => vec![s.clone()],
            serde_json::Value::Array(a) => a
                .iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect(),
            _ => Vec::new(),
        };
        let mapped: Vec<&RoleMapping> = cfg
            .role_map
            .iter()
            .filter(|m| values.contains(&m.value))
            .collect();
        if mapped.is_empty() {
            return Err(failed(format!(
                "the account's {} claim maps to no role here",
                cfg.role_claim
            )));
        }
        let tenant = self.tenant_unchecked(&cfg.tenant).await?;
        let root = tenant.root_jurisdiction_id;
        let mut grants = Vec::new();
        let mut department = None;
        for m in &mapped {
            let dept = match &m.department {
                Some(code) => Some(
                    crate::store::oidc::department_by_code(&self.inner.db, &cfg.tenant, code)
                        .await?
                        .ok_or_else(|| {
                            failed(format!("the mapped department {code:?} does not exist"))
                        })?,
                ),
                None => None,
            };
            department = department.or(dept);
            grants.push((m.role.clone(), root, dept));
        }
        let display = claims["name"]
            .as_str()
            .or(claims[cfg.username_claim.as_str()].as_str())
            .unwrap_or(sub)
            .chars()
            .take(200)
            .collect::<String>();
        let email = claims["email"]
            .as_str()
            .filter(|e| e.len() <= 254 && e.contains('@'));
        let now = onecity_core::time::now_micros();
        let existing = crate::store::oidc::principal_by_external(&self.inner.db, &external).await?;
        let mut tx = self.inner.db.begin().await?;
        let (id, action) = match existing {
            Some(id) => {
                crate::store::oidc::update_sso_principal(&mut tx, id, &display, email, department)
                    .await?;
                (id, "auth.sso_login")
            }
            None => {
                let wanted = claims[cfg.username_claim.as_str()].as_str().unwrap_or("");
                let free = onecity_core::validate::code("username", wanted).is_ok()
                    && crate::store::login_account(&self.inner.db, wanted)
                        .await?
                        .is_none();
                let username = if free {
                    wanted.to_string()
                } else {
                    format!("sso-{}", &sha256_hex(&external)[..12])
                };
                let id = onecity_core::new_id();
                crate::store::oidc::insert_sso_principal(
                    &mut tx,
                    &crate::store::oidc::NewSsoPrincipal {
                        id,
                        tenant: &cfg.tenant,
                        username: &username,
                        display_name: &display,
                        email,
                        department_id: department,
                        external_subject: &external,
                        now,
                    },
                )
                .await?;
                (id, "auth.sso_login_created")
            }
        };
        crate::store::oidc::replace_grants(&mut tx, id, &grants, now).await?;
        let after = serde_json::json!({
            "issuer": cfg.issuer, "sub": sub,
            "roles": grants.iter().map(|(r, _, d)| serde_json::json!({"role": r, "department_id": d})).collect::<Vec<_>>(),
        });
        self.record(
            &mut tx,
            &AuditEntry {
                tenant: &cfg.tenant,
                actor: &format!("user:{id}"),
                action,
                resource_type: "principal",
                resource_id: &id.to_string(),
                after: Some(&after),
                ..Default::default()
            },
            None,
        )
        .await?;
        tx.commit().await?;
        self.invalidate_caches();
        // The directory that signed the user in is responsible for its second factors.
        let p = self.principal_by_id(id).await?;
        self.open_session(&p, None, "sso").await
    }
}

fn sso_error_response(e: &Error, wants_json: bool) -> Response {
    if wants_json {
        return onecity_http::problem_response(e);
    }
    let status = StatusCode::from_u16(e.code.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let detail = if status.is_server_error() && e.code == ErrorCode::Internal {
        onecity_core::GENERIC_5XX_DETAIL.to_string()
    } else {
        e.detail.clone()
    };
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let html = format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>统一身份认证 Single sign-on</title></head>\
         <body><main style=\"max-width:420px;margin:0 auto;padding:24px 16px;font-family:system-ui,sans-serif\">\
         <h1>统一身份认证失败 Single sign-on failed</h1><p id=\"error\" data-code=\"{}\">{}</p>\
         <p><a href=\"/login\">返回登录 Back to sign-in</a></p></main></body></html>",
        esc(e.code.code()),
        esc(&detail)
    );
    let mut r = (status, html).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") && !v.contains("html"))
}

pub(crate) async fn login_route(State(iam): State<Iam>, headers: HeaderMap) -> Response {
    match iam.sso_start().await {
        Ok(loc) => {
            let mut r = StatusCode::SEE_OTHER.into_response();
            if let Ok(v) = HeaderValue::from_str(&loc) {
                r.headers_mut().insert(header::LOCATION, v);
            }
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(e) => sso_error_response(&e, wants_json(&headers)),
    }
}

/// The callback's query.
#[derive(Debug, Deserialize)]
pub(crate) struct CallbackQuery {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

pub(crate) async fn callback_route(
    State(iam): State<Iam>,
    headers: HeaderMap,
    q: std::result::Result<
        axum::extract::Query<CallbackQuery>,
        axum::extract::rejection::QueryRejection,
    >,
) -> Response {
    let json = wants_json(&headers);
    let Ok(axum::extract::Query(q)) = q else {
        return sso_error_response(&failed("the callback's parameters are malformed"), json);
    };
    if let Some(err) = q.error {
        let err: String = err.chars().take(64).collect();
        return sso_error_response(&failed(format!("the provider answered {err}")), json);
    }
    let result = iam
        .sso_finish(
            q.code.as_deref().unwrap_or(""),
            q.state.as_deref().unwrap_or(""),
        )
        .await;
    match result {
        Ok((token, exp)) if json => (
            [(header::CACHE_CONTROL, "no-store")],
            axum::Json(serde_json::json!({
                "token": token,
                "expires_at": onecity_core::time::rfc3339(exp * 1_000_000),
            })),
        )
            .into_response(),
        Ok((token, _)) => {
            let mut r = StatusCode::SEE_OTHER.into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("/login#sso_token={token}")) {
                r.headers_mut().insert(header::LOCATION, v);
            }
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r.headers_mut().insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            );
            r
        }
        Err(e) => sso_error_response(&e, json),
    }
}

/// `{"enabled": bool, "label": …, "login_url": "/auth/oidc/login"}` for the sign-in page.
pub(crate) async fn config_route(State(iam): State<Iam>) -> Response {
    let body = match &iam.config().sso {
        Some(c) => {
            serde_json::json!({"enabled": true, "label": c.label, "login_url": "/auth/oidc/login"})
        }
        None => serde_json::json!({"enabled": false}),
    };
    axum::Json(body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_maps_parse_and_refuse_platform_admin() {
        let m = parse_role_map("roads-team=staff@ROADS, it=tenant_admin").unwrap();
        assert_eq!(
            m,
            vec![
                RoleMapping {
                    value: "roads-team".into(),
                    role: "staff".into(),
                    department: Some("ROADS".into())
                },
                RoleMapping {
                    value: "it".into(),
                    role: "tenant_admin".into(),
                    department: None
                },
            ]
        );
        assert!(parse_role_map("x=platform_admin").is_err());
        assert!(parse_role_map("x").is_err());
        assert!(parse_role_map("x=wizard").is_err());
    }
}
