use super::*;
use proptest::prelude::*;

fn parse(s: &str) -> Record {
    parse_line(s.as_bytes()).unwrap()
}

#[test]
fn assistant_record_with_usage_and_tool_call() {
    let r = parse(
        r#"{"parentUuid":"p1","isSidechain":false,"cwd":"/w","sessionId":"s1","version":"2.1.39","gitBranch":"main","message":{"model":"claude-opus-4-6","id":"msg_1","type":"message","role":"assistant","content":[{"type":"text","text":"Running the tests."},{"type":"tool_use","id":"toolu_1","name":"Bash","input":{"command":"cargo test --workspace","description":"run"}}],"usage":{"input_tokens":3,"cache_creation_input_tokens":8037,"cache_read_input_tokens":17842,"cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":8037},"output_tokens":10}},"requestId":"req_1","type":"assistant","uuid":"u1","timestamp":"2026-02-11T20:36:47.925Z"}"#,
    );
    assert_eq!(r.kind, "assistant");
    assert_eq!(r.role, Some(Role::Assistant));
    assert_eq!(r.uuid.as_deref(), Some("u1"));
    assert_eq!(r.parent_uuid.as_deref(), Some("p1"));
    assert_eq!(r.session_id.as_deref(), Some("s1"));
    assert_eq!(r.ts_ms, Some(1_770_842_207_925));
    assert_eq!(r.model.as_deref(), Some("claude-opus-4-6"));
    assert_eq!(r.message_id.as_deref(), Some("msg_1"));
    assert_eq!(r.request_id.as_deref(), Some("req_1"));
    let u = r.usage.unwrap();
    assert_eq!(
        (
            u.input_tokens,
            u.output_tokens,
            u.cache_creation_input_tokens,
            u.cache_read_input_tokens,
            u.cache_creation_1h_tokens
        ),
        (3, 10, 8037, 17842, 8037)
    );
    assert_eq!(r.tools.len(), 1);
    assert_eq!(r.tools[0].name, "Bash");
    assert_eq!(r.tools[0].summary, "cargo test --workspace");
    assert_eq!(r.tools[0].id.as_deref(), Some("toolu_1"));
    assert!(r.text.contains("Running the tests.") && r.text.contains("cargo test --workspace"));
    assert_eq!(&r.text[..r.prose_len], "Running the tests.");
    assert!(!r.is_prompt);
}

#[test]
fn user_prompts_and_not_prompts() {
    let prompt = parse(
        r#"{"type":"user","uuid":"u","sessionId":"s","message":{"role":"user","content":"fix the migration"}}"#,
    );
    assert_eq!(prompt.role, Some(Role::User));
    assert!(prompt.is_prompt);
    assert_eq!(prompt.text, "fix the migration");

    let command = parse(
        r#"{"type":"user","uuid":"u","message":{"role":"user","content":"<command-name>/clear</command-name>"}}"#,
    );
    assert!(!command.is_prompt);
    let meta = parse(
        r#"{"type":"user","uuid":"u","isMeta":true,"message":{"role":"user","content":"hello"}}"#,
    );
    assert!(!meta.is_prompt && meta.is_meta);
    let compact = parse(
        r#"{"type":"user","uuid":"u","isCompactSummary":true,"message":{"role":"user","content":"This session is being continued"}}"#,
    );
    assert!(!compact.is_prompt);
    let blocks = parse(
        r#"{"type":"user","uuid":"u","message":{"role":"user","content":[{"type":"text","text":"look at this"},{"type":"image","source":{}}]}}"#,
    );
    assert!(blocks.is_prompt);
}

#[test]
fn tool_results_are_bounded() {
    let big = "x".repeat(100_000);
    let line = format!(
        r#"{{"type":"user","uuid":"u","message":{{"role":"user","content":[{{"type":"tool_result","tool_use_id":"t","content":[{{"type":"text","text":"{big}"}}]}}]}}}}"#
    );
    let r = parse(&line);
    assert_eq!(r.role, Some(Role::ToolResult));
    assert_eq!(r.text.len(), MAX_TOOL_TEXT_BYTES);
    assert_eq!(r.prose_len, 0);
    assert!(!r.is_prompt);
}

