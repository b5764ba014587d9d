//! Deterministic synthetic text for benchmarks: a Zipf-distributed vocabulary of
//! pronounceable words, capitalised sentence starts, commas and full stops
//! attached to words, lines of 40 to 110 characters. Only spaces and newlines
//! separate words, so a naive space/newline splitter and the engine agree.
//!
//! Not for production use; it lives here so that every benchmark generates the
//! same kind of text and measures memory the same way.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// SplitMix64: small, fast, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1_u64 << 53) as f64
    }
}

const VOCABULARY: usize = 200_000;
const SYLLABLES: &[&str] = &[
    "a", "e", "i", "o", "u", "an", "en", "in", "on", "er", "or", "ar", "al", "el", "th", "the",
    "ing", "ed", "re", "de", "ti", "to", "ta", "la", "le", "li", "ma", "me", "mi", "no", "ne",
    "ni", "sa", "se", "si", "ro", "ri", "ra", "co", "ca", "pe", "pa", "po", "ve", "va", "wi", "wo",
    "ly", "ment", "ness", "tion", "st", "str", "ch", "sh", "qu", "ble", "ful", "ous", "ive",
];

/// Generates sentences word by word.
pub struct Sentences {
    rng: Rng,
    words: Vec<String>,
    cdf: Vec<f64>,
    total: f64,
    sentence_left: u64,
}

impl Default for Sentences {
    fn default() -> Self {
        Self::new()
    }
}

impl Sentences {
    pub fn new() -> Self {
        let mut rng = Rng(0x7a11_c0de);
        let mut seen = std::collections::HashSet::new();
        let mut words = Vec::with_capacity(VOCABULARY);
        while words.len() < VOCABULARY {
            // Frequent ranks get short words, as in natural language.
            let syllables = 1 + (words.len() as f64).log10().max(0.0) as u64 / 2 + rng.below(2);
            let w: String = (0..syllables)
                .map(|_| SYLLABLES[rng.below(SYLLABLES.len() as u64) as usize])
                .collect();
            if seen.insert(w.clone()) {
                words.push(w);
            }
        }
        let mut cdf = Vec::with_capacity(VOCABULARY);
        let mut total = 0.0;
        for rank in 1..=VOCABULARY {
            total += 1.0 / (rank as f64).powf(1.07);
            cdf.push(total);
        }
        Self {
            rng,
            words,
            cdf,
            total,
            sentence_left: 0,
        }
    }

    /// Writes the next word (with its punctuation) into `out`, replacing it.
    pub fn next_word(&mut self, out: &mut String) {
        let pick = self.rng.unit() * self.total;
        let rank = self.cdf.partition_point(|&c| c < pick).min(VOCABULARY - 1);
        out.clear();
        let word = &self.words[rank];
        if self.sentence_left == 0 {
            self.sentence_left = 6 + self.rng.below(18);
            let mut chars = word.chars();
            if let Some(first) = chars.next() {
                out.extend(first.to_uppercase());
                out.push_str(chars.as_str());
            }
        } else {
            out.push_str(word);
        }
        self.sentence_left -= 1;
        if self.sentence_left == 0 {
            out.push(['.', '.', '.', '!', '?'][self.rng.below(5) as usize]);
        } else if self.rng.below(12) == 0 {
            out.push(',');
        }
    }

    /// A line of about 40 to 110 characters, without its newline.
    pub fn next_line(&mut self, out: &mut String) {
        out.clear();
        let limit = 40 + self.rng.below(70) as usize;
        let mut word = String::new();
        while out.len() < limit {
            self.next_word(&mut word);
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&word);
        }
    }
}

/// Writes exactly `size` bytes of text lines to `path`.
pub fn write_text(path: &Path, size: usize) -> io::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let mut sentences = Sentences::new();
    let mut line = String::new();
    let mut written = 0;
    while written < size {
        sentences.next_line(&mut line);
        line.push('\n');
        let room = size - written;
        if line.len() > room {
            // End exactly at `size`, still with a newline.
            let mut tail = "x".repeat(room.saturating_sub(1));
            tail.push('\n');
            out.write_all(&tail.as_bytes()[..room])?;
            break;
        }
        out.write_all(line.as_bytes())?;
        written += line.len();
    }
    out.flush()
}

/// This process's peak resident set size (`VmHWM`), in KiB; 0 where unknown.
pub fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}
