//! Integration tests of the onecity binary through its public HTTP API and CLI, on a real
//! server process with a fresh store (SQLite, or PostgreSQL with
//! `ONECITY_TEST_BACKEND=postgres`). One test binary for the crate.

mod audit;
mod auth;
mod brain_metro;
mod catalog;
mod citizens;
mod datastore;
mod demo;
mod evacuation;
mod events;
mod flow;
mod flow_designer;
mod forms;
mod governance;
mod hardening;
mod input;
mod isolation;
mod items;
mod jobs;
mod mfa;
mod notify;
mod oidc;
mod ops;
mod rooms;
mod search;
mod synthetic;
mod twin;
mod twin_geo;
mod twin_provision;
mod twin_query;
mod twin_temporal;
mod twin_temporal_write;
mod twinsub;

use onecity_testkit::{Options, TestServer};
use serde_json::{json, Value};

pub const BIN: &str = env!("CARGO_BIN_EXE_onecity");

pub async fn server() -> TestServer {
    TestServer::start(BIN.as_ref(), Options::default())
        .await
        .expect("server starts")
}

pub async fn server_with(opts: Options) -> TestServer {
    TestServer::start(BIN.as_ref(), opts)
        .await
        .expect("server starts")
}

/// A tenant `t1` with two districts (A, B), a department in each, and a staff user in each
/// (`staff-a`, `staff-b`, password `Passw0rd-A-123` / `Passw0rd-B-123`).
pub struct Fixture {
    pub admin: String,
    pub district_a: String,
    pub district_b: String,
    pub dept_a: String,
    pub dept_b: String,
    pub staff_a: String,
    pub staff_b: String,
}

pub async fn fixture(s: &TestServer) -> Fixture {
    let admin = s.admin_token().await.unwrap();
    let (st, _) = s
        .post(
            "/api/v1/tenants",
            &admin,
            &json!({"code":"t1","name":"测试市","name_en":"Test City","root_code":"990100"}),
        )
        .await
        .unwrap();
    assert_eq!(st, 201);
    let mk = |code: &str, name: &str| json!({"level":"district","code":code,"name":name});
    let (st, a) = s
        .post(
            "/api/v1/tenants/t1/jurisdictions",
            &admin,
            &mk("990101", "甲区"),
        )
        .await
        .unwrap();
    assert_eq!(st, 201, "{a}");
    let (_, b) = s
        .post(
            "/api/v1/tenants/t1/jurisdictions",
            &admin,
            &mk("990102", "乙区"),
        )
        .await
        .unwrap();
    let (da, db) = (
        a["id"].as_str().unwrap().to_string(),
        b["id"].as_str().unwrap().to_string(),
    );
    let (st, dept_a) = s
        .post(
            "/api/v1/tenants/t1/departments",
            &admin,
            &json!({"jurisdiction_id":da,"code":"A-CG","name":"甲区城管局"}),
        )
        .await
        .unwrap();
    assert_eq!(st, 201, "{dept_a}");
    let (_, dept_b) = s
        .post(
            "/api/v1/tenants/t1/departments",
            &admin,
            &json!({"jurisdiction_id":db,"code":"B-CG","name":"乙区城管局"}),
        )
        .await
        .unwrap();
    for (u, pw, j, d) in [
        ("staff-a", "Passw0rd-A-123", &da, &dept_a),
        ("staff-b", "Passw0rd-B-123", &db, &dept_b),
    ] {
        let (st, body) = s.post("/api/v1/tenants/t1/users", &admin, &json!({"username":u,"display_name":u,"password":pw,"department_id":d["id"],"roles":[{"role":"staff","jurisdiction_id":j}]})).await.unwrap();
        assert_eq!(st, 201, "{body}");
    }
    Fixture {
        staff_a: s.login("staff-a", "Passw0rd-A-123").await.unwrap(),
        staff_b: s.login("staff-b", "Passw0rd-B-123").await.unwrap(),
        admin,
        district_a: da,
        district_b: db,
        dept_a: dept_a["id"].as_str().unwrap().to_string(),
        dept_b: dept_b["id"].as_str().unwrap().to_string(),
    }
}

/// Asserts an RFC 9457 problem with the given status and code.
pub fn assert_problem(status: u16, body: &Value, want_status: u16, want_code: &str) {
    assert_eq!(status, want_status, "body: {body}");
    assert_eq!(body["code"], want_code, "body: {body}");
    assert_eq!(body["status"], want_status);
    assert!(body["type"].as_str().unwrap().ends_with(want_code));
    assert!(body["title"].is_string() && body["detail"].is_string());
}
