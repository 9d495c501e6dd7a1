//! The platform's one limiter: counts hits per key in a window, in the database, so that
//! every replica takes the same decision.
//!
//! A hit and its decision are one atomic statement (`store::hit`: an `INSERT … ON
//! CONFLICT DO UPDATE … RETURNING` per key), so N concurrent attempts get the counts 1…N
//! and exactly `max` of them are allowed, on SQLite and on PostgreSQL alike. A window
//! starts with the first hit of a key and lasts [`Limit::window`]; `Retry-After` is the
//! time left in it. Callers that reserve a hit before doing the work can give it back
//! ([`Limiter::release`]) when the work was not done, or forget the key
//! ([`Limiter::reset`]) after a success that clears it (a login).
//!
//! Keys are kinds of subject ([`Subject`]: account, address, phone, app key) under a
//! purpose (`"login"`, …). The subject is stored only as a SHA-256 digest: rows are small
//! and hold no user names, addresses or phone numbers. Expired rows are purged by the
//! limiter itself, once every [`PURGE_EVERY`] hits, so the table holds at most the keys of
//! one window.

use crate::store;
use onecity_core::Result;
use onecity_store::{Db, Tx};
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use uuid::Uuid;

/// The limiter purges expired counters once every this many hits (per node).
pub const PURGE_EVERY: u64 = 512;

/// At most `max` hits per key within `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Hits allowed in one window (at least 1 is used).
    pub max: i64,
    /// Length of a window, from the key's first hit.
    pub window: Duration,
}

/// Who or what a limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject<'a> {
    /// A login name (whether or not an account has it).
    Account(&'a str),
    /// A client address (see `http::ClientAddr` for how it is found).
    Address(IpAddr),
    /// A phone number (verification codes).
    Phone(&'a str),
    /// An app key by its id.
    AppKey(Uuid),
}

impl Subject<'_> {
    /// The stored key: `<purpose>:<kind>:<hex SHA-256 of the subject>`.
    pub fn storage_key(&self, purpose: &str) -> String {
        let (kind, subject) = match self {
            Subject::Account(name) => ("account", name.to_string()),
            Subject::Address(ip) => ("address", canonical_ip(*ip).to_string()),
            Subject::Phone(phone) => ("phone", phone.to_string()),
            Subject::AppKey(id) => ("app_key", id.to_string()),
        };
        format!(
            "{purpose}:{kind}:{}",
            hex::encode(Sha256::digest(subject.as_bytes()))
        )
    }
}

/// An IPv4-mapped IPv6 address counts as its IPv4 address.
fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// The outcome of one hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Within the limit: this was hit number `hits` of the window.
    Allowed {
        /// Hits in the window, this one included (1-based).
        hits: i64,
    },
    /// Over the limit: the window holds `hits` hits (this one counted too), and ends in
    /// `retry_after_secs` seconds (at least 1).
    Refused {
        /// Hits in the window, this one included.
        hits: i64,
        /// Whole seconds until the window ends, at least 1.
        retry_after_secs: u64,
    },
}

impl Decision {
    /// The decision for a counter: allowed while `hits <= max`. `now` and `expires_at`
    /// are µs since the epoch.
    pub fn of(hits: i64, expires_at: i64, now: i64, max: i64) -> Decision {
        if hits <= max.max(1) {
            Decision::Allowed { hits }
        } else {
            let left_micros = (expires_at - now).max(0);
            Decision::Refused {
                hits,
                retry_after_secs: ((left_micros + 999_999) / 1_000_000).max(1) as u64,
            }
        }
    }

    /// Whether the hit is within the limit.
    pub fn allowed(&self) -> bool {
        matches!(self, Decision::Allowed { .. })
    }

    /// Hits in the window, this one included.
    pub fn hits(&self) -> i64 {
        match self {
            Decision::Allowed { hits } | Decision::Refused { hits, .. } => *hits,
        }
    }
}

/// The limiter over the store; cheap to share (`Arc` it or keep it inside a service).
pub struct Limiter {
    db: Db,
    hits_since_purge: AtomicU64,
}

impl Limiter {
    /// A limiter over `db` (the `iam` migrations must have run).
    pub fn new(db: Db) -> Limiter {
        Limiter {
            db,
            hits_since_purge: AtomicU64::new(0),
        }
    }

    /// Counts one hit for `subject` under `purpose` and decides against `limit`, in one
    /// atomic statement.
    ///
    /// Errors: only store errors (the database is unreachable); callers should then refuse
    /// the guarded action rather than allow it.
    pub async fn hit(&self, purpose: &str, subject: Subject<'_>, limit: Limit) -> Result<Decision> {
        let mut tx = self.db.begin().await?;
        let decision = self.hit_in(&mut tx, purpose, subject, limit).await?;
        tx.commit().await?;
        Ok(decision)
    }

