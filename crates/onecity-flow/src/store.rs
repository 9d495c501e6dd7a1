//! Every SQL statement of the flow tables (`flow_definitions`, `flow_calendars`,
//! `flow_jurisdiction_calendars`, `flow_role_grants`, `flow_cases`, `flow_history`,
//! `flow_timers`, `flow_notifications`), with typed rows decoded through serde.
//!
//! Each function takes any [`Executor`]: `&db` outside a transaction, `&mut tx` inside one.
//! Times are µs since the epoch (`BIGINT`). Principals, departments and jurisdictions are
//! `onecity-iam`'s tables: the engine asks `Iam`, this module never reads them. Errors are
//! the store's catalogue errors (`conflict`, `invalid_input`, `timeout`, `internal`).

use crate::model::Attachment;
use onecity_core::{Error, Result};
use onecity_store::decode::json_text;
use onecity_store::{args, placeholders, Executor, SqlBuilder, Val};
use serde::Deserialize;
use serde_json::{Map, Value};
use uuid::Uuid;

// ------------------------------------------------------------------------ definitions

/// A stored definition version (the definition as canonical JSON text).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct DefinitionRow {
    /// Flow key.
    pub key: String,
    /// Version (from 1).
    pub version: i64,
    /// Module the flow belongs to.
    pub module: String,
    /// Canonical JSON of the definition.
    pub definition: String,
    /// When stored, µs since the epoch.
    pub created_at: i64,
}

/// The latest version of flow `key` in `tenant`, `None` when it has none.
pub(crate) async fn latest_definition_version(
    mut ex: impl Executor,
    tenant: &str,
    key: &str,
) -> Result<Option<i64>> {
    let row = ex
        .fetch_optional(
            "SELECT MAX(version) AS version FROM flow_definitions WHERE tenant = $1 AND key = $2",
            args![tenant, key],
        )
        .await?;
    Ok(row.map(|r| r.opt_i64("version")).transpose()?.flatten())
}

/// Inserts one definition version. Errors: `conflict` when that version exists.
pub(crate) async fn insert_definition(
    mut ex: impl Executor,
    tenant: &str,
    row: &DefinitionRow,
    created_by: &str,
) -> Result<()> {
    ex.execute(
        "INSERT INTO flow_definitions (tenant, key, version, module, definition, created_by, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        args![
            tenant,
            row.key.as_str(),
            row.version,
            row.module.as_str(),
            row.definition.as_str(),
            created_by,
            row.created_at
        ],
    )
    .await?;
    Ok(())
}

/// The JSON text of one definition version, if stored.
pub(crate) async fn definition_text(
    mut ex: impl Executor,
    tenant: &str,
    key: &str,
    version: i64,
) -> Result<Option<String>> {
    let row = ex
        .fetch_optional(
            "SELECT definition FROM flow_definitions WHERE tenant = $1 AND key = $2 \
             AND version = $3",
            args![tenant, key, version],
        )
        .await?;
    row.map(|r| r.text("definition")).transpose()
}

/// Every definition version of a tenant, by key then version.
pub(crate) async fn definitions(mut ex: impl Executor, tenant: &str) -> Result<Vec<DefinitionRow>> {
    ex.fetch_all_as(
        "SELECT key, version, module, definition, created_at FROM flow_definitions \
         WHERE tenant = $1 ORDER BY key, version",
        args![tenant],
    )
    .await
}

// ------------------------------------------------------------------------ calendars

/// A calendar set on one jurisdiction (and its subtree).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct JurisdictionCalendarRow {
    /// The jurisdiction's id as stored (text, compared with path segments).
    pub jurisdiction_id: String,
    /// Calendar body as uploaded (JSON text).
    pub calendar: String,
}

/// Replaces the calendar of a tenant with `calendar` (JSON text), set at `now`.
pub(crate) async fn replace_tenant_calendar(
    mut ex: impl Executor,
    tenant: &str,
    calendar: &str,
    now: i64,
) -> Result<()> {
    ex.execute(
        "DELETE FROM flow_calendars WHERE tenant = $1",
        args![tenant],
    )
    .await?;
    ex.execute(
        "INSERT INTO flow_calendars (tenant, calendar, updated_at) VALUES ($1, $2, $3)",
        args![tenant, calendar, now],
    )
    .await?;
    Ok(())
}

/// Replaces the calendar of one jurisdiction with `calendar` (JSON text), set at `now`.
pub(crate) async fn replace_jurisdiction_calendar(
    mut ex: impl Executor,
    tenant: &str,
    jurisdiction_id: Uuid,
    calendar: &str,
    now: i64,
) -> Result<()> {
    ex.execute(
        "DELETE FROM flow_jurisdiction_calendars WHERE jurisdiction_id = $1",
        args![jurisdiction_id],
    )
    .await?;
    ex.execute(
        "INSERT INTO flow_jurisdiction_calendars (jurisdiction_id, tenant, calendar, updated_at) \
         VALUES ($1, $2, $3, $4)",
        args![jurisdiction_id, tenant, calendar, now],
    )
    .await?;
    Ok(())
}

/// Every jurisdiction calendar of a tenant.
pub(crate) async fn jurisdiction_calendars(
    mut ex: impl Executor,
    tenant: &str,
) -> Result<Vec<JurisdictionCalendarRow>> {
    ex.fetch_all_as(
        "SELECT jurisdiction_id, calendar FROM flow_jurisdiction_calendars WHERE tenant = $1",
        args![tenant],
    )
    .await
}

