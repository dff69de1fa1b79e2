//! The real Codex CLI and Gemini CLI in tests: the pinned binaries, an
//! isolated user (HOME, the agent's config pointing at a local fake of its
//! model API, agentd's hooks installed by `agentd install --agent`), and a
//! one-shot prompt.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use fake_models::{FakeModels, Script};

use super::agentd_cmd;

/// The pinned executable of `agent` (`codex` or `gemini`):
/// `$AGENTD_<AGENT>_BIN`, else installed (and cached) by
/// `scripts/install-agent.sh`.
pub fn agent_bin(agent: &str) -> PathBuf {
    static CODEX: OnceLock<PathBuf> = OnceLock::new();
    static GEMINI: OnceLock<PathBuf> = OnceLock::new();
    let cell = if agent == "codex" { &CODEX } else { &GEMINI };
    cell.get_or_init(|| {
        let var = format!("AGENTD_{}_BIN", agent.to_uppercase());
        if let Some(p) = std::env::var_os(var) {
            return PathBuf::from(p);
        }
        let out = Command::new("bash")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/install-agent.sh"))
            .arg(agent)
            .stderr(Stdio::inherit())
            .output()
            .expect("run install-agent.sh");
        assert!(out.status.success(), "installing {agent} failed: {out:?}");
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
    })
    .clone()
}

/// A user of Codex CLI or Gemini CLI with agentd's hooks installed.
pub struct AgentUser {
    /// `codex` or `gemini`.
    pub agent: &'static str,
    dir: tempfile::TempDir,
    /// The project directory (canonical): the agent's cwd.
    pub project: PathBuf,
    /// The fake model API.
    pub fake: FakeModels,
}

impl AgentUser {
    /// A user of `agent` whose fake API plays `script`, with agentd's hooks
    /// installed for the daemon at `agentd_home`.
    pub fn new(agent: &'static str, agentd_home: &Path, script: Script) -> AgentUser {
        let user = AgentUser::without_hooks(agent, script);
        user.install_hooks(agentd_home);
        user
    }

    /// Installs agentd's hooks (`agentd install --agent`) for the daemon at
    /// `agentd_home`.
    pub fn install_hooks(&self, agentd_home: &Path) {
        let out = self
            .with_env(agentd_cmd(agentd_home))
            .args(["install", "--agent", self.agent])
            .output()
            .expect("agentd install");
        assert!(
            out.status.success(),
            "agentd install --agent {}: {out:?}",
            self.agent
        );
    }

    /// A user of `agent` whose fake API plays `script`, without agentd's
    /// hooks.
    pub fn without_hooks(agent: &'static str, script: Script) -> AgentUser {
        let dir = tempfile::Builder::new().prefix("agag").tempdir().unwrap();
        let project = dir.path().join("proj");
        std::fs::create_dir_all(&project).unwrap();
        let project = project.canonicalize().unwrap();
        let fake = FakeModels::start(script).expect("start the fake model API");
        let user = AgentUser {
            agent,
            dir,
            project,
            fake,
        };
        match agent {
            "codex" => {
                std::fs::create_dir_all(user.codex_home()).unwrap();
                std::fs::write(
                    user.codex_home().join("config.toml"),
                    format!(
                        "model = \"gpt-fake\"\nmodel_provider = \"fake\"\n\n[model_providers.fake]\n\
                         name = \"fake\"\nbase_url = \"{}/v1\"\nwire_api = \"responses\"\nenv_key = \"FAKE_KEY\"\n",
                        user.fake.base_url()
                    ),
                )
                .unwrap();
            }
            _ => {
                std::fs::create_dir_all(user.home().join(".gemini")).unwrap();
                std::fs::write(
                    user.home().join(".gemini/settings.json"),
                    r#"{"security": {"auth": {"selectedType": "gemini-api-key"}}}"#,
                )
                .unwrap();
                // A trusted folder: elsewhere Gemini falls back to asking.
                std::fs::write(
                    user.home().join(".gemini/trustedFolders.json"),
                    serde_json::json!({ user.project.to_string_lossy(): "TRUST_FOLDER" })
                        .to_string(),
                )
                .unwrap();
            }
        }
        user
    }

    /// The user's HOME.
    pub fn home(&self) -> &Path {
        self.dir.path()
    }

    /// `CODEX_HOME`.
    pub fn codex_home(&self) -> PathBuf {
        self.home().join(".codex")
    }

    /// Where the agent writes its transcripts: Codex's `sessions/`,
    /// Gemini's `tmp/`.
    pub fn transcripts(&self) -> PathBuf {
        match self.agent {
            "codex" => self.codex_home().join("sessions"),
            _ => self.home().join(".gemini/tmp"),
        }
    }

    /// `cmd` with this user's environment.
    pub fn with_env(&self, mut cmd: Command) -> Command {
        cmd.env("HOME", self.home())
            .env("CODEX_HOME", self.codex_home())
            .env("FAKE_KEY", "sk-fake")
            .env("GEMINI_API_KEY", "fake-key")
            .env("GOOGLE_GEMINI_BASE_URL", self.fake.base_url())
            .env_remove("GEMINI_CLI_HOME")
            .env_remove("CLAUDE_PID")
            .env_remove("CLAUDE_PROJECT_DIR")
            .env("NO_COLOR", "1")
            .env("CI", "true");
        cmd
    }

    /// Runs one prompt non-interactively and waits for the agent to exit.
    pub fn prompt(&self, prompt: &str) -> Output {
        self.command(prompt).output().expect("run the agent")
    }

    /// The command running one prompt non-interactively (stdout and stderr
    /// piped).
    pub fn command(&self, prompt: &str) -> Command {
        self.command_in(prompt, false)
    }

    /// [`AgentUser::command`] continuing the project's latest session
    /// (`codex exec resume --last`, `gemini --resume latest`).
    pub fn resume_command(&self, prompt: &str) -> Command {
        self.command_in(prompt, true)
    }

    fn command_in(&self, prompt: &str, resume: bool) -> Command {
        let bin = agent_bin(self.agent);
        let mut cmd = self.with_env(Command::new(bin));
        match self.agent {
            "codex" => {
                cmd.args([
                    "exec",
                    "--skip-git-repo-check",
                    "--dangerously-bypass-hook-trust",
                    "--dangerously-bypass-approvals-and-sandbox",
                ]);
                if resume {
                    cmd.args(["resume", "--last"]);
                }
                cmd.arg(prompt)
            }
            _ => {
                cmd.args(["-m", "gemini-2.5-flash", "--yolo"]);
                if resume {
                    cmd.args(["--resume", "latest"]);
                }
                cmd.args(["-p", prompt])
            }
        };
        cmd.current_dir(&self.project)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }
}
