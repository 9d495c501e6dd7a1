//! Request and response shapes of the governance API.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

/// Per-tenant governance settings (all optional in a PUT; defaults shown).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// IANA zone times are shown in (default: the zone of the tenant's working-day calendar).
    pub time_zone: Option<String>,
    /// Duplicate suggestion radius in metres (default 50).
    pub duplicate_radius_m: f64,
    /// Duplicate suggestion window in hours (default 24).
    pub duplicate_window_hours: f64,
    /// A point closer than this to an area border (metres) is flagged (default 100).
    pub border_distance_m: f64,
    /// Largest attachment in bytes (default 10 MiB).
    pub max_attachment_bytes: i64,
    /// Accepted attachment media types (default JPEG, PNG, WebP, PDF).
    pub attachment_types: Vec<String>,
    /// At most this many attachments per event (default 5).
    pub max_attachments: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            time_zone: None,
            duplicate_radius_m: 50.0,
            duplicate_window_hours: 24.0,
            border_distance_m: 100.0,
            max_attachment_bytes: 10 * 1024 * 1024,
            attachment_types: vec![
                "image/jpeg".into(),
                "image/png".into(),
                "image/webp".into(),
                "application/pdf".into(),
            ],
            max_attachments: 5,
        }
    }
}

/// One value of a list attribute.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttributeValue {
    /// Key sent by clients.
    pub key: String,
    /// Display name.
    pub name: String,
}

/// An Open311 service-definition attribute (GeoReport v2 `GET services/{code}`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Attribute {
    /// Attribute code (`attribute[code]=` in POSTs).
    pub code: String,
    /// `string`, `number`, `datetime`, `text`, `singlevaluelist` or `multivaluelist`.
    pub datatype: String,
    /// Must be answered.
    #[serde(default)]
    pub required: bool,
    /// `true` unless the attribute is only informational.
    #[serde(default = "yes")]
    pub variable: bool,
    /// Question shown to the citizen.
    pub description: String,
    /// Order of display (from 1).
    #[serde(default)]
    pub order: i64,
    /// Help about the expected value.
    #[serde(default)]
    pub datatype_description: Option<String>,
    /// Allowed values of list attributes.
    #[serde(default)]
    pub values: Vec<AttributeValue>,
}

fn yes() -> bool {
    true
}

/// An event category (Open311 service).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceDef {
    /// Code (`service_code`), 1..64 characters of letters, digits, `-`, `_`, `.`.
    pub code: String,
    /// Name.
    pub name: String,
    /// Chinese name.
    #[serde(default)]
    pub name_zh: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Comma-separated keywords.
    #[serde(default)]
    pub keywords: Option<String>,
    /// Group (e.g. the agency).
    #[serde(default)]
    pub group: Option<String>,
    /// `realtime`, `batch` or `blackbox` (GeoReport v2 `type`; default `realtime`).
    #[serde(default)]
    pub kind: Option<String>,
    /// Deadline of a work order of this category in working days (0 = the same working
    /// day, e.g. emergencies; 3 for help requests; 13 for complaints). `null`: the flow's.
    #[serde(default)]
    pub deadline_working_days: Option<u32>,
    /// Service-definition attributes (`metadata` is true when there are any).
    #[serde(default)]
    pub attributes: Vec<Attribute>,
}

/// An attachment reference (the file lives in a file store; limits per [`Settings`]).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachmentRef {
    /// File name.
    pub name: String,
    /// Media type, e.g. `image/jpeg`.
    pub media_type: String,
    /// Size in bytes.
    pub size_bytes: i64,
    /// Where the file is.
    pub url: String,
}

/// Reporter contact details (never shown by Open311 GETs).
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// E-mail.
    #[serde(default)]
    pub email: Option<String>,
    /// First name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// Phone.
    #[serde(default)]
    pub phone: Option<String>,
    /// Device id.
    #[serde(default)]
    pub device_id: Option<String>,
    /// Account id.
    #[serde(default)]
    pub account_id: Option<String>,
}

