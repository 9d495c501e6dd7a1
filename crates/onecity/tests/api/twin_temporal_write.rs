//! Writes on Temporal Evolutions (GS CIM 009 §5.6.11–§5.6.16): instance ids in temporal
//! answers, modifying and deleting one instance, deleting an attribute's history, and the
//! temporal upsert.

use crate::twin::{assert_ngsi_error, delete, get, open_server, patch, post, Resp};
use onecity_testkit::TestServer;
use serde_json::{json, Value};

const BASE: &str = "/temporal/entities";

fn vehicle(id: &str) -> Value {
    json!({
        "id": id,
        "type": "Vehicle",
        "speed": [
            {"type": "Property", "value": 120, "observedAt": "2020-09-01T12:03:00Z"},
            {"type": "Property", "value": 80, "observedAt": "2020-09-01T12:05:00Z"}
        ],
        "fuelLevel": [
            {"type": "Property", "value": 67, "observedAt": "2020-09-01T12:03:00Z"},
            {"type": "Property", "value": 53, "observedAt": "2020-09-01T13:05:00Z"},
            {"type": "Property", "value": 40, "observedAt": "2020-09-01T14:07:00Z",
             "datasetId": "urn:ngsi-ld:Vehicle:fuel-ds"}
        ]
    })
}

async fn create(s: &TestServer, id: &str) {
    let r = post(s, BASE, vehicle(id)).await;
    assert_eq!(r.status, 201, "{}", r.body);
}

async fn temporal(s: &TestServer, id: &str) -> Resp {
    get(s, &format!("{BASE}/{id}")).await
}

/// `(value, datasetId)` of each instance of an attribute, in answer order.
fn values(r: &Resp, attr: &str) -> Vec<(Value, Value)> {
    r.body[attr]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| (x["value"].clone(), x["datasetId"].clone()))
                .collect()
        })
        .unwrap_or_default()
}

fn instance_ids(r: &Resp, attr: &str) -> Vec<String> {
    r.body[attr]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["instanceId"].as_str().expect("instanceId").to_string())
        .collect()
}

#[tokio::test]
async fn twin_temporal_instances_carry_ids_and_are_modified_or_deleted_one_by_one() {
    let s = open_server(&[]).await;
    let id = "urn:ngsi-ld:Vehicle:tw1";
    create(&s, id).await;
    let r = temporal(&s, id).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let speed = instance_ids(&r, "speed");
    let fuel = instance_ids(&r, "fuelLevel");
    let mut all: Vec<&String> = speed.iter().chain(&fuel).collect();
    assert_eq!(all.len(), 5);
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 5, "instance ids are distinct");
    assert!(all.iter().all(|i| i.starts_with("urn:ngsi-ld:Instance:")));

    // Modify the first speed instance: same id, new value, the other one untouched.
    let path = format!("{BASE}/{id}/attrs/speed/{}", speed[0]);
    let frag = json!({"type": "Property", "value": 129, "observedAt": "2020-09-01T12:03:00Z"});
    let r = patch(&s, &path, frag).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = temporal(&s, id).await;
    assert_eq!(
        values(&r, "speed"),
        vec![(json!(129), Value::Null), (json!(80), Value::Null)]
    );
    assert_eq!(instance_ids(&r, "speed"), speed);
    // A body with the value only keeps the recorded observedAt.
    let r = patch(&s, &path, json!({"value": 130})).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = temporal(&s, id).await;
    assert_eq!(r.body["speed"][0]["value"], json!(130));
    assert_eq!(r.body["speed"][0]["observedAt"], "2020-09-01T12:03:00Z");

    // Unknown entity, attribute or instance: 404; invalid ones: 400.
    let frag = json!({"type": "Property", "value": 1});
    let other = format!("{BASE}/urn:ngsi-ld:Vehicle:none/attrs/speed/{}", speed[0]);
    let wrong_attr = format!("{BASE}/{id}/attrs/fuelLevel/{}", speed[0]);
    let no_inst = format!("{BASE}/{id}/attrs/speed/urn:ngsi-ld:01234567890123456789");
    for p in [&other, &wrong_attr, &no_inst] {
        let r = patch(&s, p, frag.clone()).await;
        assert_ngsi_error(&r, 404, "ResourceNotFound");
        let r = delete(&s, p).await;
        assert_ngsi_error(&r, 404, "ResourceNotFound");
    }
    let bad_id = format!("{BASE}/invalidId/attrs/speed/{}", speed[0]);
    let bad_inst = format!("{BASE}/{id}/attrs/speed/invalidId");
    let bad_attr = format!("{BASE}/{id}/attrs/invalid(Id/{}", speed[0]);
    for p in [&bad_id, &bad_inst, &bad_attr] {
        let r = patch(&s, p, frag.clone()).await;
        assert_ngsi_error(&r, 400, "BadRequestData");
        let r = delete(&s, p).await;
        assert_ngsi_error(&r, 400, "BadRequestData");
    }
    let r = patch(&s, &path, json!([frag])).await;
    assert_ngsi_error(&r, 400, "BadRequestData");

    // Delete the modified instance: only it goes; a second delete finds nothing.
    let r = delete(&s, &path).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = temporal(&s, id).await;
    assert_eq!(values(&r, "speed"), vec![(json!(80), Value::Null)]);
    assert_eq!(instance_ids(&r, "speed"), vec![speed[1].clone()]);
    assert_eq!(values(&r, "fuelLevel").len(), 3);
    let r = delete(&s, &path).await;
    assert_ngsi_error(&r, 404, "ResourceNotFound");
}

