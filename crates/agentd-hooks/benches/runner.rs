//! Hook runner benchmarks. Run: `cargo bench -p agentd-hooks --bench runner`.
//!
//! * Dispatch of a Stop with 10 cached hooks over the same 1 000 files,
//!   beside hashing those files once (the runner hashes a directory once
//!   per event, however many hooks share its globs) in the same run.
//! * 20 hooks of 1 s each: cap 20 (parallel) vs cap 1 (serial).
//! * Output throughput: lines/s from one hook to the streaming callback.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use agentd_hooks::def::{FailsOn, HookDef, HookSpec, Origin};
use agentd_hooks::store::Store;
use agentd_hooks::{Engine, Observer, Request, RunEvent};

fn spec(name: &str, command: &str, if_changed: &[&str]) -> HookDef {
    HookDef::new(
        HookSpec {
            name: name.into(),
            events: vec!["Stop".into()],
            matcher: None,
            command: Some(command.into()),
            args: None,
            dirs_with: vec![],
            if_changed: if_changed.iter().map(|s| s.to_string()).collect(),
            depends_on: vec![],
            timeout: 600,
            env: Default::default(),
            blocking: true,
        },
        Origin {
            kind: "bench".into(),
            file: "bench".into(),
            plugin: None,
        },
        FailsOn::NonZero,
    )
    .unwrap()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!(
        "agentd hook runner benchmarks — {}",
        std::process::Command::new("date")
            .arg("-u")
            .arg("+%Y-%m-%d %H:%M UTC")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default()
    );
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("project");
    let mut bytes = 0u64;
    for i in 0..1000 {
        let d = project.join(format!("src/m{}", i % 20));
        std::fs::create_dir_all(&d).unwrap();
        let body = format!("// file {i}\n{}", "let x = 1;\n".repeat(400));
        bytes += body.len() as u64;
        std::fs::write(d.join(format!("f{i}.rs")), body).unwrap();
    }
    let engine = Arc::new(Engine::new(
        Store::open(&tmp.path().join("hooks.db")).unwrap(),
        tmp.path().join("logs"),
        4,
    ));
    let defs: Vec<HookDef> = (0..10)
        .map(|i| spec(&format!("h{i}"), "true", &["**/*.rs"]))
        .collect();
    let req = Request {
        event: "Stop".into(),
        payload: serde_json::json!({"hook_event_name": "Stop"}),
        project_dir: project.clone(),
        session_id: None,
        no_cache: false,
        only_dir: None,
        only_hooks: vec![],
    };
    let quiet: Observer = Arc::new(|_| {});
    rt.block_on(engine.execute(&defs, &req, Arc::clone(&quiet)));
    let (mut dispatch, mut hashing) = (Vec::new(), Vec::new());
    for _ in 0..30 {
        let t = Instant::now();
        let out = rt.block_on(engine.execute(&defs, &req, Arc::clone(&quiet)));
        dispatch.push(t.elapsed());
        assert!(out.runs.iter().all(|r| r.outcome == "cached"));
        let t = Instant::now();
        agentd_hooks::fingerprint::hash(&project, &["**/*.rs".into()]).unwrap();
        hashing.push(t.elapsed());
    }
    let (d, h) = (median(dispatch), median(hashing));
    println!(
        "\n## Stop with 10 cached hooks over 1 000 files ({:.1} MB)",
        bytes as f64 / 1e6
    );
    println!("| what | median |\n|---|---:|");
    println!(
        "| hashing the 1 000 files once (BLAKE3, walk + read) | {} ({:.0} MB/s) |",
        ms(h),
        bytes as f64 / 1e6 / h.as_secs_f64()
    );
    println!(
        "| whole dispatch (select, hash, cache look-up, record) | {} |",
        ms(d)
    );
    println!(
        "| **overhead beyond hashing** | **{}** |",
        ms(d.saturating_sub(h))
    );

    let sleepers: Vec<HookDef> = (0..20)
        .map(|i| spec(&format!("s{i}"), "sleep 1", &[]))
        .collect();
    let mut times = Vec::new();
    for cap in [20, 1] {
        let e = Arc::new(Engine::new(
            Store::open(&tmp.path().join(format!("cap{cap}.db"))).unwrap(),
            tmp.path().join("logs"),
            cap,
        ));
        let t = Instant::now();
        rt.block_on(e.execute(&sleepers, &req, Arc::clone(&quiet)));
        times.push((cap, t.elapsed()));
    }
    println!("\n## 20 hooks of 1 s");
    println!("| cap | wall time |\n|---:|---:|");
    for (cap, t) in &times {
        println!("| {cap} | {:.2} s |", t.as_secs_f64());
    }
    println!(
        "speed-up: **{:.1}×**",
        times[1].1.as_secs_f64() / times[0].1.as_secs_f64()
    );

    let n = Arc::new(AtomicU64::new(0));
    let n2 = Arc::clone(&n);
    let counter: Observer = Arc::new(move |e| {
        if let RunEvent::Output(_) = e {
            n2.fetch_add(1, Ordering::Relaxed);
        }
    });
    let chatty = vec![spec("chatty", "seq 1 200000", &[])];
    let t = Instant::now();
    rt.block_on(engine.execute(&chatty, &req, counter));
    let el = t.elapsed();
    println!("\n## Output streaming");
    println!(
        "{} lines in {:.2} s: **{:.0} lines/s** to the streaming callback (and the log file)",
        n.load(Ordering::Relaxed),
        el.as_secs_f64(),
        n.load(Ordering::Relaxed) as f64 / el.as_secs_f64()
    );
}
