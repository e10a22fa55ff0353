//! Gmail labels as plain data (`synclabels`): their spellings in a message
//! header, in the status cache and in `X-GM-LABELS`, and the label pass
//! that follows the flag pass, decided from the two sides' and the status
//! cache's label sets without any I/O.
//!
//! The formats are offlineimap3's, so that a Maildir and a status cache
//! written by either program read the same in the other:
//! - header (`labelsheader`, default `X-Keywords`): labels joined by `,`,
//!   or by a space for `X-Label` and `Keywords`; read back split on that
//!   separator, each label trimmed, empty ones dropped;
//! - status cache `labels` column: sorted, joined by `", "`;
//! - IMAP: a parenthesised list of atoms or quoted strings.
//!
//! The pass runs in offlineimap3's order. First server to Maildir: a
//! message whose server labels differ from the status cache's gets the
//! server's set written into its file. Then Maildir to server: a file
//! newer than the mtime the status cache recorded for it has its header
//! read; labels added or removed since the status cache are added to or
//! removed from the server's message, grouped by label so that one
//! `UID STORE` serves every message of a label. `ignorelabels` are never
//! changed in either direction, and a Maildir file keeps the ignored labels
//! it has.

use std::collections::{BTreeMap, BTreeSet};

use super::model::Uid;

/// A message's labels, sorted (the order every format writes them in).
pub type LabelSet = BTreeSet<String>;

/// Headers whose labels are separated by a space; all others use a comma.
const SPACE_SEPARATED: [&str; 2] = ["X-Label", "Keywords"];

fn separator(header: &str) -> char {
    // offlineimap3 compares the configured name as written.
    if SPACE_SEPARATED.contains(&header) {
        ' '
    } else {
        ','
    }
}

/// The labels in one value of the `header` field.
pub fn parse_header_value(header: &str, value: &str) -> LabelSet {
    value
        .split(separator(header))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The value of the `header` field holding `labels`.
pub fn format_header_value(header: &str, labels: &LabelSet) -> String {
    let sep = separator(header).to_string();
    labels
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(&sep)
}

/// The status cache's `labels` column for `labels`.
pub fn status_string(labels: &LabelSet) -> String {
    labels
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A status cache `labels` column read back.
pub fn parse_status(column: &str) -> LabelSet {
    parse_header_value("X-Keywords", column)
}

/// `labels` as an IMAP parenthesised list for `UID STORE ... X-GM-LABELS`:
/// every label quoted, so that spaces, parentheses and the backslash of
/// system labels (`\Inbox`) survive.
pub fn imap_list(labels: &LabelSet) -> String {
    let quoted: Vec<String> = labels
        .iter()
        .map(|l| format!("\"{}\"", l.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    format!("({})", quoted.join(" "))
}

/// The labels inside an `X-GM-LABELS (...)` list as the server sent it
/// (without the outer parentheses): atoms such as `\Inbox` or `Work`, and
/// quoted strings with `\\` and `\"` escapes. `None` when a quoted string
/// does not end.
pub fn parse_imap_list(inner: &str) -> Option<LabelSet> {
    let mut out = LabelSet::new();
    let mut chars = inner.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_ascii_whitespace()).is_some() {}
        let Some(&first) = chars.peek() else {
            return Some(out);
        };
        let mut label = String::new();
        if first == '"' {
            chars.next();
            loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => label.push(chars.next()?),
                    c => label.push(c),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_ascii_whitespace()) {
                label.push(c);
            }
        }
        out.insert(label);
    }
}

/// What the status cache knows of one message's labels.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatusLabels {
    pub labels: LabelSet,
    /// The Maildir file's mtime (seconds) when its labels were last
    /// synced; 0 when never.
    pub mtime: i64,
}

/// Server to Maildir: each message on both sides whose server labels
/// (less `ignore`) differ from the status cache's (less `ignore`), with
/// the set to write into its file and to record.
pub fn remote_changes(
    remote: &BTreeMap<Uid, LabelSet>,
    local_uids: &BTreeSet<Uid>,
    status: &BTreeMap<Uid, StatusLabels>,
    ignore: &LabelSet,
) -> Vec<(Uid, LabelSet)> {
    let empty = LabelSet::new();
    remote
        .iter()
        .filter(|(uid, _)| local_uids.contains(uid))
        .filter_map(|(&uid, labels)| {
            let now: LabelSet = labels.difference(ignore).cloned().collect();
            let known = status.get(&uid).map_or(&empty, |s| &s.labels);
            let before: LabelSet = known.difference(ignore).cloned().collect();
            (now != before).then_some((uid, now))
        })
        .collect()
}

