//! The file store (材料库): uploaded files (a citizen's materials for a form, a grid
//! worker's photo), content-addressed by SHA-256.
//!
//! - **Where the bytes go.** On an embedded (SQLite) store the content is a file named by
//!   its SHA-256 under the data directory, `<data_dir>/files/<first two hex>/<sha256>`,
//!   written to a temporary name, flushed to disk and renamed, so a crash never leaves a
//!   half-written file under a real name. On PostgreSQL, where replicas share nothing but
//!   the database, the content is a row of `store_file_blobs` (BYTEA) keyed by its SHA-256,
//!   so every replica reads what any replica stored. Either way the same content is stored
//!   once however often it is uploaded; each upload has its own metadata row in
//!   `store_files` (id, tenant, owner, the name as given, the media type found in the
//!   content, size, SHA-256, time).
//! - **Checks before anything is stored.** The name ([`check_name`]: no path separators,
//!   no `..`, no NUL or other control characters, not absolute, at most 255 characters),
//!   the size (a [`FilePolicy`]'s `max_size`), the type found in the content by its magic
//!   bytes ([`sniff`], the `infer` crate), never the name's extension or the declared
//!   `Content-Type` (a `.png` name over PDF bytes is a PDF, text is no known type), the
//!   policy's allowed types (JPEG, PNG and PDF by default), and the owner's file count.
//! - **Audit.** Each upload writes `file.upload` in the transaction of its metadata row;
//!   each read by anyone but the owner writes `file.read` ([`FileStore::read`]). Whether a
//!   reader may read at all is the caller's decision (the services crate: the owner, or
//!   staff holding `service_admin` in the tenant).
//!
//! On SQLite, a crash between writing the content and committing its metadata leaves an
//! unreferenced content file; it is harmless (its name is its hash, and a later upload of
//! the same bytes reuses it). Back up `<data_dir>/files` together with the database.
//!
//! Migration: component `store` v3 ([`MIGRATION`]).

use crate::audit::{AuditEntry, Auditor};
use crate::{args, Backend, Db, Executor, Row};
use onecity_core::{Error, ErrorCode, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::PathBuf;
use uuid::Uuid;

/// Store component migration v3: file metadata and (PostgreSQL) file content.
pub(crate) const MIGRATION: crate::migrate::Migration = crate::migrate::Migration {
    version: 3,
    name: "file store: metadata and content",
    sqlite: r#"
CREATE TABLE store_files (
  id TEXT PRIMARY KEY, tenant TEXT NOT NULL, owner TEXT NOT NULL, name TEXT NOT NULL,
  media_type TEXT NOT NULL, size BIGINT NOT NULL, sha256 TEXT NOT NULL, created_at BIGINT NOT NULL);
CREATE INDEX store_files_owner ON store_files (tenant, owner, created_at);
CREATE INDEX store_files_sha256 ON store_files (sha256);
CREATE TABLE store_file_blobs (sha256 TEXT PRIMARY KEY, size BIGINT NOT NULL, content BLOB NOT NULL, created_at BIGINT NOT NULL);
"#,
    postgres: r#"
CREATE TABLE store_files (
  id TEXT PRIMARY KEY, tenant TEXT NOT NULL, owner TEXT NOT NULL, name TEXT NOT NULL,
  media_type TEXT NOT NULL, size BIGINT NOT NULL, sha256 TEXT NOT NULL, created_at BIGINT NOT NULL);
CREATE INDEX store_files_owner ON store_files (tenant, owner, created_at);
CREATE INDEX store_files_sha256 ON store_files (sha256);
CREATE TABLE store_file_blobs (sha256 TEXT PRIMARY KEY, size BIGINT NOT NULL, content BYTEA NOT NULL, created_at BIGINT NOT NULL);
"#,
};

/// JPEG, PNG and PDF: the types a file question accepts unless it names others.
pub const DEFAULT_TYPES: &[&str] = &["image/jpeg", "image/png", "application/pdf"];

/// Every type a policy may allow: those [`sniff`] recognises and onecity serves back.
pub const KNOWN_TYPES: &[&str] = &["image/jpeg", "image/png", "application/pdf", "image/webp"];

/// The default largest file: 10 MiB.
pub const DEFAULT_MAX_SIZE: u64 = 10 * 1024 * 1024;

/// The largest file any policy may allow: 20 MiB (the upload route's body limit).
pub const MAX_SIZE_LIMIT: u64 = 20 * 1024 * 1024;

/// The default number of files one owner may hold in one tenant.
pub const DEFAULT_MAX_FILES_PER_OWNER: u64 = 500;

/// The longest file name kept, in characters.
pub const MAX_NAME_CHARS: usize = 255;

/// What an upload may be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilePolicy {
    /// Allowed media types, each one of [`KNOWN_TYPES`], as found in the content.
    pub types: Vec<String>,
    /// Largest size in bytes (at most [`MAX_SIZE_LIMIT`]).
    pub max_size: u64,
    /// How many files one owner may hold in the tenant.
    pub max_files_per_owner: u64,
}

