//! Removing header fields from a message's bytes (`filterheaders`): the
//! server's copy of an upload leaves them out, the Maildir keeps them.
//!
//! OfflineIMAP deletes them from its parsed message (`del msg[name]`):
//! every field of that name, compared case-insensitively, with its folded
//! continuation lines, in the header only. This does the same on the raw
//! bytes, so that nothing else of the message changes (line ends included).

use std::borrow::Cow;

/// `bytes` without the header fields named in `names` (ASCII
/// case-insensitive, the whole name: `X-Spam` does not remove
/// `X-Spam-Status`). Borrowed when nothing was removed.
pub fn remove<'a>(bytes: &'a [u8], names: &[String]) -> Cow<'a, [u8]> {
    if names.is_empty() {
        return Cow::Borrowed(bytes);
    }
    let mut out: Vec<u8> = Vec::new();
    let mut changed = false;
    let mut dropping = false;
    let mut pos = 0;
    while pos < bytes.len() {
        let end = bytes[pos..]
            .iter()
            .position(|b| *b == b'\n')
            .map_or(bytes.len(), |i| pos + i + 1);
        let line = &bytes[pos..end];
        if line == b"\r\n" || line == b"\n" {
            // The blank line ending the header: the rest is body.
            if changed {
                out.extend_from_slice(&bytes[pos..]);
            }
            break;
        }
        if !matches!(line.first(), Some(b' ' | b'\t')) {
            dropping = field_name(line).is_some_and(|n| {
                names
                    .iter()
                    .any(|want| want.as_bytes().eq_ignore_ascii_case(n))
            });
        }
        if dropping {
            if !changed {
                out.extend_from_slice(&bytes[..pos]);
                changed = true;
            }
        } else if changed {
            out.extend_from_slice(line);
        }
        pos = end;
    }
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(bytes)
    }
}

/// The name of a header field line (what precedes its colon), if it is one.
fn field_name(line: &[u8]) -> Option<&[u8]> {
    let colon = line.iter().position(|b| *b == b':')?;
    let name = &line[..colon];
    // Printable ASCII without blanks, as RFC 5322 and Python's parser say.
    (!name.is_empty() && name.iter().all(|b| (33..=126).contains(b))).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &str) -> Vec<String> {
        list.split(',').map(|s| s.trim().to_owned()).collect()
    }

    fn rm(msg: &str, list: &str) -> String {
        String::from_utf8(remove(msg.as_bytes(), &names(list)).into_owned()).unwrap_or_default()
    }

    #[test]
    fn removes_every_field_of_the_name_with_its_folded_lines() {
        let msg = "From: a@b\r\nX-Spam-Status: No, score=1\r\n\ttests=A,\r\n B\r\n\
                   Subject: hi\r\nx-spam-status: again\r\n\r\nbody\r\n";
        assert_eq!(
            rm(msg, "X-Spam-Status"),
            "From: a@b\r\nSubject: hi\r\n\r\nbody\r\n"
        );
    }

    #[test]
    fn the_body_is_untouched() {
        let msg = "Subject: hi\r\nX-Spam: yes\r\n\r\nX-Spam: in the body\r\n stays\r\n";
        assert_eq!(
            rm(msg, "X-Spam"),
            "Subject: hi\r\n\r\nX-Spam: in the body\r\n stays\r\n"
        );
        // Not in the header at all: the very same bytes.
        let msg = "Subject: hi\r\n\r\nX-Spam: body\r\n";
        assert!(matches!(
            remove(msg.as_bytes(), &names("X-Spam")),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn a_name_that_is_a_prefix_of_another_removes_only_itself() {
        let msg = "X-Spam: 1\r\nX-Spam-Status: 2\r\nX-Spam-Flag: 3\r\n\r\nb\r\n";
        assert_eq!(
            rm(msg, "X-Spam"),
            "X-Spam-Status: 2\r\nX-Spam-Flag: 3\r\n\r\nb\r\n"
        );
        assert_eq!(
            rm(msg, "X-Spam-Status"),
            "X-Spam: 1\r\nX-Spam-Flag: 3\r\n\r\nb\r\n"
        );
    }

    #[test]
    fn line_ends_are_kept_as_they_are() {
        let crlf = "A: 1\r\nB: 2\r\n\r\nbody\r\n";
        assert_eq!(rm(crlf, "A"), "B: 2\r\n\r\nbody\r\n");
        let lf = "A: 1\nB: 2\n\nbody\n";
        assert_eq!(rm(lf, "b"), "A: 1\n\nbody\n");
    }

    #[test]
    fn the_first_and_last_fields_and_a_header_without_body() {
        assert_eq!(rm("A: 1\r\nB: 2\r\n", "A"), "B: 2\r\n");
        assert_eq!(rm("A: 1\r\nB: 2", "B"), "A: 1\r\n");
        assert_eq!(rm("A: 1\r\n", "A"), "");
        assert_eq!(rm("", "A"), "");
    }

    #[test]
    fn nothing_to_remove_borrows() {
        let msg = b"A: 1\r\n\r\nb\r\n";
        assert!(matches!(remove(msg, &[]), Cow::Borrowed(_)));
        assert!(matches!(remove(msg, &names("C")), Cow::Borrowed(_)));
        // A continuation line opening the message is not a field.
        assert!(matches!(
            remove(b" A: 1\r\n\r\n", &names("A")),
            Cow::Borrowed(_)
        ));
    }
}
