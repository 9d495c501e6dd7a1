//! onecity-governance: one network for city governance (一网统管).
//!
//! Owns events (service requests, 事件) from every source — Open311 POSTs, staff entry,
//! imports of historical 311 data, twin alerts — with their categories (Open311 services
//! with service definitions and attributes), their place (jurisdiction, community and grid
//! through the geo index, with a flag when the point lies near an area border), duplicate
//! suggestions and merges, attachments with size and type limits; dispatch rules
//! (category + area → responsible department, with priorities where bodies overlap);
//! work orders on the shared workflow (`hotline-12345` in `onecity-flow`) with deadlines
//! per category counted in working days on the jurisdiction's calendar; linkage plans
//! (预案) and CAP 1.2 alerts raised from twin data; ratings and statistics.
//!
//! Standard API: Open311 GeoReport v2 at `/open311/v2` ([`open311`]); own API under
//! `/api/v1/tenants/{tenant}/governance/…` ([`routes`]); CAP 1.2 at
//! `/api/v1/alerts/{id}.cap.xml` ([`cap`]).
//!
//! Times are stored as UTC microseconds and shown in the jurisdiction's zone (the
//! governance setting `time_zone`, else the zone of the tenant's working-day calendar).

pub mod cap;
pub mod consumer;
pub mod demo;
pub mod import;
pub mod model;
pub mod open311;
pub mod routes;
mod service;
mod store;
pub mod timefmt;

pub use service::{Gov, Limits};

use onecity_store::migrate::Migration;

const V1: &str = r#"
CREATE TABLE gov_settings (tenant TEXT PRIMARY KEY, settings TEXT NOT NULL, updated_at BIGINT NOT NULL);
CREATE TABLE gov_services (
  tenant TEXT NOT NULL, code TEXT NOT NULL, name TEXT NOT NULL, name_zh TEXT, description TEXT,
  keywords TEXT, grp TEXT, kind TEXT NOT NULL, deadline_working_days BIGINT, attributes TEXT NOT NULL,
  created_at BIGINT NOT NULL, PRIMARY KEY (tenant, code));
CREATE TABLE gov_events (
  id TEXT PRIMARY KEY, tenant TEXT NOT NULL, request_id TEXT NOT NULL, token TEXT NOT NULL,
  source TEXT NOT NULL, external_id TEXT, service_code TEXT NOT NULL, description TEXT,
  status TEXT NOT NULL, status_notes TEXT, lat DOUBLE PRECISION, lon DOUBLE PRECISION,
  address TEXT, address_id TEXT, zipcode TEXT, jurisdiction_id TEXT, jurisdiction_code TEXT,
  jurisdiction_name TEXT, community_code TEXT, grid_code TEXT, near_border BIGINT NOT NULL,
  attributes TEXT NOT NULL, media_url TEXT, attachments TEXT NOT NULL, agency TEXT,
  department_id TEXT, co_departments TEXT NOT NULL, case_id TEXT, duplicate_of TEXT, merged_into TEXT,
  contact TEXT, requested_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, due_at BIGINT,
  closed_at BIGINT, rating BIGINT, rating_comment TEXT, created_at BIGINT NOT NULL,
  UNIQUE (tenant, request_id), UNIQUE (tenant, source, external_id));
CREATE INDEX gov_events_requested ON gov_events (tenant, requested_at);
CREATE INDEX gov_events_code ON gov_events (tenant, service_code, requested_at);
CREATE INDEX gov_events_token ON gov_events (token);
CREATE INDEX gov_events_case ON gov_events (case_id);
CREATE TABLE gov_event_log (
  event_id TEXT NOT NULL, seq BIGINT NOT NULL, at BIGINT NOT NULL, actor TEXT NOT NULL,
  kind TEXT NOT NULL, detail TEXT, PRIMARY KEY (event_id, seq));
CREATE TABLE gov_rules (
  id TEXT PRIMARY KEY, tenant TEXT NOT NULL, service_code TEXT, jurisdiction_id TEXT,
  department_id TEXT NOT NULL, co_departments TEXT NOT NULL, priority BIGINT NOT NULL,
  created_at BIGINT NOT NULL);
CREATE INDEX gov_rules_tenant ON gov_rules (tenant);
CREATE TABLE gov_plans (
  id TEXT PRIMARY KEY, tenant TEXT NOT NULL, alert_type TEXT NOT NULL, level TEXT NOT NULL,
  name TEXT NOT NULL, tasks TEXT NOT NULL, created_at BIGINT NOT NULL,
  UNIQUE (tenant, alert_type, level));
CREATE TABLE gov_alert_rules (
  id TEXT PRIMARY KEY, tenant TEXT NOT NULL, entity_type TEXT NOT NULL, attribute TEXT NOT NULL,
  alert_type TEXT NOT NULL, thresholds TEXT NOT NULL, created_at BIGINT NOT NULL);
CREATE TABLE gov_alerts (
  id TEXT PRIMARY KEY, tenant TEXT NOT NULL, source TEXT NOT NULL, source_ref TEXT NOT NULL,
  alert_type TEXT NOT NULL, level TEXT NOT NULL, headline TEXT NOT NULL, description TEXT,
  area_desc TEXT NOT NULL, polygons TEXT NOT NULL, circles TEXT NOT NULL, sent_at BIGINT NOT NULL,
  cap_xml TEXT, work_orders TEXT NOT NULL, pending BIGINT NOT NULL, created_at BIGINT NOT NULL,
  UNIQUE (tenant, source, source_ref));
CREATE INDEX gov_alerts_pending ON gov_alerts (pending);
"#;

const V2: &str = r#"
ALTER TABLE gov_alerts ADD COLUMN claimed_at BIGINT;
CREATE TABLE gov_alert_tasks (
  alert_id TEXT NOT NULL, task_no BIGINT NOT NULL, case_id TEXT NOT NULL,
  PRIMARY KEY (alert_id, task_no));
"#;

/// Migrations of the `governance` component.
pub static MIGRATIONS: [Migration; 2] = [
    Migration {
        version: 1,
        name: "events, categories, rules, plans, alerts",
        sqlite: V1,
        postgres: V1,
    },
    Migration {
        version: 2,
        name: "plan runner lease and per-task work orders",
        sqlite: V2,
        postgres: V2,
    },
];

#[cfg(test)]
mod fuzz;
