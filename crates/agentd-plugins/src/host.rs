//! Host functions: what a plugin may ask of agentd through `agentd::call`,
//! each behind a [`Capability`] the manifest requests and the user grants.
//!
//! Requests are `{"fn": "git.status", "args": {…}}`; answers `{"ok": …}` or
//! `{"error": "…"}` (a refusal names the capability and where to grant it).
//! Every function shares the call's deadline.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::manifest::Capability;

/// Who calls, for what, until when.
#[derive(Debug, Clone)]
pub struct CallCtx {
    /// The plugin.
    pub plugin: String,
    /// What its manifest asks for.
    pub requested: BTreeSet<Capability>,
    /// What the user granted it (`[plugins.grants]`).
    pub granted: BTreeSet<Capability>,
    /// The session's working directory (git runs there).
    pub cwd: Option<String>,
    /// When the call must be over.
    pub deadline: Instant,
}

/// The functions behind `agentd::call`.
pub trait Host: Send + Sync {
    /// Runs `f` (`git.status`, …) with `args` for `ctx`; capabilities are
    /// already checked.
    ///
    /// # Errors
    /// What went wrong, for the plugin to read.
    fn call(&self, ctx: &CallCtx, f: &str, args: &Value) -> Result<Value, String>;
}

/// Checks and runs one request (`agentd::call`'s body).
pub fn dispatch(host: &dyn Host, ctx: &CallCtx, request: &[u8]) -> Value {
    let req: Value = match serde_json::from_slice(request) {
        Ok(v) => v,
        Err(e) => return json!({"error": format!("the request is not JSON: {e}")}),
    };
    let Some(f) = req.get("fn").and_then(Value::as_str) else {
        return json!({"error": "the request has no `fn`"});
    };
    let Some(cap) = Capability::of_function(f) else {
        return json!({"error": format!("no host function `{f}`")});
    };
    if !ctx.requested.contains(&cap) {
        return json!({"error": format!(
            "`{f}` needs capability `{}`, which the manifest of {} does not request",
            cap.as_str(), ctx.plugin
        )});
    }
    if !ctx.granted.contains(&cap) {
        return json!({"error": format!(
            "`{f}` needs capability `{cap}`, not granted to {plugin}: in agentd.toml, under [plugins.grants], list it: {plugin} = [\"{cap}\"]",
            cap = cap.as_str(), plugin = ctx.plugin
        )});
    }
    if Instant::now() >= ctx.deadline {
        return json!({"error": "the call's deadline has passed"});
    }
    let args = req.get("args").cloned().unwrap_or(Value::Null);
    match host.call(ctx, f, &args) {
        Ok(v) => json!({ "ok": v }),
        Err(e) => json!({ "error": e }),
    }
}

/// The standard host: git, a key-value store, the clock, telemetry, HTTP
/// to allowed hosts and GitHub ([`crate::net`]), the Docker Engine
/// ([`crate::docker`]).
pub struct StdHost {
    kv: Mutex<Option<rusqlite::Connection>>,
    kv_path: PathBuf,
    git: PathBuf,
    telemetry: crate::telemetry::Telemetry,
    net: crate::net::Net,
    docker: crate::docker::Docker,
}

/// Whether `r` is a revision range git takes as one (never an option).
fn valid_range(r: &str) -> bool {
    !r.is_empty()
        && r.len() <= 200
        && !r.starts_with('-')
        && r.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._/~^@{}-:".contains(&b))
}

/// Largest git output kept, bytes.
const MAX_GIT_BYTES: usize = 64 * 1024;
/// Largest key-value value, bytes.
const MAX_KV_BYTES: usize = 64 * 1024;

impl StdHost {
    /// A host whose key-value store is the SQLite file `kv_path` (opened on
    /// first use).
    pub fn new(kv_path: PathBuf) -> StdHost {
        StdHost {
            kv: Mutex::new(None),
            kv_path,
            git: PathBuf::from("git"),
            telemetry: Default::default(),
            net: crate::net::Net::new(crate::net::NetConfig::default()),
            docker: crate::docker::Docker::default(),
        }
    }

