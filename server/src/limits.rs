//! [`Limits`]: what one request, one client or one import may cost the server.
//! Every field is a `tally serve` setting; `docs/operations.md` lists them with
//! their defaults, and each is answered with a 4xx (or 507) before work is
//! wasted.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::tables::import::ImportLimits;

#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest table upload, files together (`--max-upload-bytes`).
    pub upload_bytes: u64,
    /// Largest JSON request body (`--max-json-bytes`).
    pub json_bytes: usize,
    /// Largest non-file field of an upload form (`--max-form-field-bytes`).
    pub form_field_bytes: usize,
    /// Most parts (files and fields) in one upload form (`--max-form-parts`).
    pub form_parts: usize,
    /// Columns, record length and Parquet expansion of an import.
    pub import: ImportLimits,
    /// Imports converted at once; more wait their turn (`--max-concurrent-imports`).
    pub concurrent_imports: usize,
    /// Free disk space kept in reserve: an import or a run's results that would
    /// leave less fail cleanly with 507 (`--min-free-disk`).
    pub min_free_disk: u64,
    /// Event streams open at once, in all (`--max-event-streams`).
    pub event_streams: usize,
    /// Event streams one client address may hold open (`--max-event-streams-per-client`).
    pub event_streams_per_client: usize,
    /// Longest a request that does not stream may take (`--request-timeout`).
    pub request_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            upload_bytes: 4 << 30,
            json_bytes: 1 << 20,
            form_field_bytes: 64 << 10,
            form_parts: 1000,
            import: ImportLimits::default(),
            concurrent_imports: 2,
            min_free_disk: 256 << 20,
            event_streams: 1000,
            event_streams_per_client: 16,
            request_timeout: Duration::from_secs(60),
        }
    }
}

/// Bytes free for an unprivileged user on the file system holding `path`.
#[cfg(unix)]
pub fn free_disk_bytes(path: &Path) -> std::io::Result<u64> {
    let stat = rustix::fs::statvfs(path)?;
    Ok(stat.f_bavail.saturating_mul(stat.f_frsize))
}

#[cfg(not(unix))]
pub fn free_disk_bytes(_path: &Path) -> std::io::Result<u64> {
    Ok(u64::MAX)
}

/// The free disk space kept in reserve on the data directory's file system
/// (`--min-free-disk`): imports and results that would eat into it are refused.
#[derive(Debug, Clone)]
pub struct DiskReserve {
    pub dir: PathBuf,
    pub bytes: u64,
}

impl DiskReserve {
    /// Refuses work that would leave less free disk than the reserve,
    /// counting `more` bytes about to be written (507, nothing stored).
    pub fn check(&self, more: u64) -> Result<(), crate::error::ServiceError> {
        let free = free_disk_bytes(&self.dir).map_err(crate::error::ServiceError::internal)?;
        let reserve = self.bytes;
        if free.saturating_sub(more) < reserve {
            return Err(crate::error::ServiceError::InsufficientStorage(format!(
                "the server keeps {reserve} bytes of disk free (--min-free-disk) and has {free}: \
                 nothing was stored; free some space or ask an administrator"
            )));
        }
        Ok(())
    }
}
