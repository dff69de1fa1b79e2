//! Terminals on the GraphQL face: list, start, close. Their bytes stream
//! over the web face's WebSocket (`/terminals/{id}`), not GraphQL.
//! Decode → one [`crate::service::Service`] call → encode.

use async_graphql::{Context, Object, SimpleObject};

use agentd_proto::api::{TerminalStartParams, TerminalView};

use super::error::gql;
use super::service;

/// A command in a PTY on the daemon's machine.
#[derive(SimpleObject)]
pub struct Terminal {
    /// `term_<hex>`.
    pub id: String,
    /// `claude` or `shell`.
    pub kind: String,
    /// The program run.
    pub program: String,
    /// Its working directory.
    pub cwd: String,
    /// Its pid (also its process group).
    pub pid: u32,
    /// Columns.
    pub cols: u16,
    /// Rows.
    pub rows: u16,
    /// Started at, ms since the Unix epoch.
    pub started_ms: i64,
    /// Output written so far, bytes.
    pub output_bytes: u64,
    /// Its exit code once it exited (128 + the signal when one ended it).
    pub exit_code: Option<i32>,
}

impl From<TerminalView> for Terminal {
    fn from(t: TerminalView) -> Terminal {
        Terminal {
            id: t.id,
            kind: t.kind,
            program: t.program,
            cwd: t.cwd,
            pid: t.pid,
            cols: t.cols,
            rows: t.rows,
            started_ms: t.started_ms,
            output_bytes: t.output_bytes,
            exit_code: t.exit_code,
        }
    }
}

/// Terminal queries.
#[derive(Default)]
pub struct TerminalQuery;

#[Object]
impl TerminalQuery {
    /// Terminals started on this daemon, oldest first (exited ones stay
    /// until closed).
    async fn terminals(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Terminal>> {
        Ok(service(ctx)?
            .terminals()
            .into_iter()
            .map(Terminal::from)
            .collect())
    }
}

/// Terminal mutations.
#[derive(Default)]
pub struct TerminalMutation;

#[Object]
impl TerminalMutation {
    /// Starts `claude` (default) or `shell` in a PTY, in its own process
    /// group, in `cwd` (absolute; default: the daemon's home). Attach to
    /// it with a WebSocket on `/terminals/{id}`.
    async fn start_terminal(
        &self,
        ctx: &Context<'_>,
        kind: Option<String>,
        cwd: Option<String>,
        cols: Option<u16>,
        rows: Option<u16>,
    ) -> async_graphql::Result<Terminal> {
        let p = TerminalStartParams {
            kind,
            cwd,
            cols,
            rows,
        };
        service(ctx)?
            .start_terminal(p)
            .await
            .map(Terminal::from)
            .map_err(gql)
    }

    /// Ends a terminal's process group (SIGHUP, SIGTERM, SIGKILL) and
    /// forgets it.
    async fn close_terminal(
        &self,
        ctx: &Context<'_>,
        id: String,
    ) -> async_graphql::Result<Terminal> {
        service(ctx)?
            .close_terminal(&id)
            .await
            .map(Terminal::from)
            .map_err(gql)
    }
}
