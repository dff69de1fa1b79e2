//! The single writer.
//!
//! One dedicated thread owns the read-write SQLite connection. It takes
//! whatever [`Work`] is queued (up to [`MAX_BATCH`]) and, in one transaction,
//! appends events, folds them into copies of the affected sessions and
//! checkpoints those, and creates or resolves approvals (compare-and-set).
//! Only after the commit does it publish the sessions to the registry,
//! broadcast the events, wake held hook calls and answer the callers — so
//! what a client was told is stored, is stored.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use crate::error::ServiceError;
use agentd_core::{Approval, ApprovalStatus, Decision, Session};
use agentd_proto::api::rfc3339;
use agentd_store::{Batch, NewEvent, StoreError, Writer};
use tokio::sync::{mpsc, oneshot};

use crate::approvals::{self, Outcome};
use crate::ingest::Prepared;
use crate::log::LiveEvent;
use crate::state::Shared;

/// Most work items committed in one transaction.
pub const MAX_BATCH: usize = 1024;

/// A state change for the writer.
#[derive(Debug)]
pub enum Work {
    /// Append an event.
    Event(Box<Prepared>),
    /// Create a pending approval (and its `approval.requested` event).
    Create(Box<Approval>),
    /// Move an approval out of `pending`, if it still is.
    Resolve(Box<Resolution>),
    /// One step of retention (see [`crate::retention`]).
    Compact(CompactJob),
    /// Return free pages to the file system (outside any transaction).
    Vacuum {
        /// A full `VACUUM` even when incremental vacuum is possible.
        full: bool,
    },
}

/// One retention step's bounds.
#[derive(Debug, Clone, Copy)]
pub struct CompactJob {
    /// Only events received before this, ms since the Unix epoch.
    pub cutoff_ms: i64,
    /// Most events looked at.
    pub limit: usize,
    /// Payloads are cut to this many bytes (those longer).
    pub compact_to: usize,
}

/// How to resolve an approval.
#[derive(Debug, Clone)]
pub struct Resolution {
    /// Approval id.
    pub id: String,
    /// Final status.
    pub status: ApprovalStatus,
    /// The decision, for allowed / denied / answered.
    pub decision: Option<Decision>,
    /// Who resolved it.
    pub by: String,
    /// Why.
    pub reason: Option<String>,
}

/// What committed work produced.
#[derive(Debug)]
pub enum Done {
    /// An event with this `seq`.
    Event {
        /// Its `seq`.
        seq: u64,
    },
    /// An approval created or resolved by the event with this `seq`.
    Approval {
        /// The `seq` of its `approval.*` event.
        seq: u64,
        /// The approval as stored.
        approval: Box<Approval>,
    },
    /// A retention step's result.
    Compacted(agentd_store::Compacted),
    /// The database file's size before and after a vacuum, bytes.
    Vacuumed {
        /// Before.
        before: u64,
        /// After.
        after: u64,
    },
}

/// Why work was not done.
#[derive(Debug)]
pub enum Refused {
    /// Someone else resolved the approval first.
    AlreadyResolved(Box<Approval>),
    /// No such approval.
    NotFound,
    /// The store failed; nothing of the batch was kept.
    Store(String),
}

/// Where the writer answers.
pub type Reply = oneshot::Sender<Result<Done, Refused>>;

/// A request to the writer thread.
#[derive(Debug)]
pub enum Job {
    /// Do this, answer there.
    Run(Work, Reply),
    /// Finish what is queued and stop.
    Stop,
}

/// Queues `work` and waits until it is committed.
///
/// # Errors
/// [`ServiceError::ShuttingDown`] when the writer has stopped, [`ServiceError::Store`]
/// when the commit failed, [`ServiceError::NotFound`] / [`ServiceError::Conflict`] for
/// approvals.
pub async fn run(shared: &Shared, work: Work) -> Result<Done, ServiceError> {
    let (tx, rx) = oneshot::channel();
    let gone =
        || ServiceError::shutting_down("agentd is shutting down; try again after it restarts");
    shared
        .log
        .queue()
        .send(Job::Run(work, tx))
        .await
        .map_err(|_| gone())?;
    match rx.await.map_err(|_| gone())? {
        Ok(done) => Ok(done),
        Err(Refused::Store(why)) => Err(ServiceError::store(format!("could not store it: {why}"))),
        Err(Refused::NotFound) => Err(ServiceError::not_found(
            "no such approval; `agentd approvals --all` lists them",
        )),
        Err(Refused::AlreadyResolved(a)) => Err(ServiceError::conflict(format!(
            "approval {} was already {} by {} at {}",
            a.id,
            a.status.as_str().replace('_', " "),
            a.decided_by.as_deref().unwrap_or("agentd"),
            a.decided_ms.map(rfc3339).unwrap_or_default()
        ))),
    }
}

