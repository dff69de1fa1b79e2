//! `agentd-hook`: what Claude Code runs on every hook event and status-line
//! refresh, installed beside `agentd` by `agentd install`.
//!
//! It does exactly what `agentd hook` and `agentd statusline` do, in a
//! binary that links nothing else (no CLI parser, no async runtime, no
//! SQLite, no TUI), so that starting it costs about what starting `cat`
//! does. Arguments: `[--home DIR] hook` or `[--home DIR] statusline
//! [--chain COMMAND]`. Whatever goes wrong, it exits 0 (fail open).

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let mut home: Option<PathBuf> = None;
    let mut verb = None;
    let mut chain: Option<String> = None;
    while let Some(a) = args.next() {
        match a.to_str() {
            Some("--home") => home = args.next().map(PathBuf::from),
            Some("--chain") => chain = args.next().and_then(|c| c.into_string().ok()),
            Some(s) if s.starts_with("--chain=") => chain = Some(s["--chain=".len()..].to_owned()),
            Some(s) if s.starts_with("--home=") => {
                home = Some(PathBuf::from(&s["--home=".len()..]))
            }
            Some("hook") if verb.is_none() => verb = Some("hook"),
            Some("statusline") if verb.is_none() => verb = Some("statusline"),
            Some("--version" | "-V") => {
                println!("agentd-hook {}", env!("CARGO_PKG_VERSION"));
                return ExitCode::SUCCESS;
            }
            _ => {
                eprintln!(
                    "agentd-hook: unexpected argument {a:?}; usage: agentd-hook [--home DIR] hook | statusline [--chain COMMAND]"
                );
                return ExitCode::SUCCESS;
            }
        }
    }
    match verb {
        Some("hook") => agentd_hook::hook(home.as_deref()),
        Some("statusline") => agentd_hook::statusline(home.as_deref(), chain.as_deref()),
        _ => {
            eprintln!("agentd-hook: say `hook` or `statusline`");
            ExitCode::SUCCESS
        }
    }
}
