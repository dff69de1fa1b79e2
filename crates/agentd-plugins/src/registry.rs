//! The plugins of one folder: loading, hot reload, calls with their
//! failure accounting, enable/disable, logs.
//!
//! Invariants:
//! - A plugin that fails (traps, times out, answers garbage) abstains: it
//!   never allows by accident. After `max_failures` failures in a row it
//!   is disabled, with the reason shown, until it is reloaded or enabled.
//! - A reload swaps an `Arc`: calls in flight finish on the old version. A
//!   version that fails to load leaves the previous one running, and the
//!   reason is shown.
//! - Compiling happens in `reload`, never in a call.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use agentd_proto::api::{PluginLogLine as LogLine, PluginView};
use serde_json::{Value, json};

use crate::host::{CallCtx, Host};
use crate::manifest::{Capability, MAX_MANIFEST_BYTES, Manifest};
use crate::runtime::{CallError, Ready, Runtime};
use crate::verdict::Verdict;

/// Largest `.wasm` loaded, bytes.
pub const MAX_WASM_BYTES: u64 = 32 << 20;
/// Log lines kept per plugin.
pub const LOG_LINES: usize = 200;

/// How plugins run, from `[plugins]` in agentd.toml.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `decide`'s deadline unless the manifest sets its own.
    pub decide_timeout: Duration,
    /// `on_event`'s deadline.
    pub event_timeout: Duration,
    /// Memory cap unless the manifest sets its own, bytes.
    pub memory_bytes: usize,
    /// Failures in a row that disable a plugin.
    pub max_failures: u32,
    /// What the user granted each plugin.
    pub grants: BTreeMap<String, BTreeSet<Capability>>,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            decide_timeout: Duration::from_millis(50),
            event_timeout: Duration::from_millis(200),
            memory_bytes: 32 << 20,
            max_failures: 5,
            grants: BTreeMap::new(),
        }
    }
}

/// A loaded version of a plugin.
pub struct Loaded {
    /// Its manifest.
    pub manifest: Manifest,
    /// `manifest.settings` as JSON, made once.
    settings: Value,
    /// `manifest.tools` compiled once (matched on every judged tool call).
    tools: globset::GlobSet,
    ready: Ready,
    /// BLAKE3 of the `.wasm` and the manifest text.
    pub hash: [u8; 32],
    /// When it was loaded, ms since the Unix epoch.
    pub loaded_ms: i64,
}

#[derive(Default)]
struct Slot {
    loaded: Option<Arc<Loaded>>,
    load_error: Option<String>,
    failures: u32,
    disabled: Option<String>,
    calls: u64,
    errors: u64,
    total_us: u64,
    logs: VecDeque<LogLine>,
}

impl Slot {
    fn log(&mut self, level: &'static str, text: String) {
        if self.logs.len() >= LOG_LINES {
            self.logs.pop_front();
        }
        self.logs.push_back(LogLine {
            ts_ms: now_ms(),
            level: level.to_owned(),
            text,
        });
    }
}

/// A tool call for `decide`.
#[derive(Debug, Clone)]
pub struct ToolCall<'a> {
    /// Tool name.
    pub tool: &'a str,
    /// Its input.
    pub input: &'a Value,
    /// The session: id, cwd, cost, status… (JSON).
    pub session: Value,
    /// The session's working directory (git runs there).
    pub cwd: Option<&'a str>,
}

/// One plugin's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Decided {
    /// The plugin.
    pub plugin: String,
    /// What it said (abstain when it failed).
    pub verdict: Verdict,
    /// Why it abstained when it failed.
    pub failure: Option<String>,
}

