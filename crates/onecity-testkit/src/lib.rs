//! onecity-testkit: real test servers for integration tests (a dev-dependency only).
//!
//! [`TestServer::start`] runs the real `onecity` binary as a child process on a free port
//! with a fresh store: a temporary SQLite directory, or, when `ONECITY_TEST_BACKEND=postgres`
//! (and `ONECITY_TEST_DATABASE_URL` names a server), a fresh PostgreSQL database created
//! for that one server. Tests that need a service read its URL through [`require_env`]:
//! outside CI a missing variable skips the test with a message; under `CI=true` it fails.

use anyhow::{anyhow, bail, Context};
use onecity_store::{Db, DbOptions};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Which store the test run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite (default).
    Sqlite,
    /// PostgreSQL from `ONECITY_TEST_DATABASE_URL`.
    Postgres,
}

/// The backend chosen by `ONECITY_TEST_BACKEND` (`sqlite` by default).
pub fn backend() -> Backend {
    match std::env::var("ONECITY_TEST_BACKEND").as_deref() {
        Ok("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    }
}

/// True under `CI=true` or `ONECITY_TEST_STRICT` (set to anything but empty or `0`): a
/// test whose service is missing then fails instead of skipping.
pub fn strict() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
        || std::env::var("ONECITY_TEST_STRICT").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Reads a service URL a test needs. Missing: when [`strict`] panics; otherwise prints
/// that the test is skipped and returns `None`.
pub fn require_env(name: &str) -> Option<String> {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            if strict() {
                panic!("{name} is not set, and CI=true or ONECITY_TEST_STRICT is set: this test needs it");
            }
            eprintln!("SKIPPED: {name} is not set (set it to run this test)");
            None
        }
    }
}

/// Creates a fresh PostgreSQL database on the server of `ONECITY_TEST_DATABASE_URL` and
/// returns its URL.
pub async fn fresh_pg_database() -> anyhow::Result<String> {
    let base = require_env("ONECITY_TEST_DATABASE_URL").ok_or_else(|| {
        anyhow!("ONECITY_TEST_DATABASE_URL is not set but ONECITY_TEST_BACKEND=postgres")
    })?;
    let db = Db::open_postgres(
        &base,
        &DbOptions {
            max_connections: 2,
            ..Default::default()
        },
    )
    .await
    .map_err(|e| anyhow!("{e}"))?;
    // Named after the run's database, so that CI's clean-up of `<run db>_*` finds it.
    let run_db = base
        .rsplit('/')
        .next()
        .unwrap_or("onecity")
        .split('?')
        .next()
        .unwrap_or("onecity");
    let prefix: String = run_db
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(28)
        .collect();
    let name = format!("{prefix}_{}", onecity_core::new_id().simple());
    db.execute(&format!("CREATE DATABASE {name}"), &[])
        .await
        .map_err(|e| anyhow!("create database: {e}"))?;
    db.close().await;
    let (head, _) = base
        .rsplit_once('/')
        .ok_or_else(|| anyhow!("ONECITY_TEST_DATABASE_URL has no database part"))?;
    Ok(format!("{head}/{name}"))
}

/// Start options.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Load the demo tenants (`--demo --demo-data ../shared/data`).
    pub demo: bool,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
    /// Extra `serve` arguments.
    pub args: Vec<String>,
}

/// A running `onecity serve` child process with its own store.
pub struct TestServer {
    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub url: String,
    /// HTTP client.
    pub http: reqwest::Client,
    /// The admin's password.
    pub admin_password: String,
    /// Data directory (SQLite lives here).
    pub data_dir: tempfile::TempDir,
    /// PostgreSQL URL when the backend is PostgreSQL.
    pub database_url: Option<String>,
    /// Captured stderr lines of the server.
    pub log: Arc<Mutex<Vec<String>>>,
    bin: PathBuf,
    opts: Options,
    child: Option<Child>,
    /// False for a sibling ([`TestServer::start_sibling`]): the database is its first
    /// server's, dropped with that one.
    owns_database: bool,
}

/// The repository root (where `../shared/data` resolves).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repo root")
}

