//! HTTP routes of the identity and organisation API (`/api/v1/auth`, `/api/v1/tenants/…`).
//! Handlers are thin: extract, authorise (by type), call the service.

use crate::http::{perm, Auth, Authorized};
use crate::users::{ApiKeyCreated, ApiKeyInfo, NewApiKey, NewUser, UserView};
use crate::{Iam, NewDepartment, NewJurisdiction, NewTenant, Permission, Principal, SYSTEM_TENANT};
use axum::extract::State;
use axum::http::StatusCode;
use onecity_core::model::{Department, Jurisdiction, Tenant};
use onecity_core::page::{Page, PageQuery};
use onecity_core::{Error, Problem};
use onecity_http::{ApiResult, Json, Path, Query};
use onecity_store::audit::{AuditFilter, AuditRecord};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

/// The router of this module (state: [`Iam`]).
pub fn routes() -> OpenApiRouter<Iam> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(me))
        .routes(routes!(list_tenants, create_tenant))
        .routes(routes!(get_tenant))
        .routes(routes!(list_jurisdictions, create_jurisdiction))
        .routes(routes!(get_jurisdiction))
        .routes(routes!(list_departments, create_department))
        .routes(routes!(get_department))
        .routes(routes!(list_users, create_user))
        .routes(routes!(list_keys, create_key))
        .routes(routes!(revoke_key))
        .routes(routes!(query_audit))
        .merge(crate::mfa_routes::routes())
        .merge(crate::citizen_routes::routes())
}

/// App keys need the scope itself; users see their own tenants by membership.
fn require_app_scope(p: &Principal, perm: Permission) -> Result<(), Error> {
    if p.kind == crate::PrincipalKind::App && !p.has(perm) {
        return Err(Error::new(
            onecity_core::ErrorCode::InsufficientScope,
            format!("this app key lacks the scope {:?}", perm.scope()),
        ));
    }
    Ok(())
}

/// Login request.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LoginRequest {
    /// Login name.
    pub username: String,
    /// Password.
    pub password: String,
}

/// Login response: a session, or the next step.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LoginResponse {
    /// `session` (signed in), `mfa_required` (send `challenge` and a second factor to
    /// `POST /api/v1/auth/login/mfa`) or `mfa_enrolment_required` (the account's role
    /// requires a second factor and it has none: `enrolment_token` may only enrol one).
    pub step: String,
    /// Session token (step `session`); send as `Authorization: Bearer <token>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Sign-in challenge (step `mfa_required`), valid 5 minutes; not a session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub challenge: Option<String>,
    /// Factors the account has (step `mfa_required`): `totp`, `webauthn`, `recovery_code`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub methods: Option<Vec<String>>,
    /// Enrolment-only session (step `mfa_enrolment_required`), valid 15 minutes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enrolment_token: Option<String>,
    /// Expiry of whichever token was given, RFC 3339 UTC.
    pub expires_at: String,
}

impl LoginResponse {
    /// A session.
    pub fn session(token: String, exp: i64) -> Self {
        LoginResponse {
            step: "session".into(),
            token: Some(token),
            challenge: None,
            methods: None,
            enrolment_token: None,
            expires_at: onecity_core::time::rfc3339(exp * 1_000_000),
        }
    }
}

impl From<crate::mfa::LoginOutcome> for LoginResponse {
    fn from(o: crate::mfa::LoginOutcome) -> Self {
        use crate::mfa::LoginOutcome as O;
        match o {
            O::Session { token, expires_at } => LoginResponse::session(token, expires_at),
            O::MfaRequired {
                challenge,
                expires_at,
                methods,
            } => LoginResponse {
                step: "mfa_required".into(),
                token: None,
                challenge: Some(challenge),
                methods: Some(methods.iter().map(|m| m.to_string()).collect()),
                enrolment_token: None,
                expires_at: onecity_core::time::rfc3339(expires_at * 1_000_000),
            },
            O::EnrolmentRequired { token, expires_at } => LoginResponse {
                step: "mfa_enrolment_required".into(),
                token: None,
                challenge: None,
                methods: None,
                enrolment_token: Some(token),
                expires_at: onecity_core::time::rfc3339(expires_at * 1_000_000),
            },
        }
    }
}

