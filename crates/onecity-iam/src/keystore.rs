//! One key store for every signing key of the platform: the OpenID Connect provider's ID
//! and access tokens now (purpose [`PURPOSE_OIDC`]), e-licences later.
//!
//! - Keys are ECDSA P-256 (JWS `ES256`, RFC 7518 §3.4), generated and used through `ring`.
//! - Private keys (PKCS#8) are sealed at rest with AES-256-GCM under the key-encryption key
//!   ([`MasterKey`]), which comes from `ONECITY_MASTER_KEY` or a key file and is never
//!   stored in the database. The key id is bound as additional data, so a sealed key cannot
//!   be moved to another row.
//! - Each purpose has at most one active key (a partial unique index). Rotation retires it
//!   and creates a new one; a retired key signs nothing more but stays published in the
//!   JWKS and accepted for `publish_grace` (default 7 days), so tokens signed just before a
//!   rotation still verify.
//! - `kid` is the key's RFC 7638 JWK thumbprint.
//! - Opening the store unseals every stored key: a master key that cannot decrypt them is
//!   a start-up error that names the key, never a silent new key.
//!
//! Other replicas see a rotation when they meet an unknown `kid` (reload, at most once a
//! second) and at the latest after [`RELOAD_EVERY`].

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use onecity_core::{Error, ErrorCode, Result};
use onecity_store::Db;
use ring::aead;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{self, EcdsaKeyPair, KeyPair};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The purpose of the OpenID Connect provider's signing keys.
pub const PURPOSE_OIDC: &str = "oidc";

/// How often a node reloads the keys from the database even without an unknown `kid`.
pub const RELOAD_EVERY: Duration = Duration::from_secs(60);

/// The key-encryption key: 32 bytes for AES-256-GCM. Its `Debug` shows nothing.
#[derive(Clone)]
pub struct MasterKey([u8; 32]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(…)")
    }
}

impl MasterKey {
    /// Parses 32 bytes written as 64 hex digits or as base64 (standard or URL-safe,
    /// padded or not). Error: `invalid_input` naming the expected forms (never the value).
    pub fn parse(text: &str) -> Result<MasterKey> {
        let t = text.trim();
        let bytes = if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode(t).ok()
        } else {
            STANDARD
                .decode(t)
                .ok()
                .or_else(|| URL_SAFE_NO_PAD.decode(t.trim_end_matches('=')).ok())
        };
        match bytes.and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok()) {
            Some(k) => Ok(MasterKey(k)),
            None => Err(Error::invalid(
                "the master key must be 32 bytes written as 64 hex digits or as base64",
            )),
        }
    }

    /// Reads a key file (its text is parsed as by [`MasterKey::parse`]).
    pub fn from_file(path: &Path) -> Result<MasterKey> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::invalid(format!(
                "cannot read master key file {}: {e}",
                path.display()
            ))
        })?;
        MasterKey::parse(&text).map_err(|e| {
            Error::invalid(format!("master key file {}: {}", path.display(), e.detail))
        })
    }

    /// A new random key.
    pub fn generate() -> MasterKey {
        let mut k = [0u8; 32];
        SystemRandom::new().fill(&mut k).expect("system random");
        MasterKey(k)
    }

    /// The development fallback: reads the key file at `path`, or creates it (random key,
    /// base64, mode 0600 on Unix) when it does not exist. Returns the key and whether it was
    /// created now.
    pub fn load_or_create_file(path: &Path) -> Result<(MasterKey, bool)> {
        if path.exists() {
            return Ok((MasterKey::from_file(path)?, false));
        }
        let key = MasterKey::generate();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::invalid(format!("cannot create {}: {e}", dir.display())))?;
        }
        // Written whole to a private temporary file, then linked into place: a process that
        // races us (two servers started at once) either links first or reads our whole key.
        let mut tmp_name = path.as_os_str().to_owned();
        tmp_name.push(format!(".tmp-{}", onecity_core::new_id().simple()));
        let tmp = std::path::PathBuf::from(tmp_name);
        let cannot = |e: std::io::Error| {
            Error::invalid(format!(
                "cannot create master key file {}: {e}",
                path.display()
            ))
        };
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let written = opts.open(&tmp).and_then(|mut f| {
            std::io::Write::write_all(&mut f, format!("{}\n", STANDARD.encode(key.0)).as_bytes())?;
            f.sync_all()
        });
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(cannot(e));
        }
        let linked = std::fs::hard_link(&tmp, path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Ok((MasterKey::from_file(path)?, false));
            }
            Err(e) => return Err(cannot(e)),
        }
        Ok((key, true))
    }

    fn aead_key(&self) -> aead::LessSafeKey {
        aead::LessSafeKey::new(
            aead::UnboundKey::new(&aead::AES_256_GCM, &self.0).expect("32-byte AES key"),
        )
    }
}

