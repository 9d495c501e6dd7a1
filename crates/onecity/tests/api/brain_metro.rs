//! Served metro forecasts through the binary: the demo's Hangzhou stations and forecasts,
//! the forecasts readable through the NGSI-LD temporal API beside the actual flow, the
//! `/api/v1/brain/metro/…` API with its 400/404 problems, and the CLI importer and
//! forecast command on a fresh tenant.

use crate::{server, server_with};
use onecity_testkit::Options;
use serde_json::Value;

const HZ12: &str = "urn:ngsi-ld:MetroStationFlow:HZ-12";

#[tokio::test]
async fn demo_stations_carry_forecasts_beside_the_actual_flow() {
    let s = server_with(Options {
        demo: true,
        ..Default::default()
    })
    .await;
    let t = s.admin_token().await.unwrap();
    let (st, list) = s
        .get("/api/v1/brain/metro/stations?tenant=hangzhou", &t)
        .await
        .unwrap();
    assert_eq!(st, 200, "{list}");
    let stations = list["stations"].as_array().unwrap();
    assert_eq!(stations.len(), 80);
    for v in stations {
        assert_eq!(v["forecasts"].as_array().unwrap().len(), 6, "{v}");
        assert_eq!(v["position_source"], "placed");
    }
    // HZ-12 at 2019-01-22 07:50 +08:00: the real count of hangzhou_flow.csv, row
    // "12,22,11,…" (day 22 is the file's 1-based day).
    let flow = std::fs::read_to_string(
        onecity_testkit::repo_root().join("../shared/data/metro/hangzhou_flow.csv"),
    )
    .unwrap();
    let count = |slot: u32| -> f64 {
        let key = format!("12,22,{slot},");
        flow.lines()
            .find_map(|l| l.strip_prefix(&key))
            .unwrap()
            .parse()
            .unwrap()
    };
    let hz12 = &stations[12];
    assert_eq!(hz12["id"], "HZ-12");
    assert_eq!(hz12["latest"]["at"], "2019-01-21T23:50:00.000Z");
    assert_eq!(hz12["latest"]["inflow"].as_f64(), Some(count(11)));

    // One station, one horizon.
    let (st, one) = s
        .get(
            "/api/v1/brain/metro/stations/HZ-12/forecast?tenant=hangzhou&horizon=3",
            &t,
        )
        .await
        .unwrap();
    assert_eq!(st, 200, "{one}");
    let f = &one["forecasts"].as_array().unwrap()[..];
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["horizon"], 3);
    assert_eq!(f[0]["for_time"], "2019-01-22T00:20:00.000Z");
    assert_eq!(f[0]["stale"], false);
    let (lo, hi) = (
        f[0]["lower95"].as_f64().unwrap(),
        f[0]["upper95"].as_f64().unwrap(),
    );
    assert!(lo < f[0]["inflow"].as_f64().unwrap() && f[0]["inflow"].as_f64().unwrap() < hi);
    // The real count at 08:20 is the one the forecast is for; the 95 % band is meant to
    // hold it 95 % of the time, so this checks the scale, not luck: within twice the band.
    let truth = count(14);
    assert!(
        truth > lo - (hi - lo) && truth < hi + (hi - lo),
        "{truth} vs {lo}..{hi}"
    );

    // The temporal API shows forecast against actual: inflow instances and one
    // inflowForecast instance per horizon, each with its datasetId and observedAt.
    let r = s
        .http
        .get(format!(
            "{}/ngsi-ld/v1/temporal/entities/{HZ12}?attrs=inflow,inflowForecast&lastN=50",
            s.url
        ))
        .bearer_auth(&t)
        .header("NGSILD-Tenant", "hangzhou")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let v: Value = r.json().await.unwrap();
    let fc = v["inflowForecast"].as_array().unwrap();
    assert_eq!(fc.len(), 6, "{v}");
    let h1 = fc
        .iter()
        .find(|x| x["datasetId"] == "urn:ngsi-ld:Dataset:inflowForecast:h1")
        .unwrap();
    assert_eq!(h1["observedAt"], "2019-01-22T00:00:00.000Z");
    assert!(h1["generatedAt"]["value"]
        .as_str()
        .unwrap()
        .starts_with("20"));
    assert_eq!(h1["basedOn"]["value"], "2019-01-21T23:50:00.000Z");
    let actual = v["inflow"].as_array().unwrap();
    // 18 slots of 2019-01-01 (the twin's demo window) and 12 of 2019-01-22.
    assert_eq!(actual.len(), 30, "{v}");

    // Bad input: clear problems, never a 500.
    for (path, status) in [
        (
            "/api/v1/brain/metro/stations/HZ-80/forecast?tenant=hangzhou",
            404,
        ),
        (
            "/api/v1/brain/metro/stations/HZ-1/forecast?tenant=hangzhou&horizon=0",
            400,
        ),
        (
            "/api/v1/brain/metro/stations/HZ-1/forecast?tenant=hangzhou&horizon=7",
            400,
        ),
        (
            "/api/v1/brain/metro/stations/HZ-1/forecast?tenant=hangzhou&horizon=x",
            400,
        ),
        (
            "/api/v1/brain/metro/stations/oops/forecast?tenant=hangzhou",
            400,
        ),
        (
            "/api/v1/brain/metro/stations/HZ-1/forecast?tenant=hangzhou&bogus=1",
            400,
        ),
        ("/api/v1/brain/metro/stations/HZ-1/forecast?tenant=nyc", 404),
    ] {
        let (st, p) = s.get(path, &t).await.unwrap();
        assert_eq!(st, status, "{path}: {p}");
        assert!(p["code"].is_string() && p["detail"].is_string(), "{p}");
    }
    let (st, _) = s
        .get("/api/v1/brain/metro/stations?tenant=hangzhou", "nope")
        .await
        .unwrap();
    assert_eq!(st, 401);

    // Evacuation advice from the served forecasts: made at the origin (08:00 Hangzhou time,
    // the slot after the last observed one), for a slot of the next hour, with the
    // station's regular capacity from the two weeks of real data before it.
    let (st, a) = s
        .get(
            "/api/v1/brain/metro/stations/HZ-12/advice?tenant=hangzhou",
            &t,
        )
        .await
        .unwrap();
    assert_eq!(st, 200, "{a}");
    assert_eq!(a["station"], "HZ-12");
    assert_eq!(a["made_at"], "2019-01-22T08:00:00+08:00");
    let for_time = a["for_time"].as_str().unwrap();
    assert!(for_time.starts_with("2019-01-22T08:"), "{a}");
    assert!(
        (0..=50).contains(&a["lead_minutes"].as_i64().unwrap()),
        "{a}"
    );
    assert!(
        a["assumptions"]["regular_capacity"].as_f64().unwrap() > 0.0,
        "{a}"
    );
    assert_eq!(a["modes"].as_array().unwrap().len(), 3, "{a}");
    assert!(a["triggered"].is_boolean());
    for (path, status) in [
        (
            "/api/v1/brain/metro/stations/oops/advice?tenant=hangzhou",
            400,
        ),
        (
            "/api/v1/brain/metro/stations/HZ-80/advice?tenant=hangzhou",
            404,
        ),
        ("/api/v1/brain/metro/stations/HZ-1/advice?tenant=nyc", 404),
    ] {
        let (st, p) = s.get(path, &t).await.unwrap();
        assert_eq!(st, status, "{path}: {p}");
    }

    // The job that makes forecasts and advice every 10 minutes, run by hand.
    let (st, run) = s
        .post(
            "/api/v1/jobs/brain.metro_forecast/run",
            &t,
            &serde_json::json!({}),
        )
        .await
        .unwrap();
    assert_eq!(st, 200, "{run}");
    assert_eq!(run["outcome"], "ok", "{run}");
    let detail = run["detail"].as_str().unwrap();
    assert!(
        detail.contains("hangzhou: stations=80 forecasts=480") && detail.contains("advised=80"),
        "{detail}"
    );
}

#[tokio::test]
async fn cli_imports_stations_and_forecasts_into_a_tenant() {
    let s = server().await;
    let t = s.admin_token().await.unwrap();
    let (st, _) = s
        .post(
            "/api/v1/tenants",
            &t,
            &serde_json::json!({"code": "hz2", "name": "杭州二", "root_code": "330100"}),
        )
        .await
        .unwrap();
    assert!(st == 201 || st == 200, "{st}");
    let (code, out, err) = s
        .cli(&["import", "metro-stations", "--tenant", "hz2"])
        .unwrap();
    assert_eq!(code, 0, "{err}");
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["created"], 80);
    // No observations yet: every station is skipped with its reason, nothing written.
    let (code, out, err) = s
        .cli(&["brain", "forecast", "metro", "--tenant", "hz2"])
        .unwrap();
    assert_eq!(code, 0, "{err}");
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["stations_forecast"], 0);
    assert_eq!(r["skipped"].as_object().unwrap().len(), 80);
    let (code, _, err) = s
        .cli(&["import", "metro-stations", "--tenant", "no-such-tenant"])
        .unwrap();
    assert_ne!(code, 0);
    assert!(
        err.contains("no-such-tenant") || err.contains("tenant"),
        "{err}"
    );
}