/// The calendar of a tenant (JSON text), if it set one.
pub(crate) async fn tenant_calendar(mut ex: impl Executor, tenant: &str) -> Result<Option<String>> {
    let row = ex
        .fetch_optional(
            "SELECT calendar FROM flow_calendars WHERE tenant = $1",
            args![tenant],
        )
        .await?;
    row.map(|r| r.text("calendar")).transpose()
}

// ------------------------------------------------------------------------ role grants

/// One flow role a principal holds.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RoleGrantRow {
    /// Role name (e.g. `GRO`).
    pub role: String,
    /// Department the grant is limited to, if any.
    pub department_id: Option<Uuid>,
}

/// Grants `role` to `principal_id` in `tenant`, optionally limited to a department.
pub(crate) async fn insert_role_grant(
    mut ex: impl Executor,
    tenant: &str,
    principal_id: Uuid,
    role: &str,
    department_id: Option<Uuid>,
    now: i64,
) -> Result<()> {
    ex.execute(
        "INSERT INTO flow_role_grants (tenant, principal_id, role, department_id, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
        args![tenant, principal_id, role, department_id, now],
    )
    .await?;
    Ok(())
}

/// The flow roles of one principal in a tenant.
pub(crate) async fn role_grants(
    mut ex: impl Executor,
    tenant: &str,
    principal_id: Uuid,
) -> Result<Vec<RoleGrantRow>> {
    ex.fetch_all_as(
        "SELECT role, department_id FROM flow_role_grants WHERE tenant = $1 AND principal_id = $2",
        args![tenant, principal_id],
    )
    .await
}

/// The distinct principals holding `role` in `tenant` whose grant covers `department_id`
/// (a grant limited to no department, or no department given, or the same one).
pub(crate) async fn role_holders(
    mut ex: impl Executor,
    tenant: &str,
    role: &str,
    department_id: Option<Uuid>,
) -> Result<Vec<Uuid>> {
    #[derive(Deserialize)]
    struct HolderRow {
        principal_id: Uuid,
    }
    let rows: Vec<HolderRow> = ex
        .fetch_all_as(
            "SELECT DISTINCT principal_id FROM flow_role_grants WHERE tenant = $1 AND role = $2 \
             AND (department_id IS NULL OR $3 IS NULL OR department_id = $3)",
            args![tenant, role, department_id],
        )
        .await?;
    Ok(rows.into_iter().map(|row| row.principal_id).collect())
}

// ------------------------------------------------------------------------ cases

/// The columns of [`CaseRow`], in its field order.
const CASE_COLUMNS: &str = "id, tenant, flow_key, flow_version, module, title, state, data, \
     applicant_id, assignee_id, queue_department_id, queue_role, jurisdiction_id, row_version, \
     created_at, state_entered_at, clock_started_at, state_due_at, state_warn_at, case_due_at, \
     escalation_level, breached, closed_at";

/// A case as stored in `flow_cases`. Times are µs since the epoch.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct CaseRow {
    /// Case id (UUIDv7).
    pub id: Uuid,
    /// Tenant code.
    pub tenant: String,
    /// Key of the flow the case runs.
    pub flow_key: String,
    /// Version of that flow.
    pub flow_version: i64,
    /// Module the flow belongs to.
    pub module: String,
    /// Title shown in inboxes.
    pub title: String,
    /// Current state key.
    pub state: String,
    /// Form data gathered by actions (a JSON object).
    #[serde(with = "json_text")]
    pub data: Map<String, Value>,
    /// Who applied.
    pub applicant_id: Uuid,
    /// Who works on it now, if anyone.
    pub assignee_id: Option<Uuid>,
    /// Department queue it waits in.
    pub queue_department_id: Option<Uuid>,
    /// Role queue it waits in (after an escalation).
    pub queue_role: Option<String>,
    /// Jurisdiction (chooses the calendar).
    pub jurisdiction_id: Option<Uuid>,
    /// Optimistic-concurrency version, from 1.
    pub row_version: i64,
    /// Creation time.
    pub created_at: i64,
    /// When the current state was entered.
    pub state_entered_at: i64,
    /// When the current state's clock started.
    pub clock_started_at: Option<i64>,
    /// Deadline of the current state.
    pub state_due_at: Option<i64>,
    /// Warning time of the current state.
    pub state_warn_at: Option<i64>,
    /// Deadline of the whole case.
    pub case_due_at: Option<i64>,
    /// Escalation steps taken in the current state.
    pub escalation_level: i64,
    /// Whether a deadline was missed.
    pub breached: bool,
    /// When the case reached a terminal state.
    pub closed_at: Option<i64>,
}

/// One case of a tenant, if it exists.
pub(crate) async fn case_by_id(
    mut ex: impl Executor,
    tenant: &str,
    case_id: Uuid,
) -> Result<Option<CaseRow>> {
    ex.fetch_optional_as(
        &format!("SELECT {CASE_COLUMNS} FROM flow_cases WHERE tenant = $1 AND id = $2"),
        args![tenant, case_id],
    )
    .await
}

/// The queue department of a case (of any tenant); `Ok(None)` also when the case does not
/// exist.
pub(crate) async fn case_queue_department(
    mut ex: impl Executor,
    case_id: Uuid,
) -> Result<Option<Uuid>> {
    let row = ex
        .fetch_optional(
            "SELECT queue_department_id FROM flow_cases WHERE id = $1",
            args![case_id],
        )
        .await?;
    Ok(row
        .map(|r| r.opt_uuid("queue_department_id"))
        .transpose()?
        .flatten())
}

