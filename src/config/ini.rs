//! A reader for the INI dialect of Python's `configparser.ConfigParser`,
//! which is what OfflineIMAP configuration files are written in.
//!
//! It follows ConfigParser's defaults where users can see the difference:
//! option names are case-insensitive (stored lowercase), section names are
//! case-sensitive, `=` or `:` separate name and value, whole-line `#`/`;`
//! comments (indented too), no inline comments, indented lines continue the
//! previous value, `[DEFAULT]` options reach every section, duplicate
//! sections or options are errors, and `%(name)s` / `%%` interpolation
//! happens when a value is read.
//!
//! rust-ini is not used: it has no `[DEFAULT]` inheritance, no
//! interpolation, no line numbers per option and different continuation
//! and comment rules, so files that OfflineIMAP accepts would read
//! differently.
//!
//! This module knows nothing about OfflineIMAP's options; `config` does.

/// The section whose options every other section inherits.
pub const DEFAULT_SECTION: &str = "DEFAULT";

/// Python's `MAX_INTERPOLATION_DEPTH`.
const MAX_DEPTH: usize = 10;

/// One `name = value` line (plus its continuation lines).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Lowercased option name.
    pub name: String,
    /// Raw value (before interpolation), continuation lines joined by `\n`.
    pub value: String,
    /// 1-based line of the option name; 0 for values set by `-k`.
    pub line: usize,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    pub line: usize,
    pub entries: Vec<Entry>,
}

impl Section {
    pub fn raw(&self, option: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.name == option)
    }

    fn set(&mut self, option: &str, value: &str, line: usize) {
        let name = option.to_lowercase();
        match self.entries.iter_mut().find(|e| e.name == name) {
            Some(e) => {
                e.value = value.to_owned();
                e.line = line;
            }
            None => self.entries.push(Entry {
                name,
                value: value.to_owned(),
                line,
            }),
        }
    }
}

/// A parsed file: `[DEFAULT]` apart, the other sections in file order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ini {
    pub defaults: Section,
    pub sections: Vec<Section>,
}

/// Why the text is not a valid file, with the 1-based line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: usize,
    pub message: String,
}

/// Why a value cannot be interpolated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterpolationError(pub String);

impl Ini {
    pub fn parse(text: &str) -> Result<Ini, SyntaxError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut ini = Ini {
            defaults: Section {
                name: DEFAULT_SECTION.to_owned(),
                ..Section::default()
            },
            sections: Vec::new(),
        };
        // None: no section yet; Some(None): [DEFAULT]; Some(Some(i)): sections[i].
        let mut current: Option<Option<usize>> = None;
        // The option that continuation lines extend, as (its values, lines).
        let mut open: Option<usize> = None;
        let mut pending: Vec<String> = Vec::new();
        let mut indent_level = 0usize;

        // Joins the collected lines of the open option into its value the
        // way ConfigParser does: by newlines, trailing blank lines dropped.
        fn close(
            ini: &mut Ini,
            current: Option<Option<usize>>,
            open: Option<usize>,
            pending: &mut Vec<String>,
        ) {
            if let (Some(sec), Some(idx)) = (current, open) {
                let section = match sec {
                    None => &mut ini.defaults,
                    Some(i) => &mut ini.sections[i],
                };
                let joined = pending.join("\n");
                section.entries[idx].value = joined.trim_end().to_owned();
            }
            pending.clear();
        }

