//! Session tokens: JWT (RFC 7519) signed with HMAC-SHA-256 (`HS256`) under a server secret
//! shared by every replica through the database. Only `HS256` is accepted: `alg: none` and
//! every other algorithm are rejected, as are expired tokens (no leeway beyond 30 s).

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use onecity_core::{Error, ErrorCode, Result};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Claims of a session token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// Principal id.
    pub sub: Uuid,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Token id.
    pub jti: Uuid,
    /// What the token is for when it is not a session: [`PURPOSE_MFA_CHALLENGE`] (the
    /// second sign-in step) or [`PURPOSE_MFA_ENROL`] (an enrolment-only session).
    /// Absent for ordinary sessions (and in every token issued before it existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
}

/// `purpose` of a sign-in challenge: proves the password was right, is not a session.
pub const PURPOSE_MFA_CHALLENGE: &str = "mfa_challenge";
/// `purpose` of an enrolment-only session: may only enrol a second factor.
pub const PURPOSE_MFA_ENROL: &str = "mfa_enrol";

/// Signs and checks session tokens.
#[derive(Clone)]
pub struct TokenSigner {
    enc: EncodingKey,
    dec: DecodingKey,
    validation: Validation,
}

impl TokenSigner {
    /// A signer over a secret key.
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 30;
        validation.validate_exp = true;
        validation.set_required_spec_claims(&["exp", "sub"]);
        TokenSigner {
            enc: EncodingKey::from_secret(secret),
            dec: DecodingKey::from_secret(secret),
            validation,
        }
    }

    /// Issues a token for `sub` valid for `ttl_secs`.
    pub fn issue(&self, sub: Uuid, ttl_secs: i64) -> Result<(String, i64)> {
        self.issue_for(sub, ttl_secs, None).map(|(t, c)| (t, c.exp))
    }

    /// Issues a token for `sub` valid for `ttl_secs` with a `purpose` (`None` = session);
    /// returns the token and its claims.
    pub fn issue_for(
        &self,
        sub: Uuid,
        ttl_secs: i64,
        purpose: Option<&str>,
    ) -> Result<(String, Claims)> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub,
            exp: now + ttl_secs,
            iat: now,
            jti: onecity_core::new_id(),
            purpose: purpose.map(str::to_string),
        };
        let t =
            encode(&Header::new(Algorithm::HS256), &claims, &self.enc).map_err(Error::internal)?;
        Ok((t, claims))
    }

    /// Checks a token. Errors: `invalid_credentials` for anything but a valid, unexpired
    /// HS256 token signed with our key.
    pub fn check(&self, token: &str) -> Result<Claims> {
        decode::<Claims>(token, &self.dec, &self.validation)
            .map(|d| d.claims)
            .map_err(|e| {
                let why = match e.kind() {
                    jsonwebtoken::errors::ErrorKind::ExpiredSignature => "it has expired",
                    jsonwebtoken::errors::ErrorKind::InvalidSignature => {
                        "its signature is not ours"
                    }
                    jsonwebtoken::errors::ErrorKind::InvalidAlgorithm => {
                        "it is not signed with HS256"
                    }
                    _ => "it is not a valid onecity session token",
                };
                Error::new(
                    ErrorCode::InvalidCredentials,
                    format!("token rejected: {why}"),
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    #[test]
    fn rejects_forged_none_and_expired() {
        let s = TokenSigner::new(b"k1k1k1k1k1k1k1k1k1k1k1k1k1k1k1k1");
        let id = onecity_core::new_id();
        let (t, _) = s.issue(id, 60).unwrap();
        assert_eq!(s.check(&t).unwrap().sub, id);
        let other = TokenSigner::new(b"k2k2k2k2k2k2k2k2k2k2k2k2k2k2k2k2");
        assert!(other.check(&t).is_err(), "foreign signature");
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let payload = t.split('.').nth(1).unwrap();
        let none = format!(
            "{}.{}.",
            b64.encode(br#"{"alg":"none","typ":"JWT"}"#),
            payload
        );
        assert!(s.check(&none).is_err(), "alg none");
        let (old, _) = s.issue(id, -120).unwrap();
        assert!(s.check(&old).is_err(), "expired");
    }
}
