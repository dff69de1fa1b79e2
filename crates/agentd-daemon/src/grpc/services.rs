//! The `agentd.v1` services: each method one [`Service`] call.

use std::pin::Pin;

use futures_util::{Stream, StreamExt};
use tonic::{Request, Response, Status};

use agentd_proto::api::{
    ApprovalView, ApprovalsListParams, DecideParams, SessionsListParams, SubscribeParams,
};

use super::{pb, status_of};
use crate::service::{Service, ServiceError, SessionsListed};

/// The services over one [`Service`] handle.
#[derive(Clone)]
pub struct Services {
    pub service: Service,
}

/// A server stream of `T`.
type Streamed<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

fn events(service: &Service, p: SubscribeParams) -> Result<Streamed<pb::Event>, Status> {
    let stream = service.event_stream(p).map_err(status_of)?;
    Ok(Box::pin(stream.map(|e| {
        Ok(pb::Event::from(std::sync::Arc::unwrap_or_clone(e)))
    })))
}

#[tonic::async_trait]
impl pb::coordinator_service_server::CoordinatorService for Services {
    async fn health(
        &self,
        _: Request<pb::HealthRequest>,
    ) -> Result<Response<pb::HealthResponse>, Status> {
        Ok(Response::new(self.service.health().into()))
    }

    async fn status(
        &self,
        _: Request<pb::StatusRequest>,
    ) -> Result<Response<pb::StatusResponse>, Status> {
        let index = self.service.index_status(false).await;
        Ok(Response::new(pb::StatusResponse {
            sessions_by_status: self.service.sessions_by_status().into_iter().collect(),
            index_state: index.state,
            head_seq: self.service.health().head_seq,
        }))
    }

    async fn shutdown(
        &self,
        _: Request<pb::ShutdownRequest>,
    ) -> Result<Response<pb::ShutdownResponse>, Status> {
        // Answer first, then stop.
        let service = self.service.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            service.shutdown();
        });
        Ok(Response::new(pb::ShutdownResponse {}))
    }
}

#[tonic::async_trait]
impl pb::session_service_server::SessionService for Services {
    async fn get(
        &self,
        req: Request<pb::GetSessionRequest>,
    ) -> Result<Response<pb::Session>, Status> {
        let s = self
            .service
            .session(&req.into_inner().id)
            .map_err(status_of)?;
        Ok(Response::new(s.into()))
    }

    async fn get_active(
        &self,
        req: Request<pb::GetActiveRequest>,
    ) -> Result<Response<pb::Session>, Status> {
        let s = self
            .service
            .active_session(&req.into_inner().cwd)
            .map_err(status_of)?;
        Ok(Response::new(s.into()))
    }

    async fn list(
        &self,
        req: Request<pb::ListSessionsRequest>,
    ) -> Result<Response<pb::ListSessionsResponse>, Status> {
        let r = req.into_inner();
        let p = SessionsListParams {
            status: (!r.status.is_empty()).then_some(r.status),
            project: r.project,
            agent: r.agent,
            history: r.history,
            offset: Some(r.offset as usize),
            limit: r.limit.map(|l| l as usize),
            paged: true,
        };
        let (sessions, next) = match self.service.sessions(p).await.map_err(status_of)? {
            SessionsListed::Page(page) => (page.sessions, page.next_offset),
            SessionsListed::All(all) => (all, None),
        };
        Ok(Response::new(pb::ListSessionsResponse {
            sessions: sessions.into_iter().map(pb::Session::from).collect(),
            next_offset: next.map(|n| n as u64),
        }))
    }

    type WatchEventsStream = Streamed<pb::Event>;

    async fn watch_events(
        &self,
        req: Request<pb::WatchEventsRequest>,
    ) -> Result<Response<Self::WatchEventsStream>, Status> {
        let r = req.into_inner();
        let p = SubscribeParams {
            after_seq: r.after_seq,
            session_id: r.session_id,
            kinds: (!r.kinds.is_empty()).then_some(r.kinds),
        };
        Ok(Response::new(events(&self.service, p)?))
    }

    type WatchProcessesStream = Streamed<pb::ProcessSample>;

    async fn watch_processes(
        &self,
        _: Request<pb::WatchProcessesRequest>,
    ) -> Result<Response<Self::WatchProcessesStream>, Status> {
        Ok(Response::new(Box::pin(
            self.service
                .process_stream()
                .map(|all| Ok(pb::ProcessSample::from(all))),
        )))
    }
}

