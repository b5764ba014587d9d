//! Ownership of the data directory: who may use it, and which database its
//! files belong to.
//!
//! Two things guard a data directory:
//! - **A lock file**, `tally.lock`, locked for the life of the process that
//!   holds it, with that process's pid inside. A server on an embedded database,
//!   and every offline command (`tally admin`), locks it exclusively: a second
//!   one is refused with the holder's pid. Servers sharing a remote database
//!   lock it shared, so several may use one directory on shared storage; an
//!   offline command is still refused while any of them runs. The first of
//!   them, finding the directory unused, holds it exclusively until it has
//!   swept orphan files ([`DataDir::share`]), so no other server's import can
//!   start in the directory during the sweep: a server starting meanwhile
//!   waits (up to [`SHARED_WAIT`]) for it. The shared storage must carry
//!   `flock` between hosts (NFSv4 does; NFS mounted with `local_lock` and most
//!   SMB shares do not), or every host would believe itself alone.
//! - **A marker**, `tally-data.id`: a random id written once into the
//!   directory and into the database. Table and results files are deleted as
//!   orphans only when the two agree, and only by a process that holds the
//!   directory alone; a directory paired with a different (or a new, empty)
//!   database is refused at start, because that database would call every file
//!   unknown. The lock is an advisory `flock`: it binds Tally processes, not
//!   other programs.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use surrealdb::types::SurrealValue;

use crate::store::database::{Database, DbError};

const LOCK_FILE: &str = "tally.lock";
/// How long a server sharing the directory waits for one that holds it
/// exclusively: another server's start-up (its sweep), or an offline command.
pub const SHARED_WAIT: Duration = Duration::from_secs(60);
const MARKER_FILE: &str = "tally-data.id";

#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    #[error("cannot use the data directory {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "the data directory {path} is in use by another Tally process{holder}: stop it first, \
         or give this one another --data-dir"
    )]
    InUse { path: String, holder: String },
    #[error("{0}")]
    Mismatch(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// How a process may use the directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The only user (embedded database, offline commands).
    Exclusive,
    /// One of several servers sharing a remote database.
    Shared,
}

/// A locked data directory; the lock is released when this is dropped (or the
/// process ends, however it ends).
#[derive(Debug)]
pub struct DataDir {
    path: PathBuf,
    _lock: File,
    /// Whether this process holds the directory alone (an exclusive lock,
    /// kept by a sharing server until [`DataDir::share`]).
    alone: bool,
    /// The access asked for: a `Shared` user that found itself alone holds
    /// the lock exclusively until [`DataDir::share`].
    access: Access,
}

/// Whether the directory's files may be swept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ownership {
    /// Marker and database agree, and no other process uses the directory.
    Owned,
    /// The directory and database were paired just now (a new install, or one
    /// from before markers): nothing is swept on this start.
    JustPaired,
    /// Other processes share the directory: their imports are in flight.
    Shared,
}

impl Ownership {
    pub fn may_sweep(self) -> bool {
        self == Self::Owned
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> DataDirError + '_ {
    move |source| DataDirError::Io {
        path: path.display().to_string(),
        source,
    }
}

impl DataDir {
    /// Locks `path` (already created and absolute) for `access`.
    pub fn lock(path: &Path, access: Access) -> Result<Self, DataDirError> {
        Self::lock_waiting(path, access, SHARED_WAIT)
    }

    /// [`DataDir::lock`], a `Shared` user waiting up to `wait` for an
    /// exclusive holder.
    fn lock_waiting(path: &Path, access: Access, wait: Duration) -> Result<Self, DataDirError> {
        let lock_path = path.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(io_error(&lock_path))?;
        let in_use = |file: &mut File| DataDirError::InUse {
            path: path.display().to_string(),
            holder: holder_of(file),
        };
        // First try alone: an exclusive user must be, and a sharing server
        // that is may sweep (holding the lock alone until it has).
        let alone = match file.try_lock() {
            Ok(()) => true,
            Err(TryLockError::WouldBlock) if access == Access::Shared => {
                let deadline = Instant::now() + wait;
                loop {
                    match file.try_lock_shared() {
                        Ok(()) => break false,
                        Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                            std::thread::sleep(Duration::from_millis(100));
                        }
                        Err(TryLockError::WouldBlock) => return Err(in_use(&mut file)),
                        Err(TryLockError::Error(e)) => return Err(io_error(&lock_path)(e)),
                    }
                }
            }
            Err(TryLockError::WouldBlock) => return Err(in_use(&mut file)),
            Err(TryLockError::Error(e)) => return Err(io_error(&lock_path)(e)),
        };
        write_pid(&mut file).map_err(io_error(&lock_path))?;
        Ok(Self {
            path: path.to_path_buf(),
            _lock: file,
            alone,
            access,
        })
    }

