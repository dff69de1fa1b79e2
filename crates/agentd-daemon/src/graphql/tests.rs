use super::*;

/// The committed SDL is the schema's: a change to the code shows up as a
/// diff of `schema.graphql` in review.
#[test]
fn the_committed_sdl_is_the_schema() {
    let sdl = Schema::build(
        Query::default(),
        Mutation::default(),
        SubscriptionRoot::default(),
    )
    .finish()
    .sdl();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
    if std::env::var_os("AGENTD_UPDATE_SCHEMA").is_some() {
        std::fs::write(path, &sdl).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == sdl,
        "schema.graphql differs from the code; run `AGENTD_UPDATE_SCHEMA=1 cargo test -p agentd-daemon graphql` and commit it"
    );
}

#[test]
fn every_service_error_has_a_stable_code() {
    for (e, code) in [
        (ServiceError::not_found("x"), "NOT_FOUND"),
        (ServiceError::ambiguous("x"), "AMBIGUOUS"),
        (ServiceError::invalid("x"), "INVALID"),
        (ServiceError::conflict("x"), "CONFLICT"),
        (ServiceError::gone("x"), "GONE"),
        (ServiceError::shutting_down("x"), "SHUTTING_DOWN"),
        (ServiceError::overloaded("x"), "OVERLOADED"),
        (ServiceError::too_large("x"), "TOO_LARGE"),
        (ServiceError::store("x"), "STORE"),
        (ServiceError::internal("x"), "INTERNAL"),
    ] {
        let err = error::gql(e).into_server_error(Default::default());
        let ext = serde_json::to_value(&err.extensions).unwrap();
        assert_eq!(ext["code"], code);
        assert_eq!(err.message, "x");
    }
}
