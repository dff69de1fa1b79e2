//! Where transcripts live, and what a path says about its file.
//!
//! Claude Code has stored subagents three ways (reference §4.3): inline in
//! the session file (`isSidechain`, 1.0.x), as sibling
//! `<project>/agent-<id>.jsonl` files (2.0.x), and under
//! `<project>/<session>/subagents/**/agent-<id>.jsonl` with a
//! `.meta.json` sidecar (2.1.x). Every `*.jsonl` under a root is indexed,
//! at any depth (a synced or archived projects folder may sit a level or two
//! deeper than Claude Code's own): the layouts are recognised by pattern
//! (a `subagents` folder, an `agent-` name), and the project is the folder
//! holding the session. What is not indexed is counted with its reason
//! ([`Skip`]), never dropped silently.

use std::path::{Path, PathBuf};

/// Deepest folder level searched under a root. Symbolic links to folders
/// are not followed, so there are no loops; the limit only bounds a
/// pathological tree, and what lies deeper is counted
/// ([`Walk::too_deep`]).
pub const MAX_DEPTH: usize = 32;

/// What a transcript's path says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileKind {
    /// The project folder name (`-home-me-repo`): the folder holding the
    /// session file (or the session's folder, for subagents).
    pub project: String,
    /// The session the file belongs to, when the path says so: the file
    /// stem of `<project>/<session>.jsonl`, the folder of
    /// `<project>/<session>/subagents/…`. Sibling `agent-*.jsonl` files name
    /// theirs only inside (`sessionId`).
    pub session_id: Option<String>,
    /// The subagent id of `agent-<id>.jsonl` files.
    pub agent_id: Option<String>,
    /// The agent whose format the file is in.
    pub agent: agentd_core::Agent,
}

/// Why a file under a root is not indexed as a transcript.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Skip {
    /// Not under any root (a path from a hook payload).
    OutsideRoots,
    /// Not a `*.jsonl` file.
    NotJsonl,
    /// A `*.jsonl` directly in a root, not in a project folder.
    NotInProject,
    /// Under a session's `tool-results/`: tool output Claude Code kept, not
    /// a transcript.
    ToolResult,
    /// In a `subagents/` folder but not named `agent-<id>.jsonl` (workflow
    /// journals and the like).
    NotASubagent,
    /// A path that is not valid UTF-8.
    NotUtf8,
}

impl Skip {
    /// The reason in words, as `index.status` reports it.
    pub fn reason(self) -> &'static str {
        match self {
            Skip::OutsideRoots => "outside the index roots",
            Skip::NotJsonl => "not a .jsonl file",
            Skip::NotInProject => "directly in a root, not in a project folder",
            Skip::ToolResult => "a session's tool-results file, not a transcript",
            Skip::NotASubagent => "in a subagents folder but not an agent-<id>.jsonl",
            Skip::NotUtf8 => "path is not UTF-8",
        }
    }
}

