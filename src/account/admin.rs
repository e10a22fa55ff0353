//! The one-shot commands that change a repository without syncing it:
//! `--delete-folder` (a folder on the server) and
//! `--migrate-fmd5-using-nametrans` (Maildir file names written before
//! OfflineIMAP 6.3.5). Each reports what it did as lines for the caller to
//! print, so the rules can be tested without a terminal.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::folders;
use crate::config;
use crate::imap::{ImapSession, utf7};
use crate::maildir::MaildirRepository;
use crate::maildir::filename;

/// What went wrong; each names the account, folder or file concerned.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Folder '{folder}'[{repository}] could not be deleted: {source}")]
    Delete {
        folder: String,
        repository: String,
        source: Box<crate::imap::Error>,
    },
    #[error("cannot connect to {repository} of account {account}: {source}")]
    Connect {
        account: String,
        repository: String,
        source: Box<crate::imap::Error>,
    },
    #[error("cannot list the folders of {}: {message}", root.display())]
    List { root: PathBuf, message: String },
    #[error("folder '{folder}': nametrans failed: {message}")]
    Nametrans { folder: String, message: String },
    #[error("cannot read {}: {source}", dir.display())]
    ReadDir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("Can't rename file '{}' to '{}': {why}", from.display(), to.display())]
    Rename {
        from: PathBuf,
        to: PathBuf,
        why: String,
    },
    #[error("{0}")]
    Lock(String),
}

/// `--delete-folder NAME`: DELETE `name` (as the server spells it, with
/// its separator) on the account's remote repository. With
/// `utf8foldernames` the name is UTF-8 and goes out in modified UTF-7, as
/// OfflineIMAP does. A dry run only says what it would do, without
/// connecting. The line returned is what to tell the user.
pub async fn delete_folder(
    account: &config::Account,
    name: &str,
    dry_run: bool,
    socktimeout: Option<Duration>,
) -> Result<String, Error> {
    if dry_run {
        return Ok(format!(
            "[DRYRUN] would try to remove '{name}' on remote of '{}' account",
            account.name
        ));
    }
    let remote = &account.remote;
    let mut session = ImapSession::connect(remote, socktimeout, None)
        .await
        .map_err(|source| Error::Connect {
            account: account.name.clone(),
            repository: remote.common.name.clone(),
            source: Box::new(source),
        })?;
    let wire = if account.folders.utf8foldernames {
        utf7::encode(name)
    } else {
        name.to_owned()
    };
    let result = session.delete_folder_raw(&wire).await;
    session.logout().await;
    result.map_err(|source| Error::Delete {
        folder: name.to_owned(),
        repository: remote.common.name.clone(),
        source: Box::new(source),
    })?;
    Ok(format!("Folder '{name}' deleted."))
}

/// What `--migrate-fmd5-using-nametrans` did (or, in a dry run, would do)
/// to one account.
#[derive(Debug, Default)]
pub struct Migration {
    /// Lines for the user: each file renamed, each file whose `FMD5` is
    /// neither the old nor the new one.
    pub lines: Vec<String>,
    /// Files renamed (or to be renamed).
    pub migrated: usize,
    /// Folders or files that could not be handled; the others were.
    pub errors: Vec<Error>,
}

/// `--migrate-fmd5-using-nametrans` for one account: in every local
/// folder, files whose `FMD5=` is the MD5 of the folder's own name (what
/// OfflineIMAP wrote before 6.3.5) are renamed to carry the MD5 of the
/// local `nametrans` of that name (what a sync trusts now). Only those 32
/// characters of the name change, by `rename(2)` within the same
/// directory, so a crash leaves each file under its old or its new name.
/// A folder whose name `nametrans` leaves alone has nothing to migrate.
/// Holds the account's lock, so no sync runs meanwhile.
pub fn migrate_fmd5(account: &config::Account, metadata: &Path, dry_run: bool) -> Migration {
    let mut out = Migration::default();
    let local = &account.local;
    let repo = MaildirRepository::new(local, false);
    if !repo.root().is_dir() {
        return out;
    }
    let _lock = if dry_run {
        None
    } else {
        match lock(metadata, &account.name) {
            Ok(l) => Some(l),
            Err(e) => {
                out.errors.push(e);
                return out;
            }
        }
    };
    let names = match repo.list_folders() {
        Ok(n) => n,
        Err(e) => {
            out.errors.push(Error::List {
                root: repo.root().to_path_buf(),
                message: e.to_string(),
            });
            return out;
        }
    };
    let python = account.folders.python.as_deref();
    for d in folders::describe(&names, &account.folders.local, local.sep, python) {
        let visible = match d.visible {
            Ok(v) => v,
            Err(message) => {
                out.errors.push(Error::Nametrans {
                    folder: d.name,
                    message,
                });
                continue;
            }
        };
        let old = filename::fmd5(&d.name);
        let new = filename::fmd5(&visible);
        let dir = repo.folder_path(&d.name);
        migrate_folder(&dir, &old, &new, dry_run, &mut out);
    }
    out
}

