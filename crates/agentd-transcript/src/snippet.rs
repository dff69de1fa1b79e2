//! Search terms and highlighted snippets.

/// Most words of a query that count.
pub const MAX_TERMS: usize = 32;

/// The words of a search query, lower-cased: runs of letters and digits
/// (as SQLite FTS5's `unicode61` tokenizer sees them), at most
/// [`MAX_TERMS`]. Everything else — quotes, operators, punctuation —
/// separates words, so no query is a syntax error.
pub fn query_terms(query: &str) -> Vec<String> {
    let mut terms: Vec<String> = Vec::new();
    for w in query.split(|c: char| !c.is_alphanumeric()) {
        if terms.len() >= MAX_TERMS {
            break;
        }
        if w.is_empty() {
            continue;
        }
        let w = w.to_lowercase();
        if !terms.contains(&w) {
            terms.push(w);
        }
    }
    terms
}

/// An excerpt of `text` of about `width` characters around the first place
/// where a term starts a word, with every term occurrence wrapped in `«…»`
/// and whitespace folded to single spaces. Without a match: the start of
/// `text`.
pub fn snippet(text: &str, terms: &[String], width: usize) -> String {
    let folded: Vec<char> = agentd_core::text::fold(text).chars().collect();
    let lower: Vec<char> = folded
        .iter()
        .map(|c| c.to_lowercase().next().unwrap_or(*c))
        .collect();
    let term_chars: Vec<Vec<char>> = terms.iter().map(|t| t.chars().collect()).collect();
    let hit_at = |i: usize| -> Option<usize> {
        if i > 0 && lower[i - 1].is_alphanumeric() {
            return None;
        }
        term_chars
            .iter()
            .filter(|t| !t.is_empty() && lower[i..].starts_with(t))
            .map(Vec::len)
            .max()
    };
    let first = (0..lower.len()).find(|&i| hit_at(i).is_some());
    let start = first.map_or(0, |i| i.saturating_sub(width / 3));
    let end = (start + width).min(folded.len());
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    let mut i = start;
    while i < end {
        match hit_at(i) {
            Some(n) => {
                let stop = (i + n).min(folded.len());
                out.push('«');
                out.extend(&folded[i..stop]);
                out.push('»');
                i = stop;
            }
            None => {
                out.push(folded[i]);
                i += 1;
            }
        }
    }
    if end < folded.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn terms_ignore_syntax() {
        assert_eq!(
            query_terms(r#"fix "the" Migration NEAR(x) -- *"#),
            vec!["fix", "the", "migration", "near", "x"]
        );
        assert!(query_terms("\"*()").is_empty());
    }

    #[test]
    fn snippet_marks_every_word_start_hit() {
        let s = snippet(
            "We fixed the migration.\nThe migrations run now; remigrate not.",
            &["migration".into()],
            200,
        );
        assert_eq!(
            s,
            "We fixed the «migration». The «migration»s run now; remigrate not."
        );
    }

    #[test]
    fn snippet_centres_on_the_first_hit() {
        let text = format!("{} needle {}", "a ".repeat(200), "b ".repeat(200));
        let s = snippet(&text, &["needle".into()], 40);
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
        assert!(s.contains("«needle»"), "{s}");
    }

    proptest! {
        #[test]
        fn snippets_are_bounded_and_mark_only_terms(text in "\\PC{0,300}", q in "\\PC{0,20}", w in 0usize..100) {
            // The marks are agentd's; text that has its own is not this test's.
            proptest::prop_assume!(!text.contains(['«', '»', '…']));
            let terms = query_terms(&q);
            let s = snippet(&text, &terms, w);
            // About `width` characters: the excerpt, plus the marks and
            // ellipses around it.
            let marks = s.matches('«').count();
            proptest::prop_assert_eq!(marks, s.matches('»').count());
            let plain = s.chars().filter(|c| !matches!(c, '«' | '»' | '…')).count();
            proptest::prop_assert!(plain <= w.max(1) + 2 * terms.iter().map(|t| t.chars().count()).max().unwrap_or(0) + 2,
                "{plain} chars for width {w}: {s:?}");
            proptest::prop_assert!(!s.contains('\n'));
        }
    }
}
