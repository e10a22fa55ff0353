//! Python `re` on top of fancy-regex: translates Python pattern syntax
//! faithfully (escapes, `$`, `\Z`, `{` literals, verbose mode, named
//! groups), and reproduces `re`'s search loop for `sub`/`split`/`findall`
//! (including Python 3.7's rule for empty matches) and its replacement
//! templates (`\1`, `\g<name>`).

use super::value::{Value, str_repr};
use super::{ErrorKind, R, exc};
use fancy_regex::{Regex, RegexBuilder, RegexInput};
use std::sync::{Arc, OnceLock};

pub(crate) const IGNORECASE: i64 = 2;
pub(crate) const LOCALE: i64 = 4;
pub(crate) const MULTILINE: i64 = 8;
pub(crate) const DOTALL: i64 = 16;
pub(crate) const UNICODE: i64 = 32;
pub(crate) const VERBOSE: i64 = 64;
pub(crate) const ASCII: i64 = 256;

/// A compiled Python pattern (`re.Pattern`).
#[derive(Debug)]
pub struct Pattern {
    pub(crate) source: String,
    /// Python's flags value (UNICODE included, as Python reports it).
    pub(crate) flags: i64,
    translated: String,
    regex: Regex,
    /// The same pattern refusing empty matches, for the search loop.
    nonempty: OnceLock<Option<Regex>>,
    full: OnceLock<Option<Regex>>,
    pub(crate) groups: usize,
    pub(crate) names: Vec<(String, usize)>,
}

/// A successful match (`re.Match`).
#[derive(Debug, Clone)]
pub struct Match {
    pub(crate) string: String,
    /// Byte spans per group (0 = whole match).
    spans: Vec<Option<(usize, usize)>>,
    pub(crate) names: Vec<(String, usize)>,
    pub(crate) pattern: Arc<Pattern>,
}

fn re_err<T>(msg: impl Into<String>) -> R<T> {
    exc(ErrorKind::Regex, msg)
}

fn lit(out: &mut String, c: char) {
    if c.is_alphanumeric() || c == '_' {
        out.push(c);
    } else {
        out.push_str(&format!("\\x{{{:x}}}", c as u32));
    }
}

struct Translator<'a> {
    chars: Vec<char>,
    i: usize,
    flags: i64,
    out: String,
    groups: usize,
    /// Open parentheses: where, and the capture group they start.
    open: Vec<(usize, Option<usize>)>,
    names: Vec<(String, usize)>,
    src: &'a str,
}

