//! Where OfflineIMAP keeps per-folder metadata under `metadata`:
//! `Account-<A>/LocalStatus-sqlite/<basename>`, `Account-<A>/LocalStatus/<basename>`
//! (legacy) and `Repository-<R>/FolderValidity/<basename>`. Pure path
//! arithmetic, no I/O.

use std::path::{Path, PathBuf};

/// OfflineIMAP's `getfolderbasename`: a folder name as one file name.
/// `/` becomes `.`; an empty name becomes `.`; and then a name that is
/// exactly `.` becomes `dot` (so the empty name ends up as `dot` too, as
/// in OfflineIMAP, whose final regex runs after the empty-name rule).
pub fn folder_basename(name: &str) -> String {
    let base = if name.is_empty() {
        ".".to_owned()
    } else {
        name.replace('/', ".")
    };
    // OfflineIMAP's `(^|/)\.$` can only match the whole string here, since
    // no `/` is left.
    if base == "." { "dot".to_owned() } else { base }
}

/// The status cache's folder name: the remote folder's visible name with
/// the remote hierarchy separator replaced by `.` (the status repository's
/// separator is always `.`).
pub fn status_folder_name(remote_visible_name: &str, remote_sep: char) -> String {
    remote_visible_name.replace(remote_sep, ".")
}

/// `<metadata>/Account-<account>`.
pub fn account_dir(metadata: &Path, account: &str) -> PathBuf {
    metadata.join(format!("Account-{account}"))
}

/// `<metadata>/Repository-<repository>`.
pub fn repository_dir(metadata: &Path, repository: &str) -> PathBuf {
    metadata.join(format!("Repository-{repository}"))
}

/// `<metadata>/Account-<A>/LocalStatus-sqlite/<basename>`; `folder` is the
/// status folder name (see [`status_folder_name`]).
pub fn status_db_path(metadata: &Path, account: &str, folder: &str) -> PathBuf {
    account_dir(metadata, account)
        .join("LocalStatus-sqlite")
        .join(folder_basename(folder))
}

/// `<metadata>/Account-<A>/LocalStatus/<basename>`: the plain-text cache of
/// OfflineIMAP before SQLite, only read to migrate it.
pub fn legacy_status_path(metadata: &Path, account: &str, folder: &str) -> PathBuf {
    account_dir(metadata, account)
        .join("LocalStatus")
        .join(folder_basename(folder))
}

/// `<metadata>/Repository-<R>/FolderValidity/<basename>`; `folder` is the
/// folder's own name in that repository.
pub fn validity_path(metadata: &Path, repository: &str, folder: &str) -> PathBuf {
    repository_dir(metadata, repository)
        .join("FolderValidity")
        .join(folder_basename(folder))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basename_rules_match_offlineimap() {
        assert_eq!(folder_basename("INBOX"), "INBOX");
        assert_eq!(folder_basename("INBOX/Sub/Deep"), "INBOX.Sub.Deep");
        assert_eq!(folder_basename("Lists.foo"), "Lists.foo");
        assert_eq!(folder_basename("."), "dot");
        // Python: re.sub(r'(^|\/)\.$', r'\1dot', '.') after '' -> '.'.
        assert_eq!(folder_basename(""), "dot");
        assert_eq!(folder_basename("/"), "dot");
        assert_eq!(folder_basename("a/."), "a..");
        assert_eq!(folder_basename("Entwürfe"), "Entwürfe");
    }

    #[test]
    fn layout() {
        let m = Path::new("/home/u/.offlineimap");
        assert_eq!(
            status_db_path(m, "Work", "INBOX.Sub"),
            Path::new("/home/u/.offlineimap/Account-Work/LocalStatus-sqlite/INBOX.Sub")
        );
        assert_eq!(
            legacy_status_path(m, "Work", "INBOX/Sub"),
            Path::new("/home/u/.offlineimap/Account-Work/LocalStatus/INBOX.Sub")
        );
        assert_eq!(
            validity_path(m, "Remote", "INBOX/Sub"),
            Path::new("/home/u/.offlineimap/Repository-Remote/FolderValidity/INBOX.Sub")
        );
        assert_eq!(status_folder_name("INBOX/Sub", '/'), "INBOX.Sub");
    }
}
