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

/// A permission marker type (see [`perm`]).
pub trait Perm: Send + Sync + 'static {
    /// The permission.
    const P: Permission;
}

/// Marker types, one per [`Permission`].
pub mod perm {
    macro_rules! markers {
        ($($name:ident),*) => {$(
            #[doc = concat!("Marker for `Permission::", stringify!($name), "`.")]
            pub struct $name;
            impl super::Perm for $name { const P: crate::Permission = crate::Permission::$name; }
        )*};
    }
    markers!(
        JurisdictionRead,
        JurisdictionWrite,
        DepartmentRead,
        DepartmentWrite,
        UserRead,
        UserWrite,
        KeyWrite,
        AuditRead,
        GeoRead,
        GeoWrite,
        TenantWrite,
        FlowAdmin,
        CaseRead,
        TwinRead,
        TwinWrite
    );
}

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
