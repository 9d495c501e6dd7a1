//! The workflow engine: definitions, cases, transitions, claims, transfers.

use crate::calendar::WorkCalendar;
use crate::definition::{ActionDef, ClockStart, FlowDefinition, StateDef};
use crate::model::*;
use crate::sla::{deadline, warn_time};
use chrono::{DateTime, Utc};
use onecity_core::events::{EventEnvelope, PlatformEvent};
use onecity_core::{time, Error, ErrorCode, Result};
use onecity_iam::{Iam, Permission, Principal};
use onecity_store::audit::AuditEntry;
use onecity_store::{args, Row, Tx, Val};
use serde::Serialize;
use serde_json::{json, Map, Value};
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
    /// When stored (RFC 3339).
    pub created_at: String,
}

/// A case row as stored.
#[derive(Debug, Clone)]
pub(crate) struct CaseRow {
    pub id: Uuid,
    pub tenant: String,
    pub flow_key: String,
    pub flow_version: i64,
    pub module: String,
    pub title: String,
    pub state: String,
    pub data: Map<String, Value>,
    pub applicant_id: Uuid,
    pub assignee_id: Option<Uuid>,
    pub queue_department_id: Option<Uuid>,
    pub queue_role: Option<String>,
    pub jurisdiction_id: Option<Uuid>,
    pub row_version: i64,
    pub created_at: i64,
    pub state_entered_at: i64,
    pub clock_started_at: Option<i64>,
    pub state_due_at: Option<i64>,
    pub state_warn_at: Option<i64>,
    pub case_due_at: Option<i64>,
    pub escalation_level: i64,
    pub breached: bool,
    pub closed_at: Option<i64>,
}

impl CaseRow {
    pub(crate) fn from_row(r: &Row) -> Result<CaseRow> {
        let data: Value = serde_json::from_str(&r.text("data")?).map_err(Error::internal)?;
        Ok(CaseRow {
            id: r.uuid("id")?,
            tenant: r.text("tenant")?,
            flow_key: r.text("flow_key")?,
            flow_version: r.i64("flow_version")?,
            module: r.text("module")?,
            title: r.text("title")?,
            state: r.text("state")?,
            data: data.as_object().cloned().unwrap_or_default(),
            applicant_id: r.uuid("applicant_id")?,
            assignee_id: r.opt_uuid("assignee_id")?,
            queue_department_id: r.opt_uuid("queue_department_id")?,
            queue_role: r.opt_text("queue_role")?,
            jurisdiction_id: r.opt_uuid("jurisdiction_id")?,
            row_version: r.i64("row_version")?,
            created_at: r.i64("created_at")?,
            state_entered_at: r.i64("state_entered_at")?,
            clock_started_at: r.opt_i64("clock_started_at")?,
            state_due_at: r.opt_i64("state_due_at")?,
            state_warn_at: r.opt_i64("state_warn_at")?,
            case_due_at: r.opt_i64("case_due_at")?,
            escalation_level: r.i64("escalation_level")?,
            breached: r.bool("breached")?,
            closed_at: r.opt_i64("closed_at")?,
        })
    }
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

    // ---------------------------------------------------------------- definitions

    /// Stores a new version of a flow definition after validating it.
    ///
    /// Errors: `invalid_input` with `errors` (every problem) for an invalid definition;
    /// `forbidden` without `flow_admin` over the tenant.
    pub async fn put_definition(
        &self,
        p: &Principal,
        tenant: &str,
        json_text: &str,
    ) -> Result<DefinitionInfo> {
        self.require_admin(p, tenant).await?;
        let def = FlowDefinition::parse(json_text).map_err(|errs| {
            Error::invalid(format!("the flow definition has {} problem(s)", errs.len()))
                .with_extra("errors", Value::from(errs))
        })?;
        let mut tx = self.iam.db().begin().await?;
        let v = tx
            .fetch_optional("SELECT COALESCE(MAX(version), 0) AS v FROM flow_definitions WHERE tenant = $1 AND key = $2", args![tenant, def.key.clone()])
            .await?
            .map(|r| r.i64("v"))
            .transpose()?
            .unwrap_or(0)
            + 1;
        let now = self.now();
        let canonical = serde_json::to_string(&def).map_err(Error::internal)?;
        tx.execute(
            "INSERT INTO flow_definitions (tenant, key, version, module, definition, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            args![tenant, def.key.clone(), v, def.module.clone(), canonical, p.actor(), now],
        )
        .await?;
        let after = serde_json::to_value(&def).map_err(Error::internal)?;
        self.iam
            .record(
                &mut tx,
                &AuditEntry {
                    tenant,
                    actor: &p.actor(),
                    action: "flow.define",
                    resource_type: "flow",
                    resource_id: &format!("{}@{v}", def.key),
                    after: Some(&after),
                    ..Default::default()
                },
                None,
            )
            .await?;
        tx.commit().await?;
        let info = DefinitionInfo {
            key: def.key.clone(),
            version: v,
            module: def.module.clone(),
            name: def.name.clone(),
            created_at: time::rfc3339(now),
        };
        self.defs
            .write()
            .expect("defs lock")
            .insert((tenant.to_string(), def.key.clone(), v), Arc::new(def));
        Ok(info)
    }

    /// Installs the shipped definitions into a tenant (those whose key it lacks).
    pub async fn install_shipped(&self, tenant: &str) -> Result<usize> {
        let mut n = 0;
        for (key, json) in crate::definition::shipped() {
            if self.latest_version(tenant, key).await?.is_none() {
                self.put_definition(&Principal::system(), tenant, json)
                    .await?;
                n += 1;
            }
        }
        Ok(n)
    }

