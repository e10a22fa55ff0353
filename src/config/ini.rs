//! Reads the INI dialect of Python's `configparser.ConfigParser`, which is
//! what OfflineIMAP configuration files are written in.
//!
//! The `rust-ini` crate (`ParseOption` with quotes and escapes off and
//! indented multi-line values on) splits the text into sections,
//! `name = value` pairs and continuation lines, and keeps repeated
//! sections and options. Where its rules differ from ConfigParser's, this
//! module closes the gap.
//!
//! Before rust-ini, [`normalise`] classifies each line as ConfigParser does
//! and rewrites it so that rust-ini reads it the same way:
//! * comment lines are dropped: ConfigParser skips them even inside a
//!   multi-line value, where rust-ini ends the value or keeps the comment
//!   as text;
//! * header and option lines lose their indentation and continuation lines
//!   get exactly one space: ConfigParser continues a value only with lines
//!   indented deeper than its option line, rust-ini with any indented line;
//! * a backslash before a line end, `=`/`:` or `]` gets a space after it
//!   (trimmed away later): rust-ini joins `\`+newline into one line and
//!   does not see a delimiter after `\`;
//! * text after a header's closing `]` is cut, CR and CRLF become LF and a
//!   BOM is dropped;
//! * lines that are neither header nor option are errors, with their line.
//!
//! After rust-ini: option names are lowercased, the leading newlines of a
//! value whose first line is empty are put back (rust-ini trims them),
//! repeated sections and options are errors (as with ConfigParser's
//! default `strict=True`), repeated `[DEFAULT]` sections merge, results
//! get their line numbers back by matching rust-ini's sections and options
//! in order with the classified lines, `[DEFAULT]` options reach every
//! section, and `%(name)s` / `%%` interpolation happens when a value is
//! read.
//!
//! Known differences from ConfigParser: section names are trimmed
//! (`[ x ]` is `x`), and section names containing `]` or option names
//! starting with `[` are refused, because rust-ini cannot represent them.
//!
//! This module knows nothing about OfflineIMAP's options; `config` does.

use ::ini::{Ini as RawIni, ParseOption};

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

/// Why the text is not a valid file: the 1-based line (when known), the
/// section and option it concerns (when they apply), and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: Option<usize>,
    pub section: Option<String>,
    pub option: Option<String>,
    pub message: String,
}

impl SyntaxError {
    fn at(line: usize, section: Option<&str>, message: impl Into<String>) -> SyntaxError {
        SyntaxError {
            line: Some(line),
            section: section.map(str::to_owned),
            option: None,
            message: message.into(),
        }
    }

    /// rust-ini reported something other than the lines [`normalise`]
    /// classified; only a bug (ours or rust-ini's) gets here.
    fn disagreement() -> SyntaxError {
        SyntaxError {
            line: None,
            section: None,
            option: None,
            message: "rust-ini and the ConfigParser line rules read this file differently (a bug; please report it)".to_owned(),
        }
    }
}

/// Why a value cannot be interpolated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterpolationError(pub String);

/// A header or option line, as ConfigParser classifies it. rust-ini
/// reports the same headers and options in the same order, which is how
/// its results get their line numbers back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Item {
    Header {
        line: usize,
    },
    Option {
        line: usize,
        /// How many `\n` ConfigParser puts before the value (its first line
        /// is empty and continuation lines follow); rust-ini drops them.
        leading_newlines: usize,
    },
}

/// The text rewritten so that rust-ini reads it as ConfigParser would.
#[derive(Debug)]
struct Normalised {
    text: String,
    /// The original 1-based line of each line of `text`.
    origin: Vec<usize>,
    items: Vec<Item>,
}

impl Normalised {
    fn push(&mut self, line: usize, parts: &[&str]) {
        for part in parts {
            self.text.push_str(part);
        }
        self.text.push('\n');
        self.origin.push(line);
    }
}

/// A space after a trailing backslash: rust-ini would pair the backslash
/// with the newline, `=`, `:` or `]` that follows. Every place where this
/// is used has its trailing whitespace trimmed by rust-ini and by
/// ConfigParser alike, so the space never reaches a name or value.
fn guard(s: &str) -> &'static str {
    if s.ends_with('\\') { " " } else { "" }
}

