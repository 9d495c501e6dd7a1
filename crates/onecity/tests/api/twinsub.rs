//! NGSI-LD subscriptions and notifications (GS CIM 009 §5.8, §5.11) on the real binary,
//! with hourly air-quality rows of the PRSA Beijing data set
//! (`../shared/data/air/PRSA_Data_*_20130301-20170228.csv`), an HTTP receiver in the test
//! and the local Mosquitto for MQTT endpoints.

use crate::server_with;
use onecity_testkit::{Options, TestServer};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

async fn open_server() -> TestServer {
    server_with(Options {
        env: vec![("ONECITY_NGSI_LD_OPEN".into(), "true".into())],
        ..Default::default()
    })
    .await
}

/// One hourly row of a PRSA station file: (observedAt, PM10, SO2).
fn prsa_rows(station: &str, n: usize) -> Vec<(String, f64, f64)> {
    let path = onecity_testkit::repo_root()
        .join("../shared/data/air")
        .join(format!("PRSA_Data_{station}_20130301-20170228.csv"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let (Ok(pm10), Ok(so2)) = (f[6].parse::<f64>(), f[7].parse::<f64>()) else {
            continue;
        };
        let at = format!(
            "{}-{:02}-{:02}T{:02}:00:00Z",
            f[1],
            f[2].parse::<u32>().unwrap(),
            f[3].parse::<u32>().unwrap(),
            f[4].parse::<u32>().unwrap()
        );
        out.push((at, pm10, so2));
        if out.len() == n {
            break;
        }
    }
    out
}

type Inbox = Arc<Mutex<Vec<(axum::http::HeaderMap, Value)>>>;

/// An HTTP notification receiver: POST /n records (headers, body).
async fn receiver() -> (String, Inbox) {
    let inbox: Inbox = Arc::default();
    let i = inbox.clone();
    let app = axum::Router::new().route(
        "/n",
        axum::routing::post(move |h: axum::http::HeaderMap, body: String| {
            let i = i.clone();
            async move {
                i.lock()
                    .unwrap()
                    .push((h, serde_json::from_str(&body).unwrap_or(Value::Null)));
                "ok"
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/n", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (url, inbox)
}

async fn wait_for(inbox: &Inbox, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while inbox.lock().unwrap().len() < n {
        assert!(
            Instant::now() < deadline,
            "expected {n} notifications, got {:?}",
            inbox
                .lock()
                .unwrap()
                .iter()
                .map(|x| &x.1)
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn send(s: &TestServer, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let url = format!("{}/ngsi-ld/v1{path}", s.url);
    let mut r = match method {
        "POST" => s.http.post(url),
        "PATCH" => s.http.patch(url),
        "DELETE" => s.http.delete(url),
        _ => s.http.get(url),
    };
    if let Some(b) = body {
        r = r
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    let r = r.send().await.unwrap();
    let st = r.status().as_u16();
    let loc = r
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string());
    let text = r.text().await.unwrap();
    let mut v = serde_json::from_str(&text).unwrap_or(Value::Null);
    if let (Some(l), Value::Null) = (loc, &v) {
        v = json!({ "location": l });
    }
    (st, v)
}

fn station(id: &str, at: &str, pm10: f64, so2: f64, lon: f64, lat: f64) -> Value {
    json!({
        "id": format!("urn:ngsi-ld:AirQualityObserved:{id}"),
        "type": "AirQualityObserved",
        "pm10": {"type": "Property", "value": pm10, "unitCode": "GQ", "observedAt": at},
        "so2": {"type": "Property", "value": so2, "unitCode": "GQ", "observedAt": at},
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, lat]}},
        "locationSource": {"type": "Property", "value": "placed"}
    })
}

async fn sub_status(s: &TestServer, id: &str) -> Value {
    let (st, v) = send(s, "GET", &format!("/subscriptions/{id}"), None).await;
    assert_eq!(st, 200, "{v}");
    v
}

async fn wait_sent(s: &TestServer, id: &str, n: i64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let v = sub_status(s, id).await;
        if v["notification"]["timesSent"].as_i64().unwrap_or(0) >= n {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timesSent never reached {n}: {v}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn subscription_crud_and_validation() {
    let s = open_server().await;
    let (url, _) = receiver().await;
    // "watchedAttributes": null is 400 BadRequestData, not 500.
    let (st, v) = send(
        &s,
        "POST",
        "/subscriptions",
        Some(
            json!({"type": "Subscription", "entities": [{"type": "AirQualityObserved"}],
            "watchedAttributes": null, "notification": {"endpoint": {"uri": url}}}),
        ),
    )
    .await;
    assert_eq!(st, 400, "{v}");
    assert_eq!(
        v["type"],
        "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"
    );
    assert!(v["detail"].as_str().unwrap().contains("watchedAttributes"));
    for (bad, what) in [
        (
            json!({"type": "Subscription", "entities": [{"type": "A"}]}),
            "notification",
        ),
        (
            json!({"type": "Subscription", "entities": [{"type": "A"}], "notification": {"endpoint": {"uri": "ftp://x/y"}}}),
            "scheme",
        ),
        (
            json!({"type": "Subscription", "entities": [{"type": "A"}], "q": "pm10>", "notification": {"endpoint": {"uri": url}}}),
            "",
        ),
        (
            json!({"type": "Subscription", "watchedAttributes": [], "notification": {"endpoint": {"uri": url}}}),
            "watchedAttributes",
        ),
        (
            json!({"type": "Subscription", "entities": [{"type": "A"}], "throttling": -1, "notification": {"endpoint": {"uri": url}}}),
            "throttling",
        ),
        (
            json!({"type": "Subscription", "entities": [{"type": "A"}], "expiresAt": "2001-01-01T00:00:00Z", "notification": {"endpoint": {"uri": url}}}),
            "expiresAt",
        ),
        (
            json!({"type": "Subscription", "entities": [{"type": "A"}], "notification": {"format": "xml", "endpoint": {"uri": url}}}),
            "format",
        ),
    ] {
        let (st, v) = send(&s, "POST", "/subscriptions", Some(bad.clone())).await;
        assert_eq!(st, 400, "{bad} -> {v}");
        assert!(v["detail"].as_str().unwrap().contains(what), "{v}");
    }
    let mut ids = Vec::new();
    for i in 0..3 {
        let (st, v) = send(
            &s,
            "POST",
            "/subscriptions",
            Some(json!({"id": format!("urn:ngsi-ld:Subscription:crud-{i}"), "type": "Subscription",
                "entities": [{"type": "AirQualityObserved"}], "watchedAttributes": ["pm10"],
                "notification": {"format": "keyValues", "attributes": ["pm10"], "endpoint": {"uri": url, "accept": "application/json"}}})),
        )
        .await;
        assert_eq!(st, 201, "{v}");
        assert_eq!(
            v["location"],
            format!("/ngsi-ld/v1/subscriptions/urn:ngsi-ld:Subscription:crud-{i}")
        );
        ids.push(format!("urn:ngsi-ld:Subscription:crud-{i}"));
    }
    let (st, _) = send(
        &s,
        "POST",
        "/subscriptions",
        Some(json!({"id": ids[0], "type": "Subscription", "entities": [{"type": "X"}], "notification": {"endpoint": {"uri": url}}})),
    )
    .await;
    assert_eq!(st, 409);
    let r = s
        .http
        .get(format!(
            "{}/ngsi-ld/v1/subscriptions?limit=2&offset=1&count=true",
            s.url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["ngsild-results-count"], "3");
    let page: Value = r.json().await.unwrap();
    assert_eq!(page.as_array().unwrap().len(), 2);
    assert_eq!(page[0]["id"], ids[1].as_str());
    let v = sub_status(&s, &ids[0]).await;
    assert_eq!(v["status"], "active");
    assert_eq!(v["watchedAttributes"], json!(["pm10"]));
    // The counters are shown once something was sent; the default triggers are shown.
    assert!(v["notification"].get("timesSent").is_none(), "{v}");
    assert_eq!(
        v["notificationTrigger"],
        json!(["attributeCreated", "attributeUpdated"])
    );
    // PATCH: pause, then a bad change is refused and leaves it as it was.
    let (st, v) = send(
        &s,
        "PATCH",
        &format!("/subscriptions/{}", ids[0]),
        Some(json!({"isActive": false, "throttling": 5})),
    )
    .await;
    assert_eq!(st, 204, "{v}");
    let (st, _) = send(
        &s,
        "PATCH",
        &format!("/subscriptions/{}", ids[0]),
        Some(json!({"watchedAttributes": null})),
    )
    .await;
    assert_eq!(st, 400);
    let v = sub_status(&s, &ids[0]).await;
    assert_eq!(v["status"], "paused");
    assert_eq!(v["throttling"], 5);
    assert_eq!(v["watchedAttributes"], json!(["pm10"]));
    let (st, _) = send(&s, "DELETE", &format!("/subscriptions/{}", ids[0]), None).await;
    assert_eq!(st, 204);
    let (st, v) = send(&s, "GET", &format!("/subscriptions/{}", ids[0]), None).await;
    assert_eq!(st, 404, "{v}");
    let (st, _) = send(&s, "DELETE", &format!("/subscriptions/{}", ids[0]), None).await;
    assert_eq!(st, 404);
}

/// A subscription watching `pm10` is not notified when only `so2` changes; when pm10
/// changes it gets a Notification with the new real value in keyValues.
#[tokio::test]
async fn watched_pm10_not_notified_by_so2() {
    let s = open_server().await;
    let (url, inbox) = receiver().await;
    let rows = prsa_rows("Dongsi", 3);
    let (st, v) = send(
        &s,
        "POST",
        "/subscriptions",
        Some(json!({"id": "urn:ngsi-ld:Subscription:pm10", "type": "Subscription",
            "entities": [{"type": "AirQualityObserved"}], "watchedAttributes": ["pm10"],
            "notification": {"format": "keyValues", "attributes": ["pm10", "so2"],
                "endpoint": {"uri": url, "receiverInfo": [{"key": "X-City", "value": "beijing"}]}}})),
    )
    .await;
    assert_eq!(st, 201, "{v}");
    let (at0, pm0, so0) = rows[0].clone();
    let (st, v) = send(
        &s,
        "POST",
        "/entities",
        Some(station("Dongsi", &at0, pm0, so0, 116.417, 39.929)),
    )
    .await;
    assert_eq!(st, 201, "{v}");
    wait_for(&inbox, 1).await;
    // Only so2 changes (the next real hour's SO2): no notification.
    let (at1, pm1, so1) = rows[1].clone();
    let (st, v) = send(
        &s,
        "PATCH",
        "/entities/urn:ngsi-ld:AirQualityObserved:Dongsi/attrs",
        Some(json!({"so2": {"type": "Property", "value": so1 + 100.0, "observedAt": at1}})),
    )
    .await;
    assert_eq!(st, 204, "{v}");
    // Then pm10 changes: one notification, with the new value.
    let (st, _) = send(
        &s,
        "PATCH",
        "/entities/urn:ngsi-ld:AirQualityObserved:Dongsi/attrs",
        Some(json!({"pm10": {"type": "Property", "value": pm1 + 1000.0, "observedAt": at1}})),
    )
    .await;
    assert_eq!(st, 204);
    wait_for(&inbox, 2).await;
    wait_sent(&s, "urn:ngsi-ld:Subscription:pm10", 2).await;
    let got = inbox.lock().unwrap().clone();
    assert_eq!(got.len(), 2, "{got:?}");
    let (h, n) = &got[1];
    assert_eq!(n["type"], "Notification");
    assert_eq!(n["subscriptionId"], "urn:ngsi-ld:Subscription:pm10");
    assert!(n["id"]
        .as_str()
        .unwrap()
        .starts_with("urn:ngsi-ld:Notification:"));
    assert!(n["notifiedAt"].as_str().unwrap().ends_with('Z'));
    assert_eq!(n["data"][0]["id"], "urn:ngsi-ld:AirQualityObserved:Dongsi");
    assert_eq!(n["data"][0]["pm10"], json!(pm1 + 1000.0));
    assert_eq!(n["data"][0]["so2"], json!(so1 + 100.0));
    assert!(n["data"][0].get("location").is_none());
    assert_eq!(h["content-type"], "application/json");
    assert!(h["link"].to_str().unwrap().contains("json-ld#context"));
    assert_eq!(h["x-city"], "beijing");
    assert_eq!(got[0].1["data"][0]["pm10"], json!(pm0));
    let v = sub_status(&s, "urn:ngsi-ld:Subscription:pm10").await;
    assert_eq!(v["notification"]["timesSent"], 2);
    assert_eq!(v["notification"]["status"], "ok");
    assert!(v["notification"]["lastSuccess"].is_string());
}

/// throttling drops notifications that come too soon; q and geoQ select entities.
#[tokio::test]
async fn throttling_q_and_geoq() {
    let s = open_server().await;
    let (url_all, all) = receiver().await;
    let (url_thr, thr) = receiver().await;
    let (url_q, qbox) = receiver().await;
    for (id, uri, extra) in [
        ("all", &url_all, json!({})),
        ("thr", &url_thr, json!({"throttling": 3600})),
        (
            "q",
            &url_q,
            json!({"q": "pm10>100", "geoQ": {"georel": "near;maxDistance==3000", "geometry": "Point", "coordinates": [116.417, 39.929]}}),
        ),
    ] {
        let mut b = json!({"id": format!("urn:ngsi-ld:Subscription:{id}"), "type": "Subscription",
            "entities": [{"type": "AirQualityObserved"}],
            "notification": {"format": "normalized", "endpoint": {"uri": uri}}});
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        let (st, v) = send(&s, "POST", "/subscriptions", Some(b)).await;
        assert_eq!(st, 201, "{v}");
    }
    // Real hourly rows of two stations; Tiantan is placed ~5 km south of Dongsi.
    let dongsi = prsa_rows("Dongsi", 48);
    let tiantan = prsa_rows("Tiantan", 48);
    let mut expected_q = Vec::new();
    let mut n = 0;
    for (k, (rows, lon, lat)) in [(&dongsi, 116.417, 39.929), (&tiantan, 116.407, 39.886)]
        .into_iter()
        .enumerate()
    {
        let name = ["Dongsi", "Tiantan"][k];
        let mut ents = Vec::new();
        for (at, pm10, so2) in rows.iter().take(48) {
            ents.push(station(name, at, *pm10, *so2, lon, lat));
        }
        for e in ents {
            let (st, v) = send(
                &s,
                "POST",
                "/entityOperations/upsert",
                Some(json!([e.clone()])),
            )
            .await;
            assert!(st == 201 || st == 204, "{v}");
            n += 1;
            if k == 0 && e["pm10"]["value"].as_f64().unwrap() > 100.0 {
                expected_q.push(e["pm10"]["value"].clone());
            }
        }
    }
    assert!(
        !expected_q.is_empty(),
        "the real data has pm10 > 100 at Dongsi"
    );
    wait_for(&all, n).await;
    wait_for(&qbox, expected_q.len()).await;
    wait_sent(&s, "urn:ngsi-ld:Subscription:thr", 1).await;
    assert_eq!(thr.lock().unwrap().len(), 1, "throttled to one");
    let got: Vec<Value> = qbox
        .lock()
        .unwrap()
        .iter()
        .map(|(_, b)| b["data"][0]["pm10"]["value"].clone())
        .collect();
    let mut got_sorted: Vec<String> = got.iter().map(|v| v.to_string()).collect();
    let mut want: Vec<String> = expected_q.iter().map(|v| v.to_string()).collect();
    got_sorted.sort();
    want.sort();
    assert_eq!(got_sorted, want, "only Dongsi hours with pm10 > 100");
    let v = wait_sent(&s, "urn:ngsi-ld:Subscription:all", n as i64).await;
    assert_eq!(v["notification"]["timesSent"], n as i64);
}

/// An MQTT endpoint on the local Mosquitto receives the notification as
/// `{"metadata": {...}, "body": Notification}`.
#[tokio::test]
async fn mqtt_notification() {
    let Some(mqtt) = onecity_testkit::require_env("ONECITY_TEST_MQTT_URL") else {
        return;
    };
    let u = reqwest::Url::parse(&mqtt).unwrap();
    let (host, port) = (u.host_str().unwrap().to_string(), u.port().unwrap_or(1883));
    let topic = format!("onecity/test/{}", uuid::Uuid::new_v4().simple());
    let mut o = rumqttc::MqttOptions::new(
        format!("t-{}", uuid::Uuid::new_v4().simple()),
        host.clone(),
        port,
    );
    o.set_max_packet_size(1 << 20, 1 << 20);
    let (client, mut ev) = rumqttc::AsyncClient::new(o, 64);
    client
        .subscribe(topic.clone(), rumqttc::QoS::AtLeastOnce)
        .await
        .unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(Vec<u8>, bool)>();
    tokio::spawn(async move {
        loop {
            match ev.poll().await {
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(p))) => {
                    let _ = tx.send((p.payload.to_vec(), false));
                }
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::SubAck(_))) => {
                    let _ = tx.send((Vec::new(), true));
                }
                Ok(_) => {}
                Err(e) => panic!("mqtt: {e}"),
            }
        }
    });
    let (_, suback) = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(suback);
    let s = open_server().await;
    let rows = prsa_rows("Tiantan", 1);
    let (st, v) = send(
        &s,
        "POST",
        "/subscriptions",
        Some(json!({"id": "urn:ngsi-ld:Subscription:mqtt", "type": "Subscription",
            "entities": [{"type": "AirQualityObserved"}], "watchedAttributes": ["pm10"],
            "notification": {"format": "concise", "endpoint": {"uri": format!("mqtt://{host}:{port}/{topic}")}}})),
    )
    .await;
    assert_eq!(st, 201, "{v}");
    let (at, pm10, so2) = rows[0].clone();
    let (st, _) = send(
        &s,
        "POST",
        "/entities",
        Some(station("Tiantan", &at, pm10, so2, 116.407, 39.886)),
    )
    .await;
    assert_eq!(st, 201);
    let (payload, _) = tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .expect("an MQTT notification")
        .unwrap();
    let m: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(m["metadata"]["Content-Type"], "application/json");
    assert_eq!(m["body"]["type"], "Notification");
    assert_eq!(m["body"]["subscriptionId"], "urn:ngsi-ld:Subscription:mqtt");
    let d = &m["body"]["data"][0];
    assert_eq!(d["id"], "urn:ngsi-ld:AirQualityObserved:Tiantan");
    // concise: a Property with sub-attributes keeps its object, without "type".
    assert_eq!(d["pm10"]["value"], json!(pm10));
    assert!(d["pm10"].get("type").is_none(), "{d}");
    assert_eq!(d["pm10"]["observedAt"], at.as_str());
    let v = wait_sent(&s, "urn:ngsi-ld:Subscription:mqtt", 1).await;
    assert_eq!(v["notification"]["status"], "ok");
}

/// HTTP batch ingestion: real hourly rows become entity updates with history; bad
/// measurements are reported by index and change nothing.
#[tokio::test]
async fn ingest_http_batch_with_history() {
    let s = open_server().await;
    let rows = prsa_rows("Dongsi", 24);
    let mut items: Vec<Value> = rows
        .iter()
        .map(|(at, pm10, so2)| {
            json!({"id": "Dongsi", "type": "AirQualityObserved", "observedAt": at,
                "values": {"pm10": pm10, "so2": so2}, "unitCodes": {"pm10": "GQ"},
                "location": [116.417, 39.929], "locationSource": "placed"})
        })
        .collect();
    items.push(json!({"id": "Dongsi", "type": "AirQualityObserved", "values": {}}));
    items.push(json!({"id": "x", "type": "AirQualityObserved", "observedAt": "yesterday", "values": {"pm10": 1}}));
    let (st, v) = send(&s, "POST", "/ext/ingest", Some(Value::Array(items))).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["applied"], 24);
    assert_eq!(v["errors"][0]["index"], 24);
    assert_eq!(v["errors"][1]["index"], 25);
    assert!(v["errors"][1]["detail"]
        .as_str()
        .unwrap()
        .contains("observedAt"));
    let (st, e) = send(
        &s,
        "GET",
        "/entities/urn:ngsi-ld:AirQualityObserved:Dongsi",
        None,
    )
    .await;
    assert_eq!(st, 200, "{e}");
    let (at, pm10, _) = rows.last().unwrap();
    assert_eq!(e["pm10"]["value"], json!(pm10));
    assert_eq!(e["pm10"]["observedAt"], at.as_str());
    assert_eq!(e["pm10"]["unitCode"], "GQ");
    assert_eq!(e["locationSource"]["value"], "placed");
    assert_eq!(
        e["location"]["value"]["coordinates"],
        json!([116.417, 39.929])
    );
    let (st, x) = send(
        &s,
        "GET",
        "/entities/urn:ngsi-ld:AirQualityObserved:x",
        None,
    )
    .await;
    assert_eq!(st, 404, "{x}");
    let (st, t) = send(
        &s,
        "GET",
        "/temporal/entities/urn:ngsi-ld:AirQualityObserved:Dongsi?attrs=pm10&lastN=100",
        None,
    )
    .await;
    assert_eq!(st, 200, "{t}");
    let hist = t["pm10"].as_array().expect("pm10 history");
    assert_eq!(hist.len(), 24, "{t}");
    assert_eq!(hist[23]["observedAt"], "2013-03-02T00:00:00Z", "{t}");
    let (st, t) = send(
        &s,
        "GET",
        "/temporal/entities/urn:ngsi-ld:AirQualityObserved:Dongsi?attrs=pm10&options=aggregatedValues&aggrMethods=totalCount",
        None,
    )
    .await;
    assert_eq!(st, 200, "{t}");
    assert_eq!(t["pm10"]["totalCount"][0][0], 24, "{t}");
}

/// MQTT ingestion from the local Mosquitto: `prefix/<type>/<id>` with a plain payload.
#[tokio::test]
async fn ingest_mqtt() {
    let Some(mqtt) = onecity_testkit::require_env("ONECITY_TEST_MQTT_URL") else {
        return;
    };
    let u = reqwest::Url::parse(&mqtt).unwrap();
    let (host, port) = (u.host_str().unwrap().to_string(), u.port().unwrap_or(1883));
    let prefix = format!("onecity/ingest/{}", uuid::Uuid::new_v4().simple());
    let s = server_with(Options {
        env: vec![
            ("ONECITY_NGSI_LD_OPEN".into(), "true".into()),
            (
                "ONECITY_NGSI_LD_INGEST_MQTT".into(),
                format!("mqtt://{host}:{port}/{prefix}"),
            ),
        ],
        ..Default::default()
    })
    .await;
    let (client, mut ev) = rumqttc::AsyncClient::new(
        rumqttc::MqttOptions::new(format!("p-{}", uuid::Uuid::new_v4().simple()), host, port),
        64,
    );
    tokio::spawn(async move { while ev.poll().await.is_ok() {} });
    let rows = prsa_rows("Tiantan", 2);
    let (at, pm10, so2) = rows[1].clone();
    let payload = json!({"observedAt": at, "values": {"pm10": pm10, "so2": so2}}).to_string();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        // Published again until the server's subscription is in place.
        client
            .publish(
                format!("{prefix}/AirQualityObserved/Tiantan"),
                rumqttc::QoS::AtLeastOnce,
                false,
                payload.clone(),
            )
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        let (st, e) = send(
            &s,
            "GET",
            "/entities/urn:ngsi-ld:AirQualityObserved:Tiantan",
            None,
        )
        .await;
        if st == 200 {
            assert_eq!(e["pm10"]["value"], json!(pm10));
            assert_eq!(e["so2"]["value"], json!(so2));
            assert_eq!(e["pm10"]["observedAt"], at.as_str());
            break;
        }
        assert!(Instant::now() < deadline, "MQTT measurement never applied");
    }
}

/// `onecity replay` streams the first two 10-minute slots of the real Hangzhou metro
/// flows (80 stations) to a running server; history holds both slots.
#[tokio::test]
async fn replay_metro_flows() {
    let s = open_server().await;
    let csv = onecity_testkit::repo_root().join("../shared/data/metro/hangzhou_flow.csv");
    let out = std::process::Command::new(crate::BIN)
        .args([
            "replay",
            csv.to_str().unwrap(),
            "--mapping",
            "metro",
            "--speed",
            "0",
            "--limit",
            "160",
            "--url",
            &s.url,
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("replayed 160 measurements (0 refused)"),
        "{stdout}"
    );
    let r = s
        .http
        .get(format!(
            "{}/ngsi-ld/v1/entities?type=MetroStationFlow&count=true&limit=0",
            s.url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["ngsild-results-count"], "80");
    let (st, e) = send(
        &s,
        "GET",
        "/entities/urn:ngsi-ld:MetroStationFlow:HZ-0",
        None,
    )
    .await;
    assert_eq!(st, 200, "{e}");
    // hangzhou_flow.csv: "0,1,0,17" and "0,1,1,21" (06:00 and 06:10 Beijing time).
    assert_eq!(e["inflow"]["value"], 21);
    assert_eq!(e["inflow"]["observedAt"], "2018-12-31T22:10:00.000Z");
    assert_eq!(e["locationSource"]["value"], "placed");
    let (st, t) = send(
        &s,
        "GET",
        "/temporal/entities/urn:ngsi-ld:MetroStationFlow:HZ-0?attrs=inflow&lastN=10",
        None,
    )
    .await;
    assert_eq!(st, 200, "{t}");
    let mut vals: Vec<i64> = t["inflow"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["value"].as_i64().unwrap())
        .collect();
    vals.sort();
    assert_eq!(vals, vec![17, 21]);
}

/// The demo loads a first window of the real series as live entities with history, in
/// the NGSI-LD tenant `hangzhou`, with placed positions marked as such.
#[tokio::test]
async fn demo_loads_series_windows() {
    let s = server_with(Options {
        demo: true,
        env: vec![("ONECITY_NGSI_LD_OPEN".into(), "true".into())],
        ..Default::default()
    })
    .await;
    let get = |path: String| {
        let r = s
            .http
            .get(format!("{}/ngsi-ld/v1{path}", s.url))
            .header("NGSILD-Tenant", "hangzhou");
        async move {
            let r = r.send().await.unwrap();
            let st = r.status().as_u16();
            let c = r
                .headers()
                .get("ngsild-results-count")
                .map(|v| v.to_str().unwrap().to_string());
            (st, c, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    for (ty, n) in [
        ("MetroStationFlow", "80"),
        ("OffStreetParking", "30"),
        ("AirQualityObserved", "2"),
        ("WaterObserved", "2"),
    ] {
        let (st, c, v) = get(format!("/entities?type={ty}&count=true&limit=1")).await;
        assert_eq!(st, 200, "{v}");
        assert_eq!(c.as_deref(), Some(n), "{ty}");
        assert_eq!(v[0]["locationSource"]["value"], "placed");
    }
    // 18 slots of station 0 on 2019-01-01: 06:00 .. 08:50 Beijing time; and the 12 slots
    // of 2019-01-22 06:00 .. 07:50 the brain's demo replays before forecasting.
    let (st, _, e) =
        get("/temporal/entities/urn:ngsi-ld:MetroStationFlow:HZ-0?attrs=inflow&lastN=100".into())
            .await;
    assert_eq!(st, 200, "{e}");
    assert_eq!(e["inflow"].as_array().unwrap().len(), 18 + 12);
    let (_, _, e) = get("/entities/urn:ngsi-ld:WaterObserved:VenicePuntaSalute".into()).await;
    assert_eq!(e["waterLevel"]["observedAt"], "2022-08-10T21:55:00.000Z");
}

/// timeInterval: every matching entity is notified each interval without any change;
/// expiresAt in the future shows in the status, and a paused subscription sends nothing.
#[tokio::test]
async fn time_interval_sends_matching_entities() {
    let s = open_server().await;
    let (url, inbox) = receiver().await;
    for (name, (at, pm10, so2)) in [
        ("Dongsi", prsa_rows("Dongsi", 1)[0].clone()),
        ("Tiantan", prsa_rows("Tiantan", 1)[0].clone()),
    ] {
        let (st, v) = send(
            &s,
            "POST",
            "/entities",
            Some(station(name, &at, pm10, so2, 116.4, 39.9)),
        )
        .await;
        assert_eq!(st, 201, "{v}");
    }
    let (st, v) = send(
        &s,
        "POST",
        "/subscriptions",
        Some(json!({"id": "urn:ngsi-ld:Subscription:periodic", "type": "Subscription",
            "entities": [{"type": "AirQualityObserved", "idPattern": ".*Tiantan$"}], "timeInterval": 1,
            "expiresAt": "2099-01-01T00:00:00Z",
            "notification": {"format": "keyValues", "attributes": ["pm10"], "endpoint": {"uri": url}}})),
    )
    .await;
    assert_eq!(st, 201, "{v}");
    wait_for(&inbox, 2).await;
    let got = inbox.lock().unwrap().clone();
    let tiantan_pm10 = prsa_rows("Tiantan", 1)[0].1;
    for (_, n) in &got[..2] {
        let d = n["data"].as_array().unwrap();
        assert_eq!(d.len(), 1, "{n}");
        assert_eq!(d[0]["id"], "urn:ngsi-ld:AirQualityObserved:Tiantan");
        assert_eq!(d[0]["pm10"], json!(tiantan_pm10));
    }
    let v = sub_status(&s, "urn:ngsi-ld:Subscription:periodic").await;
    assert_eq!(v["status"], "active");
    assert_eq!(v["expiresAt"], "2099-01-01T00:00:00Z");
    let (st, _) = send(
        &s,
        "PATCH",
        "/subscriptions/urn:ngsi-ld:Subscription:periodic",
        Some(json!({"isActive": false})),
    )
    .await;
    assert_eq!(st, 204);
    assert_eq!(
        sub_status(&s, "urn:ngsi-ld:Subscription:periodic").await["status"],
        "paused"
    );
}

/// Creates a subscription with this id (201 expected).
async fn subscribe(s: &TestServer, id: &str, body: Value) {
    let mut b = body;
    b["id"] = json!(id);
    b["type"] = json!("Subscription");
    let (st, v) = send(s, "POST", "/subscriptions", Some(b)).await;
    assert_eq!(st, 201, "{v}");
}

/// notificationTrigger, deletions and showChanges (GS CIM 009 §5.2.12, §5.8.6, §5.2.14):
/// updated attributes carry their previous value, deleted ones the NGSI-LD Null (and
/// the previous value), a deleted entity is notified with `deletedAt`; a type selection
/// `(Building|Tower)` picks the entity; default triggers do not notify deletions.
#[tokio::test]
async fn triggers_deletions_and_previous_values() {
    let s = open_server().await;
    let (changes_url, changes) = receiver().await;
    let (deleted_url, deleted) = receiver().await;
    let (default_url, default) = receiver().await;
    subscribe(
        &s,
        "urn:ngsi-ld:Subscription:changes",
        json!({"entities": [{"type": "Building"}],
            "notificationTrigger": ["attributeUpdated", "attributeDeleted"],
            "notification": {"showChanges": true, "endpoint": {"uri": changes_url}}}),
    )
    .await;
    subscribe(
        &s,
        "urn:ngsi-ld:Subscription:deleted",
        json!({"entities": [{"type": "(Building|Tower)"}], "notificationTrigger": ["entityDeleted"],
            "notification": {"format": "keyValues", "sysAttrs": true, "endpoint": {"uri": deleted_url}}}),
    )
    .await;
    subscribe(
        &s,
        "urn:ngsi-ld:Subscription:default",
        json!({"entities": [{"type": "Building"}],
            "notification": {"pick": ["id", "name"], "endpoint": {"uri": default_url}}}),
    )
    .await;
    let id = "urn:ngsi-ld:Building:eiffel";
    let (st, v) = send(
        &s,
        "POST",
        "/entities",
        Some(json!({"id": id, "type": "Building",
            "name": {"type": "Property", "value": "Eiffel Tower"},
            "locatedAt": {"type": "Relationship", "object": "urn:ngsi-ld:City:Paris"}})),
    )
    .await;
    assert_eq!(st, 201, "{v}");
    // Creation: attributeCreated is a default trigger, not one of "changes".
    wait_for(&default, 1).await;
    let (st, v) = send(
        &s,
        "PATCH",
        &format!("/entities/{id}/attrs"),
        Some(json!({"name": {"type": "Property", "value": "Tour Eiffel"}})),
    )
    .await;
    assert_eq!(st, 204, "{v}");
    wait_for(&changes, 1).await;
    let n = changes.lock().unwrap()[0].1.clone();
    assert_eq!(n["data"][0]["name"]["value"], "Tour Eiffel", "{n}");
    assert_eq!(n["data"][0]["name"]["previousValue"], "Eiffel Tower", "{n}");
    assert!(
        n["data"][0]["locatedAt"].get("previousObject").is_none(),
        "{n}"
    );
    let (st, v) = send(
        &s,
        "DELETE",
        &format!("/entities/{id}/attrs/locatedAt"),
        None,
    )
    .await;
    assert_eq!(st, 204, "{v}");
    wait_for(&changes, 2).await;
    let n = changes.lock().unwrap()[1].1.clone();
    assert_eq!(
        n["data"][0]["locatedAt"],
        json!({"type": "Relationship", "object": "urn:ngsi-ld:null",
            "previousObject": "urn:ngsi-ld:City:Paris"}),
        "{n}"
    );
    assert_eq!(n["data"][0]["name"]["value"], "Tour Eiffel");
    let (st, v) = send(&s, "DELETE", &format!("/entities/{id}"), None).await;
    assert_eq!(st, 204, "{v}");
    wait_for(&deleted, 1).await;
    let n = deleted.lock().unwrap()[0].1.clone();
    let e = n["data"][0].as_object().unwrap().clone();
    let mut keys: Vec<&str> = e.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        ["createdAt", "deletedAt", "id", "modifiedAt", "type"],
        "{n}"
    );
    // The entity deletion deletes "name" too: attributeDeleted, with its last value.
    wait_for(&changes, 3).await;
    let n = changes.lock().unwrap()[2].1.clone();
    assert!(n["data"][0]["deletedAt"].is_string(), "{n}");
    assert_eq!(n["data"][0]["name"]["value"], "urn:ngsi-ld:null", "{n}");
    assert_eq!(n["data"][0]["name"]["previousValue"], "Tour Eiffel", "{n}");
    // Default triggers: creation and the name update, not the deletions; pick applies.
    wait_for(&default, 2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = default.lock().unwrap().clone();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(
        got[1].1["data"][0],
        json!({"id": id, "name": {"type": "Property", "value": "Tour Eiffel"}})
    );
    assert_eq!(deleted.lock().unwrap().len(), 1);
}

/// Subscription members (GS CIM 009 §5.2.12): invalid notificationTrigger, csf and
/// notifierInfo are 400; read-only and unknown members are not kept; `Prefer:
/// ngsi-ld=<v>` is answered with `Preference-Applied`; pages of GET /subscriptions carry
/// prev/next links.
#[tokio::test]
async fn subscription_members_preference_and_paging() {
    let s = open_server().await;
    let base = json!({"type": "Subscription", "entities": [{"type": "Building"}],
        "notification": {"endpoint": {"uri": "http://127.0.0.1:9/n"}}});
    for (k, v) in [
        ("notificationTrigger", json!(["entityChanged"])),
        ("csf", json!("((")),
    ] {
        let mut b = base.clone();
        b[k] = v;
        let (st, e) = send(&s, "POST", "/subscriptions", Some(b)).await;
        assert_eq!(st, 400, "{k}: {e}");
        assert_eq!(
            e["type"],
            "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"
        );
    }
    let mut b = base.clone();
    b["notification"]["endpoint"]["notifierInfo"] = json!({"key": "a", "value": "b"});
    let (st, _) = send(&s, "POST", "/subscriptions", Some(b)).await;
    assert_eq!(st, 400);
    for i in 0..3 {
        let mut b = base.clone();
        b["id"] = json!(format!("urn:ngsi-ld:Subscription:p{i}"));
        b["status"] = json!("expired");
        b["__context"] = json!("http://example.org/x.jsonld");
        b["notification"]["timesSent"] = json!(42);
        let (st, v) = send(&s, "POST", "/subscriptions", Some(b)).await;
        assert_eq!(st, 201, "{v}");
    }
    let v = sub_status(&s, "urn:ngsi-ld:Subscription:p0").await;
    assert_eq!(v["status"], "active", "{v}");
    assert!(v.get("__context").is_none(), "{v}");
    assert!(v["notification"].get("timesSent").is_none(), "{v}");
    for (prefer, applied) in [
        ("NGSI-LD=1.0", Some("ngsi-ld=1.0")),
        ("respond-async, ngsi-ld=\"1.8\";q=0.1", Some("ngsi-ld=1.8")),
        ("respond-async", None),
    ] {
        let r = s
            .http
            .get(format!(
                "{}/ngsi-ld/v1/subscriptions/urn:ngsi-ld:Subscription:p0",
                s.url
            ))
            .header("prefer", prefer)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.headers()
                .get("preference-applied")
                .map(|h| h.to_str().unwrap()),
            applied,
            "{prefer}"
        );
    }
    let links = |offset: usize| {
        let s = &s;
        async move {
            let r = s
                .http
                .get(format!(
                    "{}/ngsi-ld/v1/subscriptions?limit=1&offset={offset}",
                    s.url
                ))
                .send()
                .await
                .unwrap();
            r.headers()
                .get_all("link")
                .iter()
                .map(|h| h.to_str().unwrap().to_string())
                .filter(|l| !l.contains("json-ld#context"))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        links(1).await,
        [
            "</ngsi-ld/v1/subscriptions?limit=1&offset=0>; rel=\"prev\"; type=\"application/json\"",
            "</ngsi-ld/v1/subscriptions?limit=1&offset=2>; rel=\"next\"; type=\"application/json\""
        ]
    );
    assert_eq!(links(2).await.len(), 1);
    assert_eq!(links(0).await.len(), 1);
}

/// A JSON notification names the subscription's one @context URL in `Link` (also when it
/// was sent as a one-element array); an attribute deleted with all its instances
/// (`deleteAll=true`) is notified as one NGSI-LD Null (GS CIM 009 §5.8.6, §7.2).
#[tokio::test]
async fn link_context_and_whole_attribute_deletion() {
    let s = open_server().await;
    let (url, inbox) = receiver().await;
    let v16 = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.6.jsonld";
    let r = s
        .http
        .post(format!("{}/ngsi-ld/v1/subscriptions", s.url))
        .header("content-type", "application/ld+json")
        .body(
            json!({"id": "urn:ngsi-ld:Subscription:del", "type": "Subscription",
                "entities": [{"type": "Building"}], "notificationTrigger": ["attributeDeleted"],
                "notification": {"endpoint": {"uri": url, "accept": "application/json"}},
                "@context": [v16]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let id = "urn:ngsi-ld:Building:multi";
    let (st, v) = send(
        &s,
        "POST",
        "/entities",
        Some(json!({"id": id, "type": "Building",
            "name": [{"type": "Property", "value": "Eiffel Tower"},
                {"type": "Property", "value": "Eiffelturm", "datasetId": "urn:ngsi-ld:Dataset:de"}],
            "height": {"type": "Property", "value": 330}})),
    )
    .await;
    assert_eq!(st, 201, "{v}");
    let (st, v) = send(
        &s,
        "DELETE",
        &format!("/entities/{id}/attrs/name?deleteAll=true"),
        None,
    )
    .await;
    assert_eq!(st, 204, "{v}");
    wait_for(&inbox, 1).await;
    let (h, n) = inbox.lock().unwrap()[0].clone();
    assert!(
        h["link"].to_str().unwrap().starts_with(&format!("<{v16}>")),
        "{h:?}"
    );
    assert_eq!(
        n["data"][0]["name"],
        json!({"type": "Property", "value": "urn:ngsi-ld:null"}),
        "{n}"
    );
    assert_eq!(n["data"][0]["height"]["value"], 330);
}

/// Notification content and subscription views (GS CIM 009 §5.8.3, §5.8.6): a JSON-LD
/// endpoint gets `@context` in every notified entity; keyValues with `sysAttrs` carries
/// the entity's createdAt/modifiedAt; a percent-encoded `q` is decoded; a subscription
/// read without its @context shows expanded type IRIs; a periodic subscription with no
/// matching entity has no `lastNotification`.
#[tokio::test]
async fn notification_content_and_views() {
    let s = open_server().await;
    let (url, inbox) = receiver().await;
    let r = s
        .http
        .post(format!("{}/ngsi-ld/v1/subscriptions", s.url))
        .header("content-type", "application/ld+json")
        .body(
            json!({"id": "urn:ngsi-ld:Subscription:ld", "type": "Subscription",
                "entities": [{"type": "Tower"}], "q": "name==%22Eiffel%20Tower%22",
                "notification": {"format": "keyValues", "sysAttrs": true,
                    "endpoint": {"uri": url, "accept": "application/ld+json"}},
                "@context": {"Tower": "https://example.org/Tower"}})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let (_, v) = send(
        &s,
        "GET",
        "/subscriptions/urn:ngsi-ld:Subscription:ld",
        None,
    )
    .await;
    assert_eq!(v["entities"][0]["type"], "https://example.org/Tower", "{v}");
    let (st, v) = send(
        &s,
        "POST",
        "/entities",
        Some(
            json!({"id": "urn:ngsi-ld:Tower:1", "type": "https://example.org/Tower",
            "name": {"type": "Property", "value": "Eiffel Tower"}}),
        ),
    )
    .await;
    assert_eq!(st, 201, "{v}");
    wait_for(&inbox, 1).await;
    let n = inbox.lock().unwrap()[0].1.clone();
    let d = &n["data"][0];
    assert_eq!(d["type"], "Tower", "{n}");
    assert_eq!(
        d["@context"],
        json!({"Tower": "https://example.org/Tower"}),
        "{n}"
    );
    assert!(
        d["createdAt"].is_string() && d["modifiedAt"].is_string(),
        "{n}"
    );
    assert_eq!(d["name"], "Eiffel Tower");
    subscribe(
        &s,
        "urn:ngsi-ld:Subscription:idle",
        json!({"entities": [{"type": "Nothing"}], "timeInterval": 1,
            "notification": {"endpoint": {"uri": url}}}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let v = sub_status(&s, "urn:ngsi-ld:Subscription:idle").await;
    assert!(v["notification"].get("lastNotification").is_none(), "{v}");
}

/// A subscription read right after its notification arrived shows the delivery's outcome
/// (`status`, `lastSuccess`, `timesSent`, GS CIM 009 §5.2.14), even when the endpoint is
/// slow to answer.
#[tokio::test]
async fn read_after_notification_shows_its_outcome() {
    let s = open_server().await;
    let inbox: Inbox = Arc::default();
    let i = inbox.clone();
    let app = axum::Router::new().route(
        "/slow",
        axum::routing::post(move |body: String| {
            let i = i.clone();
            async move {
                i.lock().unwrap().push((
                    axum::http::HeaderMap::new(),
                    serde_json::from_str(&body).unwrap_or(Value::Null),
                ));
                tokio::time::sleep(Duration::from_millis(300)).await;
                "ok"
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/slow", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    subscribe(
        &s,
        "urn:ngsi-ld:Subscription:slow",
        json!({"entities": [{"type": "Building"}], "notification": {"endpoint": {"uri": url}}}),
    )
    .await;
    let (st, v) = send(
        &s,
        "POST",
        "/entities",
        Some(
            json!({"id": "urn:ngsi-ld:Building:slow", "type": "Building",
            "name": {"type": "Property", "value": "x"}}),
        ),
    )
    .await;
    assert_eq!(st, 201, "{v}");
    wait_for(&inbox, 1).await;
    let v = sub_status(&s, "urn:ngsi-ld:Subscription:slow").await;
    assert_eq!(v["notification"]["status"], "ok", "{v}");
    assert_eq!(v["notification"]["timesSent"], 1, "{v}");
    assert!(v["notification"]["lastSuccess"].is_string(), "{v}");
}
