//! NGSI-LD query and retrieval (GS CIM 009 §4.5.23 linked entities, §4.21 projections,
//! §4.23 ordering, §5.5.9 paging links, §5.7.1, §5.7.2, §5.2.23 Query bodies, §4.15
//! languages, §4.5.4 simplified form, §4.5.5 datasetId, §5.7.9 discovery).

use crate::twin::{assert_ngsi_error, call, count, get, open_server, post, Resp};
use onecity_testkit::TestServer;
use serde_json::{json, Value};

async fn create(s: &TestServer, e: Value) {
    let r = post(s, "/entities", e).await;
    assert_eq!(r.status, 201, "{}", r.body);
}

fn ids(r: &Resp) -> Vec<String> {
    r.body
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {}", r.body))
        .iter()
        .map(|e| e["id"].as_str().unwrap_or("").to_string())
        .collect()
}

/// Building → City → Country.
async fn linked_world(s: &TestServer) {
    create(
        s,
        json!({"id": "urn:ngsi-ld:Building:b1", "type": "Building",
               "name": {"type": "Property", "value": "Tower"},
               "locatedAt": {"type": "Relationship", "object": "urn:ngsi-ld:City:paris"}}),
    )
    .await;
    create(
        s,
        json!({"id": "urn:ngsi-ld:City:paris", "type": "City",
               "name": {"type": "Property", "value": "Paris"},
               "inCountry": {"type": "Relationship", "object": "urn:ngsi-ld:Country:fr"}}),
    )
    .await;
    create(
        s,
        json!({"id": "urn:ngsi-ld:Country:fr", "type": "Country",
               "name": {"type": "Property", "value": "France"},
               "code": {"type": "Property", "value": "FR"}}),
    )
    .await;
}

#[tokio::test]
async fn twin_query_linked_entities_inline_flat_and_projections() {
    let s = open_server(&[]).await;
    linked_world(&s).await;
    let b = "/entities/urn:ngsi-ld:Building:b1";

    // Inline, two levels, normalized: the target sits in the Relationship's `entity`.
    let r = get(&s, &format!("{b}?join=inline&joinLevel=2")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let city = &r.body["locatedAt"]["entity"];
    assert_eq!(city["id"], "urn:ngsi-ld:City:paris");
    assert_eq!(city["inCountry"]["entity"]["code"]["value"], "FR");
    // joinLevel 1 stops after the first hop.
    let r = get(&s, &format!("{b}?join=inline")).await;
    assert!(r.body["locatedAt"]["entity"]["inCountry"]
        .get("entity")
        .is_none());

    // Inline keyValues: the Relationship's value becomes the target entity.
    let r = get(&s, &format!("{b}?join=inline&options=keyValues")).await;
    assert_eq!(r.body["locatedAt"]["id"], "urn:ngsi-ld:City:paris");
    assert_eq!(r.body["locatedAt"]["name"], "Paris");

    // Flat: the entity, then the linked ones breadth first, each once.
    let r = get(&s, &format!("{b}?join=flat&joinLevel=2")).await;
    assert_eq!(
        ids(&r),
        [
            "urn:ngsi-ld:Building:b1",
            "urn:ngsi-ld:City:paris",
            "urn:ngsi-ld:Country:fr"
        ]
    );
    assert!(r.body[0]["locatedAt"].get("entity").is_none());

    // Nested pick and omit address the linked entities.
    let r = get(
        &s,
        &format!("{b}?join=inline&joinLevel=2&pick=id,locatedAt{{id,inCountry{{code}}}}"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"id": "urn:ngsi-ld:Building:b1",
               "locatedAt": {"type": "Relationship", "object": "urn:ngsi-ld:City:paris",
                 "entity": {"id": "urn:ngsi-ld:City:paris",
                   "inCountry": {"type": "Relationship", "object": "urn:ngsi-ld:Country:fr",
                     "entity": {"code": {"type": "Property", "value": "FR"}}}}}})
    );
    let r = get(&s, &format!("{b}?join=flat&omit=type,locatedAt{{name}}")).await;
    assert_eq!(r.body[0].get("type"), None);
    assert!(r.body[0].get("locatedAt").is_some());
    assert_eq!(r.body[1]["id"], "urn:ngsi-ld:City:paris");
    assert!(r.body[1].get("name").is_none());
    assert!(r.body[1].get("type").is_some());

    // On a Relationship only == and != can match (§4.9).
    let r = get(
        &s,
        "/entities?type=Building&q=locatedAt>%22urn:a%22&count=true",
    )
    .await;
    assert_eq!(count(&r), Some(0));
    let r = get(
        &s,
        "/entities?type=Building&q=locatedAt==%22urn:ngsi-ld:City:paris%22&count=true",
    )
    .await;
    assert_eq!(count(&r), Some(1));

    // A query joins every entity of the page.
    let r = get(&s, "/entities?type=Building&join=flat").await;
    assert_eq!(
        ids(&r),
        ["urn:ngsi-ld:Building:b1", "urn:ngsi-ld:City:paris"]
    );

    // A flat join with no linked entity found answers the entity alone.
    create(
        &s,
        json!({"id": "urn:ngsi-ld:Building:b2", "type": "Building",
               "locatedAt": {"type": "Relationship", "object": "urn:ngsi-ld:City:nowhere"}}),
    )
    .await;
    let r = get(&s, "/entities/urn:ngsi-ld:Building:b2?join=flat").await;
    assert_eq!(r.body["id"], "urn:ngsi-ld:Building:b2");

    // Misuse: joinLevel 0, an unknown join, a nested projection without join or deeper
    // than joinLevel, a linked q deeper than joinLevel.
    for bad in [
        format!("{b}?join=inline&joinLevel=0"),
        format!("{b}?join=sideways"),
        format!("{b}?pick=locatedAt{{name}}"),
        format!("{b}?join=inline&pick=locatedAt{{inCountry{{name}}}}"),
        "/entities?type=Building&q=locatedAt{inCountry{name}}==%22x%22&join=inline".to_string(),
    ] {
        assert_ngsi_error(&get(&s, &bad).await, 400, "BadRequestData");
    }
}

