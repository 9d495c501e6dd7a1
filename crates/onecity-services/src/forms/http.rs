//! HTTP API of forms and files: thin handlers over [`Hall`]'s form and file methods.
//!
//! Forms under `/api/v1/tenants/{tenant}/services/forms`, submissions under
//! `/api/v1/tenants/{tenant}/services/submissions`, files under
//! `/api/v1/tenants/{tenant}/files`. Problem messages come in the caller's language: the
//! body's `lang`, else `?lang=`, else `Accept-Language`, else Chinese.
//!
//! Uploads are the raw request body (no multipart: a browser sends a `File` object as the
//! body of `fetch` as it is, and no new parser is needed), with the file name,
//! percent-encoded UTF-8, in `X-File-Name`. The declared `Content-Type` is not trusted:
//! the type is found in the content.

use super::{AnswersRequest, CheckResult, FormVersion, Lang, NewFormVersion, Submission};
use crate::Hall;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequestParts, State};
use axum::http::header::{
    ACCEPT_LANGUAGE, CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS,
};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use onecity_core::{Error, ErrorCode, Problem};
use onecity_http::{ApiResult, Json, Path, Query};
use onecity_iam::http::{perm, Auth, Authorized};
use onecity_store::files::{StoredFile, MAX_SIZE_LIMIT};
use percent_encoding::{percent_decode_str, utf8_percent_encode, NON_ALPHANUMERIC};
use serde::Deserialize;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;
use uuid::Uuid;

/// The upload route's body limit: the largest file any question may allow, plus slack.
const UPLOAD_BODY_LIMIT: usize = MAX_SIZE_LIMIT as usize + 64 * 1024;

/// The header that carries an upload's file name (percent-encoded UTF-8).
pub const FILE_NAME_HEADER: &str = "x-file-name";

/// The router of forms, submissions and files (state: [`Hall`]).
pub fn routes() -> OpenApiRouter<Hall> {
    OpenApiRouter::new()
        .routes(routes!(list_forms))
        .routes(routes!(get_form))
        .routes(routes!(list_versions, save_version))
        .routes(routes!(check))
        .routes(routes!(submit))
        .routes(routes!(get_submission))
        .routes(routes!(upload).layer(DefaultBodyLimit::max(UPLOAD_BODY_LIMIT)))
        .routes(routes!(read_file))
        .routes(routes!(file_meta))
}

/// The caller's language: `?lang=`, else `Accept-Language`, else Chinese.
pub struct ReqLang(pub Lang);

impl<S: Send + Sync> FromRequestParts<S> for ReqLang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let from_query = parts.uri.query().and_then(|q| {
            q.split('&')
                .filter_map(|kv| kv.split_once('='))
                .find(|(k, _)| *k == "lang")
                .and_then(|(_, v)| Lang::from_tag(v))
        });
        let from_header = || {
            parts
                .headers
                .get(ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Lang::from_accept_language)
        };
        Ok(ReqLang(from_query.or_else(from_header).unwrap_or(Lang::Zh)))
    }
}

const T: &str = "tenant code";
const K: &str = "form key";

/// Filter of the form list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Only the forms of this service item (事项 code).
    pub item_code: Option<String>,
    /// Language of messages (`zh`, `en`).
    pub lang: Option<String>,
}

/// The latest version of every form of the tenant (of one item with `item_code`), by key.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/services/forms", tag = "services",
    params(("tenant" = String, Path, description = T), ListParams),
    responses((status = 200, body = Vec<FormVersion>), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn list_forms(
    State(h): State<Hall>,
    Auth(p): Auth,
    Path(tenant): Path<String>,
    Query(q): Query<ListParams>,
) -> ApiResult<Json<Vec<FormVersion>>> {
    Ok(Json(h.forms(&p, &tenant, q.item_code.as_deref()).await?))
}

/// Which version.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct VersionParams {
    /// A version number (default: the latest).
    pub version: Option<i64>,
    /// Language of messages (`zh`, `en`).
    pub lang: Option<String>,
}

