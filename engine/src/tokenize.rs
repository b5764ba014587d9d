//! Cutting text into tokens, one function per [`TokenizerKind`].
//!
//! Each takes valid UTF-8 and calls `emit` with every token, in order. ASCII text
//! takes table-driven fast paths; anything else falls back to the general Unicode
//! code, so the result never depends on which path ran.

use unicode_segmentation::UnicodeSegmentation;

use crate::options::TokenizerKind;

/// Byte classes for the ASCII fast paths, as bits: a token runs over bytes
/// without [`STOP`], and or-ing their classes tells whether one was A-Z.
const WORD: u8 = 0; // an ASCII byte that is neither whitespace nor an uppercase letter
const STOP: u8 = 1; // a byte the fast loop stops at
const SPACE: u8 = STOP; // ASCII White_Space: \t \n \v \f \r and ' '
const UPPER: u8 = 2; // A-Z
const WIDE: u8 = STOP | 4; // a byte of a multi-byte UTF-8 sequence

static CLASS: [u8; 256] = {
    let mut table = [WORD; 256];
    let mut b = 0x80;
    while b < 256 {
        table[b] = WIDE;
        b += 1;
    }
    let mut b = b'A';
    while b <= b'Z' {
        table[b as usize] = UPPER;
        b += 1;
    }
    table[b'\t' as usize] = SPACE;
    table[b'\n' as usize] = SPACE;
    table[0x0B] = SPACE;
    table[0x0C] = SPACE;
    table[b'\r' as usize] = SPACE;
    table[b' ' as usize] = SPACE;
    table
};

/// What a token is made of, as far as case folding and length go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// ASCII without an uppercase letter: already lowercase.
    AsciiLower,
    /// ASCII with at least one of A-Z.
    AsciiUpper,
    /// Anything else.
    Unicode,
}

impl Shape {
    /// The shape of `token`, by looking at each byte once.
    #[inline]
    pub(crate) fn of(token: &str) -> Self {
        let mut upper = false;
        for &b in token.as_bytes() {
            match CLASS[b as usize] {
                UPPER => upper = true,
                WIDE => return Shape::Unicode,
                _ => {}
            }
        }
        if upper {
            Shape::AsciiUpper
        } else {
            Shape::AsciiLower
        }
    }
}

/// Whether `b` is an ASCII byte that `char::is_whitespace` accepts.
#[inline]
pub(crate) fn is_ascii_space(b: u8) -> bool {
    CLASS[b as usize] == SPACE
}

/// Emits the tokens of one value (a line of a file or a column value).
#[inline]
pub(crate) fn tokenize(kind: TokenizerKind, text: &str, emit: &mut impl FnMut(&str)) {
    match kind {
        TokenizerKind::Whitespace => whitespace(text, emit),
        TokenizerKind::Words => words(text, emit),
        TokenizerKind::Spark => text.split(' ').for_each(emit),
    }
}

/// Splits on Unicode whitespace, like `str::split_whitespace`.
pub(crate) fn whitespace(text: &str, emit: &mut impl FnMut(&str)) {
    whitespace_shaped(text, &mut |token, _| emit(token));
}

/// [`whitespace`], with each token's [`Shape`], found while the token is cut
/// so that no one needs to look at its bytes again.
#[inline]
pub(crate) fn whitespace_shaped(text: &str, emit: &mut impl FnMut(&str, Shape)) {
    let bytes = text.as_bytes();
    let n = bytes.len();
    let mut i = 0;
    while i < n {
        // Skip separators.
        match CLASS[bytes[i] as usize] {
            SPACE => {
                i += 1;
                continue;
            }
            WIDE => {
                let c = char_at(text, i);
                if c.is_whitespace() {
                    i += c.len_utf8();
                    continue;
                }
            }
            _ => {}
        }
        // A token starts here and runs to the next whitespace.
        let start = i;
        let (mut seen, mut ascii) = (WORD, true);
        while i < n {
            let class = CLASS[bytes[i] as usize];
            if class & STOP == 0 {
                seen |= class;
                i += 1;
                continue;
            }
            if class == SPACE {
                break;
            }
            let c = char_at(text, i);
            if c.is_whitespace() {
                break;
            }
            ascii = false;
            i += c.len_utf8();
        }
        let upper = seen & UPPER != 0;
        let shape = match (ascii, upper) {
            (false, _) => Shape::Unicode,
            (true, true) => Shape::AsciiUpper,
            (true, false) => Shape::AsciiLower,
        };
        emit(&text[start..i], shape);
    }
}

