use crate::{assert_problem, fixture, server, server_with};
use onecity_testkit::Options;
use serde_json::json;

#[tokio::test]
async fn malformed_wrong_typed_oversized_and_non_utf8_bodies_get_problems() {
    // A small body limit, so that the oversized body fits in the socket buffers and the
    // early 413 is read back rather than racing a connection reset.
    let s = server_with(Options {
        env: vec![("ONECITY_MAX_BODY_BYTES".into(), "8192".into())],
        ..Default::default()
    })
    .await;
    let f = fixture(&s).await;
    let url = format!("{}/api/v1/tenants/t1/departments", s.url);
    let send = |body: Vec<u8>| {
        s.http
            .post(&url)
            .bearer_auth(&f.admin)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let r = send(b"{\"code\": ".to_vec()).await.unwrap();
    let st = r.status().as_u16();
    assert_problem(st, &r.json().await.unwrap(), 400, "malformed_body");
    let r = send(br#"{"jurisdiction_id": 12, "code": "X", "name": "x"}"#.to_vec())
        .await
        .unwrap();
    let st = r.status().as_u16();
    assert_problem(st, &r.json().await.unwrap(), 422, "invalid_input");
    let r = send(vec![b'{', b'"', 0xff, 0xfe, b'"', b':', b'1', b'}'])
        .await
        .unwrap();
    let st = r.status().as_u16();
    assert_problem(st, &r.json().await.unwrap(), 400, "malformed_body");
    let big = format!(
        r#"{{"jurisdiction_id":"{}","code":"BIG","name":"{}"}}"#,
        f.district_a,
        "x".repeat(16 * 1024)
    );
    let r = send(big.into_bytes()).await.unwrap();
    let st = r.status().as_u16();
    assert_problem(st, &r.json().await.unwrap(), 413, "payload_too_large");
    let r = s
        .http
        .post(&url)
        .bearer_auth(&f.admin)
        .body("{}")
        .send()
        .await
        .unwrap();
    let st = r.status().as_u16();
    assert_problem(st, &r.json().await.unwrap(), 415, "unsupported_media_type");
    // Unknown tenant, unknown route, bad ids, bad paging.
    let (st, body) = s
        .get("/api/v1/tenants/nowhere/jurisdictions", &f.admin)
        .await
        .unwrap();
    assert_problem(st, &body, 404, "tenant_not_found");
    let (st, body) = s
        .get("/api/v1/tenants/t1/jurisdictions/not-a-uuid", &f.admin)
        .await
        .unwrap();
    assert_problem(st, &body, 404, "not_found");
    let (st, body) = s
        .get("/api/v1/tenants/t1/jurisdictions?limit=100000", &f.admin)
        .await
        .unwrap();
    assert_problem(st, &body, 400, "invalid_query");
    let (st, body) = s
        .get("/api/v1/tenants/t1/jurisdictions?cursor=%21%21", &f.admin)
        .await
        .unwrap();
    assert_problem(st, &body, 400, "invalid_cursor");
    // Nothing was half-written by the failures above.
    let (_, page) = s
        .get("/api/v1/tenants/t1/departments", &f.admin)
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn quotes_and_sql_keywords_are_stored_verbatim() {
    let s = server().await;
    let f = fixture(&s).await;
    let name = r#"Robert'); DROP TABLE jurisdictions;-- "引号" \ 西湖"#;
    let (st, j) = s
        .post(
            "/api/v1/tenants/t1/jurisdictions",
            &f.admin,
            &json!({"parent_id":f.district_a,"level":"street","code":"OR-1.1","name":name}),
        )
        .await
        .unwrap();
    assert_eq!(st, 201, "{j}");
    let (_, back) = s
        .get(
            &format!(
                "/api/v1/tenants/t1/jurisdictions/{}",
                j["id"].as_str().unwrap()
            ),
            &f.admin,
        )
        .await
        .unwrap();
    assert_eq!(back["name"], name);
    let (st, body) = s
        .post(
            "/api/v1/tenants/t1/jurisdictions",
            &f.admin,
            &json!({"level":"street","code":"x' OR '1'='1","name":"x"}),
        )
        .await
        .unwrap();
    assert_problem(st, &body, 422, "invalid_input");
    let (st, body) = s
        .post(
            "/api/v1/tenants/t1/jurisdictions",
            &f.admin,
            &json!({"parent_id":f.district_a,"level":"street","code":"OR-1.1","name":"dup"}),
        )
        .await
        .unwrap();
    assert_problem(st, &body, 409, "conflict");
    let (_, page) = s
        .get("/api/v1/tenants/t1/jurisdictions?limit=500", &f.admin)
        .await
        .unwrap();
    assert_eq!(
        page["items"].as_array().unwrap().len(),
        4,
        "root, A, B and the street"
    );
}

#[tokio::test]
async fn invalid_geojson_is_refused_and_nothing_is_written() {
    let s = server().await;
    let f = fixture(&s).await;
    let good = json!({"type":"Feature","properties":{"code":"990103","name":"丙区"},"geometry":{"type":"Polygon","coordinates":[[[120.0,30.0],[120.1,30.0],[120.1,30.1],[120.0,30.1],[120.0,30.0]]]}});
    let cases = [
        (
            "not closed",
            json!({"type":"Polygon","coordinates":[[[120.2,30.0],[120.3,30.0],[120.3,30.1],[120.2,30.1]]]}),
        ),
        (
            "self-intersection",
            json!({"type":"Polygon","coordinates":[[[120.2,30.0],[120.3,30.1],[120.3,30.0],[120.2,30.1],[120.2,30.0]]]}),
        ),
        (
            "latitude 91",
            json!({"type":"Polygon","coordinates":[[[120.2,30.0],[120.3,30.0],[120.3,91.0],[120.2,30.0]]]}),
        ),
    ];
    for (want, geom) in cases {
        let bad =
            json!({"type":"Feature","properties":{"code":"990104","name":"丁区"},"geometry":geom});
        let fc = json!({"type":"FeatureCollection","features":[good.clone(), bad]});
        let (st, body) = s
            .post(
                "/api/v1/tenants/t1/boundaries/import?level=district",
                &f.admin,
                &fc,
            )
            .await
            .unwrap();
        assert_problem(st, &body, 422, "invalid_geometry");
        let errs = body["errors"].as_array().unwrap();
        assert_eq!(errs[0]["feature"], 1);
        assert!(
            errs[0]["problem"].as_str().unwrap().contains(want),
            "{want}: {body}"
        );
    }
    let (_, fc) = s
        .get("/api/v1/tenants/t1/boundaries.geojson", &f.admin)
        .await
        .unwrap();
    assert_eq!(
        fc["features"].as_array().unwrap().len(),
        0,
        "the good feature was not imported either"
    );
    let (_, page) = s
        .get("/api/v1/tenants/t1/jurisdictions?limit=500", &f.admin)
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 3);
    // The valid collection alone imports, and lookup finds it.
    let (st, rep) = s
        .post(
            "/api/v1/tenants/t1/boundaries/import?level=district",
            &f.admin,
            &json!({"type":"FeatureCollection","features":[good]}),
        )
        .await
        .unwrap();
    assert_eq!(st, 200, "{rep}");
    assert_eq!(rep["created"], 1);
    let (_, hit) = s
        .get("/api/v1/tenants/t1/lookup?lon=120.05&lat=30.05", &f.admin)
        .await
        .unwrap();
    let names: Vec<&str> = hit["jurisdictions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["测试市", "丙区"]);
    let (st, body) = s
        .get("/api/v1/tenants/t1/lookup?lon=200&lat=30", &f.admin)
        .await
        .unwrap();
    assert_problem(st, &body, 400, "invalid_query");
}

#[tokio::test]
async fn imports_cannot_overwrite_other_nodes_duplicate_codes_or_leave_their_parent() {
    let s = server().await;
    let f = fixture(&s).await;
    let sq = |code: &str, x: f64, y: f64, d: f64| {
        json!({"type":"Feature","properties":{"code":code,"name":code},
        "geometry":{"type":"Polygon","coordinates":[[[x,y],[x+d,y],[x+d,y+d],[x,y+d],[x,y]]]}})
    };
    let fc = |fs: Vec<serde_json::Value>| json!({"type":"FeatureCollection","features":fs});
    // District A gets a boundary; then streets under it.
    let (st, _) = s
        .post(
            "/api/v1/tenants/t1/boundaries/import?level=district",
            &f.admin,
            &fc(vec![sq("990101", 120.0, 30.0, 0.1)]),
        )
        .await
        .unwrap();
    assert_eq!(st, 200);
    let (st, body) = s
        .post(
            "/api/v1/tenants/t1/boundaries/import?level=street&parent_code=990101",
            &f.admin,
            &fc(vec![
                sq("S1", 120.01, 30.01, 0.01),
                sq("S1", 120.03, 30.03, 0.01),
            ]),
        )
        .await
        .unwrap();
    assert_problem(st, &body, 422, "invalid_geometry");
    assert!(
        body["errors"][0]["problem"]
            .as_str()
            .unwrap()
            .contains("more than once"),
        "{body}"
    );
    let (st, body) = s
        .post(
            "/api/v1/tenants/t1/boundaries/import?level=street&parent_code=990101",
            &f.admin,
            &fc(vec![sq("S2", 121.5, 31.5, 0.01)]),
        )
        .await
        .unwrap();
    assert_problem(st, &body, 422, "invalid_geometry");
    assert!(
        body["errors"][0]["problem"]
            .as_str()
            .unwrap()
            .contains("outside its parent"),
        "{body}"
    );
    // B's code under A's parent: refused, B untouched.
    let (st, body) = s
        .post(
            "/api/v1/tenants/t1/boundaries/import?level=street&parent_code=990101",
            &f.admin,
            &fc(vec![sq("990102", 120.02, 30.02, 0.01)]),
        )
        .await
        .unwrap();
    assert_problem(st, &body, 409, "conflict");
    let (_, b) = s
        .get(
            &format!("/api/v1/tenants/t1/jurisdictions/{}", f.district_b),
            &f.admin,
        )
        .await
        .unwrap();
    assert_eq!(b["has_boundary"], false);
    // Staff of B looking up a point in A see nothing of A.
    let (_, hit) = s
        .get("/api/v1/tenants/t1/lookup?lon=120.05&lat=30.05", &f.staff_b)
        .await
        .unwrap();
    let names: Vec<&str> = hit["jurisdictions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["name"].as_str().unwrap())
        .collect();
    assert!(!names.contains(&"甲区"), "{hit}");
    let (_, hit) = s
        .get("/api/v1/tenants/t1/lookup?lon=120.05&lat=30.05", &f.staff_a)
        .await
        .unwrap();
    assert_eq!(
        hit["jurisdictions"].as_array().unwrap().last().unwrap()["name"],
        "甲区"
    );
}
