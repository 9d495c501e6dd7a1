//! Slugs (CKAN `name`) from titles in any script.
//!
//! Titles are transliterated to ASCII with `deunicode` (Chinese to toneless pinyin syllables,
//! `Å` — precomposed or `A` + combining ring — to `A`), lower-cased, and every run of
//! other characters becomes one `-`. The result is cut to 90 characters so that a `-N`
//! suffix for uniqueness still fits CKAN's limit of 100.

/// Max length of a slug made from a title (leaves room for a `-NNN` suffix).
pub const MAX_BASE: usize = 90;

/// The slug base of `title`: `[a-z0-9-]`, no leading, trailing or doubled `-`; `dataset`
/// when nothing is left.
pub fn slugify(title: &str) -> String {
    let ascii = deunicode::deunicode(title);
    let mut out = String::with_capacity(ascii.len());
    let mut dash = false;
    for c in ascii.chars() {
        if c.is_ascii_alphanumeric() {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.push(c.to_ascii_lowercase());
        } else {
            dash = true;
        }
        if out.len() >= MAX_BASE {
            break;
        }
    }
    out.truncate(MAX_BASE);
    let out = out.trim_end_matches('-').to_string();
    if out.len() < 2 {
        "dataset".into()
    } else {
        out
    }
}

/// Checks a slug given by a client (CKAN's rule): 2–100 characters of lower-case ASCII
/// letters, digits, `-` and `_`.
pub fn check(name: &str) -> onecity_core::Result<()> {
    let ok = (2..=100).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(onecity_core::Error::invalid(format!(
            "name {name:?} must be 2-100 characters of lower-case letters a-z, digits, '-' and '_'"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_titles_become_pinyin() {
        assert_eq!(slugify("杭州市公交线路"), "hang-zhou-shi-gong-jiao-xian-lu");
    }

    #[test]
    fn decomposed_and_precomposed_a_ring_agree() {
        let composed = slugify("\u{c5}rhus bycykler");
        let decomposed = slugify("A\u{30a}rhus bycykler");
        assert_eq!(composed, "arhus-bycykler");
        assert_eq!(decomposed, composed);
    }

    #[test]
    fn punctuation_collapses_and_empty_falls_back() {
        assert_eq!(slugify("  Road -- works: 2024/25 "), "road-works-2024-25");
        assert_eq!(slugify("!!!"), "dataset");
        assert!(slugify(&"长".repeat(200)).len() <= MAX_BASE);
        check(&slugify(&"长".repeat(200))).unwrap();
    }

    #[test]
    fn check_refuses_upper_case_and_unicode() {
        assert!(check("ok-name_1").is_ok());
        assert!(check("Bad").is_err());
        assert!(check("杭州").is_err());
        assert!(check("a").is_err());
    }
}