impl Translator<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.i).copied()
    }

    fn starts_with(&self, s: &str) -> bool {
        s.chars()
            .enumerate()
            .all(|(k, c)| self.chars.get(self.i + k) == Some(&c))
    }

    fn verbose(&self) -> bool {
        self.flags & VERBOSE != 0
    }

    /// Leading `(?imsx)` groups set flags for the whole pattern.
    fn global_flags(&mut self) -> R<()> {
        while self.starts_with("(?") {
            let mut k = self.i + 2;
            let mut f = 0;
            while let Some(&c) = self.chars.get(k) {
                match c {
                    'i' => f |= IGNORECASE,
                    'm' => f |= MULTILINE,
                    's' => f |= DOTALL,
                    'x' => f |= VERBOSE,
                    'u' => f |= UNICODE,
                    'a' => f |= ASCII,
                    'L' => f |= LOCALE,
                    _ => break,
                }
                k += 1;
            }
            if k == self.i + 2 || self.chars.get(k) != Some(&')') {
                return Ok(());
            }
            self.flags |= f;
            self.i = k + 1;
        }
        Ok(())
    }

    fn run(&mut self) -> R<()> {
        self.global_flags()?;
        if self.flags & (ASCII | LOCALE) != 0 {
            return exc(
                ErrorKind::NotSupported,
                "the ASCII and LOCALE regex flags are not supported",
            );
        }
        while let Some(c) = self.peek() {
            self.i += 1;
            match c {
                '\\' => self.escape(false)?,
                '[' => self.class()?,
                '(' => self.group()?,
                ')' => {
                    if self.open.pop().is_none() {
                        return re_err(format!(
                            "unbalanced parenthesis at position {}",
                            self.i - 1
                        ));
                    }
                    self.out.push(')');
                }
                '{' => self.brace(),
                '}' => lit(&mut self.out, '}'),
                '$' => {
                    if self.flags & MULTILINE != 0 {
                        self.out.push_str("(?m:$)");
                    } else {
                        // Python's `$` also matches before a final newline.
                        self.out.push_str("(?=\\n?\\z)");
                    }
                }
                '^' => self.out.push_str(if self.flags & MULTILINE != 0 {
                    "(?m:^)"
                } else {
                    "\\A"
                }),
                '.' => self.out.push_str(if self.flags & DOTALL != 0 {
                    "(?s:.)"
                } else {
                    "."
                }),
                '#' if self.verbose() => {
                    while let Some(c) = self.peek() {
                        self.i += 1;
                        if c == '\n' {
                            break;
                        }
                    }
                }
                c if self.verbose() && c.is_whitespace() => {}
                '*' | '+' | '?' | '|' => self.out.push(c),
                c => lit(&mut self.out, c),
            }
        }
        if !self.open.is_empty() {
            return re_err(format!(
                "missing ), unterminated subpattern at position {}",
                self.open.last().map_or(0, |o| o.0)
            ));
        }
        Ok(())
    }

    /// `{m,n}` is a quantifier only when well formed; otherwise Python
    /// takes the brace literally.
    fn brace(&mut self) {
        let mut k = self.i;
        let mut lo = String::new();
        let mut hi = String::new();
        let mut comma = false;
        while let Some(&c) = self.chars.get(k) {
            if c.is_ascii_digit() {
                if comma { hi.push(c) } else { lo.push(c) }
            } else if c == ',' && !comma {
                comma = true;
            } else {
                break;
            }
            k += 1;
        }
        if (comma || !lo.is_empty()) && self.chars.get(k) == Some(&'}') {
            self.i = k + 1;
            let lo = if lo.is_empty() { "0".to_string() } else { lo };
            if comma {
                self.out.push_str(&format!("{{{lo},{hi}}}"));
            } else {
                self.out.push_str(&format!("{{{lo}}}"));
            }
        } else {
            lit(&mut self.out, '{');
        }
    }

    fn group(&mut self) -> R<()> {
        let at = self.i - 1;
        if self.peek() != Some('?') {
            self.groups += 1;
            self.open.push((at, Some(self.groups)));
            self.out.push('(');
            return Ok(());
        }
        self.i += 1;
        let rest: String = self.chars[self.i..].iter().take(3).collect();
        if let Some(r) = rest.strip_prefix('P') {
            if r.starts_with('<') {
                self.i += 2;
                let name = self.name_until('>')?;
                if self.names.iter().any(|(n, _)| *n == name) {
                    return re_err(format!("redefinition of group name '{name}'"));
                }
                self.groups += 1;
                self.names.push((name.clone(), self.groups));
                self.open.push((at, Some(self.groups)));
                self.out.push_str(&format!("(?P<{name}>"));
                return Ok(());
            }
            if r.starts_with('=') {
                self.i += 2;
                let name = self.name_until(')')?;
                if !self.names.iter().any(|(n, _)| *n == name) {
                    return re_err(format!("unknown group name '{name}'"));
                }
                self.out.push_str(&format!("\\k<{name}>"));
                return Ok(());
            }
            return re_err(format!(
                "unknown extension ?P{}",
                r.chars().next().unwrap_or(' ')
            ));
        }
        for prefix in [":", "=", "!", "<=", "<!", ">"] {
            if rest.starts_with(prefix) {
                self.i += prefix.len();
                self.open.push((at, None));
                self.out.push_str("(?");
                self.out.push_str(prefix);
                return Ok(());
            }
        }
        if rest.starts_with('#') {
            while let Some(c) = self.peek() {
                self.i += 1;
                if c == ')' {
                    return Ok(());
                }
            }
            return re_err("missing ), unterminated comment");
        }
        if rest.starts_with('(') || rest.starts_with('<') {
            return exc(
                ErrorKind::NotSupported,
                "this regex group syntax is not supported",
            );
        }
        // Scoped flags: (?i:...) / (?-i:...); global flags must come first.
        let mut spec = String::new();
        while let Some(c) = self.peek() {
            if "imsxauL-".contains(c) {
                spec.push(c);
                self.i += 1;
            } else {
                break;
            }
        }
        match self.peek() {
            Some(':') if !spec.is_empty() => {
                self.i += 1;
                if spec.contains(['a', 'L', 'x']) {
                    return exc(
                        ErrorKind::NotSupported,
                        "scoped a/L/x regex flags are not supported",
                    );
                }
                let spec: String = spec.chars().filter(|c| *c != 'u').collect();
                self.open.push((at, None));
                self.out.push_str(&format!("(?{spec}:"));
                Ok(())
            }
            Some(')') if !spec.is_empty() => re_err(format!(
                "global flags not at the start of the expression at position {at}"
            )),
            _ => re_err(format!(
                "unknown extension ?{} at position {at}",
                rest.chars().next().unwrap_or(' ')
            )),
        }
    }

    fn name_until(&mut self, end: char) -> R<String> {
        let mut name = String::new();
        loop {
            match self.peek() {
                None => return re_err("missing group name terminator"),
                Some(c) if c == end => {
                    self.i += 1;
                    break;
                }
                Some(c) => {
                    name.push(c);
                    self.i += 1;
                }
            }
        }
        let ok = name
            .chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_alphanumeric() || c == '_');
        if !ok {
            return re_err(format!("bad character in group name '{name}'"));
        }
        Ok(name)
    }

    fn hex(&mut self, n: usize, what: char) -> R<char> {
        let digits: String = self.chars[self.i..].iter().take(n).collect();
        if digits.chars().count() != n || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
            return re_err(format!("incomplete escape \\{what}{digits}"));
        }
        self.i += n;
        u32::from_str_radix(&digits, 16)
            .ok()
            .and_then(char::from_u32)
            .map_or_else(|| re_err(format!("bad escape \\{what}{digits}")), Ok)
    }

    /// After a backslash. In a class, `\b` is a backspace and group
    /// references do not exist.
    fn escape(&mut self, in_class: bool) -> R<()> {
        let Some(c) = self.peek() else {
            return re_err("bad escape (end of pattern)");
        };
        self.i += 1;
        match c {
            'd' | 'D' | 's' | 'S' | 'w' | 'W' => {
                self.out.push('\\');
                self.out.push(c);
            }
            'b' if in_class => lit(&mut self.out, '\x08'),
            'b' | 'B' | 'A' if !in_class => {
                self.out.push('\\');
                self.out.push(c);
            }
            'Z' if !in_class => self.out.push_str("\\z"),
            'n' => lit(&mut self.out, '\n'),
            't' => lit(&mut self.out, '\t'),
            'r' => lit(&mut self.out, '\r'),
            'f' => lit(&mut self.out, '\x0c'),
            'v' => lit(&mut self.out, '\x0b'),
            'a' => lit(&mut self.out, '\x07'),
            'x' => {
                let ch = self.hex(2, 'x')?;
                lit(&mut self.out, ch);
            }
            'u' => {
                let ch = self.hex(4, 'u')?;
                lit(&mut self.out, ch);
            }
            'U' => {
                let ch = self.hex(8, 'U')?;
                lit(&mut self.out, ch);
            }
            '0'..='7' if c == '0' || in_class => {
                let mut v = c.to_digit(8).unwrap_or(0);
                let mut k = 0;
                while k < 2 && self.peek().is_some_and(|d| ('0'..='7').contains(&d)) {
                    v = v * 8 + self.peek().and_then(|d| d.to_digit(8)).unwrap_or(0);
                    self.i += 1;
                    k += 1;
                }
                if v > 0o377 {
                    return re_err("octal escape value outside of range 0-0o377".to_string());
                }
                lit(&mut self.out, char::from_u32(v).unwrap_or('\0'));
            }
            '8' | '9' if in_class => return re_err(format!("bad escape \\{c}")),
            '1'..='9' => {
                let mut digits = String::from(c);
                if let Some(d) = self.peek().filter(char::is_ascii_digit) {
                    digits.push(d);
                    self.i += 1;
                    let third = self.peek().filter(|x| ('0'..='7').contains(x));
                    if let (true, Some(t)) = (digits.chars().all(|x| x < '8'), third) {
                        digits.push(t);
                        self.i += 1;
                        let v = u32::from_str_radix(&digits, 8).unwrap_or(0);
                        if v > 0o377 {
                            return re_err(format!(
                                "octal escape value \\{digits} outside of range 0-0o377"
                            ));
                        }
                        lit(&mut self.out, char::from_u32(v).unwrap_or('\0'));
                        return Ok(());
                    }
                }
                let n: usize = digits.parse().unwrap_or(usize::MAX);
                if n > self.groups {
                    return re_err(format!("invalid group reference {n}"));
                }
                if self.open.iter().any(|(_, g)| *g == Some(n)) {
                    return re_err("cannot refer to an open group");
                }
                // The group keeps a following digit out of the number.
                self.out.push_str(&format!("(?:\\{n})"));
            }
            c if c.is_ascii_alphabetic() => return re_err(format!("bad escape \\{c}")),
            c => lit(&mut self.out, c),
        }
        Ok(())
    }

    fn class(&mut self) -> R<()> {
        let start = self.i - 1;
        self.out.push('[');
        if self.peek() == Some('^') {
            self.i += 1;
            self.out.push('^');
        }
        let mut first = true;
        // Whether the last item emitted can start a range.
        let mut have_item = false;
        loop {
            let Some(c) = self.peek() else {
                return re_err(format!("unterminated character set at position {start}"));
            };
            self.i += 1;
            match c {
                ']' if !first => break,
                '\\' => {
                    let before = self.out.len();
                    self.escape(true)?;
                    have_item = !self.out[before..].starts_with("\\d")
                        && !self.out[before..].starts_with("\\w")
                        && !self.out[before..].starts_with("\\s")
                        && !self.out[before..].starts_with("\\D")
                        && !self.out[before..].starts_with("\\W")
                        && !self.out[before..].starts_with("\\S");
                }
                '-' if have_item && self.peek().is_some_and(|n| n != ']') => {
                    self.out.push('-');
                    have_item = false;
                    // The range's upper end.
                    let Some(n) = self.peek() else { continue };
                    self.i += 1;
                    if n == '\\' {
                        self.escape(true)?;
                    } else {
                        lit(&mut self.out, n);
                    }
                }
                c => {
                    lit(&mut self.out, c);
                    have_item = true;
                }
            }
            first = false;
        }
        self.out.push(']');
        Ok(())
    }
}

