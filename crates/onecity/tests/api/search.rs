//! The assistant (智能客服) and the hall's item search over HTTP (issue 14): anonymous
//! questions on the demo's published guides in Chinese and English, the 12345 hand-off,
//! tenants, bad input and the platform limiter.

use crate::{assert_problem, server, server_with};
use onecity_testkit::{Options, TestServer};
use serde_json::{json, Value};

async fn anon_post(s: &TestServer, path: &str, body: &Value) -> (u16, Value) {
    let r = s
        .http
        .post(format!("{}{path}", s.url))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn anon_get(s: &TestServer, path: &str) -> (u16, Value) {
    let r = s.http.get(format!("{}{path}", s.url)).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

const ASK: &str = "/api/v1/tenants/hangzhou/services/assistant";

#[tokio::test]
async fn assistant_answers_from_published_guides_or_hands_off_to_12345() {
    let s = server_with(Options {
        demo: true,
        ..Default::default()
    })
    .await;
    let (st, r) = anon_post(&s, ASK, &json!({"question": "怎么给宝宝办出生证明"})).await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["found"], true);
    assert_eq!(r["lang"], "zh");
    let first = &r["answers"][0];
    assert_eq!(first["code"], "330100-20-WJW-001-000");
    assert_eq!(first["title"], "出生医学证明首次签发");
    assert_eq!(first["department"], "杭州市卫生健康委员会");
    assert!(first["link"]
        .as_str()
        .unwrap()
        .starts_with("/hall/items/330100-20-WJW-001-000#"));
    assert!(r["handoff"].is_null());

    // The section a question asks for, and the text as the guide has it.
    let (_, r) = anon_post(
        &s,
        ASK,
        &json!({"question": "出生医学证明要带什么材料", "lang": "zh"}),
    )
    .await;
    assert_eq!(r["answers"][0]["section"], "materials");
    assert_eq!(r["answers"][0]["section_title"], "申请材料");
    assert!(r["answers"][0]["snippet"]
        .as_str()
        .unwrap()
        .contains("父母双方居民身份证"));

    // English, with the reply's language asked for.
    let (_, r) = anon_post(
        &s,
        ASK,
        &json!({"question": "how do I apply for the minimum income support", "lang": "en"}),
    )
    .await;
    assert_eq!(r["lang"], "en");
    assert_eq!(r["answers"][0]["code"], "330100-05-MZJ-002-000");
    assert_eq!(r["answers"][0]["title"], "Minimum living allowance (dibao)");

    // Nothing answers it: not found, the hotline, no answers.
    let (st, r) = anon_post(&s, ASK, &json!({"question": "怎么申请去月球旅游"})).await;
    assert_eq!(st, 200);
    assert_eq!(r["found"], false);
    assert_eq!(r["answers"], json!([]));
    assert_eq!(r["handoff"]["hotline"], "12345");
    assert!(r["handoff"]["message"].as_str().unwrap().contains("12345"));

    // Another tenant sees none of hangzhou's guides.
    let (st, r) = anon_post(
        &s,
        "/api/v1/tenants/nyc/services/assistant",
        &json!({"question": "出生医学证明首次签发"}),
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(r["found"], false, "{r}");

    // A withdrawn guide is no longer an answer (the withdrawal re-indexes at once).
    let admin = s.admin_token().await.unwrap();
    let (st, b) = s
        .post(
            "/api/v1/tenants/hangzhou/services/items/330100-20-WJW-001-000/withdraw",
            &admin,
            &json!({}),
        )
        .await
        .unwrap();
    assert_eq!(st, 200, "{b}");
    let (_, r) = anon_post(&s, ASK, &json!({"question": "怎么给宝宝办出生证明"})).await;
    assert!(
        r["answers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["code"] != "330100-20-WJW-001-000"),
        "{r}"
    );

    // The hall's search on the same engine.
    let (st, hits) = anon_get(
        &s,
        "/api/v1/tenants/hangzhou/services/items/search?q=%E7%BB%93%E5%A9%9A&limit=3",
    )
    .await;
    assert_eq!(st, 200, "{hits}");
    assert_eq!(hits[0]["code"], "330100-07-MZJ-001-000");
    assert_eq!(hits[0]["link"], "/hall/items/330100-07-MZJ-001-000");
    assert!(hits.as_array().unwrap().len() <= 3);
    let (st, hits) = anon_get(
        &s,
        "/api/v1/tenants/hangzhou/services/items/search?q=marriage&lang=en",
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(
        hits[0]["title"],
        "Marriage registration (mainland residents)"
    );
}

#[tokio::test]
async fn bad_questions_unknown_tenants_and_floods_are_refused() {
    let s = server().await;
    let admin = s.admin_token().await.unwrap();
    let (st, _) = s
        .post(
            "/api/v1/tenants",
            &admin,
            &json!({"code": "hangzhou", "name": "杭州市", "root_code": "330100"}),
        )
        .await
        .unwrap();
    assert_eq!(st, 201);
    let (st, b) = anon_post(&s, ASK, &json!({"question": "  "})).await;
    assert_problem(st, &b, 422, "invalid_input");
    assert_eq!(b["field"], "question");
    let (st, b) = anon_post(&s, ASK, &json!({"question": "问".repeat(501)})).await;
    assert_problem(st, &b, 422, "invalid_input");
    let (st, b) = anon_post(&s, ASK, &json!({"question": "出生", "mood": "happy"})).await;
    assert!(st == 400 || st == 422, "{st} {b}");
    let (st, b) = anon_post(&s, ASK, &json!({"question": "出生", "lang": "fr"})).await;
    assert!(st == 400 || st == 422, "{st} {b}");
    let (st, b) = anon_post(
        &s,
        "/api/v1/tenants/nowhere/services/assistant",
        &json!({"question": "出生"}),
    )
    .await;
    assert_problem(st, &b, 404, "tenant_not_found");
    let (st, b) = anon_get(
        &s,
        "/api/v1/tenants/hangzhou/services/items/search?q=x&limit=0",
    )
    .await;
    assert_problem(st, &b, 422, "invalid_input");
    assert_eq!(b["field"], "limit");
    let (st, b) = anon_get(
        &s,
        "/api/v1/tenants/hangzhou/services/items/search?q=x&sort=1",
    )
    .await;
    assert_eq!(st, 400, "{b}");

    // A tenant without indexed guides answers "not found", never an error.
    let (st, r) = anon_post(&s, ASK, &json!({"question": "出生医学证明"})).await;
    assert_eq!(st, 200);
    assert_eq!(r["found"], false);

    // The platform limiter: 60 a minute per address, shared with the search; those above
    // get 429 with Retry-After. The calls above counted too.
    let mut refused = None;
    for _ in 0..70 {
        let r = s
            .http
            .post(format!("{}{ASK}", s.url))
            .json(&json!({"question": "出生"}))
            .send()
            .await
            .unwrap();
        if r.status().as_u16() == 429 {
            let retry: u64 = r.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=60).contains(&retry));
            refused = Some(r.json::<Value>().await.unwrap());
            break;
        }
        assert_eq!(r.status().as_u16(), 200);
    }
    let body = refused.expect("the 61st request in a minute is refused");
    assert_eq!(body["code"], "rate_limited");
}
