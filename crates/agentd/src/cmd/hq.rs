//! `agentd hq …`, `agentd runner join`, `agentd ls --hq`.

use std::process::ExitCode;

use agentd_client::Paths;
use agentd_core::text::{one_line, truncate};
use agentd_hq::client::HqClient;
use agentd_hq::server::HqPaths;
use agentd_hq::token::{Principal, Role};
use agentd_proto::api::DecideParams;
use agentd_proto::hq::{
    APPROVALS_PATH, AUDIT_PATH, AuditEntry, DecisionBody, HqApprovalView, HqSessionView, HqStatus,
    RUNNERS_PATH, RunnerView, SESSIONS_PATH, STATUS_PATH,
};

use super::{fail, out, print_json, usage_error};
use crate::render::{age, session_cells, table};

/// `agentd hq serve`.
pub fn serve(paths: &Paths) -> ExitCode {
    let hq_paths = HqPaths::new(&paths.root);
    super::daemon::foreground(paths, "agentd-hq", async |config, shutdown| {
        agentd_hq::server::serve(&hq_paths, &config, shutdown)
            .await
            .map_err(|e| e.to_string())
    })
}

/// Runs `f` on HQ's store (`hq.db` in this root, or `[hq] database`),
/// whether HQ runs or not.
fn with_store<T>(
    paths: &Paths,
    f: impl AsyncFnOnce(&agentd_hq::backend::Backend) -> Result<T, String>,
) -> Result<T, ExitCode> {
    let config = super::config(paths)?;
    block_on(async {
        let backend = agentd_hq::server::open_backend(&HqPaths::new(&paths.root), &config)
            .await
            .map_err(|e| e.to_string())?;
        f(&backend).await
    })
}