fn build(translated: &str, flags: i64, nonempty: bool) -> Result<Regex, fancy_regex::Error> {
    let mut b = RegexBuilder::new(translated);
    b.case_insensitive(flags & IGNORECASE != 0);
    if nonempty {
        b.find_not_empty(true);
    }
    b.build()
}

impl Pattern {
    pub(crate) fn compile(source: &str, flags: i64) -> R<Pattern> {
        if flags & !(IGNORECASE | MULTILINE | DOTALL | UNICODE | VERBOSE | ASCII | LOCALE | 128 | 1)
            != 0
        {
            return exc(ErrorKind::NotSupported, "unknown regex flags");
        }
        let mut t = Translator {
            chars: source.chars().collect(),
            i: 0,
            flags,
            out: String::new(),
            groups: 0,
            open: Vec::new(),
            names: Vec::new(),
            src: source,
        };
        t.run()?;
        let _ = t.src;
        let translated = t.out;
        let regex = build(&translated, t.flags, false).map_err(|e| {
            super::Exc::new(
                ErrorKind::Regex,
                format!("cannot compile {}: {e}", str_repr(source)),
            )
        })?;
        Ok(Pattern {
            source: source.to_string(),
            flags: t.flags | UNICODE,
            translated,
            regex,
            nonempty: OnceLock::new(),
            full: OnceLock::new(),
            groups: t.groups,
            names: t.names,
        })
    }