    /// Lets other sharing servers in: a `Shared` user that held the directory
    /// alone turns its lock shared (waiting servers then go on). Nothing for
    /// an exclusive user.
    pub fn share(&mut self) -> Result<(), DataDirError> {
        if self.access == Access::Shared && self.alone {
            self._lock
                .lock_shared()
                .map_err(io_error(&self.path.join(LOCK_FILE)))?;
            self.alone = false;
        }
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Checks (or, the first time, writes) the marker that ties this directory
    /// to `db`. Refuses a directory that belongs to another database, and a
    /// database whose files live in another directory.
    pub async fn claim(&self, db: &Database) -> Result<Ownership, DataDirError> {
        let marker_path = self.path.join(MARKER_FILE);
        let in_dir = match std::fs::read_to_string(&marker_path) {
            Ok(text) => Some(text.trim().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io_error(&marker_path)(e)),
        };
        let in_db = stored_marker(db).await?;
        let dir = self.path.display();
        let ownership = match (in_dir, in_db) {
            (Some(a), Some(b)) if a == b => Ownership::Owned,
            (Some(a), Some(b)) => {
                return Err(DataDirError::Mismatch(format!(
                    "the data directory {dir} belongs to another database (its marker is {a}, this \
                     database's is {b}): start with the database that holds its tables (--db), \
                     or give this database its own --data-dir"
                )));
            }
            (Some(a), None) => {
                return Err(DataDirError::Mismatch(format!(
                    "the data directory {dir} holds the files of another database (marker {a}), \
                     and this database is new to it: start with the database that holds its \
                     tables (--db), or give this database its own --data-dir. Nothing was changed"
                )));
            }
            (None, Some(b)) => {
                return Err(DataDirError::Mismatch(format!(
                    "this database's tables live in another data directory (marker {b}), not in \
                     {dir}: start with that --data-dir. If the directory was moved, copy its \
                     {MARKER_FILE} here as well"
                )));
            }
            (None, None) => {
                let marker = uuid::Uuid::new_v4().to_string();
                store_marker(db, &marker).await?;
                write_marker(&marker_path, &marker).map_err(io_error(&marker_path))?;
                tracing::info!(%marker, data_dir = %dir, "data directory paired with its database");
                Ownership::JustPaired
            }
        };
        Ok(if ownership == Ownership::Owned && !self.alone {
            Ownership::Shared
        } else {
            ownership
        })
    }
}

/// The pid the lock file names, for the message that refuses a second process.
fn holder_of(file: &mut File) -> String {
    let mut text = String::new();
    let _ = file.read_to_string(&mut text);
    match text.trim().parse::<u32>() {
        Ok(pid) => format!(" (pid {pid})"),
        Err(_) => String::new(),
    }
}

fn write_pid(file: &mut File) -> std::io::Result<()> {
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    writeln!(file, "{}", std::process::id())?;
    file.flush()
}

/// Written through a temporary file and a rename: a crash leaves the old state
/// or the new one, never half a marker.
fn write_marker(path: &Path, marker: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("id.tmp");
    let mut file = File::create(&tmp)?;
    writeln!(file, "{marker}")?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[derive(Debug, SurrealValue)]
struct MarkerRow {
    marker: String,
}

async fn stored_marker(db: &Database) -> Result<Option<String>, DbError> {
    let mut res = db
        .client()
        .query("SELECT marker FROM data_dir:owner")
        .await?
        .check()?;
    let rows: Vec<MarkerRow> = res.take(0)?;
    Ok(rows.into_iter().next().map(|r| r.marker))
}

/// `CREATE` rather than `UPSERT`: of two processes pairing at once, one fails
/// instead of both writing different markers.
async fn store_marker(db: &Database, marker: &str) -> Result<(), DbError> {
    db.client()
        .query("CREATE data_dir:owner SET marker = $marker, created_at = time::now()")
        .bind(("marker", marker.to_string()))
        .await?
        .check()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_exclusive_user_is_refused_with_the_holders_pid() {
        let dir = tempfile::tempdir().expect("temp dir");
        let first = DataDir::lock(dir.path(), Access::Exclusive).expect("first lock");
        let second = DataDir::lock(dir.path(), Access::Exclusive).expect_err("second lock");
        let message = second.to_string();
        assert!(
            message.contains(&format!("pid {}", std::process::id())),
            "{message}"
        );
        let short = Duration::from_millis(300);
        assert!(
            DataDir::lock_waiting(dir.path(), Access::Shared, short).is_err(),
            "a shared user waits for an exclusive one to end, then gives up"
        );
        drop(first);
        let mut shared = DataDir::lock(dir.path(), Access::Shared).expect("shared after release");
        assert!(shared.alone, "the first shared user is alone");
        assert!(
            DataDir::lock_waiting(dir.path(), Access::Shared, short).is_err(),
            "and keeps others out until it shares"
        );
        shared.share().expect("shares");
        let other = DataDir::lock(dir.path(), Access::Shared).expect("a second shared user");
        assert!(!other.alone, "the second one is not alone");
        assert!(DataDir::lock(dir.path(), Access::Exclusive).is_err());
    }

    #[test]
    fn a_sharing_server_waits_for_the_first_to_share() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut first = DataDir::lock(dir.path(), Access::Shared).expect("first");
        let path = dir.path().to_path_buf();
        let second = std::thread::spawn(move || DataDir::lock(&path, Access::Shared));
        std::thread::sleep(Duration::from_millis(300));
        assert!(
            !second.is_finished(),
            "the second waits while the first sweeps"
        );
        first.share().expect("shares");
        let second = second.join().expect("thread").expect("then gets in");
        assert!(!second.alone);
    }
}
