//! Forms as data (表单) and the materials uploaded for them (材料).
//!
//! A form is JSON Schema 2020-12 plus UI hints, made by the designer from a list of
//! questions ([`design`]), kept per tenant and form key as numbered versions, and linked to
//! a service item (事项) by the item's code. Answers are checked on the server by the
//! `jsonschema` crate with every problem at its JSON pointer in the asker's language
//! ([`validate`]); the submit endpoint checks before it stores anything, so answers that
//! fail never reach a department.
//!
//! **Versions.** Every save is a new version with an audit record (`form.version`); a
//! stored version is never changed in place (the store only inserts rows). A save that
//! removes a question, gives one another type, or removes a choice option is a *breaking*
//! change: it is listed in the new version's `breaking_changes` and the audit record, and
//! answers (later: applications, issue 19) stay pinned to the version they were made on.
//! A save names the version it was edited from (`expected_version`); a stale one is 409.
//!
//! **Materials.** Files go through the store's file store ([`onecity_store::files`]):
//! upload with the limits of one file question, read by the owner or by staff holding
//! `service_admin` in the tenant (audited when not the owner). At submit, every file an
//! answer names must be the submitter's own stored file, with the type and size stored.
//!
//! The demo forms are designer files (`crates/onecity-services/forms/*.json`) installed by
//! [`install_forms`].

pub mod design;
pub mod http;
pub mod lang;
pub mod validate;

pub use design::{Bilingual, BreakingChange, DesignProblem, FormDesign, Question, QuestionType};
pub use lang::Lang;
pub use validate::{AnswerProblem, CompiledForm};

use crate::store::forms as store;
use crate::Hall;
use onecity_core::time::{now_micros, rfc3339};
use onecity_core::{Error, Result};
use onecity_iam::{Permission, Principal};
use onecity_store::audit::AuditEntry;
use onecity_store::files::{FilePolicy, FileStore, StoredFile};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

/// One version of a form.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FormVersion {
    /// Tenant code.
    pub tenant: String,
    /// Form key.
    pub key: String,
    /// Version, from 1.
    pub version: i64,
    /// Code of the service item (事项) this form belongs to.
    pub item_code: String,
    /// Title.
    pub title: Bilingual,
    /// Introduction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<Bilingual>,
    /// JSON Schema 2020-12 of the answers.
    #[schema(value_type = Object)]
    pub schema: Value,
    /// UI hints: `order`, and per question `label`, `help`, `widget`, `options`, `unit`.
    #[schema(value_type = Object)]
    pub ui: Value,
    /// Changes from the previous version that answers to it would not survive.
    pub breaking_changes: Vec<BreakingChange>,
    /// When this version was saved, RFC 3339 UTC.
    pub created_at: String,
    /// Who saved it (audit actor).
    pub created_by: String,
}

fn version_of(r: store::FormRow) -> FormVersion {
    FormVersion {
        tenant: r.tenant,
        key: r.form_key,
        version: r.version,
        item_code: r.item_code,
        title: Bilingual {
            zh: r.title_zh,
            en: r.title_en,
        },
        description: match (r.description_zh, r.description_en) {
            (Some(zh), Some(en)) => Some(Bilingual { zh, en }),
            _ => None,
        },
        schema: r.schema_json,
        ui: r.ui_json,
        breaking_changes: serde_json::from_value(r.breaking).unwrap_or_default(),
        created_at: rfc3339(r.created_at),
        created_by: r.created_by,
    }
}

/// A new version of a form (the designer's save).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewFormVersion {
    /// Code of the service item (事项): 1–64 of `A-Z a-z 0-9 . _ -`.
    pub item_code: String,
    /// Title (each language 1–200 characters).
    pub title: Bilingual,
    /// Introduction (each language at most 2000 characters).
    #[serde(default)]
    pub description: Option<Bilingual>,
    /// JSON Schema 2020-12, exactly as the designer makes it of its questions.
    #[schema(value_type = Object)]
    pub schema: Value,
    /// UI hints, exactly as the designer makes them.
    #[schema(value_type = Object)]
    pub ui: Value,
    /// The version the editor started from (0 or absent for a new form); when another
    /// save came in between, the save is refused (409 `conflict`).
    #[serde(default)]
    pub expected_version: Option<i64>,
}

