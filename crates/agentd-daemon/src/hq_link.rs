//! The runner link, this daemon's side: with `[hq] url` and a runner
//! token, dial HQ, say hello, and forward the event log from the `seq` HQ
//! acknowledged (protocol in `agentd_proto::hq`). The daemon works the same
//! whether HQ is up or not; a broken link is dialled again with exponential
//! backoff and full jitter, reset after a link that stayed up a minute.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use agentd_proto::api::{EventRecord, SubscribeParams};
use agentd_proto::hq::{
    HqLinkView, HqMessage, MAX_LINK_FRAME_BYTES, RUNNER_PATH, RunnerMessage, TerminalCall,
};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_util::sync::CancellationToken;

use crate::service::Service;

/// How often the runner pings HQ.
pub const PING_EVERY: Duration = Duration::from_secs(10);
/// HQ silent this long: the link is dead; dial again.
pub const SILENT_AFTER: Duration = Duration::from_secs(30);
/// First backoff ceiling; doubles per failed attempt up to [`BACKOFF_MAX`].
pub const BACKOFF_BASE: Duration = Duration::from_millis(250);
/// Longest wait between attempts.
pub const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// A link up this long resets the backoff.
pub const STABLE_AFTER: Duration = Duration::from_secs(60);
/// Events sent but not yet acknowledged before the runner waits for HQ.
const MAX_IN_FLIGHT: u64 = 20_000;
/// Most events in one frame (and fewer when their JSON nears the frame cap).
const MAX_BATCH: usize = 1_000;
/// Dialling (TCP + WebSocket handshake + welcome) must finish within this.
const DIAL_WITHIN: Duration = Duration::from_secs(10);

/// The link's state, for `health`.
#[derive(Default)]
pub struct LinkStatus(Mutex<Option<HqLinkView>>);

impl LinkStatus {
    /// The link's view (`None`: no `[hq] url`).
    pub fn view(&self) -> Option<HqLinkView> {
        self.0.lock().ok().and_then(|v| v.clone())
    }

    /// Notes a link that cannot be made at all (bad `[hq]` settings).
    pub fn failed(&self, url: String, why: String) {
        self.update(|v| {
            v.url = url;
            v.last_error = Some(why);
        });
    }

    fn update(&self, f: impl FnOnce(&mut HqLinkView)) {
        if let Ok(mut v) = self.0.lock() {
            f(v.get_or_insert_with(HqLinkView::default));
        }
    }
}

/// What the link needs from `[hq]`.
#[derive(Clone)]
pub struct LinkSettings {
    /// HQ's address.
    pub target: crate::dial::Target,
    /// The runner token.
    pub token: String,
    /// Labels.
    pub labels: Vec<String>,
    /// TLS trusting HQ's CA alone (`[hq] ca`), for an `https://` HQ.
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

impl LinkSettings {
    /// The settings from `[hq]`, `None` when there is no URL. Blocking
    /// (reads the CA file).
    ///
    /// # Errors
    /// A bad URL, plain text off loopback, TLS without a CA, an unreadable
    /// CA, or no token.
    pub fn from_config(
        c: &agentd_client::config::HqConfig,
    ) -> Result<Option<LinkSettings>, String> {
        let Some(url) = c.url.as_deref().filter(|u| !u.is_empty()) else {
            return Ok(None);
        };
        let target = crate::dial::Target::parse(url)?;
        let Some(token) = c.token.clone().filter(|t| !t.is_empty()) else {
            return Err(format!(
                "[hq] url is {url} but there is no runner token: run `agentd runner join {url} --token T` with a token from `agentd hq token create --runner NAME`"
            ));
        };
        let tls = match (&c.ca, target.tls) {
            (Some(path), true) => {
                let pem = agentd_fs::read(std::path::Path::new(path), 1 << 20)
                    .map_err(|e| format!("[hq] ca {path}: {e}"))?;
                Some(crate::dial::pinned(&pem)?)
            }
            (None, true) => {
                return Err(format!(
                    "HQ at {url} is TLS but [hq] ca is not set: run `agentd runner join {url} --token T --ca HQ-CA.pem` (HQ's `agentd tls ca --path`)"
                ));
            }
            (_, false) => None,
        };
        Ok(Some(LinkSettings {
            target,
            token,
            labels: c.labels.clone(),
            tls,
        }))
    }

