//! Health and garbage collection.

use std::sync::atomic::Ordering;

use agentd_proto::api::Health;

use super::{Service, ServiceError};
use crate::launch;

impl Service {
    /// The newest `seq` in the event log (0 when empty).
    pub fn head_seq(&self) -> u64 {
        self.shared.log.head_seq()
    }

    /// The `health` result.
    pub fn health(&self) -> Health {
        let shared = &self.shared;
        let mut problems: Vec<String> = launch::claude_path(shared).err().into_iter().collect();
        let notify = shared.notify.status();
        // A sink whose last notice could not be delivered is a problem until
        // one is.
        problems.extend(notify.iter().filter_map(|s| {
            s.last_error.as_ref().map(|e| {
                format!(
                    "notification sink `{}` ({}) failed its last delivery: {e}",
                    s.name, s.kind
                )
            })
        }));
        Health {
            status: if problems.is_empty() {
                "ok"
            } else {
                "degraded"
            }
            .to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            uptime_s: shared.started.elapsed().as_secs(),
            http_addr: shared.http_addr.read().ok().and_then(|a| a.clone()),
            pid: std::process::id(),
            sessions: shared.registry.read().map(|r| r.len()).unwrap_or(0),
            head_seq: shared.log.head_seq(),
            problems,
            limits: agentd_proto::api::HealthLimits {
                connections: shared.connections.all.load(Ordering::Relaxed),
                connection_cap: shared.socket_cap,
                connections_refused: shared.connections.refused.load(Ordering::Relaxed),
                buffered_bytes: shared.budget.total(),
                subscribers_dropped: shared.log.subscribers_dropped(),
                subscribers: shared.log.subscribers(),
                hook_watchers: shared.hooks.as_ref().map_or(0, |r| r.watchers()),
                terminals: shared.terminals.len(),
                web_sessions: shared.web.count(),
            },
            hq: shared.hq_link.view(),
            notify,
        }
    }

    /// A retention pass now, with a full vacuum (`agentd gc`).
    ///
    /// # Errors
    /// As [`crate::retention::pass`].
    pub async fn gc(&self) -> Result<crate::retention::Pass, ServiceError> {
        crate::retention::pass(&self.shared, true).await
    }
}

impl Service {
    /// Sessions in the registry, counted by status.
    pub fn sessions_by_status(&self) -> std::collections::BTreeMap<String, u64> {
        let mut by = std::collections::BTreeMap::new();
        if let Ok(r) = self.shared.registry.read() {
            for s in r.list() {
                *by.entry(s.status.as_str().to_owned()).or_insert(0) += 1;
            }
        }
        by
    }

    /// Stops the daemon: the same graceful stop as SIGTERM (held calls are
    /// answered, the socket is removed).
    pub fn shutdown(&self) {
        tracing::info!("shutdown asked for through the API");
        self.shared.shutdown.cancel();
    }
}
