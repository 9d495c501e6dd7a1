//! Identity assurance levels (eIDAS, Regulation (EU) No 910/2014 art. 8 and Implementing
//! Regulation 2015/1502) and the pluggable real-name check (实名认证).
//!
//! - `low`: the citizen registered and proved control of a phone number or e-mail address
//!   with a one-time code.
//! - `substantial`: the citizen's name and resident identity number (GB 11643-1999 check
//!   digit verified) were confirmed by an identity register through an
//!   [`IdentityVerifier`].
//! - `high`: needs an in-person or chip-based proof (e.g. the identity card's chip read
//!   through a certified reader, or the national network identity authentication
//!   网络身份认证); onecity does not reach it itself. It is defined so that resources can
//!   require it and a future verifier can grant it.
//!
//! A principal without a level (staff and apps created by an administrator) is below
//! `low`.

use onecity_core::{Error, ErrorCode, Result};
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// An eIDAS assurance level; ordered `low < substantial < high`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AssuranceLevel {
    /// Registered with a verified phone number or e-mail address.
    Low,
    /// Real name checked against an identity register.
    Substantial,
    /// Not reachable in onecity (see the module docs).
    High,
}

impl AssuranceLevel {
    /// Wire and storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Substantial => "substantial",
            Self::High => "high",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Low, Self::Substantial, Self::High]
            .into_iter()
            .find(|l| l.as_str() == s)
    }
}

/// Refuses a caller whose level is below `need`: 401 `unauthenticated` for anonymous
/// callers, else 403 `assurance_too_low` with `required_level` and `current_level` (null
/// when none) in the problem object.
pub fn require(caller: Option<&crate::Principal>, need: AssuranceLevel, what: &str) -> Result<()> {
    let Some(p) = caller else {
        return Err(Error::new(
            ErrorCode::Unauthenticated,
            format!(
                "{what} requires identity assurance level {:?}; sign in",
                need.as_str()
            ),
        ));
    };
    if p.assurance.is_some_and(|have| have >= need) {
        return Ok(());
    }
    let have = p.assurance.map(AssuranceLevel::as_str);
    Err(Error::new(
        ErrorCode::AssuranceTooLow,
        format!(
            "{what} requires identity assurance level {:?} (需要身份认证等级 {}); yours is {}{}",
            need.as_str(),
            need.as_str(),
            have.map_or("none".to_string(), |h| format!("{h:?}")),
            if need == AssuranceLevel::Substantial {
                "; complete the real-name check (实名认证) first"
            } else {
                ""
            }
        ),
    )
    .with_extra("required_level", serde_json::json!(need.as_str()))
    .with_extra("current_level", serde_json::json!(have)))
}

/// What a verifier said about a name and identity number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// The register holds a person with this name and number.
    pub confirmed: bool,
    /// The level a confirmation reaches (normally `substantial`).
    pub level: AssuranceLevel,
    /// Which verifier answered (`http`, `synthetic`, …), recorded with the result.
    pub source: String,
    /// The register is synthetic (demo data): results are labelled so.
    pub synthetic: bool,
}

/// A boxed future, as the verifier trait returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The real-name check (实名认证), pluggable: the binary wires one.
pub trait IdentityVerifier: Send + Sync {
    /// Asks whether `name` and the (already check-digit-verified) 18-character
    /// `id_number` belong to one person in the register, for a citizen of `tenant`.
    ///
    /// Errors: `identity_check_unavailable` (503) when the register cannot be asked.
    fn verify<'a>(
        &'a self,
        tenant: &'a str,
        name: &'a str,
        id_number: &'a str,
    ) -> BoxFuture<'a, Result<Verification>>;
}

fn unavailable(why: impl std::fmt::Display) -> Error {
    tracing::warn!(%why, "identity verification service failed");
    Error::new(
        ErrorCode::IdentityCheckUnavailable,
        format!("the identity verification service failed: {why}"),
    )
}

/// A verifier that asks a configured HTTP verification service.
///
/// Request: `POST <url>` with `Authorization: Bearer <token>` when configured and
/// `{"name": "张三", "id_number": "11010519491231002X", "tenant": "t1"}`. Answer: 200
/// with `{"match": true|false}`; anything else is `identity_check_unavailable`. A
/// confirmation reaches `substantial`.
pub struct HttpIdentityVerifier {
    url: String,
    token: Option<String>,
    http: reqwest::Client,
}