/// The char starting at byte `i` (a char boundary of `text`).
#[inline]
fn char_at(text: &str, i: usize) -> char {
    text[i..]
        .chars()
        .next()
        .unwrap_or(char::REPLACEMENT_CHARACTER)
}

/// UAX #29 words that contain a letter or a digit, as
/// `unicode_segmentation::UnicodeSegmentation::unicode_words` gives them.
///
/// Text is cut into pieces at ASCII whitespace. A piece that is pure ASCII and
/// starts after ASCII whitespace always starts a new segment, so it goes through
/// the fast [`ascii_words`]. Consecutive pieces with other characters are handed to
/// `unicode-segmentation` together with the whitespace around them, because
/// whitespace runs join (WB3d) and a combining mark after whitespace attaches to
/// it (WB4): with an alphabetic mark, such a segment is a word.
pub(crate) fn words(text: &str, emit: &mut impl FnMut(&str)) {
    let bytes = text.as_bytes();
    let n = bytes.len();
    let mut unicode_from: Option<usize> = None;
    let mut i = 0;
    while i < n {
        let space_start = i;
        while i < n && is_ascii_space(bytes[i]) {
            i += 1;
        }
        if i == n {
            break;
        }
        let start = i;
        let mut ascii = true;
        while i < n && !is_ascii_space(bytes[i]) {
            ascii &= bytes[i] < 0x80;
            i += 1;
        }
        if ascii {
            if let Some(from) = unicode_from.take() {
                text[from..space_start].unicode_words().for_each(&mut *emit);
            }
            ascii_words(&text[start..i], emit);
        } else if unicode_from.is_none() {
            unicode_from = Some(space_start);
        }
    }
    if let Some(from) = unicode_from {
        text[from..].unicode_words().for_each(&mut *emit);
    }
}

/// Word-boundary classes of ASCII characters (UAX #29, table 3).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Wb {
    Letter,       // ALetter: A-Z a-z
    Digit,        // Numeric: 0-9
    ExtendNumLet, // _
    MidLetter,    // :
    MidNumLet,    // . and ' (Single_Quote behaves the same for ASCII letters)
    MidNum,       // , ;
    Other,
}

#[inline]
fn wb(b: u8) -> Wb {
    match b {
        b'a'..=b'z' | b'A'..=b'Z' => Wb::Letter,
        b'0'..=b'9' => Wb::Digit,
        b'_' => Wb::ExtendNumLet,
        b':' => Wb::MidLetter,
        b'.' | b'\'' => Wb::MidNumLet,
        b',' | b';' => Wb::MidNum,
        _ => Wb::Other,
    }
}