/// Classifies every line the way ConfigParser's reader does (comment,
/// blank, continuation, section header, option) and writes it in a form
/// that rust-ini reads the same way: comments dropped, header and option
/// lines unindented, continuation lines indented by one space, blank lines
/// empty. Lines that are neither header nor option are errors here, where
/// their line number is known.
fn normalise(text: &str) -> Result<Normalised, SyntaxError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // OfflineIMAP opens the file with Python's universal newlines.
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut out = Normalised {
        text: String::with_capacity(text.len()),
        origin: Vec::new(),
        items: Vec::new(),
    };
    // The current section, trimmed as rust-ini trims it (for messages).
    let mut section: Option<String> = None;
    // Whether indented lines continue an option (not right after a header).
    let mut option_open = false;
    // Indentation of the last header or option line.
    let mut indent_level = 0;
    // An option whose first line is empty and that has had no continuation
    // line yet: its index in `items` and the blank lines since.
    let mut empty_start: Option<(usize, usize)> = None;

    for (i, raw) in text.split('\n').enumerate() {
        let line = i + 1;
        let stripped = raw.trim();
        if stripped.starts_with('#') || stripped.starts_with(';') {
            // ConfigParser skips comments without ending a multi-line value.
            continue;
        }
        if stripped.is_empty() {
            if let Some((_, blanks)) = &mut empty_start {
                *blanks += 1;
            }
            out.push(line, &[]);
            continue;
        }
        let indent = raw.chars().take_while(|c| c.is_whitespace()).count();
        if option_open && indent > indent_level {
            if let Some((index, blanks)) = empty_start.take()
                && let Some(Item::Option {
                    leading_newlines, ..
                }) = out.items.get_mut(index)
            {
                *leading_newlines = blanks + 1;
            }
            out.push(line, &[" ", stripped, guard(stripped)]);
            continue;
        }
        indent_level = indent;
        empty_start = None;

        if let Some(name) = section_header(stripped) {
            if name.contains(']') {
                return Err(SyntaxError::at(
                    line,
                    None,
                    format!("section names cannot contain ']': '{stripped}'"),
                ));
            }
            out.push(line, &["[", name, guard(name), "]"]);
            out.items.push(Item::Header { line });
            section = Some(name.trim().to_owned());
            option_open = false;
            continue;
        }
        let Some(sec) = section.as_deref() else {
            return Err(SyntaxError::at(
                line,
                None,
                format!("expected a [section] header before '{stripped}'"),
            ));
        };
        let Some(split) = stripped.find(['=', ':']) else {
            return Err(SyntaxError::at(
                line,
                Some(sec),
                format!("expected 'option = value', got '{stripped}'"),
            ));
        };
        let (name, rest) = stripped.split_at(split);
        let name = name.trim_end();
        if name.is_empty() {
            return Err(SyntaxError::at(
                line,
                Some(sec),
                format!("missing option name before '{}'", &rest[..1]),
            ));
        }
        if name.starts_with('[') {
            // rust-ini would take it for a section header.
            return Err(SyntaxError::at(
                line,
                Some(sec),
                format!("an option name cannot start with '[': '{stripped}'"),
            ));
        }
        if rest[1..].trim().is_empty() {
            empty_start = Some((out.items.len(), 0));
        }
        out.items.push(Item::Option {
            line,
            leading_newlines: 0,
        });
        out.push(line, &[name, guard(name), rest, guard(rest)]);
        option_open = true;
    }
    Ok(out)
}

