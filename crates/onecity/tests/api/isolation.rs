use crate::{assert_problem, fixture, server};
use serde_json::json;

#[tokio::test]
async fn district_staff_never_see_the_other_district() {
    let s = server().await;
    let f = fixture(&s).await;
    // A's staff read A, get 404 (not the data) for B's jurisdiction and department.
    let (st, j) = s
        .get(
            &format!("/api/v1/tenants/t1/jurisdictions/{}", f.district_a),
            &f.staff_a,
        )
        .await
        .unwrap();
    assert_eq!(st, 200);
    assert_eq!(j["name"], "甲区");
    let (st, body) = s
        .get(
            &format!("/api/v1/tenants/t1/jurisdictions/{}", f.district_b),
            &f.staff_a,
        )
        .await
        .unwrap();
    assert_problem(st, &body, 404, "not_found");
    assert!(!body.to_string().contains("乙区"));
    let (st, body) = s
        .get(
            &format!("/api/v1/tenants/t1/departments/{}", f.dept_b),
            &f.staff_a,
        )
        .await
        .unwrap();
    assert_problem(st, &body, 404, "not_found");
    let (st, d) = s
        .get(
            &format!("/api/v1/tenants/t1/departments/{}", f.dept_a),
            &f.staff_a,
        )
        .await
        .unwrap();
    assert_eq!((st, d["code"].as_str()), (200, Some("A-CG")));
    // Lists hold only the caller's subtree.
    let (_, page) = s
        .get("/api/v1/tenants/t1/jurisdictions", &f.staff_b)
        .await
        .unwrap();
    let names: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["乙区"]);
    let (_, page) = s
        .get("/api/v1/tenants/t1/departments", &f.staff_b)
        .await
        .unwrap();
    let codes: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, vec!["B-CG"]);
    // Staff may not write, and may not create children even in their own district.
    let (st, body) = s
        .post(
            "/api/v1/tenants/t1/jurisdictions",
            &f.staff_a,
            &json!({"parent_id":f.district_a,"level":"street","code":"990101001","name":"街道"}),
        )
        .await
        .unwrap();
    assert_problem(st, &body, 403, "forbidden");
    // Another tenant is invisible to them.
    let (st, _) = s
        .post(
            "/api/v1/tenants",
            &f.admin,
            &json!({"code":"t2","name":"另一市"}),
        )
        .await
        .unwrap();
    assert_eq!(st, 201);
    let (st, body) = s
        .get("/api/v1/tenants/t2/jurisdictions", &f.staff_a)
        .await
        .unwrap();
    assert_problem(st, &body, 404, "tenant_not_found");
    let (_, tenants) = s.get("/api/v1/tenants", &f.staff_a).await.unwrap();
    assert_eq!(tenants["items"].as_array().unwrap().len(), 1);
    // Audit needs audit_read over the tenant.
    let (st, body) = s.get("/api/v1/tenants/t1/audit", &f.staff_a).await.unwrap();
    assert_problem(st, &body, 403, "forbidden");
}

#[tokio::test]
async fn a_district_admin_manages_only_its_subtree() {
    let s = server().await;
    let f = fixture(&s).await;
    let (st, body) = s.post("/api/v1/tenants/t1/users", &f.admin, &json!({"username":"admin-a","display_name":"A admin","password":"Adm1n-A-12345","roles":[{"role":"tenant_admin","jurisdiction_id":f.district_a}]})).await.unwrap();
    assert_eq!(st, 201, "{body}");
    let t = s.login("admin-a", "Adm1n-A-12345").await.unwrap();
    let (st, street) = s.post("/api/v1/tenants/t1/jurisdictions", &t, &json!({"parent_id":f.district_a,"level":"street","code":"990101001000","name":"甲街道"})).await.unwrap();
    assert_eq!(st, 201, "{street}");
    assert!(street["path"].as_str().unwrap().starts_with(&format!(
        "{}/",
        s.get(
            &format!("/api/v1/tenants/t1/jurisdictions/{}", f.district_a),
            &t
        )
        .await
        .unwrap()
        .1["path"]
            .as_str()
            .unwrap()
    )));
    let (st, body) = s.post("/api/v1/tenants/t1/jurisdictions", &t, &json!({"parent_id":f.district_b,"level":"street","code":"990102001000","name":"乙街道"})).await.unwrap();
    assert_problem(st, &body, 403, "forbidden");
    let (st, body) = s.post("/api/v1/tenants/t1/users", &t, &json!({"username":"evil","display_name":"x","password":"Passw0rd-X-123","roles":[{"role":"tenant_admin","jurisdiction_id":f.district_b}]})).await.unwrap();
    assert_problem(st, &body, 403, "forbidden");
    let (st, body) = s.post("/api/v1/tenants/t1/users", &t, &json!({"username":"evil2","display_name":"x","password":"Passw0rd-X-123","roles":[{"role":"platform_admin"}]})).await.unwrap();
    assert_problem(st, &body, 403, "forbidden");
    let (st, body) = s
        .post("/api/v1/tenants", &t, &json!({"code":"t3","name":"x"}))
        .await
        .unwrap();
    assert_problem(st, &body, 403, "forbidden");
}