#[tonic::async_trait]
impl pb::approval_service_server::ApprovalService for Services {
    async fn list(
        &self,
        req: Request<pb::ListApprovalsRequest>,
    ) -> Result<Response<pb::ListApprovalsResponse>, Status> {
        let r = req.into_inner();
        let list = self
            .service
            .approvals(ApprovalsListParams {
                all: r.all,
                session_id: r.session_id,
                limit: r.limit.map(|l| l as usize),
            })
            .await
            .map_err(status_of)?;
        Ok(Response::new(pb::ListApprovalsResponse {
            approvals: list.into_iter().map(pb::Approval::from).collect(),
        }))
    }

    async fn get(
        &self,
        req: Request<pb::GetApprovalRequest>,
    ) -> Result<Response<pb::Approval>, Status> {
        let a = self
            .service
            .approval(&req.into_inner().id)
            .await
            .map_err(status_of)?;
        Ok(Response::new(ApprovalView::new(a).into()))
    }

    async fn decide(
        &self,
        req: Request<pb::DecideRequest>,
    ) -> Result<Response<pb::Approval>, Status> {
        let r = req.into_inner();
        let decision = super::decision_of(&r)?;
        let view = self
            .service
            .decide(
                DecideParams {
                    id: r.id,
                    decision,
                    apply_suggestions: r.always,
                    by: r.by,
                    reason: r.reason,
                },
                "grpc",
            )
            .await
            .map_err(status_of)?;
        Ok(Response::new(view.into()))
    }

    type WatchStream = Streamed<pb::Event>;

    async fn watch(
        &self,
        req: Request<pb::WatchApprovalsRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let p = SubscribeParams {
            after_seq: req.into_inner().after_seq,
            session_id: None,
            kinds: Some(vec![
                "approval.requested".to_owned(),
                "approval.resolved".to_owned(),
            ]),
        };
        Ok(Response::new(events(&self.service, p)?))
    }
}

#[tonic::async_trait]
impl pb::indexer_service_server::IndexerService for Services {
    async fn trigger_scan(
        &self,
        _: Request<pb::TriggerScanRequest>,
    ) -> Result<Response<pb::TriggerScanResponse>, Status> {
        self.service.index_rescan().map_err(status_of)?;
        Ok(Response::new(pb::TriggerScanResponse {}))
    }

    async fn status(
        &self,
        _: Request<pb::IndexStatusRequest>,
    ) -> Result<Response<pb::IndexStatusResponse>, Status> {
        let s = self.service.index_status(true).await;
        Ok(Response::new(pb::IndexStatusResponse {
            state: s.state,
            roots: s.roots,
            files: s.counts.files,
            sessions: s.counts.sessions,
            messages: s.counts.messages,
            usage_records: s.counts.usage_records,
            errors: s.errors,
            last_error: s.last_error,
        }))
    }
}

#[tonic::async_trait]
impl pb::hook_service_server::HookService for Services {
    type ExecuteHooksStream = Streamed<pb::HookOutput>;

    async fn execute_hooks(
        &self,
        req: Request<pb::ExecuteHooksRequest>,
    ) -> Result<Response<Self::ExecuteHooksStream>, Status> {
        use pb::hook_output::{Completed, Line, Output};
        let r = req.into_inner();
        let payload = match r.payload_json.as_deref() {
            None => None,
            Some(text) => Some(serde_json::from_str(text).map_err(|e| {
                status_of(ServiceError::invalid(format!(
                    "payload_json is not JSON: {e}"
                )))
            })?),
        };
        let hold = self
            .service
            .execute_hooks(agentd_proto::api::HooksExecuteParams {
                event: r.event,
                payload,
                session_id: r.session_id,
                cwd: Some(r.cwd),
                dir: None,
                hooks: r.hooks,
                no_cache: r.no_cache,
            })
            .await
            .map_err(status_of)?;
        // Lines as they come, then the runs; a slow client holds the
        // runner's lines in this channel, never the runner.
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<pb::HookOutput, Status>>(1024);
        tokio::spawn(async move {
            let mut lines = hold.stream;
            let mut reply = hold.reply;
            let out = |o: Output| Ok(pb::HookOutput { output: Some(o) });
            let line = |l: agentd_hooks::OutputLine| {
                out(Output::Line(Line {
                    hook: l.hook,
                    dir: l.dir,
                    stream: l.stream.as_str().to_owned(),
                    text: l.line,
                }))
            };
            let result = loop {
                tokio::select! {
                    Some(l) = async {
                        match lines.as_mut() {
                            Some(rx) => rx.recv().await,
                            None => std::future::pending().await,
                        }
                    } => {
                        if tx.send(line(l)).await.is_err() {
                            return;
                        }
                    }
                    result = &mut reply => break result,
                }
            };
            // Lines still queued belong before the result.
            if let Some(rx) = lines.as_mut() {
                while let Ok(l) = rx.try_recv() {
                    if tx.send(line(l)).await.is_err() {
                        return;
                    }
                }
            }
            match result {
                Ok(v) => {
                    for run in v["runs"].as_array().into_iter().flatten() {
                        let text = |k: &str| run[k].as_str().unwrap_or_default().to_owned();
                        let done = Completed {
                            hook: text("hook"),
                            dir: text("dir"),
                            exit_code: run["exit_code"].as_i64().map(|c| c as i32),
                            outcome: text("outcome"),
                        };
                        if tx.send(out(Output::Completed(done))).await.is_err() {
                            return;
                        }
                    }
                }
                Err(e) => {
                    let _ = tx.send(out(Output::Error(e.message().to_owned()))).await;
                }
            }
        });
        let stream =
            futures_util::stream::unfold(
                rx,
                |mut rx| async move { rx.recv().await.map(|m| (m, rx)) },
            );
        Ok(Response::new(Box::pin(stream)))
    }

