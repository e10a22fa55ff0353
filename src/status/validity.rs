//! FolderValidity files: the UIDVALIDITY each repository's folder had at
//! the last sync, one decimal number and a newline, replaced atomically.

use std::fs::{self, DirBuilder, File};
use std::io::{self, Write};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use super::{Error, ErrorKind};

/// A Maildir has no UIDVALIDITY; OfflineIMAP reports this constant for
/// every Maildir folder, and so do we, so existing FolderValidity files of
/// the local repository keep matching.
pub const MAILDIR_UIDVALIDITY: u32 = 42;

/// The saved value, or `None` when nothing was saved yet. A file that
/// exists but holds no number is an error: treating it as "nothing saved"
/// would silently accept a changed UIDVALIDITY.
pub fn read_validity(path: &Path) -> Result<Option<u32>, Error> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path, "read", e)),
    };
    let first = text.lines().next().unwrap_or("").trim();
    first.parse::<u32>().map(Some).map_err(|_| Error {
        path: path.to_path_buf(),
        kind: ErrorKind::BadValidity(first.chars().take(40).collect()),
    })
}

pub(crate) fn tmp_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".tmp");
    PathBuf::from(s)
}

/// Write `value` as `<value>\n` via `<file>.tmp` and a rename, creating the
/// directory (mode 0700) if needed. With `fsync`, the file and its
/// directory are synced so the new value survives a crash.
pub fn write_validity(path: &Path, value: u32, fsync: bool) -> Result<(), Error> {
    write_atomically(path, &format!("{value}\n"), fsync)
}

/// Replace the small metadata file `path` with `contents` via `<file>.tmp`
/// and a rename, creating its directory (mode 0700, as OfflineIMAP does)
/// if needed; with `fsync`, the file and the directory are synced so the
/// new contents survive a crash. A reader sees the old file or the new
/// one, never a partial write.
pub(crate) fn write_atomically(path: &Path, contents: &str, fsync: bool) -> Result<(), Error> {
    let dir = path.parent().unwrap_or(Path::new("."));
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| Error::io(dir, "create directory", e))?;
    let tmp = tmp_path(path);
    let mut f = File::create(&tmp).map_err(|e| Error::io(&tmp, "create", e))?;
    f.write_all(contents.as_bytes())
        .map_err(|e| Error::io(&tmp, "write", e))?;
    if fsync {
        f.sync_all().map_err(|e| Error::io(&tmp, "fsync", e))?;
    }
    drop(f);
    fs::rename(&tmp, path).map_err(|e| Error::io(path, "replace", e))?;
    if fsync {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::io(dir, "fsync directory", e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn round_trip_and_format() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("Repository-R/FolderValidity/INBOX");
        assert_eq!(read_validity(&p).unwrap(), None);
        write_validity(&p, 1_700_000_123, true).unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "1700000123\n");
        assert_eq!(read_validity(&p).unwrap(), Some(1_700_000_123));
        write_validity(&p, MAILDIR_UIDVALIDITY, false).unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "42\n");
        assert!(!tmp_path(&p).exists());
    }

    #[test]
    fn reads_offlineimap_files_and_rejects_garbage() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("v");
        fs::write(&p, " 7 \nextra").unwrap();
        assert_eq!(read_validity(&p).unwrap(), Some(7));
        fs::write(&p, "").unwrap();
        let e = read_validity(&p).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::BadValidity(_)));
        assert!(e.to_string().starts_with(&p.display().to_string()));
        fs::write(&p, "abc\n").unwrap();
        assert!(read_validity(&p).is_err());
    }
}
