//! onecity as an OpenID Connect provider (OpenID Connect Core 1.0, authorization code
//! flow, §3.1) for the city's other applications.
//!
//! - Clients are registered by platform admins: exact redirect URIs, allowed scopes
//!   (`openid`, `profile`, `email`), confidential (secret, kept as SHA-256) or public.
//! - Every authorization request needs PKCE with `S256` (RFC 7636); `plain` is refused.
//! - Codes are 256-bit random, stored as SHA-256, valid [`CODE_TTL_SECS`] and used once: a
//!   second use is refused and revokes every access token issued from the code (RFC 6749
//!   §4.1.2).
//! - ID tokens (`typ` `JWT`) and access tokens (`typ` `at+jwt`, RFC 9068) are ES256 JWTs
//!   signed by the key store (purpose `oidc`) with `kid` in the header. Access tokens are
//!   accepted by the ordinary `Authorization: Bearer` path ([`Iam::authenticate`]).
//! - Every security event is audited (`oidc.client_create`, `oidc.client_revoke`,
//!   `oidc.authorize`, `oidc.token`, `oidc.code_reused`, `key.rotate`).

use crate::keystore::{KeyInfo, PURPOSE_OIDC};
use crate::{Iam, Permission, Principal, SYSTEM_TENANT};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use onecity_core::{Error, ErrorCode, Result};
use onecity_store::audit::AuditEntry;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Instant;
use uuid::Uuid;

/// Lifetime of an authorization code in seconds.
pub const CODE_TTL_SECS: i64 = 60;
/// The scopes the provider knows.
pub const SCOPES: &[&str] = &["openid", "profile", "email"];
/// Most redirect URIs per client.
pub const MAX_REDIRECT_URIS: usize = 20;

/// Settings of the provider.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    /// The issuer URL (`iss`), the server's public base URL without a trailing slash,
    /// e.g. `https://id.city.gov.cn`. Default `http://127.0.0.1:8080`; the binary sets it
    /// from `oidc_issuer` or the listen address.
    pub issuer: String,
    /// ID token lifetime in seconds (default 300).
    pub id_token_ttl_secs: i64,
    /// Access token lifetime in seconds (default 3600).
    pub access_token_ttl_secs: i64,
}

impl Default for ProviderConfig {
    fn default() -> Self {
        ProviderConfig {
            issuer: "http://127.0.0.1:8080".into(),
            id_token_ttl_secs: 300,
            access_token_ttl_secs: 3600,
        }
    }
}

/// Input of client registration.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClient {
    /// Display name (shown on the sign-in page), 1 to 200 characters.
    pub name: String,
    /// Exact redirect URIs, 1 to 20: `https://…`, or `http://` only for loopback hosts
    /// (`127.0.0.1`, `[::1]`, `localhost`); no fragment.
    pub redirect_uris: Vec<String>,
    /// Allowed scopes (default all: `openid profile email`); must include `openid`.
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    /// A public client (no secret; PKCE alone), e.g. a single-page or mobile app.
    #[serde(default)]
    pub public: bool,
}

/// A registered client; `client_secret` is shown once, on creation.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ClientView {
    /// Client id.
    pub client_id: String,
    /// The secret, only in the creation answer of a confidential client.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// Display name.
    pub name: String,
    /// Exact redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Allowed scopes.
    pub scopes: Vec<String>,
    /// Public client (no secret).
    pub public: bool,
    /// Revoked clients can no longer sign anyone in.
    pub revoked: bool,
}

/// The query (or form) of an authorization request (OpenID Connect Core §3.1.2.1).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct AuthorizeParams {
    /// Must be `code`.
    #[serde(default)]
    pub response_type: Option<String>,
    /// The client.
    #[serde(default)]
    pub client_id: Option<String>,
    /// One of the client's redirect URIs, exactly.
    #[serde(default)]
    pub redirect_uri: Option<String>,
    /// Space-separated scopes, including `openid`.
    #[serde(default)]
    pub scope: Option<String>,
    /// Opaque value returned to the client.
    #[serde(default)]
    pub state: Option<String>,
    /// Copied into the ID token.
    #[serde(default)]
    pub nonce: Option<String>,
    /// PKCE challenge: base64url SHA-256 of the verifier (43 characters).
    #[serde(default)]
    pub code_challenge: Option<String>,
    /// Must be `S256`.
    #[serde(default)]
    pub code_challenge_method: Option<String>,
    /// `login` forces the sign-in form; `none` never shows it.
    #[serde(default)]
    pub prompt: Option<String>,
}