    async fn latest_version(&self, tenant: &str, key: &str) -> Result<Option<i64>> {
        self.iam
            .db()
            .fetch_optional(
                "SELECT MAX(version) AS v FROM flow_definitions WHERE tenant = $1 AND key = $2",
                args![tenant, key],
            )
            .await?
            .map(|r| r.opt_i64("v"))
            .transpose()
            .map(Option::flatten)
    }

    /// A definition version (latest when `version` is `None`).
    pub async fn definition(
        &self,
        tenant: &str,
        key: &str,
        version: Option<i64>,
    ) -> Result<(i64, Arc<FlowDefinition>)> {
        let v = match version {
            Some(v) => v,
            None => self
                .latest_version(tenant, key)
                .await?
                .ok_or_else(|| Error::not_found(format!("no flow {key:?} in this tenant")))?,
        };
        if let Some(d) =
            self.defs
                .read()
                .expect("defs lock")
                .get(&(tenant.to_string(), key.to_string(), v))
        {
            return Ok((v, d.clone()));
        }
        let r = self
            .iam
            .db()
            .fetch_optional("SELECT definition FROM flow_definitions WHERE tenant = $1 AND key = $2 AND version = $3", args![tenant, key, v])
            .await?
            .ok_or_else(|| Error::not_found(format!("no flow {key:?} version {v}")))?;
        let def: FlowDefinition =
            serde_json::from_str(&r.text("definition")?).map_err(Error::internal)?;
        let def = Arc::new(def);
        self.defs
            .write()
            .expect("defs lock")
            .insert((tenant.to_string(), key.to_string(), v), def.clone());
        Ok((v, def))
    }

    /// Every definition version of a tenant.
    pub async fn list_definitions(
        &self,
        p: &Principal,
        tenant: &str,
    ) -> Result<Vec<DefinitionInfo>> {
        self.iam.tenant(p, tenant).await?;
        self.iam
            .db()
            .fetch_all("SELECT key, version, module, definition, created_at FROM flow_definitions WHERE tenant = $1 ORDER BY key, version", args![tenant])
            .await?
            .iter()
            .map(|r| {
                let d: Value = serde_json::from_str(&r.text("definition")?).map_err(Error::internal)?;
                Ok(DefinitionInfo {
                    key: r.text("key")?,
                    version: r.i64("version")?,
                    module: r.text("module")?,
                    name: d["name"].as_str().unwrap_or_default().to_string(),
                    created_at: time::rfc3339(r.i64("created_at")?),
                })
            })
            .collect()
    }

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

    // ---------------------------------------------------------------- calendars and roles

    /// Sets the working-day calendar of a tenant (`jurisdiction_id` = `None`) or of one
    /// jurisdiction and its subtree. The body is a full calendar (see
    /// [`WorkCalendar::from_json`]) or `{"base": "china_mainland", "regional": {…}}`: the
    /// shipped mainland-China calendar with regional holidays merged
    /// ([`WorkCalendar::with_regional`]).
    ///
    /// Errors: `invalid_input` with `errors` (every problem); `forbidden` without
    /// `flow:admin` there.
    pub async fn put_calendar(
        &self,
        p: &Principal,
        tenant: &str,
        jurisdiction_id: Option<Uuid>,
        json_text: &str,
    ) -> Result<()> {
        let t = self.iam.tenant(p, tenant).await?;
        let j = self
            .iam
            .jurisdiction_unchecked(tenant, jurisdiction_id.unwrap_or(t.root_jurisdiction_id))
            .await?;
        if !p.can_at(Permission::FlowAdmin, tenant, &j.path) {
            return Err(Error::forbidden(
                "setting a calendar needs flow:admin over that jurisdiction",
            ));
        }
        parse_calendar(json_text)?;
        let now = self.now();
        let mut tx = self.iam.db().begin().await?;
        match jurisdiction_id {
            None => {
                tx.execute(
                    "DELETE FROM flow_calendars WHERE tenant = $1",
                    args![tenant],
                )
                .await?;
                tx.execute(
                    "INSERT INTO flow_calendars (tenant, calendar, updated_at) VALUES ($1, $2, $3)",
                    args![tenant, json_text, now],
                )
                .await?;
            }
            Some(jid) => {
                tx.execute(
                    "DELETE FROM flow_jurisdiction_calendars WHERE jurisdiction_id = $1",
                    args![jid],
                )
                .await?;
                tx.execute("INSERT INTO flow_jurisdiction_calendars (jurisdiction_id, tenant, calendar, updated_at) VALUES ($1, $2, $3, $4)", args![jid, tenant, json_text, now]).await?;
            }
        }
        self.iam
            .record(
                &mut tx,
                &AuditEntry {
                    tenant,
                    actor: &p.actor(),
                    action: "flow.calendar",
                    resource_type: "jurisdiction",
                    resource_id: &j.id.to_string(),
                    ..Default::default()
                },
                None,
            )
            .await?;
        tx.commit().await?;
        self.calendars.write().expect("calendar lock").clear();
        Ok(())
    }

    /// The calendar of a case in `jurisdiction_id`: the nearest calendar set on it or an
    /// ancestor, else the tenant's, else mainland China's.
    pub async fn calendar_for(
        &self,
        tenant: &str,
        jurisdiction_id: Option<Uuid>,
    ) -> Result<Arc<WorkCalendar>> {
        let Some(jid) = jurisdiction_id else {
            return self.calendar(tenant).await;
        };
        let key = format!("{tenant}/{jid}");
        if let Some((at, c)) = self.calendars.read().expect("calendar lock").get(&key) {
            if at.elapsed() < CALENDAR_CACHE_TTL {
                return Ok(c.clone());
            }
        }
        let cal = match self.own_calendar_for(tenant, jid).await? {
            Some(c) => c,
            None => self.calendar(tenant).await?,
        };
        self.calendars
            .write()
            .expect("calendar lock")
            .insert(key, (std::time::Instant::now(), cal.clone()));
        Ok(cal)
    }