impl Ini {
    /// Reads a whole file. Errors carry the line and, where they apply,
    /// the section and option.
    pub fn parse(text: &str) -> Result<Ini, SyntaxError> {
        let norm = normalise(text)?;
        let options = ParseOption {
            enabled_quote: false,
            enabled_escape: false,
            enabled_indented_mutiline_value: true,
            ..ParseOption::default()
        };
        let raw = RawIni::load_from_str_opt(&norm.text, options).map_err(|e| SyntaxError {
            line: e
                .line
                .checked_sub(1)
                .and_then(|l| norm.origin.get(l).copied()),
            section: None,
            option: None,
            message: e.msg.into_owned(),
        })?;

        let mut ini = Ini {
            defaults: Section {
                name: DEFAULT_SECTION.to_owned(),
                ..Section::default()
            },
            sections: Vec::new(),
        };
        let mut items = norm.items.iter().copied();
        for (name, properties) in raw.iter() {
            let Some(name) = name else {
                // rust-ini's section for options before any header, which
                // `normalise` refuses; it is always there, empty.
                if properties.is_empty() {
                    continue;
                }
                return Err(SyntaxError::disagreement());
            };
            let Some(Item::Header { line }) = items.next() else {
                return Err(SyntaxError::disagreement());
            };
            let section = if name == DEFAULT_SECTION {
                // ConfigParser merges repeated [DEFAULT] sections.
                &mut ini.defaults
            } else {
                if let Some(prev) = ini.section(name) {
                    return Err(SyntaxError {
                        message: format!("section already appears on line {}", prev.line),
                        ..SyntaxError::at(line, Some(name), "")
                    });
                }
                ini.sections.push(Section {
                    name: name.to_owned(),
                    line,
                    entries: Vec::new(),
                });
                match ini.sections.last_mut() {
                    Some(s) => s,
                    None => return Err(SyntaxError::disagreement()),
                }
            };
            for (key, value) in properties.iter() {
                let Some(Item::Option {
                    line,
                    leading_newlines,
                }) = items.next()
                else {
                    return Err(SyntaxError::disagreement());
                };
                let name = key.to_lowercase();
                if let Some(prev) = section.raw(&name) {
                    return Err(SyntaxError {
                        line: Some(line),
                        section: Some(section.name.clone()),
                        option: Some(name),
                        message: format!("already set on line {}", prev.line),
                    });
                }
                let mut v = "\n".repeat(leading_newlines);
                v.push_str(value);
                section.entries.push(Entry {
                    name,
                    value: v,
                    line,
                });
            }
        }
        if items.next().is_some() {
            return Err(SyntaxError::disagreement());
        }
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

    /// Every (section, option, interpolated value) in the order Python's
    /// `options()` lists them: `[DEFAULT]` first, then each section's own
    /// options followed by the inherited ones.
    fn dump(ini: &Ini) -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        let mut row = |s: &str, o: &str| {
            out.push((s.to_owned(), o.to_owned(), get(ini, s, o).unwrap()));
        };
        for e in &ini.defaults.entries {
            row(DEFAULT_SECTION, &e.name);
        }
        for s in &ini.sections {
            for e in &s.entries {
                row(&s.name, &e.name);
            }
            for e in &ini.defaults.entries {
                if s.raw(&e.name).is_none() {
                    row(&s.name, &e.name);
                }
            }
        }
        out
    }

