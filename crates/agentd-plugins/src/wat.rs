//! Plugins written in WebAssembly text, the ABI at its smallest: what the
//! tests load (no wasm toolchain needed), and a reference for authors of
//! other languages' SDKs.

/// `s` as the body of a WAT string literal.
fn escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'"' | b'\\' => format!("\\{}", b as char),
            0x20..=0x7e => (b as char).to_string(),
            _ => format!("\\{b:02x}"),
        })
        .collect()
}

/// The module head every example shares: its memory (`pages` of 64 KiB,
/// at least 2: the first holds data, the heap starts at the second) and a
/// bump allocator (each call is a fresh instance, so nothing is freed).
fn head(pages: u32) -> String {
    format!(
        r#"(memory (export "memory") {pages})
  (global $heap (mut i32) (i32.const 65536))
  (func (export "agentd_alloc") (param $n i32) (result i32) (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (local.get $n)))
    (local.get $p))"#
    )
}

/// A `decide` plugin answering `answer` (JSON) when the call's JSON
/// contains `needle`, and abstaining otherwise.
pub fn match_policy(needle: &str, answer: &str) -> String {
    let (n, a) = (needle.len(), answer.len());
    format!(
        r#"(module
  {head}
  (data (i32.const 1024) "{needle}")
  (data (i32.const 8192) "{answer}")
  (func $at (param $i i32) (result i32) (local $k i32)
    (loop $cmp
      (if (i32.ge_u (local.get $k) (i32.const {n})) (then (return (i32.const 1))))
      (if (i32.ne (i32.load8_u (i32.add (local.get $i) (local.get $k)))
                  (i32.load8_u (i32.add (i32.const 1024) (local.get $k))))
        (then (return (i32.const 0))))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br $cmp))
    (i32.const 0))
  (func (export "decide") (param $p i32) (param $len i32) (result i64) (local $i i32) (local $last i32)
    (if (i32.lt_u (local.get $len) (i32.const {n})) (then (return (i64.const 0))))
    (local.set $last (i32.add (local.get $p) (i32.sub (local.get $len) (i32.const {n}))))
    (local.set $i (local.get $p))
    (loop $scan
      (if (call $at (local.get $i))
        (then (return (i64.or (i64.shl (i64.const 8192) (i64.const 32)) (i64.const {a})))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $scan (i32.le_u (local.get $i) (local.get $last))))
    (i64.const 0)))
"#,
        head = head(4),
        needle = escape(needle),
        answer = escape(answer),
    )
}

/// A `decide` plugin that never returns.
pub fn spin() -> String {
    format!(
        r#"(module
  {head}
  (func (export "decide") (param i32 i32) (result i64)
    (loop $forever (br $forever))
    (i64.const 0)))
"#,
        head = head(2)
    )
}

/// A plugin whose `decide` hands back the host's answer to `request` (a
/// JSON `agentd::call` request), and whose `on_event` logs it and asks for
/// no effects: a probe of the host functions.
pub fn host_probe(request: &str) -> String {
    let n = request.len();
    format!(
        r#"(module
  (import "agentd" "call" (func $call (param i32 i32) (result i64)))
  (import "agentd" "log" (func $log (param i32 i32)))
  {head}
  (data (i32.const 1024) "{request}")
  (func (export "decide") (param i32 i32) (result i64)
    (call $log (i32.const 1024) (i32.const {n}))
    (call $call (i32.const 1024) (i32.const {n})))
  (func (export "on_event") (param i32 i32) (result i64) (local $r i64)
    (local.set $r (call $call (i32.const 1024) (i32.const {n})))
    (call $log (i32.wrap_i64 (i64.shr_u (local.get $r) (i64.const 32))) (i32.wrap_i64 (local.get $r)))
    (i64.const 0)))
"#,
        head = head(2),
        request = escape(request),
    )
}

/// An `on_event` plugin answering `answer` (JSON, e.g. `{"effects": […]}`)
/// to every event it is told of.
pub fn constant_effects(answer: &str) -> String {
    format!(
        r#"(module
  {head}
  (data (i32.const 1024) "{answer}")
  (func (export "on_event") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const {n}))))
"#,
        head = head(2),
        answer = escape(answer),
        n = answer.len(),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn strings_are_escaped_for_wat() {
        assert_eq!(super::escape(r#"{"a":"\"}"#), r#"{\"a\":\"\\\"}"#);
        assert_eq!(super::escape("é"), "\\c3\\a9");
    }
}
