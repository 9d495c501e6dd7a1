//! The designer's data format (表单设计模型) and its one mapping to JSON Schema 2020-12
//! plus UI hints. Pure: no database, no HTTP.
//!
//! A form is stored and served as `schema` (JSON Schema 2020-12: what an answer must be)
//! and `ui` (labels in Chinese and English, help, question order, the widget of each
//! question). Staff never type either: the designer (`/console/services/forms`) edits a
//! list of [`Question`]s, and the demo forms are files of that list
//! (`crates/onecity-services/forms/*.json`, [`FormDesign`]). This module is the mapping
//! both ways, and the browser's `assets/js/forms_core.js` mirrors it line by line:
//!
//! - [`to_schema`] and [`to_ui`] make the schema and hints of a question list;
//! - [`from_schema`] reads them back into questions: it is directed by each question's
//!   `ui.widget`, and ends by making the schema and hints again from what it read and
//!   requiring both to be equal to what it was given. So every stored form is exactly what
//!   the designer makes of its questions, and it round-trips through the designer
//!   unchanged (the server refuses anything else, listing the JSON pointers that differ).
//!
//! Question types and their schemas (`N` = a number from the question):
//!
//! | type | ui widget | schema |
//! |---|---|---|
//! | text | `text`, `textarea` | `{"type":"string","minLength":1,"maxLength":N[,"pattern":…]}` |
//! | number | `number` | `{"type":"number"\|"integer"[,"minimum":N][,"maximum":N]}` |
//! | date | `date` | `{"type":"string","format":"date"}` |
//! | choice (single) | `radio`, `select` | `{"type":"string","enum":[…]}` |
//! | choice (multiple) | `checkboxes` | `{"type":"array","items":{"type":"string","enum":[…]},"uniqueItems":true,"minItems":1}` |
//! | address with a map pick | `map` | an object `{text, lat, lon}`, all three required |
//! | ID number 身份证号 | `id-number` | `{"type":"string","format":"id-number"}` (GB 11643-1999 check digit, see `validate`) |
//! | file upload | `file` | an array of `{id, name, media_type, size}` with the allowed types as `media_type`'s `enum`, the largest size as `size`'s `maximum`, and `minItems`/`maxItems` the count |
//! | repeatable group | `group` | an array of objects, each built like the form itself, `minItems`/`maxItems` |
//!
//! Branching: a question with `show_when: {question: C, equals: V}` is asked only when the
//! earlier choice question `C` of the same level has the answer `V` (for a multiple choice:
//! includes `V`). It becomes one entry of its level's `allOf`, in question order:
//! `{"if": {"properties": {C: {"const": V}}, "required": [C]}, "then": {"required": [Q]},
//! "else": {"properties": {Q: false}}}` (`contains` instead of `const` for a multiple
//! choice; no `then` when `Q` is optional). So the question is required only when its
//! condition holds, and an answer to it is refused when it does not.

use super::lang::Lang;
use onecity_store::files::{KNOWN_TYPES, MAX_SIZE_LIMIT};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Number, Value};
use std::collections::{BTreeMap, HashSet};

/// The JSON Schema dialect of every form.
pub const DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

/// Most questions on one level of a form (the form itself, or one repeatable group).
pub const MAX_QUESTIONS_PER_LEVEL: usize = 100;
/// Most questions in a form, counting those inside groups.
pub const MAX_QUESTIONS: usize = 300;
/// Longest text answer a question may allow.
pub const MAX_TEXT_LENGTH: u64 = 10_000;
/// Most files one file question may take.
pub const MAX_FILE_COUNT: u64 = 20;
/// Most entries a repeatable group may take.
pub const MAX_GROUP_ITEMS: u64 = 50;
/// Most options of a choice question.
pub const MAX_OPTIONS: usize = 100;

/// A text in Chinese and English.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Bilingual {
    /// Chinese.
    pub zh: String,
    /// English.
    pub en: String,
}

impl Bilingual {
    /// The text in `lang`.
    pub fn get(&self, lang: Lang) -> &str {
        lang.pick(&self.zh, &self.en)
    }
}

/// A question's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuestionType {
    /// Free text, one line or several.
    Text,
    /// A number or an integer.
    Number,
    /// A calendar date `YYYY-MM-DD`.
    Date,
    /// One of, or several of, fixed options.
    Choice,
    /// An address: text and a point picked on the map (WGS-84 lat/lon).
    Address,
    /// A resident identity number (居民身份证号码), checked by its GB 11643-1999 check digit.
    IdNumber,
    /// Uploaded files (材料).
    File,
    /// A repeatable group of questions (children, properties…).
    Group,
}

impl QuestionType {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Number => "number",
            Self::Date => "date",
            Self::Choice => "choice",
            Self::Address => "address",
            Self::IdNumber => "id_number",
            Self::File => "file",
            Self::Group => "group",
        }
    }
}

/// How a choice question is shown: single choice as radio buttons or a drop-down,
/// multiple choice as check boxes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChoiceWidget {
    /// Single choice, radio buttons.
    Radio,
    /// Single choice, a drop-down list.
    Select,
    /// Multiple choice, check boxes.
    Checkboxes,
}

impl ChoiceWidget {
    fn as_str(self) -> &'static str {
        match self {
            Self::Radio => "radio",
            Self::Select => "select",
            Self::Checkboxes => "checkboxes",
        }
    }
}

/// One option of a choice question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChoiceOption {
    /// The stored value (1–40 of `A-Z a-z 0-9 _ -`).
    pub value: String,
    /// What the citizen reads.
    pub label: Bilingual,
}

/// "Show this question when `question` is `equals`".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// Id of an earlier choice question of the same level.
    pub question: String,
    /// One of its option values.
    pub equals: String,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// One question as the designer holds it. Fields that do not apply to its type stay
