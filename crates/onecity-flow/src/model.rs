//! Request and response shapes of the workflow API.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

/// An attachment reference (the file itself lives in the file store).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Attachment {
    /// File name.
    pub name: String,
    /// Where the file is (URL or file-store id).
    pub url: String,
    /// Media type, e.g. `image/jpeg`.
    #[serde(default)]
    pub media_type: Option<String>,
}

/// Taking an action on a case.
///
/// Reserved fields: `assignee` (a principal id: the case is assigned to them) and
/// `department` (a department id: the case goes to that department's queue).
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionRequest {
    /// Action key, e.g. `ASSIGN`.
    pub action: String,
    /// Comment written to the history.
    #[serde(default)]
    pub comment: Option<String>,
    /// Fields; required ones per the definition must be present and non-empty. Merged into
    /// the case's data.
    #[serde(default)]
    pub fields: Map<String, Value>,
    /// Attachments written to the history.
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    /// Optimistic concurrency: the case `version` the caller saw; 409 when it changed.
    #[serde(default)]
    pub expected_version: Option<i64>,
}

/// Creating a case.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCase {
    /// Flow key; the latest version is used.
    pub flow: String,
    /// Title shown in inboxes.
    pub title: String,
    /// Initial data (a JSON object).
    #[serde(default)]
    pub data: Option<Map<String, Value>>,
    /// Jurisdiction the case belongs to.
    #[serde(default)]
    pub jurisdiction_id: Option<Uuid>,
    /// Department queue to start in.
    #[serde(default)]
    pub department_id: Option<Uuid>,
    /// An action to take at once (e.g. `APPLY`), in the same transaction.
    #[serde(default)]
    pub action: Option<ActionRequest>,
}

/// Transferring a case to another person or department queue (with a reason).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    /// New assignee.
    #[serde(default)]
    pub assignee_id: Option<Uuid>,
    /// New department queue (clears the assignee unless one is given).
    #[serde(default)]
    pub department_id: Option<Uuid>,
    /// Why (required).
    pub reason: String,
    /// Optimistic concurrency, as for actions.
    #[serde(default)]
    pub expected_version: Option<i64>,
}

/// A case as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CaseView {
    /// Case id.
    pub id: Uuid,
    /// Tenant code.
    pub tenant: String,
    /// Flow key.
    pub flow: String,
    /// Definition version the case runs on.
    pub flow_version: i64,
    /// Owning module.
    pub module: String,
    /// Title.
    pub title: String,
    /// Current state key.
    pub state: String,
    /// Current state's display name.
    pub state_name: Option<String>,
    /// Data (JSON object).
    pub data: Value,
    /// Who created it.
    pub applicant_id: Uuid,
    /// Current assignee.
    pub assignee_id: Option<Uuid>,
    /// Department queue.
    pub queue_department_id: Option<Uuid>,
    /// Role queue (after an escalation).
    pub queue_role: Option<String>,
    /// Jurisdiction.
    pub jurisdiction_id: Option<Uuid>,
    /// Version for optimistic concurrency.
    pub version: i64,
    /// Created (RFC 3339).
    pub created_at: String,
    /// Entered the current state (RFC 3339).
    pub state_entered_at: String,
    /// The current state's deadline (RFC 3339), when its clock runs.
    pub state_due_at: Option<String>,
    /// The case's overall deadline (RFC 3339).
    pub case_due_at: Option<String>,
    /// Past the state's or the case's deadline now.
    pub overdue: bool,
    /// A breach was recorded.
    pub breached: bool,
    /// Escalation steps taken in the current state.
    pub escalation_level: i64,
    /// Closed (RFC 3339), in a terminal state.
    pub closed_at: Option<String>,
    /// Actions the caller may take now.
    pub allowed_actions: Vec<String>,
}

/// One entry of a case's history.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HistoryEntry {
    /// Position, from 1.
    pub seq: i64,
    /// When (RFC 3339).
    pub at: String,
    /// Who (`user:<id>`, `system`).
    pub actor: String,
    /// Action key, or `CREATE`, `CLAIM`, `TRANSFER`, `ESCALATE_REASSIGN`.
    pub action: String,
    /// State before.
    pub from_state: Option<String>,
    /// State after.
    pub to_state: String,
    /// Comment.
    pub comment: Option<String>,
    /// Attachments.
    pub attachments: Vec<Attachment>,
    /// Assignee after.
    pub assignee_id: Option<Uuid>,
    /// Department queue after.
    pub department_id: Option<Uuid>,
}

/// A case with its history.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CaseDetail {
    /// The case.
    pub case: CaseView,
    /// Every transition, oldest first.
    pub history: Vec<HistoryEntry>,
}

/// Counts of an inbox.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InboxCounts {
    /// Items waiting for the user (all pages).
    pub total: u64,
    /// Of which overdue.
    pub overdue: u64,
    /// Of which due within 24 hours.
    pub due_soon: u64,
}

/// The to-do inbox (一体办公): cases waiting for the user or their queues.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Inbox {
    /// This page, soonest due first.
    pub items: Vec<CaseView>,
    /// Cursor of the next page.
    pub next_cursor: Option<String>,
    /// Counts over every page.
    pub counts: InboxCounts,
}

/// Per-flow figures other modules and goals read.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FlowMetrics {
    /// Flow key.
    pub flow: String,
    /// Open and closed cases by current state.
    pub cases_by_state: std::collections::BTreeMap<String, i64>,
    /// Closed cases with a case deadline.
    pub closed_with_deadline: i64,
    /// Of which closed by the deadline.
    pub closed_on_time: i64,
    /// `closed_on_time / closed_with_deadline`, or null.
    pub on_time_rate: Option<f64>,
    /// Mean seconds spent in each state (left states only).
    pub mean_seconds_in_state: std::collections::BTreeMap<String, f64>,
    /// SLA breaches by the department queue the case was in (`none` when unqueued).
    pub breaches_by_department: std::collections::BTreeMap<String, i64>,
}

/// What one SLA scanner pass did.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ScanReport {
    /// Timers fired.
    pub fired: u64,
    /// Warnings sent.
    pub warnings: u64,
    /// Breaches recorded.
    pub breaches: u64,
    /// Escalation steps run.
    pub escalations: u64,
}

/// An in-app notification.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Notification {
    /// Id.
    pub id: Uuid,
    /// Case.
    pub case_id: Uuid,
    /// `sla_warning`, `sla_breached`, `escalation`, `assigned`.
    pub kind: String,
    /// Text.
    pub message: String,
    /// When (RFC 3339).
    pub created_at: String,
    /// Read?
    pub read: bool,
}
