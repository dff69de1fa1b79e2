//! The GraphQL scalar `JSON`: any JSON value (payloads, tool inputs,
//! decisions) with its numbers kept as they arrived.
//!
//! agentd's serde_json keeps numbers exactly (`arbitrary_precision`).
//! async-graphql's own `Json<T>` converts through serde into its value
//! type, which does not know that representation and would print every
//! number as `{"$serde_json::private::Number": "12"}`; this scalar maps
//! values itself, numbers as numbers, digits untouched.

use std::borrow::Cow;

use async_graphql::parser::types::Field;
use async_graphql::registry::Registry;
use async_graphql::{
    ContextSelectionSet, InputValueError, InputValueResult, Name, OutputType, Positioned, Scalar,
    ScalarType, ServerResult, Value as ConstValue,
};
use serde_json::Value;

/// Any JSON value, as the GraphQL scalar `JSON`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Json(pub Value);

/// A JSON value (object, array, string, number, boolean or null).
#[Scalar(name = "JSON")]
impl ScalarType for Json {
    fn parse(value: ConstValue) -> InputValueResult<Self> {
        value
            .into_json()
            .map(Json)
            .map_err(|e| InputValueError::custom(format!("not JSON: {e}")))
    }

    fn to_value(&self) -> ConstValue {
        const_value(&self.0)
    }
}

/// A borrowed JSON value, output as the scalar `JSON` without copying it
/// first (a live event's payload, shared by every subscriber).
pub struct JsonRef<'a>(pub &'a Value);

impl OutputType for JsonRef<'_> {
    fn type_name() -> Cow<'static, str> {
        <Json as OutputType>::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        <Json as OutputType>::create_type_info(registry)
    }

    async fn resolve(
        &self,
        _ctx: &ContextSelectionSet<'_>,
        _field: &Positioned<Field>,
    ) -> ServerResult<ConstValue> {
        Ok(const_value(self.0))
    }
}

/// `v` as async-graphql's value, numbers carried over unchanged.
fn const_value(v: &Value) -> ConstValue {
    match v {
        Value::Null => ConstValue::Null,
        Value::Bool(b) => ConstValue::Boolean(*b),
        Value::Number(n) => ConstValue::Number(n.clone()),
        Value::String(s) => ConstValue::String(s.clone()),
        Value::Array(a) => ConstValue::List(a.iter().map(const_value).collect()),
        Value::Object(m) => ConstValue::Object(
            m.iter()
                .map(|(k, v)| (Name::new(k), const_value(v)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_come_out_as_numbers_with_their_digits() {
        let v: Value = serde_json::from_str(
            r#"{"n": 12, "big": 123456789012345678901234567890, "f": 1.50, "neg": -3, "a": [1, {"x": 2.5e3}], "s": "t", "b": true, "z": null}"#,
        )
        .unwrap();
        let out = serde_json::to_string(&Json(v.clone()).to_value()).unwrap();
        // Exactly what serde_json prints for the value itself.
        assert_eq!(out, serde_json::to_string(&v).unwrap());
        assert!(
            out.contains(r#""big":123456789012345678901234567890"#),
            "{out}"
        );
        assert!(out.contains(r#""f":1.50"#), "{out}");
        assert!(!out.contains("serde_json::private"));
        // And back in, unchanged.
        let back = Json::parse(Json(v.clone()).to_value()).unwrap();
        assert_eq!(back.0, v);
    }
}
