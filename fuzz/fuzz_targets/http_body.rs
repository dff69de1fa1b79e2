//! Any bytes as the body of `POST /hooks/claude` (and as a hook's stdin):
//! cut to the shared payload limit, then mapped — the cut always fits, keeps
//! the session id when it was short, and never panics.
#![no_main]

use agentd_claude::hook::{HookEnv, fit_payload, to_event};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    // Small limits, so that the fuzzer reaches the cutting paths.
    for max in [64usize, 300, 4096] {
        let fit = fit_payload(value.clone(), max);
        let len = serde_json::to_vec(&fit).unwrap().len();
        let original = serde_json::to_vec(&value).unwrap().len();
        if original <= max {
            assert_eq!(fit, value, "a payload that fits is kept as it is");
        } else if let Some(sid) = value.get("session_id").and_then(|s| s.as_str())
            && sid.len() < 16
            && max >= 300
        {
            assert_eq!(fit["session_id"].as_str(), Some(sid));
        }
        assert!(len <= max.max(64), "{len} > {max}");
        let _ = to_event(&fit, &HookEnv::default(), 0);
    }
});
