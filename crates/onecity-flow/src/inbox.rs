//! The to-do inbox (一体办公), in-app notifications and per-flow metrics.

use crate::engine::{CaseRow, Flow};
use crate::model::{CaseView, FlowMetrics, Inbox, InboxCounts, Notification};
use onecity_core::page::{decode_cursor, encode_cursor};
use onecity_core::{time, Error, Result};
use onecity_iam::Principal;
use onecity_store::{args, Val};
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};
use uuid::Uuid;

/// Most open cases one inbox query considers.
pub const INBOX_SCAN_LIMIT: usize = 10_000;

/// Inbox filters.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InboxQuery {
    /// Only this flow.
    pub flow: Option<String>,
    /// Only this module (`governance`, `services`, …).
    pub module: Option<String>,
    /// Only this state.
    pub state: Option<String>,
    /// Only overdue (`true`) or only not overdue (`false`) items.
    pub overdue: Option<bool>,
    /// Page size 1..=500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// Cursor from the previous page.
    pub cursor: Option<String>,
}

impl Flow {
    /// Everything waiting for `p` in `tenant`: cases assigned to them, and queued cases
    /// (their departments' queues, or role queues after escalation) in states where one of
    /// their roles can act; also cases they applied for that wait on them (e.g. to rate).
    /// Soonest deadline first; counts cover every page.
    pub async fn inbox(&self, p: &Principal, tenant: &str, q: &InboxQuery) -> Result<Inbox> {
        self.iam.tenant(p, tenant).await?;
        let limit = onecity_core::page::PageQuery {
            limit: q.limit,
            cursor: None,
        }
        .limit()? as usize;
        let offset: usize = q
            .cursor
            .as_deref()
            .map(decode_cursor)
            .transpose()?
            .unwrap_or(0);
        let actor = self.actor(p, tenant).await?;
        let mut depts: HashSet<Uuid> = actor.roles.iter().filter_map(|(_, d)| *d).collect();
        if let Some(d) = p.department_id {
            depts.insert(d);
        }
        let roles: Vec<String> = actor
            .roles
            .iter()
            .map(|(r, _)| r.clone())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let mut a: Vec<Val> = vec![tenant.into(), p.id.into()];
        let mut sql = String::from("SELECT * FROM flow_cases WHERE tenant = $1 AND closed_at IS NULL AND (assignee_id = $2 OR applicant_id = $2");
        if !roles.is_empty() {
            let dept_cond = if depts.is_empty() {
                "queue_department_id IS NULL".to_string()
            } else {
                let start = a.len() + 1;
                a.extend(depts.iter().map(|d| Val::from(*d)));
                format!(
                    "(queue_department_id IS NULL OR queue_department_id IN ({}))",
                    onecity_store::numbered(start, depts.len())
                )
            };
            let start = a.len() + 1;
            a.extend(roles.iter().map(Val::from));
            sql.push_str(&format!(" OR (assignee_id IS NULL AND {dept_cond} AND (queue_role IS NULL OR queue_role IN ({})))", onecity_store::numbered(start, roles.len())));
        }
        sql.push(')');
        for (col, v) in [
            ("flow_key", &q.flow),
            ("module", &q.module),
            ("state", &q.state),
        ] {
            if let Some(v) = v {
                a.push(v.into());
                sql.push_str(&format!(" AND {col} = ${}", a.len()));
            }
        }
        sql.push_str(&format!(" LIMIT {INBOX_SCAN_LIMIT}"));
        let now = self.now();
        let mut items: Vec<CaseView> = Vec::new();
        for r in self.iam.db().fetch_all(&sql, &a).await? {
            let c = CaseRow::from_row(&r)?;
            let (_, def) = self
                .definition(tenant, &c.flow_key, Some(c.flow_version))
                .await?;
            let cal = self.calendar_for(tenant, c.jurisdiction_id).await?;
            let v = self.view(&def, &cal, &c, &actor, now);
            if v.allowed_actions.is_empty() && c.assignee_id != Some(p.id) {
                continue;
            }
            if q.overdue.is_some_and(|o| o != v.overdue) {
                continue;
            }
            items.push(v);
        }
        let due = |v: &CaseView| {
            v.state_due_at
                .clone()
                .or_else(|| v.case_due_at.clone())
                .unwrap_or_else(|| "9999".into())
        };
        items.sort_by(|x, y| due(x).cmp(&due(y)).then(x.id.cmp(&y.id)));
        let soon = time::rfc3339(now + 24 * 3600 * 1_000_000);
        let counts = InboxCounts {
            total: items.len() as u64,
            overdue: items.iter().filter(|v| v.overdue).count() as u64,
            due_soon: items
                .iter()
                .filter(|v| {
                    !v.overdue
                        && v.state_due_at
                            .as_ref()
                            .or(v.case_due_at.as_ref())
                            .is_some_and(|d| *d <= soon)
                })
                .count() as u64,
        };
        let next = (offset + limit < items.len()).then(|| encode_cursor(&(offset + limit)));
        let page = items.into_iter().skip(offset).take(limit).collect();
        Ok(Inbox {
            items: page,
            next_cursor: next,
            counts,
        })
    }

