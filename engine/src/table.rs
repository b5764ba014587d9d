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

#[inline]
pub(crate) fn hash_word(word: &[u8]) -> u64 {
    HASHER.hash_one(word)
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
        let hash = hash_word(word);
        self.parts[(hash >> PART_SHIFT) as usize].add_hashed(hash, word, n);
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

    /// Every word with its count, in no particular order. Words are valid UTF-8:
    /// only `&str` slices are ever added.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (&[u8], u64)> + '_ {
        self.parts.iter().flat_map(Part::entries)
    }
}

impl Part {
    #[inline]
    fn add_hashed(&mut self, hash: u64, word: &[u8], n: u64) {
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
                    |s| hash_word(s.word(arena)),
                );
            }
        }
    }

    /// Folds `other` into `self`; the larger table should be `self`.
    fn merge(&mut self, other: Part) {
        let arena = &self.arena;
        self.slots
            .reserve(other.slots.len(), |s| hash_word(s.word(arena)));
        for slot in other.slots.iter() {
            let word = slot.word(&other.arena);
            self.add_hashed(hash_word(word), word, slot.count);
        }
    }

    /// Merges two partitions, folding the smaller into the larger.
    fn merged(a: Part, b: Part) -> Part {
        let (mut big, small) = if a.slots.len() >= b.slots.len() {
            (a, b)
        } else {
            (b, a)
        };
        big.merge(small);
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
        let m = WordTable::merge_all(vec![a, b]);
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
    }
}