/// Runs the writer loop on the current (dedicated) thread until [`Job::Stop`]
/// or until every sender is gone.
pub fn run_writer(mut writer: Writer, mut rx: mpsc::Receiver<Job>, shared: Arc<Shared>) {
    let mut stop = false;
    while !stop {
        let Some(first) = rx.blocking_recv() else {
            break;
        };
        let mut jobs = Vec::with_capacity(64);
        match first {
            Job::Run(w, tx) => jobs.push((w, tx)),
            Job::Stop => stop = true,
        }
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(Job::Run(w, tx)) => jobs.push((w, tx)),
                Ok(Job::Stop) => stop = true,
                Err(_) => break,
            }
        }
        // A vacuum cannot run inside a transaction: after the batch.
        let (vacuums, jobs): (Vec<_>, Vec<_>) = jobs
            .into_iter()
            .partition(|(w, _)| matches!(w, Work::Vacuum { .. }));
        for (w, tx) in vacuums {
            let full = matches!(w, Work::Vacuum { full: true });
            let _ = tx.send(match writer.vacuum(full) {
                Ok((before, after)) => Ok(Done::Vacuumed { before, after }),
                Err(e) => Err(Refused::Store(e.to_string())),
            });
        }
        if jobs.is_empty() {
            continue;
        }
        let work: Vec<&Work> = jobs.iter().map(|(w, _)| w).collect();
        match commit(&mut writer, &shared, &work) {
            Ok(committed) => {
                for live in committed.live {
                    // No receiver left means nobody listens: fine.
                    shared.log.publish(live);
                }
                approvals::wake(&shared, committed.wake);
                for ((_, tx), result) in jobs.into_iter().zip(committed.results) {
                    let _ = tx.send(result);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, items = jobs.len(), "commit failed; batch rejected");
                for (_, tx) in jobs {
                    let _ = tx.send(Err(Refused::Store(e.to_string())));
                }
            }
        }
    }
    // Anything still queued after Stop is answered by dropping its sender.
    rx.close();
}

/// What a committed batch publishes.
struct Committed {
    results: Vec<Result<Done, Refused>>,
    live: Vec<Arc<LiveEvent>>,
    wake: Vec<(String, Outcome)>,
}

/// One open transaction and what it has staged.
pub(crate) struct Txn<'s, 'c, 'w> {
    pub(crate) shared: &'s Shared,
    pub(crate) batch: Batch<'c>,
    staged: HashMap<String, Session>,
    /// Events appended while nobody listened, in case someone subscribes
    /// before the commit.
    unsent: Vec<(u64, Cow<'w, Prepared>)>,
    pub(crate) wake: Vec<(String, Outcome)>,
    listening: bool,
    live_events: Vec<Arc<LiveEvent>>,
}

impl<'w> Txn<'_, '_, 'w> {
    /// Appends an event and folds it into its session; returns its `seq`.
    pub(crate) fn append(&mut self, p: Cow<'w, Prepared>) -> Result<u64, StoreError> {
        let e = &p.event;
        let shared = self.shared;
        let session = self.staged.entry(e.session_id.clone()).or_insert_with(|| {
            shared
                .registry
                .read()
                .ok()
                .and_then(|r| r.get(&e.session_id).cloned())
                .unwrap_or_else(|| Session::new(e.session_id.clone(), p.agent.as_str(), e.ts_ms))
        });
        // A session keeps the agent its first event named: the daemon's own
        // events about it (approvals, process exits) carry that one too.
        let seq = self.batch.append(&NewEvent {
            ts_ms: e.ts_ms,
            session_id: &e.session_id,
            agent: &session.agent,
            source: p.source.as_str(),
            name: &p.name,
            kind: e.kind.name(),
            payload: &p.payload,
            env: &p.env,
        })?;
        session.apply(seq, e);
        if self.listening {
            self.live_events
                .push(Arc::new(LiveEvent::new(seq, &p, session.clone())));
        } else {
            self.unsent.push((seq, p));
        }
        Ok(seq)
    }
}

fn commit(writer: &mut Writer, shared: &Shared, work: &[&Work]) -> Result<Committed, StoreError> {
    // Serializing for subscribers costs as much as storing: skip it when
    // nobody listens.
    let listening = shared.log.subscribers() > 0;
    let mut txn = Txn {
        shared,
        batch: writer.batch()?,
        staged: HashMap::new(),
        unsent: Vec::new(),
        wake: Vec::new(),
        listening,
        live_events: Vec::new(),
    };
    let mut results = Vec::with_capacity(work.len());
    for w in work {
        let result = match w {
            Work::Event(p) => {
                // Delivered before (a lost reply, then the spool): the
                // first copy stands.
                let before = match &p.delivery_id {
                    Some(id) => txn.batch.delivered(id)?,
                    None => None,
                };
                match before {
                    Some(seq) => Ok(Done::Event { seq }),
                    None => {
                        approvals::settle_moot(&mut txn, p)?;
                        let seq = txn.append(Cow::Borrowed(p))?;
                        if let Some(id) = &p.delivery_id {
                            txn.batch.record_delivery(id, seq)?;
                        }
                        Ok(Done::Event { seq })
                    }
                }
            }
            Work::Create(a) => approvals::create(&mut txn, a).map(Ok)?,
            Work::Resolve(r) => approvals::resolve(&mut txn, r)?,
            Work::Compact(j) => {
                let to = j.compact_to;
                let cut = move |p: &str| crate::retention::compact_payload(p, to);
                Ok(Done::Compacted(txn.batch.compact_step(
                    j.cutoff_ms,
                    j.limit,
                    j.compact_to,
                    &cut,
                )?))
            }
            // Taken out of the batch before it starts.
            Work::Vacuum { .. } => Err(Refused::Store("vacuum inside a batch".to_owned())),
        };
        results.push(result);
    }
    for session in txn.staged.values() {
        txn.batch.put_session(session)?;
    }
    let Txn {
        batch,
        staged,
        unsent,
        wake,
        mut live_events,
        ..
    } = txn;
    batch.commit()?;

    if !listening && shared.log.subscribers() > 0 {
        // Someone subscribed while this batch was written: they must get
        // it too. The session shown is its state after the whole batch.
        for (seq, p) in unsent {
            if let Some(session) = staged.get(&p.event.session_id) {
                live_events.push(Arc::new(LiveEvent::new(seq, &p, session.clone())));
            }
        }
    }
    let last = staged.values().map(|s| s.last_seq).max().unwrap_or(0);
    if let Ok(mut registry) = shared.registry.write() {
        for (_, session) in staged {
            registry.put(session);
        }
    }
    shared.log.committed(last);
    Ok(Committed {
        results,
        live: live_events,
        wake,
    })
}
