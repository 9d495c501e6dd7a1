//! Validation of an item body that lists every problem (a JSON pointer and a message in
//! English and Chinese), not only the first: the body is walked as JSON before it is read
//! into [`ItemBody`], so that a missing field, a wrong type and a bad value anywhere are
//! all reported in one answer. Pure: the checks that need the store (does the department
//! exist in the tenant, does the division code name one of its jurisdictions) are the
//! service's, which adds their problems to the same list.

use super::model::*;
use onecity_iam::AssuranceLevel;
use serde_json::{Map, Value};

/// Longest name (characters).
pub const MAX_NAME: usize = 200;
/// Longest other text (characters).
pub const MAX_TEXT: usize = 2_000;
/// Most entries of one list (materials, steps, …).
pub const MAX_LIST: usize = 100;
/// Longest promised or legal time limit, in working days (about two years).
pub const MAX_DAYS: u64 = 500;

/// Collects problems while walking a body.
#[derive(Default)]
struct Problems(Vec<Problem>);

impl Problems {
    fn add(&mut self, pointer: &str, en: impl Into<String>, zh: impl Into<String>) {
        self.0.push(Problem {
            pointer: pointer.to_string(),
            message: en.into(),
            message_zh: zh.into(),
        });
    }
    fn missing(&mut self, pointer: &str) {
        self.add(pointer, "is required", "必填");
    }
}

/// Escapes a key for a JSON pointer (RFC 6901).
fn esc(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// The item code pattern: `DDDDDD-TT-DEPT-MMM-SSS` (division, type, department element
/// of 2–6 capital letters, main item, sub-item).
pub fn code_parts(code: &str) -> Option<(&str, &str, &str, &str, &str)> {
    let parts: Vec<&str> = code.split('-').collect();
    let [division, type_code, dept, main, sub] = parts[..] else {
        return None;
    };
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let dept_ok = (2..=6).contains(&dept.len()) && dept.bytes().all(|b| b.is_ascii_uppercase());
    if digits(division, 6) && digits(type_code, 2) && dept_ok && digits(main, 3) && digits(sub, 3) {
        Some((division, type_code, dept, main, sub))
    } else {
        None
    }
}

/// The department element an item code must carry for a department code: the part after
/// the first `-` (`HZ-GAJ` → `GAJ`), or the whole code.
pub fn department_element(department_code: &str) -> &str {
    department_code
        .split_once('-')
        .map_or(department_code, |(_, rest)| rest)
}

fn text(ps: &mut Problems, v: Option<&Value>, ptr: &str, max: usize) {
    let Some(v) = v else {
        ps.missing(ptr);
        return;
    };
    let Some(o) = v.as_object() else {
        ps.add(
            ptr,
            "must be an object {\"zh\": …, \"en\": …}",
            "应为 {\"zh\": …, \"en\": …} 对象",
        );
        return;
    };
    for lang in ["zh", "en"] {
        let p = format!("{ptr}/{lang}");
        match o.get(lang) {
            None => ps.missing(&p),
            Some(Value::String(s)) if s.trim().is_empty() => {
                ps.add(&p, "must not be empty", "不能为空")
            }
            Some(Value::String(s)) if s.chars().count() > max => ps.add(
                &p,
                format!("is longer than {max} characters"),
                format!("超过 {max} 个字符"),
            ),
            Some(Value::String(_)) => {}
            Some(_) => ps.add(&p, "must be a string", "应为字符串"),
        }
    }
    for k in o.keys().filter(|k| *k != "zh" && *k != "en") {
        ps.add(
            &format!("{ptr}/{}", esc(k)),
            "is not a field of a text (zh, en)",
            "不是文本的字段（zh、en）",
        );
    }
}

fn opt_text(ps: &mut Problems, v: Option<&Value>, ptr: &str, max: usize) {
    match v {
        None | Some(Value::Null) => {}
        Some(_) => text(ps, v, ptr, max),
    }
}

fn string(ps: &mut Problems, v: Option<&Value>, ptr: &str, max: usize) -> Option<String> {
    match v {
        None => {
            ps.missing(ptr);
            None
        }
        Some(Value::String(s)) if s.trim().is_empty() => {
            ps.add(ptr, "must not be empty", "不能为空");
            None
        }
        Some(Value::String(s)) if s.chars().count() > max => {
            ps.add(
                ptr,
                format!("is longer than {max} characters"),
                format!("超过 {max} 个字符"),
            );
            None
        }
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            ps.add(ptr, "must be a string", "应为字符串");
            None
        }
    }
}

