//! Tokenizer for Python expressions: names, numbers, string literals (all
//! quote styles, raw strings, escapes) and operators, with byte spans so
//! errors can point at the offending column.

use super::{ErrorKind, Span, SyntaxErr};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Name(String),
    Int(i64),
    Float(f64),
    Str(String),
    Op(&'static str),
    /// A line break outside brackets: the expression must end there.
    Newline,
    End,
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub tok: Tok,
    pub span: Span,
}

const OPS: &[&str] = &[
    "**=", "//=", ">>=", "<<=", "...", "!=", "==", "<=", ">=", "//", "**", "<<", ">>", "->", ":=",
    "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "@=", "(", ")", "[", "]", "{", "}", ",", ":",
    ".", ";", "@", "=", "+", "-", "*", "/", "%", "~", "<", ">", "&", "|", "^",
];

fn err(kind: ErrorKind, msg: impl Into<String>, start: usize, end: usize) -> SyntaxErr {
    SyntaxErr {
        kind,
        msg: msg.into(),
        span: Span { start, end },
    }
}

pub(crate) fn tokenize(src: &str) -> Result<Vec<Token>, SyntaxErr> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut depth = 0usize;
    while i < b.len() {
        let c = b[i];
        if out.is_empty() && !matches!(c, b' ' | b'\t' | b'\x0c' | b'#' | b'\r' | b'\n') {
            // Python's eval accepts indentation on the first line only.
            let line = src[..i].rfind('\n').map(|k| k + 1);
            if let Some(ls) = line
                && ls < i
            {
                return Err(err(ErrorKind::Syntax, "unexpected indent", ls, i));
            }
        }
        match c {
            b' ' | b'\t' | b'\x0c' => i += 1,
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'\r' | b'\n' => {
                if c == b'\r' && b.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                if depth == 0
                    && !out.is_empty()
                    && !matches!(
                        out.last(),
                        Some(Token {
                            tok: Tok::Newline,
                            ..
                        })
                    )
                {
                    out.push(Token {
                        tok: Tok::Newline,
                        span: Span {
                            start: i,
                            end: i + 1,
                        },
                    });
                }
                i += 1;
            }
            b'\\' => {
                let mut j = i + 1;
                if b.get(j) == Some(&b'\r') {
                    j += 1;
                }
                if b.get(j) == Some(&b'\n') {
                    i = j + 1;
                } else {
                    return Err(err(
                        ErrorKind::Syntax,
                        "unexpected character after line continuation character",
                        i,
                        i + 1,
                    ));
                }
            }
            b'0'..=b'9' => {
                let (tok, end) = number(src, i)?;
                out.push(Token {
                    tok,
                    span: Span { start: i, end },
                });
                i = end;
            }
            b'.' if b.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                let (tok, end) = number(src, i)?;
                out.push(Token {
                    tok,
                    span: Span { start: i, end },
                });
                i = end;
            }
            b'\'' | b'"' => {
                let (s, end) = string(src, i, i, false)?;
                out.push(Token {
                    tok: Tok::Str(s),
                    span: Span { start: i, end },
                });
                i = end;
            }
            _ if c == b'_' || c.is_ascii_alphabetic() || c >= 0x80 => {
                let start = i;
                let rest = &src[i..];
                let len: usize = rest
                    .char_indices()
                    .find(|(_, ch)| !(ch.is_alphanumeric() || *ch == '_'))
                    .map_or(rest.len(), |(k, _)| k);
                if len == 0 {
                    let ch = rest.chars().next().unwrap_or('?');
                    return Err(err(
                        ErrorKind::Syntax,
                        format!("invalid character '{ch}'"),
                        i,
                        i + ch.len_utf8(),
                    ));
                }
                let word = &src[start..start + len];
                i += len;
                if i < b.len() && (b[i] == b'\'' || b[i] == b'"') && len <= 2 {
                    let lower = word.to_ascii_lowercase();
                    match lower.as_str() {
                        "r" | "u" => {
                            let (s, end) = string(src, start, i, lower == "r")?;
                            out.push(Token {
                                tok: Tok::Str(s),
                                span: Span { start, end },
                            });
                            i = end;
                            continue;
                        }
                        "b" | "rb" | "br" => {
                            return Err(err(
                                ErrorKind::NotSupported,
                                "bytes literals are not supported",
                                start,
                                i,
                            ));
                        }
                        "f" | "rf" | "fr" => {
                            return Err(err(
                                ErrorKind::NotSupported,
                                "f-strings are not supported",
                                start,
                                i,
                            ));
                        }
                        _ => {}
                    }
                }
                out.push(Token {
                    tok: Tok::Name(word.to_string()),
                    span: Span { start, end: i },
                });
            }
            _ => {
                let rest = &src[i..];
                let Some(op) = OPS.iter().find(|op| rest.starts_with(**op)) else {
                    let ch = rest.chars().next().unwrap_or('?');
                    return Err(err(
                        ErrorKind::Syntax,
                        format!("invalid character '{ch}'"),
                        i,
                        i + ch.len_utf8(),
                    ));
                };
                match *op {
                    "(" | "[" | "{" => depth += 1,
                    ")" | "]" | "}" => {
                        if depth == 0 {
                            return Err(err(
                                ErrorKind::Syntax,
                                format!("unmatched '{op}'"),
                                i,
                                i + 1,
                            ));
                        }
                        depth -= 1;
                    }
                    _ => {}
                }
                out.push(Token {
                    tok: Tok::Op(op),
                    span: Span {
                        start: i,
                        end: i + op.len(),
                    },
                });
                i += op.len();
            }
        }
    }
    if depth > 0 {
        return Err(err(
            ErrorKind::Syntax,
            "unexpected EOF: a bracket was never closed",
            src.len(),
            src.len(),
        ));
    }
    out.push(Token {
        tok: Tok::End,
        span: Span {
            start: src.len(),
            end: src.len(),
        },
    });
    Ok(out)
}

