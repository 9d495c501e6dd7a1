//! HTTP routes of second factors, password change and sign-in history
//! (`/api/v1/auth/login/mfa…`, `/api/v1/auth/password`, `/api/v1/auth/me/…`); see
//! [`crate::mfa`].

use crate::http::{Auth, ClientAddr, EnrolAuth};
use crate::mfa::{FactorConfirmed, MfaStatus, SecondFactor, SignIn, TotpEnrolment};
use crate::routes::LoginResponse;
use crate::Iam;
use axum::extract::State;
use axum::http::StatusCode;
use onecity_core::{Error, ErrorCode, Problem};
use onecity_http::{ApiResult, Json, Path, Query};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

/// The router of this module (state: [`Iam`]).
pub fn routes() -> OpenApiRouter<Iam> {
    OpenApiRouter::new()
        .routes(routes!(login_mfa))
        .routes(routes!(login_mfa_webauthn))
        .routes(routes!(change_password))
        .routes(routes!(mfa_status))
        .routes(routes!(totp_enrol))
        .routes(routes!(totp_confirm))
        .routes(routes!(totp_disable))
        .routes(routes!(recovery_codes))
        .routes(routes!(webauthn_register))
        .routes(routes!(webauthn_register_finish))
        .routes(routes!(webauthn_remove))
        .routes(routes!(sign_ins))
}

/// The second sign-in step.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaLoginRequest {
    /// The `challenge` from `POST /api/v1/auth/login`.
    pub challenge: String,
    /// A 6-digit TOTP code or a recovery code (`xxxxx-xxxxx`).
    #[serde(default)]
    pub code: Option<String>,
    /// A WebAuthn assertion (the `PublicKeyCredential` from navigator.credentials.get,
    /// binary fields base64url), after `POST /api/v1/auth/login/mfa/webauthn`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub webauthn: Option<serde_json::Value>,
}

/// Complete a sign-in with a second factor (TOTP code, recovery code or security key);
/// returns a session. A TOTP code is accepted once (and no earlier code after it); a
/// recovery code once. Wrong factors: 401 `mfa_failed`; after 5 within 15 minutes, 429
/// `login_throttled`.
#[utoipa::path(post, path = "/api/v1/auth/login/mfa", tag = "auth", request_body = MfaLoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = Problem), (status = 422, body = Problem),
        (status = 429, body = Problem)))]
async fn login_mfa(
    State(iam): State<Iam>,
    ClientAddr(addr): ClientAddr,
    Json(req): Json<MfaLoginRequest>,
) -> ApiResult<Json<LoginResponse>> {
    let factor = match (req.code, req.webauthn) {
        (Some(c), None) => SecondFactor::Code(c),
        (None, Some(w)) => SecondFactor::Webauthn(w),
        _ => {
            return Err(Error::invalid("send exactly one of code and webauthn").into());
        }
    };
    let (token, exp) = iam.login_mfa(&req.challenge, factor, addr).await?;
    Ok(Json(LoginResponse::session(token, exp)))
}

/// A sign-in challenge.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChallengeRequest {
    /// The `challenge` from `POST /api/v1/auth/login`.
    pub challenge: String,
}

/// WebAuthn request options.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebauthnOptions {
    /// Options for navigator.credentials (`publicKey` inside; binary fields base64url).
    #[schema(value_type = Object)]
    pub options: serde_json::Value,
    /// Ceremony id to send back (registration only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ceremony: Option<String>,
}

/// Start a security-key check for a sign-in challenge: options for
/// navigator.credentials.get. 404 when WebAuthn is off or the account has no key.
#[utoipa::path(post, path = "/api/v1/auth/login/mfa/webauthn", tag = "auth", request_body = ChallengeRequest,
    responses((status = 200, body = WebauthnOptions), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn login_mfa_webauthn(
    State(iam): State<Iam>,
    Json(req): Json<ChallengeRequest>,
) -> ApiResult<Json<WebauthnOptions>> {
    Ok(Json(WebauthnOptions {
        options: iam.webauthn_login_start(&req.challenge).await?,
        ceremony: None,
    }))
}

/// A password change.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// Login name.
    pub username: String,
    /// Current password.
    pub password: String,
    /// New password (the password policy applies; 422 `password_policy`).
    pub new_password: String,
}

