//! HTTP routes of citizens (self-registration, code sign-in, real-name), companies and
//! mandates, and the read-assurance setting of datastore resources. Handlers are thin.

use crate::assurance::AssuranceLevel;
use crate::citizen::{CitizenSession, CodePurpose, CodeSent, RealNameView};
use crate::company::{CompanyAction, CompanyView, MandateView, NewCompany, NewMandate};
use crate::http::{perm, Auth, Authorized, ClientAddr};
use crate::Iam;
use axum::extract::State;
use axum::http::StatusCode;
use onecity_core::{Error, Problem};
use onecity_http::{ApiResult, Json, Path};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

/// The router of this module (state: [`Iam`]).
pub fn routes() -> OpenApiRouter<Iam> {
    OpenApiRouter::new()
        .routes(routes!(register_start))
        .routes(routes!(register_verify))
        .routes(routes!(sign_in_start))
        .routes(routes!(sign_in_verify))
        .routes(routes!(get_real_name, post_real_name))
        .routes(routes!(get_read_assurance, put_read_assurance))
        .routes(routes!(create_company))
        .routes(routes!(get_company))
        .routes(routes!(list_mandates, grant_mandate))
        .routes(routes!(revoke_mandate))
        .routes(routes!(declare))
}

/// A code request.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    /// Phone number (E.164 `+8613812345678` or 11-digit Chinese mobile `13812345678`) or
    /// e-mail address.
    pub identifier: String,
}

/// A code check.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// The identifier the code was sent to.
    pub identifier: String,
    /// The 6-digit code.
    pub code: String,
    /// Optional password to set (10 to 256 characters); register only.
    #[serde(default)]
    pub password: Option<String>,
    /// Optional display name of a new account; register only.
    #[serde(default)]
    pub display_name: Option<String>,
}

fn short(s: &str, max: usize) -> Result<&str, Error> {
    if s.len() > max {
        return Err(Error::invalid(format!(
            "a field is longer than {max} bytes"
        )));
    }
    Ok(s)
}

async fn start(
    iam: &Iam,
    tenant: &str,
    req: &CodeRequest,
    purpose: CodePurpose,
    addr: Option<std::net::IpAddr>,
) -> ApiResult<(StatusCode, Json<CodeSent>)> {
    let identifier = short(&req.identifier, 300)?;
    let sent = iam
        .start_citizen_code(tenant, identifier, purpose, addr)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(sent)))
}

/// Start registering (注册): sends a 6-digit code to the phone (or e-mail) through the SMS
/// gateway. Always 202 with the same shape, whether or not an account exists. Limits: 5
/// codes per identifier and 20 per client address per hour (429 `code_throttled`).
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/citizens/register/start", tag = "citizens",
    params(("tenant" = String, Path, description = "tenant code")), request_body = CodeRequest,
    responses((status = 202, body = CodeSent), (status = 404, body = Problem), (status = 422, body = Problem),
        (status = 429, body = Problem), (status = 503, body = Problem)))]
async fn register_start(
    State(iam): State<Iam>,
    ClientAddr(addr): ClientAddr,
    Path(tenant): Path<String>,
    Json(req): Json<CodeRequest>,
) -> ApiResult<(StatusCode, Json<CodeSent>)> {
    start(&iam, &tenant, &req, CodePurpose::Register, addr).await
}

/// Start a code sign-in (验证码登录). Same behaviour and answer as `register/start`.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/citizens/sign-in/start", tag = "citizens",
    params(("tenant" = String, Path, description = "tenant code")), request_body = CodeRequest,
    responses((status = 202, body = CodeSent), (status = 404, body = Problem), (status = 422, body = Problem),
        (status = 429, body = Problem), (status = 503, body = Problem)))]
async fn sign_in_start(
    State(iam): State<Iam>,
    ClientAddr(addr): ClientAddr,
    Path(tenant): Path<String>,
    Json(req): Json<CodeRequest>,
) -> ApiResult<(StatusCode, Json<CodeSent>)> {
    start(&iam, &tenant, &req, CodePurpose::SignIn, addr).await
}

async fn verify(
    iam: &Iam,
    tenant: &str,
    req: &VerifyRequest,
    allow_profile: bool,
    addr: Option<std::net::IpAddr>,
) -> ApiResult<Json<CitizenSession>> {
    if !allow_profile && (req.password.is_some() || req.display_name.is_some()) {
        return Err(Error::invalid(
            "password and display_name are set through register/verify, not sign-in",
        )
        .into());
    }
    let s = iam
        .verify_citizen_code(
            tenant,
            short(&req.identifier, 300)?,
            short(&req.code, 32)?,
            req.password
                .as_deref()
                .map(|p| short(p, 1024))
                .transpose()?,
            req.display_name.as_deref(),
            addr,
        )
        .await?;
    Ok(Json(s))
}