    async fn record_execution(
        &self,
        req: Request<pb::RecordExecutionRequest>,
    ) -> Result<Response<pb::HookRun>, Status> {
        let r = req.into_inner();
        let rec = self
            .service
            .record_hook_execution(agentd_proto::api::RecordExecutionParams {
                hook: r.hook,
                dir: r.dir,
                event: r.event,
                session_id: r.session_id,
                exit_code: r.exit_code,
                duration_ms: r.duration_ms,
                outcome: r.outcome,
                passed: r.passed,
                output: r.output,
            })
            .await
            .map_err(status_of)?;
        Ok(Response::new(rec.into()))
    }

    async fn check_file_validation(
        &self,
        req: Request<pb::FileValidationRequest>,
    ) -> Result<Response<pb::FileValidation>, Status> {
        let v = self
            .service
            .check_file_validation(validation_params(req.into_inner()))
            .await
            .map_err(status_of)?;
        Ok(Response::new(v.into()))
    }

    async fn record_file_validation(
        &self,
        req: Request<pb::FileValidationRequest>,
    ) -> Result<Response<pb::FileValidation>, Status> {
        let v = self
            .service
            .record_file_validation(validation_params(req.into_inner()))
            .await
            .map_err(status_of)?;
        Ok(Response::new(v.into()))
    }

    async fn get_pending_hooks(
        &self,
        req: Request<pb::GetPendingHooksRequest>,
    ) -> Result<Response<pb::GetPendingHooksResponse>, Status> {
        let runs = self
            .service
            .pending_hooks(agentd_proto::api::HooksPendingParams {
                session_id: req.into_inner().session_id,
            })
            .into_iter()
            .map(|r| pb::PendingHook {
                run_id: r.run_id,
                hook: r.hook,
                dir: r.dir,
                session_id: r.session_id,
                event: r.event,
                started_ms: r.started_ms,
            })
            .collect();
        Ok(Response::new(pb::GetPendingHooksResponse { runs }))
    }
}

fn validation_params(r: pb::FileValidationRequest) -> agentd_proto::api::FileValidationParams {
    agentd_proto::api::FileValidationParams {
        hook: r.hook,
        dir: r.dir,
        globs: r.globs,
        command: r.command,
        files_hash: r.files_hash,
    }
}

fn slot(s: agentd_proto::api::Slot) -> pb::Slot {
    pb::Slot {
        id: s.id,
        holder: s.holder,
        session_id: s.session_id,
        project: s.project,
        acquired_ms: s.acquired_ms,
        expires_ms: s.expires_ms,
    }
}

#[tonic::async_trait]
impl pb::slot_service_server::SlotService for Services {
    async fn acquire(
        &self,
        req: Request<pb::AcquireSlotRequest>,
    ) -> Result<Response<pb::Slot>, Status> {
        let r = req.into_inner();
        let s = self
            .service
            .acquire_slot(
                agentd_proto::api::SlotRequest {
                    holder: r.holder,
                    session_id: r.session_id,
                    project: r.project,
                    ttl_s: r.ttl_s,
                },
                std::time::Duration::from_millis(r.wait_ms),
            )
            .await
            .map_err(status_of)?;
        Ok(Response::new(slot(s)))
    }

    async fn release(
        &self,
        req: Request<pb::ReleaseSlotRequest>,
    ) -> Result<Response<pb::Slot>, Status> {
        let s = self
            .service
            .release_slot(&req.into_inner().id)
            .map_err(status_of)?;
        Ok(Response::new(slot(s)))
    }

    async fn list(
        &self,
        _: Request<pb::ListSlotsRequest>,
    ) -> Result<Response<pb::ListSlotsResponse>, Status> {
        Ok(Response::new(pb::ListSlotsResponse {
            slots: self.service.slots().into_iter().map(slot).collect(),
        }))
    }
}

fn document(d: agentd_proto::history::Document) -> pb::Document {
    pb::Document {
        id: d.id,
        title: d.title,
        text: d.text,
        source: d.source,
        tags: d.tags,
        project: d.project,
        session_id: d.session_id,
        created_ms: d.created_ms,
    }
}

