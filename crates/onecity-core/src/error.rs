//! The one error catalogue of onecity.
//!
//! Every failure a caller can see is an [`Error`] carrying an [`ErrorCode`]: a stable
//! snake_case `code`, an HTTP status and a short title. On the wire our own API renders it as
//! an RFC 9457 problem details object ([`Problem`]):
//!
//! ```json
//! {"type":"https://onecity.dev/problems/not_found","title":"Not found","status":404,
//!  "detail":"jurisdiction 0190… does not exist","code":"not_found"}
//! ```
//!
//! Standard APIs (NGSI-LD, Open311, CKAN) map the same codes to their own shapes.
//! Internal errors (5xx) never carry internal text on the wire: the detail is logged with
//! the request id and the caller sees a generic message.

use serde::{Deserialize, Serialize};
use std::fmt;

/// What every API shows for a 5xx error instead of its detail (the detail is in the
/// server log under the request id).
pub const GENERIC_5XX_DETAIL: &str =
    "the server failed to handle this request; the request id is in the x-request-id header";

/// Result alias used across onecity services.
pub type Result<T, E = Error> = std::result::Result<T, E>;

macro_rules! catalogue {
    ($( $(#[$m:meta])* $variant:ident = ($code:literal, $status:literal, $class:ident, $title:literal) ),+ $(,)?) => {
        /// A stable error code. `code()` is the wire identifier; it never changes once shipped.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode { $( $(#[$m])* $variant ),+ }

        impl ErrorCode {
            /// The stable snake_case identifier, e.g. `"not_found"`.
            pub fn code(self) -> &'static str { match self { $( Self::$variant => $code ),+ } }
            /// The HTTP status this error maps to.
            pub fn status(self) -> u16 { match self { $( Self::$variant => $status ),+ } }
            /// The class every renderer maps by (see [`ErrorClass`]).
            pub fn class(self) -> ErrorClass { match self { $( Self::$variant => ErrorClass::$class ),+ } }
            /// A short human title (RFC 9457 `title`).
            pub fn title(self) -> &'static str { match self { $( Self::$variant => $title ),+ } }
            /// Every code in the catalogue (for docs and tests).
            pub const ALL: &'static [ErrorCode] = &[ $( Self::$variant ),+ ];
        }
    };
}

catalogue! {
    /// The body is not well-formed JSON (or not UTF-8).
    MalformedBody = ("malformed_body", 400, BadRequest, "Malformed request body"),
    /// A field is missing, of the wrong type or out of range.
    InvalidInput = ("invalid_input", 422, Invalid, "Invalid input"),
    /// A query-string parameter is missing or invalid.
    InvalidQuery = ("invalid_query", 400, BadRequest, "Invalid query parameter"),
    /// A geometry is not valid (open ring, self-intersection, coordinates out of range).
    InvalidGeometry = ("invalid_geometry", 422, Invalid, "Invalid geometry"),
    /// The pagination cursor is not one this server issued.
    InvalidCursor = ("invalid_cursor", 400, BadRequest, "Invalid cursor"),
    /// The body exceeds the configured limit.
    PayloadTooLarge = ("payload_too_large", 413, TooLarge, "Payload too large"),
    /// The body has a media type this endpoint does not accept.
    UnsupportedMediaType = ("unsupported_media_type", 415, UnsupportedMedia, "Unsupported media type"),
    /// No credentials were given.
    Unauthenticated = ("unauthenticated", 401, Unauthenticated, "Authentication required"),
    /// The credentials were given but are wrong, expired or forged.
    InvalidCredentials = ("invalid_credentials", 401, Unauthenticated, "Invalid credentials"),
    /// The caller is known but may not do this.
    Forbidden = ("forbidden", 403, Forbidden, "Forbidden"),
    /// The app key lacks the scope this endpoint needs.
    InsufficientScope = ("insufficient_scope", 403, Forbidden, "Insufficient scope"),
    /// The resource does not exist (or the caller may not know that it does).
    NotFound = ("not_found", 404, NotFound, "Not found"),
    /// The tenant named in the request does not exist.
    TenantNotFound = ("tenant_not_found", 404, NotFound, "Unknown tenant"),
    /// The route does not exist.
    RouteNotFound = ("route_not_found", 404, NotFound, "No such route"),
    /// The method is not allowed on this route.
    MethodNotAllowed = ("method_not_allowed", 405, BadRequest, "Method not allowed"),
    /// The change conflicts with the current state (duplicate key, stale version).
    Conflict = ("conflict", 409, Conflict, "Conflict"),
    /// The action cannot be taken in the case's current state (see `allowed_actions`).
    InvalidTransition = ("invalid_transition", 409, Conflict, "Action not allowed in this state"),
    /// Too many requests for this key or account; see `Retry-After`.
    RateLimited = ("rate_limited", 429, RateLimited, "Too many requests"),
    /// Too many failed logins for this account; see `Retry-After`.
    LoginThrottled = ("login_throttled", 429, RateLimited, "Too many failed logins"),
    /// Too many password checks are running at once (the bound on concurrent Argon2
    /// hashing); nothing was evaluated, so the attempt does not count as a failure. See
    /// `Retry-After`.
    LoginBusy = ("login_busy", 503, Unavailable, "Too many logins in progress"),
    /// A second factor (TOTP code, recovery code or WebAuthn assertion) was wrong, already
    /// used, or its sign-in challenge expired (RFC 6238; W3C WebAuthn Level 2).
    MfaFailed = ("mfa_failed", 401, Unauthenticated, "Second factor not accepted"),
    /// An enrolment-only session (a holder of a role that requires a second factor who has
    /// none yet) was used for anything but enrolling one.
    MfaEnrolmentRequired = ("mfa_enrolment_required", 403, Forbidden, "Enrol a second factor first"),
    /// A new password breaks the password policy (length, character classes, username,
    /// recent passwords).
    PasswordPolicy = ("password_policy", 422, Invalid, "Password does not meet the policy"),
    /// The password is older than the configured maximum age; change it first
    /// (`POST /api/v1/auth/password`).
    PasswordExpired = ("password_expired", 403, Forbidden, "Password expired"),
    /// The session was revoked (too many concurrent sessions) or idle for too long.
    SessionEnded = ("session_ended", 401, Unauthenticated, "Session ended"),
    /// The SMS gateway did not accept a message (unreachable, timed out, or answered an
    /// error); nothing was sent. Try again later.
    SmsGatewayFailed = ("sms_gateway_failed", 503, Unavailable, "SMS gateway failed"),
    /// A one-time code is wrong, expired, already used or has had too many attempts
    /// (which of these is not told).
    CodeInvalid = ("code_invalid", 401, Unauthenticated, "Wrong or expired code"),
    /// Too many codes sent to, or guessed for, one phone or e-mail or from one client
    /// address; see `Retry-After`.
    CodeThrottled = ("code_throttled", 429, RateLimited, "Too many code requests"),
    /// A resident identity number (居民身份证号码) is malformed or its check digit or birth
    /// date is wrong (GB 11643-1999).
    InvalidIdNumber = ("invalid_id_number", 422, Invalid, "Invalid identity number"),
    /// The identity verification service did not confirm the name and identity number.
    IdentityNotConfirmed = ("identity_not_confirmed", 422, Invalid, "Identity not confirmed"),
    /// No identity verification service is configured, or it could not be reached.
    IdentityCheckUnavailable = ("identity_check_unavailable", 503, Unavailable, "Identity check unavailable"),
    /// The caller's identity assurance level (eIDAS low / substantial / high) is below what
    /// the resource requires; `required_level` names it.
    AssuranceTooLow = ("assurance_too_low", 403, Forbidden, "Identity assurance level too low"),
    /// A unified social credit code (统一社会信用代码) is malformed or its check character
    /// is wrong (GB 32100-2015).
    InvalidCreditCode = ("invalid_credit_code", 422, Invalid, "Invalid unified social credit code"),
    /// The caller acts for a company without a mandate (授权) covering the action.
    NoMandate = ("no_mandate", 403, Forbidden, "No mandate for this action"),
    /// The mandate covering the action has expired.
    MandateExpired = ("mandate_expired", 403, Forbidden, "Mandate expired"),
    /// The mandate covering the action has been revoked.
    MandateRevoked = ("mandate_revoked", 403, Forbidden, "Mandate revoked"),
    /// An OpenID Connect client is unknown or revoked, or its secret is wrong (RFC 6749
    /// §5.2 `invalid_client`).
    InvalidClient = ("invalid_client", 401, Unauthenticated, "Invalid client"),
    /// An authorization code is unknown, expired (60 s), already used, or was issued for
    /// another client or redirect URI, or the PKCE verifier does not match it (RFC 6749
    /// §5.2 `invalid_grant`, RFC 7636 §4.6).
    InvalidGrant = ("invalid_grant", 400, BadRequest, "Invalid grant"),
    /// The redirect URI is not one registered for the client (exact match): onecity shows
    /// this error instead of redirecting (RFC 6749 §4.1.2.1).
    InvalidRedirectUri = ("invalid_redirect_uri", 400, BadRequest, "Unregistered redirect URI"),
    /// No signing key can be used: the key store runs without a master key.
    SigningKeyUnavailable = ("signing_key_unavailable", 503, Unavailable, "Signing key unavailable"),
    /// Single sign-on through an external OpenID Connect provider is not configured.
    SsoNotConfigured = ("sso_not_configured", 404, NotFound, "Single sign-on not configured"),
    /// The identity provider's answer did not verify (state, ID token signature, issuer,
    /// audience, nonce or expiry), or its claims map to no role.
    SsoFailed = ("sso_failed", 401, Unauthenticated, "Single sign-on failed"),
    /// The identity provider could not be reached or answered with an error.
    SsoUnavailable = ("sso_unavailable", 503, Unavailable, "Identity provider unavailable"),
    /// The server is starting (migrations running) or shutting down.
    NotReady = ("not_ready", 503, Unavailable, "Service not ready"),
    /// The request took longer than the configured timeout.
    Timeout = ("timeout", 503, Unavailable, "Request timed out"),
    /// Something failed inside the server; the detail is in the server log.
    Internal = ("internal", 500, Internal, "Internal server error"),
}

/// What kind of failure a code is. Every renderer (problem+json, NGSI-LD, CKAN, Open311)
/// maps by class in one exhaustive `match` with no wildcard arm, so a new class is a compile
/// error until someone decides how each API shows it; a new code only needs its class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// The request itself is malformed: body, query string, cursor, method (400, 405).
    BadRequest,
    /// The request is well-formed but its content is wrong (422).
    Invalid,
    /// No or wrong credentials (401).
    Unauthenticated,
    /// Known caller, not allowed (403).
    Forbidden,
    /// The resource, tenant or route does not exist (404).
    NotFound,
    /// The change conflicts with the current state (409).
    Conflict,
    /// The body is over a limit (413).
    TooLarge,
    /// The body's media type is not accepted (415).
    UnsupportedMedia,
    /// Over a rate or attempt limit; `Retry-After` says when to come back (429).
    RateLimited,
    /// Starting, shutting down, busy or timed out: try again later (503).
    Unavailable,
    /// A failure inside the server; logged with the request id, never shown (500).
    Internal,
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An error from a onecity service: a catalogue code, a human detail, and optional extras.
#[derive(Debug, Clone)]
pub struct Error {
    /// The catalogue entry.
    pub code: ErrorCode,
    /// Human-readable explanation specific to this occurrence (RFC 9457 `detail`).
    pub detail: String,
    /// Seconds after which a retry may succeed (sent as `Retry-After`).
    pub retry_after: Option<u64>,
    /// Extra members merged into the problem object (e.g. `errors` for a list of problems).
    pub extra: Option<serde_json::Map<String, serde_json::Value>>,
}

impl Error {
    /// An error with a code and a detail.
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
            retry_after: None,
            extra: None,
        }
    }
    /// Shorthand for `invalid_input`.
    pub fn invalid(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidInput, detail)
    }
    /// Shorthand for `not_found`.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, detail)
    }
    /// Shorthand for `forbidden`.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, detail)
    }
    /// Shorthand for `conflict`.
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, detail)
    }
    /// An internal error; `detail` is for the log only and never sent to the caller.
    pub fn internal(detail: impl fmt::Display) -> Self {
        Self::new(ErrorCode::Internal, detail.to_string())
    }
    /// Sets `Retry-After` seconds.
    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }
    /// Adds an extra member to the problem object.
    pub fn with_extra(mut self, key: &str, value: serde_json::Value) -> Self {
        self.extra
            .get_or_insert_with(Default::default)
            .insert(key.to_string(), value);
        self
    }

    /// The detail a caller may see: the detail itself, except for 5xx errors (other than
    /// `not_ready` and `login_busy`, whose details are our own words saying "try again
    /// later") which get [`GENERIC_5XX_DETAIL`]. Every renderer (problem+json, NGSI-LD,
    /// CKAN, Open311) shows this, never `detail`.
    pub fn public_detail(&self) -> String {
        if self.code.status() >= 500
            && !matches!(self.code, ErrorCode::NotReady | ErrorCode::LoginBusy)
        {
            GENERIC_5XX_DETAIL.to_string()
        } else {
            self.detail.clone()
        }
    }

    /// The RFC 9457 body for this error. Internal errors get a generic detail.
    pub fn to_problem(&self) -> Problem {
        let detail = self.public_detail();
        Problem {
            type_: format!("https://onecity.dev/problems/{}", self.code.code()),
            title: self.code.title().to_string(),
            status: self.code.status(),
            detail,
            code: self.code.code().to_string(),
            extra: self.extra.clone().unwrap_or_default(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.code(), self.detail)
    }
}

