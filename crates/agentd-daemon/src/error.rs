//! The one error of the service layer. Every operation fails with a
//! [`ServiceError`]; each face (JSON-RPC on the socket, the HTTP hook route,
//! and the faces to come) maps it to its own wire form in exactly one place
//! (`jsonrpc::error`, `http::status_of`). The message is for people: what
//! was wrong, and what to do.

/// Why an operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    /// No such session, approval, transcript, hook, … .
    #[error("{0}")]
    NotFound(String),
    /// An id prefix matches several things.
    #[error("{0}")]
    Ambiguous(String),
    /// The request itself is wrong (a bad field, a value out of range).
    #[error("{0}")]
    Invalid(String),
    /// Somebody else got there first (an approval already decided).
    #[error("{0}")]
    Conflict(String),
    /// What was asked for cannot happen any more (the held hook call is
    /// gone, the process exited, `claude` is missing).
    #[error("{0}")]
    Gone(String),
    /// The daemon is stopping.
    #[error("{0}")]
    ShuttingDown(String),
    /// A limit was reached (connections, buffered bytes); try again later.
    #[error("{0}")]
    Overloaded(String),
    /// The answer would not fit one response; ask for less (page).
    #[error("{0}")]
    TooLarge(String),
    /// The event log or the index failed.
    #[error("{0}")]
    Store(String),
    /// A bug or an impossible state.
    #[error("{0}")]
    Internal(String),
}

impl ServiceError {
    /// The human message, whatever the kind.
    pub fn message(&self) -> &str {
        match self {
            ServiceError::NotFound(m)
            | ServiceError::Ambiguous(m)
            | ServiceError::Invalid(m)
            | ServiceError::Conflict(m)
            | ServiceError::Gone(m)
            | ServiceError::ShuttingDown(m)
            | ServiceError::Overloaded(m)
            | ServiceError::TooLarge(m)
            | ServiceError::Store(m)
            | ServiceError::Internal(m) => m,
        }
    }

    /// [`ServiceError::NotFound`].
    pub fn not_found(m: impl Into<String>) -> ServiceError {
        ServiceError::NotFound(m.into())
    }

    /// [`ServiceError::Ambiguous`].
    pub fn ambiguous(m: impl Into<String>) -> ServiceError {
        ServiceError::Ambiguous(m.into())
    }

    /// [`ServiceError::Invalid`].
    pub fn invalid(m: impl Into<String>) -> ServiceError {
        ServiceError::Invalid(m.into())
    }

    /// [`ServiceError::Conflict`].
    pub fn conflict(m: impl Into<String>) -> ServiceError {
        ServiceError::Conflict(m.into())
    }

    /// [`ServiceError::Gone`].
    pub fn gone(m: impl Into<String>) -> ServiceError {
        ServiceError::Gone(m.into())
    }

    /// [`ServiceError::ShuttingDown`].
    pub fn shutting_down(m: impl Into<String>) -> ServiceError {
        ServiceError::ShuttingDown(m.into())
    }

    /// [`ServiceError::Overloaded`].
    pub fn overloaded(m: impl Into<String>) -> ServiceError {
        ServiceError::Overloaded(m.into())
    }

    /// [`ServiceError::TooLarge`].
    pub fn too_large(m: impl Into<String>) -> ServiceError {
        ServiceError::TooLarge(m.into())
    }

    /// [`ServiceError::Store`].
    pub fn store(m: impl Into<String>) -> ServiceError {
        ServiceError::Store(m.into())
    }

    /// [`ServiceError::Internal`] from anything printable.
    pub fn internal(m: impl std::fmt::Display) -> ServiceError {
        ServiceError::Internal(m.to_string())
    }
}

impl From<agentd_store::StoreError> for ServiceError {
    fn from(e: agentd_store::StoreError) -> ServiceError {
        ServiceError::Store(format!("the event log failed: {e}"))
    }
}