fn number(src: &str, start: usize) -> Result<(Tok, usize), SyntaxErr> {
    let b = src.as_bytes();
    let mut i = start;
    let radix = if b[i] == b'0' {
        match b.get(i + 1).map(u8::to_ascii_lowercase) {
            Some(b'x') => 16,
            Some(b'o') => 8,
            Some(b'b') => 2,
            _ => 10,
        }
    } else {
        10
    };
    let bad = |e: usize| err(ErrorKind::Syntax, "invalid number literal", start, e);
    if radix != 10 {
        i += 2;
        let s = i;
        while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
            i += 1;
        }
        let digits: String = src[s..i].chars().filter(|c| *c != '_').collect();
        return match i64::from_str_radix(&digits, radix) {
            Ok(v) => Ok((Tok::Int(v), i)),
            Err(_) if digits.chars().all(|c| c.is_digit(radix)) && !digits.is_empty() => Err(err(
                ErrorKind::NotSupported,
                "integer literal too large",
                start,
                i,
            )),
            Err(_) => Err(bad(i)),
        };
    }
    let mut is_float = false;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    if i < b.len() && b[i] == b'.' {
        is_float = true;
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            is_float = true;
            i = j;
            while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
                i += 1;
            }
        }
    }
    if i < b.len() && (b[i] == b'j' || b[i] == b'J') {
        return Err(err(
            ErrorKind::NotSupported,
            "complex numbers are not supported",
            start,
            i + 1,
        ));
    }
    if i < b.len() && (b[i].is_ascii_alphabetic() || b[i] == b'_') {
        return Err(bad(i + 1));
    }
    let raw = &src[start..i];
    let b2 = raw.as_bytes();
    // An underscore must sit between two digits.
    for (k, c) in b2.iter().enumerate() {
        if *c == b'_'
            && !(k > 0
                && b2[k - 1].is_ascii_digit()
                && b2.get(k + 1).is_some_and(u8::is_ascii_digit))
        {
            return Err(bad(i));
        }
    }
    let text: String = raw.chars().filter(|c| *c != '_').collect();
    if is_float {
        text.parse::<f64>()
            .map(|f| (Tok::Float(f), i))
            .map_err(|_| bad(i))
    } else {
        if text.len() > 1 && text.starts_with('0') && text.bytes().any(|c| c != b'0') {
            return Err(err(
                ErrorKind::Syntax,
                "leading zeros in decimal integer literals are not permitted",
                start,
                i,
            ));
        }
        match text.parse::<i64>() {
            Ok(v) => Ok((Tok::Int(v), i)),
            Err(_) => Err(err(
                ErrorKind::NotSupported,
                "integer literal too large",
                start,
                i,
            )),
        }
    }
}

