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
