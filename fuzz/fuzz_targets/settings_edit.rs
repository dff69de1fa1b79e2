//! Any settings.json document: install is idempotent, uninstall gives the
//! original back (when it held nothing of agentd's), nothing panics.
#![no_main]

use agentd_claude::settings::{self, Commands};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(original) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let cmds = Commands::for_binary("/usr/bin/agentd", None);
    let mut doc = original.clone();
    if settings::install(&mut doc, &cmds).is_err() {
        assert_eq!(doc, original, "a refused install leaves the document alone");
        return;
    }
    let once = doc.clone();
    settings::install(&mut doc, &cmds).expect("second install");
    assert_eq!(doc, once, "install is idempotent");
    settings::uninstall(&mut doc).expect("uninstall");
    // A document that held no agentd command comes back exactly.
    let had_ours = serde_json::to_string(&original)
        .map(|t| t.contains("agentd"))
        .unwrap_or(true);
    if !had_ours {
        assert_eq!(doc, original, "uninstall undoes install");
    }
});
