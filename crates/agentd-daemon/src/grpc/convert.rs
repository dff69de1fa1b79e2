//! The API's data as `agentd.v1` messages. Nothing here computes
//! anything; agent data (tool inputs, payloads, decisions) travels as JSON
//! text.

use super::pb;

/// JSON text of any serializable value (`null` if it cannot be).
pub fn json_text<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".to_owned())
}

impl From<agentd_proto::api::SessionView> for pb::Session {
    fn from(v: agentd_proto::api::SessionView) -> pb::Session {
        let s = v.session;
        pb::Session {
            id: s.id,
            agent: s.agent,
            status: s.status.as_str().to_owned(),
            status_since_ms: s.status_since_ms,
            cwd: s.cwd,
            project: s.project,
            git_branch: s.git_branch,
            model: s.model,
            permission_mode: s.permission_mode,
            transcript_path: s.transcript_path,
            current_tool: s.current_tool,
            last_tool: s.last_tool,
            pending_approvals: s.pending_approvals,
            prompts: s.prompts,
            tool_calls: s.tool_calls,
            subagents: s
                .subagents
                .into_iter()
                .map(|a| pb::Subagent {
                    agent_id: a.agent_id,
                    agent_type: a.agent_type,
                    active: a.active,
                })
                .collect(),
            context_pct: s.context_pct,
            cost_usd: s.cost_usd,
            tmux_pane: s.tmux_pane,
            pid: s.pid,
            end_reason: s.end_reason,
            last_error: s.last_error,
            first_event_ms: s.first_event_ms,
            last_event_ms: s.last_event_ms,
            last_seq: s.last_seq,
            live: v.live,
            discovered: s.discovered,
            process: v.process.map(pb::ProcessStats::from),
        }
    }
}

impl From<agentd_proto::api::ProcessStats> for pb::ProcessStats {
    fn from(p: agentd_proto::api::ProcessStats) -> pb::ProcessStats {
        pb::ProcessStats {
            cpu_pct: p.cpu_pct,
            rss_bytes: p.rss_bytes,
            processes: p.processes,
            hot: p.hot.map(|h| pb::HotProcess {
                pid: h.pid,
                comm: h.comm,
                since_ms: h.since_ms,
            }),
            sampled_ms: p.sampled_ms,
        }
    }
}

impl From<Vec<agentd_proto::api::SessionProcess>> for pb::ProcessSample {
    fn from(all: Vec<agentd_proto::api::SessionProcess>) -> pb::ProcessSample {
        pb::ProcessSample {
            sessions: all
                .into_iter()
                .map(|p| pb::SessionProcess {
                    session_id: p.session_id,
                    process: Some(p.process.into()),
                })
                .collect(),
        }
    }
}

impl From<agentd_proto::api::EventRecord> for pb::Event {
    fn from(e: agentd_proto::api::EventRecord) -> pb::Event {
        pb::Event {
            seq: e.seq,
            ts_ms: e.ts_ms,
            session_id: e.session_id,
            agent: e.agent,
            source: e.source,
            name: e.name,
            kind: e.kind,
            payload_json: json_text(&e.payload),
        }
    }
}

impl From<agentd_proto::api::ApprovalView> for pb::Approval {
    fn from(v: agentd_proto::api::ApprovalView) -> pb::Approval {
        let a = v.approval;
        pb::Approval {
            id: a.id,
            session_id: a.session_id,
            agent_id: a.agent_id,
            tool_name: a.tool_name,
            tool_input_json: json_text(&a.tool_input),
            tool_use_id: a.tool_use_id,
            cwd: a.cwd,
            origin: serde_json::to_value(a.origin)
                .ok()
                .and_then(|o| o.as_str().map(str::to_owned))
                .unwrap_or_default(),
            status: a.status.as_str().to_owned(),
            decision_json: a.decision.as_ref().map(json_text),
            decided_by: a.decided_by,
            reason: a.reason,
            created_ms: a.created_ms,
            decided_ms: a.decided_ms,
            asked_because: a.asked_because,
        }
    }
}

impl From<agentd_proto::api::Health> for pb::HealthResponse {
    fn from(h: agentd_proto::api::Health) -> pb::HealthResponse {
        pb::HealthResponse {
            status: h.status,
            version: h.version,
            uptime_s: h.uptime_s,
            pid: h.pid,
            sessions: h.sessions as u64,
            head_seq: h.head_seq,
            problems: h.problems,
        }
    }
}

impl From<agentd_hooks::store::RunRecord> for pb::HookRun {
    fn from(r: agentd_hooks::store::RunRecord) -> pb::HookRun {
        pb::HookRun {
            run_id: r.run_id,
            hook: r.hook,
            dir: r.dir,
            session_id: r.session_id,
            event: r.event,
            started_ms: r.started_ms,
            ended_ms: r.ended_ms,
            exit_code: r.exit_code,
            outcome: r.outcome,
            passed: r.passed,
            why: r.why,
            head: r.head,
            log: r.log,
        }
    }
}

impl From<agentd_hooks::validation::Validation> for pb::FileValidation {
    fn from(v: agentd_hooks::validation::Validation) -> pb::FileValidation {
        pb::FileValidation {
            files_hash: v.files_hash,
            files: v.files,
            unchanged: v.unchanged,
            passed_ms: v.passed_ms,
            why: v.why,
        }
    }
}
