//! The read side of the temporal API (GS CIM 009 §5.7.3, §5.7.4, §6.3.10, §6.24): pages
//! with `206 Partial Content` and `Content-Range`, the simplified and aggregated
//! representations, `POST /temporal/entityOperations/query`, and the checks of its
//! parameters.

use crate::twin::{array_len, assert_ngsi_error, call, get, open_server, post, Resp};
use onecity_testkit::TestServer;
use serde_json::{json, Value};

/// Creates a Vehicle whose `speed` has `n` instances, one a minute from 01:01 on
/// 2020-01-01, and whose `fuelLevel` has `n` instances two minutes later each.
async fn vehicle(s: &TestServer, id: &str, n: usize) {
    let inst = |offset: usize| -> Vec<Value> {
        (0..n)
            .map(|i| {
                json!({"type": "Property", "value": i + 1,
                       "observedAt": format!("2020-01-01T01:{:02}:00Z", i + 1 + offset)})
            })
            .collect()
    };
    let body = json!({"id": id, "type": "Vehicle", "speed": inst(0), "fuelLevel": inst(2)});
    let r = post(s, "/temporal/entities", body).await;
    assert_eq!(r.status, 201, "{}", r.body);
}

fn times(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x["observedAt"].as_str().unwrap())
        .collect()
}

fn content_range(r: &Resp) -> Option<&str> {
    r.headers.get("content-range").and_then(|v| v.to_str().ok())
}

