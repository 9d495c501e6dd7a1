//! SQL of forms: `service_forms` (one row per version; rows are only ever inserted, never
//! updated, so a version in use never changes) and `service_form_submissions` (answers
//! that passed every check, pinned to the version they were checked against).

use onecity_core::Result;
use onecity_store::decode::json_text;
use onecity_store::migrate::Migration;
use onecity_store::{args, Executor};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

/// Services migration v2: forms and their versions, submissions.
pub(crate) const MIGRATION: Migration = Migration {
    version: 2,
    name: "forms: versions and submissions",
    sqlite: FORMS_SQL,
    postgres: FORMS_SQL,
};

/// The tables of migration v2: the same text runs on both engines.
const FORMS_SQL: &str = r#"
CREATE TABLE service_forms (
  tenant TEXT NOT NULL, form_key TEXT NOT NULL, version BIGINT NOT NULL, item_code TEXT NOT NULL,
  title_zh TEXT NOT NULL, title_en TEXT NOT NULL, description_zh TEXT, description_en TEXT,
  schema_json TEXT NOT NULL, ui_json TEXT NOT NULL, breaking TEXT NOT NULL,
  created_at BIGINT NOT NULL, created_by TEXT NOT NULL,
  PRIMARY KEY (tenant, form_key, version));
CREATE INDEX service_forms_item ON service_forms (tenant, item_code);
CREATE TABLE service_form_submissions (
  id TEXT PRIMARY KEY, tenant TEXT NOT NULL, form_key TEXT NOT NULL, version BIGINT NOT NULL,
  submitter TEXT NOT NULL, answers TEXT NOT NULL, created_at BIGINT NOT NULL,
  FOREIGN KEY (tenant, form_key, version) REFERENCES service_forms (tenant, form_key, version));
CREATE INDEX service_form_submissions_submitter ON service_form_submissions (tenant, submitter, created_at);
"#;

/// A `service_forms` row: one version of a form.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct FormRow {
    pub tenant: String,
    pub form_key: String,
    pub version: i64,
    pub item_code: String,
    pub title_zh: String,
    pub title_en: String,
    pub description_zh: Option<String>,
    pub description_en: Option<String>,
    #[serde(with = "json_text")]
    pub schema_json: Value,
    #[serde(with = "json_text")]
    pub ui_json: Value,
    #[serde(with = "json_text")]
    pub breaking: Value,
    pub created_at: i64,
    pub created_by: String,
}

const FORM_COLUMNS: &str = "tenant, form_key, version, item_code, title_zh, title_en, \
    description_zh, description_en, schema_json, ui_json, breaking, created_at, created_by";

/// Version `version` of a form, or its latest when `None`.
pub(crate) async fn form(
    mut ex: impl Executor,
    tenant: &str,
    key: &str,
    version: Option<i64>,
) -> Result<Option<FormRow>> {
    match version {
        Some(v) => {
            ex.fetch_optional_as(
                &format!(
                    "SELECT {FORM_COLUMNS} FROM service_forms WHERE tenant = $1 AND form_key = $2 AND version = $3"
                ),
                args![tenant, key, v],
            )
            .await
        }
        None => {
            ex.fetch_optional_as(
                &format!(
                    "SELECT {FORM_COLUMNS} FROM service_forms WHERE tenant = $1 AND form_key = $2 \
                     ORDER BY version DESC LIMIT 1"
                ),
                args![tenant, key],
            )
            .await
        }
    }
}

/// The latest version number of a form, if it exists.
pub(crate) async fn latest_version(
    mut ex: impl Executor,
    tenant: &str,
    key: &str,
) -> Result<Option<i64>> {
    let row = ex
        .fetch_optional(
            "SELECT MAX(version) AS v FROM service_forms WHERE tenant = $1 AND form_key = $2",
            args![tenant, key],
        )
        .await?;
    match row {
        Some(r) => r.opt_i64("v"),
        None => Ok(None),
    }
}

/// Inserts one version (a new row; nothing is ever updated in place).
pub(crate) async fn insert_form(mut ex: impl Executor, r: &FormRow) -> Result<()> {
    ex.execute(
        &format!(
            "INSERT INTO service_forms ({FORM_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        ),
        args![
            r.tenant.as_str(),
            r.form_key.as_str(),
            r.version,
            r.item_code.as_str(),
            r.title_zh.as_str(),
            r.title_en.as_str(),
            r.description_zh.clone(),
            r.description_en.clone(),
            r.schema_json.to_string(),
            r.ui_json.to_string(),
            r.breaking.to_string(),
            r.created_at,
            r.created_by.as_str()
        ],
    )
    .await?;
    Ok(())
}

/// The latest version of every form of a tenant (of one item when `item_code` is given),
/// by key.
pub(crate) async fn latest_forms(
    mut ex: impl Executor,
    tenant: &str,
    item_code: Option<&str>,
) -> Result<Vec<FormRow>> {
    let sql = format!(
        "SELECT {FORM_COLUMNS} FROM service_forms f WHERE tenant = $1 \
         AND ($2 = '' OR item_code = $2) \
         AND version = (SELECT MAX(version) FROM service_forms g WHERE g.tenant = f.tenant AND g.form_key = f.form_key) \
         ORDER BY form_key"
    );
    ex.fetch_all_as(&sql, args![tenant, item_code.unwrap_or("")])
        .await
}

/// Every version of a form, newest first.
pub(crate) async fn versions(
    mut ex: impl Executor,
    tenant: &str,
    key: &str,
) -> Result<Vec<FormRow>> {
    ex.fetch_all_as(
        &format!(
            "SELECT {FORM_COLUMNS} FROM service_forms WHERE tenant = $1 AND form_key = $2 ORDER BY version DESC"
        ),
        args![tenant, key],
    )
    .await
}

/// A `service_form_submissions` row.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct SubmissionRow {
    pub id: Uuid,
    pub tenant: String,
    pub form_key: String,
    pub version: i64,
    pub submitter: String,
    #[serde(with = "json_text")]
    pub answers: Value,
    pub created_at: i64,
}

/// Inserts a submission.
pub(crate) async fn insert_submission(mut ex: impl Executor, s: &SubmissionRow) -> Result<()> {
    ex.execute(
        "INSERT INTO service_form_submissions (id, tenant, form_key, version, submitter, answers, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        args![
            s.id,
            s.tenant.as_str(),
            s.form_key.as_str(),
            s.version,
            s.submitter.as_str(),
            s.answers.to_string(),
            s.created_at
        ],
    )
    .await?;
    Ok(())
}

/// A submission of a tenant by id.
pub(crate) async fn submission(
    mut ex: impl Executor,
    tenant: &str,
    id: Uuid,
) -> Result<Option<SubmissionRow>> {
    ex.fetch_optional_as(
        "SELECT id, tenant, form_key, version, submitter, answers, created_at \
         FROM service_form_submissions WHERE tenant = $1 AND id = $2",
        args![tenant, id],
    )
    .await
}
