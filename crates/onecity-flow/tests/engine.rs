//! The workflow engine end to end on a real store (SQLite, or PostgreSQL with
//! `ONECITY_TEST_BACKEND=postgres`), with a controlled clock and the real 2025 mainland
//! China calendar. Deadlines below were counted by hand on that calendar.

use chrono::{DateTime, TimeZone, Utc};
use onecity_core::ErrorCode;
use onecity_flow::inbox::InboxQuery;
use onecity_flow::model::{ActionRequest, NewCase};
use onecity_flow::Flow;
use onecity_iam::{Iam, IamConfig, NewDepartment, NewTenant, NewUser, Principal, RoleGrantInput};
use onecity_store::audit::Auditor;
use onecity_store::bus::EventBus;
use onecity_store::{Db, DbOptions};
use serde_json::{json, Map, Value};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use uuid::Uuid;

struct World {
    _dir: tempfile::TempDir,
    iam: Iam,
    flow: Flow,
    clock: Arc<AtomicI64>,
    db: Db,
}

/// Beijing time (UTC+8) to µs since the epoch.
fn bj(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> i64 {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0)
        .unwrap()
        .timestamp_micros()
        - 8 * 3600 * 1_000_000
}

fn rfc(m: i64) -> String {
    onecity_core::time::rfc3339(m)
}

impl World {
    async fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let db = match onecity_testkit::backend() {
            onecity_testkit::Backend::Sqlite => Db::open_sqlite(dir.path(), &DbOptions::default())
                .await
                .unwrap(),
            onecity_testkit::Backend::Postgres => Db::open_postgres(
                &onecity_testkit::fresh_pg_database().await.unwrap(),
                &DbOptions::default(),
            )
            .await
            .unwrap(),
        };
        onecity_store::migrate::run(&db, "store", onecity_store::migrations())
            .await
            .unwrap();
        onecity_store::migrate::run(&db, "iam", &onecity_iam::MIGRATIONS)
            .await
            .unwrap();
        onecity_store::migrate::run(&db, "flow", &onecity_flow::MIGRATIONS)
            .await
            .unwrap();
        let auditor = Auditor::load(&db).await.unwrap();
        let iam = Iam::new(
            db.clone(),
            auditor,
            EventBus::local(db.clone()),
            IamConfig::default(),
        )
        .await
        .unwrap();
        let clock = Arc::new(AtomicI64::new(bj(2025, 9, 26, 9, 0)));
        let c = clock.clone();
        let flow = Flow::new(iam.clone()).with_clock(Arc::new(move || c.load(Ordering::SeqCst)));
        iam.create_tenant(
            "system",
            &NewTenant {
                code: "hz".into(),
                name: "杭州市".into(),
                name_en: None,
                root_level: None,
                root_code: Some("330100".into()),
            },
        )
        .await
        .unwrap();
        assert_eq!(flow.install_shipped("hz").await.unwrap(), 3);
        World {
            _dir: dir,
            iam,
            flow,
            clock,
            db,
        }
    }

    fn at(&self, m: i64) {
        self.clock.store(m, Ordering::SeqCst);
    }

    async fn user(
        &self,
        name: &str,
        kind: &str,
        roles: &[&str],
        dept: Option<Uuid>,
    ) -> Arc<Principal> {
        let sys = Principal::system();
        let u = self
            .iam
            .create_user(
                &sys,
                "hz",
                &NewUser {
                    username: name.into(),
                    display_name: name.into(),
                    password: "Passw0rd-123456".into(),
                    kind: Some(kind.into()),
                    department_id: dept,
                    email: Some(format!("{name}@example.cn")),
                    roles: if kind == "staff" {
                        vec![RoleGrantInput {
                            role: "staff".into(),
                            jurisdiction_id: None,
                            department_id: None,
                        }]
                    } else {
                        vec![]
                    },
                },
            )
            .await
            .unwrap();
        for r in roles {
            self.flow
                .grant_role(&sys, "hz", u.id, r, None)
                .await
                .unwrap();
        }
        self.iam.principal_by_id(u.id).await.unwrap()
    }

    async fn dept(&self, code: &str) -> Uuid {
        let t = self.iam.tenant_unchecked("hz").await.unwrap();
        self.iam
            .create_department(
                &Principal::system(),
                "hz",
                &NewDepartment {
                    jurisdiction_id: t.root_jurisdiction_id,
                    code: code.into(),
                    name: code.into(),
                    name_en: None,
                },
            )
            .await
            .unwrap()
            .id
    }

    async fn inbox_ids(&self, p: &Principal) -> Vec<Uuid> {
        self.flow
            .inbox(p, "hz", &InboxQuery::default())
            .await
            .unwrap()
            .items
            .iter()
            .map(|c| c.id)
            .collect()
    }
}