    /// In-app notifications for `p`: addressed to them, or to a role they hold (in their
    /// departments' queues or unqueued). Newest first, at most 200.
    pub async fn notifications(&self, p: &Principal, tenant: &str) -> Result<Vec<Notification>> {
        self.iam.tenant(p, tenant).await?;
        let actor = self.actor(p, tenant).await?;
        let rows = self
            .iam
            .db()
            .fetch_all("SELECT * FROM flow_notifications WHERE tenant = $1 ORDER BY created_at DESC LIMIT 5000", args![tenant])
            .await?;
        let mut out = Vec::new();
        for r in rows {
            let to_me = r.opt_uuid("principal_id")? == Some(p.id);
            let dept = r.opt_uuid("department_id")?;
            let by_role = r.opt_uuid("principal_id")?.is_none()
                && r.opt_text("role")?.is_some_and(|role| {
                    actor
                        .roles
                        .iter()
                        .any(|(g, d)| *g == role && (d.is_none() || dept.is_none() || *d == dept))
                });
            if to_me || by_role {
                out.push(Notification {
                    id: r.uuid("id")?,
                    case_id: r.uuid("case_id")?,
                    kind: r.text("kind")?,
                    message: r.text("message")?,
                    created_at: time::rfc3339(r.i64("created_at")?),
                    read: r.opt_i64("read_at")?.is_some(),
                });
            }
            if out.len() >= 200 {
                break;
            }
        }
        Ok(out)
    }

    /// Per-flow figures: cases by state, on-time rate, mean time per state, breaches by
    /// department. Needs `flow:admin` or `case:read` in the tenant.
    pub async fn metrics(&self, p: &Principal, tenant: &str, flow: &str) -> Result<FlowMetrics> {
        self.iam.tenant(p, tenant).await?;
        if p.subtrees(onecity_iam::Permission::CaseRead, tenant)
            .is_some_and(|s| s.is_empty())
        {
            return Err(Error::forbidden(
                "flow metrics need case:read in the tenant",
            ));
        }
        let db = self.iam.db();
        let mut cases_by_state = BTreeMap::new();
        for r in db.fetch_all("SELECT state, COUNT(*) AS n FROM flow_cases WHERE tenant = $1 AND flow_key = $2 GROUP BY state", args![tenant, flow]).await? {
            cases_by_state.insert(r.text("state")?, r.i64("n")?);
        }
        let r = db
            .fetch_optional(
                "SELECT COUNT(*) AS n, COALESCE(SUM(CASE WHEN closed_at <= case_due_at THEN 1 ELSE 0 END), 0) AS ok FROM flow_cases \
                 WHERE tenant = $1 AND flow_key = $2 AND closed_at IS NOT NULL AND case_due_at IS NOT NULL",
                args![tenant, flow],
            )
            .await?
            .ok_or_else(|| Error::internal("aggregate returned no row"))?;
        let (closed, ok) = (r.i64("n")?, r.i64("ok")?);
        let mut mean_seconds_in_state = BTreeMap::new();
        for r in db
            .fetch_all(
                "SELECT h.from_state AS s, AVG(CAST(h.at - h.state_entered_at AS DOUBLE PRECISION)) AS m FROM flow_history h JOIN flow_cases c ON c.id = h.case_id \
                 WHERE c.tenant = $1 AND c.flow_key = $2 AND h.state_entered_at IS NOT NULL AND h.from_state IS NOT NULL AND h.from_state <> h.to_state GROUP BY h.from_state",
                args![tenant, flow],
            )
            .await?
        {
            mean_seconds_in_state.insert(r.text("s")?, r.f64("m")? / 1e6);
        }
        let mut breaches_by_department = BTreeMap::new();
        for r in db
            .fetch_all(
                "SELECT COALESCE(c.queue_department_id, 'none') AS d, COUNT(*) AS n FROM flow_timers t JOIN flow_cases c ON c.id = t.case_id \
                 WHERE c.tenant = $1 AND c.flow_key = $2 AND t.kind IN ('breach', 'case_breach') AND t.fired_at IS NOT NULL GROUP BY COALESCE(c.queue_department_id, 'none')",
                args![tenant, flow],
            )
            .await?
        {
            breaches_by_department.insert(r.text("d")?, r.i64("n")?);
        }
        Ok(FlowMetrics {
            flow: flow.into(),
            cases_by_state,
            closed_with_deadline: closed,
            closed_on_time: ok,
            on_time_rate: (closed > 0).then(|| ok as f64 / closed as f64),
            mean_seconds_in_state,
            breaches_by_department,
        })
    }
}
