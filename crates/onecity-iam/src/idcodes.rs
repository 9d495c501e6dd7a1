//! Check characters of Chinese identity codes.
//!
//! - 居民身份证号码 (citizen identity number), GB 11643-1999: 6-digit region code (GB/T
//!   2260), 8-digit birth date `YYYYMMDD`, 3-digit sequence (odd = male), and a check
//!   character computed with ISO 7064:1983 MOD 11-2 (`0`–`9` or `X`).
//! - 统一社会信用代码 (unified social credit code), GB 32100-2015: 1 registration-authority
//!   character, 1 type character, 6-digit region code, 9-character organisation code (GB
//!   11714-1997, with its own MOD 11 check character), and a check character over the first
//!   17 characters, weights `3^i mod 31`, from the 31-character alphabet
//!   `0-9 A-H J-N P-R T U W-Y` (no I, O, S, V, Z).
//!
//! Every error names the position and the expected character, in Chinese and English, so a
//! clerk can see a typing slip at once.

use std::fmt;

/// Why a code was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdCodeError {
    /// Wrong number of characters.
    Length {
        /// Expected length.
        expected: usize,
        /// Length given.
        got: usize,
    },
    /// A character not allowed at a position (1-based).
    Character {
        /// 1-based position.
        position: usize,
        /// The character found.
        found: char,
    },
    /// The birth date (identity numbers) is not a real date.
    BirthDate(String),
    /// The check character does not match the rest.
    Check {
        /// The check character the rest of the code gives.
        expected: char,
        /// The check character given.
        found: char,
    },
}

impl fmt::Display for IdCodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdCodeError::Length { expected, got } => write!(
                f,
                "应为 {expected} 位，实际 {got} 位 (must be {expected} characters, got {got})"
            ),
            IdCodeError::Character { position, found } => write!(
                f,
                "第 {position} 位字符 {found:?} 不允许 (character {found:?} is not allowed at position {position})"
            ),
            IdCodeError::BirthDate(d) => write!(
                f,
                "出生日期 {d} 不是有效日期 (birth date {d} is not a real date)"
            ),
            IdCodeError::Check { expected, found } => write!(
                f,
                "校验位应为 {expected}，实际为 {found}，请检查是否输错 (the check character should be {expected}, not {found}: check for a typing slip)"
            ),
        }
    }
}

impl std::error::Error for IdCodeError {}

/// ISO 7064 MOD 11-2 weights `2^(17-i) mod 11` for the 17 leading digits.
const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check character by `sum mod 11`.
const ID_CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// The check character of a resident identity number's first 17 digits (GB 11643-1999);
/// `None` unless `body` is exactly 17 ASCII digits.
pub fn resident_id_check(body: &str) -> Option<char> {
    let b = body.as_bytes();
    if b.len() != 17 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = b
        .iter()
        .zip(ID_WEIGHTS)
        .map(|(c, w)| u32::from(c - b'0') * w)
        .sum();
    Some(ID_CHECK[(sum % 11) as usize])
}

/// Validates an 18-character resident identity number: digits, a real birth date between
/// 1800-01-01 and 2199-12-31, and the check character (a lower-case `x` is accepted as `X`).
///
/// # Errors
/// [`IdCodeError`] naming the first problem found.
pub fn validate_resident_id(id: &str) -> Result<(), IdCodeError> {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() != 18 {
        return Err(IdCodeError::Length {
            expected: 18,
            got: chars.len(),
        });
    }
    if let Some((i, c)) = chars[..17]
        .iter()
        .enumerate()
        .find(|(_, c)| !c.is_ascii_digit())
    {
        return Err(IdCodeError::Character {
            position: i + 1,
            found: *c,
        });
    }
    let last = chars[17].to_ascii_uppercase();
    if !(last.is_ascii_digit() || last == 'X') {
        return Err(IdCodeError::Character {
            position: 18,
            found: chars[17],
        });
    }
    let birth = &id[6..14];
    let ok = chrono::NaiveDate::parse_from_str(birth, "%Y%m%d")
        .ok()
        .is_some_and(|d| (1800..2200).contains(&chrono::Datelike::year(&d)));
    if !ok {
        return Err(IdCodeError::BirthDate(birth.to_string()));
    }
    let expected = resident_id_check(&id[..17]).unwrap_or('?');
    if expected != last {
        return Err(IdCodeError::Check {
            expected,
            found: chars[17],
        });
    }
    Ok(())
}

