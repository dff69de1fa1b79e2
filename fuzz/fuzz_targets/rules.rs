//! Any rule patterns against any tool call: validation and evaluation give
//! an answer, never a panic; a verdict names a rule that validates.
#![no_main]

use agentd_claude::rules::{self, Action, Call, Rule};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // First line: the call (`Tool` + JSON input); the rest: one pattern each.
    let mut lines = text.lines();
    let head = lines.next().unwrap_or("");
    let (tool, input) = head.split_once(' ').unwrap_or((head, "{}"));
    let input: serde_json::Value = serde_json::from_str(input).unwrap_or(serde_json::Value::Null);
    let list: Vec<Rule> = lines
        .enumerate()
        .map(|(i, l)| Rule {
            rule: l.to_owned(),
            action: [Action::Allow, Action::Deny, Action::Ask][i % 3],
            on_timeout: Default::default(),
            message: None,
            project: None,
        })
        .collect();
    let valid: Vec<Rule> = list
        .into_iter()
        .filter(|r| rules::validate(std::slice::from_ref(r)).is_ok())
        .collect();
    let call = Call {
        tool,
        input: &input,
        cwd: Some("/w/p"),
        home: Some("/home/u"),
    };
    if let Some(v) = rules::evaluate(&valid, &call) {
        assert!(v.index < valid.len());
        assert_eq!(v.rule, &valid[v.index]);
    }
});
