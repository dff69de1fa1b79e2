//! What HQ holds in memory: each runner's sessions (its event log folded
//! by `agentd-core`'s state machine, exactly as the runner folds it) and
//! which runners have a link up.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use agentd_core::{Approval, ApprovalStatus, Registry};
use agentd_proto::api::{ApprovalView, DecideParams, SessionView};
use agentd_proto::hq::{HqApprovalView, HqMessage, HqSessionView, LinkError};
use agentd_store::StoredEvent;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// An open link: which token made it, how to end it, and how to send it
/// requests.
struct Link {
    id: u64,
    token_id: String,
    stop: LinkStop,
    outbox: mpsc::Sender<HqMessage>,
}

/// How many requests may wait to be written to one link.
const OUTBOX: usize = 64;

/// A runner's answer to a request: its result as JSON, or why not.
pub type Answer = Result<serde_json::Value, LinkError>;

/// What HQ can ask a runner to do. Adjacently tagged (`{"ask", "params"}`)
/// when it travels between HQs: the requests inside carry tags of their own
/// (a terminal call's `op`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(tag = "ask", content = "params", rename_all = "snake_case")]
pub enum Request {
    /// Decide one of its approvals.
    Decide(DecideParams),
    /// Start Claude Code.
    Launch(agentd_proto::api::LaunchParams),
    /// A terminal call.
    Terminal(agentd_proto::hq::TerminalCall),
    /// A usage report.
    Usage(agentd_proto::history::UsageQuery),
    /// Send to, interrupt or kill a launched session.
    Session(agentd_proto::hq::SessionCall),
}

impl Request {
    /// The link message carrying it as `request`.
    pub fn into_message(self, request: u64) -> HqMessage {
        match self {
            Request::Decide(params) => HqMessage::Decide { request, params },
            Request::Launch(params) => HqMessage::Launch { request, params },
            Request::Terminal(call) => HqMessage::Terminal { request, call },
            Request::Usage(query) => HqMessage::Usage { request, query },
            Request::Session(call) => HqMessage::Session { request, call },
        }
    }
}

/// A request waiting for its answer.
struct Waiter {
    /// The runner it went to (`None`: routed through another HQ).
    runner: Option<String>,
    tx: oneshot::Sender<Answer>,
}

/// How HQ ends a link, and why.
#[derive(Clone, Default)]
pub struct LinkStop {
    token: CancellationToken,
    why: Arc<OnceLock<&'static str>>,
}

impl LinkStop {
    /// Ends the link for `why` (the first reason given stands).
    pub fn stop(&self, why: &'static str) {
        let _ = self.why.set(why);
        self.token.cancel();
    }

    /// Resolves when the link is to end.
    pub async fn stopped(&self) -> &'static str {
        self.token.cancelled().await;
        self.why.get().copied().unwrap_or("HQ ended the link")
    }

    /// Whether the link is to end.
    pub fn is_stopped(&self) -> bool {
        self.token.is_cancelled()
    }
}

/// An event of a runner's log, as HQ fans it out to subscribers.
#[derive(Debug)]
pub struct FannedEvent {
    /// The runner.
    pub runner: String,
    /// The event, as the runner's own log has it.
    pub record: Arc<agentd_proto::api::EventRecord>,
}

/// Events folded, for subscribers; a subscriber that falls this far
/// behind is told so and must subscribe again.
pub const FEED_CAPACITY: usize = 4096;

/// The live feed of folded events.
struct Feed(tokio::sync::broadcast::Sender<Arc<FannedEvent>>);

impl Default for Feed {
    fn default() -> Feed {
        Feed(tokio::sync::broadcast::channel(FEED_CAPACITY).0)
    }
}

/// Runners' sessions, approvals and links.
#[derive(Default)]
pub struct Fleet {
    feed: Feed,
    registries: RwLock<HashMap<String, Registry>>,
    /// The newest `seq` folded, by runner.
    folded: RwLock<HashMap<String, u64>>,
    /// Every approval each runner's log told of, by runner then id, as
    /// last told.
    approvals: RwLock<HashMap<String, HashMap<String, Approval>>>,
    links: Mutex<HashMap<String, Link>>,
    next_link: std::sync::atomic::AtomicU64,
    /// Requests sent to runners, waiting for their answer: which runner
    /// may answer (`None`: one routed through another HQ, answered by it).
    waiting: Mutex<HashMap<u64, Waiter>>,
    next_request: std::sync::atomic::AtomicU64,
}