/// Classifies `path` under `root`.
///
/// # Errors
/// The [`Skip`] reason for anything that is not a transcript.
pub fn classify(root: &Path, path: &Path) -> Result<FileKind, Skip> {
    let rel = path.strip_prefix(root).map_err(|_| Skip::OutsideRoots)?;
    let parts: Vec<&str> = rel
        .iter()
        .map(|c| c.to_str())
        .collect::<Option<_>>()
        .ok_or(Skip::NotUtf8)?;
    let (file, dirs) = parts.split_last().ok_or(Skip::NotJsonl)?;
    let stem = file.strip_suffix(".jsonl").ok_or(Skip::NotJsonl)?;
    // Codex CLI's rollouts (`sessions/YYYY/MM/DD/rollout-<ISO>-<uuid>.jsonl`)
    // and Gemini CLI's chats (`tmp/<project>/chats/session-*.jsonl`) are
    // known by name wherever their root is; Claude Code names neither so.
    if let Some(rest) = stem.strip_prefix("rollout-") {
        // The session is the UUID that ends the name (36 characters).
        let id = rest
            .len()
            .checked_sub(36)
            .and_then(|at| rest.get(at..))
            .filter(|id| id.len() == 36 && id.chars().filter(|c| *c == '-').count() == 4);
        return Ok(FileKind {
            project: String::new(),
            session_id: id.map(str::to_owned),
            agent_id: None,
            agent: agentd_core::Agent::Codex,
        });
    }
    if stem.starts_with("session-") && dirs.last() == Some(&"chats") {
        return Ok(FileKind {
            project: dirs
                .len()
                .checked_sub(2)
                .map_or_else(String::new, |i| dirs[i].to_owned()),
            // Named inside, by the header line (`sessionId`).
            session_id: None,
            agent_id: None,
            agent: agentd_core::Agent::Gemini,
        });
    }
    let Some(parent) = dirs.last() else {
        return Err(Skip::NotInProject);
    };
    if dirs.contains(&"tool-results") {
        return Err(Skip::ToolResult);
    }
    let agent_id = stem.strip_prefix("agent-").map(str::to_owned);
    if let Some(k) = dirs.iter().position(|d| *d == "subagents") {
        if agent_id.is_none() {
            return Err(Skip::NotASubagent);
        }
        // `<project>/<session>/subagents/…/agent-<id>.jsonl`; a
        // `subagents` folder right in a project has no session folder.
        return Ok(match k {
            0 => FileKind {
                project: String::new(),
                session_id: None,
                agent_id,
                agent: agentd_core::Agent::Claude,
            },
            1 => FileKind {
                project: dirs[0].to_owned(),
                session_id: None,
                agent_id,
                agent: agentd_core::Agent::Claude,
            },
            k => FileKind {
                project: dirs[k - 2].to_owned(),
                session_id: Some(dirs[k - 1].to_owned()),
                agent_id,
                agent: agentd_core::Agent::Claude,
            },
        });
    }
    Ok(FileKind {
        project: (*parent).to_owned(),
        session_id: agent_id.is_none().then(|| stem.to_owned()),
        agent_id,
        agent: agentd_core::Agent::Claude,
    })
}

/// The `*.jsonl` files found under a folder.
#[derive(Debug, Default)]
pub struct Walk {
    /// Every `*.jsonl` file, sorted.
    pub files: Vec<PathBuf>,
    /// Folders not entered because they lie deeper than [`MAX_DEPTH`].
    pub too_deep: u64,
}

/// Every `*.jsonl` file under `root`, sorted. Symlinked folders are not
/// followed (no loops); unreadable folders are skipped.
pub fn walk(root: &Path) -> Walk {
    let mut out = Walk::default();
    walk_into(root, 0, &mut out);
    out.files.sort();
    out
}

/// Every `*.jsonl` file in `dir` and below (a folder that just appeared
/// under a root), sorted.
pub fn walk_dir(dir: &Path) -> Vec<PathBuf> {
    let mut out = Walk::default();
    walk_into(dir, 1, &mut out);
    out.files.sort();
    out.files
}