/// unset (the checks refuse them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Question {
    /// Id, unique in its level: the answer's property name (`^[a-z][a-z0-9_]{0,39}$`).
    pub id: String,
    /// Type.
    #[serde(rename = "type")]
    pub kind: QuestionType,
    /// Label.
    pub label: Bilingual,
    /// Help shown under the question.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<Bilingual>,
    /// Must be answered (when shown).
    #[serde(default, skip_serializing_if = "is_false")]
    pub required: bool,
    /// Asked only when this condition holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_when: Option<Condition>,
    /// Text: several lines.
    #[serde(default, skip_serializing_if = "is_false")]
    pub multiline: bool,
    /// Text: most characters (required for text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u64>,
    /// Text: a regular expression (ECMA 262) the answer must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// Number: whole numbers only.
    #[serde(default, skip_serializing_if = "is_false")]
    pub integer: bool,
    /// Number: least value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<f64>)]
    pub minimum: Option<Number>,
    /// Number: greatest value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<f64>)]
    pub maximum: Option<Number>,
    /// Number: unit shown beside the field (e.g. 克 g).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<Bilingual>,
    /// Choice: how it is shown (and so single or multiple).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub widget: Option<ChoiceWidget>,
    /// Choice: the options, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<ChoiceOption>,
    /// File: allowed media types, found in the content (`image/jpeg`, `image/png`,
    /// `application/pdf`, `image/webp`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accept: Vec<String>,
    /// File: largest size of one file in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_size: Option<u64>,
    /// File: fewest files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_count: Option<u64>,
    /// File: most files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_count: Option<u64>,
    /// Group: the questions of one entry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(no_recursion)]
    pub questions: Vec<Question>,
    /// Group: fewest entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_items: Option<u64>,
    /// Group: most entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_items: Option<u64>,
}

impl Question {
    /// A question of `kind` with every optional field unset.
    pub fn new(id: &str, kind: QuestionType, zh: &str, en: &str) -> Question {
        Question {
            id: id.to_string(),
            kind,
            label: Bilingual {
                zh: zh.to_string(),
                en: en.to_string(),
            },
            help: None,
            required: false,
            show_when: None,
            multiline: false,
            max_length: None,
            pattern: None,
            integer: false,
            minimum: None,
            maximum: None,
            unit: None,
            widget: None,
            options: Vec::new(),
            accept: Vec::new(),
            max_size: None,
            min_count: None,
            max_count: None,
            questions: Vec::new(),
            min_items: None,
            max_items: None,
        }
    }

    /// Whether this choice question takes several options.
    pub fn is_multiple(&self) -> bool {
        self.widget == Some(ChoiceWidget::Checkboxes)
    }

    /// The ui widget name of this question.
    pub fn widget_name(&self) -> &'static str {
        match self.kind {
            QuestionType::Text if self.multiline => "textarea",
            QuestionType::Text => "text",
            QuestionType::Number => "number",
            QuestionType::Date => "date",
            QuestionType::Choice => self.widget.unwrap_or(ChoiceWidget::Radio).as_str(),
            QuestionType::Address => "map",
            QuestionType::IdNumber => "id-number",
            QuestionType::File => "file",
            QuestionType::Group => "group",
        }
    }

    /// The label of option `value`, if it is one.
    pub fn option_label(&self, value: &str) -> Option<&Bilingual> {
        self.options
            .iter()
            .find(|o| o.value == value)
            .map(|o| &o.label)
    }
}

/// A form as the designer's data file holds it (`forms/*.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FormDesign {
    /// Form key, unique in the tenant (`^[a-z0-9][a-z0-9-]{1,63}$`).
    pub key: String,
    /// Code of the service item (事项) the form belongs to.
    pub item_code: String,
    /// Title.
    pub title: Bilingual,
    /// Introduction shown above the questions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Bilingual>,
    /// The questions, in order.
    pub questions: Vec<Question>,
}

/// One problem with a form design or schema: where (a JSON pointer into the design's
/// questions, or into the schema or hints given) and what, in the caller's language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DesignProblem {
    /// JSON pointer (RFC 6901) of the offending part.
    pub pointer: String,
    /// What is wrong.
    pub message: String,
}

/// Escapes one JSON pointer token (RFC 6901: `~` → `~0`, `/` → `~1`).
pub fn pointer_token(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

struct Problems<'a> {
    lang: Lang,
    list: &'a mut Vec<DesignProblem>,
}

impl Problems<'_> {
    fn add(&mut self, pointer: &str, zh: String, en: String) {
        self.list.push(DesignProblem {
            pointer: pointer.to_string(),
            message: match self.lang {
                Lang::Zh => zh,
                Lang::En => en,
            },
        });
    }
}

// ---------------------------------------------------------------------- questions → schema

/// The JSON Schema 2020-12 of a form with these questions.
pub fn to_schema(questions: &[Question]) -> Value {
    let mut root = Map::new();
    root.insert("$schema".into(), json!(DIALECT));
    for (k, v) in level_schema(questions) {
        root.insert(k, v);
    }
    Value::Object(root)
}

fn level_schema(questions: &[Question]) -> Map<String, Value> {
    let mut properties = Map::new();
    let mut required = Vec::new();
    let mut rules = Vec::new();
    for q in questions {
        properties.insert(q.id.clone(), question_schema(q));
        match &q.show_when {
            None if q.required => required.push(json!(q.id)),
            None => {}
            Some(c) => {
                let multiple = questions
                    .iter()
                    .find(|o| o.id == c.question)
                    .is_some_and(Question::is_multiple);
                let test = if multiple {
                    json!({"contains": {"const": c.equals}})
                } else {
                    json!({"const": c.equals})
                };
                let mut rule = Map::new();
                rule.insert(
                    "if".into(),
                    json!({"properties": {c.question.clone(): test}, "required": [c.question]}),
                );
                if q.required {
                    rule.insert("then".into(), json!({"required": [q.id]}));
                }
                rule.insert("else".into(), json!({"properties": {q.id.clone(): false}}));
                rules.push(Value::Object(rule));
            }
        }
    }
    let mut level = Map::new();
    level.insert("type".into(), json!("object"));
    level.insert("properties".into(), Value::Object(properties));
    level.insert("required".into(), Value::Array(required));
    level.insert("additionalProperties".into(), json!(false));
    if !rules.is_empty() {
        level.insert("allOf".into(), Value::Array(rules));
    }
    level
}

/// The schema of an address answer: text and a point, all three required.
pub fn address_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "text": {"type": "string", "minLength": 1, "maxLength": 200},
            "lat": {"type": "number", "minimum": -90, "maximum": 90},
            "lon": {"type": "number", "minimum": -180, "maximum": 180}
        },
        "required": ["text", "lat", "lon"],
        "additionalProperties": false
    })
}

