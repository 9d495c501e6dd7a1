//! The governance part of the demo (演示数据): New York City's 311 categories, dispatch
//! rules, working-day calendar, the 999 real 311 requests of
//! `requests311/311_nyc_sample.csv` (see `../shared/data/README.md`) and a flood plan with
//! its alert rule. The binary's demo loader creates the tenant and its departments, then
//! calls [`install_nyc`].

use crate::model::{AlertRule, NewRule, Plan, PlanTask, ServiceDef, Settings};
use crate::Gov;
use onecity_core::{Error, Result};
use onecity_iam::Principal;
use std::path::Path;

/// The tenant being installed (a code only; kept as a struct so calls read `t.code`).
struct Tenant<'a> {
    code: &'a str,
}

/// The flood gauge of the NYC demo: a placed position (the source data gives none) at The
/// Battery, inside Manhattan (FIPS 36061). Twin updates of this entity's `waterLevel`
/// raise flood alerts through the demo alert rule.
pub const NYC_DEMO_GAUGE: (&str, f64, f64) = (
    "urn:ngsi-ld:WaterObserved:nyc-demo-gauge-battery",
    40.7033,
    -74.0170,
);

/// Installs the NYC governance demo into `tenant` (its departments `NYC-DOT`, `NYC-DEP`,
/// `NYC-DSNY`, `NYC-OEM` and `NYC-NYPD` must exist): settings (America/New_York), categories with deadlines and
/// attributes, dispatch rules, the 999 real 311 requests, and a flood plan with its
/// alert rule (gauge: [`NYC_DEMO_GAUGE`], a placed position).
///
/// Errors: `not_found` for a missing department, `invalid_input` when the CSV is missing,
/// and whatever the services return.
pub async fn install_nyc(gov: &Gov, tenant: &str, dir: &Path) -> Result<()> {
    let sys = Principal::system();
    let t = Tenant { code: tenant };
    gov.put_settings(
        &sys,
        t.code,
        &Settings {
            time_zone: Some("America/New_York".into()),
            ..Default::default()
        },
    )
    .await?;
    // Working days of the city: US federal holidays (observed dates), New York time.
    let calendar = serde_json::json!({
        "time_zone": "America/New_York",
        "source": "US federal holidays, observed dates (OPM)",
        "years": {
            "2026": {"holidays": [
                {"name": "New Year's Day", "days": ["2026-01-01"]}, {"name": "Martin Luther King Jr. Day", "days": ["2026-01-19"]},
                {"name": "Presidents' Day", "days": ["2026-02-16"]}, {"name": "Memorial Day", "days": ["2026-05-25"]},
                {"name": "Juneteenth", "days": ["2026-06-19"]}, {"name": "Independence Day (observed)", "days": ["2026-07-03"]},
                {"name": "Labor Day", "days": ["2026-09-07"]}, {"name": "Columbus Day", "days": ["2026-10-12"]},
                {"name": "Veterans Day", "days": ["2026-11-11"]}, {"name": "Thanksgiving Day", "days": ["2026-11-26"]},
                {"name": "Christmas Day", "days": ["2026-12-25"]}]},
            "2027": {"holidays": [
                {"name": "New Year's Day", "days": ["2027-01-01"]}, {"name": "Martin Luther King Jr. Day", "days": ["2027-01-18"]},
                {"name": "Presidents' Day", "days": ["2027-02-15"]}, {"name": "Memorial Day", "days": ["2027-05-31"]},
                {"name": "Juneteenth (observed)", "days": ["2027-06-18"]}, {"name": "Independence Day (observed)", "days": ["2027-07-05"]},
                {"name": "Labor Day", "days": ["2027-09-06"]}, {"name": "Columbus Day", "days": ["2027-10-11"]},
                {"name": "Veterans Day", "days": ["2027-11-11"]}, {"name": "Thanksgiving Day", "days": ["2027-11-25"]},
                {"name": "Christmas Day (observed)", "days": ["2027-12-24"]}]}
        }
    });
    gov.flow()
        .put_calendar(&sys, t.code, None, &calendar.to_string())
        .await?;
    let services: Vec<ServiceDef> = serde_json::from_value(serde_json::json!([
        {"code": "pothole", "name": "Pothole", "name_zh": "路面坑洼", "group": "DOT", "deadline_working_days": 3,
         "description": "A hole in the road surface (help request: 3 working days)",
         "attributes": [
           {"code": "size", "datatype": "singlevaluelist", "required": true, "description": "How big is it?", "order": 1,
            "values": [{"key": "small", "name": "smaller than a plate"}, {"key": "large", "name": "larger than a plate"}]},
           {"code": "hazards", "datatype": "multivaluelist", "description": "What else is there?", "order": 2,
            "values": [{"key": "water", "name": "standing water"}, {"key": "glass", "name": "broken glass"}, {"key": "traffic", "name": "heavy traffic"}]}
         ]},
        {"code": "street-flooding", "name": "Street flooding", "name_zh": "道路积水", "group": "DEP", "deadline_working_days": 0,
         "description": "Water on the street (emergency: the same working day)"},
        {"code": "service-complaint", "name": "Complaint about a service", "name_zh": "服务投诉", "group": "311", "deadline_working_days": 13,
         "description": "A complaint about a city service (13 working days)"}
    ]))
    .map_err(Error::internal)?;
    for s in &services {
        gov.put_service(&sys, t.code, s).await?;
    }
    let dept = |code: &str| {
        let code = code.to_string();
        async move {
            gov.iam()
                .department_by_code(t.code, &code)
                .await?
                .ok_or_else(|| Error::not_found(format!("demo department {code} is missing")))
        }
    };
    for (code, d, prio) in [
        (Some("pothole"), "NYC-DOT", 10),
        (Some("street-flooding"), "NYC-DEP", 10),
        (None, "NYC-DSNY", 0),
    ] {
        gov.add_rule(
            &sys,
            t.code,
            &NewRule {
                service_code: code.map(str::to_string),
                jurisdiction_id: None,
                department_id: dept(d).await?.id,
                co_departments: vec![],
                priority: prio,
            },
        )
        .await?;
    }
    let path = dir.join("requests311/311_nyc_sample.csv");
    let csv = std::fs::read(&path)
        .map_err(|e| Error::invalid(format!("demo data {}: {e}", path.display())))?;
    let rep = gov.import_nyc311(&sys, t.code, &csv).await?;
    tracing::info!(
        tenant = "nyc",
        inserted = rep.inserted,
        clamped = rep.clamped,
        "demo 311 requests loaded"
    );
    let task = |d: &str, title: &str, h: u32| PlanTask {
        department_code: d.into(),
        title: title.into(),
        deadline_hours: h,
    };
    for (level, name) in [
        ("red", "Flood response level I"),
        ("orange", "Flood response level II"),
    ] {
        gov.put_plan(
            &sys,
            t.code,
            &Plan {
                alert_type: "flood".into(),
                level: level.into(),
                name: name.into(),
                tasks: vec![
                    task(
                        "NYC-OEM",
                        "Open the emergency operations centre 启动应急指挥",
                        1,
                    ),
                    task("NYC-NYPD", "Close flooded underpasses 封闭积水路段", 2),
                    task(
                        "NYC-DOT",
                        "Detour traffic and pump streets 交通疏导与排水",
                        4,
                    ),
                ],
            },
        )
        .await?;
    }
    gov.add_alert_rule(
        &sys,
        t.code,
        &AlertRule {
            entity_type: "WaterObserved".into(),
            attribute: "waterLevel".into(),
            alert_type: "flood".into(),
            thresholds: serde_json::from_value(
                serde_json::json!({"blue": 1.5, "yellow": 2.0, "orange": 2.5, "red": 3.0}),
            )
            .map_err(Error::internal)?,
        },
    )
    .await?;
    Ok(())
}
