//! `onecity import synthetic-register` (issue 13): deterministic persons and companies with
//! valid check characters, loaded as two datastore tables, readable by the owning department
//! only.

use crate::{fixture, server};
use onecity_iam::idnum::{check_credit_code, check_id_number};
use serde_json::Value;

fn import(s: &onecity_testkit::TestServer, rows: &str, seed: &str) -> Value {
    let (code, out, err) = s
        .cli(&[
            "import",
            "synthetic-register",
            "--tenant",
            "t1",
            "--rows",
            rows,
            "--seed",
            seed,
            "--department",
            "A-CG",
        ])
        .expect("the binary runs");
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).expect("a JSON report")
}

#[tokio::test]
async fn synthetic_register_is_deterministic_valid_and_owned() {
    let s = server().await;
    let f = fixture(&s).await;
    let r = import(&s, "300", "5");
    assert_eq!(r["persons"], 300);
    assert_eq!(r["companies"], 30);
    let persons = r["persons_resource_id"].as_str().unwrap().to_string();
    let companies = r["companies_resource_id"].as_str().unwrap().to_string();
    let search = |rid: &str, token: &str, sort: &str| {
        let url =
            format!("/api/3/action/datastore_search?resource_id={rid}&limit=1000&sort={sort}");
        let token = token.to_string();
        let s = &s;
        async move { s.get(&url, &token).await.unwrap() }
    };
    let (st, p) = search(&persons, &f.staff_a, "id_number").await;
    assert_eq!(st, 200, "{p}");
    let recs = p["result"]["records"].as_array().unwrap();
    assert_eq!(recs.len(), 300);
    assert_eq!(p["result"]["total"], 300);
    for x in recs {
        let id = x["id_number"].as_str().unwrap();
        assert!(check_id_number(id, "20991231").is_ok(), "{id}");
        assert!(id.starts_with("990101") || id.starts_with("990102"), "{id}");
        assert!(x["address"].as_str().unwrap().starts_with(['甲', '乙']));
        assert!(x["synthetic"] == Value::Bool(true) || x["synthetic"] == "true");
    }
    let (st, c) = search(&companies, &f.staff_a, "credit_code").await;
    assert_eq!(st, 200, "{c}");
    let ids: std::collections::HashSet<&str> = recs
        .iter()
        .map(|x| x["id_number"].as_str().unwrap())
        .collect();
    for x in c["result"]["records"].as_array().unwrap() {
        let code = x["credit_code"].as_str().unwrap();
        assert!(check_credit_code(code).is_ok(), "{code}");
        assert!(ids.contains(x["legal_representative_id"].as_str().unwrap()));
    }
    // Another department has no grant on a dataset that is not opened.
    let (st, _) = search(&persons, &f.staff_b, "id_number").await;
    assert_eq!(st, 403);
    // The same seed gives the same rows, into the same tables.
    let again = import(&s, "300", "5");
    assert_eq!(again["persons_resource_id"], r["persons_resource_id"]);
    let (_, p2) = search(&persons, &f.staff_a, "id_number").await;
    assert_eq!(p2["result"]["records"], p["result"]["records"]);
    // Refusals.
    let (code, _, err) = s
        .cli(&[
            "import",
            "synthetic-register",
            "--tenant",
            "nope",
            "--rows",
            "10",
        ])
        .unwrap();
    assert_eq!(code, 1);
    assert!(err.contains("nope"), "{err}");
    let (code, _, err) = s
        .cli(&[
            "import",
            "synthetic-register",
            "--tenant",
            "t1",
            "--rows",
            "0",
        ])
        .unwrap();
    assert_eq!(code, 1);
    assert!(err.contains("rows must be between 1 and"), "{err}");
}