/// The labels a Maildir file should carry when the sync sets `wanted`:
/// `wanted` less `ignore`, plus the ignored labels the file has. `None`
/// when the file already says that (no rewrite).
pub fn file_labels(current: &LabelSet, wanted: &LabelSet, ignore: &LabelSet) -> Option<LabelSet> {
    let wanted: LabelSet = wanted.difference(ignore).cloned().collect();
    let kept: LabelSet = current.intersection(ignore).cloned().collect();
    let mine: LabelSet = current.difference(ignore).cloned().collect();
    if mine == wanted {
        return None;
    }
    Some(wanted.union(&kept).cloned().collect())
}

/// Maildir to server, first step: the messages on both sides whose file is
/// newer than the mtime the status cache recorded (only their headers need
/// reading). `skip` holds the messages the server-to-Maildir step just
/// rewrote (their new mtime is recorded with their labels).
pub fn local_candidates(
    local_mtimes: &BTreeMap<Uid, i64>,
    remote_uids: &BTreeSet<Uid>,
    status: &BTreeMap<Uid, StatusLabels>,
    skip: &BTreeSet<Uid>,
) -> Vec<Uid> {
    local_mtimes
        .iter()
        .filter(|(uid, _)| remote_uids.contains(uid) && !skip.contains(uid))
        .filter(|(uid, mtime)| **mtime > status.get(uid).map_or(0, |s| s.mtime))
        .map(|(&uid, _)| uid)
        .collect()
}

/// Maildir to server, second step: the `UID STORE`s to make, by label.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelStores {
    /// `+X-GM-LABELS (label)` on these UIDs.
    pub add: BTreeMap<String, Vec<Uid>>,
    /// `-X-GM-LABELS (label)` on these UIDs.
    pub remove: BTreeMap<String, Vec<Uid>>,
}

impl LabelStores {
    pub fn is_empty(&self) -> bool {
        self.add.is_empty() && self.remove.is_empty()
    }
}

/// The labels read from the candidates' files compared with the status
/// cache's: what to add and remove on the server. Ignored labels are
/// never stored (the server keeps its own).
pub fn local_changes(
    local: &BTreeMap<Uid, LabelSet>,
    status: &BTreeMap<Uid, StatusLabels>,
    ignore: &LabelSet,
) -> LabelStores {
    let empty = LabelSet::new();
    let mut out = LabelStores::default();
    for (&uid, labels) in local {
        let known = status.get(&uid).map_or(&empty, |s| &s.labels);
        for l in labels.difference(known).filter(|l| !ignore.contains(*l)) {
            out.add.entry(l.clone()).or_default().push(uid);
        }
        for l in known.difference(labels).filter(|l| !ignore.contains(*l)) {
            out.remove.entry(l.clone()).or_default().push(uid);
        }
    }
    out
}