impl std::error::Error for Error {}

/// An RFC 9457 problem details object with onecity's `code` member.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the problem type: `https://onecity.dev/problems/{code}`.
    #[serde(rename = "type")]
    pub type_: String,
    /// Short summary of the problem type.
    pub title: String,
    /// HTTP status code.
    pub status: u16,
    /// Explanation specific to this occurrence.
    pub detail: String,
    /// Stable snake_case error code from the catalogue.
    pub code: String,
    /// Extension members (e.g. `errors`: a list of every problem found).
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn codes_are_unique_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for c in ErrorCode::ALL {
            assert!(seen.insert(c.code()), "duplicate {}", c.code());
            assert!(c
                .code()
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch == '_'));
            assert!((400..600).contains(&c.status()));
        }
    }
    #[test]
    fn classes_agree_with_statuses() {
        for c in ErrorCode::ALL {
            let ok = match c.class() {
                ErrorClass::BadRequest => matches!(c.status(), 400 | 405),
                ErrorClass::Invalid => c.status() == 422,
                ErrorClass::Unauthenticated => c.status() == 401,
                ErrorClass::Forbidden => c.status() == 403,
                ErrorClass::NotFound => c.status() == 404,
                ErrorClass::Conflict => c.status() == 409,
                ErrorClass::TooLarge => c.status() == 413,
                ErrorClass::UnsupportedMedia => c.status() == 415,
                ErrorClass::RateLimited => c.status() == 429,
                ErrorClass::Unavailable => c.status() == 503,
                ErrorClass::Internal => c.status() == 500,
            };
            assert!(
                ok,
                "{} has status {} but class {:?}",
                c,
                c.status(),
                c.class()
            );
        }
    }
    #[test]
    fn timeout_detail_is_generic_not_ready_is_shown() {
        let t = Error::new(ErrorCode::Timeout, "pool timed out after 10s on sqlite");
        assert_eq!(t.public_detail(), GENERIC_5XX_DETAIL);
        let n = Error::new(ErrorCode::NotReady, "the server is starting");
        assert_eq!(n.public_detail(), "the server is starting");
    }
    #[test]
    fn internal_detail_is_not_leaked() {
        let p = Error::internal("password=hunter2 at db.rs:12").to_problem();
        assert_eq!(p.status, 500);
        assert!(!p.detail.contains("hunter2"));
        let j = serde_json::to_value(&p).unwrap();
        assert_eq!(j["type"], "https://onecity.dev/problems/internal");
    }
}