/// A checked authorization request.
#[derive(Debug, Clone)]
pub struct ValidAuthorize {
    /// The client.
    pub client_id: String,
    /// Its display name.
    pub client_name: String,
    /// The exact redirect URI.
    pub redirect_uri: String,
    /// Granted scopes, space-separated.
    pub scope: String,
    /// State to return.
    pub state: Option<String>,
    /// Nonce for the ID token.
    pub nonce: Option<String>,
    /// PKCE challenge.
    pub code_challenge: String,
    /// The `prompt` value.
    pub prompt: Option<String>,
}

/// Why an authorization request failed.
#[derive(Debug)]
pub enum AuthorizeFailure {
    /// The client or redirect URI cannot be trusted: show an error page, never redirect.
    Page(Error),
    /// Tell the client by redirecting to its registered URI with `error` (RFC 6749
    /// §4.1.2.1): the location is ready.
    Redirect(String),
}

/// The token endpoint's form (RFC 6749 §4.1.3).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TokenForm {
    /// Must be `authorization_code`.
    #[serde(default)]
    pub grant_type: Option<String>,
    /// The code.
    #[serde(default)]
    pub code: Option<String>,
    /// The redirect URI of the authorization request.
    #[serde(default)]
    pub redirect_uri: Option<String>,
    /// The PKCE verifier (43 to 128 characters of `A-Z a-z 0-9 - . _ ~`).
    #[serde(default)]
    pub code_verifier: Option<String>,
    /// Client id (post authentication or public client).
    #[serde(default)]
    pub client_id: Option<String>,
    /// Client secret (`client_secret_post`).
    #[serde(default)]
    pub client_secret: Option<String>,
}

/// The token endpoint's answer (OpenID Connect Core §3.1.3.3).
#[derive(Debug, Clone, Serialize)]
pub struct TokenAnswer {
    /// ES256 JWT access token (`typ` `at+jwt`).
    pub access_token: String,
    /// `Bearer`.
    pub token_type: &'static str,
    /// Access token lifetime in seconds.
    pub expires_in: i64,
    /// ES256 ID token.
    pub id_token: String,
    /// Granted scopes.
    pub scope: String,
}

fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

fn random_b64(n: usize) -> String {
    let mut b = vec![0u8; n];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut b);
    URL_SAFE_NO_PAD.encode(b)
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The PKCE S256 transform (RFC 7636 §4.2): base64url(SHA-256(verifier)).
pub fn pkce_s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn check_redirect_uri(u: &str) -> Result<()> {
    let bad = |why: &str| {
        Error::invalid(format!(
            "redirect_uris: {:?} {why}",
            u.chars().take(100).collect::<String>()
        ))
    };
    if u.len() > 2000 {
        return Err(bad("is longer than 2000 characters"));
    }
    let url = reqwest::Url::parse(u).map_err(|_| bad("is not an absolute URL"))?;
    if url.fragment().is_some() {
        return Err(bad("has a fragment"));
    }
    let loopback = matches!(
        url.host_str(),
        Some("127.0.0.1") | Some("[::1]") | Some("localhost")
    );
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(bad("must be https (http only for loopback hosts)")),
    }
}

fn add_query(base: &str, pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}{}", s.finish())
}

impl Iam {
    /// The issuer URL.
    pub fn issuer(&self) -> &str {
        &self.inner.cfg.oidc.issuer
    }