/// Answers to check or submit.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswersRequest {
    /// The answers: an object by question id (see the form's schema).
    #[schema(value_type = Object)]
    pub answers: Value,
    /// The version answered (default: the latest).
    #[serde(default)]
    pub version: Option<i64>,
    /// Language of the problem messages (else `Accept-Language`, else Chinese).
    #[serde(default)]
    pub lang: Option<Lang>,
}

/// The outcome of a check.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CheckResult {
    /// No problems.
    pub valid: bool,
    /// The version checked against.
    pub version: i64,
    /// Every problem, in question order.
    pub problems: Vec<AnswerProblem>,
}

/// Stored answers that passed every check.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Submission {
    /// Submission id (UUIDv7).
    pub id: Uuid,
    /// Tenant code.
    pub tenant: String,
    /// Form key.
    pub form_key: String,
    /// The version the answers were checked against (and stay pinned to).
    pub version: i64,
    /// Who submitted (audit actor).
    pub submitter: String,
    /// The answers.
    #[schema(value_type = Object)]
    pub answers: Value,
    /// When, RFC 3339 UTC.
    pub created_at: String,
}

fn submission_of(r: store::SubmissionRow) -> Submission {
    Submission {
        id: r.id,
        tenant: r.tenant,
        form_key: r.form_key,
        version: r.version,
        submitter: r.submitter,
        answers: r.answers,
        created_at: rfc3339(r.created_at),
    }
}

/// 422 `invalid_input` listing `problems` (under that member), with a detail in `lang`.
fn problems_error(lang: Lang, zh: String, en: String, problems: Value) -> Error {
    Error::invalid(match lang {
        Lang::Zh => zh,
        Lang::En => en,
    })
    .with_extra("problems", problems)
}

fn valid_item_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 64
        && code
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
}

fn check_meta(n: &NewFormVersion, lang: Lang) -> Vec<DesignProblem> {
    let mut out = Vec::new();
    let mut add = |pointer: &str, zh: &str, en: &str| {
        out.push(DesignProblem {
            pointer: pointer.into(),
            message: lang.pick(zh, en).into(),
        })
    };
    if !valid_item_code(&n.item_code) {
        add(
            "/item_code",
            "事项编码应为1到64个字母、数字、. _ -",
            "item_code is 1 to 64 letters, digits, . _ -",
        );
    }
    for (l, t) in [("zh", &n.title.zh), ("en", &n.title.en)] {
        let c = t.trim().chars().count();
        if c == 0 || c > 200 {
            add(
                &format!("/title/{l}"),
                "表单标题应为1到200个字",
                "the title is 1 to 200 characters",
            );
        }
    }
    if let Some(d) = &n.description {
        for (l, t) in [("zh", &d.zh), ("en", &d.en)] {
            if t.chars().count() > 2000 {
                add(
                    &format!("/description/{l}"),
                    "说明最多2000个字",
                    "the description is at most 2000 characters",
                );
            }
        }
    }
    out
}

/// Whether `p` holds `service_admin` anywhere in `tenant`.
pub fn is_service_admin(p: &Principal, tenant: &str) -> bool {
    p.subtrees(Permission::ServiceAdmin, tenant)
        .is_none_or(|roots| !roots.is_empty())
}

impl Hall {
    /// The file store (content under the data directory, or in the database).
    pub fn files(&self) -> FileStore {
        FileStore::new(self.iam.db().clone())
    }

    fn require_admin(p: &Principal, tenant: &str) -> Result<()> {
        if is_service_admin(p, tenant) {
            Ok(())
        } else {
            Err(Error::forbidden(format!(
                "you lack the permission \"service:admin\" in tenant {tenant:?}"
            )))
        }
    }

