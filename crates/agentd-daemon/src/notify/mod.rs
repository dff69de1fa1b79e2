//! "Needs you" notifications: a task that folds committed events into
//! [`need::Need`]s (approvals, questions, finished and failed turns, failed
//! checks, stuck sessions), and one worker per configured sink
//! (`[[notify.sinks]]`) that applies the sink's rules, groups a burst into
//! one notice, and delivers it with retries and backoff.
//!
//! Nothing here blocks ingest: the fold reads the live broadcast (falling
//! behind loses events, counted, rather than slowing the writer), and each
//! sink's queue is bounded (a full queue drops, counted). Delivery results
//! are in `health` (`notify`) and `agentd doctor`. With no sink configured
//! nothing runs.
//!
//! An approval alone in a notice carries approve/deny actions: for ntfy,
//! links `POST /notify/decide/<approval>/<allow|deny>?sig=…`, signed with a
//! key this daemon draws at start (BLAKE3 keyed hash), decided like any
//! other decision (`decided_by: notify`); for the desktop, the notification
//! server's own action buttons ([`desktop`], `decided_by: desktop`).

pub mod deliver;
pub mod desktop;
pub mod need;
pub mod rules;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use agentd_client::config::{NotifyConfig, NotifySink};
use agentd_proto::api::NotifySinkView;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use need::{Need, Watcher};
use rules::SinkRules;

/// Needs queued per sink before new ones are dropped.
const QUEUE: usize = 1024;
/// How often sessions are checked for being stuck.
const STUCK_CHECK: Duration = Duration::from_secs(15);
/// First retry delay; doubled per attempt.
const BACKOFF: Duration = Duration::from_millis(500);

/// The configured sinks, their counters, and the key approval links are
/// signed with.
pub struct Notifications {
    sinks: Vec<Arc<SinkSlot>>,
    key: [u8; 32],
    stuck_after_ms: i64,
    base_url: Option<String>,
    /// Needs raised outside the event fold ([`Notifications::send`]), and
    /// their receiver until [`run`] takes it.
    extra: mpsc::Sender<Need>,
    extra_rx: Mutex<Option<mpsc::Receiver<Need>>>,
}

/// Why [`Notifications::send`] sent nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotSent {
    /// No `[[notify.sinks]]` is configured.
    NoSink,
    /// The queue before the sinks is full (a burst); the need was dropped.
    Full,
}

struct SinkSlot {
    config: NotifySink,
    rules: SinkRules,
    status: Mutex<NotifySinkView>,
}

impl Notifications {
    /// The sinks of `config` (validated when the config was loaded).
    pub fn new(config: &NotifyConfig) -> Notifications {
        let mut key = [0u8; 32];
        // Without randomness the links cannot be trusted: leave the key
        // zero and refuse every link (verify checks for it).
        let _ = getrandom::fill(&mut key);
        let (extra, extra_rx) = mpsc::channel(QUEUE);
        Notifications {
            extra,
            extra_rx: Mutex::new(Some(extra_rx)),
            sinks: config
                .sinks
                .iter()
                .map(|s| {
                    Arc::new(SinkSlot {
                        config: s.clone(),
                        rules: SinkRules::of(s),
                        status: Mutex::new(NotifySinkView {
                            name: s.label(),
                            kind: serde_json::to_value(s.kind)
                                .ok()
                                .and_then(|v| v.as_str().map(str::to_owned))
                                .unwrap_or_default(),
                            ..NotifySinkView::default()
                        }),
                    })
                })
                .collect(),
            key,
            stuck_after_ms: i64::try_from(config.stuck_after_s.saturating_mul(1000))
                .unwrap_or(i64::MAX),
            base_url: config.base_url.clone(),
        }
    }

    /// Sends `need` to every sink whose rules want it, as the fold's own
    /// needs are (never waits).
    ///
    /// # Errors
    /// [`NotSent`]: no sink, or the queue is full.
    pub fn send(&self, need: Need) -> Result<(), NotSent> {
        if self.sinks.is_empty() {
            return Err(NotSent::NoSink);
        }
        self.extra.try_send(need).map_err(|_| NotSent::Full)
    }

    /// Each sink's counters, for `health`.
    pub fn status(&self) -> Vec<NotifySinkView> {
        self.sinks
            .iter()
            .filter_map(|s| s.status.lock().ok().map(|v| v.clone()))
            .collect()
    }

    /// The signature of "decide `approval_id` with `decision`".
    pub fn sign(&self, approval_id: &str, decision: &str) -> String {
        let mut msg = Vec::with_capacity(approval_id.len() + decision.len() + 1);
        msg.extend_from_slice(approval_id.as_bytes());
        msg.push(0);
        msg.extend_from_slice(decision.as_bytes());
        blake3::keyed_hash(&self.key, &msg).to_hex().to_string()
    }

    /// Whether `sig` signs "decide `approval_id` with `decision`" (in
    /// constant time).
    pub fn verify(&self, approval_id: &str, decision: &str, sig: &str) -> bool {
        if self.key == [0u8; 32] {
            return false;
        }
        let Ok(given) = blake3::Hash::from_hex(sig) else {
            return false;
        };
        let mut msg = Vec::new();
        msg.extend_from_slice(approval_id.as_bytes());
        msg.push(0);
        msg.extend_from_slice(decision.as_bytes());
        // blake3::Hash compares in constant time.
        blake3::keyed_hash(&self.key, &msg) == given
    }
}

/// Minutes after local midnight now.
fn local_minute() -> u16 {
    let now = jiff::Zoned::now();
    (now.hour() as u16) * 60 + now.minute() as u16
}

