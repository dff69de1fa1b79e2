//! Several HQ processes on one PostgreSQL: a decision made at one HQ for
//! a runner linked to another travels as a NOTIFY on
//! [`crate::pg::CHANNEL`], addressed to the HQ that holds the link, and its
//! answer comes back the same way, addressed to the asker. PostgreSQL's
//! own LISTEN/NOTIFY: no second engine to run beside the database.

use std::time::Duration;

use agentd_proto::hq::LinkError;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::fleet::Request;
use crate::service::{HqService, RUNNER_ANSWER_WITHIN};

/// Largest note sent, bytes (PostgreSQL's NOTIFY payload limit is 8 000).
pub const MAX_NOTE_BYTES: usize = 7_800;

/// A message between HQ processes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Note {
    /// Pass `what` to `runner`, linked to HQ `to`.
    Ask {
        /// The HQ holding the link.
        to: String,
        /// The HQ asking, for the answer.
        from: String,
        /// The asker's request id.
        request: u64,
        /// The runner.
        runner: String,
        /// The request.
        what: Box<Request>,
    },
    /// The runner's answer to `request` of HQ `to` was too large for a
    /// NOTIFY: it waits in `hq_answers` as an encoded `Answered` note.
    AnsweredLarge {
        /// The HQ that asked.
        to: String,
        /// Its request id.
        request: u64,
    },
    /// The runner's answer to `request` of HQ `to`.
    Answered {
        /// The HQ that asked.
        to: String,
        /// Its request id.
        request: u64,
        /// The result.
        #[serde(default)]
        value: Option<serde_json::Value>,
        /// Why there is none.
        #[serde(default)]
        error: Option<LinkError>,
    },
}

impl Note {
    /// The NOTIFY payload.
    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Listens for notes addressed to this HQ until `shutdown`, listening
/// again after a lost connection.
pub async fn run(hq: HqService, shutdown: CancellationToken) {
    let crate::backend::Backend::Postgres(pg) = hq.backend().clone() else {
        return;
    };
    loop {
        let mut notes = match pg.listen().await {
            Ok(rx) => rx,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for other HQs; trying again");
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                }
            }
        };
        loop {
            let payload = tokio::select! {
                _ = shutdown.cancelled() => return,
                p = notes.recv() => p,
            };
            let Some(payload) = payload else { break };
            let note = match serde_json::from_str::<Note>(&payload) {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "a note from another HQ that this one cannot read (different agentd versions?)");
                    continue;
                }
            };
            handle(&hq, note);
        }
    }
}

fn handle(hq: &HqService, note: Note) {
    match note {
        Note::Answered {
            to,
            request,
            value,
            error,
        } if to == hq.id() => {
            let answer = match (value, error) {
                (Some(v), _) => Ok(v),
                (None, Some(e)) => Err(e),
                (None, None) => Err(LinkError {
                    code: "internal".into(),
                    message: "the other HQ answered with neither a result nor an error".into(),
                }),
            };
            hq.fleet().answered(request, answer);
        }
        Note::AnsweredLarge { to, request } if to == hq.id() => {
            let hq = hq.clone();
            tokio::spawn(async move {
                let crate::backend::Backend::Postgres(pg) = hq.backend() else {
                    return;
                };
                match pg.take_answer(hq.id(), request).await {
                    Ok(Some(body)) => match serde_json::from_str::<Note>(&body) {
                        Ok(note @ Note::Answered { .. }) => handle(&hq, note),
                        _ => tracing::warn!(
                            request,
                            "a large answer from another HQ that this one cannot read"
                        ),
                    },
                    Ok(None) => {
                        tracing::warn!(request, "a large answer from another HQ went missing")
                    }
                    Err(e) => tracing::warn!(error = %e, "reading a large answer from another HQ"),
                }
            });
        }
        Note::Ask {
            to,
            from,
            request,
            runner,
            what,
        } if to == hq.id() => {
            let hq = hq.clone();
            tokio::spawn(async move {
                let answer = match hq.fleet().send_request(&runner, *what) {
                    None => Err(LinkError {
                        code: "gone".into(),
                        message: format!("runner {runner} is no longer linked to this HQ"),
                    }),
                    Some((mine, rx)) => {
                        match tokio::time::timeout(RUNNER_ANSWER_WITHIN, rx).await {
                            Ok(Ok(a)) => a,
                            _ => {
                                hq.fleet().forget(mine);
                                Err(LinkError {
                                    code: "overloaded".into(),
                                    message: format!("runner {runner} did not answer in time"),
                                })
                            }
                        }
                    }
                };
                let (value, error) = match answer {
                    Ok(v) => (Some(v), None),
                    Err(e) => (None, Some(e)),
                };
                let reply = Note::Answered {
                    to: from.clone(),
                    request,
                    value,
                    error,
                };
                let mut payload = reply.encode();
                if payload.len() > MAX_NOTE_BYTES {
                    // PostgreSQL refuses a NOTIFY over 8 000 bytes: the
                    // answer waits in a table, the note points to it.
                    let crate::backend::Backend::Postgres(pg) = hq.backend() else {
                        return;
                    };
                    if let Err(e) = pg.put_answer(&from, request, &payload).await {
                        tracing::warn!(error = %e, "could not keep a large answer for another HQ");
                        return;
                    }
                    payload = Note::AnsweredLarge { to: from, request }.encode();
                }
                if let Err(e) = hq.backend().notify(&payload).await {
                    tracing::warn!(error = %e, "could not answer another HQ");
                }
            });
        }
        // Addressed to another HQ.
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_request_and_answer_survives_a_notify_payload() {
        let asks = [
            Request::Terminal(agentd_proto::hq::TerminalCall::Start {
                params: agentd_proto::api::TerminalStartParams {
                    kind: Some("shell".into()),
                    cwd: Some("/tmp".into()),
                    cols: Some(80),
                    rows: None,
                },
            }),
            Request::Terminal(agentd_proto::hq::TerminalCall::List),
            Request::Usage(agentd_proto::history::UsageQuery {
                group_by: agentd_proto::history::GroupBy::Daily,
                since: None,
                until: None,
                timezone: Some("UTC".into()),
                session_id: None,
            }),
        ];
        for what in asks {
            let note = Note::Ask {
                to: "b".into(),
                from: "a".into(),
                request: 7,
                runner: "two".into(),
                what: Box::new(what.clone()),
            };
            let back: Note = serde_json::from_str(&note.encode()).unwrap();
            let Note::Ask { what: got, .. } = back else {
                panic!("not an ask")
            };
            assert_eq!(
                serde_json::to_value(&*got).unwrap(),
                serde_json::to_value(&what).unwrap()
            );
        }
        let answered = Note::Answered {
            to: "a".into(),
            request: 7,
            value: Some(serde_json::json!({"pid": 123, "cols": 80, "id": "term_x"})),
            error: None,
        };
        let back: Note = serde_json::from_str(&answered.encode()).unwrap();
        let Note::Answered { value, .. } = back else {
            panic!("not an answer")
        };
        assert_eq!(value.unwrap()["pid"].as_u64(), Some(123));
    }
}
