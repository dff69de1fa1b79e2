//! Sessions: the registry joined with the transcript index.

use std::sync::Arc;

use agentd_proto::api::{SessionProcess, SessionView, SessionsListParams, SessionsPage};

use super::{Service, ServiceError};

/// What `sessions.list` answers: a page (`paged: true`), or every session
/// when they fit one response.
#[derive(Debug)]
pub enum SessionsListed {
    /// A page and where the next starts.
    Page(SessionsPage),
    /// The whole list.
    All(Vec<SessionView>),
}

impl Service {
    /// Sessions `p` selects: live ones from the registry, past ones from the
    /// index, a page at a time (pages after the first are slices of the list
    /// the first built, kept for [`crate::paging::CONTINUATION_TTL`]).
    ///
    /// # Errors
    /// [`ServiceError::Invalid`] when an unpaged list would not fit one
    /// response (it says how to page: the request must change, and the
    /// JSON-RPC code stays -32602 as before); [`ServiceError::Internal`].
    pub async fn sessions(&self, p: SessionsListParams) -> Result<SessionsListed, ServiceError> {
        let shared = &self.shared;
        // Pages after the first are slices of the list the first one built.
        let key = format!(
            "{:?}|{:?}|{:?}|{:?}",
            p.status, p.project, p.history, p.agent
        );
        let kept = (p.offset.unwrap_or(0) > 0)
            .then(|| shared.session_pages.get(&key))
            .flatten();
        let views = match kept {
            Some(views) => views,
            None => {
                let views = Arc::new(self.session_views(&p).await?);
                shared.session_pages.put(key, Arc::clone(&views));
                views
            }
        };
        let (fits, next_offset) = crate::paging::page(
            &views,
            p.offset.unwrap_or(0),
            p.limit,
            crate::paging::PAGE_BYTES,
        );
        let sessions = &views[fits];
        if p.paged {
            return Ok(SessionsListed::Page(SessionsPage {
                sessions: sessions.to_vec(),
                next_offset,
            }));
        }
        if let Some(next) = next_offset
            && p.limit.is_none_or(|l| sessions.len() < l)
        {
            return Err(ServiceError::invalid(format!(
                "{next} sessions fit a frame and more follow; ask with `paged: true` and go on from `next_offset` (or give a smaller `limit`)"
            )));
        }
        Ok(SessionsListed::All(sessions.to_vec()))
    }

    /// Every session `p` selects, registry and index merged, in list order.
    async fn session_views(
        &self,
        p: &SessionsListParams,
    ) -> Result<Vec<SessionView>, ServiceError> {
        let shared = &self.shared;
        let all = shared
            .registry
            .read()
            .map(|r| r.list())
            .map_err(|_| ServiceError::internal("registry lock poisoned"))?;
        let wants = |status: &str| {
            p.status
                .as_ref()
                .is_none_or(|wanted| wanted.iter().any(|w| w == status))
        };
        let in_project = |cwd: Option<&str>, project: Option<&str>| match &p.project {
            None => true,
            Some(want) => [cwd, project]
                .iter()
                .flatten()
                .any(|s| s.contains(want.as_str())),
        };
        // Sessions the registry knows are never repeated from the index, even
        // when the filters left them out.
        let registry_ids: std::collections::HashSet<String> =
            all.iter().map(|s| s.id.clone()).collect();
        let mut views: Vec<SessionView> = all
            .into_iter()
            .filter(|s| wants(s.status.as_str()))
            .filter(|s| in_project(s.cwd.as_deref(), s.project.as_deref()))
            .filter(|s| p.agent.as_ref().is_none_or(|a| *a == s.agent))
            .map(|s| self.view_of(s))
            .collect();
        if p.history.unwrap_or(true) {
            let indexed = shared
                .index
                .history(agentd_index::query::SessionFilter {
                    project: p.project.clone(),
                    agent: p.agent.clone(),
                    limit: Some(100_000),
                    ..Default::default()
                })
                .await;
            let mut by_id: std::collections::HashMap<String, usize> = views
                .iter()
                .enumerate()
                .map(|(i, v)| (v.session.id.clone(), i))
                .collect();
            for s in indexed {
                let history = agentd_proto::api::SessionHistory {
                    title: s.title.clone(),
                    first_prompt: s.first_prompt.clone(),
                    models: s.models.clone(),
                    user_messages: s.user_messages,
                    assistant_messages: s.assistant_messages,
                    total_tokens: s.total_tokens,
                    subagents: s.subagents.clone(),
                };
                if let Some(&i) = by_id.get(&s.id) {
                    // A session whose status line never ran (headless) has its
                    // model only in the transcript.
                    if views[i].session.model.is_none() {
                        views[i].session.model = s.models.last().cloned();
                    }
                    views[i].history = Some(history);
                    continue;
                }
                if registry_ids.contains(&s.id) {
                    continue;
                }
                if !wants("ended") {
                    continue;
                }
                let first = s.first_ms.unwrap_or(0);
                let mut session = agentd_core::Session::new(s.id.clone(), &s.agent, first);
                session.status = agentd_core::Status::Ended;
                session.status_since_ms = s.last_ms.unwrap_or(first);
                session.last_event_ms = s.last_ms.unwrap_or(first);
                session.cwd = s.cwd.clone();
                session.project = s.cwd.clone().or(s.project_folder.clone());
                session.git_branch = s.git_branch.clone();
                session.model = s.models.last().cloned();
                session.prompts = s.user_messages;
                session.end_reason = Some("transcript".to_owned());
                let mut view = SessionView::new(session);
                view.live = false;
                view.history = Some(history);
                by_id.insert(s.id, views.len());
                views.push(view);
            }
        }
        Ok(views)
    }

