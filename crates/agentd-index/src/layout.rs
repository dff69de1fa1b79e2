//! Where transcripts live, and what a path says about its file.
//!
//! Claude Code has stored subagents three ways (reference §4.3): inline in
//! the session file (`isSidechain`, 1.0.x), as sibling
//! `<project>/agent-<id>.jsonl` files (2.0.x), and under
//! `<project>/<session>/subagents/**/agent-<id>.jsonl` with a
//! `.meta.json` sidecar (2.1.x). Every `*.jsonl` under a root is indexed.

use std::path::{Path, PathBuf};

/// Deepest folder level searched under a root (workflow subagents sit at
/// `<project>/<session>/subagents/workflows/<run>/`).
pub const MAX_DEPTH: usize = 8;

/// What a transcript's path says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileKind {
    /// The project folder name (`-home-me-repo`).
    pub project: String,
    /// The session the file belongs to, when the path says so: the file
    /// stem of `<project>/<session>.jsonl`, the folder of
    /// `<project>/<session>/subagents/…`. Sibling `agent-*.jsonl` files name
    /// theirs only inside (`sessionId`).
    pub session_id: Option<String>,
    /// The subagent id of `agent-<id>.jsonl` files.
    pub agent_id: Option<String>,
}

/// Classifies `path` under `root`; `None` for anything that is not a
/// `*.jsonl` inside a project folder.
pub fn classify(root: &Path, path: &Path) -> Option<FileKind> {
    let rel = path.strip_prefix(root).ok()?;
    let parts: Vec<&str> = rel.iter().map(|c| c.to_str()).collect::<Option<_>>()?;
    let (file, dirs) = parts.split_last()?;
    let stem = file.strip_suffix(".jsonl")?;
    let project = (*dirs.first()?).to_owned();
    let agent_id = stem.strip_prefix("agent-").map(str::to_owned);
    let session_id = match dirs.len() {
        1 if agent_id.is_none() => Some(stem.to_owned()),
        1 => None,
        // Only subagents below a session folder: not `tool-results/`,
        // `memory/` or anything else Claude Code keeps there.
        _ if agent_id.is_some() && dirs.get(2) == Some(&"subagents") => Some(dirs[1].to_owned()),
        _ => return None,
    };
    Some(FileKind {
        project,
        session_id,
        agent_id,
    })
}

/// Every `*.jsonl` file under `root`, sorted. Symlinked folders are not
/// followed (no loops); unreadable folders are skipped.
pub fn walk(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    walk_into(root, 0, &mut out);
    out.sort();
    out
}

/// Every `*.jsonl` file in `dir` and below (a folder that just appeared
/// under a root), sorted.
pub fn walk_dir(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    walk_into(dir, 1, &mut out);
    out.sort();
    out
}

fn walk_into(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let Ok(t) = e.file_type() else { continue };
        let path = e.path();
        if t.is_dir() {
            if depth < MAX_DEPTH {
                walk_into(&path, depth + 1, out);
            }
        } else if path.extension().is_some_and(|x| x == "jsonl") && depth >= 1 {
            out.push(path);
        }
    }
}

/// A subagent's `.meta.json` sidecar: `{agentType, description?}`.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct AgentMeta {
    /// `agentType` (`general-purpose`, `Explore`, …).
    #[serde(rename = "agentType", default)]
    pub agent_type: Option<String>,
    /// `description`: the task it was given.
    #[serde(default)]
    pub description: Option<String>,
}

/// Reads the sidecar of `agent-<id>.jsonl`, if there is one.
pub fn agent_meta(jsonl: &Path) -> Option<AgentMeta> {
    let meta = jsonl.with_extension("meta.json");
    let bytes = std::fs::read(meta).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(p: &str) -> Option<FileKind> {
        classify(Path::new("/r"), Path::new(p))
    }

    #[test]
    fn the_three_layouts() {
        assert_eq!(
            kind("/r/-home-me/6f1c.jsonl"),
            Some(FileKind {
                project: "-home-me".into(),
                session_id: Some("6f1c".into()),
                agent_id: None
            })
        );
        assert_eq!(
            kind("/r/-home-me/agent-3430b97e.jsonl"),
            Some(FileKind {
                project: "-home-me".into(),
                session_id: None,
                agent_id: Some("3430b97e".into())
            })
        );
        assert_eq!(
            kind("/r/-home-me/6f1c/subagents/agent-a2271d1.jsonl"),
            Some(FileKind {
                project: "-home-me".into(),
                session_id: Some("6f1c".into()),
                agent_id: Some("a2271d1".into())
            })
        );
        assert_eq!(
            kind("/r/p/s/subagents/workflows/wf/agent-ag1.jsonl").and_then(|k| k.agent_id),
            Some("ag1".into())
        );
    }

    #[test]
    fn not_transcripts() {
        assert_eq!(kind("/r/top.jsonl"), None);
        assert_eq!(kind("/r/p/notes.txt"), None);
        assert_eq!(kind("/elsewhere/p/s.jsonl"), None);
        assert_eq!(kind("/r/p/agent-x.meta.json"), None);
        assert_eq!(kind("/r/p/s1/tool-results/out.jsonl"), None);
        assert_eq!(kind("/r/p/s1/subagents/workflows/w/journal.jsonl"), None);
    }
}