#[test]
fn titles() {
    let t = |s: &str| parse(s).title.unwrap();
    assert_eq!(
        t(r#"{"type":"summary","summary":"Fix migration","leafUuid":"x"}"#),
        Title {
            kind: TitleKind::Summary,
            text: "Fix migration".into()
        }
    );
    assert_eq!(
        t(r#"{"type":"custom-title","customTitle":"mine","sessionId":"s"}"#).kind,
        TitleKind::Custom
    );
    assert_eq!(
        t(r#"{"type":"ai-title","aiTitle":"gen","sessionId":"s"}"#).kind,
        TitleKind::Ai
    );
    assert_eq!(
        t(r#"{"type":"last-prompt","lastPrompt":"go","sessionId":"s"}"#).kind,
        TitleKind::LastPrompt
    );
    assert!(
        parse(r#"{"type":"summary","summary":"  "}"#)
            .title
            .is_none()
    );
}

#[test]
fn unknown_types_and_system_records() {
    let r = parse(r#"{"type":"brand-new-thing","uuid":"z","foo":[1,2]}"#);
    assert_eq!(r.kind, "brand-new-thing");
    assert!(!r.is_message());
    let s = parse(
        r#"{"type":"system","subtype":"compact_boundary","content":"Conversation compacted","uuid":"c"}"#,
    );
    assert_eq!(s.role, Some(Role::System));
    assert_eq!(s.text, "Conversation compacted");
    let odd = parse(r#"{"type":"system","content":{"not":"a string"},"uuid":"c"}"#);
    assert_eq!(odd.text, "");
}

#[test]
fn bad_lines_are_errors_not_panics() {
    assert!(matches!(
        parse_line(b"{\"type\":\"user\",\"uu"),
        Err(LineError::Json(_))
    ));
    assert_eq!(parse_line(b"[1,2]"), Err(LineError::NotObject));
    assert_eq!(parse_line(b"42"), Err(LineError::NotObject));
    assert!(parse_line(b"").is_err());
    // Invalid UTF-8 inside a string is replaced, not refused.
    let r = parse_line(b"{\"type\":\"user\",\"message\":{\"content\":\"a\xff\xfeb\"}}").unwrap();
    assert_eq!(r.text, "a\u{fffd}\u{fffd}b");
    // Fields of an unexpected type are an error for that line only.
    assert!(parse_line(br#"{"type":"user","uuid":7}"#).is_err());
}

proptest! {
    #[test]
    fn any_bytes_parse_as_json_objects_do(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        // A line is a record exactly when it is a JSON object (fields of
        // the wrong type aside); never a panic either way.
        let is_object = serde_json::from_slice::<serde_json::Value>(&bytes)
            .is_ok_and(|v| v.is_object());
        if parse_line(&bytes).is_ok() {
            proptest::prop_assert!(is_object);
        }
    }

    #[test]
    fn any_json_object_of_known_shape_is_a_record(kind in "[a-z_]{1,12}", text in "\\PC{0,200}") {
        let line = serde_json::json!({"type": kind, "message": {"content": text}});
        let r = parse_line(serde_json::to_string(&line).unwrap().as_bytes());
        proptest::prop_assert!(r.is_ok(), "{r:?}");
    }

    #[test]
    fn text_is_always_bounded(s in "\\PC{0,5000}", n in 1usize..8) {
        let content: Vec<serde_json::Value> = (0..n)
            .map(|_| serde_json::json!({"type": "text", "text": s.repeat(4)}))
            .collect();
        let line = serde_json::json!({"type": "assistant", "message": {"content": content}}).to_string();
        let r = parse_line(line.as_bytes()).unwrap();
        prop_assert!(r.text.len() <= MAX_TEXT_BYTES);
    }
}

#[test]
fn odd_fields_cost_only_themselves() {
    let r = parse(
        r#"{"type":"assistant","uuid":"u","isMeta":"true","isSidechain":1,"message":{"id":"m","model":"claude-opus-4-6","content":[{"type":"text","text":"hello"}],"usage":{"input_tokens":5,"output_tokens":null,"cache_read_input_tokens":null,"cache_creation":{"ephemeral_5m_input_tokens":null,"ephemeral_1h_input_tokens":2}}}}"#,
    );
    assert_eq!(r.text, "hello");
    assert!(!r.is_meta && !r.is_sidechain);
    let u = r.usage.unwrap();
    assert_eq!(
        (
            u.input_tokens,
            u.output_tokens,
            u.cache_creation_input_tokens,
            u.cache_read_input_tokens
        ),
        (5, 0, 2, 0)
    );
    // Absurd counts saturate instead of overflowing.
    let big = parse(&format!(
        r#"{{"type":"assistant","message":{{"usage":{{"input_tokens":{m},"output_tokens":{m},"cache_creation":{{"ephemeral_5m_input_tokens":{m},"ephemeral_1h_input_tokens":{m}}}}}}}}}"#,
        m = u64::MAX
    ));
    assert_eq!(big.usage.unwrap().total(), u64::MAX);
    let sys = parse(r#"{"type":"system","content":"Conversation compacted","uuid":"c"}"#);
    assert_eq!(sys.prose_len, sys.text.len());
}