    /// Saves a new version of form `key` (see the module doc): checks the item code, title,
    /// the schema and hints (every problem, see [`design::from_schema`]) and compiles it,
    /// then inserts version `latest + 1` with a `form.version` audit record.
    ///
    /// Errors: 404 `tenant_not_found`; 403 `forbidden` without `service_admin` in the
    /// tenant; 422 `invalid_input` with `problems` `[{pointer, message}]`; 409 `conflict`
    /// for a stale `expected_version`.
    pub async fn save_form(
        &self,
        p: &Principal,
        tenant: &str,
        key: &str,
        n: &NewFormVersion,
        lang: Lang,
    ) -> Result<FormVersion> {
        self.iam.tenant(p, tenant).await?;
        Self::require_admin(p, tenant)?;
        if !design::valid_key(key) {
            return Err(Error::invalid(lang.pick(
                "表单标识应为2到64个小写字母、数字或 -",
                "a form key is 2 to 64 lower-case letters, digits or -",
            )));
        }
        let mut problems = check_meta(n, lang);
        let compiled = match CompiledForm::new(&n.schema, &n.ui, lang) {
            Ok(c) => Some(c),
            Err(more) => {
                problems.extend(more);
                None
            }
        };
        let Some(compiled) = compiled.filter(|_| problems.is_empty()) else {
            let count = problems.len();
            return Err(problems_error(
                lang,
                format!("表单有{count}处问题，未保存"),
                format!("the form has {count} problems and was not saved"),
                json!(problems),
            ));
        };
        let db = self.iam.db();
        let mut tx = db.begin().await?;
        let previous = store::form(&mut tx, tenant, key, None).await?;
        let latest = previous.as_ref().map_or(0, |r| r.version);
        if let Some(expected) = n.expected_version {
            if expected != latest {
                return Err(Error::conflict(match lang {
                    Lang::Zh => format!("表单已被他人修改（当前第{latest}版，您编辑的是第{expected}版），请重新载入"),
                    Lang::En => format!("the form was saved by someone else meanwhile (now version {latest}, you edited version {expected}); reload it"),
                }));
            }
        }
        let breaking = match &previous {
            Some(prev) => {
                let old = design::from_schema(&prev.schema_json, &prev.ui_json, lang)
                    .map_err(|_| Error::internal("a stored form version does not read back"))?;
                design::breaking_changes(&old, &compiled.questions)
            }
            None => Vec::new(),
        };
        let row = store::FormRow {
            tenant: tenant.to_string(),
            form_key: key.to_string(),
            version: latest + 1,
            item_code: n.item_code.clone(),
            title_zh: n.title.zh.trim().to_string(),
            title_en: n.title.en.trim().to_string(),
            description_zh: n.description.as_ref().map(|d| d.zh.clone()),
            description_en: n.description.as_ref().map(|d| d.en.clone()),
            schema_json: n.schema.clone(),
            ui_json: n.ui.clone(),
            breaking: json!(breaking),
            created_at: now_micros(),
            created_by: p.actor(),
        };
        store::insert_form(&mut tx, &row).await?;
        let version = version_of(row);
        let after = json!({
            "key": key, "version": version.version, "item_code": version.item_code,
            "schema": version.schema, "ui": version.ui,
        });
        let resource = format!("{key}/v{}", version.version);
        let detail = if breaking.is_empty() {
            None
        } else {
            Some(format!("breaking changes: {}", json!(breaking)))
        };
        self.iam
            .record(
                &mut tx,
                &AuditEntry {
                    tenant,
                    actor: &p.actor(),
                    action: "form.version",
                    resource_type: "form",
                    resource_id: &resource,
                    before: None,
                    after: Some(&after),
                    detail: detail.as_deref(),
                },
                None,
            )
            .await?;
        tx.commit().await?;
        Ok(version)
    }

    /// Version `version` of form `key` (the latest when `None`). Any signed-in caller who
    /// sees the tenant may read forms (citizens fill them). Errors: 404 `tenant_not_found`,
    /// `not_found`.
    pub async fn form(
        &self,
        p: &Principal,
        tenant: &str,
        key: &str,
        version: Option<i64>,
    ) -> Result<FormVersion> {
        self.iam.tenant(p, tenant).await?;
        store::form(self.iam.db(), tenant, key, version)
            .await?
            .map(version_of)
            .ok_or_else(|| match version {
                Some(v) => Error::not_found(format!("form {key:?} has no version {v}")),
                None => Error::not_found(format!("form {key:?} does not exist")),
            })
    }