        for (i, line) in text.lines().enumerate() {
            let lineno = i + 1;
            let stripped = line.trim();
            if stripped.starts_with('#') || stripped.starts_with(';') {
                // Comments neither end nor extend a multi-line value.
                continue;
            }
            if stripped.is_empty() {
                if open.is_some() {
                    pending.push(String::new());
                }
                continue;
            }
            let indent = line.len() - line.trim_start().len();
            if current.is_some() && open.is_some() && indent > indent_level {
                pending.push(stripped.to_owned());
                continue;
            }
            indent_level = indent;
            close(&mut ini, current, open, &mut pending);
            open = None;

            if let Some(header) = section_header(stripped) {
                if header == DEFAULT_SECTION {
                    current = Some(None);
                } else if let Some(prev) = ini.sections.iter().find(|s| s.name == header) {
                    return Err(SyntaxError {
                        line: lineno,
                        message: format!(
                            "section [{header}] already appears on line {}",
                            prev.line
                        ),
                    });
                } else {
                    ini.sections.push(Section {
                        name: header.to_owned(),
                        line: lineno,
                        entries: Vec::new(),
                    });
                    current = Some(Some(ini.sections.len() - 1));
                }
                continue;
            }
            let Some(sec) = current else {
                return Err(SyntaxError {
                    line: lineno,
                    message: format!("expected a [section] header before '{stripped}'"),
                });
            };
            let Some(split) = stripped.find(['=', ':']) else {
                return Err(SyntaxError {
                    line: lineno,
                    message: format!("expected 'option = value', got '{stripped}'"),
                });
            };
            let name = stripped[..split].trim_end().to_lowercase();
            if name.is_empty() {
                return Err(SyntaxError {
                    line: lineno,
                    message: format!(
                        "missing option name before '{}'",
                        &stripped[split..split + 1]
                    ),
                });
            }
            let value = stripped[split + 1..].trim();
            let section = match sec {
                None => &mut ini.defaults,
                Some(i) => &mut ini.sections[i],
            };
            if let Some(prev) = section.raw(&name) {
                return Err(SyntaxError {
                    line: lineno,
                    message: format!(
                        "option '{name}' already set in [{}] on line {}",
                        section.name, prev.line
                    ),
                });
            }
            section.entries.push(Entry {
                name,
                value: value.to_owned(),
                line: lineno,
            });
            open = Some(section.entries.len() - 1);
            pending.push(value.to_owned());
        }
        close(&mut ini, current, open, &mut pending);
        Ok(ini)
    }

    /// The section named exactly `name` (`DEFAULT` is not one of them).
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// Sets an option as `-k section:option=value` does. `DEFAULT` is
    /// allowed; a section that does not exist yet is created.
    pub fn set(&mut self, section: &str, option: &str, value: &str) {
        if section == DEFAULT_SECTION {
            self.defaults.set(option, value, 0);
            return;
        }
        match self.sections.iter_mut().find(|s| s.name == section) {
            Some(s) => s.set(option, value, 0),
            None => {
                let mut s = Section {
                    name: section.to_owned(),
                    ..Section::default()
                };
                s.set(option, value, 0);
                self.sections.push(s);
            }
        }
    }

    /// The raw entry for `option` in `section`, or inherited from
    /// `[DEFAULT]`. `option` must be lowercase.
    pub fn raw(&self, section: &str, option: &str) -> Option<&Entry> {
        let own = if section == DEFAULT_SECTION {
            None
        } else {
            self.section(section).and_then(|s| s.raw(option))
        };
        own.or_else(|| self.defaults.raw(option))
    }

    /// The interpolated value of `option` in `section` (or `[DEFAULT]`).
    pub fn get(&self, section: &str, option: &str) -> Result<Option<String>, InterpolationError> {
        match self.raw(section, option) {
            None => Ok(None),
            Some(e) => {
                let mut out = String::new();
                self.interpolate(section, &e.value, 1, &mut out)?;
                Ok(Some(out))
            }
        }
    }

    fn interpolate(
        &self,
        section: &str,
        raw: &str,
        depth: usize,
        out: &mut String,
    ) -> Result<(), InterpolationError> {
        if depth > MAX_DEPTH {
            return Err(InterpolationError(format!(
                "'%(...)s' references nest deeper than {MAX_DEPTH} levels (a reference loop?)"
            )));
        }
        let mut rest = raw;
        while let Some(p) = rest.find('%') {
            out.push_str(&rest[..p]);
            rest = &rest[p..];
            if let Some(r) = rest.strip_prefix("%%") {
                out.push('%');
                rest = r;
            } else if let Some(r) = rest.strip_prefix("%(") {
                let Some(close) = r
                    .find(')')
                    .filter(|&c| c > 0 && r[c + 1..].starts_with('s'))
                else {
                    return Err(InterpolationError(format!(
                        "bad '%(name)s' reference in '{rest}' (write '%%' for a literal '%')"
                    )));
                };
                let name = r[..close].to_lowercase();
                rest = &r[close + 2..];
                let Some(entry) = self.raw(section, &name) else {
                    return Err(InterpolationError(format!(
                        "'%({name})s' refers to option '{name}', which is not set in this section or [DEFAULT]"
                    )));
                };
                self.interpolate(section, &entry.value, depth + 1, out)?;
            } else {
                return Err(InterpolationError(format!(
                    "'%' must be followed by '%' or '(' in '{rest}' (write '%%' for a literal '%')"
                )));
            }
        }
        out.push_str(rest);
        Ok(())
    }
}

