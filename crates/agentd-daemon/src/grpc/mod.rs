//! The gRPC face (package `agentd.v1`, `proto/agentd/v1/agentd.proto`) on
//! the daemon's HTTP port: h2c on loopback, beside HTTP/1.1 on the same
//! listener. Each method decodes its request, makes one [`Service`] call
//! and encodes the answer ([`convert`]); [`status_of`] is the one place a
//! [`ServiceError`] becomes a `tonic::Status`. Every service needs the
//! bearer token in the `authorization` metadata; `grpc.health.v1.Health`
//! and server reflection (`v1` and `v1alpha`, for grpcurl 1.8) stay open.
//!
//! Not yet (issue #10): the hook
//! cache's `RecordExecution`, `CheckFileValidation`,
//! `RecordFileValidation`, `GetPendingHooks`.

mod convert;
mod services;

use std::sync::Arc;

use crate::service::{Service, ServiceError};

/// The generated code.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod pb {
    tonic::include_proto!("agentd.v1");
}

/// The descriptor set of `agentd.v1`, for reflection.
const DESCRIPTOR: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/agentd_descriptor.bin"));

/// The one place a service error becomes a gRPC status.
pub fn status_of(e: ServiceError) -> tonic::Status {
    use tonic::Code;
    let code = match &e {
        ServiceError::NotFound(_) => Code::NotFound,
        ServiceError::Ambiguous(_) | ServiceError::Invalid(_) => Code::InvalidArgument,
        ServiceError::Conflict(_) => Code::AlreadyExists,
        ServiceError::Gone(_) => Code::FailedPrecondition,
        ServiceError::ShuttingDown(_) => Code::Unavailable,
        ServiceError::Overloaded(_) => Code::ResourceExhausted,
        ServiceError::TooLarge(_) => Code::OutOfRange,
        ServiceError::Store(_) => Code::Unavailable,
        ServiceError::Internal(_) => Code::Internal,
    };
    tonic::Status::new(code, e.message())
}

/// The decision a `DecideRequest` asks for (HQ's gRPC face decodes it the
/// same way).
///
/// # Errors
/// `INVALID_ARGUMENT` naming what is wrong.
pub fn decision_of(r: &pb::DecideRequest) -> Result<agentd_core::Decision, tonic::Status> {
    use agentd_core::Decision;
    use pb::decide_request::Behavior;
    let invalid = |m: &str| status_of(ServiceError::invalid(m));
    Ok(match Behavior::try_from(r.behavior) {
        Ok(Behavior::Allow) => Decision::Allow {
            updated_input: match r.updated_input_json.as_deref() {
                None => None,
                Some(text) => match serde_json::from_str::<serde_json::Value>(text) {
                    Ok(v) if v.is_object() => Some(v),
                    _ => return Err(invalid("updated_input_json must be a JSON object")),
                },
            },
            updated_permissions: None,
        },
        Ok(Behavior::Deny) => Decision::Deny {
            message: r.message.clone(),
        },
        Ok(Behavior::Answer) => Decision::Answer {
            text: r
                .text
                .clone()
                .ok_or_else(|| invalid("an ANSWER decision needs `text`"))?,
        },
        _ => {
            return Err(invalid(
                "behavior must be BEHAVIOR_ALLOW, BEHAVIOR_DENY or BEHAVIOR_ANSWER",
            ));
        }
    })
}

/// Checks the bearer token of every call: UNAUTHENTICATED, and nothing
/// runs, without it.
#[derive(Clone)]
struct Token(Arc<str>);

impl tonic::service::Interceptor for Token {
    fn call(&mut self, req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        let given = req
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        match given {
            Some(t) if crate::http::constant_time_eq(t.as_bytes(), self.0.as_bytes()) => Ok(req),
            _ => Err(tonic::Status::unauthenticated(
                "missing or wrong bearer token in the `authorization` metadata; it is in the file `agentd paths` shows as `token`",
            )),
        }
    }
}

/// Every gRPC service as an axum router, to merge beside the HTTP routes.
pub fn router(service: Service, token: Arc<str>) -> axum::Router {
    let auth = Token(token);
    let (health_reporter, health) = tonic_health::server::health_reporter();
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(DESCRIPTOR)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1();
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(DESCRIPTOR)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha();
    let s = services::Services { service };
    // Serving: every agentd.v1 service, and the server as a whole ("").
    tokio::spawn(async move {
        for name in [
            "",
            "agentd.v1.CoordinatorService",
            "agentd.v1.SessionService",
            "agentd.v1.ApprovalService",
            "agentd.v1.IndexerService",
            "agentd.v1.HookService",
            "agentd.v1.SlotService",
            "agentd.v1.MemoryService",
            "agentd.v1.PluginService",
        ] {
            health_reporter
                .set_service_status(name, tonic_health::ServingStatus::Serving)
                .await;
        }
    });
    let mut routes = tonic::service::Routes::new(health).add_service(
        pb::coordinator_service_server::CoordinatorServiceServer::with_interceptor(
            s.clone(),
            auth.clone(),
        ),
    );
    routes = routes
        .add_service(
            pb::session_service_server::SessionServiceServer::with_interceptor(
                s.clone(),
                auth.clone(),
            ),
        )
        .add_service(
            pb::approval_service_server::ApprovalServiceServer::with_interceptor(
                s.clone(),
                auth.clone(),
            ),
        )
        .add_service(
            pb::indexer_service_server::IndexerServiceServer::with_interceptor(
                s.clone(),
                auth.clone(),
            ),
        )
        .add_service(
            pb::hook_service_server::HookServiceServer::with_interceptor(s.clone(), auth.clone()),
        )
        .add_service(
            pb::slot_service_server::SlotServiceServer::with_interceptor(s.clone(), auth.clone()),
        )
        .add_service(
            pb::memory_service_server::MemoryServiceServer::with_interceptor(
                s.clone(),
                auth.clone(),
            ),
        )
        .add_service(pb::plugin_service_server::PluginServiceServer::with_interceptor(s, auth));
    match (reflection_v1, reflection_v1alpha) {
        (Ok(v1), Ok(v1alpha)) => routes = routes.add_service(v1).add_service(v1alpha),
        (Err(e), _) | (_, Err(e)) => {
            tracing::error!(error = %e, "gRPC reflection is off: the descriptor set did not load");
        }
    }
    routes.prepare().into_axum_router()
}
