//! The workflow engine, by capability: versioned definitions ([`definitions`]), working-day
//! calendars ([`calendars`]), flow roles ([`roles`]), reading, creating, claiming and
//! transferring cases ([`cases`]), and the transition core shared by API actions and the
//! scheduler ([`transition`]). Every SQL statement lives in [`crate::store`].
//!
//! This module holds the [`Flow`] service itself, its caches, the acting [`Actor`] and
//! small helpers the capability files share.

mod calendars;
mod cases;
mod definitions;
mod roles;
mod transition;

pub(crate) use crate::store::CaseRow;
pub(crate) use transition::{insert_state_timers, start_clock};

use crate::calendar::WorkCalendar;
use crate::definition::FlowDefinition;
use chrono::{DateTime, Utc};
use onecity_core::{time, Error, Result};
use onecity_iam::{Iam, Permission, Principal};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};
use uuid::Uuid;

/// Calendars by tenant or `tenant/jurisdiction`, with the time they were loaded.
type CalendarCache = HashMap<String, (std::time::Instant, Arc<WorkCalendar>)>;

/// Loaded definitions by (tenant, key, version).
type DefinitionCache = HashMap<(String, String, i64), Arc<FlowDefinition>>;

/// Workflow service; cheap to clone.
#[derive(Clone)]
pub struct Flow {
    pub(crate) iam: Iam,
    defs: Arc<RwLock<DefinitionCache>>,
    calendars: Arc<RwLock<CalendarCache>>,
    default_calendar: Arc<WorkCalendar>,
    clock: Arc<dyn Fn() -> i64 + Send + Sync>,
    actors: Arc<std::sync::Mutex<RoleCache>>,
}

/// Flow roles by (tenant, principal), cached for [`ROLE_CACHE_TTL`].
type RoleCache = HashMap<(String, Uuid), (std::time::Instant, Arc<Vec<(String, Option<Uuid>)>>)>;

/// How long a calendar is cached per node: a calendar set through another replica takes
/// effect here within this time.
pub const CALENDAR_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(60);

/// How long a principal's flow roles are cached per node: a grant made on another replica
/// takes effect within this time (on this node at once).
pub const ROLE_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(30);

impl axum::extract::FromRef<Flow> for Iam {
    fn from_ref(f: &Flow) -> Iam {
        f.iam.clone()
    }
}

/// A stored definition version.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DefinitionInfo {
    /// Flow key.
    pub key: String,
    /// Version (from 1).
    pub version: i64,
    /// Module.
    pub module: String,
    /// Display name.
    pub name: String,
    /// Display name in Chinese, when the definition has one.
    pub name_zh: Option<String>,
    /// When stored (RFC 3339).
    pub created_at: String,
}

/// The outcome of checking a definition without storing it (`?validate_only=true`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DefinitionValidation {
    /// True when a save would be accepted.
    pub valid: bool,
    /// The flow key (when valid).
    pub key: Option<String>,
    /// The version a save would create now (when valid).
    pub next_version: Option<i64>,
    /// Every problem as an English sentence (as a refused save's `errors`).
    pub errors: Vec<String>,
    /// Every problem with its code and what it names (as a refused save's `problems`).
    pub problems: Vec<crate::definition::DefinitionProblem>,
}

/// What [`Flow::ensure_in_tenant`] checks for.
#[derive(Clone, Copy)]
enum Member {
    User,
    Department,
}

/// Who acts: a principal with its flow roles in the tenant, or the scheduler.
#[derive(Debug, Clone)]
pub(crate) struct Actor {
    pub id: Option<Uuid>,
    pub actor: String,
    /// (role, department it is limited to)
    pub roles: Vec<(String, Option<Uuid>)>,
}

impl Actor {
    pub(crate) fn system() -> Actor {
        Actor {
            id: None,
            actor: "system".into(),
            roles: vec![("SYSTEM".into(), None)],
        }
    }

    /// The roles this actor holds for `case` (department-limited grants count for cases
    /// queued at that department or at none; pseudo-roles by relation to the case).
    pub(crate) fn roles_for(&self, case: &CaseRow) -> HashSet<String> {
        let mut r: HashSet<String> = self
            .roles
            .iter()
            .filter(|(_, d)| {
                d.is_none() || case.queue_department_id.is_none() || *d == case.queue_department_id
            })
            .filter(|(role, _)| match &case.queue_role {
                Some(q) => role == q || role == "SYSTEM",
                None => true,
            })
            .map(|(role, _)| role.clone())
            .collect();
        if let Some(id) = self.id {
            if id == case.applicant_id {
                r.insert("APPLICANT".into());
            }
            if Some(id) == case.assignee_id {
                r.insert("ASSIGNEE".into());
            }
        }
        r
    }
}

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn dt(m: i64) -> DateTime<Utc> {
    time::to_datetime(m)
}

fn uuid_field(fields: &Map<String, Value>, name: &str) -> Result<Option<Uuid>> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Uuid::parse_str(s)
            .map(Some)
            .map_err(|_| Error::invalid(format!("fields.{name} must be a UUID"))),
        Some(_) => Err(Error::invalid(format!(
            "fields.{name} must be a UUID string"
        ))),
    }
}

fn non_empty(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.trim().is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
        Some(_) => true,
    }
}

impl Flow {
    /// The service over a migrated store; cases use the China mainland calendar unless a
    /// tenant uploads its own.
    pub fn new(iam: Iam) -> Flow {
        Flow {
            iam,
            defs: Arc::new(RwLock::new(HashMap::new())),
            calendars: Arc::new(RwLock::new(HashMap::new())),
            default_calendar: Arc::new(WorkCalendar::china_mainland()),
            clock: Arc::new(time::now_micros),
            actors: Arc::default(),
        }
    }

    /// Replaces the clock (µs since the epoch) the engine reads "now" from — for tests and
    /// simulations; the scheduler takes its `now` as a parameter.
    pub fn with_clock(mut self, clock: Arc<dyn Fn() -> i64 + Send + Sync>) -> Flow {
        self.clock = clock;
        self
    }

    /// "Now" on the engine's clock, µs since the epoch.
    pub fn now(&self) -> i64 {
        (self.clock)()
    }

    /// Errors with `forbidden` unless `p` holds `flow:admin` over the whole tenant.
    async fn require_admin(&self, p: &Principal, tenant: &str) -> Result<()> {
        let t = self.iam.tenant(p, tenant).await?;
        let root = self
            .iam
            .jurisdiction_unchecked(tenant, t.root_jurisdiction_id)
            .await?;
        if !p.can_at(Permission::FlowAdmin, tenant, &root.path) {
            return Err(Error::forbidden("this needs flow:admin over the tenant"));
        }
        Ok(())
    }

    /// Errors with `invalid_input` naming `field` unless `id` (when given) is a user or
    /// department of `tenant`.
    async fn ensure_in_tenant(
        &self,
        what: Member,
        tenant: &str,
        id: Option<Uuid>,
        field: &str,
    ) -> Result<()> {
        let Some(id) = id else { return Ok(()) };
        let (found, noun) = match what {
            Member::User => (self.iam.is_principal_of(tenant, id).await?, "user"),
            Member::Department => (self.iam.is_department_of(tenant, id).await?, "department"),
        };
        if found {
            Ok(())
        } else {
            Err(Error::invalid(format!(
                "{field} does not name a {noun} of this tenant"
            )))
        }
    }
}
