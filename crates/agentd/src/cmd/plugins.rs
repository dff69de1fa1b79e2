//! `agentd plugins ls|reload|enable|disable|logs`.

use std::process::ExitCode;
use std::time::Duration;

use agentd_client::Paths;
use agentd_core::text::one_line;
use agentd_proto::api::PluginView;

use super::{client_error, connect, out, print_json};

fn table(list: &[PluginView]) -> String {
    if list.is_empty() {
        return "No plugins. Put NAME.wasm and NAME.toml in the root's plugins/ folder (`agentd paths` shows the root).\n".to_owned();
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|p| {
            vec![
                one_line(&p.name),
                one_line(p.version.as_deref().unwrap_or("-")),
                p.state.clone(),
                one_line(&p.tools.join(",")),
                one_line(&p.events.join(",")),
                one_line(&if p.capabilities.is_empty() {
                    "-".to_owned()
                } else {
                    p.capabilities
                        .iter()
                        .map(|c| {
                            if p.granted.contains(c) {
                                c.clone()
                            } else {
                                format!("{c}(not granted)")
                            }
                        })
                        .collect::<Vec<_>>()
                        .join(",")
                }),
                format!("{}/{}", p.errors, p.calls),
                format!("{} µs", p.mean_us),
            ]
        })
        .collect();
    let mut text = crate::render::table(
        &[
            "NAME",
            "VERSION",
            "STATE",
            "TOOLS",
            "EVENTS",
            "CAPABILITIES",
            "ERRORS/CALLS",
            "MEAN",
        ],
        &rows,
    );
    for p in list {
        if let Some(r) = &p.reason {
            text.push_str(&format!("{}: {}\n", one_line(&p.name), one_line(r)));
        }
    }
    text
}

/// `agentd plugins ls [--json]`.
pub fn ls(paths: &Paths, json: bool) -> ExitCode {
    let mut client = match connect(paths, Duration::from_secs(10)) {
        Ok(c) => c,
        Err(code) => return code,
    };
    match client.plugins() {
        Ok(list) if json => print_json(&list),
        Ok(list) => {
            out(&table(&list));
            ExitCode::SUCCESS
        }
        Err(e) => client_error(e),
    }
}

/// `agentd plugins reload`.
pub fn reload(paths: &Paths) -> ExitCode {
    let mut client = match connect(paths, Duration::from_secs(60)) {
        Ok(c) => c,
        Err(code) => return code,
    };
    match client.reload_plugins() {
        Ok(list) => {
            out(&table(&list));
            ExitCode::SUCCESS
        }
        Err(e) => client_error(e),
    }
}

/// `agentd plugins enable|disable NAME`.
pub fn set_enabled(paths: &Paths, name: &str, on: bool) -> ExitCode {
    let mut client = match connect(paths, Duration::from_secs(10)) {
        Ok(c) => c,
        Err(code) => return code,
    };
    match client.set_plugin_enabled(name, on) {
        Ok(p) => {
            out(&format!("{}: {}\n", one_line(&p.name), p.state));
            ExitCode::SUCCESS
        }
        Err(e) => client_error(e),
    }
}

/// `agentd plugins logs NAME [--json]`.
pub fn logs(paths: &Paths, name: &str, json: bool) -> ExitCode {
    let mut client = match connect(paths, Duration::from_secs(10)) {
        Ok(c) => c,
        Err(code) => return code,
    };
    match client.plugin_logs(name) {
        Ok(lines) if json => print_json(&lines),
        Ok(lines) => {
            let mut text = String::new();
            for l in &lines {
                text.push_str(&format!(
                    "{} {:<4} {}\n",
                    agentd_proto::api::rfc3339(l.ts_ms),
                    l.level,
                    one_line(&l.text)
                ));
            }
            out(&text);
            ExitCode::SUCCESS
        }
        Err(e) => client_error(e),
    }
}
