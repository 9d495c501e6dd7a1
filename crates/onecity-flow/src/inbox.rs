//! The to-do inbox (一体办公), in-app notifications and per-flow metrics.

use crate::engine::Flow;
use crate::model::{CaseView, FlowMetrics, Inbox, InboxCounts, Notification};
use crate::store;
use onecity_core::page::{decode_cursor, encode_cursor};
use onecity_core::{time, Error, Result};
use onecity_iam::Principal;
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
        let departments: Vec<Uuid> = depts.into_iter().collect();
        let filter = store::InboxFilter {
            tenant,
            principal_id: p.id,
            departments: &departments,
            roles: &roles,
            flow: q.flow.as_deref(),
            module: q.module.as_deref(),
            state: q.state.as_deref(),
            limit: INBOX_SCAN_LIMIT,
        };
        let candidates = store::inbox_candidates(self.iam.db(), &filter).await?;
        let now = self.now();
        let mut items: Vec<CaseView> = Vec::new();
        for c in candidates {
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
        let rows = store::tenant_notifications(self.iam.db(), tenant, 5000).await?;
        let mut out = Vec::new();
        for row in rows {
            let to_me = row.principal_id == Some(p.id);
            let department = row.department_id;
            let by_role = row.principal_id.is_none()
                && row.role.as_ref().is_some_and(|role| {
                    actor.roles.iter().any(|(granted, granted_department)| {
                        granted == role
                            && (granted_department.is_none()
                                || department.is_none()
                                || *granted_department == department)
                    })
                });
            if to_me || by_role {
                out.push(Notification {
                    id: row.id,
                    case_id: row.case_id,
                    kind: row.kind,
                    message: row.message,
                    created_at: time::rfc3339(row.created_at),
                    read: row.read_at.is_some(),
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
        let cases_by_state: BTreeMap<String, i64> = store::cases_by_state(db, tenant, flow)
            .await?
            .into_iter()
            .collect();
        let store::OnTimeCounts {
            closed,
            on_time: ok,
        } = store::on_time_counts(db, tenant, flow).await?;
        let mean_seconds_in_state: BTreeMap<String, f64> =
            store::mean_micros_in_state(db, tenant, flow)
                .await?
                .into_iter()
                .map(|(state, mean_micros)| (state, mean_micros / 1e6))
                .collect();
        let breaches_by_department: BTreeMap<String, i64> =
            store::breaches_by_department(db, tenant, flow)
                .await?
                .into_iter()
                .collect();
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