#[tokio::test]
async fn twin_temporal_attribute_delete_by_dataset_default_or_all() {
    let s = open_server(&[]).await;
    let default_only = "urn:ngsi-ld:Vehicle:tw2a";
    let dataset_only = "urn:ngsi-ld:Vehicle:tw2b";
    let all = "urn:ngsi-ld:Vehicle:tw2c";
    for id in [default_only, dataset_only, all] {
        create(&s, id).await;
    }
    let del = |id: &str, q: &str| format!("{BASE}/{id}/attrs/fuelLevel{q}");

    let r = delete(&s, &del(default_only, "")).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = temporal(&s, default_only).await;
    assert_eq!(
        values(&r, "fuelLevel"),
        vec![(json!(40), json!("urn:ngsi-ld:Vehicle:fuel-ds"))]
    );
    assert_eq!(values(&r, "speed").len(), 2);

    let q = "?datasetId=urn:ngsi-ld:Vehicle:fuel-ds&deleteAll=false";
    let r = delete(&s, &del(dataset_only, q)).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = temporal(&s, dataset_only).await;
    assert_eq!(
        values(&r, "fuelLevel"),
        vec![(json!(67), Value::Null), (json!(53), Value::Null)]
    );

    let r = delete(&s, &del(all, "?deleteAll=true")).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = temporal(&s, all).await;
    assert!(r.body.get("fuelLevel").is_none(), "{}", r.body);
    assert_eq!(values(&r, "speed").len(), 2);

    // Nothing left to delete, unknown attribute or entity: 404.
    for p in [
        del(all, ""),
        format!("{BASE}/{all}/attrs/notExisting"),
        del("urn:ngsi-ld:Vehicle:none", ""),
    ] {
        let r = delete(&s, &p).await;
        assert_ngsi_error(&r, 404, "ResourceNotFound");
    }
    // Invalid entity id, attribute name (also a doubly encoded dot segment), datasetId,
    // deleteAll: 400, and the evolution is intact.
    for p in [
        format!("{BASE}/invalidId/attrs/speed"),
        format!("{BASE}/{all}/attrs/invalid(Name"),
        format!("{BASE}/{all}/attrs/%252e%252e"),
        format!("{BASE}/{all}/attrs/speed?datasetId=not%20a%20uri"),
        format!("{BASE}/{all}/attrs/speed?deleteAll=yes"),
    ] {
        let r = delete(&s, &p).await;
        assert_ngsi_error(&r, 400, "BadRequestData");
    }
    let r = temporal(&s, all).await;
    assert_eq!(values(&r, "speed").len(), 2);
}

#[tokio::test]
async fn twin_temporal_upsert_replaces_same_time_unions_types_and_checks_input() {
    let s = open_server(&[]).await;
    let id = "urn:ngsi-ld:Vehicle:tw3";
    create(&s, id).await;
    // Same time and datasetId: replaced; a new time: added; a new type: unioned.
    let upsert = json!({
        "id": id,
        "type": ["Vehicle", "Truck"],
        "speed": [
            {"type": "Property", "value": 121, "observedAt": "2020-09-01T12:03:00Z"},
            {"type": "Property", "value": "urn:ngsi-ld:null", "observedAt": "2020-09-01T12:07:00Z"}
        ],
        "fuelLevel": {"type": "Property", "value": 41, "observedAt": "2020-09-01T14:07:00Z"}
    });
    let r = post(&s, BASE, upsert).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = temporal(&s, id).await;
    assert_eq!(
        values(&r, "speed"),
        vec![
            (json!(121), Value::Null),
            (json!(80), Value::Null),
            (json!("urn:ngsi-ld:null"), Value::Null)
        ]
    );
    // The dataset instance at 14:07 stays: only the default one at that time is new.
    let fuel = values(&r, "fuelLevel");
    assert_eq!(fuel.len(), 4, "{}", r.body);
    assert!(fuel.contains(&(json!(41), Value::Null)));
    assert!(fuel.contains(&(json!(40), json!("urn:ngsi-ld:Vehicle:fuel-ds"))));
    assert_eq!(r.body["type"], json!(["Vehicle", "Truck"]));

    // An Entity member with the null marker is refused, and nothing is stored.
    let bad = json!({"id": "urn:ngsi-ld:Vehicle:tw3b", "type": "Vehicle",
                     "expiresAt": "urn:ngsi-ld:null",
                     "speed": [{"type": "Property", "value": 1, "observedAt": "2026-01-01T00:00:00Z"}]});
    let r = post(&s, BASE, bad).await;
    assert_ngsi_error(&r, 400, "BadRequestData");
    let r = temporal(&s, "urn:ngsi-ld:Vehicle:tw3b").await;
    assert_eq!(r.status, 404, "{}", r.body);

    // Invalid entity ids on append and delete: 400, not 404.
    let frag =
        json!({"speed": [{"type": "Property", "value": 3, "observedAt": "2020-09-02T00:00:00Z"}]});
    let r = post(&s, &format!("{BASE}/invalidId/attrs"), frag.clone()).await;
    assert_ngsi_error(&r, 400, "BadRequestData");
    let r = delete(&s, &format!("{BASE}/invalidId")).await;
    assert_ngsi_error(&r, 400, "BadRequestData");
    let r = post(&s, &format!("{BASE}/{id}/attrs"), frag).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = temporal(&s, id).await;
    assert_eq!(values(&r, "speed").len(), 4);
}
