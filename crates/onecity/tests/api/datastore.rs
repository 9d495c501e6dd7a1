use crate::{fixture, server};
use serde_json::{json, Value};

async fn ckan(
    s: &onecity_testkit::TestServer,
    action: &str,
    cred: Option<&str>,
    body: &Value,
) -> (u16, Value) {
    let mut r = s
        .http
        .post(format!("{}/api/3/action/{action}", s.url))
        .json(body);
    if let Some(c) = cred {
        r = r.header("Authorization", c);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    if status >= 400 {
        onecity_testkit::assert_no_internals(&text);
    }
    (status, serde_json::from_str(&text).unwrap())
}

fn ckan_err(st: u16, body: &Value, want: u16, ty: &str) {
    assert_eq!(st, want, "{body}");
    assert_eq!(body["success"], false, "{body}");
    assert_eq!(body["error"]["__type"], ty, "{body}");
}

async fn user(
    s: &onecity_testkit::TestServer,
    admin: &str,
    name: &str,
    dept: &str,
    role: &str,
    j: &str,
) -> (String, String) {
    let (st, body) = s
        .post("/api/v1/tenants/t1/users", admin, &json!({"username":name,"display_name":name,"password":"Passw0rd-X-123","department_id":dept,"roles":[{"role":role,"jurisdiction_id":j}]}))
        .await
        .unwrap();
    assert_eq!(st, 201, "{body}");
    (
        body["id"].as_str().unwrap().to_string(),
        s.login(name, "Passw0rd-X-123").await.unwrap(),
    )
}

async fn flow_role(
    s: &onecity_testkit::TestServer,
    admin: &str,
    who: &str,
    role: &str,
    dept: &str,
) {
    let r = s
        .http
        .post(format!("{}/api/v1/tenants/t1/flow-roles", s.url))
        .bearer_auth(admin)
        .json(&json!({"principal_id": who, "role": role, "department_id": dept}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
}

/// A G-domain dataset of grade `important` is requested by another department, approved by
/// the owner and the data-security officer through the workflow (the case in the to-do
/// inbox), read masked and row-filtered through the CKAN API and SQL, with quota, exchange
/// records and statistics; the negative-list field never leaves.
#[tokio::test]
async fn sharing_requested_approved_read_masked_and_audited() {
    let s = server().await;
    let f = fixture(&s).await;
    let (owner_id, owner) = user(
        &s,
        &f.admin,
        "owner-a",
        &f.dept_a,
        "tenant_admin",
        &f.district_a,
    )
    .await;
    let (sec_id, sec) = user(
        &s,
        &f.admin,
        "security-officer",
        &f.dept_a,
        "staff",
        &f.district_a,
    )
    .await;
    let owner_key = format!("Bearer {owner}");
    // The table belongs to a resource of a G-domain catalog dataset of department A.
    let (_, pkg) = ckan(&s, "package_create", Some(&format!("Bearer {}", f.admin)), &json!({
        "name": "vehicle-owners", "title": "机动车登记 Vehicle owners", "owner_org": f.dept_a, "domain": "G", "grade": "important",
        "open_level": "conditional", "update_frequency": "daily",
        "fields": [{"name": "姓名", "type": "text", "personal": true}, {"name": "手机", "type": "text", "personal": true},
                   {"name": "身份证号", "type": "text", "personal": true}, {"name": "车牌", "type": "text", "personal": true},
                   {"name": "district", "type": "text"}, {"name": "age", "type": "integer"}],
        "resources": [{"url": "https://data.example.cn/vehicle-owners.csv", "format": "csv", "name": "登记表"}]
    })).await;
    assert_eq!(pkg["success"], true, "{pkg}");
    let rid = pkg["result"]["resources"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let rid = rid.as_str();
    let people = json!([
        {"姓名": "张三丰", "手机": "13812345678", "身份证号": "11010519491231002X", "车牌": "浙A12345", "district": "甲区", "age": 70},
        {"姓名": "李四", "手机": "13900001111", "身份证号": "110105199001010011", "车牌": "浙B54321", "district": "乙区", "age": 35},
        {"姓名": "王五", "手机": "13722223333", "身份证号": "110105198505050022", "车牌": "浙A99999", "district": "甲区", "age": 40}
    ]);
    let (st, body) = ckan(&s, "datastore_create", Some(&owner_key), &json!({
        "resource_id": rid, "grade": "important", "primary_key": "身份证号",
        "fields": [{"id": "姓名", "type": "text", "info": {"mask": "name"}}, {"id": "手机", "type": "text"},
                   {"id": "身份证号", "type": "text", "info": {"mask": "id_card"}}, {"id": "车牌", "type": "text"},
                   {"id": "district"}, {"id": "age"}],
        "records": people
    })).await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["success"], true);
    assert_eq!(body["result"]["records_count"], 3);
    // Grade and owner come from the catalog dataset: a contradicting grade is refused.
    let (st, body) = ckan(
        &s,
        "datastore_create",
        Some(&owner_key),
        &json!({"resource_id": rid, "grade": "general", "records": people}),
    )
    .await;
    ckan_err(st, &body, 409, "Validation Error");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("catalog"),
        "{body}"
    );
    // A resource id that is no catalog resource is refused.
    let (st, body) = ckan(
        &s,
        "datastore_create",
        Some(&owner_key),
        &json!({"resource_id": "no-such-resource", "records": people}),
    )
    .await;
    ckan_err(st, &body, 409, "Validation Error");
    // An unknown parameter is named, not ignored.
    let (st, body) = ckan(
        &s,
        "datastore_search",
        Some(&owner_key),
        &json!({"resource_id": rid, "offsett": 1}),
    )
    .await;
    ckan_err(st, &body, 409, "Validation Error");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("offsett"),
        "{body}"
    );
    // The owner reads everything unmasked.
    let (st, body) = ckan(
        &s,
        "datastore_search",
        Some(&owner_key),
        &json!({"resource_id": rid, "sort": "age desc"}),
    )
    .await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(
        body["result"]["records"][0]["身份证号"],
        "11010519491231002X"
    );
    assert_eq!(body["result"]["total"], 3);
    // Others may not read it: anonymous, and department B without a grant.
    let (st, body) = ckan(&s, "datastore_search", None, &json!({"resource_id": rid})).await;
    ckan_err(st, &body, 403, "Authorization Error");
    let b_key = format!("Bearer {}", f.staff_b);
    let (st, body) = ckan(
        &s,
        "datastore_search",
        Some(&b_key),
        &json!({"resource_id": rid}),
    )
    .await;
    ckan_err(st, &body, 403, "Authorization Error");

    // The ID number goes on the catalog's negative list (the one list the datastore reads).
    let neg = "/api/v1/tenants/t1/catalog/negative-list";
    let (st, body) = s
        .post(
            neg,
            &f.admin,
            &json!({"dataset": "vehicle-owners", "field": "身份证号", "reason": "个人敏感信息"}),
        )
        .await
        .unwrap();
    assert_eq!(st, 201, "{body}");

    // Department B asks; a request for the negative-list field is refused.
    let exp = (chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339();
    let ask = |fields: Value| json!({"fields": fields, "row_filter": {"district": "甲区"}, "purpose": "核验车辆登记 vehicle check", "expires_at": exp, "quota_per_day": 4});
    let (st, body) = s
        .post(
            &format!("/api/v1/datastore/{rid}/share-requests"),
            &f.staff_b,
            &ask(json!(["姓名", "身份证号"])),
        )
        .await
        .unwrap();
    assert_eq!(st, 422, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("negative"),
        "{body}"
    );
    let (st, req) = s
        .post(
            &format!("/api/v1/datastore/{rid}/share-requests"),
            &f.staff_b,
            &ask(json!(["姓名", "手机", "车牌", "district", "age"])),
        )
        .await
        .unwrap();
    assert_eq!(st, 201, "{req}");
    assert_eq!(req["flow"], "data-share-important");
    assert_eq!(req["dataset"], "vehicle-owners");
    assert_eq!(req["dataset_id"], pkg["result"]["id"]);
    assert_eq!(req["state"], "pending");
    let req_id = req["id"].as_str().unwrap().to_string();
    let case_id = req["case_id"].as_str().unwrap().to_string();

    flow_role(&s, &f.admin, &owner_id, "DATA_OWNER", &f.dept_a).await;
    flow_role(&s, &f.admin, &sec_id, "DATA_SECURITY_OFFICER", &f.dept_a).await;
    // The approval shows in the owner's to-do inbox (待办).
    let (st, inbox) = s.get("/api/v1/tenants/t1/inbox", &owner).await.unwrap();
    assert_eq!(st, 200, "{inbox}");
    assert!(inbox.to_string().contains(&case_id), "{inbox}");
    // The requester cannot approve its own request; the owner approves, then the officer.
    let (st, _) = s
        .post(
            &format!("/api/v1/datastore/share-requests/{req_id}/decision"),
            &f.staff_b,
            &json!({"action": "APPROVE"}),
        )
        .await
        .unwrap();
    assert!(st == 403 || st == 404 || st == 409, "{st}");
    let (st, v) = s
        .post(
            &format!("/api/v1/datastore/share-requests/{req_id}/decision"),
            &owner,
            &json!({"action": "APPROVE"}),
        )
        .await
        .unwrap();
    assert_eq!((st, v["state"].as_str()), (200, Some("pending")), "{v}");
    let (st, body) = ckan(
        &s,
        "datastore_search",
        Some(&b_key),
        &json!({"resource_id": rid}),
    )
    .await;
    ckan_err(st, &body, 403, "Authorization Error");
    let (st, v) = s
        .post(
            &format!("/api/v1/datastore/share-requests/{req_id}/decision"),
            &sec,
            &json!({"action": "APPROVE"}),
        )
        .await
        .unwrap();
    assert_eq!((st, v["state"].as_str()), (200, Some("granted")), "{v}");
    assert!(v["grant_id"].is_string());

    // Department B reads: its rows only, masked, without the negative-list field.
    let (st, body) = ckan(
        &s,
        "datastore_search",
        Some(&b_key),
        &json!({"resource_id": rid, "sort": "age desc"}),
    )
    .await;
    assert_eq!(st, 200, "{body}");
    let recs = body["result"]["records"].as_array().unwrap();
    assert_eq!(recs.len(), 2, "{body}");
    assert_eq!(recs[0]["姓名"], "张**");
    assert_eq!(recs[0]["手机"], "138****5678");
    // 手机 and 车牌 carry no mask of their own: masked because the catalog flags them personal.
    assert_eq!(recs[0]["车牌"], "浙A***45");
    assert!(recs
        .iter()
        .all(|r| r["district"] == "甲区" && r.get("身份证号").is_none()));
    assert!(!body.to_string().contains("11010519491231002X"));
    // Filtering or searching on the hidden field is refused like an unknown field.
    let (st, body) = ckan(
        &s,
        "datastore_search",
        Some(&b_key),
        &json!({"resource_id": rid, "filters": {"身份证号": "11010519491231002X"}}),
    )
    .await;
    ckan_err(st, &body, 409, "Validation Error");
    // SQL: masked output; the hidden field, computing on masked fields, writes and PRAGMA refused.
    let sql = |q: String| json!({"sql": q});
    let (st, body) = ckan(
        &s,
        "datastore_search_sql",
        Some(&b_key),
        &sql(format!("SELECT * FROM \"{rid}\" ORDER BY age")),
    )
    .await;
    assert_eq!(st, 200, "{body}");
    let recs = body["result"]["records"].as_array().unwrap();
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[1]["姓名"], "张**");
    assert_eq!(recs[1]["手机"], "138****5678");
    assert!(
        !body.to_string().contains("11010519491231002X")
            && !body.to_string().contains("13812345678")
    );
    for bad in [
        format!("SELECT \"身份证号\" FROM \"{rid}\""),
        format!("SELECT substr(\"手机\", 1, 11) AS m FROM \"{rid}\""),
        format!("SELECT \"姓名\" FROM \"{rid}\" WHERE \"手机\" = '13812345678'"),
        format!("DELETE FROM \"{rid}\""),
        "PRAGMA table_info(x)".to_string(),
        "ATTACH DATABASE '/tmp/x.db' AS x".to_string(),
        format!("SELECT 1 FROM \"{rid}\"; SELECT 2 FROM \"{rid}\""),
        "SELECT * FROM sqlite_master".to_string(),
        "not sql at all".to_string(),
    ] {
        let (st, body) = ckan(&s, "datastore_search_sql", Some(&b_key), &sql(bad.clone())).await;
        ckan_err(st, &body, 409, "Validation Error");
        assert!(
            !body.to_string().contains("11010519491231002X"),
            "{bad}: {body}"
        );
    }
    // Quota: 4 successful calls a day (2 used); the fifth is refused.
    for _ in 0..2 {
        let (st, body) = ckan(
            &s,
            "datastore_search",
            Some(&b_key),
            &json!({"resource_id": rid}),
        )
        .await;
        assert_eq!(st, 200, "{body}");
    }
    let (st, body) = ckan(
        &s,
        "datastore_search",
        Some(&b_key),
        &json!({"resource_id": rid}),
    )
    .await;
    ckan_err(st, &body, 429, "Rate Limit Error");

    // Exchange statistics per day, dataset and department; audit records of each exchange.
    let (st, stats) = s
        .get("/api/v1/tenants/t1/exchange-stats", &f.admin)
        .await
        .unwrap();
    assert_eq!(st, 200, "{stats}");
    let row = stats
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["resource_id"] == rid && r["consumer_department"] == f.dept_b.as_str())
        .unwrap_or_else(|| panic!("{stats}"))
        .clone();
    assert_eq!(row["provider_department"], f.dept_a.as_str());
    assert!(row["calls"].as_i64().unwrap() >= 5, "{row}");
    assert!(row["denied"].as_i64().unwrap() >= 2, "{row}");
    let (st, audit) = s
        .get("/api/v1/tenants/t1/audit?limit=200", &f.admin)
        .await
        .unwrap();
    assert_eq!(st, 200, "{audit}");
    let a = audit.to_string();
    for action in [
        "datastore.create",
        "negative_list.add",
        "share.request",
        "share.grant",
        "datastore.exchange",
    ] {
        assert!(a.contains(action), "{action} missing from audit");
    }

    // The whole dataset goes on the negative list: the grant no longer reads (API, SQL),
    // no new request is accepted, and each refusal is an exchange record ("denied").
    let denied = |stats: &Value| {
        stats
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["resource_id"] == rid)
            .map(|r| r["denied"].as_i64().unwrap())
            .sum::<i64>()
    };
    let before = denied(&stats);
    let (st, body) = s
        .post(
            neg,
            &f.admin,
            &json!({"dataset": "vehicle-owners", "reason": "涉密 state secret"}),
        )
        .await
        .unwrap();
    assert_eq!(st, 201, "{body}");
    let (st, body) = ckan(
        &s,
        "datastore_search",
        Some(&b_key),
        &json!({"resource_id": rid}),
    )
    .await;
    ckan_err(st, &body, 403, "Authorization Error");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("negative"),
        "{body}"
    );
    let (st, body) = ckan(
        &s,
        "datastore_search_sql",
        Some(&b_key),
        &sql(format!("SELECT \"姓名\" FROM \"{rid}\"")),
    )
    .await;
    assert_eq!(st, 403, "{body}");
    assert!(!body.to_string().contains("张"), "{body}");
    let (st, body) = s
        .post(
            &format!("/api/v1/datastore/{rid}/share-requests"),
            &f.staff_b,
            &ask(json!(["district"])),
        )
        .await
        .unwrap();
    assert_eq!(st, 403, "{body}");
    let (_, stats) = s
        .get("/api/v1/tenants/t1/exchange-stats", &f.admin)
        .await
        .unwrap();
    assert_eq!(denied(&stats), before + 2, "{stats}");
}

