//! A local fake of the Anthropic Messages API for driving the real Claude
//! Code CLI offline in tests (`ANTHROPIC_BASE_URL=http://127.0.0.1:PORT`).
//!
//! It plays one scripted turn per prompt:
//! 1. a request whose tools include `Bash` and whose last user message does
//!    not end with a `tool_result` gets a `tool_use` of `Bash` running
//!    [`Script::bash_command`] (`stop_reason: "tool_use"`);
//! 2. once the last user message ends with the `tool_result`, it gets the
//!    text [`Script::final_text`] (`stop_reason: "end_turn"`);
//! 3. a compaction request (`/compact`) gets a `<summary>`; anything else
//!    gets plain text.
//!
//! With [`Script::tool_call`] the turn calls that tool instead of Bash,
//! fetching it through Claude Code's `ToolSearch` first when it is deferred
//! (MCP tools are).
//!
//! Responses are SSE streams: `message_start`, `content_block_start`,
//! `content_block_delta` (`text_delta` / `input_json_delta`),
//! `content_block_stop`, `message_delta`, `message_stop`.
//! `POST /v1/messages/count_tokens` answers `{"input_tokens": 100}`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

/// What the fake answers.
#[derive(Debug, Clone)]
pub struct Script {
    /// The Bash command of the scripted `tool_use`.
    pub bash_command: String,
    /// The text that ends the turn.
    pub final_text: String,
    /// The model id reported in responses.
    pub model: String,
    /// When set, the main agent first hands this task to a subagent (a
    /// `tool_use` of `Agent`/`Task`, whichever the request offers); the
    /// subagent then runs the Bash command and ends with `final_text`.
    pub subagent_task: Option<String>,
    /// When set, a turn whose last user text carries agentd's hook-check
    /// failure ("hook check(s) failed", fed back by a blocking Stop hook)
    /// is answered with a Bash `tool_use` of this command: the "fix".
    pub fix_command: Option<String>,
    /// When set and the request offers the tool named here (an MCP tool
    /// such as `mcp__agentd__search_history`), the turn calls it with this
    /// input instead of running the Bash command.
    pub tool_call: Option<(String, Value)>,
}

impl Default for Script {
    fn default() -> Script {
        Script {
            bash_command: "echo hello > out.txt".to_owned(),
            final_text: "done".to_owned(),
            model: "claude-sonnet-4-5".to_owned(),
            subagent_task: None,
            fix_command: None,
            tool_call: None,
        }
    }
}

struct Fake {
    script: Script,
    bodies: std::sync::Mutex<Vec<Value>>,
    requests: AtomicUsize,
    next_id: AtomicUsize,
}