/// Resolved approvals kept in memory per runner (the newest; pending ones
/// are always kept): an HQ that runs for months must not grow with every
/// decision ever made. The runner's own store keeps them all.
pub const KEPT_RESOLVED: usize = 1_000;

/// Drops the oldest resolved approvals beyond `keep`.
fn forget_old_resolved(approvals: &mut HashMap<String, Approval>, keep: usize) {
    let mut resolved: Vec<(i64, String)> = approvals
        .values()
        .filter(|a| a.status != ApprovalStatus::Pending)
        .map(|a| (a.created_ms, a.id.clone()))
        .collect();
    if resolved.len() <= keep {
        return;
    }
    resolved.sort();
    let excess = resolved.len() - keep;
    for (_, id) in resolved.into_iter().take(excess) {
        approvals.remove(&id);
    }
}

/// Why an approval id names no one approval.
#[derive(Debug, PartialEq)]
pub enum FindError {
    /// None matches.
    None,
    /// Several do.
    Many(usize),
}

/// Why a link was ended by HQ.
pub const REPLACED: &str = "a newer link from the same runner replaced this one";
/// Why a link was ended by HQ.
pub const REVOKED: &str = "this runner's token was revoked";
/// Why a link was ended by HQ.
pub const STOPPING: &str = "HQ is stopping";

impl Fleet {
    /// Drops everything HQ holds in memory of `runner` (its sessions,
    /// approvals and place in its log).
    pub fn forget_runner(&self, runner: &str) {
        if let Ok(mut r) = self.registries.write() {
            r.remove(runner);
        }
        if let Ok(mut f) = self.folded.write() {
            f.remove(runner);
        }
        if let Ok(mut a) = self.approvals.write() {
            a.remove(runner);
        }
    }