/// The cases with the given ids (of any tenant), in chunks of at most `chunk` ids per
/// statement; missing ids are skipped.
pub(crate) async fn cases_by_ids(
    mut ex: impl Executor,
    case_ids: &[Uuid],
    chunk: usize,
) -> Result<Vec<CaseRow>> {
    let mut cases = Vec::with_capacity(case_ids.len());
    for ids in case_ids.chunks(chunk.max(1)) {
        let sql = format!(
            "SELECT {CASE_COLUMNS} FROM flow_cases WHERE id IN ({})",
            placeholders(ex.backend(), 1, ids.len())
        );
        let values: Vec<Val> = ids.iter().map(|id| Val::from(*id)).collect();
        cases.extend(ex.fetch_all_as::<CaseRow>(&sql, &values).await?);
    }
    Ok(cases)
}

/// What an inbox query selects from the open cases of a tenant.
pub(crate) struct InboxFilter<'a> {
    /// Tenant code.
    pub tenant: &'a str,
    /// The caller: cases assigned to them or that they applied for.
    pub principal_id: Uuid,
    /// Departments whose queues the caller sees (with `roles`).
    pub departments: &'a [Uuid],
    /// The caller's flow roles; empty: no queued cases.
    pub roles: &'a [String],
    /// Only this flow key.
    pub flow: Option<&'a str>,
    /// Only this module.
    pub module: Option<&'a str>,
    /// Only this state.
    pub state: Option<&'a str>,
    /// Most cases returned.
    pub limit: usize,
}

/// Open cases that may wait on the caller: assigned to them, applied for by them, or (when
/// they hold roles) unassigned in a queue of their departments (or none) and of their roles
/// (or none). Unordered.
pub(crate) async fn inbox_candidates(
    mut ex: impl Executor,
    filter: &InboxFilter<'_>,
) -> Result<Vec<CaseRow>> {
    let mut query = SqlBuilder::new(&format!("SELECT {CASE_COLUMNS} FROM flow_cases WHERE "));
    query.push("tenant = ").push_bind(filter.tenant);
    let principal = query.bind(filter.principal_id);
    query.push(&format!(
        " AND closed_at IS NULL AND (assignee_id = {principal} OR applicant_id = {principal}"
    ));
    if !filter.roles.is_empty() {
        query.push(" OR (assignee_id IS NULL AND ");
        if filter.departments.is_empty() {
            query.push("queue_department_id IS NULL");
        } else {
            query
                .push("(queue_department_id IS NULL OR queue_department_id IN ")
                .push_list(filter.departments.iter().copied())
                .push(")");
        }
        query
            .push(" AND (queue_role IS NULL OR queue_role IN ")
            .push_list(filter.roles.iter())
            .push("))");
    }
    query.push(")");
    for (column, value) in [
        ("flow_key", filter.flow),
        ("module", filter.module),
        ("state", filter.state),
    ] {
        if let Some(value) = value {
            query.push(&format!(" AND {column} = ")).push_bind(value);
        }
    }
    query.push(&format!(" LIMIT {}", filter.limit));
    ex.fetch_all_as(query.sql(), query.args()).await
}

/// Inserts a new case (`updated_at` = its creation time).
pub(crate) async fn insert_case(mut ex: impl Executor, case: &CaseRow) -> Result<()> {
    ex.execute(
        &format!(
            "INSERT INTO flow_cases ({CASE_COLUMNS}, updated_at) VALUES ($1, $2, $3, $4, $5, $6, \
             $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, \
             $15)"
        ),
        &[
            case.id.into(),
            case.tenant.as_str().into(),
            case.flow_key.as_str().into(),
            case.flow_version.into(),
            case.module.as_str().into(),
            case.title.as_str().into(),
            case.state.as_str().into(),
            Value::Object(case.data.clone()).to_string().into(),
            case.applicant_id.into(),
            case.assignee_id.into(),
            case.queue_department_id.into(),
            case.queue_role.clone().into(),
            case.jurisdiction_id.into(),
            case.row_version.into(),
            case.created_at.into(),
            case.state_entered_at.into(),
            case.clock_started_at.into(),
            case.state_due_at.into(),
            case.state_warn_at.into(),
            case.case_due_at.into(),
            case.escalation_level.into(),
            case.breached.into(),
            case.closed_at.into(),
        ],
    )
    .await?;
    Ok(())
}

/// Writes the changeable fields of `case` (state, data, queue, clock, escalation, closing;
/// its new `row_version`) if the stored row is still at `expected_version`.
///
/// Errors: `conflict` when someone else changed the case meanwhile.
pub(crate) async fn update_case(
    mut ex: impl Executor,
    case: &CaseRow,
    expected_version: i64,
    now: i64,
) -> Result<()> {
    let updated = ex
        .execute(
            "UPDATE flow_cases SET state = $1, data = $2, assignee_id = $3, \
             queue_department_id = $4, queue_role = $5, row_version = $6, state_entered_at = $7, \
             clock_started_at = $8, state_due_at = $9, state_warn_at = $10, \
             escalation_level = $11, breached = $12, closed_at = $13, updated_at = $14 \
             WHERE id = $15 AND row_version = $16",
            &[
                case.state.as_str().into(),
                Value::Object(case.data.clone()).to_string().into(),
                case.assignee_id.into(),
                case.queue_department_id.into(),
                case.queue_role.clone().into(),
                case.row_version.into(),
                case.state_entered_at.into(),
                case.clock_started_at.into(),
                case.state_due_at.into(),
                case.state_warn_at.into(),
                case.escalation_level.into(),
                case.breached.into(),
                case.closed_at.into(),
                now.into(),
                case.id.into(),
                expected_version.into(),
            ],
        )
        .await?;
    if updated == 0 {
        return Err(Error::conflict(
            "the case was changed by someone else at the same time; reload it and try again",
        ));
    }
    Ok(())
}

