//! The Maildir repository: the tree under `localfolders`, which folders it
//! holds (any directory with `cur/`, `new/` and `tmp/`), where a folder
//! name lives on disk, and creating folders; and, with `restoreatime`,
//! putting back the access times a folder's sync disturbed.
//!
//! Folder names use the repository's `sep`. With `sep = /` folders nest as
//! directories and are found recursively; with any other separator only
//! the top-level directories are folders (`Lists.foo` is one directory).
//! Names are UTF-8 strings and become UTF-8 directory names.

use std::collections::HashSet;
use std::fs::{self, DirBuilder};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

use super::folder::MaildirFolder;
use super::{Error, ErrorKind};
use crate::config;

const SPECIAL: [&str; 3] = ["cur", "new", "tmp"];

/// The local repository of one account.
#[derive(Clone, Debug)]
pub struct MaildirRepository {
    root: PathBuf,
    sep: char,
    windows_compatible: bool,
    fsync: bool,
    restoreatime: bool,
    utime_from_header: bool,
    filename_use_mail_timestamp: bool,
}

/// The access times of one folder's `new/` and `cur/`, taken before its
/// sync, to be put back after it ([`MaildirRepository::save_atimes`]).
#[derive(Debug)]
#[must_use = "restore() puts the access times back"]
pub struct SavedAtimes {
    dirs: Vec<(PathBuf, SystemTime)>,
}

impl SavedAtimes {
    /// Set each directory's access time back to the saved one, leaving its
    /// modification time as the sync left it. Mail clients compare the two
    /// to tell whether a folder has mail nobody looked at yet.
    pub fn restore(self) -> Result<(), Error> {
        for (dir, atime) in self.dirs {
            let times = fs::FileTimes::new().set_accessed(atime);
            fs::File::open(&dir)
                .and_then(|d| d.set_times(times))
                .map_err(|e| Error::folder_io(&dir, "restore the access time", e))?;
        }
        Ok(())
    }
}

fn is_dir(p: &Path) -> bool {
    fs::metadata(p).is_ok_and(|m| m.is_dir())
}

fn is_maildir(p: &Path) -> bool {
    SPECIAL.iter().all(|s| is_dir(&p.join(s)))
}

