//! protect-main: asks a human before a `git push` that would update the
//! default branch, showing the diff stat of what would be pushed.

use agentd_plugin_sdk::{Decision, ToolCall, decide, git};

/// Where a `git push` command pushes: `(remote, branch)` when it names
/// them; `None` for anything that is not a push.
pub fn push_target(command: &str) -> Option<(Option<String>, Option<String>)> {
    // One command of a chain is enough: `cargo test && git push origin main`.
    for part in command.split(['&', ';', '|', '\n']) {
        let words: Vec<&str> = part.split_whitespace().collect();
        let Some(at) = words
            .windows(2)
            .position(|w| w[0] == "git" && w[1] == "push")
        else {
            continue;
        };
        let args: Vec<&str> = words[at + 2..]
            .iter()
            .copied()
            .filter(|a| !a.starts_with('-'))
            .collect();
        let remote = args.first().map(|s| (*s).to_owned());
        // `src:dst` pushes to dst; `HEAD:main` to main.
        let branch = args.get(1).map(|r| {
            r.rsplit(':')
                .next()
                .unwrap_or(r)
                .trim_start_matches("refs/heads/")
                .to_owned()
        });
        return Some((remote, branch));
    }
    None
}

fn protect(call: ToolCall) -> Decision {
    let Some(cmd) = call.command() else {
        return Decision::Abstain;
    };
    let Some((remote, branch)) = push_target(cmd) else {
        return Decision::Abstain;
    };
    let protected = call
        .setting("branch")
        .map(str::to_owned)
        .or_else(|| {
            git::default_branch()
                .ok()
                .map(|b| b.rsplit('/').next().unwrap_or(&b).to_owned())
        })
        .unwrap_or_else(|| "main".to_owned());
    let pushed = match branch {
        Some(b) => b,
        // No refspec: the current branch.
        None => match git::branch() {
            Ok(b) => b,
            Err(e) => {
                return Decision::ask(format!("git push, and the current branch is unknown ({e})"));
            }
        },
    };
    if pushed != protected {
        return Decision::Abstain;
    }
    let remote = remote.unwrap_or_else(|| "origin".to_owned());
    let stat = git::diff_stat(Some(&format!("{remote}/{protected}..HEAD")))
        .unwrap_or_else(|e| format!("(no diff stat: {e})"));
    Decision::ask(format!("git push to {protected}:\n{stat}"))
}

decide!(protect);

#[cfg(test)]
mod tests {
    use super::push_target;

    #[test]
    fn pushes_are_found_in_chains() {
        let t = |c: &str| push_target(c);
        assert_eq!(t("ls"), None);
        assert_eq!(t("git push"), Some((None, None)));
        assert_eq!(
            t("git push -u origin main"),
            Some((Some("origin".into()), Some("main".into())))
        );
        assert_eq!(
            t("cargo test && git push origin HEAD:main"),
            Some((Some("origin".into()), Some("main".into())))
        );
        assert_eq!(
            t("git push origin refs/heads/dev"),
            Some((Some("origin".into()), Some("dev".into())))
        );
        assert_eq!(t("echo git pushes"), None);
    }
}