/// The credit code alphabet (GB 32100-2015, table 1): value = index.
const CREDIT_ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
/// Weights `3^i mod 31` for the 17 leading characters.
const CREDIT_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

fn credit_value(c: char) -> Option<u32> {
    CREDIT_ALPHABET.find(c).map(|i| i as u32)
}

/// The check character of a credit code's first 17 characters (GB 32100-2015); `None`
/// unless `body` is 17 characters of the credit-code alphabet.
pub fn credit_code_check(body: &str) -> Option<char> {
    if body.chars().count() != 17 {
        return None;
    }
    let mut sum = 0;
    for (c, w) in body.chars().zip(CREDIT_WEIGHTS) {
        sum += credit_value(c)? * w;
    }
    let v = (31 - sum % 31) % 31;
    CREDIT_ALPHABET.chars().nth(v as usize)
}

/// GB 11714-1997 weights for the organisation code's 8 body characters.
const ORG_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];

/// The check character of an organisation code's 8 body characters (GB 11714-1997: digits
/// are their value, letters `A`=10 … `Z`=35; check = `11 - sum mod 11`, 10 → `X`, 11 → `0`);
/// `None` unless `body` is 8 digits or upper-case letters.
pub fn organization_code_check(body: &str) -> Option<char> {
    if body.len() != 8 {
        return None;
    }
    let mut sum = 0;
    for (c, w) in body.chars().zip(ORG_WEIGHTS) {
        sum += c.to_digit(36).filter(|_| !c.is_ascii_lowercase())? * w;
    }
    Some(match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        n => char::from_digit(n, 10)?,
    })
}

/// Validates an 18-character unified social credit code: the alphabet, and the check
/// character. (The embedded organisation code's own check character is not enforced: codes
/// issued to some organisation types carry identifiers that are not GB 11714 codes.)
///
/// # Errors
/// [`IdCodeError`] naming the first problem found.
pub fn validate_credit_code(code: &str) -> Result<(), IdCodeError> {
    let chars: Vec<char> = code.chars().collect();
    if chars.len() != 18 {
        return Err(IdCodeError::Length {
            expected: 18,
            got: chars.len(),
        });
    }
    if let Some((i, c)) = chars
        .iter()
        .enumerate()
        .find(|(_, c)| credit_value(**c).is_none())
    {
        return Err(IdCodeError::Character {
            position: i + 1,
            found: *c,
        });
    }
    let body: String = chars[..17].iter().collect();
    let expected = credit_code_check(&body).unwrap_or('?');
    if expected != chars[17] {
        return Err(IdCodeError::Check {
            expected,
            found: chars[17],
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resident_ids() {
        // The example number printed in GB 11643-1999.
        assert_eq!(validate_resident_id("11010519491231002X"), Ok(()));
        assert_eq!(validate_resident_id("11010519491231002x"), Ok(()));
        assert_eq!(resident_id_check("11010519491231002"), Some('X'));
        assert_eq!(validate_resident_id("440524188001010014"), Ok(()));
        assert_eq!(
            validate_resident_id("110105194912310021"),
            Err(IdCodeError::Check {
                expected: 'X',
                found: '1'
            })
        );
        assert_eq!(
            validate_resident_id("110105194902300025"),
            Err(IdCodeError::BirthDate("19490230".into()))
        );
        assert!(matches!(
            validate_resident_id("1101051949123100"),
            Err(IdCodeError::Length {
                expected: 18,
                got: 16
            })
        ));
        assert!(matches!(
            validate_resident_id("11010519A91231002X"),
            Err(IdCodeError::Character {
                position: 9,
                found: 'A'
            })
        ));
        let msg = validate_resident_id("110105194912310021")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("校验位") && msg.contains("check character should be X"));
    }

    #[test]
    fn credit_codes() {
        // A commonly cited example code and a listed company's published code.
        assert_eq!(validate_credit_code("91350100M000100Y43"), Ok(()));
        assert_eq!(validate_credit_code("91110000802100433B"), Ok(()));
        assert_eq!(organization_code_check("M000100Y"), Some('4'));
        assert_eq!(
            validate_credit_code("91350100M000100Y44"),
            Err(IdCodeError::Check {
                expected: '3',
                found: '4'
            })
        );
        assert!(matches!(
            validate_credit_code("91350100M0001O0Y43"),
            Err(IdCodeError::Character {
                position: 14,
                found: 'O'
            })
        ));
        assert!(matches!(
            validate_credit_code("91350100M000100Y4"),
            Err(IdCodeError::Length {
                expected: 18,
                got: 17
            })
        ));
    }
}