    /// HQ's base URL, for people.
    pub fn url(&self) -> String {
        self.target.base()
    }
}

/// Runs the link until `stop`.
pub async fn run(
    service: Service,
    settings: LinkSettings,
    status: Arc<LinkStatus>,
    stop: CancellationToken,
) {
    status.update(|v| v.url = settings.url());
    let mut attempt: u32 = 0;
    loop {
        let began = tokio::time::Instant::now();
        let outcome = link_once(&service, &settings, &status, &stop).await;
        status.update(|v| v.connected = false);
        match outcome {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(error = %e, url = %settings.url(), "HQ link down");
                status.update(|v| v.last_error = Some(e));
            }
        }
        if began.elapsed() >= STABLE_AFTER {
            attempt = 0;
        }
        let wait = full_jitter(attempt, random_unit());
        attempt = attempt.saturating_add(1);
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// A wait of full jitter: uniform in `[0, min(BACKOFF_MAX, BACKOFF_BASE ×
/// 2^attempt)]`, `unit` being the uniform draw in `[0, 1)`.
pub fn full_jitter(attempt: u32, unit: f64) -> Duration {
    let ceiling = BACKOFF_BASE
        .saturating_mul(1u32.checked_shl(attempt.min(16)).unwrap_or(u32::MAX))
        .min(BACKOFF_MAX);
    ceiling.mul_f64(unit.clamp(0.0, 1.0))
}

fn random_unit() -> f64 {
    let mut b = [0u8; 8];
    if getrandom::fill(&mut b).is_err() {
        return 0.5;
    }
    (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
}

/// A WebSocket to HQ's `path`, signed with the runner token, within
/// [`DIAL_WITHIN`].
async fn dial(
    settings: &LinkSettings,
    path: &str,
    config: tokio_tungstenite::tungstenite::protocol::WebSocketConfig,
) -> Result<tokio_tungstenite::WebSocketStream<Box<dyn crate::dial::Io>>, String> {
    let mut request = settings
        .target
        .ws_url(path)
        .into_client_request()
        .map_err(|e| format!("bad HQ URL {}: {e}", settings.url()))?;
    let auth = format!("Bearer {}", settings.token)
        .parse()
        .map_err(|_| "the runner token holds characters a header cannot".to_owned())?;
    request.headers_mut().insert("Authorization", auth);
    let dial = async {
        let stream = crate::dial::connect(&settings.target, settings.tls.as_ref()).await?;
        tokio_tungstenite::client_async_with_config(request, stream, Some(config))
            .await
            .map_err(|e| match e {
                tokio_tungstenite::tungstenite::Error::Http(r)
                    if r.status() == 401 || r.status() == 403 =>
                {
                    let body = r
                        .body()
                        .as_deref()
                        .map(String::from_utf8_lossy)
                        .unwrap_or_default();
                    format!("HQ refused this runner ({}): {body}", r.status())
                }
                other => format!("HQ: {other}"),
            })
    };
    let (ws, _) = tokio::time::timeout(DIAL_WITHIN, dial)
        .await
        .map_err(|_| format!("dialling HQ took over {} s", DIAL_WITHIN.as_secs()))??;
    Ok(ws)
}

fn json<T: serde::Serialize>(
    r: Result<T, crate::service::ServiceError>,
) -> Result<serde_json::Value, crate::service::ServiceError> {
    r.map(|v| serde_json::to_value(v).unwrap_or_default())
}

/// Serves HQ's terminal `call` (its answer goes to `answers`); an attach
/// then dials the channel HQ named and streams the terminal over it until
/// either side ends or the daemon stops.
async fn serve_terminal(
    service: Service,
    settings: LinkSettings,
    request: u64,
    call: TerminalCall,
    answers: tokio::sync::mpsc::Sender<RunnerMessage>,
    stop: CancellationToken,
) {
    let answer = |r: Result<serde_json::Value, crate::service::ServiceError>| {
        let (value, error) = match r {
            Ok(v) => (Some(v), None),
            Err(e) => (None, Some(link_error(&e))),
        };
        RunnerMessage::Answered {
            request,
            value,
            error,
        }
    };
    let (id, from, channel) = match call {
        TerminalCall::Start { params } => {
            let r = json(service.start_terminal(params).await);
            let _ = answers.send(answer(r)).await;
            return;
        }
        TerminalCall::List => {
            let _ = answers.send(answer(json(Ok(service.terminals())))).await;
            return;
        }
        TerminalCall::Close { id } => {
            let r = json(service.close_terminal(&id).await);
            let _ = answers.send(answer(r)).await;
            return;
        }
        TerminalCall::Attach { id, from, channel } => (id, from, channel),
    };
    if channel.len() != 32 || !channel.bytes().all(|b| b.is_ascii_hexdigit()) {
        let bad = crate::service::ServiceError::Invalid(format!(
            "terminal channel {channel:?} is not 32 hex digits"
        ));
        let _ = answers.send(answer(Err(bad))).await;
        return;
    }
    let (id, entry) = match service.terminal(&id) {
        Ok(found) => {
            let _ = answers.send(answer(Ok(serde_json::Value::Null))).await;
            found
        }
        Err(e) => {
            let _ = answers.send(answer(Err(e))).await;
            return;
        }
    };
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(Some(crate::terminal_stream::MAX_INPUT_FRAME))
        .max_frame_size(Some(crate::terminal_stream::MAX_INPUT_FRAME));
    let path = agentd_proto::hq::terminal_channel_path(&channel);
    let ws = tokio::select! {
        _ = stop.cancelled() => return,
        r = dial(&settings, &path, config) => match r {
            Ok(ws) => ws,
            Err(e) => {
                tracing::warn!(error = %e, terminal = %id, "cannot open HQ's terminal channel");
                return;
            }
        },
    };
    tracing::info!(terminal = %id, "terminal attached through HQ");
    let streaming = crate::terminal_stream::stream(
        crate::terminal_stream::frames(ws),
        &id,
        entry.terminal,
        from,
    );
    tokio::select! {
        _ = stop.cancelled() => {}
        () = streaming => {}
    }
}

/// One link: dial, hello, forward until it breaks (`Err`, why) or `stop`.
async fn link_once(
    service: &Service,
    settings: &LinkSettings,
    status: &LinkStatus,
    stop: &CancellationToken,
) -> Result<(), String> {
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(Some(MAX_LINK_FRAME_BYTES))
        .max_frame_size(Some(MAX_LINK_FRAME_BYTES));
    let ws = tokio::select! {
        _ = stop.cancelled() => return Ok(()),
        r = dial(settings, RUNNER_PATH, config) => r?,
    };
    let (mut tx, mut rx) = ws.split();
    let hello = RunnerMessage::Hello {
        runner: None,
        version: env!("CARGO_PKG_VERSION").to_owned(),
        os: std::env::consts::OS.to_owned(),
        labels: settings.labels.clone(),
        head_seq: service.head_seq(),
        hostname: Some(
            rustix::system::uname()
                .nodename()
                .to_string_lossy()
                .into_owned(),
        ),
    };
    tx.send(text(&hello))
        .await
        .map_err(|e| format!("HQ: {e}"))?;
    let welcome = tokio::time::timeout(DIAL_WITHIN, next_message(&mut rx))
        .await
        .map_err(|_| "HQ did not answer the hello".to_owned())??;
    let (runner, mut acked) = match welcome {
        HqMessage::Welcome { runner, acked_seq } => (runner, acked_seq),
        HqMessage::Error { message } => return Err(format!("HQ refused this runner: {message}")),
        HqMessage::Ack { .. }
        | HqMessage::Decide { .. }
        | HqMessage::Launch { .. }
        | HqMessage::Terminal { .. }
        | HqMessage::Usage { .. }
        | HqMessage::Session { .. } => {
            return Err("HQ sent a request before its welcome".into());
        }
    };
    tracing::info!(runner, acked, url = %settings.url(), "linked to HQ");
    status.update(|v| {
        v.connected = true;
        v.runner = Some(runner.clone());
        v.acked_seq = acked;
        v.last_error = None;
        v.connects += 1;
    });
    let mut events = Box::pin(
        service
            .event_stream(SubscribeParams {
                after_seq: Some(acked),
                ..Default::default()
            })
            .map_err(|e| format!("reading the event log: {e}"))?,
    );
    let mut sent = acked;
    // Answers of requests HQ made, from the tasks that serve them.
    let (answers, mut answered) = tokio::sync::mpsc::channel::<RunnerMessage>(64);
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut heard = tokio::time::Instant::now();
    loop {
        let room = sent.saturating_sub(acked) < MAX_IN_FLIGHT;
        tokio::select! {
            _ = stop.cancelled() => {
                let _ = tx.send(Message::Close(None)).await;
                return Ok(());
            }
            _ = tokio::time::sleep_until(heard + SILENT_AFTER) => {
                return Err(format!("HQ silent for {} s", SILENT_AFTER.as_secs()));
            }
            _ = ping.tick() => {
                tx.send(Message::Ping(Default::default())).await.map_err(|e| format!("HQ: {e}"))?;
            }
            Some(answer) = answered.recv() => {
                tx.send(text(&answer)).await.map_err(|e| format!("HQ: {e}"))?;
            }
            first = events.next(), if room => {
                let Some(first) = first else {
                    // The stream ends only when the daemon stops.
                    return Ok(());
                };
                let batch = batch_after(first, &mut events);
                if let Some(last) = batch.last() {
                    sent = last.seq;
                }
                tx.send(text(&RunnerMessage::Events { events: batch }))
                    .await
                    .map_err(|e| format!("HQ: {e}"))?;
            }
            m = rx.next() => {
                heard = tokio::time::Instant::now();
                match m {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => {
                        return Err("HQ closed the link".into());
                    }
                    Some(Ok(Message::Text(t))) => match serde_json::from_str::<HqMessage>(t.as_str()) {
                        Ok(HqMessage::Ack { seq }) => {
                            acked = acked.max(seq);
                            status.update(|v| v.acked_seq = acked);
                        }
                        Ok(HqMessage::Error { message }) => return Err(format!("HQ: {message}")),
                        Ok(HqMessage::Welcome { .. }) => return Err("HQ welcomed twice".into()),
                        Ok(HqMessage::Launch { request, params }) => {
                            let service = service.clone();
                            let answers = answers.clone();
                            tokio::spawn(async move {
                                let (launched, error) = match service.launch(params).await {
                                    Ok(l) => (Some(l), None),
                                    Err(e) => (None, Some(link_error(&e))),
                                };
                                let _ = answers
                                    .send(RunnerMessage::Launched { request, launched, error })
                                    .await;
                            });
                        }
                        Ok(HqMessage::Terminal { request, call }) => {
                            tokio::spawn(serve_terminal(
                                service.clone(),
                                settings.clone(),
                                request,
                                call,
                                answers.clone(),
                                stop.clone(),
                            ));
                        }
                        Ok(HqMessage::Usage { request, query }) => {
                            let service = service.clone();
                            let answers = answers.clone();
                            tokio::spawn(async move {
                                let (value, error) = match usage_report(&service, query).await {
                                    Ok(r) => (serde_json::to_value(r).ok(), None),
                                    Err(e) => (None, Some(link_error(&e))),
                                };
                                let _ = answers
                                    .send(RunnerMessage::Answered { request, value, error })
                                    .await;
                            });
                        }
                        Ok(HqMessage::Session { request, call }) => {
                            let service = service.clone();
                            let answers = answers.clone();
                            tokio::spawn(async move {
                                use agentd_proto::hq::SessionCall;
                                let r = match call {
                                    SessionCall::Send { id, message } => json(
                                        service
                                            .send(agentd_proto::api::SendParams { id, message })
                                            .await,
                                    ),
                                    SessionCall::Interrupt { id } => json(service.interrupt(&id).await),
                                    SessionCall::Kill { id } => json(service.kill(&id).await),
                                };
                                let (value, error) = match r {
                                    Ok(v) => (Some(v), None),
                                    Err(e) => (None, Some(link_error(&e))),
                                };
                                let _ = answers
                                    .send(RunnerMessage::Answered { request, value, error })
                                    .await;
                            });
                        }
                        Ok(HqMessage::Decide { request, params }) => {
                            // Its own task: a decision waits on the writer,
                            // the link goes on meanwhile.
                            let service = service.clone();
                            let answers = answers.clone();
                            tokio::spawn(async move {
                                let (approval, error) = match service.decide(params, "hq").await {
                                    Ok(a) => (Some(Box::new(a)), None),
                                    Err(e) => (None, Some(link_error(&e))),
                                };
                                let _ = answers
                                    .send(RunnerMessage::Decided { request, approval, error })
                                    .await;
                            });
                        }
                        Err(e) => return Err(format!("HQ sent something that is not an HQ message: {e}")),
                    },
                    Some(Ok(_)) => {}
                }
            }
        }
    }
}

/// The whole usage report for `query`, refused when it would not fit one
/// link frame (HQ would drop the link).
async fn usage_report(
    service: &Service,
    query: agentd_proto::history::UsageQuery,
) -> Result<agentd_proto::history::UsageReport, crate::service::ServiceError> {
    let report = service.usage_report(query).await?;
    let bytes = serde_json::to_vec(&report).map(|v| v.len()).unwrap_or(0);
    if bytes > MAX_LINK_FRAME_BYTES / 2 {
        return Err(crate::service::ServiceError::TooLarge(format!(
            "this runner's usage report is {bytes} bytes, over what one HQ link frame carries; narrow it (--since/--until, or group by day or month)"
        )));
    }
    Ok(report)
}

/// `first` and whatever else is ready, up to [`MAX_BATCH`] events and
/// about half the frame cap of JSON: one more event is at most
/// `MAX_PAYLOAD_BYTES` (~1 MiB), so a frame stays under the cap.
fn batch_after<S>(first: Arc<EventRecord>, events: &mut std::pin::Pin<Box<S>>) -> Vec<EventRecord>
where
    S: futures_util::Stream<Item = Arc<EventRecord>>,
{
    use futures_util::FutureExt;
    let mut bytes = approx_len(&first);
    let mut batch = vec![Arc::unwrap_or_clone(first)];
    while batch.len() < MAX_BATCH && bytes < MAX_LINK_FRAME_BYTES / 2 {
        match events.next().now_or_never() {
            Some(Some(e)) => {
                bytes += approx_len(&e);
                batch.push(Arc::unwrap_or_clone(e));
            }
            _ => break,
        }
    }
    batch
}

fn approx_len(e: &EventRecord) -> usize {
    // Payload and env dominate (compact JSON, as sent).
    e.payload.to_string().len() + e.env.to_string().len() + 256
}

/// The one mapping of a service error onto the link.
fn link_error(e: &crate::service::ServiceError) -> agentd_proto::hq::LinkError {
    use crate::service::ServiceError as E;
    let code = match e {
        E::NotFound(_) => "not_found",
        E::Ambiguous(_) => "ambiguous",
        E::Invalid(_) => "invalid",
        E::Conflict(_) => "conflict",
        E::Gone(_) => "gone",
        E::ShuttingDown(_) => "shutting_down",
        E::Overloaded(_) => "overloaded",
        E::TooLarge(_) => "too_large",
        E::Store(_) => "store",
        E::Internal(_) => "internal",
    };
    agentd_proto::hq::LinkError {
        code: code.to_owned(),
        message: e.message().to_owned(),
    }
}

fn text<T: serde::Serialize>(m: &T) -> Message {
    Message::Text(serde_json::to_string(m).unwrap_or_default().into())
}

/// The next HQ message, past pings.
async fn next_message<S>(rx: &mut S) -> Result<HqMessage, String>
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        match rx.next().await {
            None | Some(Err(_)) | Some(Ok(Message::Close(_))) => {
                return Err("HQ closed the link".into());
            }
            Some(Ok(Message::Text(t))) => {
                return serde_json::from_str(t.as_str())
                    .map_err(|e| format!("HQ sent something that is not an HQ message: {e}"));
            }
            Some(Ok(_)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_jitter_stays_under_a_doubling_ceiling() {
        assert_eq!(full_jitter(0, 0.0), Duration::ZERO);
        assert_eq!(full_jitter(0, 1.0), BACKOFF_BASE);
        assert_eq!(full_jitter(3, 1.0), BACKOFF_BASE * 8);
        assert_eq!(full_jitter(40, 1.0), BACKOFF_MAX);
        assert!(full_jitter(5, 0.5) <= BACKOFF_BASE * 16);
        let u = random_unit();
        assert!((0.0..1.0).contains(&u));
    }
}