impl TestServer {
    /// Starts a server from binary `bin` and waits until `/readyz` answers 200.
    pub async fn start(bin: &Path, opts: Options) -> anyhow::Result<TestServer> {
        let data_dir = tempfile::tempdir()?;
        let database_url = match backend() {
            Backend::Sqlite => None,
            Backend::Postgres => Some(fresh_pg_database().await?),
        };
        let mut s = TestServer {
            url: String::new(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()?,
            admin_password: format!("Adm1n-{}", onecity_core::new_id().simple()),
            data_dir,
            database_url,
            log: Arc::new(Mutex::new(Vec::new())),
            bin: bin.to_path_buf(),
            opts,
            child: None,
            owns_database: true,
        };
        s.spawn(&[]).await?;
        Ok(s)
    }

    /// Starts a server on a fresh PostgreSQL database of `ONECITY_TEST_DATABASE_URL`
    /// whatever `ONECITY_TEST_BACKEND` says (tests of several replicas on one database).
    /// `Ok(None)` when the variable is unset (the test is skipped), except under
    /// [`strict`], where that is an error.
    pub async fn start_postgres(bin: &Path, opts: Options) -> anyhow::Result<Option<TestServer>> {
        if require_env("ONECITY_TEST_DATABASE_URL").is_none() {
            return Ok(None);
        }
        let mut s = TestServer {
            url: String::new(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()?,
            admin_password: format!("Adm1n-{}", onecity_core::new_id().simple()),
            data_dir: tempfile::tempdir()?,
            database_url: Some(fresh_pg_database().await?),
            log: Arc::new(Mutex::new(Vec::new())),
            bin: bin.to_path_buf(),
            opts,
            child: None,
            owns_database: true,
        };
        s.spawn(&[]).await?;
        Ok(Some(s))
    }

    /// Starts a second `onecity serve` process on this server's PostgreSQL database (a
    /// replica), with the same admin password and `opts`. Errors on SQLite, whose store
    /// is one process's.
    pub async fn start_sibling(&self, opts: Options) -> anyhow::Result<TestServer> {
        let Some(url) = &self.database_url else {
            bail!("a sibling server needs PostgreSQL (ONECITY_TEST_BACKEND=postgres)");
        };
        let mut s = TestServer {
            url: String::new(),
            http: self.http.clone(),
            admin_password: self.admin_password.clone(),
            data_dir: tempfile::tempdir()?,
            database_url: Some(url.clone()),
            log: Arc::new(Mutex::new(Vec::new())),
            bin: self.bin.clone(),
            opts,
            child: None,
            owns_database: false,
        };
        s.spawn(&[]).await?;
        Ok(s)
    }

    /// `--data-dir …` or `--database-url …` for CLI subcommands on this server's store.
    pub fn store_args(&self) -> Vec<String> {
        match &self.database_url {
            Some(u) => vec!["--database-url".into(), u.clone()],
            None => vec![
                "--data-dir".into(),
                self.data_dir.path().display().to_string(),
            ],
        }
    }

    /// Opens this server's store directly (to inspect or tamper with it in tests).
    pub async fn open_store(&self) -> anyhow::Result<Db> {
        let o = DbOptions {
            max_connections: 2,
            ..Default::default()
        };
        match &self.database_url {
            Some(u) => Db::open_postgres(u, &o).await,
            None => Db::open_sqlite(self.data_dir.path(), &o).await,
        }
        .map_err(|e| anyhow!("{e}"))
    }

    /// Runs a CLI subcommand of the same binary on this server's store; returns
    /// (exit code, stdout, stderr).
    pub fn cli(&self, args: &[&str]) -> anyhow::Result<(i32, String, String)> {
        let mut cmd = Command::new(&self.bin);
        cmd.args(args)
            .args(self.store_args())
            .current_dir(repo_root());
        let out = cmd.output()?;
        Ok((
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into(),
            String::from_utf8_lossy(&out.stderr).into(),
        ))
    }

    async fn spawn(&mut self, extra_env: &[(&str, &str)]) -> anyhow::Result<()> {
        let mut cmd = Command::new(&self.bin);
        cmd.arg("serve")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .args(self.store_args());
        if self.opts.demo {
            cmd.arg("--demo")
                .arg("--demo-data")
                .arg(repo_root().join("../shared/data"));
        }
        cmd.args(&self.opts.args)
            .current_dir(repo_root())
            .env("ONECITY_ADMIN_PASSWORD", &self.admin_password)
            .env("ONECITY_LOG_LEVEL", "warn")
            .envs(self.opts.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .envs(extra_env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .with_context(|| format!("cannot start {}", self.bin.display()))?;
        let stderr = child.stderr.take().expect("piped");
        let (tx, rx) = std::sync::mpsc::channel();
        let log = self.log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("onecity listening on ") {
                    let url = rest.split_whitespace().next().unwrap_or("").to_string();
                    let _ = tx.send(url);
                }
                log.lock().expect("log lock").push(line);
            }
        });
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(120);
        let url = loop {
            if let Ok(u) = rx.try_recv() {
                break u;
            }
            if let Some(st) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                bail!(
                    "server exited with {st} before listening; log:\n{}",
                    self.log_text()
                );
            }
            if Instant::now() > deadline {
                bail!(
                    "server did not become ready in 120 s; log:\n{}",
                    self.log_text()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        self.url = url;
        // "listening" is printed once ready; double-check readiness.
        let r = self.http.get(format!("{}/readyz", self.url)).send().await?;
        if r.status() != 200 {
            bail!("readyz answered {} after the ready line", r.status());
        }
        Ok(())
    }

    /// The server's log so far.
    pub fn log_text(&self) -> String {
        self.log.lock().expect("log lock").join("\n")
    }

    /// The server process's id while it runs (e.g. to read `/proc/<pid>/status`).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The server process's resident memory in KiB (`VmRSS` of `/proc/<pid>/status`;
    /// Linux only, `None` elsewhere or when it is not running).
    pub fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()?)).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// Kills the server with SIGKILL (no shutdown work runs).
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Sends SIGTERM and waits up to `timeout` for the exit status.
    pub fn terminate(&mut self, timeout: Duration) -> anyhow::Result<std::process::ExitStatus> {
        let mut c = self.child.take().ok_or_else(|| anyhow!("not running"))?;
        Command::new("kill")
            .arg("-TERM")
            .arg(c.id().to_string())
            .status()?;
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(st) = c.try_wait()? {
                return Ok(st);
            }
            if Instant::now() > deadline {
                let _ = c.kill();
                bail!("server did not stop within {timeout:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts the server again on the same store (new port), with extra environment.
    pub async fn restart(&mut self, extra_env: &[(&str, &str)]) -> anyhow::Result<()> {
        self.kill9();
        self.spawn(extra_env).await
    }

    /// Logs in and returns a session token.
    pub async fn login(&self, username: &str, password: &str) -> anyhow::Result<String> {
        let r = self
            .http
            .post(format!("{}/api/v1/auth/login", self.url))
            .json(&serde_json::json!({"username": username, "password": password}))
            .send()
            .await?;
        let status = r.status();
        let body: serde_json::Value = r.json().await?;
        if status != 200 {
            bail!("login failed: {status} {body}");
        }
        Ok(body["token"].as_str().unwrap_or_default().to_string())
    }

    /// A session token of the platform admin.
    pub async fn admin_token(&self) -> anyhow::Result<String> {
        self.login("admin", &self.admin_password).await
    }

    /// GET with a bearer credential; returns (status, JSON body or Null). Every error body
    /// is checked with [`assert_no_internals`].
    pub async fn get(&self, path: &str, cred: &str) -> anyhow::Result<(u16, serde_json::Value)> {
        let r = self
            .http
            .get(format!("{}{path}", self.url))
            .bearer_auth(cred)
            .send()
            .await?;
        let st = r.status().as_u16();
        let text = r.text().await?;
        if st >= 400 {
            assert_no_internals(&text);
        }
        Ok((
            st,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
        ))
    }

    /// POST JSON with a bearer credential; returns (status, JSON body or Null). Every error
    /// body is checked with [`assert_no_internals`].
    pub async fn post(
        &self,
        path: &str,
        cred: &str,
        body: &serde_json::Value,
    ) -> anyhow::Result<(u16, serde_json::Value)> {
        let r = self
            .http
            .post(format!("{}{path}", self.url))
            .bearer_auth(cred)
            .json(body)
            .send()
            .await?;
        let st = r.status().as_u16();
        let text = r.text().await?;
        if st >= 400 {
            assert_no_internals(&text);
        }
        Ok((
            st,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
        ))
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill9();
        if !self.owns_database {
            return;
        }
        if let Some(url) = self.database_url.take() {
            // Drop the per-test database on a thread of its own (Drop cannot await).
            let _ = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                rt.block_on(async move {
                    let Some((head, name)) = url.rsplit_once('/') else {
                        return;
                    };
                    let Ok(db) = Db::open_postgres(
                        &format!("{head}/postgres"),
                        &DbOptions {
                            max_connections: 1,
                            ..Default::default()
                        },
                    )
                    .await
                    else {
                        return;
                    };
                    let _ = db
                        .execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"), &[])
                        .await;
                    db.close().await;
                });
            })
            .join();
        }
    }
}

/// Words that would betray the server's internals in an error body: the store engines and
/// driver, and file-system paths (issue 12: error bodies never carry driver, SQL or
/// file-system text).
pub const INTERNAL_WORDS: &[&str] = &[
    "database", "sqlx", "sqlite", "postgres", "/var/", "/tmp/", "/root/", "/home/", "/usr/",
    "/etc/", ".rs:",
];

/// Panics when an error body names the store engine, its driver or a file-system path
/// (compared case-insensitively), or the checkout's own directory.
pub fn assert_no_internals(body: &str) {
    let lower = body.to_lowercase();
    // The checkout's own location, wherever it is cloned.
    let checkout = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map(|p| p.display().to_string().to_lowercase())
        .unwrap_or_default();
    assert!(
        checkout.len() < 2 || !lower.contains(&checkout),
        "an error body shows the server's file paths: {body}"
    );
    for word in INTERNAL_WORDS {
        assert!(
            !lower.contains(word),
            "an error body shows internals ({word:?}): {body}"
        );
    }
}
