//! Checking answers against a form: the `jsonschema` crate (draft 2020-12, formats
//! asserted, the custom format `id-number` for GB 11643-1999) finds the problems, and this
//! module says each in the asker's language at the JSON pointer of the answer concerned.
//!
//! The validator's error kinds are mapped to our own messages in Chinese and English
//! ([`CompiledForm::check`]), worded for the question the pointer names: "upload at least
//! 1 file" for a file question's `minItems`, "required because 父亲信息已知 is 是" for a
//! question its condition made required, the expected check digit for an ID number.
//! `required` errors point at the missing answer itself (the validator puts them on the
//! object that lacks it). Problems come in question order.
//!
//! Compiled forms are cached by the SHA-256 of their schema and hints (a stored version
//! never changes, so the cache never goes stale); compiling the largest demo form and
//! checking an answer are measured in BENCHMARKS.md ("issue 14: forms").

use super::design::{self, DesignProblem, Question, QuestionType};
use super::lang::Lang;
use jsonschema::error::{TypeKind, ValidationErrorKind};
use onecity_iam::idnum;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

/// One problem with an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AnswerProblem {
    /// JSON pointer (RFC 6901) of the answer concerned, e.g. `/mother_id_number` or
    /// `/children/0/name` (a missing answer's own pointer).
    pub pointer: String,
    /// The JSON Schema keyword that failed (`required`, `format`, `maxItems`,
    /// `falseSchema` for an answer to a question whose condition does not hold), or
    /// `file` for a file reference that is not the submitter's stored file.
    pub keyword: String,
    /// What is wrong, in the asker's language.
    pub message: String,
}

/// A form ready to check answers: its questions and its compiled validator.
pub struct CompiledForm {
    /// The designer's questions read from the schema and hints.
    pub questions: Vec<Question>,
    validator: jsonschema::Validator,
}

/// Today's date in China (UTC+8) as `YYYYMMDD`: an identity number's birth date may not
/// be later.
fn today_cn() -> String {
    (chrono::Utc::now() + chrono::Duration::hours(8))
        .format("%Y%m%d")
        .to_string()
}

/// Whether `s` is a valid resident identity number today (GB 11643-1999).
pub fn id_number_ok(s: &str) -> bool {
    idnum::check_id_number(s, &today_cn()).is_ok()
}

fn id_number_message(s: &str, lang: Lang) -> String {
    match idnum::check_id_number(s, &today_cn()) {
        Ok(_) => lang
            .pick("身份证号无效", "not a valid identity number")
            .into(),
        Err(e) => {
            // The catalogue's bilingual detail: "中文 / English".
            let (zh, en) = e.detail.split_once(" / ").unwrap_or((&e.detail, &e.detail));
            lang.pick(zh, en).to_string()
        }
    }
}

impl CompiledForm {
    /// Reads the questions (see [`design::from_schema`]) and compiles the validator.
    /// Errors: every problem of the schema and hints, or the compiler's (an invalid
    /// `pattern`, say) at its pointer.
    pub fn new(schema: &Value, ui: &Value, lang: Lang) -> Result<CompiledForm, Vec<DesignProblem>> {
        let questions = design::from_schema(schema, ui, lang)?;
        let validator = jsonschema::draft202012::options()
            .should_validate_formats(true)
            .with_format("id-number", id_number_ok)
            .build(schema)
            .map_err(|e| {
                vec![DesignProblem {
                    pointer: format!("/schema{}", e.instance_path().as_str()),
                    message: format!(
                        "{}: {e}",
                        lang.pick("表单结构无法编译", "the schema does not compile")
                    ),
                }]
            })?;
        Ok(CompiledForm {
            questions,
            validator,
        })
    }

