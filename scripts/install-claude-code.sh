#!/usr/bin/env bash
# Installs the pinned Claude Code CLI from npm into a cache folder shared by test
# runs, and prints the path of its `claude` executable. Idempotent: a second run
# with the package already present does no network work.
set -euo pipefail
version="${CLAUDE_CODE_VERSION:-2.1.330}"
cache="${AGENTD_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/agentd-tests}"
prefix="$cache/claude-code-$version"
bin="$prefix/node_modules/.bin/claude"
if [ ! -x "$bin" ]; then
  mkdir -p "$prefix"
  npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error \
    "@anthropic-ai/claude-code@$version" >&2
fi
"$bin" --version >&2
echo "$bin"
