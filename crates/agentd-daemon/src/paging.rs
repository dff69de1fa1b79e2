//! Lists that fit a frame.
//!
//! Anything a user accumulates (sessions, approvals, usage rows, hook runs)
//! can outgrow one 1 MiB frame. A page holds whole items up to
//! [`PAGE_BYTES`] of JSON and says where the next one starts
//! (`next_offset`), so clients read any amount page by page and no result
//! is ever too big to send.

use serde::Serialize;
use serde_json::Value;

/// Most bytes of items in one page: a frame less room for the envelope.
pub const PAGE_BYTES: usize = agentd_proto::MAX_FRAME_BYTES - 64 * 1024;

/// A page of `items` starting at `offset`: at most `limit` items and at
/// most `budget` bytes of JSON (always at least one item, which fits: no
/// single item is larger than a stored payload). `next_offset` is where the
/// next page starts, `None` at the end.
pub fn page<T: Serialize>(
    items: impl IntoIterator<Item = T>,
    offset: usize,
    limit: Option<usize>,
    budget: usize,
) -> (Vec<Value>, Option<usize>) {
    let limit = limit.unwrap_or(usize::MAX);
    let mut out = Vec::new();
    let mut bytes = 2usize;
    let mut next = None;
    for (i, item) in items.into_iter().enumerate().skip(offset) {
        if out.len() >= limit {
            next = Some(i);
            break;
        }
        let v = serde_json::to_value(&item).unwrap_or(Value::Null);
        let n = serde_json::to_string(&v).map_or(0, |s| s.len()) + 1;
        if !out.is_empty() && bytes + n > budget {
            next = Some(i);
            break;
        }
        bytes += n;
        out.push(v);
    }
    (out, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_stop_at_the_limit_or_the_budget_and_say_where_to_go_on() {
        let items: Vec<String> = (0..10).map(|i| format!("{i:05}")).collect(); // 7 bytes + comma
        assert_eq!(
            page(&items, 0, None, 1 << 20),
            (
                items.iter().map(|s| Value::from(s.as_str())).collect(),
                None
            )
        );
        let (p, next) = page(&items, 0, Some(3), 1 << 20);
        assert_eq!((p.len(), next), (3, Some(3)));
        let (p, next) = page(&items, 3, None, 2 + 8 * 4);
        assert_eq!((p.len(), next), (4, Some(7)));
        let (p, next) = page(&items, 7, None, 1);
        assert_eq!((p.len(), next), (1, Some(8)), "one item always goes");
        let (p, next) = page(&items, 10, None, 100);
        assert_eq!((p.len(), next), (0, None));
        // Reading on from each next_offset gives every item once.
        let (mut all, mut at) = (Vec::new(), Some(0));
        while let Some(o) = at {
            let (p, n) = page(&items, o, Some(4), 30);
            all.extend(p);
            at = n;
        }
        assert_eq!(all.len(), 10);
    }
}