impl HttpIdentityVerifier {
    /// A verifier over the service at `url`; each request times out after `timeout`.
    pub fn new(url: &str, token: Option<String>, timeout: Duration) -> Result<Self> {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(Error::invalid(format!(
                "identity_verifier_url {url:?} must be an http:// or https:// URL"
            )));
        }
        Ok(HttpIdentityVerifier {
            url: url.into(),
            token,
            http: reqwest::Client::builder()
                .timeout(timeout)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(Error::internal)?,
        })
    }
}

impl IdentityVerifier for HttpIdentityVerifier {
    fn verify<'a>(
        &'a self,
        tenant: &'a str,
        name: &'a str,
        id_number: &'a str,
    ) -> BoxFuture<'a, Result<Verification>> {
        Box::pin(async move {
            let mut req = self.http.post(&self.url).json(&serde_json::json!({
                "name": name, "id_number": id_number, "tenant": tenant
            }));
            if let Some(t) = &self.token {
                req = req.bearer_auth(t);
            }
            let r = req.send().await.map_err(|e| unavailable(e.without_url()))?;
            if !r.status().is_success() {
                return Err(unavailable(format!("HTTP {}", r.status().as_u16())));
            }
            let body: serde_json::Value = r.json().await.map_err(unavailable)?;
            let confirmed = body
                .get("match")
                .and_then(serde_json::Value::as_bool)
                .ok_or_else(|| unavailable("the answer has no boolean \"match\""))?;
            Ok(Verification {
                confirmed,
                level: AssuranceLevel::Substantial,
                source: "http".into(),
                synthetic: false,
            })
        })
    }
}

/// Looks a person up in a register: `(tenant, name, id_number) → found`.
pub type RegisterLookup =
    Arc<dyn for<'a> Fn(&'a str, &'a str, &'a str) -> BoxFuture<'a, Result<bool>> + Send + Sync>;

/// The demo verifier: checks against the synthetic register (a datastore table of
/// generated persons that the binary wires as a [`RegisterLookup`]). Results are labelled
/// `synthetic` (source `synthetic`, [`Verification::synthetic`] true) and reach
/// `substantial` only in that labelled sense.
pub struct SyntheticRegisterVerifier {
    lookup: RegisterLookup,
}

impl SyntheticRegisterVerifier {
    /// A verifier over `lookup`.
    pub fn new(lookup: RegisterLookup) -> Self {
        SyntheticRegisterVerifier { lookup }
    }
}

impl IdentityVerifier for SyntheticRegisterVerifier {
    fn verify<'a>(
        &'a self,
        tenant: &'a str,
        name: &'a str,
        id_number: &'a str,
    ) -> BoxFuture<'a, Result<Verification>> {
        Box::pin(async move {
            let confirmed = (self.lookup)(tenant, name, id_number).await?;
            Ok(Verification {
                confirmed,
                level: AssuranceLevel::Substantial,
                source: "synthetic".into(),
                synthetic: true,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_ordered_and_named() {
        assert!(AssuranceLevel::Low < AssuranceLevel::Substantial);
        assert!(AssuranceLevel::Substantial < AssuranceLevel::High);
        assert_eq!(
            AssuranceLevel::parse("substantial"),
            Some(AssuranceLevel::Substantial)
        );
        assert_eq!(AssuranceLevel::parse("medium"), None);
        let mut p = crate::Principal::system();
        p.assurance = Some(AssuranceLevel::Low);
        let e = require(Some(&p), AssuranceLevel::Substantial, "reading x").unwrap_err();
        assert_eq!(e.code, ErrorCode::AssuranceTooLow);
        assert!(e.detail.contains("\"substantial\""), "{}", e.detail);
        let extra = e.extra.unwrap();
        assert_eq!(extra["required_level"], "substantial");
        assert_eq!(extra["current_level"], "low");
        p.assurance = Some(AssuranceLevel::Substantial);
        require(Some(&p), AssuranceLevel::Substantial, "reading x").unwrap();
        require(Some(&p), AssuranceLevel::Low, "reading x").unwrap();
        assert_eq!(
            require(None, AssuranceLevel::Low, "x").unwrap_err().code,
            ErrorCode::Unauthenticated
        );
    }

    #[tokio::test]
    async fn synthetic_verifier_labels_results() {
        let lookup: RegisterLookup = Arc::new(|_t, name, id| {
            let found = name == "张三" && id == "11010519491231002X";
            Box::pin(async move { Ok(found) })
        });
        let v = SyntheticRegisterVerifier::new(lookup);
        let yes = v.verify("t1", "张三", "11010519491231002X").await.unwrap();
        assert!(yes.confirmed && yes.synthetic);
        assert_eq!(yes.source, "synthetic");
        let no = v.verify("t1", "李四", "11010519491231002X").await.unwrap();
        assert!(!no.confirmed);
    }
}
