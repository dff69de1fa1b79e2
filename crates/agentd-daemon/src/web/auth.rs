//! Browsers signed in to the web UI ("web sessions"): one-time sign-in
//! codes, the session cookie's tokens, CSRF tokens, revocation.
//!
//! How a browser signs in: `agentd web` asks the daemon (`web.login`) for a
//! one-time code and prints `http://127.0.0.1:<port>/login?code=<code>`.
//! Opening it once trades the code for a session token, set as an
//! HttpOnly, SameSite=Strict cookie, and a CSRF key, handed to the page
//! once in the fragment of the redirect to `/` (`/#csrf=…`; the page keeps
//! it in its origin's localStorage and drops it from the address bar). A
//! code is 32 random bytes, lives [`CODE_TTL`] and works once.
//!
//! Why two secrets: cookies do not keep ports apart, so another server on
//! 127.0.0.1 (another user's, a dev server) can receive this cookie from
//! the browser. The CSRF key never leaves this origin's script, so the
//! cookie alone does nothing: every POST, GraphQL WebSocket and terminal
//! needs the key too.
//!
//! Invariants:
//! - Neither codes nor tokens are stored: only their BLAKE3 hashes, in
//!   memory and (tokens) in `web-sessions.json` (mode 0600), so the file
//!   signs nobody in.
//! - The CSRF key is a second random secret per web session, stored as a
//!   hash like the token, and never sent by the daemon but once.
//! - Revoking a web session cancels its [`CancellationToken`]: the
//!   WebSockets it opened close at once.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use agentd_proto::api::WebSessionView;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

/// How long a sign-in code works.
pub const CODE_TTL: Duration = Duration::from_secs(10 * 60);
/// How long a web session lasts after sign-in, ms (30 days).
pub const SESSION_TTL_MS: i64 = 30 * 24 * 3600 * 1000;
/// Most sign-in codes outstanding (the oldest is dropped past it).
const MAX_CODES: usize = 16;
/// Most web sessions kept (the least recently seen is dropped past it).
const MAX_SESSIONS: usize = 64;
/// Largest `web-sessions.json` read, bytes.
const MAX_FILE_BYTES: u64 = 1 << 20;
/// How much of a `User-Agent` is kept, characters.
const MAX_USER_AGENT: usize = 200;

/// What a web session's record holds (and the file stores).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Record {
    id: String,
    /// BLAKE3 of the token, hex.
    token_hash: String,
    /// BLAKE3 of the CSRF key, hex.
    #[serde(default)]
    csrf_hash: String,
    created_ms: i64,
    last_seen_ms: i64,
    expires_ms: i64,
    #[serde(default)]
    user_agent: Option<String>,
    #[serde(default)]
    address: Option<String>,
}

impl Record {
    fn view(&self) -> WebSessionView {
        WebSessionView {
            id: self.id.clone(),
            created_ms: self.created_ms,
            last_seen_ms: self.last_seen_ms,
            expires_ms: self.expires_ms,
            user_agent: self.user_agent.clone(),
            address: self.address.clone(),
        }
    }
}

struct Entry {
    record: Record,
    revoked: CancellationToken,
}

#[derive(Default)]
struct Inner {
    /// Outstanding sign-in codes: BLAKE3 of the code, and when it lapses.
    codes: Vec<([u8; 32], Instant)>,
    sessions: Vec<Entry>,
}

/// The web sessions; a component of the daemon's state.
pub struct WebSessions {
    file: PathBuf,
    inner: Mutex<Inner>,
    /// Held while the file is written: the last writer writes the newest
    /// state.
    writing: Mutex<()>,
}

/// A signed-in browser, as a request's cookie proved.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The web session's id.
    pub id: String,
    /// Cancelled when it is revoked.
    pub revoked: CancellationToken,
}

/// Why a sign-in code was refused.
#[derive(Debug, PartialEq, Eq)]
pub struct CodeRefused;