    pub(crate) fn same(&self, other: &Pattern) -> bool {
        self.source == other.source && self.flags == other.flags
    }

    pub(crate) fn repr(&self) -> String {
        let mut flags = Vec::new();
        for (bit, name) in [
            (IGNORECASE, "re.IGNORECASE"),
            (MULTILINE, "re.MULTILINE"),
            (DOTALL, "re.DOTALL"),
            (VERBOSE, "re.VERBOSE"),
        ] {
            if self.flags & bit != 0 {
                flags.push(name);
            }
        }
        if flags.is_empty() {
            format!("re.compile({})", str_repr(&self.source))
        } else {
            format!(
                "re.compile({}, {})",
                str_repr(&self.source),
                flags.join("|")
            )
        }
    }

    fn run_err(e: fancy_regex::Error) -> super::Exc {
        super::Exc::new(
            ErrorKind::NotSupported,
            format!("the regex engine gave up: {e}"),
        )
    }

    /// One match attempt at or after byte `pos`; `anchored` only at `pos`.
    fn find(
        self: &Arc<Self>,
        re: &Regex,
        text: &str,
        pos: usize,
        anchored: bool,
    ) -> R<Option<Match>> {
        let input = RegexInput::new(text).from_pos(pos).anchored(anchored);
        let caps = re.captures_input(input).map_err(Pattern::run_err)?;
        Ok(caps.map(|c| Match {
            string: text.to_string(),
            spans: (0..=self.groups)
                .map(|g| c.get(g).map(|m| (m.start(), m.end())))
                .collect(),
            names: self.names.clone(),
            pattern: self.clone(),
        }))
    }

