//! `agentd hook` and `agentd statusline`: the same code as the small
//! `agentd-hook` binary (crate `agentd-hook`).

pub use agentd_hook::{hook, statusline};
