//! The governance side of the evacuation advice: a triggered [`Advice`] opens an event of
//! the category `crowd-evacuation` (客流疏散), which the tenant's dispatch rule sends to the
//! transport department (交通运输局) as a work order on the shared workflow. Everything goes
//! through `onecity-governance`'s service ([`Gov`]); no SQL here.

use onecity_core::{Error, Result};
use onecity_governance::model::{Attribute, EventView, NewEvent, NewRule, ServiceDef};
use onecity_governance::Gov;
use onecity_iam::Principal;
use serde_json::{json, Map, Value};

use crate::evacuation::Advice;

/// Code of the crowd-evacuation event category.
pub const SERVICE_CODE: &str = "crowd-evacuation";

/// `source` of events opened by the brain.
pub const SOURCE: &str = "brain";

/// The crowd-evacuation category: no working-day deadline (the dispatch times are in the
/// event), with the advice as attributes.
pub fn category() -> ServiceDef {
    let attr = |code: &str, datatype: &str, description: &str, order: i64| Attribute {
        code: code.into(),
        datatype: datatype.into(),
        required: false,
        variable: true,
        description: description.into(),
        order,
        datatype_description: None,
        values: vec![],
    };
    ServiceDef {
        code: SERVICE_CODE.into(),
        name: "Crowd evacuation".into(),
        name_zh: Some("客流疏散".into()),
        description: Some(
            "A forecast crowd at a metro station beyond its regular capacity: send the advised \
             extra trains, buses and taxis before the dispatch times (opened by the city brain)"
                .into(),
        ),
        keywords: Some("metro,crowd,evacuation,地铁,客流,疏散".into()),
        group: Some("transport".into()),
        kind: Some("realtime".into()),
        deadline_working_days: None,
        attributes: vec![
            attr("station", "string", "Station 车站", 1),
            attr("made_at", "datetime", "Advice made at 研判时间", 2),
            attr("for_time", "datetime", "Crowd expected at 预计客流高峰", 3),
            attr(
                "lead_minutes",
                "number",
                "Lead time, minutes 提前量（分钟）",
                4,
            ),
            attr(
                "demand",
                "number",
                "Forecast inflow per 10 min 预测进站量",
                5,
            ),
            attr(
                "regular_capacity",
                "number",
                "Regular capacity per 10 min 常规运力",
                6,
            ),
            attr("metro_trains", "number", "Extra trains 加开列车", 7),
            attr("buses", "number", "Extra buses 接驳公交", 8),
            attr("taxis", "number", "Taxis 出租车", 9),
            attr(
                "dispatch_at",
                "datetime",
                "Dispatch first vehicles at 最早派车时间",
                10,
            ),
        ],
    }
}

/// Installs the crowd-evacuation category in `tenant` with a dispatch rule sending it to
/// the department `department_code` (for the Hangzhou demo: `HZ-JTJ`, 杭州市交通运输局).
/// Does nothing when the category exists already.
///
/// Errors: `not_found` when the department does not exist; the service's errors.
pub async fn install(gov: &Gov, tenant: &str, department_code: &str) -> Result<()> {
    if gov.service(tenant, SERVICE_CODE).await?.is_some() {
        return Ok(());
    }
    let sys = Principal::system();
    let dept = gov
        .iam()
        .department_by_code(tenant, department_code)
        .await?
        .ok_or_else(|| Error::not_found(format!("department {department_code} is missing")))?;
    gov.put_service(&sys, tenant, &category()).await?;
    gov.add_rule(
        &sys,
        tenant,
        &NewRule {
            service_code: Some(SERVICE_CODE.into()),
            jurisdiction_id: None,
            department_id: dept.id,
            co_departments: vec![],
            priority: 10,
        },
    )
    .await?;
    Ok(())
}

/// Opens the governance event (and through the dispatch rule its work order for the
/// transport department) of a triggered `advice` in `tenant`. The event is dated at the
/// advice's `made_at` (so a replay of past data keeps its times), carries the lead time
/// and the vehicles as attributes and in the description, and has the source `brain`.
/// `address` names the station for people (the data has no surveyed positions).
///
/// Errors: `invalid_input` for an advice that is not triggered, the governance service's
/// errors otherwise (e.g. `not_found` when the category is not installed).
pub async fn open_work_order(
    gov: &Gov,
    tenant: &str,
    advice: &Advice,
    address: &str,
) -> Result<EventView> {
    if !advice.triggered {
        return Err(Error::invalid(
            "the advice is not triggered: no work order is due",
        ));
    }
    let count = |mode: &str| {
        advice
            .modes
            .iter()
            .find(|m| m.mode.name() == mode)
            .map_or(0, |m| m.extra_vehicles)
    };
    let first_dispatch = advice
        .modes
        .iter()
        .filter(|m| m.extra_vehicles > 0)
        .map(|m| m.dispatch_at.clone())
        .min()
        .unwrap_or_else(|| advice.for_time.clone());
    let (trains, buses, taxis) = (count("metro"), count("bus"), count("taxi"));
    let description = format!(
        "客流疏散：{address} 预计 {for_time} 进站 {demand:.0} 人/10分钟（常规运力 {cap:.0}），\
         提前 {lead} 分钟；加开列车 {trains}、公交 {buses}、出租车 {taxis}，最早 {first} 派车。\
         Crowd evacuation: {address} expects {demand:.0} entries per 10 min at {for_time} \
         (regular capacity {cap:.0}), {lead} minutes ahead; send {trains} extra trains, \
         {buses} buses, {taxis} taxis, the first at {first}.",
        for_time = advice.for_time,
        demand = advice.demand,
        cap = advice.assumptions.regular_capacity,
        lead = advice.lead_minutes,
        first = first_dispatch,
    );
    let mut attributes = Map::new();
    let mut put = |k: &str, v: Value| {
        attributes.insert(k.into(), v);
    };
    put("station", json!(advice.station));
    put("made_at", json!(advice.made_at));
    put("for_time", json!(advice.for_time));
    put("lead_minutes", json!(advice.lead_minutes));
    put("demand", json!(advice.demand));
    put(
        "regular_capacity",
        json!(advice.assumptions.regular_capacity),
    );
    put("metro_trains", json!(trains));
    put("buses", json!(buses));
    put("taxis", json!(taxis));
    put("dispatch_at", json!(first_dispatch));
    let created = gov
        .create_event(
            &Principal::system(),
            tenant,
            &NewEvent {
                service_code: SERVICE_CODE.into(),
                description: Some(description),
                address_string: Some(address.into()),
                attributes,
                source: Some(SOURCE.into()),
                requested_at: Some(advice.made_at.clone()),
                ..Default::default()
            },
        )
        .await?;
    Ok(created.event)
}
