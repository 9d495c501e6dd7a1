//! The flow API as the flow designer (/console/flows) uses it: list definitions with
//! their versions, read one version, check a definition without storing it
//! (`?validate_only=true`), save a new version, and see every problem the engine lists
//! with its code and the states and actions it names.

use crate::{assert_problem, fixture, server, Fixture};
use chrono::{DateTime, Utc};
use onecity_flow::calendar::WorkCalendar;
use onecity_testkit::TestServer;
use serde_json::{json, Value};

const MULTI_DEPT: &str = include_str!("../../../onecity-flow/flows/multi-dept-approval.json");
const FLOWS: &str = "/api/v1/tenants/t1/flows";
const CHECK: &str = "/api/v1/tenants/t1/flows?validate_only=true";

async fn install_multi_dept(s: &TestServer, f: &Fixture) {
    let def: Value = serde_json::from_str(MULTI_DEPT).unwrap();
    let (st, info) = s.post(FLOWS, &f.admin, &def).await.unwrap();
    assert_eq!((st, info["version"].as_i64()), (201, Some(1)), "{info}");
}

async fn definition(s: &TestServer, f: &Fixture, version: i64) -> Value {
    let (st, def) = s
        .get(
            &format!("{FLOWS}/multi-dept-approval?version={version}"),
            &f.admin,
        )
        .await
        .unwrap();
    assert_eq!(st, 200, "{def}");
    def
}

/// The definition with a review state (复核, 2 working days, warn 4 working hours before)
/// between submission and the health review, as the browser test builds it.
fn with_review_state(mut def: Value) -> Value {
    def["states"].as_array_mut().unwrap().push(json!({
        "key": "REVIEW", "name": "Review", "name_zh": "复核",
        "sla": {"due": {"working_days": 2}, "warn_before": {"working_hours": 4}}
    }));
    let actions = def["actions"].as_array_mut().unwrap();
    actions.push(
        json!({"key": "PRECHECK", "from": ["SUBMITTED"], "to": "REVIEW", "roles": ["WINDOW"]}),
    );
    actions.push(
        json!({"key": "REVIEW_PASS", "from": ["REVIEW"], "to": "HEALTH_REVIEW",
        "roles": ["WINDOW"], "required": ["comment"]}),
    );
    def
}

fn time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