    /// [`Limiter::hit`] inside the caller's transaction, so that a flow's hits commit
    /// together with its own writes (one commit instead of one per hit; see
    /// BENCHMARKS.md, code sign-in). The hit counts only if `tx` commits: a caller that
    /// refuses because of the decision must still commit.
    pub async fn hit_in(
        &self,
        tx: &mut Tx,
        purpose: &str,
        subject: Subject<'_>,
        limit: Limit,
    ) -> Result<Decision> {
        let now = onecity_core::time::now_micros();
        let window = i64::try_from(limit.window.as_micros()).unwrap_or(i64::MAX / 2);
        let key = subject.storage_key(purpose);
        let counter = store::hit_in(&mut *tx, &key, now, now.saturating_add(window)).await?;
        if self.hits_since_purge.fetch_add(1, Ordering::Relaxed) % PURGE_EVERY == PURGE_EVERY - 1 {
            // In the caller's transaction: on SQLite a second write outside it would wait
            // for the one writer that this transaction holds.
            store::purge(&mut *tx, now).await?;
        }
        // A concurrent first hit may have opened the window a little after `now` was read:
        // never ask for more than one window.
        let window_secs = limit.window.as_secs_f64().ceil().max(1.0) as u64;
        Ok(
            match Decision::of(counter.hits, counter.expires_at, now, limit.max) {
                Decision::Refused {
                    hits,
                    retry_after_secs,
                } => Decision::Refused {
                    hits,
                    retry_after_secs: retry_after_secs.min(window_secs),
                },
                allowed => allowed,
            },
        )
    }

    /// Gives back one hit of `subject`'s running window (a reserved attempt that was not
    /// carried out). Does nothing when the window has ended.
    pub async fn release(&self, purpose: &str, subject: Subject<'_>) -> Result<()> {
        let now = onecity_core::time::now_micros();
        store::release(&self.db, &subject.storage_key(purpose), now).await
    }

    /// Forgets `subject`'s counter (after a success that clears it).
    pub async fn reset(&self, purpose: &str, subject: Subject<'_>) -> Result<()> {
        store::reset(&self.db, &subject.storage_key(purpose)).await
    }

    /// [`Limiter::reset`] inside the caller's transaction.
    pub async fn reset_in(&self, tx: &mut Tx, purpose: &str, subject: Subject<'_>) -> Result<()> {
        store::reset(&mut *tx, &subject.storage_key(purpose)).await
    }

    /// Deletes every counter whose window has ended; returns how many.
    pub async fn purge_expired(&self) -> Result<u64> {
        store::purge(&self.db, onecity_core::time::now_micros()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn decisions_and_retry_after() {
        assert_eq!(Decision::of(5, 0, 0, 5), Decision::Allowed { hits: 5 });
        assert_eq!(
            Decision::of(6, 900_000_000, 100_000_000, 5),
            Decision::Refused {
                hits: 6,
                retry_after_secs: 800
            }
        );
        // Rounded up, never 0.
        assert_eq!(
            Decision::of(6, 1_500_001, 0, 5),
            Decision::Refused {
                hits: 6,
                retry_after_secs: 2
            }
        );
        assert_eq!(
            Decision::of(9, 10, 20, 5),
            Decision::Refused {
                hits: 9,
                retry_after_secs: 1
            }
        );
    }

    #[test]
    fn keys_are_digests_by_kind() {
        let a = Subject::Account("admin").storage_key("login");
        assert!(a.starts_with("login:account:"));
        assert_eq!(a.len(), "login:account:".len() + 64);
        assert_ne!(a, Subject::Phone("admin").storage_key("login"));
        let v4: IpAddr = "192.0.2.7".parse().unwrap();
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(
            Subject::Address(v4).storage_key("login"),
            Subject::Address(mapped).storage_key("login")
        );
    }

    async fn sqlite_limiter() -> (tempfile::TempDir, Arc<Limiter>) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open_sqlite(dir.path(), &Default::default())
            .await
            .unwrap();
        onecity_store::migrate::run(&db, "store", onecity_store::migrations())
            .await
            .unwrap();
        onecity_store::migrate::run(&db, "iam", &crate::MIGRATIONS)
            .await
            .unwrap();
        (dir, Arc::new(Limiter::new(db)))
    }

    #[tokio::test]
    async fn concurrent_hits_allow_exactly_max() {
        let (_dir, limiter) = sqlite_limiter().await;
        let limit = Limit {
            max: 5,
            window: Duration::from_secs(60),
        };
        let tasks: Vec<_> = (0..40)
            .map(|_| {
                let l = limiter.clone();
                tokio::spawn(async move { l.hit("t", Subject::Account("a"), limit).await })
            })
            .collect();
        let mut allowed = 0;
        let mut counts = Vec::new();
        for t in tasks {
            let d = t.await.unwrap().unwrap();
            allowed += usize::from(d.allowed());
            counts.push(d.hits());
        }
        counts.sort_unstable();
        assert_eq!(allowed, 5);
        assert_eq!(counts, (1..=40).collect::<Vec<i64>>());
        // Another subject has its own counter; release and reset work.
        let other = limiter
            .hit("t", Subject::Account("b"), limit)
            .await
            .unwrap();
        assert_eq!(other, Decision::Allowed { hits: 1 });
        limiter.release("t", Subject::Account("b")).await.unwrap();
        let again = limiter
            .hit("t", Subject::Account("b"), limit)
            .await
            .unwrap();
        assert_eq!(again, Decision::Allowed { hits: 1 });
        limiter.reset("t", Subject::Account("a")).await.unwrap();
        let fresh = limiter
            .hit("t", Subject::Account("a"), limit)
            .await
            .unwrap();
        assert_eq!(fresh, Decision::Allowed { hits: 1 });
    }

    #[tokio::test]
    async fn an_ended_window_starts_afresh_and_is_purged() {
        let (_dir, limiter) = sqlite_limiter().await;
        let limit = Limit {
            max: 1,
            window: Duration::from_millis(1),
        };
        limiter
            .hit("t", Subject::Phone("+86"), limit)
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        let d = limiter
            .hit("t", Subject::Phone("+86"), limit)
            .await
            .unwrap();
        assert_eq!(d, Decision::Allowed { hits: 1 });
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert_eq!(limiter.purge_expired().await.unwrap(), 1);
    }
}