/// Log in with a username and password (Argon2id). The answer is a session token, or,
/// for an account with a second factor (or whose role requires one), the next step (see
/// `LoginResponse.step`). After 5 failures for one account, or 100 from one client
/// address, within 15 minutes: 429 `login_throttled` with `Retry-After`, decided before
/// the password is checked. When too many password checks run at once: 503 `login_busy`
/// with `Retry-After: 1`. A password older than the configured maximum age: 403
/// `password_expired`.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 429, body = Problem), (status = 503, body = Problem)))]
async fn login(
    State(iam): State<Iam>,
    crate::http::ClientAddr(addr): crate::http::ClientAddr,
    Json(req): Json<LoginRequest>,
) -> ApiResult<Json<LoginResponse>> {
    if req.username.len() > 256 || req.password.len() > 1024 {
        return Err(Error::new(
            onecity_core::ErrorCode::InvalidCredentials,
            "username or password is wrong",
        )
        .into());
    }
    let outcome = iam.login(&req.username, &req.password, addr).await?;
    Ok(Json(outcome.into()))
}

/// The authenticated caller with its grants.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth",
    responses((status = 200, body = Principal), (status = 401, body = Problem)), security(("bearer" = [])))]
async fn me(Auth(p): Auth) -> Json<Principal> {
    Json((*p).clone())
}

/// Tenants the caller may see.
#[utoipa::path(get, path = "/api/v1/tenants", tag = "org", params(PageQuery),
    responses((status = 200, body = Page<Tenant>), (status = 401, body = Problem)), security(("bearer" = [])))]
async fn list_tenants(
    State(iam): State<Iam>,
    Auth(p): Auth,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Page<Tenant>>> {
    require_app_scope(&p, Permission::JurisdictionRead)?;
    Ok(Json(iam.list_tenants(&p, &q).await?))
}

/// Create a tenant with its root jurisdiction (platform admins).
#[utoipa::path(post, path = "/api/v1/tenants", tag = "org", request_body = NewTenant,
    responses((status = 201, body = Tenant), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
async fn create_tenant(
    State(iam): State<Iam>,
    p: Authorized<perm::TenantWrite>,
    Json(n): Json<NewTenant>,
) -> ApiResult<(StatusCode, Json<Tenant>)> {
    Ok((
        StatusCode::CREATED,
        Json(iam.create_tenant(&p.actor(), &n).await?),
    ))
}

/// One tenant.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}", tag = "org", params(("tenant" = String, Path, description = "tenant code")),
    responses((status = 200, body = Tenant), (status = 404, body = Problem)), security(("bearer" = [])))]
async fn get_tenant(
    State(iam): State<Iam>,
    Auth(p): Auth,
    Path(tenant): Path<String>,
) -> ApiResult<Json<Tenant>> {
    require_app_scope(&p, Permission::JurisdictionRead)?;
    Ok(Json(iam.tenant(&p, &tenant).await?))
}

/// Filters of the jurisdiction list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JurisdictionQuery {
    /// Only children of this node.
    pub parent_id: Option<Uuid>,
    /// Only this level.
    pub level: Option<String>,
    /// Page size 1..=500.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// Cursor from the previous page.
    pub cursor: Option<String>,
}

/// Jurisdictions the caller may read (its subtrees), in creation order.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/jurisdictions", tag = "org",
    params(("tenant" = String, Path, description = "tenant code"), JurisdictionQuery),
    responses((status = 200, body = Page<Jurisdiction>), (status = 404, body = Problem)), security(("bearer" = [])))]
async fn list_jurisdictions(
    State(iam): State<Iam>,
    p: Authorized<perm::JurisdictionRead>,
    Path(tenant): Path<String>,
    Query(q): Query<JurisdictionQuery>,
) -> ApiResult<Json<Page<Jurisdiction>>> {
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    };
    Ok(Json(
        iam.list_jurisdictions(&p, &tenant, q.parent_id, q.level.as_deref(), &page)
            .await?,
    ))
}

