//! Desktop notifications: freedesktop `org.freedesktop.Notifications` on
//! the session D-Bus. A notice of one approval carries Approve and Deny
//! actions; when the user clicks one, the notification server's
//! `ActionInvoked(id, key)` signal — taken only from the owner of the
//! server's name, and only for a notification this sink sent — decides the
//! approval like any other decision (`decided_by: desktop`).
//!
//! One connection per desktop sink, made at the first notice and again
//! after a failure; its signal listener lives as long as it does.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;

use super::rules::Notice;

const SERVICE: &str = "org.freedesktop.Notifications";
const PATH: &str = "/org/freedesktop/Notifications";
/// Notifications with actions remembered (oldest forgotten first).
const REMEMBERED: usize = 256;

/// Notification id → the approval its actions decide.
type Asked = Arc<Mutex<VecDeque<(u32, String)>>>;

/// One desktop sink's connection to the notification server.
pub struct Desktop {
    shared: Arc<crate::state::Shared>,
    proxy: tokio::sync::Mutex<Option<zbus::Proxy<'static>>>,
    asked: Asked,
}

impl Desktop {
    /// A sink of the daemon at `shared` (connects on first use).
    pub fn new(shared: Arc<crate::state::Shared>) -> Desktop {
        Desktop {
            shared,
            proxy: tokio::sync::Mutex::new(None),
            asked: Arc::default(),
        }
    }

    /// Shows `notice`; a lone approval gets Approve/Deny actions.
    ///
    /// # Errors
    /// No session bus, or the notification server refused (in words).
    pub async fn send(&self, notice: &Notice) -> Result<(), String> {
        let mut slot = self.proxy.lock().await;
        let proxy = match slot.as_ref() {
            Some(p) => p.clone(),
            None => {
                let p = self.connect().await?;
                *slot = Some(p.clone());
                p
            }
        };
        let approval = notice.approval_id();
        let hints: std::collections::HashMap<&str, zbus::zvariant::Value<'_>> = [(
            "urgency",
            zbus::zvariant::Value::U8(if approval.is_some() { 2 } else { 1 }),
        )]
        .into_iter()
        .collect();
        // Pairs of (key, label); "default" is a click on the notification.
        let actions: Vec<&str> = if approval.is_some() {
            vec!["allow", "Approve", "deny", "Deny"]
        } else {
            Vec::new()
        };
        let sent: Result<u32, zbus::Error> = proxy
            .call(
                "Notify",
                &(
                    "agentd",
                    0u32,
                    "",
                    notice.title.as_str(),
                    notice.body.as_str(),
                    actions,
                    hints,
                    -1i32,
                ),
            )
            .await;
        let id = match sent {
            Ok(id) => id,
            Err(e) => {
                // A bus that went away: connect again next time.
                *slot = None;
                return Err(format!("the notification service refused: {e}"));
            }
        };
        if let (Some(approval), Ok(mut asked)) = (approval, self.asked.lock()) {
            if asked.len() >= REMEMBERED {
                asked.pop_front();
            }
            asked.push_back((id, approval.to_owned()));
        }
        Ok(())
    }

    /// Connects, and starts following the server's `ActionInvoked`.
    async fn connect(&self) -> Result<zbus::Proxy<'static>, String> {
        let conn = zbus::Connection::session()
            .await
            .map_err(|e| format!("no session D-Bus: {e}"))?;
        let proxy = zbus::Proxy::new(&conn, SERVICE, PATH, SERVICE)
            .await
            .map_err(|e| format!("no notification service on the session D-Bus: {e}"))?;
        // The proxy's match rule names the service: the bus delivers only
        // its owner's signals.
        let mut invoked = proxy
            .receive_signal("ActionInvoked")
            .await
            .map_err(|e| format!("cannot follow the notification service's actions: {e}"))?;
        let asked = Arc::clone(&self.asked);
        let service = crate::service::Service::new(Arc::clone(&self.shared));
        let stop = self.shared.shutdown.clone();
        self.shared.tasks.spawn(async move {
            loop {
                let msg = tokio::select! {
                    _ = stop.cancelled() => return,
                    m = invoked.next() => match m { Some(m) => m, None => return },
                };
                let Ok((id, key)) = msg.body().deserialize::<(u32, String)>() else {
                    continue;
                };
                // A click on the notification itself ("default") decides
                // nothing.
                if key != "allow" && key != "deny" {
                    continue;
                }
                let approval = asked.lock().ok().and_then(|mut a| {
                    let at = a.iter().position(|(n, _)| *n == id)?;
                    a.remove(at).map(|(_, ap)| ap)
                });
                let Some(approval) = approval else { continue };
                if let Err(e) = service.decide_from_desktop(&approval, &key).await {
                    tracing::info!(approval, error = %e, "a desktop notification's button decided nothing");
                }
            }
        });
        Ok(proxy)
    }
}
