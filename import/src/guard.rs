//! [`GuardedReader`]: the source file as the format readers see it, with the
//! import's limits enforced where the bytes come in.
//!
//! Format readers buffer a whole record before they hand it over (a CSV record,
//! a JSON line), so a record without an end would grow until memory runs out.
//! The guard counts the bytes read since the end of the last record (the
//! reader reports each end through a [`RecordEnds`] handle) and fails the read
//! once a record cannot fit the limit any more; it also stops an import whose
//! client has gone. Both travel through `std::io::Error` as a [`Stop`], which
//! [`super::ImportError`] turns back into its own variants.

use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;

use tally_engine::{CancelToken, Pace};

/// Why the guard stopped a read.
#[derive(Debug, Clone, Copy, thiserror::Error)]
pub enum Stop {
    #[error("the import was cancelled")]
    Cancelled,
    #[error("a record is longer than the limit of {limit} bytes")]
    RecordTooLong { limit: u64 },
}

impl Stop {
    /// The stop an I/O error carries, if it is one of ours.
    pub fn of(error: &io::Error) -> Option<Stop> {
        error.get_ref()?.downcast_ref::<Stop>().copied()
    }
}

/// Where the caller tells the guard that a record ended (its byte offset).
#[derive(Debug, Clone, Default)]
pub struct RecordEnds(Rc<Cell<u64>>);

impl RecordEnds {
    pub fn ended_at(&self, offset: u64) {
        self.0.set(offset);
    }
}

pub struct GuardedReader<R> {
    inner: R,
    read: u64,
    ends: RecordEnds,
    /// Record limit plus what a reader may buffer ahead of the record it is on.
    allowance: u64,
    limit: u64,
    cancel: CancelToken,
    pace: Option<Pace>,
}

impl<R: Read> GuardedReader<R> {
    /// `read_ahead`: the most bytes the format reader buffers beyond the
    /// record it is reading (its buffer's capacity).
    pub fn new(inner: R, limit: u64, read_ahead: u64, cancel: CancelToken) -> (Self, RecordEnds) {
        let ends = RecordEnds::default();
        let reader = Self {
            inner,
            read: 0,
            ends: ends.clone(),
            allowance: limit.saturating_add(read_ahead),
            limit,
            cancel,
            pace: None,
        };
        (reader, ends)
    }

    /// Reads no faster than `pace` allows.
    pub fn paced(self, pace: Option<Pace>) -> Self {
        Self { pace, ..self }
    }
}

impl<R: Read> Read for GuardedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.cancel.is_cancelled() {
            return Err(io::Error::other(Stop::Cancelled));
        }
        let pending = self.read.saturating_sub(self.ends.0.get());
        if pending > self.allowance {
            return Err(io::Error::other(Stop::RecordTooLong { limit: self.limit }));
        }
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if let Some(pace) = &mut self.pace {
            pace.hold_after(n as u64);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_that_never_ends_stops_the_read_and_ended_ones_do_not() {
        let data = vec![b'x'; 10_000];
        let (mut reader, ends) = GuardedReader::new(&data[..], 1000, 100, CancelToken::new());
        let mut buf = [0_u8; 100];
        let mut total = 0;
        let err = loop {
            match reader.read(&mut buf) {
                Ok(0) => panic!("read everything past the limit"),
                Ok(n) => total += n,
                Err(e) => break e,
            }
        };
        assert!(total <= 1100 + 100, "stopped soon after the limit: {total}");
        assert!(matches!(
            Stop::of(&err),
            Some(Stop::RecordTooLong { limit: 1000 })
        ));

        let (mut reader, ends2) = GuardedReader::new(&data[..], 1000, 100, CancelToken::new());
        let mut total = 0;
        loop {
            match reader.read(&mut buf).expect("records end in time") {
                0 => break,
                n => total += n,
            }
            ends2.ended_at(total as u64);
        }
        assert_eq!(total, data.len());
        drop(ends);
    }

    #[test]
    fn a_cancelled_import_reads_no_more() {
        let cancel = CancelToken::new();
        let (mut reader, _) = GuardedReader::new(&b"abc"[..], 10, 10, cancel.clone());
        cancel.cancel();
        let err = reader.read(&mut [0; 3]).expect_err("cancelled");
        assert!(matches!(Stop::of(&err), Some(Stop::Cancelled)));
    }
}
