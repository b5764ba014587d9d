//! [`TableStore`]: the directory of table files.
//!
//! New files are written under `tables/.incoming/` and moved into `tables/` by an
//! atomic rename after an fsync, so a table file is either complete or absent.
//! File names are generated (`<uuid>.parquet`), never derived from user input.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

/// The table files of one data directory.
#[derive(Debug, Clone)]
pub struct TableStore {
    dir: PathBuf,
    incoming: PathBuf,
}

impl TableStore {
    /// Opens (creating) `<data_dir>/tables`.
    pub fn open(data_dir: &Path) -> io::Result<Self> {
        let dir = data_dir.join("tables");
        let incoming = dir.join(".incoming");
        fs::create_dir_all(&incoming)?;
        Ok(Self { dir, incoming })
    }

    /// A fresh path for a file being written; nothing else will use it.
    pub fn incoming_path(&self, suffix: &str) -> PathBuf {
        self.incoming
            .join(format!("{}{suffix}", uuid::Uuid::now_v7()))
    }

    /// Makes a finished file durable and moves it into the store; returns its name.
    pub fn commit(&self, written: &Path) -> io::Result<String> {
        File::open(written)?.sync_all()?;
        let name = format!("{}.parquet", uuid::Uuid::now_v7());
        fs::rename(written, self.dir.join(&name))?;
        File::open(&self.dir)?.sync_all()?;
        Ok(name)
    }

    /// The path of a stored file. Refuses names that are not the store's own.
    pub fn path_of(&self, name: &str) -> io::Result<PathBuf> {
        let valid = name
            .strip_suffix(".parquet")
            .is_some_and(|stem| uuid::Uuid::try_parse(stem).is_ok());
        if !valid {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("not a table file name: {name:?}"),
            ));
        }
        Ok(self.dir.join(name))
    }

    /// Size of a stored file in bytes.
    pub fn size_of(&self, name: &str) -> io::Result<u64> {
        Ok(fs::metadata(self.path_of(name)?)?.len())
    }

    /// Deletes a stored file; a file already gone is not an error.
    pub fn remove(&self, name: &str) -> io::Result<()> {
        match fs::remove_file(self.path_of(name)?) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Removes what an interrupted import left behind: everything in
    /// `.incoming/`, and table files the catalog does not know. Returns how many
    /// files were removed.
    pub fn sweep(&self, known: &HashSet<String>) -> io::Result<usize> {
        let mut removed = 0;
        for entry in fs::read_dir(&self.incoming)? {
            let path = entry?.path();
            if path.is_file() {
                fs::remove_file(&path)?;
                removed += 1;
            }
        }
        for entry in fs::read_dir(&self.dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.path().is_file() && name.ends_with(".parquet") && !known.contains(&name) {
                fs::remove_file(entry.path())?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_moves_and_sweep_cleans() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = TableStore::open(dir.path()).expect("open");
        let tmp = store.incoming_path(".parquet.tmp");
        fs::write(&tmp, b"data").expect("write");
        let name = store.commit(&tmp).expect("commit");
        assert!(!tmp.exists());
        assert_eq!(store.size_of(&name).expect("size"), 4);

        let stray = store.incoming_path(".tmp");
        fs::write(&stray, b"half").expect("write");
        let orphan = store.commit(&store.incoming_path("")).err();
        assert!(orphan.is_some(), "committing a missing file fails");
        let known: HashSet<String> = [name.clone()].into();
        assert_eq!(store.sweep(&known).expect("sweep"), 1);
        assert!(store.path_of(&name).expect("valid").exists());
        assert!(
            store.sweep(&HashSet::new()).expect("sweep") == 1,
            "unknown files are orphans"
        );
    }

    #[test]
    fn foreign_names_are_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = TableStore::open(dir.path()).expect("open");
        for bad in [
            "../db",
            "x.parquet",
            "/etc/passwd",
            "0190a0a0-0000-7000-8000-000000000000.csv",
        ] {
            assert!(store.path_of(bad).is_err(), "{bad}");
        }
    }
}
