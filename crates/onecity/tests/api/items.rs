//! Service items (事项) and guides (办事指南), issue 14: the catalog data names every law
//! and article; create, edit (a version per edit), publish, withdraw with history and audit;
//! every validation problem listed; public reads without login, edits only with
//! `service_admin` over the department; the guide of 出生医学证明 in Chinese and English with
//! its time limit counted over the 2025 National Day holidays.

use crate::{assert_problem, fixture, server, server_with, Fixture};
use onecity_testkit::{Options, TestServer};
use serde_json::{json, Value};
use std::path::PathBuf;

fn items_dir() -> PathBuf {
    onecity_testkit::repo_root().join("crates/onecity-services/items")
}

/// Every data file: (department code, items).
fn data_files() -> Vec<(String, Vec<Value>)> {
    let mut out = Vec::new();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(items_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    for p in paths {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        let code = v["department"]["code"].as_str().unwrap().to_string();
        out.push((code, v["items"].as_array().unwrap().clone()));
    }
    out
}

/// The item `code` of the data files as an API body (with its department code).
fn data_item(code: &str) -> Value {
    for (dept, items) in data_files() {
        for it in items {
            if it["code"] == code {
                let mut it = it.clone();
                it["department_code"] = json!(dept);
                return it;
            }
        }
    }
    panic!("no item {code} in the data files")
}

/// `《…》` with something inside.
fn names_law(s: &str) -> bool {
    match (s.find('《'), s.find('》')) {
        (Some(a), Some(b)) => b > a + '《'.len_utf8(),
        _ => false,
    }
}

/// `第…条` with a Chinese numeral inside.
fn names_article(s: &str) -> bool {
    let inner = s
        .strip_prefix('第')
        .and_then(|r| r.strip_suffix('条'))
        .unwrap_or("");
    !inner.is_empty()
        && inner
            .chars()
            .all(|c| "零一二三四五六七八九十百千".contains(c))
}

#[test]
fn every_catalog_item_names_its_law_and_article() {
    let files = data_files();
    let mut items = 0;
    for (dept, list) in &files {
        for it in list {
            items += 1;
            let code = it["code"].as_str().unwrap();
            let basis = it["legal_basis"].as_array().unwrap();
            assert!(
                basis
                    .iter()
                    .any(|b| names_law(b["law"]["zh"].as_str().unwrap())
                        && names_article(b["article"]["zh"].as_str().unwrap())),
                "{dept} {code}: no law in 《》 with an article 第…条"
            );
            for b in basis {
                assert!(names_law(b["law"]["zh"].as_str().unwrap()), "{code}");
                assert!(b["law"]["en"].as_str().unwrap().len() > 5, "{code}");
                assert!(
                    b["article"]["en"].as_str().unwrap().starts_with(['A', 'P']),
                    "{code}"
                );
            }
            for k in ["zh", "en"] {
                assert!(
                    !it["name"][k].as_str().unwrap().trim().is_empty(),
                    "{code} name.{k}"
                );
            }
        }
    }
    assert!(files.len() >= 8, "{} departments", files.len());
    assert!(items >= 40, "{items} items");
    // The items of the second services issue's three bundles (新生儿出生, 入学, 购房资质证明).
    let names: Vec<String> = files
        .iter()
        .flat_map(|(_, l)| {
            l.iter()
                .map(|i| i["name"]["zh"].as_str().unwrap().to_string())
        })
        .collect();
    for want in [
        "出生医学证明首次签发",
        "户口登记（出生登记）",
        "城乡居民基本医疗保险参保登记",
        "社会保障卡申领",
        "预防接种证办理",
        "义务教育阶段小学一年级新生入学",
        "入托、入学预防接种证查验",
        "居住证申领",
        "不动产登记资料查询（家庭住房情况查询）",
        "个人社会保险参保缴费证明打印",
        "购房资格核验（购房资质证明）",
        "开具税收完税证明（纳税证明）",
    ] {
        assert!(names.iter().any(|n| n == want), "missing {want}");
    }
    // Real bases of the examples the issue names.
    let birth = data_item("330100-20-WJW-001-000");
    assert_eq!(
        birth["legal_basis"][0]["law"]["zh"],
        "《中华人民共和国母婴保健法》"
    );
    assert_eq!(birth["legal_basis"][0]["article"]["zh"], "第二十三条");
    let hukou = data_item("330100-07-GAJ-001-000");
    assert_eq!(hukou["legal_basis"][0]["article"]["zh"], "第七条");
    let marriage = data_item("330100-07-MZJ-001-000");
    assert_eq!(
        marriage["legal_basis"][0]["law"]["zh"],
        "《中华人民共和国民法典》"
    );
    assert_eq!(
        marriage["legal_basis"][0]["article"]["zh"],
        "第一千零四十九条"
    );
}

/// A tenant `t1` item of department A (`A-CG`, district 990101).
fn t1_item(name_zh: &str) -> Value {
    json!({
        "code": "990100-20-CG-001-000",
        "department_code": "A-CG",
        "name": {"zh": name_zh, "en": "Street-stall permit test item"},
        "type": "public_service",
        "level": "district",
        "targets": ["citizen"],
        "life_events": ["business"],
        "legal_basis": [{"law": {"zh": "《城市市容和环境卫生管理条例》", "en": "Regulations on the Administration of City Appearance and Environmental Sanitation"},
                         "article": {"zh": "第十四条", "en": "Article 14"}}],
        "conditions": [{"zh": "在本区经营", "en": "trades in the district"}],
        "materials": [{"name": {"zh": "居民身份证", "en": "identity card"}, "form": "original", "copies": 1, "note": null,
                       "held_by_government": {"kind": "dataset", "name": "synthetic-register-persons",
                                              "title": {"zh": "人口库", "en": "population register"}}}],
        "fees": [],
        "time_limits": {"legal_days": 20, "promised_days": 5, "note": null},
        "channels": ["online", "counter"],
        "nearby": true,
        "other_place": false,
        "steps": [{"zh": "申请", "en": "apply"}, {"zh": "审核", "en": "review"}],
        "where": [{"name": {"zh": "甲区政务服务中心", "en": "District A service centre"},
                   "address": {"zh": "甲区某路1号", "en": "1 A Road"}, "hours": {"zh": "工作日", "en": "working days"}}],
        "assurance": "substantial"
    })
}

const ITEMS: &str = "/api/v1/tenants/t1/services/items";

async fn anon_get(s: &TestServer, path: &str) -> (u16, Value) {
    let r = s.http.get(format!("{}{path}", s.url)).send().await.unwrap();
    let st = r.status().as_u16();
    let text = r.text().await.unwrap();
    if st >= 400 {
        onecity_testkit::assert_no_internals(&text);
    }
    (st, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn put(s: &TestServer, path: &str, cred: &str, body: &Value) -> (u16, Value) {
    let r = s
        .http
        .put(format!("{}{path}", s.url))
        .bearer_auth(cred)
        .json(body)
        .send()
        .await
        .unwrap();
    let st = r.status().as_u16();
    (st, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn an_item_is_versioned_published_withdrawn_with_history_and_audit() {
    let s = server().await;
    let f: Fixture = fixture(&s).await;
    let (st, v1) = s
        .post(ITEMS, &f.admin, &t1_item("摊位许可（测试）"))
        .await
        .unwrap();
    assert_eq!(st, 201, "{v1}");
    assert_eq!(v1["version"], 1);
    assert_eq!(v1["state"], "draft");
    assert_eq!(v1["published_version"], Value::Null);
    assert_eq!(v1["department"]["code"], "A-CG");
    assert_eq!(v1["department"]["id"], f.dept_a.as_str());
    let item = format!("{ITEMS}/990100-20-CG-001-000");
    // A draft is nobody's business but the editors'.
    assert_eq!(anon_get(&s, &item).await.0, 404);
    let (st, again) = s.post(ITEMS, &f.admin, &t1_item("重复")).await.unwrap();
    assert_problem(st, &again, 409, "conflict");

    let (st, p1) = s
        .post(&format!("{item}/publish"), &f.admin, &json!({}))
        .await
        .unwrap();
    assert_eq!(st, 200, "{p1}");
    assert_eq!(
        (p1["state"].as_str(), p1["published_version"].as_i64()),
        (Some("published"), Some(1))
    );
    let (st, public) = anon_get(&s, &item).await;
    assert_eq!(st, 200);
    assert_eq!(public["name"]["zh"], "摊位许可（测试）");
    assert!(public["published_at"].is_string());

    // An edit is a new version; the public keeps seeing version 1 until it is published.
    let (st, v2) = put(
        &s,
        &format!("{item}?base_version=1"),
        &f.admin,
        &t1_item("临时摊位许可（测试）"),
    )
    .await;
    assert_eq!(st, 200, "{v2}");
    assert_eq!(
        (v2["version"].as_i64(), v2["latest_version"].as_i64()),
        (Some(2), Some(2))
    );
    assert_eq!(v2["published_version"], 1);
    assert_eq!(
        anon_get(&s, &item).await.1["name"]["zh"],
        "摊位许可（测试）"
    );
    assert_eq!(anon_get(&s, &format!("{item}?version=latest")).await.0, 404);
    assert_eq!(anon_get(&s, &format!("{item}?version=2")).await.0, 404);
    let (_, latest) = s
        .get(&format!("{item}?version=latest"), &f.admin)
        .await
        .unwrap();
    assert_eq!(latest["name"]["zh"], "临时摊位许可（测试）");
    // A stale base version is refused, nothing written.
    let (st, stale) = put(
        &s,
        &format!("{item}?base_version=1"),
        &f.admin,
        &t1_item("x"),
    )
    .await;
    assert_problem(st, &stale, 409, "conflict");

    s.post(&format!("{item}/publish"), &f.admin, &json!({"version": 2}))
        .await
        .unwrap();
    assert_eq!(
        anon_get(&s, &item).await.1["name"]["zh"],
        "临时摊位许可（测试）"
    );
    // The first version stays readable: a guide printed from it can be checked.
    assert_eq!(
        anon_get(&s, &format!("{item}?version=1")).await.1["name"]["zh"],
        "摊位许可（测试）"
    );

    let (_, hist) = s.get(&format!("{item}/history"), &f.admin).await.unwrap();
    let hist = hist.as_array().unwrap();
    assert_eq!(hist.len(), 2);
    assert_eq!(
        (
            hist[0]["version"].as_i64(),
            hist[0]["change"].as_str(),
            hist[0]["current"].as_bool()
        ),
        (Some(2), Some("update"), Some(true))
    );
    assert_eq!(
        (
            hist[1]["version"].as_i64(),
            hist[1]["change"].as_str(),
            hist[1]["current"].as_bool()
        ),
        (Some(1), Some("create"), Some(false))
    );
    assert!(hist[1]["published_at"].is_string());

    let (_, list) = anon_get(&s, &format!("{ITEMS}?life_event=business")).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["version"], 2);
    let (_, none) = anon_get(&s, &format!("{ITEMS}?life_event=birth")).await;
    assert!(none["items"].as_array().unwrap().is_empty());
    let (_, by_text) = anon_get(&s, &format!("{ITEMS}?q=STREET-STALL")).await;
    assert_eq!(by_text["items"][0]["code"], "990100-20-CG-001-000");
    let (_, by_dept) = anon_get(&s, &format!("{ITEMS}?department=B-CG")).await;
    assert!(by_dept["items"].as_array().unwrap().is_empty());

    let (st, w) = s
        .post(&format!("{item}/withdraw"), &f.admin, &json!({}))
        .await
        .unwrap();
    assert_eq!((st, w["state"].as_str()), (200, Some("withdrawn")));
    assert_eq!(anon_get(&s, &item).await.0, 404);
    assert_eq!(anon_get(&s, &format!("{item}/history")).await.0, 404);
    let (st, twice) = s
        .post(&format!("{item}/withdraw"), &f.admin, &json!({}))
        .await
        .unwrap();
    assert_problem(st, &twice, 409, "conflict");

    // Every change in the audit trail, with what changed.
    let (_, audit) = s
        .get(
            "/api/v1/tenants/t1/audit?resource_type=service_item&limit=50",
            &f.admin,
        )
        .await
        .unwrap();
    let actions: Vec<(&str, &str)> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["action"].as_str().unwrap(), r["detail"].as_str().unwrap()))
        .collect();
    assert_eq!(
        actions,
        [
            ("service_item.create", "version 1"),
            ("service_item.publish", "version 1"),
            ("service_item.update", "version 2"),
            ("service_item.publish", "version 2"),
            ("service_item.withdraw", "version 2"),
        ]
    );
    assert!(audit["items"][2]["before_digest"].is_string());
}

#[tokio::test]
async fn a_bad_item_gets_every_problem_listed() {
    let s = server().await;
    let f = fixture(&s).await;
    let mut bad = t1_item("坏事项");
    bad["code"] = json!("990100-01-XX-001-000");
    bad["department_code"] = json!("NO-SUCH");
    bad["name"] = json!({"zh": "坏事项"});
    bad["level"] = json!("county");
    bad["legal_basis"][0]["law"]["zh"] = json!("城市市容条例");
    bad["legal_basis"][0]["article"]["zh"] = json!("Art. 14");
    bad["materials"][0]["held_by_government"] =
        json!({"kind": "rumour", "name": "x", "title": {"zh": "x", "en": "x"}});
    bad["time_limits"] = json!({"legal_days": 3, "promised_days": 5, "note": null});
    bad.as_object_mut().unwrap().remove("steps");
    let (st, p) = s.post(ITEMS, &f.admin, &bad).await.unwrap();
    assert_problem(st, &p, 422, "invalid_input");
    let pointers: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pointer"].as_str().unwrap())
        .collect();
    assert_eq!(
        pointers,
        [
            "/name/en",
            "/level",
            "/code",
            "/code",
            "/legal_basis/0/law/zh",
            "/legal_basis/0/article/zh",
            "/steps",
            "/materials/0/held_by_government/kind",
            "/time_limits/promised_days",
            "/department_code",
        ],
        "{p}"
    );
    for e in p["errors"].as_array().unwrap() {
        assert!(
            !e["message"].as_str().unwrap().is_empty()
                && !e["message_zh"].as_str().unwrap().is_empty()
        );
    }
    assert_eq!(p["detail"], "the service item has 10 problem(s)");
    // Nothing was written.
    let (_, list) = s
        .get(&format!("{ITEMS}?drafts=true"), &f.admin)
        .await
        .unwrap();
    assert!(list["items"].as_array().unwrap().is_empty());
    // Not JSON at all is a malformed body; an unknown filter value a bad query.
    let r = s
        .http
        .post(format!("{}{ITEMS}", s.url))
        .bearer_auth(&f.admin)
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let (st, q) = anon_get(&s, &format!("{ITEMS}?life_event=holiday")).await;
    assert_problem(st, &q, 400, "invalid_query");
}

#[tokio::test]
async fn reads_are_public_and_edits_need_service_admin_over_the_department() {
    let s = server().await;
    let f = fixture(&s).await;
    // An editor of district A (tenant_admin there holds service_admin) and plain staff.
    let (st, u) = s
        .post(
            "/api/v1/tenants/t1/users",
            &f.admin,
            &json!({"username": "editor-a", "display_name": "editor-a",
            "password": "Passw0rd-E-123", "department_id": f.dept_a,
            "roles": [{"role": "tenant_admin", "jurisdiction_id": f.district_a}]}),
        )
        .await
        .unwrap();
    assert_eq!(st, 201, "{u}");
    let editor_a = s.login("editor-a", "Passw0rd-E-123").await.unwrap();

    // No credential: 401; staff without service_admin: 403.
    let r = s
        .http
        .post(format!("{}{ITEMS}", s.url))
        .json(&t1_item("x"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let (st, p) = s.post(ITEMS, &f.staff_a, &t1_item("x")).await.unwrap();
    assert_problem(st, &p, 403, "forbidden");
    // The editor of district A may not write department B's items.
    let mut b_item = t1_item("乙区事项");
    b_item["code"] = json!("990100-20-CG-002-000");
    b_item["department_code"] = json!("B-CG");
    let (st, p) = s.post(ITEMS, &editor_a, &b_item).await.unwrap();
    assert_problem(st, &p, 403, "forbidden");
    let (st, created) = s
        .post(ITEMS, &editor_a, &t1_item("甲区事项"))
        .await
        .unwrap();
    assert_eq!(st, 201, "{created}");
    let (st, _) = s.post(ITEMS, &f.admin, &b_item).await.unwrap();
    assert_eq!(st, 201);
    // B's draft is invisible to A's editor; publishing it is not theirs to do.
    let b_path = format!("{ITEMS}/990100-20-CG-002-000");
    assert_eq!(s.get(&b_path, &editor_a).await.unwrap().0, 404);
    let (st, p) = s
        .post(&format!("{b_path}/publish"), &editor_a, &json!({}))
        .await
        .unwrap();
    assert_problem(st, &p, 404, "not_found");
    let (st, p) = s
        .post(&format!("{b_path}/publish"), &f.staff_a, &json!({}))
        .await
        .unwrap();
    assert_problem(st, &p, 403, "forbidden");
    // Staff cannot list drafts.
    let (st, p) = s
        .get(&format!("{ITEMS}?drafts=true"), &f.staff_a)
        .await
        .unwrap();
    assert_problem(st, &p, 403, "forbidden");

    let (st, _) = s
        .post(
            &format!("{ITEMS}/990100-20-CG-001-000/publish"),
            &editor_a,
            &json!({}),
        )
        .await
        .unwrap();
    assert_eq!(st, 200);
    // Published: anyone reads it, the list and its guide; a bad credential is not anonymous.
    let (st, it) = anon_get(&s, &format!("{ITEMS}/990100-20-CG-001-000")).await;
    assert_eq!((st, it["name"]["zh"].as_str()), (200, Some("甲区事项")));
    let (_, list) = anon_get(&s, ITEMS).await;
    let codes: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["990100-20-CG-001-000"]);
    let (st, g) = anon_get(&s, &format!("{ITEMS}/990100-20-CG-001-000/guide?lang=en")).await;
    assert_eq!(
        (st, g["title"].as_str()),
        (200, Some("Street-stall permit test item"))
    );
    let (st, _) = s
        .get(&format!("{ITEMS}/990100-20-CG-001-000"), "not-a-token")
        .await
        .unwrap();
    assert_eq!(st, 401);
    let (_, tenants) = anon_get(&s, "/api/v1/services/tenants").await;
    assert_eq!(
        tenants,
        json!([{"code": "t1", "name": {"zh": "测试市", "en": "Test City"}, "items": 1}])
    );
}

/// A tenant with the real Hangzhou code and the health commission, holding the 出生医学证明
/// item of the catalog data, published.
async fn hangzhou_with_birth_certificate(s: &TestServer) -> String {
    let admin = s.admin_token().await.unwrap();
    let (st, t) = s
        .post(
            "/api/v1/tenants",
            &admin,
            &json!({"code": "hz", "name": "杭州市", "name_en": "Hangzhou", "root_code": "330100"}),
        )
        .await
        .unwrap();
    assert_eq!(st, 201, "{t}");
    let (st, d) = s
        .post("/api/v1/tenants/hz/departments", &admin, &json!({"jurisdiction_id": t["root_jurisdiction_id"],
            "code": "HZ-WJW", "name": "杭州市卫生健康委员会", "name_en": "Hangzhou Municipal Health Commission"}))
        .await
        .unwrap();
    assert_eq!(st, 201, "{d}");
    let (st, it) = s
        .post(
            "/api/v1/tenants/hz/services/items",
            &admin,
            &data_item("330100-20-WJW-001-000"),
        )
        .await
        .unwrap();
    assert_eq!(st, 201, "{it}");
    let (st, _) = s
        .post(
            "/api/v1/tenants/hz/services/items/330100-20-WJW-001-000/publish",
            &admin,
            &json!({}),
        )
        .await
        .unwrap();
    assert_eq!(st, 200);
    admin
}

#[tokio::test]
async fn the_birth_certificate_guide_in_chinese_and_english() {
    let s = server().await;
    hangzhou_with_birth_certificate(&s).await;
    let base = "/api/v1/tenants/hz/services/items/330100-20-WJW-001-000/guide";
    // Applied on Monday 29 September 2025: 1–8 October are the National Day and Mid-Autumn
    // holidays (国办发明电〔2024〕12号), so 3 working days end on Friday 10 October.
    let (st, zh) = anon_get(&s, &format!("{base}?lang=zh&applied_on=2025-09-29")).await;
    assert_eq!(st, 200, "{zh}");
    assert_eq!(zh["title"], "出生医学证明首次签发");
    assert_eq!(
        zh["title_other"],
        "Medical Certificate of Birth (first issue)"
    );
    assert_eq!(zh["version"], 1);
    assert_eq!(zh["version_note"], "本指南根据事项第 1 版生成");
    assert_eq!(zh["department"], "杭州市卫生健康委员会");
    assert_eq!(zh["item_type"], "公共服务");
    assert_eq!(
        zh["legal_basis"],
        json!(["《中华人民共和国母婴保健法》第二十三条"])
    );
    assert_eq!(zh["time_limits"]["promised_due_on"], "2025-10-10");
    assert_eq!(
        zh["time_limits"]["promised_text"],
        "承诺时限 3 个工作日：2025年9月29日（星期一）申请，最迟于2025年10月10日（星期五）办结"
    );
    assert_eq!(
        zh["time_limits"]["legal_text"],
        "法律未规定以工作日计的办结时限"
    );
    assert_eq!(zh["time_limits"]["calendar_covers"], true);
    assert_eq!(zh["time_limits"]["time_zone"], "Asia/Shanghai");
    assert_eq!(
        (
            zh["materials_to_submit"].as_u64(),
            zh["materials_held"].as_u64()
        ),
        (Some(2), Some(1))
    );
    assert_eq!(zh["materials"][0]["name"], "父母双方居民身份证");
    assert_eq!(zh["materials"][0]["held_by_government"], true);
    assert_eq!(
        zh["materials"][0]["mark"],
        "无需提交（免提交）：政府已掌握，由人口基础信息库（合成人口库）提供"
    );
    assert_eq!(zh["materials"][1]["mark"], "需提交");
    assert_eq!(zh["fees"]["text"], "不收费");
    assert_eq!(zh["channels"], json!(["网上办", "窗口办", "掌上办"]));
    assert_eq!(
        zh["where_to_go"][0]["name"],
        "新生儿出生的助产机构（出生医学证明签发点）"
    );
    assert_eq!(zh["assurance"]["text"], "网上申请须完成实名认证");
    assert_eq!(zh["steps"].as_array().unwrap().len(), 3);

    let (st, en) = anon_get(&s, &format!("{base}?lang=en&applied_on=2025-09-29")).await;
    assert_eq!(st, 200);
    assert_eq!(en["title"], "Medical Certificate of Birth (first issue)");
    assert_eq!(
        en["version_note"],
        "This guide is made from version 1 of the item"
    );
    assert_eq!(en["department"], "Hangzhou Municipal Health Commission");
    assert_eq!(
        en["legal_basis"],
        json!([
            "Law of the People's Republic of China on Maternal and Infant Health Care, Article 23"
        ])
    );
    assert_eq!(
        en["time_limits"]["promised_text"],
        "Promised time limit 3 working days: applied Monday 29 September 2025, answer by Friday 10 October 2025"
    );
    assert_eq!(en["materials"][0]["mark"], "No need to submit: the government holds it (population register (synthetic register of persons))");
    assert_eq!(en["fees"]["text"], "Free of charge");
    assert_eq!(
        en["conditions"][0],
        "the child was born in a licensed midwifery institution in the city"
    );

    let (st, p) = anon_get(&s, &format!("{base}?lang=fr")).await;
    assert_problem(st, &p, 400, "invalid_query");
    let (st, p) = anon_get(&s, &format!("{base}?applied_on=29.09.2025")).await;
    assert_problem(st, &p, 400, "invalid_query");
}

#[tokio::test]
async fn the_demo_loads_the_catalog_once() {
    let mut s = server_with(Options {
        demo: true,
        ..Default::default()
    })
    .await;
    let total: usize = data_files().iter().map(|(_, l)| l.len()).sum();
    let (_, browse) = anon_get(&s, "/api/v1/tenants/hangzhou/services/browse").await;
    assert_eq!(browse["items"].as_u64(), Some(total as u64));
    assert_eq!(
        browse["departments"].as_array().unwrap().len(),
        data_files().len()
    );
    let birth = browse["life_events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == "birth")
        .unwrap();
    assert_eq!(birth["name"]["zh"], "出生");
    // The public security bureau existed before; the others were created by the demo.
    let admin = s.admin_token().await.unwrap();
    let (_, depts) = s
        .get("/api/v1/tenants/hangzhou/departments?limit=100", &admin)
        .await
        .unwrap();
    let codes: Vec<&str> = depts["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes.iter().filter(|c| **c == "HZ-GAJ").count(), 1);
    assert!(codes.contains(&"HZ-WJW") && codes.contains(&"HZ-YBJ"));
    s.restart(&[]).await.unwrap();
    let (_, hist) = anon_get(
        &s,
        "/api/v1/tenants/hangzhou/services/items/330100-07-GAJ-001-000/history",
    )
    .await;
    assert_eq!(
        hist.as_array().unwrap().len(),
        1,
        "a second start writes no new version: {hist}"
    );
}