    /// The compiled form of `schema` and `ui`, from the cache when it was compiled before.
    pub fn cached(schema: &Value, ui: &Value) -> Result<Arc<CompiledForm>, Vec<DesignProblem>> {
        static CACHE: LazyLock<Mutex<HashMap<String, Arc<CompiledForm>>>> =
            LazyLock::new(Default::default);
        let mut h = Sha256::new();
        h.update(serde_json::to_vec(schema).unwrap_or_default());
        h.update([0]);
        h.update(serde_json::to_vec(ui).unwrap_or_default());
        let key = hex::encode(h.finalize());
        if let Some(c) = CACHE.lock().get(&key) {
            return Ok(c.clone());
        }
        let compiled = Arc::new(CompiledForm::new(schema, ui, Lang::En)?);
        let mut cache = CACHE.lock();
        if cache.len() >= 512 {
            cache.clear();
        }
        cache.insert(key, compiled.clone());
        Ok(compiled)
    }

    /// Every problem of `answers` (an object of answers by question id), in question order,
    /// with messages in `lang`. Empty when the answers are valid.
    pub fn check(&self, answers: &Value, lang: Lang) -> Vec<AnswerProblem> {
        let mut out: Vec<AnswerProblem> = Vec::new();
        for e in self.validator.iter_errors(answers) {
            let at = e.instance_path().as_str().to_string();
            let keyword = e.kind().keyword().to_string();
            let mut push = |pointer: String, message: String| {
                let p = AnswerProblem {
                    pointer,
                    keyword: keyword.clone(),
                    message,
                };
                if !out.contains(&p) {
                    out.push(p);
                }
            };
            match e.kind() {
                ValidationErrorKind::Required { property } => {
                    let name = property.as_str().unwrap_or_default();
                    let pointer = format!("{at}/{}", design::pointer_token(name));
                    let msg = self.required_message(&pointer, name, lang);
                    push(pointer, msg);
                }
                ValidationErrorKind::AdditionalProperties { unexpected } => {
                    for name in unexpected {
                        let pointer = format!("{at}/{}", design::pointer_token(name));
                        let msg = if at.is_empty() || self.is_group_entry(&at) {
                            lang.pick("不是此表单的问题", "is not a question of this form")
                        } else {
                            lang.pick("不是此项答案的字段", "is not a field of this answer")
                        };
                        push(pointer, msg.into());
                    }
                }
                kind => {
                    let msg = self.message(kind, &at, e.instance(), lang);
                    push(at, msg);
                }
            }
        }
        let key = |p: &AnswerProblem| order_key(&self.questions, &p.pointer);
        out.sort_by_key(key);
        out
    }

    fn is_group_entry(&self, pointer: &str) -> bool {
        matches!(design::question_at(&self.questions, pointer),
            Some((q, _)) if q.kind == QuestionType::Group && pointer.rsplit('/').next().is_some_and(|t| t.bytes().all(|b| b.is_ascii_digit())))
    }

    fn required_message(&self, pointer: &str, name: &str, lang: Lang) -> String {
        let Some((q, level)) = design::question_at(&self.questions, pointer) else {
            return lang.pick("此项必填", "this question is required").into();
        };
        match q.kind {
            QuestionType::Address if q.id != name => match name {
                "text" => lang.pick("请填写地址", "enter the address").into(),
                _ => lang
                    .pick("请在地图上选择位置", "pick the place on the map")
                    .into(),
            },
            QuestionType::File if q.id != name => lang
                .pick("文件信息不完整", "the file reference is incomplete")
                .into(),
            _ => match &q.show_when {
                Some(c) => {
                    let on = level.iter().find(|o| o.id == c.question);
                    let on_label = on.map(|o| o.label.get(lang)).unwrap_or(&c.question);
                    let value = on
                        .and_then(|o| o.option_label(&c.equals))
                        .map(|l| l.get(lang))
                        .unwrap_or(&c.equals);
                    match lang {
                        Lang::Zh => format!("此项必填（因为“{on_label}”选择了“{value}”）"),
                        Lang::En => {
                            format!("this question is required because \u{201c}{on_label}\u{201d} is \u{201c}{value}\u{201d}")
                        }
                    }
                }
                None => lang.pick("此项必填", "this question is required").into(),
            },
        }
    }