fn migrate_folder(dir: &Path, old: &str, new: &str, dry_run: bool, out: &mut Migration) {
    for sub in ["cur", "new"] {
        let subdir = dir.join(sub);
        let entries = match fs::read_dir(&subdir) {
            Ok(e) => e,
            Err(source) => {
                out.errors.push(Error::ReadDir {
                    dir: subdir,
                    source,
                });
                continue;
            }
        };
        let mut names: Vec<String> = entries
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| !n.starts_with('.'))
            .collect();
        names.sort();
        for name in names {
            let Some((start, found)) = fmd5_of(&name) else {
                continue;
            };
            let from = subdir.join(&name);
            if found == old && old != new {
                let renamed = format!("{}{new}{}", &name[..start], &name[start + found.len()..]);
                let to = subdir.join(renamed);
                out.lines.push(format!(
                    "{}Migrating file `{}' to FMD5 `{new}'",
                    if dry_run { "[DRYRUN] " } else { "" },
                    from.display()
                ));
                if dry_run {
                    out.migrated += 1;
                    continue;
                }
                // Never replace a file: mail is sacred.
                if to.exists() {
                    out.errors.push(Error::Rename {
                        from,
                        to,
                        why: "the new name exists already".into(),
                    });
                    continue;
                }
                match fs::rename(&from, &to) {
                    Ok(()) => out.migrated += 1,
                    Err(e) => out.errors.push(Error::Rename {
                        from,
                        to,
                        why: e.to_string(),
                    }),
                }
            } else if found != new && found != old {
                out.lines.push(format!(
                    "Inconsistent FMD5 for file `{}': Neither `{old}' nor `{new}' found",
                    from.display()
                ));
            }
        }
    }
}

/// Where the hex digits after the first `FMD5=` start, and the digits.
fn fmd5_of(name: &str) -> Option<(usize, &str)> {
    let start = name.find("FMD5=")? + "FMD5=".len();
    let len = name[start..]
        .bytes()
        .take_while(u8::is_ascii_hexdigit)
        .count();
    (len > 0).then(|| (start, &name[start..start + len]))
}

/// `<metadata>/<account>.lock`, as a sync takes it.
struct Lock {
    path: PathBuf,
    _file: fs::File,
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

fn lock(metadata: &Path, account: &str) -> Result<Lock, Error> {
    fs::create_dir_all(metadata)
        .map_err(|e| Error::Lock(format!("cannot create {}: {e}", metadata.display())))?;
    let path = metadata.join(format!("{account}.lock"));
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::Lock(format!("cannot open lock file {}: {e}", path.display())))?;
    match file.try_lock() {
        Ok(()) => Ok(Lock { path, _file: file }),
        Err(fs::TryLockError::WouldBlock) => Err(Error::Lock(format!(
            "Could not lock account {account}. Is another instance using this account? ({})",
            path.display()
        ))),
        Err(fs::TryLockError::Error(e)) => {
            Err(Error::Lock(format!("cannot lock {}: {e}", path.display())))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn fmd5_position() {
        let n = "1_0.1.h,U=3,FMD5=abc123:2,S";
        let (start, hex) = fmd5_of(n).unwrap();
        assert_eq!(hex, "abc123");
        assert_eq!(&n[start..start + 6], "abc123");
        assert_eq!(fmd5_of("1_0.1.h:2,S"), None);
        assert_eq!(fmd5_of("x,FMD5=:2,"), None);
    }

    #[test]
    fn migrate_renames_only_old_hashes() {
        let t = tempfile::tempdir().unwrap();
        for s in ["cur", "new", "tmp"] {
            fs::create_dir_all(t.path().join(s)).unwrap();
        }
        let (old, new) = (filename::fmd5("a"), filename::fmd5("b"));
        let files = [
            format!("cur/1_0.1.h,U=1,FMD5={old}:2,Sa"),
            format!("new/1_1.1.h,U=2,FMD5={new}:2,"),
            "cur/1_2.1.h,U=3,FMD5=ffff:2,S".to_owned(),
            "cur/1_3.1.h:2,".to_owned(),
        ];
        for f in &files {
            fs::write(t.path().join(f), f).unwrap();
        }
        let mut dry = Migration::default();
        migrate_folder(t.path(), &old, &new, true, &mut dry);
        assert_eq!(dry.migrated, 1);
        assert!(t.path().join(&files[0]).exists());
        let mut m = Migration::default();
        migrate_folder(t.path(), &old, &new, false, &mut m);
        assert_eq!(m.migrated, 1);
        assert!(m.errors.is_empty());
        let moved = t.path().join(format!("cur/1_0.1.h,U=1,FMD5={new}:2,Sa"));
        assert_eq!(fs::read_to_string(moved).unwrap(), files[0]);
        assert!(!t.path().join(&files[0]).exists());
        assert!(m.lines.iter().any(|l| l.contains("Inconsistent FMD5")));
        assert_eq!(m.lines.len(), 2, "{:?}", m.lines);
    }
}
