//! NGSI-LD errors (ETSI GS CIM 009 §5.5.2 and §A.2): problem details with the NGSI-LD
//! problem type URIs, served as `application/json`.
//!
//! The NGSI-LD API keeps its own error shape (DESIGN.md §3: standard APIs keep their own
//! error shapes): `{"type": "https://uri.etsi.org/ngsi-ld/errors/BadRequestData",
//! "title": "...", "status": 400, "detail": "..."}`.

use serde_json::json;

/// The NGSI-LD problem types this broker returns (GS CIM 009 table 5.5.2-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// 400: the request is not well formed (bad JSON, unknown parameter combination).
    InvalidRequest,
    /// 400: the request is well formed but its content is wrong (bad attribute, bad q).
    BadRequestData,
    /// 409: an entity with this id already exists.
    AlreadyExists,
    /// 422: the operation is not supported (e.g. a geometry type we do not evaluate).
    OperationNotSupported,
    /// 404: the entity, attribute or type does not exist.
    ResourceNotFound,
    /// 500: something failed inside the broker (details only in the server log).
    InternalError,
    /// 403: `limit` above the maximum, or a result set too large.
    TooManyResults,
    /// 504: an `@context` could not be retrieved (the value the ETSI conformance suite
    /// checks, GS CIM 009 §5.5.6).
    LdContextNotAvailable,
    /// 401 / 403: missing or insufficient credentials (platform tokens and app keys).
    Unauthorized,
    /// 403: the credentials do not allow this tenant or entity type.
    Forbidden,
    /// 413: the request body exceeds the configured NGSI-LD limit.
    PayloadTooLarge,
    /// 415: the Content-Type is neither `application/json` nor `application/ld+json`.
    UnsupportedMediaType,
    /// 406: the Accept header names no media type we produce.
    NotAcceptable,
    /// 404: a read names an `NGSILD-Tenant` that holds nothing (never written to).
    NonexistentTenant,
    /// 429: an app key over its rate (not an NGSI-LD problem type: the platform's own
    /// `rate_limited` type, with `Retry-After`).
    TooManyRequests,
    /// 503: the broker is starting, busy or timed out (the platform's `unavailable` type).
    ServiceUnavailable,
}

impl ProblemKind {
    /// The problem type URI.
    pub fn type_uri(self) -> &'static str {
        match self {
            Self::InvalidRequest => "https://uri.etsi.org/ngsi-ld/errors/InvalidRequest",
            Self::BadRequestData => "https://uri.etsi.org/ngsi-ld/errors/BadRequestData",
            Self::AlreadyExists => "https://uri.etsi.org/ngsi-ld/errors/AlreadyExists",
            Self::OperationNotSupported => {
                "https://uri.etsi.org/ngsi-ld/errors/OperationNotSupported"
            }
            Self::ResourceNotFound => "https://uri.etsi.org/ngsi-ld/errors/ResourceNotFound",
            Self::InternalError => "https://uri.etsi.org/ngsi-ld/errors/InternalError",
            Self::TooManyResults => "https://uri.etsi.org/ngsi-ld/errors/TooManyResults",
            Self::LdContextNotAvailable => {
                "https://uri.etsi.org/ngsi-ld/errors/LdContextNotAvailable"
            }
            Self::Unauthorized => "https://uri.etsi.org/ngsi-ld/errors/Unauthorized",
            Self::Forbidden => "https://uri.etsi.org/ngsi-ld/errors/Forbidden",
            Self::PayloadTooLarge => "https://uri.etsi.org/ngsi-ld/errors/PayloadTooLarge",
            Self::UnsupportedMediaType => {
                "https://uri.etsi.org/ngsi-ld/errors/UnsupportedMediaType"
            }
            Self::NotAcceptable => "https://uri.etsi.org/ngsi-ld/errors/NotAcceptable",
            Self::NonexistentTenant => "https://uri.etsi.org/ngsi-ld/errors/NonexistentTenant",
            Self::TooManyRequests => "https://onecity.dev/problems/rate_limited",
            Self::ServiceUnavailable => "https://onecity.dev/problems/unavailable",
        }
    }

    /// The HTTP status.
    pub fn status(self) -> u16 {
        match self {
            Self::InvalidRequest | Self::BadRequestData => 400,
            Self::AlreadyExists => 409,
            Self::OperationNotSupported => 422,
            Self::ResourceNotFound | Self::NonexistentTenant => 404,
            Self::InternalError => 500,
            Self::TooManyResults | Self::Forbidden => 403,
            Self::LdContextNotAvailable => 504,
            Self::Unauthorized => 401,
            Self::PayloadTooLarge => 413,
            Self::UnsupportedMediaType => 415,
            Self::NotAcceptable => 406,
            Self::TooManyRequests => 429,
            Self::ServiceUnavailable => 503,
        }
    }

    /// A short title.
    pub fn title(self) -> &'static str {
        match self {
            Self::InvalidRequest => "Invalid request",
            Self::BadRequestData => "Bad request data",
            Self::AlreadyExists => "Already exists",
            Self::OperationNotSupported => "Operation not supported",
            Self::ResourceNotFound => "Resource not found",
            Self::InternalError => "Internal error",
            Self::TooManyResults => "Too many results",
            Self::LdContextNotAvailable => "@context not available",
            Self::Unauthorized => "Unauthorized",
            Self::Forbidden => "Forbidden",
            Self::PayloadTooLarge => "Payload too large",
            Self::UnsupportedMediaType => "Unsupported media type",
            Self::NotAcceptable => "Not acceptable",
            Self::NonexistentTenant => "Nonexistent tenant",
            Self::TooManyRequests => "Too many requests",
            Self::ServiceUnavailable => "Service unavailable",
        }
    }
}