fn file_item_schema(accept: &[String], max_size: u64) -> Value {
    json!({
        "type": "object",
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "name": {"type": "string", "maxLength": 255},
            "media_type": {"type": "string", "enum": accept},
            "size": {"type": "integer", "minimum": 1, "maximum": max_size}
        },
        "required": ["id", "media_type", "size"],
        "additionalProperties": false
    })
}

fn question_schema(q: &Question) -> Value {
    let mut s = Map::new();
    let values: Vec<Value> = q.options.iter().map(|o| json!(o.value)).collect();
    match q.kind {
        QuestionType::Text => {
            s.insert("type".into(), json!("string"));
            s.insert("minLength".into(), json!(1));
            if let Some(n) = q.max_length {
                s.insert("maxLength".into(), json!(n));
            }
            if let Some(p) = &q.pattern {
                s.insert("pattern".into(), json!(p));
            }
        }
        QuestionType::Number => {
            s.insert(
                "type".into(),
                json!(if q.integer { "integer" } else { "number" }),
            );
            if let Some(n) = &q.minimum {
                s.insert("minimum".into(), Value::Number(n.clone()));
            }
            if let Some(n) = &q.maximum {
                s.insert("maximum".into(), Value::Number(n.clone()));
            }
        }
        QuestionType::Date => {
            s.insert("type".into(), json!("string"));
            s.insert("format".into(), json!("date"));
        }
        QuestionType::Choice if q.is_multiple() => {
            s.insert("type".into(), json!("array"));
            s.insert("items".into(), json!({"type": "string", "enum": values}));
            s.insert("uniqueItems".into(), json!(true));
            s.insert("minItems".into(), json!(1));
        }
        QuestionType::Choice => {
            s.insert("type".into(), json!("string"));
            s.insert("enum".into(), Value::Array(values));
        }
        QuestionType::Address => return address_schema(),
        QuestionType::IdNumber => {
            s.insert("type".into(), json!("string"));
            s.insert("format".into(), json!("id-number"));
        }
        QuestionType::File => {
            s.insert("type".into(), json!("array"));
            s.insert(
                "items".into(),
                file_item_schema(&q.accept, q.max_size.unwrap_or(0)),
            );
            if let Some(n) = q.min_count {
                s.insert("minItems".into(), json!(n));
            }
            if let Some(n) = q.max_count {
                s.insert("maxItems".into(), json!(n));
            }
        }
        QuestionType::Group => {
            s.insert("type".into(), json!("array"));
            s.insert("items".into(), Value::Object(level_schema(&q.questions)));
            if let Some(n) = q.min_items {
                s.insert("minItems".into(), json!(n));
            }
            if let Some(n) = q.max_items {
                s.insert("maxItems".into(), json!(n));
            }
        }
    }
    Value::Object(s)
}

/// The UI hints of a form with these questions: `{"order": [ids], "questions": {id: {label,
/// help?, widget, options?, unit?, order?, questions?}}}` (groups nest the same shape).
pub fn to_ui(questions: &[Question]) -> Value {
    Value::Object(level_ui(questions))
}

fn level_ui(questions: &[Question]) -> Map<String, Value> {
    let mut hints = Map::new();
    for q in questions {
        let mut h = Map::new();
        h.insert("label".into(), json!(q.label));
        if let Some(help) = &q.help {
            h.insert("help".into(), json!(help));
        }
        h.insert("widget".into(), json!(q.widget_name()));
        if q.kind == QuestionType::Choice {
            let options: Map<String, Value> = q
                .options
                .iter()
                .map(|o| (o.value.clone(), json!(o.label)))
                .collect();
            h.insert("options".into(), Value::Object(options));
        }
        if let Some(unit) = &q.unit {
            h.insert("unit".into(), json!(unit));
        }
        if q.kind == QuestionType::Group {
            for (k, v) in level_ui(&q.questions) {
                h.insert(k, v);
            }
        }
        hints.insert(q.id.clone(), Value::Object(h));
    }
    let mut level = Map::new();
    level.insert(
        "order".into(),
        Value::Array(questions.iter().map(|q| json!(q.id)).collect()),
    );
    level.insert("questions".into(), Value::Object(hints));
    level
}

// ---------------------------------------------------------------------- checks of a design

fn valid_id(id: &str) -> bool {
    let b = id.as_bytes();
    !b.is_empty()
        && b.len() <= 40
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_')
}

fn valid_option_value(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 40
        && v.bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
}