#[tokio::test]
async fn definitions_round_trip_and_dry_runs_store_nothing() {
    let s = server().await;
    let f = fixture(&s).await;
    install_multi_dept(&s, &f).await;
    let v1 = definition(&s, &f, 1).await;
    // The stored form keeps what the designer does not edit (escalations, clock, updatable).
    assert_eq!(
        v1["states"][1]["escalations"],
        json!([{"after": {"working_days": 1}, "then": {"notify": {"roles": ["WINDOW"]}}}])
    );
    assert_eq!(v1["states"][1]["clock"], "on_claim");

    // Saving the stored form unchanged gives a new version with the same definition.
    let (st, info) = s.post(FLOWS, &f.admin, &v1).await.unwrap();
    assert_eq!((st, info["version"].as_i64()), (201, Some(2)), "{info}");
    assert_eq!(info["name_zh"], "多部门联办审批（出生一件事）");
    assert_eq!(definition(&s, &f, 2).await, v1);

    // The list has every version with both names; staff without flow_admin may read it.
    let (st, list) = s.get(FLOWS, &f.staff_a).await.unwrap();
    assert_eq!(st, 200, "{list}");
    let versions: Vec<(String, i64, String)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["key"].as_str().unwrap().to_string(),
                i["version"].as_i64().unwrap(),
                i["name_zh"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let name_zh = "多部门联办审批（出生一件事）".to_string();
    assert_eq!(
        versions,
        vec![
            ("multi-dept-approval".into(), 1, name_zh.clone()),
            ("multi-dept-approval".into(), 2, name_zh)
        ]
    );

    // A dry run of a valid change: 200, valid, the version a save would create; nothing stored.
    let changed = with_review_state(v1.clone());
    let (st, check) = s.post(CHECK, &f.admin, &changed).await.unwrap();
    assert_eq!(st, 200, "{check}");
    assert_eq!(
        check,
        json!({"valid": true, "key": "multi-dept-approval", "next_version": 3, "errors": [], "problems": []})
    );
    let (_, list) = s.get(FLOWS, &f.admin).await.unwrap();
    assert_eq!(
        list.as_array().unwrap().len(),
        2,
        "a dry run stores nothing"
    );

    // Checking and saving need flow_admin over the tenant.
    let (st, body) = s.post(CHECK, &f.staff_a, &changed).await.unwrap();
    assert_problem(st, &body, 403, "forbidden");
    let (st, body) = s.post(FLOWS, &f.staff_a, &changed).await.unwrap();
    assert_problem(st, &body, 403, "forbidden");
}

#[tokio::test]
async fn every_problem_is_listed_with_what_it_names_by_dry_run_and_save_alike() {
    let s = server().await;
    let f = fixture(&s).await;
    install_multi_dept(&s, &f).await;
    let mut bad = definition(&s, &f, 1).await;
    // A state no action reaches (and none leaves), and an action to an undefined state.
    bad["states"]
        .as_array_mut()
        .unwrap()
        .push(json!({"key": "ORPHAN", "name_zh": "孤立"}));
    bad["actions"].as_array_mut().unwrap().push(
        json!({"key": "JUMP", "from": ["SUBMITTED"], "to": "NOWHERE", "roles": ["WINDOW", "CLERK"]}),
    );
    let (st, check) = s.post(CHECK, &f.admin, &bad).await.unwrap();
    assert_eq!(st, 200, "{check}");
    assert_eq!(check["valid"], false);
    assert_eq!(
        check["problems"],
        json!([
            {"code": "to_undefined_state", "action": "JUMP", "state": "NOWHERE",
             "message": "action \"JUMP\" leads to undefined state \"NOWHERE\""},
            {"code": "undeclared_role", "action": "JUMP", "role": "CLERK",
             "message": "action \"JUMP\" names undeclared role \"CLERK\" (declared: WINDOW, HEALTH_REVIEWER, POLICE_REVIEWER, INSURANCE_REVIEWER)"},
            {"code": "dead_end", "state": "ORPHAN",
             "message": "state \"ORPHAN\" is not terminal but no action leaves it"},
            {"code": "unreachable_state", "state": "ORPHAN",
             "message": "state \"ORPHAN\" is unreachable from the start state \"SUBMITTED\""}
        ])
    );
    let messages: Vec<Value> = check["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["message"].clone())
        .collect();
    assert_eq!(check["errors"], Value::from(messages));

    // Saving the same definition is refused with the same problems, and stores nothing.
    let (st, refused) = s.post(FLOWS, &f.admin, &bad).await.unwrap();
    assert_problem(st, &refused, 422, "invalid_input");
    assert_eq!(refused["detail"], "the flow definition has 4 problem(s)");
    assert_eq!(refused["problems"], check["problems"]);
    assert_eq!(refused["errors"], check["errors"]);
    let (_, list) = s.get(FLOWS, &f.admin).await.unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);

    // A span out of range names the state and the field.
    let mut zero = definition(&s, &f, 1).await;
    zero["states"][0]["sla"]["due"] = json!({"working_hours": 0});
    let (_, check) = s.post(CHECK, &f.admin, &zero).await.unwrap();
    assert_eq!(
        check["problems"],
        json!([{"code": "span_out_of_range", "state": "SUBMITTED", "field": "sla.due",
            "message": "state \"SUBMITTED\": sla.due must be positive and at most ten years"}])
    );

    // Text that is not a definition: one problem with the parser's words.
    let (st, check) = s
        .post(CHECK, &f.admin, &json!({"key": "x", "colour": "red"}))
        .await
        .unwrap();
    assert_eq!(st, 200);
    assert_eq!(check["problems"][0]["code"], "not_a_definition");
    assert!(
        check["problems"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("unknown field `colour`"),
        "{check}"
    );
}

#[tokio::test]
async fn a_new_state_with_a_deadline_gets_new_cases_and_running_cases_keep_their_version() {
    let s = server().await;
    let f = fixture(&s).await;
    install_multi_dept(&s, &f).await;
    let (st, user) = s
        .post(
            "/api/v1/tenants/t1/users",
            &f.admin,
            &json!({"username": "window-1", "display_name": "窗口 Window", "password": "Passw0rd-W-123", "kind": "staff", "roles": []}),
        )
        .await
        .unwrap();
    assert_eq!(st, 201, "{user}");
    let r = s
        .http
        .post(format!("{}/api/v1/tenants/t1/flow-roles", s.url))
        .bearer_auth(&f.admin)
        .json(&json!({"principal_id": user["id"], "role": "WINDOW"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let window = s.login("window-1", "Passw0rd-W-123").await.unwrap();
    let new_case = json!({"flow": "multi-dept-approval", "title": "出生一件事 Newborn bundle"});
    let (st, old_case) = s
        .post("/api/v1/tenants/t1/cases", &window, &new_case)
        .await
        .unwrap();
    assert_eq!(st, 201, "{old_case}");

    let changed = with_review_state(definition(&s, &f, 1).await);
    let (st, info) = s.post(FLOWS, &f.admin, &changed).await.unwrap();
    assert_eq!((st, info["version"].as_i64()), (201, Some(2)), "{info}");

    // The case made on version 1 keeps it: PRECHECK does not exist there.
    let (_, old) = s
        .get(
            &format!(
                "/api/v1/tenants/t1/cases/{}",
                old_case["id"].as_str().unwrap()
            ),
            &window,
        )
        .await
        .unwrap();
    assert_eq!(old["case"]["flow_version"], 1);
    assert_eq!(old["case"]["allowed_actions"], json!(["ACCEPT", "REFUSE"]));

    // A new case follows version 2 into the review state, due in 2 working days.
    let (st, case) = s
        .post("/api/v1/tenants/t1/cases", &window, &new_case)
        .await
        .unwrap();
    assert_eq!(st, 201, "{case}");
    assert_eq!(case["flow_version"], 2);
    assert_eq!(
        case["allowed_actions"],
        json!(["ACCEPT", "PRECHECK", "REFUSE"])
    );
    let url = format!(
        "/api/v1/tenants/t1/cases/{}/actions",
        case["id"].as_str().unwrap()
    );
    let (st, case) = s
        .post(&url, &window, &json!({"action": "PRECHECK"}))
        .await
        .unwrap();
    assert_eq!(st, 200, "{case}");
    assert_eq!(case["state"], "REVIEW");
    assert_eq!(case["state_name"], "Review");
    let entered = time(&case["state_entered_at"]);
    let due = WorkCalendar::china_mainland()
        .add_working_days(entered, 2)
        .unwrap();
    assert_eq!(time(&case["state_due_at"]), due);
    assert!(
        due - entered >= chrono::Duration::days(2),
        "{entered} → {due}"
    );

    // Leaving it needs the comment the new action requires.
    let (st, body) = s
        .post(&url, &window, &json!({"action": "REVIEW_PASS"}))
        .await
        .unwrap();
    assert_problem(st, &body, 422, "invalid_input");
    let (st, case) = s
        .post(
            &url,
            &window,
            &json!({"action": "REVIEW_PASS", "comment": "材料齐全 documents complete"}),
        )
        .await
        .unwrap();
    assert_eq!(st, 200, "{case}");
    assert_eq!(case["state"], "HEALTH_REVIEW");
}