/// The plugins of one folder.
pub struct Plugins {
    runtime: Runtime,
    host: Arc<dyn Host>,
    dir: PathBuf,
    settings: Settings,
    slots: RwLock<BTreeMap<String, Slot>>,
    /// Plugins the user disabled (kept across restarts in `state_path`).
    off: Mutex<BTreeSet<String>>,
    state_path: PathBuf,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Plugins {
    /// The plugins in `dir` (`NAME.wasm` + `NAME.toml`), loaded now; the
    /// user's enable/disable choices kept in `state_path`.
    ///
    /// # Errors
    /// When the WASM runtime cannot start.
    pub fn open(
        dir: PathBuf,
        state_path: PathBuf,
        settings: Settings,
        host: Arc<dyn Host>,
    ) -> Result<Plugins, String> {
        let off = std::fs::read(&state_path)
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .and_then(|v| {
                v.get("disabled").and_then(Value::as_array).map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect::<BTreeSet<_>>()
                })
            })
            .unwrap_or_default();
        let p = Plugins {
            runtime: Runtime::new()?,
            host,
            dir,
            settings,
            slots: RwLock::new(BTreeMap::new()),
            off: Mutex::new(off),
            state_path,
        };
        p.reload();
        Ok(p)
    }

    /// The folder plugins are loaded from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Loads what changed in the folder: new plugins, changed `.wasm` or
    /// manifest (compiled here, swapped in whole), removed ones dropped.
    /// Returns each plugin looked at with its load error, if any.
    pub fn reload(&self) -> Vec<(String, Option<String>)> {
        let stems = self.stems();
        let mut report = Vec::new();
        for stem in &stems {
            let current = self
                .slots
                .read()
                .ok()
                .and_then(|s| s.get(stem).and_then(|s| s.loaded.as_ref().map(|l| l.hash)));
            let outcome = self.load(stem, current);
            let Ok(mut slots) = self.slots.write() else {
                break;
            };
            let slot = slots.entry(stem.clone()).or_default();
            match outcome {
                Ok(None) => report.push((stem.clone(), None)),
                Ok(Some(loaded)) => {
                    slot.log(
                        "load",
                        format!(
                            "loaded version {} ({})",
                            loaded.manifest.version,
                            hex16(&loaded.hash)
                        ),
                    );
                    slot.loaded = Some(Arc::new(loaded));
                    slot.load_error = None;
                    // A new version gets a fresh start.
                    slot.failures = 0;
                    slot.disabled = None;
                    report.push((stem.clone(), None));
                }
                Err(e) => {
                    if slot.load_error.as_deref() != Some(e.as_str()) {
                        slot.log("load", format!("not loaded: {e}"));
                    }
                    slot.load_error = Some(e.clone());
                    report.push((stem.clone(), Some(e)));
                }
            }
        }
        if let Ok(mut slots) = self.slots.write() {
            slots.retain(|name, _| stems.contains(name));
        }
        report
    }

    /// `NAME` of every `NAME.wasm` or `NAME.toml` in the folder.
    fn stems(&self) -> BTreeSet<String> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return BTreeSet::new();
        };
        entries
            .filter_map(Result::ok)
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let stem = name
                    .strip_suffix(".wasm")
                    .or_else(|| name.strip_suffix(".toml"))?;
                (!stem.starts_with('.')).then(|| stem.to_owned())
            })
            .collect()
    }

    /// Loads `stem` unless its files hash to `current` (`Ok(None)`).
    fn load(&self, stem: &str, current: Option<[u8; 32]>) -> Result<Option<Loaded>, String> {
        let wasm_path = self.dir.join(format!("{stem}.wasm"));
        let toml_path = self.dir.join(format!("{stem}.toml"));
        let wasm = agentd_fs::read(&wasm_path, MAX_WASM_BYTES)
            .map_err(|e| format!("{}: {e}", wasm_path.display()))?;
        let text = agentd_fs::read(&toml_path, MAX_MANIFEST_BYTES)
            .map_err(|e| format!("{}: {e}", toml_path.display()))?;
        let mut h = blake3::Hasher::new();
        h.update(&wasm);
        h.update(&text);
        let hash = *h.finalize().as_bytes();
        if current == Some(hash) {
            return Ok(None);
        }
        let text =
            String::from_utf8(text).map_err(|_| format!("{} is not UTF-8", toml_path.display()))?;
        let manifest =
            Manifest::parse(&text, stem).map_err(|e| format!("{}: {e}", toml_path.display()))?;
        let (ready, _) = self
            .runtime
            .prepare(&wasm)
            .map_err(|e| format!("{}: {e}", wasm_path.display()))?;
        if !manifest.tools.is_empty() && !Runtime::exports(&ready, "decide") {
            return Err(format!(
                "{}: the manifest names tools but the module exports no `decide`",
                wasm_path.display()
            ));
        }
        let tools = manifest
            .tool_matcher()
            .map_err(|e| format!("{}: {e}", toml_path.display()))?;
        Ok(Some(Loaded {
            tools,
            settings: manifest.settings_json(),
            manifest,
            ready,
            hash,
            loaded_ms: now_ms(),
        }))
    }

    /// The enabled plugins `pick` selects, each with its current version.
    fn enabled(&self, pick: impl Fn(&Loaded) -> bool) -> Vec<(String, Arc<Loaded>)> {
        let off = self.off.lock().map(|o| o.clone()).unwrap_or_default();
        let Ok(slots) = self.slots.read() else {
            return Vec::new();
        };
        slots
            .iter()
            .filter(|(name, s)| s.disabled.is_none() && !off.contains(*name))
            .filter_map(|(name, s)| s.loaded.as_ref().map(|l| (name.clone(), Arc::clone(l))))
            .filter(|(_, l)| pick(l))
            .collect()
    }

    /// Whether an enabled plugin passes `pick` (no allocation: asked for
    /// every event and every judged tool call).
    fn any_enabled(&self, pick: impl Fn(&Loaded) -> bool) -> bool {
        let Ok(off) = self.off.lock() else {
            return false;
        };
        let Ok(slots) = self.slots.read() else {
            return false;
        };
        slots.iter().any(|(name, s)| {
            s.disabled.is_none() && !off.contains(name) && s.loaded.as_deref().is_some_and(&pick)
        })
    }

    /// Whether an enabled plugin decides on `tool`: when none does, a tool
    /// call is judged by the rules alone, with no hop to the blocking pool.
    pub fn decides(&self, tool: &str) -> bool {
        self.any_enabled(|l| l.tools.is_match(tool))
    }

    /// Whether an enabled plugin wants events of `kind` (cheap: checked
    /// before an event is built for the plugins).
    pub fn wants(&self, kind: &str) -> bool {
        self.any_enabled(|l| l.manifest.wants(kind))
    }

    /// Adds a line to `name`'s log (the host's report of an effect).
    pub fn note(&self, name: &str, level: &'static str, text: String) {
        if let Ok(mut slots) = self.slots.write()
            && let Some(slot) = slots.get_mut(name)
        {
            slot.log(level, text);
        }
    }

    /// Asks every enabled plugin that decides on `call.tool`, in name
    /// order. Blocking: up to each plugin's deadline.
    pub fn decide(&self, call: &ToolCall<'_>) -> Vec<Decided> {
        let chosen = self.enabled(|l| l.tools.is_match(call.tool));
        let mut out = Vec::with_capacity(chosen.len());
        for (name, loaded) in chosen {
            let input = json!({
                "tool_name": call.tool,
                "tool_input": call.input,
                "session": call.session,
                "settings": loaded.settings,
            });
            let deadline = loaded
                .manifest
                .decide_timeout_ms
                .map(Duration::from_millis)
                .unwrap_or(self.settings.decide_timeout);
            let result = self.call(&name, &loaded, "decide", &input, deadline, call.cwd);
            let (verdict, failure) = match result.and_then(|bytes| {
                if bytes.is_empty() {
                    Ok(Verdict::Abstain)
                } else {
                    Verdict::parse(&bytes)
                }
            }) {
                Ok(v) => {
                    self.succeeded(&name);
                    (v, None)
                }
                Err(e) => {
                    self.failed(&name, &e);
                    (Verdict::Abstain, Some(e))
                }
            };
            out.push(Decided {
                plugin: name,
                verdict,
                failure,
            });
        }
        out
    }

    /// Tells every enabled plugin that wants `kind` of `event`; returns the
    /// effects each asked for (`{"effects": [{"type": "notify.send", …}]}`).
    pub fn on_event(
        &self,
        kind: &str,
        event: &Value,
        cwd: Option<&str>,
    ) -> Vec<(String, Vec<Value>)> {
        let chosen = self.enabled(|l| l.manifest.wants(kind));
        let mut out = Vec::new();
        for (name, loaded) in chosen {
            if !Runtime::exports(&loaded.ready, "on_event") {
                continue;
            }
            let input = json!({"event": event, "settings": loaded.settings});
            let result = self.call(
                &name,
                &loaded,
                "on_event",
                &input,
                self.settings.event_timeout,
                cwd,
            );
            match result.and_then(|b| effects_of(&b)) {
                Ok(effects) => {
                    self.succeeded(&name);
                    if !effects.is_empty() {
                        out.push((name, effects));
                    }
                }
                Err(e) => self.failed(&name, &e),
            }
        }
        out
    }

    /// Runs host function `request` (`{"fn": "github.comment", "args":
    /// {…}}`) for plugin `name`, with its own capabilities (requested by its
    /// manifest, granted in config) and `deadline`: how the daemon carries
    /// out an effect that needs one. Blocking.
    pub fn host_call(&self, name: &str, request: &Value, deadline: Duration) -> Value {
        let requested = self
            .slots
            .read()
            .ok()
            .and_then(|s| {
                s.get(name)
                    .and_then(|slot| slot.loaded.as_ref())
                    .map(|l| l.manifest.capabilities.iter().copied().collect())
            })
            .unwrap_or_default();
        let ctx = CallCtx {
            plugin: name.to_owned(),
            requested,
            granted: self.settings.grants.get(name).cloned().unwrap_or_default(),
            cwd: None,
            deadline: Instant::now() + deadline,
        };
        let bytes = serde_json::to_vec(request).unwrap_or_default();
        crate::host::dispatch(&*self.host, &ctx, &bytes)
    }

    fn call(
        &self,
        name: &str,
        loaded: &Loaded,
        export: &str,
        input: &Value,
        deadline: Duration,
        cwd: Option<&str>,
    ) -> Result<Vec<u8>, String> {
        let bytes = serde_json::to_vec(input).map_err(|e| e.to_string())?;
        let ctx = CallCtx {
            plugin: name.to_owned(),
            requested: loaded.manifest.capabilities.iter().copied().collect(),
            granted: self.settings.grants.get(name).cloned().unwrap_or_default(),
            cwd: cwd.map(str::to_owned),
            deadline: Instant::now() + deadline,
        };
        let memory = loaded
            .manifest
            .memory_mb
            .map(|mb| (mb as usize) << 20)
            .unwrap_or(self.settings.memory_bytes);
        let started = Instant::now();
        let result = self.runtime.call(
            &loaded.ready,
            export,
            &bytes,
            crate::runtime::Limits {
                deadline,
                memory_bytes: memory,
            },
            ctx,
            Arc::clone(&self.host),
        );
        let took = started.elapsed();
        if let Ok(mut slots) = self.slots.write()
            && let Some(slot) = slots.get_mut(name)
        {
            slot.calls += 1;
            slot.total_us += took.as_micros() as u64;
            if let Ok((_, logs)) = &result {
                for l in logs {
                    slot.log("info", l.clone());
                }
            }
        }
        result
            .map(|(out, _)| out)
            .map_err(|e: CallError| format!("{export} {e}"))
    }

    fn succeeded(&self, name: &str) {
        if let Ok(mut slots) = self.slots.write()
            && let Some(slot) = slots.get_mut(name)
        {
            slot.failures = 0;
        }
    }

    fn failed(&self, name: &str, why: &str) {
        let max = self.settings.max_failures.max(1);
        if let Ok(mut slots) = self.slots.write()
            && let Some(slot) = slots.get_mut(name)
        {
            slot.errors += 1;
            slot.failures += 1;
            slot.log("warn", format!("abstained: it {why}"));
            tracing::warn!(plugin = name, %why, "a plugin failed; it abstains");
            if slot.failures >= max && slot.disabled.is_none() {
                let reason = format!(
                    "disabled after {} failures in a row; the last: it {why}. Fix it and save it (it reloads), or `agentd plugins enable {name}`",
                    slot.failures
                );
                slot.log("warn", reason.clone());
                slot.disabled = Some(reason);
            }
        }
    }

    /// Every plugin's state, by name.
    pub fn list(&self) -> Vec<PluginView> {
        let off = self.off.lock().map(|o| o.clone()).unwrap_or_default();
        let Ok(slots) = self.slots.read() else {
            return Vec::new();
        };
        slots
            .iter()
            .map(|(name, s)| {
                let m = s.loaded.as_ref().map(|l| &l.manifest);
                let granted = self.settings.grants.get(name).cloned().unwrap_or_default();
                let (state, reason) = match (&s.loaded, &s.disabled, off.contains(name)) {
                    (None, _, _) => ("failed", s.load_error.clone()),
                    (Some(_), _, true) => (
                        "disabled",
                        Some(format!(
                            "disabled by the user; `agentd plugins enable {name}`"
                        )),
                    ),
                    (Some(_), Some(why), false) => ("disabled", Some(why.clone())),
                    (Some(_), None, false) => ("enabled", s.load_error.clone()),
                };
                PluginView {
                    name: name.clone(),
                    version: m.map(|m| m.version.clone()),
                    state: state.to_owned(),
                    reason,
                    tools: m.map(|m| m.tools.clone()).unwrap_or_default(),
                    events: m.map(|m| m.events.clone()).unwrap_or_default(),
                    capabilities: m
                        .map(|m| {
                            m.capabilities
                                .iter()
                                .map(|c| c.as_str().to_owned())
                                .collect()
                        })
                        .unwrap_or_default(),
                    granted: m
                        .map(|m| {
                            m.capabilities
                                .iter()
                                .filter(|c| granted.contains(c))
                                .map(|c| c.as_str().to_owned())
                                .collect()
                        })
                        .unwrap_or_default(),
                    calls: s.calls,
                    errors: s.errors,
                    mean_us: s.total_us.checked_div(s.calls).unwrap_or(0),
                    hash: s.loaded.as_ref().map(|l| hex16(&l.hash)),
                    loaded_ms: s.loaded.as_ref().map(|l| l.loaded_ms),
                }
            })
            .collect()
    }

    /// Enables or disables `name` (kept across restarts); enabling also
    /// clears a disable after failures.
    ///
    /// # Errors
    /// When no plugin has that name, or the choice cannot be saved.
    pub fn set_enabled(&self, name: &str, on: bool) -> Result<PluginView, String> {
        {
            let mut slots = self.slots.write().map_err(|_| "plugins lock poisoned")?;
            let slot = slots.get_mut(name).ok_or_else(|| {
                format!(
                    "no plugin `{name}` in {}; `agentd plugins ls` lists them",
                    self.dir.display()
                )
            })?;
            if on {
                slot.disabled = None;
                slot.failures = 0;
            }
            slot.log(
                "load",
                if on {
                    "enabled by the user"
                } else {
                    "disabled by the user"
                }
                .into(),
            );
        }
        let disabled = {
            let mut off = self.off.lock().map_err(|_| "plugins lock poisoned")?;
            if on {
                off.remove(name);
            } else {
                off.insert(name.to_owned());
            }
            off.clone()
        };
        let text = serde_json::to_vec_pretty(&json!({ "disabled": disabled }))
            .map_err(|e| e.to_string())?;
        let tmp = self.state_path.with_extension("tmp");
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, &self.state_path))
            .map_err(|e| format!("cannot save {}: {e}", self.state_path.display()))?;
        self.list()
            .into_iter()
            .find(|p| p.name == name)
            .ok_or_else(|| format!("no plugin `{name}`"))
    }

    /// `name`'s log, oldest first.
    ///
    /// # Errors
    /// When no plugin has that name.
    pub fn logs(&self, name: &str) -> Result<Vec<LogLine>, String> {
        let slots = self.slots.read().map_err(|_| "plugins lock poisoned")?;
        slots
            .get(name)
            .map(|s| s.logs.iter().cloned().collect())
            .ok_or_else(|| format!("no plugin `{name}`; `agentd plugins ls` lists them"))
    }
}

