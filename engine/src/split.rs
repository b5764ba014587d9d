//! Where an input may be cut into chunks that are counted independently.
//!
//! A cut is safe when no token (and, for `spark`, no line) straddles it, so counting
//! the chunks separately gives exactly the counts of the whole. Cuts always fall just
//! after an ASCII byte, which is never inside a UTF-8 sequence, so decoding each chunk
//! (invalid sequences included) also matches decoding the whole.

use crate::options::TokenizerKind;
use crate::tokenize::is_ascii_space;

/// How far to look for a newline before settling for a cut between tokens.
const SCAN: usize = 64 * 1024;

/// Whether a cut just after `data[i]` is safe for `kind`, not counting newlines.
#[inline]
fn token_cut_after(data: &[u8], i: usize, kind: TokenizerKind) -> bool {
    match kind {
        // Lines are values: only a newline ends one.
        TokenizerKind::Spark => false,
        TokenizerKind::Whitespace => is_ascii_space(data[i]),
        // After whitespace and before an ASCII non-space, so that a whitespace run
        // (which a following combining mark would join) is never split.
        TokenizerKind::Words => {
            is_ascii_space(data[i])
                && data
                    .get(i + 1)
                    .is_none_or(|&b| b < 0x80 && !is_ascii_space(b))
        }
    }
}

/// The first safe cut at or after `pos` (`data.len()` when there is none).
/// Prefers ending at a newline within reach.
pub(crate) fn cut_at_or_after(data: &[u8], pos: usize, kind: TokenizerKind) -> usize {
    let mut from = pos;
    while from < data.len() {
        let to = (from + SCAN).min(data.len());
        if let Some(i) = memchr::memchr(b'\n', &data[from..to]) {
            return from + i + 1;
        }
        if let Some(i) = (from..to).find(|&i| token_cut_after(data, i, kind)) {
            return i + 1;
        }
        from = to;
    }
    data.len()
}

/// The last safe cut in `data` (a buffer read from a stream, to be continued), or
/// `None` when the whole buffer is one unfinished token or line.
pub(crate) fn last_cut(data: &[u8], kind: TokenizerKind) -> Option<usize> {
    if let Some(i) = memchr::memrchr(b'\n', data) {
        return Some(i + 1);
    }
    // The byte after the last one is unknown yet, so a Words cut needs a successor.
    (0..data.len().saturating_sub(1))
        .rev()
        .find(|&i| token_cut_after(data, i, kind))
        .map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newlines_are_preferred() {
        let data = b"aa bb\ncc dd\n";
        assert_eq!(cut_at_or_after(data, 1, TokenizerKind::Whitespace), 6);
        assert_eq!(cut_at_or_after(data, 6, TokenizerKind::Whitespace), 6 + 6);
        assert_eq!(last_cut(data, TokenizerKind::Spark), Some(12));
    }

    #[test]
    fn long_lines_are_cut_between_tokens_except_for_spark() {
        let line = "word ".repeat(40_000); // 200 kB, no newline
        let data = line.as_bytes();
        let ws = cut_at_or_after(data, 10, TokenizerKind::Whitespace);
        assert_eq!(ws, 10 + 5); // just after the space at 14
        assert_eq!(cut_at_or_after(data, 10, TokenizerKind::Spark), data.len());
        let words = cut_at_or_after(data, 10, TokenizerKind::Words);
        assert_eq!(&data[words - 1..words + 1], b" w");
        assert_eq!(last_cut(data, TokenizerKind::Spark), None);
        assert_eq!(last_cut(b"abc", TokenizerKind::Whitespace), None);
        assert_eq!(last_cut(b"a  b", TokenizerKind::Words), Some(3));
    }
}