/// Change a password with the current one (also when it has expired). Throttled like a
/// sign-in. 204 on success.
#[utoipa::path(post, path = "/api/v1/auth/password", tag = "auth", request_body = PasswordChange,
    responses((status = 204), (status = 401, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
async fn change_password(
    State(iam): State<Iam>,
    ClientAddr(addr): ClientAddr,
    Json(req): Json<PasswordChange>,
) -> ApiResult<StatusCode> {
    if req.username.len() > 256 || req.password.len() > 1024 || req.new_password.len() > 1024 {
        return Err(Error::new(
            ErrorCode::InvalidCredentials,
            "username or password is wrong",
        )
        .into());
    }
    iam.change_password(&req.username, &req.password, &req.new_password, addr)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's second factors (an enrolment-only session may ask).
#[utoipa::path(get, path = "/api/v1/auth/me/mfa", tag = "auth",
    responses((status = 200, body = MfaStatus), (status = 401, body = Problem)), security(("bearer" = [])))]
async fn mfa_status(
    State(iam): State<Iam>,
    EnrolAuth(p, restricted): EnrolAuth,
) -> ApiResult<Json<MfaStatus>> {
    Ok(Json(iam.mfa_status(&p, restricted).await?))
}

/// Start enrolling TOTP: the secret, `otpauth://` URI and QR code (SVG), shown once;
/// confirm with the first code. 409 when TOTP is already on.
#[utoipa::path(post, path = "/api/v1/auth/me/totp", tag = "auth",
    responses((status = 200, body = TotpEnrolment), (status = 401, body = Problem), (status = 409, body = Problem)), security(("bearer" = [])))]
async fn totp_enrol(
    State(iam): State<Iam>,
    EnrolAuth(p, _): EnrolAuth,
) -> ApiResult<Json<TotpEnrolment>> {
    Ok(Json(iam.totp_enrol(&p).await?))
}

/// A code.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    /// A 6-digit TOTP code (or, to disable TOTP, a recovery code).
    pub code: String,
}

/// Confirm the TOTP enrolment with its first code. Returns ten recovery codes (once)
/// when the account had none, and a session when called with an enrolment-only one.
#[utoipa::path(post, path = "/api/v1/auth/me/totp/confirm", tag = "auth", request_body = CodeRequest,
    responses((status = 200, body = FactorConfirmed), (status = 401, body = Problem), (status = 404, body = Problem),
        (status = 429, body = Problem)), security(("bearer" = [])))]
async fn totp_confirm(
    State(iam): State<Iam>,
    EnrolAuth(p, restricted): EnrolAuth,
    ClientAddr(addr): ClientAddr,
    Json(req): Json<CodeRequest>,
) -> ApiResult<Json<FactorConfirmed>> {
    Ok(Json(
        iam.totp_confirm(&p, &req.code, restricted, addr).await?,
    ))
}

/// Disable TOTP, proven with a current TOTP code or a recovery code. 204.
#[utoipa::path(post, path = "/api/v1/auth/me/totp/disable", tag = "auth", request_body = CodeRequest,
    responses((status = 204), (status = 401, body = Problem), (status = 404, body = Problem), (status = 429, body = Problem)),
    security(("bearer" = [])))]
async fn totp_disable(
    State(iam): State<Iam>,
    Auth(p): Auth,
    ClientAddr(addr): ClientAddr,
    Json(req): Json<CodeRequest>,
) -> ApiResult<StatusCode> {
    if p.kind == crate::PrincipalKind::App {
        return Err(Error::forbidden("app keys have no second factors").into());
    }
    iam.totp_disable(&p, &req.code, addr).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// New recovery codes.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RecoveryCodes {
    /// Ten single-use codes, shown once; the earlier ones no longer work.
    pub recovery_codes: Vec<String>,
}