fn act(action: &str, fields: Value) -> ActionRequest {
    let fields: Map<String, Value> = fields.as_object().cloned().unwrap_or_default();
    ActionRequest {
        action: action.into(),
        comment: None,
        fields,
        ..Default::default()
    }
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

#[tokio::test]
async fn pgr_complaint_escalates_across_a_weekend_a_holiday_and_make_up_days() {
    let w = World::new().await;
    let citizen = w.user("citizen1", "citizen", &[], None).await;
    let gro = w.user("gro1", "staff", &["GRO"], None).await;
    let lme = w.user("lme1", "staff", &["PGR_LME"], None).await;
    let dgro = w.user("dgro1", "staff", &["DGRO"], None).await;

    // Friday 2025-09-26 09:00 Beijing time: the citizen files a complaint.
    let new = NewCase {
        flow: "pgr".into(),
        title: "路灯不亮 Street light out".into(),
        data: None,
        jurisdiction_id: None,
        department_id: None,
        action: Some(act(
            "APPLY",
            json!({"description": "The light at 文三路 has been out for a week"}),
        )),
    };
    let c = w.flow.create_case(&citizen, "hz", &new).await.unwrap();
    assert_eq!(c.state, "PENDINGFORASSIGNMENT");
    // Whole-case SLA: 13 working days after Fri 26 Sep: Sun 28 (make-up) 1, Mon 29 2, Tue 30 3,
    // [1-8 Oct National Day], Thu 9 4, Fri 10 5, Sat 11 (make-up) 6, Mon 13 7, Tue 14 8,
    // Wed 15 9, Thu 16 10, Fri 17 11, Mon 20 12, Tue 21 13 → Tue 2025-10-21 17:30 (09:30Z).
    assert_eq!(
        c.case_due_at.as_deref(),
        Some("2025-10-21T09:30:00.000000Z")
    );
    assert_eq!(
        w.inbox_ids(&gro).await,
        vec![c.id],
        "the GRO's queue holds it"
    );
    assert!(w.inbox_ids(&lme).await.is_empty());

    // Wrong role, wrong state, missing fields: clear 4xx with the allowed actions.
    let e = w
        .flow
        .act(
            &citizen,
            "hz",
            c.id,
            &act("ASSIGN", json!({"assignee": lme.id})),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Forbidden);
    let e = w
        .flow
        .act(&gro, "hz", c.id, &act("RESOLVE", json!({})))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidTransition);
    assert_eq!(
        e.extra.as_ref().unwrap()["allowed_actions"],
        json!(["ASSIGN", "REJECT"])
    );
    let e = w
        .flow
        .act(&gro, "hz", c.id, &act("ASSIGN", json!({})))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidInput);
    assert_eq!(
        e.extra.as_ref().unwrap()["missing_fields"],
        json!(["assignee"])
    );

    // 09:30 the GRO assigns it to the last-mile employee; the clock waits for the claim.
    w.at(bj(2025, 9, 26, 9, 30));
    let c = w
        .flow
        .act(
            &gro,
            "hz",
            c.id,
            &act("ASSIGN", json!({"assignee": lme.id})),
        )
        .await
        .unwrap();
    assert_eq!(
        (c.state.as_str(), c.assignee_id),
        ("PENDINGATLME", Some(lme.id))
    );
    assert!(c.state_due_at.is_none(), "on_claim clock not started");
    assert_eq!(w.inbox_ids(&lme).await, vec![c.id]);
    assert!(
        w.inbox_ids(&gro).await.is_empty(),
        "no longer waiting for the GRO"
    );

    // 10:00 the LME signs for it (签收): 3 working days → Tue 30 Sep 17:30 (Sat 27 is a
    // rest day, Sun 28 a make-up working day).
    w.at(bj(2025, 9, 26, 10, 0));
    let c = w.flow.claim(&lme, "hz", c.id, None).await.unwrap();
    assert_eq!(
        c.state_due_at.as_deref(),
        Some(rfc(bj(2025, 9, 30, 17, 30)).as_str())
    );

    // Warning 4 working hours before the deadline: from 12:00 on Tue 30 Sep only 4 working
    // hours remain (13:30-17:30; the lunch break does not count).
    let r = w.flow.scan_sla(bj(2025, 9, 30, 11, 59)).await.unwrap();
    assert_eq!(r.warnings, 0);
    let r = w.flow.scan_sla(bj(2025, 9, 30, 12, 0)).await.unwrap();
    assert_eq!((r.fired, r.warnings), (1, 1));
    // Breach and the first escalation (notify the GRO) at the deadline.
    let r = w.flow.scan_sla(bj(2025, 9, 30, 17, 30)).await.unwrap();
    assert_eq!((r.breaches, r.escalations), (1, 1));
    assert!(w
        .flow
        .notifications(&gro, "hz")
        .await
        .unwrap()
        .iter()
        .any(|n| n.kind == "escalation"));
    assert_eq!(
        w.flow
            .scan_sla(bj(2025, 9, 30, 17, 30))
            .await
            .unwrap()
            .fired,
        0,
        "never fires twice"
    );

    // Second step at 5 working days: Thu 9 Oct is the 4th (1-8 Oct off), Fri 10 Oct the 5th.
    let r = w.flow.scan_sla(bj(2025, 10, 10, 17, 29)).await.unwrap();
    assert_eq!(r.escalations, 0);
    let r = w.flow.scan_sla(bj(2025, 10, 10, 17, 30)).await.unwrap();
    assert_eq!(r.escalations, 1);
    assert_eq!(
        w.inbox_ids(&dgro).await,
        vec![c.id],
        "reassigned to the DGRO queue"
    );
    assert!(w.inbox_ids(&lme).await.is_empty());

    // Third step at 8 working days: Sat 11 Oct (make-up) 6th, Mon 13 7th, Tue 14 8th → the
    // scheduler takes ESCALATE as SYSTEM.
    let r = w.flow.scan_sla(bj(2025, 10, 14, 17, 30)).await.unwrap();
    assert_eq!(r.escalations, 1);
    let d = w.flow.case(&dgro, "hz", c.id).await.unwrap();
    assert_eq!(d.case.state, "ESCALATED");
    let last = d.history.last().unwrap();
    assert_eq!(
        (last.actor.as_str(), last.action.as_str()),
        ("system", "ESCALATE")
    );

    // The deputy resolves; the citizen rates; closed on time (before 21 Oct).
    w.at(bj(2025, 10, 15, 11, 0));
    let c = w
        .flow
        .act(
            &dgro,
            "hz",
            c.id,
            &ActionRequest {
                action: "RESOLVE".into(),
                comment: Some("lamp replaced".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(c.state, "RESOLVED");
    assert_eq!(
        w.inbox_ids(&citizen).await,
        vec![c.id],
        "waiting for the citizen's rating"
    );
    let c = w
        .flow
        .act(&citizen, "hz", c.id, &act("RATE", json!({"rating": 4})))
        .await
        .unwrap();
    assert_eq!(c.state, "CLOSEDAFTERRESOLUTION");
    assert!(c.closed_at.is_some());
    let m = w
        .flow
        .metrics(&Principal::system(), "hz", "pgr")
        .await
        .unwrap();
    assert_eq!((m.closed_with_deadline, m.closed_on_time), (1, 1));
    assert_eq!(m.cases_by_state["CLOSEDAFTERRESOLUTION"], 1);
    assert_eq!(m.breaches_by_department["none"], 1);
    let d = w.flow.case(&citizen, "hz", c.id).await.unwrap();
    let actions: Vec<&str> = d.history.iter().map(|h| h.action.as_str()).collect();
    assert_eq!(
        actions,
        vec![
            "CREATE",
            "APPLY",
            "ASSIGN",
            "CLAIM",
            "ESCALATE_REASSIGN",
            "ESCALATE",
            "RESOLVE",
            "RATE"
        ]
    );
    // Every transition is in the audit chain.
    let audited =
        w.db.fetch_all(
            "SELECT action FROM audit_log WHERE tenant = 'hz' AND resource_type = 'case'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(audited.len(), 7);
    let _ = utc("2025-10-21T09:30:00Z");
}

#[tokio::test]
async fn multi_department_approval_passes_each_desk_and_inboxes_are_exact() {
    let w = World::new().await;
    let (health, police, insurance) = (
        w.dept("HEALTH").await,
        w.dept("POLICE").await,
        w.dept("INSURANCE").await,
    );
    let parent = w.user("parent1", "citizen", &[], None).await;
    let window = w.user("window1", "staff", &["WINDOW"], None).await;
    let doc = w
        .user("health1", "staff", &["HEALTH_REVIEWER"], Some(health))
        .await;
    let cop = w
        .user("police1", "staff", &["POLICE_REVIEWER"], Some(police))
        .await;
    let ins = w
        .user("insure1", "staff", &["INSURANCE_REVIEWER"], Some(insurance))
        .await;
    let other = w.user("bystander", "staff", &[], None).await;

    w.at(bj(2025, 9, 30, 16, 0));
    let new = NewCase {
        flow: "multi-dept-approval".into(),
        title: "出生一件事 Newborn bundle".into(),
        data: Some(json!({"child": "张小明"}).as_object().unwrap().clone()),
        jurisdiction_id: None,
        department_id: None,
        action: None,
    };
    let c = w.flow.create_case(&parent, "hz", &new).await.unwrap();
    // Case SLA 5 working days from Tue 30 Sep: Thu 9, Fri 10, Sat 11 (make-up), Mon 13, Tue 14 Oct.
    assert_eq!(
        c.case_due_at.as_deref(),
        Some(rfc(bj(2025, 10, 14, 17, 30)).as_str())
    );
    assert_eq!(w.inbox_ids(&window).await, vec![c.id]);
    for p in [&doc, &cop, &ins, &other] {
        assert!(
            w.inbox_ids(p).await.is_empty(),
            "{} sees nothing yet",
            p.username
        );
    }
    let c = w
        .flow
        .act(
            &window,
            "hz",
            c.id,
            &act("ACCEPT", json!({"department": health})),
        )
        .await
        .unwrap();
    assert_eq!(w.inbox_ids(&doc).await, vec![c.id]);
    assert!(w.inbox_ids(&window).await.is_empty());
    w.flow.claim(&doc, "hz", c.id, None).await.unwrap();
    let c = w
        .flow
        .act(
            &doc,
            "hz",
            c.id,
            &act("APPROVE", json!({"department": police})),
        )
        .await
        .unwrap();
    assert_eq!(c.state, "POLICE_REVIEW");
    assert_eq!(w.inbox_ids(&cop).await, vec![c.id]);
    assert!(w.inbox_ids(&doc).await.is_empty());
    // The police desk sends it back for a document; the parent resubmits; it starts again.
    let c = w
        .flow
        .act(
            &cop,
            "hz",
            c.id,
            &ActionRequest {
                action: "SEND_BACK".into(),
                comment: Some("请补充户口簿 household register page missing".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(c.state, "RETURNED");
    assert_eq!(w.inbox_ids(&parent).await, vec![c.id]);
    let c = w
        .flow
        .act(
            &parent,
            "hz",
            c.id,
            &act("RESUBMIT", json!({"household_register": "uploaded"})),
        )
        .await
        .unwrap();
    let c = w
        .flow
        .act(
            &window,
            "hz",
            c.id,
            &act("ACCEPT", json!({"department": health})),
        )
        .await
        .unwrap();
    let c = w
        .flow
        .act(
            &doc,
            "hz",
            c.id,
            &act("APPROVE", json!({"department": police})),
        )
        .await
        .unwrap();
    let c = w
        .flow
        .act(
            &cop,
            "hz",
            c.id,
            &act("APPROVE", json!({"department": insurance})),
        )
        .await
        .unwrap();
    assert_eq!(w.inbox_ids(&ins).await, vec![c.id]);
    // A reviewer of another department cannot act on it.
    let e = w
        .flow
        .act(&cop, "hz", c.id, &act("APPROVE", json!({})))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Forbidden);
    // Optimistic concurrency: a stale version loses.
    let stale = ActionRequest {
        expected_version: Some(c.version - 1),
        ..act("APPROVE", json!({}))
    };
    assert_eq!(
        w.flow.act(&ins, "hz", c.id, &stale).await.unwrap_err().code,
        ErrorCode::Conflict
    );
    let c = w
        .flow
        .act(
            &ins,
            "hz",
            c.id,
            &ActionRequest {
                expected_version: Some(c.version),
                ..act("APPROVE", json!({}))
            },
        )
        .await
        .unwrap();
    assert_eq!(c.state, "ISSUED");
    for p in [&parent, &window, &doc, &cop, &ins] {
        assert!(
            w.inbox_ids(p).await.is_empty(),
            "{} has nothing left",
            p.username
        );
    }
    assert_eq!(c.data["child"], "张小明");
    assert_eq!(c.data["household_register"], "uploaded");
}

#[tokio::test]
async fn concurrent_actions_exactly_one_wins() {
    let w = World::new().await;
    let citizen = w.user("c2", "citizen", &[], None).await;
    let gro_a = w.user("gro-a", "staff", &["GRO"], None).await;
    let gro_b = w.user("gro-b", "staff", &["GRO"], None).await;
    let lme = w.user("lme2", "staff", &["PGR_LME"], None).await;
    let new = NewCase {
        flow: "pgr".into(),
        title: "pothole".into(),
        data: None,
        jurisdiction_id: None,
        department_id: None,
        action: Some(act("APPLY", json!({"description": "deep pothole"}))),
    };
    let c = w.flow.create_case(&citizen, "hz", &new).await.unwrap();
    let v = c.version;
    let (f1, f2) = (w.flow.clone(), w.flow.clone());
    let (a, b) = (gro_a.clone(), gro_b.clone());
    let r1 = tokio::spawn(async move {
        f1.act(
            &a,
            "hz",
            c.id,
            &ActionRequest {
                expected_version: Some(v),
                ..act("ASSIGN", json!({"assignee": lme.id}))
            },
        )
        .await
    });
    let r2 = tokio::spawn(async move {
        f2.act(
            &b,
            "hz",
            c.id,
            &ActionRequest {
                expected_version: Some(v),
                comment: Some("duplicate".into()),
                ..act("REJECT", json!({}))
            },
        )
        .await
    });
    let (r1, r2) = (r1.await.unwrap(), r2.await.unwrap());
    assert_eq!(
        [r1.is_ok(), r2.is_ok()].iter().filter(|x| **x).count(),
        1,
        "{r1:?} {r2:?}"
    );
    let loser = r1.err().or(r2.err()).unwrap();
    assert_eq!(loser.code, ErrorCode::Conflict);
}

#[tokio::test]
async fn invalid_definitions_are_refused_with_every_problem_and_running_cases_keep_their_version() {
    let w = World::new().await;
    let sys = Principal::system();
    let bad = json!({"key":"pgr","name":"broken","module":"governance","roles":["GRO"],
        "states":[{"key":"A"},{"key":"B"}],"actions":[{"key":"GO","from":["A"],"to":"C","roles":["GR0"]}]});
    let e = w
        .flow
        .put_definition(&sys, "hz", &bad.to_string())
        .await
        .unwrap_err();
    let errs = e.extra.unwrap()["errors"].as_array().unwrap().len();
    assert!(errs >= 3, "no start, undefined state, role typo: {errs}");
    let citizen = w.user("c3", "citizen", &[], None).await;
    let c = w
        .flow
        .create_case(
            &citizen,
            "hz",
            &NewCase {
                flow: "pgr".into(),
                title: "t".into(),
                data: None,
                jurisdiction_id: None,
                department_id: None,
                action: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(c.flow_version, 1);
    // Version 2 no longer allows REJECT before assignment; the running case still offers
    // it (it keeps version 1) while a new case runs on version 2.
    let mut v2: Value = serde_json::from_str(onecity_flow::definition::shipped()[0].1).unwrap();
    for a in v2["actions"].as_array_mut().unwrap() {
        if a["key"] == "REJECT" {
            a["from"] = json!(["PENDINGFORREASSIGNMENT"]);
        }
    }
    assert_eq!(
        w.flow
            .put_definition(&sys, "hz", &v2.to_string())
            .await
            .unwrap()
            .version,
        2
    );
    let gro = w.user("gro3", "staff", &["GRO"], None).await;
    let c = w
        .flow
        .act(
            &citizen,
            "hz",
            c.id,
            &act("APPLY", json!({"description": "x"})),
        )
        .await
        .unwrap();
    assert_eq!(
        w.flow
            .case(&gro, "hz", c.id)
            .await
            .unwrap()
            .case
            .allowed_actions,
        vec!["ASSIGN", "REJECT"]
    );
    let new = NewCase {
        flow: "pgr".into(),
        title: "t2".into(),
        data: None,
        jurisdiction_id: None,
        department_id: None,
        action: Some(act("APPLY", json!({"description": "y"}))),
    };
    let c2 = w.flow.create_case(&citizen, "hz", &new).await.unwrap();
    assert_eq!(c2.flow_version, 2);
    assert_eq!(
        w.flow
            .case(&gro, "hz", c2.id)
            .await
            .unwrap()
            .case
            .allowed_actions,
        vec!["ASSIGN"]
    );
}

#[tokio::test]
async fn a_jurisdiction_calendar_with_a_regional_holiday_moves_deadlines_in_its_subtree() {
    let w = World::new().await;
    let sys = Principal::system();
    let t = w.iam.tenant_unchecked("hz").await.unwrap();
    let root = w
        .iam
        .jurisdiction_unchecked("hz", t.root_jurisdiction_id)
        .await
        .unwrap();
    let district = w
        .iam
        .create_jurisdiction(
            &sys,
            "hz",
            &onecity_iam::NewJurisdiction {
                parent_id: Some(root.id),
                level: "district".into(),
                code: "330106".into(),
                name: "西湖区".into(),
                name_en: None,
            },
        )
        .await
        .unwrap();
    // Test data, not a real arrangement: the district takes Monday 2025-09-29 off.
    let regional = json!({"base": "china_mainland", "regional": {"region": "Test district (fictional)", "holidays": [{"name": "District day", "days": ["2025-09-29"]}]}});
    w.flow
        .put_calendar(&sys, "hz", Some(district.id), &regional.to_string())
        .await
        .unwrap();
    let bad = json!({"base": "china_mainland", "regional": {"region": "", "holidays": [{"name": "x", "days": ["2025-13-01"]}]}});
    let e = w
        .flow
        .put_calendar(&sys, "hz", Some(district.id), &bad.to_string())
        .await
        .unwrap_err();
    assert!(e.extra.unwrap()["errors"].as_array().unwrap().len() >= 2);

    let parent = w.user("parent2", "citizen", &[], None).await;
    w.at(bj(2025, 9, 26, 9, 0));
    let mk = |j: Option<Uuid>| NewCase {
        flow: "multi-dept-approval".into(),
        title: "t".into(),
        data: None,
        jurisdiction_id: j,
        department_id: None,
        action: None,
    };
    // City level, 5 working days from Fri 26 Sep: Sun 28, Mon 29, Tue 30, Thu 9, Fri 10 Oct.
    let city = w.flow.create_case(&parent, "hz", &mk(None)).await.unwrap();
    assert_eq!(
        city.case_due_at.as_deref(),
        Some(rfc(bj(2025, 10, 10, 17, 30)).as_str())
    );
    // In the district Mon 29 is off: Sun 28, Tue 30, Thu 9, Fri 10, Sat 11 Oct (make-up day).
    let local = w
        .flow
        .create_case(&parent, "hz", &mk(Some(district.id)))
        .await
        .unwrap();
    assert_eq!(
        local.case_due_at.as_deref(),
        Some(rfc(bj(2025, 10, 11, 17, 30)).as_str())
    );
}
