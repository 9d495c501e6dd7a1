//! Small input validators shared by services; each returns the catalogue's `invalid_input`.

use crate::{Error, Result};

/// Checks a required free-text field: trimmed non-empty, at most `max` characters, no
/// control characters. Quotes, SQL keywords and any Unicode letters are fine (all SQL is
/// parameterised).
pub fn text(field: &str, value: &str, max: usize) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::invalid(format!("{field} must not be empty")));
    }
    if value.chars().count() > max {
        return Err(Error::invalid(format!(
            "{field} is longer than {max} characters"
        )));
    }
    if value.chars().any(|c| c.is_control()) {
        return Err(Error::invalid(format!(
            "{field} must not contain control characters"
        )));
    }
    Ok(())
}

/// Checks a code (tenant code, jurisdiction code, username): 1..=64 characters of
/// ASCII letters, digits, `-`, `_`, `.`.
pub fn code(field: &str, value: &str) -> Result<()> {
    if value.is_empty() || value.len() > 64 {
        return Err(Error::invalid(format!(
            "{field} must be 1 to 64 characters"
        )));
    }
    if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(Error::invalid(format!(
            "{field} may hold only ASCII letters, digits, '-', '_' and '.'"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn text_rules() {
        assert!(super::text("name", "西湖区 'Robert'); DROP TABLE x;--", 100).is_ok());
        assert!(super::text("name", "  ", 100).is_err());
        assert!(super::text("name", "a\u{0}b", 100).is_err());
        assert!(super::code("code", "330106").is_ok());
        assert!(super::code("code", "a b").is_err());
    }
}