    /// This host with the Docker Engine at `socket`.
    pub fn with_docker(mut self, socket: impl AsRef<Path>) -> StdHost {
        self.docker = crate::docker::Docker::new(socket);
        self
    }

    /// This host with the network the user allows plugins (by default no
    /// host, no GitHub token).
    pub fn with_net(mut self, config: crate::net::NetConfig) -> StdHost {
        self.net = crate::net::Net::new(config);
        self
    }

    /// The metrics plugins record here (for `/metrics`).
    pub fn telemetry(&self) -> crate::telemetry::Telemetry {
        self.telemetry.clone()
    }

    fn telemetry_call(&self, ctx: &CallCtx, f: &str, args: &Value) -> Result<Value, String> {
        let name = args.get("name").and_then(Value::as_str).unwrap_or_default();
        match f {
            "telemetry.counter" => {
                let by = args.get("value").and_then(Value::as_f64).unwrap_or(1.0);
                self.telemetry.count(&ctx.plugin, name, by)?;
            }
            "telemetry.histogram" => {
                let v = args
                    .get("value")
                    .and_then(Value::as_f64)
                    .ok_or("`value` (a number) is required")?;
                self.telemetry.observe(&ctx.plugin, name, v)?;
            }
            "telemetry.log" => {
                let message = args
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                tracing::info!(plugin = ctx.plugin, message = %truncate(message), "plugin log");
            }
            _ => return Err(format!("no host function `{f}`")),
        }
        Ok(Value::Null)
    }

    fn git(&self, ctx: &CallCtx, f: &str, args: &Value) -> Result<Value, String> {
        let cwd = ctx
            .cwd
            .as_deref()
            .ok_or("the session has no working directory")?;
        let dir = Path::new(cwd);
        if !dir.is_dir() {
            return Err(format!("{cwd} is not a directory"));
        }
        let n = args
            .get("n")
            .and_then(Value::as_u64)
            .unwrap_or(10)
            .clamp(1, 100);
        let n = n.to_string();
        let range = match args.get("range").and_then(Value::as_str) {
            Some(r) if valid_range(r) => Some(r),
            Some(r) => {
                return Err(format!(
                    "`range` `{r}` is not a revision range such as origin/main..HEAD"
                ));
            }
            None => None,
        };
        let argv: Vec<&str> = match f {
            "git.status" => vec!["status", "--porcelain=v1", "--branch"],
            "git.branch" => vec!["rev-parse", "--abbrev-ref", "HEAD"],
            "git.diff" => {
                let mut v = vec!["diff", "--no-ext-diff", "--no-textconv", "--stat"];
                v.extend(range);
                v.push("--");
                v
            }
            "git.log" => vec!["log", "--no-decorate", "--format=%h %s", "-n", &n],
            "git.default_branch" => vec!["symbolic-ref", "--short", "refs/remotes/origin/HEAD"],
            _ => return Err(format!("no host function `{f}`")),
        };
        let out = self.run_git(dir, &argv, ctx.deadline)?;
        Ok(json!(out.trim_end()))
    }

    /// Runs git read-only: no optional locks, no fsmonitor or hooks a
    /// repository could configure to run code, killed at the deadline.
    fn run_git(&self, dir: &Path, argv: &[&str], deadline: Instant) -> Result<String, String> {
        let mut child = Command::new(&self.git)
            .arg("-C")
            .arg(dir)
            .args([
                "-c",
                "core.fsmonitor=false",
                "-c",
                "core.hooksPath=/dev/null",
            ])
            .args(argv)
            .env("GIT_OPTIONAL_LOCKS", "0")
            .env("GIT_TERMINAL_PROMPT", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run git: {e}"))?;
        loop {
            match child.try_wait() {
                Ok(Some(status)) => {
                    let mut out = Vec::new();
                    if let Some(s) = child.stdout.take() {
                        let _ = s.take(MAX_GIT_BYTES as u64).read_to_end(&mut out);
                    }
                    if !status.success() {
                        let mut err = Vec::new();
                        if let Some(s) = child.stderr.take() {
                            let _ = s.take(4096).read_to_end(&mut err);
                        }
                        return Err(format!(
                            "git {} failed: {}",
                            argv.first().unwrap_or(&""),
                            String::from_utf8_lossy(&err).trim()
                        ));
                    }
                    return Ok(String::from_utf8_lossy(&out).into_owned());
                }
                Ok(None) if Instant::now() >= deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err("git did not finish before the call's deadline".into());
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(1)),
                Err(e) => return Err(format!("waiting for git: {e}")),
            }
        }
    }