impl Default for FilePolicy {
    fn default() -> Self {
        Self {
            types: DEFAULT_TYPES.iter().map(|t| t.to_string()).collect(),
            max_size: DEFAULT_MAX_SIZE,
            max_files_per_owner: DEFAULT_MAX_FILES_PER_OWNER,
        }
    }
}

/// A stored file's metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StoredFile {
    /// File id (UUIDv7).
    pub id: Uuid,
    /// Tenant code.
    pub tenant: String,
    /// Who uploaded it: the audit actor, `user:<id>` or `app:<id>`.
    pub owner: String,
    /// The name as given (checked by [`check_name`]).
    pub name: String,
    /// The media type found in the content (magic bytes), e.g. `image/png`.
    pub media_type: String,
    /// Size in bytes.
    pub size: i64,
    /// Hex SHA-256 of the content (its address in the store).
    pub sha256: String,
    /// When it was uploaded, RFC 3339 UTC.
    pub created_at: String,
}

/// Both languages in one detail, Chinese first, as the catalogue's other bilingual details.
fn bilingual(code: ErrorCode, zh: &str, en: &str) -> Error {
    Error::new(code, format!("{zh} / {en}"))
}

/// Checks a file name as given by a client and returns it trimmed. Refused, with a clear
/// message (422 `invalid_input`): an empty name, more than [`MAX_NAME_CHARS`] characters,
/// a NUL or other control character, a path separator (`/` or `\`), a name that is `.` or
/// `..` or contains `..`, and an absolute or drive path (`C:`).
pub fn check_name(raw: &str) -> Result<String> {
    let name = raw.trim();
    let refuse = |zh: &str, en: &str| Err(bilingual(ErrorCode::InvalidInput, zh, en));
    if name.is_empty() {
        return refuse("文件名不能为空", "the file name is empty");
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return refuse(
            "文件名过长（最多255个字符）",
            "the file name is longer than 255 characters",
        );
    }
    if name.chars().any(char::is_control) {
        return refuse(
            "文件名不能包含控制字符（如NUL）",
            "the file name contains a control character (such as NUL)",
        );
    }
    if name.contains('/') || name.contains('\\') {
        return refuse(
            "文件名不能包含路径（/ 或 \\）",
            "the file name must not contain a path (/ or \\)",
        );
    }
    if name.contains("..") || name == "." {
        return refuse(
            "文件名不能包含“..”",
            "the file name must not contain \"..\"",
        );
    }
    let bytes = name.as_bytes();
    if bytes.len() >= 2 && bytes[1] == b':' && bytes[0].is_ascii_alphabetic() {
        return refuse(
            "文件名不能是绝对路径",
            "the file name must not be an absolute path",
        );
    }
    Ok(name.to_string())
}

/// The media type of `bytes` found by their magic bytes (the `infer` crate), if it is one
/// of [`KNOWN_TYPES`]; `None` for anything else (text, HTML, archives, executables…).
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    let found = infer::get(bytes)?.mime_type();
    KNOWN_TYPES.iter().copied().find(|t| *t == found)
}

/// Human name of a media type for messages.
fn type_name(t: &str) -> &str {
    match t {
        "image/jpeg" => "JPEG",
        "image/png" => "PNG",
        "application/pdf" => "PDF",
        "image/webp" => "WebP",
        other => other,
    }
}