/// An NGSI-LD error: a problem kind and a human-readable detail saying what is wrong.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{kind:?}: {detail}")]
pub struct NgsiError {
    /// The problem type.
    pub kind: ProblemKind,
    /// What is wrong, for the caller (never internals: 5xx details are only logged).
    pub detail: String,
    /// Seconds after which a retry may succeed (sent as `Retry-After`; 429 and 503).
    pub retry_after: Option<u64>,
}

/// Result alias of the twin.
pub type NgsiResult<T> = Result<T, NgsiError>;

impl NgsiError {
    /// A new error.
    pub fn new(kind: ProblemKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
            retry_after: None,
        }
    }
    /// 400 BadRequestData.
    pub fn bad_data(detail: impl Into<String>) -> Self {
        Self::new(ProblemKind::BadRequestData, detail)
    }
    /// 400 InvalidRequest.
    pub fn invalid(detail: impl Into<String>) -> Self {
        Self::new(ProblemKind::InvalidRequest, detail)
    }
    /// 404 ResourceNotFound.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(ProblemKind::ResourceNotFound, detail)
    }
    /// 500 InternalError (the detail is logged, not shown).
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        Self::new(ProblemKind::InternalError, detail.to_string())
    }

    /// The JSON body (`type`, `title`, `status`, `detail`); 5xx details are replaced by a
    /// generic text.
    pub fn body(&self) -> serde_json::Value {
        let detail = if self.kind.status() >= 500 && self.kind != ProblemKind::LdContextNotAvailable
        {
            onecity_core::GENERIC_5XX_DETAIL.to_string()
        } else {
            self.detail.clone()
        };
        json!({
            "type": self.kind.type_uri(),
            "title": self.kind.title(),
            "status": self.kind.status(),
            "detail": detail,
        })
    }
}

impl From<onecity_core::Error> for NgsiError {
    /// Maps by class (no wildcard: a new class must be decided here).
    fn from(e: onecity_core::Error) -> Self {
        use onecity_core::{ErrorClass as K, ErrorCode as C};
        let kind = match e.code.class() {
            K::BadRequest if e.code == C::MalformedBody => ProblemKind::InvalidRequest,
            K::BadRequest | K::Invalid => ProblemKind::BadRequestData,
            K::Unauthenticated => ProblemKind::Unauthorized,
            K::Forbidden => ProblemKind::Forbidden,
            K::NotFound if e.code == C::TenantNotFound => ProblemKind::NonexistentTenant,
            K::NotFound => ProblemKind::ResourceNotFound,
            K::Conflict => ProblemKind::AlreadyExists,
            K::TooLarge => ProblemKind::PayloadTooLarge,
            K::UnsupportedMedia => ProblemKind::UnsupportedMediaType,
            K::RateLimited => ProblemKind::TooManyRequests,
            K::Unavailable => ProblemKind::ServiceUnavailable,
            K::Internal => ProblemKind::InternalError,
        };
        NgsiError {
            kind,
            detail: e.detail,
            retry_after: e.retry_after,
        }
    }
}
