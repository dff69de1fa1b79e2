//! Any JSON as a hook or status-line payload: an event or an error, never a panic.
#![no_main]

use agentd_claude::hook::HookEnv;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let env = HookEnv::default();
    if let Ok(e) = agentd_claude::hook::to_event(&value, &env, 0) {
        assert!(!e.session_id.is_empty());
    }
    let _ = agentd_claude::statusline::to_event(&value, &env, 0);
    let line = agentd_claude::statusline::render(&value);
    assert!(!line.chars().any(|c| c.is_control()), "status line must be terminal-safe");
});
