//! The jobs layer through `onecity serve` processes: the built-in jobs are listed, a run
//! by hand that fails is retried with each attempt in the history, the scheduler resumes
//! after a restart without replaying missed ticks one by one, and two servers on one
//! PostgreSQL database run each tick once.

use super::*;
use onecity_testkit::Options;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

fn env(pairs: &[(&str, &str)]) -> Options {
    Options {
        env: pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Default::default()
    }
}

/// Every run of `job` (all pages of 2, to exercise the cursor), newest first.
async fn runs(s: &TestServer, token: &str, job: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/jobs/{job}/runs?limit=200&cursor={c}"),
            None => format!("/api/v1/jobs/{job}/runs?limit=200"),
        };
        let (st, page) = s.get(&path, token).await.unwrap();
        assert_eq!(st, 200, "{page}");
        out.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return out,
        }
    }
}

/// Finished runs per tick.
fn by_tick(runs: &[Value]) -> BTreeMap<String, Vec<Value>> {
    let mut m: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for r in runs.iter().filter(|r| r["outcome"] != "running") {
        m.entry(r["tick"].as_str().unwrap().to_string())
            .or_default()
            .push(r.clone());
    }
    m
}

fn tick_micros(tick: &str) -> i64 {
    onecity_core::time::parse_rfc3339(tick, "tick").unwrap()
}