/// Sets the deadline of a whole case (µs), e.g. when it is reopened.
pub(crate) async fn set_case_due(mut ex: impl Executor, case_id: Uuid, due_at: i64) -> Result<()> {
    ex.execute(
        "UPDATE flow_cases SET case_due_at = $1 WHERE id = $2",
        args![due_at, case_id],
    )
    .await?;
    Ok(())
}

/// Marks cases as breached, at most `chunk` ids per statement.
pub(crate) async fn mark_breached(
    mut ex: impl Executor,
    case_ids: &[Uuid],
    chunk: usize,
) -> Result<()> {
    for ids in case_ids.chunks(chunk.max(1)) {
        let values: Vec<Val> = ids.iter().map(|id| Val::from(*id)).collect();
        let sql = format!(
            "UPDATE flow_cases SET breached = 1 WHERE id IN ({})",
            placeholders(ex.backend(), 1, values.len())
        );
        ex.execute(&sql, &values).await?;
    }
    Ok(())
}

// ------------------------------------------------------------------------ history

/// One entry of a case's history.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct HistoryRow {
    /// The case's `row_version` after the entry.
    pub seq: i64,
    /// When, µs since the epoch.
    pub at: i64,
    /// Audit actor (`user:<id>`, `system`).
    pub actor: String,
    /// Action key (`CREATE`, `CLAIM`, `TRANSFER`, a flow action…).
    pub action: String,
    /// State before.
    pub from_state: Option<String>,
    /// State after.
    pub to_state: String,
    /// Comment given with the action.
    pub comment: Option<String>,
    /// Attachments as JSON text, if any.
    pub attachments: Option<String>,
    /// Assignee after the entry.
    pub assignee_id: Option<Uuid>,
    /// Queue department after the entry.
    pub department_id: Option<Uuid>,
}

/// A history entry to insert.
pub(crate) struct NewHistory<'a> {
    /// The case after the change (id, `row_version` as `seq`, state, assignee, queue).
    pub case: &'a CaseRow,
    /// Audit actor.
    pub actor: &'a str,
    /// Action key.
    pub action: &'a str,
    /// State before.
    pub from_state: Option<&'a str>,
    /// Comment.
    pub comment: Option<&'a str>,
    /// Attachments (stored as JSON text; none stored as NULL).
    pub attachments: &'a [Attachment],
    /// When the state left was entered (µs), for time-in-state figures.
    pub from_entered_at: Option<i64>,
    /// When, µs.
    pub at: i64,
}

/// Appends one history entry.
pub(crate) async fn insert_history(mut ex: impl Executor, entry: &NewHistory<'_>) -> Result<()> {
    let attachments = if entry.attachments.is_empty() {
        None
    } else {
        Some(serde_json::to_string(entry.attachments).map_err(Error::internal)?)
    };
    let case = entry.case;
    ex.execute(
        "INSERT INTO flow_history (case_id, seq, at, actor, action, from_state, to_state, \
         comment, attachments, assignee_id, department_id, state_entered_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        &[
            case.id.into(),
            case.row_version.into(),
            entry.at.into(),
            entry.actor.into(),
            entry.action.into(),
            entry.from_state.into(),
            case.state.as_str().into(),
            entry.comment.into(),
            attachments.into(),
            case.assignee_id.into(),
            case.queue_department_id.into(),
            entry.from_entered_at.into(),
        ],
    )
    .await?;
    Ok(())
}

/// The history of a case, oldest first.
pub(crate) async fn history(mut ex: impl Executor, case_id: Uuid) -> Result<Vec<HistoryRow>> {
    ex.fetch_all_as(
        "SELECT seq, at, actor, action, from_state, to_state, comment, attachments, assignee_id, \
         department_id FROM flow_history WHERE case_id = $1 ORDER BY seq",
        args![case_id],
    )
    .await
}

// ------------------------------------------------------------------------ timers

/// A timer to insert: `(kind, step, due_at µs)`; kinds `warn`, `breach`, `escalate`,
/// `case_warn`, `case_breach`.
pub(crate) type NewTimer<'a> = (&'a str, i64, i64);

/// A timer this scheduler pass won.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct FiredTimerRow {
    /// The case it belongs to.
    pub case_id: Uuid,
    /// Its kind.
    pub kind: String,
    /// Escalation step (0 for other kinds).
    pub step: i64,
}

