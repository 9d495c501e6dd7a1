//! Served forecasts on the real Hangzhou data and a real twin (SQLite by default,
//! PostgreSQL with `ONECITY_TEST_BACKEND=postgres`): the import, a tick writing forecasts
//! to the twin's state and history, staleness, and refused input.

use chrono::{DateTime, Duration, TimeZone, Utc};
use onecity_brain::service::{demo, import, read, MetroForecaster, HORIZONS};
use onecity_brain::station::entity_id;
use onecity_store::{audit::Auditor, bus::EventBus, Db, DbOptions};
use onecity_twin::context::Context;
use onecity_twin::{Twin, TwinConfig};
use std::path::PathBuf;

fn data_dir() -> PathBuf {
    onecity_testkit::repo_root().join("../shared/data/metro")
}

struct Fixture {
    twin: Twin,
    _dir: tempfile::TempDir,
}

async fn twin() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let opts = DbOptions {
        max_connections: 4,
        ..Default::default()
    };
    let db = match onecity_testkit::backend() {
        onecity_testkit::Backend::Sqlite => Db::open_sqlite(dir.path(), &opts).await.unwrap(),
        onecity_testkit::Backend::Postgres => {
            let url = onecity_testkit::fresh_pg_database().await.unwrap();
            Db::open_postgres(&url, &opts).await.unwrap()
        }
    };
    onecity_store::migrate::run(&db, "store", onecity_store::migrations())
        .await
        .unwrap();
    onecity_store::migrate::run(&db, "iam", &onecity_iam::MIGRATIONS)
        .await
        .unwrap();
    onecity_store::migrate::run(&db, "twin", &onecity_twin::MIGRATIONS)
        .await
        .unwrap();
    let auditor = Auditor::load(&db).await.unwrap();
    let iam = onecity_iam::Iam::new(
        db.clone(),
        auditor,
        EventBus::local(db.clone()),
        Default::default(),
    )
    .await
    .unwrap();
    let twin = Twin::new(iam, TwinConfig::default()).await.unwrap();
    Fixture { twin, _dir: dir }
}