fn mib(bytes: u64) -> String {
    let m = bytes as f64 / (1024.0 * 1024.0);
    if m >= 10.0 || (m - m.round()).abs() < 0.05 {
        format!("{m:.0} MiB")
    } else {
        format!("{m:.1} MiB")
    }
}

/// Checks `bytes` against `policy`: not empty (422), at most `max_size` (413
/// `payload_too_large`), and of an allowed type found in the content (415
/// `unsupported_media_type`, naming what was found and what is allowed). Returns the type.
pub fn check_content(bytes: &[u8], policy: &FilePolicy) -> Result<&'static str> {
    if bytes.is_empty() {
        return Err(bilingual(
            ErrorCode::InvalidInput,
            "文件为空",
            "the file is empty",
        ));
    }
    if bytes.len() as u64 > policy.max_size {
        return Err(bilingual(
            ErrorCode::PayloadTooLarge,
            &format!(
                "文件过大：{}，此处最多 {}",
                mib(bytes.len() as u64),
                mib(policy.max_size)
            ),
            &format!(
                "the file is too large: {}, at most {} here",
                mib(bytes.len() as u64),
                mib(policy.max_size)
            ),
        ));
    }
    let allowed: Vec<&str> = policy.types.iter().map(|t| type_name(t)).collect();
    let allowed = allowed.join(", ");
    match sniff(bytes) {
        Some(t) if policy.types.iter().any(|a| a == t) => Ok(t),
        Some(t) => Err(bilingual(
            ErrorCode::UnsupportedMediaType,
            &format!("文件内容是 {}，此处只接受 {allowed}", type_name(t)),
            &format!(
                "the file's content is {}; only {allowed} is accepted here",
                type_name(t)
            ),
        )),
        None => Err(bilingual(
            ErrorCode::UnsupportedMediaType,
            &format!("无法识别文件内容的类型（按内容检查，不看扩展名），此处只接受 {allowed}"),
            &format!(
                "the file's content is of no accepted type (checked by content, not by its name); only {allowed} is accepted here"
            ),
        )),
    }
}

/// Checks a policy itself: known types only, at least one, sizes within the limit.
pub fn check_policy(policy: &FilePolicy) -> Result<()> {
    if policy.types.is_empty() {
        return Err(Error::invalid("a file policy allows at least one type"));
    }
    if let Some(t) = policy
        .types
        .iter()
        .find(|t| !KNOWN_TYPES.contains(&t.as_str()))
    {
        return Err(Error::invalid(format!(
            "{t:?} is not a type the file store recognises ({})",
            KNOWN_TYPES.join(", ")
        )));
    }
    if policy.max_size == 0 || policy.max_size > MAX_SIZE_LIMIT {
        return Err(Error::invalid(format!(
            "a file's largest size is 1 to {MAX_SIZE_LIMIT} bytes"
        )));
    }
    Ok(())
}

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The file store over one [`Db`]. Cheap to create and clone.
#[derive(Clone)]
pub struct FileStore {
    db: Db,
    dir: Option<PathBuf>,
}

impl FileStore {
    /// The file store of `db`: content under `<data_dir>/files` on SQLite, in
    /// `store_file_blobs` on PostgreSQL.
    pub fn new(db: Db) -> FileStore {
        let dir = db.data_dir().map(|d| d.join("files"));
        FileStore { db, dir }
    }

    /// Where content with this SHA-256 lives on disk (SQLite), or `None` (PostgreSQL).
    pub fn path_of(&self, sha256: &str) -> Option<PathBuf> {
        let dir = self.dir.as_ref()?;
        Some(dir.join(&sha256[..2.min(sha256.len())]).join(sha256))
    }

