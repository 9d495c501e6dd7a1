//! Identifiers: every onecity resource id is a UUIDv7 (RFC 9562 §5.7), time-ordered so that
//! ids sort by creation time and index well.

use uuid::Uuid;

/// A new UUIDv7 (RFC 9562 §5.7): 48-bit Unix-millisecond timestamp, then random bits.
pub fn new_id() -> Uuid {
    Uuid::now_v7()
}

/// Parses a textual UUID, mapping failure to the catalogue's `invalid_input`.
///
/// `what` names the field in the error detail (e.g. `"jurisdiction_id"`).
pub fn parse_id(s: &str, what: &str) -> crate::Result<Uuid> {
    Uuid::parse_str(s).map_err(|_| {
        crate::Error::new(
            crate::ErrorCode::InvalidInput,
            format!("{what} must be a UUID, got {:?}", truncate(s, 64)),
        )
    })
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn v7_ids_sort_by_time() {
        let a = new_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = new_id();
        assert!(a < b);
        assert_eq!(a.get_version_num(), 7);
    }
    #[test]
    fn parse_rejects_garbage() {
        let e = parse_id("x'; DROP TABLE", "id").unwrap_err();
        assert_eq!(e.code, crate::ErrorCode::InvalidInput);
    }
}
