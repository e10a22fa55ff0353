//! Runtime values and Python's rules for them: `repr()`, `str()`,
//! truthiness, `==`, ordering and hashability.

use super::parser::LambdaDef;
use super::pyregex::{Match, Pattern};
use super::{Env, ErrorKind, R, exc};
use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

/// A Python value. Lists and dicts are plain values (the evaluator has no
/// mutating methods), sets and dicts keep insertion order.
#[derive(Debug, Clone)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Value>),
    Tuple(Vec<Value>),
    Set(Vec<Value>),
    Dict(Vec<(Value, Value)>),
    Function(Function),
    Pattern(Arc<Pattern>),
    Match(Arc<Match>),
    Module(Module),
}

/// The modules an expression can reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Module {
    Re,
    Os,
    OsPath,
}

/// Something callable: a lambda, a builtin, or a method.
#[derive(Debug, Clone)]
pub struct Function(pub(crate) FuncKind);

#[derive(Debug, Clone)]
pub(crate) enum FuncKind {
    Lambda(Arc<Closure>),
    /// A builtin function or type, by its Python name (`len`, `re.sub`).
    Builtin(&'static str),
    /// A method bound to its receiver (`'x'.join`).
    Method(Box<Value>, &'static str),
    /// A method taken from its type (`str.lower`).
    Unbound(&'static str, &'static str),
}

#[derive(Debug)]
pub(crate) struct Closure {
    pub def: Arc<LambdaDef>,
    pub defaults: Vec<Option<Value>>,
    /// Local variables of the enclosing lambdas and comprehensions,
    /// captured by value when the lambda is created.
    pub captured: Vec<(String, Value)>,
    pub globals: Arc<Env>,
    pub src: Arc<str>,
}

/// Builtin names that are types (for `isinstance` and `type()`).
pub(crate) const TYPES: &[&str] = &[
    "str",
    "int",
    "float",
    "bool",
    "list",
    "tuple",
    "set",
    "dict",
    "frozenset",
    "type",
];

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Str(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Str(s)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Int(i)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl Value {
    pub(crate) fn builtin(name: &'static str) -> Value {
        Value::Function(Function(FuncKind::Builtin(name)))
    }

    /// The string, when this is a `str`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, when this is an `int` or `bool`.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Bool(b) => Some(i64::from(*b)),
            _ => None,
        }
    }

    pub fn is_callable(&self) -> bool {
        matches!(self, Value::Function(_))
    }

    /// Python's `type(x).__name__`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::None => "NoneType",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::List(_) => "list",
            Value::Tuple(_) => "tuple",
            Value::Set(_) => "set",
            Value::Dict(_) => "dict",
            Value::Function(Function(FuncKind::Lambda(_))) => "function",
            Value::Function(Function(FuncKind::Builtin(n))) if TYPES.contains(n) => "type",
            Value::Function(Function(FuncKind::Method(..))) => "builtin_function_or_method",
            Value::Function(_) => "builtin_function_or_method",
            Value::Pattern(_) => "re.Pattern",
            Value::Match(_) => "re.Match",
            Value::Module(_) => "module",
        }
    }

    /// Python truthiness.
    pub fn truthy(&self) -> bool {
        match self {
            Value::None => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::List(v) | Value::Tuple(v) | Value::Set(v) => !v.is_empty(),
            Value::Dict(d) => !d.is_empty(),
            _ => true,
        }
    }

    /// Python's `repr()`. Sets print in insertion order (Python's order
    /// depends on hashes).
    pub fn repr(&self) -> String {
        let mut s = String::new();
        self.write_repr(&mut s);
        s
    }

    fn write_repr(&self, out: &mut String) {
        let seq = |out: &mut String, v: &[Value], open: &str, close: &str| {
            out.push_str(open);
            for (i, x) in v.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                x.write_repr(out);
            }
            out.push_str(close);
        };
        match self {
            Value::None => out.push_str("None"),
            Value::Bool(true) => out.push_str("True"),
            Value::Bool(false) => out.push_str("False"),
            Value::Int(i) => out.push_str(&i.to_string()),
            Value::Float(f) => out.push_str(&float_repr(*f)),
            Value::Str(s) => out.push_str(&str_repr(s)),
            Value::List(v) => seq(out, v, "[", "]"),
            Value::Tuple(v) if v.len() == 1 => seq(out, v, "(", ",)"),
            Value::Tuple(v) => seq(out, v, "(", ")"),
            Value::Set(v) if v.is_empty() => out.push_str("set()"),
            Value::Set(v) => seq(out, v, "{", "}"),
            Value::Dict(d) => {
                out.push('{');
                for (i, (k, v)) in d.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    k.write_repr(out);
                    out.push_str(": ");
                    v.write_repr(out);
                }
                out.push('}');
            }
            Value::Function(Function(f)) => match f {
                FuncKind::Lambda(_) => out.push_str("<function <lambda>>"),
                FuncKind::Builtin(n) if TYPES.contains(n) => {
                    out.push_str(&format!("<class '{n}'>"));
                }
                FuncKind::Builtin(n) => out.push_str(&format!("<built-in function {n}>")),
                FuncKind::Method(recv, n) => out.push_str(&format!(
                    "<built-in method {n} of {} object>",
                    recv.type_name()
                )),
                FuncKind::Unbound(t, n) => {
                    out.push_str(&format!("<method '{n}' of '{t}' objects>"))
                }
            },
            Value::Pattern(p) => out.push_str(&p.repr()),
            Value::Match(m) => out.push_str(&m.repr()),
            Value::Module(m) => out.push_str(match m {
                Module::Re => "<module 're'>",
                Module::Os => "<module 'os'>",
                Module::OsPath => "<module 'posixpath'>",
            }),
        }
    }

    /// Whether Python could put this value in a set or use it as a dict key.
    pub(crate) fn check_hashable(&self) -> R<()> {
        match self {
            Value::List(_) | Value::Set(_) | Value::Dict(_) => exc(
                ErrorKind::Type,
                format!("unhashable type: '{}'", self.type_name()),
            ),
            Value::Tuple(v) => v.iter().try_for_each(Value::check_hashable),
            _ => Ok(()),
        }
    }

    fn num(&self) -> Option<f64> {
        match self {
            Value::Bool(b) => Some(f64::from(u8::from(*b))),
            #[allow(clippy::cast_precision_loss)]
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// Python's `==`.
    pub fn py_eq(&self, other: &Value) -> bool {
        use Value::*;
        match (self, other) {
            (None, None) => true,
            (Int(_) | Bool(_), Int(_) | Bool(_)) => self.as_int() == other.as_int(),
            (Int(_) | Bool(_) | Float(_), Int(_) | Bool(_) | Float(_)) => self.num() == other.num(),
            (Str(a), Str(b)) => a == b,
            (List(a), List(b)) | (Tuple(a), Tuple(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.py_eq(y))
            }
            (Set(a), Set(b)) => {
                a.len() == b.len() && a.iter().all(|x| b.iter().any(|y| x.py_eq(y)))
            }
            (Dict(a), Dict(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .all(|(k, v)| b.iter().any(|(k2, v2)| k.py_eq(k2) && v.py_eq(v2)))
            }
            (Module(a), Module(b)) => a == b,
            (Function(a), Function(b)) => a.same(b),
            (Pattern(a), Pattern(b)) => Arc::ptr_eq(a, b) || a.same(b),
            (Match(a), Match(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }

    /// Python's ordering of two values: `Err` when the types cannot be
    /// ordered, `Ok(None)` when they are unordered (NaN).
    pub(crate) fn py_cmp(&self, other: &Value) -> Result<Option<Ordering>, ()> {
        use Value::*;
        match (self, other) {
            (Int(_) | Bool(_), Int(_) | Bool(_)) => Ok(self.as_int().cmp(&other.as_int()).into()),
            (Int(_) | Bool(_) | Float(_), Int(_) | Bool(_) | Float(_)) => {
                match (self.num(), other.num()) {
                    (Some(a), Some(b)) => Ok(a.partial_cmp(&b)),
                    _ => Ok(Option::None),
                }
            }
            (Str(a), Str(b)) => Ok(Some(a.cmp(b))),
            (List(a), List(b)) | (Tuple(a), Tuple(b)) => {
                for (x, y) in a.iter().zip(b) {
                    if !x.py_eq(y) {
                        return x.py_cmp(y);
                    }
                }
                Ok(Some(a.len().cmp(&b.len())))
            }
            _ => Err(()),
        }
    }
}

impl Function {
    fn same(&self, other: &Function) -> bool {
        match (&self.0, &other.0) {
            (FuncKind::Lambda(a), FuncKind::Lambda(b)) => Arc::ptr_eq(a, b),
            (FuncKind::Builtin(a), FuncKind::Builtin(b)) => a == b,
            (FuncKind::Unbound(a, x), FuncKind::Unbound(b, y)) => a == b && x == y,
            _ => false,
        }
    }
}

/// Python's `str()`.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(s) => f.write_str(s),
            other => f.write_str(&other.repr()),
        }
    }
}

/// Whether Python's `str.isprintable()` holds for `c` (approximated for
/// the categories that matter: controls, format characters, separators).
fn printable(c: char) -> bool {
    let u = c as u32;
    !(u < 0x20
        || (0x7f..=0xa0).contains(&u)
        || u == 0xad
        || (0x200b..=0x200f).contains(&u)
        || (0x2028..=0x202e).contains(&u)
        || (0x2060..=0x206f).contains(&u)
        || u == 0xfeff
        || (0xd800..=0xdfff).contains(&u)
        || (0xe000..=0xf8ff).contains(&u)
        || (0xfff9..=0xfffb).contains(&u)
        || u == 0x1680
        || (0x2000..=0x200a).contains(&u)
        || u == 0x202f
        || u == 0x205f
        || u == 0x3000
        || u >= 0xf0000)
}

pub(crate) fn str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if !printable(c) => {
                let u = c as u32;
                if u <= 0xff {
                    out.push_str(&format!("\\x{u:02x}"));
                } else if u <= 0xffff {
                    out.push_str(&format!("\\u{u:04x}"));
                } else {
                    out.push_str(&format!("\\U{u:08x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Python's `repr()` of a float: the shortest round-tripping digits, in
/// positional form for exponents -4..16 and scientific form otherwise.
pub(crate) fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..16).contains(&exp) {
        let s = format!("{f}");
        if s.contains('.') { s } else { format!("{s}.0") }
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    }
}
