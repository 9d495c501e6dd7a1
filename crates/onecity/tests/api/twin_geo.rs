//! Geo-queries (GS CIM 009 §4.10) answered through the twin's R-tree give the same entities
//! as testing every entity, on a city-like mix of points, roads and blocks that is then
//! moved and partly deleted (so the R-tree must follow every write).

use onecity_testkit::{Options, TestServer};
use onecity_twin::context::Context;
use onecity_twin::geoq;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// xorshift64*: deterministic data without a dependency.
struct Rng(u64);
impl Rng {
    fn f(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
    /// A position in Hangzhou's urban area (lon 120.0–120.4, lat 30.15–30.40).
    fn pos(&mut self) -> [f64; 2] {
        [120.0 + self.f() * 0.4, 30.15 + self.f() * 0.25]
    }
}

/// A point, a road (LineString) or a city block (Polygon) around a random position.
fn geometry(i: usize, rng: &mut Rng) -> Value {
    let [x, y] = rng.pos();
    match i % 10 {
        0 => {
            json!({"type": "LineString", "coordinates": [[x, y], [x + 0.01, y + 0.004], [x + 0.012, y + 0.011]]})
        }
        1 => {
            let (w, h) = (0.002 + rng.f() * 0.01, 0.002 + rng.f() * 0.01);
            json!({"type": "Polygon", "coordinates": [[[x, y], [x + w, y], [x + w, y + h], [x, y + h], [x, y]]]})
        }
        _ => json!({"type": "Point", "coordinates": [x, y]}),
    }
}

async fn send(s: &TestServer, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut r = s.http.request(
        method.parse().unwrap(),
        format!("{}/ngsi-ld/v1{path}", s.url),
    );
    if let Some(b) = body {
        r = r
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    let resp = r.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn located(id: &str, g: &Value) -> Value {
    json!({"id": id, "type": "Spot", "location": {"type": "GeoProperty", "value": g}})
}

/// The ids matching `georel`/`geometry`/`coordinates`, by testing every entity.
fn scan(places: &BTreeMap<String, Value>, georel: &str, kind: &str, coords: &Value) -> Vec<String> {
    let q = geoq::parse(georel, Some(kind), Some(coords), None, &Context::core()).unwrap();
    places
        .iter()
        .filter(|(_, g)| q.matches_geometry(&geoq::geometry_from_json(g).unwrap()))
        .map(|(id, _)| id.clone())
        .collect()
}

#[tokio::test]
async fn twin_geo_queries_through_the_rtree_equal_the_full_scan() {
    let s = onecity_testkit::TestServer::start(
        crate::BIN.as_ref(),
        Options {
            env: vec![("ONECITY_NGSI_LD_OPEN".into(), "true".into())],
            ..Default::default()
        },
    )
    .await
    .expect("server starts");
    let mut rng = Rng(0x5DEE_CE66_D1CE_5EED);
    let mut places: BTreeMap<String, Value> = BTreeMap::new();
    let mut ents = Vec::new();
    for i in 0..600 {
        let id = format!("urn:ngsi-ld:Spot:{i:04}");
        if i % 50 == 7 || i % 25 == 9 {
            // No location: never a geo match, never in the R-tree (the first kind gains
            // one below).
            ents.push(json!({"id": id, "type": "Spot", "n": {"type": "Property", "value": i}}));
            continue;
        }
        let g = geometry(i, &mut rng);
        ents.push(located(&id, &g));
        places.insert(id, g);
    }
    let (st, body) = send(&s, "POST", "/entityOperations/create", Some(json!(ents))).await;
    assert_eq!(st, 201, "{body}");
    // Move 60 entities (12 of them had no location) and delete 40.
    let moved: Vec<Value> = (0..60)
        .map(|k| {
            let i = k * 10 + 7;
            let id = format!("urn:ngsi-ld:Spot:{i:04}");
            let g = geometry(i + k, &mut rng);
            places.insert(id.clone(), g.clone());
            located(&id, &g)
        })
        .collect();
    let (st, body) = send(&s, "POST", "/entityOperations/upsert", Some(json!(moved))).await;
    assert!(st == 201 || st == 204, "{st} {body}");
    let gone: Vec<String> = (0..40)
        .map(|k| format!("urn:ngsi-ld:Spot:{:04}", k * 15 + 3))
        .collect();
    for id in &gone {
        places.remove(id);
    }
    let (st, body) = send(&s, "POST", "/entityOperations/delete", Some(json!(gone))).await;
    assert_eq!(st, 204, "{body}");

    let mut queries: Vec<(String, &str, Value)> = Vec::new();
    for _ in 0..12 {
        let p = rng.pos();
        let d = 300.0 + rng.f() * 3000.0;
        queries.push((format!("near;maxDistance=={d:.0}"), "Point", json!(p)));
        queries.push((format!("near;minDistance=={d:.0}"), "Point", json!(p)));
        let [x, y] = rng.pos();
        let (w, h) = (0.01 + rng.f() * 0.05, 0.01 + rng.f() * 0.05);
        let poly = json!([[[x, y], [x + w, y], [x + w, y + h], [x, y + h], [x, y]]]);
        for rel in ["within", "intersects", "disjoint", "overlaps"] {
            queries.push((rel.into(), "Polygon", poly.clone()));
        }
        queries.push(("contains".into(), "Point", json!(p)));
    }
    // A query point on a stored point: equals and contains find it.
    let (_, first) = places.iter().find(|(_, g)| g["type"] == "Point").unwrap();
    queries.push(("equals".into(), "Point", first["coordinates"].clone()));
    queries.push(("intersects".into(), "Point", first["coordinates"].clone()));

    let mut nonempty = 0;
    for (georel, kind, coords) in &queries {
        let want = scan(&places, georel, kind, coords);
        let path = format!(
            "/entities?type=Spot&georel={georel}&geometry={kind}&coordinates={coords}&limit=1000"
        );
        let (st, body) = send(&s, "GET", &path, None).await;
        assert_eq!(st, 200, "{path}: {body}");
        let got: Vec<String> = body
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(got, want, "{georel} {kind} {coords}");
        nonempty += usize::from(!want.is_empty() && want.len() < places.len());
    }
    // The data makes most queries select a strict, non-empty subset.
    assert!(
        nonempty >= queries.len() / 2,
        "{nonempty} of {}",
        queries.len()
    );
}