/// Inserts the timers of one case, unfired, in one multi-row statement (none: nothing).
pub(crate) async fn insert_timers(
    mut ex: impl Executor,
    case_id: Uuid,
    timers: &[NewTimer<'_>],
) -> Result<()> {
    if timers.is_empty() {
        return Ok(());
    }
    let mut query = SqlBuilder::new(
        "INSERT INTO flow_timers (id, case_id, kind, step, due_at, fired_at) VALUES ",
    );
    for (index, (kind, step, due_at)) in timers.iter().enumerate() {
        if index > 0 {
            query.push(", ");
        }
        query.push("(").push_bind(onecity_core::new_id());
        query.push(", ").push_bind(case_id);
        query.push(", ").push_bind(*kind);
        query.push(", ").push_bind(*step);
        query.push(", ").push_bind(*due_at);
        query.push(", NULL)");
    }
    ex.execute(query.sql(), query.args()).await?;
    Ok(())
}

/// Deletes the unfired timers of a case's state (those whose kind does not start with
/// `case`).
pub(crate) async fn delete_state_timers(mut ex: impl Executor, case_id: Uuid) -> Result<()> {
    ex.execute(
        "DELETE FROM flow_timers WHERE case_id = $1 AND fired_at IS NULL AND kind NOT LIKE 'case%'",
        args![case_id],
    )
    .await?;
    Ok(())
}

/// Deletes every unfired timer of a case.
pub(crate) async fn delete_open_timers(mut ex: impl Executor, case_id: Uuid) -> Result<()> {
    ex.execute(
        "DELETE FROM flow_timers WHERE case_id = $1 AND fired_at IS NULL",
        args![case_id],
    )
    .await?;
    Ok(())
}

/// Ids of unfired timers due at or before `now`, soonest first, at most `limit`.
pub(crate) async fn due_timer_ids(
    mut ex: impl Executor,
    now: i64,
    limit: usize,
) -> Result<Vec<Uuid>> {
    #[derive(Deserialize)]
    struct IdRow {
        id: Uuid,
    }
    let rows: Vec<IdRow> = ex
        .fetch_all_as(
            &format!(
                "SELECT id FROM flow_timers WHERE fired_at IS NULL AND due_at <= $1 \
                 ORDER BY due_at LIMIT {limit}"
            ),
            args![now],
        )
        .await?;
    Ok(rows.into_iter().map(|row| row.id).collect())
}

/// Marks the timers `timer_ids` fired at `now` unless another pass fired them first, and
/// returns the ones this call won. Call it with a transaction: it writes through a query
/// (`UPDATE … RETURNING`), which `&db` would send to SQLite's read-only pool.
pub(crate) async fn fire_timers(
    mut ex: impl Executor,
    timer_ids: &[Uuid],
    now: i64,
) -> Result<Vec<FiredTimerRow>> {
    let first = placeholders(ex.backend(), 1, 1);
    let list = placeholders(ex.backend(), 2, timer_ids.len());
    let mut values = vec![Val::from(now)];
    values.extend(timer_ids.iter().map(|id| Val::from(*id)));
    ex.fetch_all_as(
        &format!(
            "UPDATE flow_timers SET fired_at = {first} WHERE id IN ({list}) AND fired_at IS NULL \
             RETURNING id, case_id, kind, step"
        ),
        &values,
    )
    .await
}

// ------------------------------------------------------------------------ notifications

/// A notification as stored. Times are µs since the epoch.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct NotificationRow {
    /// Notification id.
    pub id: Uuid,
    /// Tenant code.
    pub tenant: String,
    /// Addressed principal, if any.
    pub principal_id: Option<Uuid>,
    /// Addressed role, if any.
    pub role: Option<String>,
    /// Queue department of the case when written.
    pub department_id: Option<Uuid>,
    /// The case it is about.
    pub case_id: Uuid,
    /// Kind (`sla_warning`, `sla_breached`, `escalation`).
    pub kind: String,
    /// Message text.
    pub message: String,
    /// When written.
    pub created_at: i64,
    /// When read in the app.
    pub read_at: Option<i64>,
    /// When e-mailed.
    pub emailed_at: Option<i64>,
    /// When posted to the webhook.
    pub webhooked_at: Option<i64>,
}

const NOTIFICATION_COLUMNS: &str = "id, tenant, principal_id, role, department_id, case_id, \
     kind, message, created_at, read_at, emailed_at, webhooked_at";

/// A notification to insert.
pub(crate) struct NewNotification {
    /// Tenant code.
    pub tenant: String,
    /// Addressed principal, if any.
    pub principal_id: Option<Uuid>,
    /// Addressed role, if any.
    pub role: Option<String>,
    /// Queue department of the case.
    pub department_id: Option<Uuid>,
    /// The case.
    pub case_id: Uuid,
    /// Kind.
    pub kind: String,
    /// Message text.
    pub message: String,
    /// When, µs.
    pub created_at: i64,
}

/// Inserts notifications (new ids), at most `chunk` rows per statement.
pub(crate) async fn insert_notifications(
    mut ex: impl Executor,
    notifications: &[NewNotification],
    chunk: usize,
) -> Result<()> {
    for rows in notifications.chunks(chunk.max(1)) {
        let groups: Vec<String> = (0..rows.len())
            .map(|index| format!("({})", placeholders(ex.backend(), index * 9 + 1, 9)))
            .collect();
        let sql = format!(
            "INSERT INTO flow_notifications (id, tenant, principal_id, role, department_id, \
             case_id, kind, message, created_at) VALUES {}",
            groups.join(", ")
        );
        let mut values: Vec<Val> = Vec::with_capacity(rows.len() * 9);
        for note in rows {
            values.extend([
                onecity_core::new_id().into(),
                note.tenant.as_str().into(),
                note.principal_id.into(),
                note.role.clone().into(),
                note.department_id.into(),
                note.case_id.into(),
                note.kind.as_str().into(),
                note.message.as_str().into(),
                Val::from(note.created_at),
            ]);
        }
        ex.execute(&sql, &values).await?;
    }
    Ok(())
}

/// The newest notifications of a tenant, at most `limit`.
pub(crate) async fn tenant_notifications(
    mut ex: impl Executor,
    tenant: &str,
    limit: usize,
) -> Result<Vec<NotificationRow>> {
    ex.fetch_all_as(
        &format!(
            "SELECT {NOTIFICATION_COLUMNS} FROM flow_notifications WHERE tenant = $1 \
             ORDER BY created_at DESC LIMIT {limit}"
        ),
        args![tenant],
    )
    .await
}

