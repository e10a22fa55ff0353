//! Builtin functions, attributes and methods: `len`, `sorted`, `cmp`, ...;
//! `str`, list, dict and set methods; `%` and `str.format` formatting;
//! the `re` and `os.path` modules.

use super::eval::{Interp, MAX_LEN, dict_set, set_add};
use super::pyregex::{self, Match, Pattern};
use super::value::{FuncKind, Function, Module, TYPES, Value, float_repr};
use super::{ErrorKind, Exc, R, exc};
use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

#[rustfmt::skip]
const FUNCTIONS: &[&str] = &[
    "len", "str", "int", "float", "bool", "list", "tuple", "set", "dict", "frozenset", "type",
    "sorted", "reversed", "min", "max", "sum", "any", "all", "map", "filter", "enumerate", "range",
    "zip", "isinstance", "abs", "cmp", "repr", "ord", "chr", "round", "callable", "divmod", "hex",
    "oct", "bin",
];

/// Python builtins we do not implement: NotSupported, not NameError, so
/// the caller can fall back to a real Python.
#[rustfmt::skip]
const OTHER_BUILTINS: &[&str] = &[
    "open", "print", "input", "eval", "exec", "compile", "getattr", "setattr", "hasattr",
    "delattr", "globals", "locals", "vars", "dir", "id", "hash", "iter", "next", "format",
    "object", "super", "bytes", "bytearray", "complex", "memoryview", "property", "slice",
    "issubclass", "pow", "ascii", "breakpoint", "classmethod", "staticmethod", "help",
    "__import__", "Exception", "ValueError", "TypeError", "KeyError", "IndexError",
    "NotImplemented", "Ellipsis", "exit", "quit", "aiter", "anext",
];

#[rustfmt::skip]
const STR_METHODS: &[&str] = &[
    "startswith", "endswith", "lower", "upper", "replace", "split", "rsplit", "join", "strip",
    "lstrip", "rstrip", "find", "rfind", "index", "rindex", "count", "format", "capitalize",
    "title", "isdigit", "isalpha", "isalnum", "isspace", "islower", "isupper", "isnumeric",
    "isdecimal", "swapcase", "casefold", "zfill", "center", "ljust", "rjust", "partition",
    "rpartition", "splitlines", "removeprefix", "removesuffix",
];
#[rustfmt::skip]
const STR_OTHER: &[&str] = &[
    "encode", "format_map", "istitle", "isprintable", "isascii", "isidentifier", "maketrans",
    "translate", "expandtabs",
];
const LIST_METHODS: &[&str] = &["index", "count", "copy"];
#[rustfmt::skip]
const LIST_OTHER: &[&str] = &[
    "append", "extend", "insert", "remove", "pop", "clear", "sort", "reverse",
];
const TUPLE_METHODS: &[&str] = &["index", "count"];
const DICT_METHODS: &[&str] = &["get", "keys", "values", "items", "copy"];
#[rustfmt::skip]
const DICT_OTHER: &[&str] = &[
    "pop", "popitem", "setdefault", "update", "clear", "fromkeys",
];
#[rustfmt::skip]
const SET_METHODS: &[&str] = &[
    "union", "intersection", "difference", "symmetric_difference", "issubset", "issuperset",
    "isdisjoint", "copy",
];
#[rustfmt::skip]
const SET_OTHER: &[&str] = &[
    "add", "remove", "discard", "pop", "clear", "update", "intersection_update",
    "difference_update", "symmetric_difference_update",
];
#[rustfmt::skip]
const PATTERN_METHODS: &[&str] = &[
    "match", "search", "fullmatch", "sub", "subn", "split", "findall", "finditer",
];
#[rustfmt::skip]
const MATCH_METHODS: &[&str] = &[
    "group", "groups", "groupdict", "start", "end", "span", "expand",
];
#[rustfmt::skip]
const RE_FUNCS: &[&str] = &[
    "re.sub", "re.subn", "re.search", "re.match", "re.fullmatch", "re.split", "re.findall",
    "re.finditer", "re.compile", "re.escape",
];
#[rustfmt::skip]
const OSPATH_FUNCS: &[&str] = &[
    "os.path.join", "os.path.basename", "os.path.dirname", "os.path.splitext", "os.path.split",
    "os.path.normpath", "os.path.isabs",
];

fn type_err<T>(msg: impl Into<String>) -> R<T> {
    exc(ErrorKind::Type, msg)
}

fn not_supported<T>(msg: impl Into<String>) -> R<T> {
    exc(ErrorKind::NotSupported, msg)
}

/// Finds a static name so function values can hold `&'static str`.
fn intern(table: &[&'static str], name: &str) -> Option<&'static str> {
    table.iter().copied().find(|n| *n == name)
}

pub(crate) fn lookup(name: &str) -> R<Value> {
    if let Some(n) = intern(FUNCTIONS, name) {
        return Ok(Value::builtin(n));
    }
    if OTHER_BUILTINS.contains(&name) {
        return not_supported(format!("the builtin '{name}' is not supported"));
    }
    exc(ErrorKind::Name, format!("name '{name}' is not defined"))
}

fn methods_of(v: &Value) -> (&'static [&'static str], &'static [&'static str]) {
    match v {
        Value::Str(_) => (STR_METHODS, STR_OTHER),
        Value::List(_) => (LIST_METHODS, LIST_OTHER),
        Value::Tuple(_) => (TUPLE_METHODS, &[]),
        Value::Dict(_) => (DICT_METHODS, DICT_OTHER),
        Value::Set(_) => (SET_METHODS, SET_OTHER),
        Value::Pattern(_) => (PATTERN_METHODS, &[]),
        Value::Match(_) => (MATCH_METHODS, &[]),
        _ => (&[], &[]),
    }
}

fn type_methods(ty: &str) -> (&'static [&'static str], &'static [&'static str]) {
    match ty {
        "str" => (STR_METHODS, STR_OTHER),
        "list" => (LIST_METHODS, LIST_OTHER),
        "tuple" => (TUPLE_METHODS, &[]),
        "dict" => (DICT_METHODS, DICT_OTHER),
        "set" => (SET_METHODS, SET_OTHER),
        _ => (&[], &[]),
    }
}

fn no_attr<T>(obj: &Value, name: &str) -> R<T> {
    let what = match obj {
        Value::Module(Module::Re) => "module 're'".to_string(),
        Value::Module(Module::Os) => "module 'os'".to_string(),
        Value::Module(Module::OsPath) => "module 'posixpath'".to_string(),
        Value::Function(Function(FuncKind::Builtin(t))) if TYPES.contains(t) => {
            format!("type object '{t}'")
        }
        other => format!("'{}' object", other.type_name()),
    };
    exc(
        ErrorKind::Attribute,
        format!("{what} has no attribute '{name}'"),
    )
}

pub(crate) fn attribute(obj: Value, name: &str) -> R<Value> {
    match &obj {
        Value::Module(Module::Re) => {
            let flag = match name {
                "I" | "IGNORECASE" => Some(pyregex::IGNORECASE),
                "M" | "MULTILINE" => Some(pyregex::MULTILINE),
                "S" | "DOTALL" => Some(pyregex::DOTALL),
                "X" | "VERBOSE" => Some(pyregex::VERBOSE),
                "U" | "UNICODE" => Some(pyregex::UNICODE),
                "A" | "ASCII" => Some(pyregex::ASCII),
                "L" | "LOCALE" => Some(pyregex::LOCALE),
                _ => None,
            };
            if let Some(f) = flag {
                return Ok(Value::Int(f));
            }
            let full = format!("re.{name}");
            if let Some(n) = intern(RE_FUNCS, &full) {
                return Ok(Value::builtin(n));
            }
            if [
                "purge", "template", "error", "Pattern", "Match", "NOFLAG", "T", "TEMPLATE",
                "DEBUG",
            ]
            .contains(&name)
            {
                return not_supported(format!("re.{name} is not supported"));
            }
            no_attr(&obj, name)
        }
        Value::Module(Module::Os) => match name {
            "path" => Ok(Value::Module(Module::OsPath)),
            "sep" => Ok(Value::from("/")),
            _ => not_supported(format!("os.{name} is not supported")),
        },
        Value::Module(Module::OsPath) => {
            if name == "sep" {
                return Ok(Value::from("/"));
            }
            let full = format!("os.path.{name}");
            match intern(OSPATH_FUNCS, &full) {
                Some(n) => Ok(Value::builtin(n)),
                None => not_supported(format!("os.path.{name} is not supported")),
            }
        }
        Value::Function(Function(FuncKind::Builtin(ty))) if TYPES.contains(ty) => {
            let (ok, other) = type_methods(ty);
            if let Some(m) = intern(ok, name) {
                return Ok(Value::Function(Function(FuncKind::Unbound(ty, m))));
            }
            if other.contains(&name) {
                return not_supported(format!("{ty}.{name} is not supported"));
            }
            if name.starts_with("__") || ty == &"str" && name == "maketrans" {
                return not_supported(format!("{ty}.{name} is not supported"));
            }
            no_attr(&obj, name)
        }
        Value::Pattern(p) => match name {
            "pattern" => Ok(Value::Str(p.source.clone())),
            "flags" => Ok(Value::Int(p.flags)),
            "groups" => Ok(Value::Int(i64::try_from(p.groups).unwrap_or(0))),
            "groupindex" => Ok(Value::Dict(
                p.names
                    .iter()
                    .map(|(n, g)| {
                        (
                            Value::Str(n.clone()),
                            Value::Int(i64::try_from(*g).unwrap_or(0)),
                        )
                    })
                    .collect(),
            )),
            _ => method(obj.clone(), name),
        },
        Value::Match(m) => match name {
            "string" => Ok(Value::Str(m.string.clone())),
            "re" => Ok(Value::Pattern(m.pattern.clone())),
            "pos" => Ok(Value::Int(0)),
            "endpos" => Ok(Value::Int(
                i64::try_from(m.string.chars().count()).unwrap_or(0),
            )),
            "lastindex" => Ok(m
                .lastindex()
                .map_or(Value::None, |g| Value::Int(i64::try_from(g).unwrap_or(0)))),
            "lastgroup" => Ok(m
                .lastindex()
                .and_then(|g| m.names.iter().find(|(_, n)| *n == g))
                .map_or(Value::None, |(n, _)| Value::Str(n.clone()))),
            _ => method(obj.clone(), name),
        },
        Value::Int(_) | Value::Bool(_) => match name {
            "real" | "numerator" => Ok(Value::Int(obj.as_int().unwrap_or(0))),
            "imag" => Ok(Value::Int(0)),
            "denominator" => Ok(Value::Int(1)),
            "bit_length" | "bit_count" | "conjugate" | "to_bytes" | "from_bytes"
            | "as_integer_ratio" | "is_integer" => {
                not_supported(format!("int.{name} is not supported"))
            }
            _ => no_attr(&obj, name),
        },
        Value::Float(f) => match name {
            "real" => Ok(Value::Float(*f)),
            "imag" => Ok(Value::Float(0.0)),
            "conjugate" | "hex" | "fromhex" | "as_integer_ratio" | "is_integer" => {
                not_supported(format!("float.{name} is not supported"))
            }
            _ => no_attr(&obj, name),
        },
        _ => method(obj, name),
    }
}