    /// The calendar set on jurisdiction `jid` or on its nearest ancestor that has one, or
    /// `None` when neither it nor any ancestor has its own calendar (not cached).
    ///
    /// Errors: `not_found` when `jid` is not a jurisdiction of `tenant`.
    pub async fn own_calendar_for(
        &self,
        tenant: &str,
        jid: Uuid,
    ) -> Result<Option<Arc<WorkCalendar>>> {
        let j = self.iam.jurisdiction_unchecked(tenant, jid).await?;
        let own: HashMap<String, String> = self
            .iam
            .db()
            .fetch_all("SELECT jurisdiction_id, calendar FROM flow_jurisdiction_calendars WHERE tenant = $1", args![tenant])
            .await?
            .iter()
            .map(|r| Ok((r.text("jurisdiction_id")?, r.text("calendar")?)))
            .collect::<Result<_>>()?;
        match j.path.rsplit('/').find_map(|id| own.get(id)) {
            Some(text) => Ok(Some(Arc::new(parse_calendar(text)?))),
            None => Ok(None),
        }
    }

    /// The calendar deadlines of `tenant` are counted on.
    pub async fn calendar(&self, tenant: &str) -> Result<Arc<WorkCalendar>> {
        if let Some((at, c)) = self.calendars.read().expect("calendar lock").get(tenant) {
            if at.elapsed() < CALENDAR_CACHE_TTL {
                return Ok(c.clone());
            }
        }
        let cal = match self
            .iam
            .db()
            .fetch_optional(
                "SELECT calendar FROM flow_calendars WHERE tenant = $1",
                args![tenant],
            )
            .await?
        {
            Some(r) => Arc::new(parse_calendar(&r.text("calendar")?)?),
            None => self.default_calendar.clone(),
        };
        self.calendars
            .write()
            .expect("calendar lock")
            .insert(tenant.to_string(), (std::time::Instant::now(), cal.clone()));
        Ok(cal)
    }

    /// Grants a flow role (e.g. `GRO`) to a principal, optionally limited to a department.
    pub async fn grant_role(
        &self,
        p: &Principal,
        tenant: &str,
        principal_id: Uuid,
        role: &str,
        department_id: Option<Uuid>,
    ) -> Result<()> {
        self.require_admin(p, tenant).await?;
        onecity_core::validate::code("role", role)?;
        self.ensure_in_tenant(Member::User, tenant, Some(principal_id), "principal_id")
            .await?;
        self.ensure_in_tenant(Member::Department, tenant, department_id, "department_id")
            .await?;
        let mut tx = self.iam.db().begin().await?;
        tx.execute(
            "INSERT INTO flow_role_grants (tenant, principal_id, role, department_id, created_at) VALUES ($1, $2, $3, $4, $5)",
            args![tenant, principal_id, role, department_id, time::now_micros()],
        )
        .await?;
        let after =
            json!({"principal_id": principal_id, "role": role, "department_id": department_id});
        self.iam
            .record(
                &mut tx,
                &AuditEntry {
                    tenant,
                    actor: &p.actor(),
                    action: "flow.grant_role",
                    resource_type: "principal",
                    resource_id: &principal_id.to_string(),
                    after: Some(&after),
                    ..Default::default()
                },
                None,
            )
            .await?;
        tx.commit().await?;
        self.actors.lock().expect("role cache").clear();
        Ok(())
    }

    pub(crate) async fn actor(&self, p: &Principal, tenant: &str) -> Result<Actor> {
        let key = (tenant.to_string(), p.id);
        let cached = self
            .actors
            .lock()
            .expect("role cache")
            .get(&key)
            .filter(|(at, _)| at.elapsed() < ROLE_CACHE_TTL)
            .map(|(_, r)| r.clone());
        let roles = match cached {
            Some(r) => r,
            None => {
                let rows = self.iam.db().fetch_all("SELECT role, department_id FROM flow_role_grants WHERE tenant = $1 AND principal_id = $2", args![tenant, p.id]).await?;
                let roles = Arc::new(
                    rows.iter()
                        .map(|r| Ok((r.text("role")?, r.opt_uuid("department_id")?)))
                        .collect::<Result<Vec<_>>>()?,
                );
                self.actors
                    .lock()
                    .expect("role cache")
                    .insert(key, (std::time::Instant::now(), roles.clone()));
                roles
            }
        };
        Ok(Actor {
            id: Some(p.id),
            actor: p.actor(),
            roles: (*roles).clone(),
        })
    }

    // ---------------------------------------------------------------- reading cases

    pub(crate) async fn load_case(&self, tenant: &str, id: Uuid) -> Result<CaseRow> {
        let r = self
            .iam
            .db()
            .fetch_optional(
                "SELECT * FROM flow_cases WHERE tenant = $1 AND id = $2",
                args![tenant, id],
            )
            .await?
            .ok_or_else(|| Error::not_found(format!("case {id} does not exist")))?;
        CaseRow::from_row(&r)
    }

