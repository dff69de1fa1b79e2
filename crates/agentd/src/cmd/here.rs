//! The session a command means when it is given no id: the latest one
//! whose working directory is the current one (as `git` picks the repo
//! from the current directory).

use std::path::Path;
use std::process::ExitCode;

use agentd_client::Client;
use agentd_proto::api::{SessionView, SessionsListParams};

use super::{client_error, fail};

/// The id of the latest session (by last event, then log position) whose `cwd` is `dir`,
/// among every session the daemon knows, ended ones and those known only
/// from transcripts included.
pub fn latest_in(client: &mut Client, dir: &Path) -> Result<String, ExitCode> {
    let here = dir.display().to_string();
    let mut best: Option<SessionView> = None;
    let mut offset = Some(0);
    while let Some(at) = offset {
        let page = client
            .sessions_page(&SessionsListParams {
                history: Some(true),
                offset: Some(at),
                project: Some(here.clone()),
                ..SessionsListParams::default()
            })
            .map_err(client_error)?;
        offset = page.next_offset;
        for s in page.sessions {
            if s.session.cwd.as_deref().map(Path::new) != Some(dir) {
                continue;
            }
            // Events in the same ms: the log's order decides.
            let key = |v: &SessionView| (v.session.last_event_ms, v.session.last_seq);
            if best.as_ref().is_none_or(|b| key(&s) > key(b)) {
                best = Some(s);
            }
        }
    }
    best.map(|s| s.session.id).ok_or_else(|| {
        fail(&format!(
            "no session has run in {here}; name one (`agentd ls --all` lists them)"
        ))
    })
}

/// `id` when given (and not empty), else [`latest_in`] the current
/// directory.
pub fn session_or_here(client: &mut Client, id: Option<&str>) -> Result<String, ExitCode> {
    match id.filter(|i| !i.is_empty()) {
        Some(id) => Ok(id.to_owned()),
        None => {
            let dir = std::env::current_dir().map_err(|e| {
                fail(&format!(
                    "no session id given and the current directory is unreadable ({e}); name a session"
                ))
            })?;
            latest_in(client, &dir)
        }
    }
}