/// Settings of the key store.
#[derive(Debug, Clone)]
pub struct KeyStoreConfig {
    /// How long a retired key stays published and accepted (default 7 days).
    pub publish_grace: Duration,
}

impl Default for KeyStoreConfig {
    fn default() -> Self {
        KeyStoreConfig {
            publish_grace: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// A key as listed (no private part).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct KeyInfo {
    /// Key id (RFC 7638 thumbprint).
    pub kid: String,
    /// Purpose (`oidc`).
    pub purpose: String,
    /// JWS algorithm (`ES256`).
    pub alg: String,
    /// Creation (= activation) time, RFC 3339.
    pub created_at: String,
    /// When it was retired, RFC 3339; `null` for the active key.
    pub retired_at: Option<String>,
    /// Until when a retired key stays published, RFC 3339.
    pub publish_until: Option<String>,
    /// `active`, `retired` (still published) or `expired` (no longer published).
    pub state: String,
}

struct Loaded {
    kid: String,
    purpose: String,
    alg: String,
    jwk: serde_json::Value,
    /// Present for the active key only (the others sign nothing).
    pair: Option<EcdsaKeyPair>,
    /// Uncompressed SEC1 point.
    public: Vec<u8>,
    created_at: i64,
    retired_at: Option<i64>,
    publish_until: Option<i64>,
}

impl Loaded {
    fn published(&self, now: i64) -> bool {
        match self.retired_at {
            None => true,
            Some(_) => self.publish_until.is_some_and(|u| u > now),
        }
    }
}

struct State {
    keys: Vec<Arc<Loaded>>,
    loaded_at: Instant,
}

/// The key store; cheap to clone.
#[derive(Clone)]
pub struct KeyStore {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    master: MasterKey,
    cfg: KeyStoreConfig,
    rng: SystemRandom,
    state: parking_lot::RwLock<State>,
    last_forced_reload: parking_lot::Mutex<Option<Instant>>,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The JWK of a P-256 public point (`0x04 ‖ x ‖ y`) and its RFC 7638 thumbprint.
fn jwk_of(point: &[u8]) -> (serde_json::Value, String) {
    let (x, y) = (b64(&point[1..33]), b64(&point[33..65]));
    // RFC 7638 §3.2: the required members in lexicographic order, no whitespace.
    let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
    let kid = b64(&Sha256::digest(canonical.as_bytes()));
    let jwk = serde_json::json!({
        "kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": kid, "alg": "ES256", "use": "sig"
    });
    (jwk, kid)
}

impl KeyStore {
    /// Opens the store over a migrated database: unseals every stored key with `master`.
    ///
    /// Error: `signing_key_unavailable` naming the first key the master key cannot decrypt
    /// (a wrong `ONECITY_MASTER_KEY` or key file); the server must not start then.
    pub async fn open(db: Db, master: MasterKey, cfg: KeyStoreConfig) -> Result<KeyStore> {
        let ks = KeyStore {
            inner: Arc::new(Inner {
                db,
                master,
                cfg,
                rng: SystemRandom::new(),
                state: parking_lot::RwLock::new(State {
                    keys: Vec::new(),
                    loaded_at: Instant::now(),
                }),
                last_forced_reload: parking_lot::Mutex::new(None),
            }),
        };
        ks.reload().await?;
        Ok(ks)
    }

    /// Reloads every key from the database (unsealing the active ones).
    pub async fn reload(&self) -> Result<()> {
        let rows = crate::store::keys::all(&self.inner.db).await?;
        let mut keys = Vec::with_capacity(rows.len());
        for r in rows {
            let pkcs8 = self.unseal(&r.kid, &r.private_sealed).map_err(|_| {
                Error::new(
                    ErrorCode::SigningKeyUnavailable,
                    format!(
                        "the master key does not decrypt signing key {} (purpose {}): \
                         ONECITY_MASTER_KEY or master_key_file is not the key the stored keys \
                         were sealed with",
                        r.kid, r.purpose
                    ),
                )
            })?;
            let pair = EcdsaKeyPair::from_pkcs8(
                &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                &pkcs8,
                &self.inner.rng,
            )
            .map_err(|_| Error::internal(format!("stored signing key {} is not P-256", r.kid)))?;
            let public = pair.public_key().as_ref().to_vec();
            let jwk: serde_json::Value =
                serde_json::from_str(&r.public_jwk).map_err(Error::internal)?;
            keys.push(Arc::new(Loaded {
                kid: r.kid,
                purpose: r.purpose,
                alg: r.alg,
                jwk,
                pair: r.retired_at.is_none().then_some(pair),
                public,
                created_at: r.created_at,
                retired_at: r.retired_at,
                publish_until: r.publish_until,
            }));
        }
        let mut st = self.inner.state.write();
        st.keys = keys;
        st.loaded_at = Instant::now();
        Ok(())
    }

    fn seal(&self, kid: &str, plain: &[u8]) -> Result<String> {
        let mut nonce = [0u8; 12];
        self.inner.rng.fill(&mut nonce).map_err(Error::internal)?;
        let mut buf = plain.to_vec();
        self.inner
            .master
            .aead_key()
            .seal_in_place_append_tag(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(format!("onecity-key:{kid}").as_bytes()),
                &mut buf,
            )
            .map_err(|_| Error::internal("sealing failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        Ok(format!("v1:{}", STANDARD.encode(out)))
    }

    fn unseal(&self, kid: &str, sealed: &str) -> std::result::Result<Vec<u8>, ()> {
        let raw = sealed
            .strip_prefix("v1:")
            .and_then(|s| STANDARD.decode(s).ok())
            .ok_or(())?;
        if raw.len() < 12 + 16 {
            return Err(());
        }
        let (nonce, ct) = raw.split_at(12);
        let nonce = aead::Nonce::try_assume_unique_for_key(nonce).map_err(|_| ())?;
        let mut buf = ct.to_vec();
        let plain = self
            .inner
            .master
            .aead_key()
            .open_in_place(
                nonce,
                aead::Aad::from(format!("onecity-key:{kid}").as_bytes()),
                &mut buf,
            )
            .map_err(|_| ())?;
        Ok(plain.to_vec())
    }

    async fn fresh(&self) -> Result<()> {
        let stale = self.inner.state.read().loaded_at.elapsed() > RELOAD_EVERY;
        if stale {
            self.reload().await?;
        }
        Ok(())
    }

    fn active(&self, purpose: &str) -> Option<Arc<Loaded>> {
        self.inner
            .state
            .read()
            .keys
            .iter()
            .rev()
            .find(|k| k.purpose == purpose && k.retired_at.is_none())
            .cloned()
    }

    /// Makes sure `purpose` has an active key, creating one (audited as `key.create`) if
    /// not. Safe with several nodes: the database keeps one active key per purpose.
    pub async fn ensure_active(&self, iam: &crate::Iam, purpose: &str) -> Result<()> {
        self.fresh().await?;
        if self.active(purpose).is_some() {
            return Ok(());
        }
        self.reload().await?;
        if self.active(purpose).is_some() {
            return Ok(());
        }
        let mut tx = self.inner.db.begin().await?;
        match self.create_in(&mut tx, iam, purpose, "system", None).await {
            Ok(kid) => match tx.commit().await {
                Ok(()) => tracing::info!(purpose, kid, "signing key created"),
                // Another node created the purpose's key at the same time: use that one.
                Err(e) if e.code == ErrorCode::Conflict => {}
                Err(e) => return Err(e),
            },
            Err(e) if e.code == ErrorCode::Conflict => drop(tx),
            Err(e) => return Err(e),
        }
        self.reload().await
    }

    async fn create_in(
        &self,
        tx: &mut onecity_store::Tx,
        iam: &crate::Iam,
        purpose: &str,
        actor: &str,
        retired: Option<&str>,
    ) -> Result<String> {
        crate::validate_purpose(purpose)?;
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &self.inner.rng,
        )
        .map_err(|_| Error::internal("key generation failed"))?;
        let pair = EcdsaKeyPair::from_pkcs8(
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            pkcs8.as_ref(),
            &self.inner.rng,
        )
        .map_err(|_| Error::internal("generated key does not parse"))?;
        let (jwk, kid) = jwk_of(pair.public_key().as_ref());
        let row = crate::store::keys::KeyRow {
            kid: kid.clone(),
            purpose: purpose.into(),
            alg: "ES256".into(),
            public_jwk: jwk.to_string(),
            private_sealed: self.seal(&kid, pkcs8.as_ref())?,
            created_at: onecity_core::time::now_micros(),
            retired_at: None,
            publish_until: None,
        };
        crate::store::keys::insert(&mut *tx, &row).await?;
        let after =
            serde_json::json!({"kid": kid, "purpose": purpose, "alg": "ES256", "retired": retired});
        iam.record(
            tx,
            &onecity_store::audit::AuditEntry {
                tenant: crate::SYSTEM_TENANT,
                actor,
                action: if retired.is_some() {
                    "key.rotate"
                } else {
                    "key.create"
                },
                resource_type: "signing_key",
                resource_id: &kid,
                after: Some(&after),
                ..Default::default()
            },
            None,
        )
        .await?;
        Ok(kid)
    }

    /// Rotates `purpose`'s key: the active key is retired (published for `publish_grace`
    /// more) and a new one becomes active, in one transaction, audited as `key.rotate` by
    /// `actor`. Returns the new key.
    pub async fn rotate(&self, iam: &crate::Iam, purpose: &str, actor: &str) -> Result<KeyInfo> {
        crate::validate_purpose(purpose)?;
        self.reload().await?;
        let old = self.active(purpose).map(|k| k.kid.clone());
        let now = onecity_core::time::now_micros();
        let grace = i64::try_from(self.inner.cfg.publish_grace.as_micros()).unwrap_or(i64::MAX);
        let mut tx = self.inner.db.begin().await?;
        crate::store::keys::retire_active(&mut tx, purpose, now, now.saturating_add(grace)).await?;
        let kid = self
            .create_in(
                &mut tx,
                iam,
                purpose,
                actor,
                Some(old.as_deref().unwrap_or("")),
            )
            .await?;
        tx.commit().await?;
        self.reload().await?;
        tracing::info!(purpose, kid, retired = ?old, "signing key rotated");
        self.list(Some(purpose))
            .into_iter()
            .find(|k| k.kid == kid)
            .ok_or_else(|| Error::internal("rotated key not found after reload"))
    }

    /// The keys of `purpose` (every purpose when `None`), oldest first.
    pub fn list(&self, purpose: Option<&str>) -> Vec<KeyInfo> {
        let now = onecity_core::time::now_micros();
        self.inner
            .state
            .read()
            .keys
            .iter()
            .filter(|k| purpose.is_none_or(|p| p == k.purpose))
            .map(|k| KeyInfo {
                kid: k.kid.clone(),
                purpose: k.purpose.clone(),
                alg: k.alg.clone(),
                created_at: onecity_core::time::rfc3339(k.created_at),
                retired_at: k.retired_at.map(onecity_core::time::rfc3339),
                publish_until: k.publish_until.map(onecity_core::time::rfc3339),
                state: match (k.retired_at, k.published(now)) {
                    (None, _) => "active",
                    (Some(_), true) => "retired",
                    (Some(_), false) => "expired",
                }
                .into(),
            })
            .collect()
    }

    /// The active key's public JWK for `purpose` (RFC 7517), `None` when it has none yet.
    pub fn active_jwk(&self, purpose: &str) -> Option<serde_json::Value> {
        self.active(purpose).map(|k| k.jwk.clone())
    }

    /// The JWK Set of `purpose` (RFC 7517 §5): the active key first, then the retired keys
    /// still within their publication grace.
    pub async fn jwks(&self, purpose: &str) -> Result<serde_json::Value> {
        self.fresh().await?;
        let now = onecity_core::time::now_micros();
        let st = self.inner.state.read();
        let mut keys: Vec<&Arc<Loaded>> = st
            .keys
            .iter()
            .filter(|k| k.purpose == purpose && k.published(now))
            .collect();
        keys.sort_by_key(|k| (k.retired_at.is_some(), std::cmp::Reverse(k.created_at)));
        Ok(serde_json::json!({"keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>()}))
    }

    /// Signs `payload` with `purpose`'s active key: returns `(kid, signature)`, the
    /// signature being ECDSA P-256 over SHA-256 as JWS wants it (`r ‖ s`, 64 bytes,
    /// RFC 7518 §3.4). Error: `signing_key_unavailable` when the purpose has no key.
    pub fn sign(&self, purpose: &str, payload: &[u8]) -> Result<(String, Vec<u8>)> {
        let key = self.active(purpose).ok_or_else(|| {
            Error::new(
                ErrorCode::SigningKeyUnavailable,
                format!("no active signing key for {purpose:?}"),
            )
        })?;
        let pair = key
            .pair
            .as_ref()
            .ok_or_else(|| Error::internal("active key without its private part"))?;
        let sig = pair
            .sign(&self.inner.rng, payload)
            .map_err(|_| Error::internal("signing failed"))?;
        Ok((key.kid.clone(), sig.as_ref().to_vec()))
    }

    /// A compact JWS (RFC 7515) of `claims` signed with `purpose`'s active key, header
    /// `{"alg":"ES256","typ":typ,"kid":…}`.
    pub fn sign_jwt(&self, purpose: &str, typ: &str, claims: &impl Serialize) -> Result<String> {
        let kid = self.active(purpose).map(|k| k.kid.clone()).ok_or_else(|| {
            Error::new(
                ErrorCode::SigningKeyUnavailable,
                format!("no active signing key for {purpose:?}"),
            )
        })?;
        let header = serde_json::json!({"alg": "ES256", "typ": typ, "kid": kid});
        let body = serde_json::to_vec(claims).map_err(Error::internal)?;
        let input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(&body));
        let (used, sig) = self.sign(purpose, input.as_bytes())?;
        if used != kid {
            // Rotated between the two reads: sign again under the new kid.
            return self.sign_jwt(purpose, typ, claims);
        }
        Ok(format!("{input}.{}", b64(&sig)))
    }

    /// Verifies a compact JWS signed by one of `purpose`'s published keys and returns its
    /// header `typ` and its claims. Checks: three parts, header `alg` = `ES256` (nothing
    /// else, never `none`), a known `kid` of this purpose still published, the signature.
    /// Claims (`exp`, `iss`, `aud`) are the caller's to check. Error: `invalid_credentials`
    /// naming what failed.
    pub async fn verify_jwt(
        &self,
        purpose: &str,
        token: &str,
    ) -> Result<(Option<String>, serde_json::Value)> {
        let bad = |why: &str| {
            Error::new(
                ErrorCode::InvalidCredentials,
                format!("token rejected: {why}"),
            )
        };
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("it is not a compact JWS"));
        };
        let header: serde_json::Value = URL_SAFE_NO_PAD
            .decode(h)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| bad("its header is not base64url JSON"))?;
        if header["alg"] != "ES256" {
            return Err(bad("it is not signed with ES256"));
        }
        let kid = header["kid"]
            .as_str()
            .ok_or_else(|| bad("its header has no kid"))?;
        let now = onecity_core::time::now_micros();
        let find = |ks: &KeyStore| {
            ks.inner
                .state
                .read()
                .keys
                .iter()
                .find(|k| k.kid == kid && k.purpose == purpose)
                .cloned()
        };
        let mut key = find(self);
        if key.is_none() {
            let may_reload = {
                let mut last = self.inner.last_forced_reload.lock();
                let ok = last.is_none_or(|t| t.elapsed() > Duration::from_secs(1));
                if ok {
                    *last = Some(Instant::now());
                }
                ok
            };
            if may_reload {
                self.reload().await?;
                key = find(self);
            }
        }
        let key = key.ok_or_else(|| bad("its kid is not one of our keys"))?;
        if !key.published(now) {
            return Err(bad("its key was retired too long ago"));
        }
        let sig = URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| bad("its signature is not base64url"))?;
        let input_len = h.len() + 1 + p.len();
        signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, &key.public)
            .verify(&token.as_bytes()[..input_len], &sig)
            .map_err(|_| bad("its signature is not ours"))?;
        let claims: serde_json::Value = URL_SAFE_NO_PAD
            .decode(p)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| bad("its payload is not base64url JSON"))?;
        Ok((header["typ"].as_str().map(str::to_string), claims))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn master_keys_parse_as_hex_or_base64_and_nothing_else() {
        let hex64 = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        let k = MasterKey::parse(hex64).unwrap();
        assert_eq!(k.0[1], 0x11);
        let b = STANDARD.encode(k.0);
        assert_eq!(MasterKey::parse(&b).unwrap().0, k.0);
        assert_eq!(
            MasterKey::parse(&URL_SAFE_NO_PAD.encode(k.0)).unwrap().0,
            k.0
        );
        assert!(MasterKey::parse("too short").is_err());
        assert!(MasterKey::parse(&STANDARD.encode([1u8; 31])).is_err());
        assert_eq!(format!("{k:?}"), "MasterKey(…)");
    }

    #[test]
    fn the_development_key_file_is_created_once_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.master-key");
        let (a, created) = MasterKey::load_or_create_file(&path).unwrap();
        assert!(created);
        let (b, created) = MasterKey::load_or_create_file(&path).unwrap();
        assert!(!created);
        assert_eq!(a.0, b.0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary left"
        );
    }

    #[test]
    fn thumbprint_follows_rfc_7638() {
        // RFC 7638 has no P-256 vector; check the canonical form is hashed: a key's kid is
        // the base64url SHA-256 of {"crv","kty","x","y"} in that order.
        let mut point = vec![4u8];
        point.extend([1u8; 32]);
        point.extend([2u8; 32]);
        let (jwk, kid) = jwk_of(&point);
        let canonical = format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            jwk["x"].as_str().unwrap(),
            jwk["y"].as_str().unwrap()
        );
        assert_eq!(kid, b64(&Sha256::digest(canonical.as_bytes())));
        assert_eq!(jwk["kid"], kid.as_str());
        assert_eq!(kid.len(), 43);
    }
}
