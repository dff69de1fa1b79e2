//! Sending one notice to one sink: a webhook `POST`, an ntfy message (JSON
//! publishing, with approve/deny `http` actions), a freedesktop
//! notification on the session D-Bus ([`super::desktop`]), or a command. Each call is bounded
//! in time; the caller retries.

use std::time::Duration;

use agentd_client::config::{NotifySink, SinkKind};
use serde_json::json;

use super::rules::Notice;

/// Longest one delivery may take.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// The URLs an approval notice's buttons call (signed, single approval).
#[derive(Debug, Clone)]
pub struct Actions {
    /// Allows the approval.
    pub allow: String,
    /// Denies it.
    pub deny: String,
}

/// Sends `notice` to `sink` (a desktop sink through its `desktop`
/// connection).
///
/// # Errors
/// What went wrong, in words (the sink's answer, the I/O error).
pub async fn send(
    sink: &NotifySink,
    notice: &Notice,
    actions: Option<&Actions>,
    http: &reqwest::Client,
    desktop: Option<&super::desktop::Desktop>,
) -> Result<(), String> {
    let work = async {
        match sink.kind {
            SinkKind::Webhook => webhook(sink, notice, http).await,
            SinkKind::Ntfy => ntfy(sink, notice, actions, http).await,
            SinkKind::Desktop => match desktop {
                Some(d) => d.send(notice).await,
                None => Err("no desktop connection".to_owned()),
            },
            SinkKind::Command => command(sink, notice).await,
        }
    };
    tokio::time::timeout(DELIVERY_TIMEOUT, work)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {DELIVERY_TIMEOUT:?}")))
}

fn with_headers(mut req: reqwest::RequestBuilder, sink: &NotifySink) -> reqwest::RequestBuilder {
    for (k, v) in &sink.headers {
        req = req.header(k, v);
    }
    req
}

async fn answered(req: reqwest::RequestBuilder) -> Result<(), String> {
    let resp = req.send().await.map_err(|e| e.to_string())?;
    let status = resp.status();
    if status.is_success() {
        return Ok(());
    }
    let text = resp.text().await.unwrap_or_default();
    Err(format!(
        "HTTP {status}: {}",
        agentd_core::text::truncate(&agentd_core::text::one_line(&text), 200)
    ))
}

async fn webhook(sink: &NotifySink, notice: &Notice, http: &reqwest::Client) -> Result<(), String> {
    let url = sink.url.as_deref().ok_or("no url")?;
    let body = serde_json::to_vec(notice).map_err(|e| e.to_string())?;
    let req = http
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body);
    answered(with_headers(req, sink)).await
}

/// ntfy's JSON publishing: `POST` to the server's root with the topic in
/// the body (UTF-8 safe, unlike its header form).
async fn ntfy(
    sink: &NotifySink,
    notice: &Notice,
    actions: Option<&Actions>,
    http: &reqwest::Client,
) -> Result<(), String> {
    let url = sink.url.as_deref().ok_or("no url")?;
    let (server, topic) = url
        .trim_end_matches('/')
        .rsplit_once('/')
        .filter(|(s, t)| {
            !t.is_empty() && s.contains("://") && !s.ends_with(':') && !s.ends_with('/')
        })
        .ok_or_else(|| format!("ntfy url {url:?} must be https://server/topic"))?;
    let mut msg = json!({
        "topic": topic,
        "title": notice.title,
        "message": if notice.body.is_empty() { notice.title.clone() } else { notice.body.clone() },
        "tags": [notice.reason],
        "priority": if notice.approval_id().is_some() || notice.reason == "grouped" { 4 } else { 3 },
    });
    if let Some(click) = &notice.url {
        msg["click"] = json!(click);
    }
    if let Some(a) = actions {
        msg["actions"] = json!([
            {"action": "http", "label": "Approve", "url": a.allow, "method": "POST", "clear": true},
            {"action": "http", "label": "Deny", "url": a.deny, "method": "POST", "clear": true},
        ]);
    }
    let req = http
        .post(format!("{server}/"))
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(msg.to_string());
    answered(with_headers(req, sink)).await
}

/// `org.freedesktop.Notifications.Notify` on the session bus
/// (`DBUS_SESSION_BUS_ADDRESS`).
/// `sh -c command` in its own process group, the notice as JSON on stdin
/// and `AGENTD_NOTIFY_{REASON,TITLE,BODY,URL,SESSION,COUNT}` set; exit 0 is
/// delivered.
async fn command(sink: &NotifySink, notice: &Notice) -> Result<(), String> {
    use tokio::io::AsyncWriteExt;
    let cmd = sink.command.as_deref().ok_or("no command")?;
    let first = notice.needs.first();
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .env("AGENTD_NOTIFY_REASON", &notice.reason)
        .env("AGENTD_NOTIFY_TITLE", &notice.title)
        .env("AGENTD_NOTIFY_BODY", &notice.body)
        .env("AGENTD_NOTIFY_URL", notice.url.as_deref().unwrap_or(""))
        .env(
            "AGENTD_NOTIFY_SESSION",
            first.map(|n| n.session_id.as_str()).unwrap_or(""),
        )
        .env("AGENTD_NOTIFY_COUNT", notice.count.to_string())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run `sh -c {cmd}`: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        let body = serde_json::to_vec(&notice).unwrap_or_default();
        // A command that ignores its stdin closes it early: not an error.
        let _ = stdin.write_all(&body).await;
    }
    let out = child.wait_with_output().await.map_err(|e| e.to_string())?;
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "the command exited with {}: {}",
        out.status,
        agentd_core::text::truncate(
            &agentd_core::text::one_line(&String::from_utf8_lossy(&out.stderr)),
            200
        )
    ))
}
