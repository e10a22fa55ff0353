//! `~/.netrc` and `/etc/netrc`: the `machine` / `default` entries with
//! their `login` and `password`, as ftp(1) and Python's `netrc` module read
//! them (whitespace-separated tokens, double-quoted tokens with backslash
//! escapes, `#` comments, `macdef` bodies skipped).
//!
//! Unlike OfflineIMAP, several entries for one host are kept, so that the
//! right one can be chosen by login.

use super::Secret;

/// One `machine` (or `default`) entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// `None` for the `default` entry.
    pub machine: Option<String>,
    pub login: Option<String>,
    pub password: Option<Secret>,
}

/// A parsed netrc file, entries in file order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Netrc {
    pub entries: Vec<Entry>,
}

/// A syntax error; the message never contains a password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl Netrc {
    pub fn parse(text: &str) -> Result<Netrc, ParseError> {
        let tokens = tokens(text)?;
        let mut entries: Vec<Entry> = Vec::new();
        let mut i = 0;
        while i < tokens.len() {
            let (line, tok) = (tokens[i].line, tokens[i].text.as_str());
            i += 1;
            let mut value = |what: &str| -> Result<String, ParseError> {
                let v = tokens.get(i).ok_or_else(|| ParseError {
                    line,
                    message: format!("'{what}' without a value"),
                })?;
                i += 1;
                Ok(v.text.clone())
            };
            match tok {
                "machine" => {
                    let machine = value("machine")?;
                    entries.push(Entry {
                        machine: Some(machine),
                        login: None,
                        password: None,
                    });
                }
                "default" => entries.push(Entry {
                    machine: None,
                    login: None,
                    password: None,
                }),
                "login" | "user" | "password" | "passwd" | "account" => {
                    let v = value(tok)?;
                    let Some(entry) = entries.last_mut() else {
                        return Err(ParseError {
                            line,
                            message: format!("'{tok}' before any 'machine' or 'default'"),
                        });
                    };
                    match tok {
                        "login" | "user" => entry.login = Some(v),
                        "password" | "passwd" => entry.password = Some(Secret::new(v)),
                        _ => {}
                    }
                }
                // Macro definitions were skipped by the tokenizer; only
                // the name remains.
                "macdef" => {
                    value("macdef")?;
                }
                other => {
                    return Err(ParseError {
                        line,
                        // A stray token may be a password with spaces in
                        // it, so it is not quoted back.
                        message: format!(
                            "unexpected token ({} characters); expected machine, default, login, password, account or macdef",
                            other.chars().count()
                        ),
                    });
                }
            }
        }
        Ok(Netrc { entries })
    }

    /// The entry to use for `host` (and `user`, when known): the first
    /// `machine host` entry whose login is `user` (or any login when `user`
    /// is `None`), else an entry for the host without a login, else the
    /// `default` entry under the same rule.
    pub fn find(&self, host: &str, user: Option<&str>) -> Option<&Entry> {
        let fits = |e: &&Entry| match (user, e.login.as_deref()) {
            (Some(u), Some(l)) => u == l,
            _ => true,
        };
        let pick = |machine: Option<&str>| {
            let candidates = || {
                self.entries
                    .iter()
                    .filter(move |e| e.machine.as_deref() == machine)
            };
            candidates()
                .filter(|e| e.login.is_some())
                .find(fits)
                .or_else(|| candidates().find(|e| e.login.is_none()))
        };
        pick(Some(host)).or_else(|| pick(None))
    }
}

struct Token {
    line: usize,
    text: String,
}