/// Whether `key` is a valid form key: 2–64 of `a-z 0-9 -`, starting with a letter or digit.
pub fn valid_key(key: &str) -> bool {
    let b = key.as_bytes();
    (2..=64).contains(&b.len())
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

fn check_text(
    p: &mut Problems,
    pointer: &str,
    t: &Bilingual,
    what_zh: &str,
    what_en: &str,
    max: usize,
) {
    for (lang, text) in [("zh", &t.zh), ("en", &t.en)] {
        let n = text.trim().chars().count();
        if n == 0 {
            p.add(
                &format!("{pointer}/{lang}"),
                format!("{what_zh}（{lang}）不能为空"),
                format!("the {what_en} ({lang}) is empty"),
            );
        } else if n > max {
            p.add(
                &format!("{pointer}/{lang}"),
                format!("{what_zh}（{lang}）最多{max}个字"),
                format!("the {what_en} ({lang}) is longer than {max} characters"),
            );
        }
    }
}

/// Every problem of a question list (the designer's checks, also run on every save): ids,
/// labels, the fields each type needs and only those, ranges, options, file limits, groups
/// (one level deep), and conditions (an earlier choice question of the same level, and one
/// of its options). Pointers are under `/questions`.
pub fn check_questions(questions: &[Question], lang: Lang) -> Vec<DesignProblem> {
    let mut list = Vec::new();
    let mut p = Problems {
        lang,
        list: &mut list,
    };
    if questions.is_empty() {
        p.add(
            "/questions",
            "表单至少要有一个问题".into(),
            "a form has at least one question".into(),
        );
    }
    let total: usize = questions.iter().map(|q| 1 + q.questions.len()).sum();
    if total > MAX_QUESTIONS {
        p.add(
            "/questions",
            format!("表单最多{MAX_QUESTIONS}个问题"),
            format!("a form has at most {MAX_QUESTIONS} questions"),
        );
    }
    check_level(&mut p, questions, "/questions", 0);
    list
}

fn check_level(p: &mut Problems, questions: &[Question], at: &str, depth: usize) {
    if questions.len() > MAX_QUESTIONS_PER_LEVEL {
        p.add(
            at,
            format!("同一层最多{MAX_QUESTIONS_PER_LEVEL}个问题"),
            format!("at most {MAX_QUESTIONS_PER_LEVEL} questions on one level"),
        );
    }
    let mut seen = HashSet::new();
    for (i, q) in questions.iter().enumerate() {
        let here = format!("{at}/{i}");
        if !valid_id(&q.id) {
            p.add(
                &format!("{here}/id"),
                format!("问题标识“{}”无效：以小写字母开头，只含小写字母、数字和下划线，最多40个字符", q.id),
                format!("the question id {:?} is not valid: a lower-case letter, then lower-case letters, digits and _, at most 40 characters", q.id),
            );
        } else if !seen.insert(q.id.as_str()) {
            p.add(
                &format!("{here}/id"),
                format!("问题标识“{}”重复", q.id),
                format!("the question id {:?} is used twice", q.id),
            );
        }
        check_text(p, &format!("{here}/label"), &q.label, "标题", "label", 200);
        if let Some(h) = &q.help {
            check_text(p, &format!("{here}/help"), h, "说明", "help", 1000);
        }
        check_fields(p, q, &here, depth);
        if let Some(c) = &q.show_when {
            check_condition(p, c, &questions[..i], &format!("{here}/show_when"));
        }
    }
}

fn not_applicable(p: &mut Problems, here: &str, field: &str, q: &Question) {
    p.add(
        &format!("{here}/{field}"),
        format!("“{field}”不适用于{}类问题", type_zh(q.kind)),
        format!("{field} does not apply to a {} question", q.kind.as_str()),
    );
}

fn missing(p: &mut Problems, here: &str, field: &str, q: &Question) {
    p.add(
        &format!("{here}/{field}"),
        format!("{}类问题需要“{field}”", type_zh(q.kind)),
        format!("a {} question needs {field}", q.kind.as_str()),
    );
}

/// The Chinese name of a question type.
pub fn type_zh(t: QuestionType) -> &'static str {
    match t {
        QuestionType::Text => "文本",
        QuestionType::Number => "数字",
        QuestionType::Date => "日期",
        QuestionType::Choice => "选择",
        QuestionType::Address => "地址",
        QuestionType::IdNumber => "身份证号",
        QuestionType::File => "文件",
        QuestionType::Group => "重复组",
    }
}

fn check_fields(p: &mut Problems, q: &Question, here: &str, depth: usize) {
    use QuestionType as T;
    let k = q.kind;
    // Fields of other types must stay unset.
    let set: [(&str, bool, &[T]); 16] = [
        ("multiline", q.multiline, &[T::Text]),
        ("max_length", q.max_length.is_some(), &[T::Text]),
        ("pattern", q.pattern.is_some(), &[T::Text]),
        ("integer", q.integer, &[T::Number]),
        ("minimum", q.minimum.is_some(), &[T::Number]),
        ("maximum", q.maximum.is_some(), &[T::Number]),
        ("unit", q.unit.is_some(), &[T::Number]),
        ("widget", q.widget.is_some(), &[T::Choice]),
        ("options", !q.options.is_empty(), &[T::Choice]),
        ("accept", !q.accept.is_empty(), &[T::File]),
        ("max_size", q.max_size.is_some(), &[T::File]),
        ("min_count", q.min_count.is_some(), &[T::File]),
        ("max_count", q.max_count.is_some(), &[T::File]),
        ("questions", !q.questions.is_empty(), &[T::Group]),
        ("min_items", q.min_items.is_some(), &[T::Group]),
        ("max_items", q.max_items.is_some(), &[T::Group]),
    ];
    for (field, is_set, types) in set {
        if is_set && !types.contains(&k) {
            not_applicable(p, here, field, q);
        }
    }
    match k {
        T::Text => match q.max_length {
            None => missing(p, here, "max_length", q),
            Some(n) if n == 0 || n > MAX_TEXT_LENGTH => p.add(
                &format!("{here}/max_length"),
                format!("最大长度应在1到{MAX_TEXT_LENGTH}之间"),
                format!("max_length is 1 to {MAX_TEXT_LENGTH}"),
            ),
            Some(_) => {
                if let Some(pat) = &q.pattern {
                    if pat.is_empty() || pat.chars().count() > 500 {
                        p.add(
                            &format!("{here}/pattern"),
                            "格式（正则表达式）应为1到500个字符".into(),
                            "the pattern is 1 to 500 characters".into(),
                        );
                    }
                }
            }
        },
        T::Number => {
            if let (Some(lo), Some(hi)) = (&q.minimum, &q.maximum) {
                if lo.as_f64() > hi.as_f64() {
                    p.add(
                        &format!("{here}/maximum"),
                        "最大值不能小于最小值".into(),
                        "maximum is less than minimum".into(),
                    );
                }
            }
            for (field, n) in [("minimum", &q.minimum), ("maximum", &q.maximum)] {
                if let Some(n) = n {
                    if q.integer && !(n.is_i64() || n.is_u64()) {
                        p.add(
                            &format!("{here}/{field}"),
                            "整数问题的上下限应为整数".into(),
                            format!("{field} of a whole-number question is a whole number"),
                        );
                    }
                }
            }
        }
        T::Choice => {
            if q.widget.is_none() {
                missing(p, here, "widget", q);
            }
            if q.options.len() < 2 || q.options.len() > MAX_OPTIONS {
                p.add(
                    &format!("{here}/options"),
                    format!("选择题需要2到{MAX_OPTIONS}个选项"),
                    format!("a choice question has 2 to {MAX_OPTIONS} options"),
                );
            }
            let mut values = HashSet::new();
            for (j, o) in q.options.iter().enumerate() {
                let op = format!("{here}/options/{j}");
                if !valid_option_value(&o.value) {
                    p.add(
                        &format!("{op}/value"),
                        format!("选项值“{}”无效：1到40个字母、数字、_ 或 -", o.value),
                        format!(
                            "the option value {:?} is not valid: 1 to 40 letters, digits, _ or -",
                            o.value
                        ),
                    );
                } else if !values.insert(o.value.as_str()) {
                    p.add(
                        &format!("{op}/value"),
                        format!("选项值“{}”重复", o.value),
                        format!("the option value {:?} is used twice", o.value),
                    );
                }
                check_text(
                    p,
                    &format!("{op}/label"),
                    &o.label,
                    "选项文字",
                    "option label",
                    200,
                );
            }
        }
        T::File => {
            if q.accept.is_empty() {
                missing(p, here, "accept", q);
            }
            let mut seen = HashSet::new();
            for (j, t) in q.accept.iter().enumerate() {
                if !KNOWN_TYPES.contains(&t.as_str()) || !seen.insert(t.as_str()) {
                    p.add(
                        &format!("{here}/accept/{j}"),
                        format!("文件类型“{t}”无效或重复，可选：{}", KNOWN_TYPES.join("、")),
                        format!(
                            "the file type {t:?} is unknown or repeated; known: {}",
                            KNOWN_TYPES.join(", ")
                        ),
                    );
                }
            }
            match q.max_size {
                None => missing(p, here, "max_size", q),
                Some(n) if n == 0 || n > MAX_SIZE_LIMIT => p.add(
                    &format!("{here}/max_size"),
                    format!("单个文件最大应在1到{MAX_SIZE_LIMIT}字节之间"),
                    format!("max_size is 1 to {MAX_SIZE_LIMIT} bytes"),
                ),
                Some(_) => {}
            }
            match (q.min_count, q.max_count) {
                (None, _) => missing(p, here, "min_count", q),
                (_, None) => missing(p, here, "max_count", q),
                (Some(lo), Some(hi)) => {
                    if hi == 0 || hi > MAX_FILE_COUNT || lo > hi {
                        p.add(
                            &format!("{here}/max_count"),
                            format!("文件数量：最多应在1到{MAX_FILE_COUNT}之间，且不少于最少数量"),
                            format!("max_count is 1 to {MAX_FILE_COUNT} and not below min_count"),
                        );
                    }
                }
            }
        }
        T::Group => {
            if depth > 0 {
                p.add(
                    &format!("{here}/type"),
                    "重复组不能嵌套".into(),
                    "a repeatable group cannot hold another group".into(),
                );
            }
            if q.questions.is_empty() {
                missing(p, here, "questions", q);
            }
            if let Some(hi) = q.max_items {
                if hi == 0 || hi > MAX_GROUP_ITEMS || q.min_items.is_some_and(|lo| lo > hi) {
                    p.add(
                        &format!("{here}/max_items"),
                        format!("重复次数：最多应在1到{MAX_GROUP_ITEMS}之间，且不少于最少次数"),
                        format!("max_items is 1 to {MAX_GROUP_ITEMS} and not below min_items"),
                    );
                }
            } else if q.min_items.is_some_and(|lo| lo > MAX_GROUP_ITEMS) {
                p.add(
                    &format!("{here}/min_items"),
                    format!("重复次数最多{MAX_GROUP_ITEMS}"),
                    format!("min_items is at most {MAX_GROUP_ITEMS}"),
                );
            }
            check_level(p, &q.questions, &format!("{here}/questions"), depth + 1);
        }
        T::Date | T::Address | T::IdNumber => {}
    }
}