/// Create a jurisdiction under a parent (default: the tenant's root).
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/jurisdictions", tag = "org", params(("tenant" = String, Path, description = "tenant code")),
    request_body = NewJurisdiction,
    responses((status = 201, body = Jurisdiction), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
async fn create_jurisdiction(
    State(iam): State<Iam>,
    p: Authorized<perm::JurisdictionWrite>,
    Path(tenant): Path<String>,
    Json(n): Json<NewJurisdiction>,
) -> ApiResult<(StatusCode, Json<Jurisdiction>)> {
    Ok((
        StatusCode::CREATED,
        Json(iam.create_jurisdiction(&p, &tenant, &n).await?),
    ))
}

/// One jurisdiction (404 outside the caller's subtrees).
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/jurisdictions/{id}", tag = "org",
    params(("tenant" = String, Path, description = "tenant code"), ("id" = Uuid, Path, description = "jurisdiction id")),
    responses((status = 200, body = Jurisdiction), (status = 404, body = Problem)), security(("bearer" = [])))]
async fn get_jurisdiction(
    State(iam): State<Iam>,
    p: Authorized<perm::JurisdictionRead>,
    Path((tenant, id)): Path<(String, Uuid)>,
) -> ApiResult<Json<Jurisdiction>> {
    iam.tenant(&p, &tenant).await?;
    Ok(Json(iam.jurisdiction(&p, &tenant, id).await?))
}

/// Filters of the department list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DepartmentQuery {
    /// Only departments of this jurisdiction.
    pub jurisdiction_id: Option<Uuid>,
    /// Page size 1..=500.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// Cursor from the previous page.
    pub cursor: Option<String>,
}

/// Departments the caller may read.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/departments", tag = "org",
    params(("tenant" = String, Path, description = "tenant code"), DepartmentQuery),
    responses((status = 200, body = Page<Department>), (status = 404, body = Problem)), security(("bearer" = [])))]
async fn list_departments(
    State(iam): State<Iam>,
    p: Authorized<perm::DepartmentRead>,
    Path(tenant): Path<String>,
    Query(q): Query<DepartmentQuery>,
) -> ApiResult<Json<Page<Department>>> {
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    };
    Ok(Json(
        iam.list_departments(&p, &tenant, q.jurisdiction_id, &page)
            .await?,
    ))
}

/// Create a department in a jurisdiction.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/departments", tag = "org", params(("tenant" = String, Path, description = "tenant code")),
    request_body = NewDepartment,
    responses((status = 201, body = Department), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
async fn create_department(
    State(iam): State<Iam>,
    p: Authorized<perm::DepartmentWrite>,
    Path(tenant): Path<String>,
    Json(n): Json<NewDepartment>,
) -> ApiResult<(StatusCode, Json<Department>)> {
    Ok((
        StatusCode::CREATED,
        Json(iam.create_department(&p, &tenant, &n).await?),
    ))
}

/// One department (404 outside the caller's subtrees).
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/departments/{id}", tag = "org",
    params(("tenant" = String, Path, description = "tenant code"), ("id" = Uuid, Path, description = "department id")),
    responses((status = 200, body = Department), (status = 404, body = Problem)), security(("bearer" = [])))]
async fn get_department(
    State(iam): State<Iam>,
    p: Authorized<perm::DepartmentRead>,
    Path((tenant, id)): Path<(String, Uuid)>,
) -> ApiResult<Json<Department>> {
    Ok(Json(iam.department(&p, &tenant, id).await?))
}

/// Users of a tenant the caller may read.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/users", tag = "iam",
    params(("tenant" = String, Path, description = "tenant code"), PageQuery),
    responses((status = 200, body = Page<UserView>), (status = 404, body = Problem)), security(("bearer" = [])))]
async fn list_users(
    State(iam): State<Iam>,
    p: Authorized<perm::UserRead>,
    Path(tenant): Path<String>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Page<UserView>>> {
    Ok(Json(iam.list_users(&p, &tenant, &q).await?))
}

/// Create a user with role grants.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/users", tag = "iam", params(("tenant" = String, Path, description = "tenant code")),
    request_body = NewUser,
    responses((status = 201, body = UserView), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
async fn create_user(
    State(iam): State<Iam>,
    p: Authorized<perm::UserWrite>,
    Path(tenant): Path<String>,
    Json(n): Json<NewUser>,
) -> ApiResult<(StatusCode, Json<UserView>)> {
    Ok((
        StatusCode::CREATED,
        Json(iam.create_user(&p, &tenant, &n).await?),
    ))
}

/// App keys of a tenant the caller manages.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/keys", tag = "iam", params(("tenant" = String, Path, description = "tenant code")),
    responses((status = 200, body = Vec<ApiKeyInfo>), (status = 403, body = Problem)), security(("bearer" = [])))]
