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

/// The connection in use: the server's proxy, its listener's stop, and
/// whether the server renders markup in bodies.
struct Connected {
    proxy: zbus::Proxy<'static>,
    /// Stops the `ActionInvoked` listener (and so drops its connection)
    /// when this connection is given up.
    listener: tokio_util::sync::CancellationToken,
    markup: bool,
}

/// One desktop sink's connection to the notification server.
pub struct Desktop {
    shared: Arc<crate::state::Shared>,
    conn: tokio::sync::Mutex<Option<Connected>>,
    asked: Asked,
}

/// `text` with the markup characters of the notification spec escaped
/// (for servers with `body-markup`, which would render `<a>`/`<img>`).
fn escape_markup(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

impl Desktop {
    /// A sink of the daemon at `shared` (connects on first use).
    pub fn new(shared: Arc<crate::state::Shared>) -> Desktop {
        Desktop {
            shared,
            conn: tokio::sync::Mutex::new(None),
            asked: Arc::default(),
        }
    }

    /// Shows `notice`; a lone approval gets Approve/Deny actions.
    ///
    /// # Errors
    /// No session bus, or the notification server refused (in words).
    pub async fn send(&self, notice: &Notice) -> Result<(), String> {
        let mut slot = self.conn.lock().await;
        if slot.is_none() {
            *slot = Some(self.connect().await?);
        }
        let Some(conn) = slot.as_ref() else {
            return Err("no connection to the notification service".to_owned());
        };
        let (proxy, markup) = (conn.proxy.clone(), conn.markup);
        let body = if markup {
            escape_markup(&notice.body)
        } else {
            notice.body.clone()
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
                    body.as_str(),
                    actions,
                    hints,
                    -1i32,
                ),
            )
            .await;
        let id = match sent {
            Ok(id) => id,
            Err(e) => {
                // A bus or server that went away: connect again next time,
                // and let this connection's listener go with it.
                if let Some(old) = slot.take() {
                    old.listener.cancel();
                }
                return Err(format!("the notification service refused: {e}"));
            }
        };
        if let (Some(approval), Ok(mut asked)) = (approval, self.asked.lock()) {
            // A restarted server counts ids from 1 again: an id names the
            // newest notification only.
            asked.retain(|(n, _)| *n != id);
            if asked.len() >= REMEMBERED {
                asked.pop_front();
            }
            asked.push_back((id, approval.to_owned()));
        }
        Ok(())
    }

    /// Connects, and starts following the server's `ActionInvoked`.
    async fn connect(&self) -> Result<Connected, String> {
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
        let markup = proxy
            .call::<_, _, Vec<String>>("GetCapabilities", &())
            .await
            .is_ok_and(|caps| caps.iter().any(|c| c == "body-markup"));
        let asked = Arc::clone(&self.asked);
        let service = crate::service::Service::new(Arc::clone(&self.shared));
        let listener = self.shared.shutdown.child_token();
        let stop = listener.clone();
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
        Ok(Connected {
            proxy,
            listener,
            markup,
        })
    }
}