fn method(obj: Value, name: &str) -> R<Value> {
    let (ok, other) = methods_of(&obj);
    if let Some(m) = intern(ok, name) {
        return Ok(Value::Function(Function(FuncKind::Method(
            Box::new(obj),
            m,
        ))));
    }
    if other.contains(&name) || name.starts_with("__") {
        return not_supported(format!("{}.{name} is not supported", obj.type_name()));
    }
    no_attr(&obj, name)
}

/// The items a `for` loop would see.
pub(crate) fn iterate(v: &Value) -> R<Vec<Value>> {
    match v {
        Value::List(x) | Value::Tuple(x) | Value::Set(x) => Ok(x.clone()),
        Value::Str(s) => Ok(s.chars().map(|c| Value::Str(c.to_string())).collect()),
        Value::Dict(d) => Ok(d.iter().map(|(k, _)| k.clone()).collect()),
        other => type_err(format!("'{}' object is not iterable", other.type_name())),
    }
}

/// Positional and keyword arguments matched against parameter names.
struct Args {
    vals: Vec<Option<Value>>,
}

fn bind(
    fname: &str,
    params: &[&str],
    required: usize,
    args: Vec<Value>,
    kwargs: Vec<(String, Value)>,
) -> R<Args> {
    if args.len() > params.len() {
        return type_err(format!(
            "{fname}() takes at most {} arguments ({} given)",
            params.len(),
            args.len()
        ));
    }
    let mut vals: Vec<Option<Value>> = args.into_iter().map(Some).collect();
    vals.resize(params.len(), None);
    for (k, v) in kwargs {
        let Some(i) = params.iter().position(|p| *p == k) else {
            return type_err(format!(
                "{fname}() got an unexpected keyword argument '{k}'"
            ));
        };
        if vals[i].is_some() {
            return type_err(format!("{fname}() got multiple values for argument '{k}'"));
        }
        vals[i] = Some(v);
    }
    if let Some(i) = vals.iter().take(required).position(Option::is_none) {
        return type_err(format!(
            "{fname}() missing required argument '{}' (pos {})",
            params[i],
            i + 1
        ));
    }
    Ok(Args { vals })
}

impl Args {
    fn get(&self, i: usize) -> Option<&Value> {
        self.vals.get(i).and_then(Option::as_ref)
    }

    fn take(&mut self, i: usize) -> Option<Value> {
        self.vals.get_mut(i).and_then(Option::take)
    }

    /// The argument, treating an explicit None as absent.
    fn opt(&self, i: usize) -> Option<&Value> {
        self.get(i).filter(|v| !matches!(v, Value::None))
    }

    fn str(&self, i: usize, what: &str) -> R<String> {
        match self.get(i) {
            Some(Value::Str(s)) => Ok(s.clone()),
            Some(other) => type_err(format!("{what} must be str, not {}", other.type_name())),
            None => type_err(format!("{what} is missing")),
        }
    }

    fn int_or(&self, i: usize, default: i64, what: &str) -> R<i64> {
        match self.get(i) {
            None => Ok(default),
            Some(v) => v.as_int().map_or_else(
                || {
                    type_err(format!(
                        "'{}' object cannot be interpreted as an integer ({what})",
                        v.type_name()
                    ))
                },
                Ok,
            ),
        }
    }
}

fn no_kwargs(fname: &str, kwargs: &[(String, Value)]) -> R<()> {
    if kwargs.is_empty() {
        Ok(())
    } else {
        type_err(format!("{fname}() takes no keyword arguments"))
    }
}

fn usize_of(i: i64) -> usize {
    usize::try_from(i).unwrap_or(0)
}

fn int_of(n: usize) -> Value {
    Value::Int(i64::try_from(n).unwrap_or(i64::MAX))
}

/// Python's `<`-based ordering for sort/min/max.
fn lt(a: &Value, b: &Value) -> R<bool> {
    match a.py_cmp(b) {
        Ok(o) => Ok(o == Some(Ordering::Less)),
        Err(()) => type_err(format!(
            "'<' not supported between instances of '{}' and '{}'",
            a.type_name(),
            b.type_name()
        )),
    }
}

fn sort_values(
    interp: &Interp,
    items: Vec<Value>,
    key: Option<&Value>,
    reverse: bool,
) -> R<Vec<Value>> {
    let keys = match key {
        Some(k) => items
            .iter()
            .map(|v| interp.call(k, vec![v.clone()], Vec::new()))
            .collect::<R<Vec<_>>>()?,
        None => items.clone(),
    };
    let mut idx: Vec<usize> = (0..items.len()).collect();
    let mut err: Option<Exc> = None;
    idx.sort_by(|&i, &j| {
        let (a, b) = if reverse {
            (&keys[j], &keys[i])
        } else {
            (&keys[i], &keys[j])
        };
        match lt(a, b) {
            Ok(true) => Ordering::Less,
            Ok(false) => match lt(b, a) {
                Ok(true) => Ordering::Greater,
                Ok(false) => Ordering::Equal,
                Err(e) => {
                    err.get_or_insert(e);
                    Ordering::Equal
                }
            },
            Err(e) => {
                err.get_or_insert(e);
                Ordering::Equal
            }
        }
    });
    if let Some(e) = err {
        return Err(e);
    }
    Ok(idx.into_iter().map(|i| items[i].clone()).collect())
}

fn min_max(
    interp: &Interp,
    name: &str,
    args: Vec<Value>,
    kwargs: Vec<(String, Value)>,
) -> R<Value> {
    let mut key = None;
    let mut default = None;
    for (k, v) in kwargs {
        match k.as_str() {
            "key" => key = Some(v).filter(|v| !matches!(v, Value::None)),
            "default" => default = Some(v),
            _ => return type_err(format!("{name}() got an unexpected keyword argument '{k}'")),
        }
    }
    let items = match args.len() {
        0 => return type_err(format!("{name} expected at least 1 argument, got 0")),
        1 => iterate(&args[0])?,
        _ => {
            if default.is_some() {
                return type_err(format!(
                    "Cannot specify a default for {name}() with multiple positional arguments"
                ));
            }
            args
        }
    };
    if items.is_empty() {
        return default.map_or_else(
            || {
                exc(
                    ErrorKind::Value,
                    format!("{name}() arg is an empty sequence"),
                )
            },
            Ok,
        );
    }
    let mut best = items[0].clone();
    let mut best_key = match &key {
        Some(k) => interp.call(k, vec![best.clone()], Vec::new())?,
        None => best.clone(),
    };
    for item in items.into_iter().skip(1) {
        let k = match &key {
            Some(f) => interp.call(f, vec![item.clone()], Vec::new())?,
            None => item.clone(),
        };
        let better = if name == "min" {
            lt(&k, &best_key)?
        } else {
            lt(&best_key, &k)?
        };
        if better {
            best = item;
            best_key = k;
        }
    }
    Ok(best)
}

