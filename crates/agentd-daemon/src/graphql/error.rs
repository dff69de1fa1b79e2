//! The one place a [`ServiceError`] becomes a GraphQL error: the message
//! as it is, and a stable `extensions.code` clients can match on.

use async_graphql::ErrorExtensions;

use crate::service::ServiceError;

/// The `extensions.code` of a service error.
pub fn code_of(e: &ServiceError) -> &'static str {
    match e {
        ServiceError::NotFound(_) => "NOT_FOUND",
        ServiceError::Ambiguous(_) => "AMBIGUOUS",
        ServiceError::Invalid(_) => "INVALID",
        ServiceError::Conflict(_) => "CONFLICT",
        ServiceError::Gone(_) => "GONE",
        ServiceError::ShuttingDown(_) => "SHUTTING_DOWN",
        ServiceError::Overloaded(_) => "OVERLOADED",
        ServiceError::TooLarge(_) => "TOO_LARGE",
        ServiceError::Store(_) => "STORE",
        ServiceError::Internal(_) => "INTERNAL",
    }
}

/// The GraphQL error for `e`.
pub fn gql(e: ServiceError) -> async_graphql::Error {
    let code = code_of(&e);
    async_graphql::Error::new(e.message()).extend_with(|_, ext| ext.set("code", code))
}