    /// Finds a session by id or unique id prefix.
    ///
    /// # Errors
    /// [`ServiceError::NotFound`], or [`ServiceError::Ambiguous`] for a prefix of several.
    pub fn session(&self, id: &str) -> Result<SessionView, ServiceError> {
        let shared = &self.shared;
        let registry = shared
            .registry
            .read()
            .map_err(|_| ServiceError::internal("registry lock poisoned"))?;
        if let Some(s) = registry.get(id) {
            return Ok(self.view_of(s.clone()));
        }
        let matches: Vec<_> = if id.is_empty() {
            Vec::new()
        } else {
            registry.iter().filter(|s| s.id.starts_with(id)).collect()
        };
        match matches.as_slice() {
            [one] => Ok(self.view_of((*one).clone())),
            [] => Err(ServiceError::not_found(format!(
                "no session `{id}`; `agentd ls` lists the known sessions"
            ))),
            many => Err(ServiceError::ambiguous(format!(
                "`{id}` matches {} sessions; give more of the id",
                many.len()
            ))),
        }
    }

    /// A `session_id` filter as a client gave it: a unique prefix of a known
    /// session becomes its id (as for `sessions.get`); anything else stays as
    /// it is (and simply matches nothing).
    ///
    /// # Errors
    /// [`ServiceError::Ambiguous`] for a prefix of several sessions.
    pub fn session_filter(&self, id: Option<String>) -> Result<Option<String>, ServiceError> {
        match id {
            None => Ok(None),
            Some(id) => match self.session(&id) {
                Ok(v) => Ok(Some(v.session.id)),
                Err(ServiceError::NotFound(_)) => Ok(Some(id)),
                Err(e) => Err(e),
            },
        }
    }
}

impl Service {
    /// Every live session's process figures (CPU %, RSS bytes), as last
    /// sampled (every 2 s), ordered by session id.
    pub fn processes(&self) -> Vec<SessionProcess> {
        self.shared.monitor.all()
    }

    /// The process figures as they change: the current ones at once, then
    /// each sample that changes what they show (CPU to the whole %, memory
    /// to the MiB); nothing while nothing changes. Ends at shutdown.
    pub fn process_stream(
        &self,
    ) -> impl futures_util::Stream<Item = Vec<SessionProcess>> + Send + 'static {
        let rx = self.shared.monitor.watch();
        let stop = self.shared.shutdown.clone();
        futures_util::stream::unfold((rx, stop, true), |(mut rx, stop, first)| async move {
            if !first {
                tokio::select! {
                    _ = stop.cancelled() => return None,
                    changed = rx.changed() => changed.ok()?,
                }
            }
            let now: Vec<SessionProcess> = rx
                .borrow_and_update()
                .iter()
                .map(|(id, p)| SessionProcess {
                    session_id: id.clone(),
                    process: p.clone(),
                })
                .collect();
            Some((now, (rx, stop, false)))
        })
    }

    /// A registry session as clients see it, with its processes' cost.
    fn view_of(&self, s: agentd_core::Session) -> SessionView {
        let process = self.shared.monitor.stats(&s.id);
        SessionView {
            process,
            ..SessionView::new(s)
        }
    }

    /// The live session whose `cwd` is `cwd`: the one with the latest event
    /// when several run there.
    ///
    /// # Errors
    /// [`ServiceError::NotFound`] when no live session runs there.
    pub fn active_session(&self, cwd: &str) -> Result<SessionView, ServiceError> {
        let registry = self
            .shared
            .registry
            .read()
            .map_err(|_| ServiceError::internal("registry lock poisoned"))?;
        registry
            .list()
            .into_iter()
            .filter(|s| s.status != agentd_core::Status::Ended && s.cwd.as_deref() == Some(cwd))
            .max_by_key(|s| (s.last_event_ms, s.last_seq))
            .map(|s| self.view_of(s))
            .ok_or_else(|| {
                ServiceError::not_found(format!(
                    "no live session runs in {cwd}; `agentd ls` lists the live ones"
                ))
            })
    }
}
