//! `agentd-hook`: what Claude Code runs on every hook event and status-line
//! refresh, installed beside `agentd` by `agentd install`.
//!
//! It does exactly what `agentd hook` and `agentd statusline` do, in a
//! binary that links nothing else (no CLI parser, no async runtime, no
//! SQLite, no TUI), so that starting it costs about what starting `cat`
//! does. Arguments: `[--home DIR] hook [--agent claude|codex|gemini]` or
//! `[--home DIR] statusline [--chain COMMAND]`. Whatever goes wrong, it exits 0 (fail open).
//!
//! It is `#![no_main]`: the C `main` below skips the Rust runtime's
//! start-up (reading `/proc/self/maps` for the main thread's stack guard,
//! installing the stack-overflow handler), about 0.1 ms of every tool call
//! (BENCHMARKS.md, hook round trip). What that start-up does that matters
//! here is done by hand: SIGPIPE is ignored (a chained status-line command
//! that closes its stdin early must not kill us) and stdout is flushed.
//! Arguments still come from `std::env::args_os` (std reads them from
//! glibc's `.init_array` call, not from its `main`).

#![no_main]

use std::io::Write;
use std::path::PathBuf;

/// The process entry point, called by the C runtime.
#[unsafe(no_mangle)]
pub extern "C" fn main(_argc: i32, _argv: *const *const u8) -> i32 {
    // SAFETY: setting a signal's disposition to SIG_IGN has no handler to
    // be unsafe in; nothing else runs yet.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    let code = run();
    let _ = std::io::stdout().flush();
    i32::from(code)
}

/// The hook's work; its exit status.
fn run() -> u8 {
    let mut args = std::env::args_os().skip(1);
    let mut home: Option<PathBuf> = None;
    let mut verb = None;
    let mut chain: Option<String> = None;
    let mut agent = agentd_core::Agent::Claude;
    while let Some(a) = args.next() {
        match a.to_str() {
            Some("--agent") => {
                let name = args.next();
                match name
                    .as_ref()
                    .and_then(|n| n.to_str())
                    .and_then(agentd_core::Agent::parse)
                {
                    Some(a) => agent = a,
                    None => {
                        eprintln!(
                            "agentd-hook: --agent takes claude, codex or gemini, not {name:?}"
                        );
                        return 0;
                    }
                }
            }
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
                return 0;
            }
            _ => {
                eprintln!(
                    "agentd-hook: unexpected argument {a:?}; usage: agentd-hook [--home DIR] hook [--agent claude|codex|gemini] | statusline [--chain COMMAND]"
                );
                return 0;
            }
        }
    }
    match verb {
        Some("hook") => agentd_hook::hook(home.as_deref(), agent),
        Some("statusline") => agentd_hook::statusline(home.as_deref(), chain.as_deref()),
        _ => {
            eprintln!("agentd-hook: say `hook` or `statusline`");
            0
        }
    }
}