#[tokio::test]
async fn twin_query_order_by_paging_links_and_selection() {
    let s = open_server(&[]).await;
    for (id, name, lon, kind) in [
        ("urn:ngsi-ld:Shop:3", "b", 10.0, vec!["Shop", "Cafe"]),
        ("urn:ngsi-ld:Shop:1", "á", 8.0, vec!["Shop"]),
        ("urn:ngsi-ld:Shop:2", "A", 9.0, vec!["Shop", "Cafe"]),
    ] {
        create(
            &s,
            json!({"id": id, "type": kind, "name": {"type": "Property", "value": name},
                   "location": {"type": "GeoProperty",
                                "value": {"type": "Point", "coordinates": [lon, 40.0]}}}),
        )
        .await;
    }
    let order = |q: &'static str| {
        let s = &s;
        async move { ids(&get(s, &format!("/entities?type=Shop&{q}")).await) }
    };
    // Code point order, descending, creation time, a collation, distance.
    assert_eq!(
        order("orderBy=name").await,
        [
            "urn:ngsi-ld:Shop:2",
            "urn:ngsi-ld:Shop:3",
            "urn:ngsi-ld:Shop:1"
        ]
    );
    assert_eq!(
        order("orderBy=name;desc").await,
        [
            "urn:ngsi-ld:Shop:1",
            "urn:ngsi-ld:Shop:3",
            "urn:ngsi-ld:Shop:2"
        ]
    );
    assert_eq!(
        order("orderBy=createdAt").await,
        [
            "urn:ngsi-ld:Shop:3",
            "urn:ngsi-ld:Shop:1",
            "urn:ngsi-ld:Shop:2"
        ]
    );
    assert_eq!(
        order("orderBy=name&collation=und").await,
        [
            "urn:ngsi-ld:Shop:2",
            "urn:ngsi-ld:Shop:1",
            "urn:ngsi-ld:Shop:3"
        ]
    );
    assert_eq!(
        order("orderBy=location;dist-desc&orderFrom=[8,40]").await,
        [
            "urn:ngsi-ld:Shop:3",
            "urn:ngsi-ld:Shop:2",
            "urn:ngsi-ld:Shop:1"
        ]
    );
    for bad in [
        "orderBy=location;dist-asc",
        "orderBy=name;up",
        "orderBy=name&collation=!!nope",
    ] {
        assert_ngsi_error(
            &get(&s, &format!("/entities?type=Shop&{bad}")).await,
            400,
            "BadRequestData",
        );
    }
    // Ordered paging: the page is cut after ordering.
    assert_eq!(
        order("orderBy=name;desc&limit=1&offset=1").await,
        ["urn:ngsi-ld:Shop:3"]
    );

    // Paging links: every parameter in name order, readable values, the media type.
    let r = get(
        &s,
        "/entities?type=Shop&idPattern=urn:ngsi-ld:Shop:.*&limit=1&offset=1",
    )
    .await;
    let links: Vec<String> = r
        .headers
        .get_all("link")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .filter(|l| !l.contains("json-ld#context"))
        .collect();
    assert_eq!(
        links,
        [
            "</ngsi-ld/v1/entities?idPattern=urn:ngsi-ld:Shop:.*&limit=1&offset=0&type=Shop>; rel=\"prev\"; type=\"application/json\"",
            "</ngsi-ld/v1/entities?idPattern=urn:ngsi-ld:Shop:.*&limit=1&offset=2&type=Shop>; rel=\"next\"; type=\"application/json\"",
        ]
    );

    // Type selection: `;` needs every type, `*` any type; ids alone are too wide.
    assert_eq!(
        ids(&get(&s, "/entities?type=(Shop;Cafe)").await),
        ["urn:ngsi-ld:Shop:2", "urn:ngsi-ld:Shop:3"]
    );
    assert_eq!(ids(&get(&s, "/entities?type=*").await).len(), 3);
    assert_ngsi_error(
        &get(&s, "/entities?type=*&local=false").await,
        400,
        "BadRequestData",
    );
    assert_ngsi_error(
        &get(&s, "/entities?id=urn:ngsi-ld:Shop:1").await,
        400,
        "BadRequestData",
    );
    // Form encoding: `+` is a space.
    let r = get(
        &s,
        "/entities?type=Shop&q=name==%22b%22|name==%22x+y%22&count=true",
    )
    .await;
    assert_eq!(count(&r), Some(1));
    // Query-parameter checks.
    for bad in [
        "/entities?type=Shop&idPattern=a**",
        "/entities?type=Shop&geometryProperty=location",
        "/entities?type=Shop&georel=near;maxDistance==0&geometry=Point&coordinates=[8,40]",
        "/entities?type=Shop&georel=near;maxDistance==5;minDistance==1&geometry=Point&coordinates=[8,40]",
        "/entities?type=Shop&csf=))bad((",
        "/entities?type=Shop&pick=name||id",
    ] {
        assert_ngsi_error(&get(&s, bad).await, 400, "BadRequestData");
    }
    // near measures from the closest point of an extended reference.
    let r = get(
        &s,
        "/entities?type=Shop&georel=near;maxDistance==2000&geometry=LineString&coordinates=[[8.5,40.01],[9.5,40.01]]",
    )
    .await;
    assert_eq!(ids(&r), ["urn:ngsi-ld:Shop:2"]);
}

