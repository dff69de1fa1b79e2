//! HQ's gRPC face (package `agentd.hq.v1`, `proto/agentd/hq/v1/hq.proto`)
//! on HQ's HTTP port beside the JSON and GraphQL faces. Each method
//! authenticates the user token in the `authorization` metadata, makes one
//! [`HqService`] call (which checks the role) and encodes the answer with
//! the runner's own `agentd.v1` messages; [`status_of`] is the one place an
//! [`HqError`] becomes a `tonic::Status`. Server reflection (`v1`,
//! `v1alpha`) stays open, as the daemon's does.

use std::pin::Pin;

use agentd_daemon::grpc::pb as runner_pb;
use futures_util::{Stream, StreamExt};
use tonic::{Request, Response, Status};

use crate::service::{Caller, HqError, HqService};
use crate::token::Role;

/// The generated code.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod pb {
    tonic::include_proto!("agentd.hq.v1");
}

/// The descriptor set of `agentd.hq.v1` (and `agentd.v1`), for reflection.
const DESCRIPTOR: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/hq_descriptor.bin"));

/// The one place an HQ error becomes a gRPC status.
pub fn status_of(e: HqError) -> Status {
    use tonic::Code;
    let code = match &e {
        HqError::Unauthenticated(_) => Code::Unauthenticated,
        HqError::Forbidden(_) => Code::PermissionDenied,
        HqError::Invalid(_) => Code::InvalidArgument,
        HqError::NotFound(_) => Code::NotFound,
        HqError::Conflict(_) => Code::AlreadyExists,
        HqError::Gone(_) => Code::FailedPrecondition,
        HqError::Unavailable(_) | HqError::Store(_) => Code::Unavailable,
    };
    Status::new(code, e.to_string())
}

#[derive(Clone)]
struct Hq(HqService);

impl Hq {
    async fn caller<T>(&self, req: &Request<T>) -> Result<Caller, Status> {
        let token = req
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| t.trim().to_owned());
        self.0.authenticate(token).await.map_err(status_of)
    }
}

fn peer<T>(req: &Request<T>) -> Option<String> {
    req.remote_addr().map(|a| a.to_string())
}