/// Issue ten new recovery codes (the old ones stop working). 409 without a second factor.
#[utoipa::path(post, path = "/api/v1/auth/me/recovery-codes", tag = "auth",
    responses((status = 200, body = RecoveryCodes), (status = 401, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
async fn recovery_codes(State(iam): State<Iam>, Auth(p): Auth) -> ApiResult<Json<RecoveryCodes>> {
    if p.kind == crate::PrincipalKind::App {
        return Err(Error::forbidden("app keys have no second factors").into());
    }
    Ok(Json(RecoveryCodes {
        recovery_codes: iam.regenerate_recovery_codes(&p).await?,
    }))
}

/// Start registering a security key: options for navigator.credentials.create and a
/// ceremony id (valid 5 minutes). 404 when WebAuthn is off.
#[utoipa::path(post, path = "/api/v1/auth/me/webauthn/register", tag = "auth",
    responses((status = 200, body = WebauthnOptions), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn webauthn_register(
    State(iam): State<Iam>,
    EnrolAuth(p, _): EnrolAuth,
) -> ApiResult<Json<WebauthnOptions>> {
    let (ceremony, options) = iam.webauthn_register_start(&p).await?;
    Ok(Json(WebauthnOptions {
        options,
        ceremony: Some(ceremony),
    }))
}

/// The browser's answer to a registration.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebauthnFinish {
    /// The ceremony id from the start.
    pub ceremony: String,
    /// A name for the key (1 to 100 characters).
    pub name: String,
    /// The `PublicKeyCredential` from navigator.credentials.create (binary fields
    /// base64url).
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
}

/// A registered key.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebauthnRegistered {
    /// Key id.
    pub id: Uuid,
    /// Recovery codes / session, as for TOTP confirmation.
    #[serde(flatten)]
    pub confirmed: FactorConfirmed,
}

/// Finish registering a security key. Returns recovery codes when the account had none,
/// and a session when called with an enrolment-only one.
#[utoipa::path(post, path = "/api/v1/auth/me/webauthn/register/finish", tag = "auth", request_body = WebauthnFinish,
    responses((status = 201, body = WebauthnRegistered), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)), security(("bearer" = [])))]
async fn webauthn_register_finish(
    State(iam): State<Iam>,
    EnrolAuth(p, restricted): EnrolAuth,
    ClientAddr(addr): ClientAddr,
    Json(req): Json<WebauthnFinish>,
) -> ApiResult<(StatusCode, Json<WebauthnRegistered>)> {
    let (id, confirmed) = iam
        .webauthn_register_finish(
            &p,
            &req.ceremony,
            &req.name,
            req.credential,
            restricted,
            addr,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(WebauthnRegistered { id, confirmed }),
    ))
}

/// Remove one of the caller's security keys. 204.
#[utoipa::path(delete, path = "/api/v1/auth/me/webauthn/{id}", tag = "auth",
    params(("id" = Uuid, Path, description = "security key id")),
    responses((status = 204), (status = 404, body = Problem)), security(("bearer" = [])))]
async fn webauthn_remove(
    State(iam): State<Iam>,
    Auth(p): Auth,
    Path(id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    iam.webauthn_remove(&p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sign-in history filters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SignInQuery {
    /// How many, newest first (1..=200, default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

/// The caller's sign-in history (180 days): time, address, method, success.
#[utoipa::path(get, path = "/api/v1/auth/me/sign-ins", tag = "auth", params(SignInQuery),
    responses((status = 200, body = Vec<SignIn>), (status = 400, body = Problem), (status = 401, body = Problem)),
    security(("bearer" = [])))]
async fn sign_ins(
    State(iam): State<Iam>,
    Auth(p): Auth,
    Query(q): Query<SignInQuery>,
) -> ApiResult<Json<Vec<SignIn>>> {
    Ok(Json(iam.sign_ins(&p, q.limit).await?))
}