/// More instances than one answer holds (a page of 20 per entity, `ngsi_ld_temporal_page`): 206 with the range of the times
/// returned; every attribute is cut at the same time, so the range is complete.
#[tokio::test]
async fn twin_temporal_pages_are_206_with_content_range() {
    let s = open_server(&[("ONECITY_NGSI_LD_TEMPORAL_PAGE", "20")]).await;
    let id = "urn:ngsi-ld:Vehicle:page1";
    vehicle(&s, id, 20).await;
    let r = get(&s, &format!("/temporal/entities/{id}")).await;
    assert_eq!(r.status, 206, "{}", r.body);
    // Oldest first: speed 01:01…01:11 and fuelLevel 01:03…01:11 are the first 20.
    assert_eq!(
        content_range(&r),
        Some("date-time 2020-01-01T01:01:00Z-2020-01-01T01:11:00Z/*")
    );
    assert_eq!(times(&r.body["speed"]).len(), 11);
    assert_eq!(times(&r.body["fuelLevel"]).len(), 9);
    // lastN pages from the most recent backward; the size is lastN.
    let r = get(
        &s,
        &format!("/temporal/entities/{id}?lastN=20&timerel=before&timeAt=2021-01-01T00:00:00Z"),
    )
    .await;
    assert_eq!(r.status, 206, "{}", r.body);
    assert_eq!(
        content_range(&r),
        Some("date-time 2021-01-01T00:00:00Z-2020-01-01T01:12:00Z/20")
    );
    assert_eq!(times(&r.body["fuelLevel"])[0], "2020-01-01T01:12:00Z");
    assert_eq!(
        times(&r.body["speed"]).last(),
        Some(&"2020-01-01T01:20:00Z")
    );
    // What fits is 200 without Content-Range, lastN or not.
    let r = get(&s, &format!("/temporal/entities/{id}?lastN=4")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(content_range(&r).is_none());
    assert_eq!(
        times(&r.body["speed"]),
        [
            "2020-01-01T01:17:00Z",
            "2020-01-01T01:18:00Z",
            "2020-01-01T01:19:00Z",
            "2020-01-01T01:20:00Z"
        ]
    );
    // The query pages the same way; an entity whose instances all lie after the cut is
    // listed with its attributes empty, one without instances in the range is left out.
    let later = json!({"id": "urn:ngsi-ld:Vehicle:page2", "type": "Vehicle",
        "speed": [{"type": "Property", "value": 1, "observedAt": "2020-09-01T12:00:00Z"}]});
    assert_eq!(post(&s, "/temporal/entities", later).await.status, 201);
    let r = get(
        &s,
        "/temporal/entities?type=Vehicle&timerel=before&timeAt=2021-01-01T00:00:00Z",
    )
    .await;
    assert_eq!(r.status, 206, "{}", r.body);
    assert!(content_range(&r).unwrap().ends_with("/*"));
    assert_eq!(r.body[1]["id"], "urn:ngsi-ld:Vehicle:page2", "{}", r.body);
    assert_eq!(r.body[1]["speed"], json!([]), "{}", r.body);
    let r = get(
        &s,
        "/temporal/entities?type=Vehicle&timerel=after&timeAt=2020-06-01T00:00:00Z",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(array_len(&r.body), 1, "{}", r.body);
    assert_eq!(r.body[0]["id"], "urn:ngsi-ld:Vehicle:page2");
}

/// The simplified representation keeps the times as sent, groups instances by datasetId
/// and names the pairs after the attribute type; aggregation periods start at the first
/// instance; `after` includes `timeAt`.
#[tokio::test]
async fn twin_temporal_values_datasets_and_aggregates() {
    let s = open_server(&[]).await;
    let id = "urn:ngsi-ld:Vehicle:vals1";
    let body = json!({"id": id, "type": "Vehicle",
        "speed": [
            {"type": "Property", "value": 120, "observedAt": "2020-08-01T12:03:00Z"},
            {"type": "Property", "value": 80, "observedAt": "2020-08-01T12:05:00Z"},
            {"type": "Property", "value": 60, "observedAt": "2020-08-01T13:05:00Z",
             "datasetId": "urn:ngsi-ld:Dataset:Speed"}],
        "street": [
            {"type": "LanguageProperty", "languageMap": {"fr": "Grand Place"},
             "observedAt": "2020-08-01T12:03:00Z"}]});
    let r = post(&s, "/temporal/entities", body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let base = format!("/temporal/entities/{id}");
    let r = get(&s, &format!("{base}?options=temporalValues")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["speed"],
        json!([
            {"type": "Property", "values": [[120, "2020-08-01T12:03:00Z"], [80, "2020-08-01T12:05:00Z"]]},
            {"type": "Property", "datasetId": "urn:ngsi-ld:Dataset:Speed",
             "values": [[60, "2020-08-01T13:05:00Z"]]}
        ])
    );
    assert_eq!(
        r.body["street"],
        json!({"type": "LanguageProperty",
               "languageMaps": [[{"languageMap": {"fr": "Grand Place"}}, "2020-08-01T12:03:00Z"]]})
    );
    let r = get(
        &s,
        &format!("{base}?format=temporalValues&options=aggregatedValues&aggrMethods=sum&attrs=speed&datasetId=@none"),
    )
    .await;
    // format takes precedence over options.
    assert_eq!(array_len(&r.body["speed"]["values"]), 2, "{}", r.body);
    let r = get(
        &s,
        &format!("{base}?attrs=speed&timerel=after&timeAt=2020-08-01T12:05:00Z"),
    )
    .await;
    assert_eq!(
        times(&r.body["speed"]),
        ["2020-08-01T12:05:00Z", "2020-08-01T13:05:00Z"]
    );
    let r = get(
        &s,
        &format!("{base}?attrs=speed&datasetId=@none&options=aggregatedValues&aggrMethods=avg&aggrPeriodDuration=PT1H&timerel=after&timeAt=2020-01-01T12:03:00Z"),
    )
    .await;
    assert_eq!(
        r.body["speed"]["avg"],
        json!([[100.0, "2020-08-01T12:03:00Z", "2020-08-01T13:03:00Z"]]),
        "{}",
        r.body
    );
    // Errors: a date is not a DateTime; an id that is not a URI; unknown attrs; nothing
    // left after pick/omit.
    for (path, status, kind) in [
        (
            format!("{base}?timerel=after&timeAt=2020-08-01"),
            400,
            "BadRequestData",
        ),
        (
            "/temporal/entities/not-a-uri".to_string(),
            400,
            "BadRequestData",
        ),
        (format!("{base}?attrs=unknown"), 404, "ResourceNotFound"),
        (format!("{base}?pick=unknown"), 404, "ResourceNotFound"),
        (
            format!("{base}?omit=id,type,speed,street"),
            404,
            "ResourceNotFound",
        ),
    ] {
        let r = get(&s, &path).await;
        assert_ngsi_error(&r, status, kind);
    }
    let r = get(&s, &format!("{base}?pick=id,speed&lastN=1")).await;
    assert_eq!(r.body.as_object().unwrap().len(), 2, "{}", r.body);
    assert_eq!(r.body["id"], id);
}

/// `POST /temporal/entityOperations/query` takes `temporalQ` and `aggrParams`; their
/// values are checked as the GET parameters are; orderBy is by id only.
#[tokio::test]
async fn twin_temporal_post_query_and_parameter_checks() {
    let s = open_server(&[]).await;
    vehicle(&s, "urn:ngsi-ld:Vehicle:q1", 3).await;
    vehicle(&s, "urn:ngsi-ld:Vehicle:q2", 3).await;
    let query =
        |tq: Value| json!({"type": "Query", "entities": [{"type": "Vehicle"}], "temporalQ": tq});
    let r = post(
        &s,
        "/temporal/entityOperations/query",
        query(json!({"timerel": "after", "timeAt": "2020-01-01T00:00:00Z", "lastN": 1})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(array_len(&r.body), 2);
    assert_eq!(times(&r.body[0]["speed"]), ["2020-01-01T01:03:00Z"]);
    let r = post(
        &s,
        "/temporal/entityOperations/query",
        query(
            json!({"timerel": "after", "timeAt": "2020-01-01T00:00:00Z", "aggrMethods": "avg,max"}),
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body[0]["speed"]["avg"][0][0], json!(2.0), "{}", r.body);
    assert_eq!(r.body[0]["speed"]["max"][0][0], json!(3.0));
    for bad in [
        json!({"timerel": "after", "timeAt": "2020-01-01T00:00:00Z", "lastN": 0}),
        json!({"timerel": "after", "timeAt": "2020-01-01T00:00:00Z", "lastN": 2.5}),
        json!({"timerel": "during", "timeAt": "2020-01-01T00:00:00Z"}),
        json!({"timerel": "between", "timeAt": "2020-01-01T00:00:00Z"}),
        json!({"timerel": "after", "timeAt": "2020-01-01T00:00:00Z", "timeproperty": "expiresAt"}),
        json!({"timerel": "after", "timeAt": "2020-01-01T00:00:00Z", "aggrMethods": ["avg"], "aggrPeriodDuration": "bogus"}),
    ] {
        let r = post(&s, "/temporal/entityOperations/query", query(bad.clone())).await;
        assert_ngsi_error(&r, 400, "BadRequestData");
    }
    // §5.2.23: the body is an object whose type is Query.
    let mut not_query = query(json!({"timerel": "after", "timeAt": "2020-01-01T00:00:00Z"}));
    not_query["type"] = json!("Entity");
    for bad in [not_query.clone(), json!([not_query])] {
        let r = post(&s, "/temporal/entityOperations/query", bad).await;
        assert_ngsi_error(&r, 400, "BadRequestData");
    }
    let mut aggr = query(json!({"timerel": "after", "timeAt": "2020-01-01T00:00:00Z"}));
    aggr["aggrParams"] = json!({"aggrMethods": ["avg"], "aggrPeriodDuration": "PT0S"});
    let r = post(&s, "/temporal/entityOperations/query", aggr).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body[1]["fuelLevel"]["avg"][0][0],
        json!(2.0),
        "{}",
        r.body
    );
    let win = "timerel=after&timeAt=2020-01-01T00:00:00Z";
    let r = get(
        &s,
        &format!("/temporal/entities?type=Vehicle&{win}&orderBy=id;desc"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body[0]["id"], "urn:ngsi-ld:Vehicle:q2");
    for bad in [
        "type=Vehicle&orderBy=name",
        "type=Vehicle&orderBy=id,createdAt",
        "type=Vehicle&csf=))bad((",
        "id=urn:ngsi-ld:Vehicle:q1",
    ] {
        let r = call(
            &s,
            "GET",
            &format!("/temporal/entities?{bad}&{win}"),
            &[],
            None,
        )
        .await;
        assert_ngsi_error(&r, 400, "BadRequestData");
    }
    let r = get(&s, &format!("/temporal/entities?local=true&{win}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

/// q and the geo-query of a temporal query hold on the instances in the time range, not on
/// the current state (§5.7.4.4): an old value outside the range never qualifies an entity;
/// `!attr` is the absence of the attribute in the range; `attr[lang]` filters one language.
#[tokio::test]
async fn twin_temporal_q_over_the_time_range() {
    let s = open_server(&[]).await;
    let p = |v: Value, t: &str| json!({"type": "Property", "value": v, "observedAt": t});
    let slow = json!({"id": "urn:ngsi-ld:Vehicle:tq-slow", "type": "Vehicle",
        "speed": [p(json!(80), "2026-01-05T00:00:00Z"), p(json!(10), "2026-03-01T12:00:00Z")]});
    let fast = json!({"id": "urn:ngsi-ld:Vehicle:tq-fast", "type": "Vehicle",
        "speed": [p(json!(30), "2026-03-01T12:00:00Z")],
        "heading": [p(json!(45), "2026-03-01T12:00:00Z")],
        "label": [{"type": "LanguageProperty", "languageMap": {"en": "red", "fr": "rouge"},
                   "observedAt": "2026-03-01T12:00:00Z"}]});
    for b in [slow, fast] {
        assert_eq!(post(&s, "/temporal/entities", b).await.status, 201);
    }
    let win = "timerel=between&timeAt=2026-03-01T00:00:00Z&endTimeAt=2026-03-02T00:00:00Z";
    let ids = |r: &Resp| -> Vec<String> {
        r.body
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_string())
            .collect()
    };
    for (q, want) in [
        ("speed%3E25", vec!["urn:ngsi-ld:Vehicle:tq-fast"]),
        (
            "%21heading%3Bspeed%3E5",
            vec!["urn:ngsi-ld:Vehicle:tq-slow"],
        ),
        (
            "label%5Ben%5D%3D%3D%22red%22",
            vec!["urn:ngsi-ld:Vehicle:tq-fast"],
        ),
        ("label%5Bfr%5D%3D%3D%22red%22", vec![]),
    ] {
        let r = get(&s, &format!("/temporal/entities?type=Vehicle&q={q}&{win}")).await;
        assert_eq!(r.status, 200, "{q}: {}", r.body);
        assert_eq!(ids(&r), want, "{q}: {}", r.body);
    }
    // The representation holds only the instances in the range.
    let r = get(
        &s,
        &format!("/temporal/entities?type=Vehicle&q=speed%3E5&{win}"),
    )
    .await;
    assert!(!r.body.to_string().contains("2026-01-05"), "{}", r.body);
}
