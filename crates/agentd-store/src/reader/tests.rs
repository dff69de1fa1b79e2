use agentd_core::Session;

use crate::{NewEvent, Reader, Writer};

fn ev<'a>(session_id: &'a str, kind: &'a str) -> NewEvent<'a> {
    NewEvent {
        ts_ms: 1,
        session_id,
        agent: "claude",
        source: "hook",
        name: "X",
        kind,
        payload: r#"{"a":1,"unknown":[true]}"#,
        env: "{}",
    }
}

#[test]
fn append_list_filter_and_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.db");
    let mut w = Writer::open(&path).unwrap();
    let mut b = w.batch().unwrap();
    assert_eq!(b.append(&ev("s1", "tool.started")).unwrap(), 1);
    assert_eq!(b.append(&ev("s2", "turn.stopped")).unwrap(), 2);
    assert_eq!(b.append(&ev("s1", "turn.stopped")).unwrap(), 3);
    let mut s = Session::new("s1", "claude", 1);
    s.last_seq = 3;
    b.put_session(&s).unwrap();
    b.commit().unwrap();

    let r = Reader::open(&path).unwrap();
    assert_eq!(r.head_seq().unwrap(), 3);
    let all = r.events(0, None, None, 100).unwrap();
    assert_eq!(all.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(all[0].payload, r#"{"a":1,"unknown":[true]}"#);
    let s1: Vec<u64> = r
        .events(0, Some("s1"), None, 100)
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(s1, [1, 3]);
    let stops: Vec<u64> = r
        .events(1, None, Some(&["turn.stopped".to_owned()]), 100)
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(stops, [2, 3]);
    assert_eq!(r.events(0, None, None, 2).unwrap().len(), 2);
    assert!(r.events(0, None, Some(&[]), 10).unwrap().is_empty());
    let (sessions, seq) = r.checkpoint().unwrap();
    assert_eq!(seq, 3);
    assert_eq!(sessions, vec![s]);
}

#[test]
fn a_dropped_batch_stores_nothing_and_seq_is_never_reused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.db");
    let mut w = Writer::open(&path).unwrap();
    {
        let mut b = w.batch().unwrap();
        b.append(&ev("s1", "k")).unwrap();
        b.commit().unwrap();
    }
    {
        let mut b = w.batch().unwrap();
        b.append(&ev("s1", "k")).unwrap();
        // dropped: rolled back
    }
    let r = Reader::open(&path).unwrap();
    assert_eq!(r.head_seq().unwrap(), 1);
    drop(w);
    let mut w = Writer::open(&path).unwrap();
    let mut b = w.batch().unwrap();
    assert_eq!(b.append(&ev("s1", "k")).unwrap(), 2);
    b.commit().unwrap();
}

#[test]
fn migrations_are_idempotent_and_refuse_newer_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.db");
    drop(Writer::open(&path).unwrap());
    drop(Writer::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let err = Writer::open(&path).err().unwrap();
    assert!(err.to_string().contains("newer"), "{err}");
}

fn approval(id: &str) -> agentd_core::Approval {
    agentd_core::Approval {
        id: id.into(),
        session_id: "s1".into(),
        agent_id: None,
        tool_name: "Bash".into(),
        tool_input: serde_json::json!({"command": "rm -rf x"}),
        tool_use_id: None,
        permission_suggestions: serde_json::Value::Null,
        cwd: None,
        origin: agentd_core::Origin::PermissionRequest,
        created_ms: 1,
        status: agentd_core::ApprovalStatus::Pending,
        decision: None,
        decided_by: None,
        decided_ms: None,
        reason: None,
        asked_because: None,
    }
}

#[test]
fn approvals_resolve_once_by_compare_and_set() {
    use agentd_core::ApprovalStatus;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.db");
    let mut w = Writer::open(&path).unwrap();
    let mut b = w.batch().unwrap();
    b.insert_approval(&approval("apr_1")).unwrap();
    b.insert_approval(&approval("apr_12")).unwrap();
    b.commit().unwrap();

    let mut first = approval("apr_1");
    first.status = ApprovalStatus::Allowed;
    first.decided_by = Some("cli:a".into());
    let mut second = approval("apr_1");
    second.status = ApprovalStatus::Denied;
    second.decided_by = Some("cli:b".into());
    let mut b = w.batch().unwrap();
    assert_eq!(b.resolve_approval(&first).unwrap(), Ok(()));
    let lost = b.resolve_approval(&second).unwrap().unwrap_err().unwrap();
    assert_eq!(lost.decided_by.as_deref(), Some("cli:a"));
    assert_eq!(lost.status, ApprovalStatus::Allowed);
    assert_eq!(b.resolve_approval(&approval("nope")).unwrap(), Err(None));
    b.commit().unwrap();

    let r = Reader::open(&path).unwrap();
    let pending: Vec<String> = r
        .approvals(false, None, 10)
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(pending, ["apr_12"]);
    assert_eq!(r.approvals(true, Some("s1"), 10).unwrap().len(), 2);
    assert_eq!(
        r.approval("apr_1").unwrap().len(),
        1,
        "exact id wins over prefix"
    );
    assert_eq!(r.approval("apr_").unwrap().len(), 2, "ambiguous prefix");
    assert_eq!(r.approval("apr_12").unwrap()[0].id, "apr_12");
    assert!(
        r.approval("%").unwrap().is_empty(),
        "LIKE wildcards are literal"
    );
}