#[tokio::test]
async fn jobs_are_listed_and_a_failing_run_is_retried_with_each_attempt_in_its_history() {
    let s = server_with(env(&[
        ("ONECITY_JOBS_POLL_MS", "100"),
        ("ONECITY_JOBS_PROBE_FAIL_FIRST", "2"),
        ("ONECITY_JOBS_PROBE_BACKOFF_SECS", "1"),
        ("ONECITY_SLA_SCAN_SECS", "1"),
    ]))
    .await;
    let admin = s.admin_token().await.unwrap();
    let (st, list) = s.get("/api/v1/jobs", &admin).await.unwrap();
    assert_eq!(st, 200, "{list}");
    let jobs: BTreeMap<&str, &Value> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| (j["name"].as_str().unwrap(), j))
        .collect();
    assert_eq!(
        jobs.keys().copied().collect::<Vec<_>>(),
        [
            "audit.anchor",
            "brain.metro_forecast",
            "catalog.freshness",
            "flow.sla_scan",
            "jobs.history_purge",
            "ops.probe",
            "twin.retention"
        ]
    );
    assert_eq!(
        jobs["flow.sla_scan"]["schedule"],
        json!({"kind": "every", "secs": 1})
    );
    assert_eq!(jobs["flow.sla_scan"]["schedule_text"], "every 1 s");
    assert_eq!(
        jobs["ops.probe"]["enabled"], false,
        "off until jobs_probe_every_secs is set"
    );
    assert_eq!(
        jobs["jobs.history_purge"]["schedule"],
        json!({"kind": "daily", "at": "03:30", "tz": "UTC"})
    );
    assert!(jobs["flow.sla_scan"]["next_due"].as_i64().unwrap() > 0);

    // Run the probe by hand: attempt 1 fails on purpose, the scheduler retries it after
    // 1 s and 2 s, and attempt 3 succeeds.
    let (st, first) = s
        .post("/api/v1/jobs/ops.probe/run", &admin, &json!({}))
        .await
        .unwrap();
    assert_eq!(st, 200, "{first}");
    assert_eq!(
        (first["attempt"].as_i64(), first["outcome"].as_str()),
        (Some(1), Some("error"))
    );
    assert_eq!(first["cause"], "manual");
    assert!(
        first["error"]
            .as_str()
            .unwrap()
            .starts_with("failing on purpose: attempt 1"),
        "{first}"
    );
    let tick = first["tick"].as_str().unwrap().to_string();
    assert!(tick.starts_with("manual:"));
    let deadline = Instant::now() + Duration::from_secs(30);
    let history = loop {
        let all = runs(&s, &admin, "ops.probe").await;
        let of_tick: Vec<Value> = all
            .into_iter()
            .filter(|r| r["tick"] == tick.as_str())
            .collect();
        if of_tick.iter().any(|r| r["outcome"] == "ok") || Instant::now() > deadline {
            break of_tick;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let attempts: Vec<(i64, &str)> = history
        .iter()
        .map(|r| {
            (
                r["attempt"].as_i64().unwrap(),
                r["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(attempts, [(3, "ok"), (2, "error"), (1, "error")]);
    let started: Vec<i64> = history
        .iter()
        .map(|r| r["started_at"].as_i64().unwrap())
        .collect();
    assert!(
        started[1] - started[2] >= 1_000_000,
        "first retry after 1 s: {started:?}"
    );
    assert!(
        started[0] - started[1] >= 2_000_000,
        "second retry after 2 s: {started:?}"
    );
    assert!(
        history[0]["detail"]
            .as_str()
            .unwrap()
            .starts_with("ping_us="),
        "{}",
        history[0]
    );
    assert!(history.iter().all(|r| r["duration_ms"].as_i64().is_some()));

    // The SLA scan runs on the jobs layer now, once a second.
    let deadline = Instant::now() + Duration::from_secs(20);
    let sla = loop {
        let sla = runs(&s, &admin, "flow.sla_scan").await;
        if sla.iter().filter(|r| r["outcome"] == "ok").count() >= 2 || Instant::now() > deadline {
            break sla;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let ok: Vec<&Value> = sla.iter().filter(|r| r["outcome"] == "ok").collect();
    assert!(ok.len() >= 2, "{sla:?}");
    assert_eq!(
        ok[0]["detail"],
        "fired=0 warnings=0 breaches=0 escalations=0"
    );
    assert_eq!(ok[0]["cause"], "schedule");

    // Paging, bad input, unknown jobs.
    let (st, page) = s
        .get("/api/v1/jobs/ops.probe/runs?limit=2", &admin)
        .await
        .unwrap();
    assert_eq!((st, page["items"].as_array().unwrap().len()), (200, 2));
    let cursor = page["next_cursor"].as_str().unwrap();
    let (st, rest) = s
        .get(
            &format!("/api/v1/jobs/ops.probe/runs?limit=2&cursor={cursor}"),
            &admin,
        )
        .await
        .unwrap();
    assert_eq!(st, 200);
    assert_eq!(rest["items"][0]["attempt"], 1);
    assert!(rest["next_cursor"].is_null());
    let (st, body) = s
        .get("/api/v1/jobs/ops.probe/runs?limit=0", &admin)
        .await
        .unwrap();
    assert_eq!((st, body["code"].as_str()), (400, Some("invalid_query")));
    let (st, body) = s
        .get("/api/v1/jobs/ops.probe/runs?cursor=!!", &admin)
        .await
        .unwrap();
    assert_eq!(st, 400, "{body}");
    let (st, body) = s.get("/api/v1/jobs/no.such/runs", &admin).await.unwrap();
    assert_eq!((st, body["code"].as_str()), (404, Some("not_found")));
    let (st, body) = s
        .post("/api/v1/jobs/no.such/run", &admin, &json!({}))
        .await
        .unwrap();
    assert_eq!((st, body["code"].as_str()), (404, Some("not_found")));

    // Jobs serve every tenant: a tenant's staff (and anyone without jobs_admin) gets 403.
    let f = fixture(&s).await;
    let (st, body) = s.get("/api/v1/jobs", &f.staff_a).await.unwrap();
    assert_eq!((st, body["code"].as_str()), (403, Some("forbidden")));
    let (st, _) = s
        .post("/api/v1/jobs/ops.probe/run", &f.staff_a, &json!({}))
        .await
        .unwrap();
    assert_eq!(st, 403);
    let (st, _) = s.get("/api/v1/jobs", "").await.unwrap();
    assert_eq!(st, 401);
}

#[tokio::test]
async fn the_scheduler_resumes_after_a_restart_without_replaying_missed_ticks() {
    let mut s = server_with(env(&[
        ("ONECITY_JOBS_POLL_MS", "100"),
        ("ONECITY_JOBS_PROBE_EVERY_SECS", "2"),
    ]))
    .await;
    let admin = s.admin_token().await.unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let before = by_tick(&runs(&s, &admin, "ops.probe").await);
    assert!(before.len() >= 2, "two ticks in 5 s: {before:?}");
    // A crash, 7 s down (three ticks missed), a start again.
    s.kill9();
    let down_at = onecity_core::time::now_micros();
    tokio::time::sleep(Duration::from_secs(7)).await;
    let restart_at = onecity_core::time::now_micros();
    s.restart(&[]).await.unwrap();
    let admin = s.admin_token().await.unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let all = by_tick(&runs(&s, &admin, "ops.probe").await);
    for (tick, runs) in &all {
        assert_eq!(runs.len(), 1, "tick {tick} ran once: {runs:?}");
        assert_eq!(runs[0]["attempt"], 1);
        assert_eq!(runs[0]["outcome"], "ok");
    }
    for (tick, r) in &before {
        assert_eq!(&all[tick], r, "a finished tick is not run again");
    }
    let after: Vec<i64> = all
        .keys()
        .filter(|t| !before.contains_key(*t))
        .map(|t| tick_micros(t))
        .collect();
    assert!(after.len() >= 2, "it resumed: {after:?}");
    let missed_replayed = after
        .iter()
        .filter(|t| **t > down_at && **t < restart_at)
        .count();
    assert!(
        missed_replayed <= 1,
        "of the ticks missed while down, at most the latest runs once: {after:?}"
    );
    assert!(
        after
            .iter()
            .all(|t| *t >= restart_at - 2_000_000 || *t <= down_at),
        "no older missed tick is replayed: {after:?} (down {down_at}, restart {restart_at})"
    );
}

#[tokio::test]
async fn two_servers_on_one_postgres_run_each_tick_once() {
    let opts = || {
        env(&[
            ("ONECITY_JOBS_POLL_MS", "50"),
            ("ONECITY_JOBS_PROBE_EVERY_SECS", "1"),
            ("ONECITY_SLA_SCAN_SECS", "1"),
        ])
    };
    let Some(a) = TestServer::start_postgres(BIN.as_ref(), opts())
        .await
        .expect("first server starts")
    else {
        return; // skipped: ONECITY_TEST_DATABASE_URL unset (an error under CI / strict)
    };
    let mut b = a.start_sibling(opts()).await.expect("second server starts");
    let admin = a.admin_token().await.unwrap();
    tokio::time::sleep(Duration::from_secs(8)).await;
    for job in ["ops.probe", "flow.sla_scan"] {
        let ticks = by_tick(&runs(&a, &admin, job).await);
        assert!(ticks.len() >= 5, "{job}: {} ticks in 8 s", ticks.len());
        for (tick, runs) in &ticks {
            assert_eq!(
                runs.len(),
                1,
                "{job} tick {tick} ran once on two servers: {runs:?}"
            );
        }
        let nodes: std::collections::BTreeSet<&str> = ticks
            .values()
            .map(|r| r[0]["node"].as_str().unwrap())
            .collect();
        eprintln!("{job}: {} ticks, run by {nodes:?}", ticks.len());
    }
    // The same history through the other server.
    let admin_b = b.admin_token().await.unwrap();
    let (st, list) = b.get("/api/v1/jobs", &admin_b).await.unwrap();
    assert_eq!(st, 200);
    // The six built-in jobs and `brain.metro_forecast` (the metro data is in ../shared/data).
    assert_eq!(list["items"].as_array().unwrap().len(), 7);
    // One replica crashes: the other goes on alone, still once per tick.
    b.kill9();
    let crashed_at = onecity_core::time::now_micros();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let ticks = by_tick(&runs(&a, &admin, "ops.probe").await);
    let later: Vec<&String> = ticks
        .keys()
        .filter(|t| tick_micros(t) > crashed_at + 1_000_000)
        .collect();
    assert!(later.len() >= 2, "the survivor runs the ticks: {later:?}");
    assert!(ticks.values().all(|r| r.len() == 1));
}