    fn message(&self, kind: &ValidationErrorKind, at: &str, value: &Value, lang: Lang) -> String {
        use ValidationErrorKind as K;
        let found = design::question_at(&self.questions, at);
        let q = found.map(|(q, _)| q);
        let qtype = q.map(|q| q.kind);
        let inside =
            q.is_some_and(|q| !at.ends_with(&format!("/{}", design::pointer_token(&q.id))));
        let pick = |zh: &str, en: &str| lang.pick(zh, en).to_string();
        match kind {
            K::FalseSchema => match (q, found.map(|f| f.1)) {
                (Some(q), Some(level)) if q.show_when.is_some() => {
                    let c = q.show_when.as_ref().expect("checked");
                    let on = level.iter().find(|o| o.id == c.question);
                    let on_label = on.map(|o| o.label.get(lang)).unwrap_or(&c.question);
                    let v = on
                        .and_then(|o| o.option_label(&c.equals))
                        .map(|l| l.get(lang))
                        .unwrap_or(&c.equals);
                    match lang {
                        Lang::Zh => format!("仅当“{on_label}”选择“{v}”时回答此项，请删除此答案"),
                        Lang::En => format!("answer this only when \u{201c}{on_label}\u{201d} is \u{201c}{v}\u{201d}; remove this answer"),
                    }
                }
                _ => pick("此项不适用", "this question does not apply"),
            },
            K::Type { kind } => {
                if at.is_empty() {
                    return pick(
                        "答案应为一个对象（按问题标识）",
                        "the answers must be an object (by question id)",
                    );
                }
                match (qtype, inside) {
                    (Some(QuestionType::Text), _) => pick("应填写文字", "must be text"),
                    (Some(QuestionType::Number), _) => match kind {
                        TypeKind::Single(t) if t.to_string() == "integer" => {
                            pick("应为整数", "must be a whole number")
                        }
                        _ => pick("应为数字", "must be a number"),
                    },
                    (Some(QuestionType::Date), _) => {
                        pick("应为日期（YYYY-MM-DD）", "must be a date (YYYY-MM-DD)")
                    }
                    (Some(QuestionType::IdNumber), _) => pick(
                        "应填写身份证号（文字）",
                        "must be an identity number (text)",
                    ),
                    (Some(QuestionType::Choice), false) if q.is_some_and(Question::is_multiple) => {
                        pick("应为所选选项的列表", "must be a list of chosen options")
                    }
                    (Some(QuestionType::Choice), _) => {
                        pick("应为一个选项", "must be one of the options")
                    }
                    (Some(QuestionType::Address), false) => pick(
                        "应为地址（文字和地图上的位置）",
                        "must be an address (text and a point on the map)",
                    ),
                    (Some(QuestionType::Address), true) => {
                        pick("地址格式不正确", "the address is malformed")
                    }
                    (Some(QuestionType::File), false) => {
                        pick("应为上传文件的列表", "must be a list of uploaded files")
                    }
                    (Some(QuestionType::File), true) => {
                        pick("文件信息格式不正确", "the file reference is malformed")
                    }
                    (Some(QuestionType::Group), _) => {
                        pick("应为一组组答案的列表", "must be a list of entries")
                    }
                    (None, _) => pick("类型不正确", "has the wrong type"),
                }
            }
            K::MinLength { limit } => {
                if *limit <= 1 {
                    pick("不能为空", "must not be empty")
                } else {
                    match lang {
                        Lang::Zh => format!("至少{limit}个字"),
                        Lang::En => format!("must have at least {limit} characters"),
                    }
                }
            }
            K::MaxLength { limit } => match lang {
                Lang::Zh => format!("最多{limit}个字"),
                Lang::En => format!("must have at most {limit} characters"),
            },
            K::Pattern { .. } => pick("格式不正确", "is not in the expected format"),
            K::Minimum { limit } | K::ExclusiveMinimum { limit } => {
                self.bound(q, qtype, inside, at, limit, true, lang)
            }
            K::Maximum { limit } | K::ExclusiveMaximum { limit } => {
                self.bound(q, qtype, inside, at, limit, false, lang)
            }
            K::Enum { .. } | K::Constant { .. } => match (qtype, inside) {
                (Some(QuestionType::File), true) => {
                    let accepted: Vec<&str> = q
                        .map(|q| q.accept.iter().map(|t| type_name(t)).collect())
                        .unwrap_or_default();
                    match lang {
                        Lang::Zh => {
                            format!("此处不接受这种文件类型（可接受：{}）", accepted.join("、"))
                        }
                        Lang::En => format!(
                            "this file type is not accepted here (accepted: {})",
                            accepted.join(", ")
                        ),
                    }
                }
                _ => pick("不是可选的选项", "is not one of the options"),
            },
            K::Format { format } => match format.as_str() {
                "id-number" => id_number_message(value.as_str().unwrap_or_default(), lang),
                "date" => pick(
                    "不是有效日期（格式 YYYY-MM-DD）",
                    "is not a valid date (YYYY-MM-DD)",
                ),
                "uuid" => pick("文件标识无效", "the file id is not valid"),
                _ => pick("格式不正确", "is not in the expected format"),
            },
            K::MinItems { limit } => match qtype {
                Some(QuestionType::File) => match lang {
                    Lang::Zh => format!("至少上传{limit}个文件"),
                    Lang::En if *limit == 1 => "upload at least 1 file".into(),
                    Lang::En => format!("upload at least {limit} files"),
                },
                Some(QuestionType::Choice) => pick("至少选择一项", "choose at least one option"),
                Some(QuestionType::Group) => match lang {
                    Lang::Zh => format!("至少填写{limit}组"),
                    Lang::En => format!("add at least {limit} entries"),
                },
                _ => match lang {
                    Lang::Zh => format!("至少{limit}项"),
                    Lang::En => format!("must have at least {limit} entries"),
                },
            },
            K::MaxItems { limit } => match qtype {
                Some(QuestionType::File) => match lang {
                    Lang::Zh => format!("最多上传{limit}个文件"),
                    Lang::En => format!("upload at most {limit} files"),
                },
                Some(QuestionType::Group) => match lang {
                    Lang::Zh => format!("最多填写{limit}组"),
                    Lang::En => format!("add at most {limit} entries"),
                },
                _ => match lang {
                    Lang::Zh => format!("最多{limit}项"),
                    Lang::En => format!("must have at most {limit} entries"),
                },
            },
            K::UniqueItems => match qtype {
                Some(QuestionType::Choice) => pick("同一选项选了两次", "an option is chosen twice"),
                _ => pick("有重复的项", "has an entry twice"),
            },
            other => match lang {
                Lang::Zh => format!("不符合表单的要求（{}）", other.keyword()),
                Lang::En => format!("does not meet the form's rule ({})", other.keyword()),
            },
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn bound(
        &self,
        q: Option<&Question>,
        qtype: Option<QuestionType>,
        inside: bool,
        at: &str,
        limit: &Value,
        lower: bool,
        lang: Lang,
    ) -> String {
        match (qtype, inside) {
            (Some(QuestionType::Address), true) => lang
                .pick(
                    "地图上的位置超出范围",
                    "the point on the map is out of range",
                )
                .into(),
            (Some(QuestionType::File), true) if at.ends_with("/size") => {
                if lower {
                    lang.pick("文件为空", "the file is empty").into()
                } else {
                    let mib = limit.as_f64().unwrap_or(0.0) / (1024.0 * 1024.0);
                    match lang {
                        Lang::Zh => format!("文件过大（此处最多 {mib:.1} MiB）"),
                        Lang::En => format!("the file is too large (at most {mib:.1} MiB here)"),
                    }
                }
            }
            _ => {
                let unit = q
                    .and_then(|q| q.unit.as_ref())
                    .map(|u| format!(" {}", u.get(lang)))
                    .unwrap_or_default();
                match (lang, lower) {
                    (Lang::Zh, true) => format!("不能小于{limit}{unit}"),
                    (Lang::Zh, false) => format!("不能大于{limit}{unit}"),
                    (Lang::En, true) => format!("must be at least {limit}{unit}"),
                    (Lang::En, false) => format!("must be at most {limit}{unit}"),
                }
            }
        }
    }
}

/// Human name of a media type.
pub fn type_name(t: &str) -> &str {
    match t {
        "image/jpeg" => "JPEG",
        "image/png" => "PNG",
        "application/pdf" => "PDF",
        "image/webp" => "WebP",
        other => other,
    }
}

/// A sort key that puts problems in question order (then by entry index and the rest of
/// the pointer).
fn order_key(questions: &[Question], pointer: &str) -> (Vec<usize>, String) {
    let mut key = Vec::new();
    let mut level = questions;
    let mut tokens = pointer.split('/').skip(1);
    while let Some(t) = tokens.next() {
        let t = t.replace("~1", "/").replace("~0", "~");
        match level.iter().position(|q| q.id == t) {
            Some(i) => {
                key.push(i);
                if level[i].kind == QuestionType::Group {
                    if let Some(idx) = tokens.next() {
                        key.push(idx.parse().unwrap_or(usize::MAX));
                    }
                    level = &level[i].questions;
                } else {
                    break;
                }
            }
            None => {
                key.push(usize::MAX);
                break;
            }
        }
    }
    (key, pointer.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forms::design::{
        to_schema, to_ui, Bilingual, ChoiceOption, ChoiceWidget, Condition,
    };
    use serde_json::json;

    fn form() -> CompiledForm {
        let mut name = Question::new("name", QuestionType::Text, "姓名", "Name");
        name.required = true;
        name.max_length = Some(4);
        let mut known = Question::new(
            "father_known",
            QuestionType::Choice,
            "父亲信息已知",
            "Father known",
        );
        known.required = true;
        known.widget = Some(ChoiceWidget::Radio);
        known.options = [("yes", "是", "Yes"), ("no", "否", "No")]
            .iter()
            .map(|(v, zh, en)| ChoiceOption {
                value: v.to_string(),
                label: Bilingual {
                    zh: zh.to_string(),
                    en: en.to_string(),
                },
            })
            .collect();
        let mut father = Question::new(
            "father_id",
            QuestionType::IdNumber,
            "父亲身份证号",
            "Father's ID number",
        );
        father.required = true;
        father.show_when = Some(Condition {
            question: "father_known".into(),
            equals: "yes".into(),
        });
        let mut weight = Question::new("weight", QuestionType::Number, "体重", "Weight");
        weight.integer = true;
        weight.minimum = Some(300.into());
        weight.unit = Some(Bilingual {
            zh: "克".into(),
            en: "g".into(),
        });
        let mut scan = Question::new("scan", QuestionType::File, "扫描件", "Scan");
        scan.required = true;
        scan.accept = vec!["image/png".into()];
        scan.max_size = Some(1024 * 1024);
        scan.min_count = Some(1);
        scan.max_count = Some(2);
        let place = Question::new("place", QuestionType::Address, "地点", "Place");
        let qs = vec![name, known, father, weight, scan, place];
        CompiledForm::new(&to_schema(&qs), &to_ui(&qs), Lang::En).unwrap()
    }

    fn pointers(p: &[AnswerProblem]) -> Vec<&str> {
        p.iter().map(|p| p.pointer.as_str()).collect()
    }

    #[test]
    fn missing_answers_are_each_listed_in_both_languages() {
        let f = form();
        let zh = f.check(&json!({}), Lang::Zh);
        assert_eq!(pointers(&zh), ["/name", "/father_known", "/scan"]);
        assert!(zh
            .iter()
            .all(|p| p.keyword == "required" && p.message == "此项必填"));
        let en = f.check(&json!({}), Lang::En);
        assert_eq!(en[0].message, "this question is required");
    }

    #[test]
    fn the_branch_is_required_only_when_its_condition_holds() {
        let f = form();
        let file = json!([{"id": "0190c4a0-0000-7000-8000-000000000001", "media_type": "image/png", "size": 10}]);
        let ok = json!({"name": "张三", "father_known": "no", "scan": file});
        assert!(f.check(&ok, Lang::En).is_empty());
        let mut yes = ok.clone();
        yes["father_known"] = json!("yes");
        let p = f.check(&yes, Lang::En);
        assert_eq!(pointers(&p), ["/father_id"]);
        assert_eq!(
            p[0].message,
            "this question is required because \u{201c}Father known\u{201d} is \u{201c}Yes\u{201d}"
        );
        let p = f.check(&yes, Lang::Zh);
        assert_eq!(p[0].message, "此项必填（因为“父亲信息已知”选择了“是”）");
        // Answering it when the condition does not hold is refused too.
        let mut extra = ok.clone();
        extra["father_id"] = json!("11010519491231002X");
        let p = f.check(&extra, Lang::Zh);
        assert_eq!(pointers(&p), ["/father_id"]);
        assert_eq!(p[0].keyword, "falseSchema");
        assert_eq!(
            p[0].message,
            "仅当“父亲信息已知”选择“是”时回答此项，请删除此答案"
        );
        yes["father_id"] = json!("11010519491231002X");
        assert!(f.check(&yes, Lang::En).is_empty());
    }

    #[test]
    fn values_get_messages_for_their_question() {
        let f = form();
        let answers = json!({
            "name": "张三李四王五",
            "father_known": "maybe",
            "weight": 312.5,
            "scan": [
                {"id": "not-a-uuid", "media_type": "application/pdf", "size": 2097152},
                {"id": "0190c4a0-0000-7000-8000-000000000001", "media_type": "image/png", "size": 1},
                {"id": "0190c4a0-0000-7000-8000-000000000002", "media_type": "image/png", "size": 1}
            ],
            "place": {"text": "西湖区", "lat": 120.1},
            "bogus": 1
        });
        let p = f.check(&answers, Lang::En);
        let short: Vec<(&str, &str)> = p
            .iter()
            .map(|p| (p.pointer.as_str(), p.message.as_str()))
            .collect();
        assert_eq!(
            short,
            [
                ("/name", "must have at most 4 characters"),
                ("/father_known", "is not one of the options"),
                ("/weight", "must be a whole number"),
                ("/scan", "upload at most 2 files"),
                ("/scan/0/id", "the file id is not valid"),
                (
                    "/scan/0/media_type",
                    "this file type is not accepted here (accepted: PNG)"
                ),
                (
                    "/scan/0/size",
                    "the file is too large (at most 1.0 MiB here)"
                ),
                ("/place/lat", "the point on the map is out of range"),
                ("/place/lon", "pick the place on the map"),
                ("/bogus", "is not a question of this form"),
            ],
            "{p:#?}"
        );
    }

    #[test]
    fn id_numbers_are_checked_by_their_check_digit() {
        let f = form();
        let file = json!([{"id": "0190c4a0-0000-7000-8000-000000000001", "media_type": "image/png", "size": 10}]);
        let mut a = json!({"name": "张三", "father_known": "yes", "scan": file, "father_id": "110105194912310021"});
        let p = f.check(&a, Lang::En);
        assert_eq!(pointers(&p), ["/father_id"]);
        assert_eq!(p[0].keyword, "format");
        assert!(
            p[0].message.contains("check digit") && p[0].message.contains("X"),
            "{}",
            p[0].message
        );
        assert!(f.check(&a, Lang::Zh)[0].message.contains("校验码错误"));
        a["father_id"] = json!("11010519491231002x");
        assert!(f.check(&a, Lang::En).is_empty());
        a["weight"] = json!(200);
        assert_eq!(f.check(&a, Lang::Zh)[0].message, "不能小于300 克");
    }

    #[test]
    fn answers_that_are_not_an_object_are_refused() {
        let p = form().check(&json!([1, 2]), Lang::En);
        assert_eq!(pointers(&p), [""]);
        assert_eq!(
            p[0].message,
            "the answers must be an object (by question id)"
        );
    }
}
