//! [`WordTable`]: the per-worker count map.
//!
//! Short words are stored inside their hash-table slot and long ones back to back
//! in one byte arena, so counting a word already seen allocates nothing and
//! touches one cache line (slots are 32 bytes, two to a line), and a new word
//! never costs a heap allocation of its own. Hashes are not stored: hashbrown's
//! tag bytes already skip almost every wrong slot, and a hash is recomputed only
//! when the table grows or two tables merge.

use std::hash::BuildHasher;

use foldhash::fast::FixedState;
use hashbrown::HashTable;

/// A fixed seed: hashing (and so the work done) is the same on every run.
const HASHER: FixedState = FixedState::with_seed(0x7a11_7a11_7a11_7a11);

/// A word of at most [`INLINE`] bytes as its slot stores it: zero-padded, read
/// as one number, so that two short words are equal exactly when their lengths
/// and numbers are (two compares, no `memcmp` call).
#[derive(Clone, Copy, PartialEq, Eq)]
struct Key {
    len: u64,
    bits: u128,
}

impl Key {
    /// The key of `word`, if it is short enough to live in its slot. Read with
    /// overlapping fixed-size loads rather than a copy of `len` bytes, which
    /// compiles to a `memcpy` call per word.
    #[inline]
    fn short(word: &[u8]) -> Option<Self> {
        let len = word.len();
        if len > INLINE {
            return None;
        }
        let bits = if let (Some(first), Some(last)) =
            (word.first_chunk::<8>(), word.last_chunk::<8>())
        {
            // 8 to 16 bytes: the first eight, then the last eight moved down
            // past the bytes the two loads share.
            let high = u64::from_le_bytes(*last)
                .checked_shr(8 * (16 - len) as u32)
                .unwrap_or(0);
            u128::from(u64::from_le_bytes(*first)) | u128::from(high) << 64
        } else if let (Some(first), Some(last)) = (word.first_chunk::<4>(), word.last_chunk::<4>())
        {
            // 4 to 7 bytes, the same way in halves.
            let high = u32::from_le_bytes(*last)
                .checked_shr(8 * (8 - len) as u32)
                .unwrap_or(0);
            u128::from(u32::from_le_bytes(*first)) | u128::from(high) << 32
        } else {
            word.iter()
                .enumerate()
                .fold(0, |bits, (i, &b)| bits | u128::from(b) << (8 * i))
        };
        Some(Self {
            len: len as u64,
            bits,
        })
    }

    /// A short word's hash: its padded bytes and its length (the length
    /// too, so padding cannot make two words collide). Long words are hashed
    /// as bytes; a word's length picks the path, so one word gets one hash.
    #[inline]
    fn hash(&self) -> u64 {
        HASHER.hash_one((self.bits, self.len))
    }

    /// The key of the word with A-Z made a-z, all sixteen bytes at once. Only
    /// for ASCII words: each byte is below 0x80, so adding to one byte never
    /// carries into the next, and the padding (zeros) is no letter.
    #[inline]
    fn ascii_lowercase(self) -> Self {
        const EACH: u128 = u128::from_le_bytes([1; INLINE]);
        let high_bits = EACH * 0x80;
        // A byte's high bit is set by + 0x3f when it is at least b'A' (0x41),
        // by + 0x25 when it is past b'Z' (0x5a).
        let at_least_a = (self.bits + EACH * 0x3f) & high_bits;
        let past_z = (self.bits + EACH * 0x25) & high_bits;
        let upper = at_least_a & !past_z;
        Self {
            bits: self.bits | upper >> 2, // 0x80 >> 2 is 0x20, the case bit
            ..self
        }
    }
}

/// Words up to this many bytes live inside their slot: looking one up touches a
/// single cache line. Longer words live in the arena.
const INLINE: usize = 16;

#[derive(Clone, Copy)]
struct Slot {
    count: u64,
    len: u64,
    /// The word itself when `len <= INLINE`, else its arena offset (first 8 bytes).
    data: [u8; INLINE],
}

impl Slot {
    /// The key of the short word this slot holds, if it holds one.
    #[inline]
    fn key(&self) -> Option<Key> {
        (self.len as usize <= INLINE).then(|| Key {
            len: self.len,
            bits: u128::from_le_bytes(self.data),
        })
    }

    /// The hash its word was added with (see [`Key::hash`]).
    #[inline]
    fn hash(&self, arena: &[u8]) -> u64 {
        match self.key() {
            Some(key) => key.hash(),
            None => HASHER.hash_one(self.word(arena)),
        }
    }

