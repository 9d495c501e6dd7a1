use crate::{fixture, server};
use onecity_store::args;

async fn verify(s: &onecity_testkit::TestServer) -> (i32, String) {
    let (code, out, err) = s.cli(&["audit", "verify"]).unwrap();
    (code, format!("{out}{err}"))
}

#[tokio::test]
async fn verify_passes_on_an_intact_chain_and_the_api_lists_records() {
    let s = server().await;
    let f = fixture(&s).await;
    let (code, out) = verify(&s).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("intact"));
    let (st, page) = s
        .get(
            "/api/v1/tenants/t1/audit?resource_type=department&limit=1",
            &f.admin,
        )
        .await
        .unwrap();
    assert_eq!(st, 200);
    assert_eq!(page["items"][0]["action"], "department.create");
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, next) = s
        .get(
            &format!("/api/v1/tenants/t1/audit?resource_type=department&limit=1&cursor={cursor}"),
            &f.admin,
        )
        .await
        .unwrap();
    assert_eq!(next["items"][0]["action"], "department.create");
    assert_eq!(
        next["items"][0]["prev_hash"].as_str().map(|h| h.len()),
        Some(64)
    );
    assert!(next["next_cursor"].is_null());
    let (_, sys) = s
        .get(
            "/api/v1/tenants/_system/audit?action=tenant.create",
            &f.admin,
        )
        .await
        .unwrap();
    assert_eq!(sys["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn verify_finds_a_changed_record() {
    let s = server().await;
    fixture(&s).await;
    let db = s.open_store().await.unwrap();
    assert_eq!(
        db.execute(
            "UPDATE audit_log SET actor = 'user:mallory' WHERE tenant = 't1' AND seq = 2",
            &[]
        )
        .await
        .unwrap(),
        1
    );
    let (code, out) = verify(&s).await;
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("\"t1\" at record 2") && out.contains("altered"),
        "{out}"
    );
}

#[tokio::test]
async fn verify_finds_a_deleted_record() {
    let s = server().await;
    fixture(&s).await;
    let db = s.open_store().await.unwrap();
    db.execute("DELETE FROM audit_log WHERE tenant = 't1' AND seq = 2", &[])
        .await
        .unwrap();
    let (code, out) = verify(&s).await;
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("\"t1\" at record 2") && out.contains("deleted"),
        "{out}"
    );
}

#[tokio::test]
async fn verify_finds_an_inserted_record() {
    let s = server().await;
    fixture(&s).await;
    let db = s.open_store().await.unwrap();
    let last = db
        .fetch_optional(
            "SELECT seq, hash FROM audit_log WHERE tenant = 't1' ORDER BY seq DESC LIMIT 1",
            &[],
        )
        .await
        .unwrap()
        .unwrap();
    let seq = last.i64("seq").unwrap() + 1;
    db.execute(
        "INSERT INTO audit_log (tenant, seq, id, at, actor, action, resource_type, resource_id, prev_hash, hash) VALUES ('t1', $1, 'forged', 0, 'system', 'principal.create', 'principal', 'x', $2, $3)",
        args![seq, last.text("hash").unwrap(), "f".repeat(64)],
    )
    .await
    .unwrap();
    let (code, out) = verify(&s).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("at record {seq}")), "{out}");
}

#[tokio::test]
async fn verify_finds_a_cut_tail() {
    let s = server().await;
    fixture(&s).await;
    let db = s.open_store().await.unwrap();
    let max = db
        .fetch_optional(
            "SELECT MAX(seq) AS m FROM audit_log WHERE tenant = 't1'",
            &[],
        )
        .await
        .unwrap()
        .unwrap()
        .i64("m")
        .unwrap();
    db.execute(
        "DELETE FROM audit_log WHERE tenant = 't1' AND seq >= $1",
        args![max - 1],
    )
    .await
    .unwrap();
    let (code, out) = verify(&s).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("tail was cut"), "{out}");
    // Re-pointing the head at the new last record without the key is detected too.
    let newlast = db
        .fetch_optional(
            "SELECT seq, hash FROM audit_log WHERE tenant = 't1' ORDER BY seq DESC LIMIT 1",
            &[],
        )
        .await
        .unwrap()
        .unwrap();
    db.execute(
        "UPDATE audit_heads SET seq = $1, hash = $2 WHERE tenant = 't1'",
        args![newlast.i64("seq").unwrap(), newlast.text("hash").unwrap()],
    )
    .await
    .unwrap();
    let (code, out) = verify(&s).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("signature is invalid"), "{out}");
}