/// A real CSV uploaded as a job with progress, typed, then read by anonymous callers when
/// open, through GET with JSON filters and aggregates.
#[tokio::test]
async fn upload_job_progress_and_open_data_reads() {
    let s = server().await;
    let f = fixture(&s).await;
    let (_, owner) = user(
        &s,
        &f.admin,
        "owner-a",
        &f.dept_a,
        "tenant_admin",
        &f.district_a,
    )
    .await;
    let csv = std::fs::read(
        onecity_testkit::repo_root()
            .join("../shared/data/air/PRSA_Data_Dongsi_20130301-20170228.csv"),
    )
    .unwrap();
    // Tables belong to catalog resources: an id that is none is refused at once.
    let r = s
        .http
        .post(format!(
            "{}/api/v1/datastore/air-dongsi/upload?format=csv&public=true",
            s.url
        ))
        .bearer_auth(&owner)
        .body(csv.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let e: Value = r.json().await.unwrap();
    assert!(e["detail"].as_str().unwrap().contains("catalog"), "{e}");
    let (_, pkg) = ckan(&s, "package_create", Some(&format!("Bearer {}", f.admin)), &json!({
        "name": "beijing-air-dongsi", "title": "北京东四空气质量 Beijing air quality (Dongsi)", "owner_org": f.dept_a,
        "domain": "S", "grade": "general", "open_level": "unconditional", "update_frequency": "never",
        "resources": [{"url": "https://archive.ics.uci.edu/dataset/501", "format": "csv", "name": "Dongsi 2013-2017"}]
    })).await;
    assert_eq!(pkg["success"], true, "{pkg}");
    let air = pkg["result"]["resources"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = s
        .http
        .post(format!(
            "{}/api/v1/datastore/{air}/upload?format=csv&public=true",
            s.url
        ))
        .bearer_auth(&owner)
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let job: Value = r.json().await.unwrap();
    let id = job["id"].as_str().unwrap().to_string();
    let mut last = job;
    for _ in 0..600 {
        let (st, j) = s
            .get(&format!("/api/v1/datastore/jobs/{id}"), &owner)
            .await
            .unwrap();
        assert_eq!(st, 200, "{j}");
        last = j;
        if last["state"] == "done" || last["state"] == "failed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(last["state"], "done", "{last}");
    assert_eq!(
        (last["rows_total"].as_i64(), last["rows_done"].as_i64()),
        (Some(35064), Some(35064))
    );
    assert_eq!(last["encoding"], "UTF-8");
    // Open data: anonymous GET, filters as JSON text (CKAN style), aggregates.
    let get = |q: String| {
        let url = format!("{}/api/3/action/{q}", s.url);
        let http = s.http.clone();
        async move {
            let r = http.get(url).send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (st, body) = get(format!("datastore_info?resource_id={air}")).await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["result"]["meta"]["count"], 35064);
    let types: Vec<(String, String)> = body["result"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["id"].as_str().unwrap().into(),
                f["type"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(
        types.contains(&("PM2.5".into(), "numeric".into()))
            && types.contains(&("year".into(), "int".into())),
        "{types:?}"
    );
    let (st, body) = get(format!("datastore_search?resource_id={air}&filters=%7B%22year%22%3A2013%2C%22month%22%3A3%2C%22day%22%3A1%2C%22hour%22%3A0%7D")).await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["result"]["total"], 1);
    assert_eq!(body["result"]["records"][0]["PM2.5"], 9.0);
    let (st, body) = ckan(&s, "datastore_search", None, &json!({"resource_id": air, "group_by": ["year"], "aggregates": [{"func": "count"}, {"func": "avg", "field": "PM2.5"}]})).await;
    assert_eq!(st, 200, "{body}");
    let recs = body["result"]["records"].as_array().unwrap();
    assert_eq!(recs.len(), 5);
    assert_eq!(
        recs.iter()
            .map(|r| r["count"].as_i64().unwrap())
            .sum::<i64>(),
        35064
    );
    let (st, body) = ckan(&s, "datastore_search_sql", None, &json!({"sql": format!("SELECT \"station\", count(*) AS n FROM \"{air}\" GROUP BY \"station\"")})).await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["result"]["records"][0]["n"], 35064);
    // The CSV dump (CKAN's /datastore/dump) of the open table: every row, header first.
    let r = s
        .http
        .get(format!("{}/datastore/dump/{air}", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = r.text().await.unwrap();
    let mut lines = text.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("No,year,month,day,hour,PM2.5"),
        "{}",
        &text[..200]
    );
    assert!(
        lines.next().unwrap().starts_with("1,2013,3,1,0,9"),
        "{}",
        &text[..300]
    );
    assert_eq!(text.lines().count(), 35065);
    // Writing needs datastore:write.
    let (st, body) = ckan(
        &s,
        "datastore_delete",
        Some(&format!("Bearer {}", f.staff_b)),
        &json!({"resource_id": air}),
    )
    .await;
    ckan_err(st, &body, 403, "Authorization Error");
    let (st, body) = ckan(
        &s,
        "datastore_search",
        None,
        &json!({"resource_id": "nope"}),
    )
    .await;
    ckan_err(st, &body, 404, "Not Found Error");
}

/// Eight writers upsert 40 distinct keys at once and all 40 succeed; then the same key from
/// eight writers at once ends as one row holding one of the writes, as CKAN's upsert does.
/// Row ids come from the database (rowid / identity), never `MAX(_id) + 1`, which made 12
/// of 40 parallel upserts fail with a false "same key" conflict on PostgreSQL.
#[tokio::test]
async fn parallel_upserts_of_distinct_keys_all_succeed() {
    let s = server().await;
    let f = fixture(&s).await;
    let admin = format!("Bearer {}", f.admin);
    // NYC 311 complaint types (requests311/311_nyc_sample.csv) keyed by their unique key.
    let (_, pkg) = ckan(&s, "package_create", Some(&admin), &json!({
        "name": "nyc-311-feed", "title": "311 service requests", "owner_org": f.dept_a,
        "resources": [{"url": "https://data.example.org/311.csv", "format": "csv", "name": "feed"}]
    }))
    .await;
    assert_eq!(pkg["success"], true, "{pkg}");
    let rid = pkg["result"]["resources"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (st, body) = ckan(&s, "datastore_create", Some(&admin), &json!({
        "resource_id": rid, "primary_key": "unique_key", "tenant": "t1",
        "fields": [{"id": "unique_key", "type": "int"}, {"id": "complaint_type", "type": "text"}, {"id": "writer", "type": "int"}]
    }))
    .await;
    assert_eq!(st, 200, "{body}");
    let types = [
        "Noise - Residential",
        "Illegal Parking",
        "Blocked Driveway",
        "HEAT/HOT WATER",
        "Street Condition",
    ];
    let upsert = |records: Value| {
        let (s, admin, rid) = (&s, admin.clone(), rid.clone());
        async move {
            ckan(
                s,
                "datastore_upsert",
                Some(&admin),
                &json!({"resource_id": rid, "method": "upsert", "records": records}),
            )
            .await
        }
    };
    let calls = (0..8).map(|w: i64| {
        let recs: Vec<Value> = (0..5)
            .map(|i| json!({"unique_key": 45_531_000 + w * 5 + i, "complaint_type": types[i as usize], "writer": w}))
            .collect();
        upsert(Value::Array(recs))
    });
    let results = futures::future::join_all(calls).await;
    for (st, body) in &results {
        assert_eq!(*st, 200, "{body}");
        assert_eq!(body["success"], true, "{body}");
    }
    let (_, found) = ckan(
        &s,
        "datastore_search",
        Some(&admin),
        &json!({"resource_id": rid, "limit": 100, "sort": "unique_key"}),
    )
    .await;
    assert_eq!(found["result"]["total"], 40, "{found}");
    assert_eq!(found["result"]["records"][0]["unique_key"], 45_531_000);
    assert_eq!(found["result"]["records"][39]["unique_key"], 45_531_039);
    assert_eq!(
        found["result"]["records"][39]["complaint_type"],
        "Street Condition"
    );

    // One key, eight writers at once: one row, holding one writer's value.
    let same = (0..8).map(|w: i64| {
        upsert(json!([{"unique_key": 45_531_000, "complaint_type": "Noise - Commercial", "writer": 100 + w}]))
    });
    for (st, body) in futures::future::join_all(same).await {
        assert_eq!(st, 200, "{body}");
    }
    let (_, one) = ckan(
        &s,
        "datastore_search",
        Some(&admin),
        &json!({"resource_id": rid, "filters": {"unique_key": 45_531_000}}),
    )
    .await;
    assert_eq!(one["result"]["total"], 1, "{one}");
    let rec = &one["result"]["records"][0];
    assert_eq!(rec["complaint_type"], "Noise - Commercial");
    let writer = rec["writer"].as_i64().unwrap();
    assert!((100..108).contains(&writer), "{rec}");
}

/// A read-only SQL query naming a column that does not exist fails in our own words: the
/// column is named, the engine and its driver are not (issue 12: "no such column" used to
/// arrive as "error returned from database: (code: 1) …").
#[tokio::test]
async fn sql_errors_name_the_column_not_the_engine() {
    let s = server().await;
    let f = fixture(&s).await;
    let admin = format!("Bearer {}", f.admin);
    let (_, pkg) = ckan(&s, "package_create", Some(&admin), &json!({
        "name": "beijing-air", "title": "北京空气质量 Beijing air quality", "owner_org": f.dept_a,
        "resources": [{"url": "https://data.example.cn/air.csv", "format": "csv", "name": "Dongsi"}]
    }))
    .await;
    let rid = pkg["result"]["resources"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Dongsi, 2013-03-01 00:00 and 01:00 (air/PRSA_Data_Dongsi_20130301-20170228.csv).
    let (st, body) = ckan(&s, "datastore_create", Some(&admin), &json!({
        "resource_id": rid, "tenant": "t1",
        "records": [{"hour": 0, "PM2.5": 9.0, "station": "Dongsi"}, {"hour": 1, "PM2.5": 4.0, "station": "Dongsi"}]
    }))
    .await;
    assert_eq!(st, 200, "{body}");
    let (st, body) = ckan(
        &s,
        "datastore_search_sql",
        Some(&admin),
        &json!({"sql": format!("SELECT pm25 FROM \"{rid}\"")}),
    )
    .await;
    assert_eq!(st, 409, "{body}");
    let msg = body["error"]["message"].as_str().unwrap();
    assert!(msg.contains("unknown column \"pm25\""), "{msg}");
    let (st, body) = ckan(
        &s,
        "datastore_search_sql",
        Some(&admin),
        &json!({"sql": format!("SELECT \"PM2.5\" FROM \"{rid}\" ORDER BY hour")}),
    )
    .await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["result"]["records"][0]["PM2.5"], 9.0);
}
