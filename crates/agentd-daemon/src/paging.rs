//! Lists that fit a frame.
//!
//! Anything a user accumulates (sessions, approvals, usage rows, hook runs)
//! can outgrow one 1 MiB frame. A page holds whole items up to
//! [`PAGE_BYTES`] of JSON and says where the next one starts
//! (`next_offset`), so clients read any amount page by page and no result
//! is ever too big to send.

use std::ops::Range;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

/// How long a listed result stays for its next pages.
pub const CONTINUATION_TTL: Duration = Duration::from_secs(10);

/// The last whole list a client read the first page of, kept for
/// [`CONTINUATION_TTL`] so that its next pages (`offset` > 0) are slices of
/// it: building a list of thousands of sessions from the index costs far
/// more than a page, and paging by offset must not pay it per page (7 153
/// sessions took 4.9 s as 11 pages). The pages are also one consistent
/// snapshot. One slot: a second client paging another list at the same
/// time only costs a rebuild.
pub struct Continuation<T> {
    slot: Mutex<Option<Kept<T>>>,
}

/// A kept list: its key, when it was built, the items.
type Kept<T> = (String, Instant, Arc<Vec<T>>);

impl<T> Default for Continuation<T> {
    fn default() -> Self {
        Continuation {
            slot: Mutex::new(None),
        }
    }
}

impl<T> Continuation<T> {
    /// The list kept under `key`, if it is younger than the TTL.
    pub fn get(&self, key: &str) -> Option<Arc<Vec<T>>> {
        let slot = self.slot.lock().ok()?;
        let (k, at, items) = slot.as_ref()?;
        (k == key && at.elapsed() < CONTINUATION_TTL).then(|| Arc::clone(items))
    }

    /// Keeps `items` under `key` (replacing what was kept).
    pub fn put(&self, key: String, items: Arc<Vec<T>>) {
        if let Ok(mut slot) = self.slot.lock() {
            *slot = Some((key, Instant::now(), items));
        }
    }
}

/// Most bytes of items in one page: a frame less room for the envelope.
pub const PAGE_BYTES: usize = agentd_proto::MAX_FRAME_BYTES - 64 * 1024;

/// Bytes of compact JSON `item` takes, counted without building it.
fn json_len<T: Serialize>(item: &T) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut c = Count(0);
    let _ = serde_json::to_writer(&mut c, item);
    c.0
}

/// The page of `items` starting at `offset`: the range of at most `limit`
/// items and at most `budget` bytes of JSON (always at least one item,
/// which fits: no single item is larger than a stored payload), and
/// `next_offset`, where the next page starts (`None` at the end).
pub fn page<T: Serialize>(
    items: &[T],
    offset: usize,
    limit: Option<usize>,
    budget: usize,
) -> (Range<usize>, Option<usize>) {
    let start = offset.min(items.len());
    let limit = limit.unwrap_or(usize::MAX);
    let mut bytes = 2usize;
    let mut end = start;
    while end < items.len() && end - start < limit {
        let n = json_len(&items[end]) + 1;
        if end > start && bytes + n > budget {
            break;
        }
        bytes += n;
        end += 1;
    }
    (start..end, (end < items.len()).then_some(end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_stop_at_the_limit_or_the_budget_and_say_where_to_go_on() {
        let items: Vec<String> = (0..10).map(|i| format!("{i:05}")).collect(); // 7 bytes + comma
        assert_eq!(page(&items, 0, None, 1 << 20), (0..10, None));
        assert_eq!(page(&items, 0, Some(3), 1 << 20), (0..3, Some(3)));
        assert_eq!(page(&items, 3, None, 2 + 8 * 4), (3..7, Some(7)));
        assert_eq!(
            page(&items, 7, None, 1),
            (7..8, Some(8)),
            "one item always goes"
        );
        assert_eq!(page(&items, 10, None, 100), (10..10, None));
        assert_eq!(page(&items, 99, None, 100), (10..10, None));
        // Reading on from each next_offset gives every item once.
        let (mut all, mut at) = (Vec::new(), Some(0));
        while let Some(o) = at {
            let (r, n) = page(&items, o, Some(4), 30);
            all.extend_from_slice(&items[r]);
            at = n;
        }
        assert_eq!(all, items);
        assert_eq!(json_len(&"a\"b"), 6);
    }
}
