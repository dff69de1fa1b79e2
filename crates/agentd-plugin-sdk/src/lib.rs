//! Write agentd plugins in Rust.
//!
//! A plugin is a `cdylib` built for `wasm32-wasip1` (or
//! `wasm32-unknown-unknown`): it declares its entry points with
//! [`decide!`] and/or [`on_event!`], and reaches the host through
//! [`call`], [`log`] and the typed wrappers ([`git`], [`kv`], [`time`],
//! [`telemetry`]).
//! The ABI underneath — four functions, JSON both ways — is documented in
//! `agentd_plugins::runtime`; this crate is its typed guest side.
//!
//! ```ignore
//! use agentd_plugin_sdk::{Decision, ToolCall, decide};
//!
//! fn no_rm(call: ToolCall) -> Decision {
//!     match call.command() {
//!         Some(c) if c.trim_start().starts_with("rm ") => Decision::deny("no rm here"),
//!         _ => Decision::Abstain,
//!     }
//! }
//! decide!(no_rm);
//! ```

use serde::{Deserialize, Serialize};
pub use serde_json::{Value, json};

/// A tool call to decide on.
#[derive(Debug, Clone, Deserialize)]
pub struct ToolCall {
    /// The tool (`Bash`, `Edit`, `mcp__github__create_issue`).
    pub tool_name: String,
    /// Its input, as the agent sent it.
    #[serde(default)]
    pub tool_input: Value,
    /// The session: `session_id`, `cwd`, `cost_usd` (USD), `git_branch`,
    /// `model`, `status`, `permission_mode`, … (`null` when unknown).
    #[serde(default)]
    pub session: Value,
    /// The manifest's `[settings]`.
    #[serde(default)]
    pub settings: Value,
}

impl ToolCall {
    /// The shell command of a Bash call.
    pub fn command(&self) -> Option<&str> {
        self.tool_input.get("command").and_then(Value::as_str)
    }

    /// The session's cost so far, USD.
    pub fn cost_usd(&self) -> Option<f64> {
        self.session.get("cost_usd").and_then(Value::as_f64)
    }

    /// A setting as a string.
    pub fn setting(&self, key: &str) -> Option<&str> {
        self.settings.get(key).and_then(Value::as_str)
    }
}

/// A lifecycle event (`on_event`).
#[derive(Debug, Clone, Deserialize)]
pub struct Event {
    /// The event as agentd records it: `kind` (`tool.started`,
    /// `session.ended`, …), `session_id`, `name` (the agent's own event
    /// name), `payload`.
    pub event: Value,
    /// The manifest's `[settings]`.
    #[serde(default)]
    pub settings: Value,
}