    /// Every event folded from now on, of every runner.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Arc<FannedEvent>> {
        self.feed.0.subscribe()
    }

    /// The newest `seq` folded of every runner.
    pub fn cursors(&self) -> HashMap<String, u64> {
        self.folded.read().map(|f| f.clone()).unwrap_or_default()
    }

    /// The newest `seq` of `runner` folded (0: none).
    pub fn folded(&self, runner: &str) -> u64 {
        self.folded
            .read()
            .ok()
            .and_then(|f| f.get(runner).copied())
            .unwrap_or(0)
    }

    /// Folds stored events of `runner` into its sessions, in order, each
    /// once: rows at or before what was folded are skipped.
    pub fn fold(&self, runner: &str, rows: &[StoredEvent]) {
        let after = self.folded(runner);
        let rows: Vec<&StoredEvent> = rows.iter().filter(|r| r.seq > after).collect();
        let Some(last) = rows.last().map(|r| r.seq) else {
            return;
        };
        if let Ok(mut f) = self.folded.write() {
            let cursor = f.entry(runner.to_owned()).or_default();
            *cursor = (*cursor).max(last);
        }
        if self.feed.0.receiver_count() > 0 {
            for row in &rows {
                let _ = self.feed.0.send(Arc::new(FannedEvent {
                    runner: runner.to_owned(),
                    record: Arc::new(agentd_daemon::ingest::record_of(row)),
                }));
            }
        }
        let Ok(mut all) = self.registries.write() else {
            return;
        };
        let registry = all.entry(runner.to_owned()).or_default();
        for row in rows.iter().copied() {
            if let Some(event) = agentd_daemon::ingest::replay_event(row) {
                registry.apply(row.seq, &row.agent, &event);
            }
        }
        drop(all);
        let told: Vec<Approval> = rows
            .iter()
            .filter(|r| {
                r.source == "daemon"
                    && matches!(r.name.as_str(), "ApprovalRequested" | "ApprovalResolved")
            })
            .filter_map(|r| serde_json::from_str(&r.payload).ok())
            .collect();
        if !told.is_empty()
            && let Ok(mut all) = self.approvals.write()
        {
            let mine = all.entry(runner.to_owned()).or_default();
            for a in told {
                mine.insert(a.id.clone(), a);
            }
            forget_old_resolved(mine, KEPT_RESOLVED);
        }
    }

    /// Approvals of every runner (only pending ones unless `all`), newest
    /// first.
    pub fn approvals(&self, all: bool) -> Vec<HqApprovalView> {
        let Ok(by_runner) = self.approvals.read() else {
            return Vec::new();
        };
        let mut out: Vec<HqApprovalView> = by_runner
            .iter()
            .flat_map(|(runner, list)| {
                list.values()
                    .filter(|a| all || a.status == ApprovalStatus::Pending)
                    .map(move |a| HqApprovalView {
                        runner: runner.clone(),
                        approval: ApprovalView::new(a.clone()),
                    })
            })
            .collect();
        out.sort_by(|a, b| {
            b.approval
                .approval
                .created_ms
                .cmp(&a.approval.approval.created_ms)
                .then(a.approval.approval.id.cmp(&b.approval.approval.id))
        });
        out
    }

    /// The approval `prefix` names, and its runner.
    ///
    /// # Errors
    /// None or several match.
    pub fn find_approval(&self, prefix: &str) -> Result<(String, Approval), FindError> {
        let Ok(by_runner) = self.approvals.read() else {
            return Err(FindError::None);
        };
        let mut found: Vec<(String, Approval)> = Vec::new();
        for (runner, list) in by_runner.iter() {
            if let Some(a) = list.get(prefix) {
                // An exact id wins over prefixes of others.
                return Ok((runner.clone(), a.clone()));
            }
            found.extend(
                list.values()
                    .filter(|a| !prefix.is_empty() && a.id.starts_with(prefix))
                    .map(|a| (runner.clone(), a.clone())),
            );
        }
        match found.len() {
            0 => Err(FindError::None),
            1 => Ok(found.remove(0)),
            n => Err(FindError::Many(n)),
        }
    }

    /// Sends `what` to `runner`'s link and returns where its answer will
    /// arrive; `None` when the runner has no link here (or its outbox is
    /// full).
    pub fn send_request(
        &self,
        runner: &str,
        what: Request,
    ) -> Option<(u64, oneshot::Receiver<Answer>)> {
        let outbox = self.links.lock().ok()?.get(runner)?.outbox.clone();
        let (request, rx) = self.wait(Some(runner.to_owned()));
        if outbox.try_send(what.into_message(request)).is_err() {
            self.forget(request);
            return None;
        }
        Some((request, rx))
    }

    /// A request id and where its answer will arrive, for a request sent
    /// another way (through another HQ, which answers it).
    pub fn wait_for(&self) -> (u64, oneshot::Receiver<Answer>) {
        self.wait(None)
    }

    fn wait(&self, runner: Option<String>) -> (u64, oneshot::Receiver<Answer>) {
        let request = self
            .next_request
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        if let Ok(mut w) = self.waiting.lock() {
            w.insert(request, Waiter { runner, tx });
        }
        (request, rx)
    }

    /// Runner `runner` answered `request`: taken only if the request was
    /// sent to that runner (a runner cannot answer another's requests).
    pub fn answered_by(&self, runner: &str, request: u64, answer: Answer) {
        let waiter = self.waiting.lock().ok().and_then(|mut w| {
            if w.get(&request)
                .is_some_and(|x| x.runner.as_deref() == Some(runner))
            {
                w.remove(&request)
            } else {
                None
            }
        });
        match waiter {
            Some(w) => {
                let _ = w.tx.send(answer);
            }
            None => tracing::debug!(runner, request, "an answer to no request of this runner"),
        }
    }

    /// Another HQ answered routed `request`.
    pub fn answered(&self, request: u64, answer: Answer) {
        let waiter = self.waiting.lock().ok().and_then(|mut w| {
            if w.get(&request).is_some_and(|x| x.runner.is_none()) {
                w.remove(&request)
            } else {
                None
            }
        });
        if let Some(w) = waiter {
            let _ = w.tx.send(answer);
        }
    }

    /// Stops waiting for `request`.
    pub fn forget(&self, request: u64) {
        if let Ok(mut w) = self.waiting.lock() {
            w.remove(&request);
        }
    }

    /// A new link of `runner` made with token `token_id`: ends the one it
    /// replaces. Returns the link's id and its stop token.
    pub fn connect(
        &self,
        runner: &str,
        token_id: &str,
    ) -> (u64, LinkStop, mpsc::Receiver<HqMessage>) {
        let id = self
            .next_link
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let stop = LinkStop::default();
        let (outbox, requests) = mpsc::channel(OUTBOX);
        let link = Link {
            id,
            token_id: token_id.to_owned(),
            stop: stop.clone(),
            outbox,
        };
        if let Ok(mut links) = self.links.lock()
            && let Some(old) = links.insert(runner.to_owned(), link)
        {
            old.stop.stop(REPLACED);
        }
        (id, stop, requests)
    }

    /// Link `id` of `runner` ended (a replaced link's end changes nothing).
    pub fn disconnect(&self, runner: &str, id: u64) {
        if let Ok(mut links) = self.links.lock()
            && links.get(runner).is_some_and(|l| l.id == id)
        {
            links.remove(runner);
        }
    }

    /// Ends the links made with any of `token_ids` (revoked); returns how
    /// many.
    pub fn cut(&self, token_ids: &[String]) -> usize {
        let Ok(links) = self.links.lock() else {
            return 0;
        };
        let mut n = 0;
        for link in links.values() {
            if token_ids.contains(&link.token_id) && !link.stop.is_stopped() {
                link.stop.stop(REVOKED);
                n += 1;
            }
        }
        n
    }

    /// Whether `runner` has a link up.
    pub fn online(&self, runner: &str) -> bool {
        self.links
            .lock()
            .map(|l| l.contains_key(runner))
            .unwrap_or(false)
    }

    /// How many runners have a link up.
    pub fn online_count(&self) -> usize {
        self.links.lock().map(|l| l.len()).unwrap_or(0)
    }

    /// How many sessions `runner` has.
    pub fn session_count(&self, runner: &str) -> usize {
        self.registries
            .read()
            .ok()
            .and_then(|r| r.get(runner).map(Registry::len))
            .unwrap_or(0)
    }

    /// Every session of every runner: live ones first, then by last event,
    /// newest first.
    pub fn sessions(&self) -> Vec<HqSessionView> {
        let Ok(all) = self.registries.read() else {
            return Vec::new();
        };
        let mut out: Vec<HqSessionView> = all
            .iter()
            .flat_map(|(runner, registry)| {
                registry.iter().map(move |s| HqSessionView {
                    runner: runner.clone(),
                    session: SessionView::new(s.clone()),
                })
            })
            .collect();
        out.sort_by(|a, b| {
            b.session
                .live
                .cmp(&a.session.live)
                .then(
                    b.session
                        .session
                        .last_event_ms
                        .cmp(&a.session.session.last_event_ms),
                )
                .then(a.runner.cmp(&b.runner))
                .then(a.session.session.id.cmp(&b.session.session.id))
        });
        out
    }

    /// The runner and full id of the session `prefix` names (an exact id
    /// wins; a prefix must name one session on one runner).
    ///
    /// # Errors
    /// [`FindError`].
    pub fn find_session(&self, prefix: &str) -> Result<(String, String), FindError> {
        let Ok(all) = self.registries.read() else {
            return Err(FindError::None);
        };
        let mut found: Vec<(String, String)> = Vec::new();
        for (runner, registry) in all.iter() {
            for s in registry.iter() {
                if s.id == prefix {
                    return Ok((runner.clone(), s.id.clone()));
                }
                if !prefix.is_empty() && s.id.starts_with(prefix) {
                    found.push((runner.clone(), s.id.clone()));
                }
            }
        }
        match found.len() {
            0 => Err(FindError::None),
            1 => Ok(found.remove(0)),
            n => Err(FindError::Many(n)),
        }
    }

    /// Ends every link (HQ is stopping).
    pub fn close_all(&self) {
        if let Ok(links) = self.links.lock() {
            for l in links.values() {
                l.stop.stop(STOPPING);
            }
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn only_the_runner_asked_can_answer() {
        let fleet = Fleet::default();
        let (_id, _stop, _requests) = fleet.connect("a", "tok_a");
        let (request, mut rx) = fleet
            .send_request("a", Request::Terminal(agentd_proto::hq::TerminalCall::List))
            .unwrap();
        // Runner b (a leaked token) answers a's request: ignored.
        fleet.answered_by("b", request, Ok(serde_json::json!("forged")));
        // So does an answer posing as another HQ's.
        fleet.answered(request, Ok(serde_json::json!("forged")));
        assert!(rx.try_recv().is_err());
        fleet.answered_by("a", request, Ok(serde_json::json!([])));
        assert_eq!(rx.try_recv().unwrap().unwrap(), serde_json::json!([]));
        // A routed request is answered by the HQ that holds the link only.
        let (routed, mut rx) = fleet.wait_for();
        fleet.answered_by("a", routed, Ok(serde_json::json!("forged")));
        assert!(rx.try_recv().is_err());
        fleet.answered(routed, Ok(serde_json::json!(1)));
        assert_eq!(rx.try_recv().unwrap().unwrap(), serde_json::json!(1));
    }

    use super::*;

    fn row(seq: u64, session: &str, event: &str) -> StoredEvent {
        StoredEvent {
            seq,
            ts_ms: 1_000 + seq as i64,
            session_id: session.into(),
            agent: "claude".into(),
            source: "hook".into(),
            name: event.into(),
            kind: String::new(),
            payload:
                serde_json::json!({"session_id": session, "hook_event_name": event, "cwd": "/w"})
                    .to_string(),
            env: "{}".into(),
        }
    }

    #[test]
    fn sessions_fold_per_runner_and_live_ones_come_first() {
        let f = Fleet::default();
        f.fold(
            "a",
            &[row(1, "s1", "SessionStart"), row(2, "s1", "SessionEnd")],
        );
        f.fold("b", &[row(1, "s1", "SessionStart")]);
        let s = f.sessions();
        assert_eq!(s.len(), 2, "the same id on two runners is two sessions");
        assert_eq!((s[0].runner.as_str(), s[0].session.live), ("b", true));
        assert_eq!((s[1].runner.as_str(), s[1].session.live), ("a", false));
        assert_eq!(f.session_count("a"), 1);
    }

    #[test]
    fn only_the_newest_resolved_approvals_are_kept_and_every_pending_one() {
        let approval = |i: i64, pending: bool| -> Approval {
            serde_json::from_value(serde_json::json!({
                "id": format!("apr_{i:04}"), "session_id": "s", "tool_name": "Bash",
                "tool_input": {}, "permission_suggestions": null, "origin": "permission_request", "created_ms": i,
                "agent_id": null, "tool_use_id": null, "cwd": null, "decision": null,
                "decided_by": null, "decided_ms": null, "reason": null,
                "status": if pending { "pending" } else { "allowed" }
            }))
            .unwrap()
        };
        let mut all: HashMap<String, Approval> = (0..10)
            .map(|i| approval(i, i % 5 == 0))
            .map(|a| (a.id.clone(), a))
            .collect();
        forget_old_resolved(&mut all, 3);
        let mut kept: Vec<_> = all.keys().cloned().collect();
        kept.sort();
        assert_eq!(
            kept,
            ["apr_0000", "apr_0005", "apr_0007", "apr_0008", "apr_0009"]
        );
    }

    #[test]
    fn a_new_link_replaces_the_old_and_revoking_cuts_by_token() {
        let f = Fleet::default();
        let (id1, stop1, _) = f.connect("a", "t1");
        let (id2, stop2, _) = f.connect("a", "t1");
        assert!(stop1.is_stopped() && !stop2.is_stopped());
        f.disconnect("a", id1);
        assert!(f.online("a"), "the old link's end leaves the new one");
        let (_, stop3, _) = f.connect("b", "t2");
        assert_eq!(f.cut(&["t2".into()]), 1);
        assert!(stop3.is_stopped() && !stop2.is_stopped());
        f.disconnect("a", id2);
        assert!(!f.online("a"));
        assert_eq!(f.online_count(), 1);
    }
}
