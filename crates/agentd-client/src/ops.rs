//! One typed method per daemon operation, over [`Client::call`]: the CLI
//! and the TUI build requests from the API's own types, never from
//! hand-written JSON, and get typed answers back.

use agentd_proto::api::{
    ApprovalView, ApprovalsGetParams, ApprovalsListParams, DecideParams, EventsList,
    EventsListParams, Health, HooksHistoryParams, HooksListParams, HooksListed, IndexStatusParams,
    Interrupted, Killed, LaunchParams, Launched, Rescan, SendParams, SessionProcess, SessionView,
    SessionsGetParams, SessionsListParams, SessionsPage, Slot, SlotsAcquireParams,
    SlotsReleaseParams, SubscribeParams, SubscribeResult, TranscriptParams,
};
use agentd_proto::history::{Hit, IndexStatus, SearchQuery, TranscriptPage, UsagePage, UsageQuery};
use agentd_proto::method;
use serde_json::Value;

use crate::{Client, ClientError};

impl Client {
    /// `health`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub fn health(&mut self) -> Result<Health, ClientError> {
        self.call(method::HEALTH, serde_json::json!({}))
    }

    /// `sessions.list`, one page (`paged` is set): the page and where the
    /// next starts.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub fn sessions_page(&mut self, p: &SessionsListParams) -> Result<SessionsPage, ClientError> {
        let p = SessionsListParams {
            paged: true,
            ..p.clone()
        };
        self.call(method::SESSIONS_LIST, p)
    }

    /// `sessions.get`: one session by id or unique prefix.
    ///
    /// # Errors
    /// As [`Client::call`]; not found, ambiguous.
    pub fn session(&mut self, id: &str) -> Result<SessionView, ClientError> {
        self.call(
            method::SESSIONS_GET,
            SessionsGetParams { id: id.to_owned() },
        )
    }

    /// `sessions.processes`: every live session's process figures, as
    /// the daemon last sampled them (every 2 s).
    ///
    /// # Errors
    /// As [`Client::call`].
    pub fn processes(&mut self) -> Result<Vec<SessionProcess>, ClientError> {
        self.call(method::SESSIONS_PROCESSES, serde_json::json!({}))
    }

    /// `events.list`: a page of the log.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub fn events(&mut self, p: &EventsListParams) -> Result<EventsList, ClientError> {
        self.call(method::EVENTS_LIST, p)
    }

    /// `events.subscribe`: the snapshot; events follow as notifications
    /// ([`Client::read_message`]).
    ///
    /// # Errors
    /// As [`Client::call`].
    pub fn subscribe(&mut self, p: &SubscribeParams) -> Result<SubscribeResult, ClientError> {
        self.call(method::EVENTS_SUBSCRIBE, p)
    }

    /// `approvals.list`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub fn approvals(&mut self, p: &ApprovalsListParams) -> Result<Vec<ApprovalView>, ClientError> {
        self.call(method::APPROVALS_LIST, p)
    }

    /// `approvals.get`: one approval by id or unique prefix.
    ///
    /// # Errors
    /// As [`Client::call`]; not found, ambiguous.
    pub fn approval(&mut self, id: &str) -> Result<ApprovalView, ClientError> {
        self.call(
            method::APPROVALS_GET,
            ApprovalsGetParams { id: id.to_owned() },
        )
    }

    /// `approvals.decide`: the first decision wins.
    ///
    /// # Errors
    /// As [`Client::call`]; a conflict names who decided first.
    pub fn decide(&mut self, p: &DecideParams) -> Result<ApprovalView, ClientError> {
        self.call(method::APPROVALS_DECIDE, p)
    }

    /// `sessions.launch`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub fn launch(&mut self, p: &LaunchParams) -> Result<Launched, ClientError> {
        self.call(method::SESSIONS_LAUNCH, p)
    }

    /// `sessions.send`: a message to a launched session (resumed if it
    /// exited).
    ///
    /// # Errors
    /// As [`Client::call`].
    pub fn send_message(&mut self, p: &SendParams) -> Result<Launched, ClientError> {
        self.call(method::SESSIONS_SEND, p)
    }

    /// `sessions.interrupt`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub fn interrupt(&mut self, id: &str) -> Result<Interrupted, ClientError> {
        self.call(
            method::SESSIONS_INTERRUPT,
            SessionsGetParams { id: id.to_owned() },
        )
    }

    /// `sessions.kill`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub fn kill(&mut self, id: &str) -> Result<Killed, ClientError> {
        self.call(
            method::SESSIONS_KILL,
            SessionsGetParams { id: id.to_owned() },
        )
    }

    /// `search`: one page of hits.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub fn search(&mut self, q: &SearchQuery) -> Result<Vec<Hit>, ClientError> {
        self.call(method::SEARCH, q)
    }

    /// `transcript.get`: a page of a session's transcript.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub fn transcript(&mut self, p: &TranscriptParams) -> Result<TranscriptPage, ClientError> {
        self.call(method::TRANSCRIPT_GET, p)
    }

    /// `usage.report`: the rows from `offset` (a page) and the totals.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub fn usage(&mut self, q: &UsageQuery, offset: usize) -> Result<UsagePage, ClientError> {
        let mut p = serde_json::to_value(q).map_err(|e| ClientError::Protocol(e.to_string()))?;
        p["offset"] = offset.into();
        self.call(method::USAGE_REPORT, p)
    }

    /// `index.status`; `counts: false` for a cheap progress poll.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub fn index_status(&mut self, counts: bool) -> Result<IndexStatus, ClientError> {
        self.call(
            method::INDEX_STATUS,
            IndexStatusParams {
                counts: Some(counts),
            },
        )
    }

    /// `index.rescan`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub fn index_rescan(&mut self) -> Result<Rescan, ClientError> {
        self.call(method::INDEX_RESCAN, serde_json::json!({}))
    }

    /// `hooks.list`: the definitions for a project directory.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub fn hooks(&mut self, cwd: Option<String>) -> Result<HooksListed, ClientError> {
        self.call(method::HOOKS_LIST, HooksListParams { cwd })
    }

    /// `hooks.history`: recorded runs, newest first (each the hook
    /// runner's run record).
    ///
    /// # Errors
    /// As [`Client::call`].
    pub fn hook_runs(&mut self, p: &HooksHistoryParams) -> Result<Vec<Value>, ClientError> {
        self.call(method::HOOKS_HISTORY, p)
    }

    /// `memory.index`: stores and indexes a document.
    ///
    /// # Errors
    /// As [`Client::call`]; invalid for an empty or oversize document.
    pub fn index_document(
        &mut self,
        d: &agentd_proto::history::IndexDocumentParams,
    ) -> Result<agentd_proto::history::Document, ClientError> {
        self.call(method::MEMORY_INDEX, d)
    }

    /// `slots.list`: the slots held now.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub fn slots(&mut self) -> Result<Vec<Slot>, ClientError> {
        self.call(method::SLOTS_LIST, serde_json::json!({}))
    }

    /// `slots.acquire`: a slot, waiting up to `wait_ms` when all are taken.
    ///
    /// # Errors
    /// As [`Client::call`]; overloaded when none frees in time.
    pub fn acquire_slot(&mut self, p: &SlotsAcquireParams) -> Result<Slot, ClientError> {
        self.call(method::SLOTS_ACQUIRE, p)
    }

    /// `slots.release`.
    ///
    /// # Errors
    /// As [`Client::call`]; not found.
    pub fn release_slot(&mut self, id: &str) -> Result<Slot, ClientError> {
        self.call(
            method::SLOTS_RELEASE,
            SlotsReleaseParams { id: id.to_owned() },
        )
    }

    /// `plugins.list`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub fn plugins(&mut self) -> Result<Vec<agentd_proto::api::PluginView>, ClientError> {
        self.call(method::PLUGINS_LIST, serde_json::json!({}))
    }

    /// `plugins.reload`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub fn reload_plugins(&mut self) -> Result<Vec<agentd_proto::api::PluginView>, ClientError> {
        self.call(method::PLUGINS_RELOAD, serde_json::json!({}))
    }

    /// `plugins.enable` (`on`) or `plugins.disable`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub fn set_plugin_enabled(
        &mut self,
        name: &str,
        on: bool,
    ) -> Result<agentd_proto::api::PluginView, ClientError> {
        let m = if on {
            method::PLUGINS_ENABLE
        } else {
            method::PLUGINS_DISABLE
        };
        self.call(
            m,
            agentd_proto::api::PluginParams {
                name: name.to_owned(),
            },
        )
    }

    /// `plugins.logs`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub fn plugin_logs(
        &mut self,
        name: &str,
    ) -> Result<Vec<agentd_proto::api::PluginLogLine>, ClientError> {
        self.call(
            method::PLUGINS_LOGS,
            agentd_proto::api::PluginParams {
                name: name.to_owned(),
            },
        )
    }

    /// `rules.test`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub fn rules_test(
        &mut self,
        p: &agentd_proto::api::RulesTestParams,
    ) -> Result<agentd_proto::api::RulesTestResult, ClientError> {
        self.call(method::RULES_TEST, p)
    }

    /// `web.login`: a one-time sign-in link for the web UI.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub fn web_login(&mut self) -> Result<agentd_proto::api::WebLogin, ClientError> {
        self.call(method::WEB_LOGIN, serde_json::json!({}))
    }

    /// `web.sessions`: the browsers signed in.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub fn web_sessions(&mut self) -> Result<Vec<agentd_proto::api::WebSessionView>, ClientError> {
        self.call(method::WEB_SESSIONS, serde_json::json!({}))
    }

    /// `web.revoke`: signs browsers out (an id, a unique prefix, or `all`).
    ///
    /// # Errors
    /// As [`Client::call`].
    pub fn web_revoke(&mut self, id: &str) -> Result<agentd_proto::api::WebRevoked, ClientError> {
        self.call(
            method::WEB_REVOKE,
            agentd_proto::api::WebRevokeParams { id: id.to_owned() },
        )
    }

    /// `store.gc`: compaction now, and what it did.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub fn gc(&mut self) -> Result<Value, ClientError> {
        self.call(method::STORE_GC, serde_json::json!({}))
    }
}