/// A new event (staff entry; Open311 POSTs and imports are mapped onto it).
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEvent {
    /// Category code.
    pub service_code: String,
    /// What happened (up to 4,000 characters).
    #[serde(default)]
    pub description: Option<String>,
    /// Latitude (WGS-84 degrees).
    #[serde(default)]
    pub lat: Option<f64>,
    /// Longitude (WGS-84 degrees).
    #[serde(default)]
    pub long: Option<f64>,
    /// Address text.
    #[serde(default)]
    pub address_string: Option<String>,
    /// Address id.
    #[serde(default)]
    pub address_id: Option<String>,
    /// ZIP / postcode.
    #[serde(default)]
    pub zipcode: Option<String>,
    /// Photo URL.
    #[serde(default)]
    pub media_url: Option<String>,
    /// Attribute answers: code → string, or array of strings for `multivaluelist`.
    #[serde(default)]
    pub attributes: Map<String, Value>,
    /// Attachments.
    #[serde(default)]
    pub attachments: Vec<AttachmentRef>,
    /// Contact details.
    #[serde(default)]
    pub contact: Contact,
    /// `staff`, `open311`, `inspector`, `hotline`, `import`, `twin` (default `staff`).
    #[serde(default)]
    pub source: Option<String>,
    /// When the report was received (RFC 3339), for reports entered after the fact (a
    /// hotline call typed in later); not in the future; default now. Deadlines and the
    /// duplicate window count from it. Not accepted through Open311.
    #[serde(default)]
    pub requested_at: Option<String>,
}

/// Where an event is.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Placement {
    /// Deepest jurisdiction containing the point.
    pub jurisdiction_id: Option<Uuid>,
    /// Its code.
    pub jurisdiction_code: Option<String>,
    /// Its name.
    pub jurisdiction_name: Option<String>,
    /// Community (社区) containing the point, when the tree has that level.
    pub community_code: Option<String>,
    /// Grid (网格) containing the point.
    pub grid_code: Option<String>,
    /// Within the border distance of another area: the dispatcher should check.
    pub near_border: bool,
}

/// An event as the governance API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EventView {
    /// Id.
    pub id: Uuid,
    /// Open311 `service_request_id` (the source's key for imports).
    pub service_request_id: String,
    /// Category.
    pub service_code: String,
    /// Description.
    pub description: Option<String>,
    /// `open` or `closed`.
    pub status: String,
    /// Source.
    pub source: String,
    /// Latitude.
    pub lat: Option<f64>,
    /// Longitude.
    pub long: Option<f64>,
    /// Address.
    pub address: Option<String>,
    /// ZIP.
    pub zipcode: Option<String>,
    /// Place.
    pub placement: Placement,
    /// Attribute answers.
    pub attributes: Value,
    /// Attachments.
    pub attachments: Vec<AttachmentRef>,
    /// Responsible agency name.
    pub agency_responsible: Option<String>,
    /// Responsible department.
    pub department_id: Option<Uuid>,
    /// Co-handling departments.
    pub co_departments: Vec<Uuid>,
    /// Work order (flow case).
    pub case_id: Option<Uuid>,
    /// Suggested duplicate of (an earlier open event).
    pub duplicate_of: Option<Uuid>,
    /// Merged into.
    pub merged_into: Option<Uuid>,
    /// Requested (RFC 3339 UTC).
    pub requested_at: String,
    /// Requested in the jurisdiction's zone.
    pub requested_local: String,
    /// Updated (RFC 3339 UTC).
    pub updated_at: String,
    /// Updated in the jurisdiction's zone.
    pub updated_local: String,
    /// Deadline (RFC 3339 UTC).
    pub due_at: Option<String>,
    /// Closed (RFC 3339 UTC).
    pub closed_at: Option<String>,
    /// Rating 1..5.
    pub rating: Option<i64>,
    /// Zone of the `_local` times.
    pub time_zone: String,
}

/// What creating an event did.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Created {
    /// The event.
    pub event: EventView,
    /// Earlier open events of the same category nearby (duplicate suggestions).
    pub duplicates: Vec<Uuid>,
    /// Open311 token.
    pub token: String,
}

/// A dispatch rule: category and area → responsible department.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRule {
    /// Category (`null` = any).
    #[serde(default)]
    pub service_code: Option<String>,
    /// Area: the rule holds in this jurisdiction's subtree (`null` = the whole tenant).
    #[serde(default)]
    pub jurisdiction_id: Option<Uuid>,
    /// Responsible department.
    pub department_id: Uuid,
    /// Co-handling departments (协办).
    #[serde(default)]
    pub co_departments: Vec<Uuid>,
    /// Preference where rules overlap: higher wins among equally specific rules.
    #[serde(default)]
    pub priority: i64,
}

/// A stored dispatch rule.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Rule {
    /// Id.
    pub id: Uuid,
    /// The rule.
    #[serde(flatten)]
    pub rule: NewRule,
}

