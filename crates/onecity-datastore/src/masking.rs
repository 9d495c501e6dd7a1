//! Field masking (脱敏): pure functions, no I/O.
//!
//! A [`MaskRule`] says how one field's values leave the platform; a [`MaskPolicy`] maps field
//! names to rules. Rules work on Unicode characters, never bytes, so Chinese names and
//! addresses are cut at character boundaries.
//!
//! Documented defaults, one per personal-data type (the issue's test vectors beside each):
//!
//! | rule | 中文 | what is kept | example |
//! |---|---|---|---|
//! | `name` | 姓名 | the first character (the surname), every other character becomes `*` | 张三丰 → 张** |
//! | `mobile` | 手机号 | first 3 and last 4 digits | 13812345678 → 138****5678 |
//! | `id_card` | 身份证号 (GB 11643) | 6-digit region code and the last 4 (18 chars); 6 + last 3 for the old 15-digit number | 11010519491231002X → 110105********002X |
//! | `bank_card` | 银行卡号 | last 4 digits behind a fixed 12 `*` (the length is hidden) | 6222021234567890123 → ************0123 |
//! | `plate` | 车牌号 | province character, issuing-authority letter and the last 2 | 浙A12345 → 浙A***45 |
//! | `email` | 电子邮箱 | first character of the local part behind a fixed 7 `*`, the domain | zhang.san@example.cn → z*******@example.cn |
//! | `address` | 地址 | up to the last administrative suffix (省/市/区/县/旗/镇/乡/街道) in the first 12 characters, then `****` | 浙江省杭州市西湖区文三路90号 → 浙江省杭州市西湖区**** |
//! | `keep` | 保留 | everything | |
//! | `hash` | 哈希 | `h:` and the first 16 hex digits of SHA-256(salt ‖ value): joinable, not reversible | |
//! | `redact` | 删除 | nothing: the value becomes null | |
//! | `{"partial": {"keep_first": a, "keep_last": b}}` | 自定义 | first `a` and last `b` characters, `*` between | |
//!
//! Values too short for a rule's shape are masked whole (every character `*`), so a
//! malformed value never leaks more than a well-formed one.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// How one field is masked. JSON: a string (`"mobile"`) or `{"partial": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MaskRule {
    /// Value unchanged.
    Keep,
    /// Chinese (or any) personal name: first character kept.
    Name,
    /// Mobile number: 3 + 4 digits kept.
    Mobile,
    /// Resident ID card number (GB 11643-1999).
    IdCard,
    /// Bank card number (last 4 kept, length hidden).
    BankCard,
    /// Vehicle licence plate (GA 36).
    Plate,
    /// E-mail address.
    Email,
    /// Postal address, kept to the district/county level.
    Address,
    /// Salted SHA-256 prefix.
    Hash,
    /// Removed (null).
    Redact,
    /// Keep the first `keep_first` and last `keep_last` characters.
    Partial {
        /// Characters kept at the start.
        keep_first: usize,
        /// Characters kept at the end.
        keep_last: usize,
    },
}

impl MaskRule {
    /// Parses a rule's wire name (`name`, `mobile`, `id_card`, …); `None` if unknown.
    pub fn parse(s: &str) -> Option<MaskRule> {
        serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
    }

    /// Guesses a rule from a field name (English or Chinese), for fields flagged as personal
    /// data without an explicit rule. Unknown names get `redact` when `personal`, else `keep`.
    pub fn guess(field: &str, personal: bool) -> MaskRule {
        let f = field.to_lowercase();
        let has = |keys: &[&str]| keys.iter().any(|k| f.contains(k));
        if has(&["身份证", "id_card", "idcard", "id_no", "sfz"]) {
            MaskRule::IdCard
        } else if has(&["手机", "mobile", "phone", "电话", "tel"]) {
            MaskRule::Mobile
        } else if has(&["银行卡", "bank", "card_no", "account_no"]) {
            MaskRule::BankCard
        } else if has(&["车牌", "plate"]) {
            MaskRule::Plate
        } else if has(&["邮箱", "email", "e-mail", "mail"]) {
            MaskRule::Email
        } else if has(&["地址", "住址", "address", "addr"]) {
            MaskRule::Address
        } else if has(&["姓名", "名字", "name"]) && personal {
            MaskRule::Name
        } else if personal {
            MaskRule::Redact
        } else {
            MaskRule::Keep
        }
    }