    /// The latest version of every form of a tenant, or of one item's forms.
    pub async fn forms(
        &self,
        p: &Principal,
        tenant: &str,
        item_code: Option<&str>,
    ) -> Result<Vec<FormVersion>> {
        self.iam.tenant(p, tenant).await?;
        Ok(store::latest_forms(self.iam.db(), tenant, item_code)
            .await?
            .into_iter()
            .map(version_of)
            .collect())
    }

    /// Every version of a form, newest first. Errors: `not_found`.
    pub async fn form_versions(
        &self,
        p: &Principal,
        tenant: &str,
        key: &str,
    ) -> Result<Vec<FormVersion>> {
        self.iam.tenant(p, tenant).await?;
        let v: Vec<FormVersion> = store::versions(self.iam.db(), tenant, key)
            .await?
            .into_iter()
            .map(version_of)
            .collect();
        if v.is_empty() {
            return Err(Error::not_found(format!("form {key:?} does not exist")));
        }
        Ok(v)
    }

    /// Checks answers against a version of a form: the schema, then every file the
    /// answers name (the caller's own stored file, with the stored type and size). Stores
    /// nothing.
    pub async fn check_answers(
        &self,
        p: &Principal,
        tenant: &str,
        key: &str,
        req: &AnswersRequest,
        lang: Lang,
    ) -> Result<CheckResult> {
        let form = self.form(p, tenant, key, req.version).await?;
        let problems = self.problems(p, &form, &req.answers, lang).await?;
        Ok(CheckResult {
            valid: problems.is_empty(),
            version: form.version,
            problems,
        })
    }

    async fn problems(
        &self,
        p: &Principal,
        form: &FormVersion,
        answers: &Value,
        lang: Lang,
    ) -> Result<Vec<AnswerProblem>> {
        let compiled = CompiledForm::cached(&form.schema, &form.ui)
            .map_err(|_| Error::internal("a stored form version does not compile"))?;
        let mut problems = compiled.check(answers, lang);
        if !problems.is_empty() {
            return Ok(problems);
        }
        let files = self.files();
        let me = p.actor();
        for (at, _q, refs) in design::file_answers(&compiled.questions, answers) {
            for (i, r) in refs.iter().enumerate() {
                let pointer = format!("{at}/{i}");
                let id = r["id"].as_str().and_then(|s| Uuid::parse_str(s).ok());
                let stored = match id {
                    Some(id) => files.meta(&form.tenant, id).await.ok(),
                    None => None,
                };
                let message = match stored {
                    Some(f) if f.owner != me => {
                        Some(lang.pick("找不到您上传的这个文件", "no such file uploaded by you"))
                    }
                    None => {
                        Some(lang.pick("找不到您上传的这个文件", "no such file uploaded by you"))
                    }
                    Some(f)
                        if r["media_type"] != json!(f.media_type) || r["size"] != json!(f.size) =>
                    {
                        Some(lang.pick(
                            "文件信息与上传的文件不符",
                            "does not match the uploaded file",
                        ))
                    }
                    Some(_) => None,
                };
                if let Some(m) = message {
                    problems.push(AnswerProblem {
                        pointer,
                        keyword: "file".into(),
                        message: m.into(),
                    });
                }
            }
        }
        Ok(problems)
    }

    /// Submits answers: checks them exactly as [`Hall::check_answers`] and, only when there
    /// is no problem, stores them pinned to the version checked, with a `form.submit`
    /// audit record.
    ///
    /// Errors: 422 `invalid_input` with `problems` `[{pointer, keyword, message}]` and
    /// `version`; `not_found`; `tenant_not_found`.
    pub async fn submit_answers(
        &self,
        p: &Principal,
        tenant: &str,
        key: &str,
        req: &AnswersRequest,
        lang: Lang,
    ) -> Result<Submission> {
        let form = self.form(p, tenant, key, req.version).await?;
        let problems = self.problems(p, &form, &req.answers, lang).await?;
        if !problems.is_empty() {
            let count = problems.len();
            return Err(problems_error(
                lang,
                format!("答案有{count}处问题，未提交"),
                format!("the answers have {count} problems and were not submitted"),
                json!(problems),
            )
            .with_extra("version", json!(form.version)));
        }
        let row = store::SubmissionRow {
            id: onecity_core::new_id(),
            tenant: tenant.to_string(),
            form_key: key.to_string(),
            version: form.version,
            submitter: p.actor(),
            answers: req.answers.clone(),
            created_at: now_micros(),
        };
        let mut tx = self.iam.db().begin().await?;
        store::insert_submission(&mut tx, &row).await?;
        let id = row.id.to_string();
        let after = json!({"form": key, "version": form.version, "answers": row.answers});
        self.iam
            .record(
                &mut tx,
                &AuditEntry {
                    tenant,
                    actor: &row.submitter,
                    action: "form.submit",
                    resource_type: "form_submission",
                    resource_id: &id,
                    before: None,
                    after: Some(&after),
                    detail: Some(&format!("{key} v{}", form.version)),
                },
                None,
            )
            .await?;
        tx.commit().await?;
        Ok(submission_of(row))
    }

