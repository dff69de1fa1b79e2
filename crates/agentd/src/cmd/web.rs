//! `agentd web`: sign-in links for the web UI, and the browsers signed in.

use std::process::ExitCode;
use std::time::Duration;

use agentd_client::Paths;
use agentd_core::text::one_line;

use super::{client_error, connect, fail, out, print_json};

/// Prints (and with `open`, opens; with `qr`, draws) a one-time sign-in
/// link.
pub fn login(paths: &Paths, open: bool, qr: bool, json: bool) -> ExitCode {
    let mut client = match connect(paths, Duration::from_secs(10)) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let link = match client.web_login() {
        Ok(l) => l,
        Err(e) => return client_error(e),
    };
    // A phone needs an address of the network, which only a TLS listener
    // beyond loopback has.
    let phone = link.lan_urls.first();
    if qr && phone.is_none() {
        return fail(
            "a phone cannot reach a daemon that listens on loopback only: set [http] listen = \"0.0.0.0:41956\" and tls = true in agentd.toml, restart the daemon, and trust `agentd tls ca` on the phone",
        );
    }
    if json {
        return print_json(&link);
    }
    let minutes = ((link.expires_ms - now_ms()).max(0) + 59_999) / 60_000;
    out(&format!(
        "Open this link to sign this browser in (it works once, for {minutes} minutes):\n  {}\n",
        link.url
    ));
    for url in &link.lan_urls {
        out(&format!("On another device of this network:\n  {url}\n"));
    }
    if let (true, Some(url)) = (qr, phone) {
        match qrcode::QrCode::new(url.as_bytes()) {
            Ok(code) => out(&format!(
                "\n{}\n",
                code.render::<qrcode::render::unicode::Dense1x2>()
                    .quiet_zone(true)
                    .build()
            )),
            Err(e) => return fail(&format!("cannot draw the QR code: {e}")),
        }
    }
    if open && let Err(e) = open_browser(&paths.root, &link.url) {
        return fail(&format!(
            "cannot open a browser ({e}); open the link above by hand"
        ));
    }
    ExitCode::SUCCESS
}

/// Opens `url` with the desktop's opener, detached: `xdg-open` (Linux) or
/// `open` (macOS). Not the URL itself: a command line is readable by every
/// local user (`/proc/*/cmdline`), and the link's code signs a browser in.
/// The opener gets a 0600 page in the private root that redirects to it.
fn open_browser(root: &std::path::Path, url: &str) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let page = root.join("web-login.html");
    let _ = std::fs::remove_file(&page);
    let url = url
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;");
    let html = format!(
        "<!doctype html><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"0;url={url}\"><title>agentd</title><a href=\"{url}\">Sign in to agentd</a>\n"
    );
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&page)
        .and_then(|mut f| f.write_all(html.as_bytes()))
        .map_err(|e| format!("cannot write {}: {e}", page.display()))?;
    let target = format!("file://{}", page.display());
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    std::process::Command::new(opener)
        .arg(target)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map(drop)
        .map_err(|e| format!("{opener}: {e}"))
}

/// `agentd web sessions`.
pub fn sessions(paths: &Paths, json: bool) -> ExitCode {
    let mut client = match connect(paths, Duration::from_secs(10)) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let list = match client.web_sessions() {
        Ok(l) => l,
        Err(e) => return client_error(e),
    };
    if json {
        return print_json(&list);
    }
    if list.is_empty() {
        out("No browser is signed in; `agentd web` prints a sign-in link.\n");
        return ExitCode::SUCCESS;
    }
    let now = now_ms();
    let mut text = format!(
        "{:<16} {:>8} {:>9}  {:<15} {}\n",
        "ID", "SIGNED IN", "LAST SEEN", "FROM", "BROWSER"
    );
    for s in &list {
        text.push_str(&format!(
            "{:<16} {:>8} {:>9}  {:<15} {}\n",
            one_line(&s.id),
            format!("{} ago", crate::render::age(now - s.created_ms)),
            format!("{} ago", crate::render::age(now - s.last_seen_ms)),
            one_line(s.address.as_deref().unwrap_or("-")),
            one_line(s.user_agent.as_deref().unwrap_or("-")),
        ));
    }
    out(&text);
    ExitCode::SUCCESS
}

/// `agentd web revoke ID`.
pub fn revoke(paths: &Paths, id: &str) -> ExitCode {
    let mut client = match connect(paths, Duration::from_secs(10)) {
        Ok(c) => c,
        Err(code) => return code,
    };
    match client.web_revoke(id) {
        Ok(r) => {
            for id in &r.revoked {
                out(&format!("{} signed out\n", one_line(id)));
            }
            ExitCode::SUCCESS
        }
        Err(e) => client_error(e),
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