/// One version of a form (the latest by default): its schema and UI hints.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/services/forms/{key}", tag = "services",
    params(("tenant" = String, Path, description = T), ("key" = String, Path, description = K), VersionParams),
    responses((status = 200, body = FormVersion), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn get_form(
    State(h): State<Hall>,
    Auth(p): Auth,
    Path((tenant, key)): Path<(String, String)>,
    Query(q): Query<VersionParams>,
) -> ApiResult<Json<FormVersion>> {
    Ok(Json(h.form(&p, &tenant, &key, q.version).await?))
}

/// Every version of a form, newest first, each with its breaking changes.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/services/forms/{key}/versions", tag = "services",
    params(("tenant" = String, Path, description = T), ("key" = String, Path, description = K)),
    responses((status = 200, body = Vec<FormVersion>), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn list_versions(
    State(h): State<Hall>,
    Auth(p): Auth,
    Path((tenant, key)): Path<(String, String)>,
) -> ApiResult<Json<Vec<FormVersion>>> {
    Ok(Json(h.form_versions(&p, &tenant, &key).await?))
}

/// Save a new version of a form (the designer's save; a new form is version 1). The
/// schema and hints must be exactly what the designer makes of its questions; every
/// problem is listed (`problems: [{pointer, message}]`, 422). A stale `expected_version`
/// is 409. Audited as `form.version`.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/services/forms/{key}/versions", tag = "services",
    params(("tenant" = String, Path, description = T), ("key" = String, Path, description = K)),
    request_body = NewFormVersion,
    responses((status = 201, body = FormVersion), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn save_version(
    State(h): State<Hall>,
    p: Authorized<perm::ServiceAdmin>,
    ReqLang(lang): ReqLang,
    Path((tenant, key)): Path<(String, String)>,
    Json(n): Json<NewFormVersion>,
) -> ApiResult<(StatusCode, Json<FormVersion>)> {
    let v = h.save_form(&p, &tenant, &key, &n, lang).await?;
    Ok((StatusCode::CREATED, Json(v)))
}

/// Check answers without storing them: every problem at its JSON pointer, in the caller's
/// language.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/services/forms/{key}/check", tag = "services",
    params(("tenant" = String, Path, description = T), ("key" = String, Path, description = K)),
    request_body = AnswersRequest,
    responses((status = 200, body = CheckResult), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn check(
    State(h): State<Hall>,
    Auth(p): Auth,
    ReqLang(lang): ReqLang,
    Path((tenant, key)): Path<(String, String)>,
    Json(r): Json<AnswersRequest>,
) -> ApiResult<Json<CheckResult>> {
    let lang = r.lang.unwrap_or(lang);
    Ok(Json(h.check_answers(&p, &tenant, &key, &r, lang).await?))
}

/// Submit answers. They are checked first (schema, then each named file: the caller's own,
/// with its stored type and size); with any problem nothing is stored and the answer is
/// 422 `invalid_input` with `problems: [{pointer, keyword, message}]` and `version`.
/// Audited as `form.submit`.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/services/forms/{key}/submissions", tag = "services",
    params(("tenant" = String, Path, description = T), ("key" = String, Path, description = K)),
    request_body = AnswersRequest,
    responses((status = 201, body = Submission), (status = 401, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn submit(
    State(h): State<Hall>,
    Auth(p): Auth,
    ReqLang(lang): ReqLang,
    Path((tenant, key)): Path<(String, String)>,
    Json(r): Json<AnswersRequest>,
) -> ApiResult<(StatusCode, Json<Submission>)> {
    let lang = r.lang.unwrap_or(lang);
    let s = h.submit_answers(&p, &tenant, &key, &r, lang).await?;
    Ok((StatusCode::CREATED, Json(s)))
}

/// One submission, for its submitter or staff holding `service_admin`.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/services/submissions/{id}", tag = "services",
    params(("tenant" = String, Path, description = T), ("id" = Uuid, Path, description = "submission id")),
    responses((status = 200, body = Submission), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn get_submission(
    State(h): State<Hall>,
    Auth(p): Auth,
    Path((tenant, id)): Path<(String, Uuid)>,
) -> ApiResult<Json<Submission>> {
    Ok(Json(h.submission(&p, &tenant, id).await?))
}

/// Whose limits an upload takes.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UploadParams {
    /// Form key: with `question`, the upload takes that file question's types and size.
    pub form: Option<String>,
    /// File question id (`group/question` inside a repeatable group).
    pub question: Option<String>,
}

/// Upload a file (材料): the raw body, its name percent-encoded in `X-File-Name`. The
/// type is found in the content (JPEG, PNG, PDF by default; a form's file question names
/// its own types and size with `?form=&question=`). Refused: a name with a path, `..`,
/// NUL or control characters (422), too large (413), a type not allowed by content (415).
/// Audited as `file.upload`.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/files", tag = "services",
    params(("tenant" = String, Path, description = T), UploadParams,
        ("X-File-Name" = String, Header, description = "the file name, percent-encoded UTF-8")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "the file's bytes"),
    responses((status = 201, body = StoredFile), (status = 401, body = Problem), (status = 413, body = Problem),
        (status = 415, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn upload(
    State(h): State<Hall>,
    Auth(p): Auth,
    Path(tenant): Path<String>,
    Query(q): Query<UploadParams>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<StoredFile>)> {
    let raw = headers
        .get(FILE_NAME_HEADER)
        .ok_or_else(|| {
            Error::invalid(
                "文件名缺失：请在 X-File-Name 头中发送（UTF-8 百分号编码） / send the file name in the X-File-Name header (percent-encoded UTF-8)",
            )
        })?
        .to_str()
        .map_err(|_| {
            Error::invalid(
                "X-File-Name 应为百分号编码的 UTF-8 / X-File-Name must be percent-encoded UTF-8",
            )
        })?;
    let name = percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| Error::invalid("文件名不是有效的 UTF-8 / the file name is not valid UTF-8"))?;
    let target = match (&q.form, &q.question) {
        (Some(f), Some(qn)) => Some((f.as_str(), qn.as_str())),
        (None, None) => None,
        _ => {
            return Err(Error::new(
                ErrorCode::InvalidQuery,
                "give both form and question, or neither",
            )
            .into())
        }
    };
    let policy = h.upload_policy(&p, &tenant, target).await?;
    let f = h.upload_file(&p, &tenant, &name, &body, &policy).await?;
    Ok((StatusCode::CREATED, Json(f)))
}

/// A file's content, for its owner or staff holding `service_admin` in the tenant (others:
/// 404). Sent as an attachment with its stored type; a read by anyone but the owner is
/// audited as `file.read`.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/files/{id}", tag = "services",
    params(("tenant" = String, Path, description = T), ("id" = Uuid, Path, description = "file id")),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>),
        (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn read_file(
    State(h): State<Hall>,
    Auth(p): Auth,
    Path((tenant, id)): Path<(String, Uuid)>,
) -> ApiResult<Response> {
    let (f, bytes) = h.read_file(&p, &tenant, id).await?;
    let ascii: String = f
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let disposition = format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
        utf8_percent_encode(&f.name, NON_ALPHANUMERIC)
    );
    Ok((
        [
            (CONTENT_TYPE, f.media_type.clone()),
            (CONTENT_DISPOSITION, disposition),
            (X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
            (CACHE_CONTROL, "private, no-store".to_string()),
        ],
        bytes,
    )
        .into_response())
}

/// A file's metadata, for its owner or staff holding `service_admin` (not audited: no
/// content is read).
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/files/{id}/meta", tag = "services",
    params(("tenant" = String, Path, description = T), ("id" = Uuid, Path, description = "file id")),
    responses((status = 200, body = StoredFile), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn file_meta(
    State(h): State<Hall>,
    Auth(p): Auth,
    Path((tenant, id)): Path<(String, Uuid)>,
) -> ApiResult<Json<StoredFile>> {
    Ok(Json(h.file_meta(&p, &tenant, id).await?))
}
