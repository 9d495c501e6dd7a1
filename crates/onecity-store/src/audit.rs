//! The audit trail: append-only, hash-chained records, one chain per tenant.
//!
//! Each record holds who (`actor`), what (`action`, `resource_type`, `resource_id`), when
//! (`at`, µs since epoch), the tenant, and SHA-256 digests of the resource before and after
//! the change (canonical JSON: keys sorted). Its `hash` is
//! `SHA-256(prev_hash ‖ JSON[tenant, seq, id, at, actor, action, resource_type, resource_id,
//! before_digest, after_digest, detail])`, linking it to its predecessor (the first record
//! links to 64 zeros). The chain head (`audit_heads`: last seq and hash) is signed with
//! HMAC-SHA-256 under a server secret, so a cut tail is detected too: a head that names a
//! record that is gone, or a head re-written without the key.
//!
//! Records are written in the same transaction as the change they describe; the head row
//! is locked (`FOR UPDATE` on PostgreSQL, the writer lock on SQLite), so appends to one
//! tenant's chain serialise while other tenants' chains proceed in parallel.

use crate::{args, Db, Tx, Val};
use hmac::{Hmac, Mac};
use onecity_core::page::{Page, PageQuery};
use onecity_core::{Error, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::sync::Arc;

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What to record. `before`/`after` are the resource's JSON; only their digests are stored.
#[derive(Debug, Clone, Default)]
pub struct AuditEntry<'a> {
    /// Tenant code (`_system` for deployment-level actions).
    pub tenant: &'a str,
    /// Who acted: `user:<id>`, `app:<id>`, `system`.
    pub actor: &'a str,
    /// What was done, e.g. `jurisdiction.create`, `auth.login_failed`.
    pub action: &'a str,
    /// Kind of resource, e.g. `jurisdiction`.
    pub resource_type: &'a str,
    /// Id of the resource.
    pub resource_id: &'a str,
    /// The resource before the change.
    pub before: Option<&'a serde_json::Value>,
    /// The resource after the change.
    pub after: Option<&'a serde_json::Value>,
    /// A short free-text note.
    pub detail: Option<&'a str>,
}

/// A stored audit record as the API returns it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditRecord {
    /// Tenant code.
    pub tenant: String,
    /// Position in the tenant's chain, from 1.
    pub seq: i64,
    /// Record id (UUIDv7).
    pub id: String,
    /// When, RFC 3339 UTC.
    pub at: String,
    /// Who acted.
    pub actor: String,
    /// What was done.
    pub action: String,
    /// Kind of resource.
    pub resource_type: String,
    /// Resource id.
    pub resource_id: String,
    /// Hex SHA-256 of the resource before.
    pub before_digest: Option<String>,
    /// Hex SHA-256 of the resource after.
    pub after_digest: Option<String>,
    /// Free-text note.
    pub detail: Option<String>,
    /// Hash of the previous record.
    pub prev_hash: String,
    /// Hash of this record.
    pub hash: String,
}

/// Appends audit records and verifies chains; holds the head-signing key.
#[derive(Clone)]
pub struct Auditor {
    key: Arc<Vec<u8>>,
}

/// Hex SHA-256 of a JSON value's canonical text (object keys sorted).
pub fn digest(v: &serde_json::Value) -> String {
    hex::encode(Sha256::digest(serde_json::to_vec(v).unwrap_or_default()))
}

#[allow(clippy::too_many_arguments)]
fn record_hash(
    prev: &str,
    tenant: &str,
    seq: i64,
    id: &str,
    at: i64,
    actor: &str,
    action: &str,
    rtype: &str,
    rid: &str,
    before: Option<&str>,
    after: Option<&str>,
    detail: Option<&str>,
) -> String {
    let body =
        serde_json::json!([tenant, seq, id, at, actor, action, rtype, rid, before, after, detail]);
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(serde_json::to_vec(&body).unwrap_or_default());
    hex::encode(h.finalize())
}