fn check_condition(p: &mut Problems, c: &Condition, earlier: &[Question], at: &str) {
    let Some(on) = earlier.iter().find(|q| q.id == c.question) else {
        p.add(
            &format!("{at}/question"),
            format!("条件引用的问题“{}”不在本问题之前（同一层）", c.question),
            format!(
                "the condition names {:?}, which is not an earlier question of the same level",
                c.question
            ),
        );
        return;
    };
    if on.kind != QuestionType::Choice {
        p.add(
            &format!("{at}/question"),
            format!("条件只能引用选择题，“{}”不是", c.question),
            format!(
                "a condition names a choice question; {:?} is not one",
                c.question
            ),
        );
        return;
    }
    if on.option_label(&c.equals).is_none() {
        p.add(
            &format!("{at}/equals"),
            format!("“{}”不是问题“{}”的选项", c.equals, c.question),
            format!("{:?} is not an option of {:?}", c.equals, c.question),
        );
    }
}

// ---------------------------------------------------------------------- schema → questions

/// Reads a stored form's `schema` and `ui` back into the designer's questions.
///
/// Errors: every problem found, with pointers into the schema (`/schema/…`), the hints
/// (`/ui/…`) or, for problems of the questions read, the design (`/questions/…`). The
/// last check makes the schema and hints again from the questions read and lists every
/// pointer where they differ from those given, so an `Ok` means exact round trip.
pub fn from_schema(
    schema: &Value,
    ui: &Value,
    lang: Lang,
) -> Result<Vec<Question>, Vec<DesignProblem>> {
    let mut list = Vec::new();
    let questions = {
        let mut p = Problems {
            lang,
            list: &mut list,
        };
        if schema.get("$schema") != Some(&json!(DIALECT)) {
            p.add(
                "/schema/$schema",
                format!("表单结构须声明 $schema 为 {DIALECT}"),
                format!("the schema's $schema must be {DIALECT}"),
            );
        }
        read_level(&mut p, schema, ui, "/schema", "/ui", 0)
    };
    if !list.is_empty() {
        return Err(list);
    }
    let problems = check_questions(&questions, lang);
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut p = Problems {
        lang,
        list: &mut list,
    };
    for (given, made, at) in [
        (schema, &to_schema(&questions), "/schema"),
        (ui, &to_ui(&questions), "/ui"),
    ] {
        let mut diffs = Vec::new();
        diff(given, made, at, &mut diffs);
        for d in diffs.into_iter().take(20) {
            p.add(
                &d,
                "此处与表单设计器生成的结构不同（只能保存设计器能表示的表单）".into(),
                "differs from what the designer makes of these questions (only forms the designer can show are kept)".into(),
            );
        }
    }
    if list.is_empty() {
        Ok(questions)
    } else {
        Err(list)
    }
}

/// Every JSON pointer under `at` where `a` and `b` differ (object members compared by
/// name, arrays by position).
fn diff(a: &Value, b: &Value, at: &str, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let here = format!("{at}/{}", pointer_token(k));
                match (x.get(k), y.get(k)) {
                    (Some(u), Some(v)) => diff(u, v, &here, out),
                    _ => out.push(here),
                }
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (u, v)) in x.iter().zip(y).enumerate() {
                diff(u, v, &format!("{at}/{i}"), out);
            }
        }
        _ if a == b => {}
        _ => out.push(at.to_string()),
    }
}