fn walk_into(dir: &Path, depth: usize, out: &mut Walk) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let Ok(t) = e.file_type() else { continue };
        let path = e.path();
        if t.is_dir() {
            if depth < MAX_DEPTH {
                walk_into(&path, depth + 1, out);
            } else {
                out.too_deep += 1;
            }
        } else if path.extension().is_some_and(|x| x == "jsonl") {
            out.files.push(path);
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
    // Beside an untrusted path: a small regular file or nothing.
    let bytes = agentd_fs::read(&meta, 64 * 1024).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(p: &str) -> Result<FileKind, Skip> {
        classify(Path::new("/r"), Path::new(p))
    }

    fn fk(project: &str, session: Option<&str>, agent: Option<&str>) -> Result<FileKind, Skip> {
        Ok(FileKind {
            project: project.into(),
            session_id: session.map(Into::into),
            agent_id: agent.map(Into::into),
            agent: agentd_core::Agent::Claude,
        })
    }

    #[test]
    fn codex_rollouts_and_gemini_chats_are_known_by_name() {
        let id = "01a22632-3a96-7bd0-802a-a80ee0cb9791";
        let k = kind(&format!(
            "/r/2026/11/29/rollout-2026-11-29T07-25-55-{id}.jsonl"
        ))
        .unwrap();
        assert_eq!(k.agent, agentd_core::Agent::Codex);
        assert_eq!(k.session_id.as_deref(), Some(id));
        let k = kind("/r/rollout-short.jsonl").unwrap();
        assert_eq!((k.agent, k.session_id), (agentd_core::Agent::Codex, None));
        let k = kind("/r/gproj/chats/session-2026-11-29T07-28-37cd8f0b.jsonl").unwrap();
        assert_eq!(k.agent, agentd_core::Agent::Gemini);
        assert_eq!((k.project.as_str(), k.session_id), ("gproj", None));
        // A Claude Code session file in a folder that happens to be `chats`.
        let k = kind("/r/chats/6f1c.jsonl").unwrap();
        assert_eq!(k.agent, agentd_core::Agent::Claude);
    }

    #[test]
    fn the_three_layouts() {
        assert_eq!(
            kind("/r/-home-me/6f1c.jsonl"),
            fk("-home-me", Some("6f1c"), None)
        );
        assert_eq!(
            kind("/r/-home-me/agent-3430b97e.jsonl"),
            fk("-home-me", None, Some("3430b97e"))
        );
        assert_eq!(
            kind("/r/-home-me/6f1c/subagents/agent-a2271d1.jsonl"),
            fk("-home-me", Some("6f1c"), Some("a2271d1"))
        );
        assert_eq!(
            kind("/r/p/s/subagents/workflows/wf/agent-ag1.jsonl"),
            fk("p", Some("s"), Some("ag1"))
        );
    }

    #[test]
    fn deeper_projects_folders_are_transcripts_too() {
        // A projects folder one or more levels deeper than Claude Code's
        // (synced, archived per machine): the same three layouts.
        assert_eq!(
            kind("/r/laptop/-home-me/6f1c.jsonl"),
            fk("-home-me", Some("6f1c"), None)
        );
        assert_eq!(
            kind("/r/a/b/c/-home-me/6f1c/subagents/agent-x.jsonl"),
            fk("-home-me", Some("6f1c"), Some("x"))
        );
        assert_eq!(
            kind("/r/a/-home-me/agent-y.jsonl"),
            fk("-home-me", None, Some("y"))
        );
    }

    #[test]
    fn not_transcripts_say_why() {
        assert_eq!(kind("/r/top.jsonl"), Err(Skip::NotInProject));
        assert_eq!(kind("/r/p/notes.txt"), Err(Skip::NotJsonl));
        assert_eq!(kind("/elsewhere/p/s.jsonl"), Err(Skip::OutsideRoots));
        assert_eq!(kind("/r/p/agent-x.meta.json"), Err(Skip::NotJsonl));
        assert_eq!(
            kind("/r/p/s1/tool-results/out.jsonl"),
            Err(Skip::ToolResult)
        );
        assert_eq!(
            kind("/r/p/s1/subagents/workflows/w/journal.jsonl"),
            Err(Skip::NotASubagent)
        );
        for s in [
            Skip::OutsideRoots,
            Skip::NotJsonl,
            Skip::NotInProject,
            Skip::ToolResult,
            Skip::NotASubagent,
            Skip::NotUtf8,
        ] {
            assert!(!s.reason().is_empty());
        }
    }

    #[test]
    fn walk_goes_deep_but_not_through_links_and_counts_what_is_too_deep() {
        let tmp = tempfile::tempdir().unwrap();
        let r = tmp.path();
        let mut deep = r.to_path_buf();
        for i in 0..MAX_DEPTH + 2 {
            deep = deep.join(format!("d{i}"));
        }
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::write(deep.join("x.jsonl"), "").unwrap();
        let mid = r.join("d0/d1/d2");
        std::fs::write(mid.join("s.jsonl"), "").unwrap();
        std::os::unix::fs::symlink(r, r.join("d0/loop")).unwrap();
        let w = walk(r);
        assert_eq!(w.files, vec![mid.join("s.jsonl")]);
        assert_eq!(w.too_deep, 1);
    }
}
