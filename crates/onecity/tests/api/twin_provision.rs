//! NGSI-LD provision semantics (GS CIM 009 §5.6.2–§5.6.6, §5.6.17): the NGSI-LD Null as a
//! deletion marker, type and scope in update/append/merge fragments, the `type` selector,
//! create-time validation; and the common behaviours §6.3.4 (406) and §5.15.1
//! (`/info/sourceIdentity`).

use crate::twin::{assert_ngsi_error, call, delete, get, open_server, patch, post, put, Resp};
use onecity_testkit::TestServer;
use serde_json::{json, Value};

const NULL: &str = "urn:ngsi-ld:null";

/// A Building with `id` and the members of `extra`.
fn building(id: &str, extra: Value) -> Value {
    let mut body = json!({"id": id, "type": "Building"});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

/// Creating a Building (id `urn:ngsi-ld:Building:{tag}{i}`) with the members of each of
/// `extras` is 400 BadRequestData.
async fn assert_buildings_refused<const N: usize>(s: &TestServer, tag: &str, extras: [Value; N]) {
    for (i, extra) in extras.into_iter().enumerate() {
        let body = building(&format!("urn:ngsi-ld:Building:{tag}{i}"), extra);
        let r = post(s, "/entities", body).await;
        assert_ngsi_error(&r, 400, "BadRequestData");
    }
}

/// GET /info/sourceIdentity with one request header.
async fn source_identity(s: &TestServer, header: (&str, &str)) -> Resp {
    call(s, "GET", "/info/sourceIdentity", &[header], None).await
}

/// The entity `id` as GET /entities/{id} answers it.
async fn entity(s: &TestServer, id: &str) -> Value {
    get(s, &format!("/entities/{id}")).await.body
}

/// Update, merge and partial update delete the instance whose value member is the
/// NGSI-LD Null (by datasetId); a null nested inside a value is refused; members not
/// given in a merge are kept; types are added and scope replaced or reported (207).
#[tokio::test]
async fn twin_provision_ngsild_null_and_fragments() {
    let s = open_server(&[]).await;
    let id = "urn:ngsi-ld:Building:null1";
    let r = post(
        &s,
        "/entities",
        json!({"id": id, "type": "Building", "scope": "/Madrid",
            "name": [{"type": "Property", "value": "a"},
                     {"type": "Property", "value": "b", "datasetId": "urn:ngsi-ld:Dataset:01"}],
            "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [1.0, 2.0]}},
            "street": {"type": "LanguageProperty", "languageMap": {"fr": "rue"}},
            "temp": {"type": "Property", "value": 20, "unitCode": "CEL",
                     "observedAt": "2024-01-01T00:00:00Z"}}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);

    // Update: the null with a datasetId removes that instance only; GeoProperty and
    // LanguageProperty nulls remove the attribute; types are added, scope replaced.
    let r = patch(
        &s,
        &format!("/entities/{id}/attrs"),
        json!({"name": {"type": "Property", "value": NULL, "datasetId": "urn:ngsi-ld:Dataset:01"},
            "location": {"type": "GeoProperty", "value": NULL},
            "type": "Vehicle", "scope": "/Paris"}),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let e = entity(&s, id).await;
    assert_eq!(e["name"], json!({"type": "Property", "value": "a"}), "{e}");
    assert!(e.get("location").is_none(), "{e}");
    assert_eq!(e["type"], json!(["Building", "Vehicle"]), "{e}");
    assert_eq!(e["scope"], json!("/Paris"), "{e}");

    // Merge: a new value keeps unitCode and observedAt; the languageMap null deletes.
    let r = patch(
        &s,
        &format!("/entities/{id}"),
        json!({"temp": {"type": "Property", "value": 21},
            "street": {"type": "LanguageProperty", "languageMap": {"@none": NULL}}}),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let e = entity(&s, id).await;
    assert_eq!(e["temp"]["value"], json!(21), "{e}");
    assert_eq!(e["temp"]["unitCode"], json!("CEL"), "{e}");
    assert_eq!(
        e["temp"]["observedAt"],
        json!("2024-01-01T00:00:00Z"),
        "{e}"
    );
    assert!(e.get("street").is_none(), "{e}");

    // Merge into a JSON object value (RFC 7396): named keys replaced, null keys removed,
    // other keys kept.
    let r = patch(
        &s,
        &format!("/entities/{id}"),
        json!({"addr": {"type": "Property", "value": {"street": "A", "city": "B", "country": "C"}}}),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = patch(
        &s,
        &format!("/entities/{id}"),
        json!({"addr": {"type": "Property", "value": {"street": "Z", "country": NULL}}}),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let e = entity(&s, id).await;
    assert_eq!(
        e["addr"]["value"],
        json!({"street": "Z", "city": "B"}),
        "{e}"
    );

    // Partial update: a null nested in the value is 400 and changes nothing; the null
    // value deletes the default instance.
    let r = patch(
        &s,
        &format!("/entities/{id}/attrs/temp"),
        json!({"value": {"x": NULL}}),
    )
    .await;
    assert_ngsi_error(&r, 400, "BadRequestData");
    let r = patch(
        &s,
        &format!("/entities/{id}/attrs/name"),
        json!({"value": NULL}),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let e = entity(&s, id).await;
    assert!(e.get("name").is_none(), "{e}");
    assert_eq!(e["temp"]["value"], json!(21), "{e}");

    // Update of scope on an entity without one: 207 naming scope, nothing else lost.
    let id2 = "urn:ngsi-ld:Building:null2";
    let r = post(&s, "/entities", json!({"id": id2, "type": "Building"})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = patch(
        &s,
        &format!("/entities/{id2}/attrs"),
        json!({"scope": "/X"}),
    )
    .await;
    assert_eq!(r.status, 207, "{}", r.body);
    assert_eq!(
        r.body["notUpdated"][0]["attributeName"],
        json!("scope"),
        "{}",
        r.body
    );
    // Append with noOverwrite extends the scope; without, replaces it.
    let r = post(
        &s,
        &format!("/entities/{id}/attrs?options=noOverwrite"),
        json!({"scope": "/Lyon"}),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let e = entity(&s, id).await;
    assert_eq!(e["scope"], json!(["/Paris", "/Lyon"]), "{e}");

    // Create: the null anywhere is 400 and nothing is stored.
    for (i, body) in [
        json!({"type": "Building", "p": {"type": "Property", "value": NULL}}),
        json!({"type": "Building", "p": {"type": "Relationship", "object": NULL}}),
        json!({"type": "Building", "p": {"type": "Property", "value": 1,
            "sub": {"type": "Property", "value": NULL}}}),
        json!({"type": "Building", "p": {"type": "Property", "value": {"a": {"b": NULL}}}}),
        json!({"type": "Building", "p": {"type": "LanguageProperty", "languageMap": {"@none": NULL}}}),
        json!({"type": "Building", "scope": NULL}),
    ]
    .into_iter()
    .enumerate()
    {
        let cid = format!("urn:ngsi-ld:Building:nullc{i}");
        let mut body = body;
        body["id"] = json!(cid);
        let r = post(&s, "/entities", body).await;
        assert_ngsi_error(&r, 400, "BadRequestData");
        let r = get(&s, &format!("/entities/{cid}")).await;
        assert_eq!(r.status, 404, "{}", r.body);
    }
    let r = post(&s, "/entities", json!({"id": NULL, "type": "Building"})).await;
    assert_ngsi_error(&r, 400, "BadRequestData");
}

/// `?type=` gates operations on one entity (§4.17); `scope` is no attribute; PUT/PATCH
/// without an id, invalid names and scopes, UTC offsets, GeometryCollection, a
/// LanguageProperty valueType other than langString and misplaced sealed members are 400.
#[tokio::test]
async fn twin_provision_type_selector_and_validation() {
    let s = open_server(&[]).await;
    let id = "urn:ngsi-ld:Building:sel1";
    let r = post(
        &s,
        "/entities",
        json!({"id": id, "type": "Building", "scope": "/A", "name": {"type": "Property", "value": "x"}}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let attrs = format!("/entities/{id}/attrs");
    let y = || json!({"value": "y"});
    let r = patch(&s, &format!("{attrs}/name?type=Vehicle"), y()).await;
    assert_ngsi_error(&r, 404, "ResourceNotFound");
    let r = patch(&s, &format!("{attrs}/name?type=Building"), y()).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = patch(&s, &format!("{attrs}/scope"), json!({"value": "/B"})).await;
    assert_ngsi_error(&r, 400, "BadRequestData");
    let r = put(
        &s,
        &format!("{attrs}/@bad"),
        json!({"type": "Property", "value": 1}),
    )
    .await;
    assert_ngsi_error(&r, 400, "BadRequestData");
    let r = put(&s, "/entities/", json!({"type": "Building"})).await;
    assert_ngsi_error(&r, 400, "BadRequestData");
    let r = delete(&s, &format!("/entities/{id}?type=Vehicle")).await;
    assert_ngsi_error(&r, 404, "ResourceNotFound");
    let e = entity(&s, id).await;
    assert_eq!(e["name"]["value"], json!("y"), "{e}");
    assert_eq!(e["scope"], json!("/A"), "{e}");
    let r = delete(&s, &format!("/entities/{id}?type=Building")).await;
    assert_eq!(r.status, 204, "{}", r.body);

    let invalid = [
        json!({"scope": "/a//b"}),
        json!({"scope": ["/ok", "/9bad"]}),
        json!({"p": {"type": "Property", "value": 1, "observedAt": "2026-08-10T12:00:00+02:00"}}),
        json!({"location": {"type": "GeoProperty", "value": {"type": "GeometryCollection",
            "geometries": [{"type": "Point", "coordinates": [1.0, 2.0]}]}}}),
        json!({"p": {"type": "LanguageProperty", "languageMap": {"en": "x"}, "valueType": "xsd:string"}}),
        json!({"p": {"type": "LanguageProperty", "languageMap": {"": "x"}}}),
        json!({"p": {"type": "Property", "value": 1, "entityIdSealed": "urn:x:1"}}),
        json!({"ngsildproof": {"type": "Property", "value": "not-a-proof"}}),
    ];
    assert_buildings_refused(&s, "v", invalid).await;
    let r = post(
        &s,
        "/entities",
        json!({"id": "urn:ngsi-ld:Building:ok1", "type": "Building",
            "p": {"type": "LanguageProperty", "languageMap": {"en": "x"}, "valueType": "langString"}}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
}

/// §6.3.4: a GET whose Accept admits neither JSON nor JSON-LD is 406, GeoJSON only for
/// entities; §5.15.1: the context source identity, one alias per tenant.
#[tokio::test]
async fn twin_source_identity_and_not_acceptable() {
    let s = open_server(&[]).await;
    let r = source_identity(&s, ("accept", "application/json")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["type"], json!("ContextSourceIdentity"));
    let member = |k: &str| r.body[k].as_str().unwrap().to_string();
    assert!(member("id").starts_with("urn:"), "{}", r.body);
    assert!(
        member("contextSourceUptime").starts_with("PT"),
        "{}",
        r.body
    );
    assert!(member("contextSourceTimeAt").ends_with('Z'), "{}", r.body);
    let base = r.body["contextSourceAlias"].clone();
    let a = source_identity(&s, ("ngsild-tenant", "ta")).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let b = source_identity(&s, ("ngsild-tenant", "tb")).await;
    assert_ne!(a.body["contextSourceAlias"], base);
    assert_ne!(a.body["contextSourceAlias"], b.body["contextSourceAlias"]);

    for (path, accept) in [
        (
            "/subscriptions/urn:ngsi-ld:Subscription:x",
            "application/geo+json",
        ),
        (
            "/subscriptions/urn:ngsi-ld:Subscription:x",
            "application/xml",
        ),
        ("/csourceRegistrations?type=Building", "application/xml"),
        (
            "/temporal/entities?type=Vehicle&timerel=after&timeAt=2020-08-01T12:05:00Z",
            "application/geo+json",
        ),
    ] {
        let r = call(&s, "GET", path, &[("accept", accept)], None).await;
        assert_ngsi_error(&r, 406, "NotAcceptable");
    }
    let r = call(
        &s,
        "GET",
        "/entities?type=Building",
        &[("accept", "application/geo+json")],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

/// Shapes the suite's create, delete and batch cases check (§4.5.5, §4.5.22, §4.5.24,
/// §4.7, §5.6.5, §5.6.9, §5.6.20): normalized objectList entries, string geometries,
/// explicit `@none` datasetId, scope deletion, new datasetIds by update, batch merge with
/// the NGSI-LD Null, and the 400s for invalid bodies.
#[tokio::test]
async fn twin_provision_shapes_and_batches() {
    let s = open_server(&[]).await;
    let id = "urn:ngsi-ld:Building:shape1";
    let r = post(
        &s,
        "/entities",
        json!({"id": id, "type": "Building", "scope": "/A",
            "roads": {"type": "ListRelationship", "objectList": ["urn:ngsi-ld:Road:1", {"object": "urn:ngsi-ld:Road:2"}]},
            "location": {"type": "GeoProperty", "value": "{\"type\": \"Point\", \"coordinates\": [17.1, 48.7]}"},
            "temp": {"type": "Property", "value": 25, "datasetId": "@none"},
            "sub": {"type": "Property", "value": "x"}}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let e = entity(&s, id).await;
    assert_eq!(
        e["roads"]["objectList"],
        json!([{"object": "urn:ngsi-ld:Road:1"}, {"object": "urn:ngsi-ld:Road:2"}]),
        "{e}"
    );
    // The simplified representation gives the bare URIs (§4.5.22).
    let kv = get(&s, &format!("/entities/{id}?options=keyValues"))
        .await
        .body;
    assert_eq!(
        kv["roads"],
        json!(["urn:ngsi-ld:Road:1", "urn:ngsi-ld:Road:2"]),
        "{kv}"
    );
    assert_eq!(
        e["location"]["value"],
        json!({"type": "Point", "coordinates": [17.1, 48.7]}),
        "{e}"
    );
    assert!(e["temp"].get("datasetId").is_none(), "{e}");

    // Update adds a new datasetId of an existing attribute (204), not of a missing one.
    let r = patch(
        &s,
        &format!("/entities/{id}/attrs"),
        json!({"temp": {"type": "Property", "value": 30, "datasetId": "urn:ngsi-ld:Dataset:x"}}),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let e = entity(&s, id).await;
    assert_eq!(e["temp"].as_array().map(Vec::len), Some(2), "{e}");
    let r = patch(
        &s,
        &format!("/entities/{id}/attrs/temp"),
        json!({"datasetId": NULL}),
    )
    .await;
    assert_ngsi_error(&r, 400, "BadRequestData");

    // Scope is deleted through /attrs/scope; a second delete is 404.
    let r = delete(&s, &format!("/entities/{id}/attrs/scope")).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = delete(&s, &format!("/entities/{id}/attrs/scope")).await;
    assert_ngsi_error(&r, 404, "ResourceNotFound");
    let e = entity(&s, id).await;
    assert!(e.get("scope").is_none(), "{e}");

    // Batch merge: a concise NGSI-LD Null deletes, the rest stays.
    let r = post(
        &s,
        "/entityOperations/merge",
        json!([{"id": id, "type": "Building", "sub": NULL}]),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let e = entity(&s, id).await;
    assert!(e.get("sub").is_none(), "{e}");
    assert!(e.get("roads").is_some(), "{e}");

    // Batch update with noOverwrite on an existing attribute is 207.
    let r = post(
        &s,
        "/entityOperations/update?options=noOverwrite",
        json!([{"id": id, "type": "Building", "roads": {"type": "ListRelationship", "objectList": ["urn:ngsi-ld:Road:9"]}}]),
    )
    .await;
    assert_eq!(r.status, 207, "{}", r.body);
    assert_eq!(r.body["errors"][0]["entityId"], json!(id), "{}", r.body);

    // Invalid bodies.
    let r = post(&s, "/entities", json!([])).await;
    assert_ngsi_error(&r, 400, "InvalidRequest");
    let r = post(&s, "/entityOperations/delete", json!([])).await;
    assert_ngsi_error(&r, 400, "BadRequestData");
    let invalid = [
        json!({"p": NULL}),
        json!({"location": {"type": "Property", "value": 7}}),
        json!({"p": {"type": "JsonProperty", "json": 5}}),
    ];
    assert_buildings_refused(&s, "bad", invalid).await;
    let r = post(
        &s,
        "/entities",
        json!({"id": "urn:ngsi-ld:Building:t", "type": "type"}),
    )
    .await;
    assert_ngsi_error(&r, 400, "BadRequestData");
    // §5.5.7: a scoped context in the user @context, an @context inside an attribute.
    let ld = [("content-type", "application/ld+json")];
    for body in [
        json!({"id": "urn:ngsi-ld:Vehicle:sc1", "type": "Vehicle",
            "@context": [{"Vehicle": {"@id": "https://example.org/Vehicle",
                "@context": {"speed": "https://example.org/s"}}}]}),
        json!({"id": "urn:ngsi-ld:Vehicle:sc2", "type": "Vehicle",
            "speed": {"type": "Property", "value": 1, "@context": {"x": "https://example.org/x"}},
            "@context": [{"Vehicle": "https://example.org/Vehicle"}]}),
    ] {
        let r = call(&s, "POST", "/entities", &ld, Some(body)).await;
        assert_ngsi_error(&r, 400, "BadRequestData");
    }
    let r = get(&s, "/entities/urn:ngsi-ld:Vehicle:sc1").await;
    assert_eq!(r.status, 404, "{}", r.body);
}

/// Transient entities (§4.22): a past `expiresAt` hides the entity from retrieval and
/// queries and frees its id; a future one is served; a malformed one is 400.
#[tokio::test]
async fn twin_transient_entity_expiry() {
    let s = open_server(&[]).await;
    let live = "urn:ngsi-ld:Building:live";
    let gone = "urn:ngsi-ld:Building:gone";
    for (id, at) in [
        (live, "2100-01-01T00:00:00Z"),
        (gone, "2020-01-01T00:00:00Z"),
    ] {
        let r = post(
            &s,
            "/entities",
            json!({"id": id, "type": "Building", "expiresAt": at, "name": {"type": "Property", "value": "x"}}),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    assert_eq!(get(&s, &format!("/entities/{live}")).await.status, 200);
    let r = get(&s, &format!("/entities/{gone}")).await;
    assert_ngsi_error(&r, 404, "ResourceNotFound");
    let r = get(&s, "/entities?type=Building").await;
    let ids: Vec<&str> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["id"].as_str())
        .collect();
    assert_eq!(ids, vec![live], "{}", r.body);
    // An expired attribute instance is not served; partial update keeps expiresAt.
    let r = call(
        &s,
        "POST",
        &format!("/entities/{live}/attrs"),
        &[],
        Some(
            json!({"old": {"type": "Property", "value": 1, "expiresAt": "2020-01-01T00:00:00Z"},
            "new": {"type": "Property", "value": 1, "expiresAt": "2100-01-01T00:00:00Z"}}),
        ),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = patch(
        &s,
        &format!("/entities/{live}/attrs/new"),
        json!({"value": 2}),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    // expiresAt is a system member: shown with sysAttrs (GS CIM 009 §4.8).
    let e = get(&s, &format!("/entities/{live}?options=sysAttrs"))
        .await
        .body;
    assert!(e.get("old").is_none(), "{e}");
    assert_eq!(e["new"]["value"], json!(2), "{e}");
    assert_eq!(e["new"]["expiresAt"], json!("2100-01-01T00:00:00Z"), "{e}");
    // The expired id is free again.
    let r = post(&s, "/entities", json!({"id": gone, "type": "Building"})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(get(&s, &format!("/entities/{gone}")).await.status, 200);
    for bad in [
        json!({"id": "urn:ngsi-ld:Building:bad", "type": "Building", "expiresAt": "not-a-date"}),
        json!({"id": "urn:ngsi-ld:Building:bad", "type": "Building", "expiresAt": "2026-13-45T00:00:00Z"}),
        json!({"id": "urn:ngsi-ld:Building:bad", "type": "Building",
            "speed": {"type": "Property", "value": 1, "expiresAt": "not-a-date"}}),
    ] {
        let r = post(&s, "/entities", bad).await;
        assert_ngsi_error(&r, 400, "BadRequestData");
    }
}