/// Notifications not yet delivered by e-mail (`by_email`) or webhook (`by_webhook`), with
/// fewer than `max_attempts` failed attempts, oldest first, at most 100. At least one of
/// the two channels must be asked for.
pub(crate) async fn undelivered_notifications(
    mut ex: impl Executor,
    by_email: bool,
    by_webhook: bool,
    max_attempts: i64,
) -> Result<Vec<NotificationRow>> {
    let mut pending = Vec::new();
    if by_email {
        pending.push("emailed_at IS NULL");
    }
    if by_webhook {
        pending.push("webhooked_at IS NULL");
    }
    ex.fetch_all_as(
        &format!(
            "SELECT {NOTIFICATION_COLUMNS} FROM flow_notifications WHERE ({}) AND attempts < $1 \
             ORDER BY created_at LIMIT 100",
            pending.join(" OR ")
        ),
        args![max_attempts],
    )
    .await
}

/// Records that a notification went out by e-mail at `now`.
pub(crate) async fn mark_emailed(mut ex: impl Executor, id: Uuid, now: i64) -> Result<()> {
    ex.execute(
        "UPDATE flow_notifications SET emailed_at = $1 WHERE id = $2",
        args![now, id],
    )
    .await?;
    Ok(())
}

/// Records that a notification was posted to the webhook at `now`.
pub(crate) async fn mark_webhooked(mut ex: impl Executor, id: Uuid, now: i64) -> Result<()> {
    ex.execute(
        "UPDATE flow_notifications SET webhooked_at = $1 WHERE id = $2",
        args![now, id],
    )
    .await?;
    Ok(())
}

/// Counts one failed delivery attempt of a notification.
pub(crate) async fn count_attempt(mut ex: impl Executor, id: Uuid) -> Result<()> {
    ex.execute(
        "UPDATE flow_notifications SET attempts = attempts + 1 WHERE id = $1",
        args![id],
    )
    .await?;
    Ok(())
}

// ------------------------------------------------------------------------ metrics

/// `(state, number of cases)` of one flow in a tenant.
pub(crate) async fn cases_by_state(
    mut ex: impl Executor,
    tenant: &str,
    flow: &str,
) -> Result<Vec<(String, i64)>> {
    #[derive(Deserialize)]
    struct StateCount {
        state: String,
        cases: i64,
    }
    let rows: Vec<StateCount> = ex
        .fetch_all_as(
            "SELECT state, COUNT(*) AS cases FROM flow_cases WHERE tenant = $1 AND flow_key = $2 \
             GROUP BY state",
            args![tenant, flow],
        )
        .await?;
    Ok(rows.into_iter().map(|row| (row.state, row.cases)).collect())
}

/// Closed cases of one flow that had a case deadline, and how many of them closed by it.
#[derive(Debug, Clone, Copy, Deserialize)]
pub(crate) struct OnTimeCounts {
    /// Closed cases with a deadline.
    pub closed: i64,
    /// Of those, closed at or before the deadline.
    pub on_time: i64,
}

/// [`OnTimeCounts`] of one flow in a tenant.
pub(crate) async fn on_time_counts(
    mut ex: impl Executor,
    tenant: &str,
    flow: &str,
) -> Result<OnTimeCounts> {
    ex.fetch_optional_as(
        "SELECT COUNT(*) AS closed, \
         COALESCE(SUM(CASE WHEN closed_at <= case_due_at THEN 1 ELSE 0 END), 0) AS on_time \
         FROM flow_cases WHERE tenant = $1 AND flow_key = $2 AND closed_at IS NOT NULL \
         AND case_due_at IS NOT NULL",
        args![tenant, flow],
    )
    .await?
    .ok_or_else(|| Error::internal("aggregate returned no row"))
}

/// `(state, mean µs spent in it before a change of state)` of one flow in a tenant.
pub(crate) async fn mean_micros_in_state(
    mut ex: impl Executor,
    tenant: &str,
    flow: &str,
) -> Result<Vec<(String, f64)>> {
    #[derive(Deserialize)]
    struct StateMean {
        state: String,
        mean_micros: f64,
    }
    let rows: Vec<StateMean> = ex
        .fetch_all_as(
            "SELECT h.from_state AS state, \
             AVG(CAST(h.at - h.state_entered_at AS DOUBLE PRECISION)) AS mean_micros \
             FROM flow_history h JOIN flow_cases c ON c.id = h.case_id \
             WHERE c.tenant = $1 AND c.flow_key = $2 AND h.state_entered_at IS NOT NULL \
             AND h.from_state IS NOT NULL AND h.from_state <> h.to_state GROUP BY h.from_state",
            args![tenant, flow],
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.state, row.mean_micros))
        .collect())
}