/// Parses a string literal whose quote starts at `q` (`start` includes any
/// prefix). Returns the value and the end offset.
fn string(src: &str, start: usize, q: usize, raw: bool) -> Result<(String, usize), SyntaxErr> {
    let b = src.as_bytes();
    let quote = b[q];
    let triple = b.get(q + 1) == Some(&quote) && b.get(q + 2) == Some(&quote);
    let mut i = if triple { q + 3 } else { q + 1 };
    let mut out = String::new();
    loop {
        let Some(ch) = src[i..].chars().next() else {
            return Err(err(
                ErrorKind::Syntax,
                "unterminated string literal",
                start,
                src.len(),
            ));
        };
        if ch as u32 == u32::from(quote) {
            if !triple {
                return Ok((out, i + 1));
            }
            if b.get(i + 1) == Some(&quote) && b.get(i + 2) == Some(&quote) {
                return Ok((out, i + 3));
            }
            out.push(ch);
            i += 1;
            continue;
        }
        if ch == '\n' && !triple {
            return Err(err(
                ErrorKind::Syntax,
                "unterminated string literal",
                start,
                i,
            ));
        }
        if ch != '\\' {
            out.push(ch);
            i += ch.len_utf8();
            continue;
        }
        let Some(next) = src[i + 1..].chars().next() else {
            return Err(err(
                ErrorKind::Syntax,
                "unterminated string literal",
                start,
                src.len(),
            ));
        };
        if raw {
            // A raw string keeps the backslash; it still cannot end on it.
            out.push('\\');
            out.push(next);
            i += 1 + next.len_utf8();
            continue;
        }
        i += 1 + next.len_utf8();
        match next {
            '\n' => {}
            '\\' => out.push('\\'),
            '\'' => out.push('\''),
            '"' => out.push('"'),
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            'f' => out.push('\x0c'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\x0b'),
            '0'..='7' => {
                let mut v = next as u32 - '0' as u32;
                let mut n = 1;
                while n < 3 && i < b.len() && (b'0'..=b'7').contains(&b[i]) {
                    v = v * 8 + u32::from(b[i] - b'0');
                    i += 1;
                    n += 1;
                }
                out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
            }
            'x' | 'u' | 'U' => {
                let n = match next {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let hex = src.get(i..i + n).unwrap_or("");
                let v = if hex.len() == n && hex.bytes().all(|c| c.is_ascii_hexdigit()) {
                    u32::from_str_radix(hex, 16).ok()
                } else {
                    None
                };
                let Some(c) = v.and_then(char::from_u32) else {
                    return Err(err(
                        ErrorKind::Syntax,
                        format!("(unicode error) truncated or invalid \\{next} escape"),
                        i - 2,
                        i + hex.len(),
                    ));
                };
                out.push(c);
                i += n;
            }
            'N' => {
                return Err(err(
                    ErrorKind::NotSupported,
                    "\\N{...} escapes are not supported",
                    i - 2,
                    i,
                ));
            }
            other => {
                // Python keeps unknown escapes verbatim (with a warning).
                out.push('\\');
                out.push(other);
            }
        }
    }
}