    /// Stores `bytes` as a file of `owner` in `tenant` after every check (see the module
    /// doc), with a `file.upload` audit record in the same transaction as its metadata.
    ///
    /// Errors: `invalid_input` (name, empty file, too many files), `payload_too_large`,
    /// `unsupported_media_type`.
    pub async fn put(
        &self,
        auditor: &Auditor,
        tenant: &str,
        owner: &str,
        name: &str,
        bytes: &[u8],
        policy: &FilePolicy,
    ) -> Result<StoredFile> {
        let name = check_name(name)?;
        check_policy(policy)?;
        let media_type = check_content(bytes, policy)?;
        let held = count_of_owner(&self.db, tenant, owner).await?;
        if held >= policy.max_files_per_owner as i64 {
            return Err(bilingual(
                ErrorCode::InvalidInput,
                &format!("上传的文件已达上限（{}个）", policy.max_files_per_owner),
                &format!(
                    "you hold the most files allowed ({})",
                    policy.max_files_per_owner
                ),
            ));
        }
        let sha = sha256_hex(bytes);
        let now = onecity_core::time::now_micros();
        let file = StoredFile {
            id: onecity_core::new_id(),
            tenant: tenant.to_string(),
            owner: owner.to_string(),
            name,
            media_type: media_type.to_string(),
            size: bytes.len() as i64,
            sha256: sha.clone(),
            created_at: onecity_core::time::rfc3339(now),
        };
        if let Some(path) = self.path_of(&sha) {
            write_content_file(path, bytes).await?;
        }
        let mut tx = self.db.begin().await?;
        if tx.backend() == Backend::Postgres {
            tx.execute(
                "INSERT INTO store_file_blobs (sha256, size, content, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (sha256) DO NOTHING",
                args![sha.as_str(), file.size, bytes.to_vec(), now],
            )
            .await?;
        }
        tx.execute(
            "INSERT INTO store_files (id, tenant, owner, name, media_type, size, sha256, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            args![
                file.id,
                tenant,
                owner,
                file.name.as_str(),
                media_type,
                file.size,
                sha.as_str(),
                now
            ],
        )
        .await?;
        let after = serde_json::to_value(&file).map_err(Error::internal)?;
        let id = file.id.to_string();
        auditor
            .append(
                &mut tx,
                &AuditEntry {
                    tenant,
                    actor: owner,
                    action: "file.upload",
                    resource_type: "file",
                    resource_id: &id,
                    before: None,
                    after: Some(&after),
                    detail: Some(&format!(
                        "{} {} bytes sha256 {}",
                        media_type, file.size, sha
                    )),
                },
            )
            .await?;
        tx.commit().await?;
        Ok(file)
    }

    /// The metadata of file `id` in `tenant`. Errors: `not_found`.
    pub async fn meta(&self, tenant: &str, id: Uuid) -> Result<StoredFile> {
        file_by_id(&self.db, tenant, id)
            .await?
            .ok_or_else(|| Error::not_found(format!("file {id} does not exist")))
    }

    /// The metadata of several files of `tenant` (those that exist).
    pub async fn metas(&self, tenant: &str, ids: &[Uuid]) -> Result<Vec<StoredFile>> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(f) = file_by_id(&self.db, tenant, *id).await? {
                out.push(f);
            }
        }
        Ok(out)
    }

    /// The content of `file`, read by `reader` (an audit actor). A reader other than the
    /// owner gets a `file.read` audit record, committed before the content is returned.
    /// The caller decides beforehand whether `reader` may read the file at all.
    pub async fn read(
        &self,
        auditor: &Auditor,
        file: &StoredFile,
        reader: &str,
    ) -> Result<Vec<u8>> {
        if reader != file.owner {
            let mut tx = self.db.begin().await?;
            let id = file.id.to_string();
            auditor
                .append(
                    &mut tx,
                    &AuditEntry {
                        tenant: &file.tenant,
                        actor: reader,
                        action: "file.read",
                        resource_type: "file",
                        resource_id: &id,
                        before: None,
                        after: None,
                        detail: Some(&format!("owner {} name {}", file.owner, file.name)),
                    },
                )
                .await?;
            tx.commit().await?;
        }
        self.content(&file.sha256).await
    }

    /// The content stored under `sha256`, from disk (SQLite) or `store_file_blobs`
    /// (PostgreSQL), checked against its hash. Errors: `not_found`; `internal` when the
    /// content no longer matches its hash.
    pub async fn content(&self, sha256: &str) -> Result<Vec<u8>> {
        let bytes = match self.path_of(sha256) {
            Some(path) => match tokio::fs::read(&path).await {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(Error::not_found("the file's content is gone"))
                }
                Err(e) => return Err(Error::internal(format!("reading {}: {e}", path.display()))),
            },
            None => blob(&self.db, sha256)
                .await?
                .ok_or_else(|| Error::not_found("the file's content is gone"))?,
        };
        if sha256_hex(&bytes) != sha256 {
            return Err(Error::internal(format!(
                "file content {sha256} does not match its hash"
            )));
        }
        Ok(bytes)
    }
}

