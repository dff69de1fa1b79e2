//! Every runner's events for a subscriber (GraphQL's `events`, gRPC's
//! `WatchEvents`): live from the fleet's broadcast, each runner's in `seq`
//! order, none twice; a subscriber that falls behind the live feed is
//! caught up from HQ's store, never cut off.

use std::sync::Arc;

use crate::fleet::FannedEvent;
use crate::service::{HqError, HqService};

/// One subscriber's view of the fan-in: the live feed, where it is in
/// each runner's log, and what it is catching up on.
pub struct EventFeed {
    rx: tokio::sync::broadcast::Receiver<Arc<FannedEvent>>,
    last: std::collections::HashMap<String, u64>,
    backlog: std::collections::VecDeque<Arc<FannedEvent>>,
    /// The last catch-up read a full page of some runner: read on before
    /// going back to the live feed, or its later events would leave a gap.
    more: bool,
    hq: HqService,
    runner: Option<String>,
    kinds: Option<Vec<String>>,
}

/// Events read from the store in one catch-up round, all runners together:
/// what one lagging subscriber may hold at once.
const CATCH_UP_BUDGET: usize = 2_048;

impl EventFeed {
    /// A feed of every runner's events from now on (`runner`: only its;
    /// `kinds`: only those).
    pub fn new(hq: HqService, runner: Option<String>, kinds: Option<Vec<String>>) -> EventFeed {
        EventFeed {
            // Live first, then the cursors: nothing folded in between is lost.
            rx: hq.fleet().subscribe(),
            last: hq.fleet().cursors(),
            backlog: std::collections::VecDeque::new(),
            more: false,
            hq,
            runner,
            kinds,
        }
    }

    fn wanted(&self, e: &FannedEvent) -> bool {
        self.runner.as_ref().is_none_or(|r| *r == e.runner)
            && self
                .kinds
                .as_ref()
                .is_none_or(|k| k.iter().any(|k| *k == e.record.kind))
    }

    /// Takes `e` if it is past what was delivered of its runner.
    fn take(&mut self, e: &FannedEvent) -> bool {
        let last = self.last.entry(e.runner.clone()).or_default();
        if e.record.seq <= *last {
            return false;
        }
        *last = e.record.seq;
        true
    }

    /// The next event (`None`: HQ is stopping).
    ///
    /// # Errors
    /// The store, while catching up.
    pub async fn next(&mut self) -> Option<Result<Arc<FannedEvent>, HqError>> {
        loop {
            if self.backlog.is_empty()
                && self.more
                && let Err(e) = self.catch_up().await
            {
                return Some(Err(e));
            }
            let e = match self.backlog.pop_front() {
                Some(e) => e,
                None => match self.rx.recv().await {
                    Ok(e) => e,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        if let Err(e) = self.catch_up().await {
                            return Some(Err(e));
                        }
                        continue;
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                },
            };
            if self.take(&e) && self.wanted(&e) {
                return Some(Ok(e));
            }
        }
    }

    /// Queues what the store holds past this subscriber's place in each
    /// runner's log (a page per runner; the live feed's later events are
    /// skipped as already delivered, and a further lag reads on).
    async fn catch_up(&mut self) -> Result<(), HqError> {
        let mut runners: Vec<String> = self.hq.fleet().cursors().into_keys().collect();
        runners.retain(|r| self.runner.as_ref().is_none_or(|w| w == r));
        runners.sort();
        self.more = false;
        let mut budget = CATCH_UP_BUDGET;
        for runner in runners {
            if budget == 0 {
                self.more = true;
                break;
            }
            let after = self.last.get(&runner).copied().unwrap_or(0);
            let rows = self
                .hq
                .backend()
                .events(runner.clone(), after, budget)
                .await?;
            budget -= rows.len();
            self.more |= budget == 0;
            if !rows.is_empty() {
                tracing::info!(
                    runner,
                    events = rows.len(),
                    after,
                    "a subscriber fell behind the live feed: caught up from the store"
                );
            }
            self.backlog.extend(rows.iter().map(|row| {
                Arc::new(FannedEvent {
                    runner: runner.clone(),
                    record: Arc::new(agentd_daemon::ingest::record_of(row)),
                })
            }));
        }
        Ok(())
    }
}