/// Finish registering: the code creates the citizen (level `low`) and returns a session
/// token; for an identifier that already has a citizen account it signs that account in
/// (and sets the given password). Errors: 401 `code_invalid` (wrong, expired, used, or
/// 5 wrong tries), 429 `code_throttled` (10 tries per identifier / 15 min).
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/citizens/register/verify", tag = "citizens",
    params(("tenant" = String, Path, description = "tenant code")), request_body = VerifyRequest,
    responses((status = 200, body = CitizenSession), (status = 401, body = Problem), (status = 422, body = Problem),
        (status = 429, body = Problem)))]
async fn register_verify(
    State(iam): State<Iam>,
    ClientAddr(addr): ClientAddr,
    Path(tenant): Path<String>,
    Json(req): Json<VerifyRequest>,
) -> ApiResult<Json<CitizenSession>> {
    verify(&iam, &tenant, &req, true, addr).await
}

/// Finish a code sign-in; returns a session token like `/auth/login` (an identifier
/// without an account gets one, as with `register/verify`).
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/citizens/sign-in/verify", tag = "citizens",
    params(("tenant" = String, Path, description = "tenant code")), request_body = VerifyRequest,
    responses((status = 200, body = CitizenSession), (status = 401, body = Problem), (status = 422, body = Problem),
        (status = 429, body = Problem)))]
async fn sign_in_verify(
    State(iam): State<Iam>,
    ClientAddr(addr): ClientAddr,
    Path(tenant): Path<String>,
    Json(req): Json<VerifyRequest>,
) -> ApiResult<Json<CitizenSession>> {
    verify(&iam, &tenant, &req, false, addr).await
}

/// A real-name request (实名认证).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RealNameRequest {
    /// Name as on the identity card.
    pub name: String,
    /// 18-character resident identity number (GB 11643-1999).
    pub id_number: String,
}

/// The caller's real-name record (404 when none).
#[utoipa::path(get, path = "/api/v1/auth/real-name", tag = "citizens",
    responses((status = 200, body = RealNameView), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn get_real_name(State(iam): State<Iam>, Auth(p): Auth) -> ApiResult<Json<RealNameView>> {
    Ok(Json(iam.real_name_of(p.id).await?.ok_or_else(|| {
        Error::not_found("no real-name record (未实名认证)")
    })?))
}

/// The real-name check of the calling citizen: verifies the identity number's check digit
/// and birth date (422 `invalid_id_number`, zh + en), asks the configured verifier (422
/// `identity_not_confirmed`, 503 `identity_check_unavailable`), and raises the citizen to
/// `substantial`. 5 attempts per day (429 `code_throttled`).
#[utoipa::path(post, path = "/api/v1/auth/real-name", tag = "citizens", request_body = RealNameRequest,
    responses((status = 200, body = RealNameView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem), (status = 503, body = Problem)),
    security(("bearer" = [])))]
async fn post_real_name(
    State(iam): State<Iam>,
    Auth(p): Auth,
    Json(req): Json<RealNameRequest>,
) -> ApiResult<Json<RealNameView>> {
    Ok(Json(
        iam.verify_real_name(&p, short(&req.name, 300)?, short(&req.id_number, 64)?)
            .await?,
    ))
}

/// The level reading a datastore resource requires.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReadAssurance {
    /// `low`, `substantial`, `high`, or `null` (none required).
    pub min_level: Option<AssuranceLevel>,
}

/// The assurance level reading a datastore resource requires.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/read-assurance/{resource_id}", tag = "citizens",
    params(("tenant" = String, Path, description = "tenant code"), ("resource_id" = String, Path, description = "datastore resource id")),
    responses((status = 200, body = ReadAssurance), (status = 403, body = Problem)), security(("bearer" = [])))]
async fn get_read_assurance(
    State(iam): State<Iam>,
    p: Authorized<perm::DatastoreRead>,
    Path((tenant, rid)): Path<(String, String)>,
) -> ApiResult<Json<ReadAssurance>> {
    iam.tenant(&p, &tenant).await?;
    Ok(Json(ReadAssurance {
        min_level: iam.read_assurance(&tenant, &rid).await?,
    }))
}

/// Set (or clear with `null`) the assurance level reading a datastore resource requires:
/// `datastore_search`, `datastore_search_sql` and the dump then refuse lower callers with
/// 403 `assurance_too_low` (owners are not concerned). Needs `datastore:write`.
#[utoipa::path(put, path = "/api/v1/tenants/{tenant}/read-assurance/{resource_id}", tag = "citizens",
    params(("tenant" = String, Path, description = "tenant code"), ("resource_id" = String, Path, description = "datastore resource id")),
    request_body = ReadAssurance,
    responses((status = 200, body = ReadAssurance), (status = 403, body = Problem)), security(("bearer" = [])))]