fn made_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 8, 1, 0, 0).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn forecasts_are_written_to_the_twin_and_go_stale() {
    let fx = twin().await;
    let tenant = "hangzhou";
    let data = onecity_brain::load_hangzhou(&data_dir()).unwrap();
    let r = import::import_stations(&fx.twin, tenant, &data)
        .await
        .unwrap();
    assert_eq!((r.created, r.updated), (80, 0));
    let again = import::import_stations(&fx.twin, tenant, &data)
        .await
        .unwrap();
    assert_eq!((again.created, again.updated), (0, 80));

    let f = MetroForecaster::new(fx.twin.clone(), data);
    // Stations without any observation are reported, not errors.
    let none = f.tick(tenant, made_at()).await.unwrap();
    assert_eq!(none.stations_forecast, 0);
    assert_eq!(none.skipped.len(), 80);
    assert!(
        none.skipped["HZ-0"].contains("no inflow"),
        "{:?}",
        none.skipped
    );

    let applied = demo::replay_day(&f, tenant, demo::DEMO_DAY, demo::DEMO_SLOTS)
        .await
        .unwrap();
    assert_eq!(applied, 80 * 12);
    let report = f.tick(tenant, made_at()).await.unwrap();
    assert_eq!(report.stations_forecast, 80, "{:?}", report.skipped);
    assert_eq!(report.forecasts_written, 80 * HORIZONS);
    // Fitted on the 21 days before 2019-01-22 06:00 +08:00.
    assert_eq!(report.fitted_until, vec!["2019-01-21T22:00:00.000Z"]);

    // The station view: the real latest count, six horizons, sane intervals.
    let v = read::station(&fx.twin, tenant, "HZ-12", None, made_at()).unwrap();
    let latest = v.latest.clone().unwrap();
    assert_eq!(latest.at, "2019-01-21T23:50:00.000Z");
    let expected_latest = f.data().flow.get(12, 21 * 108 + 11).unwrap();
    assert_eq!(latest.inflow, expected_latest);
    assert_eq!(v.forecasts.len(), HORIZONS);
    assert_eq!(v.position_source.as_deref(), Some("placed"));
    assert_eq!(v.graph_id, Some(12));
    assert!(!v.neighbours.is_empty());
    for (k, p) in v.forecasts.iter().enumerate() {
        assert_eq!(p.horizon, k + 1);
        assert!(!p.stale);
        assert_eq!(p.based_on, "2019-01-21T23:50:00.000Z");
        assert_eq!(p.made_at, "2026-12-08T01:00:00.000Z");
        assert!(
            p.lower95 <= p.lower80
                && p.lower80 <= p.inflow
                && p.inflow <= p.upper80
                && p.upper80 <= p.upper95,
            "{p:?}"
        );
    }
    assert_eq!(v.forecasts[0].for_time, "2019-01-22T00:00:00.000Z");
    assert_eq!(v.forecasts[5].for_time, "2019-01-22T00:50:00.000Z");
    // The morning peak: the forecast at 08:00 is within 50 % of the real count.
    let truth = f.data().flow.get(12, 21 * 108 + 12).unwrap();
    let point = v.forecasts[0].inflow;
    assert!((point - truth).abs() / truth < 0.5, "{point} vs {truth}");

    // The twin holds the forecasts as NGSI-LD: one instance per horizon (datasetId), with
    // the time it is for as observedAt and the time made as a sub-property, in the
    // history too.
    let e = fx.twin.get(tenant, &entity_id(12)).unwrap();
    let ctx = Context::core();
    let list = &e.attrs[&ctx.expand("inflowForecast")];
    assert_eq!(list.len(), HORIZONS);
    let h3 = e
        .instance(
            &ctx.expand("inflowForecast"),
            Some("urn:ngsi-ld:Dataset:inflowForecast:h3"),
        )
        .unwrap();
    assert_eq!(h3.observed_at.as_deref(), Some("2019-01-22T00:20:00.000Z"));
    assert_eq!(
        h3.sub[&ctx.expand("generatedAt")].value,
        serde_json::json!("2026-12-08T01:00:00.000Z")
    );
    let hist = onecity_twin::temporal::has_history(
        &fx.twin,
        tenant,
        &entity_id(12),
        &[ctx.expand("inflowForecast")],
    )
    .await
    .unwrap();
    assert!(hist);

    // Read 15 minutes later: the 10-minute forecast is stale, the 20-minute one is not.
    let later = made_at() + Duration::minutes(15);
    let v = read::station(&fx.twin, tenant, "HZ-12", None, later).unwrap();
    assert!(v.forecasts[0].stale);
    assert!(!v.forecasts[1].stale);
    // One station's latest observation is off the data's slot grid: the next tick cannot
    // forecast it and flags its old forecasts as stale in the twin itself.
    let off_grid = serde_json::json!([{"type": "MetroStationFlow", "id": "HZ-3",
        "observedAt": "2019-01-22T00:05:00Z", "values": {"inflow": 10}}]);
    let (n, errs) =
        onecity_twin::ingest::ingest(&fx.twin, tenant, off_grid.as_array().unwrap()).await;
    assert_eq!((n, errs.len()), (1, 0));
    let late = made_at() + Duration::minutes(35);
    let r2 = f.tick(tenant, late).await.unwrap();
    assert_eq!(r2.stations_forecast, 79);
    assert!(
        r2.skipped["HZ-3"].contains("not a slot"),
        "{:?}",
        r2.skipped
    );
    assert_eq!(
        r2.marked_stale, 3,
        "h1..h3 are older than their horizon after 35 min"
    );
    let e3 = fx.twin.get(tenant, &entity_id(3)).unwrap();
    let stale: Vec<bool> = (1..=HORIZONS)
        .map(|h| {
            e3.instance(
                &ctx.expand("inflowForecast"),
                Some(&format!("urn:ngsi-ld:Dataset:inflowForecast:h{h}")),
            )
            .unwrap()
            .sub[&ctx.expand("stale")]
                .value
                .as_bool()
                .unwrap()
        })
        .collect();
    assert_eq!(stale, [true, true, true, false, false, false]);
    // The others were forecast anew at `late`: fresh again.
    let v = read::station(&fx.twin, tenant, "HZ-12", Some(1), late).unwrap();
    assert_eq!(v.forecasts.len(), 1);
    assert!(!v.forecasts[0].stale);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_ids_horizons_and_tenants_are_refused() {
    let fx = twin().await;
    let data = onecity_brain::load_hangzhou(&data_dir()).unwrap();
    import::import_stations(&fx.twin, "t1", &data)
        .await
        .unwrap();
    let now = made_at();
    for (id, h, status) in [
        ("HZ-80", None, 404),
        ("HZ-1", Some(0), 400),
        ("HZ-1", Some(7), 400),
        ("HZ-01", None, 400),
        ("station-1", None, 400),
        ("urn:ngsi-ld:MetroStationFlow:HZ-999", None, 404),
    ] {
        let e = read::station(&fx.twin, "t1", id, h, now).unwrap_err();
        assert_eq!(e.code.status(), status, "{id} {h:?}: {}", e.detail);
    }
    // A station of another tenant is not found here.
    let e = read::station(&fx.twin, "t2", "HZ-1", None, now).unwrap_err();
    assert_eq!(e.code.status(), 404);
    let f = MetroForecaster::new(fx.twin.clone(), data);
    let e = f.tick("nowhere", now).await.unwrap_err();
    assert_eq!(e.code.code(), "tenant_not_found");
    // An early origin (the first week) has too little history: reported per station.
    let measurement = serde_json::json!([{"type": "MetroStationFlow", "id": "HZ-5",
        "observedAt": "2019-01-01T22:00:00Z", "values": {"inflow": 17}}]);
    onecity_twin::ingest::ingest(&fx.twin, "t1", measurement.as_array().unwrap()).await;
    let r = f.tick("t1", now).await.unwrap();
    assert!(
        r.skipped["HZ-5"].contains("not enough history"),
        "{:?}",
        r.skipped
    );
    assert_eq!(read::stations(&fx.twin, "t1", now).len(), 80);
}