fn parse_int(s: &str, base: u32) -> Option<i64> {
    let t = s.trim_matches(py_isspace);
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let digits = match base {
        16 => digits
            .strip_prefix("0x")
            .or_else(|| digits.strip_prefix("0X"))
            .unwrap_or(digits),
        8 => digits
            .strip_prefix("0o")
            .or_else(|| digits.strip_prefix("0O"))
            .unwrap_or(digits),
        2 => digits
            .strip_prefix("0b")
            .or_else(|| digits.strip_prefix("0B"))
            .unwrap_or(digits),
        _ => digits,
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
    {
        return None;
    }
    let clean: String = digits.chars().filter(|c| *c != '_').collect();
    if !clean.chars().all(|c| c.is_digit(base)) {
        return None;
    }
    let v = i64::from_str_radix(&clean, base).ok()?;
    Some(if neg { -v } else { v })
}

fn to_int(v: &Value, base: Option<i64>) -> R<Value> {
    match (v, base) {
        (Value::Str(s), b) => {
            let b = b.unwrap_or(10);
            if !(2..=36).contains(&b) {
                return not_supported("int() bases other than 2..36 are not supported");
            }
            let b = u32::try_from(b).unwrap_or(10);
            parse_int(s, b).map(Value::Int).map_or_else(
                || {
                    let body = s.trim_matches(py_isspace);
                    if body.len() > 18 && body.chars().all(|c| c.is_ascii_digit()) {
                        return not_supported("integer too large");
                    }
                    exc(
                        ErrorKind::Value,
                        format!(
                            "invalid literal for int() with base {b}: {}",
                            super::value::str_repr(s)
                        ),
                    )
                },
                Ok,
            )
        }
        (_, Some(_)) => type_err("int() can't convert non-string with explicit base"),
        (Value::Int(i), None) => Ok(Value::Int(*i)),
        (Value::Bool(b), None) => Ok(Value::Int(i64::from(*b))),
        (Value::Float(f), None) => {
            if f.is_nan() {
                return exc(ErrorKind::Value, "cannot convert float NaN to integer");
            }
            if f.is_infinite() {
                return exc(
                    ErrorKind::Overflow,
                    "cannot convert float infinity to integer",
                );
            }
            if f.abs() >= 9.2e18 {
                return not_supported("integer too large");
            }
            #[allow(clippy::cast_possible_truncation)]
            Ok(Value::Int(f.trunc() as i64))
        }
        (other, None) => type_err(format!(
            "int() argument must be a string, a bytes-like object or a real number, not '{}'",
            other.type_name()
        )),
    }
}

fn to_float(v: &Value) -> R<f64> {
    match v {
        Value::Float(f) => Ok(*f),
        #[allow(clippy::cast_precision_loss)]
        Value::Int(_) | Value::Bool(_) => Ok(v.as_int().unwrap_or(0) as f64),
        Value::Str(s) => {
            let t = s.trim_matches(py_isspace);
            let lower = t.to_ascii_lowercase();
            let body = lower.trim_start_matches(['+', '-']);
            let ok_special = ["inf", "infinity", "nan"].contains(&body);
            let ok_num = !body.is_empty()
                && body
                    .chars()
                    .all(|c| c.is_ascii_digit() || "._e+-".contains(c))
                && body.chars().any(|c| c.is_ascii_digit())
                && !body.contains("__");
            let parsed = if ok_special || ok_num {
                lower.replace('_', "").parse::<f64>().ok()
            } else {
                None
            };
            parsed.map_or_else(
                || {
                    exc(
                        ErrorKind::Value,
                        format!(
                            "could not convert string to float: {}",
                            super::value::str_repr(s)
                        ),
                    )
                },
                Ok,
            )
        }
        other => type_err(format!(
            "float() argument must be a string or a real number, not '{}'",
            other.type_name()
        )),
    }
}

fn is_instance(v: &Value, ty: &Value) -> R<bool> {
    match ty {
        Value::Tuple(types) => {
            for t in types {
                if is_instance(v, t)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Value::Function(Function(FuncKind::Builtin(t))) if TYPES.contains(t) => Ok(match *t {
            "int" => matches!(v, Value::Int(_) | Value::Bool(_)),
            "type" => {
                matches!(v, Value::Function(Function(FuncKind::Builtin(n))) if TYPES.contains(n))
            }
            t => v.type_name() == t,
        }),
        _ => type_err("isinstance() arg 2 must be a type, a tuple of types, or a union"),
    }
}

fn check_len(n: usize) -> R<()> {
    if n > MAX_LEN {
        not_supported("result too large")
    } else {
        Ok(())
    }
}

/// Exactly two positional arguments, as the builtins of two parameters
/// take them; otherwise their TypeError.
fn two(name: &str, args: Vec<Value>) -> R<[Value; 2]> {
    <[Value; 2]>::try_from(args).map_err(|a| {
        Exc::new(
            ErrorKind::Type,
            format!("{name} expected 2 arguments, got {}", a.len()),
        )
    })
}

#[allow(clippy::too_many_lines)]
pub(crate) fn call_builtin(
    interp: &Interp,
    name: &str,
    args: Vec<Value>,
    kwargs: Vec<(String, Value)>,
) -> R<Value> {
    if let Some(f) = name.strip_prefix("re.") {
        return re_function(interp, f, args, kwargs);
    }
    if let Some(f) = name.strip_prefix("os.path.") {
        no_kwargs(name, &kwargs)?;
        return os_path(f, args);
    }
    let one = |args: &[Value]| -> R<Value> {
        match args {
            [v] => Ok(v.clone()),
            _ => type_err(format!(
                "{name}() takes exactly one argument ({} given)",
                args.len()
            )),
        }
    };
    match name {
        "len" => {
            no_kwargs(name, &kwargs)?;
            let v = one(&args)?;
            let n = match &v {
                Value::Str(s) => s.chars().count(),
                Value::List(x) | Value::Tuple(x) | Value::Set(x) => x.len(),
                Value::Dict(d) => d.len(),
                other => {
                    return type_err(format!(
                        "object of type '{}' has no len()",
                        other.type_name()
                    ));
                }
            };
            Ok(int_of(n))
        }
        "str" => {
            if !kwargs.is_empty() || args.len() > 1 {
                return not_supported("str() with encoding arguments is not supported");
            }
            Ok(Value::Str(
                args.first().map(ToString::to_string).unwrap_or_default(),
            ))
        }
        "repr" => Ok(Value::Str(one(&args)?.repr())),
        "int" => {
            let a = bind(name, &["x", "base"], 0, args, kwargs)?;
            match a.get(0) {
                None => Ok(Value::Int(0)),
                Some(v) => to_int(v, a.get(1).map(|b| b.as_int().unwrap_or(10))),
            }
        }
        "float" => match args.first() {
            None => Ok(Value::Float(0.0)),
            Some(v) => Ok(Value::Float(to_float(v)?)),
        },
        "bool" => Ok(Value::Bool(args.first().is_some_and(Value::truthy))),
        "list" => Ok(Value::List(match args.first() {
            None => Vec::new(),
            Some(v) => iterate(v)?,
        })),
        "tuple" => Ok(Value::Tuple(match args.first() {
            None => Vec::new(),
            Some(v) => iterate(v)?,
        })),
        "set" => {
            let mut s = Vec::new();
            if let Some(v) = args.first() {
                for x in iterate(v)? {
                    set_add(&mut s, x)?;
                }
            }
            Ok(Value::Set(s))
        }
        "frozenset" => not_supported("frozenset is not supported"),
        "dict" => {
            let mut d = Vec::new();
            match args.first() {
                None => {}
                Some(Value::Dict(src)) => d = src.clone(),
                Some(v) => {
                    for (i, item) in iterate(v)?.into_iter().enumerate() {
                        let pair = iterate(&item).map_err(|_| {
                            Exc::new(
                                ErrorKind::Type,
                                format!("cannot convert dictionary update sequence element #{i} to a sequence"),
                            )
                        })?;
                        let [k, v] = <[Value; 2]>::try_from(pair).map_err(|p| {
                            Exc::new(
                                ErrorKind::Value,
                                format!("dictionary update sequence element #{i} has length {}; 2 is required", p.len()),
                            )
                        })?;
                        dict_set(&mut d, k, v)?;
                    }
                }
            }
            for (k, v) in kwargs {
                dict_set(&mut d, Value::Str(k), v)?;
            }
            Ok(Value::Dict(d))
        }
        "type" => {
            let v = one(&args)?;
            match v.type_name() {
                t @ ("str" | "int" | "float" | "bool" | "list" | "tuple" | "set" | "dict"
                | "type") => Ok(Value::builtin(intern(TYPES, t).unwrap_or("type"))),
                _ => not_supported(format!("type() of a {} is not supported", v.type_name())),
            }
        }
        "sorted" => {
            let mut a = bind(name, &["iterable", "key", "reverse"], 1, args, kwargs)?;
            let items = iterate(a.get(0).unwrap_or(&Value::None))?;
            let key = a.take(1).filter(|k| !matches!(k, Value::None));
            let reverse = a.get(2).is_some_and(Value::truthy);
            Ok(Value::List(sort_values(
                interp,
                items,
                key.as_ref(),
                reverse,
            )?))
        }
        "reversed" => {
            no_kwargs(name, &kwargs)?;
            let v = one(&args)?;
            match &v {
                Value::List(_) | Value::Tuple(_) | Value::Str(_) | Value::Dict(_) => {
                    let mut items = iterate(&v)?;
                    items.reverse();
                    Ok(Value::List(items))
                }
                other => type_err(format!("'{}' object is not reversible", other.type_name())),
            }
        }
        "min" | "max" => min_max(interp, name, args, kwargs),
        "sum" => {
            let a = bind(name, &["iterable", "start"], 1, args, kwargs)?;
            let mut total = a.get(1).cloned().unwrap_or(Value::Int(0));
            if matches!(total, Value::Str(_)) {
                return type_err("sum() can't sum strings [use ''.join(seq) instead]");
            }
            for v in iterate(a.get(0).unwrap_or(&Value::None))? {
                total = super::eval::binary(super::parser::BinOp::Add, total, v)?;
            }
            Ok(total)
        }
        "any" | "all" => {
            no_kwargs(name, &kwargs)?;
            let items = iterate(&one(&args)?)?;
            Ok(Value::Bool(if name == "any" {
                items.iter().any(Value::truthy)
            } else {
                items.iter().all(Value::truthy)
            }))
        }
        "map" => {
            no_kwargs(name, &kwargs)?;
            let mut args = args.into_iter();
            let (Some(f), iters) = (
                args.next(),
                args.map(|v| iterate(&v)).collect::<R<Vec<_>>>()?,
            ) else {
                return type_err("map() must have at least two arguments.");
            };
            if iters.is_empty() {
                return type_err("map() must have at least two arguments.");
            }
            let n = iters.iter().map(Vec::len).min().unwrap_or(0);
            let mut out = Vec::with_capacity(n);
            for i in 0..n {
                let call_args = iters.iter().map(|it| it[i].clone()).collect();
                out.push(interp.call(&f, call_args, Vec::new())?);
            }
            Ok(Value::List(out))
        }
        "filter" => {
            no_kwargs(name, &kwargs)?;
            let [f, it] = two(name, args)?;
            let mut out = Vec::new();
            for item in iterate(&it)? {
                let keep = match &f {
                    Value::None => item.truthy(),
                    f => interp.call(f, vec![item.clone()], Vec::new())?.truthy(),
                };
                if keep {
                    out.push(item);
                }
            }
            Ok(Value::List(out))
        }
        "enumerate" => {
            let a = bind(name, &["iterable", "start"], 1, args, kwargs)?;
            let start = a.int_or(1, 0, "start")?;
            let items = iterate(a.get(0).unwrap_or(&Value::None))?;
            Ok(Value::List(
                items
                    .into_iter()
                    .zip(start..)
                    .map(|(v, i)| Value::Tuple(vec![Value::Int(i), v]))
                    .collect(),
            ))
        }
        "zip" => {
            no_kwargs(name, &kwargs)?;
            let iters = args.iter().map(iterate).collect::<R<Vec<_>>>()?;
            let n = iters.iter().map(Vec::len).min().unwrap_or(0);
            Ok(Value::List(
                (0..n)
                    .map(|i| Value::Tuple(iters.iter().map(|it| it[i].clone()).collect()))
                    .collect(),
            ))
        }
        "range" => {
            no_kwargs(name, &kwargs)?;
            let ints = args
                .iter()
                .map(|v| {
                    v.as_int().map_or_else(
                        || {
                            type_err(format!(
                                "'{}' object cannot be interpreted as an integer",
                                v.type_name()
                            ))
                        },
                        Ok,
                    )
                })
                .collect::<R<Vec<i64>>>()?;
            let (start, stop, step) = match ints.as_slice() {
                [stop] => (0, *stop, 1),
                [start, stop] => (*start, *stop, 1),
                [start, stop, step] => (*start, *stop, *step),
                _ => {
                    return type_err(format!(
                        "range expected at most 3 arguments, got {}",
                        ints.len()
                    ));
                }
            };
            if step == 0 {
                return exc(ErrorKind::Value, "range() arg 3 must not be zero");
            }
            let span = if step > 0 {
                stop.saturating_sub(start)
            } else {
                start.saturating_sub(stop)
            };
            let count = if span <= 0 {
                0
            } else {
                (span - 1) / step.saturating_abs() + 1
            };
            check_len(usize_of(count))?;
            Ok(Value::List(
                (0..count).map(|k| Value::Int(start + k * step)).collect(),
            ))
        }
        "isinstance" => {
            no_kwargs(name, &kwargs)?;
            let [v, t] = two(name, args)?;
            Ok(Value::Bool(is_instance(&v, &t)?))
        }
        "callable" => Ok(Value::Bool(one(&args)?.is_callable())),
        "abs" => match one(&args)? {
            Value::Float(f) => Ok(Value::Float(f.abs())),
            v @ (Value::Int(_) | Value::Bool(_)) => v
                .as_int()
                .and_then(i64::checked_abs)
                .map_or_else(|| not_supported("integer too large"), |i| Ok(Value::Int(i))),
            other => type_err(format!(
                "bad operand type for abs(): '{}'",
                other.type_name()
            )),
        },
        "cmp" => {
            no_kwargs(name, &kwargs)?;
            let [a, b] = two(name, args)?;
            let gt = lt(&b, &a)?;
            let less = lt(&a, &b)?;
            Ok(Value::Int(i64::from(gt) - i64::from(less)))
        }
        "ord" => match one(&args)? {
            Value::Str(s) if s.chars().count() == 1 => Ok(Value::Int(i64::from(
                s.chars().next().map_or(0, |c| c as u32),
            ))),
            Value::Str(s) => type_err(format!(
                "ord() expected a character, but string of length {} found",
                s.chars().count()
            )),
            other => type_err(format!(
                "ord() expected string of length 1, but {} found",
                other.type_name()
            )),
        },
        "chr" => {
            let v = one(&args)?;
            let Some(i) = v.as_int() else {
                return type_err(format!(
                    "'{}' object cannot be interpreted as an integer",
                    v.type_name()
                ));
            };
            u32::try_from(i)
                .ok()
                .filter(|u| *u <= 0x10ffff)
                .map_or_else(
                    || exc(ErrorKind::Value, "chr() arg not in range(0x110000)"),
                    |u| match char::from_u32(u) {
                        Some(c) => Ok(Value::Str(c.to_string())),
                        None => not_supported("surrogate characters are not supported"),
                    },
                )
        }
        "round" => {
            let a = bind(name, &["number", "ndigits"], 1, args, kwargs)?;
            let nd = a.get(1).filter(|v| !matches!(v, Value::None));
            match (a.get(0), nd) {
                (Some(v @ (Value::Int(_) | Value::Bool(_))), None) => {
                    Ok(Value::Int(v.as_int().unwrap_or(0)))
                }
                (Some(Value::Float(f)), None) => {
                    if !f.is_finite() {
                        return exc(ErrorKind::Overflow, "cannot convert float to integer");
                    }
                    let r = f.round_ties_even();
                    if r.abs() >= 9.2e18 {
                        return not_supported("integer too large");
                    }
                    #[allow(clippy::cast_possible_truncation)]
                    Ok(Value::Int(r as i64))
                }
                (Some(Value::Float(f)), Some(n)) => {
                    let n = n.as_int().unwrap_or(0);
                    if !(0..=15).contains(&n) {
                        return not_supported("round() with this many digits is not supported");
                    }
                    let s = format!("{:.*}", usize_of(n), f);
                    Ok(Value::Float(s.parse().unwrap_or(*f)))
                }
                (Some(v @ (Value::Int(_) | Value::Bool(_))), Some(n))
                    if n.as_int().is_some_and(|n| n >= 0) =>
                {
                    Ok(Value::Int(v.as_int().unwrap_or(0)))
                }
                (Some(Value::Int(_) | Value::Bool(_)), Some(_)) => {
                    not_supported("round() of an int to negative digits is not supported")
                }
                (Some(other), _) => type_err(format!(
                    "type {} doesn't define __round__ method",
                    other.type_name()
                )),
                (None, _) => type_err("round() missing required argument"),
            }
        }
        "divmod" => {
            let [a, b] = two(name, args)?;
            let q = super::eval::binary(super::parser::BinOp::FloorDiv, a.clone(), b.clone())?;
            let r = super::eval::binary(super::parser::BinOp::Mod, a, b)?;
            Ok(Value::Tuple(vec![q, r]))
        }
        "hex" | "oct" | "bin" => {
            let v = one(&args)?;
            let Some(i) = v.as_int() else {
                return type_err(format!(
                    "'{}' object cannot be interpreted as an integer",
                    v.type_name()
                ));
            };
            let sign = if i < 0 { "-" } else { "" };
            let u = i.unsigned_abs();
            Ok(Value::Str(match name {
                "hex" => format!("{sign}0x{u:x}"),
                "oct" => format!("{sign}0o{u:o}"),
                _ => format!("{sign}0b{u:b}"),
            }))
        }
        _ => not_supported(format!("the builtin '{name}' is not supported")),
    }
}

type PatternCache = Mutex<HashMap<(String, i64), Arc<Pattern>>>;

static PATTERN_CACHE: LazyLock<PatternCache> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// Compiles through a small cache, as Python's `re` does: nametrans runs
/// the same `re.sub` once per folder.
pub(crate) fn compile_pattern(source: &str, flags: i64) -> R<Arc<Pattern>> {
    let key = (source.to_string(), flags);
    if let Ok(cache) = PATTERN_CACHE.lock()
        && let Some(p) = cache.get(&key)
    {
        return Ok(p.clone());
    }
    let p = Arc::new(Pattern::compile(source, flags)?);
    if let Ok(mut cache) = PATTERN_CACHE.lock() {
        if cache.len() > 512 {
            cache.clear();
        }
        cache.insert(key, p.clone());
    }
    Ok(p)
}

fn pattern_arg(p: Option<&Value>, flags: Option<&Value>) -> R<Arc<Pattern>> {
    let flags = match flags {
        None => 0,
        Some(f) => f.as_int().map_or_else(
            || {
                type_err(format!(
                    "unsupported operand type(s) for &: '{}' and 'int'",
                    f.type_name()
                ))
            },
            Ok,
        )?,
    };
    match p {
        Some(Value::Pattern(p)) => {
            if flags != 0 {
                return exc(
                    ErrorKind::Value,
                    "cannot process flags argument with a compiled pattern",
                );
            }
            Ok(p.clone())
        }
        Some(Value::Str(s)) => compile_pattern(s, flags),
        Some(other) => type_err(format!(
            "first argument must be string or compiled pattern, not {}",
            other.type_name()
        )),
        None => type_err("missing pattern"),
    }
}

fn text_arg(v: Option<&Value>) -> R<String> {
    match v {
        Some(Value::Str(s)) => Ok(s.clone()),
        Some(other) => type_err(format!(
            "expected string or bytes-like object, got '{}'",
            other.type_name()
        )),
        None => type_err("missing string argument"),
    }
}

fn match_value(m: Option<Match>) -> Value {
    m.map_or(Value::None, |m| Value::Match(Arc::new(m)))
}

fn do_sub(
    interp: &Interp,
    p: &Arc<Pattern>,
    repl: &Value,
    text: &str,
    count: i64,
) -> R<(String, usize)> {
    if count < 0 {
        return Ok((text.to_string(), 0));
    }
    let count = usize_of(count);
    match repl {
        Value::Str(t) => {
            let pieces = p.template(t)?;
            p.sub(text, count, |m| Ok(m.expand(&pieces)))
        }
        f if f.is_callable() => p.sub(text, count, |m| {
            let m = Value::Match(Arc::new(m.clone()));
            match interp.call(f, vec![m], Vec::new())? {
                Value::Str(s) => Ok(s),
                other => type_err(format!(
                    "expected str instance, {} found",
                    other.type_name()
                )),
            }
        }),
        other => type_err(format!(
            "expected str instance, {} found",
            other.type_name()
        )),
    }
}

fn re_function(
    interp: &Interp,
    f: &str,
    args: Vec<Value>,
    kwargs: Vec<(String, Value)>,
) -> R<Value> {
    let fname = format!("re.{f}");
    match f {
        "sub" | "subn" => {
            let a = bind(
                &fname,
                &["pattern", "repl", "string", "count", "flags"],
                3,
                args,
                kwargs,
            )?;
            let p = pattern_arg(a.get(0), a.get(4))?;
            let text = text_arg(a.get(2))?;
            let count = a.int_or(3, 0, "count")?;
            let (s, n) = do_sub(interp, &p, a.get(1).unwrap_or(&Value::None), &text, count)?;
            Ok(if f == "sub" {
                Value::Str(s)
            } else {
                Value::Tuple(vec![Value::Str(s), int_of(n)])
            })
        }
        "search" | "match" | "fullmatch" | "findall" | "finditer" => {
            let a = bind(&fname, &["pattern", "string", "flags"], 2, args, kwargs)?;
            let p = pattern_arg(a.get(0), a.get(2))?;
            let text = text_arg(a.get(1))?;
            pattern_method(&p, f, &text)
        }
        "split" => {
            let a = bind(
                &fname,
                &["pattern", "string", "maxsplit", "flags"],
                2,
                args,
                kwargs,
            )?;
            let p = pattern_arg(a.get(0), a.get(3))?;
            let text = text_arg(a.get(1))?;
            let max = a.int_or(2, 0, "maxsplit")?;
            if max < 0 {
                return Ok(Value::List(vec![Value::Str(text)]));
            }
            Ok(Value::List(p.split(&text, usize_of(max))?))
        }
        "compile" => {
            let a = bind(&fname, &["pattern", "flags"], 1, args, kwargs)?;
            Ok(Value::Pattern(pattern_arg(a.get(0), a.get(1))?))
        }
        "escape" => {
            let a = bind(&fname, &["pattern"], 1, args, kwargs)?;
            let s = a.str(0, "pattern")?;
            let mut out = String::new();
            for c in s.chars() {
                // Python 3.7+ escapes only regex-special characters.
                if "()[]{}?*+-|^$\\.&~# \t\n\r\x0b\x0c".contains(c) {
                    out.push('\\');
                }
                out.push(c);
            }
            Ok(Value::Str(out))
        }
        _ => not_supported(format!("re.{f} is not supported")),
    }
}

fn pattern_method(p: &Arc<Pattern>, f: &str, text: &str) -> R<Value> {
    Ok(match f {
        "search" => match_value(p.search(text)?),
        "match" => match_value(p.match_start(text)?),
        "fullmatch" => match_value(p.fullmatch(text)?),
        "findall" => Value::List(p.findall(text)?),
        _ => Value::List(
            p.find_all(text, 0)?
                .into_iter()
                .map(|m| Value::Match(Arc::new(m)))
                .collect(),
        ),
    })
}

fn os_path(f: &str, args: Vec<Value>) -> R<Value> {
    let strs = args
        .iter()
        .map(|v| match v {
            Value::Str(s) => Ok(s.clone()),
            other => type_err(format!(
                "expected str, bytes or os.PathLike object, not {}",
                other.type_name()
            )),
        })
        .collect::<R<Vec<String>>>()?;
    let one = || -> R<&String> {
        match strs.as_slice() {
            [s] => Ok(&strs[0]).map(|_| s),
            _ => type_err(format!(
                "{f}() takes exactly one argument ({} given)",
                strs.len()
            )),
        }
    };
    let split = |p: &str| -> (String, String) {
        let i = p.rfind('/').map_or(0, |i| i + 1);
        let (head, tail) = p.split_at(i);
        let trimmed = head.trim_end_matches('/');
        let head = if trimmed.is_empty() { head } else { trimmed };
        (head.to_string(), tail.to_string())
    };
    Ok(match f {
        "join" => {
            let Some((first, rest)) = strs.split_first() else {
                return type_err("join() missing 1 required positional argument: 'a'");
            };
            let mut out = first.clone();
            for s in rest {
                if s.starts_with('/') {
                    out = s.clone();
                } else if out.is_empty() || out.ends_with('/') {
                    out.push_str(s);
                } else {
                    out.push('/');
                    out.push_str(s);
                }
            }
            Value::Str(out)
        }
        "basename" => Value::Str(split(one()?).1),
        "dirname" => Value::Str(split(one()?).0),
        "split" => {
            let (h, t) = split(one()?);
            Value::Tuple(vec![Value::Str(h), Value::Str(t)])
        }
        "splitext" => {
            let p = one()?;
            let base_start = p.rfind('/').map_or(0, |i| i + 1);
            let base = &p[base_start..];
            let dot = base.rfind('.');
            // A leading run of dots is not an extension.
            let leading = base.len() - base.trim_start_matches('.').len();
            let (root, ext) = match dot {
                Some(d) if d >= leading && d > 0 => (
                    p[..base_start + d].to_string(),
                    p[base_start + d..].to_string(),
                ),
                _ => (p.clone(), String::new()),
            };
            Value::Tuple(vec![Value::Str(root), Value::Str(ext)])
        }
        "isabs" => Value::Bool(one()?.starts_with('/')),
        "normpath" => {
            let p = one()?;
            if p.is_empty() {
                return Ok(Value::from("."));
            }
            let initial = if p.starts_with("//") && !p.starts_with("///") {
                2
            } else if p.starts_with('/') {
                1
            } else {
                0
            };
            let mut parts: Vec<&str> = Vec::new();
            for c in p.split('/') {
                match c {
                    "" | "." => {}
                    ".." => {
                        if parts.last().is_some_and(|l| *l != "..") {
                            parts.pop();
                        } else if initial == 0 {
                            parts.push("..");
                        }
                    }
                    c => parts.push(c),
                }
            }
            let s = format!("{}{}", "/".repeat(initial), parts.join("/"));
            Value::Str(if s.is_empty() { ".".into() } else { s })
        }
        _ => return not_supported(format!("os.path.{f} is not supported")),
    })
}

pub(crate) fn py_isspace(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

fn is_cased(c: char) -> bool {
    c.is_lowercase() || c.is_uppercase()
}

/// Python's slice clamping for `start`/`end` arguments of `find` & co.
fn range_of(len: usize, start: Option<&Value>, end: Option<&Value>) -> R<(usize, usize, bool)> {
    let n = i64::try_from(len).unwrap_or(i64::MAX);
    let conv = |v: Option<&Value>, default: i64| -> R<i64> {
        match v {
            None | Some(Value::None) => Ok(default),
            Some(v) => {
                let i = v.as_int().map_or_else(
                    || {
                        type_err(
                            "slice indices must be integers or None or have an __index__ method",
                        )
                    },
                    Ok,
                )?;
                Ok(if i < 0 { (i + n).max(0) } else { i })
            }
        }
    };
    let s = conv(start, 0)?;
    let e = conv(end, n)?.min(n);
    // `valid` is false when start lies past the end (nothing can match).
    Ok((usize_of(s.min(n)), usize_of(e.max(0)), s <= e && s <= n))
}

fn find_in(hay: &[char], needle: &[char], from_right: bool) -> Option<usize> {
    if needle.len() > hay.len() {
        return None;
    }
    let last = hay.len() - needle.len();
    if from_right {
        (0..=last).rev().find(|&i| hay[i..].starts_with(needle))
    } else {
        (0..=last).find(|&i| hay[i..].starts_with(needle))
    }
}

fn tuple_or_str(v: &Value, what: &str) -> R<Vec<String>> {
    match v {
        Value::Str(s) => Ok(vec![s.clone()]),
        Value::Tuple(items) => items
            .iter()
            .map(|i| match i {
                Value::Str(s) => Ok(s.clone()),
                other => type_err(format!(
                    "tuple for {what} must only contain str, not {}",
                    other.type_name()
                )),
            })
            .collect(),
        other => type_err(format!(
            "{what} first arg must be str or a tuple of str, not {}",
            other.type_name()
        )),
    }
}

fn strip_chars(a: &Args, what: &str) -> R<Option<Vec<char>>> {
    match a.get(0) {
        None | Some(Value::None) => Ok(None),
        Some(Value::Str(s)) => Ok(Some(s.chars().collect())),
        Some(other) => type_err(format!(
            "{what} arg must be None or str, not {}",
            other.type_name()
        )),
    }
}

fn split_whitespace(s: &str, max: i64, right: bool) -> Vec<Value> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut splits = 0;
    if right {
        let mut end = chars.len();
        loop {
            while end > 0 && py_isspace(chars[end - 1]) {
                end -= 1;
            }
            if end == 0 {
                break;
            }
            if max >= 0 && splits >= max {
                out.push(chars[..end].iter().collect::<String>());
                break;
            }
            let mut start = end;
            while start > 0 && !py_isspace(chars[start - 1]) {
                start -= 1;
            }
            out.push(chars[start..end].iter().collect::<String>());
            splits += 1;
            end = start;
        }
        out.reverse();
    } else {
        let mut start = 0;
        loop {
            while start < chars.len() && py_isspace(chars[start]) {
                start += 1;
            }
            if start == chars.len() {
                break;
            }
            if max >= 0 && splits >= max {
                out.push(chars[start..].iter().collect::<String>());
                break;
            }
            let mut end = start;
            while end < chars.len() && !py_isspace(chars[end]) {
                end += 1;
            }
            out.push(chars[start..end].iter().collect::<String>());
            splits += 1;
            start = end;
        }
    }
    out.into_iter().map(Value::Str).collect()
}

fn split_sep(s: &str, sep: &str, max: i64, right: bool) -> Vec<Value> {
    let parts: Vec<String> = if max < 0 {
        s.split(sep).map(String::from).collect()
    } else if right {
        let mut v: Vec<String> = s
            .rsplitn(usize_of(max) + 1, sep)
            .map(String::from)
            .collect();
        v.reverse();
        v
    } else {
        s.splitn(usize_of(max) + 1, sep).map(String::from).collect()
    };
    parts.into_iter().map(Value::Str).collect()
}

fn pad(s: &str, width: i64, fill: char, align: char) -> String {
    let len = i64::try_from(s.chars().count()).unwrap_or(0);
    if width <= len {
        return s.to_string();
    }
    let total = usize_of(width - len);
    let (left, right) = match align {
        '<' => (0, total),
        '>' => (total, 0),
        // Format specs put the odd extra fill on the right...
        '^' => (total / 2, total - total / 2),
        // ...str.center too, unless the padding and the width are both odd.
        _ => {
            let left = total / 2 + (total & usize_of(width) & 1);
            (left, total - left)
        }
    };
    let f = fill.to_string();
    format!("{}{s}{}", f.repeat(left), f.repeat(right))
}

fn fill_char(a: &Args, i: usize) -> R<char> {
    match a.get(i) {
        None => Ok(' '),
        Some(Value::Str(s)) if s.chars().count() == 1 => Ok(s.chars().next().unwrap_or(' ')),
        Some(_) => type_err("The fill character must be exactly one character long"),
    }
}

#[allow(clippy::too_many_lines)]
fn str_method(s: &str, name: &str, args: Vec<Value>, kwargs: Vec<(String, Value)>) -> R<Value> {
    let fname = format!("str.{name}");
    let boolean = |f: &dyn Fn(&str) -> bool| -> R<Value> { Ok(Value::Bool(f(s))) };
    match name {
        "format" => return str_format(s, &args, &kwargs).map(Value::Str),
        "lower" | "upper" | "capitalize" | "title" | "swapcase" | "casefold" | "isdigit"
        | "isalpha" | "isalnum" | "isspace" | "islower" | "isupper" | "isnumeric" | "isdecimal"
            if !args.is_empty() || !kwargs.is_empty() =>
        {
            return type_err(format!(
                "{fname}() takes no arguments ({} given)",
                args.len()
            ));
        }
        _ => {}
    }
    match name {
        "lower" => Ok(Value::Str(s.to_lowercase())),
        "upper" => Ok(Value::Str(s.to_uppercase())),
        "casefold" => Ok(Value::Str(s.to_lowercase().replace('ß', "ss"))),
        "swapcase" => Ok(Value::Str(
            s.chars()
                .map(|c| {
                    if c.is_uppercase() {
                        c.to_lowercase().collect::<String>()
                    } else if c.is_lowercase() {
                        c.to_uppercase().collect()
                    } else {
                        c.to_string()
                    }
                })
                .collect(),
        )),
        "capitalize" => {
            let mut cs = s.chars();
            Ok(Value::Str(match cs.next() {
                Some(c) => c
                    .to_uppercase()
                    .chain(cs.as_str().to_lowercase().chars())
                    .collect(),
                None => String::new(),
            }))
        }
        "title" => {
            let mut out = String::new();
            let mut prev_cased = false;
            for c in s.chars() {
                if prev_cased {
                    out.extend(c.to_lowercase());
                } else {
                    out.extend(c.to_uppercase());
                }
                prev_cased = is_cased(c);
            }
            Ok(Value::Str(out))
        }
        "isdigit" | "isdecimal" => boolean(&|s| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_digit() || (!c.is_ascii() && c.is_numeric()))
        }),
        "isnumeric" => boolean(&|s| !s.is_empty() && s.chars().all(char::is_numeric)),
        "isalpha" => boolean(&|s| !s.is_empty() && s.chars().all(char::is_alphabetic)),
        "isalnum" => boolean(&|s| !s.is_empty() && s.chars().all(char::is_alphanumeric)),
        "isspace" => boolean(&|s| !s.is_empty() && s.chars().all(py_isspace)),
        "islower" => boolean(&|s| s.chars().any(is_cased) && !s.chars().any(char::is_uppercase)),
        "isupper" => boolean(&|s| s.chars().any(is_cased) && !s.chars().any(char::is_lowercase)),
        "startswith" | "endswith" => {
            let a = bind(&fname, &["prefix", "start", "end"], 1, args, kwargs)?;
            let options = tuple_or_str(a.get(0).unwrap_or(&Value::None), name)?;
            let chars: Vec<char> = s.chars().collect();
            let (st, en, valid) = range_of(chars.len(), a.get(1), a.get(2))?;
            if !valid {
                return Ok(Value::Bool(false));
            }
            let part: String = chars[st..en.max(st)].iter().collect();
            Ok(Value::Bool(options.iter().any(|o| {
                if name == "startswith" {
                    part.starts_with(o.as_str())
                } else {
                    part.ends_with(o.as_str())
                }
            })))
        }
        "replace" => {
            let a = bind(&fname, &["old", "new", "count"], 2, args, kwargs)?;
            let old = a.str(0, "replace() argument 1")?;
            let new = a.str(1, "replace() argument 2")?;
            let count = a.int_or(2, -1, "count")?;
            let out = if count < 0 {
                s.replace(&old, &new)
            } else {
                s.replacen(&old, &new, usize_of(count))
            };
            check_len(out.len())?;
            Ok(Value::Str(out))
        }
        "split" | "rsplit" => {
            let a = bind(&fname, &["sep", "maxsplit"], 0, args, kwargs)?;
            let max = a.int_or(1, -1, "maxsplit")?;
            match a.opt(0) {
                None => Ok(Value::List(split_whitespace(s, max, name == "rsplit"))),
                Some(Value::Str(sep)) if sep.is_empty() => exc(ErrorKind::Value, "empty separator"),
                Some(Value::Str(sep)) => Ok(Value::List(split_sep(s, sep, max, name == "rsplit"))),
                Some(other) => type_err(format!("must be str or None, not {}", other.type_name())),
            }
        }
        "splitlines" => {
            let a = bind(&fname, &["keepends"], 0, args, kwargs)?;
            let keep = a.get(0).is_some_and(Value::truthy);
            let chars: Vec<char> = s.chars().collect();
            let mut out = Vec::new();
            let mut start = 0;
            let mut i = 0;
            while i < chars.len() {
                let c = chars[i];
                if "\n\r\x0b\x0c\x1c\x1d\x1e\u{85}\u{2028}\u{2029}".contains(c) {
                    let mut end = i + 1;
                    if c == '\r' && chars.get(i + 1) == Some(&'\n') {
                        end += 1;
                    }
                    let stop = if keep { end } else { i };
                    out.push(Value::Str(chars[start..stop].iter().collect()));
                    start = end;
                    i = end;
                } else {
                    i += 1;
                }
            }
            if start < chars.len() {
                out.push(Value::Str(chars[start..].iter().collect()));
            }
            Ok(Value::List(out))
        }
        "join" => {
            no_kwargs(&fname, &kwargs)?;
            let [it] = <[Value; 1]>::try_from(args).map_err(|a| {
                Exc::new(
                    ErrorKind::Type,
                    format!("str.join() takes exactly one argument ({} given)", a.len()),
                )
            })?;
            let items =
                iterate(&it).map_err(|_| Exc::new(ErrorKind::Type, "can only join an iterable"))?;
            let mut parts = Vec::with_capacity(items.len());
            for (i, v) in items.iter().enumerate() {
                match v {
                    Value::Str(p) => parts.push(p.as_str()),
                    other => {
                        return type_err(format!(
                            "sequence item {i}: expected str instance, {} found",
                            other.type_name()
                        ));
                    }
                }
            }
            Ok(Value::Str(parts.join(s)))
        }
        "strip" | "lstrip" | "rstrip" => {
            let a = bind(&fname, &["chars"], 0, args, kwargs)?;
            let set = strip_chars(&a, name)?;
            let pred = |c: char| match &set {
                None => py_isspace(c),
                Some(cs) => cs.contains(&c),
            };
            Ok(Value::Str(
                match name {
                    "strip" => s.trim_matches(pred),
                    "lstrip" => s.trim_start_matches(pred),
                    _ => s.trim_end_matches(pred),
                }
                .to_string(),
            ))
        }
        "removeprefix" | "removesuffix" => {
            let a = bind(&fname, &["fix"], 1, args, kwargs)?;
            let fix = a.str(0, &format!("{name}() argument"))?;
            Ok(Value::Str(
                if name == "removeprefix" {
                    s.strip_prefix(fix.as_str()).unwrap_or(s)
                } else {
                    s.strip_suffix(fix.as_str()).unwrap_or(s)
                }
                .to_string(),
            ))
        }
        "find" | "rfind" | "index" | "rindex" | "count" => {
            no_kwargs(&fname, &kwargs)?;
            let a = bind(&fname, &["sub", "start", "end"], 1, args, Vec::new())?;
            let sub: Vec<char> = match a.get(0) {
                Some(Value::Str(x)) => x.chars().collect(),
                Some(other) => {
                    return type_err(format!("must be str, not {}", other.type_name()));
                }
                None => Vec::new(),
            };
            let chars: Vec<char> = s.chars().collect();
            let (st, en, valid) = range_of(chars.len(), a.get(1), a.get(2))?;
            if name == "count" {
                if !valid {
                    return Ok(Value::Int(0));
                }
                let hay = &chars[st..en.max(st)];
                if sub.is_empty() {
                    return Ok(int_of(hay.len() + 1));
                }
                let mut n = 0;
                let mut i = 0;
                while let Some(k) = find_in(&hay[i..], &sub, false) {
                    n += 1;
                    i += k + sub.len();
                }
                return Ok(int_of(n));
            }
            let found = if valid {
                find_in(&chars[st..en.max(st)], &sub, name.starts_with('r')).map(|k| k + st)
            } else {
                None
            };
            match found {
                Some(k) => Ok(int_of(k)),
                None if name.ends_with("index") => exc(ErrorKind::Value, "substring not found"),
                None => Ok(Value::Int(-1)),
            }
        }
        "zfill" => {
            let a = bind(&fname, &["width"], 1, args, kwargs)?;
            let w = a.int_or(0, 0, "width")?;
            let len = i64::try_from(s.chars().count()).unwrap_or(0);
            if w <= len {
                return Ok(Value::Str(s.to_string()));
            }
            check_len(usize_of(w))?;
            let zeros = "0".repeat(usize_of(w - len));
            Ok(Value::Str(match s.chars().next() {
                Some(c @ ('+' | '-')) => format!("{c}{zeros}{}", &s[1..]),
                _ => format!("{zeros}{s}"),
            }))
        }
        "center" | "ljust" | "rjust" => {
            let a = bind(&fname, &["width", "fillchar"], 1, args, kwargs)?;
            let w = a.int_or(0, 0, "width")?;
            check_len(usize_of(w))?;
            let fill = fill_char(&a, 1)?;
            let align = match name {
                "ljust" => '<',
                "rjust" => '>',
                _ => 'c',
            };
            Ok(Value::Str(pad(s, w, fill, align)))
        }
        "partition" | "rpartition" => {
            let a = bind(&fname, &["sep"], 1, args, kwargs)?;
            let sep = a.str(0, "sep")?;
            if sep.is_empty() {
                return exc(ErrorKind::Value, "empty separator");
            }
            let found = if name == "partition" {
                s.find(&sep)
            } else {
                s.rfind(&sep)
            };
            let parts = match found {
                Some(i) => [&s[..i], sep.as_str(), &s[i + sep.len()..]],
                None if name == "partition" => [s, "", ""],
                None => ["", "", s],
            };
            Ok(Value::Tuple(
                parts.iter().map(|p| Value::from(*p)).collect(),
            ))
        }
        _ => not_supported(format!("str.{name} is not supported")),
    }
}

pub(crate) fn call_method(
    interp: &Interp,
    recv: &Value,
    name: &str,
    args: Vec<Value>,
    kwargs: Vec<(String, Value)>,
) -> R<Value> {
    match recv {
        Value::Str(s) => str_method(s, name, args, kwargs),
        Value::List(items) | Value::Tuple(items) => {
            let tname = recv.type_name();
            no_kwargs(name, &kwargs)?;
            match name {
                "count" => {
                    let [x] = <[Value; 1]>::try_from(args).map_err(|_| {
                        Exc::new(ErrorKind::Type, "count() takes exactly one argument")
                    })?;
                    Ok(int_of(items.iter().filter(|v| v.py_eq(&x)).count()))
                }
                "index" => {
                    let a = bind(name, &["value", "start", "stop"], 1, args, Vec::new())?;
                    let x = a.get(0).cloned().unwrap_or(Value::None);
                    let (st, en, valid) = range_of(items.len(), a.get(1), a.get(2))?;
                    let found = if valid {
                        items[st..en.max(st)]
                            .iter()
                            .position(|v| v.py_eq(&x))
                            .map(|k| k + st)
                    } else {
                        None
                    };
                    found.map(int_of).map_or_else(
                        || {
                            exc(
                                ErrorKind::Value,
                                if tname == "list" {
                                    format!("{} is not in list", x.repr())
                                } else {
                                    "tuple.index(x): x not in tuple".to_string()
                                },
                            )
                        },
                        Ok,
                    )
                }
                "copy" if args.is_empty() => Ok(recv.clone()),
                _ => type_err(format!("{tname}.{name}() got bad arguments")),
            }
        }
        Value::Dict(d) => {
            no_kwargs(name, &kwargs)?;
            match (name, args.as_slice()) {
                ("get", [k]) | ("get", [k, _]) => {
                    k.check_hashable()?;
                    Ok(d.iter().find(|(x, _)| x.py_eq(k)).map_or_else(
                        || args.get(1).cloned().unwrap_or(Value::None),
                        |(_, v)| v.clone(),
                    ))
                }
                ("keys", []) => Ok(Value::List(d.iter().map(|(k, _)| k.clone()).collect())),
                ("values", []) => Ok(Value::List(d.iter().map(|(_, v)| v.clone()).collect())),
                ("items", []) => Ok(Value::List(
                    d.iter()
                        .map(|(k, v)| Value::Tuple(vec![k.clone(), v.clone()]))
                        .collect(),
                )),
                ("copy", []) => Ok(recv.clone()),
                _ => type_err(format!("dict.{name}() got bad arguments")),
            }
        }
        Value::Set(items) => {
            no_kwargs(name, &kwargs)?;
            let others = args.iter().map(iterate).collect::<R<Vec<_>>>()?;
            let has = |set: &[Value], v: &Value| set.iter().any(|w| w.py_eq(v));
            let mut out = items.clone();
            match name {
                "copy" => {}
                "union" => {
                    for o in others {
                        for v in o {
                            set_add(&mut out, v)?;
                        }
                    }
                }
                "intersection" => {
                    for o in &others {
                        out.retain(|v| has(o, v));
                    }
                }
                "difference" => {
                    for o in &others {
                        out.retain(|v| !has(o, v));
                    }
                }
                "symmetric_difference" | "issubset" | "issuperset" | "isdisjoint" => {
                    let [o] = <[Vec<Value>; 1]>::try_from(others).map_err(|_| {
                        Exc::new(
                            ErrorKind::Type,
                            format!("set.{name}() takes exactly one argument"),
                        )
                    })?;
                    return Ok(match name {
                        "issubset" => Value::Bool(items.iter().all(|v| has(&o, v))),
                        "issuperset" => Value::Bool(o.iter().all(|v| has(items, v))),
                        "isdisjoint" => Value::Bool(!items.iter().any(|v| has(&o, v))),
                        _ => {
                            out.retain(|v| !has(&o, v));
                            for v in o.iter().filter(|v| !has(items, v)) {
                                set_add(&mut out, v.clone())?;
                            }
                            Value::Set(out)
                        }
                    });
                }
                _ => return not_supported(format!("set.{name} is not supported")),
            }
            Ok(Value::Set(out))
        }
        Value::Pattern(p) => {
            let fname = format!("Pattern.{name}");
            match name {
                "sub" | "subn" => {
                    let a = bind(&fname, &["repl", "string", "count"], 2, args, kwargs)?;
                    let text = text_arg(a.get(1))?;
                    let count = a.int_or(2, 0, "count")?;
                    let (s, n) = do_sub(interp, p, a.get(0).unwrap_or(&Value::None), &text, count)?;
                    Ok(if name == "sub" {
                        Value::Str(s)
                    } else {
                        Value::Tuple(vec![Value::Str(s), int_of(n)])
                    })
                }
                "split" => {
                    let a = bind(&fname, &["string", "maxsplit"], 1, args, kwargs)?;
                    let text = text_arg(a.get(0))?;
                    let max = a.int_or(1, 0, "maxsplit")?;
                    if max < 0 {
                        return Ok(Value::List(vec![Value::Str(text)]));
                    }
                    Ok(Value::List(p.split(&text, usize_of(max))?))
                }
                _ => {
                    let a = bind(&fname, &["string", "pos", "endpos"], 1, args, kwargs)?;
                    if a.get(1).is_some() || a.get(2).is_some() {
                        return not_supported("pos/endpos arguments are not supported");
                    }
                    let text = text_arg(a.get(0))?;
                    pattern_method(p, name, &text)
                }
            }
        }
        Value::Match(m) => match_method(m, name, args, kwargs),
        other => no_attr(other, name),
    }
}

fn match_method(m: &Match, name: &str, args: Vec<Value>, kwargs: Vec<(String, Value)>) -> R<Value> {
    match name {
        "group" => {
            no_kwargs(name, &kwargs)?;
            match args.as_slice() {
                [] => Ok(m.group_value(0)),
                [g] => Ok(m.group_value(m.group_index(g)?)),
                gs => Ok(Value::Tuple(
                    gs.iter()
                        .map(|g| m.group_index(g).map(|i| m.group_value(i)))
                        .collect::<R<Vec<_>>>()?,
                )),
            }
        }
        "groups" | "groupdict" => {
            let a = bind(name, &["default"], 0, args, kwargs)?;
            let default = a.get(0).cloned().unwrap_or(Value::None);
            if name == "groups" {
                Ok(Value::Tuple(
                    (1..=m.group_count())
                        .map(|g| m.group_value_or(g, default.clone()))
                        .collect(),
                ))
            } else {
                Ok(Value::Dict(
                    m.names
                        .iter()
                        .map(|(n, g)| {
                            (Value::Str(n.clone()), m.group_value_or(*g, default.clone()))
                        })
                        .collect(),
                ))
            }
        }
        "start" | "end" | "span" => {
            no_kwargs(name, &kwargs)?;
            let g = match args.as_slice() {
                [] => 0,
                [g] => m.group_index(g)?,
                _ => return type_err(format!("{name}() takes at most 1 argument")),
            };
            let (s, e) = m.span(g);
            Ok(match name {
                "start" => Value::Int(s),
                "end" => Value::Int(e),
                _ => Value::Tuple(vec![Value::Int(s), Value::Int(e)]),
            })
        }
        "expand" => {
            let a = bind(name, &["template"], 1, args, kwargs)?;
            let t = a.str(0, "template")?;
            let pieces = m.pattern.template(&t)?;
            Ok(Value::Str(m.expand(&pieces)))
        }
        _ => not_supported(format!("Match.{name} is not supported")),
    }
}

/// A dict entry.
type Pair = (Value, Value);

/// `fmt % args`.
#[allow(clippy::too_many_lines)]
pub(crate) fn percent_format(fmt: &str, args: &Value) -> R<String> {
    let (items, mapping): (Vec<Value>, Option<&[Pair]>) = match args {
        Value::Tuple(t) => (t.clone(), None),
        Value::Dict(d) => (vec![args.clone()], Some(d)),
        other => (vec![other.clone()], None),
    };
    let chars: Vec<char> = fmt.chars().collect();
    let mut out = String::new();
    let mut next = 0;
    let mut used_mapping = false;
    let mut i = 0;
    let take = |next: &mut usize| -> R<Value> {
        let v = items
            .get(*next)
            .cloned()
            .map_or_else(|| type_err("not enough arguments for format string"), Ok)?;
        *next += 1;
        Ok(v)
    };
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut value: Option<Value> = None;
        if chars.get(i) == Some(&'(') {
            let Some(map) = mapping else {
                return type_err("format requires a mapping");
            };
            let mut depth = 1;
            let start = i + 1;
            let mut j = start;
            while j < chars.len() && depth > 0 {
                match chars[j] {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                j += 1;
            }
            if depth > 0 {
                return exc(ErrorKind::Value, "incomplete format key");
            }
            let key: String = chars[start..j - 1].iter().collect();
            i = j;
            used_mapping = true;
            let k = Value::Str(key.clone());
            value = Some(
                map.iter()
                    .find(|(x, _)| x.py_eq(&k))
                    .map(|(_, v)| v.clone())
                    .map_or_else(|| exc(ErrorKind::Key, super::value::str_repr(&key)), Ok)?,
            );
        }
        let mut flags = String::new();
        while let Some(&f) = chars.get(i).filter(|c| "-+ #0".contains(**c)) {
            flags.push(f);
            i += 1;
        }
        let mut width = String::new();
        if chars.get(i) == Some(&'*') {
            return not_supported("'*' widths are not supported");
        }
        while let Some(&d) = chars.get(i).filter(|c| c.is_ascii_digit()) {
            width.push(d);
            i += 1;
        }
        let mut precision: Option<usize> = None;
        if chars.get(i) == Some(&'.') {
            i += 1;
            let mut p = String::new();
            while let Some(&d) = chars.get(i).filter(|c| c.is_ascii_digit()) {
                p.push(d);
                i += 1;
            }
            precision = Some(p.parse().unwrap_or(0));
        }
        while chars.get(i).is_some_and(|c| "hlL".contains(*c)) {
            i += 1;
        }
        let Some(&conv) = chars.get(i) else {
            return exc(ErrorKind::Value, "incomplete format");
        };
        i += 1;
        if conv == '%' {
            out.push('%');
            continue;
        }
        let v = match value {
            Some(v) => v,
            None => take(&mut next)?,
        };
        let left = flags.contains('-');
        let zero = flags.contains('0') && !left;
        let sign = if flags.contains('+') {
            "+"
        } else if flags.contains(' ') {
            " "
        } else {
            ""
        };
        let num = |body: String, neg: bool| -> String {
            let s = if neg { "-" } else { sign };
            let w: usize = width.parse().unwrap_or(0);
            if zero && body.len() + s.len() < w {
                format!("{s}{}{body}", "0".repeat(w - body.len() - s.len()))
            } else {
                format!("{s}{body}")
            }
        };
        let body = match conv {
            's' | 'r' | 'a' => {
                let s = if conv == 's' { v.to_string() } else { v.repr() };
                match precision {
                    Some(p) => s.chars().take(p).collect(),
                    None => s,
                }
            }
            'd' | 'i' | 'u' | 'x' | 'X' | 'o' => {
                let n = match &v {
                    Value::Int(_) | Value::Bool(_) => v.as_int().unwrap_or(0),
                    Value::Float(f) if "diu".contains(conv) => {
                        match to_int(&Value::Float(*f), None)? {
                            Value::Int(i) => i,
                            _ => 0,
                        }
                    }
                    other => {
                        return type_err(format!(
                            "%{conv} format: {} is required, not {}",
                            if "diu".contains(conv) {
                                "a real number"
                            } else {
                                "an integer"
                            },
                            other.type_name()
                        ));
                    }
                };
                let u = n.unsigned_abs();
                let mut digits = match conv {
                    'x' => format!("{u:x}"),
                    'X' => format!("{u:X}"),
                    'o' => format!("{u:o}"),
                    _ => u.to_string(),
                };
                if let Some(p) = precision
                    && digits.len() < p
                {
                    digits = format!("{}{digits}", "0".repeat(p - digits.len()));
                }
                if flags.contains('#') && conv != 'd' && conv != 'i' && conv != 'u' {
                    digits = format!("0{}{digits}", if conv == 'o' { 'o' } else { conv });
                }
                num(digits, n < 0)
            }
            'f' | 'F' | 'e' | 'E' => {
                let f = match &v {
                    Value::Float(_) | Value::Int(_) | Value::Bool(_) => to_float(&v)?,
                    other => {
                        return type_err(format!("must be real number, not {}", other.type_name()));
                    }
                };
                let p = precision.unwrap_or(6);
                let body = if conv == 'f' || conv == 'F' {
                    format!("{:.*}", p, f.abs())
                } else {
                    sci(f.abs(), p, conv == 'E')
                };
                let body = if f.is_nan() {
                    "nan".to_string()
                } else if f.is_infinite() {
                    "inf".to_string()
                } else {
                    body
                };
                num(body, f.is_sign_negative() && !f.is_nan())
            }
            'c' => match &v {
                Value::Str(s) if s.chars().count() == 1 => s.clone(),
                Value::Int(i) => u32::try_from(*i)
                    .ok()
                    .and_then(char::from_u32)
                    .map_or_else(
                        || exc(ErrorKind::Overflow, "%c arg not in range(0x110000)"),
                        |c| Ok(c.to_string()),
                    )?,
                _ => return type_err("%c requires int or char"),
            },
            'g' | 'G' => return not_supported("%g formatting is not supported"),
            other => {
                return exc(
                    ErrorKind::Value,
                    format!(
                        "unsupported format character '{other}' (0x{:x}) at index {}",
                        other as u32,
                        i - 1
                    ),
                );
            }
        };
        let w: i64 = width.parse().unwrap_or(0);
        out.push_str(&pad(&body, w, ' ', if left { '<' } else { '>' }));
    }
    if next < items.len() && mapping.is_none() && !used_mapping {
        return type_err("not all arguments converted during string formatting");
    }
    Ok(out)
}

/// Scientific notation with Python's two-digit exponent.
fn sci(f: f64, precision: usize, upper: bool) -> String {
    let s = format!("{f:.precision$e}");
    let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
    let e: i32 = e.parse().unwrap_or(0);
    let out = format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs());
    if upper { out.to_uppercase() } else { out }
}