fn boolean(ps: &mut Problems, v: Option<&Value>, ptr: &str) {
    match v {
        None => ps.missing(ptr),
        Some(Value::Bool(_)) => {}
        Some(_) => ps.add(ptr, "must be true or false", "应为 true 或 false"),
    }
}

fn uint(ps: &mut Problems, v: Option<&Value>, ptr: &str, min: u64, max: u64) -> Option<u64> {
    match v {
        None => {
            ps.missing(ptr);
            None
        }
        Some(v) => match v.as_u64() {
            Some(n) if (min..=max).contains(&n) => Some(n),
            _ => {
                ps.add(
                    ptr,
                    format!("must be a whole number from {min} to {max}"),
                    format!("应为 {min} 到 {max} 之间的整数"),
                );
                None
            }
        },
    }
}

/// A wire enum value: returns it when valid.
fn one_of<T: Copy>(
    ps: &mut Problems,
    v: Option<&Value>,
    ptr: &str,
    parse: impl Fn(&str) -> Option<T>,
    names: &str,
) -> Option<T> {
    match v {
        None => {
            ps.missing(ptr);
            None
        }
        Some(Value::String(s)) => {
            let r = parse(s);
            if r.is_none() {
                ps.add(
                    ptr,
                    format!("{s:?} is not one of: {names}"),
                    format!("{s:?} 不是以下取值之一：{names}"),
                );
            }
            r
        }
        Some(_) => {
            ps.add(
                ptr,
                format!("must be one of: {names}"),
                format!("应为以下取值之一：{names}"),
            );
            None
        }
    }
}

/// A list: checks presence, type, bounds; returns its entries.
fn list<'a>(
    ps: &mut Problems,
    v: Option<&'a Value>,
    ptr: &str,
    min: usize,
) -> Option<&'a Vec<Value>> {
    match v {
        None => {
            ps.missing(ptr);
            None
        }
        Some(Value::Array(a)) => {
            if a.len() < min {
                ps.add(
                    ptr,
                    format!(
                        "needs at least {min} entr{}",
                        if min == 1 { "y" } else { "ies" }
                    ),
                    format!("至少需要 {min} 项"),
                );
            }
            if a.len() > MAX_LIST {
                ps.add(
                    ptr,
                    format!("has more than {MAX_LIST} entries"),
                    format!("超过 {MAX_LIST} 项"),
                );
                return None;
            }
            Some(a)
        }
        Some(_) => {
            ps.add(ptr, "must be a list", "应为列表");
            None
        }
    }
}

/// A list of distinct wire enum values, at least one.
fn enum_list<T: Copy + PartialEq>(
    ps: &mut Problems,
    v: Option<&Value>,
    ptr: &str,
    parse: impl Fn(&str) -> Option<T>,
    names: &str,
) {
    let Some(a) = list(ps, v, ptr, 1) else {
        return;
    };
    let mut seen: Vec<T> = Vec::new();
    for (i, e) in a.iter().enumerate() {
        let p = format!("{ptr}/{i}");
        if let Some(x) = one_of(ps, Some(e), &p, &parse, names) {
            if seen.contains(&x) {
                ps.add(&p, "appears twice", "重复");
            }
            seen.push(x);
        }
    }
}

/// An object: reports unknown keys (`known`), returns the map.
fn object<'a>(
    ps: &mut Problems,
    v: &'a Value,
    ptr: &str,
    known: &[&str],
) -> Option<&'a Map<String, Value>> {
    let Some(o) = v.as_object() else {
        ps.add(ptr, "must be an object", "应为对象");
        return None;
    };
    for k in o.keys().filter(|k| !known.contains(&k.as_str())) {
        ps.add(
            &format!("{ptr}/{}", esc(k)),
            format!("is not a known field (known: {})", known.join(", ")),
            format!("不是已知字段（已知字段：{}）", known.join("、")),
        );
    }
    Some(o)
}

const BODY_FIELDS: &[&str] = &[
    "code",
    "department_code",
    "name",
    "type",
    "level",
    "targets",
    "life_events",
    "legal_basis",
    "conditions",
    "materials",
    "fees",
    "time_limits",
    "channels",
    "nearby",
    "other_place",
    "steps",
    "where",
    "assurance",
];