    /// Whether this slot holds the short word `key`.
    #[inline]
    fn holds(&self, key: &Key) -> bool {
        self.len == key.len && u128::from_le_bytes(self.data) == key.bits
    }

    #[inline]
    fn word<'a>(&'a self, arena: &'a [u8]) -> &'a [u8] {
        let len = self.len as usize;
        if len <= INLINE {
            &self.data[..len]
        } else {
            let mut offset = [0_u8; 8];
            offset.copy_from_slice(&self.data[..8]);
            let start = u64::from_le_bytes(offset) as usize;
            &arena[start..start + len]
        }
    }
}

/// One partition of a [`WordTable`].
#[derive(Default)]
struct Part {
    slots: HashTable<Slot>,
    arena: Vec<u8>,
}

/// How many partitions a table has (a power of two); the top bits of a word's
/// hash pick its partition.
const PARTS: usize = 16;
const PART_SHIFT: u32 = 64 - PARTS.trailing_zeros();

/// Distinct words and their counts, partitioned by hash so that the tables of
/// several workers merge partition by partition, in parallel.
pub(crate) struct WordTable {
    parts: Vec<Part>,
}

impl Default for WordTable {
    fn default() -> Self {
        Self {
            parts: (0..PARTS).map(|_| Part::default()).collect(),
        }
    }
}

impl WordTable {
    /// Adds `n` occurrences of `word`.
    #[inline]
    pub(crate) fn add(&mut self, word: &[u8], n: u64) {
        match Key::short(word) {
            Some(key) => self.add_key(key, n),
            None => {
                let hash = HASHER.hash_one(word);
                self.parts[(hash >> PART_SHIFT) as usize].add_long(hash, word, n);
            }
        }
    }

    #[inline]
    fn add_key(&mut self, key: Key, n: u64) {
        let hash = key.hash();
        self.parts[(hash >> PART_SHIFT) as usize].add_short(hash, key, n);
    }

    /// Adds `n` occurrences of the ASCII word `word`, lowercased first when
    /// `lower`; `None` (nothing added) when the word is too long to be
    /// lowercased in its key: the caller lowercases it and calls [`Self::add`].
    #[inline]
    pub(crate) fn add_ascii(&mut self, word: &[u8], lower: bool, n: u64) -> Option<()> {
        let key = Key::short(word)?;
        self.add_key(if lower { key.ascii_lowercase() } else { key }, n);
        Some(())
    }

    /// Merges the tables of all workers into one, one partition per task.
    pub(crate) fn merge_all(tables: Vec<WordTable>) -> WordTable {
        use rayon::prelude::*;
        let mut columns: Vec<Vec<Part>> = (0..PARTS)
            .map(|_| Vec::with_capacity(tables.len()))
            .collect();
        for table in tables {
            for (i, part) in table.parts.into_iter().enumerate() {
                columns[i].push(part);
            }
        }
        let parts = columns
            .into_par_iter()
            .map(|parts| parts.into_iter().reduce(Part::merged).unwrap_or_default())
            .collect();
        WordTable { parts }
    }

    /// The sum of `tables` as a new table (they are kept), one partition per
    /// task: the counts of every group of a grouped count, together.
    pub(crate) fn sum(tables: &[WordTable]) -> WordTable {
        use rayon::prelude::*;
        let parts = (0..PARTS)
            .into_par_iter()
            .map(|i| {
                let mut part = Part::default();
                for table in tables {
                    part.merge(&table.parts[i]);
                }
                part
            })
            .collect();
        WordTable { parts }
    }

    /// Whether no word was added.
    pub(crate) fn is_empty(&self) -> bool {
        self.parts.iter().all(|p| p.slots.is_empty())
    }

    /// Every word with its count, in no particular order. Words are valid UTF-8:
    /// only `&str` slices are ever added.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (&[u8], u64)> + '_ {
        self.parts.iter().flat_map(Part::entries)
    }
}

impl Part {
    /// Adds `n` of a word that lives in the arena, whose hash is `hash`.
    #[inline]
    fn add_long(&mut self, hash: u64, word: &[u8], n: u64) {
        let arena = &self.arena;
        let found = self.slots.find_mut(hash, |s| {
            s.len as usize == word.len() && s.word(arena) == word
        });
        match found {
            Some(slot) => slot.count += n,
            None => {
                let len = word.len() as u64;
                let mut data = [0_u8; INLINE];
                if word.len() <= INLINE {
                    data[..word.len()].copy_from_slice(word);
                } else {
                    data[..8].copy_from_slice(&(self.arena.len() as u64).to_le_bytes());
                    self.arena.extend_from_slice(word);
                }
                let arena = &self.arena;
                self.slots.insert_unique(
                    hash,
                    Slot {
                        count: n,
                        len,
                        data,
                    },
                    |s| s.hash(arena),
                );
            }
        }
    }