/// What a plugin says about a tool call.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    /// Run it.
    Allow {
        /// Why.
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// Refuse it; the agent is told `message`.
    Deny {
        /// What the agent is told.
        #[serde(skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// Ask a human.
    Ask {
        /// Shown with the approval.
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// No opinion.
    Abstain,
}

impl Decision {
    /// Allow, saying why.
    pub fn allow(reason: impl Into<String>) -> Decision {
        Decision::Allow {
            reason: Some(reason.into()),
        }
    }

    /// Deny with the message the agent reads.
    pub fn deny(message: impl Into<String>) -> Decision {
        Decision::Deny {
            message: Some(message.into()),
        }
    }

    /// Ask a human, saying why.
    pub fn ask(reason: impl Into<String>) -> Decision {
        Decision::Ask {
            reason: Some(reason.into()),
        }
    }
}

/// An effect for the host to carry out after `on_event`: `type` is one of
/// `log`, `metric`, `notify.send`, `session.interrupt`, `session.kill`,
/// `memory.index`; the other fields are its arguments.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Effect {
    /// What to do.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its arguments.
    #[serde(flatten)]
    pub args: serde_json::Map<String, Value>,
}

impl Effect {
    /// An effect of `kind` with `args` (a JSON object).
    pub fn new(kind: &str, args: Value) -> Effect {
        Effect {
            kind: kind.to_owned(),
            args: match args {
                Value::Object(m) => m,
                _ => Default::default(),
            },
        }
    }
}

#[cfg(target_arch = "wasm32")]
#[link(wasm_import_module = "agentd")]
unsafe extern "C" {
    #[link_name = "call"]
    fn host_call(ptr: i32, len: i32) -> i64;
    #[link_name = "log"]
    fn host_log(ptr: i32, len: i32);
}

/// Calls host function `f` (`git.status`, `kv.get`, …) with `args`.
///
/// # Errors
/// The host's refusal (a capability not granted names where to grant it)
/// or the function's error.
pub fn call(f: &str, args: Value) -> Result<Value, String> {
    let request = json!({"fn": f, "args": args}).to_string();
    #[cfg(target_arch = "wasm32")]
    {
        let packed = unsafe { host_call(request.as_ptr() as i32, request.len() as i32) };
        let bytes = unsafe { take(packed) };
        let answer: Value = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
        match (answer.get("ok"), answer.get("error")) {
            (_, Some(e)) => Err(e.as_str().unwrap_or("error").to_owned()),
            (Some(v), None) => Ok(v.clone()),
            (None, None) => Ok(Value::Null),
        }
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = request;
        Err(format!("`{f}`: host functions exist only inside agentd"))
    }
}

/// A line for `agentd plugins logs`.
pub fn log(line: &str) {
    #[cfg(target_arch = "wasm32")]
    unsafe {
        host_log(line.as_ptr() as i32, line.len() as i32)
    }
    #[cfg(not(target_arch = "wasm32"))]
    let _ = line;
}

/// Git of the session's repository, read-only (capability `git`).
pub mod git {
    use super::{Value, call, json};

    fn text(f: &str, args: Value) -> Result<String, String> {
        call(f, args).map(|v| v.as_str().unwrap_or_default().to_owned())
    }

    /// `git status --porcelain=v1 --branch`.
    ///
    /// # Errors
    /// As [`call`].
    pub fn status() -> Result<String, String> {
        text("git.status", Value::Null)
    }

    /// The current branch.
    ///
    /// # Errors
    /// As [`call`].
    pub fn branch() -> Result<String, String> {
        text("git.branch", Value::Null)
    }

    /// The remote's default branch (`origin/main`).
    ///
    /// # Errors
    /// As [`call`].
    pub fn default_branch() -> Result<String, String> {
        text("git.default_branch", Value::Null)
    }

    /// `git diff --stat`, of the working tree or of `range` (`origin/main..HEAD`).
    ///
    /// # Errors
    /// As [`call`].
    pub fn diff_stat(range: Option<&str>) -> Result<String, String> {
        text("git.diff", json!({ "range": range }))
    }

    /// The last `n` commits, `<hash> <subject>` a line.
    ///
    /// # Errors
    /// As [`call`].
    pub fn log(n: u32) -> Result<String, String> {
        text("git.log", json!({ "n": n }))
    }
}

/// The plugin's own key-value store (capability `kv`).
pub mod kv {
    use super::{Value, call, json};

    /// The value at `key` (`null` when unset).
    ///
    /// # Errors
    /// As [`call`].
    pub fn get(key: &str) -> Result<Value, String> {
        call("kv.get", json!({ "key": key }))
    }

    /// Stores `value` at `key`.
    ///
    /// # Errors
    /// As [`call`].
    pub fn set(key: &str, value: Value) -> Result<(), String> {
        call("kv.set", json!({ "key": key, "value": value })).map(|_| ())
    }
}

/// Metrics on the daemon's Prometheus `/metrics` (capability
/// `telemetry`): `agentd_plugin_events_total{plugin, name}` and
/// `agentd_plugin_observations{plugin, name}`.
pub mod telemetry {
    use super::{call, json};

    /// Adds `by` to counter `name` (`[a-z0-9_]`).
    ///
    /// # Errors
    /// As [`call`].
    pub fn counter(name: &str, by: f64) -> Result<(), String> {
        call("telemetry.counter", json!({ "name": name, "value": by })).map(|_| ())
    }

    /// Records `value` in histogram `name`.
    ///
    /// # Errors
    /// As [`call`].
    pub fn histogram(name: &str, value: f64) -> Result<(), String> {
        call(
            "telemetry.histogram",
            json!({ "name": name, "value": value }),
        )
        .map(|_| ())
    }
}

/// The clock (capability `time`).
pub mod time {
    /// Now, ms since the Unix epoch.
    ///
    /// # Errors
    /// As [`super::call`].
    pub fn now_ms() -> Result<u64, String> {
        super::call("time.now_ms", super::Value::Null).map(|v| v.as_u64().unwrap_or(0))
    }
}

/// The ABI's allocator: a buffer of `len` bytes the host writes input into.
/// Each call is a fresh instance, so nothing is freed.
#[cfg(target_arch = "wasm32")]
#[unsafe(no_mangle)]
pub extern "C" fn agentd_alloc(len: i32) -> i32 {
    let mut buf = Vec::<u8>::with_capacity(len.max(0) as usize);
    let ptr = buf.as_mut_ptr();
    std::mem::forget(buf);
    ptr as i32
}

/// Reads the bytes at a packed `(ptr << 32) | len`.
///
/// # Safety
/// `packed` must name bytes this module's memory holds (as the host's
/// answers do).
#[cfg(target_arch = "wasm32")]
unsafe fn take(packed: i64) -> Vec<u8> {
    let (ptr, len) = (
        (packed as u64 >> 32) as usize,
        (packed as u64 & 0xffff_ffff) as usize,
    );
    if ptr == 0 || len == 0 {
        return Vec::new();
    }
    unsafe { std::slice::from_raw_parts(ptr as *const u8, len) }.to_vec()
}

/// Leaks `bytes` and packs where they are for the host.
#[doc(hidden)]
pub fn __answer(bytes: Vec<u8>) -> i64 {
    let bytes = bytes.into_boxed_slice();
    let len = bytes.len() as u64;
    let ptr = Box::leak(bytes).as_ptr() as usize as u64;
    ((ptr << 32) | len) as i64
}

/// Runs a `decide` function on the host's input (what [`decide!`] expands to).
///
/// # Safety
/// `ptr..ptr+len` must be the input the host wrote.
#[doc(hidden)]
pub unsafe fn __decide(ptr: i32, len: i32, f: fn(ToolCall) -> Decision) -> i64 {
    let input =
        unsafe { std::slice::from_raw_parts(ptr as usize as *const u8, len.max(0) as usize) };
    let decision = match serde_json::from_slice::<ToolCall>(input) {
        Ok(call) => f(call),
        Err(e) => {
            log(&format!("cannot read the tool call: {e}"));
            Decision::Abstain
        }
    };
    __answer(serde_json::to_vec(&decision).unwrap_or_default())
}

/// Runs an `on_event` function on the host's input (what [`on_event!`]
/// expands to).
///
/// # Safety
/// `ptr..ptr+len` must be the input the host wrote.
#[doc(hidden)]
pub unsafe fn __on_event(ptr: i32, len: i32, f: fn(Event) -> Vec<Effect>) -> i64 {
    let input =
        unsafe { std::slice::from_raw_parts(ptr as usize as *const u8, len.max(0) as usize) };
    let effects = match serde_json::from_slice::<Event>(input) {
        Ok(e) => f(e),
        Err(e) => {
            log(&format!("cannot read the event: {e}"));
            Vec::new()
        }
    };
    __answer(serde_json::to_vec(&json!({ "effects": effects })).unwrap_or_default())
}

/// Declares `f: fn(ToolCall) -> Decision` as the plugin's `decide`.
#[macro_export]
macro_rules! decide {
    ($f:path) => {
        #[unsafe(no_mangle)]
        pub extern "C" fn decide(ptr: i32, len: i32) -> i64 {
            unsafe { $crate::__decide(ptr, len, $f) }
        }
    };
}

/// Declares `f: fn(Event) -> Vec<Effect>` as the plugin's `on_event`.
#[macro_export]
macro_rules! on_event {
    ($f:path) => {
        #[unsafe(no_mangle)]
        pub extern "C" fn on_event(ptr: i32, len: i32) -> i64 {
            unsafe { $crate::__on_event(ptr, len, $f) }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_serialize_as_the_host_reads_them() {
        assert_eq!(
            serde_json::to_value(Decision::deny("no")).unwrap(),
            json!({"decision": "deny", "message": "no"})
        );
        assert_eq!(
            serde_json::to_value(Decision::Abstain).unwrap(),
            json!({"decision": "abstain"})
        );
        let e = Effect::new("notify.send", json!({"title": "over budget"}));
        assert_eq!(
            serde_json::to_value(e).unwrap(),
            json!({"type": "notify.send", "title": "over budget"})
        );
    }

    #[test]
    fn a_tool_call_reads_its_fields() {
        let c: ToolCall = serde_json::from_value(json!({
            "tool_name": "Bash", "tool_input": {"command": "git push"},
            "session": {"cost_usd": 2.5}, "settings": {"branch": "main"}}))
        .unwrap();
        assert_eq!(c.command(), Some("git push"));
        assert_eq!(c.cost_usd(), Some(2.5));
        assert_eq!(c.setting("branch"), Some("main"));
    }
}
