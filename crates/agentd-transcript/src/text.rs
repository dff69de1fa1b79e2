//! Text extraction helpers: bounded accumulation, tool summaries, prompts.

use serde_json::Value;

/// Accumulates text pieces separated by newlines, up to a byte budget (cut
/// on a char boundary).
pub(crate) struct Bounded {
    out: String,
    max: usize,
}

impl Bounded {
    pub(crate) fn new(max: usize) -> Bounded {
        Bounded {
            out: String::new(),
            max,
        }
    }

    pub(crate) fn full(&self) -> bool {
        self.out.len() >= self.max
    }

    pub(crate) fn push(&mut self, s: &str) {
        let s = s.trim();
        if s.is_empty() || self.full() {
            return;
        }
        if !self.out.is_empty() {
            self.out.push('\n');
        }
        let room = self.max.saturating_sub(self.out.len());
        let mut cut = s.len().min(room);
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        self.out.push_str(&s[..cut]);
    }

    pub(crate) fn len(&self) -> usize {
        self.out.len()
    }

    pub(crate) fn finish(self) -> String {
        self.out
    }
}

/// Every string leaf of `v` (keys skipped), depth first.
pub(crate) fn strings_of(v: &Value, out: &mut Bounded) {
    if out.full() {
        return;
    }
    match v {
        Value::String(s) => out.push(s),
        Value::Array(a) => a.iter().for_each(|x| strings_of(x, out)),
        Value::Object(o) => o.values().for_each(|x| strings_of(x, out)),
        _ => {}
    }
}

/// One line saying what a tool call does: the Bash command, the file of an
/// Edit/Write/Read, the pattern of a Grep/Glob, the URL, the subagent task.
pub(crate) fn tool_summary(name: &str, input: &Value) -> String {
    let field = |k: &str| input.get(k).and_then(Value::as_str);
    let pick = match name {
        "Bash" => field("command"),
        "Edit" | "MultiEdit" | "Write" | "Read" | "NotebookEdit" => {
            field("file_path").or(field("notebook_path"))
        }
        "Grep" | "Glob" => field("pattern"),
        "WebFetch" => field("url"),
        "WebSearch" => field("query"),
        "Task" | "Agent" => field("description").or(field("prompt")),
        _ => None,
    };
    let s = match pick {
        Some(s) => s.to_owned(),
        None => {
            let mut b = Bounded::new(200);
            strings_of(input, &mut b);
            b.finish()
        }
    };
    agentd_core::text::truncate(&agentd_core::text::fold(&s), 161)
}

/// Whether user text is a prompt a person typed, not a slash command's
/// echo, a hook's note, an interrupt marker or a warm-up (reference §4.5).
pub fn is_prompt_text(s: &str) -> bool {
    let s = s.trim_start();
    const NOT_TYPED: &[&str] = &[
        "<command-name>",
        "<command-message>",
        "<command-args>",
        "<local-command-stdout>",
        "<local-command-stderr>",
        "<local-command-caveat>",
        "<session-start-hook>",
        "<ide_opened_file>",
        "<ide_selection>",
        "<system-reminder>",
        "<bash-input>",
        "<bash-stdout>",
        "<bash-stderr>",
        "<user-prompt-submit-hook>",
        "[Request interrupted",
        "Caveat: The messages below",
    ];
    !s.is_empty() && s != "Warmup" && !NOT_TYPED.iter().any(|p| s.starts_with(p))
}