    /// The discovery document (OpenID Connect Discovery 1.0 §3).
    pub fn oidc_discovery(&self) -> serde_json::Value {
        let iss = self.issuer();
        serde_json::json!({
            "issuer": iss,
            "authorization_endpoint": format!("{iss}/oidc/authorize"),
            "token_endpoint": format!("{iss}/oidc/token"),
            "userinfo_endpoint": format!("{iss}/oidc/userinfo"),
            "jwks_uri": format!("{iss}/oidc/jwks"),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256"],
            "scopes_supported": SCOPES,
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "name", "preferred_username", "email"],
            "prompt_values_supported": ["none", "login"],
        })
    }

    fn require_platform(&self, p: &Principal) -> Result<()> {
        if !p.has(Permission::TenantWrite) {
            return Err(Error::forbidden(
                "only platform admins manage OpenID Connect clients and signing keys",
            ));
        }
        Ok(())
    }

    /// Registers a client (platform admins). Errors: `forbidden`; `invalid_input` for a
    /// bad name, redirect URI (see [`NewClient`]) or scope.
    pub async fn create_oidc_client(&self, p: &Principal, n: &NewClient) -> Result<ClientView> {
        self.require_platform(p)?;
        onecity_core::validate::text("name", &n.name, 200)?;
        if n.redirect_uris.is_empty() || n.redirect_uris.len() > MAX_REDIRECT_URIS {
            return Err(Error::invalid(format!(
                "redirect_uris must hold 1 to {MAX_REDIRECT_URIS} URIs"
            )));
        }
        for u in &n.redirect_uris {
            check_redirect_uri(u)?;
        }
        let scopes = n
            .scopes
            .clone()
            .unwrap_or_else(|| SCOPES.iter().map(|s| s.to_string()).collect());
        for s in &scopes {
            if !SCOPES.contains(&s.as_str()) {
                return Err(Error::invalid(format!(
                    "unknown scope {:?}; use openid, profile, email",
                    s.chars().take(64).collect::<String>()
                )));
            }
        }
        if !scopes.iter().any(|s| s == "openid") {
            return Err(Error::invalid("scopes must include openid"));
        }
        let client_id = format!("ocid_{}", onecity_core::new_id().simple());
        let secret = (!n.public).then(|| random_b64(32));
        let row = crate::store::oidc::ClientRow {
            client_id: client_id.clone(),
            name: n.name.clone(),
            secret_sha256: secret.as_deref().map(sha256_hex),
            redirect_uris: serde_json::to_string(&n.redirect_uris).map_err(Error::internal)?,
            scopes: serde_json::to_string(&scopes).map_err(Error::internal)?,
            created_at: onecity_core::time::now_micros(),
            revoked_at: None,
        };
        let view = ClientView {
            client_id: client_id.clone(),
            client_secret: None,
            name: n.name.clone(),
            redirect_uris: n.redirect_uris.clone(),
            scopes,
            public: n.public,
            revoked: false,
        };
        let after = serde_json::to_value(&view).map_err(Error::internal)?;
        let mut tx = self.inner.db.begin().await?;
        crate::store::oidc::insert_client(&mut tx, &row, &p.actor()).await?;
        self.record(
            &mut tx,
            &AuditEntry {
                tenant: SYSTEM_TENANT,
                actor: &p.actor(),
                action: "oidc.client_create",
                resource_type: "oidc_client",
                resource_id: &client_id,
                after: Some(&after),
                ..Default::default()
            },
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(ClientView {
            client_secret: secret,
            ..view
        })
    }

    fn client_view(r: &crate::store::oidc::ClientRow) -> Result<ClientView> {
        Ok(ClientView {
            client_id: r.client_id.clone(),
            client_secret: None,
            name: r.name.clone(),
            redirect_uris: serde_json::from_str(&r.redirect_uris).map_err(Error::internal)?,
            scopes: serde_json::from_str(&r.scopes).map_err(Error::internal)?,
            public: r.secret_sha256.is_none(),
            revoked: r.revoked_at.is_some(),
        })
    }

    /// Every registered client (platform admins).
    pub async fn list_oidc_clients(&self, p: &Principal) -> Result<Vec<ClientView>> {
        self.require_platform(p)?;
        crate::store::oidc::clients(&self.inner.db)
            .await?
            .iter()
            .map(Self::client_view)
            .collect()
    }

    /// Revokes a client (platform admins): it can no longer sign anyone in or exchange
    /// codes. Error: `not_found` for an unknown or already revoked client.
    pub async fn revoke_oidc_client(&self, p: &Principal, client_id: &str) -> Result<()> {
        self.require_platform(p)?;
        let mut tx = self.inner.db.begin().await?;
        let n =
            crate::store::oidc::revoke_client(&mut tx, client_id, onecity_core::time::now_micros())
                .await?;
        if n == 0 {
            return Err(Error::not_found(format!(
                "OpenID Connect client {:?} does not exist or is revoked",
                client_id.chars().take(64).collect::<String>()
            )));
        }
        self.record(
            &mut tx,
            &AuditEntry {
                tenant: SYSTEM_TENANT,
                actor: &p.actor(),
                action: "oidc.client_revoke",
                resource_type: "oidc_client",
                resource_id: client_id,
                ..Default::default()
            },
            None,
        )
        .await?;
        tx.commit().await
    }

    /// Rotates the signing key of `purpose` (platform admins); see
    /// [`crate::keystore::KeyStore::rotate`].
    pub async fn rotate_signing_key(&self, p: &Principal, purpose: &str) -> Result<KeyInfo> {
        self.require_platform(p)?;
        self.keystore()?.rotate(self, purpose, &p.actor()).await
    }

    /// The signing keys (platform admins), every purpose or one.
    pub async fn list_signing_keys(
        &self,
        p: &Principal,
        purpose: Option<&str>,
    ) -> Result<Vec<KeyInfo>> {
        self.require_platform(p)?;
        let ks = self.keystore()?;
        ks.reload().await?;
        Ok(ks.list(purpose))
    }

    async fn active_client(
        &self,
        client_id: &str,
    ) -> Result<Option<crate::store::oidc::ClientRow>> {
        if client_id.is_empty() || client_id.len() > 100 {
            return Ok(None);
        }
        Ok(crate::store::oidc::client(&self.inner.db, client_id)
            .await?
            .filter(|c| c.revoked_at.is_none()))
    }

    /// Checks an authorization request. The client and the exact redirect URI are checked
    /// first: when either is wrong the answer is an error page
    /// ([`AuthorizeFailure::Page`], `invalid_client` / `invalid_redirect_uri`), never a
    /// redirect. Then, redirected to the client with `error`: `unsupported_response_type`,
    /// `invalid_request` (PKCE missing or not `S256`, bad challenge), `invalid_scope`.
    pub async fn check_authorize(
        &self,
        q: &AuthorizeParams,
    ) -> std::result::Result<ValidAuthorize, AuthorizeFailure> {
        let page = AuthorizeFailure::Page;
        let client_id = q.client_id.as_deref().unwrap_or("");
        let client = self
            .active_client(client_id)
            .await
            .map_err(page)?
            .ok_or_else(|| {
                page(Error::new(
                    ErrorCode::InvalidClient,
                    "this application is not registered with onecity (unknown or revoked client_id)",
                ))
            })?;
        let view = Self::client_view(&client).map_err(page)?;
        let redirect_uri = q.redirect_uri.clone().unwrap_or_default();
        if !view.redirect_uris.contains(&redirect_uri) {
            return Err(page(Error::new(
                ErrorCode::InvalidRedirectUri,
                "the redirect_uri is not one registered for this application; onecity does not redirect there",
            )));
        }
        let state = q.state.clone().filter(|s| !s.is_empty());
        let fail = |error: &str, description: &str| {
            let mut pairs = vec![("error", error), ("error_description", description)];
            if let Some(s) = &state {
                pairs.push(("state", s));
            }
            pairs.push(("iss", self.issuer()));
            AuthorizeFailure::Redirect(add_query(&redirect_uri, &pairs))
        };
        if q.response_type.as_deref() != Some("code") {
            return Err(fail(
                "unsupported_response_type",
                "only response_type=code is supported",
            ));
        }
        let challenge = match (
            q.code_challenge.as_deref(),
            q.code_challenge_method.as_deref(),
        ) {
            (Some(c), Some("S256")) => c,
            _ => {
                return Err(fail(
                    "invalid_request",
                    "PKCE is required: send code_challenge with code_challenge_method=S256",
                ))
            }
        };
        if challenge.len() != 43
            || !challenge
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(fail(
                "invalid_request",
                "code_challenge must be the base64url SHA-256 of the verifier (43 characters)",
            ));
        }
        if state.as_ref().is_some_and(|s| s.len() > 500)
            || q.nonce.as_ref().is_some_and(|s| s.len() > 500)
        {
            return Err(fail(
                "invalid_request",
                "state and nonce are at most 500 characters",
            ));
        }
        let asked: Vec<&str> = q
            .scope
            .as_deref()
            .unwrap_or("")
            .split_whitespace()
            .collect();
        if !asked.contains(&"openid") {
            return Err(fail("invalid_scope", "scope must include openid"));
        }
        if asked.iter().any(|s| !view.scopes.iter().any(|a| a == s)) {
            return Err(fail(
                "invalid_scope",
                "a requested scope is not allowed for this application",
            ));
        }
        let mut scope: Vec<&str> = Vec::new();
        for s in asked {
            if !scope.contains(&s) {
                scope.push(s);
            }
        }
        Ok(ValidAuthorize {
            client_id: view.client_id,
            client_name: view.name,
            redirect_uri,
            scope: scope.join(" "),
            state,
            nonce: q.nonce.clone().filter(|s| !s.is_empty()),
            code_challenge: challenge.to_string(),
            prompt: q.prompt.clone(),
        })
    }

    /// The error redirect of a checked request (e.g. `login_required` for `prompt=none`).
    pub fn authorize_error(&self, req: &ValidAuthorize, error: &str, description: &str) -> String {
        let mut pairs = vec![("error", error), ("error_description", description)];
        if let Some(s) = &req.state {
            pairs.push(("state", s));
        }
        pairs.push(("iss", self.issuer()));
        add_query(&req.redirect_uri, &pairs)
    }

    /// Issues a code for `principal` (audited as `oidc.authorize`) and returns the redirect
    /// location `redirect_uri?code=…&state=…&iss=…` (RFC 9207 `iss`).
    pub async fn issue_code(&self, req: &ValidAuthorize, principal: &Principal) -> Result<String> {
        self.keystore()?;
        let code = random_b64(32);
        let now = onecity_core::time::now_micros();
        let row = crate::store::oidc::CodeRow {
            code_sha256: sha256_hex(&code),
            client_id: req.client_id.clone(),
            principal_id: principal.id,
            redirect_uri: req.redirect_uri.clone(),
            scope: req.scope.clone(),
            nonce: req.nonce.clone(),
            code_challenge: req.code_challenge.clone(),
            created_at: now,
            expires_at: now + CODE_TTL_SECS * 1_000_000,
            used_at: None,
        };
        let after = serde_json::json!({"client_id": req.client_id, "scope": req.scope});
        let mut tx = self.inner.db.begin().await?;
        crate::store::oidc::purge_codes(&mut tx, now - 3600 * 1_000_000).await?;
        crate::store::oidc::insert_code(&mut tx, &row).await?;
        self.record(
            &mut tx,
            &AuditEntry {
                tenant: principal.tenant.as_deref().unwrap_or(SYSTEM_TENANT),
                actor: &principal.actor(),
                action: "oidc.authorize",
                resource_type: "oidc_client",
                resource_id: &req.client_id,
                after: Some(&after),
                ..Default::default()
            },
            None,
        )
        .await?;
        tx.commit().await?;
        let mut pairs = vec![("code", code.as_str())];
        if let Some(s) = &req.state {
            pairs.push(("state", s));
        }
        pairs.push(("iss", self.issuer()));
        Ok(add_query(&req.redirect_uri, &pairs))
    }

    /// Exchanges a code for tokens (RFC 6749 §4.1.3, OpenID Connect Core §3.1.3).
    /// `basic` is the client id and secret of an `Authorization: Basic` header.
    ///
    /// Errors: `invalid_client` (unknown or revoked client, wrong or missing secret of a
    /// confidential client, a secret sent for a public one); `invalid_grant` (unknown,
    /// expired, reused code — which also revokes the tokens issued from it — another
    /// client's code, a different redirect URI, a missing or wrong PKCE verifier);
    /// `invalid_input` (missing `code`).
    pub async fn exchange_code(
        &self,
        form: &TokenForm,
        basic: Option<(String, String)>,
    ) -> Result<TokenAnswer> {
        let ks = self.keystore()?;
        let invalid_client = |why: &str| Error::new(ErrorCode::InvalidClient, why.to_string());
        let grant = |why: &str| Error::new(ErrorCode::InvalidGrant, why.to_string());
        let (client_id, secret) = match (&basic, &form.client_id) {
            (Some((id, s)), body_id) => {
                if body_id.as_ref().is_some_and(|b| b != id) {
                    return Err(invalid_client(
                        "client_id differs from the authenticated client",
                    ));
                }
                (id.clone(), Some(s.clone()))
            }
            (None, Some(id)) => (id.clone(), form.client_secret.clone()),
            (None, None) => return Err(invalid_client("client authentication is missing")),
        };
        let client = self
            .active_client(&client_id)
            .await?
            .ok_or_else(|| invalid_client("unknown or revoked client"))?;
        match (&client.secret_sha256, &secret) {
            (Some(stored), Some(given)) => {
                if !constant_eq(stored.as_bytes(), sha256_hex(given).as_bytes()) {
                    return Err(invalid_client("the client secret is wrong"));
                }
            }
            (Some(_), None) => return Err(invalid_client("this client must send its secret")),
            (None, Some(_)) => return Err(invalid_client("a public client has no secret")),
            (None, None) => {}
        }
        let code = form
            .code
            .as_deref()
            .filter(|c| !c.is_empty() && c.len() <= 200)
            .ok_or_else(|| Error::invalid("code is missing"))?;
        let code_hash = sha256_hex(code);
        let row = crate::store::oidc::code(&self.inner.db, &code_hash)
            .await?
            .ok_or_else(|| grant("the code is unknown"))?;
        if row.client_id != client.client_id {
            return Err(grant("the code was issued to another client"));
        }
        let now = onecity_core::time::now_micros();
        if row.used_at.is_some() {
            self.code_reused(&row, now).await?;
            return Err(grant(
                "the code was already used; the tokens issued from it are revoked",
            ));
        }
        if row.expires_at <= now {
            return Err(grant("the code has expired (codes are valid for 60 s)"));
        }
        if form.redirect_uri.as_deref() != Some(row.redirect_uri.as_str()) {
            return Err(grant("redirect_uri differs from the authorization request"));
        }
        let verifier = form.code_verifier.as_deref().unwrap_or("");
        if !(43..=128).contains(&verifier.len())
            || !verifier
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
        {
            return Err(grant(
                "code_verifier is missing or not 43 to 128 characters of A-Z a-z 0-9 - . _ ~",
            ));
        }
        if !constant_eq(
            pkce_s256(verifier).as_bytes(),
            row.code_challenge.as_bytes(),
        ) {
            return Err(grant("code_verifier does not match the code_challenge"));
        }
        let principal = self
            .principal_by_id(row.principal_id)
            .await
            .map_err(|_| grant("the account that signed in no longer exists or is disabled"))?;
        let iss = self.issuer().to_string();
        let now_s = now / 1_000_000;
        let at_ttl = self.inner.cfg.oidc.access_token_ttl_secs;
        let jti = onecity_core::new_id();
        let access = ks.sign_jwt(
            PURPOSE_OIDC,
            "at+jwt",
            &serde_json::json!({
                "iss": iss, "sub": principal.id, "aud": iss, "client_id": client.client_id,
                "scope": row.scope, "iat": now_s, "exp": now_s + at_ttl, "jti": jti,
            }),
        )?;
        let digest = Sha256::digest(access.as_bytes());
        let at_hash = URL_SAFE_NO_PAD.encode(&digest[..16]);
        let scopes: Vec<&str> = row.scope.split(' ').collect();
        let mut id_claims = serde_json::json!({
            "iss": iss, "sub": principal.id, "aud": client.client_id,
            "iat": now_s, "exp": now_s + self.inner.cfg.oidc.id_token_ttl_secs,
            "auth_time": row.created_at / 1_000_000, "at_hash": at_hash, "azp": client.client_id,
        });
        if let Some(n) = &row.nonce {
            id_claims["nonce"] = n.clone().into();
        }
        if scopes.contains(&"profile") {
            id_claims["name"] = principal.display_name.clone().into();
            id_claims["preferred_username"] = principal.username.clone().into();
        }
        if scopes.contains(&"email") {
            if let Some(e) = crate::store::oidc::email_of(&self.inner.db, principal.id).await? {
                id_claims["email"] = e.into();
            }
        }
        let id_token = ks.sign_jwt(PURPOSE_OIDC, "JWT", &id_claims)?;
        let mut tx = self.inner.db.begin().await?;
        if crate::store::oidc::use_code(&mut tx, &code_hash, now).await? == 0 {
            drop(tx);
            self.code_reused(&row, now).await?;
            return Err(grant(
                "the code was already used; the tokens issued from it are revoked",
            ));
        }
        crate::store::oidc::insert_token(
            &mut tx,
            jti,
            &code_hash,
            &client.client_id,
            principal.id,
            now,
            now + at_ttl * 1_000_000,
        )
        .await?;
        let after =
            serde_json::json!({"client_id": client.client_id, "scope": row.scope, "jti": jti});
        self.record(
            &mut tx,
            &AuditEntry {
                tenant: principal.tenant.as_deref().unwrap_or(SYSTEM_TENANT),
                actor: &format!("oidc_client:{}", client.client_id),
                action: "oidc.token",
                resource_type: "principal",
                resource_id: &principal.id.to_string(),
                after: Some(&after),
                ..Default::default()
            },
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(TokenAnswer {
            access_token: access,
            token_type: "Bearer",
            expires_in: at_ttl,
            id_token,
            scope: row.scope,
        })
    }

    /// A reused code: revoke its tokens, forget cached ones, audit `oidc.code_reused`.
    async fn code_reused(&self, row: &crate::store::oidc::CodeRow, now: i64) -> Result<()> {
        let mut tx = self.inner.db.begin().await?;
        let revoked =
            crate::store::oidc::revoke_tokens_of_code(&mut tx, &row.code_sha256, now).await?;
        let after = serde_json::json!({"client_id": row.client_id, "tokens_revoked": revoked});
        self.record(
            &mut tx,
            &AuditEntry {
                tenant: SYSTEM_TENANT,
                actor: &format!("oidc_client:{}", row.client_id),
                action: "oidc.code_reused",
                resource_type: "principal",
                resource_id: &row.principal_id.to_string(),
                after: Some(&after),
                ..Default::default()
            },
            None,
        )
        .await?;
        tx.commit().await?;
        self.inner.access_tokens.lock().expect("cache lock").clear();
        Ok(())
    }

    /// Whether a credential looks like one of our ES256 JWTs (header `alg` `ES256`).
    pub(crate) fn is_es256_jwt(credential: &str) -> bool {
        let Some(h) = credential.split('.').next() else {
            return false;
        };
        if h.len() > 400 {
            return false;
        }
        URL_SAFE_NO_PAD
            .decode(h)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .is_some_and(|v| v["alg"] == "ES256")
    }

    /// Checks an access token issued by this provider and returns its principal and
    /// claims: signature by a published `oidc` key, `typ` `at+jwt`, `iss` and `aud` = the
    /// issuer, not expired (30 s leeway), not revoked. A verified token is remembered per
    /// node until `cache_ttl` passes (a revocation reaches other nodes within it).
    /// Error: `invalid_credentials`.
    pub async fn authenticate_access_token(&self, token: &str) -> Result<Arc<Principal>> {
        let now = onecity_core::time::now_micros();
        let cached = {
            let cache = self.inner.access_tokens.lock().expect("cache lock");
            cache
                .get(token)
                .filter(|(at, exp, _)| at.elapsed() < self.inner.cfg.cache_ttl && *exp > now)
                .map(|(_, _, id)| *id)
        };
        if let Some(id) = cached {
            return self.principal_by_id(id).await;
        }
        let claims = self.verify_access_token(token).await?;
        let sub = claims["sub"]
            .as_str()
            .and_then(|s| Uuid::try_parse(s).ok())
            .ok_or_else(|| bad_token("it has no subject"))?;
        let exp = claims["exp"].as_i64().unwrap_or(0) * 1_000_000;
        {
            let mut cache = self.inner.access_tokens.lock().expect("cache lock");
            if cache.len() >= 10_000 {
                cache.retain(|_, (at, e, _)| at.elapsed() < self.inner.cfg.cache_ttl && *e > now);
                if cache.len() >= 10_000 {
                    cache.clear();
                }
            }
            cache.insert(token.to_string(), (Instant::now(), exp, sub));
        }
        self.principal_by_id(sub).await
    }

    /// The verified claims of an access token (see [`Iam::authenticate_access_token`]).
    pub async fn verify_access_token(&self, token: &str) -> Result<serde_json::Value> {
        let ks = self
            .keystore()
            .map_err(|_| bad_token("this server issues no access tokens"))?;
        let (typ, claims) = ks.verify_jwt(PURPOSE_OIDC, token).await?;
        if typ.as_deref() != Some("at+jwt") {
            return Err(bad_token("it is not an access token (typ at+jwt)"));
        }
        let iss = self.issuer();
        if claims["iss"] != iss || claims["aud"] != iss {
            return Err(bad_token(
                "it was not issued by this server for this server",
            ));
        }
        let now_s = onecity_core::time::now_micros() / 1_000_000;
        if claims["exp"].as_i64().is_none_or(|e| e + 30 < now_s) {
            return Err(bad_token("it has expired"));
        }
        let jti = claims["jti"]
            .as_str()
            .and_then(|s| Uuid::try_parse(s).ok())
            .ok_or_else(|| bad_token("it has no token id"))?;
        if !crate::store::oidc::token_live(&self.inner.db, jti).await? {
            return Err(bad_token("it was revoked"));
        }
        Ok(claims)
    }

    /// The UserInfo answer (OpenID Connect Core §5.3) for an access token: `sub`, and by
    /// scope `name`, `preferred_username` (`profile`) and `email` (`email`).
    /// Error: `invalid_credentials`.
    pub async fn oidc_userinfo(&self, token: &str) -> Result<serde_json::Value> {
        let claims = self.verify_access_token(token).await?;
        let sub = claims["sub"]
            .as_str()
            .and_then(|s| Uuid::try_parse(s).ok())
            .ok_or_else(|| bad_token("it has no subject"))?;
        let p = self.principal_by_id(sub).await?;
        let scopes: Vec<&str> = claims["scope"].as_str().unwrap_or("").split(' ').collect();
        let mut out = serde_json::json!({"sub": p.id});
        if scopes.contains(&"profile") {
            out["name"] = p.display_name.clone().into();
            out["preferred_username"] = p.username.clone().into();
        }
        if scopes.contains(&"email") {
            if let Some(e) = crate::store::oidc::email_of(&self.inner.db, p.id).await? {
                out["email"] = e.into();
            }
        }
        Ok(out)
    }

    /// The principal a session token names (for the provider's sign-in cookie).
    pub async fn session_principal(&self, token: &str) -> Result<Arc<Principal>> {
        let claims = self.inner.signer.check(token)?;
        self.principal_by_id(claims.sub).await
    }
}