/// The dispatch decision for an event.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Decision {
    /// Chosen department.
    pub department_id: Option<Uuid>,
    /// Co-handling departments.
    pub co_departments: Vec<Uuid>,
    /// Rule that decided.
    pub rule_id: Option<Uuid>,
    /// Every matching rule, best first.
    pub candidates: Vec<Uuid>,
    /// The point is near a border: check by hand.
    pub near_border: bool,
}

/// Manual (re-)dispatch of an event, e.g. after a return (退单).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DispatchRequest {
    /// New responsible department.
    pub department_id: Uuid,
    /// Co-handling departments.
    #[serde(default)]
    pub co_departments: Vec<Uuid>,
    /// Why (required).
    pub reason: String,
}

/// Asking for more time on an event's deadline (延期申请), before it expires.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtensionRequest {
    /// Working days to add to the current deadline, 1..30.
    pub working_days: u32,
    /// Why (required).
    pub reason: String,
}

/// Merging an event into another.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// The event this one duplicates (it stays open).
    pub into: Uuid,
}

/// Rating a closed event.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RatingRequest {
    /// 1 (very unsatisfied) .. 5 (very satisfied).
    pub score: i64,
    /// Comment.
    #[serde(default)]
    pub comment: Option<String>,
}

/// A task of a linkage plan.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanTask {
    /// Department code (as in the organisation).
    pub department_code: String,
    /// What to do.
    pub title: String,
    /// Deadline in hours after the alert.
    pub deadline_hours: u32,
}

/// A linkage plan (预案): alert type + level → tasks.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Alert type, e.g. `flood`.
    pub alert_type: String,
    /// `blue` (IV), `yellow` (III), `orange` (II) or `red` (I).
    pub level: String,
    /// Name.
    pub name: String,
    /// Tasks.
    pub tasks: Vec<PlanTask>,
}

/// A rule that turns twin changes into alerts.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertRule {
    /// Entity type, e.g. `WaterObserved`.
    pub entity_type: String,
    /// Numeric attribute, e.g. `waterLevel`.
    pub attribute: String,
    /// Alert type raised, e.g. `flood`.
    pub alert_type: String,
    /// Level thresholds: a value at or above `red` raises red, etc. (any subset).
    pub thresholds: Map<String, Value>,
}

/// An alert.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AlertView {
    /// Id (the CAP `identifier`).
    pub id: Uuid,
    /// `twin`, `cap` or `staff`.
    pub source: String,
    /// Type.
    pub alert_type: String,
    /// Level colour.
    pub level: String,
    /// Response level `I`..`IV`.
    pub response_level: String,
    /// Headline.
    pub headline: String,
    /// Description.
    pub description: Option<String>,
    /// Area description.
    pub area_desc: String,
    /// Polygons: rings of `[lat, lon]` pairs (CAP order, closed).
    pub polygons: Vec<Vec<[f64; 2]>>,
    /// Circles: `[lat, lon, radius_km]`.
    pub circles: Vec<[f64; 3]>,
    /// Sent (RFC 3339).
    pub sent_at: String,
    /// Work orders opened by the plan.
    pub work_orders: Vec<Uuid>,
}

/// Statistics filter.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// From (RFC 3339, inclusive).
    pub from: Option<String>,
    /// To (RFC 3339, exclusive).
    pub to: Option<String>,
    /// Repeat radius in metres (default 100).
    pub repeat_radius_m: Option<f64>,
    /// Repeat window in days (default 30).
    pub repeat_window_days: Option<f64>,
}

/// One group of the statistics.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StatRow {
    /// Group key (category code, department id, grid code, or month `YYYY-MM`).
    pub key: String,
    /// Events.
    pub events: i64,
    /// Closed events.
    pub closed: i64,
    /// Share of closed events with a deadline closed by it (null without such events).
    pub on_time_rate: Option<f64>,
    /// Mean rating 1..5 (null without ratings).
    pub satisfaction: Option<f64>,
    /// Share of events with an earlier one of the same category within the repeat radius
    /// and window.
    pub repeat_rate: f64,
}

/// Statistics by category, department, grid and month; hot spots.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Stats {
    /// All events in the period.
    pub total: StatRow,
    /// By category.
    pub by_category: Vec<StatRow>,
    /// By department.
    pub by_department: Vec<StatRow>,
    /// By grid.
    pub by_grid: Vec<StatRow>,
    /// By month of the request (jurisdiction zone).
    pub by_month: Vec<StatRow>,
    /// Grids ranked by events in the period (most first, at most 20).
    pub hot_spots: Vec<StatRow>,
}
