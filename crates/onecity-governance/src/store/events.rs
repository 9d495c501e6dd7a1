//! Statements of `gov_events` (events, 事件) and `gov_event_log` (their history).

use onecity_core::Result;
use onecity_store::{args, Executor, SqlBuilder, Val};
use serde::Deserialize;
use uuid::Uuid;

/// The 38 columns of `gov_events`, in [`EventRow`]'s field order.
const EVENT_COLUMNS: &str = "id, tenant, request_id, token, source, external_id, service_code, \
     description, status, status_notes, lat, lon, address, address_id, zipcode, \
     jurisdiction_id, jurisdiction_code, jurisdiction_name, community_code, grid_code, \
     near_border, attributes, media_url, attachments, agency, department_id, co_departments, \
     case_id, duplicate_of, merged_into, contact, requested_at, updated_at, due_at, closed_at, \
     rating, rating_comment, created_at";

/// An event as stored: the one row type every reader and the one insert use. Times are
/// µs since the epoch (UTC); JSON columns are kept as their text.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct EventRow {
    /// Event id (UUIDv7).
    pub id: Uuid,
    /// Tenant code.
    pub tenant: String,
    /// Open311 `service_request_id` (unique in the tenant).
    pub request_id: String,
    /// Open311 token of the submission.
    pub token: String,
    /// Where it came from (`open311`, `staff`, `nyc311`, …).
    pub source: String,
    /// Id in the source system (imports), unique per tenant and source.
    pub external_id: Option<String>,
    /// Category code.
    pub service_code: String,
    /// Free text.
    pub description: Option<String>,
    /// `open` or `closed`.
    pub status: String,
    /// Note on the status.
    pub status_notes: Option<String>,
    /// Latitude (WGS-84 degrees).
    pub lat: Option<f64>,
    /// Longitude (WGS-84 degrees).
    pub lon: Option<f64>,
    /// Street address.
    pub address: Option<String>,
    /// Address id of an address register.
    pub address_id: Option<String>,
    /// Postal code.
    pub zipcode: Option<String>,
    /// Deepest jurisdiction containing the point.
    pub jurisdiction_id: Option<Uuid>,
    /// Its code.
    pub jurisdiction_code: Option<String>,
    /// Its name.
    pub jurisdiction_name: Option<String>,
    /// Community (社区) code.
    pub community_code: Option<String>,
    /// Grid (网格) code.
    pub grid_code: Option<String>,
    /// Whether the point lies near an area border.
    pub near_border: bool,
    /// Category attributes (JSON object text).
    pub attributes: String,
    /// Media URL.
    pub media_url: Option<String>,
    /// Attachments (JSON array text).
    pub attachments: String,
    /// Name of the responsible department.
    pub agency: Option<String>,
    /// Responsible department.
    pub department_id: Option<Uuid>,
    /// Co-operating departments (JSON array text of ids).
    pub co_departments: String,
    /// The work order (flow case).
    pub case_id: Option<Uuid>,
    /// Suggested duplicate of.
    pub duplicate_of: Option<Uuid>,
    /// Merged into this event.
    pub merged_into: Option<Uuid>,
    /// Contact of the requester (JSON text).
    pub contact: Option<String>,
    /// When requested.
    pub requested_at: i64,
    /// Last change.
    pub updated_at: i64,
    /// Deadline.
    pub due_at: Option<i64>,
    /// When closed.
    pub closed_at: Option<i64>,
    /// Rating 1..5.
    pub rating: Option<i64>,
    /// Comment with the rating.
    pub rating_comment: Option<String>,
    /// When stored.
    pub created_at: i64,
}

