//! The directories eni keeps state in, made private and owned by one process at a time.
//!
//! The data dir holds the database (every account's access-key secrets among its rows), the
//! root credentials and the agent token: it is made 0700 and every file in it 0600 whatever
//! the umask, including SQLite's `-wal` and `-shm` files, which SQLite creates with the mode
//! of the database file (so that file is created 0600 before SQLite opens it).
//!
//! `eni serve` holds an exclusive lock on its data dir, and anything running a data plane
//! (`eni serve --dataplane linux`, `eni agent`, `eni dataplane purge`) on its state dir: a
//! second process refuses to start instead of sharing them. The locks are `flock`s on a file
//! named [`LOCK_FILE`] holding the owner's pid; the kernel drops them when the process ends,
//! however it ends, so no stale lock outlives its owner.

use anyhow::{Context, Result};
use nix::fcntl::{Flock, FlockArg};
use std::fs::{File, OpenOptions, Permissions};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// The lock file in a locked directory.
pub const LOCK_FILE: &str = "eni.lock";

/// Creates `dir` if needed and makes it and every file in it private to the owner. Parents it
/// creates are 0755 at most, whatever the umask: a writable parent would let anyone replace the
/// data dir. `db_file`, the SQLite database's name when the data dir holds one, is created
/// 0600 before SQLite opens it.
pub fn make_private(dir: &Path, db_file: Option<&str>) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("creating data dir {}", dir.display()))?;
    std::fs::set_permissions(dir, Permissions::from_mode(0o700))
        .with_context(|| format!("making {} private (0700)", dir.display()))?;
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            std::fs::set_permissions(entry.path(), Permissions::from_mode(0o600))
                .with_context(|| format!("making {} private (0600)", entry.path().display()))?;
        }
    }
    // SQLite gives its -wal and -shm files the database file's mode.
    if let Some(db_file) = db_file {
        OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(dir.join(db_file))
            .with_context(|| format!("creating {}", dir.join(db_file).display()))?;
    }
    Ok(())
}

/// Writes a secret file, mode 0600 whatever the umask or the file's earlier mode.
pub fn write_secret_file(path: &Path, contents: &str) -> Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.set_permissions(Permissions::from_mode(0o600))?;
    f.write_all(contents.as_bytes())?;
    Ok(())
}

/// An exclusive lock on a directory, held until dropped (or the process ends).
pub struct DirLock {
    _file: Flock<File>,
}

/// Why a directory could not be locked.
#[derive(Debug)]
pub enum LockError {
    /// Another process holds it; its pid, if it wrote one.
    Held {
        pid: Option<u32>,
    },
    Io(anyhow::Error),
}

impl std::fmt::Display for LockError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LockError::Held { pid: Some(pid) } => write!(f, "held by process {pid}"),
            LockError::Held { pid: None } => write!(f, "held by another process"),
            LockError::Io(e) => write!(f, "{e:#}"),
        }
    }
}

/// Takes the exclusive lock of `dir` (which must exist) without waiting.
pub fn lock(dir: &Path) -> std::result::Result<DirLock, LockError> {
    let path = dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))
        .map_err(LockError::Io)?;
    match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(mut locked) => {
            // Say who holds it, for the message another process shows.
            let _ = locked.set_len(0);
            let _ = locked.rewind();
            let _ = writeln!(locked, "{}", std::process::id());
            let _ = locked.flush();
            Ok(DirLock { _file: locked })
        }
        Err((mut file, nix::errno::Errno::EWOULDBLOCK)) => {
            let mut text = String::new();
            let _ = file.read_to_string(&mut text);
            Err(LockError::Held {
                pid: text.trim().parse().ok(),
            })
        }
        Err((_, errno)) => Err(LockError::Io(anyhow::anyhow!(
            "locking {}: {errno}",
            path.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn the_data_dir_and_its_files_become_private() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, Permissions::from_mode(0o755)).unwrap();
        std::fs::write(dir.join("old.json"), "{}").unwrap();
        std::fs::set_permissions(dir.join("old.json"), Permissions::from_mode(0o644)).unwrap();
        make_private(&dir, Some("eni.db")).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("old.json")), 0o600);
        assert_eq!(mode(&dir.join("eni.db")), 0o600);
        write_secret_file(&dir.join("old.json"), "secret").unwrap();
        assert_eq!(mode(&dir.join("old.json")), 0o600);
    }

    #[test]
    fn a_locked_dir_names_its_holder() {
        let tmp = tempfile::tempdir().unwrap();
        let held = lock(tmp.path()).unwrap();
        match lock(tmp.path()) {
            Err(LockError::Held { pid }) => assert_eq!(pid, Some(std::process::id())),
            other => panic!("expected Held, got {:?}", other.err()),
        }
        drop(held);
        lock(tmp.path()).unwrap();
    }
}