    /// Adds `n` of the short word `key`, whose hash is `hash`.
    #[inline]
    fn add_short(&mut self, hash: u64, key: Key, n: u64) {
        match self.slots.find_mut(hash, |s| s.holds(&key)) {
            Some(slot) => slot.count += n,
            None => {
                let arena = &self.arena;
                self.slots.insert_unique(
                    hash,
                    Slot {
                        count: n,
                        len: key.len,
                        data: key.bits.to_le_bytes(),
                    },
                    |s| s.hash(arena),
                );
            }
        }
    }

    /// Adds the counts of `other` to `self`; the larger table should be `self`.
    fn merge(&mut self, other: &Part) {
        let arena = &self.arena;
        self.slots.reserve(other.slots.len(), |s| s.hash(arena));
        for slot in other.slots.iter() {
            let hash = slot.hash(&other.arena);
            match slot.key() {
                Some(key) => self.add_short(hash, key, slot.count),
                None => self.add_long(hash, slot.word(&other.arena), slot.count),
            }
        }
    }

    /// Merges two partitions, folding the smaller into the larger.
    fn merged(a: Part, b: Part) -> Part {
        let (mut big, small) = if a.slots.len() >= b.slots.len() {
            (a, b)
        } else {
            (b, a)
        };
        big.merge(&small);
        big
    }

    fn entries(&self) -> impl Iterator<Item = (&[u8], u64)> + '_ {
        self.slots.iter().map(|s| (s.word(&self.arena), s.count))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_keys_are_the_padded_bytes() {
        let word: Vec<u8> = (1..=17).collect();
        for len in 0..=INLINE {
            let mut padded = [0_u8; INLINE];
            padded[..len].copy_from_slice(&word[..len]);
            let key = Key::short(&word[..len]).expect("short");
            assert_eq!(key.bits.to_le_bytes(), padded, "{len} bytes");
            assert_eq!(key.len, len as u64);
        }
        assert!(Key::short(&word).is_none(), "17 bytes live in the arena");
    }

    #[test]
    fn keys_lowercase_every_ascii_byte_as_the_standard_library_does() {
        let all: Vec<u8> = (0..0x80).collect();
        for chunk in all.chunks(INLINE).chain(all.chunks(5)) {
            let key = Key::short(chunk).expect("short").ascii_lowercase();
            let want = Key::short(&chunk.to_ascii_lowercase()).expect("short");
            assert!(key == want, "{chunk:?}");
        }
        let mut table = WordTable::default();
        table.add_ascii(b"HeLLo", true, 2);
        table.add(b"hello", 1);
        assert!(
            table.add_ascii(&[b'A'; 17], true, 1).is_none(),
            "long: the caller's"
        );
        let got: Vec<_> = table.entries().map(|(w, c)| (w.to_vec(), c)).collect();
        assert_eq!(got, vec![(b"hello".to_vec(), 3)]);
    }

    #[test]
    fn counts_and_merges() {
        let mut a = WordTable::default();
        a.add(b"x", 1);
        a.add(b"y", 2);
        a.add(b"x", 3);
        let mut b = WordTable::default();
        b.add(b"y", 1);
        b.add(b"", 5);
        let long = [b'z'; 100];
        b.add(&long, 2);
        b.add(&long, 1);
        let sum = WordTable::sum(&[a.clone_for_test(), b.clone_for_test()]);
        let m = WordTable::merge_all(vec![a, b]);
        let mut summed: Vec<_> = sum.entries().map(|(w, c)| (w.to_vec(), c)).collect();
        summed.sort();
        let mut got: Vec<_> = m.entries().map(|(w, c)| (w.to_vec(), c)).collect();
        got.sort();
        assert_eq!(
            got,
            vec![
                (b"".to_vec(), 5),
                (b"x".to_vec(), 4),
                (b"y".to_vec(), 3),
                (long.to_vec(), 3)
            ]
        );
        assert_eq!(summed, got, "a sum counts as a merge does");
        assert!(WordTable::default().is_empty() && !m.is_empty());
    }

    impl WordTable {
        fn clone_for_test(&self) -> WordTable {
            WordTable::sum(std::slice::from_ref(self))
        }
    }
}
