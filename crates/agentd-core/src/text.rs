//! Neutralising untrusted text (tool inputs, prompts, paths) for terminals.

/// Returns `s` safe to print on one terminal line: newlines and tabs become a
/// space, and every other control character (C0, DEL, C1 — so ESC and with it
/// every escape sequence) becomes a visible `\xNN` escape.
pub fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
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
    fn truncate_counts_chars() {
        assert_eq!(truncate("héllo", 10), "héllo");
        assert_eq!(truncate("héllo", 3), "hé…");
    }
}
