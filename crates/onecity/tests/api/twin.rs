//! The digital twin's NGSI-LD API (`/ngsi-ld/v1`) through HTTP on a real server: Smart
//! Data Models examples, the issue's failure kinds, geo and temporal queries on real data,
//! access control, and the change events.

use crate::server_with;
use onecity_testkit::{repo_root, Options, TestServer};
use serde_json::{json, Value};
use std::path::PathBuf;

pub(crate) const LD: &str = "application/ld+json";
const CORE: &str = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld";

fn sdm_dir() -> PathBuf {
    repo_root().join("../shared/data/ngsi-ld/smart-data-models")
}

fn domain_ctx(domain: &str) -> String {
    format!("https://raw.githubusercontent.com/smart-data-models/dataModel.{domain}/master/context.jsonld")
}

/// Writes the map of the Smart Data Models context URLs to their local copies.
fn context_map() -> PathBuf {
    let m: serde_json::Map<String, Value> = [
        "Alert",
        "Device",
        "Environment",
        "Parking",
        "TourismDestinations",
        "Transportation",
    ]
    .iter()
    .map(|d| {
        (
            domain_ctx(d),
            json!(sdm_dir()
                .join(format!("context.dataModel.{d}.jsonld"))
                .display()
                .to_string()),
        )
    })
    .collect();
    let path =
        std::env::temp_dir().join(format!("onecity-twin-ctxmap-{}.json", std::process::id()));
    std::fs::write(&path, Value::Object(m).to_string()).unwrap();
    path
}

/// A server with the NGSI-LD API open and the Smart Data Models contexts mapped locally.
pub(crate) async fn open_server(extra: &[(&str, &str)]) -> TestServer {
    let mut env = vec![
        ("ONECITY_NGSI_LD_OPEN".to_string(), "true".to_string()),
        (
            "ONECITY_NGSI_LD_CONTEXT_MAP".to_string(),
            context_map().display().to_string(),
        ),
        (
            "ONECITY_NGSI_LD_FETCH_CONTEXTS".to_string(),
            "false".to_string(),
        ),
    ];
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    server_with(Options {
        env,
        ..Default::default()
    })
    .await
}

pub(crate) struct Resp {
    pub(crate) status: u16,
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) body: Value,
}