fn tokens(text: &str) -> Result<Vec<Token>, ParseError> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    let mut after_macdef = false;
    while let Some(&c) = chars.peek() {
        if c == '\n' {
            line += 1;
            chars.next();
            if after_macdef {
                // The macro body runs from the next line to an empty line.
                after_macdef = false;
                let mut prev_newline = true;
                loop {
                    match chars.next() {
                        None => break,
                        Some('\n') if prev_newline => {
                            line += 1;
                            break;
                        }
                        Some('\n') => {
                            line += 1;
                            prev_newline = true;
                        }
                        Some(_) => prev_newline = false,
                    }
                }
            }
            continue;
        }
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        if c == '#' {
            while chars.peek().is_some_and(|&c| c != '\n') {
                chars.next();
            }
            continue;
        }
        let start_line = line;
        let mut tok = String::new();
        if c == '"' {
            chars.next();
            loop {
                match chars.next() {
                    None => {
                        return Err(ParseError {
                            line: start_line,
                            message: "unterminated quoted token".to_owned(),
                        });
                    }
                    Some('"') => break,
                    Some('\\') => match chars.next() {
                        Some(e) => {
                            if e == '\n' {
                                line += 1;
                            }
                            tok.push(e);
                        }
                        None => {
                            return Err(ParseError {
                                line: start_line,
                                message: "unterminated quoted token".to_owned(),
                            });
                        }
                    },
                    Some(ch) => {
                        if ch == '\n' {
                            line += 1;
                        }
                        tok.push(ch);
                    }
                }
            }
        } else {
            while let Some(&ch) = chars.peek() {
                if ch.is_whitespace() {
                    break;
                }
                chars.next();
                if ch == '\\' {
                    if let Some(e) = chars.next() {
                        tok.push(e);
                    }
                } else {
                    tok.push(ch);
                }
            }
        }
        if tok == "macdef" && c != '"' {
            after_macdef = true;
        }
        out.push(Token {
            line: start_line,
            text: tok,
        });
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn login_pass(e: Option<&Entry>) -> Option<(Option<&str>, Option<&str>)> {
        e.map(|e| (e.login.as_deref(), e.password.as_ref().map(Secret::expose)))
    }

    #[test]
    fn machines_logins_and_default() {
        let n = Netrc::parse(
            "# comment line\n\
             machine imap.example.org login alice password a1\n\
             machine imap.example.org\n  login bob\n  password b2 # trailing comment\n\
             machine other.org login carol password c3 account x\n\
             default login anon password guest\n",
        )
        .unwrap();
        assert_eq!(n.entries.len(), 4);
        let find = |h, u| login_pass(n.find(h, u));
        // Without a user: the first entry for the host.
        assert_eq!(
            find("imap.example.org", None),
            Some((Some("alice"), Some("a1")))
        );
        // Several entries per host, told apart by login.
        assert_eq!(
            find("imap.example.org", Some("bob")),
            Some((Some("bob"), Some("b2")))
        );
        assert_eq!(
            find("imap.example.org", Some("alice")),
            Some((Some("alice"), Some("a1")))
        );
        // A user no entry has: the default entry only if its login fits.
        assert_eq!(find("imap.example.org", Some("dave")), None);
        assert_eq!(
            find("unknown.org", None),
            Some((Some("anon"), Some("guest")))
        );
        assert_eq!(
            find("unknown.org", Some("anon")),
            Some((Some("anon"), Some("guest")))
        );
        assert_eq!(
            find("other.org", Some("carol")),
            Some((Some("carol"), Some("c3")))
        );
    }

    #[test]
    fn entry_without_login_fits_any_user() {
        let n = Netrc::parse("machine h password p\nmachine h login x password q\n").unwrap();
        assert_eq!(
            login_pass(n.find("h", Some("x"))),
            Some((Some("x"), Some("q")))
        );
        assert_eq!(login_pass(n.find("h", Some("y"))), Some((None, Some("p"))));
        // Without a user, an entry that gives one is preferred.
        assert_eq!(login_pass(n.find("h", None)), Some((Some("x"), Some("q"))));
    }

    #[test]
    fn quoted_tokens_and_macdef() {
        let n = Netrc::parse(
            "macdef init\ncd /pub\nmachine fake login fake\n\n\
             machine \"h\" login \"my user\" password \"p a\\\"ss#word\"\n\
             machine h2 login u password p\\ q\n",
        )
        .unwrap();
        assert_eq!(n.entries.len(), 2, "the macro body is skipped");
        assert_eq!(
            login_pass(n.find("h", None)),
            Some((Some("my user"), Some("p a\"ss#word")))
        );
        assert_eq!(
            login_pass(n.find("h2", None)),
            Some((Some("u"), Some("p q")))
        );
    }

    #[test]
    fn errors_name_the_line_and_never_the_password() {
        let e = Netrc::parse("machine h\nlogin u password\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert_eq!(e.message, "'password' without a value");
        let e = Netrc::parse("login u\n").unwrap_err();
        assert_eq!(e.message, "'login' before any 'machine' or 'default'");
        let e = Netrc::parse("machine h login u password two words\n").unwrap_err();
        assert!(!e.message.contains("words"), "{}", e.message);
        let e = Netrc::parse("machine h password \"open\n").unwrap_err();
        assert_eq!(
            (e.line, e.message.as_str()),
            (1, "unterminated quoted token")
        );
        assert_eq!(Netrc::parse("").unwrap(), Netrc::default());
    }
}
