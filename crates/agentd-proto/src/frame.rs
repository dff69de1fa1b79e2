//! JSON-RPC 2.0 envelopes.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::code;

/// A request or, without `id`, a notification (client → daemon).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// Must be `"2.0"`.
    pub jsonrpc: String,
    /// Request id (number, string or `null`); absent for notifications.
    /// `"id": null` is a request, not a notification (JSON-RPC 2.0 §4), so
    /// a present `null` is `Some(Value::Null)` and gets a reply.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub id: Option<Value>,
    /// Method name.
    pub method: String,
    /// Params object (or array); absent means none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Value>,
}

/// A field that is present, whatever its value (`null` included), is
/// `Some`; only an absent one (serde's `default`) is `None`.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

impl Request {
    /// A request with `id`.
    pub fn new(id: u64, method: &str, params: Value) -> Request {
        Request {
            jsonrpc: "2.0".to_owned(),
            id: Some(Value::from(id)),
            method: method.to_owned(),
            params: Some(params),
        }
    }

    /// Parses one frame, giving the error response to send when it is not a
    /// valid request. The id of a parseable but invalid request is kept.
    pub fn parse(frame: &[u8]) -> Result<Request, Box<Response>> {
        let value: Value = serde_json::from_slice(frame).map_err(|e| {
            Box::new(Response::error(
                Value::Null,
                RpcError::new(code::PARSE_ERROR, format!("frame is not valid JSON: {e}")),
            ))
        })?;
        let id = value.get("id").cloned().unwrap_or(Value::Null);
        let invalid = |why: &str| {
            Box::new(Response::error(
                id.clone(),
                RpcError::new(
                    code::INVALID_REQUEST,
                    format!("not a JSON-RPC 2.0 request: {why}"),
                ),
            ))
        };
        if !value.is_object() {
            return Err(invalid("expected a JSON object"));
        }
        if value.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
            return Err(invalid("`jsonrpc` must be \"2.0\""));
        }
        if !matches!(
            value.get("id"),
            None | Some(Value::Number(_) | Value::String(_) | Value::Null)
        ) {
            return Err(invalid("`id` must be a number or a string"));
        }
        if !value.get("method").is_some_and(Value::is_string) {
            return Err(invalid("`method` must be a string"));
        }
        if !matches!(
            value.get("params"),
            None | Some(Value::Object(_) | Value::Array(_) | Value::Null)
        ) {
            return Err(invalid("`params` must be an object or an array"));
        }
        serde_json::from_value(value).map_err(|e| invalid(&e.to_string()))
    }
}

/// A response (daemon → client).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// Always `"2.0"`.
    pub jsonrpc: String,
    /// The request's id; `null` when it could not be read.
    pub id: Value,
    /// The result, on success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    /// The error, on failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<RpcError>,
}

impl Response {
    /// A success.
    pub fn ok(id: Value, result: Value) -> Response {
        Response {
            jsonrpc: "2.0".to_owned(),
            id,
            result: Some(result),
            error: None,
        }
    }

    /// A failure.
    pub fn error(id: Value, error: RpcError) -> Response {
        Response {
            jsonrpc: "2.0".to_owned(),
            id,
            result: None,
            error: Some(error),
        }
    }
}

/// A JSON-RPC error object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RpcError {
    /// One of [`crate::code`].
    pub code: i64,
    /// What went wrong and what to do, for humans.
    pub message: String,
    /// Structured detail, when useful.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl RpcError {
    /// An error with `code` and `message`.
    pub fn new(code: i64, message: impl Into<String>) -> RpcError {
        RpcError {
            code,
            message: message.into(),
            data: None,
        }
    }

    /// Bad params ([`code::INVALID_PARAMS`]).
    pub fn invalid_params(message: impl Into<String>) -> RpcError {
        RpcError::new(code::INVALID_PARAMS, message)
    }
}

impl std::fmt::Display for RpcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (code {})", self.message, self.code)
    }
}

impl std::error::Error for RpcError {}

/// A notification (daemon → client): a request without an id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// Always `"2.0"`.
    pub jsonrpc: String,
    /// Notification name, one of [`crate::notification`].
    pub method: String,
    /// Its params.
    pub params: Value,
}

impl Notification {
    /// A notification.
    pub fn new(method: &str, params: Value) -> Notification {
        Notification {
            jsonrpc: "2.0".to_owned(),
            method: method.to_owned(),
            params,
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    #[test]
    fn a_null_id_is_a_request_and_big_numbers_survive() {
        let r = Request::parse(br#"{"jsonrpc":"2.0","id":null,"method":"health"}"#).unwrap();
        assert_eq!(r.id, Some(Value::Null));
        let n = Request::parse(br#"{"jsonrpc":"2.0","method":"health"}"#).unwrap();
        assert_eq!(n.id, None);
        // Ids and payload numbers beyond u64 and f64 are kept as written.
        let big = br#"{"jsonrpc":"2.0","id":123456789012345678901234567890,"method":"m","params":{"n":123456789012345678901234567890.000000000000000000001}}"#;
        let r = Request::parse(big).unwrap();
        let back =
            serde_json::to_string(&Response::ok(r.id.clone().unwrap(), r.params.unwrap())).unwrap();
        assert!(
            back.contains(r#""id":123456789012345678901234567890"#),
            "{back}"
        );
        assert!(
            back.contains("123456789012345678901234567890.000000000000000000001"),
            "{back}"
        );
    }

    #[test]
    fn parse_errors_have_stable_codes() {
        let code_of = |s: &str| {
            Request::parse(s.as_bytes())
                .unwrap_err()
                .error
                .unwrap()
                .code
        };
        assert_eq!(code_of("{not json"), code::PARSE_ERROR);
        assert_eq!(code_of("[1,2]"), code::INVALID_REQUEST);
        assert_eq!(
            code_of(r#"{"jsonrpc":"1.0","id":1,"method":"x"}"#),
            code::INVALID_REQUEST
        );
        assert_eq!(
            code_of(r#"{"jsonrpc":"2.0","id":{},"method":"x"}"#),
            code::INVALID_REQUEST
        );
        assert_eq!(
            code_of(r#"{"jsonrpc":"2.0","id":1,"method":3}"#),
            code::INVALID_REQUEST
        );
        assert_eq!(
            code_of(r#"{"jsonrpc":"2.0","id":1,"method":"x","params":3}"#),
            code::INVALID_REQUEST
        );
        let r =
            Request::parse(br#"{"jsonrpc":"2.0","id":"a","method":"m","params":{"k":1}}"#).unwrap();
        assert_eq!(r.id, Some(json!("a")));
        assert_eq!(r.params, Some(json!({"k": 1})));
    }

    proptest! {
        #[test]
        fn requests_round_trip(id in any::<u64>(), method in "[a-z.]{1,20}", k in ".{0,20}", v in any::<i64>()) {
            let req = Request::new(id, &method, json!({ k: v }));
            let line = serde_json::to_vec(&req).unwrap();
            prop_assert_eq!(Request::parse(&line).unwrap(), req);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = Request::parse(&bytes);
        }
    }
}
