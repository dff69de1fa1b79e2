#!/usr/bin/env bash
# Refreshes the web UI's vendored front-end dependencies from the npm
# registry: pinned versions, their ES-module builds and their licences, into
# crates/agentd-daemon/web/vendor/ (committed; `cargo build` needs neither
# npm nor the network). Run it after changing a version below, then commit
# the result. `--check` verifies the committed files match instead.
# (preact + htm: components; graphql-ws: subscriptions; uplot: charts;
# xterm.js + its fit addon: terminals.)
set -euo pipefail
cd "$(dirname "$0")/.."
PREACT=11.2.0
HTM=3.1.1
GRAPHQL_WS=6.0.6
UPLOT=1.6.32
XTERM=6.0.0
XTERM_FIT=0.11.0
out=crates/agentd-daemon/web/vendor
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(
  cd "$work"
  npm init -y >/dev/null
  npm install --silent --no-audit --no-fund --ignore-scripts \
    "preact@$PREACT" "htm@$HTM" "graphql-ws@$GRAPHQL_WS" "uplot@$UPLOT" \
    "@xterm/xterm@$XTERM" "@xterm/addon-fit@$XTERM_FIT" >&2
)
m="$work/node_modules"
new="$work/vendor"
mkdir -p "$new"
cp "$m/preact/dist/preact.mjs" "$new/preact.js"
# Served as .js (a JavaScript MIME type for module scripts). Hooks imports
# the bare specifier "preact"; a browser without an import
# map (the CSP forbids inline scripts) needs a relative path.
sed 's#from"preact"#from"./preact.js"#g' "$m/preact/hooks/dist/hooks.mjs" > "$new/preact-hooks.js"
cp "$m/preact/LICENSE" "$new/preact.LICENSE.txt"
cp "$m/htm/dist/htm.mjs" "$new/htm.js"
cp "$m/htm/LICENSE" "$new/htm.LICENSE.txt"
common="$(cd "$m/graphql-ws/dist" && ls common-*.js)"
sed "s#'./$common'#'./graphql-ws-common.js'#g" "$m/graphql-ws/dist/client.js" > "$new/graphql-ws.js"
cp "$m/graphql-ws/dist/$common" "$new/graphql-ws-common.js"
cp "$m/graphql-ws/LICENSE.md" "$new/graphql-ws.LICENSE.txt"
cp "$m/uplot/dist/uPlot.esm.js" "$new/uplot.js"
cp "$m/uplot/dist/uPlot.min.css" "$new/uplot.css"
cp "$m/uplot/LICENSE" "$new/uplot.LICENSE.txt"
cp "$m/@xterm/xterm/lib/xterm.mjs" "$new/xterm.js"
cp "$m/@xterm/xterm/css/xterm.css" "$new/xterm.css"
cp "$m/@xterm/xterm/LICENSE" "$new/xterm.LICENSE.txt"
cp "$m/@xterm/addon-fit/lib/addon-fit.mjs" "$new/xterm-addon-fit.js"
cp "$m/@xterm/addon-fit/LICENSE" "$new/xterm-addon-fit.LICENSE.txt"
# Strip source-map comments: the maps are not vendored.
sed -i '/^\/\/# sourceMappingURL=/d' "$new"/*.js
cat > "$new/VERSIONS.txt" <<V
preact $PREACT (MIT)
htm $HTM (Apache-2.0)
graphql-ws $GRAPHQL_WS (MIT)
uplot $UPLOT (MIT)
@xterm/xterm $XTERM (MIT)
@xterm/addon-fit $XTERM_FIT (MIT)
V
if [ "${1:-}" = "--check" ]; then
  diff -r "$new" "$out" && echo "vendored web dependencies are current"
else
  rm -rf "$out"
  cp -r "$new" "$out"
  echo "vendored into $out" >&2
fi