/// Whether an article text reads `第…条` (Chinese) — the form every legal basis uses.
pub fn is_article_zh(s: &str) -> bool {
    let s = s.trim();
    s.starts_with('第') && s.ends_with('条') && s.chars().count() >= 3
}

/// Whether a law title is in 《》.
pub fn is_law_title_zh(s: &str) -> bool {
    match (s.find('《'), s.find('》')) {
        (Some(a), Some(b)) => a < b && b - a > '《'.len_utf8(),
        _ => false,
    }
}

/// Validates an item body and reads it; `Err` lists every problem found.
pub fn parse_body(v: &Value) -> Result<ItemBody, Vec<Problem>> {
    let mut ps = Problems::default();
    let Some(o) = object(&mut ps, v, "", BODY_FIELDS) else {
        return Err(ps.0);
    };
    let code = string(&mut ps, o.get("code"), "/code", 40);
    let dept = string(&mut ps, o.get("department_code"), "/department_code", 64);
    text(&mut ps, o.get("name"), "/name", MAX_NAME);
    let item_type = one_of(
        &mut ps,
        o.get("type"),
        "/type",
        ItemType::parse,
        &ItemType::names(),
    );
    one_of(
        &mut ps,
        o.get("level"),
        "/level",
        Level::parse,
        &Level::names(),
    );
    enum_list(
        &mut ps,
        o.get("targets"),
        "/targets",
        Target::parse,
        &Target::names(),
    );
    enum_list(
        &mut ps,
        o.get("life_events"),
        "/life_events",
        LifeEvent::parse,
        &LifeEvent::names(),
    );
    enum_list(
        &mut ps,
        o.get("channels"),
        "/channels",
        Channel::parse,
        &Channel::names(),
    );
    one_of(
        &mut ps,
        o.get("assurance"),
        "/assurance",
        AssuranceLevel::parse,
        "low, substantial, high",
    );
    boolean(&mut ps, o.get("nearby"), "/nearby");
    boolean(&mut ps, o.get("other_place"), "/other_place");

    if let Some(code) = &code {
        match code_parts(code) {
            None => ps.add(
                "/code",
                format!(
                    "{code:?} does not follow the item code pattern DDDDDD-TT-DEPT-MMM-SSS \
                     (division, type, department, main item, sub-item; e.g. 330100-07-GAJ-001-000)"
                ),
                format!(
                    "{code:?} 不符合事项编码格式 DDDDDD-TT-部门-主项-子项（如 330100-07-GAJ-001-000）"
                ),
            ),
            Some((_, type_code, dept_el, _, _)) => {
                if let Some(t) = item_type {
                    if t.code() != type_code {
                        ps.add(
                            "/code",
                            format!(
                                "the type element {type_code} does not match type {} (code {})",
                                t.as_str(),
                                t.code()
                            ),
                            format!(
                                "类型位 {type_code} 与事项类型{}（{}）不符",
                                t.label(Lang::Zh),
                                t.code()
                            ),
                        );
                    }
                }
                if let Some(d) = &dept {
                    let want = department_element(d);
                    if want != dept_el {
                        ps.add(
                            "/code",
                            format!("the department element {dept_el} does not match department {d} (want {want})"),
                            format!("部门位 {dept_el} 与实施部门 {d} 不符（应为 {want}）"),
                        );
                    }
                }
            }
        }
    }

    if let Some(a) = list(&mut ps, o.get("legal_basis"), "/legal_basis", 1) {
        for (i, b) in a.iter().enumerate() {
            let p = format!("/legal_basis/{i}");
            let Some(bo) = object(&mut ps, b, &p, &["law", "article"]) else {
                continue;
            };
            text(&mut ps, bo.get("law"), &format!("{p}/law"), MAX_NAME);
            text(
                &mut ps,
                bo.get("article"),
                &format!("{p}/article"),
                MAX_NAME,
            );
            if let Some(zh) = b.pointer("/law/zh").and_then(Value::as_str) {
                if !zh.trim().is_empty() && !is_law_title_zh(zh) {
                    ps.add(
                        &format!("{p}/law/zh"),
                        "must name the law in 《》",
                        "法律名称应写在《》中",
                    );
                }
            }
            if let Some(zh) = b.pointer("/article/zh").and_then(Value::as_str) {
                if !zh.trim().is_empty() && !is_article_zh(zh) {
                    ps.add(
                        &format!("{p}/article/zh"),
                        "must name the article as 第…条",
                        "条款应写作“第…条”",
                    );
                }
            }
        }
    }
    for key in ["conditions", "steps"] {
        if let Some(a) = list(&mut ps, o.get(key), &format!("/{key}"), 1) {
            for (i, c) in a.iter().enumerate() {
                text(&mut ps, Some(c), &format!("/{key}/{i}"), MAX_TEXT);
            }
        }
    }
    if let Some(a) = list(&mut ps, o.get("materials"), "/materials", 0) {
        for (i, m) in a.iter().enumerate() {
            let p = format!("/materials/{i}");
            let Some(mo) = object(
                &mut ps,
                m,
                &p,
                &["name", "form", "copies", "note", "held_by_government"],
            ) else {
                continue;
            };
            text(&mut ps, mo.get("name"), &format!("{p}/name"), MAX_NAME);
            one_of(
                &mut ps,
                mo.get("form"),
                &format!("{p}/form"),
                MaterialForm::parse,
                &MaterialForm::names(),
            );
            uint(&mut ps, mo.get("copies"), &format!("{p}/copies"), 1, 20);
            opt_text(&mut ps, mo.get("note"), &format!("{p}/note"), MAX_TEXT);
            let hp = format!("{p}/held_by_government");
            match mo.get("held_by_government") {
                None => ps.add(
                    &hp,
                    "is required (null when the applicant brings it)",
                    "必填（由申请人提交时为 null）",
                ),
                Some(Value::Null) => {}
                Some(h) => {
                    if let Some(ho) = object(&mut ps, h, &hp, &["kind", "name", "title"]) {
                        one_of(
                            &mut ps,
                            ho.get("kind"),
                            &format!("{hp}/kind"),
                            SourceKind::parse,
                            &SourceKind::names(),
                        );
                        string(&mut ps, ho.get("name"), &format!("{hp}/name"), MAX_NAME);
                        text(&mut ps, ho.get("title"), &format!("{hp}/title"), MAX_NAME);
                    }
                }
            }
        }
    }
    if let Some(a) = list(&mut ps, o.get("fees"), "/fees", 0) {
        for (i, f) in a.iter().enumerate() {
            let p = format!("/fees/{i}");
            let Some(fo) = object(&mut ps, f, &p, &["name", "amount_fen", "basis"]) else {
                continue;
            };
            text(&mut ps, fo.get("name"), &format!("{p}/name"), MAX_NAME);
            text(&mut ps, fo.get("basis"), &format!("{p}/basis"), MAX_TEXT);
            match fo.get("amount_fen") {
                None => ps.add(
                    &format!("{p}/amount_fen"),
                    "is required (null when the amount is set yearly)",
                    "必填（金额每年公布时为 null）",
                ),
                Some(Value::Null) => {}
                Some(v) => {
                    uint(&mut ps, Some(v), &format!("{p}/amount_fen"), 0, 100_000_000);
                }
            }
        }
    }
    if let Some(t) = o.get("time_limits") {
        if let Some(to) = object(
            &mut ps,
            t,
            "/time_limits",
            &["legal_days", "promised_days", "note"],
        ) {
            let promised = uint(
                &mut ps,
                to.get("promised_days"),
                "/time_limits/promised_days",
                0,
                MAX_DAYS,
            );
            let legal = match to.get("legal_days") {
                None => {
                    ps.add(
                        "/time_limits/legal_days",
                        "is required (null when the law sets none in working days)",
                        "必填（法律未规定工作日时限时为 null）",
                    );
                    None
                }
                Some(Value::Null) => None,
                Some(v) => uint(&mut ps, Some(v), "/time_limits/legal_days", 0, MAX_DAYS),
            };
            if let (Some(pr), Some(lg)) = (promised, legal) {
                if pr > lg {
                    ps.add(
                        "/time_limits/promised_days",
                        format!("the promised limit ({pr}) exceeds the legal limit ({lg})"),
                        format!("承诺时限（{pr}）超过法定时限（{lg}）"),
                    );
                }
            }
            opt_text(&mut ps, to.get("note"), "/time_limits/note", MAX_TEXT);
        }
    } else {
        ps.missing("/time_limits");
    }
    if let Some(a) = list(&mut ps, o.get("where"), "/where", 1) {
        for (i, w) in a.iter().enumerate() {
            let p = format!("/where/{i}");
            let Some(wo) = object(&mut ps, w, &p, &["name", "address", "hours"]) else {
                continue;
            };
            for k in ["name", "address", "hours"] {
                text(&mut ps, wo.get(k), &format!("{p}/{k}"), MAX_TEXT);
            }
        }
    }
    if !ps.0.is_empty() {
        return Err(ps.0);
    }
    serde_json::from_value::<ItemBody>(v.clone()).map_err(|e| {
        vec![Problem {
            pointer: String::new(),
            message: format!("the item cannot be read: {e}"),
            message_zh: format!("无法读取事项：{e}"),
        }]
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn valid() -> Value {
        json!({
            "code": "330100-07-GAJ-001-000",
            "department_code": "HZ-GAJ",
            "name": {"zh": "户口登记（出生登记）", "en": "Birth registration"},
            "type": "administrative_confirmation",
            "level": "street",
            "targets": ["citizen"],
            "life_events": ["birth"],
            "legal_basis": [{"law": {"zh": "《中华人民共和国户口登记条例》", "en": "Regulations on Household Registration"},
                             "article": {"zh": "第七条", "en": "Article 7"}}],
            "conditions": [{"zh": "新生儿", "en": "a newborn"}],
            "materials": [{"name": {"zh": "出生医学证明", "en": "birth certificate"}, "form": "original", "copies": 1,
                           "note": null, "held_by_government": {"kind": "licence", "name": "出生医学证明",
                           "title": {"zh": "出生医学证明", "en": "birth certificate"}}}],
            "fees": [],
            "time_limits": {"legal_days": null, "promised_days": 1, "note": null},
            "channels": ["online", "counter"],
            "nearby": true,
            "other_place": false,
            "steps": [{"zh": "申请", "en": "apply"}],
            "where": [{"name": {"zh": "派出所", "en": "police station"}, "address": {"zh": "某路", "en": "a road"},
                       "hours": {"zh": "工作日", "en": "working days"}}],
            "assurance": "substantial"
        })
    }

    #[test]
    fn a_valid_body_reads() {
        let b = parse_body(&valid()).expect("valid");
        assert_eq!(b.code, "330100-07-GAJ-001-000");
        assert_eq!(b.item_type, ItemType::AdministrativeConfirmation);
        assert_eq!(b.assurance, AssuranceLevel::Substantial);
        assert_eq!(
            b.materials[0].held_by_government.as_ref().unwrap().kind,
            SourceKind::Licence
        );
    }

    #[test]
    fn every_problem_is_listed() {
        let mut v = valid();
        v["name"] = json!({"zh": ""});
        v["type"] = json!("licence");
        v["targets"] = json!([]);
        v["legal_basis"][0]["article"]["zh"] = json!("Art. 7");
        v["materials"][0]["copies"] = json!(0);
        v["time_limits"] = json!({"legal_days": 3, "promised_days": 5, "note": null});
        v["extra"] = json!(1);
        v.as_object_mut().unwrap().remove("steps");
        let ps = parse_body(&v).unwrap_err();
        let pointers: Vec<&str> = ps.iter().map(|p| p.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            [
                "/extra",
                "/name/zh",
                "/name/en",
                "/type",
                "/targets",
                "/legal_basis/0/article/zh",
                "/steps",
                "/materials/0/copies",
                "/time_limits/promised_days",
            ],
            "{ps:#?}"
        );
        assert!(ps
            .iter()
            .all(|p| !p.message.is_empty() && !p.message_zh.is_empty()));
    }

    #[test]
    fn code_must_agree_with_type_and_department() {
        let mut v = valid();
        v["code"] = json!("330100-01-WJW-001-000");
        let ps = parse_body(&v).unwrap_err();
        assert_eq!(ps.len(), 2, "{ps:#?}");
        assert!(ps[0].message.contains("type element 01"));
        assert!(ps[1].message.contains("department element WJW"));
        v["code"] = json!("33-07-GAJ-1-0");
        let ps = parse_body(&v).unwrap_err();
        assert_eq!(ps.len(), 1);
        assert_eq!(ps[0].pointer, "/code");
    }

    #[test]
    fn law_and_article_forms() {
        assert!(is_law_title_zh("《中华人民共和国母婴保健法》"));
        assert!(is_law_title_zh(
            "《国务院办公厅关于…的通知》（国办发〔2011〕1号）"
        ));
        assert!(!is_law_title_zh("母婴保健法"));
        assert!(!is_law_title_zh("《》"));
        assert!(is_article_zh("第二十三条"));
        assert!(is_article_zh("第一千零四十九条"));
        assert!(!is_article_zh("第条"));
        assert!(!is_article_zh("Article 23"));
    }
}