    pub(crate) fn search(self: &Arc<Self>, text: &str) -> R<Option<Match>> {
        self.find(&self.regex, text, 0, false)
    }

    pub(crate) fn match_start(self: &Arc<Self>, text: &str) -> R<Option<Match>> {
        self.find(&self.regex, text, 0, true)
    }

    pub(crate) fn fullmatch(self: &Arc<Self>, text: &str) -> R<Option<Match>> {
        let full = self
            .full
            .get_or_init(|| build(&format!("(?:{})\\z", self.translated), self.flags, false).ok());
        match full {
            Some(re) => self.find(re, text, 0, true),
            None => exc(ErrorKind::NotSupported, "cannot build fullmatch pattern"),
        }
    }

    /// All matches as `re.finditer` finds them: after an empty match, the
    /// next match may not be empty at the same place.
    pub(crate) fn find_all(self: &Arc<Self>, text: &str, limit: usize) -> R<Vec<Match>> {
        let mut out: Vec<Match> = Vec::new();
        let mut pos = 0;
        let mut must_advance = false;
        while pos <= text.len() && (limit == 0 || out.len() < limit) {
            let found = if must_advance {
                let nonempty = self
                    .nonempty
                    .get_or_init(|| build(&self.translated, self.flags, true).ok());
                let at = match nonempty {
                    Some(re) => self.find(re, text, pos, true)?,
                    None => None,
                };
                match at {
                    Some(m) => Some(m),
                    None => {
                        let Some(c) = text[pos..].chars().next() else {
                            break;
                        };
                        self.find(&self.regex, text, pos + c.len_utf8(), false)?
                    }
                }
            } else {
                self.find(&self.regex, text, pos, false)?
            };
            let Some(m) = found else { break };
            let (s, e) = m.spans[0].unwrap_or((pos, pos));
            must_advance = s == e;
            pos = e;
            out.push(m);
        }
        Ok(out)
    }

    pub(crate) fn sub(
        self: &Arc<Self>,
        text: &str,
        count: usize,
        mut repl: impl FnMut(&Match) -> R<String>,
    ) -> R<(String, usize)> {
        let matches = self.find_all(text, count)?;
        let mut out = String::new();
        let mut last = 0;
        for m in &matches {
            let (s, e) = m.spans[0].unwrap_or((last, last));
            out.push_str(&text[last..s]);
            out.push_str(&repl(m)?);
            last = e;
        }
        out.push_str(&text[last..]);
        Ok((out, matches.len()))
    }

