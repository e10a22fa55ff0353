//! Gmail labels in a Maildir message file (`GmailMaildir` with
//! `synclabels`): read from the `labelsheader` field, and rewritten in
//! place.
//!
//! As offlineimap3 does, a rewrite drops every field of that name (any
//! case, with its continuation lines) and adds one at the end of the
//! header. Only the header changes: the body, the file's name (so its
//! flags and UID) and its directory stay. The new content goes to `tmp/`
//! first and is renamed over the old file, so a crash leaves either the
//! old or the new file, never a partial one.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use super::Error;
use crate::sync::headers;
use crate::sync::labels::{self, LabelSet};

/// The unfolded values of every field named `name` (ASCII
/// case-insensitive) in the header of `bytes`.
pub fn header_values(bytes: &[u8], name: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut in_field = false;
    for line in bytes.split_inclusive(|b| *b == b'\n') {
        let text = trim_eol(line);
        if text.is_empty() {
            break;
        }
        if matches!(text.first(), Some(b' ' | b'\t')) {
            if in_field && let Some(last) = out.last_mut() {
                last.push_str(&String::from_utf8_lossy(text));
            }
            continue;
        }
        in_field = false;
        if let Some(colon) = text.iter().position(|b| *b == b':') {
            let (field, rest) = text.split_at(colon);
            if field.eq_ignore_ascii_case(name.as_bytes()) {
                in_field = true;
                out.push(String::from_utf8_lossy(&rest[1..]).into_owned());
            }
        }
    }
    out.into_iter().map(|v| v.trim().to_owned()).collect()
}

fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The labels a message carries in its `header` fields.
pub fn labels_of(bytes: &[u8], header: &str) -> LabelSet {
    header_values(bytes, header)
        .iter()
        .flat_map(|v| labels::parse_header_value(header, v))
        .collect()
}

/// `bytes` with every `header` field replaced by one holding `labels`, at
/// the end of the header, with the message's own line ends.
pub fn with_labels(bytes: &[u8], header: &str, labels: &LabelSet) -> Vec<u8> {
    let stripped = headers::remove(bytes, &[header.to_owned()]);
    let eol: &[u8] = match stripped.iter().position(|b| *b == b'\n') {
        Some(i) if i > 0 && stripped[i - 1] == b'\r' => b"\r\n",
        _ => b"\n",
    };
    let field = format!("{header}: {}", labels::format_header_value(header, labels));
    // Where the header ends: the start of its blank line, else the end.
    let mut end = stripped.len();
    let mut pos = 0;
    for line in stripped.split_inclusive(|b| *b == b'\n') {
        if trim_eol(line).is_empty() {
            end = pos;
            break;
        }
        pos += line.len();
    }
    let mut out = Vec::with_capacity(stripped.len() + field.len() + 2);
    out.extend_from_slice(&stripped[..end]);
    if end > 0 && !stripped[..end].ends_with(b"\n") {
        out.extend_from_slice(eol);
    }
    out.extend_from_slice(field.as_bytes());
    out.extend_from_slice(eol);
    out.extend_from_slice(&stripped[end..]);
    out
}

/// What [`rewrite`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rewritten {
    /// The labels the file carries now.
    pub labels: LabelSet,
    /// The file's mtime (seconds) afterwards, for the status cache.
    pub mtime: i64,
    /// False when the file already said that and was left alone.
    pub changed: bool,
}

