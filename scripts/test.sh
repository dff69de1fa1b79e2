#!/usr/bin/env bash
# Runs every check: formatting, clippy, and all unit, integration and
# end-to-end tests (the latter drive the real Claude Code CLI in tmux).
# Installs what the end-to-end tests need when it is missing: tmux,
# chromium and postgresql (Debian packages), the pinned Claude Code, Codex CLI,
# Gemini CLI and ccusage (npm, cached between runs), and the pinned Python clients of the network faces and
# Playwright (PyPI, in a venv).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v tmux >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq >&2 && apt-get install -y -qq tmux >&2
  else
    echo "tmux is needed by the end-to-end tests: install it (apt-get install tmux)" >&2
    exit 1
  fi
fi
# The web UI's browser tests drive Debian's Chromium (Playwright never
# downloads a browser here).
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq >&2 && apt-get install -y -qq chromium >&2
  else
    echo "chromium is needed by the web UI's browser tests: install it (apt-get install chromium)" >&2
    exit 1
  fi
fi
# Desktop notifications: the tests start their own session bus.
if ! command -v dbus-daemon >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq >&2 && apt-get install -y -qq dbus-daemon >&2
  else
    echo "dbus-daemon is needed by the desktop-notification test: install it (apt-get install dbus-daemon)" >&2
    exit 1
  fi
fi
# HQ's team-scale store: the tests start their own PostgreSQL clusters
# with Debian's server binaries.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq >&2 && apt-get install -y -qq postgresql >&2
  else
    echo "PostgreSQL's server is needed by HQ's tests: install it (apt-get install postgresql)" >&2
    exit 1
  fi
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "npm is needed to install the pinned Claude Code CLI" >&2
  exit 1
fi

AGENTD_CLAUDE_BIN="$(scripts/install-claude-code.sh)"
export AGENTD_CLAUDE_BIN
# The other agents the end-to-end tests drive (offline, against local fakes
# of their model APIs).
AGENTD_CODEX_BIN="$(scripts/install-agent.sh codex)"
AGENTD_GEMINI_BIN="$(scripts/install-agent.sh gemini)"
export AGENTD_CODEX_BIN AGENTD_GEMINI_BIN
# The peer the usage reports are cross-checked against.
AGENTD_CCUSAGE_BIN="$(scripts/install-ccusage.sh)"
export AGENTD_CCUSAGE_BIN
# Python clients of the network faces (GraphQL subscriptions).
if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq >&2 && apt-get install -y -qq python3 python3-venv >&2
  fi
fi
AGENTD_PYTHON="$(scripts/install-py-clients.sh)"
export AGENTD_PYTHON
# npm clients (the MCP TypeScript SDK), and the Claude Code with the agent
# view (`claude --bg`, PreSkillShellCommand) beside the pinned one; the
# tests install them too, this only does it up front.
scripts/install-node-clients.sh >/dev/null
CLAUDE_CODE_VERSION=2.1.332 scripts/install-claude-code.sh >/dev/null

# The web UI's vendored front-end files are the pinned packages' own.
scripts/vendor-web.sh --check >&2
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
# One summary line at the end: the last lines cargo prints are the (empty)
# doc-test runs, which would read as "ran no test".
log="$(mktemp)"
# Tests that need the shared fixture corpus append `SKIPPED: <why>` here
# when a bare clone has none (never under CI=true); they are counted apart.
AGENTD_SKIP_LOG="$(mktemp)"
export AGENTD_SKIP_LOG
trap 'rm -f "$log" "$AGENTD_SKIP_LOG"' EXIT
set +e
# --no-fail-fast: every test binary runs even after one fails, so one run
# shows every failure.
cargo test --workspace --no-fail-fast 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
sort -u "$AGENTD_SKIP_LOG" >&2
skipped=$(sort -u "$AGENTD_SKIP_LOG" | awk 'END { print NR }')
awk -v skipped="$skipped" '/^test result:/ { passed += $4; failed += $6 } END { printf "%d passed, %d failed, %d skipped\n", passed - skipped, failed, skipped }' "$log"
exit "$status"