#[tokio::test]
async fn twin_query_post_body_rendering_and_discovery() {
    let s = open_server(&[]).await;
    create(
        &s,
        json!({"id": "urn:ngsi-ld:Car:1", "type": "Car",
               "speed": [{"type": "Property", "value": 55},
                         {"type": "Property", "value": 11, "datasetId": "urn:ngsi-ld:Dataset:gps"}],
               "depths": {"type": "ListProperty", "valueList": [1.2, 3.4]},
               "street": {"type": "LanguageProperty", "languageMap": {"fr": "Grand Place", "nl": "Grote Markt"}},
               "scope": "/Madrid/Gardens/North"}),
    )
    .await;
    create(
        &s,
        json!({"id": "urn:ngsi-ld:Car:2", "type": "Car", "speed": {"type": "Property", "value": 90}}),
    )
    .await;

    // POST query bodies: checks, id over idPattern, pick.
    let q = |b: Value| {
        let s = &s;
        async move { post(s, "/entityOperations/query", b).await }
    };
    for bad in [
        json!({"type": "Query", "entities": [{"type": "Car"}], "attrs": []}),
        json!({"type": "Query", "entities": [{"type": "Car"}], "q": 42}),
        json!({"type": "Query", "entities": [{"type": "Car"}], "join": "inline", "joinLevel": 0}),
        json!({"type": "Query", "entities": [{"type": "Car"}], "temporalQ": {"timerel": "after"}}),
        json!({"type": "Query", "entities": [{"id": "urn:ngsi-ld:Car:1"}]}),
        json!({"type": "Query", "entities": [{"type": "Car", "id": ["urn:ngsi-ld:Car:1", 5]}]}),
        json!({"type": "Query", "entities": [{"type": "Car"}], "ordering": {"orderBy": ["location;dist-asc"]}}),
        json!({"type": "Query", "entities": [{"type": "Car"}], "geoQ": {"georel": "near;maxDistance==10", "geometry": 7}}),
        json!({"type": "Entity", "entities": [{"type": "Car"}]}),
        json!([{"type": "Query", "entities": [{"type": "Car"}]}]),
    ] {
        assert_ngsi_error(&q(bad).await, 400, "BadRequestData");
    }
    let r = q(
        json!({"type": "Query", "entities": [{"type": "Car", "id": "urn:ngsi-ld:Car:1",
                                                     "idPattern": ".*:2$"}]}),
    )
    .await;
    assert_eq!(ids(&r), ["urn:ngsi-ld:Car:1"]);
    let r = q(
        json!({"type": "Query", "entities": [{"type": "Car"}], "pick": ["id", "speed"],
                     "ordering": {"orderBy": "speed;desc"}}),
    )
    .await;
    assert_eq!(
        r.body[0],
        json!({"id": "urn:ngsi-ld:Car:2", "speed": {"type": "Property", "value": 90}})
    );

    // datasetId selects instances; keyValues gives a dataset map and bare lists.
    let c1 = "/entities/urn:ngsi-ld:Car:1";
    let r = get(&s, &format!("{c1}?datasetId=@none")).await;
    assert_eq!(r.body["speed"]["value"], 55);
    assert!(r.body.get("depths").is_some());
    let r = get(&s, &format!("{c1}?datasetId=urn:ngsi-ld:Dataset:gps")).await;
    assert_eq!(r.body["speed"]["value"], 11);
    assert!(r.body.get("depths").is_none());
    let r = get(&s, &format!("{c1}?options=keyValues")).await;
    assert_eq!(
        r.body["speed"],
        json!({"dataset": {"@none": 55, "urn:ngsi-ld:Dataset:gps": 11}})
    );
    assert_eq!(r.body["depths"], json!([1.2, 3.4]));

    // lang: quality values, then truncation of a longer range.
    for (lang, want) in [("fr;q=0.2,nl;q=0.9", "nl"), ("nl-BE", "nl"), ("FR", "fr")] {
        let r = get(&s, &format!("{c1}?lang={lang}")).await;
        assert_eq!(r.body["street"]["lang"], want, "{lang}");
    }

    // Nothing left to show is 404; GeoJSON answers carry the @context.
    for bad in [format!("{c1}?pick=unknown"), format!("{c1}?attrs=unknown")] {
        assert_ngsi_error(&get(&s, &bad).await, 404, "ResourceNotFound");
    }
    let r = call(&s, "GET", c1, &[("accept", "application/geo+json")], None).await;
    assert_eq!(r.body["type"], "Feature");
    assert!(r.body.get("@context").is_some(), "{}", r.body);
    assert_eq!(r.body["geometry"], Value::Null);
    let r = call(
        &s,
        "GET",
        "/entities?type=Car",
        &[("accept", "application/geo+json"), ("prefer", "body=json")],
        None,
    )
    .await;
    assert_eq!(r.body["type"], "FeatureCollection");
    assert!(r.body.get("@context").is_none(), "{}", r.body);
    assert!(r.headers.get("link").is_some());

    // expiresAt is a system member: hidden, or with sysAttrs its DateTime (§6.3.11).
    create(
        &s,
        json!({"id": "urn:ngsi-ld:Car:t", "type": "Van", "expiresAt": "2100-01-01T00:00:00Z",
               "speed": {"type": "Property", "value": 1, "expiresAt": "2100-01-01T00:00:00Z"}}),
    )
    .await;
    let r = get(&s, "/entities/urn:ngsi-ld:Car:t").await;
    assert!(r.body.get("expiresAt").is_none(), "{}", r.body);
    assert!(r.body["speed"].get("expiresAt").is_none(), "{}", r.body);
    let r = get(&s, "/entities/urn:ngsi-ld:Car:t?options=sysAttrs").await;
    assert_eq!(r.body["expiresAt"], "2100-01-01T00:00:00Z");
    assert_eq!(r.body["speed"]["expiresAt"], "2100-01-01T00:00:00Z");

    // q on a languageMap: one language, or any with `*`.
    for (q, n) in [
        ("street[nl]==%22Grote+Markt%22", 1),
        ("street[fr]==%22Grote+Markt%22", 0),
        ("street[*]==%22Grand+Place%22", 1),
        ("street[*]!=%22Grand+Place%22", 0),
        ("street[*]!=%22Rue%22", 1),
    ] {
        let r = get(&s, &format!("/entities?type=Car&q={q}&count=true")).await;
        assert_eq!(count(&r), Some(n), "{q}");
    }

    // scopeQ: `+` (sent as %2B) matches one level anywhere.
    let r = get(&s, "/entities?type=Car&scopeQ=/Madrid/%2B/North").await;
    assert_eq!(ids(&r), ["urn:ngsi-ld:Car:1"]);

    // Discovery: per-route parameters; the detailed list leaves counts out.
    for bad in [
        "/attributes?limit=5",
        "/attributes/speed?details=true",
        "/types/Car?details=true",
    ] {
        assert_ngsi_error(&get(&s, bad).await, 400, "InvalidRequest");
    }
    let r = get(&s, "/attributes?details=true").await;
    let speed = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["attributeName"] == "speed")
        .unwrap();
    assert!(speed.get("attributeCount").is_none());
    let r = get(&s, "/attributes/speed").await;
    assert!(
        r.body["attributeCount"].as_u64().is_some_and(|n| n >= 2),
        "{}",
        r.body
    );
}