/// `(queue department id or "none", fired breach timers)` of one flow in a tenant.
pub(crate) async fn breaches_by_department(
    mut ex: impl Executor,
    tenant: &str,
    flow: &str,
) -> Result<Vec<(String, i64)>> {
    #[derive(Deserialize)]
    struct DepartmentBreaches {
        department: String,
        breaches: i64,
    }
    let rows: Vec<DepartmentBreaches> = ex
        .fetch_all_as(
            "SELECT COALESCE(c.queue_department_id, 'none') AS department, COUNT(*) AS breaches \
             FROM flow_timers t JOIN flow_cases c ON c.id = t.case_id \
             WHERE c.tenant = $1 AND c.flow_key = $2 AND t.kind IN ('breach', 'case_breach') \
             AND t.fired_at IS NOT NULL GROUP BY COALESCE(c.queue_department_id, 'none')",
            args![tenant, flow],
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.department, row.breaches))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use onecity_store::Db;
    use serde_json::json;

    /// A migrated SQLite store in a fresh directory (kept alive by the returned guard).
    async fn sqlite_store() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open_sqlite(dir.path(), &Default::default())
            .await
            .unwrap();
        onecity_store::migrate::run(&db, "flow", &crate::MIGRATIONS)
            .await
            .unwrap();
        (dir, db)
    }

    fn case(tenant: &str, title: &str, created_at: i64) -> CaseRow {
        CaseRow {
            id: onecity_core::new_id(),
            tenant: tenant.into(),
            flow_key: "hotline-12345".into(),
            flow_version: 2,
            module: "governance".into(),
            title: title.into(),
            state: "PENDING_DISPATCH".into(),
            data: json!({"event_id": "e-1", "priority": 3})
                .as_object()
                .cloned()
                .unwrap(),
            applicant_id: Uuid::parse_str("0190f0e0-0000-7000-8000-000000000001").unwrap(),
            assignee_id: None,
            queue_department_id: Some(
                Uuid::parse_str("0190f0e0-0000-7000-8000-0000000000d1").unwrap(),
            ),
            queue_role: None,
            jurisdiction_id: None,
            row_version: 1,
            created_at,
            state_entered_at: created_at,
            clock_started_at: Some(created_at),
            state_due_at: Some(created_at + 3_600_000_000),
            state_warn_at: None,
            case_due_at: Some(created_at + 86_400_000_000),
            escalation_level: 0,
            breached: false,
            closed_at: None,
        }
    }

    #[tokio::test]
    async fn a_case_round_trips_and_updates_only_at_its_version() {
        let (_dir, db) = sqlite_store().await;
        let mut stored = case("sh", "pothole on Nanjing Road", 1_700_000_000_000_000);
        insert_case(&db, &stored).await.unwrap();
        let read = case_by_id(&db, "sh", stored.id).await.unwrap().unwrap();
        assert_eq!(read.title, "pothole on Nanjing Road");
        assert_eq!(read.data["priority"], json!(3));
        assert_eq!(read.queue_department_id, stored.queue_department_id);
        assert_eq!(read.state_due_at, Some(1_700_003_600_000_000));
        assert!(!read.breached);
        assert!(case_by_id(&db, "bj", stored.id).await.unwrap().is_none());

        stored.state = "ASSIGNED".into();
        stored.row_version = 2;
        let mut tx = db.begin().await.unwrap();
        update_case(&mut tx, &stored, 1, 1_700_000_000_000_001)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let stale = update_case(&db, &stored, 1, 1_700_000_000_000_002).await;
        assert_eq!(stale.unwrap_err().code, onecity_core::ErrorCode::Conflict);
        let read = case_by_id(&db, "sh", stored.id).await.unwrap().unwrap();
        assert_eq!((read.state.as_str(), read.row_version), ("ASSIGNED", 2));

        mark_breached(&db, &[stored.id], 500).await.unwrap();
        let other = case("sh", "broken lamp", 1_700_000_000_000_100);
        insert_case(&db, &other).await.unwrap();
        let mut both = cases_by_ids(&db, &[stored.id, other.id, Uuid::nil()], 1)
            .await
            .unwrap();
        both.sort_by_key(|c| c.created_at);
        assert_eq!(both.len(), 2);
        assert!(both[0].breached);
        assert!(!both[1].breached);
        assert_eq!(
            case_queue_department(&db, other.id).await.unwrap(),
            other.queue_department_id
        );
    }

    #[tokio::test]
    async fn timers_fire_once_and_state_timers_go_with_their_state() {
        let (_dir, db) = sqlite_store().await;
        let stored = case("sh", "noise", 1_000);
        insert_case(&db, &stored).await.unwrap();
        insert_timers(
            &db,
            stored.id,
            &[
                ("warn", 0, 2_000),
                ("breach", 0, 3_000),
                ("escalate", 1, 9_000),
            ],
        )
        .await
        .unwrap();
        insert_timers(&db, stored.id, &[("case_breach", 0, 2_500)])
            .await
            .unwrap();
        let due = due_timer_ids(&db, 3_000, 500).await.unwrap();
        assert_eq!(due.len(), 3);
        let mut tx = db.begin().await.unwrap();
        let mut won = fire_timers(&mut tx, &due, 3_000).await.unwrap();
        tx.commit().await.unwrap();
        won.sort_by(|a, b| a.kind.cmp(&b.kind));
        let kinds: Vec<&str> = won.iter().map(|t| t.kind.as_str()).collect();
        assert_eq!(kinds, ["breach", "case_breach", "warn"]);
        assert!(won.iter().all(|t| t.case_id == stored.id));
        let mut tx = db.begin().await.unwrap();
        assert!(fire_timers(&mut tx, &due, 3_001).await.unwrap().is_empty());
        tx.commit().await.unwrap();

        insert_timers(&db, stored.id, &[("case_warn", 0, 8_000)])
            .await
            .unwrap();
        delete_state_timers(&db, stored.id).await.unwrap();
        let still_due = due_timer_ids(&db, 10_000, 500).await.unwrap();
        let mut tx = db.begin().await.unwrap();
        let left = fire_timers(&mut tx, &still_due, 10_000).await.unwrap();
        tx.commit().await.unwrap();
        let kinds: Vec<&str> = left.iter().map(|t| t.kind.as_str()).collect();
        assert_eq!(kinds, ["case_warn"]);
    }

    #[tokio::test]
    async fn definitions_versions_and_calendars() {
        let (_dir, db) = sqlite_store().await;
        assert_eq!(
            latest_definition_version(&db, "sh", "pgr").await.unwrap(),
            None
        );
        for version in [1, 2] {
            let row = DefinitionRow {
                key: "pgr".into(),
                version,
                module: "services".into(),
                definition: format!("{{\"name\":\"PGR v{version}\"}}"),
                created_at: 10 * version,
            };
            insert_definition(&db, "sh", &row, "user:admin")
                .await
                .unwrap();
        }
        assert_eq!(
            latest_definition_version(&db, "sh", "pgr").await.unwrap(),
            Some(2)
        );
        assert_eq!(
            definition_text(&db, "sh", "pgr", 1)
                .await
                .unwrap()
                .as_deref(),
            Some("{\"name\":\"PGR v1\"}")
        );
        let listed = definitions(&db, "sh").await.unwrap();
        let versions: Vec<(i64, i64)> = listed.iter().map(|d| (d.version, d.created_at)).collect();
        assert_eq!(versions, [(1, 10), (2, 20)]);

        assert_eq!(tenant_calendar(&db, "sh").await.unwrap(), None);
        replace_tenant_calendar(&db, "sh", "{\"a\":1}", 5)
            .await
            .unwrap();
        replace_tenant_calendar(&db, "sh", "{\"a\":2}", 6)
            .await
            .unwrap();
        assert_eq!(
            tenant_calendar(&db, "sh").await.unwrap().as_deref(),
            Some("{\"a\":2}")
        );
        let district = Uuid::parse_str("0190f0e0-0000-7000-8000-0000000000a1").unwrap();
        replace_jurisdiction_calendar(&db, "sh", district, "{\"b\":1}", 7)
            .await
            .unwrap();
        let own = jurisdiction_calendars(&db, "sh").await.unwrap();
        assert_eq!(own.len(), 1);
        assert_eq!(own[0].jurisdiction_id, district.to_string());
    }

    #[tokio::test]
    async fn inbox_role_grants_notifications_and_metrics() {
        let (_dir, db) = sqlite_store().await;
        let me = Uuid::parse_str("0190f0e0-0000-7000-8000-00000000beef").unwrap();
        let department = Uuid::parse_str("0190f0e0-0000-7000-8000-0000000000d1").unwrap();
        insert_role_grant(&db, "sh", me, "GRO", Some(department), 1)
            .await
            .unwrap();
        let grants = role_grants(&db, "sh", me).await.unwrap();
        assert_eq!(grants.len(), 1);
        assert_eq!(
            (grants[0].role.as_str(), grants[0].department_id),
            ("GRO", Some(department))
        );
        assert_eq!(role_holders(&db, "sh", "GRO", None).await.unwrap(), [me]);
        assert_eq!(
            role_holders(&db, "sh", "GRO", Some(department))
                .await
                .unwrap(),
            [me]
        );
        assert!(role_holders(&db, "sh", "GRO", Some(Uuid::nil()))
            .await
            .unwrap()
            .is_empty());

        let queued = case("sh", "queued at my department", 100);
        let mut elsewhere = case("sh", "queued elsewhere", 200);
        elsewhere.queue_department_id = Some(Uuid::nil());
        let mut closed = case("sh", "closed on time", 300);
        closed.closed_at = Some(400);
        for c in [&queued, &elsewhere, &closed] {
            insert_case(&db, c).await.unwrap();
        }
        let roles = vec!["GRO".to_string()];
        let filter = InboxFilter {
            tenant: "sh",
            principal_id: me,
            departments: &[department],
            roles: &roles,
            flow: Some("hotline-12345"),
            module: None,
            state: None,
            limit: 10_000,
        };
        let inbox = inbox_candidates(&db, &filter).await.unwrap();
        let titles: Vec<&str> = inbox.iter().map(|c| c.title.as_str()).collect();
        assert_eq!(titles, ["queued at my department"]);

        let notes: Vec<NewNotification> = (0..3)
            .map(|index| NewNotification {
                tenant: "sh".into(),
                principal_id: (index == 0).then_some(me),
                role: (index > 0).then(|| "GRO".to_string()),
                department_id: Some(department),
                case_id: queued.id,
                kind: "sla_warning".into(),
                message: format!("note {index}"),
                created_at: 1_000 + index,
            })
            .collect();
        insert_notifications(&db, &notes, 2).await.unwrap();
        let newest: Vec<String> = tenant_notifications(&db, "sh", 5000)
            .await
            .unwrap()
            .into_iter()
            .map(|n| n.message)
            .collect();
        assert_eq!(newest, ["note 2", "note 1", "note 0"]);
        let pending = undelivered_notifications(&db, true, false, 10)
            .await
            .unwrap();
        assert_eq!(pending.len(), 3);
        mark_emailed(&db, pending[0].id, 2_000).await.unwrap();
        for _ in 0..10 {
            count_attempt(&db, pending[1].id).await.unwrap();
        }
        let pending = undelivered_notifications(&db, true, false, 10)
            .await
            .unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].message, "note 2");
        assert_eq!(
            undelivered_notifications(&db, false, true, 10)
                .await
                .unwrap()
                .len(),
            2
        );

        let counts = on_time_counts(&db, "sh", "hotline-12345").await.unwrap();
        assert_eq!((counts.closed, counts.on_time), (1, 1));
        let mut by_state = cases_by_state(&db, "sh", "hotline-12345").await.unwrap();
        by_state.sort();
        assert_eq!(by_state, [("PENDING_DISPATCH".to_string(), 3)]);
    }
}