/// Writes `bytes` to `path` unless a file is there already (same name, same content):
/// a temporary file in the same folder, flushed to disk, then renamed.
async fn write_content_file(path: PathBuf, bytes: &[u8]) -> Result<()> {
    let bytes = bytes.to_vec();
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        if path.is_file() {
            return Ok(());
        }
        let dir = path.parent().unwrap_or(std::path::Path::new("."));
        std::fs::create_dir_all(dir)?;
        let tmp = dir.join(format!(".tmp-{}", onecity_core::new_id().simple()));
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, &path)
    })
    .await
    .map_err(Error::internal)?
    .map_err(|e| Error::internal(format!("storing a file: {e}")))
}

fn file_from_row(r: &Row) -> Result<StoredFile> {
    Ok(StoredFile {
        id: r.uuid("id")?,
        tenant: r.text("tenant")?,
        owner: r.text("owner")?,
        name: r.text("name")?,
        media_type: r.text("media_type")?,
        size: r.i64("size")?,
        sha256: r.text("sha256")?,
        created_at: onecity_core::time::rfc3339(r.i64("created_at")?),
    })
}

async fn file_by_id(mut ex: impl Executor, tenant: &str, id: Uuid) -> Result<Option<StoredFile>> {
    ex.fetch_optional(
        "SELECT id, tenant, owner, name, media_type, size, sha256, created_at FROM store_files \
         WHERE id = $1 AND tenant = $2",
        args![id, tenant],
    )
    .await?
    .as_ref()
    .map(file_from_row)
    .transpose()
}

async fn count_of_owner(mut ex: impl Executor, tenant: &str, owner: &str) -> Result<i64> {
    let row = ex
        .fetch_optional(
            "SELECT COUNT(*) AS n FROM store_files WHERE tenant = $1 AND owner = $2",
            args![tenant, owner],
        )
        .await?;
    match row {
        Some(r) => r.i64("n"),
        None => Ok(0),
    }
}