    /// Masks one value; `None` means null (the `redact` rule). `salt` is used by `hash` only.
    pub fn apply(&self, value: &str, salt: &str) -> Option<String> {
        let c: Vec<char> = value.chars().collect();
        Some(match self {
            MaskRule::Keep => value.to_string(),
            MaskRule::Redact => return None,
            MaskRule::Hash => {
                let mut h = Sha256::new();
                h.update(salt.as_bytes());
                h.update([0u8]);
                h.update(value.as_bytes());
                format!("h:{}", &hex::encode(h.finalize())[..16])
            }
            MaskRule::Name => match c.len() {
                0 => String::new(),
                1 => "*".into(),
                n => keep(&c, 1, 0, n - 1),
            },
            MaskRule::Mobile => {
                if c.len() >= 11 {
                    keep(&c, 3, 4, c.len() - 7)
                } else if c.len() >= 7 {
                    keep(&c, 0, 4, c.len() - 4)
                } else {
                    stars(c.len())
                }
            }
            MaskRule::IdCard => match c.len() {
                18 => keep(&c, 6, 4, 8),
                15 => keep(&c, 6, 3, 6),
                n if n > 8 => keep(&c, 0, 4, n - 4),
                n => stars(n),
            },
            MaskRule::BankCard => {
                if c.len() > 8 {
                    format!("{}{}", stars(12), tail(&c, 4))
                } else {
                    stars(c.len())
                }
            }
            MaskRule::Plate => {
                if c.len() >= 6 {
                    keep(&c, 2, 2, c.len() - 4)
                } else {
                    stars(c.len())
                }
            }
            MaskRule::Email => match value.rsplit_once('@') {
                Some((local, domain)) if !local.is_empty() && !domain.is_empty() => {
                    let first: String = local.chars().take(1).collect();
                    format!("{first}{}@{domain}", stars(7))
                }
                _ => stars(c.len()),
            },
            MaskRule::Address => {
                const SUFFIXES: &[char] = &['省', '市', '区', '县', '旗', '镇', '乡', '道'];
                let head = c.len().min(12);
                match c[..head].iter().rposition(|ch| SUFFIXES.contains(ch)) {
                    Some(p) if p + 1 < c.len() => {
                        format!("{}****", c[..=p].iter().collect::<String>())
                    }
                    Some(_) => value.to_string(),
                    None => {
                        let k = c.len() / 3;
                        format!("{}****", c[..k].iter().collect::<String>())
                    }
                }
            }
            MaskRule::Partial {
                keep_first,
                keep_last,
            } => {
                if keep_first + keep_last >= c.len() {
                    stars(c.len())
                } else {
                    keep(
                        &c,
                        *keep_first,
                        *keep_last,
                        c.len() - keep_first - keep_last,
                    )
                }
            }
        })
    }
}

fn stars(n: usize) -> String {
    "*".repeat(n)
}

fn tail(c: &[char], n: usize) -> String {
    c[c.len() - n..].iter().collect()
}

/// First `first` chars, `n` stars, last `last` chars (callers ensure `first + last <= len`).
fn keep(c: &[char], first: usize, last: usize, n: usize) -> String {
    let mut s: String = c[..first].iter().collect();
    s.push_str(&stars(n));
    s.push_str(&tail(c, last));
    s
}

/// Rules per field name; fields not listed are kept. JSON: `{"姓名": "name", "phone": "mobile"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct MaskPolicy(pub BTreeMap<String, MaskRule>);

impl MaskPolicy {
    /// The rule for `field` (`keep` when none).
    pub fn rule(&self, field: &str) -> &MaskRule {
        self.0.get(field).unwrap_or(&MaskRule::Keep)
    }

    /// Whether any field is masked.
    pub fn is_empty(&self) -> bool {
        self.0.values().all(|r| *r == MaskRule::Keep)
    }