/// Inserts one event (all 38 columns from `event`).
///
/// Errors: `conflict` for a `request_id` taken in the tenant, or an `external_id` taken for
/// the tenant and source.
pub(crate) async fn insert_event(mut ex: impl Executor, event: &EventRow) -> Result<()> {
    let values: [Val; 38] = [
        event.id.into(),
        event.tenant.as_str().into(),
        event.request_id.as_str().into(),
        event.token.as_str().into(),
        event.source.as_str().into(),
        event.external_id.clone().into(),
        event.service_code.as_str().into(),
        event.description.clone().into(),
        event.status.as_str().into(),
        event.status_notes.clone().into(),
        Val::F64(event.lat),
        Val::F64(event.lon),
        event.address.clone().into(),
        event.address_id.clone().into(),
        event.zipcode.clone().into(),
        event.jurisdiction_id.into(),
        event.jurisdiction_code.clone().into(),
        event.jurisdiction_name.clone().into(),
        event.community_code.clone().into(),
        event.grid_code.clone().into(),
        event.near_border.into(),
        event.attributes.as_str().into(),
        event.media_url.clone().into(),
        event.attachments.as_str().into(),
        event.agency.clone().into(),
        event.department_id.into(),
        event.co_departments.as_str().into(),
        event.case_id.into(),
        event.duplicate_of.into(),
        event.merged_into.into(),
        event.contact.clone().into(),
        event.requested_at.into(),
        event.updated_at.into(),
        event.due_at.into(),
        event.closed_at.into(),
        event.rating.into(),
        event.rating_comment.clone().into(),
        event.created_at.into(),
    ];
    ex.execute(
        &format!(
            "INSERT INTO gov_events ({EVENT_COLUMNS}) VALUES ({})",
            onecity_store::numbered(1, values.len())
        ),
        &values,
    )
    .await?;
    Ok(())
}

/// One event of a tenant, if it exists.
pub(crate) async fn event_by_id(
    mut ex: impl Executor,
    tenant: &str,
    event_id: Uuid,
) -> Result<Option<EventRow>> {
    ex.fetch_optional_as(
        &format!("SELECT {EVENT_COLUMNS} FROM gov_events WHERE tenant = $1 AND id = $2"),
        args![tenant, event_id],
    )
    .await
}

/// Filters of the own API's event list (all optional, combined with AND).
#[derive(Debug, Clone, Default)]
pub(crate) struct EventFilter<'a> {
    /// `open` or `closed`.
    pub status: Option<&'a str>,
    /// Category code.
    pub service_code: Option<&'a str>,
    /// Jurisdiction code.
    pub jurisdiction_code: Option<&'a str>,
    /// Grid code.
    pub grid_code: Option<&'a str>,
    /// Near-border flag.
    pub near_border: Option<bool>,
    /// Only ids below this one (the page cursor).
    pub before_id: Option<Uuid>,
}

/// Events of a tenant matching `filter`, newest id first, at most `limit`.
pub(crate) async fn events(
    mut ex: impl Executor,
    tenant: &str,
    filter: &EventFilter<'_>,
    limit: usize,
) -> Result<Vec<EventRow>> {
    let mut query = SqlBuilder::new(&format!("SELECT {EVENT_COLUMNS} FROM gov_events WHERE "));
    query.push("tenant = ").push_bind(tenant);
    if let Some(status) = filter.status {
        query.push(" AND status = ").push_bind(status);
    }
    if let Some(code) = filter.service_code {
        query.push(" AND service_code = ").push_bind(code);
    }
    if let Some(code) = filter.jurisdiction_code {
        query.push(" AND jurisdiction_code = ").push_bind(code);
    }
    if let Some(code) = filter.grid_code {
        query.push(" AND grid_code = ").push_bind(code);
    }
    if let Some(near_border) = filter.near_border {
        query.push(" AND near_border = ").push_bind(near_border);
    }
    if let Some(before) = filter.before_id {
        query.push(" AND id < ").push_bind(before);
    }
    query.push(&format!(" ORDER BY id DESC LIMIT {limit}"));
    ex.fetch_all_as(query.sql(), query.args()).await
}

/// The fields of an event Open311 `GET requests` shows, with its category's name.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RequestRow {
    /// Open311 `service_request_id`.
    pub request_id: String,
    /// `open` or `closed`.
    pub status: String,
    /// Note on the status.
    pub status_notes: Option<String>,
    /// Name of the category, when it exists.
    pub service_name: Option<String>,
    /// Category code.
    pub service_code: String,
    /// Free text.
    pub description: Option<String>,
    /// Name of the responsible department.
    pub agency: Option<String>,
    /// When requested (µs).
    pub requested_at: i64,
    /// Last change (µs).
    pub updated_at: i64,
    /// Deadline (µs).
    pub due_at: Option<i64>,
    /// Street address.
    pub address: Option<String>,
    /// Address id.
    pub address_id: Option<String>,
    /// Postal code.
    pub zipcode: Option<String>,
    /// Latitude.
    pub lat: Option<f64>,
    /// Longitude.
    pub lon: Option<f64>,
    /// Media URL.
    pub media_url: Option<String>,
    /// Jurisdiction (chooses the display zone).
    pub jurisdiction_id: Option<Uuid>,
}

