//! The peer the usage reports are checked against: ccusage, pinned and
//! installed by `scripts/install-ccusage.sh`. Shared by the agentd tests and
//! benches and by `agentd-index`'s fixture tests (included by path).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Tokens of one day: input, output, cache writes, cache reads.
pub type DayTokens = [u64; 4];

/// `$AGENTD_CCUSAGE_BIN`, else what the install script installs (or has).
///
/// # Errors
/// The install script failed (no npm, no network).
pub fn bin() -> Result<PathBuf, String> {
    if let Some(b) = std::env::var_os("AGENTD_CCUSAGE_BIN") {
        return Ok(PathBuf::from(b));
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/install-ccusage.sh");
    let out = std::process::Command::new("bash")
        .arg(script)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "installing ccusage failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// `ccusage claude daily --json --offline --timezone UTC` over the Claude
/// config folder `config_dir` (with an empty HOME, so no other agent's data
/// counts): tokens per day.
///
/// # Errors
/// ccusage is missing, fails, or prints something else.
pub fn daily(config_dir: &Path) -> Result<BTreeMap<String, DayTokens>, String> {
    let home = tempfile::tempdir().map_err(|e| e.to_string())?;
    let out = std::process::Command::new(bin()?)
        .args([
            "claude",
            "daily",
            "--json",
            "--offline",
            "--timezone",
            "UTC",
        ])
        .env("HOME", home.path())
        .env("CLAUDE_CONFIG_DIR", config_dir)
        .env("TZ", "UTC")
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!("ccusage failed: {out:?}"));
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())?;
    let days = v["daily"].as_array().ok_or("no `daily` array")?;
    days.iter()
        .map(|d| {
            let n = |k: &str| d[k].as_u64().ok_or(format!("no {k} in {d}"));
            let date = d["date"].as_str().ok_or("no date")?.to_owned();
            Ok((
                date,
                [
                    n("inputTokens")?,
                    n("outputTokens")?,
                    n("cacheCreationTokens")?,
                    n("cacheReadTokens")?,
                ],
            ))
        })
        .collect()
}

/// agentd's `usage.report` rows (`daily`) in the same shape.
pub fn from_report(rows: &serde_json::Value) -> BTreeMap<String, DayTokens> {
    rows.as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            let n = |k: &str| r[k].as_u64().unwrap_or(0);
            (
                r["period"].as_str().unwrap_or("").to_owned(),
                [
                    n("input_tokens"),
                    n("output_tokens"),
                    n("cache_creation_tokens"),
                    n("cache_read_tokens"),
                ],
            )
        })
        .collect()
}