    /// Masks a JSON value of `field`: strings and numbers are masked as text (a masked number
    /// becomes a string), null stays null, `redact` gives null.
    pub fn apply_json(&self, field: &str, v: &serde_json::Value, salt: &str) -> serde_json::Value {
        let rule = self.rule(field);
        if *rule == MaskRule::Keep {
            return v.clone();
        }
        let text = match v {
            serde_json::Value::Null => return serde_json::Value::Null,
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        match rule.apply(&text, salt) {
            Some(s) => serde_json::Value::String(s),
            None => serde_json::Value::Null,
        }
    }

    /// Masks every listed field of a JSON object record in place.
    pub fn apply_record(&self, rec: &mut serde_json::Map<String, serde_json::Value>, salt: &str) {
        for (field, rule) in &self.0 {
            if *rule == MaskRule::Keep {
                continue;
            }
            if let Some(v) = rec.get_mut(field) {
                *v = self.apply_json(field, v, salt);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(rule: MaskRule, v: &str) -> String {
        rule.apply(v, "salt").unwrap()
    }

    #[test]
    fn chinese_name_keeps_the_surname() {
        assert_eq!(m(MaskRule::Name, "张三丰"), "张**");
        assert_eq!(m(MaskRule::Name, "李四"), "李*");
        assert_eq!(m(MaskRule::Name, "王"), "*");
    }

    #[test]
    fn mobile_keeps_three_and_four() {
        assert_eq!(m(MaskRule::Mobile, "13812345678"), "138****5678");
        assert_eq!(m(MaskRule::Mobile, "12345"), "*****");
    }

    #[test]
    fn id_card_gb11643_keeps_region_and_tail() {
        assert_eq!(
            m(MaskRule::IdCard, "11010519491231002X"),
            "110105********002X"
        );
        assert_eq!(m(MaskRule::IdCard, "110105491231002"), "110105******002");
    }

    #[test]
    fn bank_card_hides_length() {
        assert_eq!(
            m(MaskRule::BankCard, "6222021234567890123"),
            "************0123"
        );
        assert_eq!(
            m(MaskRule::BankCard, "6222021234567890"),
            "************7890"
        );
    }

    #[test]
    fn licence_plate_keeps_province_letter_and_last_two() {
        assert_eq!(m(MaskRule::Plate, "浙A12345"), "浙A***45");
        assert_eq!(m(MaskRule::Plate, "浙AD12345"), "浙A****45");
    }

    #[test]
    fn email_keeps_first_letter_and_domain() {
        assert_eq!(
            m(MaskRule::Email, "zhang.san@example.cn"),
            "z*******@example.cn"
        );
        assert_eq!(m(MaskRule::Email, "not-an-email"), "************");
    }

    #[test]
    fn address_keeps_the_district() {
        assert_eq!(
            m(MaskRule::Address, "浙江省杭州市西湖区文三路90号"),
            "浙江省杭州市西湖区****"
        );
        assert_eq!(m(MaskRule::Address, "123 Main Street"), "123 M****");
    }

    #[test]
    fn keep_hash_redact_partial() {
        assert_eq!(m(MaskRule::Keep, "张三丰"), "张三丰");
        let h = m(MaskRule::Hash, "13812345678");
        assert_eq!(h.len(), 18);
        assert!(h.starts_with("h:"));
        assert_eq!(h, m(MaskRule::Hash, "13812345678"), "hash is stable");
        assert_ne!(h, MaskRule::Hash.apply("13812345678", "other").unwrap());
        assert_eq!(MaskRule::Redact.apply("x", ""), None);
        let p = MaskRule::Partial {
            keep_first: 1,
            keep_last: 1,
        };
        assert_eq!(m(p.clone(), "上海浦东"), "上**东");
        assert_eq!(m(p, "ab"), "**");
    }

    #[test]
    fn policy_parses_from_json_and_masks_records() {
        let p: MaskPolicy = serde_json::from_str(
            r#"{"姓名":"name","phone":"mobile","x":{"partial":{"keep_first":2,"keep_last":0}}}"#,
        )
        .unwrap();
        let mut rec =
            serde_json::json!({"姓名":"张三丰","phone":13812345678_i64,"x":"abcd","n":null})
                .as_object()
                .unwrap()
                .clone();
        p.apply_record(&mut rec, "s");
        assert_eq!(rec["姓名"], "张**");
        assert_eq!(rec["phone"], "138****5678");
        assert_eq!(rec["x"], "ab**");
        assert!(rec["n"].is_null());
        assert_eq!(MaskRule::parse("id_card"), Some(MaskRule::IdCard));
        assert_eq!(MaskRule::parse("nope"), None);
        assert_eq!(MaskRule::guess("身份证号", true), MaskRule::IdCard);
        assert_eq!(MaskRule::guess("contact_phone", false), MaskRule::Mobile);
        assert_eq!(MaskRule::guess("remarks", true), MaskRule::Redact);
    }
}