/// Applies a format spec (`[[fill]align][sign][0][width][,][.precision][type]`).
fn format_spec(v: &Value, spec: &str) -> R<String> {
    if spec.is_empty() {
        return Ok(v.to_string());
    }
    let chars: Vec<char> = spec.chars().collect();
    let mut i = 0;
    let mut fill = ' ';
    let mut align = None;
    if chars.len() >= 2 && "<>^=".contains(chars[1]) {
        fill = chars[0];
        align = Some(chars[1]);
        i = 2;
    } else if "<>^=".contains(chars[0]) {
        align = Some(chars[0]);
        i = 1;
    }
    let mut sign = '-';
    if let Some(&c) = chars.get(i).filter(|c| "+- ".contains(**c)) {
        sign = c;
        i += 1;
    }
    if chars.get(i) == Some(&'#') {
        return not_supported("'#' in format specs is not supported");
    }
    if chars.get(i) == Some(&'0') {
        if align.is_none() {
            fill = '0';
            align = Some('=');
        }
        i += 1;
    }
    let mut width = String::new();
    while let Some(&d) = chars.get(i).filter(|c| c.is_ascii_digit()) {
        width.push(d);
        i += 1;
    }
    let mut grouping = None;
    if let Some(&g) = chars.get(i).filter(|c| **c == ',' || **c == '_') {
        grouping = Some(g);
        i += 1;
    }
    let mut precision = None;
    if chars.get(i) == Some(&'.') {
        i += 1;
        let mut p = String::new();
        while let Some(&d) = chars.get(i).filter(|c| c.is_ascii_digit()) {
            p.push(d);
            i += 1;
        }
        if p.is_empty() {
            return exc(ErrorKind::Value, "Format specifier missing precision");
        }
        precision = Some(p.parse::<usize>().unwrap_or(0));
    }
    let ty = chars.get(i).copied();
    if chars.len() > i + 1 {
        return exc(ErrorKind::Value, "Invalid format specifier");
    }
    let w: i64 = width.parse().unwrap_or(0);
    check_len(usize_of(w))?;
    let group = |digits: String| -> String {
        let Some(g) = grouping else { return digits };
        let (int_part, frac) = match digits.find('.') {
            Some(k) => (digits[..k].to_string(), digits[k..].to_string()),
            None => (digits, String::new()),
        };
        let mut out = String::new();
        for (k, c) in int_part.chars().enumerate() {
            if k > 0 && (int_part.len() - k) % 3 == 0 {
                out.push(g);
            }
            out.push(c);
        }
        out + &frac
    };
    let numeric = |body: String, neg: bool| -> String {
        let s = if neg {
            "-".to_string()
        } else if sign == '+' || sign == ' ' {
            sign.to_string()
        } else {
            String::new()
        };
        match align.unwrap_or('>') {
            '=' => {
                let len = i64::try_from(s.chars().count() + body.chars().count()).unwrap_or(0);
                let padn = usize_of(w - len);
                format!("{s}{}{body}", fill.to_string().repeat(padn))
            }
            a => pad(&format!("{s}{body}"), w, fill, a),
        }
    };
    match (v, ty) {
        (Value::Str(s), None | Some('s')) => {
            if sign != '-' || align == Some('=') || grouping.is_some() {
                return exc(ErrorKind::Value, "Invalid format specifier for string");
            }
            let s: String = match precision {
                Some(p) => s.chars().take(p).collect(),
                None => s.clone(),
            };
            Ok(pad(&s, w, fill, align.unwrap_or('<')))
        }
        (Value::Int(n), None | Some('d' | 'x' | 'X' | 'o' | 'b')) => {
            if precision.is_some() {
                return exc(
                    ErrorKind::Value,
                    "Precision not allowed in integer format specifier",
                );
            }
            let u = n.unsigned_abs();
            let body = match ty {
                Some('x') => format!("{u:x}"),
                Some('X') => format!("{u:X}"),
                Some('o') => format!("{u:o}"),
                Some('b') => format!("{u:b}"),
                _ => group(u.to_string()),
            };
            Ok(numeric(body, *n < 0))
        }
        (Value::Int(_) | Value::Float(_), Some('f' | 'F' | 'e' | 'E' | '%')) => {
            let f = to_float(v)?;
            let p = precision.unwrap_or(6);
            let body = match ty {
                Some('e' | 'E') => sci(f.abs(), p, ty == Some('E')),
                Some('%') => format!("{:.*}%", p, f.abs() * 100.0),
                _ => group(format!("{:.*}", p, f.abs())),
            };
            Ok(numeric(
                body,
                f.is_sign_negative() && f != 0.0 || (f == 0.0 && f.is_sign_negative()),
            ))
        }
        (Value::Float(f), None) if precision.is_none() => {
            Ok(numeric(group(float_repr(f.abs())), f.is_sign_negative()))
        }
        (Value::Str(_), Some(t)) => exc(
            ErrorKind::Value,
            format!("Unknown format code '{t}' for object of type 'str'"),
        ),
        (Value::Int(_), Some(t)) if t.is_ascii_alphabetic() && !"gGn".contains(t) => exc(
            ErrorKind::Value,
            format!("Unknown format code '{t}' for object of type 'int'"),
        ),
        (Value::List(_) | Value::Tuple(_) | Value::Dict(_) | Value::None | Value::Set(_), _) => {
            type_err(format!(
                "unsupported format string passed to {}.__format__",
                v.type_name()
            ))
        }
        _ => not_supported(format!(
            "the format spec '{spec}' is not supported for {}",
            v.type_name()
        )),
    }
}