fn bilingual(v: Option<&Value>) -> Option<Bilingual> {
    serde_json::from_value(v?.clone()).ok()
}

fn u64_of(v: Option<&Value>) -> Option<u64> {
    v?.as_u64()
}

fn strings(v: Option<&Value>) -> Option<Vec<String>> {
    v?.as_array()?
        .iter()
        .map(|s| s.as_str().map(str::to_string))
        .collect()
}

fn read_level(
    p: &mut Problems,
    schema: &Value,
    ui: &Value,
    sp: &str,
    up: &str,
    depth: usize,
) -> Vec<Question> {
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        p.add(
            &format!("{sp}/properties"),
            "缺少 properties 对象".into(),
            "properties (an object) is missing".into(),
        );
        return Vec::new();
    };
    let Some(order) = strings(ui.get("order")) else {
        p.add(
            &format!("{up}/order"),
            "缺少问题顺序 order（问题标识的数组）".into(),
            "order (an array of question ids) is missing".into(),
        );
        return Vec::new();
    };
    let hints = ui.get("questions").and_then(Value::as_object);
    let empty = Map::new();
    let hints = hints.unwrap_or(&empty);
    let mut questions = Vec::new();
    for id in &order {
        let token = pointer_token(id);
        let Some(qs) = props.get(id) else {
            p.add(
                &format!("{up}/order"),
                format!("顺序中的“{id}”不在表单结构中"),
                format!("{id:?} is in the order but not in the schema's properties"),
            );
            continue;
        };
        let Some(hint) = hints.get(id) else {
            p.add(
                &format!("{up}/questions/{token}"),
                format!("问题“{id}”缺少界面提示"),
                format!("the question {id:?} has no ui hints"),
            );
            continue;
        };
        if let Some(q) = read_question(
            p,
            id,
            qs,
            hint,
            &format!("{sp}/properties/{token}"),
            &format!("{up}/questions/{token}"),
            depth,
        ) {
            questions.push(q);
        }
    }
    for id in props.keys() {
        if !order.contains(id) {
            p.add(
                &format!("{sp}/properties/{}", pointer_token(id)),
                format!("问题“{id}”不在界面提示的顺序 order 中"),
                format!("the question {id:?} is not in the ui order"),
            );
        }
    }
    if let Some(required) = strings(schema.get("required")) {
        for id in required {
            if let Some(q) = questions.iter_mut().find(|q| q.id == id) {
                q.required = true;
            }
        }
    }
    if let Some(rules) = schema.get("allOf").and_then(Value::as_array) {
        for (i, rule) in rules.iter().enumerate() {
            read_rule(p, rule, &mut questions, &format!("{sp}/allOf/{i}"));
        }
    }
    questions
}

fn read_rule(p: &mut Problems, rule: &Value, questions: &mut [Question], at: &str) {
    let target = rule
        .get("else")
        .and_then(|e| e.get("properties"))
        .and_then(Value::as_object)
        .and_then(|m| m.keys().next().cloned());
    let cond = rule
        .get("if")
        .and_then(|i| i.get("properties"))
        .and_then(Value::as_object)
        .and_then(|m| m.iter().next());
    let (Some(target), Some((on, test))) = (target, cond) else {
        p.add(
            at,
            "条件规则应为 if/then/else：if 检查一个选择题的答案，else 排除被控制的问题".into(),
            "a condition rule is if/then/else: if tests one choice answer, else excludes the question it controls".into(),
        );
        return;
    };
    let equals = test
        .get("const")
        .or_else(|| test.get("contains").and_then(|c| c.get("const")))
        .and_then(Value::as_str);
    let Some(equals) = equals else {
        p.add(
            &format!("{at}/if"),
            "条件应比较一个选项值（const）".into(),
            "a condition compares one option value (const)".into(),
        );
        return;
    };
    let Some(q) = questions.iter_mut().find(|q| q.id == target) else {
        p.add(
            &format!("{at}/else"),
            format!("条件控制的问题“{target}”不存在"),
            format!("the condition controls {target:?}, which is not a question here"),
        );
        return;
    };
    q.show_when = Some(Condition {
        question: on.clone(),
        equals: equals.to_string(),
    });
    if rule.get("then").is_some() {
        q.required = true;
    }
}

