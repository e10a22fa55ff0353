//! The capabilities a server announces on its own while we log in: an
//! untagged `* CAPABILITY` before its tagged OK (Dovecot's way), or a
//! `[CAPABILITY ...]` code in that OK (RFC 3501 §7.1). async-imap drops
//! both, so they are read off the bytes as async-imap reads them; with
//! them the session needs no CAPABILITY round trip after the login (on a
//! server 50 ms away, 50 ms per connection). Without them, or after a
//! refused attempt, the session asks as before.

/// Lines longer than this are not capability lines worth keeping.
const MAX_LINE: usize = 16 * 1024;

/// Reads lines off the login exchange (see the module documentation).
#[derive(Debug, Default)]
pub(crate) struct CapSniffer {
    line: Vec<u8>,
    /// The current line is too long: skipped to its end.
    skipping: bool,
    caps: Option<Vec<String>>,
}

impl CapSniffer {
    /// Feed what the server sent, in order.
    pub(crate) fn feed(&mut self, bytes: &[u8]) {
        for piece in bytes.split_inclusive(|b| *b == b'\n') {
            let ends = piece.last() == Some(&b'\n');
            if !self.skipping {
                self.line.extend_from_slice(piece);
                if self.line.len() > MAX_LINE {
                    self.line.clear();
                    self.skipping = true;
                }
            }
            if ends {
                if !self.skipping {
                    self.on_line();
                }
                self.line.clear();
                self.skipping = false;
            }
        }
    }

    fn on_line(&mut self) {
        let Ok(text) = std::str::from_utf8(&self.line) else {
            return;
        };
        match line_caps(text) {
            Some(caps) => self.caps = Some(caps),
            // A refused attempt: what it said does not describe the
            // session a later mechanism opens.
            None if refused(text) => self.caps = None,
            None => {}
        }
    }

    /// The capabilities last announced, if any.
    pub(crate) fn take(&mut self) -> Option<Vec<String>> {
        self.caps.take()
    }
}

/// The capabilities a line announces: `* CAPABILITY a b c` or
/// `<tag or *> OK [CAPABILITY a b c] text`.
fn line_caps(line: &str) -> Option<Vec<String>> {
    let line = line.trim_end_matches(['\r', '\n']);
    let (first, rest) = line.split_once(' ')?;
    let list = if first == "*" && starts_with_ci(rest, "CAPABILITY ") {
        &rest["CAPABILITY ".len()..]
    } else {
        let (status, rest) = rest.split_once(' ')?;
        if !status.eq_ignore_ascii_case("OK") || !starts_with_ci(rest, "[CAPABILITY ") {
            return None;
        }
        rest["[CAPABILITY ".len()..].split_once(']')?.0
    };
    let caps: Vec<String> = list.split_ascii_whitespace().map(str::to_owned).collect();
    (!caps.is_empty()).then_some(caps)
}

/// A tagged NO or BAD.
fn refused(line: &str) -> bool {
    let mut words = line.split_ascii_whitespace();
    let (Some(tag), Some(status)) = (words.next(), words.next()) else {
        return false;
    };
    tag != "*"
        && tag != "+"
        && (status.eq_ignore_ascii_case("NO") || status.eq_ignore_ascii_case("BAD"))
}

fn starts_with_ci(text: &str, prefix: &str) -> bool {
    text.get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn sniffed(chunks: &[&str]) -> Option<Vec<String>> {
        let mut s = CapSniffer::default();
        for c in chunks {
            s.feed(c.as_bytes());
        }
        s.take()
    }

    #[test]
    fn dovecots_untagged_capability_before_the_ok() {
        let caps = sniffed(&[
            "+ \r\n",
            "* CAPABILITY IMAP4rev1 SASL-IR CONDSTORE QRESYNC UIDPLUS\r\nA0001 OK Logged in\r\n",
        ])
        .unwrap();
        assert_eq!(
            caps,
            ["IMAP4rev1", "SASL-IR", "CONDSTORE", "QRESYNC", "UIDPLUS"]
        );
    }

    #[test]
    fn a_capability_code_in_the_tagged_ok_split_across_reads() {
        let caps = sniffed(&[
            "A0001 OK [CAPA",
            "BILITY IMAP4rev1 IDLE AUTH=PLAIN] Logged in\r",
            "\n",
        ]);
        assert_eq!(caps.unwrap(), ["IMAP4rev1", "IDLE", "AUTH=PLAIN"]);
        let caps = sniffed(&["a1 ok [capability IMAP4rev1 MOVE] done\r\n"]);
        assert_eq!(caps.unwrap(), ["IMAP4rev1", "MOVE"]);
    }

    #[test]
    fn nothing_announced_or_a_refusal_after_gives_nothing() {
        assert_eq!(sniffed(&["+ \r\n", "A0001 OK Logged in\r\n"]), None);
        assert_eq!(
            sniffed(&[
                "* CAPABILITY IMAP4rev1\r\n",
                "A0001 NO [AUTHENTICATIONFAILED] no\r\n"
            ]),
            None
        );
        // A later attempt's announcement counts again.
        let caps = sniffed(&[
            "A0001 NO no\r\n",
            "* CAPABILITY IMAP4rev1 UIDPLUS\r\n",
            "A0002 OK in\r\n",
        ]);
        assert_eq!(caps.unwrap(), ["IMAP4rev1", "UIDPLUS"]);
        // Not capability lines.
        assert_eq!(sniffed(&["* OK [ALERT] CAPABILITY soon\r\n"]), None);
        assert_eq!(sniffed(&["* CAPABILITY\r\n"]), None);
    }

    #[test]
    fn an_overlong_line_is_skipped_and_the_next_one_read() {
        let long = format!("* CAPABILITY {}\r\n", "X".repeat(MAX_LINE));
        assert_eq!(sniffed(&[&long]), None);
        let caps = sniffed(&[&long, "* CAPABILITY IMAP4rev1\r\n"]);
        assert_eq!(caps.unwrap(), ["IMAP4rev1"]);
    }
}