/// Filters of Open311 `GET requests`: either request ids, or categories, statuses and a
/// requested-time range (µs, both ends included).
#[derive(Debug, Clone, Default)]
pub(crate) struct RequestFilter {
    /// Only these `service_request_id`s (then the other filters are not used).
    pub request_ids: Option<Vec<String>>,
    /// Only these categories.
    pub service_codes: Option<Vec<String>>,
    /// Only these statuses.
    pub statuses: Option<Vec<String>>,
    /// Requested at or after.
    pub requested_from: Option<i64>,
    /// Requested at or before.
    pub requested_to: Option<i64>,
}

/// Events of a tenant for Open311, newest request first, one page of `page_size` after
/// skipping `offset`.
pub(crate) async fn requests(
    mut ex: impl Executor,
    tenant: &str,
    filter: &RequestFilter,
    page_size: usize,
    offset: usize,
) -> Result<Vec<RequestRow>> {
    let mut query = SqlBuilder::new(
        "SELECT e.request_id, e.status, e.status_notes, s.name AS service_name, e.service_code, \
         e.description, e.agency, e.requested_at, e.updated_at, e.due_at, e.address, \
         e.address_id, e.zipcode, e.lat, e.lon, e.media_url, e.jurisdiction_id \
         FROM gov_events e LEFT JOIN gov_services s \
         ON s.tenant = e.tenant AND s.code = e.service_code WHERE e.tenant = ",
    );
    query.push_bind(tenant);
    if let Some(ids) = &filter.request_ids {
        query.push(" AND e.request_id IN ").push_list(ids.iter());
    } else {
        if let Some(codes) = &filter.service_codes {
            query
                .push(" AND e.service_code IN ")
                .push_list(codes.iter());
        }
        if let Some(statuses) = &filter.statuses {
            query.push(" AND e.status IN ").push_list(statuses.iter());
        }
        if let Some(from) = filter.requested_from {
            query.push(" AND e.requested_at >= ").push_bind(from);
        }
        if let Some(to) = filter.requested_to {
            query.push(" AND e.requested_at <= ").push_bind(to);
        }
    }
    query.push(&format!(
        " ORDER BY e.requested_at DESC, e.id DESC LIMIT {page_size} OFFSET {offset}"
    ));
    ex.fetch_all_as(query.sql(), query.args()).await
}

/// The `service_request_id` of the event submitted with `token`, if any.
pub(crate) async fn request_id_by_token(
    mut ex: impl Executor,
    tenant: &str,
    token: &str,
) -> Result<Option<String>> {
    let row = ex
        .fetch_optional(
            "SELECT request_id FROM gov_events WHERE tenant = $1 AND token = $2",
            args![tenant, token],
        )
        .await?;
    row.map(|r| r.text("request_id")).transpose()
}

/// A point of an open event, for duplicate search.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct EventPoint {
    /// Event id.
    pub id: Uuid,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
}

/// Open, unmerged events of one category requested in `[from, to]` (µs) inside the box
/// `lat_range` × `lon_range` (degrees), oldest first.
pub(crate) async fn open_events_in_box(
    mut ex: impl Executor,
    tenant: &str,
    service_code: &str,
    (from, to): (i64, i64),
    (lat_min, lat_max): (f64, f64),
    (lon_min, lon_max): (f64, f64),
) -> Result<Vec<EventPoint>> {
    ex.fetch_all_as(
        "SELECT id, lat, lon FROM gov_events WHERE tenant = $1 AND service_code = $2 \
         AND status = 'open' AND merged_into IS NULL AND requested_at >= $3 AND requested_at <= $4 \
         AND lat BETWEEN $5 AND $6 AND lon BETWEEN $7 AND $8 ORDER BY requested_at",
        args![
            tenant,
            service_code,
            from,
            to,
            lat_min,
            lat_max,
            lon_min,
            lon_max
        ],
    )
    .await
}