/// The status cache's labels after `stores` succeeded on the server.
pub fn after_stores(before: &LabelSet, uid: Uid, stores: &LabelStores) -> LabelSet {
    let mut out = before.clone();
    for (l, uids) in &stores.add {
        if uids.contains(&uid) {
            out.insert(l.clone());
        }
    }
    for (l, uids) in &stores.remove {
        if uids.contains(&uid) {
            out.remove(l);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(labels: &[&str]) -> LabelSet {
        labels.iter().map(|s| s.to_string()).collect()
    }

    fn status(labels: &[&str], mtime: i64) -> StatusLabels {
        StatusLabels {
            labels: set(labels),
            mtime,
        }
    }

    #[test]
    fn header_values_by_header_name() {
        let l = set(&["\\Inbox", "Work stuff", "b"]);
        assert_eq!(
            format_header_value("X-Keywords", &l),
            "Work stuff,\\Inbox,b"
        );
        assert_eq!(
            parse_header_value("X-Keywords", " Work stuff , \\Inbox,,b "),
            l
        );
        assert_eq!(format_header_value("X-Label", &set(&["a", "b"])), "a b");
        assert_eq!(parse_header_value("Keywords", "a  b"), set(&["a", "b"]));
        // The comparison is on the name as configured, as in offlineimap3.
        assert_eq!(parse_header_value("x-label", "a b"), set(&["a b"]));
        assert!(parse_header_value("X-Keywords", " ").is_empty());
    }

    #[test]
    fn status_column_is_offlineimap3s() {
        let l = set(&["b", "\\Inbox", "a"]);
        assert_eq!(status_string(&l), "\\Inbox, a, b");
        assert_eq!(parse_status("\\Inbox, a, b"), l);
        assert!(parse_status("").is_empty());
    }

    #[test]
    fn imap_lists_both_ways() {
        let l = set(&["\\Inbox", "My \"quoted\" (x)", "back\\slash"]);
        let wire = imap_list(&l);
        assert_eq!(wire, r#"("My \"quoted\" (x)" "\\Inbox" "back\\slash")"#);
        assert_eq!(parse_imap_list(&wire[1..wire.len() - 1]), Some(l));
        assert_eq!(
            parse_imap_list(r#"\Inbox "\\Important" Work  "Two words""#),
            Some(set(&["\\Inbox", "\\Important", "Work", "Two words"]))
        );
        assert_eq!(parse_imap_list(""), Some(LabelSet::new()));
        assert_eq!(parse_imap_list(r#""open"#), None);
        assert_eq!(imap_list(&LabelSet::new()), "()");
    }

    #[test]
    fn server_changes_reach_messages_on_both_sides_only() {
        let remote = BTreeMap::from([
            (1, set(&["a"])),
            (2, set(&["a", "b"])),
            (3, set(&["x"])),
            (4, set(&["\\Inbox", "a"])),
            (5, set(&[])),
        ]);
        let local = BTreeSet::from([1, 2, 4, 5]);
        let st = BTreeMap::from([
            (1, status(&["a"], 10)),
            (2, status(&["a"], 10)),
            (4, status(&["a"], 10)),
            (5, status(&["gone"], 10)),
        ]);
        let ignore = set(&["\\Inbox"]);
        // 1 unchanged, 3 not local, 4 differs only by an ignored label.
        assert_eq!(
            remote_changes(&remote, &local, &st, &ignore),
            vec![(2, set(&["a", "b"])), (5, set(&[]))]
        );
        // Without a status row the server's labels are news.
        assert_eq!(
            remote_changes(&remote, &local, &BTreeMap::new(), &LabelSet::new()),
            vec![
                (1, set(&["a"])),
                (2, set(&["a", "b"])),
                (4, set(&["\\Inbox", "a"]))
            ]
        );
    }

    #[test]
    fn file_keeps_its_ignored_labels() {
        let ignore = set(&["\\Starred"]);
        assert_eq!(
            file_labels(
                &set(&["\\Starred", "old"]),
                &set(&["new", "\\Starred"]),
                &ignore
            ),
            Some(set(&["\\Starred", "new"]))
        );
        assert_eq!(
            file_labels(&set(&["old"]), &set(&["new", "\\Starred"]), &ignore),
            Some(set(&["new"]))
        );
        assert_eq!(
            file_labels(&set(&["\\Starred", "same"]), &set(&["same"]), &ignore),
            None
        );
    }

    #[test]
    fn only_newer_files_on_both_sides_are_read() {
        let mtimes = BTreeMap::from([(1, 10), (2, 11), (3, 50), (4, 99), (5, 1)]);
        let remote = BTreeSet::from([1, 2, 3, 5]);
        let st = BTreeMap::from([
            (1, status(&[], 10)),
            (2, status(&[], 10)),
            (3, status(&[], 10)),
        ]);
        // 1 same mtime, 4 not on the server, 3 skipped (just rewritten);
        // 5 has no status row (mtime 0).
        assert_eq!(
            local_candidates(&mtimes, &remote, &st, &BTreeSet::from([3])),
            vec![2, 5]
        );
    }

    #[test]
    fn local_edits_become_stores_grouped_by_label() {
        let local = BTreeMap::from([
            (1, set(&["a", "b"])),
            (2, set(&["b"])),
            (3, set(&["\\Starred"])),
        ]);
        let st = BTreeMap::from([
            (1, status(&["a"], 1)),
            (2, status(&["a", "\\Inbox"], 1)),
            (3, status(&[], 1)),
        ]);
        let ignore = set(&["\\Starred", "\\Inbox"]);
        let stores = local_changes(&local, &st, &ignore);
        assert_eq!(stores.add, BTreeMap::from([("b".to_owned(), vec![1, 2])]));
        assert_eq!(stores.remove, BTreeMap::from([("a".to_owned(), vec![2])]));
        assert_eq!(
            after_stores(&set(&["a", "\\Inbox"]), 2, &stores),
            set(&["\\Inbox", "b"])
        );
        assert!(local_changes(&BTreeMap::from([(1, set(&["a"]))]), &st, &ignore).is_empty());
    }
}