/// `agentd hq token create`: the secret alone on stdout.
pub fn token_create(
    paths: &Paths,
    runner: Option<String>,
    user: Option<String>,
    role: Option<String>,
) -> ExitCode {
    let principal = match (runner, user) {
        (Some(r), None) => Principal::Runner(r),
        (None, Some(name)) => match Role::parse(role.as_deref().unwrap_or("viewer")) {
            Ok(role) => Principal::User { name, role },
            Err(e) => return usage_error(&e),
        },
        _ => return usage_error("give --runner NAME, or --user NAME --role ROLE"),
    };
    let now = agentd_hq::service::now_ms();
    match with_store(paths, async |b| {
        b.create_token(principal, now)
            .await
            .map_err(|e| e.to_string())
    }) {
        Ok(secret) => {
            out(&format!("{secret}\n"));
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}

/// `agentd hq token list`.
pub fn token_list(paths: &Paths, json: bool) -> ExitCode {
    let tokens = match with_store(paths, async |b| b.tokens().await.map_err(|e| e.to_string())) {
        Ok(t) => t,
        Err(code) => return code,
    };
    if json {
        return print_json(&tokens);
    }
    if tokens.is_empty() {
        out(
            "no tokens yet: `agentd hq token create --runner NAME` or `--user NAME --role viewer`\n",
        );
        return ExitCode::SUCCESS;
    }
    let now = agentd_hq::service::now_ms();
    let rows: Vec<Vec<String>> = tokens
        .iter()
        .map(|t| {
            vec![
                t.id.clone(),
                t.kind.clone(),
                one_line(&t.name),
                t.role.clone().unwrap_or_else(|| "-".into()),
                format!("{} ago", age(now - t.created_ms)),
                t.revoked_ms
                    .map_or_else(|| "-".into(), |r| format!("{} ago", age(now - r))),
            ]
        })
        .collect();
    out(&table(
        &["ID", "KIND", "NAME", "ROLE", "CREATED", "REVOKED"],
        &rows,
    ));
    ExitCode::SUCCESS
}

/// `agentd hq token revoke`.
pub fn token_revoke(paths: &Paths, id: &str) -> ExitCode {
    let now = agentd_hq::service::now_ms();
    let prefix = id.to_owned();
    match with_store(paths, async |b| {
        b.revoke(prefix, now).await.map_err(|e| e.to_string())
    }) {
        Ok(t) => {
            out(&format!(
                "revoked {} ({} {}); a link using it is cut within a second\n",
                t.id,
                t.kind,
                one_line(&t.name)
            ));
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}

/// A client of the HQ a user means: `--hq`, else `AGENTD_HQ_URL`, else the
/// HQ running in this root; the user token from `AGENTD_HQ_TOKEN`; for
/// `https://`, the CA in `AGENTD_HQ_CA`, else this root's HQ CA.
fn client(paths: &Paths, hq: Option<String>) -> Result<HqClient, ExitCode> {
    let local = agentd_hq::server::running(&HqPaths::new(&paths.root));
    let url = hq
        .or_else(|| std::env::var("AGENTD_HQ_URL").ok().filter(|u| !u.is_empty()))
        .or_else(|| local.as_ref().map(agentd_hq::server::HqInfo::url))
        .ok_or_else(|| {
            usage_error("which HQ? give --hq https://HOST:PORT or set AGENTD_HQ_URL (no HQ runs in this root)")
        })?;
    let token = user_token()?;
    let ca_path = std::env::var_os("AGENTD_HQ_CA")
        .filter(|p| !p.is_empty())
        .map(std::path::PathBuf::from)
        .or_else(|| {
            let (cert, _) = agentd_daemon::tls::ca_paths(&paths.root);
            cert.exists().then_some(cert)
        });
    let ca = match ca_path {
        Some(p) => Some(
            agentd_fs::read(&p, 1 << 20)
                .map_err(|e| fail(&format!("HQ's CA {}: {e}", p.display())))?,
        ),
        None => None,
    };
    HqClient::new(url.trim_end_matches('/'), &token, ca.as_deref()).map_err(|e| usage_error(&e))
}

fn block_on<T>(f: impl std::future::Future<Output = Result<T, String>>) -> Result<T, ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| fail(&format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(f).map_err(|e| fail(&e))
}

fn get<T: serde::de::DeserializeOwned>(c: &HqClient, path: &str) -> Result<T, ExitCode> {
    block_on(c.get_json(path))
}

fn post<T: serde::de::DeserializeOwned>(
    c: &HqClient,
    path: &str,
    body: &impl serde::Serialize,
) -> Result<T, ExitCode> {
    block_on(c.post_json(path, body))
}

/// `agentd hq status`.
pub fn status(paths: &Paths, hq: Option<String>, json: bool) -> ExitCode {
    let result =
        client(paths, hq).and_then(|c| get::<HqStatus>(&c, STATUS_PATH).map(|s| (c.base(), s)));
    let (url, s) = match result {
        Ok(r) => r,
        Err(code) => return code,
    };
    if json {
        return print_json(&s);
    }
    out(&format!(
        "HQ {url} (agentd {})\nrunners: {} ({} online)\nsessions: {}\nevents: {}\n",
        one_line(&s.version),
        s.runners,
        s.online,
        s.sessions,
        s.events
    ));
    ExitCode::SUCCESS
}

/// `agentd hq runners`.
pub fn runners(paths: &Paths, hq: Option<String>, json: bool) -> ExitCode {
    let runners = match client(paths, hq).and_then(|c| get::<Vec<RunnerView>>(&c, RUNNERS_PATH)) {
        Ok(r) => r,
        Err(code) => return code,
    };
    if json {
        return print_json(&runners);
    }
    if runners.is_empty() {
        out("no runner has linked yet: `agentd runner join URL --token T` on each machine\n");
        return ExitCode::SUCCESS;
    }
    let now = agentd_hq::service::now_ms();
    let rows: Vec<Vec<String>> = runners
        .iter()
        .map(|r| {
            vec![
                one_line(&r.name),
                if r.online { "online" } else { "offline" }.into(),
                truncate(&one_line(r.version.as_deref().unwrap_or("-")), 16),
                truncate(&one_line(r.os.as_deref().unwrap_or("-")), 12),
                r.sessions.to_string(),
                r.events.to_string(),
                r.last_seen_ms
                    .map_or_else(|| "-".into(), |t| format!("{} ago", age(now - t))),
                truncate(&one_line(&r.labels.join(",")), 24),
            ]
        })
        .collect();
    out(&table(
        &[
            "RUNNER",
            "LINK",
            "VERSION",
            "OS",
            "SESSIONS",
            "EVENTS",
            "LAST SEEN",
            "LABELS",
        ],
        &rows,
    ));
    ExitCode::SUCCESS
}

fn user_token() -> Result<String, ExitCode> {
    std::env::var("AGENTD_HQ_TOKEN")
        .ok()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            usage_error(
                "set AGENTD_HQ_TOKEN to a user token (`agentd hq token create --user NAME --role viewer` at HQ)",
            )
        })
}

/// `agentd approve|deny ID --hq URL`: decided on whichever runner holds it.
pub fn decide(paths: &Paths, url: &str, params: DecideParams) -> ExitCode {
    let c = match client(paths, Some(url.to_owned())) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let body = DecisionBody {
        decision: params.decision,
        apply_suggestions: params.apply_suggestions,
        reason: params.reason,
    };
    let path = agentd_proto::hq::decision_path(&params.id);
    match post::<HqApprovalView>(&c, &path, &body) {
        Ok(v) => {
            let a = &v.approval.approval;
            out(&format!(
                "{} {} on {} ({} {})\n",
                a.id,
                a.status.as_str().replace('_', " "),
                one_line(&v.runner),
                one_line(&a.tool_name),
                crate::render::input_summary(&a.tool_name, &a.tool_input, 60)
            ));
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}

/// `agentd launch --runner NAME --hq URL`: prints the session id, as a
/// local launch does.
pub fn launch(
    paths: &Paths,
    url: &str,
    runner: &str,
    params: agentd_proto::api::LaunchParams,
) -> ExitCode {
    let c = match client(paths, Some(url.to_owned())) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let path = agentd_proto::hq::launch_path(runner);
    match post::<agentd_proto::hq::HqLaunched>(&c, &path, &params) {
        Ok(l) => {
            out(&format!("{}\n", l.launched.session_id));
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}

/// `agentd approvals --hq URL`.
pub fn approvals(paths: &Paths, url: &str, json: bool, all: bool) -> ExitCode {
    let c = match client(paths, Some(url.to_owned())) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let path = if all {
        format!("{APPROVALS_PATH}?all=true")
    } else {
        APPROVALS_PATH.to_owned()
    };
    let list: Vec<HqApprovalView> = match get(&c, &path) {
        Ok(l) => l,
        Err(code) => return code,
    };
    if json {
        return print_json(&list);
    }
    if list.is_empty() {
        out(&format!(
            "no {}approvals on any runner\n",
            if all { "" } else { "pending " }
        ));
        return ExitCode::SUCCESS;
    }
    let now = agentd_hq::service::now_ms();
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|v| {
            let a = &v.approval.approval;
            vec![
                one_line(&v.runner),
                a.id.clone(),
                a.status.as_str().replace('_', " "),
                truncate(&one_line(&a.tool_name), 16),
                crate::render::input_summary(&a.tool_name, &a.tool_input, 48),
                format!("{} ago", age(now - a.created_ms)),
            ]
        })
        .collect();
    out(&table(
        &["RUNNER", "ID", "STATUS", "TOOL", "INPUT", "ASKED"],
        &rows,
    ));
    ExitCode::SUCCESS
}

/// `agentd hq forget NAME`.
pub fn forget(paths: &Paths, hq: Option<String>, runner: &str) -> ExitCode {
    let path = format!("{RUNNERS_PATH}/{runner}");
    match client(paths, hq).and_then(|c| block_on(c.delete_json::<serde_json::Value>(&path))) {
        Ok(v) => {
            out(&format!(
                "forgot runner {} ({} events); it links again from the start\n",
                one_line(runner),
                v["forgotten_events"]
            ));
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}

/// `agentd hq audit`.
pub fn audit(paths: &Paths, hq: Option<String>, json: bool) -> ExitCode {
    let entries = match client(paths, hq).and_then(|c| get::<Vec<AuditEntry>>(&c, AUDIT_PATH)) {
        Ok(e) => e,
        Err(code) => return code,
    };
    if json {
        return print_json(&entries);
    }
    if entries.is_empty() {
        out("nothing done through HQ yet\n");
        return ExitCode::SUCCESS;
    }
    let now = agentd_hq::service::now_ms();
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            vec![
                format!("{} ago", age(now - e.ts_ms)),
                one_line(&e.user),
                one_line(e.peer.as_deref().unwrap_or("-")),
                one_line(&e.action),
                one_line(&e.runner),
                one_line(&e.target),
                truncate(&one_line(&e.outcome), 48),
            ]
        })
        .collect();
    out(&table(
        &[
            "WHEN", "USER", "FROM", "ACTION", "RUNNER", "TARGET", "OUTCOME",
        ],
        &rows,
    ));
    ExitCode::SUCCESS
}

/// `agentd ls --hq URL`: every runner's sessions.
pub fn ls(paths: &Paths, url: &str, json: bool, all: bool, status: &[String]) -> ExitCode {
    let c = match client(paths, Some(url.to_owned())) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let sessions: Vec<HqSessionView> = match get(&c, SESSIONS_PATH) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let all = all || status.iter().any(|s| s == "ended");
    let shown: Vec<&HqSessionView> = sessions
        .iter()
        .filter(|s| {
            status.is_empty()
                || status
                    .iter()
                    .any(|w| w == s.session.session.status.as_str())
        })
        .filter(|s| json || all || s.session.live)
        .collect();
    if json {
        let code = print_json(&shown);
        return if !status.is_empty() && shown.is_empty() {
            ExitCode::FAILURE
        } else {
            code
        };
    }
    if shown.is_empty() {
        out("no live sessions on any runner (`--all` includes ended ones)\n");
        return if status.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    let now = agentd_hq::service::now_ms();
    // The local `ls` table's columns (MODEL aside), after the runner.
    let rows: Vec<Vec<String>> = shown
        .iter()
        .map(|v| {
            let [
                status,
                _agent,
                project,
                _model,
                tool,
                active,
                _cpu,
                _mem,
                id,
            ] = session_cells(&v.session, now);
            vec![one_line(&v.runner), status, project, tool, active, id]
        })
        .collect();
    out(&table(
        &["RUNNER", "STATUS", "PROJECT", "LAST TOOL", "ACTIVE", "ID"],
        &rows,
    ));
    ExitCode::SUCCESS
}

/// `agentd runner join URL --token T`: `[hq]` in this root's agentd.toml.
pub fn join(paths: &Paths, url: &str, token: &str, ca: Option<&std::path::Path>) -> ExitCode {
    let target = match agentd_daemon::dial::Target::parse(url) {
        Ok(t) => t,
        Err(e) => return usage_error(&e),
    };
    // The CA is checked and copied into the root: the link must not depend
    // on a file elsewhere that may go or change.
    let pinned = match (ca, target.tls) {
        (Some(path), true) => {
            let pem = match agentd_fs::read(path, 1 << 20) {
                Ok(p) => p,
                Err(e) => return fail(&format!("{}: {e}", path.display())),
            };
            if let Err(e) = agentd_daemon::dial::pinned(&pem) {
                return usage_error(&format!("{}: {e}", path.display()));
            }
            Some(pem)
        }
        (None, true) => {
            return usage_error(&format!(
                "{url} is TLS: give HQ's CA with --ca FILE (on HQ: `agentd tls ca --path`), which this runner will pin"
            ));
        }
        (Some(_), false) => return usage_error("--ca is for an https:// HQ"),
        (None, false) => None,
    };
    if !token.starts_with("agentd_hq_runner_") {
        return usage_error(
            "that is not a runner token (they start with agentd_hq_runner_): make one at HQ with `agentd hq token create --runner NAME`",
        );
    }
    let text = match std::fs::read_to_string(&paths.config) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return fail(&format!("reading {}: {e}", paths.config.display())),
    };
    let mut doc: toml_edit::DocumentMut = match text.parse() {
        Ok(d) => d,
        Err(e) => {
            return fail(&format!(
                "{} is not valid TOML: {e}",
                paths.config.display()
            ));
        }
    };
    let hq = doc
        .entry("hq")
        .or_insert_with(|| toml_edit::Item::Table(toml_edit::Table::new()));
    let Some(hq) = hq.as_table_like_mut() else {
        return fail(&format!("{}: `hq` is not a table", paths.config.display()));
    };
    hq.insert("url", toml_edit::value(url.trim_end_matches('/')));
    hq.insert("token", toml_edit::value(token));
    // The root is made as the daemon makes it (0700), or checked.
    if let Err(e) = agentd_daemon::server::make_private_dir(&paths.root) {
        return fail(&e.to_string());
    }
    if let Some(pem) = &pinned {
        let copy = paths.root.join("hq-ca.pem");
        if let Err(e) = agentd_fs::write_private(&copy, pem) {
            return fail(&format!("writing {}: {e}", copy.display()));
        }
        hq.insert("ca", toml_edit::value(copy.display().to_string()));
    } else {
        hq.remove("ca");
    }
    let new = doc.to_string();
    // Checked before it is written: a daemon must be able to start on it.
    if let Err(e) = agentd_client::Config::parse(&new) {
        return fail(&format!("the edited config would not load: {e}"));
    }
    if let Err(e) = agentd_fs::write_private(&paths.config, new.as_bytes()) {
        return fail(&format!("writing {}: {e}", paths.config.display()));
    }
    let running = agentd_daemon::lock::running_pid(&paths.pid).is_some();
    out(&format!(
        "joined HQ {url}: [hq] written to {}{}\n",
        paths.config.display(),
        if running {
            "; restart the daemon (`agentd stop && agentd start`) to link"
        } else {
            "; the link starts with the daemon (`agentd start`)"
        }
    ));
    ExitCode::SUCCESS
}

/// `agentd usage --hq URL`: every runner's usage, added up.
pub fn usage(
    paths: &Paths,
    url: &str,
    q: &agentd_proto::history::UsageQuery,
    json: bool,
    heading: &str,
) -> ExitCode {
    let c = match client(paths, Some(url.to_owned())) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let mut path = format!(
        "{}?group_by={}",
        agentd_proto::hq::USAGE_PATH,
        serde_json::to_value(q.group_by)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    );
    for (k, v) in [
        ("since", &q.since),
        ("until", &q.until),
        ("timezone", &q.timezone),
        ("session_id", &q.session_id),
    ] {
        if let Some(v) = v {
            path.push_str(&format!("&{k}={}", agentd_hq::client::escape(v)));
        }
    }
    let report: agentd_proto::hq::HqUsage = match get(&c, &path) {
        Ok(r) => r,
        Err(code) => return code,
    };
    if json {
        return print_json(&report);
    }
    let missing: Vec<String> = report
        .runners
        .iter()
        .filter_map(|r| r.error.as_ref().map(|e| format!("{}: {e}", r.runner)))
        .collect();
    let whole = agentd_proto::history::UsageReport {
        rows: report.rows,
        totals: report.totals,
        timezone: report.timezone,
    };
    out(&crate::render_index::usage(&whole, heading));
    for m in missing {
        eprintln!("not counted: {}", agentd_core::text::one_line(&m));
    }
    ExitCode::SUCCESS
}

/// `agentd send|interrupt|kill ID --hq URL`: a session on any runner.
pub fn steer(paths: &Paths, url: &str, what: super::approvals::Steer, json: bool) -> ExitCode {
    use super::approvals::Steer;
    let c = match client(paths, Some(url.to_owned())) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let (id, action, body) = match what {
        Steer::Send { session, message } => {
            (session, "send", serde_json::json!({"message": message}))
        }
        Steer::Interrupt { session } => (session, "interrupt", serde_json::json!({})),
        Steer::Kill { session } => (session, "kill", serde_json::json!({})),
    };
    let path = agentd_proto::hq::session_call_path(&agentd_hq::client::escape(&id), action);
    let steered: agentd_proto::hq::HqSteered = match post(&c, &path, &body) {
        Ok(s) => s,
        Err(code) => return code,
    };
    if json {
        return print_json(&steered);
    }
    let one = |v: &serde_json::Value| agentd_core::text::one_line(v.as_str().unwrap_or("-"));
    let r = &steered.result;
    let what = match action {
        "send" => format!("message sent (run {}, pid {})", one(&r["run_id"]), r["pid"]),
        "interrupt" => "interrupted".to_owned(),
        _ => format!("stopped ({})", one(&r["ended_by"])),
    };
    out(&format!(
        "{} on {}: {what}\n",
        one(&r["session_id"]),
        agentd_core::text::one_line(&steered.runner)
    ));
    ExitCode::SUCCESS
}