/// A running fake; stops when dropped.
pub struct FakeApi {
    addr: SocketAddr,
    fake: Arc<Fake>,
    _shutdown: tokio::sync::oneshot::Sender<()>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeApi {
    /// Starts the fake on `127.0.0.1:0` in a thread of its own.
    ///
    /// # Errors
    /// The I/O error when the runtime or the listener cannot be set up.
    pub fn start(script: Script) -> std::io::Result<FakeApi> {
        let fake = Arc::new(Fake {
            script,
            bodies: std::sync::Mutex::new(Vec::new()),
            requests: AtomicUsize::new(0),
            next_id: AtomicUsize::new(1),
        });
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let app = router(Arc::clone(&fake));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let thread = std::thread::spawn(move || {
            runtime.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(std_listener) else {
                    return;
                };
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = rx.await;
                    })
                    .await;
            });
        });
        Ok(FakeApi {
            addr,
            fake,
            _shutdown: tx,
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`, for `ANTHROPIC_BASE_URL`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Bodies of the requests to `/v1/messages` so far, in order.
    pub fn bodies(&self) -> Vec<Value> {
        self.fake
            .bodies
            .lock()
            .map(|b| b.clone())
            .unwrap_or_default()
    }

    /// Requests to `/v1/messages` so far.
    pub fn requests(&self) -> usize {
        self.fake.requests.load(Ordering::SeqCst)
    }
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        // Dropping `_shutdown` stops the server; wait for its thread.
        let (tx, _) = tokio::sync::oneshot::channel();
        drop(std::mem::replace(&mut self._shutdown, tx));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn router(fake: Arc<Fake>) -> Router {
    Router::new()
        .route("/v1/messages", post(messages))
        .route("/v1/messages/count_tokens", post(count_tokens))
        .with_state(fake)
}

async fn count_tokens() -> Response {
    axum::Json(json!({"input_tokens": 100})).into_response()
}

/// What to answer to one request body.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// A `tool_use` of Bash with this command.
    ToolUse(String),
    /// Text ending the turn.
    Text(String),
    /// A `tool_use` of the subagent tool (`tool`: `Agent` or `Task`) with
    /// this prompt.
    Subagent {
        /// The tool's name in this Claude Code version.
        tool: String,
        /// The task.
        prompt: String,
    },
    /// A `tool_use` of any other tool ([`Script::tool_call`]).
    Call {
        /// The tool's name.
        name: String,
        /// Its input.
        input: Value,
    },
}

impl Reply {
    /// The tool call of a `tool_use` reply: name and input.
    fn tool_call(&self) -> Option<(&str, Value)> {
        match self {
            Reply::ToolUse(cmd) => Some((
                "Bash",
                json!({"command": cmd, "description": "run a command"}),
            )),
            Reply::Subagent { tool, prompt } => Some((
                tool.as_str(),
                json!({"description": "delegated task", "prompt": prompt, "subagent_type": "general-purpose"}),
            )),
            Reply::Call { name, input } => Some((name.as_str(), input.clone())),
            Reply::Text(_) => None,
        }
    }
}

/// Decides the reply to a Messages request (pure; see the module docs).
pub fn decide(body: &Value, script: &Script) -> Reply {
    let messages = body.get("messages").and_then(Value::as_array);
    let last_user = messages.and_then(|m| m.iter().rev().find(|m| m["role"] == "user"));
    let blocks: Vec<&Value> = match last_user.map(|m| &m["content"]) {
        Some(Value::Array(b)) => b.iter().collect(),
        _ => Vec::new(),
    };
    let text_of_last: String = match last_user.map(|m| &m["content"]) {
        Some(Value::String(s)) => s.clone(),
        _ => blocks
            .iter()
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
    };
    if text_of_last.contains("Respond with TEXT ONLY") && text_of_last.contains("<summary>") {
        return Reply::Text("<analysis>test</analysis>\n<summary>The user asked for a file; it was written.</summary>".to_owned());
    }
    let has_bash = body
        .get("tools")
        .and_then(Value::as_array)
        .is_some_and(|tools| tools.iter().any(|t| t["name"] == "Bash"));
    if !has_bash {
        return Reply::Text("ok".to_owned());
    }
    // "Ends with a tool_result", ignoring trailing system reminders: after a
    // rejected call the next prompt arrives in the same message.
    let ends_with_result = blocks
        .iter()
        .rev()
        .find(|b| {
            !(b["type"] == "text"
                && b["text"]
                    .as_str()
                    .is_some_and(|t| t.trim_start().starts_with("<system-reminder>")))
        })
        .is_some_and(|b| b["type"] == "tool_result");
    let subagent_tool = body
        .get("tools")
        .and_then(Value::as_array)
        .and_then(|tools| {
            tools
                .iter()
                .filter_map(|t| t["name"].as_str())
                .find(|n| *n == "Agent" || *n == "Task")
        });
    if let Some(fix) = &script.fix_command
        && text_of_last.contains("hook check(s) failed")
        && has_bash
    {
        return Reply::ToolUse(fix.clone());
    }
    // The subagent's own requests carry the task as a user text; only the
    // main agent delegates (subagents may spawn subagents too).
    let user_texts = messages
        .into_iter()
        .flatten()
        .filter(|m| m["role"] == "user")
        .flat_map(|m| match &m["content"] {
            Value::String(s) => vec![s.clone()],
            Value::Array(b) => b
                .iter()
                .filter(|b| b["type"] == "text")
                .filter_map(|b| b["text"].as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        })
        .collect::<Vec<_>>();
    let is_subagent = script
        .subagent_task
        .as_ref()
        .is_some_and(|t| user_texts.iter().any(|u| u.contains(t.as_str())));
    // Delegate once: later turns (the subagent's completion notice arrives
    // as a new user message) end with text.
    let delegated = messages.into_iter().flatten().any(|m| {
        m["role"] == "assistant"
            && m["content"].as_array().is_some_and(|b| {
                b.iter().any(|b| {
                    b["type"] == "tool_use" && (b["name"] == "Agent" || b["name"] == "Task")
                })
            })
    });
    if let Some((name, input)) = &script.tool_call {
        let offered = |tool: &str| {
            body.get("tools")
                .and_then(Value::as_array)
                .is_some_and(|tools| tools.iter().any(|t| t["name"] == tool))
        };
        let called = |tool: &str| {
            messages.into_iter().flatten().any(|m| {
                m["role"] == "assistant"
                    && m["content"].as_array().is_some_and(|b| {
                        b.iter()
                            .any(|b| b["type"] == "tool_use" && b["name"] == tool)
                    })
            })
        };
        if !called(name) {
            // Claude Code defers MCP tools behind its ToolSearch tool: fetch
            // the tool's schema first, as a model would, then call it.
            if offered(name) || called("ToolSearch") {
                return Reply::Call {
                    name: name.clone(),
                    input: input.clone(),
                };
            }
            if offered("ToolSearch") {
                return Reply::Call {
                    name: "ToolSearch".to_owned(),
                    input: json!({"query": format!("select:{name}"), "max_results": 1}),
                };
            }
        }
    }
    if ends_with_result || (delegated && !is_subagent) {
        Reply::Text(script.final_text.clone())
    } else if let (Some(task), Some(tool), false) =
        (&script.subagent_task, subagent_tool, is_subagent)
    {
        Reply::Subagent {
            tool: tool.to_owned(),
            prompt: task.clone(),
        }
    } else {
        Reply::ToolUse(script.bash_command.clone())
    }
}

async fn messages(State(fake): State<Arc<Fake>>, body: axum::body::Bytes) -> Response {
    fake.requests.fetch_add(1, Ordering::SeqCst);
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "body is not JSON").into_response();
    };
    if let Ok(mut bodies) = fake.bodies.lock() {
        bodies.push(body.clone());
    }
    let n = fake.next_id.fetch_add(1, Ordering::SeqCst);
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or(&fake.script.model)
        .to_owned();
    let reply = decide(&body, &fake.script);
    let stream = if body.get("stream").and_then(Value::as_bool).unwrap_or(false) {
        sse(&reply, n, &model)
    } else {
        return axum::Json(whole_message(&reply, n, &model)).into_response();
    };
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        stream,
    )
        .into_response()
}

fn usage(output: u64) -> Value {
    json!({"input_tokens": 100, "output_tokens": output, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0})
}

fn whole_message(reply: &Reply, n: usize, model: &str) -> Value {
    let (content, stop) = match (reply, reply.tool_call()) {
        (_, Some((name, input))) => (
            json!([{"type": "tool_use", "id": format!("toolu_fake{n:04}"), "name": name, "input": input}]),
            "tool_use",
        ),
        (Reply::Text(t), None) => (json!([{"type": "text", "text": t}]), "end_turn"),
        (_, None) => (json!([]), "end_turn"),
    };
    json!({"id": format!("msg_fake{n:04}"), "type": "message", "role": "assistant", "model": model,
        "content": content, "stop_reason": stop, "stop_sequence": null, "usage": usage(10)})
}

fn sse(reply: &Reply, n: usize, model: &str) -> String {
    let mut out = String::new();
    let mut event = |name: &str, data: Value| {
        out.push_str(&format!("event: {name}\ndata: {data}\n\n"));
    };
    event(
        "message_start",
        json!({"type": "message_start", "message": {"id": format!("msg_fake{n:04}"), "type": "message",
            "role": "assistant", "model": model, "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": usage(1)}}),
    );
    let stop = match (reply, reply.tool_call()) {
        (Reply::Text(t), _) => {
            event(
                "content_block_start",
                json!({"type": "content_block_start", "index": 0,
                "content_block": {"type": "text", "text": ""}}),
            );
            event(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 0,
                "delta": {"type": "text_delta", "text": t}}),
            );
            "end_turn"
        }
        (_, call) => {
            let (name, input) = call.unwrap_or(("Bash", json!({})));
            event(
                "content_block_start",
                json!({"type": "content_block_start", "index": 0,
                "content_block": {"type": "tool_use", "id": format!("toolu_fake{n:04}"), "name": name, "input": {}}}),
            );
            let input = input.to_string();
            event(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 0,
                "delta": {"type": "input_json_delta", "partial_json": input}}),
            );
            "tool_use"
        }
    };
    event(
        "content_block_stop",
        json!({"type": "content_block_stop", "index": 0}),
    );
    event(
        "message_delta",
        json!({"type": "message_delta",
        "delta": {"stop_reason": stop, "stop_sequence": null}, "usage": {"output_tokens": 10}}),
    );
    event("message_stop", json!({"type": "message_stop"}));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripted_turn() {
        let s = Script::default();
        let tools = json!([{"name": "Bash"}]);
        let first = json!({"tools": tools, "messages": [{"role": "user", "content": "go"}]});
        assert_eq!(
            decide(&first, &s),
            Reply::ToolUse("echo hello > out.txt".into())
        );
        let second = json!({"tools": tools, "messages": [{"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "t", "content": "ok"},
            {"type": "text", "text": "<system-reminder>x</system-reminder>"}]}]});
        assert_eq!(decide(&second, &s), Reply::Text("done".into()));
        let next_prompt = json!({"tools": tools, "messages": [{"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "t", "content": "rejected"},
            {"type": "text", "text": "try again"}]}]});
        assert_eq!(
            decide(&next_prompt, &s),
            Reply::ToolUse("echo hello > out.txt".into())
        );
        assert_eq!(
            decide(&json!({"messages": []}), &s),
            Reply::Text("ok".into())
        );
    }

    #[test]
    fn a_scripted_mcp_tool_is_fetched_through_tool_search_then_called() {
        let s = Script {
            tool_call: Some(("mcp__agentd__usage".into(), json!({"by": "day"}))),
            ..Script::default()
        };
        let deferred = json!([{"name": "Bash"}, {"name": "ToolSearch"}]);
        let first = json!({"tools": deferred, "messages": [{"role": "user", "content": "go"}]});
        assert_eq!(
            decide(&first, &s),
            Reply::Call {
                name: "ToolSearch".into(),
                input: json!({"query": "select:mcp__agentd__usage", "max_results": 1})
            }
        );
        let searched = json!({"tools": deferred, "messages": [
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": [{"type": "tool_use", "name": "ToolSearch"}]},
            {"role": "user", "content": [{"type": "tool_result"}]}]});
        assert_eq!(
            decide(&searched, &s),
            Reply::Call {
                name: "mcp__agentd__usage".into(),
                input: json!({"by": "day"})
            }
        );
        let called = json!({"tools": deferred, "messages": [
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": [{"type": "tool_use", "name": "mcp__agentd__usage"}]},
            {"role": "user", "content": [{"type": "tool_result"}]}]});
        assert_eq!(decide(&called, &s), Reply::Text("done".into()));
        // Offered up front: called at once.
        let direct = json!({"tools": [{"name": "Bash"}, {"name": "mcp__agentd__usage"}], "messages": [{"role": "user", "content": "go"}]});
        assert!(
            matches!(decide(&direct, &s), Reply::Call { name, .. } if name == "mcp__agentd__usage")
        );
    }

    #[test]
    fn scripted_subagent() {
        let s = Script {
            subagent_task: Some("count the files".into()),
            ..Script::default()
        };
        let main_tools = json!([{"name": "Bash"}, {"name": "Agent"}]);
        let first = json!({"tools": main_tools, "messages": [{"role": "user", "content": "go"}]});
        assert_eq!(
            decide(&first, &s),
            Reply::Subagent {
                tool: "Agent".into(),
                prompt: "count the files".into()
            }
        );
        // The subagent (it has the subagent tool too) runs Bash.
        let sub = json!({"tools": main_tools, "messages": [{"role": "user", "content": [{"type": "text", "text": "count the files"}]}]});
        assert_eq!(
            decide(&sub, &s),
            Reply::ToolUse("echo hello > out.txt".into())
        );
        let body = sse(&decide(&first, &s), 3, "m");
        assert!(
            body.contains("\"name\":\"Agent\"") && body.contains("subagent_type"),
            "{body}"
        );
    }

    #[test]
    fn sse_has_every_event() {
        let body = sse(&Reply::ToolUse("ls".into()), 1, "m");
        for e in [
            "message_start",
            "content_block_start",
            "input_json_delta",
            "content_block_stop",
            "message_delta",
            "message_stop",
        ] {
            assert!(body.contains(e), "{e}");
        }
    }
}