async fn blob(mut ex: impl Executor, sha256: &str) -> Result<Option<Vec<u8>>> {
    ex.fetch_optional(
        "SELECT content FROM store_file_blobs WHERE sha256 = $1",
        args![sha256],
    )
    .await?
    .map(|r| r.bytes("content"))
    .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
    const PDF: &[u8] = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n";
    const JPEG: &[u8] = b"\xff\xd8\xff\xe0\0\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0\xff\xd9";

    #[test]
    fn names_with_path_tricks_are_refused() {
        for bad in [
            "",
            "   ",
            "../etc/passwd",
            "..",
            ".",
            "a/b.png",
            "a\\b.png",
            "..\\..\\boot.ini",
            "/etc/passwd",
            "C:\\Windows\\x.pdf",
            "C:x.pdf",
            "x\0.png",
            "bad\nname.png",
            "evil..png",
        ] {
            let e = check_name(bad).expect_err(bad);
            assert_eq!(e.code, ErrorCode::InvalidInput, "{bad:?}");
            assert!(e.detail.contains(" / "), "bilingual: {}", e.detail);
        }
        assert_eq!(check_name(" 出生证明.pdf ").unwrap(), "出生证明.pdf");
        assert_eq!(check_name("scan 1.v2.png").unwrap(), "scan 1.v2.png");
        assert!(check_name(&"a".repeat(256)).is_err());
        assert!(check_name(&"名".repeat(255)).is_ok());
    }

    #[test]
    fn types_come_from_the_content() {
        assert_eq!(sniff(PNG), Some("image/png"));
        assert_eq!(sniff(PDF), Some("application/pdf"));
        assert_eq!(sniff(JPEG), Some("image/jpeg"));
        assert_eq!(sniff(b"just some text, named photo.png"), None);
        assert_eq!(sniff(b"<html><script>alert(1)</script></html>"), None);
        let policy = FilePolicy::default();
        assert_eq!(check_content(PDF, &policy).unwrap(), "application/pdf");
        let images_only = FilePolicy {
            types: vec!["image/png".into(), "image/jpeg".into()],
            ..FilePolicy::default()
        };
        let e = check_content(PDF, &images_only).unwrap_err();
        assert_eq!(e.code, ErrorCode::UnsupportedMediaType);
        assert!(
            e.detail.contains("PDF") && e.detail.contains("PNG, JPEG"),
            "{}",
            e.detail
        );
        let e = check_content(b"hello", &policy).unwrap_err();
        assert_eq!(e.code, ErrorCode::UnsupportedMediaType);
        let small = FilePolicy {
            max_size: 10,
            ..FilePolicy::default()
        };
        let e = check_content(PDF, &small).unwrap_err();
        assert_eq!(e.code, ErrorCode::PayloadTooLarge);
        assert_eq!(
            check_content(b"", &policy).unwrap_err().code,
            ErrorCode::InvalidInput
        );
    }

    #[test]
    fn policies_are_checked() {
        assert!(check_policy(&FilePolicy::default()).is_ok());
        let mut p = FilePolicy::default();
        p.types.push("text/html".into());
        assert!(check_policy(&p).is_err());
        p = FilePolicy {
            max_size: MAX_SIZE_LIMIT + 1,
            ..FilePolicy::default()
        };
        assert!(check_policy(&p).is_err());
        p.types.clear();
        assert!(check_policy(&p).is_err());
    }

    #[tokio::test]
    async fn content_is_stored_once_under_its_hash_on_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open_sqlite(dir.path(), &Default::default())
            .await
            .unwrap();
        crate::migrate::run(&db, "store", crate::migrations())
            .await
            .unwrap();
        let auditor = Auditor::load(&db).await.unwrap();
        let store = FileStore::new(db.clone());
        let policy = FilePolicy::default();
        let a = store
            .put(&auditor, "t1", "user:a", "scan.png", PNG, &policy)
            .await
            .unwrap();
        let b = store
            .put(&auditor, "t1", "user:b", "copy.png", PNG, &policy)
            .await
            .unwrap();
        assert_ne!(a.id, b.id);
        assert_eq!(a.sha256, b.sha256);
        assert_eq!(a.sha256, sha256_hex(PNG));
        assert_eq!(a.media_type, "image/png");
        let path = dir
            .path()
            .join("files")
            .join(&a.sha256[..2])
            .join(&a.sha256);
        assert_eq!(std::fs::read(&path).unwrap(), PNG);
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1
        );
        assert_eq!(store.meta("t1", a.id).await.unwrap(), a);
        assert_eq!(
            store.meta("t2", a.id).await.unwrap_err().code,
            ErrorCode::NotFound
        );
        // The owner's read is not audited; another reader's is.
        assert_eq!(store.read(&auditor, &a, "user:a").await.unwrap(), PNG);
        assert_eq!(store.read(&auditor, &a, "user:admin").await.unwrap(), PNG);
        let page = auditor
            .query(
                &db,
                &crate::audit::AuditFilter {
                    tenant: "t1".into(),
                    ..Default::default()
                },
                &onecity_core::page::PageQuery::default(),
            )
            .await
            .unwrap();
        let actions: Vec<(&str, &str)> = page
            .items
            .iter()
            .map(|r| (r.action.as_str(), r.actor.as_str()))
            .collect();
        assert_eq!(actions.iter().filter(|a| a.0 == "file.read").count(), 1);
        assert!(actions.contains(&("file.read", "user:admin")));
        assert_eq!(actions.iter().filter(|a| a.0 == "file.upload").count(), 2);
        // A refused upload stores nothing.
        let before = std::fs::read_dir(dir.path().join("files")).unwrap().count();
        assert!(store
            .put(&auditor, "t1", "user:a", "../x.pdf", PDF, &policy)
            .await
            .is_err());
        assert!(store
            .put(&auditor, "t1", "user:a", "x.png", b"text", &policy)
            .await
            .is_err());
        assert_eq!(
            std::fs::read_dir(dir.path().join("files")).unwrap().count(),
            before
        );
        // The owner's count limit.
        let one = FilePolicy {
            max_files_per_owner: 1,
            ..FilePolicy::default()
        };
        let e = store
            .put(&auditor, "t1", "user:a", "more.pdf", PDF, &one)
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidInput);
    }
}