impl MaildirRepository {
    /// From the `[Repository]` section; `fsync` is `[general] fsync`.
    pub fn new(cfg: &config::MaildirRepository, fsync: bool) -> Self {
        MaildirRepository {
            root: cfg.localfolders.clone(),
            sep: cfg.sep,
            windows_compatible: cfg.windows_compatible,
            fsync,
            restoreatime: cfg.restoreatime,
            utime_from_header: cfg.utime_from_header,
            filename_use_mail_timestamp: cfg.filename_use_mail_timestamp,
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn sep(&self) -> char {
        self.sep
    }

    /// Create `localfolders` (mode 0700) if missing, as OfflineIMAP does
    /// when it opens the repository.
    pub fn ensure_root(&self) -> Result<(), Error> {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.root)
            .map_err(|e| Error::folder_io(&self.root, "create directory", e))
    }

    /// Every folder under the root, sorted. The root itself counts (name
    /// `""`) when it is a Maildir, as in OfflineIMAP. Directories whose
    /// names are not UTF-8 are skipped: they cannot be named in a config.
    pub fn list_folders(&self) -> Result<Vec<String>, Error> {
        let mut out = Vec::new();
        if is_maildir(&self.root) {
            out.push(String::new());
        }
        let mut seen = HashSet::new();
        if let Ok(m) = fs::metadata(&self.root) {
            seen.insert((m.dev(), m.ino()));
        }
        self.scan(&self.root, None, &mut seen, &mut out)?;
        out.sort();
        super::debug::maildir_debug!("Listed {} folders under {}", out.len(), self.root.display());
        Ok(out)
    }

    fn scan(
        &self,
        dir: &Path,
        prefix: Option<&str>,
        seen: &mut HashSet<(u64, u64)>,
        out: &mut Vec<String>,
    ) -> Result<(), Error> {
        let rd = fs::read_dir(dir).map_err(|e| Error::folder_io(dir, "list directory", e))?;
        for ent in rd {
            let ent = ent.map_err(|e| Error::folder_io(dir, "list directory", e))?;
            let Ok(name) = ent.file_name().into_string() else {
                continue;
            };
            if SPECIAL.contains(&name.as_str()) {
                continue;
            }
            let full = dir.join(&name);
            // Follows symlinks, like OfflineIMAP's isdir.
            let Ok(meta) = fs::metadata(&full) else {
                continue;
            };
            if !meta.is_dir() {
                continue;
            }
            let folder = match prefix {
                Some(p) => format!("{p}/{name}"),
                None => name,
            };
            if is_maildir(&full) {
                out.push(folder.clone());
            }
            // A symlink loop would recurse forever; each directory is
            // visited once.
            if self.sep == '/' && seen.insert((meta.dev(), meta.ino())) {
                self.scan(&full, Some(&folder), seen, out)?;
            }
        }
        Ok(())
    }

    /// Where folder `name` lives. With `sep = /` the components are nested
    /// directories; otherwise the name is one directory name.
    pub fn folder_path(&self, name: &str) -> PathBuf {
        if name.is_empty() {
            self.root.clone()
        } else {
            self.root.join(name)
        }
    }

    fn check_name(&self, name: &str) -> Result<(), Error> {
        let bad = |why| Error {
            path: self.root.clone(),
            kind: ErrorKind::BadFolderName {
                name: name.to_owned(),
                why,
            },
        };
        if name.contains('\0') {
            return Err(bad("contains a NUL byte"));
        }
        for c in Path::new(name).components() {
            match c {
                Component::Normal(part) => {
                    if self.sep == '/' && SPECIAL.iter().any(|s| part == *s) {
                        return Err(bad("with sep '/', no component may be cur, new or tmp"));
                    }
                }
                Component::CurDir => {}
                Component::ParentDir => return Err(bad("may not contain '..'")),
                Component::RootDir | Component::Prefix(_) => {
                    return Err(bad("may not start with '/'"));
                }
            }
        }
        Ok(())
    }

    /// Create folder `name` (all parent directories as needed) with `cur/`,
    /// `new/` and `tmp/`, mode 0700. Existing directories are fine.
    pub fn create_folder(&self, name: &str) -> Result<(), Error> {
        self.check_name(name)?;
        let path = self.folder_path(name);
        let mut b = DirBuilder::new();
        b.recursive(true).mode(0o700);
        b.create(&path)
            .map_err(|e| Error::folder_io(&path, "create directory", e))?;
        for s in SPECIAL {
            let p = path.join(s);
            match b.create(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && is_dir(&p) => {}
                Err(e) => return Err(Error::folder_io(p, "create directory", e)),
            }
        }
        if self.fsync {
            // The new directory entries, so a crash does not lose a folder
            // we are about to fill.
            if let Some(parent) = path.parent() {
                let _ = fs::File::open(parent).and_then(|d| d.sync_all());
            }
        }
        super::debug::maildir_debug!("Created folder {}", path.display());
        Ok(())
    }

    /// Open folder `name` with FMD5 taken from `name` itself (no local
    /// nametrans).
    pub fn open_folder(&self, name: &str) -> Result<MaildirFolder, Error> {
        self.open_folder_as(name, name)
    }

    /// Open folder `name`, whose nametrans'd (visible) name is
    /// `visible_name`; OfflineIMAP hashes the visible name into `,FMD5=`.
    pub fn open_folder_as(&self, name: &str, visible_name: &str) -> Result<MaildirFolder, Error> {
        self.check_name(name)?;
        MaildirFolder::open(
            self.folder_path(name),
            visible_name,
            self.windows_compatible,
            self.fsync,
        )
        .map(|f| f.with_header_times(self.utime_from_header, self.filename_use_mail_timestamp))
    }

    /// With `restoreatime`, the access times of folder `name`'s `new/` and
    /// `cur/` as they are now, to [`restore`](SavedAtimes::restore) after
    /// the folder's sync, as OfflineIMAP does around each folder; `None`
    /// without the option. A directory that cannot be stat'ed (e.g. a
    /// folder not created yet) is left out: it has no time to keep.
    pub fn save_atimes(&self, name: &str) -> Option<SavedAtimes> {
        if !self.restoreatime {
            return None;
        }
        let root = self.folder_path(name);
        let dirs = ["new", "cur"]
            .into_iter()
            .filter_map(|sub| {
                let dir = root.join(sub);
                let atime = fs::metadata(&dir).and_then(|m| m.accessed()).ok()?;
                Some((dir, atime))
            })
            .collect();
        Some(SavedAtimes { dirs })
    }
}

#[cfg(test)]
mod tests;