fn bad_token(why: &str) -> Error {
    Error::new(
        ErrorCode::InvalidCredentials,
        format!("token rejected: {why}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_is_base64url_sha256_without_padding() {
        // Computed independently with Python's hashlib and base64.urlsafe_b64encode.
        assert_eq!(
            pkce_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWjOBjk"),
            "FSxjmJtSo5b1JAfg3t7RZdEWaKanZi8PIhfV-TSqYac"
        );
    }

    #[test]
    fn redirect_uris_must_be_https_or_loopback() {
        assert!(check_redirect_uri("https://app.city.example/cb").is_ok());
        assert!(check_redirect_uri("http://127.0.0.1:9000/cb").is_ok());
        assert!(check_redirect_uri("http://app.city.example/cb").is_err());
        assert!(check_redirect_uri("https://app.city.example/cb#x").is_err());
        assert!(check_redirect_uri("/relative").is_err());
        assert!(check_redirect_uri("javascript:alert(1)").is_err());
    }

    #[test]
    fn error_redirects_keep_the_registered_query() {
        assert_eq!(
            add_query(
                "https://a.example/cb?x=1",
                &[("error", "invalid_request"), ("state", "s t")]
            ),
            "https://a.example/cb?x=1&error=invalid_request&state=s+t"
        );
    }
}
