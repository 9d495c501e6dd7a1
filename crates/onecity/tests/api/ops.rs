use crate::server;
use std::collections::BTreeSet;
use std::time::Duration;

#[tokio::test]
async fn health_readiness_metrics_request_ids_and_openapi() {
    let s = server().await;
    let t = s.admin_token().await.unwrap();
    let r = s
        .http
        .get(format!("{}/healthz", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().contains_key("x-request-id"));
    assert_eq!(
        s.http
            .get(format!("{}/readyz", s.url))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let (st, _) = s.get("/api/v1/tenants", &t).await.unwrap();
    assert_eq!(st, 200);
    let m = s
        .http
        .get(format!("{}/metrics", s.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        m.contains("onecity_http_requests_total") && m.contains("route=\"/api/v1/tenants\""),
        "{m}"
    );
    let (st, doc) = s.get("/api/openapi.json", "").await.unwrap();
    assert_eq!(st, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths: BTreeSet<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    let expected: BTreeSet<&str> = [
        "/",
        "/console",
        "/login",
        "/console/map",
        "/console/twin",
        "/console/security",
        "/console/inbox",
        "/console/admin",
        "/console/exchange",
        "/console/events",
        "/console/stats",
        "/console/plans",
        "/assets/{path}",
        "/healthz",
        "/readyz",
        "/metrics",
        "/api/openapi.json",
        "/api/v1/auth/login",
        "/api/v1/auth/me",
        "/api/v1/auth/login/mfa",
        "/api/v1/auth/login/mfa/webauthn",
        "/api/v1/auth/password",
        "/api/v1/auth/me/mfa",
        "/api/v1/auth/me/totp",
        "/api/v1/auth/me/totp/confirm",
        "/api/v1/auth/me/totp/disable",
        "/api/v1/auth/me/recovery-codes",
        "/api/v1/auth/me/webauthn/register",
        "/api/v1/auth/me/webauthn/register/finish",
        "/api/v1/auth/me/webauthn/{id}",
        "/api/v1/auth/me/sign-ins",
        "/api/v1/tenants",
        "/api/v1/tenants/{tenant}",
        "/api/v1/tenants/{tenant}/jurisdictions",
        "/api/v1/tenants/{tenant}/jurisdictions/{id}",
        "/api/v1/tenants/{tenant}/departments",
        "/api/v1/tenants/{tenant}/departments/{id}",
        "/api/v1/tenants/{tenant}/users",
        "/api/v1/tenants/{tenant}/keys",
        "/api/v1/tenants/{tenant}/keys/{id}",
        "/api/v1/tenants/{tenant}/audit",
        "/api/v1/tenants/{tenant}/lookup",
        "/api/v1/tenants/{tenant}/boundaries.geojson",
        "/api/v1/tenants/{tenant}/grids.geojson",
        "/api/v1/tenants/{tenant}/boundaries/import",
        "/api/v1/tenants/{tenant}/grids/import",
        "/api/v1/tenants/{tenant}/flows",
        "/api/v1/tenants/{tenant}/flows/{key}",
        "/api/v1/tenants/{tenant}/flows/{key}/metrics",
        "/api/v1/tenants/{tenant}/calendar",
        "/api/v1/tenants/{tenant}/jurisdictions/{id}/calendar",
        "/api/v1/tenants/{tenant}/flow-roles",
        "/api/v1/tenants/{tenant}/cases",
        "/api/v1/tenants/{tenant}/cases/{id}",
        "/api/v1/tenants/{tenant}/cases/{id}/actions",
        "/api/v1/tenants/{tenant}/cases/{id}/claim",
        "/api/v1/tenants/{tenant}/cases/{id}/transfer",
        "/api/v1/tenants/{tenant}/inbox",
        "/api/v1/tenants/{tenant}/notifications",
        "/api/v1/tenants/{tenant}/jurisdictions/{id}/grids/generate",
        "/api/3/action/{action}",
        "/api/action/{action}",
        "/catalog.ttl",
        "/catalog.jsonld",
        "/console/catalog",
        "/portal",
        "/api/v1/catalog/harvest",
        "/api/v1/catalog/datasets/{id}/history",
        "/api/v1/tenants/{tenant}/catalog/negative-list",
        "/api/v1/tenants/{tenant}/catalog/demands",
        "/api/v1/tenants/{tenant}/catalog/responsibilities",
        "/api/v1/tenants/{tenant}/governance/settings",
        "/api/v1/tenants/{tenant}/governance/services",
        "/api/v1/tenants/{tenant}/governance/services/import",
        "/api/v1/tenants/{tenant}/events",
        "/api/v1/tenants/{tenant}/events/{id}",
        "/api/v1/tenants/{tenant}/events/{id}/history",
        "/api/v1/tenants/{tenant}/events/{id}/merge",
        "/api/v1/tenants/{tenant}/events/{id}/dispatch",
        "/api/v1/tenants/{tenant}/events/{id}/rating",
        "/api/v1/tenants/{tenant}/events/{id}/extension",
        "/api/v1/tenants/{tenant}/governance/rules",
        "/api/v1/tenants/{tenant}/governance/import/nyc311",
        "/api/v1/tenants/{tenant}/governance/stats",
        "/api/v1/tenants/{tenant}/governance/plans",
        "/api/v1/tenants/{tenant}/governance/alert-rules",
        "/api/v1/tenants/{tenant}/alerts",
        "/api/v1/alerts/{file}",
        "/open311/v2/{file}",
        "/open311/v2/services/{file}",
        "/open311/v2/requests/{file}",
        "/open311/v2/tokens/{file}",
        "/api/v1/datastore/{resource_id}/upload",
        "/datastore/dump/{resource_id}",
        "/api/v1/datastore/jobs/{id}",
        "/api/v1/datastore/{resource_id}/share-requests",
        "/api/v1/datastore/share-requests/{id}",
        "/api/v1/datastore/share-requests/{id}/decision",
        "/api/v1/tenants/{tenant}/exchange-stats",
        "/api/v1/auth/real-name",
        "/api/v1/tenants/{tenant}/citizens/register/start",
        "/api/v1/tenants/{tenant}/citizens/register/verify",
        "/api/v1/tenants/{tenant}/citizens/sign-in/start",
        "/api/v1/tenants/{tenant}/citizens/sign-in/verify",
        "/api/v1/tenants/{tenant}/companies",
        "/api/v1/tenants/{tenant}/companies/{code}",
        "/api/v1/tenants/{tenant}/companies/{code}/declarations",
        "/api/v1/tenants/{tenant}/companies/{code}/mandates",
        "/api/v1/tenants/{tenant}/companies/{code}/mandates/{id}",
        "/api/v1/tenants/{tenant}/read-assurance/{resource_id}",
        "/citizen/register",
        "/citizen/real-name",
        "/citizen/companies",
        "/api/v1/oidc/clients",
        "/api/v1/oidc/clients/{client_id}",
        "/api/v1/keys",
        "/api/v1/keys/rotate",
        "/console/flows",
        "/api/v1/services/tenants",
        "/api/v1/tenants/{tenant}/services/browse",
        "/api/v1/tenants/{tenant}/services/items",
        "/api/v1/tenants/{tenant}/services/items/{code}",
        "/api/v1/tenants/{tenant}/services/items/{code}/publish",
        "/api/v1/tenants/{tenant}/services/items/{code}/withdraw",
        "/api/v1/tenants/{tenant}/services/items/{code}/history",
        "/api/v1/tenants/{tenant}/services/items/{code}/guide",
        "/hall",
        "/hall/items/{code}",
        "/citizen",
        "/api/v1/tenants/{tenant}/services/forms",
        "/api/v1/tenants/{tenant}/services/forms/{key}",
        "/api/v1/tenants/{tenant}/services/forms/{key}/versions",
        "/api/v1/tenants/{tenant}/services/forms/{key}/check",
        "/api/v1/tenants/{tenant}/services/forms/{key}/submissions",
        "/api/v1/tenants/{tenant}/services/submissions/{id}",
        "/api/v1/tenants/{tenant}/files",
        "/api/v1/tenants/{tenant}/files/{id}",
        "/api/v1/tenants/{tenant}/files/{id}/meta",
        "/console/services/forms",
        "/citizen/forms/{key}",
        "/api/v1/tenants/{tenant}/services/assistant",
        "/api/v1/tenants/{tenant}/services/items/search",
        "/hall/assistant",
        "/api/v1/jobs",
        "/api/v1/jobs/{name}/runs",
        "/api/v1/jobs/{name}/run",
        "/console/jobs",
        "/api/v1/brain/metro/stations",
        "/api/v1/brain/metro/stations/{id}/advice",
        "/api/v1/brain/metro/stations/{id}/forecast",
        "/console/brain/stations",
        "/console/brain/stations/{id}",
        "/api/v1/brain/rooms",
        "/api/v1/brain/rooms/{id}/bookings",
        "/rooms",
    ]
    .into_iter()
    .collect();
    assert_eq!(paths, expected);
    let (st, body) = s.get("/api/v1/no/such/route", &t).await.unwrap();
    assert_eq!((st, body["code"].as_str()), (404, Some("route_not_found")));
    let r = s
        .http
        .put(format!("{}/api/v1/tenants", s.url))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["code"],
        "method_not_allowed"
    );
}

#[tokio::test]
async fn sigterm_drains_and_exits_cleanly() {
    let mut s = server().await;
    let t = s.admin_token().await.unwrap();
    let url = format!("{}/api/v1/tenants", s.url);
    let http = s.http.clone();
    let inflight = tokio::spawn(async move {
        http.get(url)
            .bearer_auth(t)
            .send()
            .await
            .map(|r| r.status().as_u16())
    });
    let st = s.terminate(Duration::from_secs(30)).unwrap();
    assert!(st.success(), "exit status {st}; log:\n{}", s.log_text());
    if let Ok(Ok(code)) = inflight.await {
        assert_eq!(code, 200, "a request accepted before shutdown completes");
    }
}
