//! `-d imap`: a readable trace of the IMAP conversation, built from the
//! bytes as they cross the connection (above TLS), so that nothing the
//! client or server says is missed, the login exchange included.
//!
//! Each line sent is shown as `C: <line>`, each response received as
//! `S: <response>`. Literal data is never shown, only its size
//! (`{4321 bytes}`): message bodies stay out of the log, and so does a
//! password sent as a literal. The LOGIN password and every SASL response
//! of an AUTHENTICATE exchange are replaced by `<password hidden>` and
//! `<credentials hidden>`; this module is the only place that knows how.
//!
//! A [`Tracer`] exists only while tracing is on, so a connection without
//! one pays a single `Option` check per read or write.

/// Where finished trace lines go (one call per line, without newline).
pub type TraceSink = Box<dyn Fn(&str) + Send + Sync>;

/// Lines longer than this are cut when shown (a long UID set, a big
/// SEARCH answer); the tracer still reads them whole.
const MAX_SHOWN: usize = 2000;

const PASSWORD_HIDDEN: &str = "<password hidden>";
const CREDENTIALS_HIDDEN: &str = "<credentials hidden>";

/// The state of one connection's trace.
pub struct Tracer {
    sink: TraceSink,
    sent: Assembler,
    received: Assembler,
    /// What the command being sent needs hidden.
    command: Secret,
    /// The tag of an AUTHENTICATE in progress: until the server's tagged
    /// answer every line the client sends is a SASL response.
    auth_tag: Option<Vec<u8>>,
}

/// What of the client's current command must be hidden.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Secret {
    /// An ordinary command: everything is shown.
    None,
    /// LOGIN whose user name is a literal still to come: the next segment
    /// starts with it, the rest is the password.
    LoginUserLiteral,
    /// LOGIN past the user name: everything else is the password.
    LoginPassword,
}

/// Collects one direction's bytes into lines, skipping literal data.
struct Assembler {
    /// Join a line that announces a literal with the literal's
    /// placeholder and what follows it (server responses arrive whole);
    /// otherwise every CRLF ends a segment (the client waits for the
    /// server's go-ahead between a literal's announcement and its data).
    join: bool,
    /// The current line so far, CR LF left out, literals summarised.
    line: Vec<u8>,
    /// Bytes of literal data still to skip.
    literal_left: u64,
    /// The size of that literal, for its `{N bytes}` placeholder.
    literal_len: u64,
    /// The segment being assembled continues a command after a literal.
    continued: bool,
}

/// A finished line (or, client side, part of a command between literals).
struct Segment {
    text: Vec<u8>,
    /// A literal of this many bytes follows.
    literal: Option<u64>,
    /// This segment follows a literal of the same command.
    continued: bool,
}

impl Assembler {
    fn new(join: bool) -> Assembler {
        Assembler {
            join,
            line: Vec::new(),
            literal_left: 0,
            literal_len: 0,
            continued: false,
        }
    }

    /// Feeds bytes; `done` gets every finished segment.
    fn feed(&mut self, mut bytes: &[u8], done: &mut dyn FnMut(Segment)) {
        while !bytes.is_empty() {
            if self.literal_left > 0 {
                let take = usize::try_from(self.literal_left)
                    .unwrap_or(usize::MAX)
                    .min(bytes.len());
                bytes = &bytes[take..];
                self.literal_left -= take as u64;
                if self.literal_left == 0 {
                    self.placeholder();
                }
                continue;
            }
            let Some(i) = memchr::memchr(b'\n', bytes) else {
                self.line.extend_from_slice(bytes);
                return;
            };
            self.line.extend_from_slice(&bytes[..i]);
            bytes = &bytes[i + 1..];
            if self.line.last() == Some(&b'\r') {
                self.line.pop();
            }
            let literal = literal_at_end(&self.line);
            if let Some((n, marker)) = literal {
                self.literal_left = n;
                self.literal_len = n;
                if self.join {
                    self.line.truncate(self.line.len() - marker);
                    if n == 0 {
                        self.placeholder();
                    }
                    continue;
                }
            }
            let continued = std::mem::replace(&mut self.continued, literal.is_some());
            done(Segment {
                text: std::mem::take(&mut self.line),
                literal: literal.map(|(n, _)| n),
                continued,
            });
            if literal.is_some_and(|(n, _)| n == 0) {
                self.placeholder();
            }
        }
    }

    fn placeholder(&mut self) {
        self.line
            .extend_from_slice(format!("{{{} bytes}}", self.literal_len).as_bytes());
    }
}

impl Tracer {
    pub fn new(sink: TraceSink) -> Tracer {
        Tracer {
            sink,
            sent: Assembler::new(false),
            received: Assembler::new(true),
            command: Secret::None,
            auth_tag: None,
        }
    }

    /// A remark about the connection itself (not on the wire).
    pub fn note(&self, text: &str) {
        (self.sink)(&format!("-- {text}"));
    }

    /// Bytes the client wrote.
    pub fn sent(&mut self, bytes: &[u8]) {
        let mut segments = Vec::new();
        self.sent.feed(bytes, &mut |s| segments.push(s));
        for seg in segments {
            if let Some(text) = self.show_sent(&seg) {
                (self.sink)(&format!("C: {text}"));
            }
        }
    }