type Streamed<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl pb::hq_service_server::HqService for Hq {
    async fn status(
        &self,
        req: Request<pb::StatusRequest>,
    ) -> Result<Response<pb::StatusResponse>, Status> {
        let caller = self.caller(&req).await?;
        HqService::require(&caller, Role::Viewer).map_err(status_of)?;
        let s = self.0.status().await.map_err(status_of)?;
        Ok(Response::new(pb::StatusResponse {
            version: s.version,
            runners: s.runners as u64,
            online: s.online as u64,
            sessions: s.sessions as u64,
            events: s.events,
        }))
    }

    async fn list_runners(
        &self,
        req: Request<pb::ListRunnersRequest>,
    ) -> Result<Response<pb::ListRunnersResponse>, Status> {
        let caller = self.caller(&req).await?;
        HqService::require(&caller, Role::Viewer).map_err(status_of)?;
        let runners = self.0.runners().await.map_err(status_of)?;
        Ok(Response::new(pb::ListRunnersResponse {
            runners: runners
                .into_iter()
                .map(|r| pb::Runner {
                    name: r.name,
                    online: r.online,
                    version: r.version,
                    os: r.os,
                    labels: r.labels,
                    peer: r.peer,
                    connected_ms: r.connected_ms,
                    last_seen_ms: r.last_seen_ms,
                    acked_seq: r.acked_seq,
                    events: r.events,
                    sessions: r.sessions as u64,
                })
                .collect(),
        }))
    }

    async fn list_sessions(
        &self,
        req: Request<pb::ListSessionsRequest>,
    ) -> Result<Response<pb::ListSessionsResponse>, Status> {
        let caller = self.caller(&req).await?;
        HqService::require(&caller, Role::Viewer).map_err(status_of)?;
        Ok(Response::new(pb::ListSessionsResponse {
            sessions: self
                .0
                .sessions()
                .into_iter()
                .map(|s| pb::RunnerSession {
                    runner: s.runner,
                    session: Some(runner_pb::Session::from(s.session)),
                })
                .collect(),
        }))
    }

    async fn list_approvals(
        &self,
        req: Request<pb::ListApprovalsRequest>,
    ) -> Result<Response<pb::ListApprovalsResponse>, Status> {
        let caller = self.caller(&req).await?;
        HqService::require(&caller, Role::Viewer).map_err(status_of)?;
        Ok(Response::new(pb::ListApprovalsResponse {
            approvals: self
                .0
                .approvals(req.get_ref().all)
                .into_iter()
                .map(|a| pb::RunnerApproval {
                    runner: a.runner,
                    approval: Some(runner_pb::Approval::from(a.approval)),
                })
                .collect(),
        }))
    }

    async fn decide(
        &self,
        req: Request<runner_pb::DecideRequest>,
    ) -> Result<Response<pb::RunnerApproval>, Status> {
        let caller = self.caller(&req).await?;
        let peer = peer(&req);
        let r = req.into_inner();
        let decision = agentd_daemon::grpc::decision_of(&r)?;
        let body = agentd_proto::hq::DecisionBody {
            decision,
            apply_suggestions: r.always,
            reason: r.reason,
        };
        let a = self
            .0
            .decide(&caller, peer, &r.id, body)
            .await
            .map_err(status_of)?;
        Ok(Response::new(pb::RunnerApproval {
            runner: a.runner,
            approval: Some(runner_pb::Approval::from(a.approval)),
        }))
    }

    async fn launch(
        &self,
        req: Request<pb::LaunchRequest>,
    ) -> Result<Response<pb::LaunchResponse>, Status> {
        let caller = self.caller(&req).await?;
        let peer = peer(&req);
        let r = req.into_inner();
        let params = agentd_proto::api::LaunchParams {
            cwd: r.cwd,
            model: r.model,
            permission_mode: r.permission_mode,
            name: r.name,
            prompt: r.prompt,
        };
        let l = self
            .0
            .launch(&caller, peer, &r.runner, params)
            .await
            .map_err(status_of)?;
        Ok(Response::new(pb::LaunchResponse {
            runner: l.runner,
            session_id: l.launched.session_id.clone(),
            launched_json: serde_json::to_string(&l.launched).unwrap_or_default(),
        }))
    }

    async fn usage(
        &self,
        req: Request<pb::UsageRequest>,
    ) -> Result<Response<pb::UsageResponse>, Status> {
        let caller = self.caller(&req).await?;
        let r = req.into_inner();
        let group = if r.group_by.is_empty() {
            "daily".to_owned()
        } else {
            r.group_by
        };
        let group_by =
            serde_json::from_value(serde_json::Value::String(group.clone())).map_err(|_| {
                Status::invalid_argument(format!(
                    "group_by {group:?}: use daily, monthly, session, project or model"
                ))
            })?;
        let q = agentd_proto::history::UsageQuery {
            group_by,
            since: r.since,
            until: r.until,
            timezone: r.timezone,
            session_id: None,
        };
        let u = self.0.usage(&caller, q).await.map_err(status_of)?;
        Ok(Response::new(pb::UsageResponse {
            rows: u.rows.into_iter().map(usage_row).collect(),
            totals: Some(usage_row(u.totals)),
            timezone: u.timezone,
            runners: u
                .runners
                .into_iter()
                .map(|r| pb::RunnerUsage {
                    runner: r.runner,
                    totals: r.totals.map(usage_row),
                    error: r.error,
                })
                .collect(),
        }))
    }

    async fn steer(
        &self,
        req: Request<pb::SteerRequest>,
    ) -> Result<Response<pb::SteerResponse>, Status> {
        use pb::steer_request::Action;
        let caller = self.caller(&req).await?;
        let peer = peer(&req);
        let r = req.into_inner();
        let what = match (Action::try_from(r.action), r.message) {
            (Ok(Action::Send), Some(m)) if !m.is_empty() => crate::steer::Steer::Send(m),
            (Ok(Action::Send), _) => {
                return Err(Status::invalid_argument("ACTION_SEND needs a `message`"));
            }
            (Ok(Action::Interrupt), _) => crate::steer::Steer::Interrupt,
            (Ok(Action::Kill), _) => crate::steer::Steer::Kill,
            _ => {
                return Err(Status::invalid_argument(
                    "action must be ACTION_SEND, ACTION_INTERRUPT or ACTION_KILL",
                ));
            }
        };
        let s = self
            .0
            .steer(&caller, peer, &r.session, what)
            .await
            .map_err(status_of)?;
        Ok(Response::new(pb::SteerResponse {
            runner: s.runner,
            result_json: s.result.to_string(),
        }))
    }

    type WatchEventsStream = Streamed<pb::RunnerEvent>;

    async fn watch_events(
        &self,
        req: Request<pb::WatchEventsRequest>,
    ) -> Result<Response<Self::WatchEventsStream>, Status> {
        let caller = self.caller(&req).await?;
        HqService::require(&caller, Role::Viewer).map_err(status_of)?;
        let feed = crate::feed::EventFeed::new(self.0.clone(), None, None);
        let stream = futures_util::stream::unfold(feed, |mut feed| async move {
            let item = feed.next().await?;
            let item = item
                .map(|e| pb::RunnerEvent {
                    runner: e.runner.clone(),
                    event: Some(runner_pb::Event::from((*e.record).clone())),
                })
                .map_err(status_of);
            Some((item, feed))
        });
        Ok(Response::new(stream.boxed()))
    }
}

fn usage_row(r: agentd_proto::history::UsageRow) -> pb::UsageRow {
    pb::UsageRow {
        period: r.period,
        input_tokens: r.input_tokens,
        output_tokens: r.output_tokens,
        cache_creation_tokens: r.cache_creation_tokens,
        cache_read_tokens: r.cache_read_tokens,
        total_tokens: r.total_tokens,
        cost_usd: r.cost_usd,
        models: r.models,
        unpriced_models: r.unpriced_models,
    }
}

/// HQ's gRPC service and reflection as an axum router, to merge beside the
/// HTTP routes.
pub fn router(hq: HqService) -> axum::Router {
    let mut routes =
        tonic::service::Routes::new(pb::hq_service_server::HqServiceServer::new(Hq(hq)));
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(DESCRIPTOR)
        .build_v1();
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(DESCRIPTOR)
        .build_v1alpha();
    match (reflection_v1, reflection_v1alpha) {
        (Ok(v1), Ok(v1alpha)) => routes = routes.add_service(v1).add_service(v1alpha),
        (Err(e), _) | (_, Err(e)) => {
            tracing::error!(error = %e, "gRPC reflection is off: the descriptor set did not load");
        }
    }
    routes.prepare().into_axum_router()
}
