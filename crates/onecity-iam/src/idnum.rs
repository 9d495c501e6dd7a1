//! Check characters of Chinese identifiers: the resident identity number (公民身份号码,
//! GB 11643-1999, check digit per ISO 7064 MOD 11-2) and the unified social credit code
//! (统一社会信用代码, GB 32100-2015, check character MOD 31), and the organisation code
//! embedded in it (GB 11714-1997, MOD 11). Pure functions, no I/O.

use onecity_core::{Error, ErrorCode, Result};

/// Weights of the 17 body digits of an identity number: `2^(17-i) mod 11` (ISO 7064
/// MOD 11-2).
const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

/// The check character of a 17-digit identity number body: `(12 - Σ aᵢwᵢ mod 11) mod 11`,
/// `10` written `X` (GB 11643-1999 §5.4, ISO 7064 MOD 11-2). `None` when `body` is not 17
/// ASCII digits.
pub fn id_check_char(body: &str) -> Option<char> {
    if body.len() != 17 || !body.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let sum: u32 = body
        .bytes()
        .zip(ID_WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    let c = (12 - sum % 11) % 11;
    Some(if c == 10 {
        'X'
    } else {
        char::from_digit(c, 10)?
    })
}

/// A checked resident identity number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdNumber {
    /// The 18 characters, check character upper case.
    pub number: String,
    /// Birth date from characters 7–14, `YYYY-MM-DD`.
    pub birth_date: String,
}

impl IdNumber {
    /// The number for display: the region code (6) and the check character kept, the rest
    /// starred: `110105********002X` keeps 6 + last 4.
    pub fn masked(&self) -> String {
        format!("{}********{}", &self.number[..6], &self.number[14..])
    }
}

fn bad_id(zh: &str, en: String) -> Error {
    Error::new(ErrorCode::InvalidIdNumber, format!("{zh} / {en}"))
}

/// Checks an 18-character resident identity number (GB 11643-1999): 17 digits, then the
/// check digit (`0`–`9` or `X`, lower-case `x` accepted), a real birth date (YYYYMMDD, year
/// 1900 or later, not after `today`, given as `YYYYMMDD`), and the check digit itself.
/// Spaces around are trimmed.
///
/// Errors: `invalid_id_number` (422) with a message in Chinese and English, naming the
/// expected check digit when only it is wrong.
pub fn check_id_number(raw: &str, today: &str) -> Result<IdNumber> {
    let n = raw.trim().to_ascii_uppercase();
    if n.len() != 18 || !n.is_ascii() {
        return Err(bad_id(
            "身份证号应为18位",
            format!(
                "an identity number has 18 characters, not {}",
                n.chars().count()
            ),
        ));
    }
    let (body, check) = n.split_at(17);
    if !body.bytes().all(|b| b.is_ascii_digit())
        || !matches!(check.as_bytes()[0], b'0'..=b'9' | b'X')
    {
        return Err(bad_id(
            "身份证号前17位应为数字，末位为数字或X",
            "an identity number is 17 digits and a digit or X".into(),
        ));
    }
    let (y, m, d) = (&body[6..10], &body[10..12], &body[12..14]);
    let date = format!("{y}-{m}-{d}");
    let valid_date = chrono::NaiveDate::parse_from_str(&date, "%Y-%m-%d").is_ok()
        && y >= "1900"
        && &body[6..14] <= today;
    if !valid_date {
        return Err(bad_id(
            "身份证号中的出生日期无效",
            format!("the birth date {y}{m}{d} in the identity number is not a real date"),
        ));
    }
    let expected = id_check_char(body).ok_or_else(|| bad_id("身份证号无效", "invalid".into()))?;
    if check.as_bytes()[0] != expected as u8 {
        return Err(bad_id(
            "身份证号校验码错误",
            format!("the check digit of the identity number is wrong (GB 11643-1999): the last character should be {expected}, not {check}"),
        ));
    }
    Ok(IdNumber {
        number: n.clone(),
        birth_date: date,
    })
}

/// The 31 characters of unified social credit codes, in value order (no I, O, Z, S, V).
pub const CREDIT_ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Weights of the 17 body characters: `3^(i-1) mod 31` (GB 32100-2015 §5.4).
const CREDIT_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

fn credit_value(c: char) -> Option<u32> {
    CREDIT_ALPHABET.find(c).map(|i| i as u32)
}

