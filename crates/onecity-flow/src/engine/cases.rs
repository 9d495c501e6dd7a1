//! Cases: reading one (with its history), creating one (alone or inside the caller's
//! transaction), claiming and transferring; what an actor may see and do.

use super::insert_state_timers;
use super::{dt, micros, start_clock, Actor, CaseRow, Flow, Member};
use crate::calendar::WorkCalendar;
use crate::definition::{ActionDef, ClockStart, FlowDefinition};
use crate::model::*;
use crate::sla::{deadline, warn_time};
use crate::store;
use onecity_core::{time, Error, ErrorCode, Result};
use onecity_iam::{Permission, Principal};
use onecity_store::audit::AuditEntry;
use onecity_store::Tx;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use uuid::Uuid;

impl Flow {
    // ---------------------------------------------------------------- reading cases

    /// The department queue case `case_id` waits in (of any tenant), read inside the
    /// caller's transaction `tx` (e.g. a bus consumer's delivery); `None` when the case is
    /// queued nowhere or does not exist. No access check: for modules reacting to
    /// `CaseTransitioned` events.
    pub async fn queue_department_in(tx: &mut Tx, case_id: Uuid) -> Result<Option<Uuid>> {
        store::case_queue_department(tx, case_id).await
    }

    /// A case of `tenant` by id, without any access check. Errors: `not_found`.
    pub(crate) async fn load_case(&self, tenant: &str, id: Uuid) -> Result<CaseRow> {
        store::case_by_id(self.iam.db(), tenant, id)
            .await?
            .ok_or_else(|| Error::not_found(format!("case {id} does not exist")))
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

    /// Whether the reopen window of `def` (counted on `cal` from the state entered) is
    /// still open at `now`.
    pub(crate) fn within_reopen(
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

    /// The case as the API shows it to `actor` at `now` (with its allowed actions).
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
    pub(crate) fn may_see(
        &self,
        p: &Principal,
        actor: &Actor,
        def: &FlowDefinition,
        case: &CaseRow,
    ) -> bool {
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
        let history = store::history(self.iam.db(), id)
            .await?
            .into_iter()
            .map(|row| HistoryEntry {
                seq: row.seq,
                at: time::rfc3339(row.at),
                actor: row.actor,
                action: row.action,
                from_state: row.from_state,
                to_state: row.to_state,
                comment: row.comment,
                attachments: row
                    .attachments
                    .map(|text| serde_json::from_str(&text).unwrap_or_default())
                    .unwrap_or_default(),
                assignee_id: row.assignee_id,
                department_id: row.department_id,
            })
            .collect();
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
        store::insert_case(&mut *tx, &case).await?;
        store::insert_history(
            &mut *tx,
            &store::NewHistory {
                case: &case,
                actor: &actor.actor,
                action: "CREATE",
                from_state: None,
                comment: None,
                attachments: &[],
                from_entered_at: None,
                at: now,
            },
        )
        .await?;
        if let Some(s) = &def.sla {
            let due = case.case_due_at.expect("set with the flow sla");
            store::insert_timers(&mut *tx, case.id, &[("case_breach", 0, due)]).await?;
            if let Some(w) = s.warn_before {
                store::insert_timers(
                    &mut *tx,
                    case.id,
                    &[(
                        "case_warn",
                        0,
                        micros(warn_time(&cal, dt(now), dt(due), w)?),
                    )],
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
        store::update_case(&mut tx, &case, expected, now).await?;
        store::insert_history(
            &mut tx,
            &store::NewHistory {
                case: &case,
                actor: &actor.actor,
                action: "CLAIM",
                from_state: Some(&case.state.clone()),
                comment: None,
                attachments: &[],
                from_entered_at: None,
                at: now,
            },
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
        store::update_case(&mut tx, &case, expected, now).await?;
        store::insert_history(
            &mut tx,
            &store::NewHistory {
                case: &case,
                actor: &actor.actor,
                action: "TRANSFER",
                from_state: Some(&case.state.clone()),
                comment: Some(&t.reason),
                attachments: &[],
                from_entered_at: None,
                at: now,
            },
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
