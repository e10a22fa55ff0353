//! IMAP keywords as lowercase Maildir flag letters: the Maildir
//! repository's `customflag_a` … `customflag_z` options, applied where the
//! IMAP store turns server flags into [`Flags`] and back.
//!
//! Keywords are matched exactly (case-sensitive), as OfflineIMAP matches
//! them. A keyword without a letter is left alone on the server and only
//! reported, so the caller can warn once per folder.

use std::collections::BTreeSet;

use crate::sync::model::{Flags, Snapshot, StatusSnapshot};

/// The letter ↔ keyword pairs of one Maildir repository.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeywordMap {
    /// In letter order; a keyword given to two letters belongs to the
    /// later one when read from the server (OfflineIMAP keeps a dict
    /// keyed by keyword, filled from `a` to `z`).
    pairs: Vec<(char, String)>,
}

impl KeywordMap {
    /// From `(letter, keyword)` pairs; pairs whose letter is not `a`–`z`
    /// or whose keyword is empty are dropped.
    pub fn new(pairs: &[(char, String)]) -> KeywordMap {
        let mut pairs: Vec<(char, String)> = pairs
            .iter()
            .filter(|(c, k)| c.is_ascii_lowercase() && !k.is_empty())
            .cloned()
            .collect();
        pairs.sort_by_key(|(c, _)| *c);
        KeywordMap { pairs }
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The letters of the mapped keywords among `flags` (a server's flag
    /// list: system flags, starting with `\`, are not keywords). Keywords
    /// without a letter go into `unknown`, unless nothing is mapped at all
    /// (then keywords are simply not synced, and nobody asked).
    pub fn letters<'a>(
        &self,
        flags: impl IntoIterator<Item = &'a str>,
        unknown: &mut BTreeSet<String>,
    ) -> Flags {
        let mut out = Flags::EMPTY;
        if self.is_empty() {
            return out;
        }
        for f in flags.into_iter().filter(|f| !f.starts_with('\\')) {
            match self.pairs.iter().rev().find(|(_, k)| k == f) {
                Some((c, _)) => out.insert(*c),
                None => {
                    unknown.insert(f.to_owned());
                }
            }
        }
        out
    }

    /// The keywords for the lowercase letters of `flags`, in letter order
    /// without repeats; letters without a keyword are left out.
    pub fn keywords(&self, flags: Flags) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for (c, k) in &self.pairs {
            if flags.contains(*c) && !out.contains(&k.as_str()) {
                out.push(k);
            }
        }
        out
    }

    /// The letters this map can carry to a server.
    pub fn mapped(&self) -> Flags {
        let mut f = Flags::EMPTY;
        for (c, _) in &self.pairs {
            f.insert(*c);
        }
        f
    }
}

/// Letters a server can hold: the system flags' and the mapped keywords'.
pub fn carried(map: &KeywordMap) -> Flags {
    Flags::from_letters("DFRST").union(map.mapped())
}

/// Gives each listed server message the status cache's value of every
/// letter outside `carried` (`P`, a lowercase letter without a keyword):
/// the server cannot hold those, so its silence about them is no news,
/// and without this a letter set in the Maildir would be taken for one
/// removed on the server at the next sync.
pub fn keep_uncarried(remote: &mut Snapshot, status: &StatusSnapshot, carried: Flags) {
    for (uid, meta) in remote.uids.iter_mut() {
        if let Some(s) = status.get(uid) {
            meta.flags = meta
                .flags
                .intersection(carried)
                .union(s.difference(carried));
        }
    }
}

/// A flag list body (no parentheses) for `flags`: the system flags, then
/// the mapped keywords.
pub fn imap_list(flags: Flags, map: &KeywordMap) -> String {
    let system = super::wire::flags_to_imap(flags);
    let keywords = map.keywords(flags);
    if keywords.is_empty() {
        return system;
    }
    let mut all: Vec<&str> = Vec::new();
    if !system.is_empty() {
        all.push(&system);
    }
    all.extend(keywords);
    all.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map() -> KeywordMap {
        KeywordMap::new(&[
            ('b', "$Label2".to_owned()),
            ('a', "$Label1".to_owned()),
            ('c', "Work".to_owned()),
        ])
    }

    #[test]
    fn keywords_become_letters_and_unknown_ones_are_reported() {
        let mut unknown = BTreeSet::new();
        let f = map().letters(["\\Seen", "$Label1", "work", "Work", "$Junk"], &mut unknown);
        assert_eq!(f.to_string(), "ac");
        assert_eq!(
            unknown.into_iter().collect::<Vec<_>>(),
            ["$Junk".to_owned(), "work".to_owned()]
        );
    }

    #[test]
    fn without_a_map_nothing_is_reported() {
        let mut unknown = BTreeSet::new();
        let f = KeywordMap::default().letters(["$Label1"], &mut unknown);
        assert!(f.is_empty() && unknown.is_empty());
    }

    #[test]
    fn letters_become_keywords_after_the_system_flags() {
        let m = map();
        assert_eq!(
            imap_list(Flags::from_letters("Sba"), &m),
            "\\Seen $Label1 $Label2"
        );
        assert_eq!(imap_list(Flags::from_letters("z"), &m), "");
        assert_eq!(imap_list(Flags::from_letters("c"), &m), "Work");
        assert_eq!(m.mapped().to_string(), "abc");
    }

    #[test]
    fn one_keyword_for_two_letters_reads_as_the_later() {
        let m = KeywordMap::new(&[('a', "K".to_owned()), ('d', "K".to_owned())]);
        assert_eq!(m.letters(["K"], &mut BTreeSet::new()).to_string(), "d");
        assert_eq!(m.keywords(Flags::from_letters("ad")), ["K"]);
    }

    #[test]
    fn uncarried_letters_come_from_the_status() {
        use crate::sync::model::MessageMeta;
        let meta = |f: &str| MessageMeta {
            flags: Flags::from_letters(f),
            size: 1,
        };
        let mut remote = Snapshot::default();
        remote.uids.insert(1, meta("S"));
        remote.uids.insert(2, meta("Fa"));
        remote.uids.insert(3, meta("R"));
        let status: StatusSnapshot = [
            (1, Flags::from_letters("PSaz")),
            (2, Flags::from_letters("Pa")),
        ]
        .into_iter()
        .collect();
        let c = carried(&map());
        assert_eq!(c.to_string(), "DFRSTabc");
        keep_uncarried(&mut remote, &status, c);
        let got: Vec<String> = remote.uids.values().map(|m| m.flags.to_string()).collect();
        // The server's word on a and S; the status's on P and z.
        assert_eq!(got, ["PSz", "FPa", "R"]);
    }
}