impl WebSessions {
    /// The web sessions stored in `file` (none when it is missing or
    /// unreadable: signing in again is the remedy, so a bad file never
    /// stops the daemon). Blocking: call at start-up.
    pub fn load(file: PathBuf) -> WebSessions {
        let now = crate::now_ms();
        let records: Vec<Record> = agentd_fs::read(&file, MAX_FILE_BYTES)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        let sessions = records
            .into_iter()
            .filter(|r| r.expires_ms > now)
            .map(|record| Entry {
                record,
                revoked: CancellationToken::new(),
            })
            .collect();
        WebSessions {
            file,
            inner: Mutex::new(Inner {
                codes: Vec::new(),
                sessions,
            }),
            writing: Mutex::new(()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A new one-time sign-in code (64 hex digits) and when it lapses.
    ///
    /// # Errors
    /// When the system has no randomness to give.
    pub fn issue_code(&self) -> Result<(String, Instant), String> {
        let code = random_hex()?;
        let lapses = Instant::now() + CODE_TTL;
        let mut inner = self.lock();
        let now = Instant::now();
        inner.codes.retain(|(_, until)| *until > now);
        if inner.codes.len() >= MAX_CODES {
            inner.codes.remove(0);
        }
        inner.codes.push((hash(&code), lapses));
        Ok((code, lapses))
    }

    /// Trades a sign-in code for a new web session: its token (for the
    /// cookie), its CSRF key and its id. The code is spent either way it
    /// matched.
    ///
    /// # Errors
    /// [`CodeRefused`] when the code is unknown, spent or lapsed.
    pub fn redeem(
        &self,
        code: &str,
        user_agent: Option<&str>,
        address: Option<String>,
    ) -> Result<Redeemed, CodeRefused> {
        let h = hash(code);
        let token = random_hex().map_err(|_| CodeRefused)?;
        let csrf = random_hex().map_err(|_| CodeRefused)?;
        let id = format!("web_{}", &random_hex().map_err(|_| CodeRefused)?[..12]);
        let now_ms = crate::now_ms();
        let mut inner = self.lock();
        let now = Instant::now();
        inner.codes.retain(|(_, until)| *until > now);
        let at = inner
            .codes
            .iter()
            .position(|(c, _)| crate::http::constant_time_eq(c, &h))
            .ok_or(CodeRefused)?;
        inner.codes.remove(at);
        inner.sessions.retain(|e| e.record.expires_ms > now_ms);
        if inner.sessions.len() >= MAX_SESSIONS
            && let Some(oldest) = inner
                .sessions
                .iter()
                .enumerate()
                .min_by_key(|(_, e)| e.record.last_seen_ms)
                .map(|(i, _)| i)
        {
            inner.sessions.remove(oldest).revoked.cancel();
        }
        inner.sessions.push(Entry {
            record: Record {
                id: id.clone(),
                token_hash: hex(&hash(&token)),
                csrf_hash: hex(&hash(&csrf)),
                created_ms: now_ms,
                last_seen_ms: now_ms,
                expires_ms: now_ms + SESSION_TTL_MS,
                user_agent: user_agent.map(|u| u.chars().take(MAX_USER_AGENT).collect()),
                address,
            },
            revoked: CancellationToken::new(),
        });
        Ok(Redeemed { token, csrf, id })
    }

    /// The web session a cookie's token belongs to, if it is live; notes
    /// the request as its last-seen time.
    pub fn check(&self, token: &str) -> Option<Signed> {
        let h = hex(&hash(token));
        let now = crate::now_ms();
        let mut inner = self.lock();
        let e = inner.sessions.iter_mut().find(|e| {
            crate::http::constant_time_eq(e.record.token_hash.as_bytes(), h.as_bytes())
        })?;
        if e.record.expires_ms <= now {
            return None;
        }
        e.record.last_seen_ms = now;
        Some(Signed {
            id: e.record.id.clone(),
            revoked: e.revoked.clone(),
        })
    }

    /// [`Self::check`], and `csrf` is that session's CSRF key.
    pub fn check_csrf(&self, token: &str, csrf: &str) -> Option<Signed> {
        let want = {
            let h = hex(&hash(token));
            let inner = self.lock();
            inner
                .sessions
                .iter()
                .find(|e| {
                    crate::http::constant_time_eq(e.record.token_hash.as_bytes(), h.as_bytes())
                })
                .map(|e| e.record.csrf_hash.clone())?
        };
        let given = hex(&hash(csrf));
        if want.is_empty() || !crate::http::constant_time_eq(want.as_bytes(), given.as_bytes()) {
            return None;
        }
        self.check(token)
    }

    /// How many web sessions are live (for `health`).
    pub fn count(&self) -> usize {
        let now = crate::now_ms();
        self.lock()
            .sessions
            .iter()
            .filter(|e| e.record.expires_ms > now)
            .count()
    }

    /// The live web sessions, most recently seen first.
    pub fn list(&self) -> Vec<WebSessionView> {
        let now = crate::now_ms();
        let inner = self.lock();
        let mut v: Vec<WebSessionView> = inner
            .sessions
            .iter()
            .filter(|e| e.record.expires_ms > now)
            .map(|e| e.record.view())
            .collect();
        v.sort_by_key(|s| std::cmp::Reverse(s.last_seen_ms));
        v
    }

    /// Revokes the web sessions `id` names: an id, a unique prefix of
    /// one, or `all`. Returns their ids.
    ///
    /// # Errors
    /// A message when `id` names none, or (a prefix) more than one.
    pub fn revoke(&self, id: &str) -> Result<Vec<String>, RevokeError> {
        let mut inner = self.lock();
        let matching: Vec<usize> = inner
            .sessions
            .iter()
            .enumerate()
            .filter(|(_, e)| id == "all" || e.record.id.starts_with(id))
            .map(|(i, _)| i)
            .collect();
        let exact = inner.sessions.iter().position(|e| e.record.id == id);
        let chosen = match (exact, matching.len()) {
            (Some(i), _) => vec![i],
            (None, 0) => return Err(RevokeError::NotFound),
            (None, 1) => matching,
            (None, _) if id == "all" => matching,
            (None, _) => return Err(RevokeError::Ambiguous),
        };
        let mut revoked = Vec::new();
        for i in chosen.into_iter().rev() {
            let e = inner.sessions.remove(i);
            e.revoked.cancel();
            revoked.push(e.record.id);
        }
        revoked.reverse();
        Ok(revoked)
    }

    /// Writes the web sessions to their file (blocking: call on a
    /// blocking thread).
    ///
    /// # Errors
    /// The OS error, naming the file.
    pub fn save(&self) -> Result<(), String> {
        let _writing = self
            .writing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let records: Vec<Record> = self
            .lock()
            .sessions
            .iter()
            .map(|e| e.record.clone())
            .collect();
        let bytes = serde_json::to_vec_pretty(&records).map_err(|e| e.to_string())?;
        agentd_fs::write_private(&self.file, &bytes)
            .map_err(|e| format!("cannot write {}: {e}", self.file.display()))
    }
}

/// Why `revoke` named nothing.
#[derive(Debug, PartialEq, Eq)]
pub enum RevokeError {
    /// No web session has that id or prefix.
    NotFound,
    /// The prefix names more than one.
    Ambiguous,
}

/// What a redeemed sign-in code gives.
#[derive(Debug, PartialEq, Eq)]
pub struct Redeemed {
    /// The session token (the cookie's value).
    pub token: String,
    /// The CSRF key (for the page's script only).
    pub csrf: String,
    /// The web session's id.
    pub id: String,
}

fn hash(secret: &str) -> [u8; 32] {
    *blake3::hash(secret.as_bytes()).as_bytes()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn random_hex() -> Result<String, String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness: {e}"))?;
    Ok(hex(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sessions() -> (tempfile::TempDir, WebSessions) {
        let dir = tempfile::tempdir().unwrap();
        let w = WebSessions::load(dir.path().join("web-sessions.json"));
        (dir, w)
    }

    #[test]
    fn a_code_signs_in_once() {
        let (_d, w) = sessions();
        let (code, _) = w.issue_code().unwrap();
        assert_eq!(w.redeem("nope", None, None), Err(CodeRefused));
        let Redeemed { token, csrf, id } = w.redeem(&code, Some("Firefox"), None).unwrap();
        assert_eq!(w.redeem(&code, None, None), Err(CodeRefused), "spent");
        let signed = w.check(&token).unwrap();
        assert_eq!(signed.id, id);
        assert_eq!(w.check_csrf(&token, &csrf).unwrap().id, id);
        assert!(
            w.check_csrf(&token, &token).is_none(),
            "the token is not the key"
        );
        assert!(w.check_csrf(&token, "").is_none());
        assert!(
            w.check_csrf(&csrf, &csrf).is_none(),
            "the key is not a token"
        );
        assert!(w.check(&code).is_none(), "the code is not a token");
        assert!(w.check("").is_none());
        assert_eq!(w.list()[0].user_agent.as_deref(), Some("Firefox"));
    }

    #[test]
    fn revoking_cancels_and_forgets() {
        let (_d, w) = sessions();
        let mut ids = Vec::new();
        let mut tokens = Vec::new();
        for _ in 0..3 {
            let (code, _) = w.issue_code().unwrap();
            let r = w.redeem(&code, None, None).unwrap();
            tokens.push(r.token);
            ids.push(r.id);
        }
        let watch = w.check(&tokens[0]).unwrap().revoked;
        assert_eq!(w.revoke("web_"), Err(RevokeError::Ambiguous));
        assert_eq!(w.revoke("web_zz"), Err(RevokeError::NotFound));
        assert_eq!(w.revoke(&ids[0]).unwrap(), vec![ids[0].clone()]);
        assert!(watch.is_cancelled());
        assert!(w.check(&tokens[0]).is_none());
        assert_eq!(w.revoke("all").unwrap().len(), 2);
        assert!(w.list().is_empty());
    }

    #[test]
    fn sessions_survive_a_restart_but_the_file_holds_no_token() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("web-sessions.json");
        let w = WebSessions::load(file.clone());
        let (code, _) = w.issue_code().unwrap();
        let Redeemed { token, csrf, id } = w.redeem(&code, None, Some("127.0.0.1".into())).unwrap();
        w.save().unwrap();
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(!text.contains(&token) && !text.contains(&code) && !text.contains(&csrf));
        let again = WebSessions::load(file.clone());
        assert_eq!(again.check_csrf(&token, &csrf).unwrap().id, id);
        std::fs::write(&file, b"{not json").unwrap();
        assert!(
            WebSessions::load(file).list().is_empty(),
            "a bad file signs nobody in"
        );
    }

    #[test]
    fn codes_and_sessions_are_bounded() {
        let (_d, w) = sessions();
        let first = w.issue_code().unwrap().0;
        for _ in 0..MAX_CODES {
            w.issue_code().unwrap();
        }
        assert_eq!(w.redeem(&first, None, None), Err(CodeRefused), "dropped");
        for _ in 0..MAX_SESSIONS + 5 {
            let (c, _) = w.issue_code().unwrap();
            w.redeem(&c, None, None).unwrap();
        }
        assert_eq!(w.list().len(), MAX_SESSIONS);
    }
}