fn read_question(
    p: &mut Problems,
    id: &str,
    s: &Value,
    hint: &Value,
    sp: &str,
    up: &str,
    depth: usize,
) -> Option<Question> {
    let Some(label) = bilingual(hint.get("label")) else {
        p.add(
            &format!("{up}/label"),
            format!("问题“{id}”缺少中英文标题 label {{zh, en}}"),
            format!("the question {id:?} has no label {{zh, en}}"),
        );
        return None;
    };
    let widget = hint.get("widget").and_then(Value::as_str).unwrap_or("");
    let kind = match widget {
        "text" | "textarea" => QuestionType::Text,
        "number" => QuestionType::Number,
        "date" => QuestionType::Date,
        "radio" | "select" | "checkboxes" => QuestionType::Choice,
        "map" => QuestionType::Address,
        "id-number" => QuestionType::IdNumber,
        "file" => QuestionType::File,
        "group" => QuestionType::Group,
        other => {
            p.add(
                &format!("{up}/widget"),
                format!("问题“{id}”的控件“{other}”未知"),
                format!("the question {id:?} has an unknown widget {other:?}"),
            );
            return None;
        }
    };
    let mut q = Question::new(id, kind, &label.zh, &label.en);
    q.help = bilingual(hint.get("help"));
    q.unit = bilingual(hint.get("unit"));
    match kind {
        QuestionType::Text => {
            q.multiline = widget == "textarea";
            q.max_length = u64_of(s.get("maxLength"));
            q.pattern = s.get("pattern").and_then(Value::as_str).map(str::to_string);
        }
        QuestionType::Number => {
            q.integer = s.get("type") == Some(&json!("integer"));
            q.minimum = s.get("minimum").and_then(|n| n.as_number().cloned());
            q.maximum = s.get("maximum").and_then(|n| n.as_number().cloned());
        }
        QuestionType::Choice => {
            q.widget = Some(match widget {
                "select" => ChoiceWidget::Select,
                "checkboxes" => ChoiceWidget::Checkboxes,
                _ => ChoiceWidget::Radio,
            });
            let values = if widget == "checkboxes" {
                strings(s.get("items").and_then(|i| i.get("enum")))
            } else {
                strings(s.get("enum"))
            };
            let labels = hint.get("options").and_then(Value::as_object);
            for v in values.unwrap_or_default() {
                match labels.and_then(|l| bilingual(l.get(&v))) {
                    Some(label) => q.options.push(ChoiceOption { value: v, label }),
                    None => p.add(
                        &format!("{up}/options/{}", pointer_token(&v)),
                        format!("选项“{v}”缺少中英文文字"),
                        format!("the option {v:?} has no label {{zh, en}}"),
                    ),
                }
            }
        }
        QuestionType::File => {
            let item = s.get("items").and_then(|i| i.get("properties"));
            q.accept = strings(
                item.and_then(|i| i.get("media_type"))
                    .and_then(|m| m.get("enum")),
            )
            .unwrap_or_default();
            q.max_size = u64_of(
                item.and_then(|i| i.get("size"))
                    .and_then(|m| m.get("maximum")),
            );
            q.min_count = u64_of(s.get("minItems"));
            q.max_count = u64_of(s.get("maxItems"));
        }
        QuestionType::Group => {
            let empty = Value::Null;
            let items = s.get("items").unwrap_or(&empty);
            q.questions = read_level(p, items, hint, &format!("{sp}/items"), up, depth + 1);
            q.min_items = u64_of(s.get("minItems"));
            q.max_items = u64_of(s.get("maxItems"));
        }
        QuestionType::Date | QuestionType::Address | QuestionType::IdNumber => {}
    }
    Some(q)
}

/// Finds the question at an answer's JSON pointer (`/children/0/name` → the group's
/// `name`), with the questions of its level.
pub fn question_at<'a>(
    questions: &'a [Question],
    pointer: &str,
) -> Option<(&'a Question, &'a [Question])> {
    let mut level = questions;
    let mut found = None;
    let mut tokens = pointer.split('/').skip(1).peekable();
    while let Some(t) = tokens.next() {
        let t = t.replace("~1", "/").replace("~0", "~");
        let q = level.iter().find(|q| q.id == t)?;
        found = Some((q, level));
        if tokens.peek().is_none() {
            break;
        }
        if q.kind != QuestionType::Group {
            // Inside an answer (an address's text, a file's index): the question itself.
            return found;
        }
        tokens.next(); // the entry's index
        if tokens.peek().is_none() {
            return found;
        }
        level = &q.questions;
    }
    found
}

/// Every file question's answers in `answers`: `(pointer, question, file references)`.
pub fn file_answers<'a>(
    questions: &'a [Question],
    answers: &'a Value,
) -> Vec<(String, &'a Question, &'a Vec<Value>)> {
    let mut out = Vec::new();
    collect_files(questions, answers, "", &mut out);
    out
}

fn collect_files<'a>(
    questions: &'a [Question],
    answers: &'a Value,
    at: &str,
    out: &mut Vec<(String, &'a Question, &'a Vec<Value>)>,
) {
    for q in questions {
        let here = format!("{at}/{}", pointer_token(&q.id));
        match (q.kind, answers.get(&q.id)) {
            (QuestionType::File, Some(Value::Array(files))) => out.push((here, q, files)),
            (QuestionType::Group, Some(Value::Array(entries))) => {
                for (i, e) in entries.iter().enumerate() {
                    collect_files(&q.questions, e, &format!("{here}/{i}"), out);
                }
            }
            _ => {}
        }
    }
}

/// A question list as a map from id path (`children/name`) to its type and, for choice
/// questions, option values: what a later version must keep for answers of an earlier
/// one to stay valid.
fn shape(questions: &[Question], prefix: &str, out: &mut BTreeMap<String, (String, Vec<String>)>) {
    for q in questions {
        let path = format!("{prefix}{}", q.id);
        let kind = match q.kind {
            QuestionType::Choice if q.is_multiple() => "choice_multiple".to_string(),
            QuestionType::Number if q.integer => "integer".to_string(),
            k => k.as_str().to_string(),
        };
        out.insert(
            path.clone(),
            (kind, q.options.iter().map(|o| o.value.clone()).collect()),
        );
        if q.kind == QuestionType::Group {
            shape(&q.questions, &format!("{path}/"), out);
        }
    }
}

/// A change from one version to the next that answers made on the old one would not
/// survive: a question removed or given another type, or a choice option removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BreakingChange {
    /// The question's id path (`children/name` inside a group).
    pub question: String,
    /// `removed`, `retyped` or `option_removed`.
    pub change: String,
    /// The old type, or the removed option.
    pub detail: String,
}