#[tonic::async_trait]
impl pb::memory_service_server::MemoryService for Services {
    async fn search(
        &self,
        req: Request<pb::SearchRequest>,
    ) -> Result<Response<pb::SearchResponse>, Status> {
        let r = req.into_inner();
        let hits = self
            .service
            .search(agentd_proto::history::SearchQuery {
                query: r.query,
                project: r.project,
                session_id: r.session_id,
                since_ms: None,
                until_ms: None,
                limit: r.limit.map(|l| l as usize),
                offset: r.offset.map(|o| o as usize),
            })
            .await
            .map_err(status_of)?;
        Ok(Response::new(pb::SearchResponse {
            hits: hits
                .into_iter()
                .map(|h| pb::SearchHit {
                    kind: h.kind,
                    session_id: h.session_id,
                    document_id: h.document_id,
                    title: h.title,
                    role: h.role,
                    ts_ms: h.ts_ms,
                    project: h.project,
                    snippet: h.snippet,
                    score: h.score,
                    uuid: h.uuid,
                })
                .collect(),
        }))
    }

    async fn index_document(
        &self,
        req: Request<pb::IndexDocumentRequest>,
    ) -> Result<Response<pb::Document>, Status> {
        let r = req.into_inner();
        let d = self
            .service
            .index_document(agentd_proto::history::IndexDocumentParams {
                title: r.title,
                text: r.text,
                source: r.source,
                tags: r.tags,
                project: r.project,
                session_id: r.session_id,
            })
            .await
            .map_err(status_of)?;
        Ok(Response::new(document(d)))
    }
}

fn plugin(p: agentd_proto::api::PluginView) -> pb::Plugin {
    pb::Plugin {
        name: p.name,
        version: p.version,
        state: p.state,
        reason: p.reason,
        tools: p.tools,
        events: p.events,
        capabilities: p.capabilities,
        granted: p.granted,
        calls: p.calls,
        errors: p.errors,
        mean_us: p.mean_us,
        hash: p.hash,
        loaded_ms: p.loaded_ms,
    }
}

#[tonic::async_trait]
impl pb::plugin_service_server::PluginService for Services {
    async fn list(
        &self,
        _: Request<pb::ListPluginsRequest>,
    ) -> Result<Response<pb::ListPluginsResponse>, Status> {
        let list = self.service.plugins().map_err(status_of)?;
        Ok(Response::new(pb::ListPluginsResponse {
            plugins: list.into_iter().map(plugin).collect(),
        }))
    }

    async fn reload(
        &self,
        _: Request<pb::ReloadPluginsRequest>,
    ) -> Result<Response<pb::ListPluginsResponse>, Status> {
        let list = self.service.reload_plugins().await.map_err(status_of)?;
        Ok(Response::new(pb::ListPluginsResponse {
            plugins: list.into_iter().map(plugin).collect(),
        }))
    }

    async fn set_enabled(
        &self,
        req: Request<pb::SetPluginEnabledRequest>,
    ) -> Result<Response<pb::Plugin>, Status> {
        let r = req.into_inner();
        let p = self
            .service
            .set_plugin_enabled(&r.name, r.enabled)
            .await
            .map_err(status_of)?;
        Ok(Response::new(plugin(p)))
    }

    async fn logs(
        &self,
        req: Request<pb::PluginLogsRequest>,
    ) -> Result<Response<pb::PluginLogsResponse>, Status> {
        let lines = self
            .service
            .plugin_logs(&req.into_inner().name)
            .map_err(status_of)?;
        Ok(Response::new(pb::PluginLogsResponse {
            lines: lines
                .into_iter()
                .map(|l| pb::PluginLogLine {
                    ts_ms: l.ts_ms,
                    level: l.level,
                    text: l.text,
                })
                .collect(),
        }))
    }

    async fn test_rules(
        &self,
        req: Request<pb::TestRulesRequest>,
    ) -> Result<Response<pb::TestRulesResponse>, Status> {
        let r = req.into_inner();
        let input = if r.input_json.trim().is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(&r.input_json)
                .map_err(|e| Status::invalid_argument(format!("input_json is not JSON: {e}")))?
        };
        let t = self
            .service
            .rules_test(agentd_proto::api::RulesTestParams {
                tool: r.tool,
                input,
                cwd: r.cwd,
            })
            .await
            .map_err(status_of)?;
        Ok(Response::new(pb::TestRulesResponse {
            decision: t.decision,
            why: t.why,
            plugins: t
                .plugins
                .into_iter()
                .map(|v| pb::PluginVerdict {
                    plugin: v.plugin,
                    decision: v.decision,
                    message: v.message,
                    failure: v.failure,
                })
                .collect(),
        }))
    }
}
