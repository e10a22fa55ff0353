//! Pure folder-structure matching: which remote folder pairs with which
//! local folder, and which folders must be created on either side.
//!
//! Names are compared the way OfflineIMAP compares them: the remote name
//! (as the server spells it, modified UTF-7 unless `utf8foldernames`) with
//! the remote hierarchy delimiter replaced by the local `sep`. Folder
//! deletions are never propagated: a folder missing on one side is created
//! there (when `createfolders` allows), never deleted on the other.

use std::collections::{BTreeMap, BTreeSet};

/// One remote folder as listed by the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteName {
    /// The name as the sync identifies it (raw IMAP name, or its UTF-8
    /// decoding with `utf8foldernames`), with the server's delimiter.
    pub name: String,
    /// The server's hierarchy delimiter for it, if any.
    pub delimiter: Option<char>,
}

/// A folder pair to sync.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct FolderPair {
    pub remote: String,
    pub local: String,
    /// The status cache's name: the remote name with its delimiter
    /// replaced by `.` (OfflineIMAP's status repository separator).
    pub status: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FolderPlan {
    /// Pairs to sync, sorted case-insensitively by local name like
    /// OfflineIMAP's default `foldersort`.
    pub pairs: Vec<FolderPair>,
    /// Local folders to create (remote exists, local does not).
    pub create_local: Vec<String>,
    /// Remote folders to create (local exists, remote does not), with the
    /// local name they come from.
    pub create_remote: Vec<(String, String)>,
    /// Folders left alone, with the reason (shown as warnings).
    pub skipped: Vec<String>,
}

pub struct FolderOptions {
    pub local_sep: char,
    /// Delimiter to use for folders the server did not list (creations).
    pub remote_delimiter: char,
    pub create_local: bool,
    pub create_remote: bool,
    /// With `utf8foldernames` off, remote names are modified UTF-7, which is
    /// pure ASCII: a local name with other characters cannot round-trip.
    pub require_ascii_local: bool,
}

fn to_local(remote: &RemoteName, local_sep: char) -> Option<String> {
    match remote.delimiter {
        Some(d) if d != local_sep => {
            // A remote name that already contains the local separator would
            // read back as a different hierarchy: OfflineIMAP skips it.
            if remote.name.contains(local_sep) {
                None
            } else {
                Some(remote.name.replace(d, &local_sep.to_string()))
            }
        }
        _ => Some(remote.name.clone()),
    }
}

fn status_name(remote: &str, delimiter: Option<char>) -> String {
    match delimiter {
        Some(d) => remote.replace(d, "."),
        None => remote.to_string(),
    }
}

pub fn plan_folders(remote: &[RemoteName], local: &[String], opts: &FolderOptions) -> FolderPlan {
    let mut out = FolderPlan::default();
    let local_set: BTreeSet<&str> = local.iter().map(String::as_str).collect();
    let mut paired_local: BTreeSet<String> = BTreeSet::new();
    let mut pairs: BTreeMap<(String, String), FolderPair> = BTreeMap::new();

    for r in remote {
        let Some(local_name) = to_local(r, opts.local_sep) else {
            out.skipped.push(format!(
                "Skipping remote folder '{}': its name contains the local separator '{}'",
                r.name, opts.local_sep
            ));
            continue;
        };
        if !local_set.contains(local_name.as_str()) {
            if !opts.create_local {
                out.skipped.push(format!(
                    "Not syncing remote folder '{}': local folder '{local_name}' is missing and createfolders is off",
                    r.name
                ));
                continue;
            }
            out.create_local.push(local_name.clone());
        }
        paired_local.insert(local_name.clone());
        pairs.insert(
            (local_name.to_lowercase(), local_name.clone()),
            FolderPair {
                remote: r.name.clone(),
                local: local_name,
                status: status_name(&r.name, r.delimiter),
            },
        );
    }

    for l in local {
        // The Maildir root itself can hold cur/new/tmp; it has no name to
        // pair with on the server.
        if l.is_empty() || paired_local.contains(l) {
            continue;
        }
        if !opts.create_remote {
            out.skipped.push(format!(
                "Not syncing local folder '{l}': it does not exist on the server and createfolders is off"
            ));
            continue;
        }
        if opts.require_ascii_local && !l.is_ascii() {
            out.skipped.push(format!(
                "Not creating local folder '{l}' on the server: non-ASCII names need utf8foldernames = yes"
            ));
            continue;
        }
        let d = opts.remote_delimiter;
        if d != opts.local_sep && l.contains(d) {
            out.skipped.push(format!(
                "Not creating local folder '{l}' on the server: its name contains the server's delimiter '{d}'"
            ));
            continue;
        }
        let remote_name = l.replace(opts.local_sep, &d.to_string());
        out.create_remote.push((remote_name.clone(), l.clone()));
        pairs.insert(
            (l.to_lowercase(), l.clone()),
            FolderPair {
                status: status_name(&remote_name, Some(d)),
                remote: remote_name,
                local: l.clone(),
            },
        );
    }
    out.pairs = pairs.into_values().collect();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(name: &str) -> RemoteName {
        RemoteName {
            name: name.into(),
            delimiter: Some('/'),
        }
    }

    fn opts(sep: char) -> FolderOptions {
        FolderOptions {
            local_sep: sep,
            remote_delimiter: '/',
            create_local: true,
            create_remote: true,
            require_ascii_local: true,
        }
    }

    #[test]
    fn remote_folders_map_to_local_with_sep() {
        let p = plan_folders(&[r("INBOX"), r("Archive/2024")], &[], &opts('.'));
        assert_eq!(p.create_local, vec!["INBOX", "Archive.2024"]);
        assert_eq!(
            p.pairs,
            vec![
                FolderPair {
                    remote: "Archive/2024".into(),
                    local: "Archive.2024".into(),
                    status: "Archive.2024".into()
                },
                FolderPair {
                    remote: "INBOX".into(),
                    local: "INBOX".into(),
                    status: "INBOX".into()
                },
            ]
        );
    }

    #[test]
    fn slash_sep_keeps_nesting_and_status_uses_dots() {
        let p = plan_folders(&[r("Archive/2024")], &["Archive/2024".into()], &opts('/'));
        assert!(p.create_local.is_empty());
        assert_eq!(p.pairs[0].status, "Archive.2024");
    }

    #[test]
    fn local_only_folder_is_created_remotely() {
        let p = plan_folders(
            &[r("INBOX")],
            &["INBOX".into(), "Notes.todo".into()],
            &opts('.'),
        );
        assert_eq!(
            p.create_remote,
            vec![("Notes/todo".into(), "Notes.todo".into())]
        );
        assert_eq!(p.pairs.len(), 2);
    }

    #[test]
    fn remote_name_with_local_sep_is_skipped() {
        let p = plan_folders(&[r("a.b")], &[], &opts('.'));
        assert!(p.pairs.is_empty());
        assert_eq!(p.skipped.len(), 1);
    }

    #[test]
    fn non_ascii_local_folder_not_created_without_utf8() {
        let p = plan_folders(&[], &["Küche".into()], &opts('.'));
        assert!(p.create_remote.is_empty());
        assert_eq!(p.skipped.len(), 1);
    }

    #[test]
    fn createfolders_off_skips_instead_of_creating() {
        let mut o = opts('.');
        o.create_local = false;
        o.create_remote = false;
        let p = plan_folders(&[r("INBOX")], &["Drafts".into()], &o);
        assert!(p.pairs.is_empty());
        assert_eq!(p.skipped.len(), 2);
    }
}