/// Runs the fold and the sink workers until shutdown.
pub async fn run(shared: Arc<crate::state::Shared>, shutdown: CancellationToken) {
    let notify = &shared.notify;
    if notify.sinks.is_empty() {
        return;
    }
    let http = match reqwest::Client::builder()
        .timeout(deliver::DELIVERY_TIMEOUT)
        .user_agent(concat!("agentd/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "notifications are off: no HTTP client");
            return;
        }
    };
    let mut queues = Vec::new();
    for slot in &notify.sinks {
        let (tx, rx) = mpsc::channel::<Need>(QUEUE);
        queues.push((Arc::clone(slot), tx));
        shared.tasks.spawn(sink_worker(
            Arc::clone(&shared),
            Arc::clone(slot),
            rx,
            http.clone(),
            shutdown.clone(),
        ));
    }
    let mut live = shared.log.subscribe();
    let mut extra = match notify.extra_rx.lock().ok().and_then(|mut r| r.take()) {
        Some(rx) => rx,
        None => return,
    };
    let mut watcher = Watcher::default();
    let mut tick = tokio::time::interval(STUCK_CHECK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let needs: Vec<Need> = tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {
                let now = crate::now_ms();
                match shared.registry.read() {
                    Ok(r) => watcher.stuck(r.iter(), now, notify.stuck_after_ms),
                    Err(_) => Vec::new(),
                }
            }
            Some(n) = extra.recv() => vec![n],
            ev = live.recv() => match ev {
                Ok(ev) => {
                    let record = ev.record();
                    watcher
                        .on_event(&ev.kind, &record.payload, ev.session(), record.ts_ms)
                        .into_iter()
                        .collect()
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "notifications fell behind the event log");
                    Vec::new()
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            },
        };
        if needs.is_empty() {
            continue;
        }
        let minute = local_minute();
        for need in needs {
            for (slot, tx) in &queues {
                if !slot.rules.wants(&need, minute) {
                    if let Ok(mut s) = slot.status.lock() {
                        s.suppressed += 1;
                    }
                    continue;
                }
                if tx.try_send(need.clone()).is_err()
                    && let Ok(mut s) = slot.status.lock()
                {
                    s.dropped += 1;
                }
            }
        }
    }
}

/// The base URL of links: `[notify] base_url`, else the HTTP listener.
fn base_url(shared: &crate::state::Shared) -> Option<String> {
    if let Some(b) = &shared.notify.base_url {
        return Some(b.trim_end_matches('/').to_owned());
    }
    let addr = shared.http_addr.read().ok()?.clone()?;
    let scheme = if shared.config.http.tls {
        "https"
    } else {
        "http"
    };
    Some(format!("{scheme}://{addr}"))
}

/// One sink: take a need, wait `group_ms` for the rest of a burst, send
/// them as one notice, retrying with backoff.
async fn sink_worker(
    shared: Arc<crate::state::Shared>,
    slot: Arc<SinkSlot>,
    mut rx: mpsc::Receiver<Need>,
    http: reqwest::Client,
    shutdown: CancellationToken,
) {
    let window = Duration::from_millis(slot.config.group_ms.min(60_000));
    let desktop = (slot.config.kind == agentd_client::config::SinkKind::Desktop)
        .then(|| desktop::Desktop::new(Arc::clone(&shared)));
    loop {
        let first = tokio::select! {
            _ = shutdown.cancelled() => return,
            n = rx.recv() => match n { Some(n) => n, None => return },
        };
        let mut burst = vec![first];
        let until = tokio::time::Instant::now() + window;
        while let Ok(Some(n)) = tokio::time::timeout_at(until, rx.recv()).await {
            burst.push(n);
        }
        let base = base_url(&shared);
        let notice = rules::group(burst, base.as_deref());
        let actions = notice.approval_id().zip(base.as_deref()).map(|(id, base)| {
            let link = |d: &str| {
                format!(
                    "{base}/notify/decide/{id}/{d}?sig={}",
                    shared.notify.sign(id, d)
                )
            };
            deliver::Actions {
                allow: link("allow"),
                deny: link("deny"),
            }
        });
        let mut result = Err(String::new());
        for attempt in 0..slot.config.attempts.max(1) {
            if attempt > 0 {
                let delay = BACKOFF.saturating_mul(1 << (attempt - 1).min(6));
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(delay) => {}
                }
            }
            result = deliver::send(
                &slot.config,
                &notice,
                actions.as_ref(),
                &http,
                desktop.as_ref(),
            )
            .await;
            if result.is_ok() {
                break;
            }
        }
        if let Ok(mut s) = slot.status.lock() {
            match &result {
                Ok(()) => {
                    s.sent += 1;
                    s.last_sent_ms = Some(crate::now_ms());
                    s.last_error = None;
                }
                Err(e) => {
                    s.failed += 1;
                    s.last_error = Some(e.clone());
                    tracing::warn!(sink = s.name, error = %e, "a notification could not be delivered");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_verify_only_for_their_approval_and_decision() {
        let n = Notifications::new(&NotifyConfig::default());
        let sig = n.sign("apr_1", "allow");
        assert!(n.verify("apr_1", "allow", &sig));
        assert!(!n.verify("apr_1", "deny", &sig));
        assert!(!n.verify("apr_2", "allow", &sig));
        assert!(!n.verify("apr_1", "allow", "00"));
        assert!(!n.verify("apr_1", "allow", &"0".repeat(64)));
        let other = Notifications::new(&NotifyConfig::default());
        assert!(!other.verify("apr_1", "allow", &sig));
    }
}
