#!/usr/bin/env bash
# Installs the pinned ccusage (the peer the usage reports are cross-checked
# against) from npm into the test cache, and prints the path of its native
# executable. 20.0.24 is pinned because it is the newest version whose
# native linux-x64 package is on the registry (20.0.26's wrapper finds no
# binary). Idempotent.
set -euo pipefail
version="${CCUSAGE_VERSION:-20.0.24}"
cache="${AGENTD_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/agentd-tests}"
prefix="$cache/ccusage-$version"
bin="$prefix/node_modules/@ccusage/ccusage-linux-x64/bin/ccusage"
if [ ! -f "$bin" ]; then
  mkdir -p "$prefix"
  npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error \
    "ccusage@$version" "@ccusage/ccusage-linux-x64@$version" >&2
fi
# npm unpacks it without the executable bit.
chmod +x "$bin"
echo "$bin"
