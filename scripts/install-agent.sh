#!/usr/bin/env bash
# Installs the pinned Codex CLI or Gemini CLI from npm into a cache folder
# shared by test runs, and prints the path of its executable.
# Usage: scripts/install-agent.sh codex|gemini. Idempotent: with the
# package present it does no network work.
set -euo pipefail
case "${1:-}" in
  codex) version="${CODEX_VERSION:-0.171.0}"; package=@openai/codex ;;
  gemini) version="${GEMINI_CLI_VERSION:-0.61.0}"; package=@google/gemini-cli ;;
  *) echo "usage: $0 codex|gemini" >&2; exit 2 ;;
esac
cache="${AGENTD_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/agentd-tests}"
prefix="$cache/$1-$version"
bin="$prefix/node_modules/.bin/$1"
if [ ! -x "$bin" ]; then
  mkdir -p "$prefix"
  npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error "$package@$version" >&2
fi
"$bin" --version >&2
echo "$bin"
