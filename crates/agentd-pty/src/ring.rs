//! A terminal's output buffer: the last `cap` bytes of everything written,
//! each byte known by its offset in the whole stream.

use std::collections::VecDeque;

/// The last `cap` bytes of a stream, addressed by stream offset.
#[derive(Debug)]
pub struct Ring {
    /// Offset of `buf[0]`.
    start: u64,
    buf: VecDeque<u8>,
    cap: usize,
}

impl Ring {
    /// An empty buffer keeping at most `cap` bytes.
    pub fn new(cap: usize) -> Ring {
        Ring {
            start: 0,
            buf: VecDeque::new(),
            cap,
        }
    }

    /// Offset one past the last byte.
    pub fn end(&self) -> u64 {
        self.start + self.buf.len() as u64
    }

    /// Offset of the oldest byte kept.
    pub fn start(&self) -> u64 {
        self.start
    }

    /// Appends `bytes`, dropping the oldest past the cap.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend(bytes);
        let over = self.buf.len().saturating_sub(self.cap);
        if over > 0 {
            self.buf.drain(..over);
            self.start += over as u64;
        }
    }

    /// The bytes from `from` on (from the oldest kept when `from` is older;
    /// none when it is past the end), and the offset they start at.
    pub fn since(&self, from: u64) -> (u64, Vec<u8>) {
        let from = from.clamp(self.start, self.end());
        let skip = (from - self.start) as usize;
        (from, self.buf.iter().skip(skip).copied().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_cap_bytes_by_offset() {
        let mut r = Ring::new(5);
        r.push(b"abc");
        assert_eq!(r.since(0), (0, b"abc".to_vec()));
        r.push(b"defg");
        assert_eq!((r.start(), r.end()), (2, 7));
        assert_eq!(r.since(0), (2, b"cdefg".to_vec()), "older than kept");
        assert_eq!(r.since(4), (4, b"efg".to_vec()));
        assert_eq!(r.since(99), (7, Vec::new()), "past the end");
    }

    #[test]
    fn any_split_of_writes_keeps_the_same_tail() {
        let data: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
        for chunk in [1, 7, 64, 1000, 3000] {
            let mut r = Ring::new(1024);
            for c in data.chunks(chunk) {
                r.push(c);
            }
            assert_eq!(r.end(), 3000);
            assert_eq!(
                r.since(0).1,
                data[3000 - 1024..].to_vec(),
                "chunks of {chunk}"
            );
        }
    }
}