    /// Bytes the server sent. A response with literals is shown as one
    /// line once complete, each literal replaced by `{N bytes}`.
    pub fn received(&mut self, bytes: &[u8]) {
        let mut lines = Vec::new();
        self.received.feed(bytes, &mut |s| lines.push(s));
        for seg in lines {
            if let Some(tag) = &self.auth_tag
                && tagged_by(&seg.text, tag)
            {
                self.auth_tag = None;
            }
            (self.sink)(&format!("S: {}", shown(&seg.text)));
        }
    }

    /// What to show for one segment the client sent; `None` to show
    /// nothing.
    fn show_sent(&mut self, seg: &Segment) -> Option<String> {
        if seg.continued {
            return self.show_continuation(seg);
        }
        if self.auth_tag.is_some() {
            return Some(CREDENTIALS_HIDDEN.to_owned());
        }
        self.command = Secret::None;
        let text = &seg.text;
        let (tag, rest) = split_word(text);
        let (verb, args) = split_word(rest);
        if verb.eq_ignore_ascii_case(b"LOGIN") {
            let user = match first_argument(args) {
                Some((Argument::Inline(u), after)) => {
                    self.command = Secret::LoginPassword;
                    if after.is_empty() && seg.literal.is_none() {
                        shown(u)
                    } else {
                        format!("{} {PASSWORD_HIDDEN}", shown(u))
                    }
                }
                Some((Argument::Literal(marker), [])) => {
                    self.command = Secret::LoginUserLiteral;
                    shown(marker)
                }
                _ => {
                    self.command = Secret::LoginPassword;
                    CREDENTIALS_HIDDEN.to_owned()
                }
            };
            return Some(format!("{} {} {user}", shown(tag), shown(verb)));
        }
        if verb.eq_ignore_ascii_case(b"AUTHENTICATE") {
            self.auth_tag = Some(tag.to_vec());
            let (mechanism, initial) = split_word(args);
            let mut line = format!("{} {} {}", shown(tag), shown(verb), shown(mechanism));
            if !initial.is_empty() || seg.literal.is_some() {
                line.push(' ');
                line.push_str(CREDENTIALS_HIDDEN);
            }
            return Some(line);
        }
        Some(shown(text))
    }

    /// A segment after a literal of the same command.
    fn show_continuation(&mut self, seg: &Segment) -> Option<String> {
        match self.command {
            Secret::None => (!seg.text.is_empty()).then(|| shown(&seg.text)),
            Secret::LoginUserLiteral => {
                self.command = Secret::LoginPassword;
                // The segment opens with the user literal's placeholder.
                let end = memchr::memchr(b'}', &seg.text).map_or(0, |i| i + 1);
                let (user, rest) = seg.text.split_at(end);
                if rest.iter().all(|b| *b == b' ') && seg.literal.is_none() {
                    Some(shown(user))
                } else {
                    Some(format!("{} {PASSWORD_HIDDEN}", shown(user)))
                }
            }
            Secret::LoginPassword => Some(PASSWORD_HIDDEN.to_owned()),
        }
    }
}

/// If `line` ends with a literal announcement `{N}` or `{N+}`: N and the
/// announcement's length.
fn literal_at_end(line: &[u8]) -> Option<(u64, usize)> {
    let body = line.strip_suffix(b"}")?;
    let open = memchr::memrchr(b'{', body)?;
    let inner = &body[open + 1..];
    let digits = inner.strip_suffix(b"+").unwrap_or(inner);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some((n, line.len() - open))
}

/// The first space-separated word and the rest after that space.
fn split_word(text: &[u8]) -> (&[u8], &[u8]) {
    match memchr::memchr(b' ', text) {
        Some(i) => (&text[..i], &text[i + 1..]),
        None => (text, &[]),
    }
}

enum Argument<'a> {
    /// An atom or a quoted string, complete on this line.
    Inline(&'a [u8]),
    /// A literal's announcement, `{N}`.
    Literal(&'a [u8]),
}

/// The first IMAP argument of `args` and what follows it (leading space
/// removed); `None` if it cannot be told apart (an unterminated string).
fn first_argument(args: &[u8]) -> Option<(Argument<'_>, &[u8])> {
    let rest_after = |end: usize| {
        let rest = &args[end..];
        rest.strip_prefix(b" ").unwrap_or(rest)
    };
    match args.first()? {
        b'"' => {
            let mut escaped = false;
            for (i, &b) in args.iter().enumerate().skip(1) {
                match b {
                    _ if escaped => escaped = false,
                    b'\\' => escaped = true,
                    b'"' => return Some((Argument::Inline(&args[..=i]), rest_after(i + 1))),
                    _ => {}
                }
            }
            None
        }
        b'{' => {
            let close = memchr::memchr(b'}', args)?;
            Some((Argument::Literal(&args[..=close]), rest_after(close + 1)))
        }
        _ => {
            let (word, rest) = split_word(args);
            Some((Argument::Inline(word), rest))
        }
    }
}

/// Whether `line` is the tagged answer for `tag`.
fn tagged_by(line: &[u8], tag: &[u8]) -> bool {
    line.strip_prefix(tag)
        .is_some_and(|rest| rest.first() == Some(&b' '))
}

/// Bytes as text for the trace, cut at [`MAX_SHOWN`].
fn shown(bytes: &[u8]) -> String {
    if bytes.len() <= MAX_SHOWN {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    format!(
        "{}... (+{} bytes)",
        String::from_utf8_lossy(&bytes[..MAX_SHOWN]),
        bytes.len() - MAX_SHOWN
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