    /// The actions `actor` may take on `case` now.
    pub(crate) fn allowed<'a>(
        &self,
        def: &'a FlowDefinition,
        cal: &WorkCalendar,
        case: &CaseRow,
        actor: &Actor,
        now: i64,
    ) -> Vec<&'a ActionDef> {
        let roles = actor.roles_for(case);
        def.actions_from(&case.state)
            .filter(|a| a.roles.iter().any(|r| roles.contains(r)))
            .filter(|a| !a.reopen || self.within_reopen(def, cal, case, now))
            .collect()
    }

    fn within_reopen(
        &self,
        def: &FlowDefinition,
        cal: &WorkCalendar,
        case: &CaseRow,
        now: i64,
    ) -> bool {
        match def.reopen_window {
            Some(w) => deadline(cal, dt(case.state_entered_at), w).is_ok_and(|d| micros(d) >= now),
            None => false,
        }
    }

    pub(crate) fn view(
        &self,
        def: &FlowDefinition,
        cal: &WorkCalendar,
        case: &CaseRow,
        actor: &Actor,
        now: i64,
    ) -> CaseView {
        let allowed: Vec<String> = self
            .allowed(def, cal, case, actor, now)
            .iter()
            .map(|a| a.key.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let overdue = case.closed_at.is_none()
            && (case.state_due_at.is_some_and(|d| d < now)
                || case.case_due_at.is_some_and(|d| d < now));
        CaseView {
            id: case.id,
            tenant: case.tenant.clone(),
            flow: case.flow_key.clone(),
            flow_version: case.flow_version,
            module: case.module.clone(),
            title: case.title.clone(),
            state: case.state.clone(),
            state_name: def.state(&case.state).and_then(|s| s.name.clone()),
            data: Value::Object(case.data.clone()),
            applicant_id: case.applicant_id,
            assignee_id: case.assignee_id,
            queue_department_id: case.queue_department_id,
            queue_role: case.queue_role.clone(),
            jurisdiction_id: case.jurisdiction_id,
            version: case.row_version,
            created_at: time::rfc3339(case.created_at),
            state_entered_at: time::rfc3339(case.state_entered_at),
            state_due_at: case.state_due_at.map(time::rfc3339),
            case_due_at: case.case_due_at.map(time::rfc3339),
            overdue,
            breached: case.breached,
            escalation_level: case.escalation_level,
            closed_at: case.closed_at.map(time::rfc3339),
            allowed_actions: allowed,
        }
    }

    /// Whether `p` may see `case`: its applicant or assignee, a holder of a role the flow
    /// declares, or a `case:read` holder in the tenant.
    fn may_see(&self, p: &Principal, actor: &Actor, def: &FlowDefinition, case: &CaseRow) -> bool {
        Some(p.id) == Some(case.applicant_id)
            || Some(p.id) == case.assignee_id
            || actor.roles.iter().any(|(r, _)| def.roles.contains(r))
            || p.subtrees(Permission::CaseRead, &case.tenant)
                .is_none_or(|s| !s.is_empty())
    }

    /// A case with its history and the caller's allowed actions.
    ///
    /// Errors: `not_found` (also for a case the caller may not see).
    pub async fn case(&self, p: &Principal, tenant: &str, id: Uuid) -> Result<CaseDetail> {
        self.iam.tenant(p, tenant).await?;
        let case = self.load_case(tenant, id).await?;
        let (_, def) = self
            .definition(tenant, &case.flow_key, Some(case.flow_version))
            .await?;
        let actor = self.actor(p, tenant).await?;
        if !self.may_see(p, &actor, &def, &case) {
            return Err(Error::not_found(format!("case {id} does not exist")));
        }
        let cal = self.calendar_for(tenant, case.jurisdiction_id).await?;
        let history = self
            .iam
            .db()
            .fetch_all(
                "SELECT * FROM flow_history WHERE case_id = $1 ORDER BY seq",
                args![id],
            )
            .await?
            .iter()
            .map(|r| {
                Ok(HistoryEntry {
                    seq: r.i64("seq")?,
                    at: time::rfc3339(r.i64("at")?),
                    actor: r.text("actor")?,
                    action: r.text("action")?,
                    from_state: r.opt_text("from_state")?,
                    to_state: r.text("to_state")?,
                    comment: r.opt_text("comment")?,
                    attachments: r
                        .opt_text("attachments")?
                        .map(|a| serde_json::from_str(&a).unwrap_or_default())
                        .unwrap_or_default(),
                    assignee_id: r.opt_uuid("assignee_id")?,
                    department_id: r.opt_uuid("department_id")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(CaseDetail {
            case: self.view(&def, &cal, &case, &actor, self.now()),
            history,
        })
    }

    // ---------------------------------------------------------------- changing cases

    /// Creates a case of the latest version of `flow` in its start state, with `p` as the
    /// applicant, and takes `n.action` at once when given (all in one transaction).
    pub async fn create_case(&self, p: &Principal, tenant: &str, n: &NewCase) -> Result<CaseView> {
        let mut tx = self.iam.db().begin().await?;
        let view = self.create_case_in(&mut tx, p, tenant, n).await?;
        tx.commit().await?;
        self.iam.bus().poke();
        Ok(view)
    }

    /// Creates a case exactly like [`Flow::create_case`], but writes it (row, history,
    /// timers, audit record, first action) inside the caller's transaction `tx`, so a
    /// module can create its own record and the case atomically: both commit or neither.
    ///
    /// The checks (flow defined, jurisdiction and department of the tenant, calendar) read
    /// through the pool, not `tx`. The caller commits and should then call
    /// `iam.bus().poke()` so timers and outbox are picked up at once. Errors as
    /// [`Flow::create_case`]; on an error nothing has been written to `tx` by this call
    /// that the caller must keep (it should roll back).
    pub async fn create_case_in(
        &self,
        tx: &mut Tx,
        p: &Principal,
        tenant: &str,
        n: &NewCase,
    ) -> Result<CaseView> {
        self.iam.tenant(p, tenant).await?;
        onecity_core::validate::text("title", &n.title, 500)?;
        let (version, def) = self.definition(tenant, &n.flow, None).await.map_err(|_| {
            Error::invalid(format!("flow {:?} is not defined in this tenant", n.flow))
        })?;
        if let Some(j) = n.jurisdiction_id {
            self.iam
                .jurisdiction_unchecked(tenant, j)
                .await
                .map_err(|_| {
                    Error::invalid("jurisdiction_id does not name a jurisdiction of this tenant")
                })?;
        }
        self.ensure_in_tenant(Member::Department, tenant, n.department_id, "department_id")
            .await?;
        let cal = self.calendar_for(tenant, n.jurisdiction_id).await?;
        let actor = self.actor(p, tenant).await?;
        let now = self.now();
        let start = def.start_state();
        let mut case = CaseRow {
            id: onecity_core::new_id(),
            tenant: tenant.into(),
            flow_key: def.key.clone(),
            flow_version: version,
            module: def.module.clone(),
            title: n.title.clone(),
            state: start.key.clone(),
            data: n.data.clone().unwrap_or_default(),
            applicant_id: p.id,
            assignee_id: None,
            queue_department_id: n.department_id,
            queue_role: None,
            jurisdiction_id: n.jurisdiction_id,
            row_version: 1,
            created_at: now,
            state_entered_at: now,
            clock_started_at: None,
            state_due_at: None,
            state_warn_at: None,
            case_due_at: def
                .sla
                .as_ref()
                .map(|s| deadline(&cal, dt(now), s.due).map(micros))
                .transpose()?,
            escalation_level: 0,
            breached: false,
            closed_at: None,
        };
        if start.clock == ClockStart::OnEntry {
            start_clock(&mut case, start, &cal, now)?;
        }
        tx.execute(
            "INSERT INTO flow_cases (id, tenant, flow_key, flow_version, module, title, state, data, applicant_id, assignee_id, queue_department_id, queue_role, \
             jurisdiction_id, row_version, created_at, state_entered_at, clock_started_at, state_due_at, state_warn_at, case_due_at, escalation_level, breached, closed_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, 0, 0, NULL, $15)",
            &[case.id.into(), tenant.into(), case.flow_key.clone().into(), version.into(), case.module.clone().into(), case.title.clone().into(),
              case.state.clone().into(), Value::Object(case.data.clone()).to_string().into(), p.id.into(), Val::Text(None), case.queue_department_id.into(),
              Val::Text(None), case.jurisdiction_id.into(), 1_i64.into(), now.into(), now.into(), case.clock_started_at.into(), case.state_due_at.into(),
              case.state_warn_at.into(), case.case_due_at.into()],
        )
        .await?;
        insert_history(
            tx,
            &case,
            &actor.actor,
            "CREATE",
            None,
            None,
            &[],
            None,
            now,
        )
        .await?;
        if let Some(s) = &def.sla {
            let due = case.case_due_at.expect("set with the flow sla");
            insert_timer(tx, case.id, "case_breach", 0, due).await?;
            if let Some(w) = s.warn_before {
                insert_timer(
                    tx,
                    case.id,
                    "case_warn",
                    0,
                    micros(warn_time(&cal, dt(now), dt(due), w)?),
                )
                .await?;
            }
        }
        insert_state_timers(tx, &case, start, &cal).await?;
        self.iam
            .record(
                tx,
                &AuditEntry {
                    tenant,
                    actor: &actor.actor,
                    action: "case.create",
                    resource_type: "case",
                    resource_id: &case.id.to_string(),
                    detail: Some(&def.key),
                    ..Default::default()
                },
                None,
            )
            .await?;
        if let Some(req) = &n.action {
            case = self
                .transition(tx, &def, &cal, case, &actor, req, now)
                .await?;
        }
        Ok(self.view(&def, &cal, &case, &actor, now))
    }

    /// Takes an action on a case.
    ///
    /// Errors: `not_found`; `invalid_transition` (409) when the action does not exist in
    /// the case's state, `forbidden` (403) when the caller lacks its roles, `invalid_input`
    /// (422) for missing required fields — each with `allowed_actions`; `conflict` (409)
    /// when the case changed since `expected_version` (or concurrently).
    pub async fn act(
        &self,
        p: &Principal,
        tenant: &str,
        id: Uuid,
        req: &ActionRequest,
    ) -> Result<CaseView> {
        self.iam.tenant(p, tenant).await?;
        let actor = self.actor(p, tenant).await?;
        let case = self.load_case(tenant, id).await?;
        let (_, def) = self
            .definition(tenant, &case.flow_key, Some(case.flow_version))
            .await?;
        if !self.may_see(p, &actor, &def, &case) {
            return Err(Error::not_found(format!("case {id} does not exist")));
        }
        let cal = self.calendar_for(tenant, case.jurisdiction_id).await?;
        let now = self.now();
        let mut tx = self.iam.db().begin().await?;
        let case = self
            .transition(&mut tx, &def, &cal, case, &actor, req, now)
            .await?;
        tx.commit().await?;
        self.iam.bus().poke();
        Ok(self.view(&def, &cal, &case, &actor, now))
    }

    /// The transition core shared by API actions, initial actions and the scheduler.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn transition(
        &self,
        tx: &mut Tx,
        def: &FlowDefinition,
        cal: &WorkCalendar,
        mut case: CaseRow,
        actor: &Actor,
        req: &ActionRequest,
        now: i64,
    ) -> Result<CaseRow> {
        if let Some(v) = req.expected_version {
            if v != case.row_version {
                return Err(Error::conflict(format!(
                    "the case changed: you saw version {v}, it is now version {}",
                    case.row_version
                )));
            }
        }
        let allowed = self.allowed(def, cal, &case, actor, now);
        let allowed_keys: Vec<String> = allowed
            .iter()
            .map(|a| a.key.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let with_allowed = |e: Error| {
            e.with_extra("allowed_actions", json!(allowed_keys))
                .with_extra("state", json!(case.state))
        };
        let candidates: Vec<&ActionDef> = def
            .actions_from(&case.state)
            .filter(|a| a.key == req.action)
            .collect();
        if candidates.is_empty() {
            return Err(with_allowed(Error::new(
                ErrorCode::InvalidTransition,
                format!(
                    "action {:?} cannot be taken in state {:?}",
                    req.action, case.state
                ),
            )));
        }
        let Some(action) = allowed.iter().copied().find(|a| a.key == req.action) else {
            let reopen_closed =
                candidates.iter().all(|a| a.reopen) && !self.within_reopen(def, cal, &case, now);
            let msg = if reopen_closed {
                format!("the reopen window of action {:?} has passed", req.action)
            } else {
                format!(
                    "action {:?} needs one of the roles {:?}",
                    req.action, candidates[0].roles
                )
            };
            return Err(with_allowed(if reopen_closed {
                Error::new(ErrorCode::InvalidTransition, msg)
            } else {
                Error::forbidden(msg)
            }));
        };
        let missing: Vec<&String> = action
            .required
            .iter()
            .filter(|f| {
                !(non_empty(req.fields.get(*f))
                    || (f.as_str() == "comment"
                        && req.comment.as_deref().is_some_and(|c| !c.trim().is_empty())))
            })
            .collect();
        if !missing.is_empty() {
            return Err(with_allowed(
                Error::invalid(format!(
                    "action {:?} requires the fields {missing:?}",
                    action.key
                ))
                .with_extra("missing_fields", json!(missing)),
            ));
        }
        if let Some(c) = &req.comment {
            if c.chars().count() > 10_000 {
                return Err(Error::invalid("comment is longer than 10000 characters"));
            }
        }
        let assignee = uuid_field(&req.fields, "assignee")?;
        let department = uuid_field(&req.fields, "department")?;
        self.ensure_in_tenant(Member::User, &case.tenant, assignee, "fields.assignee")
            .await?;
        self.ensure_in_tenant(
            Member::Department,
            &case.tenant,
            department,
            "fields.department",
        )
        .await?;
        let from = case.state.clone();
        let from_entered = case.state_entered_at;
        let to_state: &StateDef = def
            .state(&action.to)
            .ok_or_else(|| Error::internal("validated definition lost a state"))?;
        let changed = action.to != case.state;
        for (k, v) in &req.fields {
            if k != "assignee" && k != "department" {
                case.data.insert(k.clone(), v.clone());
            }
        }
        if let Some(c) = &req.comment {
            case.data
                .insert("last_comment".into(), Value::from(c.clone()));
        }
        if changed {
            case.state = action.to.clone();
            case.state_entered_at = now;
            case.assignee_id = None;
            case.queue_role = None;
            case.escalation_level = 0;
            case.clock_started_at = None;
            case.state_due_at = None;
            case.state_warn_at = None;
        }
        if assignee.is_some() {
            case.assignee_id = assignee;
        }
        if department.is_some() {
            case.queue_department_id = department;
            if assignee.is_none() {
                case.assignee_id = None;
            }
        }
        if changed && to_state.clock == ClockStart::OnEntry {
            start_clock(&mut case, to_state, cal, now)?;
        }
        if to_state.terminal {
            case.closed_at = Some(now);
        } else if changed {
            case.closed_at = None;
        }
        let expected = case.row_version;
        case.row_version += 1;
        write_case(tx, &case, expected, now).await?;
        insert_history(
            tx,
            &case,
            &actor.actor,
            &action.key,
            Some(&from),
            req.comment.as_deref(),
            &req.attachments,
            Some(from_entered),
            now,
        )
        .await?;
        if changed {
            tx.execute("DELETE FROM flow_timers WHERE case_id = $1 AND fired_at IS NULL AND kind NOT LIKE 'case%'", args![case.id]).await?;
            insert_state_timers(tx, &case, to_state, cal).await?;
        }
        if to_state.terminal {
            tx.execute(
                "DELETE FROM flow_timers WHERE case_id = $1 AND fired_at IS NULL",
                args![case.id],
            )
            .await?;
        } else if changed && def.state(&from).is_some_and(|s| s.terminal) {
            // Reopened: the case deadline runs again from now.
            if let Some(s) = &def.sla {
                let due = micros(deadline(cal, dt(now), s.due)?);
                case.case_due_at = Some(due);
                tx.execute(
                    "UPDATE flow_cases SET case_due_at = $1 WHERE id = $2",
                    args![due, case.id],
                )
                .await?;
                insert_timer(tx, case.id, "case_breach", 0, due).await?;
            }
        }
        let detail = format!("{from} -> {}", case.state);
        self.iam
            .record(
                tx,
                &AuditEntry {
                    tenant: &case.tenant,
                    actor: &actor.actor,
                    action: &format!("case.{}", action.key.to_lowercase()),
                    resource_type: "case",
                    resource_id: &case.id.to_string(),
                    detail: Some(&detail),
                    ..Default::default()
                },
                Some(EventEnvelope::new(
                    Some(&case.tenant),
                    PlatformEvent::CaseTransitioned {
                        case_id: case.id,
                        flow: case.flow_key.clone(),
                        action: action.key.clone(),
                        from,
                        to: case.state.clone(),
                        module: case.module.clone(),
                    },
                )),
            )
            .await?;
        Ok(case)
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
        let (table, noun) = match what {
            Member::User => ("principals", "user"),
            Member::Department => ("departments", "department"),
        };
        let found = self
            .iam
            .db()
            .fetch_optional(
                &format!("SELECT id FROM {table} WHERE id = $1 AND tenant = $2"),
                args![id, tenant],
            )
            .await?;
        match found {
            Some(_) => Ok(()),
            None => Err(Error::invalid(format!(
                "{field} does not name a {noun} of this tenant"
            ))),
        }
    }

    /// Loads a case for a claim or transfer: visible to the caller, at the expected
    /// version, open; also whether the caller holds a role (other than `APPLICANT`) that
    /// acts in its state.
    async fn open_for_change(
        &self,
        p: &Principal,
        tenant: &str,
        id: Uuid,
        expected_version: Option<i64>,
        verb: &str,
    ) -> Result<(Actor, CaseRow, Arc<FlowDefinition>, bool)> {
        self.iam.tenant(p, tenant).await?;
        let actor = self.actor(p, tenant).await?;
        let case = self.load_case(tenant, id).await?;
        let (_, def) = self
            .definition(tenant, &case.flow_key, Some(case.flow_version))
            .await?;
        if !self.may_see(p, &actor, &def, &case) {
            return Err(Error::not_found(format!("case {id} does not exist")));
        }
        if expected_version.is_some_and(|v| v != case.row_version) {
            return Err(Error::conflict("the case changed since you read it"));
        }
        if case.closed_at.is_some() {
            return Err(Error::new(
                ErrorCode::InvalidTransition,
                format!("a closed case cannot be {verb}"),
            ));
        }
        let roles = actor.roles_for(&case);
        let can_act = def.actions_from(&case.state).any(|a| {
            a.roles
                .iter()
                .any(|r| r != "APPLICANT" && roles.contains(r))
        });
        Ok((actor, case, def, can_act))
    }

    /// Claims (signs for, 签收) a case: the caller becomes its assignee, and a state whose
    /// clock starts on claim starts its clock. Allowed for the current assignee or, for a
    /// queued case, anyone holding a role that can act in its state.
    pub async fn claim(
        &self,
        p: &Principal,
        tenant: &str,
        id: Uuid,
        expected_version: Option<i64>,
    ) -> Result<CaseView> {
        let (actor, mut case, def, can_act) = self
            .open_for_change(p, tenant, id, expected_version, "claimed")
            .await?;
        let mine = case.assignee_id == Some(p.id);
        if !(mine || (case.assignee_id.is_none() && can_act)) {
            return Err(Error::forbidden("only the assignee, or for a queued case a holder of a role that acts in its state, may claim it"));
        }
        let cal = self.calendar_for(tenant, case.jurisdiction_id).await?;
        let now = self.now();
        let state = def
            .state(&case.state)
            .ok_or_else(|| Error::internal("state missing"))?
            .clone();
        let start = state.clock == ClockStart::OnClaim && case.clock_started_at.is_none();
        if mine && !start {
            // Already claimed by the caller: nothing changes (a repeated claim is a no-op).
            return Ok(self.view(&def, &cal, &case, &actor, now));
        }
        case.assignee_id = Some(p.id);
        if start {
            start_clock(&mut case, &state, &cal, now)?;
        }
        let mut tx = self.iam.db().begin().await?;
        let expected = case.row_version;
        case.row_version += 1;
        write_case(&mut tx, &case, expected, now).await?;
        insert_history(
            &mut tx,
            &case,
            &actor.actor,
            "CLAIM",
            Some(&case.state.clone()),
            None,
            &[],
            None,
            now,
        )
        .await?;
        if start {
            insert_state_timers(&mut tx, &case, &state, &cal).await?;
        }
        self.iam
            .record(
                &mut tx,
                &AuditEntry {
                    tenant,
                    actor: &actor.actor,
                    action: "case.claim",
                    resource_type: "case",
                    resource_id: &id.to_string(),
                    ..Default::default()
                },
                None,
            )
            .await?;
        tx.commit().await?;
        Ok(self.view(&def, &cal, &case, &actor, now))
    }

    /// Transfers a case to another person or department queue, with a reason. Allowed for
    /// the assignee, holders of a role acting in its state, and `flow:admin` holders.
    pub async fn transfer(
        &self,
        p: &Principal,
        tenant: &str,
        id: Uuid,
        t: &TransferRequest,
    ) -> Result<CaseView> {
        self.iam.tenant(p, tenant).await?;
        onecity_core::validate::text("reason", &t.reason, 2000)?;
        if t.assignee_id.is_none() && t.department_id.is_none() {
            return Err(Error::invalid("give assignee_id, department_id or both"));
        }
        let (actor, mut case, def, can_act) = self
            .open_for_change(p, tenant, id, t.expected_version, "transferred")
            .await?;
        let admin = self.require_admin(p, tenant).await.is_ok();
        if !(can_act || admin) {
            return Err(Error::forbidden("only the assignee, a holder of a role acting in this state, or a flow admin may transfer the case"));
        }
        let mut fields = Map::new();
        if let Some(a) = t.assignee_id {
            fields.insert("assignee".into(), json!(a));
        }
        if let Some(d) = t.department_id {
            fields.insert("department".into(), json!(d));
        }
        self.ensure_in_tenant(Member::User, tenant, t.assignee_id, "assignee_id")
            .await?;
        self.ensure_in_tenant(Member::Department, tenant, t.department_id, "department_id")
            .await?;
        let now = self.now();
        case.assignee_id = t.assignee_id;
        if t.department_id.is_some() {
            case.queue_department_id = t.department_id;
        }
        case.queue_role = None;
        let mut tx = self.iam.db().begin().await?;
        let expected = case.row_version;
        case.row_version += 1;
        write_case(&mut tx, &case, expected, now).await?;
        insert_history(
            &mut tx,
            &case,
            &actor.actor,
            "TRANSFER",
            Some(&case.state.clone()),
            Some(&t.reason),
            &[],
            None,
            now,
        )
        .await?;
        self.iam
            .record(
                &mut tx,
                &AuditEntry {
                    tenant,
                    actor: &actor.actor,
                    action: "case.transfer",
                    resource_type: "case",
                    resource_id: &id.to_string(),
                    detail: Some(&t.reason),
                    ..Default::default()
                },
                None,
            )
            .await?;
        tx.commit().await?;
        let cal = self.calendar_for(tenant, case.jurisdiction_id).await?;
        Ok(self.view(&def, &cal, &case, &actor, now))
    }
}

/// Parses a calendar body: a full calendar, or `{"base": "china_mainland", "regional": {…}}`.
fn parse_calendar(text: &str) -> Result<WorkCalendar> {
    let invalid = |e: crate::calendar::CalendarError| {
        let errs: Vec<String> = e.problems().iter().map(|p| p.to_string()).collect();
        Error::invalid(format!("the calendar is not valid: {e}")).with_extra("errors", json!(errs))
    };
    let v: Value = serde_json::from_str(text)
        .map_err(|e| Error::invalid(format!("calendar is not JSON: {e}")))?;
    match v.get("base").and_then(Value::as_str) {
        Some("china_mainland") => {
            let regional = v.get("regional").ok_or_else(|| {
                Error::invalid("a calendar with a base needs \"regional\" holidays")
            })?;
            WorkCalendar::china_mainland()
                .with_regional(&regional.to_string())
                .map_err(invalid)
        }
        Some(other) => Err(Error::invalid(format!(
            "unknown calendar base {other:?}; the shipped base is \"china_mainland\""
        ))),
        None => WorkCalendar::from_json(text).map_err(invalid),
    }
}

/// Starts the state's clock at `now`: due and warning times.
pub(crate) fn start_clock(
    case: &mut CaseRow,
    state: &StateDef,
    cal: &WorkCalendar,
    now: i64,
) -> Result<()> {
    case.clock_started_at = Some(now);
    if let Some(sla) = &state.sla {
        let due = deadline(cal, dt(now), sla.due)?;
        case.state_due_at = Some(micros(due));
        case.state_warn_at = sla
            .warn_before
            .map(|w| warn_time(cal, dt(now), due, w).map(micros))
            .transpose()?;
    }
    Ok(())
}

pub(crate) async fn write_case(
    tx: &mut Tx,
    c: &CaseRow,
    expected_version: i64,
    now: i64,
) -> Result<()> {
    let n = tx
        .execute(
            "UPDATE flow_cases SET state = $1, data = $2, assignee_id = $3, queue_department_id = $4, queue_role = $5, row_version = $6, \
             state_entered_at = $7, clock_started_at = $8, state_due_at = $9, state_warn_at = $10, escalation_level = $11, breached = $12, \
             closed_at = $13, updated_at = $14 WHERE id = $15 AND row_version = $16",
            &[c.state.clone().into(), Value::Object(c.data.clone()).to_string().into(), c.assignee_id.into(), c.queue_department_id.into(),
              c.queue_role.clone().into(), c.row_version.into(), c.state_entered_at.into(), c.clock_started_at.into(), c.state_due_at.into(),
              c.state_warn_at.into(), c.escalation_level.into(), c.breached.into(), c.closed_at.into(), now.into(), c.id.into(), expected_version.into()],
        )
        .await?;
    if n == 0 {
        return Err(Error::conflict(
            "the case was changed by someone else at the same time; reload it and try again",
        ));
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn insert_history(
    tx: &mut Tx,
    c: &CaseRow,
    actor: &str,
    action: &str,
    from: Option<&str>,
    comment: Option<&str>,
    attachments: &[Attachment],
    from_entered: Option<i64>,
    now: i64,
) -> Result<()> {
    let att = if attachments.is_empty() {
        None
    } else {
        Some(serde_json::to_string(attachments).map_err(Error::internal)?)
    };
    tx.execute(
        "INSERT INTO flow_history (case_id, seq, at, actor, action, from_state, to_state, comment, attachments, assignee_id, department_id, state_entered_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        &[c.id.into(), c.row_version.into(), now.into(), actor.into(), action.into(), from.into(), c.state.clone().into(),
          comment.into(), att.into(), c.assignee_id.into(), c.queue_department_id.into(), from_entered.into()],
    )
    .await?;
    Ok(())
}

pub(crate) async fn insert_timer(
    tx: &mut Tx,
    case_id: Uuid,
    kind: &str,
    step: i64,
    due: i64,
) -> Result<()> {
    tx.execute(
        "INSERT INTO flow_timers (id, case_id, kind, step, due_at, fired_at) VALUES ($1, $2, $3, $4, $5, NULL)",
        args![onecity_core::new_id(), case_id, kind, step, due],
    )
    .await?;
    Ok(())
}

/// Timers of the state the case is in, once its clock runs: warning, breach, escalations
/// (one multi-row insert).
pub(crate) async fn insert_state_timers(
    tx: &mut Tx,
    c: &CaseRow,
    state: &StateDef,
    cal: &WorkCalendar,
) -> Result<()> {
    let Some(started) = c.clock_started_at else {
        return Ok(());
    };
    let mut timers: Vec<(&str, i64, i64)> = Vec::new();
    if let Some(w) = c.state_warn_at {
        timers.push(("warn", 0, w));
    }
    if let Some(d) = c.state_due_at {
        timers.push(("breach", 0, d));
    }
    for (i, e) in state.escalations.iter().enumerate() {
        timers.push((
            "escalate",
            i as i64,
            micros(deadline(cal, dt(started), e.after)?),
        ));
    }
    if timers.is_empty() {
        return Ok(());
    }
    let mut sql =
        String::from("INSERT INTO flow_timers (id, case_id, kind, step, due_at, fired_at) VALUES ");
    let mut a: Vec<Val> = Vec::with_capacity(timers.len() * 5);
    for (k, (kind, step, due)) in timers.into_iter().enumerate() {
        let b = k * 5;
        sql.push_str(&format!(
            "{}(${}, ${}, ${}, ${}, ${}, NULL)",
            if k > 0 { ", " } else { "" },
            b + 1,
            b + 2,
            b + 3,
            b + 4,
            b + 5
        ));
        a.extend([
            onecity_core::new_id().into(),
            c.id.into(),
            kind.into(),
            step.into(),
            Val::from(due),
        ]);
    }
    tx.execute(&sql, &a).await?;
    Ok(())
}
