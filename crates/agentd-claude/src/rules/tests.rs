use serde_json::json;

use super::*;

fn rule(pattern: &str, action: Action) -> Rule {
    Rule {
        rule: pattern.into(),
        action,
        on_timeout: OnTimeout::Fallthrough,
        message: None,
        project: None,
    }
}

fn bash(cmd: &str) -> Value {
    json!({"command": cmd})
}

fn judge(rules: &[Rule], tool: &str, input: &Value) -> Option<(usize, Action)> {
    let call = Call {
        tool,
        input,
        cwd: Some("/w/proj"),
        home: Some("/home/u"),
    };
    evaluate(rules, &call).map(|v| (v.index, v.rule.action))
}

#[test]
fn bash_prefix_exact_and_wildcard() {
    let rules = [
        rule("Bash(git push:*)", Action::Ask),
        rule("Bash(npm run *)", Action::Allow),
        rule("Bash(ls)", Action::Allow),
    ];
    assert_eq!(
        judge(&rules, "Bash", &bash("git push origin main")),
        Some((0, Action::Ask))
    );
    assert_eq!(
        judge(&rules, "Bash", &bash("git push")),
        Some((0, Action::Ask))
    );
    assert_eq!(
        judge(&rules, "Bash", &bash("git pushx")),
        None,
        "prefix ends at a word"
    );
    assert_eq!(
        judge(&rules, "Bash", &bash("npm run test")),
        Some((1, Action::Allow))
    );
    assert_eq!(judge(&rules, "Bash", &bash("ls")), Some((2, Action::Allow)));
    assert_eq!(judge(&rules, "Bash", &bash("ls -la")), None);
}

#[test]
fn deny_beats_ask_beats_allow_and_compounds_need_every_part_allowed() {
    let rules = [
        rule("Bash", Action::Allow),
        rule("Bash(rm:*)", Action::Deny),
        rule("Bash(curl:*)", Action::Ask),
    ];
    assert_eq!(
        judge(&rules, "Bash", &bash("echo hi && rm -rf /")),
        Some((1, Action::Deny))
    );
    assert_eq!(
        judge(&rules, "Bash", &bash("curl x | sh")),
        Some((2, Action::Ask))
    );
    assert_eq!(
        judge(&rules, "Bash", &bash("echo 'a && rm b'")),
        Some((0, Action::Allow)),
        "quoted && is not a split"
    );
    let only_ls = [rule("Bash(ls:*)", Action::Allow)];
    assert_eq!(
        judge(&only_ls, "Bash", &bash("ls; rm -rf /")),
        None,
        "allow needs every part"
    );
}

#[test]
fn paths_are_anchored_like_claude_code() {
    let rules = [
        rule("Edit(src/**)", Action::Allow),
        rule("Read(//etc/**)", Action::Deny),
        rule("Edit(*.lock)", Action::Ask),
        rule("Read(~/.ssh/**)", Action::Deny),
    ];
    assert_eq!(
        judge(&rules, "Edit", &json!({"file_path": "/w/proj/src/a/b.rs"})),
        Some((0, Action::Allow))
    );
    assert_eq!(
        judge(&rules, "Write", &json!({"file_path": "src/x.rs"})),
        Some((0, Action::Allow)),
        "Edit covers Write"
    );
    assert_eq!(
        judge(&rules, "Edit", &json!({"file_path": "/w/proj/other/x.rs"})),
        None
    );
    assert_eq!(
        judge(
            &rules,
            "Edit",
            &json!({"file_path": "/w/proj/src/../../x.rs"})
        ),
        None,
        ".. is resolved"
    );
    assert_eq!(
        judge(&rules, "Read", &json!({"file_path": "/etc/passwd"})),
        Some((1, Action::Deny))
    );
    assert_eq!(
        judge(
            &rules,
            "Edit",
            &json!({"file_path": "/w/proj/deep/Cargo.lock"})
        ),
        Some((2, Action::Ask))
    );
    assert_eq!(
        judge(
            &rules,
            "Grep",
            &json!({"pattern": "k", "path": "/home/u/.ssh/id"})
        ),
        Some((3, Action::Deny))
    );
}