    fn kv(&self, ctx: &CallCtx, f: &str, args: &Value) -> Result<Value, String> {
        let key = args
            .get("key")
            .and_then(Value::as_str)
            .ok_or("`key` (a string) is required")?;
        if key.len() > 1024 {
            return Err("`key` is over 1 KiB".into());
        }
        let mut guard = self
            .kv
            .lock()
            .map_err(|_| "the key-value store is poisoned")?;
        if guard.is_none() {
            let c = rusqlite::Connection::open(&self.kv_path)
                .map_err(|e| format!("cannot open {}: {e}", self.kv_path.display()))?;
            c.busy_timeout(Duration::from_millis(20))
                .and_then(|_| {
                    c.execute_batch(
                        "CREATE TABLE IF NOT EXISTS kv (plugin TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (plugin, key))",
                    )
                })
                .map_err(|e| e.to_string())?;
            *guard = Some(c);
        }
        let c = guard.as_ref().ok_or("the key-value store is not open")?;
        match f {
            "kv.get" => {
                let v: Option<String> = c
                    .query_row(
                        "SELECT value FROM kv WHERE plugin = ?1 AND key = ?2",
                        (&ctx.plugin, key),
                        |r| r.get(0),
                    )
                    .map(Some)
                    .or_else(|e| match e {
                        rusqlite::Error::QueryReturnedNoRows => Ok(None),
                        e => Err(e.to_string()),
                    })?;
                Ok(v.and_then(|s| serde_json::from_str(&s).ok())
                    .unwrap_or(Value::Null))
            }
            "kv.set" => {
                let value = args.get("value").cloned().unwrap_or(Value::Null);
                let text = value.to_string();
                if text.len() > MAX_KV_BYTES {
                    return Err(format!("the value is over {MAX_KV_BYTES} bytes"));
                }
                c.execute(
                    "INSERT INTO kv (plugin, key, value) VALUES (?1, ?2, ?3) ON CONFLICT (plugin, key) DO UPDATE SET value = excluded.value",
                    (&ctx.plugin, key, &text),
                )
                .map_err(|e| e.to_string())?;
                Ok(Value::Null)
            }
            "kv.delete" => {
                c.execute(
                    "DELETE FROM kv WHERE plugin = ?1 AND key = ?2",
                    (&ctx.plugin, key),
                )
                .map_err(|e| e.to_string())?;
                Ok(Value::Null)
            }
            _ => Err(format!("no host function `{f}`")),
        }
    }
}

impl Host for StdHost {
    fn call(&self, ctx: &CallCtx, f: &str, args: &Value) -> Result<Value, String> {
        match Capability::of_function(f) {
            Some(Capability::Git) => self.git(ctx, f, args),
            Some(Capability::Kv) => self.kv(ctx, f, args),
            Some(Capability::Telemetry) => self.telemetry_call(ctx, f, args),
            Some(Capability::Http) => self.net.http(f, args, ctx.deadline),
            Some(Capability::Github) => self.net.github(f, args, ctx.deadline),
            Some(Capability::Docker) => self.docker.call(f, args, ctx.deadline),
            Some(Capability::Time) if f == "time.now_ms" => {
                let ms = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis() as u64)
                    .unwrap_or(0);
                Ok(json!(ms))
            }
            _ => Err(format!("`{f}` is not available on this agentd yet")),
        }
    }
}

