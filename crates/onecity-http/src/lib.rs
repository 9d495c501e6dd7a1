//! onecity-http: the HTTP glue every module router shares.
//!
//! Owns the rendering of catalogue errors as RFC 9457 problem details ([`ApiError`]), the
//! JSON body and query extractors whose rejections use that format ([`Json`], [`Query`]),
//! and the fallback for unknown routes. Module crates write thin handlers:
//! extract → authorise (see `onecity-iam`) → call a plain service → [`ApiResult`].

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{header, request::Parts, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use onecity_core::{Error, ErrorCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// A catalogue error on its way out as `application/problem+json`.
#[derive(Debug)]
pub struct ApiError(pub Error);

/// Handler result type.
pub type ApiResult<T> = Result<T, ApiError>;

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        problem_response(&self.0)
    }
}

/// Renders an error as an RFC 9457 response (with `Retry-After` when set). 5xx details are
/// logged here and replaced by a generic text on the wire.
pub fn problem_response(e: &Error) -> Response {
    if e.code.status() >= 500 {
        tracing::error!(code = e.code.code(), detail = %e.detail, "request failed");
    }
    let status = StatusCode::from_u16(e.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(&e.to_problem()).unwrap_or_default();
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    if let Some(s) = e.retry_after {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(s));
    }
    resp
}

/// A JSON body extractor whose rejections are problem details:
/// `malformed_body` (400) for bad JSON or bad UTF-8, `invalid_input` (422) for wrong
/// types or missing fields, `unsupported_media_type` (415), `payload_too_large` (413).
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Json(v)),
            Err(rej) => Err(ApiError(json_rejection(rej))),
        }
    }
}

fn json_rejection(rej: JsonRejection) -> Error {
    match rej {
        JsonRejection::JsonDataError(e) => Error::invalid(e.body_text()),
        JsonRejection::JsonSyntaxError(e) => Error::new(ErrorCode::MalformedBody, e.body_text()),
        JsonRejection::MissingJsonContentType(_) => Error::new(
            ErrorCode::UnsupportedMediaType,
            "expected a body with Content-Type: application/json",
        ),
        JsonRejection::BytesRejection(e) => {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Error::new(
                    ErrorCode::PayloadTooLarge,
                    "the request body is larger than the configured limit",
                )
            } else {
                Error::new(ErrorCode::MalformedBody, e.body_text())
            }
        }
        other => Error::new(ErrorCode::MalformedBody, other.body_text()),
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// A query-string extractor whose rejections are `invalid_query` problem details.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Query(v)),
            Err(rej) => Err(ApiError(query_rejection(rej))),
        }
    }
}

fn query_rejection(rej: QueryRejection) -> Error {
    Error::new(ErrorCode::InvalidQuery, rej.body_text())
}

/// A path extractor whose rejections are `invalid_query`-style problem details
/// (`not_found` for ids that do not parse, so probing ids reveals nothing).
#[derive(Debug, Clone)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(_) => Err(ApiError(Error::not_found(
                "no such resource (an id in the path is not valid)",
            ))),
        }
    }
}

/// Fallback for unknown routes: a `route_not_found` problem.
pub async fn fallback(uri: axum::http::Uri) -> ApiError {
    ApiError(Error::new(
        ErrorCode::RouteNotFound,
        format!("no route for {}", uri.path()),
    ))
}

/// Maps responses that axum produced itself (405, 413 from the body limit layer) to
/// problem details, leaving every other response untouched.
pub async fn problemize(resp: Response) -> Response {
    let is_problem = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if is_problem {
        return resp;
    }
    match resp.status() {
        StatusCode::METHOD_NOT_ALLOWED => problem_response(&Error::new(
            ErrorCode::MethodNotAllowed,
            "this method is not allowed on this route",
        )),
        StatusCode::PAYLOAD_TOO_LARGE => problem_response(&Error::new(
            ErrorCode::PayloadTooLarge,
            "the request body is larger than the configured limit",
        )),
        StatusCode::REQUEST_TIMEOUT => {
            problem_response(&Error::new(ErrorCode::Timeout, "the request took too long"))
        }
        _ => resp,
    }
}