    /// A submission, for its submitter or staff holding `service_admin` in the tenant
    /// (others: `not_found`).
    pub async fn submission(&self, p: &Principal, tenant: &str, id: Uuid) -> Result<Submission> {
        self.iam.tenant(p, tenant).await?;
        let s = store::submission(self.iam.db(), tenant, id)
            .await?
            .filter(|s| s.submitter == p.actor() || is_service_admin(p, tenant))
            .ok_or_else(|| Error::not_found(format!("submission {id} does not exist")))?;
        Ok(submission_of(s))
    }

    /// The upload policy of file question `question` (ids joined by `/` inside a group,
    /// e.g. `children/birth_scan`) of form `key`'s latest version, or the default policy
    /// (JPEG, PNG, PDF up to 10 MiB) when no form is named.
    pub async fn upload_policy(
        &self,
        p: &Principal,
        tenant: &str,
        target: Option<(&str, &str)>,
    ) -> Result<FilePolicy> {
        let Some((key, question)) = target else {
            return Ok(FilePolicy::default());
        };
        let form = self.form(p, tenant, key, None).await?;
        let compiled = CompiledForm::cached(&form.schema, &form.ui)
            .map_err(|_| Error::internal("a stored form version does not compile"))?;
        let mut level = &compiled.questions[..];
        let mut found = None;
        for id in question.split('/') {
            found = level.iter().find(|q| q.id == id);
            match found {
                Some(q) => level = &q.questions,
                None => break,
            }
        }
        match found {
            Some(q) if q.kind == QuestionType::File => Ok(FilePolicy {
                types: q.accept.clone(),
                max_size: q.max_size.unwrap_or(onecity_store::files::DEFAULT_MAX_SIZE),
                ..FilePolicy::default()
            }),
            _ => Err(Error::invalid(format!(
                "form {key:?} has no file question {question:?}"
            ))),
        }
    }

    /// Uploads a file of the caller (see [`FileStore::put`]) under `policy`.
    pub async fn upload_file(
        &self,
        p: &Principal,
        tenant: &str,
        name: &str,
        bytes: &[u8],
        policy: &FilePolicy,
    ) -> Result<StoredFile> {
        self.iam.tenant(p, tenant).await?;
        self.files()
            .put(self.iam.auditor(), tenant, &p.actor(), name, bytes, policy)
            .await
    }

    /// The metadata of a file, for its owner or staff holding `service_admin` in the
    /// tenant; anyone else gets `not_found` (whether it exists is not told).
    pub async fn file_meta(&self, p: &Principal, tenant: &str, id: Uuid) -> Result<StoredFile> {
        self.iam.tenant(p, tenant).await?;
        let f = self.files().meta(tenant, id).await?;
        if f.owner != p.actor() && !is_service_admin(p, tenant) {
            return Err(Error::not_found(format!("file {id} does not exist")));
        }
        Ok(f)
    }

    /// A file's metadata and content, for its owner or staff holding `service_admin` in the
    /// tenant; a read by anyone but the owner writes a `file.read` audit record.
    pub async fn read_file(
        &self,
        p: &Principal,
        tenant: &str,
        id: Uuid,
    ) -> Result<(StoredFile, Vec<u8>)> {
        let f = self.file_meta(p, tenant, id).await?;
        let bytes = self
            .files()
            .read(self.iam.auditor(), &f, &p.actor())
            .await?;
        Ok((f, bytes))
    }
}

