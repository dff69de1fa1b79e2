//! `agentd mcp`: agentd's MCP server on stdio, for Claude Code and other
//! MCP clients (`claude mcp add agentd -- agentd mcp`); and `agentd install
//! --mcp` / `uninstall --mcp`, which register it in Claude Code's user
//! configuration.
//!
//! The server itself runs in the daemon ([`agentd_daemon::mcp`]): this
//! process asks for `mcp.serve` on the socket and then copies bytes both
//! ways, so the daemon learns who asks (the kernel's peer credentials: the
//! agent is this process's parent) and stdout carries nothing but MCP.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use agentd_client::Paths;
use serde_json::{Value, json};

use super::{client_error, fail};

/// The name agentd's server is registered under (tools are
/// `mcp__agentd__<tool>` in Claude Code).
pub const SERVER_NAME: &str = "agentd";

/// `agentd mcp`: serves MCP on stdin/stdout until either side closes.
pub fn serve_stdio(paths: &Paths) -> ExitCode {
    let mut client = match agentd_client::Client::connect(&paths.socket, Duration::from_secs(5)) {
        Ok(c) => c,
        Err(e) => return client_error(e),
    };
    if let Err(e) = client.call::<_, Value>(agentd_proto::method::MCP_SERVE, json!({})) {
        return client_error(e);
    }
    let (mut from_daemon, mut to_daemon) = match client.into_stream() {
        Ok(s) => s,
        Err(e) => return client_error(e),
    };
    // stdin → daemon on its own thread; closing stdin ends the session.
    let pump = std::thread::spawn(move || {
        let stdin = std::io::stdin();
        let _ = std::io::copy(&mut stdin.lock(), &mut to_daemon);
        let _ = to_daemon.shutdown(std::net::Shutdown::Write);
    });
    // daemon → stdout, a whole line at a time so no message is left in a
    // buffer while the client waits for it.
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut line = Vec::with_capacity(8192);
    loop {
        line.clear();
        match from_daemon.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(_) => {
                if out.write_all(&line).and_then(|()| out.flush()).is_err() {
                    break;
                }
            }
            Err(e) => {
                eprintln!("agentd mcp: the connection to agentd failed: {e}");
                return ExitCode::from(1);
            }
        }
    }
    // The daemon closed (it stopped, or stdin ended): nothing more to pump.
    drop(pump);
    ExitCode::SUCCESS
}

/// Claude Code's user-scope MCP configuration: `.claude.json` in
/// `$CLAUDE_CONFIG_DIR`, else in the home directory.
fn claude_json() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("CLAUDE_CONFIG_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join(".claude.json"));
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".claude.json"))
}

/// The server entry for this `agentd` (and its root, when not the default).
pub fn entry(exe: &str, home: Option<&str>) -> Value {
    let mut args: Vec<&str> = Vec::new();
    if let Some(h) = home {
        args.extend(["--home", h]);
    }
    args.push("mcp");
    json!({"type": "stdio", "command": exe, "args": args, "env": {}})
}

/// Puts `entry` under `mcpServers.agentd`; whether anything changed.
///
/// # Errors
/// When `mcpServers` is there and not an object.
pub fn register(doc: &mut Value, entry: &Value) -> Result<bool, String> {
    let Some(root) = doc.as_object_mut() else {
        return Err("the file is not a JSON object".to_owned());
    };
    let servers = root
        .entry("mcpServers")
        .or_insert_with(|| Value::Object(Default::default()));
    let Some(servers) = servers.as_object_mut() else {
        return Err("`mcpServers` is not an object".to_owned());
    };
    if servers.get(SERVER_NAME) == Some(entry) {
        return Ok(false);
    }
    servers.insert(SERVER_NAME.to_owned(), entry.clone());
    Ok(true)
}

/// Removes `mcpServers.agentd`; whether it was there.
pub fn unregister(doc: &mut Value) -> bool {
    doc.get_mut("mcpServers")
        .and_then(Value::as_object_mut)
        .is_some_and(|s| s.remove(SERVER_NAME).is_some())
}