#[test]
fn mcp_and_webfetch() {
    let rules = [
        rule("mcp__github", Action::Allow),
        rule("mcp__db__drop", Action::Deny),
        rule("WebFetch(domain:example.com)", Action::Allow),
    ];
    assert_eq!(
        judge(&rules, "mcp__github__create_issue", &json!({})),
        Some((0, Action::Allow))
    );
    assert_eq!(judge(&rules, "mcp__githubx__a", &json!({})), None);
    assert_eq!(
        judge(&rules, "mcp__db__drop", &json!({})),
        Some((1, Action::Deny))
    );
    assert_eq!(judge(&rules, "mcp__db__read", &json!({})), None);
    assert_eq!(
        judge(
            &rules,
            "WebFetch",
            &json!({"url": "https://docs.example.com/x"})
        ),
        Some((2, Action::Allow))
    );
    assert_eq!(
        judge(
            &rules,
            "WebFetch",
            &json!({"url": "https://example.com.evil.io/"})
        ),
        None
    );
}

#[test]
fn project_rules_apply_under_their_directory_only() {
    let mut r = rule("Bash", Action::Deny);
    r.project = Some("/w/other".into());
    assert_eq!(judge(&[r.clone()], "Bash", &bash("ls")), None);
    r.project = Some("/w".into());
    assert_eq!(judge(&[r], "Bash", &bash("ls")), Some((0, Action::Deny)));
}

#[test]
fn bad_patterns_are_explained_and_never_match() {
    for bad in ["Bash(", "Bash()", "(x)", "Ba sh"] {
        let e = Pattern::parse(bad).unwrap_err();
        assert!(
            e.to_string().starts_with(&format!("invalid rule `{bad}`")),
            "{e}"
        );
    }
    assert_eq!(
        judge(&[rule("Bash(", Action::Allow)], "Bash", &bash("ls")),
        None
    );
    assert!(validate(&[rule("Bash(", Action::Allow)]).is_err());
}

#[test]
fn wildcards() {
    assert!(wildcard("git * main", "git push origin main"));
    assert!(!wildcard("git * main", "git push origin dev"));
    assert!(wildcard("*", ""));
    assert!(!wildcard("a*a", "a"));
}

proptest::proptest! {
    #[test]
    fn deny_beats_ask_beats_allow_for_any_input(p in ".{0,20}", cmd in ".{0,40}", path in ".{0,30}") {
        let rules = [rule(&p, Action::Allow), rule(&format!("Bash({p})"), Action::Deny), rule(&format!("Edit({p})"), Action::Ask)];
        for (tool, input) in [("Bash", bash(&cmd)), ("Edit", json!({"file_path": path}))] {
            let combined = judge(&rules, tool, &input);
            // Each rule alone, and what the strongest of them says.
            let alone: Vec<Option<(usize, Action)>> = (0..rules.len())
                .map(|i| judge(&rules[i..=i], tool, &input).map(|(_, a)| (i, a)))
                .collect();
            let strongest = [Action::Deny, Action::Ask, Action::Allow]
                .into_iter()
                .find_map(|want| alone.iter().flatten().find(|(_, a)| *a == want).copied());
            match (combined, strongest) {
                (None, None) => {}
                (Some((_, a)), Some((_, b))) => proptest::prop_assert_eq!(a, b),
                other => proptest::prop_assert!(false, "{other:?}"),
            }
        }
        // Splitting a command never loses or invents text outside quotes
        // and separators.
        for part in subcommands(&cmd) {
            proptest::prop_assert!(!part.is_empty());
            proptest::prop_assert!(part.chars().all(|c| cmd.contains(c)), "{part:?} from {cmd:?}");
        }
    }
}
