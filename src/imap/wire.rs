//! Small pieces of IMAP syntax as pure functions: UID sets, flag lists,
//! dates, quoting, and the `X-OfflineIMAP` header used to find an
//! appended message when the server lacks UIDPLUS.

use chrono::{DateTime, Utc};

use crate::sync::model::{Flags, Uid};

/// Longest UID set we put into one command. Servers accept command lines
/// of at least 8000 octets (RFC 7162 §4); stay well below.
pub const MAX_SET_LEN: usize = 4000;

/// Compress UIDs into IMAP set syntax (`1:5,7,9:12`), split into chunks
/// whose text stays below `max_len`. Input order and duplicates do not
/// matter.
pub fn uid_sets(uids: &[Uid], max_len: usize) -> Vec<String> {
    let mut sorted: Vec<Uid> = uids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut sets = Vec::new();
    let mut cur = String::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            i += 1;
            end = sorted[i];
        }
        i += 1;
        let item = if start == end {
            start.to_string()
        } else {
            format!("{start}:{end}")
        };
        if !cur.is_empty() && cur.len() + 1 + item.len() > max_len {
            sets.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(',');
        }
        cur.push_str(&item);
    }
    if !cur.is_empty() {
        sets.push(cur);
    }
    sets
}

/// The system flags we sync, as (Maildir letter, IMAP flag).
const FLAG_MAP: [(char, &str); 5] = [
    ('D', "\\Draft"),
    ('F', "\\Flagged"),
    ('R', "\\Answered"),
    ('S', "\\Seen"),
    ('T', "\\Deleted"),
];

/// Maildir letters for IMAP flags. Keywords and `\Recent` are ignored.
pub fn flags_from_imap<'a>(imap: impl IntoIterator<Item = &'a str>) -> Flags {
    let mut flags = Flags::EMPTY;
    for f in imap {
        if let Some((letter, _)) = FLAG_MAP
            .iter()
            .find(|(_, name)| name.eq_ignore_ascii_case(f))
        {
            flags.insert(*letter);
        }
    }
    flags
}

/// IMAP flag list body (without parentheses) for Maildir letters; letters
/// without an IMAP system flag are left out.
pub fn flags_to_imap(flags: Flags) -> String {
    FLAG_MAP
        .iter()
        .filter(|(letter, _)| flags.contains(*letter))
        .map(|(_, name)| *name)
        .collect::<Vec<_>>()
        .join(" ")
}

/// `"dd-Mon-yyyy hh:mm:ss +0000"` for APPEND, in UTC. `None` for a time
/// chrono cannot represent.
pub fn format_internal_date(epoch_secs: i64) -> Option<String> {
    DateTime::<Utc>::from_timestamp(epoch_secs, 0)
        .map(|d| d.format("%d-%b-%Y %H:%M:%S +0000").to_string())
}

/// Parse an INTERNALDATE (`" 7-Jul-1996 02:44:25 -0700"`) to epoch seconds.
pub fn parse_internal_date(s: &str) -> Option<i64> {
    let s = s.trim();
    // A single-digit day may come space-padded or bare; normalise it.
    let padded;
    let s = if s.find('-') == Some(1) {
        padded = format!("0{s}");
        padded.as_str()
    } else {
        s
    };
    DateTime::parse_from_str(s, "%d-%b-%Y %H:%M:%S %z")
        .ok()
        .map(|d| d.timestamp())
}

/// A quoted string for a command line. Mailbox names on the wire are
/// modified UTF-7 (ASCII); CR, LF and NUL cannot be quoted at all.
pub fn quote(s: &str) -> Option<String> {
    if s.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
        return None;
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    Some(out)
}

/// The header OfflineIMAP adds to find an uploaded message again.
pub const MARKER_HEADER: &str = "X-OfflineIMAP";

/// `<crc32 of the message>-<random number>`, OfflineIMAP's value shape.
pub fn marker_value(msg: &[u8], random: u64) -> String {
    format!("{}-{}", crc32(msg), random % 10_000_000_000)
}

/// Insert `name: value` at the end of the header block (before the empty
/// line), where Python's `email` puts an added header. A message with no
/// empty line is all header; the field goes at its end.
pub fn add_header(msg: &[u8], name: &str, value: &str) -> Vec<u8> {
    let field = format!("{name}: {value}\r\n");
    let mut out = Vec::with_capacity(msg.len() + field.len() + 2);
    let split = header_end(msg);
    match split {
        Some(pos) => {
            out.extend_from_slice(&msg[..pos]);
            out.extend_from_slice(field.as_bytes());
            out.extend_from_slice(&msg[pos..]);
        }
        None => {
            out.extend_from_slice(msg);
            if !msg.is_empty() && !msg.ends_with(b"\n") {
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(field.as_bytes());
        }
    }
    out
}

/// Offset of the empty line that ends the header (the line's start).
pub(crate) fn header_end(msg: &[u8]) -> Option<usize> {
    let mut line_start = 0;
    while line_start < msg.len() {
        let rest = &msg[line_start..];
        if rest.starts_with(b"\r\n") || rest.starts_with(b"\n") {
            return Some(line_start);
        }
        match rest.iter().position(|&b| b == b'\n') {
            Some(nl) => line_start += nl + 1,
            None => return None,
        }
    }
    None
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xedb8_8320 & mask);
        }
    }
    !crc
}

