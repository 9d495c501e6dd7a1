use crate::{assert_problem, fixture, server};
use serde_json::{json, Value};

const PGR: &str = include_str!("../../../onecity-flow/flows/pgr.json");

#[tokio::test]
async fn pgr_over_http_with_roles_inbox_and_a_race() {
    let s = server().await;
    let f = fixture(&s).await;
    let def: Value = serde_json::from_str(PGR).unwrap();
    let (st, info) = s
        .post("/api/v1/tenants/t1/flows", &f.admin, &def)
        .await
        .unwrap();
    assert_eq!((st, info["version"].as_i64()), (201, Some(1)), "{info}");
    let bad = json!({"key":"x","name":"x","module":"m","roles":["A"],"states":[{"key":"S"}],"actions":[]});
    let (st, body) = s
        .post("/api/v1/tenants/t1/flows", &f.admin, &bad)
        .await
        .unwrap();
    assert_problem(st, &body, 422, "invalid_input");
    assert!(body["errors"].as_array().unwrap().len() >= 2, "{body}");
    let (st, body) = s
        .post("/api/v1/tenants/t1/flows", &f.staff_a, &def)
        .await
        .unwrap();
    assert_problem(st, &body, 403, "forbidden");

    // A citizen, two GROs.
    let mut ids = Vec::new();
    for (u, kind) in [
        ("citizen-1", "citizen"),
        ("gro-1", "staff"),
        ("gro-2", "staff"),
    ] {
        let (st, body) = s.post("/api/v1/tenants/t1/users", &f.admin, &json!({"username":u,"display_name":u,"password":"Passw0rd-X-123","kind":kind,"roles":[]})).await.unwrap();
        assert_eq!(st, 201, "{body}");
        ids.push(body["id"].as_str().unwrap().to_string());
    }
    for gro in &ids[1..] {
        let r = s
            .http
            .post(format!("{}/api/v1/tenants/t1/flow-roles", s.url))
            .bearer_auth(&f.admin)
            .json(&json!({"principal_id":gro,"role":"GRO"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
    }
    let citizen = s.login("citizen-1", "Passw0rd-X-123").await.unwrap();
    let (g1, g2) = (
        s.login("gro-1", "Passw0rd-X-123").await.unwrap(),
        s.login("gro-2", "Passw0rd-X-123").await.unwrap(),
    );

    let (st, case) = s.post("/api/v1/tenants/t1/cases", &citizen, &json!({"flow":"pgr","title":"垃圾未清运 Garbage not collected","action":{"action":"APPLY","fields":{"description":"3 days"}}})).await.unwrap();
    assert_eq!(st, 201, "{case}");
    assert_eq!(case["state"], "PENDINGFORASSIGNMENT");
    let id = case["id"].as_str().unwrap().to_string();
    let (_, inbox) = s.get("/api/v1/tenants/t1/inbox", &g1).await.unwrap();
    assert_eq!(inbox["counts"]["total"], 1);
    assert_eq!(inbox["items"][0]["id"], id.as_str());
    assert_eq!(
        inbox["items"][0]["allowed_actions"],
        json!(["ASSIGN", "REJECT"])
    );
    let (_, inbox) = s.get("/api/v1/tenants/t1/inbox", &f.staff_a).await.unwrap();
    assert_eq!(inbox["counts"]["total"], 0);

    // The citizen may not assign: 403 with the actions they may take.
    let url = format!("/api/v1/tenants/t1/cases/{id}/actions");
    let (st, body) = s
        .post(
            &url,
            &citizen,
            &json!({"action":"ASSIGN","fields":{"assignee":ids[1]}}),
        )
        .await
        .unwrap();
    assert_problem(st, &body, 403, "forbidden");
    assert_eq!(body["allowed_actions"], json!([]));
    let (st, body) = s
        .post(&url, &g1, &json!({"action":"RATE","fields":{"rating":5}}))
        .await
        .unwrap();
    assert_problem(st, &body, 409, "invalid_transition");

    // Two GROs act at once on the same version: exactly one wins.
    let v = case["version"].as_i64().unwrap();
    let body_a = json!({"action":"ASSIGN","fields":{"assignee":ids[1]},"expected_version":v});
    let body_b =
        json!({"action":"REJECT","comment":"duplicate of another report","expected_version":v});
    let a = s.post(&url, &g1, &body_a);
    let b = s.post(&url, &g2, &body_b);
    let ((sa, ba), (sb, bb)) = tokio::join!(async { a.await.unwrap() }, async { b.await.unwrap() });
    let mut codes = vec![sa, sb];
    codes.sort();
    assert_eq!(codes, vec![200, 409], "{ba} {bb}");
    let (_, detail) = s
        .get(&format!("/api/v1/tenants/t1/cases/{id}"), &citizen)
        .await
        .unwrap();
    let actions: Vec<&str> = detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions.len(),
        3,
        "CREATE, APPLY and one winner: {actions:?}"
    );
    // Outsiders cannot read the case.
    let (st, _) = s
        .get(&format!("/api/v1/tenants/t1/cases/{id}"), &f.staff_b)
        .await
        .unwrap();
    assert_eq!(st, 404);
}