/// At most 1 KiB of `s`, for the daemon's log.
fn truncate(s: &str) -> &str {
    let mut end = s.len().min(1024);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(requested: &[Capability], granted: &[Capability], cwd: Option<&str>) -> CallCtx {
        CallCtx {
            plugin: "p".into(),
            requested: requested.iter().copied().collect(),
            granted: granted.iter().copied().collect(),
            cwd: cwd.map(str::to_owned),
            deadline: Instant::now() + Duration::from_secs(5),
        }
    }

    #[test]
    fn capabilities_must_be_requested_and_granted() {
        let dir = tempfile::tempdir().unwrap();
        let host = StdHost::new(dir.path().join("kv.db"));
        let req = br#"{"fn": "time.now_ms"}"#;
        let e = dispatch(&host, &ctx(&[], &[Capability::Time], None), req);
        assert!(
            e["error"].as_str().unwrap().contains("does not request"),
            "{e}"
        );
        let e = dispatch(&host, &ctx(&[Capability::Time], &[], None), req);
        assert!(
            e["error"].as_str().unwrap().contains("[plugins.grants]"),
            "{e}"
        );
        let ok = dispatch(
            &host,
            &ctx(&[Capability::Time], &[Capability::Time], None),
            req,
        );
        assert!(ok["ok"].as_u64().unwrap() > 1_700_000_000_000, "{ok}");
        let e = dispatch(&host, &ctx(&[], &[], None), br#"{"fn": "fs.read"}"#);
        assert!(
            e["error"].as_str().unwrap().contains("no host function"),
            "{e}"
        );
        let e = dispatch(&host, &ctx(&[], &[], None), b"nope");
        assert!(e["error"].is_string(), "{e}");
    }

    #[test]
    fn the_kv_store_is_per_plugin() {
        let dir = tempfile::tempdir().unwrap();
        let host = StdHost::new(dir.path().join("kv.db"));
        let kv = [Capability::Kv];
        let mut a = ctx(&kv, &kv, None);
        let set = br#"{"fn": "kv.set", "args": {"key": "spent", "value": {"usd": 3.5}}}"#;
        assert_eq!(dispatch(&host, &a, set), json!({"ok": null}));
        let get = br#"{"fn": "kv.get", "args": {"key": "spent"}}"#;
        assert_eq!(dispatch(&host, &a, get), json!({"ok": {"usd": 3.5}}));
        a.plugin = "other".into();
        assert_eq!(dispatch(&host, &a, get), json!({"ok": null}));
    }

    #[test]
    fn git_reads_the_sessions_repository() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path();
        let git = |args: &[&str]| {
            let out = Command::new("git")
                .arg("-C")
                .arg(repo)
                .args(args)
                .output()
                .unwrap();
            assert!(out.status.success(), "{out:?}");
        };
        git(&["init", "-q", "-b", "main"]);
        git(&[
            "-c",
            "user.email=a@b",
            "-c",
            "user.name=a",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "first",
        ]);
        std::fs::write(repo.join("new.txt"), "x").unwrap();
        let host = StdHost::new(dir.path().join("kv.db"));
        let g = [Capability::Git];
        let c = ctx(&g, &g, repo.to_str());
        assert_eq!(
            dispatch(&host, &c, br#"{"fn": "git.branch"}"#),
            json!({"ok": "main"})
        );
        let status = dispatch(&host, &c, br#"{"fn": "git.status"}"#);
        assert!(
            status["ok"].as_str().unwrap().contains("?? new.txt"),
            "{status}"
        );
        let log = dispatch(&host, &c, br#"{"fn": "git.log", "args": {"n": 1}}"#);
        assert!(log["ok"].as_str().unwrap().ends_with(" first"), "{log}");
        let diff = dispatch(
            &host,
            &c,
            br#"{"fn": "git.diff", "args": {"range": "HEAD..HEAD"}}"#,
        );
        assert_eq!(diff, json!({"ok": ""}));
        let hostile = dispatch(
            &host,
            &c,
            br#"{"fn": "git.diff", "args": {"range": "--output=/tmp/x"}}"#,
        );
        assert!(
            hostile["error"]
                .as_str()
                .unwrap()
                .contains("not a revision range"),
            "{hostile}"
        );
        let nowhere = ctx(&g, &g, Some("/nonexistent/x"));
        assert!(dispatch(&host, &nowhere, br#"{"fn": "git.status"}"#)["error"].is_string());
    }
}
