//! Schema of the `flow` component: definitions (versioned), calendars, flow role grants,
//! cases, their history, SLA timers and in-app notifications.

use onecity_store::migrate::Migration;

const V1: &str = r#"
CREATE TABLE flow_definitions (
  tenant TEXT NOT NULL, key TEXT NOT NULL, version BIGINT NOT NULL, module TEXT NOT NULL,
  definition TEXT NOT NULL, created_by TEXT NOT NULL, created_at BIGINT NOT NULL,
  PRIMARY KEY (tenant, key, version));
CREATE TABLE flow_calendars (tenant TEXT PRIMARY KEY, calendar TEXT NOT NULL, updated_at BIGINT NOT NULL);
CREATE TABLE flow_role_grants (
  tenant TEXT NOT NULL, principal_id TEXT NOT NULL, role TEXT NOT NULL, department_id TEXT,
  created_at BIGINT NOT NULL);
CREATE INDEX flow_role_grants_principal ON flow_role_grants (principal_id);
CREATE INDEX flow_role_grants_role ON flow_role_grants (tenant, role);
CREATE TABLE flow_cases (
  id TEXT PRIMARY KEY, tenant TEXT NOT NULL, flow_key TEXT NOT NULL, flow_version BIGINT NOT NULL,
  module TEXT NOT NULL, title TEXT NOT NULL, state TEXT NOT NULL, data TEXT NOT NULL,
  applicant_id TEXT NOT NULL, assignee_id TEXT, queue_department_id TEXT, queue_role TEXT,
  jurisdiction_id TEXT, row_version BIGINT NOT NULL, created_at BIGINT NOT NULL,
  state_entered_at BIGINT NOT NULL, clock_started_at BIGINT, state_due_at BIGINT, state_warn_at BIGINT,
  case_due_at BIGINT, escalation_level BIGINT NOT NULL DEFAULT 0, breached BIGINT NOT NULL DEFAULT 0,
  closed_at BIGINT, updated_at BIGINT NOT NULL);
CREATE INDEX flow_cases_assignee ON flow_cases (assignee_id, closed_at);
CREATE INDEX flow_cases_queue_dept ON flow_cases (queue_department_id, closed_at);
CREATE INDEX flow_cases_queue_role ON flow_cases (tenant, queue_role, closed_at);
CREATE INDEX flow_cases_flow ON flow_cases (tenant, flow_key, state);
CREATE TABLE flow_history (
  case_id TEXT NOT NULL, seq BIGINT NOT NULL, at BIGINT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
  from_state TEXT, to_state TEXT NOT NULL, comment TEXT, attachments TEXT, assignee_id TEXT,
  department_id TEXT, state_entered_at BIGINT, PRIMARY KEY (case_id, seq));
CREATE TABLE flow_timers (
  id TEXT PRIMARY KEY, case_id TEXT NOT NULL, kind TEXT NOT NULL, step BIGINT NOT NULL,
  due_at BIGINT NOT NULL, fired_at BIGINT);
CREATE INDEX flow_timers_due ON flow_timers (due_at) WHERE fired_at IS NULL;
CREATE INDEX flow_timers_case ON flow_timers (case_id);
CREATE TABLE flow_notifications (
  id TEXT PRIMARY KEY, tenant TEXT NOT NULL, principal_id TEXT, role TEXT, department_id TEXT,
  case_id TEXT NOT NULL, kind TEXT NOT NULL, message TEXT NOT NULL, created_at BIGINT NOT NULL, read_at BIGINT);
CREATE INDEX flow_notifications_principal ON flow_notifications (principal_id, read_at);
"#;

const V2: &str = r#"
ALTER TABLE flow_notifications ADD COLUMN emailed_at BIGINT;
ALTER TABLE flow_notifications ADD COLUMN webhooked_at BIGINT;
ALTER TABLE flow_notifications ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
"#;

const V3: &str = "CREATE TABLE flow_jurisdiction_calendars (jurisdiction_id TEXT PRIMARY KEY, tenant TEXT NOT NULL, calendar TEXT NOT NULL, updated_at BIGINT NOT NULL);";

/// The component's migrations.
pub static MIGRATIONS: [Migration; 3] = [
    Migration {
        version: 1,
        name: "flow definitions, cases, history, timers, notifications",
        sqlite: V1,
        postgres: V1,
    },
    Migration {
        version: 2,
        name: "notification delivery by e-mail and webhook",
        sqlite: V2,
        postgres: V2,
    },
    Migration {
        version: 3,
        name: "calendars per jurisdiction",
        sqlite: V3,
        postgres: V3,
    },
];