/// UAX #29 on ASCII text: runs of letters, digits and `_` (WB5, WB8-WB10, WB13a/b),
/// joined across one `:` between letters (WB6/7), one `.` or `'` between two
/// letters or two digits (WB6/7, WB11/12), one `,` or `;` between digits (WB11/12).
/// Segments without a letter or digit (`___`) are dropped.
pub(crate) fn ascii_words(text: &str, emit: &mut impl FnMut(&str)) {
    let bytes = text.as_bytes();
    let n = bytes.len();
    let mut i = 0;
    while i < n {
        let first = wb(bytes[i]);
        if !matches!(first, Wb::Letter | Wb::Digit | Wb::ExtendNumLet) {
            i += 1;
            continue;
        }
        let start = i;
        let mut alnum = false;
        loop {
            let class = wb(bytes[i]);
            alnum |= class != Wb::ExtendNumLet;
            i += 1;
            if i >= n {
                break;
            }
            let next = wb(bytes[i]);
            if matches!(next, Wb::Letter | Wb::Digit | Wb::ExtendNumLet) {
                continue;
            }
            let Some(&after) = bytes.get(i + 1) else {
                break;
            };
            let after = wb(after);
            let joins = match next {
                Wb::MidLetter => class == Wb::Letter && after == Wb::Letter,
                Wb::MidNumLet => class == after && matches!(class, Wb::Letter | Wb::Digit),
                Wb::MidNum => class == Wb::Digit && after == Wb::Digit,
                _ => false,
            };
            if !joins {
                break;
            }
            i += 1; // the joining punctuation; the loop continues at the letter or digit
        }
        if alnum {
            emit(&text[start..i]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(kind: TokenizerKind, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        tokenize(kind, text, &mut |t| out.push(t.to_string()));
        out
    }

    #[test]
    fn whitespace_matches_split_whitespace() {
        for text in [
            "",
            "  a  b\t\nc ",
            "x\u{3000}y\u{a0}z",
            "é ü",
            "a\u{85}b",
            "\u{2028}",
        ] {
            let want: Vec<_> = text.split_whitespace().map(str::to_string).collect();
            assert_eq!(collect(TokenizerKind::Whitespace, text), want, "{text:?}");
        }
    }

    #[test]
    fn shapes_found_while_cutting_match_a_second_look() {
        for text in [
            "",
            "the Quick BROWN fox",
            "naïve Café x\u{3000}Y",
            "A1 b2_ !? Z",
        ] {
            let mut got = Vec::new();
            whitespace_shaped(text, &mut |t, shape| got.push((t.to_string(), shape)));
            let want: Vec<_> = text
                .split_whitespace()
                .map(|t| (t.to_string(), Shape::of(t)))
                .collect();
            assert_eq!(got, want, "{text:?}");
        }
        assert_eq!(Shape::of("abc1_"), Shape::AsciiLower);
        assert_eq!(Shape::of("aBc"), Shape::AsciiUpper);
        assert_eq!(Shape::of("ábc"), Shape::Unicode);
        assert_eq!(Shape::of("ÁBC"), Shape::Unicode);
    }

    #[test]
    fn ascii_words_match_unicode_segmentation() {
        let cases = [
            "Don't panic!",
            "e.g. a.b.c",
            "3.14 1,000,000 1;2",
            "a:b :a a: a_b _x __ x__",
            "a1.b 1a.2 a.1 it's 'quoted' rock'n'roll",
            "end. ..a.. a...b",
            "a,b 1,a",
            "x'",
            "'",
        ];
        for text in cases {
            let want: Vec<_> = text.unicode_words().map(str::to_string).collect();
            let mut got = Vec::new();
            ascii_words(text, &mut |t| got.push(t.to_string()));
            assert_eq!(got, want, "{text:?}");
        }
    }

    #[test]
    fn words_mixes_fast_and_unicode_paths() {
        for text in [
            "Crème brûlée, naïve café. 東京 is big; ΣΑΣ!",
            "a \u{903}b  \u{903}\u{903} \n\u{903}x",
            "\u{300}a \u{200d}\u{1f600} e\u{301}t\u{e9}",
            "\u{3000} \u{903} x \u{a0} \u{903}",
        ] {
            let want: Vec<_> = text.unicode_words().map(str::to_string).collect();
            assert_eq!(collect(TokenizerKind::Words, text), want, "{text:?}");
        }
    }

    #[test]
    fn spark_splits_on_the_single_space_only() {
        assert_eq!(
            collect(TokenizerKind::Spark, "a  b\tc "),
            vec!["a", "", "b\tc", ""]
        );
        assert_eq!(collect(TokenizerKind::Spark, ""), vec![""]);
    }
}