impl Auditor {
    /// Loads (or creates) the anchoring key from the database.
    pub async fn load(db: &Db) -> Result<Auditor> {
        Ok(Auditor {
            key: Arc::new(crate::secrets::get_or_create(db, "audit_anchor_hmac").await?),
        })
    }

    fn sign(&self, tenant: &str, seq: i64, hash: &str) -> String {
        let mut m = Hmac::<Sha256>::new_from_slice(&self.key).expect("hmac accepts any key");
        m.update(format!("{tenant}\n{seq}\n{hash}").as_bytes());
        hex::encode(m.finalize().into_bytes())
    }

    /// Appends one record in `tx`; returns its sequence number.
    pub async fn append(&self, tx: &mut Tx, e: &AuditEntry<'_>) -> Result<i64> {
        let now = onecity_core::time::now_micros();
        let sql = format!(
            "SELECT seq, hash FROM audit_heads WHERE tenant = $1{}",
            tx.for_update()
        );
        let head = match tx.fetch_optional(&sql, args![e.tenant]).await? {
            Some(h) => h,
            None => {
                // First record of this tenant: create the head (a concurrent first append
                // on PostgreSQL loses the insert race and waits on the row lock below).
                tx.execute(
                    "INSERT INTO audit_heads (tenant, seq, hash, signature, updated_at) VALUES ($1, 0, $2, $3, $4) ON CONFLICT (tenant) DO NOTHING",
                    args![e.tenant, GENESIS, self.sign(e.tenant, 0, GENESIS), now],
                )
                .await?;
                tx.fetch_optional(&sql, args![e.tenant])
                    .await?
                    .ok_or_else(|| Error::internal("audit head missing"))?
            }
        };
        let seq = head.i64("seq")? + 1;
        let prev = head.text("hash")?;
        let id = onecity_core::new_id().to_string();
        let before = e.before.map(digest);
        let after = e.after.map(digest);
        let hash = record_hash(
            &prev,
            e.tenant,
            seq,
            &id,
            now,
            e.actor,
            e.action,
            e.resource_type,
            e.resource_id,
            before.as_deref(),
            after.as_deref(),
            e.detail,
        );
        tx.execute(
            "INSERT INTO audit_log (tenant, seq, id, at, actor, action, resource_type, resource_id, before_digest, after_digest, detail, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            &[
                e.tenant.into(), seq.into(), id.into(), now.into(), e.actor.into(), e.action.into(),
                e.resource_type.into(), e.resource_id.into(), before.into(), after.into(),
                e.detail.into(), prev.into(), Val::from(hash.clone()),
            ],
        )
        .await?;
        tx.execute(
            "UPDATE audit_heads SET seq = $2, hash = $3, signature = $4, updated_at = $5 WHERE tenant = $1",
            args![e.tenant, seq, hash.clone(), self.sign(e.tenant, seq, &hash), now],
        )
        .await?;
        Ok(seq)
    }

    /// Anchors every chain head that moved since its last anchor: stores the signed
    /// `(tenant, seq, hash)` in `audit_anchors` and publishes an `audit_anchored` event
    /// through the outbox (so the head also leaves the database, e.g. on NATS). Returns how
    /// many heads were anchored. Run periodically; `verify` checks the anchors too.
    pub async fn anchor(&self, db: &Db) -> Result<usize> {
        let mut tx = db.begin().await?;
        let heads = tx
            .fetch_all(
                "SELECT h.tenant, h.seq, h.hash FROM audit_heads h WHERE h.seq > COALESCE((SELECT MAX(a.seq) FROM audit_anchors a WHERE a.tenant = h.tenant), 0)",
                &[],
            )
            .await?;
        let now = onecity_core::time::now_micros();
        for h in &heads {
            let (tenant, seq, hash) = (h.text("tenant")?, h.i64("seq")?, h.text("hash")?);
            tx.execute(
                "INSERT INTO audit_anchors (tenant, seq, hash, signature, anchored_at) VALUES ($1, $2, $3, $4, $5)",
                args![tenant.clone(), seq, hash.clone(), self.sign(&tenant, seq, &hash), now],
            )
            .await?;
            let ev = onecity_core::events::EventEnvelope::new(
                Some(&tenant),
                onecity_core::events::PlatformEvent::AuditAnchored { seq, hash },
            );
            crate::outbox::enqueue(&mut tx, &ev).await?;
        }
        tx.commit().await?;
        Ok(heads.len())
    }

    /// Walks every tenant's chain and reports the first problem of each broken chain.
    ///
    /// Finds altered records (hash mismatch), deleted or inserted records (sequence gaps,
    /// broken links), a cut tail (the signed head names a record that is gone) and a
    /// tampered head (bad signature).
    pub async fn verify(&self, db: &Db) -> Result<VerifyReport> {
        let tenants = db
            .fetch_all(
                "SELECT tenant FROM audit_heads UNION SELECT DISTINCT tenant FROM audit_log ORDER BY tenant",
                &[],
            )
            .await?;
        let mut report = VerifyReport::default();
        for t in tenants {
            let tenant = t.text("tenant")?;
            let (n, problem) = self.verify_tenant(db, &tenant).await?;
            report.records += n;
            report.chains += 1;
            if let Some(p) = problem {
                report.problems.push(p);
            }
        }
        Ok(report)
    }

    async fn verify_tenant(&self, db: &Db, tenant: &str) -> Result<(u64, Option<VerifyProblem>)> {
        let problem = |seq: i64, what: String| VerifyProblem {
            tenant: tenant.to_string(),
            seq,
            problem: what,
        };
        let mut anchors = std::collections::BTreeMap::new();
        for a in db
            .fetch_all(
                "SELECT seq, hash, signature FROM audit_anchors WHERE tenant = $1",
                args![tenant],
            )
            .await?
        {
            let (seq, hash) = (a.i64("seq")?, a.text("hash")?);
            if self.sign(tenant, seq, &hash) != a.text("signature")? {
                return Ok((
                    0,
                    Some(problem(
                        seq,
                        format!("the anchor of record {seq} has an invalid signature"),
                    )),
                ));
            }
            anchors.insert(seq, hash);
        }
        let mut expected = 1i64;
        let mut prev = GENESIS.to_string();
        let mut count = 0u64;
        loop {
            let rows = db
                .fetch_all(
                    "SELECT * FROM audit_log WHERE tenant = $1 AND seq >= $2 ORDER BY seq LIMIT 5000",
                    args![tenant, expected],
                )
                .await?;
            if rows.is_empty() {
                break;
            }
            for r in rows {
                let seq = r.i64("seq")?;
                count += 1;
                if seq != expected {
                    return Ok((count, Some(problem(expected, format!(
                        "record {expected} is missing (deleted): the chain jumps from {} to {seq}", expected - 1
                    )))));
                }
                let stored_prev = r.text("prev_hash")?;
                let hash = record_hash(
                    &stored_prev,
                    tenant,
                    seq,
                    &r.text("id")?,
                    r.i64("at")?,
                    &r.text("actor")?,
                    &r.text("action")?,
                    &r.text("resource_type")?,
                    &r.text("resource_id")?,
                    r.opt_text("before_digest")?.as_deref(),
                    r.opt_text("after_digest")?.as_deref(),
                    r.opt_text("detail")?.as_deref(),
                );
                if stored_prev != prev {
                    return Ok((count, Some(problem(seq, format!(
                        "record {seq} does not link to record {} (a record was inserted, deleted or altered before it)", seq - 1
                    )))));
                }
                if hash != r.text("hash")? {
                    return Ok((
                        count,
                        Some(problem(
                            seq,
                            format!(
                                "record {seq} was altered: its content does not match its hash"
                            ),
                        )),
                    ));
                }
                if anchors.get(&seq).is_some_and(|a| *a != hash) {
                    return Ok((
                        count,
                        Some(problem(
                            seq,
                            format!("record {seq} does not match its published anchor"),
                        )),
                    ));
                }
                prev = hash;
                expected += 1;
            }
        }
        let last = expected - 1;
        if let Some((&aseq, _)) = anchors.range(last + 1..).next() {
            return Ok((
                count,
                Some(problem(
                    last + 1,
                    format!(
                "the chain's tail was cut: record {aseq} was anchored but the last record is {last}"
            ),
                )),
            ));
        }
        let head = db
            .fetch_optional(
                "SELECT seq, hash, signature FROM audit_heads WHERE tenant = $1",
                args![tenant],
            )
            .await?;
        let Some(head) = head else {
            return Ok((
                count,
                Some(problem(last, "the chain head is missing".into())),
            ));
        };
        let (hseq, hhash, hsig) = (
            head.i64("seq")?,
            head.text("hash")?,
            head.text("signature")?,
        );
        if self.sign(tenant, hseq, &hhash) != hsig {
            return Ok((
                count,
                Some(problem(
                    hseq,
                    "the chain head's signature is invalid (head altered)".into(),
                )),
            ));
        }
        if hseq > last {
            return Ok((count, Some(problem(last + 1, format!(
                "the chain's tail was cut: the signed head is record {hseq} but the last record is {last}"
            )))));
        }
        if hseq < last {
            return Ok((count, Some(problem(hseq + 1, format!(
                "record {} was appended outside the chain: the signed head is record {hseq}", hseq + 1
            )))));
        }
        if hhash != prev {
            return Ok((
                count,
                Some(problem(
                    hseq,
                    format!("record {hseq} does not match the signed head"),
                )),
            ));
        }
        Ok((count, None))
    }

    /// Lists a tenant's records in chain order with filters and cursor pagination.
    pub async fn query(
        &self,
        db: &Db,
        f: &AuditFilter,
        page: &PageQuery,
    ) -> Result<Page<AuditRecord>> {
        let limit = page.limit()?;
        let after: i64 = page.after()?.unwrap_or(0);
        let mut sql = String::from("SELECT * FROM audit_log WHERE tenant = $1 AND seq > $2");
        let mut a: Vec<Val> = vec![f.tenant.clone().into(), after.into()];
        let mut add = |col: &str, v: Val, op: &str| {
            a.push(v);
            sql.push_str(&format!(" AND {col} {op} ${}", a.len()));
        };
        if let Some(v) = &f.actor {
            add("actor", v.into(), "=");
        }
        if let Some(v) = &f.action {
            add("action", v.into(), "=");
        }
        if let Some(v) = &f.resource_type {
            add("resource_type", v.into(), "=");
        }
        if let Some(v) = &f.resource_id {
            add("resource_id", v.into(), "=");
        }
        if let Some(v) = f.since {
            add("at", v.into(), ">=");
        }
        if let Some(v) = f.until {
            add("at", v.into(), "<");
        }
        sql.push_str(&format!(" ORDER BY seq LIMIT {}", limit + 1));
        let rows = db.fetch_all(&sql, &a).await?;
        let items = rows
            .iter()
            .map(|r| {
                Ok(AuditRecord {
                    tenant: r.text("tenant")?,
                    seq: r.i64("seq")?,
                    id: r.text("id")?,
                    at: onecity_core::time::rfc3339(r.i64("at")?),
                    actor: r.text("actor")?,
                    action: r.text("action")?,
                    resource_type: r.text("resource_type")?,
                    resource_id: r.text("resource_id")?,
                    before_digest: r.opt_text("before_digest")?,
                    after_digest: r.opt_text("after_digest")?,
                    detail: r.opt_text("detail")?,
                    prev_hash: r.text("prev_hash")?,
                    hash: r.text("hash")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Page::from_overfetch(items, limit, |r| r.seq))
    }
}

/// Filters of an audit query. Times are µs since the epoch.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Tenant code (required: one chain per tenant).
    pub tenant: String,
    /// Exact actor.
    pub actor: Option<String>,
    /// Exact action.
    pub action: Option<String>,
    /// Exact resource type.
    pub resource_type: Option<String>,
    /// Exact resource id.
    pub resource_id: Option<String>,
    /// At or after.
    pub since: Option<i64>,
    /// Before.
    pub until: Option<i64>,
}

/// The outcome of [`Auditor::verify`].
#[derive(Debug, Default, Serialize)]
pub struct VerifyReport {
    /// Chains (tenants) checked.
    pub chains: u64,
    /// Records read.
    pub records: u64,
    /// The first problem of each broken chain; empty when every chain is intact.
    pub problems: Vec<VerifyProblem>,
}

/// The first bad record of one chain.
#[derive(Debug, Serialize)]
pub struct VerifyProblem {
    /// Tenant code of the chain.
    pub tenant: String,
    /// Sequence number of the first bad (or missing) record.
    pub seq: i64,
    /// What is wrong.
    pub problem: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DbOptions;

    async fn setup() -> (tempfile::TempDir, Db, Auditor) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open_sqlite(dir.path(), &DbOptions::default())
            .await
            .unwrap();
        crate::migrate::run(&db, "store", crate::migrations())
            .await
            .unwrap();
        let a = Auditor::load(&db).await.unwrap();
        for i in 0..5 {
            let mut tx = db.begin().await.unwrap();
            let after = serde_json::json!({"n": i});
            a.append(
                &mut tx,
                &AuditEntry {
                    tenant: "t1",
                    actor: "system",
                    action: "x.create",
                    resource_type: "x",
                    resource_id: &i.to_string(),
                    after: Some(&after),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
            tx.commit().await.unwrap();
        }
        (dir, db, a)
    }

    #[tokio::test]
    async fn intact_chain_verifies() {
        let (_d, db, a) = setup().await;
        let r = a.verify(&db).await.unwrap();
        assert_eq!(r.records, 5);
        assert!(r.problems.is_empty(), "{:?}", r.problems);
    }

    #[tokio::test]
    async fn detects_change_delete_insert_and_cut_tail() {
        let (_d, db, a) = setup().await;
        db.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3", &[])
            .await
            .unwrap();
        let r = a.verify(&db).await.unwrap();
        assert_eq!(r.problems[0].seq, 3);
        assert!(r.problems[0].problem.contains("altered"));

        let (_d, db, a) = setup().await;
        db.execute("DELETE FROM audit_log WHERE seq = 2", &[])
            .await
            .unwrap();
        let r = a.verify(&db).await.unwrap();
        assert_eq!(r.problems[0].seq, 2);
        assert!(r.problems[0].problem.contains("deleted"));

        let (_d, db, a) = setup().await;
        db.execute("DELETE FROM audit_log WHERE seq = 5", &[])
            .await
            .unwrap();
        let r = a.verify(&db).await.unwrap();
        assert!(
            r.problems[0].problem.contains("tail was cut"),
            "{:?}",
            r.problems
        );
    }

    #[tokio::test]
    async fn anchors_catch_a_tail_cut_even_with_a_re_signed_head() {
        let (_d, db, a) = setup().await;
        assert_eq!(a.anchor(&db).await.unwrap(), 1);
        assert_eq!(a.anchor(&db).await.unwrap(), 0, "nothing new to anchor");
        let ev = db
            .fetch_all(
                "SELECT topic FROM outbox WHERE topic = 'onecity.store.audit_anchored'",
                &[],
            )
            .await
            .unwrap();
        assert_eq!(ev.len(), 1, "the anchor is published through the outbox");
        // An insider with the key cuts record 5 and re-signs the head at 4.
        db.execute("DELETE FROM audit_log WHERE seq = 5", &[])
            .await
            .unwrap();
        let h4 = db
            .fetch_optional("SELECT hash FROM audit_log WHERE seq = 4", &[])
            .await
            .unwrap()
            .unwrap()
            .text("hash")
            .unwrap();
        db.execute(
            "UPDATE audit_heads SET seq = 4, hash = $1, signature = $2",
            args![h4.clone(), a.sign("t1", 4, &h4)],
        )
        .await
        .unwrap();
        let r = a.verify(&db).await.unwrap();
        assert!(
            r.problems[0].problem.contains("record 5 was anchored"),
            "{:?}",
            r.problems
        );
    }
}
