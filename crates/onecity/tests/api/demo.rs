use crate::server_with;
use onecity_testkit::Options;

fn deepest(v: &serde_json::Value) -> String {
    v["jurisdictions"]
        .as_array()
        .unwrap()
        .last()
        .map(|j| j["name"].as_str().unwrap().to_string())
        .unwrap_or_default()
}

#[tokio::test]
async fn demo_tenants_hold_the_real_boundaries_and_lookups_work() {
    let mut s = server_with(Options {
        demo: true,
        ..Default::default()
    })
    .await;
    let t = s.admin_token().await.unwrap();
    let (_, hz) = s
        .get("/api/v1/tenants/hangzhou/boundaries.geojson", &t)
        .await
        .unwrap();
    assert_eq!(hz["features"].as_array().unwrap().len(), 13);
    let (_, nyc) = s
        .get("/api/v1/tenants/nyc/boundaries.geojson", &t)
        .await
        .unwrap();
    let mut boroughs: Vec<&str> = nyc["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["name"].as_str().unwrap())
        .collect();
    boroughs.sort();
    assert_eq!(
        boroughs,
        vec!["Bronx", "Brooklyn", "Manhattan", "Queens", "Staten Island"]
    );
    // Points checked by hand on a map: Flushing Meadows (Queens), Times Square (Manhattan),
    // West Lake (西湖区), the old Hangzhou railway station (上城区), Flinders St (CBD).
    let (_, q) = s
        .get("/api/v1/tenants/nyc/lookup?lon=-73.82&lat=40.72", &t)
        .await
        .unwrap();
    assert_eq!(deepest(&q), "Queens");
    assert!(q["grid"]["name"].as_str().unwrap().contains("(generated)"));
    let (_, m) = s
        .get("/api/v1/tenants/nyc/lookup?lon=-73.9855&lat=40.758", &t)
        .await
        .unwrap();
    assert_eq!(deepest(&m), "Manhattan");
    let (_, x) = s
        .get("/api/v1/tenants/hangzhou/lookup?lon=120.14&lat=30.25", &t)
        .await
        .unwrap();
    assert_eq!(deepest(&x), "西湖区");
    assert_eq!(x["jurisdictions"][0]["code"], "330100");
    let (_, sc) = s
        .get("/api/v1/tenants/hangzhou/lookup?lon=120.182&lat=30.245", &t)
        .await
        .unwrap();
    assert_eq!(deepest(&sc), "上城区");
    let (_, mel) = s
        .get(
            "/api/v1/tenants/melbourne/lookup?lon=144.9671&lat=-37.8179",
            &t,
        )
        .await
        .unwrap();
    assert_eq!(deepest(&mel), "CBD Hoddle Grid");
    let (_, sea) = s
        .get("/api/v1/tenants/nyc/lookup?lon=-73.0&lat=40.0", &t)
        .await
        .unwrap();
    assert!(sea["jurisdictions"].as_array().unwrap().is_empty());
    let (_, depts) = s
        .get("/api/v1/tenants/hangzhou/departments", &t)
        .await
        .unwrap();
    assert!(depts["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["name"] == "杭州市应急管理局"));
    // The demo catalog: the real harvested catalogues and the city's own datasets.
    let (_, cat) = s
        .get(
            "/api/3/action/package_search?rows=0&facet.field=[\"organization\"]",
            &t,
        )
        .await
        .unwrap();
    let open = cat["result"]["count"].as_u64().unwrap();
    assert!(open >= 18, "{cat}");
    assert_eq!(cat["result"]["facets"]["organization"]["hz-sjj"], open - 2);
    let (_, bus) = s
        .get(
            "/api/3/action/package_show?id=hang-zhou-shi-gong-jiao-xian-lu-yu-zhan-dian",
            &t,
        )
        .await
        .unwrap();
    assert_eq!(bus["result"]["title_en"], "Hangzhou bus routes and stops");
    // Real CSVs as datastore tables of open demo datasets: small ones whole, big ones capped.
    let (_, covid) = s
        .get("/api/3/action/package_show?id=nyc-covid-by-modzcta", &t)
        .await
        .unwrap();
    let rid = covid["result"]["resources"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (st, r) = s
        .get(
            &format!("/api/3/action/datastore_search?resource_id={rid}&filters=%7B%22MODIFIED_ZCTA%22%3A10001%7D"),
            &t,
        )
        .await
        .unwrap();
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["result"]["total"], 1, "{r}");
    assert_eq!(
        r["result"]["records"][0]["NEIGHBORHOOD_NAME"],
        "Chelsea/NoMad/West Chelsea"
    );
    assert_eq!(r["result"]["records"][0]["COVID_CASE_COUNT"], 12391);
    let (_, air) = s
        .get("/api/3/action/package_show?id=beijing-air-dongsi", &t)
        .await
        .unwrap();
    assert!(
        air["result"]["notes_en"]
            .as_str()
            .unwrap()
            .contains("first 5000 of the file's 35064 rows"),
        "{air}"
    );
    let rid = air["result"]["resources"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, info) = s
        .get(
            &format!("/api/3/action/datastore_info?resource_id={rid}"),
            &t,
        )
        .await
        .unwrap();
    assert_eq!(info["result"]["meta"]["count"], 5000, "{info}");
    for name in ["birmingham-parking-occupancy", "hangzhou-metro-flows"] {
        let (st, d) = s
            .get(&format!("/api/3/action/package_show?id={name}"), &t)
            .await
            .unwrap();
        assert_eq!(st, 200, "{name}: {d}");
    }
    // Restarting with --demo again changes nothing.
    s.restart(&[]).await.unwrap();
    let (_, again) = s
        .get("/api/3/action/package_search?rows=0", &t)
        .await
        .unwrap();
    assert_eq!(again["result"]["count"].as_u64(), Some(open));
    let (_, hz) = s
        .get("/api/v1/tenants/hangzhou/boundaries.geojson", &t)
        .await
        .unwrap();
    assert_eq!(hz["features"].as_array().unwrap().len(), 13);
}

/// A first start that fails (here: `--demo` with a demo data folder that does not exist)
/// creates no admin and prints no password; the next start that succeeds prints the
/// one-time password (first-hour issue: the password used to be consumed by the failure).
#[tokio::test]
async fn a_failed_first_start_does_not_consume_the_admin_password() {
    let dir = tempfile::tempdir().unwrap();
    let run = |extra: &[&str]| {
        let mut cmd = std::process::Command::new(crate::BIN);
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .args(extra)
            .env_remove("ONECITY_ADMIN_PASSWORD")
            .env_remove("ONECITY_DATABASE_URL")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        cmd.spawn().unwrap()
    };
    let missing = dir.path().join("no-such-demo-data");
    let failed = run(&["--demo", "--demo-data", missing.to_str().unwrap()])
        .wait_with_output()
        .unwrap();
    let err = String::from_utf8_lossy(&failed.stderr);
    assert!(!failed.status.success(), "the start should fail: {err}");
    assert!(!err.contains("one-time password"), "{err}");
    // The next start succeeds and prints the password; stop it once it is printed.
    let mut ok = run(&[]);
    let stderr = ok.stderr.take().unwrap();
    let lines = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        let mut seen = Vec::new();
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let done = line.contains("onecity listening");
            seen.push(line);
            if done {
                break;
            }
        }
        seen
    })
    .await
    .unwrap();
    let _ = ok.kill();
    let _ = ok.wait();
    let text = lines.join("\n");
    assert!(
        text.contains("created user 'admin' with the one-time password"),
        "{text}"
    );
}
