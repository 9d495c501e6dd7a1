//! Extractors that prove who the caller is and that it holds a permission.
//!
//! Credentials: `Authorization: Bearer <session token or app key>`, the bare value
//! `Authorization: <app key>` (as CKAN clients send it), or `X-Api-Key: <app key>`.
//!
//! [`Authorized<P>`] is the permission in the type: a handler taking
//! `Authorized<perm::JurisdictionWrite>` cannot run for a caller that holds
//! `jurisdiction_write` nowhere. Subtree checks (which node) happen in the service, which
//! answers `not_found` for resources outside the caller's subtrees.

use crate::{Iam, Permission, Principal, PrincipalKind};
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use onecity_core::{Error, ErrorCode};
use onecity_http::ApiError;
use std::marker::PhantomData;
use std::sync::Arc;

/// Reads the credential from the request headers.
pub fn credential(headers: &axum::http::HeaderMap) -> Option<&str> {
    if let Some(v) = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let v = v.trim();
        if let Some(rest) = v
            .strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
        {
            return Some(rest.trim());
        }
        if v.starts_with("oc_") {
            return Some(v);
        }
        return Some(v);
    }
    headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// Any authenticated caller.
pub struct Auth(pub Arc<Principal>);

impl<S> FromRequestParts<S> for Auth
where
    Iam: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let iam = Iam::from_ref(state);
        let cred = credential(&parts.headers).ok_or_else(|| {
            Error::new(
                ErrorCode::Unauthenticated,
                "send Authorization: Bearer <token or app key>",
            )
        })?;
        Ok(Auth(iam.authenticate(cred).await?))
    }
}

/// A person signed in with a full session or an enrolment-only one (see
/// [`crate::mfa`]): `.1` is true for the latter. Only the second-factor enrolment routes
/// take it; app keys are refused (403).
pub struct EnrolAuth(pub Arc<Principal>, pub bool);

impl<S> FromRequestParts<S> for EnrolAuth
where
    Iam: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let iam = Iam::from_ref(state);
        let cred = credential(&parts.headers).ok_or_else(|| {
            Error::new(
                ErrorCode::Unauthenticated,
                "send Authorization: Bearer <session or enrolment token>",
            )
        })?;
        let (p, restricted) = iam.authenticate_for_enrolment(cred).await?;
        Ok(EnrolAuth(p, restricted))
    }
}

/// A permission marker type (see [`perm`]).
pub trait Perm: Send + Sync + 'static {
    /// The permission.
    const P: Permission;
}

pub use crate::roles::perm;

/// An authenticated caller that holds permission `P` somewhere.
///
/// Rejections: 401 `unauthenticated` / `invalid_credentials`; 403 `forbidden` (users) or
/// `insufficient_scope` (app keys) when `P` is held nowhere; 429 `rate_limited`.
pub struct Authorized<P: Perm>(pub Arc<Principal>, PhantomData<P>);

impl<P: Perm> std::ops::Deref for Authorized<P> {
    type Target = Principal;
    fn deref(&self) -> &Principal {
        &self.0
    }
}

impl<S, P: Perm> FromRequestParts<S> for Authorized<P>
where
    Iam: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Auth(p) = Auth::from_request_parts(parts, state).await?;
        if !p.has(P::P) {
            return Err(if p.kind == PrincipalKind::App {
                Error::new(
                    ErrorCode::InsufficientScope,
                    format!("this app key lacks the scope {:?}", P::P.scope()),
                )
            } else {
                Error::forbidden(format!("you lack the permission {:?}", P::P.scope()))
            }
            .into());
        }
        Ok(Authorized(p, PhantomData))
    }
}

#[cfg(test)]
mod credential_tests {
    use super::credential;
    use axum::http::HeaderMap;

    fn h(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.insert(*k, v.parse().unwrap());
        }
        m
    }

    #[test]
    fn bearer_bare_and_x_api_key_are_read() {
        assert_eq!(
            credential(&h(&[("authorization", "Bearer abc.def")])),
            Some("abc.def")
        );
        assert_eq!(
            credential(&h(&[("authorization", "bearer  oc_k1 ")])),
            Some("oc_k1")
        );
        // CKAN clients (ckanapi) send the bare key as the whole value.
        assert_eq!(
            credential(&h(&[("authorization", "oc_key123")])),
            Some("oc_key123")
        );
        assert_eq!(
            credential(&h(&[("authorization", " eyJ.tok.en ")])),
            Some("eyJ.tok.en")
        );
        assert_eq!(credential(&h(&[("x-api-key", "oc_k2")])), Some("oc_k2"));
        // Authorization wins over X-Api-Key; nothing sent is None.
        assert_eq!(
            credential(&h(&[("authorization", "Bearer a"), ("x-api-key", "b")])),
            Some("a")
        );
        assert_eq!(credential(&HeaderMap::new()), None);
    }
}

/// The client's address, as far as this server can tell (never rejects).
///
/// It is the TCP peer's address (axum's `ConnectInfo<SocketAddr>`, which the binary
/// installs). Only when that peer is one of [`crate::IamConfig::trusted_proxies`] is
/// `X-Forwarded-For` read: from its right end, the first address that is not itself a
/// trusted proxy is the client (entries a client wrote to the left are not believed).
/// `None` when the server runs without connection info (in-process routers in tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub Option<std::net::IpAddr>);

impl ClientAddr {
    /// The client address from the peer address and the `X-Forwarded-For` values.
    pub fn resolve(
        peer: Option<std::net::IpAddr>,
        forwarded_for: &[&str],
        trusted: &[ipnet::IpNet],
    ) -> Option<std::net::IpAddr> {
        let peer = peer?;
        let is_trusted = |ip: &std::net::IpAddr| trusted.iter().any(|n| n.contains(ip));
        if !is_trusted(&peer) {
            return Some(peer);
        }
        let hops: Vec<&str> = forwarded_for.iter().flat_map(|v| v.split(',')).collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            let Ok(ip) = hop.trim().parse::<std::net::IpAddr>() else {
                break;
            };
            client = ip;
            if !is_trusted(&ip) {
                break;
            }
        }
        Some(client)
    }
}

impl<S> FromRequestParts<S> for ClientAddr
where
    Iam: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let iam = Iam::from_ref(state);
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip());
        let forwarded: Vec<&str> = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        Ok(ClientAddr(ClientAddr::resolve(
            peer,
            &forwarded,
            &iam.config().trusted_proxies,
        )))
    }
}

#[cfg(test)]
mod client_addr_tests {
    use super::ClientAddr;

    #[test]
    fn forwarded_for_only_from_trusted_proxies() {
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let ip = |s: &str| Some(s.parse().unwrap());
        // An untrusted peer: its header is ignored.
        assert_eq!(
            ClientAddr::resolve(ip("203.0.113.9"), &["198.51.100.1"], &trusted),
            ip("203.0.113.9")
        );
        // A trusted proxy: the rightmost untrusted hop is the client.
        assert_eq!(
            ClientAddr::resolve(
                ip("10.0.0.2"),
                &["1.2.3.4, 198.51.100.1, 10.0.0.3"],
                &trusted
            ),
            ip("198.51.100.1")
        );
        // A trusted proxy without the header: the proxy itself.
        assert_eq!(
            ClientAddr::resolve(ip("10.0.0.2"), &[], &trusted),
            ip("10.0.0.2")
        );
        assert_eq!(ClientAddr::resolve(None, &["1.2.3.4"], &trusted), None);
    }
}