/// The `effects` of an `on_event` answer (none for an empty answer).
/// Most effects one `on_event` answer may ask for.
pub const MAX_EFFECTS: usize = 16;

fn effects_of(bytes: &[u8]) -> Result<Vec<Value>, String> {
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    let v: Value = serde_json::from_slice(bytes).map_err(|e| format!("answered garbage: {e}"))?;
    match v.get("effects") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) if a.len() > MAX_EFFECTS => Err(format!(
            "answered {} effects; at most {MAX_EFFECTS} per event",
            a.len()
        )),
        Some(Value::Array(a))
            if a.iter()
                .all(|e| e.get("type").and_then(Value::as_str).is_some()) =>
        {
            Ok(a.clone())
        }
        Some(_) => Err("answered `effects` that is not a list of {\"type\": …}".into()),
    }
}

fn hex16(h: &[u8; 32]) -> String {
    h.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod effect_tests {
    use super::*;

    #[test]
    fn an_answer_asks_for_at_most_sixteen_effects() {
        let answer = |n: usize| {
            serde_json::json!({"effects": vec![serde_json::json!({"type": "log"}); n]}).to_string()
        };
        assert_eq!(
            effects_of(answer(MAX_EFFECTS).as_bytes()).unwrap().len(),
            16
        );
        let e = effects_of(answer(MAX_EFFECTS + 1).as_bytes()).unwrap_err();
        assert!(e.contains("at most 16"), "{e}");
    }
}