pub(crate) async fn call(
    s: &TestServer,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Resp {
    let mut r = s.http.request(
        method.parse().unwrap(),
        format!("{}/ngsi-ld/v1{path}", s.url),
    );
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    if let Some(b) = body {
        let has_ct = headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
        if !has_ct {
            r = r.header("content-type", "application/json");
        }
        r = r.body(b.to_string());
    }
    let resp = r.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    if status >= 400 {
        onecity_testkit::assert_no_internals(&text);
    }
    Resp {
        status,
        headers,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
    }
}

pub(crate) async fn get(s: &TestServer, path: &str) -> Resp {
    call(s, "GET", path, &[], None).await
}

pub(crate) async fn post(s: &TestServer, path: &str, body: Value) -> Resp {
    call(s, "POST", path, &[], Some(body)).await
}

pub(crate) async fn patch(s: &TestServer, path: &str, body: Value) -> Resp {
    call(s, "PATCH", path, &[], Some(body)).await
}

pub(crate) async fn put(s: &TestServer, path: &str, body: Value) -> Resp {
    call(s, "PUT", path, &[], Some(body)).await
}

pub(crate) async fn delete(s: &TestServer, path: &str) -> Resp {
    call(s, "DELETE", path, &[], None).await
}

/// The length of the JSON array `v`; panics, showing `v`, when it is not an array.
pub(crate) fn array_len(v: &Value) -> usize {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .len()
}

pub(crate) fn assert_ngsi_error(r: &Resp, status: u16, kind: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(
        r.body["type"],
        format!("https://uri.etsi.org/ngsi-ld/errors/{kind}"),
        "{}",
        r.body
    );
    assert!(
        r.body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{}",
        r.body
    );
    assert_eq!(
        r.headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
}

pub(crate) fn link(ctx: &str) -> String {
    format!("<{ctx}>; rel=\"http://www.w3.org/ns/json-ld#context\"; type=\"application/ld+json\"")
}

pub(crate) fn count(r: &Resp) -> Option<u64> {
    r.headers
        .get("ngsild-results-count")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn twin_smart_data_models_valid_stored_as_given_invalid_rejected() {
    let s = open_server(&[]).await;
    let mut created = 0;
    for entry in std::fs::read_dir(sdm_dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.ends_with(".normalized.jsonld") {
            continue;
        }
        let body: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let r = call(
            &s,
            "POST",
            "/entities",
            &[("content-type", LD)],
            Some(body.clone()),
        )
        .await;
        match name.as_str() {
            "WaterObserved.normalized.jsonld" => {
                assert_ngsi_error(&r, 400, "BadRequestData");
                let d = r.body["detail"].as_str().unwrap();
                assert!(
                    d.contains("dateObserved") && d.contains("must be a URI"),
                    "{d}"
                );
            }
            "FloodMonitoring.normalized.jsonld" => {
                assert_ngsi_error(&r, 400, "BadRequestData");
                let d = r.body["detail"].as_str().unwrap();
                assert!(d.contains("has type \"string\""), "{d}");
            }
            _ => {
                assert_eq!(r.status, 201, "{name}: {}", r.body);
                created += 1;
                // Stored as given: every attribute comes back with the same value.
                let id = body["id"].as_str().unwrap();
                let ctx = body["@context"].clone();
                let mut h = vec![("accept", LD)];
                let l;
                if let Some(first) = ctx.as_array().and_then(|a| {
                    a.iter()
                        .find(|u| !u.as_str().unwrap().contains("uri.etsi.org"))
                }) {
                    l = link(first.as_str().unwrap());
                    h.push(("link", l.as_str()));
                }
                let got = call(&s, "GET", &format!("/entities/{}", urlenc(id)), &h, None).await;
                assert_eq!(got.status, 200, "{name}: {}", got.body);
                for (k, v) in body.as_object().unwrap() {
                    if k == "@context" {
                        continue;
                    }
                    if let Some(val) = v.get("value") {
                        assert_eq!(&got.body[k]["value"], val, "{name}: {k}");
                    }
                    if let Some(obj) = v.get("object") {
                        assert_eq!(&got.body[k]["object"], obj, "{name}: {k}");
                    }
                }
            }
        }
    }
    assert_eq!(created, 9);
    // Swapped coordinates (DeviceMeasurement, Helsinki given as lat,lon) are stored as given.
    let r = call(
        &s,
        "GET",
        "/entities/urn:ngsi-ld:MEASUREMENT:id:PMZY:77452386?attrs=location",
        &[("link", &link(&domain_ctx("Device")))],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["location"]["value"]["coordinates"],
        json!([60.170833, 24.9375])
    );
    // Discovery lists the types compacted with the caller's context.
    let r = call(
        &s,
        "GET",
        "/types",
        &[("link", &link(&domain_ctx("Parking")))],
        None,
    )
    .await;
    let types: Vec<&str> = r.body["typeList"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        types.contains(&"OffStreetParking") && types.contains(&"ParkingSpot"),
        "{types:?}"
    );
}

fn urlenc(s: &str) -> String {
    s.replace('#', "%23").replace('?', "%3F")
}

#[tokio::test]
async fn twin_q_single_equals_is_400_not_a_crash() {
    let s = open_server(&[]).await;
    let r = get(&s, "/entities?type=Device&q=controlledAsset=%22urn:x%22").await;
    assert_ngsi_error(&r, 400, "BadRequestData");
    assert!(r.body["detail"].as_str().unwrap().contains("single '='"));
    // The server still answers.
    let r = get(&s, "/entities?type=Device&q=controlledAsset==%22urn:x%22").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, json!([]));
}

async fn create_many(s: &TestServer, n: usize, ty: &str) {
    let ents: Vec<Value> = (0..n)
        .map(|i| json!({"id": format!("urn:ngsi-ld:{ty}:{i:05}"), "type": ty, "n": {"type": "Property", "value": i}}))
        .collect();
    let r = post(s, "/entityOperations/create", Value::Array(ents)).await;
    assert_eq!(r.status, 201, "{}", r.body);
}

#[tokio::test]
async fn twin_limit_above_max_is_403_and_offset_past_end_is_empty_with_count() {
    let s = open_server(&[("ONECITY_NGSI_LD_MAX_LIMIT", "100")]).await;
    create_many(&s, 30, "Sensor").await;
    let r = get(&s, "/entities?type=Sensor&limit=101").await;
    assert_ngsi_error(&r, 403, "TooManyResults");
    let r = get(&s, "/entities?type=Sensor&limit=100&offset=500&count=true").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, json!([]));
    assert_eq!(count(&r), Some(30));
    let r = get(&s, "/entities?type=Sensor&limit=0&count=true").await;
    assert_eq!((r.body.clone(), count(&r)), (json!([]), Some(30)));
    let r = get(&s, "/entities?type=Sensor&limit=-1").await;
    assert_ngsi_error(&r, 400, "BadRequestData");
}

#[tokio::test]
async fn twin_paging_without_order_never_repeats_or_drops() {
    let s = open_server(&[]).await;
    create_many(&s, 57, "Counter").await;
    let mut seen = Vec::new();
    let mut offset = 0;
    loop {
        let r = get(
            &s,
            &format!("/entities?type=Counter&limit=10&offset={offset}&count=true"),
        )
        .await;
        assert_eq!(count(&r), Some(57));
        let page = r.body.as_array().unwrap().clone();
        let has_next = r
            .headers
            .get_all("link")
            .iter()
            .any(|v| v.to_str().unwrap().contains("rel=\"next\""));
        seen.extend(page.iter().map(|e| e["id"].as_str().unwrap().to_string()));
        offset += 10;
        if !has_next {
            assert!(page.len() <= 10);
            break;
        }
    }
    let mut uniq = seen.clone();
    uniq.sort();
    uniq.dedup();
    assert_eq!(seen.len(), 57);
    assert_eq!(uniq.len(), 57);
    assert_eq!(seen, uniq, "pages come in id order");
}

#[tokio::test]
async fn twin_batch_upsert_of_5000_is_fully_applied_with_history() {
    let s = open_server(&[]).await;
    let batch = |v: i64| -> Value {
        Value::Array(
            (0..5000)
                .map(|i| {
                    json!({"id": format!("urn:ngsi-ld:ParkingSpot:b{i:04}"), "type": "ParkingSpot",
                       "status": {"type": "Property", "value": if (i + v) % 2 == 0 { "free" } else { "occupied" }},
                       "level": {"type": "Property", "value": v}})
                })
                .collect(),
        )
    };
    let r = post(&s, "/entityOperations/upsert", batch(1)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(array_len(&r.body), 5000);
    let r = post(&s, "/entityOperations/upsert", batch(2)).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = get(&s, "/entities?type=ParkingSpot&limit=0&count=true").await;
    assert_eq!(count(&r), Some(5000));
    let r = get(
        &s,
        "/entities?type=ParkingSpot&q=level==2&limit=0&count=true",
    )
    .await;
    assert_eq!(count(&r), Some(5000));
    for i in [0, 2500, 4999] {
        let r = get(
            &s,
            &format!("/temporal/entities/urn:ngsi-ld:ParkingSpot:b{i:04}?attrs=level"),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let vals: Vec<i64> = r.body["level"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["value"].as_i64().unwrap())
            .collect();
        assert_eq!(vals, vec![1, 2]);
    }
}

#[tokio::test]
async fn twin_malformed_patch_is_400_and_leaves_entity_unchanged() {
    let s = open_server(&[]).await;
    let e = json!({"id": "urn:ngsi-ld:WaterObserved:venice-punta-salute", "type": "WaterObserved",
        "height": {"type": "Property", "value": 0.32, "unitCode": "MTR", "observedAt": "2022-08-09T23:00:00Z"},
        "refDevice": {"type": "Relationship", "object": "urn:ngsi-ld:Device:ps-1"}});
    assert_eq!(post(&s, "/entities", e).await.status, 201);
    let path = "/entities/urn:ngsi-ld:WaterObserved:venice-punta-salute";
    let before = get(&s, path).await.body;
    let bad_json = s
        .http
        .patch(format!("{}/ngsi-ld/v1{path}/attrs/height", s.url))
        .header("content-type", "application/json")
        .body("{\"value\": 0.5,")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_json.status().as_u16(), 400);
    for body in [
        json!({"type": "Relationship", "object": "urn:x"}),
        json!({"observedAt": "yesterday"}),
        json!({"value": null}),
        json!([1, 2]),
        json!({}),
    ] {
        let r = patch(&s, &format!("{path}/attrs/height"), body.clone()).await;
        assert_ngsi_error(&r, 400, "BadRequestData");
    }
    let r = patch(
        &s,
        &format!("{path}/attrs/refDevice"),
        json!({"object": "not a uri"}),
    )
    .await;
    assert_ngsi_error(&r, 400, "BadRequestData");
    let r = patch(
        &s,
        &format!("{path}/attrs"),
        json!({"height": {"type": "string", "value": 1}}),
    )
    .await;
    assert_ngsi_error(&r, 400, "BadRequestData");
    let after = get(&s, path).await;
    assert_eq!(after.status, 200);
    assert_eq!(after.body, before);
    // A well-formed partial update works.
    let r = patch(
        &s,
        &format!("{path}/attrs/height"),
        json!({"value": 0.30, "observedAt": "2022-08-09T23:05:00Z"}),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let after = get(&s, path).await.body;
    assert_eq!(after["height"]["value"], json!(0.30));
    assert_eq!(after["height"]["unitCode"], "MTR");
}

#[tokio::test]
async fn twin_apostrophe_value_goes_through_batch_upsert_into_history() {
    let s = open_server(&[]).await;
    let e = json!([{"id": "urn:ngsi-ld:Street:nice-1", "type": "Street",
        "name": {"type": "Property", "value": "NICE D'R ST", "observedAt": "2024-03-01T08:00:00Z"}}]);
    let r = post(&s, "/entityOperations/upsert", e).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = get(&s, "/temporal/entities/urn:ngsi-ld:Street:nice-1").await;
    assert_eq!(r.body["name"][0]["value"], "NICE D'R ST", "{}", r.body);
    let r = get(&s, "/entities?type=Street&q=name==%22NICE%20D'R%20ST%22").await;
    assert_eq!(array_len(&r.body), 1, "{}", r.body);
}

#[tokio::test]
async fn twin_q_compares_datetimes_in_plain_and_typed_form() {
    let s = open_server(&[]).await;
    let ents = json!([
        {"id": "urn:ngsi-ld:TouristRental:a", "type": "TouristRental",
         "startDate": {"type": "Property", "value": "2024-06-01T00:00:00Z"}},
        {"id": "urn:ngsi-ld:TouristRental:b", "type": "TouristRental",
         "startDate": {"type": "Property", "value": {"@type": "DateTime", "@value": "2024-08-01T00:00:00Z"}}},
        {"id": "urn:ngsi-ld:TouristRental:c", "type": "TouristRental",
         "startDate": {"type": "Property", "value": {"@type": "DateTime", "@value": "2023-01-01T00:00:00Z"}}}
    ]);
    assert_eq!(post(&s, "/entityOperations/create", ents).await.status, 201);
    let ids = |r: Resp| -> Vec<String> {
        r.body
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_string())
            .collect()
    };
    let r = get(
        &s,
        "/entities?type=TouristRental&q=startDate%3E2024-01-01T00:00:00Z",
    )
    .await;
    assert_eq!(
        ids(r),
        vec!["urn:ngsi-ld:TouristRental:a", "urn:ngsi-ld:TouristRental:b"]
    );
    let r = get(
        &s,
        "/entities?type=TouristRental&q=startDate==2024-05-01T00:00:00Z..2024-09-01T00:00:00Z",
    )
    .await;
    assert_eq!(
        ids(r),
        vec!["urn:ngsi-ld:TouristRental:a", "urn:ngsi-ld:TouristRental:b"]
    );
    let r = get(
        &s,
        "/entities?type=TouristRental&q=startDate%3C%222024-07-01T00:00:00Z%22",
    )
    .await;
    assert_eq!(
        ids(r),
        vec!["urn:ngsi-ld:TouristRental:a", "urn:ngsi-ld:TouristRental:c"]
    );
}

#[tokio::test]
async fn twin_entity_of_3000_attributes_is_accepted_under_the_limit() {
    let s = open_server(&[("ONECITY_NGSI_LD_MAX_BODY_BYTES", "1048576")]).await;
    let mut e = serde_json::Map::new();
    e.insert("id".into(), json!("urn:ngsi-ld:Building:big"));
    e.insert("type".into(), json!("Building"));
    for i in 0..3000 {
        e.insert(
            format!("sensor{i:04}"),
            json!({"type": "Property", "value": i as f64 / 10.0, "unitCode": "CEL"}),
        );
    }
    let body = Value::Object(e);
    assert!(body.to_string().len() < 1_048_576);
    let r = post(&s, "/entities", body.clone()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = get(&s, "/entities/urn:ngsi-ld:Building:big").await;
    assert_eq!(r.body.as_object().unwrap().len(), 3002);
    assert_eq!(r.body["sensor2999"]["value"], json!(299.9));
    // Above the configured limit: refused.
    let small = open_server(&[("ONECITY_NGSI_LD_MAX_BODY_BYTES", "65536")]).await;
    let r = post(&small, "/entities", body).await;
    assert_eq!(r.status, 413);
}

#[tokio::test]
async fn twin_geo_queries_on_real_places() {
    let s = open_server(&[]).await;
    // Real positions: Venice Punta della Salute tide gauge, Porto Trindade car park,
    // Valladolid crowd-flow segment (a LineString).
    let ents = json!([
        {"id": "urn:ngsi-ld:WaterObserved:venice", "type": "WaterObserved",
         "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [12.3364, 45.4306]}}},
        {"id": "urn:ngsi-ld:OffStreetParking:porto", "type": "OffStreetParking",
         "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [-8.60961198807, 41.150691773]}}},
        {"id": "urn:ngsi-ld:CrowdFlowObserved:valladolid", "type": "CrowdFlowObserved",
         "location": {"type": "GeoProperty", "value": {"type": "LineString", "coordinates": [[-4.73735395519672, 41.6538181849672], [-4.73414858659993, 41.6600594193478]]}}}
    ]);
    assert_eq!(post(&s, "/entityOperations/create", ents).await.status, 201);
    let ids = |r: &Resp| -> Vec<String> {
        r.body
            .as_array()
            .unwrap_or(&vec![])
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_string())
            .collect()
    };
    // 520 m from the gauge (San Marco): within 1 km, not within 300 m.
    let r = get(
        &s,
        "/entities?georel=near;maxDistance==1000&geometry=Point&coordinates=[12.3397,45.4341]",
    )
    .await;
    assert_eq!(
        ids(&r),
        vec!["urn:ngsi-ld:WaterObserved:venice"],
        "{}",
        r.body
    );
    let r = get(
        &s,
        "/entities?georel=near;maxDistance==300&geometry=Point&coordinates=[12.3397,45.4341]",
    )
    .await;
    assert!(ids(&r).is_empty());
    let r = get(
        &s,
        "/entities?georel=near;minDistance==1000000&geometry=Point&coordinates=[12.3397,45.4341]",
    )
    .await;
    assert_eq!(
        ids(&r),
        vec![
            "urn:ngsi-ld:CrowdFlowObserved:valladolid",
            "urn:ngsi-ld:OffStreetParking:porto"
        ]
    );
    // Iberia bounding polygon: Porto and Valladolid within; Venice disjoint.
    let iberia = "[[[-10,36],[3.5,36],[3.5,44],[-10,44],[-10,36]]]";
    let r = get(
        &s,
        &format!("/entities?georel=within&geometry=Polygon&coordinates={iberia}"),
    )
    .await;
    assert_eq!(
        ids(&r),
        vec![
            "urn:ngsi-ld:CrowdFlowObserved:valladolid",
            "urn:ngsi-ld:OffStreetParking:porto"
        ]
    );
    let r = get(
        &s,
        &format!("/entities?georel=disjoint&geometry=Polygon&coordinates={iberia}"),
    )
    .await;
    assert_eq!(ids(&r), vec!["urn:ngsi-ld:WaterObserved:venice"]);
    // A line crossing the Valladolid segment intersects it.
    let r = get(&s, "/entities?georel=intersects&geometry=LineString&coordinates=[[-4.74,41.657],[-4.73,41.657]]").await;
    assert_eq!(ids(&r), vec!["urn:ngsi-ld:CrowdFlowObserved:valladolid"]);
    let r = get(
        &s,
        "/entities?georel=equals&geometry=Point&coordinates=[12.3364,45.4306]",
    )
    .await;
    assert_eq!(ids(&r), vec!["urn:ngsi-ld:WaterObserved:venice"]);
    let r = get(
        &s,
        "/entities?georel=nearby&geometry=Point&coordinates=[0,0]",
    )
    .await;
    assert_ngsi_error(&r, 400, "BadRequestData");
    let r = get(
        &s,
        "/entities?georel=within&geometry=Polygon&coordinates=[[[0,0],[1,1]]]",
    )
    .await;
    assert_ngsi_error(&r, 400, "BadRequestData");
}

/// One day of the real Punta della Salute tide series (10-minute samples) appended through
/// the temporal API, read back with lastN and hourly aggregates that match the CSV.
#[tokio::test]
async fn twin_temporal_history_of_real_tide_levels() {
    let s = open_server(&[]).await;
    let csv = std::fs::read_to_string(
        repo_root().join("../shared/data/water/venice_punta_salute_tide.csv"),
    )
    .unwrap();
    let mut samples: Vec<(String, f64)> = Vec::new();
    for line in csv.lines().skip(1) {
        let cols: Vec<&str> = line.split(';').collect();
        if !cols[0].starts_with("2022-08-10") {
            continue;
        }
        let minute: u32 = cols[0][14..16].parse().unwrap();
        if !minute.is_multiple_of(10) || cols[1].is_empty() {
            continue;
        }
        // Solar time UTC+1 → UTC.
        let t = chrono::NaiveDateTime::parse_from_str(cols[0], "%Y-%m-%d %H:%M:%S").unwrap()
            - chrono::Duration::hours(1);
        samples.push((
            t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            cols[1].parse().unwrap(),
        ));
    }
    assert_eq!(samples.len(), 144);
    let inst: Vec<Value> = samples
        .iter()
        .map(|(t, v)| json!({"type": "Property", "value": v, "observedAt": t, "unitCode": "MTR"}))
        .collect();
    let body = json!({"id": "urn:ngsi-ld:WaterObserved:venice-punta-salute", "type": "WaterObserved", "height": inst});
    let r = post(&s, "/temporal/entities", body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    // The current state is the latest sample.
    let r = get(
        &s,
        "/entities/urn:ngsi-ld:WaterObserved:venice-punta-salute",
    )
    .await;
    assert_eq!(r.body["height"]["value"], json!(samples[143].1));
    let base = "/temporal/entities/urn:ngsi-ld:WaterObserved:venice-punta-salute";
    let r = get(
        &s,
        &format!(
            "{base}?timerel=between&timeAt=2022-08-09T23:00:00Z&endTimeAt=2022-08-10T23:00:00Z"
        ),
    )
    .await;
    // The whole day fits in one answer (ngsi_ld_temporal_page, default 1000): 200.
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.headers.get("content-range").is_none());
    assert_eq!(array_len(&r.body["height"]), 144, "{}", r.body);
    let r = get(&s, &format!("{base}?lastN=3")).await;
    let last: Vec<f64> = r.body["height"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["value"].as_f64().unwrap())
        .collect();
    assert_eq!(last, samples[141..].iter().map(|x| x.1).collect::<Vec<_>>());
    let r = get(
        &s,
        &format!("{base}?timerel=before&timeAt=2022-08-10T00:00:00Z&options=temporalValues"),
    )
    .await;
    assert_eq!(array_len(&r.body["height"]["values"]), 6, "{}", r.body);
    let r = get(
        &s,
        &format!("{base}?timerel=between&timeAt=2022-08-09T23:00:00Z&endTimeAt=2022-08-10T23:00:00Z&options=aggregatedValues&aggrMethods=avg,max,min,totalCount&aggrPeriodDuration=PT1H"),
    )
    .await;
    let avg = r.body["height"]["avg"].as_array().unwrap();
    assert_eq!(avg.len(), 24, "{}", r.body);
    let first: Vec<f64> = samples[..6].iter().map(|x| x.1).collect();
    let want = first.iter().sum::<f64>() / 6.0;
    assert!((avg[0][0].as_f64().unwrap() - want).abs() < 1e-9);
    assert_eq!(avg[0][1], "2022-08-09T23:00:00Z");
    assert_eq!(r.body["height"]["totalCount"][5][0], json!(6));
    let max_all = samples.iter().map(|x| x.1).fold(f64::MIN, f64::max);
    let max_seen = r.body["height"]["max"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x[0].as_f64().unwrap())
        .fold(f64::MIN, f64::max);
    assert_eq!(max_seen, max_all);
    let r = get(
        &s,
        &format!("{base}?options=aggregatedValues&aggrMethods=median"),
    )
    .await;
    assert_ngsi_error(&r, 400, "BadRequestData");
    let r = get(
        &s,
        &format!("{base}?timerel=between&timeAt=2022-08-10T00:00:00Z"),
    )
    .await;
    assert_ngsi_error(&r, 400, "BadRequestData");
}

#[tokio::test]
async fn twin_access_needs_twin_scopes_unless_open() {
    let s = server_with(Options::default()).await;
    let r = get(&s, "/entities?type=T").await;
    assert_ngsi_error(&r, 401, "Unauthorized");
    let admin = s.admin_token().await.unwrap();
    let auth = format!("Bearer {admin}");
    let e = json!({"id": "urn:ngsi-ld:T:1", "type": "T", "x": {"type": "Property", "value": 1}});
    let r = call(
        &s,
        "POST",
        "/entities",
        &[("authorization", &auth)],
        Some(e),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = call(
        &s,
        "GET",
        "/entities/urn:ngsi-ld:T:1",
        &[("authorization", &auth)],
        None,
    )
    .await;
    assert_eq!(r.body["x"]["value"], 1);
    // Staff hold twin:read in their tenant only, and no twin:write.
    let f = crate::fixture(&s).await;
    let staff = format!("Bearer {}", f.staff_a);
    let r = call(
        &s,
        "GET",
        "/entities?type=T",
        &[("authorization", &staff)],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = call(
        &s,
        "GET",
        "/entities?type=T",
        &[("authorization", &staff), ("ngsild-tenant", "other")],
        None,
    )
    .await;
    assert_ngsi_error(&r, 403, "Forbidden");
    let e = json!({"id": "urn:ngsi-ld:T:2", "type": "T"});
    let r = call(
        &s,
        "POST",
        "/entities",
        &[("authorization", &staff)],
        Some(e),
    )
    .await;
    assert_ngsi_error(&r, 403, "Forbidden");
}

#[tokio::test]
async fn twin_tenants_are_separate_and_changes_reach_the_outbox() {
    let s = open_server(&[]).await;
    let e = json!({"id": "urn:ngsi-ld:AirQualityObserved:dongsi", "type": "AirQualityObserved",
        "pm10": {"type": "Property", "value": 42, "observedAt": "2013-03-01T00:00:00Z"}});
    let r = call(
        &s,
        "POST",
        "/entities",
        &[("ngsild-tenant", "beijing")],
        Some(e),
    )
    .await;
    assert_eq!(r.status, 201);
    assert_eq!(
        get(&s, "/entities/urn:ngsi-ld:AirQualityObserved:dongsi")
            .await
            .status,
        404
    );
    let r = call(
        &s,
        "GET",
        "/entities/urn:ngsi-ld:AirQualityObserved:dongsi",
        &[("ngsild-tenant", "beijing")],
        None,
    )
    .await;
    assert_eq!(r.body["pm10"]["value"], 42);
    let r = call(
        &s,
        "PATCH",
        "/entities/urn:ngsi-ld:AirQualityObserved:dongsi/attrs",
        &[("ngsild-tenant", "beijing")],
        Some(json!({"pm10": {"type": "Property", "value": 50, "observedAt": "2013-03-01T01:00:00Z"}, "so2": {"type": "Property", "value": 3}})),
    )
    .await;
    assert_eq!(r.status, 207, "{}", r.body);
    assert_eq!(r.body["notUpdated"][0]["attributeName"], "so2");
    let r = call(
        &s,
        "DELETE",
        "/entities/urn:ngsi-ld:AirQualityObserved:dongsi",
        &[("ngsild-tenant", "beijing")],
        None,
    )
    .await;
    assert_eq!(r.status, 204);
    let db = s.open_store().await.unwrap();
    let rows = db
        .fetch_all("SELECT topic, tenant, payload FROM outbox WHERE topic LIKE 'onecity.twin.%' ORDER BY seq", &[])
        .await
        .unwrap();
    let topics: Vec<String> = rows.iter().map(|r| r.text("topic").unwrap()).collect();
    assert_eq!(
        topics,
        vec![
            "onecity.twin.entity_changed",
            "onecity.twin.entity_changed",
            "onecity.twin.entity_deleted"
        ]
    );
    let p: Value = serde_json::from_str(&rows[1].text("payload").unwrap()).unwrap();
    assert_eq!(
        rows[1].opt_text("tenant").unwrap().as_deref(),
        Some("beijing")
    );
    let ev = &p["event"];
    assert_eq!(ev["entity_type"], "AirQualityObserved", "{p}");
    assert_eq!(ev["values"], json!({"pm10": 50}), "{p}");
    assert_eq!(ev["observed_at"], json!(1_362_099_600_000_000i64), "{p}");
    db.close().await;
}

#[tokio::test]
async fn twin_core_context_urls_known_without_fetch_and_ld_json_answers() {
    let s = open_server(&[]).await;
    for v in ["1.6", "1.8", "1.9"] {
        let id = format!("urn:ngsi-ld:Thing:v{}", v.replace('.', ""));
        let e = json!({"@context": format!("https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v{v}.jsonld"),
            "id": id, "type": "Thing", "name": {"type": "LanguageProperty", "languageMap": {"en": "Bridge", "zh": "桥"}}});
        let r = call(&s, "POST", "/entities", &[("content-type", LD)], Some(e)).await;
        assert_eq!(r.status, 201, "{v}: {}", r.body);
    }
    let r = call(
        &s,
        "GET",
        "/entities/urn:ngsi-ld:Thing:v18?lang=zh&options=keyValues",
        &[("accept", LD)],
        None,
    )
    .await;
    assert_eq!(r.body["name"], "桥");
    assert_eq!(r.body["@context"], CORE);
    let r = call(
        &s,
        "POST",
        "/entities",
        &[("content-type", LD)],
        Some(
            json!({"@context": "https://example.org/unknown.jsonld", "id": "urn:a:b", "type": "T"}),
        ),
    )
    .await;
    assert_ngsi_error(&r, 504, "LdContextNotAvailable");
    let r = call(
        &s,
        "POST",
        "/entities",
        &[],
        Some(json!({"@context": CORE, "id": "urn:a:b", "type": "T"})),
    )
    .await;
    assert_ngsi_error(&r, 400, "BadRequestData");
}

/// Acknowledged writes survive a crash: the index is rebuilt from the database at start.
#[tokio::test]
async fn twin_acknowledged_writes_survive_kill_and_restart() {
    let mut s = open_server(&[]).await;
    create_many(&s, 200, "Gauge").await;
    let r = patch(
        &s,
        "/entities/urn:ngsi-ld:Gauge:00007/attrs",
        json!({"n": {"type": "Property", "value": 777}}),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(
        delete(&s, "/entities/urn:ngsi-ld:Gauge:00008").await.status,
        204
    );
    s.kill9();
    s.restart(&[]).await.unwrap();
    let r = get(&s, "/entities?type=Gauge&limit=0&count=true").await;
    assert_eq!(count(&r), Some(199));
    assert_eq!(
        get(&s, "/entities/urn:ngsi-ld:Gauge:00007").await.body["n"]["value"],
        777
    );
    assert_eq!(
        get(&s, "/entities/urn:ngsi-ld:Gauge:00008").await.status,
        404
    );
    let r = get(&s, "/temporal/entities/urn:ngsi-ld:Gauge:00007?attrs=n").await;
    let vals: Vec<i64> = r.body["n"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["value"].as_i64().unwrap())
        .collect();
    assert_eq!(vals, vec![7, 777]);
}

/// App keys with entity-type limited scopes (`twin:read:<Type>`, `twin:write:<Type>`) see
/// and change only entities of those types, in their own tenant.
#[tokio::test]
async fn twin_app_key_scopes_per_tenant_and_entity_type() {
    let s = server_with(Options::default()).await;
    let f = crate::fixture(&s).await;
    let (st, key) = s
        .post(
            "/api/v1/tenants/t1/keys",
            &f.admin,
            &json!({"name": "tide gauges", "scopes": ["twin:read:WaterObserved", "twin:write:WaterObserved"]}),
        )
        .await
        .unwrap();
    assert_eq!(st, 201, "{key}");
    let key = format!("Bearer {}", key["key"].as_str().unwrap());
    let admin = format!("Bearer {}", f.admin);
    let t1 = ("ngsild-tenant", "t1");
    let air = json!({"id": "urn:ngsi-ld:AirQualityObserved:dongsi", "type": "AirQualityObserved", "pm10": {"type": "Property", "value": 42}});
    assert_eq!(
        call(
            &s,
            "POST",
            "/entities",
            &[("authorization", &admin), t1],
            Some(air)
        )
        .await
        .status,
        201
    );
    let water = json!({"id": "urn:ngsi-ld:WaterObserved:venice", "type": "WaterObserved", "height": {"type": "Property", "value": 0.32}});
    let r = call(
        &s,
        "POST",
        "/entities",
        &[("authorization", &key)],
        Some(water),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    // The key works in its home tenant t1 (no header needed); it sees only WaterObserved.
    let r = call(
        &s,
        "GET",
        "/entities?attrs=pm10,height",
        &[("authorization", &key)],
        None,
    )
    .await;
    let ids: Vec<&str> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["urn:ngsi-ld:WaterObserved:venice"]);
    let r = call(
        &s,
        "GET",
        "/entities/urn:ngsi-ld:AirQualityObserved:dongsi",
        &[("authorization", &key)],
        None,
    )
    .await;
    assert_ngsi_error(&r, 404, "ResourceNotFound");
    let r = call(
        &s,
        "PATCH",
        "/entities/urn:ngsi-ld:AirQualityObserved:dongsi/attrs",
        &[("authorization", &key)],
        Some(json!({"pm10": 1})),
    )
    .await;
    assert_ngsi_error(&r, 404, "ResourceNotFound");
    let r = call(
        &s,
        "POST",
        "/entityOperations/upsert",
        &[("authorization", &key)],
        Some(json!([{"id": "urn:ngsi-ld:AirQualityObserved:x", "type": "AirQualityObserved"}])),
    )
    .await;
    assert_ngsi_error(&r, 403, "Forbidden");
    let r = call(&s, "GET", "/types", &[("authorization", &key)], None).await;
    assert_eq!(r.body["typeList"], json!(["WaterObserved"]));
    // Another tenant is out of reach.
    let r = call(
        &s,
        "GET",
        "/entities?type=WaterObserved",
        &[("authorization", &key), ("ngsild-tenant", "t2")],
        None,
    )
    .await;
    assert_ngsi_error(&r, 403, "Forbidden");
    // The admin still sees both in t1; the entity is unchanged.
    let r = call(
        &s,
        "GET",
        "/entities/urn:ngsi-ld:AirQualityObserved:dongsi",
        &[("authorization", &admin), t1],
        None,
    )
    .await;
    assert_eq!(r.body["pm10"]["value"], 42);
}

#[tokio::test]
async fn twin_reading_a_tenant_never_written_is_404_nonexistent_tenant() {
    let s = open_server(&[]).await;
    let r = call(
        &s,
        "GET",
        "/entities?type=T",
        &[("ngsild-tenant", "nowhere")],
        None,
    )
    .await;
    assert_ngsi_error(&r, 404, "NonexistentTenant");
    let e = json!({"id": "urn:ngsi-ld:T:1", "type": "T"});
    assert_eq!(
        call(
            &s,
            "POST",
            "/entities",
            &[("ngsild-tenant", "nowhere")],
            Some(e)
        )
        .await
        .status,
        201
    );
    let r = call(
        &s,
        "GET",
        "/entities?type=T",
        &[("ngsild-tenant", "nowhere")],
        None,
    )
    .await;
    assert_eq!(r.body.as_array().map(Vec::len), Some(1));
}

/// GS CIM 009 §6: a trailing `/` names the same resource (the ETSI suite and ngsildclient
/// send `POST /entities/`); unknown NGSI-LD paths answer an NGSI-LD problem (§5.5.2).
#[tokio::test]
async fn twin_trailing_slash_routes_and_unknown_path_is_ngsi_problem() {
    let s = open_server(&[]).await;
    let e = json!({"id": "urn:ngsi-ld:Building:slash1", "type": "Building",
        "name": {"type": "Property", "value": "Slash"}});
    let r = post(&s, "/entities/", e).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = get(
        &s,
        "/entities/urn:ngsi-ld:Building:slash1/?options=keyValues",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["name"], "Slash");
    let r = post(
        &s,
        "/entities/urn:ngsi-ld:Building:slash1/attrs/",
        json!({"height": {"type": "Property", "value": 12}}),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = get(&s, "/entities/?type=Building&options=keyValues").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body[0]["height"], 12);
    let r = post(
        &s,
        "/entityOperations/delete/",
        json!(["urn:ngsi-ld:Building:slash1"]),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = get(&s, "/entities/urn:ngsi-ld:Building:slash1").await;
    assert_ngsi_error(&r, 404, "ResourceNotFound");
    let r = get(&s, "/no-such-resource").await;
    assert_ngsi_error(&r, 404, "ResourceNotFound");
    let r = get(&s, "/no-such-resource/").await;
    assert_ngsi_error(&r, 404, "ResourceNotFound");
}

/// Validation the ETSI suite expects (GS CIM 009 §4.5.2.2, §4.21, §5.5.6) and a geo-query
/// whose `coordinates` hold a space (form-encoded as `+`, §4.10).
#[tokio::test]
async fn twin_conformance_validation_classes() {
    let s = open_server(&[]).await;
    // A Property with a Relationship's `object`, a Relationship with `value`/`unitCode`,
    // an output-only member: 400 BadRequestData, nothing stored.
    for (i, attr) in [
        json!({"type": "Property", "value": "x", "object": "urn:ngsi-ld:X:1"}),
        json!({"type": "Relationship", "object": "urn:ngsi-ld:X:1", "value": 3}),
        json!({"type": "Relationship", "object": "urn:ngsi-ld:X:1", "unitCode": "MTR"}),
        json!({"type": "Property", "value": 1, "previousValue": 0}),
    ]
    .into_iter()
    .enumerate()
    {
        let id = format!("urn:ngsi-ld:Building:val{i}");
        let r = post(
            &s,
            "/entities",
            json!({"id": id, "type": "Building", "name": attr}),
        )
        .await;
        assert_ngsi_error(&r, 400, "BadRequestData");
        let r = get(&s, &format!("/entities/{id}")).await;
        assert_ngsi_error(&r, 404, "ResourceNotFound");
    }
    // Ids with invisible code points, a type starting with a digit, core terms as
    // attribute names: 400 (§4.5.1, §4.6.2).
    for e in [
        json!({"id": "urn:ngsi-ld:Building:a\u{200B}b", "type": "Building"}),
        json!({"id": "urn:ngsi-ld:Building:a\u{202E}b", "type": "Building"}),
        json!({"id": "urn:ngsi-ld:Building:a\u{FEFF}", "type": "Building"}),
        json!({"id": "urn:ngsi-ld:Building:a\u{3164}", "type": "Building"}),
        json!({"id": "urn:ngsi-ld:Building:a\u{FDD0}", "type": "Building"}),
        json!({"id": "urn:ngsi-ld:Building:t1", "type": "1Building"}),
        json!({"id": "urn:ngsi-ld:Building:t2", "type": "Building",
            "observedAt": {"type": "Property", "value": 1}}),
        json!({"id": "urn:ngsi-ld:Building:t3", "type": "Building",
            "datasetId": {"type": "Property", "value": 1}}),
    ] {
        let r = post(&s, "/entities", e.clone()).await;
        assert_ngsi_error(&r, 400, "BadRequestData");
    }
    let r = post(
        &s,
        "/entities",
        json!({"id": "urn:ngsi-ld:Building:杭州-1", "type": "Building"}),
    )
    .await;
    assert_eq!(
        r.status, 201,
        "non-ASCII visible ids stay valid: {}",
        r.body
    );
    // The real Eiffel tower position of the suite's Building, and a query with a space.
    let r = post(
        &s,
        "/entities",
        json!({"id": "urn:ngsi-ld:Building:geo1", "type": "Building",
            "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [2.2945, 48.8584]}}}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    for coords in ["[2.2945,+48.8584]", "[2.2945,%2048.8584]"] {
        let r = get(
            &s,
            &format!("/entities?type=Building&georel=equals&geometry=Point&coordinates={coords}"),
        )
        .await;
        assert_eq!(r.status, 200, "{coords}: {}", r.body);
        assert_eq!(r.body.as_array().map(Vec::len), Some(1), "{}", r.body);
        assert_eq!(r.body[0]["id"], "urn:ngsi-ld:Building:geo1");
    }
    // pick/omit with attrs is ambiguous; malformed or linked projections without join.
    for bad in [
        "pick=id&attrs=location",
        "omit=name&attrs=location",
        "pick=name&omit=name",
        "pick=id;name",
        "pick=id,locatedAt%7Bname",
        "pick=id,locatedAt%7B%7Bname%7D",
        "pick=id,,name",
        "pick=id,locatedAt%7B,name%7D",
        "pick=id,locatedAt%7B%7D",
        "pick=id,locatedAt%7Bname%7D",
        "pick=",
    ] {
        let r = get(&s, &format!("/entities?type=Building&{bad}")).await;
        assert_ngsi_error(&r, 400, "BadRequestData");
        let r = get(
            &s,
            &format!("/temporal/entities/urn:ngsi-ld:Building:geo1?{bad}"),
        )
        .await;
        assert_ngsi_error(&r, 400, "BadRequestData");
    }
    let r = get(&s, "/entities?type=Building&pick=id,location").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body[0]["location"]["value"]["coordinates"],
        json!([2.2945, 48.8584])
    );
    assert!(r.body[0].get("type").is_none(), "{}", r.body);
    // A core-context-like URL that is not a published core context is a remote context:
    // with fetching off it is not available (504), and nothing is created.
    let r = call(
        &s,
        "POST",
        "/entities",
        &[("content-type", LD)],
        Some(json!({"id": "urn:ngsi-ld:Building:ctx1", "type": "Building",
            "@context": "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-non-existing.jsonld"})),
    )
    .await;
    assert_ngsi_error(&r, 504, "LdContextNotAvailable");
    let r = get(&s, "/entities/urn:ngsi-ld:Building:ctx1").await;
    assert_ngsi_error(&r, 404, "ResourceNotFound");
}

/// Purge Entities (GS CIM 009 §5.6.21, `DELETE /entities`): by type, by q, with `drop`
/// and `keep`; refused (400, nothing deleted) when too wide or with both keep and drop.
#[tokio::test]
async fn twin_purge_entities() {
    let s = open_server(&[]).await;
    let mk = |i: u32, name: &str| {
        json!({"id": format!("urn:ngsi-ld:Building:purge{i}"), "type": "Building",
            "name": {"type": "Property", "value": name},
            "height": {"type": "Property", "value": i * 10}})
    };
    for i in 1..=4 {
        let r = post(
            &s,
            "/entities",
            mk(i, if i == 1 { "Eiffel Tower" } else { "Other" }),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let r = post(
        &s,
        "/entities",
        json!({"id": "urn:ngsi-ld:Park:purge1", "type": "Park", "name": {"type": "Property", "value": "Champ"}}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    for bad in [
        "",
        "?id=urn:ngsi-ld:Building:purge1",
        "?idPattern=.*",
        "?attrs=createdAt",
        "?q=modifiedAt%3E%222020-01-01T00:00:00Z%22",
        "?type=Building&keep=name&drop=height",
        "?type=Building&attrs=owner%7Bname%7D",
    ] {
        let r = delete(&s, &format!("/entities{bad}")).await;
        assert_ngsi_error(&r, 400, "BadRequestData");
    }
    let r = get(&s, "/entities?type=Building").await;
    assert_eq!(r.body.as_array().map(Vec::len), Some(4), "{}", r.body);
    // q: only the Eiffel Tower goes.
    let r = delete(&s, "/entities?q=name==%22Eiffel%20Tower%22").await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_ngsi_error(
        &get(&s, "/entities/urn:ngsi-ld:Building:purge1").await,
        404,
        "ResourceNotFound",
    );
    // drop: height removed from Building:2 only.
    let r = delete(
        &s,
        "/entities?id=urn:ngsi-ld:Building:purge2&type=Building&drop=height",
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = get(
        &s,
        "/entities/urn:ngsi-ld:Building:purge2?options=keyValues",
    )
    .await;
    assert_eq!(r.body["name"], "Other");
    assert!(r.body.get("height").is_none(), "{}", r.body);
    let r = get(
        &s,
        "/entities/urn:ngsi-ld:Building:purge3?options=keyValues",
    )
    .await;
    assert_eq!(r.body["height"], 30);
    // keep: only height stays on Building:3.
    let r = delete(
        &s,
        "/entities?id=urn:ngsi-ld:Building:purge3&type=Building&keep=height",
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = get(
        &s,
        "/entities/urn:ngsi-ld:Building:purge3?options=keyValues",
    )
    .await;
    assert_eq!(r.body["height"], 30);
    assert!(r.body.get("name").is_none(), "{}", r.body);
    // type: every Building goes, the Park stays.
    let r = delete(&s, "/entities/?type=Building").await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = get(&s, "/entities?type=Building").await;
    assert_eq!(r.body, json!([]));
    let r = get(&s, "/entities/urn:ngsi-ld:Park:purge1?options=keyValues").await;
    assert_eq!(r.body["name"], "Champ");
}

/// Accept negotiation (GS CIM 009 §6.3.4): our order decides among equal weights, weight
/// 0 excludes a type, a wildcard stands for the first type not excluded; 406 when none
/// remains. The `NGSILD-Tenant` header is echoed, on errors too (§6.3.14).
#[tokio::test]
async fn twin_accept_precedence_and_tenant_echo() {
    let s = open_server(&[]).await;
    let r = call(
        &s,
        "POST",
        "/entities",
        &[("NGSILD-Tenant", "tp414a")],
        Some(
            json!({"id": "urn:ngsi-ld:Building:acc1", "type": "Building",
            "name": {"type": "Property", "value": "Acc"}}),
        ),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.headers["ngsild-tenant"], "tp414a");
    for (accept, want) in [
        ("application/ld+json, application/json", "application/json"),
        ("application/geo+json, application/json", "application/json"),
        ("application/json;q=0, */*", "application/ld+json"),
        ("*/*", "application/json"),
        (
            "application/json;q=0.5, application/ld+json",
            "application/ld+json",
        ),
        ("application/geo+json", "application/geo+json"),
    ] {
        let r = call(
            &s,
            "GET",
            "/entities/urn:ngsi-ld:Building:acc1",
            &[("NGSILD-Tenant", "tp414a"), ("Accept", accept)],
            None,
        )
        .await;
        assert_eq!(r.status, 200, "{accept}: {}", r.body);
        let ct = r.headers["content-type"].to_str().unwrap();
        assert!(ct.starts_with(want), "{accept}: {ct}");
        assert_eq!(r.headers["ngsild-tenant"], "tp414a");
    }
    let r = call(
        &s,
        "GET",
        "/entities/urn:ngsi-ld:Building:acc1",
        &[
            ("NGSILD-Tenant", "tp414a"),
            ("Accept", "application/json;q=0, text/html"),
        ],
        None,
    )
    .await;
    assert_ngsi_error(&r, 406, "NotAcceptable");
    let r = call(
        &s,
        "GET",
        "/entities/urn:ngsi-ld:Building:acc1",
        &[("NGSILD-Tenant", "nosuchtenant")],
        None,
    )
    .await;
    assert_ngsi_error(&r, 404, "NonexistentTenant");
    assert_eq!(r.headers["ngsild-tenant"], "nosuchtenant");
}

/// Subscription creation checks the suite expects (GS CIM 009 §5.2.12, §5.2.14, §4.21):
/// pick/omit misuse, showChanges with keyValues, a jsonldContext that is not a URI (400)
/// or cannot be retrieved (504); a trailing slash on /subscriptions/.
#[tokio::test]
async fn twin_subscription_creation_validation() {
    let s = open_server(&[]).await;
    let sub = |extra: Value, top: Value| {
        let mut n =
            json!({"endpoint": {"uri": "http://127.0.0.1:9/notify", "accept": "application/json"}});
        for (k, v) in extra.as_object().unwrap() {
            n[k] = v.clone();
        }
        let mut b =
            json!({"type": "Subscription", "entities": [{"type": "Building"}], "notification": n});
        for (k, v) in top.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    for (extra, top) in [
        (json!({"pick": ["id"], "omit": ["id"]}), json!({})),
        (json!({"pick": ["name"], "attributes": ["name"]}), json!({})),
        (json!({"omit": ["name"], "attributes": ["name"]}), json!({})),
        (json!({"pick": []}), json!({})),
        (json!({"omit": []}), json!({})),
        (
            json!({"format": "keyValues", "showChanges": true}),
            json!({}),
        ),
        (
            json!({"format": "simplified", "showChanges": true}),
            json!({}),
        ),
        (json!({}), json!({"jsonldContext": "unknownContext"})),
    ] {
        let r = post(&s, "/subscriptions/", sub(extra.clone(), top.clone())).await;
        assert_ngsi_error(&r, 400, "BadRequestData");
    }
    let r = post(
        &s,
        "/subscriptions/",
        sub(
            json!({}),
            json!({"jsonldContext": "https://example.org/not-mapped.jsonld"}),
        ),
    )
    .await;
    assert_ngsi_error(&r, 504, "LdContextNotAvailable");
    let r = get(&s, "/subscriptions/").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, json!([]), "nothing was created");
    let r = post(
        &s,
        "/subscriptions/",
        sub(
            json!({"pick": ["id", "name"], "format": "normalized", "showChanges": true}),
            json!({"jsonldContext": CORE}),
        ),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = get(&s, "/subscriptions").await;
    assert_eq!(r.body.as_array().map(Vec::len), Some(1), "{}", r.body);
    // Shown as sent: no isActive or createdAt the client did not give.
    assert!(r.body[0].get("isActive").is_none(), "{}", r.body);
    assert!(r.body[0].get("createdAt").is_none(), "{}", r.body);
    assert_eq!(r.body[0]["notification"]["pick"], json!(["id", "name"]));
    for m in ["GET", "DELETE"] {
        let r = call(&s, m, "/subscriptions/not-a-uri", &[], None).await;
        assert_ngsi_error(&r, 400, "BadRequestData");
    }
    let r = patch(&s, "/subscriptions/not-a-uri", json!({"throttling": 5})).await;
    assert_ngsi_error(&r, 400, "BadRequestData");
}

/// An undefined query parameter is 400 InvalidRequest (GS CIM 009 §6.3.20); a POST with
/// a chunked body (no Content-Length) is a bare 411 (§6.3.4), before the tenant is looked
/// at; GET needs no length.
#[tokio::test]
async fn twin_undefined_parameter_and_length_required() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = open_server(&[]).await;
    let r = get(&s, "/entities?type=Building&invalidParams=invalidValue").await;
    assert_ngsi_error(&r, 400, "InvalidRequest");
    let r = get(&s, "/types?invalidParams=invalidValue").await;
    assert_ngsi_error(&r, 400, "InvalidRequest");
    for bad in [
        "options=keyValue",
        "options=keyValues,nothing",
        "format=invalid",
    ] {
        let r = get(&s, &format!("/entities?type=Building&{bad}")).await;
        assert_ngsi_error(&r, 400, "InvalidRequest");
    }
    let r = get(&s, "/entities?type=Building&options=keyValues,sysAttrs").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = get(&s, "/entities?type=Building&limit=5&count=true").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let addr = s.url.trim_start_matches("http://").to_string();
    let body = r#"{"id":"urn:ngsi-ld:Building:411-01","type":"Building"}"#;
    let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let req = format!(
        "POST /ngsi-ld/v1/entities/ HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nNGSILD-Tenant: tp46105nosuchtenant\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
        body.len()
    );
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    tcp.read_to_string(&mut out).await.unwrap();
    assert!(out.starts_with("HTTP/1.1 411"), "{out}");
    let (_, resp_body) = out.split_once("\r\n\r\n").unwrap();
    assert!(resp_body.is_empty(), "a bare 411: {out}");
    let r = get(&s, "/entities/urn:ngsi-ld:Building:411-01").await;
    assert_ngsi_error(&r, 404, "ResourceNotFound");
}

/// A query with nothing narrowing it is too wide (GS CIM 009 §5.7.2.4): no parameter,
/// only system attributes in attrs or q, a linked-entity q without join: 400.
#[tokio::test]
async fn twin_too_wide_queries_are_400() {
    let s = open_server(&[]).await;
    for bad in [
        "",
        "?attrs=createdAt",
        "?q=modifiedAt%3E%222020-01-01T00:00:00Z%22",
        "?type=Building&q=owner%7Bname%7D==%22x%22",
    ] {
        let r = get(&s, &format!("/entities{bad}")).await;
        assert_ngsi_error(&r, 400, "BadRequestData");
        let sep = if bad.is_empty() { "?" } else { "&" };
        let r = get(
            &s,
            &format!("/temporal/entities{bad}{sep}timerel=after&timeAt=2020-01-01T00:00:00Z"),
        )
        .await;
        assert_ngsi_error(&r, 400, "BadRequestData");
    }
    // §5.7.2.4: ids select among the entities of the types given; alone they are too
    // wide (ETSI TP 019_03_05).
    let r = get(&s, "/entities?id=urn:ngsi-ld:Building:none").await;
    assert_ngsi_error(&r, 400, "BadRequestData");
    for ok in [
        "?type=Building",
        "?type=Building&id=urn:ngsi-ld:Building:none",
        "?attrs=name",
        "?local=true",
    ] {
        let r = get(&s, &format!("/entities{ok}")).await;
        assert_eq!(r.status, 200, "{ok}: {}", r.body);
        assert_eq!(r.body, json!([]));
    }
}

/// Batch merge (GS CIM 009 §5.6.20): attributes given are put, others kept; a missing
/// entity is a 207 error. Empty arrays, non-object items and ld+json with a Link header
/// are 400 (§5.6.7, §6.3.5).
#[tokio::test]
async fn twin_batch_merge_and_batch_body_checks() {
    let s = open_server(&[]).await;
    let r = post(
        &s,
        "/entityOperations/create/",
        json!([{"id": "urn:ngsi-ld:Building:m1", "type": "Building",
            "name": {"type": "Property", "value": "One"}, "height": {"type": "Property", "value": 10}}]),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = post(
        &s,
        "/entityOperations/merge/",
        json!([{"id": "urn:ngsi-ld:Building:m1", "type": "Building", "height": {"type": "Property", "value": 12}}]),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = get(&s, "/entities/urn:ngsi-ld:Building:m1?options=keyValues").await;
    assert_eq!(r.body["height"], 12);
    assert_eq!(r.body["name"], "One");
    let r = post(
        &s,
        "/entityOperations/merge",
        json!([{"id": "urn:ngsi-ld:Building:m1", "type": "Building", "name": {"type": "Property", "value": "Uno"}},
               {"id": "urn:ngsi-ld:Building:missing", "type": "Building", "name": {"type": "Property", "value": "x"}}]),
    )
    .await;
    assert_eq!(r.status, 207, "{}", r.body);
    assert_eq!(r.body["success"], json!(["urn:ngsi-ld:Building:m1"]));
    assert_eq!(
        r.body["errors"][0]["entityId"],
        "urn:ngsi-ld:Building:missing"
    );
    for body in [json!([]), json!([null]), json!([1])] {
        for op in ["merge", "create", "upsert", "update"] {
            let r = post(&s, &format!("/entityOperations/{op}"), body.clone()).await;
            assert_ngsi_error(&r, 400, "BadRequestData");
        }
    }
    let r = call(
        &s,
        "POST",
        "/entities",
        &[("content-type", LD), ("link", &link(CORE))],
        Some(json!({"id": "urn:ngsi-ld:Building:m2", "type": "Building", "@context": CORE})),
    )
    .await;
    assert_ngsi_error(&r, 400, "BadRequestData");
    let r = get(&s, "/entities/urn:ngsi-ld:Building:m1?options=keyValues").await;
    assert_eq!(r.body["name"], "Uno");
}