    /// Each expectation is what Python 3.11's `configparser.ConfigParser`
    /// (as OfflineIMAP creates it) reads from the same text; the table was
    /// generated by running it.
    /// (what it shows, the text, every (section, option, value)).
    type Case = (
        &'static str,
        &'static str,
        &'static [(&'static str, &'static str, &'static str)],
    );

    const AGREES: &[Case] = &[
        (
            "indented options at one level",
            "[s]\n  a = 1\n  b = 2\n",
            &[("s", "a", "1"), ("s", "b", "2")],
        ),
        (
            "deeper lines continue, same level starts an option",
            "[s]\n   a = 1\n  b = 2\n   c = 3\n",
            &[("s", "a", "1"), ("s", "b", "2\nc = 3")],
        ),
        (
            "continuation deeper than an indented option",
            "[s]\n  a = one\n    two\n  b = 2\n",
            &[("s", "a", "one\ntwo"), ("s", "b", "2")],
        ),
        (
            "tab vs spaces count characters",
            "[s]\n\ta = 1\n        b = 2\n",
            &[("s", "a", "1\nb = 2")],
        ),
        (
            "blank lines and comments in a continuation",
            "[s]\na = one\n  two\n\n  three\n# comment inside\n   four\n\nb = 2\n",
            &[("s", "a", "one\ntwo\n\nthree\nfour"), ("s", "b", "2")],
        ),
        (
            "indented comment in a continuation",
            "[s]\na = one\n  # indented comment\n  two\n",
            &[("s", "a", "one\ntwo")],
        ),
        (
            "blank lines around a comment count",
            "[s]\na = one\n\n# c\n\n  two\n",
            &[("s", "a", "one\n\n\ntwo")],
        ),
        (
            "several blank lines kept inside, dropped at the end",
            "[s]\na = one\n\n\n  two\n\n\nb = 2\n",
            &[("s", "a", "one\n\n\ntwo"), ("s", "b", "2")],
        ),
        (
            "empty first line keeps a leading newline",
            "[s]\nc =\n   x\n",
            &[("s", "c", "\nx")],
        ),
        (
            "empty first line, blank lines, continuation",
            "[s]\nc =\n\n\n   x\n  y\n",
            &[("s", "c", "\n\n\nx\ny")],
        ),
        (
            "empty first line, comment, blank, continuation",
            "[s]\nc =\n# note\n\n  x\n",
            &[("s", "c", "\n\nx")],
        ),
        (
            "empty values",
            "[s]\na =\nb:\nc = \n\n\nd = 1\n",
            &[
                ("s", "a", ""),
                ("s", "b", ""),
                ("s", "c", ""),
                ("s", "d", "1"),
            ],
        ),
        (
            "comment characters inside values",
            "[s]\na = x ; y # z\nb: c = d\nc = e: f\nd = #1\n",
            &[
                ("s", "a", "x ; y # z"),
                ("s", "b", "c = d"),
                ("s", "c", "e: f"),
                ("s", "d", "#1"),
            ],
        ),
        (
            "keys with spaces",
            "[s]\nkey with  spaces   =   v  \nfolder filter = x\n",
            &[("s", "key with  spaces", "v"), ("s", "folder filter", "x")],
        ),
        (
            "nametrans lambda over two lines",
            "[s]\nnametrans = lambda f: re.sub('^INBOX\\\\.', '',\n     f)\n",
            &[("s", "nametrans", "lambda f: re.sub('^INBOX\\\\.', '',\nf)")],
        ),
        (
            "trailing backslash is kept, no line join",
            "[s]\na = C:\\\nb = 2\n",
            &[("s", "a", "C:\\"), ("s", "b", "2")],
        ),
        (
            "double trailing backslash",
            "[s]\na = x\\\\\nb = 2\n",
            &[("s", "a", "x\\\\"), ("s", "b", "2")],
        ),
        (
            "backslashes ending continuation lines",
            "[s]\na = one\\\n  two\\\nb = 2\n",
            &[("s", "a", "one\\\ntwo\\"), ("s", "b", "2")],
        ),
        (
            "backslash before the delimiter belongs to the name",
            "[s]\nk\\ = v\nl\\= w\nm\\\\\\=x\n",
            &[("s", "k\\", "v"), ("s", "l\\", "w"), ("s", "m\\\\\\", "x")],
        ),
        (
            "backslash ending a section name",
            "[s\\]\na = 1\n",
            &[("s\\", "a", "1")],
        ),
        (
            "text after a header is ignored",
            "[s] # c\na = 1\n[t] x = 1\n",
            &[("s", "a", "1")],
        ),
        (
            "indented header after a header",
            "[s]\n  [t]\nb = 1\n",
            &[("t", "b", "1")],
        ),
        (
            "indented bracket line continues a value",
            "[s]\na = 1\n  [t]\n",
            &[("s", "a", "1\n[t]")],
        ),
        (
            "indented option right after a header",
            "[s]\n\n  x = 1\n",
            &[("s", "x", "1")],
        ),
        (
            "form feed indents a continuation",
            "[s]\na = 1\n\u{c}cont\n",
            &[("s", "a", "1\ncont")],
        ),
        (
            "CRLF line ends",
            "[s]\r\na = 1\r\n  two\r\nb = 2\r\n",
            &[("s", "a", "1\ntwo"), ("s", "b", "2")],
        ),
        (
            "section names are case-sensitive, options not",
            "[S]\nA = 1\n[s]\na = 2\n",
            &[("S", "a", "1"), ("s", "a", "2")],
        ),
        (
            "DEFAULT reaches every section, even earlier ones",
            "[s]\na=1\n[DEFAULT]\nb=2\n[t]\n",
            &[
                ("DEFAULT", "b", "2"),
                ("s", "a", "1"),
                ("s", "b", "2"),
                ("t", "b", "2"),
            ],
        ),
        (
            "repeated DEFAULT sections merge",
            "[DEFAULT]\nx = 1\n[DEFAULT]\ny = 2\n[s]\n",
            &[
                ("DEFAULT", "x", "1"),
                ("DEFAULT", "y", "2"),
                ("s", "x", "1"),
                ("s", "y", "2"),
            ],
        ),
        (
            "interpolation",
            "[DEFAULT]\nhome = /h\n[s]\nDir = %(HOME)s/mail\npass = 50%%\nnested = %(dir)s/x\n",
            &[
                ("DEFAULT", "home", "/h"),
                ("s", "dir", "/h/mail"),
                ("s", "pass", "50%"),
                ("s", "nested", "/h/mail/x"),
                ("s", "home", "/h"),
            ],
        ),
        (
            "interpolation chain",
            "[s]\na = %(b)s\nb = %(c)s\nc = 50%%\n",
            &[("s", "a", "50%"), ("s", "b", "50%"), ("s", "c", "50%")],
        ),
        (
            "interpolation from DEFAULT uses the section's values",
            "[DEFAULT]\np = %(u)s@host\nu = d\n[s]\nu = me\n",
            &[
                ("DEFAULT", "p", "d@host"),
                ("DEFAULT", "u", "d"),
                ("s", "u", "me"),
                ("s", "p", "me@host"),
            ],
        ),
    ];

    #[test]
    fn agrees_with_python_configparser() {
        for (what, text, want) in AGREES {
            let ini = Ini::parse(text).unwrap_or_else(|e| panic!("{what}: {e:?}"));
            let want: Vec<(String, String, String)> = want
                .iter()
                .map(|(s, o, v)| ((*s).to_owned(), (*o).to_owned(), (*v).to_owned()))
                .collect();
            assert_eq!(dump(&ini), want, "{what}: {text:?}");
        }
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
    fn default_section_is_inherited_not_listed() {
        let ini = Ini::parse("[DEFAULT]\nx = d\ny = d\n[s]\ny = own\n").unwrap();
        assert_eq!(get(&ini, "s", "x").as_deref(), Some("d"));
        assert_eq!(get(&ini, "s", "y").as_deref(), Some("own"));
        assert!(ini.section(DEFAULT_SECTION).is_none());
        assert_eq!(ini.sections.len(), 1);
    }

    #[test]
    fn line_numbers_survive_dropped_comments() {
        let text = "# top\n[s]\n\na = 1\n  two\n# c\n   three\n; d\nb = 2\n[t]\nc = 3\n";
        let ini = Ini::parse(text).unwrap();
        let s = ini.section("s").unwrap();
        assert_eq!(s.line, 2);
        let lines: Vec<_> = s
            .entries
            .iter()
            .map(|e| (e.name.as_str(), e.line))
            .collect();
        assert_eq!(lines, [("a", 4), ("b", 9)]);
        assert_eq!(s.raw("a").unwrap().value, "1\ntwo\nthree");
        assert_eq!(ini.section("t").unwrap().line, 10);
        assert_eq!(ini.raw("t", "c").unwrap().line, 11);
    }

    #[test]
    fn interpolation_errors() {
        let ini =
            Ini::parse("[s]\na = 5%\nb = %(nope)s\nc = %(c)s\nd = %(x)\ne = %(E)s\n").unwrap();
        for o in ["a", "b", "c", "d", "e"] {
            let err = ini.get("s", o).unwrap_err();
            assert!(!err.0.is_empty(), "{o}");
        }
        assert!(ini.get("s", "b").unwrap_err().0.contains("'nope'"));
        assert!(ini.get("s", "c").unwrap_err().0.contains("loop"));
        // Names in references are case-insensitive too: `%(E)s` is `e`.
        assert!(ini.get("s", "e").unwrap_err().0.contains("loop"));
    }

    /// Python rejects all of these too (MissingSectionHeaderError,
    /// ParsingError, DuplicateSectionError, DuplicateOptionError).
    #[test]
    fn syntax_errors_name_line_section_and_option() {
        type Case<'a> = (&'a str, usize, Option<&'a str>, Option<&'a str>, &'a str);
        let cases: &[Case] = &[
            (
                "a = 1\n[s]\n",
                1,
                None,
                None,
                "expected a [section] header before 'a = 1'",
            ),
            (
                "# c\n\n[s\na = 1\n",
                3,
                None,
                None,
                "expected a [section] header before '[s'",
            ),
            (
                "[]\na = 1\n",
                1,
                None,
                None,
                "expected a [section] header before '[]'",
            ),
            (
                "[s]\njunk\na = 1\n",
                2,
                Some("s"),
                None,
                "expected 'option = value', got 'junk'",
            ),
            (
                "[s]\n[]\n",
                2,
                Some("s"),
                None,
                "expected 'option = value', got '[]'",
            ),
            (
                "[s]\n = 1\n",
                2,
                Some("s"),
                None,
                "missing option name before '='",
            ),
            (
                "[s]\n[t]\n# c\n[s]\n",
                4,
                Some("s"),
                None,
                "section already appears on line 1",
            ),
            (
                "[s]\n# c\na = 1\n\n; d\nA = 2\n",
                6,
                Some("s"),
                Some("a"),
                "already set on line 3",
            ),
            (
                "[DEFAULT]\nx = 1\n[DEFAULT]\nX: 2\n",
                4,
                Some("DEFAULT"),
                Some("x"),
                "already set on line 2",
            ),
        ];
        for &(text, line, section, option, message) in cases {
            let err = Ini::parse(text).unwrap_err();
            let want = SyntaxError {
                line: Some(line),
                section: section.map(str::to_owned),
                option: option.map(str::to_owned),
                message: message.to_owned(),
            };
            assert_eq!(err, want, "{text:?}");
        }
    }

    /// Where rust-ini cannot follow ConfigParser. Python reads `[ s ]` as
    /// a section named ` s `, `[s]]` as `s]` and `[t = 1` as option `[t`.
    #[test]
    fn known_differences_from_configparser() {
        let ini = Ini::parse("[ s ]\na = 1\n").unwrap();
        assert_eq!(get(&ini, "s", "a").as_deref(), Some("1"));

        let err = Ini::parse("[s]]\na = 1\n").unwrap_err();
        assert_eq!(err.line, Some(1));
        assert_eq!(err.message, "section names cannot contain ']': '[s]]'");

        let err = Ini::parse("[s]\n[t = 1\n").unwrap_err();
        assert_eq!((err.line, err.section.as_deref()), (Some(2), Some("s")));
        assert_eq!(
            err.message,
            "an option name cannot start with '[': '[t = 1'"
        );
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
    fn newlines_and_bom() {
        // A BOM is accepted (Python would refuse the file); a lone CR ends
        // a line, as in Python's universal-newline reading of the file.
        let ini = Ini::parse("\u{feff}[s]\r\na = 1\r\n  two\rb = 2\r").unwrap();
        assert_eq!(get(&ini, "s", "a").as_deref(), Some("1\ntwo"));
        assert_eq!(get(&ini, "s", "b").as_deref(), Some("2"));
        assert_eq!(ini.raw("s", "b").unwrap().line, 4);
    }

    #[test]
    fn empty_file_has_no_sections() {
        let ini = Ini::parse("").unwrap();
        assert!(ini.sections.is_empty());
        assert!(ini.defaults.entries.is_empty());
        let ini = Ini::parse("# only a comment\n\n").unwrap();
        assert!(ini.sections.is_empty());
    }
}