async fn list_keys(
    State(iam): State<Iam>,
    p: Authorized<perm::KeyWrite>,
    Path(tenant): Path<String>,
) -> ApiResult<Json<Vec<ApiKeyInfo>>> {
    Ok(Json(iam.list_keys(&p, &tenant).await?))
}

/// Create an app key; the secret is in the response only.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/keys", tag = "iam", params(("tenant" = String, Path, description = "tenant code")),
    request_body = NewApiKey,
    responses((status = 201, body = ApiKeyCreated), (status = 403, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
async fn create_key(
    State(iam): State<Iam>,
    p: Authorized<perm::KeyWrite>,
    Path(tenant): Path<String>,
    Json(n): Json<NewApiKey>,
) -> ApiResult<(StatusCode, Json<ApiKeyCreated>)> {
    Ok((
        StatusCode::CREATED,
        Json(iam.create_key(&p, &tenant, &n).await?),
    ))
}

/// Revoke an app key.
#[utoipa::path(delete, path = "/api/v1/tenants/{tenant}/keys/{id}", tag = "iam",
    params(("tenant" = String, Path, description = "tenant code"), ("id" = Uuid, Path, description = "key id")),
    responses((status = 204), (status = 404, body = Problem)), security(("bearer" = [])))]
async fn revoke_key(
    State(iam): State<Iam>,
    p: Authorized<perm::KeyWrite>,
    Path((tenant, id)): Path<(String, Uuid)>,
) -> ApiResult<StatusCode> {
    iam.revoke_key(&p, &tenant, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Filters of the audit query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Exact actor (`user:<id>`, `app:<id>`, `system`, `anonymous`).
    pub actor: Option<String>,
    /// Exact action, e.g. `jurisdiction.create`.
    pub action: Option<String>,
    /// Exact resource type.
    pub resource_type: Option<String>,
    /// Exact resource id.
    pub resource_id: Option<String>,
    /// At or after (RFC 3339).
    pub since: Option<String>,
    /// Before (RFC 3339).
    pub until: Option<String>,
    /// Page size 1..=500.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// Cursor from the previous page.
    pub cursor: Option<String>,
}

/// A tenant's audit trail in chain order (`_system` for deployment-level records, platform
/// admins only). Needs `audit_read` over the tenant's root.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/audit", tag = "audit",
    params(("tenant" = String, Path, description = "tenant code, or _system"), AuditQuery),
    responses((status = 200, body = Page<AuditRecord>), (status = 403, body = Problem), (status = 404, body = Problem)), security(("bearer" = [])))]
async fn query_audit(
    State(iam): State<Iam>,
    p: Authorized<perm::AuditRead>,
    Path(tenant): Path<String>,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Json<Page<AuditRecord>>> {
    if tenant == SYSTEM_TENANT {
        if !p.is_platform_admin() {
            return Err(
                Error::forbidden("only platform admins read the deployment's audit trail").into(),
            );
        }
    } else {
        let t = iam.tenant(&p, &tenant).await?;
        let root = iam
            .jurisdiction_unchecked(&tenant, t.root_jurisdiction_id)
            .await?;
        if !p.can_at(Permission::AuditRead, &tenant, &root.path) {
            return Err(Error::forbidden(
                "reading the audit trail needs audit_read over the whole tenant",
            )
            .into());
        }
    }
    let f = AuditFilter {
        tenant,
        actor: q.actor,
        action: q.action,
        resource_type: q.resource_type,
        resource_id: q.resource_id,
        since: q
            .since
            .as_deref()
            .map(|s| {
                onecity_core::time::parse_rfc3339(s, "since")
                    .map_err(|e| Error::new(onecity_core::ErrorCode::InvalidQuery, e.detail))
            })
            .transpose()?,
        until: q
            .until
            .as_deref()
            .map(|s| {
                onecity_core::time::parse_rfc3339(s, "until")
                    .map_err(|e| Error::new(onecity_core::ErrorCode::InvalidQuery, e.detail))
            })
            .transpose()?,
    };
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    };
    Ok(Json(iam.auditor().query(iam.db(), &f, &page).await?))
}