/// The fields statistics count, of one event.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct StatsRow {
    /// Category code.
    pub service_code: String,
    /// Responsible department.
    pub department_id: Option<String>,
    /// Grid code.
    pub grid_code: Option<String>,
    /// Latitude.
    pub lat: Option<f64>,
    /// Longitude.
    pub lon: Option<f64>,
    /// `open` or `closed`.
    pub status: String,
    /// When requested (µs).
    pub requested_at: i64,
    /// When closed (µs).
    pub closed_at: Option<i64>,
    /// Deadline (µs).
    pub due_at: Option<i64>,
    /// Rating 1..5.
    pub rating: Option<i64>,
}

/// Unmerged events of a tenant requested before `before` (µs), oldest first.
pub(crate) async fn stats_rows(
    mut ex: impl Executor,
    tenant: &str,
    before: i64,
) -> Result<Vec<StatsRow>> {
    ex.fetch_all_as(
        "SELECT service_code, department_id, grid_code, lat, lon, status, requested_at, \
         closed_at, due_at, rating FROM gov_events \
         WHERE tenant = $1 AND merged_into IS NULL AND requested_at < $2 ORDER BY requested_at",
        args![tenant, before],
    )
    .await
}

/// `(external_id, updated_at)` of every event a source imported into a tenant.
pub(crate) async fn imported_versions(
    mut ex: impl Executor,
    tenant: &str,
    source: &str,
) -> Result<Vec<(String, i64)>> {
    #[derive(Deserialize)]
    struct ImportedRow {
        external_id: String,
        updated_at: i64,
    }
    let rows: Vec<ImportedRow> = ex
        .fetch_all_as(
            "SELECT external_id, updated_at FROM gov_events WHERE tenant = $1 AND source = $2",
            args![tenant, source],
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.external_id, row.updated_at))
        .collect())
}

/// A new state of an imported event.
pub(crate) struct ImportedStatus<'a> {
    /// `open` or `closed`.
    pub status: &'a str,
    /// Status note (the source's resolution text).
    pub status_notes: Option<&'a str>,
    /// Last change in the source (µs).
    pub updated_at: i64,
    /// When closed in the source (µs).
    pub closed_at: Option<i64>,
}

/// Updates the status of the event `external_id` a source imported into a tenant.
pub(crate) async fn update_imported(
    mut ex: impl Executor,
    tenant: &str,
    source: &str,
    external_id: &str,
    change: &ImportedStatus<'_>,
) -> Result<()> {
    ex.execute(
        "UPDATE gov_events SET status = $1, status_notes = $2, updated_at = $3, closed_at = $4 \
         WHERE tenant = $5 AND source = $6 AND external_id = $7",
        args![
            change.status,
            change.status_notes,
            change.updated_at,
            change.closed_at,
            tenant,
            source,
            external_id
        ],
    )
    .await?;
    Ok(())
}

/// Links an event to its work order (flow case).
pub(crate) async fn set_case(mut ex: impl Executor, event_id: Uuid, case_id: Uuid) -> Result<()> {
    ex.execute(
        "UPDATE gov_events SET case_id = $1 WHERE id = $2",
        args![case_id, event_id],
    )
    .await?;
    Ok(())
}

/// The event whose work order is `case_id`, if any.
pub(crate) async fn event_of_case(mut ex: impl Executor, case_id: Uuid) -> Result<Option<Uuid>> {
    let row = ex
        .fetch_optional(
            "SELECT id FROM gov_events WHERE case_id = $1",
            args![case_id],
        )
        .await?;
    row.map(|r| r.uuid("id")).transpose()
}

/// Closes an event at `at` (µs).
pub(crate) async fn close(mut ex: impl Executor, event_id: Uuid, at: i64) -> Result<()> {
    ex.execute(
        "UPDATE gov_events SET status = 'closed', closed_at = $1, updated_at = $1 WHERE id = $2",
        args![at, event_id],
    )
    .await?;
    Ok(())
}

/// Reopens an event at `at` (µs).
pub(crate) async fn reopen(mut ex: impl Executor, event_id: Uuid, at: i64) -> Result<()> {
    ex.execute(
        "UPDATE gov_events SET status = 'open', closed_at = NULL, updated_at = $1 WHERE id = $2",
        args![at, event_id],
    )
    .await?;
    Ok(())
}