/// The demo forms: the designer files under `crates/onecity-services/forms/`.
pub const DEMO_FORM_FILES: &[(&str, &str)] = &[
    (
        "birth-medical-certificate.json",
        include_str!("../../forms/birth-medical-certificate.json"),
    ),
    (
        "birth-registration.json",
        include_str!("../../forms/birth-registration.json"),
    ),
    (
        "newborn-medical-insurance.json",
        include_str!("../../forms/newborn-medical-insurance.json"),
    ),
];

/// The demo forms, parsed. Errors: a file that is not a valid design (a test keeps them
/// valid).
pub fn demo_designs() -> Result<Vec<FormDesign>> {
    DEMO_FORM_FILES
        .iter()
        .map(|(name, text)| {
            let d: FormDesign = serde_json::from_str(text)
                .map_err(|e| Error::internal(format!("forms/{name}: {e}")))?;
            let problems = design::check_questions(&d.questions, Lang::En);
            if !problems.is_empty() {
                return Err(Error::internal(format!("forms/{name}: {problems:?}")));
            }
            Ok(d)
        })
        .collect()
}

/// Saves `design` as a new version of its form in `tenant` (by the system principal).
pub async fn save_design(hall: &Hall, tenant: &str, d: &FormDesign) -> Result<FormVersion> {
    let n = NewFormVersion {
        item_code: d.item_code.clone(),
        title: d.title.clone(),
        description: d.description.clone(),
        schema: design::to_schema(&d.questions),
        ui: design::to_ui(&d.questions),
        expected_version: None,
    };
    hall.save_form(&Principal::system(), tenant, &d.key, &n, Lang::En)
        .await
}

/// Installs the demo forms a tenant lacks; returns how many were added.
pub async fn install_forms(hall: &Hall, tenant: &str) -> Result<usize> {
    let mut added = 0;
    for d in demo_designs()? {
        let exists = store::latest_version(hall.iam.db(), tenant, &d.key)
            .await?
            .is_some();
        if !exists {
            save_design(hall, tenant, &d).await?;
            added += 1;
        }
    }
    if added > 0 {
        tracing::info!(tenant, forms = added, "demo forms installed");
    }
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every demo form is a valid design, and round-trips: questions → schema and hints →
    /// questions gives the same questions, and schema → questions → schema the same schema.
    #[test]
    fn demo_forms_round_trip_through_the_designer() {
        let designs = demo_designs().unwrap();
        assert!(designs.len() >= 3);
        for d in &designs {
            let schema = design::to_schema(&d.questions);
            let ui = design::to_ui(&d.questions);
            assert!(
                jsonschema::draft202012::meta::is_valid(&schema),
                "{}",
                d.key
            );
            let back = design::from_schema(&schema, &ui, Lang::En)
                .unwrap_or_else(|p| panic!("{}: {p:#?}", d.key));
            assert_eq!(back, d.questions, "{}", d.key);
            assert_eq!(design::to_schema(&back), schema, "{}", d.key);
            assert_eq!(design::to_ui(&back), ui, "{}", d.key);
            // The file as written is the file as the designer would write it.
            let text = DEMO_FORM_FILES
                .iter()
                .find(|(n, _)| n.starts_with(&d.key))
                .unwrap()
                .1;
            let as_written: Value = serde_json::from_str(text).unwrap();
            assert_eq!(as_written, json!(d), "{}", d.key);
            CompiledForm::new(&schema, &ui, Lang::En).unwrap();
        }
    }

    #[test]
    fn the_birth_certificate_form_has_a_branch_and_every_question_type() {
        let designs = demo_designs().unwrap();
        let d = designs
            .iter()
            .find(|d| d.key == "birth-medical-certificate")
            .unwrap();
        let mut kinds = std::collections::BTreeSet::new();
        let mut branches = 0;
        for q in d
            .questions
            .iter()
            .chain(d.questions.iter().flat_map(|q| &q.questions))
        {
            kinds.insert(q.kind.as_str());
            branches += usize::from(q.show_when.is_some());
        }
        assert!(branches >= 2, "{branches}");
        for k in ["text", "date", "choice", "address", "id_number", "file"] {
            assert!(kinds.contains(k), "{k} missing: {kinds:?}");
        }
    }
}