/// `agentd install --mcp [--dry-run]`.
pub fn install(home: Option<&Path>, dry_run: bool) -> ExitCode {
    let Some(path) = claude_json() else {
        return fail("cannot find Claude Code's configuration: set HOME or CLAUDE_CONFIG_DIR");
    };
    let exe = match std::env::current_exe() {
        Ok(e) => e.canonicalize().unwrap_or(e),
        Err(e) => return fail(&format!("cannot find the agentd binary: {e}")),
    };
    let Some(exe) = exe.to_str().map(str::to_owned) else {
        return fail(&format!(
            "the agentd binary path {} is not UTF-8",
            exe.display()
        ));
    };
    let home = home.map(Path::to_path_buf).or_else(|| {
        std::env::var_os("AGENTD_HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from)
    });
    let home = home.map(|h| std::path::absolute(&h).unwrap_or(h));
    let mut doc = match super::install::read(&path) {
        Ok(d) => d,
        Err(e) => return fail(&e),
    };
    let entry = entry(&exe, home.as_deref().and_then(Path::to_str));
    match register(&mut doc, &entry) {
        Ok(false) => {
            println!(
                "agentd's MCP server is already registered in {}",
                path.display()
            );
            ExitCode::SUCCESS
        }
        Ok(true) => {
            println!("MCP server `{SERVER_NAME}` → {exe} mcp (user scope)");
            super::install::save(&path, &doc, dry_run, "registered in")
        }
        Err(e) => fail(&format!("{}: {e}; fix it by hand", path.display())),
    }
}

/// `agentd uninstall --mcp [--dry-run]`, and part of a plain `uninstall`.
pub fn uninstall(dry_run: bool) -> ExitCode {
    let Some(path) = claude_json() else {
        return fail("cannot find Claude Code's configuration: set HOME or CLAUDE_CONFIG_DIR");
    };
    if !path.exists() {
        println!(
            "agentd's MCP server is not registered ({} does not exist)",
            path.display()
        );
        return ExitCode::SUCCESS;
    }
    let mut doc = match super::install::read(&path) {
        Ok(d) => d,
        Err(e) => return fail(&e),
    };
    if !unregister(&mut doc) {
        println!(
            "agentd's MCP server is not registered in {}",
            path.display()
        );
        return ExitCode::SUCCESS;
    }
    super::install::save(&path, &doc, dry_run, "MCP server removed from")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registering_is_idempotent_and_keeps_other_servers() {
        let mut doc = json!({"numStartups": 3, "mcpServers": {"other": {"command": "x"}}});
        let e = entry("/usr/bin/agentd", None);
        assert_eq!(register(&mut doc, &e), Ok(true));
        assert_eq!(register(&mut doc, &e), Ok(false));
        assert_eq!(doc["mcpServers"]["agentd"]["args"], json!(["mcp"]));
        assert_eq!(doc["mcpServers"]["other"], json!({"command": "x"}));
        assert_eq!(doc["numStartups"], json!(3));
        // Another root is another entry.
        let e2 = entry("/usr/bin/agentd", Some("/tmp/a"));
        assert_eq!(register(&mut doc, &e2), Ok(true));
        assert_eq!(
            doc["mcpServers"]["agentd"]["args"],
            json!(["--home", "/tmp/a", "mcp"])
        );
        assert!(unregister(&mut doc));
        assert!(!unregister(&mut doc));
        assert_eq!(doc["mcpServers"]["other"], json!({"command": "x"}));
    }

    #[test]
    fn a_file_that_is_not_an_object_is_refused() {
        let e = entry("/a", None);
        assert!(register(&mut json!([1]), &e).is_err());
        assert!(register(&mut json!({"mcpServers": 3}), &e).is_err());
        let mut fresh = json!({});
        assert_eq!(register(&mut fresh, &e), Ok(true));
    }
}
