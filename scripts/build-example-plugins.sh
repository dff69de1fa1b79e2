#!/usr/bin/env bash
# Builds the example plugins under examples/plugins/ (Rust, with
# agentd-plugin-sdk) for wasm32-wasip1 and puts NAME.wasm + NAME.toml in
# target/example-plugins/, where plugins_e2e.rs loads them into a real
# daemon. Needs `rustup target add wasm32-wasip1` (it tries); exits 3 when
# the target cannot be installed, so the caller can tell "no toolchain"
# from a broken build.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip1; then
  rustup target add wasm32-wasip1 >&2 || exit 3
fi
out="$PWD/target/example-plugins"
mkdir -p "$out"
for dir in examples/plugins/*/; do
  name="$(basename "$dir")"
  # Each example is its own workspace; they share one target folder.
  cargo build --quiet --release --target wasm32-wasip1 \
    --manifest-path "$dir/Cargo.toml" --target-dir "$PWD/target/example-plugins-build"
  cp "target/example-plugins-build/wasm32-wasip1/release/${name//-/_}.wasm" "$out/$name.wasm"
  cp "$dir/$name.toml" "$out/$name.toml"
  # The examples' own unit tests, natively.
  cargo test --quiet --manifest-path "$dir/Cargo.toml" --target-dir "$PWD/target/example-plugins-build" >&2
done
echo "$out"
