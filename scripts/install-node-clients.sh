#!/usr/bin/env bash
# Installs the pinned npm clients the end-to-end tests talk to agentd with
# (nobody here wrote them): the official MCP TypeScript SDK. A folder in the
# test cache; prints its node_modules. Idempotent: with the packages present
# it does no network work.
set -euo pipefail
cache="${AGENTD_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/agentd-tests}"
prefix="$cache/node-clients-1"
if [ ! -f "$prefix/node_modules/@modelcontextprotocol/sdk/package.json" ]; then
  mkdir -p "$prefix"
  npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error \
    "@modelcontextprotocol/sdk@1.32.2" >&2
fi
echo "$prefix/node_modules"