/// `str.format(*args, **kwargs)`.
fn str_format(fmt: &str, args: &[Value], kwargs: &[(String, Value)]) -> R<String> {
    let chars: Vec<char> = fmt.chars().collect();
    let mut out = String::new();
    let mut auto = 0usize;
    let mut manual = false;
    let mut used_auto = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        if c == '}' {
            if chars.get(i) == Some(&'}') {
                out.push('}');
                i += 1;
                continue;
            }
            return exc(ErrorKind::Value, "Single '}' encountered in format string");
        }
        if c != '{' {
            out.push(c);
            continue;
        }
        if chars.get(i) == Some(&'{') {
            out.push('{');
            i += 1;
            continue;
        }
        let start = i;
        let mut depth = 1;
        while i < chars.len() {
            match chars[i] {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
            i += 1;
        }
        if i >= chars.len() {
            return exc(ErrorKind::Value, "expected '}' before end of string");
        }
        let field: String = chars[start..i].iter().collect();
        i += 1;
        let (field, spec) = match field.find(':') {
            Some(k) => (field[..k].to_string(), field[k + 1..].to_string()),
            None => (field, String::new()),
        };
        if spec.contains('{') {
            return not_supported("nested replacement fields are not supported");
        }
        let (name, conv) = match field.find('!') {
            Some(k) => (field[..k].to_string(), Some(field[k + 1..].to_string())),
            None => (field, None),
        };
        let first_end = name.find(['.', '[']).unwrap_or(name.len());
        let (head, rest) = name.split_at(first_end);
        let mut v = if head.is_empty() {
            if manual {
                return exc(
                    ErrorKind::Value,
                    "cannot switch from manual field specification to automatic field numbering",
                );
            }
            used_auto = true;
            let v = args.get(auto).cloned().map_or_else(
                || {
                    exc(
                        ErrorKind::Index,
                        format!("Replacement index {auto} out of range for positional args tuple"),
                    )
                },
                Ok,
            )?;
            auto += 1;
            v
        } else if head.chars().all(|c| c.is_ascii_digit()) {
            if used_auto {
                return exc(
                    ErrorKind::Value,
                    "cannot switch from automatic field numbering to manual field specification",
                );
            }
            manual = true;
            let k: usize = head.parse().unwrap_or(usize::MAX);
            args.get(k).cloned().map_or_else(
                || {
                    exc(
                        ErrorKind::Index,
                        format!("Replacement index {k} out of range for positional args tuple"),
                    )
                },
                Ok,
            )?
        } else {
            kwargs
                .iter()
                .find(|(k, _)| k == head)
                .map(|(_, v)| v.clone())
                .map_or_else(|| exc(ErrorKind::Key, super::value::str_repr(head)), Ok)?
        };
        let mut rest = rest;
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix('[') {
                let Some(close) = r.find(']') else {
                    return exc(ErrorKind::Value, "Missing ']' in format string");
                };
                let key = &r[..close];
                let k = match key.parse::<i64>() {
                    Ok(n) if !key.starts_with(['-', '+']) => Value::Int(n),
                    _ => Value::Str(key.to_string()),
                };
                v = super::eval::subscript(&v, &k)?;
                rest = &r[close + 1..];
            } else {
                return not_supported("attribute access in format fields is not supported");
            }
        }
        let v = match conv.as_deref() {
            None => v,
            Some("r") => Value::Str(v.repr()),
            Some("s") => Value::Str(v.to_string()),
            Some("a") => return not_supported("!a conversion is not supported"),
            Some(_) => return exc(ErrorKind::Value, "Unknown conversion specifier"),
        };
        let v = match (&v, spec.is_empty()) {
            (Value::Bool(b), false) => Value::Int(i64::from(*b)),
            _ => v,
        };
        out.push_str(&format_spec(&v, &spec)?);
    }
    Ok(out)
}
