//! Neutralising untrusted text (tool inputs, prompts, paths) for terminals.

/// Whether `c` reorders or hides text on a terminal: the Unicode bidi
/// embedding, override and isolate controls, the directional marks, and
/// the invisible separators (U+2028/2029). Printed raw, `U+202E` makes
/// `exe.txt` read as `txt.exe`: "Trojan Source", CVE-2021-42574.
pub fn is_bidi_or_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{061C}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}'
    )
}

/// Whether `c` must never reach a terminal raw: a control character (C0,
/// DEL, C1 — ESC and with it every escape sequence, CSI U+009B) or a bidi
/// control ([`is_bidi_or_invisible`]).
pub fn is_unsafe_for_terminal(c: char) -> bool {
    c.is_control() || is_bidi_or_invisible(c)
}

/// Returns `s` safe to print on one terminal line: newlines and tabs become a
/// space, every other control character (C0, DEL, C1 — so ESC and with it
/// every escape sequence) becomes a visible `\xNN` escape, and bidi
/// controls a visible `\u{NNNN}`.
pub fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if is_bidi_or_invisible(c) => {
                out.push_str(&format!("\\u{{{:04x}}}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

/// JSON text with every character a terminal would obey written as a
/// `\uNNNN` escape instead (C1 controls such as CSI U+009B, bidi controls):
/// serde_json escapes only C0. In JSON such characters can only occur
/// inside strings, where the escape means the same character, so the
/// document is unchanged for a parser.
pub fn json_for_terminal(json: &str) -> std::borrow::Cow<'_, str> {
    if !json.chars().any(is_unsafe_for_terminal) {
        return std::borrow::Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        // Newlines and tabs outside strings are pretty-printing.
        if is_unsafe_for_terminal(c) && !matches!(c, '\n' | '\t' | '\r') {
            let mut buf = [0u16; 2];
            for unit in c.encode_utf16(&mut buf) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// One line standing for possibly many: the first non-empty line of `s`,
/// neutralised and cut to `max` characters (ending `…` when cut), followed
/// by ` ⏎ +N lines` when more lines follow — so a command that runs
/// several lines never reads as one (`cargo publish --dry-run` then `rm -rf
/// target` must not look like `cargo publish --dry-run rm -rf target`).
pub fn first_line_marked(s: &str, max: usize) -> String {
    let all = lines(s.trim_matches(['\n', '\r']));
    let first = all.first().map(String::as_str).unwrap_or("");
    let more = all.len().saturating_sub(1);
    if more == 0 {
        return truncate(first, max);
    }
    let marker = format!(" ⏎ +{more} line{}", if more == 1 { "" } else { "s" });
    let room = max.saturating_sub(marker.chars().count()).max(8);
    format!("{}{marker}", truncate(first, room))
}

/// Like [`one_line`], but keeps line breaks: for text a human must read
/// whole before deciding (a multi-line command), where folding lines would
/// hide what runs. Each line is neutralised; `\r\n` and `\r` count as
/// line breaks.
pub fn lines(s: &str) -> Vec<String> {
    s.split('\n')
        .map(|l| one_line(l.strip_suffix('\r').unwrap_or(l)))
        .collect()
}

/// `s` with every run of whitespace (newlines included) folded into one
/// space, trimmed.
pub fn fold(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Shortens `s` to at most `max` characters, ending with `…` when cut.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_neutralised() {
        assert_eq!(one_line("a\x1b[31mb\u{9b}c\nd"), "a\\x1b[31mb\\x9bc d");
    }

    #[test]
    fn a_multi_line_command_never_reads_as_one_line() {
        let s = first_line_marked("cargo publish --dry-run\nrm -rf target", 60);
        assert_eq!(s, "cargo publish --dry-run ⏎ +1 line");
        assert_eq!(first_line_marked("ls", 60), "ls");
        assert_eq!(first_line_marked("a\nb\nc\n", 60), "a ⏎ +2 lines");
        let long = first_line_marked(&format!("{}\nx", "y".repeat(100)), 40);
        assert!(
            long.chars().count() <= 40 && long.contains('…') && long.ends_with("+1 line"),
            "{long}"
        );
    }

    #[test]
    fn bidi_controls_are_shown_not_obeyed() {
        assert_eq!(one_line("ab\u{202e}txt.exe"), "ab\\u{202e}txt.exe");
        assert_eq!(one_line("\u{2066}x\u{2069}"), "\\u{2066}x\\u{2069}");
        assert_eq!(lines("a\u{202e}\nb\r\nc"), ["a\\u{202e}", "b", "c"]);
    }

    #[test]
    fn json_for_terminals_escapes_c1_and_bidi_and_stays_the_same_document() {
        let v = serde_json::json!({"k\u{9b}": "a\u{9b}31m\u{202e}b", "n": [1, "\u{2066}"]});
        let raw = serde_json::to_string_pretty(&v).unwrap();
        let safe = json_for_terminal(&raw);
        assert!(
            safe.contains("\\u009b") && safe.contains("\\u202e"),
            "{safe}"
        );
        assert!(!safe.chars().any(|c| is_unsafe_for_terminal(c) && c != '\n'));
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, v);
    }

    proptest::proptest! {
        #[test]
        fn nothing_unsafe_survives(s in "\\PC*|[\u{0}-\u{9f}\u{2000}-\u{206f}]*") {
            for out in std::iter::once(one_line(&s)).chain(lines(&s)) {
                proptest::prop_assert!(!out.chars().any(is_unsafe_for_terminal), "{out:?}");
            }
        }
    }

    #[test]
    fn truncate_counts_chars() {
        assert_eq!(truncate("héllo", 10), "héllo");
        assert_eq!(truncate("héllo", 3), "hé…");
    }
}