/// Pull the server's own words out of an async-imap NO/BAD error, which
/// renders as `code: Some(..), info: Some("text")`.
pub fn server_text(err: &async_imap::error::Error) -> String {
    use async_imap::error::Error as E;
    match err {
        E::No(s) | E::Bad(s) => info_text(s).unwrap_or_else(|| s.clone()),
        other => other.to_string(),
    }
}

fn info_text(s: &str) -> Option<String> {
    let start = s.find("info: Some(\"")? + "info: Some(\"".len();
    let rest = &s[start..];
    let end = rest.rfind("\")")?;
    let mut out = String::new();
    let mut chars = rest[..end].chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn uid_sets_compress_ranges() {
        assert_eq!(
            uid_sets(&[9, 1, 2, 3, 4, 5, 7, 10, 11, 12, 3], 100),
            ["1:5,7,9:12"]
        );
        assert_eq!(uid_sets(&[42], 100), ["42"]);
        assert!(uid_sets(&[], 100).is_empty());
    }

    #[test]
    fn uid_sets_split_long_lists() {
        let uids: Vec<Uid> = (1..=2000).map(|u| u * 2).collect();
        let sets = uid_sets(&uids, 50);
        assert!(sets.len() > 1);
        assert!(sets.iter().all(|s| s.len() <= 50));
        let back: Vec<Uid> = sets
            .iter()
            .flat_map(|s| s.split(','))
            .map(|n| n.parse().unwrap())
            .collect();
        assert_eq!(back, uids);
    }

    #[test]
    fn flags_map_both_ways() {
        let f = flags_from_imap(["\\Seen", "\\ANSWERED", "$Junk", "\\Recent", "\\Deleted"]);
        assert_eq!(f.to_string(), "RST");
        assert_eq!(
            flags_to_imap(Flags::from_letters("DFRSTa")),
            "\\Draft \\Flagged \\Answered \\Seen \\Deleted"
        );
        assert_eq!(flags_to_imap(Flags::EMPTY), "");
    }

    #[test]
    fn internal_dates() {
        assert_eq!(
            format_internal_date(0).unwrap(),
            "01-Jan-1970 00:00:00 +0000"
        );
        assert_eq!(
            parse_internal_date("17-Jul-1996 02:44:25 -0700"),
            Some(837_596_665)
        );
        assert_eq!(
            parse_internal_date(" 7-Jul-1996 02:44:25 -0700"),
            Some(836_732_665)
        );
        assert_eq!(
            parse_internal_date("7-Jul-1996 02:44:25 -0700"),
            Some(836_732_665)
        );
        assert_eq!(parse_internal_date("nonsense"), None);
        let t = 1_700_000_000;
        assert_eq!(
            parse_internal_date(&format_internal_date(t).unwrap()),
            Some(t)
        );
    }

    #[test]
    fn quoting() {
        assert_eq!(quote("a \"b\" \\c").unwrap(), r#""a \"b\" \\c""#);
        assert!(quote("a\r\nb").is_none());
    }

    #[test]
    fn marker_header_goes_before_the_body() {
        let msg = b"From: a\r\nSubject: x\r\n\r\nbody\r\n";
        let out = add_header(msg, MARKER_HEADER, "1-2");
        assert_eq!(
            out,
            b"From: a\r\nSubject: x\r\nX-OfflineIMAP: 1-2\r\n\r\nbody\r\n"
        );
        let headers_only = add_header(b"From: a", MARKER_HEADER, "1-2");
        assert_eq!(headers_only, b"From: a\r\nX-OfflineIMAP: 1-2\r\n");
    }

    #[test]
    fn crc32_known_answer() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(
            marker_value(b"123456789", 12_345_678_901),
            "3421780262-2345678901"
        );
    }

    #[test]
    fn server_text_from_async_imap_errors() {
        let e = async_imap::error::Error::No(
            "code: None, info: Some(\"Mailbox doesn't exist: \\\"X\\\"\")".into(),
        );
        assert_eq!(server_text(&e), "Mailbox doesn't exist: \"X\"");
    }
}