/// The check character of a 17-character credit-code body: `31 - (Σ Cᵢwᵢ mod 31)`, `31`
/// written `0` (GB 32100-2015 §5.4). `None` when a character is outside
/// [`CREDIT_ALPHABET`] or the body is not 17 characters.
pub fn credit_check_char(body: &str) -> Option<char> {
    if body.chars().count() != 17 {
        return None;
    }
    let mut sum = 0u32;
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

fn bad_code(zh: &str, en: String) -> Error {
    Error::new(ErrorCode::InvalidCreditCode, format!("{zh} / {en}"))
}

/// Checks an 18-character unified social credit code (GB 32100-2015): characters from
/// [`CREDIT_ALPHABET`] (lower case accepted), then the check character. Returns the code
/// in upper case.
///
/// Errors: `invalid_credit_code` (422) with a message in Chinese and English, naming the
/// expected check character when only it is wrong.
pub fn check_credit_code(raw: &str) -> Result<String> {
    let c = raw.trim().to_ascii_uppercase();
    if c.chars().count() != 18 {
        return Err(bad_code(
            "统一社会信用代码应为18位",
            format!(
                "a unified social credit code has 18 characters, not {}",
                c.chars().count()
            ),
        ));
    }
    if let Some(bad) = c.chars().find(|ch| credit_value(*ch).is_none()) {
        return Err(bad_code(
            "统一社会信用代码含有无效字符",
            format!("{bad:?} is not a character of unified social credit codes (digits and capital letters except I, O, Z, S, V)"),
        ));
    }
    let (body, check) = c.split_at(17);
    let expected = credit_check_char(body).ok_or_else(|| bad_code("无效", "invalid".into()))?;
    if !check.starts_with(expected) {
        return Err(bad_code(
            "统一社会信用代码校验码错误",
            format!("the check character of the unified social credit code is wrong (GB 32100-2015): the last character should be {expected}, not {check}"),
        ));
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gb11714_organization_code() {
        // The organisation code inside 91350100M000100Y43 is M000100Y-4.
        assert_eq!(organization_code_check("M000100Y"), Some('4'));
        assert_eq!(organization_code_check("m000100Y"), None);
        assert_eq!(organization_code_check("M000100"), None);
    }

    const TODAY: &str = "20261207";

    #[test]
    fn gb11643_example_and_variants() {
        // The standard's own example.
        let id = check_id_number("11010519491231002X", TODAY).unwrap();
        assert_eq!(id.birth_date, "1949-12-31");
        assert_eq!(id.masked(), "110105********002X");
        assert_eq!(id_check_char("11010519491231002"), Some('X'));
        // Lower-case x is accepted and upper-cased.
        assert_eq!(
            check_id_number(" 11010519491231002x ", TODAY)
                .unwrap()
                .number,
            "11010519491231002X"
        );
        // Other valid numbers (check digits per the MOD 11-2 formula).
        assert_eq!(id_check_char("44030819900307002"), Some('1'));
        check_id_number("440308199003070021", TODAY).unwrap();
        assert_eq!(id_check_char("11010119800101000"), Some('2'));
        assert!(check_id_number("440308199003070026", TODAY).is_err());
        // A wrong check digit: the message names the expected one, in zh and en.
        let e = check_id_number("110105194912310021", TODAY).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidIdNumber);
        assert!(e.detail.contains("校验码错误"), "{}", e.detail);
        assert!(e.detail.contains("should be X, not 1"), "{}", e.detail);
        // A swapped pair of digits is caught.
        assert!(check_id_number("11010519491321002X", TODAY).is_err());
        // Bad birth dates: 31 Feb, the future, before 1900.
        let e = check_id_number("110105194902310021", TODAY).unwrap_err();
        assert!(e.detail.contains("出生日期"), "{}", e.detail);
        assert!(check_id_number("110105203001010010", TODAY)
            .unwrap_err()
            .detail
            .contains("birth date"));
        assert!(check_id_number("110105180001010010", TODAY).is_err());
        // Length and characters.
        assert!(check_id_number("11010519491231002", TODAY)
            .unwrap_err()
            .detail
            .contains("18"));
        assert!(check_id_number("1101051949123100XX", TODAY).is_err());
        assert!(check_id_number("１１０１０５１９４９１２３１００２Ｘ", TODAY).is_err());
    }

    #[test]
    fn gb32100_valid_codes_and_variants() {
        for good in [
            "91350100M000100Y43",
            "91110000600037341L",
            "91440300708461136T",
        ] {
            assert_eq!(check_credit_code(good).unwrap(), good, "{good}");
        }
        assert_eq!(credit_check_char("91350100M000100Y4"), Some('3'));
        assert_eq!(
            check_credit_code("91350100m000100y43").unwrap(),
            "91350100M000100Y43"
        );
        // A wrong check character: named, in zh and en.
        let e = check_credit_code("91350100M000100Y44").unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidCreditCode);
        assert!(e.detail.contains("校验码错误"), "{}", e.detail);
        assert!(e.detail.contains("should be 3, not 4"), "{}", e.detail);
        // Letters outside the alphabet (I, O, Z, S, V) and wrong lengths.
        let e = check_credit_code("91350100M000100I43").unwrap_err();
        assert!(e.detail.contains("'I'"), "{}", e.detail);
        assert!(check_credit_code("91350100O000100Y43").is_err());
        assert!(check_credit_code("91350100M000100Y4").is_err());
        assert!(check_credit_code("91350100M000100Y433").is_err());
        // A transposition is caught.
        assert!(check_credit_code("91351000M000100Y43").is_err());
    }
}
