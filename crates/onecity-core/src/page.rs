//! Cursor pagination for our own REST API (`limit`, `cursor`).
//!
//! A cursor is opaque to clients: URL-safe base64 of a small JSON value the service chose
//! (typically the sort key of the last item returned). `limit` defaults to
//! [`DEFAULT_LIMIT`] and may not exceed [`MAX_LIMIT`].

use base64::Engine;
use serde::{de::DeserializeOwned, Deserialize, Serialize};

/// Page size when the caller gives none.
pub const DEFAULT_LIMIT: u32 = 50;
/// The largest page a caller may ask for.
pub const MAX_LIMIT: u32 = 500;

/// Query parameters of a paginated list: `?limit=50&cursor=...`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1..=500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageQuery {
    /// The effective limit. Errors: `invalid_query` when outside 1..=500.
    pub fn limit(&self) -> crate::Result<u32> {
        match self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            Some(n) => Err(crate::Error::new(
                crate::ErrorCode::InvalidQuery,
                format!("limit must be between 1 and {MAX_LIMIT}, got {n}"),
            )),
        }
    }
    /// Decodes the cursor into the service's key type. Errors: `invalid_cursor`.
    pub fn after<K: DeserializeOwned>(&self) -> crate::Result<Option<K>> {
        self.cursor.as_deref().map(decode_cursor).transpose()
    }
}

/// A page of items and the cursor of the next page (`null` on the last page).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` fetched items: if there is one more than
    /// `limit`, it is dropped and the cursor is made from the last kept item by `key`.
    pub fn from_overfetch<K: Serialize>(
        mut items: Vec<T>,
        limit: u32,
        key: impl Fn(&T) -> K,
    ) -> Self {
        let next_cursor = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|last| encode_cursor(&key(last)))
        } else {
            None
        };
        Page { items, next_cursor }
    }
}

/// Encodes a cursor value.
pub fn encode_cursor<K: Serialize>(k: &K) -> String {
    let json = serde_json::to_vec(k).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
}

/// Decodes a cursor value. Errors: `invalid_cursor`.
pub fn decode_cursor<K: DeserializeOwned>(s: &str) -> crate::Result<K> {
    let bad = || crate::Error::new(crate::ErrorCode::InvalidCursor, "cursor is not valid");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| bad())?;
    serde_json::from_slice(&bytes).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn overfetch_makes_cursor() {
        let p = Page::from_overfetch(vec![1, 2, 3], 2, |x| *x);
        assert_eq!(p.items, vec![1, 2]);
        let k: i32 = decode_cursor(p.next_cursor.as_ref().unwrap()).unwrap();
        assert_eq!(k, 2);
        let p = Page::from_overfetch(vec![1, 2], 2, |x| *x);
        assert!(p.next_cursor.is_none());
    }
    #[test]
    fn limits() {
        let q = PageQuery {
            limit: Some(0),
            cursor: None,
        };
        assert!(q.limit().is_err());
        let q = PageQuery {
            limit: Some(501),
            cursor: None,
        };
        assert!(q.limit().is_err());
        assert!(decode_cursor::<i32>("!!!").is_err());
    }
}