    pub(crate) fn split(self: &Arc<Self>, text: &str, maxsplit: usize) -> R<Vec<Value>> {
        let mut out = Vec::new();
        let mut last = 0;
        for m in self.find_all(text, maxsplit)? {
            let (s, e) = m.spans[0].unwrap_or((last, last));
            out.push(Value::Str(text[last..s].to_string()));
            for g in 1..m.spans.len() {
                out.push(m.group_value(g));
            }
            last = e;
        }
        out.push(Value::Str(text[last..].to_string()));
        Ok(out)
    }

    pub(crate) fn findall(self: &Arc<Self>, text: &str) -> R<Vec<Value>> {
        Ok(self
            .find_all(text, 0)?
            .iter()
            .map(|m| match self.groups {
                0 => m.group_value(0),
                1 => m.group_value_or(1, Value::Str(String::new())),
                n => Value::Tuple(
                    (1..=n)
                        .map(|g| m.group_value_or(g, Value::Str(String::new())))
                        .collect(),
                ),
            })
            .collect())
    }

    /// Parses a replacement template into literal pieces and group numbers.
    pub(crate) fn template(&self, repl: &str) -> R<Vec<Piece>> {
        let chars: Vec<char> = repl.chars().collect();
        let mut pieces = Vec::new();
        let mut lit = String::new();
        let mut i = 0;
        let group_ref = |n: usize| -> R<usize> {
            if n > self.groups {
                re_err(format!("invalid group reference {n}"))
            } else {
                Ok(n)
            }
        };
        while i < chars.len() {
            let c = chars[i];
            i += 1;
            if c != '\\' {
                lit.push(c);
                continue;
            }
            let Some(&n) = chars.get(i) else {
                return re_err("bad escape (end of pattern)");
            };
            i += 1;
            let mut group = None;
            match n {
                'g' => {
                    if chars.get(i) != Some(&'<') {
                        return re_err("missing <");
                    }
                    let close = chars[i..].iter().position(|c| *c == '>');
                    let Some(close) = close else {
                        return re_err("missing >, unterminated name");
                    };
                    let name: String = chars[i + 1..i + close].iter().collect();
                    i += close + 1;
                    if name.is_empty() {
                        return re_err("missing group name");
                    }
                    if name.chars().all(|c| c.is_ascii_digit()) {
                        group = Some(group_ref(name.parse().unwrap_or(usize::MAX))?);
                    } else if let Some((_, g)) = self.names.iter().find(|(k, _)| *k == name) {
                        group = Some(*g);
                    } else if name.chars().all(|c| c.is_alphanumeric() || c == '_') {
                        return exc(ErrorKind::Index, format!("unknown group name '{name}'"));
                    } else {
                        return re_err(format!("bad character in group name '{name}'"));
                    }
                }
                '0' => {
                    let mut v = 0u32;
                    let mut k = 0;
                    while k < 2 && chars.get(i).is_some_and(|c| ('0'..='7').contains(c)) {
                        v = v * 8 + chars[i].to_digit(8).unwrap_or(0);
                        i += 1;
                        k += 1;
                    }
                    lit.push(char::from_u32(v).unwrap_or('\0'));
                }
                '1'..='9' => {
                    let mut digits = String::from(n);
                    if chars.get(i).is_some_and(char::is_ascii_digit) {
                        digits.push(chars[i]);
                        i += 1;
                        // Three octal digits are a character, not a group.
                        if chars.get(i).is_some_and(|c| ('0'..='7').contains(c))
                            && digits.chars().all(|c| c < '8')
                        {
                            digits.push(chars[i]);
                            i += 1;
                            let v = u32::from_str_radix(&digits, 8).unwrap_or(0);
                            if v > 0o377 {
                                return re_err("octal escape value outside of range 0-0o377");
                            }
                            lit.push(char::from_u32(v).unwrap_or('\0'));
                            continue;
                        }
                    }
                    group = Some(group_ref(digits.parse().unwrap_or(usize::MAX))?);
                }
                'n' => lit.push('\n'),
                't' => lit.push('\t'),
                'r' => lit.push('\r'),
                'f' => lit.push('\x0c'),
                'v' => lit.push('\x0b'),
                'a' => lit.push('\x07'),
                'b' => lit.push('\x08'),
                '\\' => lit.push('\\'),
                c if c.is_ascii_alphabetic() => return re_err(format!("bad escape \\{c}")),
                c => {
                    lit.push('\\');
                    lit.push(c);
                }
            }
            if let Some(g) = group {
                if !lit.is_empty() {
                    pieces.push(Piece::Lit(std::mem::take(&mut lit)));
                }
                pieces.push(Piece::Group(g));
            }
        }
        if !lit.is_empty() {
            pieces.push(Piece::Lit(lit));
        }
        Ok(pieces)
    }
}

