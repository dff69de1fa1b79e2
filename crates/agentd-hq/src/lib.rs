//! agentd HQ: the server runners dial into.
//!
//! A runner is any `agentd serve` with `[hq] url` and a runner token; it
//! dials HQ's [`agentd_proto::hq::RUNNER_PATH`] and forwards its event log
//! from the last `seq` HQ acknowledged ([`link`]). HQ keeps every runner's
//! log in `hq.db` ([`store`]), folds it into sessions with the same state
//! machine the runner uses ([`fleet`]), and answers users holding a token
//! with a role ([`token`], [`api`]). Operations live in [`service`]; the
//! link and the API are faces over it.

#![warn(missing_docs)]

pub mod api;
pub mod backend;
pub mod client;
pub mod feed;
pub mod fleet;
pub mod graphql;
pub mod grpc;
pub mod link;
pub mod peers;
pub mod pg;
pub mod route;
pub mod server;
pub mod service;
pub mod splice;
pub mod steer;
pub mod store;
pub mod terminals;
pub mod token;
pub mod usage;
pub mod web;