/// `[name]` as ConfigParser matches it: everything between the first `[`
/// and the last `]`, which must not be empty; text after it is ignored.
fn section_header(stripped: &str) -> Option<&str> {
    let inner = stripped.strip_prefix('[')?;
    let end = inner.rfind(']')?;
    (end > 0).then(|| &inner[..end])
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap (house rules).
mod tests {
    use super::*;

    fn get(ini: &Ini, s: &str, o: &str) -> Option<String> {
        ini.get(s, o).unwrap()
    }

    #[test]
    fn names_values_and_separators() {
        let ini = Ini::parse("[Sec]\n  Indented = 1\nFoo = bar baz \nx: y = z\n").unwrap();
        assert_eq!(get(&ini, "Sec", "foo").as_deref(), Some("bar baz"));
        assert_eq!(get(&ini, "Sec", "x").as_deref(), Some("y = z"));
        assert_eq!(get(&ini, "Sec", "indented").as_deref(), Some("1"));
        // Section names keep their case.
        assert!(ini.section("sec").is_none());
    }

    #[test]
    fn empty_value_is_allowed() {
        let ini = Ini::parse("[s]\na =\n").unwrap();
        assert_eq!(get(&ini, "s", "a").as_deref(), Some(""));
    }

    #[test]
    fn comments_whole_line_only() {
        let ini = Ini::parse("# c\n[s]\n  ; indented comment\na = 1 # not a comment\n").unwrap();
        assert_eq!(get(&ini, "s", "a").as_deref(), Some("1 # not a comment"));
    }

    #[test]
    fn continuation_lines() {
        let text = "[s]\na = one\n  two\n\n  three\n# comment inside\n   four\n\nb = 2\n";
        let ini = Ini::parse(text).unwrap();
        assert_eq!(
            get(&ini, "s", "a").as_deref(),
            Some("one\ntwo\n\nthree\nfour")
        );
        assert_eq!(get(&ini, "s", "b").as_deref(), Some("2"));
    }

    #[test]
    fn header_takes_up_to_last_bracket() {
        let ini = Ini::parse("[Account a]b] trailing\nx = 1\n").unwrap();
        assert!(ini.section("Account a]b").is_some());
    }

    #[test]
    fn default_section_is_inherited() {
        let ini = Ini::parse("[DEFAULT]\nx = d\ny = d\n[s]\ny = own\n").unwrap();
        assert_eq!(get(&ini, "s", "x").as_deref(), Some("d"));
        assert_eq!(get(&ini, "s", "y").as_deref(), Some("own"));
        assert!(ini.section(DEFAULT_SECTION).is_none());
    }

    #[test]
    fn interpolation() {
        let text =
            "[DEFAULT]\nhome = /h\n[s]\nDir = %(HOME)s/mail\npass = 50%%\nnested = %(dir)s/x\n";
        let ini = Ini::parse(text).unwrap();
        assert_eq!(get(&ini, "s", "dir").as_deref(), Some("/h/mail"));
        assert_eq!(get(&ini, "s", "pass").as_deref(), Some("50%"));
        assert_eq!(get(&ini, "s", "nested").as_deref(), Some("/h/mail/x"));
    }

    #[test]
    fn interpolation_errors() {
        let ini = Ini::parse("[s]\na = 5%\nb = %(nope)s\nc = %(c)s\nd = %(x)\n").unwrap();
        for o in ["a", "b", "c", "d"] {
            let err = ini.get("s", o).unwrap_err();
            assert!(!err.0.is_empty(), "{o}");
        }
        assert!(ini.get("s", "b").unwrap_err().0.contains("'nope'"));
        assert!(ini.get("s", "c").unwrap_err().0.contains("loop"));
    }

    #[test]
    fn syntax_errors_carry_line() {
        let cases = [
            ("a = 1\n", 1, "[section]"),
            ("[s]\njunk\n", 2, "option = value"),
            ("[s]\n= 1\n", 2, "missing option name"),
            ("[s]\n[t]\n[s]\n", 3, "already appears on line 1"),
            ("[s]\na = 1\nA = 2\n", 3, "already set"),
            ("[s]\n[]\n", 2, "option = value"),
        ];
        for (text, line, needle) in cases {
            let err = Ini::parse(text).unwrap_err();
            assert_eq!(err.line, line, "{text:?}");
            assert!(err.message.contains(needle), "{text:?}: {}", err.message);
        }
    }

    #[test]
    fn set_overrides_and_creates() {
        let mut ini = Ini::parse("[general]\na = 1\n").unwrap();
        ini.set("general", "A", "2");
        ini.set("Account X", "b", "3");
        ini.set(DEFAULT_SECTION, "c", "4");
        assert_eq!(get(&ini, "general", "a").as_deref(), Some("2"));
        assert_eq!(get(&ini, "Account X", "b").as_deref(), Some("3"));
        assert_eq!(get(&ini, "general", "c").as_deref(), Some("4"));
    }

    #[test]
    fn crlf_and_bom() {
        let ini = Ini::parse("\u{feff}[s]\r\na = 1\r\n").unwrap();
        assert_eq!(get(&ini, "s", "a").as_deref(), Some("1"));
    }
}