pub(crate) enum Piece {
    Lit(String),
    Group(usize),
}

impl Pattern {
    /// The pattern as written in Python.
    pub fn pattern(&self) -> &str {
        &self.source
    }

    /// Python's `Pattern.flags` (including `re.UNICODE`).
    pub fn flags(&self) -> i64 {
        self.flags
    }
}

impl Match {
    /// The text of group `g` (0 = the whole match), if it took part.
    pub fn group(&self, g: usize) -> Option<&str> {
        self.group_str(g)
    }

    /// The number of capture groups of the pattern.
    pub fn groups_len(&self) -> usize {
        self.group_count()
    }

    /// Character offsets of group `g`, as Python's `Match.span(g)`.
    pub fn char_span(&self, g: usize) -> Option<(usize, usize)> {
        let (s, e) = (*self.spans.get(g)?)?;
        Some((
            self.string[..s].chars().count(),
            self.string[..e].chars().count(),
        ))
    }

    fn char_index(&self, byte: usize) -> i64 {
        i64::try_from(self.string[..byte].chars().count()).unwrap_or(i64::MAX)
    }

    pub(crate) fn group_count(&self) -> usize {
        self.spans.len() - 1
    }

    pub(crate) fn group_str(&self, g: usize) -> Option<&str> {
        let (s, e) = (*self.spans.get(g)?)?;
        self.string.get(s..e)
    }

    pub(crate) fn group_value(&self, g: usize) -> Value {
        self.group_value_or(g, Value::None)
    }

    pub(crate) fn group_value_or(&self, g: usize, default: Value) -> Value {
        self.group_str(g)
            .map_or(default, |s| Value::Str(s.to_string()))
    }

    /// Resolves a group given as an int or a name.
    pub(crate) fn group_index(&self, v: &Value) -> R<usize> {
        match v {
            Value::Int(_) | Value::Bool(_) => {
                let n = v.as_int().unwrap_or(-1);
                usize::try_from(n)
                    .ok()
                    .filter(|n| *n < self.spans.len())
                    .map_or_else(|| exc(ErrorKind::Index, "no such group"), Ok)
            }
            Value::Str(name) => self
                .names
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, g)| *g)
                .map_or_else(|| exc(ErrorKind::Index, "no such group"), Ok),
            _ => exc(ErrorKind::Index, "no such group"),
        }
    }

    /// Character span of a group, (-1, -1) when it did not take part.
    pub(crate) fn span(&self, g: usize) -> (i64, i64) {
        match self.spans.get(g).copied().flatten() {
            Some((s, e)) => (self.char_index(s), self.char_index(e)),
            None => (-1, -1),
        }
    }

    pub(crate) fn expand(&self, pieces: &[Piece]) -> String {
        let mut out = String::new();
        for p in pieces {
            match p {
                Piece::Lit(s) => out.push_str(s),
                Piece::Group(g) => out.push_str(self.group_str(*g).unwrap_or("")),
            }
        }
        out
    }

    pub(crate) fn lastindex(&self) -> Option<usize> {
        // The group that closed last is the one ending furthest right,
        // and among equals the outermost (lowest number).
        let mut best: Option<(usize, usize)> = None;
        for g in 1..self.spans.len() {
            if let Some((_, e)) = self.spans[g]
                && best.is_none_or(|(_, be)| e > be)
            {
                best = Some((g, e));
            }
        }
        best.map(|(g, _)| g)
    }

    pub(crate) fn repr(&self) -> String {
        let (s, e) = self.span(0);
        format!(
            "<re.Match object; span=({s}, {e}), match={}>",
            str_repr(self.group_str(0).unwrap_or(""))
        )
    }
}
