//! Any bytes as a transcript line: a record or an error, never a panic;
//! searchable text bounded; snippets of it never panic either.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(r) = agentd_transcript::parse_line(data) {
        assert!(r.text.len() <= agentd_transcript::MAX_TEXT_BYTES);
        assert!(r.prose_len <= r.text.len());
        let terms = agentd_transcript::query_terms(&String::from_utf8_lossy(data));
        let _ = agentd_transcript::snippet(&r.text, &terms, 80);
    }
});