fn mtime_secs(meta: &fs::Metadata) -> i64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Sets the labels of the message file `path` of the Maildir folder
/// `folder` to `wanted` (less `ignore`; the file keeps the ignored labels
/// it has). With `keep_mtime` (`utime_from_header`) the file keeps its
/// modification time. The file must not change while this runs: if its
/// size or mtime moved, nothing is renamed and an error says so.
pub fn rewrite(
    folder: &Path,
    path: &Path,
    header: &str,
    wanted: &LabelSet,
    ignore: &LabelSet,
    keep_mtime: bool,
    fsync: bool,
) -> Result<Rewritten, Error> {
    let before = fs::metadata(path).map_err(|e| Error::message_io(path, "stat", e))?;
    let bytes = fs::read(path).map_err(|e| Error::message_io(path, "read", e))?;
    let current = labels_of(&bytes, header);
    let Some(labels) = labels::file_labels(&current, wanted, ignore) else {
        return Ok(Rewritten {
            labels: current,
            mtime: mtime_secs(&before),
            changed: false,
        });
    };
    let new_bytes = with_labels(&bytes, header, &labels);
    let tmp = write_tmp(folder, &new_bytes, fsync)?;
    let result = (|| {
        if keep_mtime {
            let f = OpenOptions::new()
                .write(true)
                .open(&tmp)
                .map_err(|e| Error::message_io(&tmp, "open", e))?;
            let old = before
                .modified()
                .map_err(|e| Error::message_io(path, "stat", e))?;
            f.set_modified(old)
                .map_err(|e| Error::message_io(&tmp, "set the mtime of", e))?;
        }
        // A mail client may have renamed or rewritten the file meanwhile:
        // renaming over it then would lose its change (or resurrect it).
        let now = fs::metadata(path).map_err(|e| Error::message_io(path, "stat", e))?;
        if now.len() != before.len() || now.modified().ok() != before.modified().ok() {
            return Err(Error::message_io(
                path,
                "relabel",
                io::Error::other("the file changed while its labels were rewritten"),
            ));
        }
        fs::rename(&tmp, path).map_err(|e| Error::message_io(&tmp, "rename", e))
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    let after = fs::metadata(path).map_err(|e| Error::message_io(path, "stat", e))?;
    Ok(Rewritten {
        labels,
        mtime: mtime_secs(&after),
        changed: true,
    })
}

/// Writes `bytes` to a new file in `folder/tmp/`.
fn write_tmp(folder: &Path, bytes: &[u8], fsync: bool) -> Result<PathBuf, Error> {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = folder
            .join("tmp")
            .join(format!("{secs}.{}_{n}.labels", std::process::id()));
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(mut f) => {
                let written = f
                    .write_all(bytes)
                    .and_then(|()| if fsync { File::sync_all(&f) } else { Ok(()) });
                if let Err(e) = written {
                    let _ = fs::remove_file(&tmp);
                    return Err(Error::message_io(tmp, "write", e));
                }
                return Ok(tmp);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::message_io(tmp, "create", e)),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // Tests may unwrap (house rules).

    use super::*;

    fn set(labels: &[&str]) -> LabelSet {
        labels.iter().map(|s| s.to_string()).collect()
    }

    const MSG: &[u8] = b"From: a@example.org\nX-Keywords: old,\n  \\Inbox\nSubject: hi\nx-keywords: more\n\nX-Keywords: in the body\nbody\n";

    #[test]
    fn reads_every_field_of_the_name_unfolded() {
        assert_eq!(
            header_values(MSG, "X-Keywords"),
            vec!["old,  \\Inbox".to_owned(), "more".to_owned()]
        );
        assert_eq!(
            labels_of(MSG, "X-Keywords"),
            set(&["old", "\\Inbox", "more"])
        );
        assert!(labels_of(b"Subject: x\n\nbody\n", "X-Keywords").is_empty());
    }

    #[test]
    fn replaces_the_fields_at_the_end_of_the_header_only() {
        let out = with_labels(MSG, "X-Keywords", &set(&["b", "a"]));
        assert_eq!(
            out,
            b"From: a@example.org\nSubject: hi\nX-Keywords: a,b\n\nX-Keywords: in the body\nbody\n"
        );
        let crlf = with_labels(b"A: 1\r\n\r\nbody\r\n", "X-Label", &set(&["x", "y"]));
        assert_eq!(crlf, b"A: 1\r\nX-Label: x y\r\n\r\nbody\r\n");
        // A message that is all header (no blank line).
        assert_eq!(
            with_labels(b"A: 1", "X-Keywords", &set(&["x"])),
            b"A: 1\nX-Keywords: x\n"
        );
        assert_eq!(
            with_labels(b"A: 1\n\nbody", "X-Keywords", &LabelSet::new()),
            b"A: 1\nX-Keywords: \n\nbody"
        );
    }

    fn folder() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["cur", "new", "tmp"] {
            fs::create_dir(dir.path().join(sub)).unwrap();
        }
        let path = dir.path().join("cur/1700000000_0.1.host,U=7,FMD5=abc:2,FS");
        fs::write(&path, MSG).unwrap();
        let old = UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
        File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(old)
            .unwrap();
        (dir, path)
    }

    #[test]
    fn rewrite_keeps_name_body_and_ignored_labels() {
        let (dir, path) = folder();
        let ignore = set(&["\\Inbox"]);
        let r = rewrite(
            dir.path(),
            &path,
            "X-Keywords",
            &set(&["new"]),
            &ignore,
            false,
            true,
        )
        .unwrap();
        assert!(r.changed);
        assert_eq!(r.labels, set(&["\\Inbox", "new"]));
        assert!(r.mtime > 1_000_000);
        let text = fs::read(&path).unwrap();
        assert_eq!(
            text,
            b"From: a@example.org\nSubject: hi\nX-Keywords: \\Inbox,new\n\nX-Keywords: in the body\nbody\n"
        );
        assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
        assert_eq!(fs::read_dir(dir.path().join("cur")).unwrap().count(), 1);

        // Already so: left alone.
        let again = rewrite(
            dir.path(),
            &path,
            "X-Keywords",
            &set(&["new"]),
            &ignore,
            false,
            true,
        )
        .unwrap();
        assert!(!again.changed);
        assert_eq!(again.mtime, r.mtime);
    }

    #[test]
    fn rewrite_can_keep_the_mtime() {
        let (dir, path) = folder();
        let r = rewrite(
            dir.path(),
            &path,
            "X-Keywords",
            &set(&["x"]),
            &LabelSet::new(),
            true,
            false,
        )
        .unwrap();
        assert_eq!(r.mtime, 1_000_000);
        assert_eq!(
            labels_of(&fs::read(&path).unwrap(), "X-Keywords"),
            set(&["x"])
        );
    }

    #[test]
    fn a_vanished_file_is_an_error_and_nothing_is_left_behind() {
        let (dir, path) = folder();
        fs::remove_file(&path).unwrap();
        let e = rewrite(
            dir.path(),
            &path,
            "X-Keywords",
            &set(&["x"]),
            &LabelSet::new(),
            false,
            false,
        )
        .unwrap_err();
        assert!(e.to_string().contains("cannot stat message file"), "{e}");
        assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
        assert_eq!(fs::read_dir(dir.path().join("cur")).unwrap().count(), 0);
    }
}
