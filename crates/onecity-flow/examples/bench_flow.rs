//! Load scenario of the workflow engine on the embedded store (SQLite, WAL), with history,
//! audit records and outbox events written for every transition.
//!
//! ```text
//! cargo run --release -p onecity-flow --example bench_flow -- [transitions] [sla_cases]
//! ```
//! defaults: 20000 transitions; 1000000 open cases for the SLA scanner pass, 1 % due.
//! Generated data in a temporary directory; nothing here runs in CI.

use onecity_core::time;
use onecity_flow::model::{ActionRequest, NewCase};
use onecity_flow::Flow;
use onecity_iam::{Iam, IamConfig, NewTenant, NewUser, Principal};
use onecity_store::audit::Auditor;
use onecity_store::bus::EventBus;
use onecity_store::{Db, DbOptions, Val};
use serde_json::json;
use std::sync::Arc;
use std::time::Instant;

const FLOW: &str = r#"{"key":"bench","name":"Bench","module":"bench","roles":["HANDLER"],
 "states":[
  {"key":"OPEN","start":true,"sla":{"due":{"working_hours":8},"warn_before":{"working_hours":1}},
   "escalations":[{"after":{"working_hours":8},"then":{"notify":{"roles":["HANDLER"]}}}]},
  {"key":"WORKING","sla":{"due":{"working_hours":8},"warn_before":{"working_hours":1}},
   "escalations":[{"after":{"working_hours":8},"then":{"notify":{"roles":["HANDLER"]}}}]},
  {"key":"DONE","terminal":true}],
 "actions":[
  {"key":"START","from":["OPEN"],"to":"WORKING","roles":["HANDLER"]},
  {"key":"PAUSE","from":["WORKING"],"to":"OPEN","roles":["HANDLER"]},
  {"key":"FINISH","from":["WORKING"],"to":"DONE","roles":["HANDLER"]}]}"#;

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let transitions: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let sla_cases: usize = args
        .get(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open_sqlite(dir.path(), &DbOptions::default())
        .await
        .unwrap();
    for (c, m) in [
        ("store", onecity_store::migrations()),
        ("iam", &onecity_iam::MIGRATIONS[..]),
        ("flow", &onecity_flow::MIGRATIONS[..]),
    ] {
        onecity_store::migrate::run(&db, c, m).await.unwrap();
    }
    let iam = Iam::new(
        db.clone(),
        Auditor::load(&db).await.unwrap(),
        EventBus::local(db.clone()),
        IamConfig::default(),
    )
    .await
    .unwrap();
    let flow = Flow::new(iam.clone());
    let sys = Principal::system();
    iam.create_tenant(
        "system",
        &NewTenant {
            code: "b".into(),
            name: "Bench".into(),
            name_en: None,
            root_level: None,
            root_code: None,
        },
    )
    .await
    .unwrap();
    flow.put_definition(&sys, "b", FLOW).await.unwrap();
    let u = iam
        .create_user(
            &sys,
            "b",
            &NewUser {
                username: "h".into(),
                display_name: "h".into(),
                password: "Passw0rd-123456".into(),
                kind: None,
                department_id: None,
                roles: vec![],
                email: None,
            },
        )
        .await
        .unwrap();
    flow.grant_role(&sys, "b", u.id, "HANDLER", None)
        .await
        .unwrap();
    let handler = iam.principal_by_id(u.id).await.unwrap();

    // 1. Transitions/s: round-robin START/PAUSE over 1000 cases, 1 and 8 concurrent callers.
    let mut cases = Vec::new();
    for i in 0..1000 {
        let c = flow
            .create_case(
                &handler,
                "b",
                &NewCase {
                    flow: "bench".into(),
                    title: format!("case {i}"),
                    data: None,
                    jurisdiction_id: None,
                    department_id: None,
                    action: None,
                },
            )
            .await
            .unwrap();
        cases.push(c.id);
    }
    for workers in [1usize, 8] {
        let per = transitions / workers;
        let t0 = Instant::now();
        let mut tasks = Vec::new();
        for w in 0..workers {
            let (flow, handler, cases) = (flow.clone(), handler.clone(), cases.clone());
            tasks.push(tokio::spawn(async move {
                let mut n = 0;
                // Worker w owns cases w, w+workers, …; each alternates START and PAUSE.
                let mine: Vec<_> = cases.iter().skip(w).step_by(workers).copied().collect();
                let mut working = Vec::with_capacity(mine.len());
                for id in &mine {
                    working.push(
                        flow.case(&handler, "b", *id)
                            .await
                            .expect("case")
                            .case
                            .state
                            == "WORKING",
                    );
                }
                for i in 0..per {
                    let k = i % mine.len();
                    let action = if working[k] { "PAUSE" } else { "START" };
                    let req = ActionRequest {
                        action: action.into(),
                        ..Default::default()
                    };
                    flow.act(&handler, "b", mine[k], &req)
                        .await
                        .expect("transition");
                    working[k] = !working[k];
                    n += 1;
                }
                n
            }));
        }
        let mut done = 0;
        for t in tasks {
            done += t.await.unwrap();
        }
        let secs = t0.elapsed().as_secs_f64();
        println!("transitions: {done} with {workers} caller(s) in {secs:.2} s = {:.0}/s (history, timers, audit and outbox written)", done as f64 / secs);
    }

    // 2. One SLA scanner pass over `sla_cases` open cases, 1 % of them due.
    let t0 = Instant::now();
    let now = time::now_micros();
    let mut tx = db.begin().await.unwrap();
    let chunk = 400;
    let mut i = 0;
    while i < sla_cases {
        let n = chunk.min(sla_cases - i);
        let mut sql = String::from("INSERT INTO flow_cases (id, tenant, flow_key, flow_version, module, title, state, data, applicant_id, row_version, created_at, state_entered_at, clock_started_at, state_due_at, updated_at) VALUES ");
        let mut tsql =
            String::from("INSERT INTO flow_timers (id, case_id, kind, step, due_at) VALUES ");
        let mut a: Vec<Val> = Vec::with_capacity(n * 3);
        let mut ta: Vec<Val> = Vec::with_capacity(n * 3);
        for k in 0..n {
            let id = onecity_core::new_id().to_string();
            let due = if (i + k) % 100 == 0 {
                now - 1_000_000
            } else {
                now + 86_400_000_000
            };
            let b = a.len();
            sql.push_str(&format!("{}(${}, 'b', 'bench', 1, 'bench', 'generated', 'OPEN', '{{}}', ${}, 1, ${}, ${}, ${}, ${}, ${})", if k > 0 { "," } else { "" }, b + 1, b + 2, b + 3, b + 3, b + 3, b + 4, b + 3));
            a.push(id.clone().into());
            a.push(handler.id.into());
            a.push((now - 3_600_000_000).into());
            a.push(due.into());
            let tb = ta.len();
            tsql.push_str(&format!(
                "{}(${}, ${}, 'warn', 0, ${})",
                if k > 0 { "," } else { "" },
                tb + 1,
                tb + 2,
                tb + 3
            ));
            ta.push(onecity_core::new_id().to_string().into());
            ta.push(id.into());
            ta.push(due.into());
        }
        tx.execute(&sql, &a).await.unwrap();
        tx.execute(&tsql, &ta).await.unwrap();
        i += n;
    }
    tx.commit().await.unwrap();
    println!(
        "generated {sla_cases} open cases with one timer each in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    let t0 = Instant::now();
    let r = flow.scan_sla(now).await.unwrap();
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "SLA scan over {sla_cases} open cases: fired {} ({} warnings) in {:.3} s",
        r.fired, r.warnings, secs
    );
    let again = flow.scan_sla(now).await.unwrap();
    println!("second pass fired {} (each timer fires once)", again.fired);
    let _ = Arc::new(json!(null));
}