/// The breaking changes from `old` to `new` (see [`BreakingChange`]), in question order.
pub fn breaking_changes(old: &[Question], new: &[Question]) -> Vec<BreakingChange> {
    let (mut a, mut b) = (BTreeMap::new(), BTreeMap::new());
    shape(old, "", &mut a);
    shape(new, "", &mut b);
    let mut out = Vec::new();
    for (path, (kind, options)) in &a {
        match b.get(path) {
            None => out.push(BreakingChange {
                question: path.clone(),
                change: "removed".into(),
                detail: kind.clone(),
            }),
            Some((k2, _)) if k2 != kind => out.push(BreakingChange {
                question: path.clone(),
                change: "retyped".into(),
                detail: format!("{kind} → {k2}"),
            }),
            Some((_, o2)) => {
                for o in options.iter().filter(|o| !o2.contains(o)) {
                    out.push(BreakingChange {
                        question: path.clone(),
                        change: "option_removed".into(),
                        detail: o.clone(),
                    });
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choice(id: &str, values: &[&str], widget: ChoiceWidget) -> Question {
        let mut q = Question::new(id, QuestionType::Choice, "选择", "Choose");
        q.widget = Some(widget);
        q.options = values
            .iter()
            .map(|v| ChoiceOption {
                value: v.to_string(),
                label: Bilingual {
                    zh: format!("选{v}"),
                    en: format!("Pick {v}"),
                },
            })
            .collect();
        q
    }

    fn sample() -> Vec<Question> {
        let mut name = Question::new("name", QuestionType::Text, "姓名", "Name");
        name.required = true;
        name.max_length = Some(30);
        let known = choice("father_known", &["yes", "no"], ChoiceWidget::Radio);
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
        let mut kids = Question::new("children", QuestionType::Group, "子女", "Children");
        let mut kid_name = Question::new("name", QuestionType::Text, "姓名", "Name");
        kid_name.max_length = Some(20);
        kid_name.required = true;
        let mut weight = Question::new("weight", QuestionType::Number, "体重", "Weight");
        weight.integer = true;
        weight.minimum = Some(300.into());
        weight.maximum = Some(6000.into());
        weight.unit = Some(Bilingual {
            zh: "克".into(),
            en: "g".into(),
        });
        kids.questions = vec![kid_name, weight];
        kids.max_items = Some(5);
        let mut scan = Question::new("scan", QuestionType::File, "扫描件", "Scan");
        scan.accept = vec!["image/png".into(), "application/pdf".into()];
        scan.max_size = Some(1_000_000);
        scan.min_count = Some(1);
        scan.max_count = Some(2);
        vec![name, known, father, kids, scan]
    }

    #[test]
    fn questions_round_trip_through_schema_and_ui() {
        let qs = sample();
        assert!(check_questions(&qs, Lang::En).is_empty());
        let schema = to_schema(&qs);
        let ui = to_ui(&qs);
        assert_eq!(schema["required"], json!(["name"]));
        assert_eq!(
            schema["allOf"][0],
            json!({"if": {"properties": {"father_known": {"const": "yes"}}, "required": ["father_known"]},
                   "then": {"required": ["father_id"]},
                   "else": {"properties": {"father_id": false}}})
        );
        assert_eq!(
            schema["properties"]["children"]["items"]["required"],
            json!(["name"])
        );
        assert_eq!(
            ui["order"],
            json!(["name", "father_known", "father_id", "children", "scan"])
        );
        assert_eq!(
            ui["questions"]["children"]["order"],
            json!(["name", "weight"])
        );
        let back = from_schema(&schema, &ui, Lang::En).unwrap();
        assert_eq!(back, qs);
        assert!(jsonschema::draft202012::meta::is_valid(&schema));
    }

    #[test]
    fn a_schema_the_designer_cannot_show_is_refused_with_pointers() {
        let qs = sample();
        let mut schema = to_schema(&qs);
        schema["properties"]["name"]["maxLength"] = json!("thirty");
        schema["properties"]["extra"] = json!({"type": "string"});
        let e = from_schema(&schema, &to_ui(&qs), Lang::En).unwrap_err();
        let pointers: Vec<&str> = e.iter().map(|p| p.pointer.as_str()).collect();
        assert!(pointers.contains(&"/schema/properties/extra"), "{e:?}");
        // A changed keyword the reader cannot take is found by the round-trip check.
        let mut schema = to_schema(&qs);
        schema["properties"]["name"]["minLength"] = json!(5);
        let e = from_schema(&schema, &to_ui(&qs), Lang::Zh).unwrap_err();
        assert_eq!(e[0].pointer, "/schema/properties/name/minLength");
        assert!(e[0].message.contains("设计器"));
    }

    #[test]
    fn design_checks_list_every_problem() {
        let mut qs = sample();
        qs[0].id = "Name".into();
        qs[0].options = vec![];
        qs[0].integer = true;
        qs[2].show_when = Some(Condition {
            question: "father_known".into(),
            equals: "maybe".into(),
        });
        qs[1].show_when = Some(Condition {
            question: "father_id".into(),
            equals: "yes".into(),
        });
        qs[4].max_count = Some(0);
        qs[3].questions.push(sample().remove(3));
        let problems = check_questions(&qs, Lang::En);
        let pointers: Vec<&str> = problems.iter().map(|p| p.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            [
                "/questions/0/id",
                "/questions/0/integer",
                "/questions/1/show_when/question",
                "/questions/2/show_when/equals",
                "/questions/3/questions/2/type",
                "/questions/4/max_count",
            ],
            "{problems:#?}"
        );
    }

    #[test]
    fn multiple_choice_conditions_use_contains() {
        let mut qs = vec![choice("needs", &["a", "b"], ChoiceWidget::Checkboxes)];
        let mut why = Question::new("why", QuestionType::Text, "原因", "Why");
        why.max_length = Some(100);
        why.show_when = Some(Condition {
            question: "needs".into(),
            equals: "b".into(),
        });
        qs.push(why);
        let schema = to_schema(&qs);
        assert_eq!(
            schema["allOf"][0]["if"]["properties"]["needs"],
            json!({"contains": {"const": "b"}})
        );
        assert!(schema["allOf"][0].get("then").is_none());
        assert_eq!(from_schema(&schema, &to_ui(&qs), Lang::En).unwrap(), qs);
    }

    #[test]
    fn breaking_changes_are_found() {
        let old = sample();
        let mut new = sample();
        new.remove(2); // father_id
        new[0].kind = QuestionType::Date;
        new[1].options.pop();
        new[2].questions[1].integer = false;
        let changes = breaking_changes(&old, &new);
        let short: Vec<(&str, &str)> = changes
            .iter()
            .map(|c| (c.question.as_str(), c.change.as_str()))
            .collect();
        assert_eq!(
            short,
            [
                ("children/weight", "retyped"),
                ("father_id", "removed"),
                ("father_known", "option_removed"),
                ("name", "retyped"),
            ]
        );
        assert!(breaking_changes(&old, &sample()).is_empty());
    }

    #[test]
    fn questions_are_found_by_answer_pointer() {
        let qs = sample();
        assert_eq!(question_at(&qs, "/name").unwrap().0.id, "name");
        assert_eq!(question_at(&qs, "/children").unwrap().0.id, "children");
        assert_eq!(question_at(&qs, "/children/1").unwrap().0.id, "children");
        let (q, level) = question_at(&qs, "/children/1/weight").unwrap();
        assert_eq!((q.id.as_str(), level.len()), ("weight", 2));
        assert_eq!(question_at(&qs, "/scan/0/size").unwrap().0.id, "scan");
        assert!(question_at(&qs, "/nope").is_none());
        assert!(question_at(&qs, "").is_none());
    }
}