async fn put_read_assurance(
    State(iam): State<Iam>,
    p: Authorized<perm::DatastoreWrite>,
    Path((tenant, rid)): Path<(String, String)>,
    Json(req): Json<ReadAssurance>,
) -> ApiResult<Json<ReadAssurance>> {
    iam.set_read_assurance(&p, &tenant, &rid, req.min_level)
        .await?;
    Ok(Json(req))
}

/// Register a company (法人) by unified social credit code; the caller (a citizen at
/// `substantial`) becomes its legal representative. 422 `invalid_credit_code` for a wrong
/// check character (zh + en).
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/companies", tag = "citizens",
    params(("tenant" = String, Path, description = "tenant code")), request_body = NewCompany,
    responses((status = 201, body = CompanyView), (status = 403, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)), security(("bearer" = [])))]
async fn create_company(
    State(iam): State<Iam>,
    Auth(p): Auth,
    Path(tenant): Path<String>,
    Json(n): Json<NewCompany>,
) -> ApiResult<(StatusCode, Json<CompanyView>)> {
    Ok((
        StatusCode::CREATED,
        Json(iam.register_company(&p, &tenant, &n).await?),
    ))
}

/// A company (its legal representative and its agents see it).
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/companies/{code}", tag = "citizens",
    params(("tenant" = String, Path, description = "tenant code"), ("code" = String, Path, description = "credit code")),
    responses((status = 200, body = CompanyView), (status = 404, body = Problem)), security(("bearer" = [])))]
async fn get_company(
    State(iam): State<Iam>,
    Auth(p): Auth,
    Path((tenant, code)): Path<(String, String)>,
) -> ApiResult<Json<CompanyView>> {
    Ok(Json(iam.company_for(&p, &tenant, &code).await?))
}

/// The company's mandates (授权), newest first, each with its state now (legal
/// representative only).
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/companies/{code}/mandates", tag = "citizens",
    params(("tenant" = String, Path, description = "tenant code"), ("code" = String, Path, description = "credit code")),
    responses((status = 200, body = Vec<MandateView>), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn list_mandates(
    State(iam): State<Iam>,
    Auth(p): Auth,
    Path((tenant, code)): Path<(String, String)>,
) -> ApiResult<Json<Vec<MandateView>>> {
    Ok(Json(iam.list_mandates(&p, &tenant, &code).await?))
}

/// Grant a mandate to a citizen of the tenant (legal representative only).
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/companies/{code}/mandates", tag = "citizens",
    params(("tenant" = String, Path, description = "tenant code"), ("code" = String, Path, description = "credit code")),
    request_body = NewMandate,
    responses((status = 201, body = MandateView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)), security(("bearer" = [])))]
async fn grant_mandate(
    State(iam): State<Iam>,
    Auth(p): Auth,
    Path((tenant, code)): Path<(String, String)>,
    Json(n): Json<NewMandate>,
) -> ApiResult<(StatusCode, Json<MandateView>)> {
    Ok((
        StatusCode::CREATED,
        Json(iam.grant_mandate(&p, &tenant, &code, &n).await?),
    ))
}

/// Revoke a mandate, effective at once (legal representative only).
#[utoipa::path(delete, path = "/api/v1/tenants/{tenant}/companies/{code}/mandates/{id}", tag = "citizens",
    params(("tenant" = String, Path, description = "tenant code"), ("code" = String, Path, description = "credit code"),
        ("id" = Uuid, Path, description = "mandate id")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)), security(("bearer" = [])))]
async fn revoke_mandate(
    State(iam): State<Iam>,
    Auth(p): Auth,
    Path((tenant, code, id)): Path<(String, String, Uuid)>,
) -> ApiResult<StatusCode> {
    iam.revoke_mandate(&p, &tenant, &code, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A declaration (申报) for a company: the demo company action.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Declaration {
    /// The action (e.g. a service item code); the mandate must cover it.
    pub item: String,
    /// Free JSON content (at most 10,000 bytes).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub content: serde_json::Value,
}

/// Record a declaration for the company, as its legal representative or under a mandate
/// covering `item`, decided at this moment: 403 `no_mandate`, `mandate_expired` or
/// `mandate_revoked` otherwise. The record and its audit entry name the person and the
/// mandate.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/companies/{code}/declarations", tag = "citizens",
    params(("tenant" = String, Path, description = "tenant code"), ("code" = String, Path, description = "credit code")),
    request_body = Declaration,
    responses((status = 201, body = CompanyAction), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)), security(("bearer" = [])))]
async fn declare(
    State(iam): State<Iam>,
    Auth(p): Auth,
    Path((tenant, code)): Path<(String, String)>,
    Json(d): Json<Declaration>,
) -> ApiResult<(StatusCode, Json<CompanyAction>)> {
    Ok((
        StatusCode::CREATED,
        Json(
            iam.record_company_action(&p, &tenant, &code, &d.item, &d.content)
                .await?,
        ),
    ))
}