/// Records a change of an event at `at` (µs) without changing anything else.
pub(crate) async fn touch(mut ex: impl Executor, event_id: Uuid, at: i64) -> Result<()> {
    ex.execute(
        "UPDATE gov_events SET updated_at = $1 WHERE id = $2",
        args![at, event_id],
    )
    .await?;
    Ok(())
}

/// Sets the responsible department of an event (nothing else).
pub(crate) async fn set_department(
    mut ex: impl Executor,
    event_id: Uuid,
    department_id: Uuid,
) -> Result<()> {
    ex.execute(
        "UPDATE gov_events SET department_id = $1 WHERE id = $2",
        args![department_id, event_id],
    )
    .await?;
    Ok(())
}

/// Closes `event_id` as merged into `into_id` at `at` (µs), with `note` as its status note.
pub(crate) async fn merge(
    mut ex: impl Executor,
    event_id: Uuid,
    into_id: Uuid,
    note: &str,
    at: i64,
) -> Result<()> {
    ex.execute(
        "UPDATE gov_events SET merged_into = $1, status = 'closed', status_notes = $2, \
         closed_at = $3, updated_at = $3 WHERE id = $4",
        args![into_id, note, at, event_id],
    )
    .await?;
    Ok(())
}

/// Re-dispatches an event: responsible department, co-operating departments (JSON array
/// text) and agency name, changed at `at` (µs).
pub(crate) async fn dispatch(
    mut ex: impl Executor,
    event_id: Uuid,
    department_id: Uuid,
    co_departments: &str,
    agency: &str,
    at: i64,
) -> Result<()> {
    ex.execute(
        "UPDATE gov_events SET department_id = $1, co_departments = $2, agency = $3, \
         updated_at = $4 WHERE id = $5",
        args![department_id, co_departments, agency, at, event_id],
    )
    .await?;
    Ok(())
}

/// Moves the deadline of an event from `old_due` to `new_due` (µs) at `at`, only if it is
/// still `old_due`.
pub(crate) async fn extend(
    mut ex: impl Executor,
    event_id: Uuid,
    old_due: i64,
    new_due: i64,
    at: i64,
) -> Result<()> {
    ex.execute(
        "UPDATE gov_events SET due_at = $1, updated_at = $2 WHERE id = $3 AND due_at = $4",
        args![new_due, at, event_id, old_due],
    )
    .await?;
    Ok(())
}

/// Stores the rating (1..5) and its comment.
pub(crate) async fn rate(
    mut ex: impl Executor,
    event_id: Uuid,
    score: i64,
    comment: Option<&str>,
) -> Result<()> {
    ex.execute(
        "UPDATE gov_events SET rating = $1, rating_comment = $2 WHERE id = $3",
        args![score, comment, event_id],
    )
    .await?;
    Ok(())
}

// ------------------------------------------------------------------------ event log

/// One entry of an event's history.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct LogRow {
    /// Position, from 1.
    pub seq: i64,
    /// When (µs).
    pub at: i64,
    /// Audit actor.
    pub actor: String,
    /// What happened (`create`, `dispatch`, `work_order.closed`, …).
    pub kind: String,
    /// Detail as JSON text.
    pub detail: Option<String>,
}

/// Appends to an event's history (next `seq`).
pub(crate) async fn append_log(
    mut ex: impl Executor,
    event_id: Uuid,
    at: i64,
    actor: &str,
    kind: &str,
    detail: Option<String>,
) -> Result<()> {
    ex.execute(
        "INSERT INTO gov_event_log (event_id, seq, at, actor, kind, detail) \
         VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM gov_event_log WHERE event_id = $1), \
         $2, $3, $4, $5)",
        args![event_id, at, actor, kind, detail],
    )
    .await?;
    Ok(())
}

/// The history of an event, oldest first.
pub(crate) async fn log_entries(mut ex: impl Executor, event_id: Uuid) -> Result<Vec<LogRow>> {
    ex.fetch_all_as(
        "SELECT seq, at, actor, kind, detail FROM gov_event_log WHERE event_id = $1 ORDER BY seq",
        args![event_id],
    )
    .await
}
