//! A small evaluator for the subset of Python expressions that
//! offlineimaprc files use (folderfilter, nametrans, foldersort, `*eval`
//! options): lambdas, literals, operators, string methods, `re` and
//! `os.path` basics. Expressions are compiled once (so a bad lambda is
//! reported at start-up) and evaluated many times.
//!
//! Anything outside the subset fails with [`ErrorKind::NotSupported`], which
//! a caller can tell apart from a Python-level error and hand to a real
//! `python3` instead. See docs/expressions.md.

mod builtins;
mod eval;
mod lexer;
mod parser;
mod pyregex;
mod value;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

pub use pyregex::{Match, Pattern};
pub use value::{Function, Module, Value};

/// Byte range in the expression's source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub start: usize,
    pub end: usize,
}

/// What went wrong. Every kind but [`ErrorKind::NotSupported`] is something
/// real Python would raise too (named by [`ErrorKind::python_name`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The evaluator does not implement this construct; real Python might.
    NotSupported,
    Syntax,
    Name,
    Type,
    Value,
    Index,
    Key,
    ZeroDivision,
    Attribute,
    /// `re.error`: a pattern Python's `re` module rejects.
    Regex,
    Recursion,
    Overflow,
}

impl ErrorKind {
    /// The Python exception this kind stands for.
    pub fn python_name(self) -> &'static str {
        match self {
            ErrorKind::NotSupported => "NotSupported",
            ErrorKind::Syntax => "SyntaxError",
            ErrorKind::Name => "NameError",
            ErrorKind::Type => "TypeError",
            ErrorKind::Value => "ValueError",
            ErrorKind::Index => "IndexError",
            ErrorKind::Key => "KeyError",
            ErrorKind::ZeroDivision => "ZeroDivisionError",
            ErrorKind::Attribute => "AttributeError",
            ErrorKind::Regex => "re.error",
            ErrorKind::Recursion => "RecursionError",
            ErrorKind::Overflow => "OverflowError",
        }
    }
}

/// An error while compiling or evaluating an expression. Its `Display` is
/// one line of message, then the expression's line and a caret under the
/// failing column.
#[derive(Debug, Clone, thiserror::Error)]
pub struct ExprError {
    kind: ErrorKind,
    message: String,
    source_text: Arc<str>,
    span: Option<Span>,
}

impl ExprError {
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message without location, e.g. `name 'x' is not defined`.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// True when the construct is outside the supported subset (so a real
    /// Python might evaluate it).
    pub fn is_not_supported(&self) -> bool {
        self.kind == ErrorKind::NotSupported
    }

    /// 1-based line and column (in characters) of the failing spot.
    pub fn position(&self) -> Option<(usize, usize)> {
        let span = self.span?;
        let at = span.start.min(self.source_text.len());
        let before = self.source_text.get(..at)?;
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Some((line, before[line_start..].chars().count() + 1))
    }
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = if self.kind == ErrorKind::NotSupported {
            "not supported by the built-in evaluator"
        } else {
            self.kind.python_name()
        };
        write!(f, "{what}: {}", self.message)?;
        let Some((line, col)) = self.position() else {
            return Ok(());
        };
        write!(f, " (line {line}, column {col})")?;
        if let Some(text) = self.source_text.lines().nth(line - 1) {
            let text = text.replace('\t', " ");
            write!(f, "\n  {text}\n  {}^", " ".repeat(col - 1))?;
        }
        Ok(())
    }
}

/// An error raised inside the evaluator before it knows its location.
#[derive(Debug, Clone)]
pub(crate) struct Exc {
    pub kind: ErrorKind,
    pub msg: String,
    pub loc: Option<(Arc<str>, Span)>,
}

impl Exc {
    pub fn new(kind: ErrorKind, msg: impl Into<String>) -> Exc {
        Exc {
            kind,
            msg: msg.into(),
            loc: None,
        }
    }

    fn into_error(self, fallback_src: &Arc<str>) -> ExprError {
        let (source_text, span) = match self.loc {
            Some((src, span)) => (src, Some(span)),
            None => (fallback_src.clone(), None),
        };
        ExprError {
            kind: self.kind,
            message: self.msg,
            source_text,
            span,
        }
    }
}

pub(crate) type R<T> = Result<T, Exc>;

pub(crate) fn exc<T>(kind: ErrorKind, msg: impl Into<String>) -> R<T> {
    Err(Exc::new(kind, msg))
}

/// Lexer/parser error with its location.
#[derive(Debug, Clone)]
pub(crate) struct SyntaxErr {
    pub kind: ErrorKind,
    pub msg: String,
    pub span: Span,
}

/// The global names an expression sees besides the builtins. OfflineIMAP
/// evaluates with `re` in scope (and whatever `pythonfile` defines).
#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: HashMap<String, Value>,
}

impl Env {
    /// Only the builtins.
    pub fn new() -> Env {
        Env::default()
    }

    /// What OfflineIMAP gives folderfilter, nametrans and friends: `re`.
    pub fn offlineimap() -> Env {
        let mut env = Env::new();
        env.set("re", Value::Module(Module::Re));
        env
    }

    /// `re` and `os` (for `os.path.*`), as a pythonfile importing both would.
    pub fn with_os() -> Env {
        let mut env = Env::offlineimap();
        env.set("os", Value::Module(Module::Os));
        env
    }

    pub fn set(&mut self, name: impl Into<String>, value: Value) {
        self.vars.insert(name.into(), value);
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.vars.get(name)
    }
}

/// A parsed expression, ready to evaluate many times.
#[derive(Debug, Clone)]
pub struct Expr {
    src: Arc<str>,
    node: Arc<parser::Node>,
}

/// Parses `source` as a Python expression (what `eval()` accepts).
pub fn compile(source: &str) -> Result<Expr, ExprError> {
    let src: Arc<str> = Arc::from(source);
    let node = parser::parse(source).map_err(|e| ExprError {
        kind: e.kind,
        message: e.msg,
        source_text: src.clone(),
        span: Some(e.span),
    })?;
    Ok(Expr {
        src,
        node: Arc::new(node),
    })
}

impl Expr {
    pub fn source(&self) -> &str {
        &self.src
    }

    /// The number of parameters when the expression is a lambda.
    pub fn lambda_arity(&self) -> Option<usize> {
        match &self.node.kind {
            parser::NodeKind::Lambda(def) => Some(def.params.len()),
            _ => None,
        }
    }

    /// Evaluates the expression with `env`'s globals.
    pub fn eval(&self, env: &Env) -> Result<Value, ExprError> {
        let interp = eval::Interp::new(env);
        interp
            .eval_root(&self.node, &self.src)
            .map_err(|e| e.into_error(&self.src))
    }

    /// Evaluates the expression (normally a lambda) and calls the result
    /// with `args`.
    pub fn call(&self, env: &Env, args: &[Value]) -> Result<Value, ExprError> {
        let f = self.eval(env)?;
        let interp = eval::Interp::new(env);
        interp
            .call(&f, args.to_vec(), Vec::new())
            .map_err(|e| e.into_error(&self.src))
    }
}

impl Value {
    /// Calls a function value (a lambda returned by [`Expr::eval`], or a
    /// builtin) with positional `args`.
    pub fn call(&self, args: &[Value]) -> Result<Value, ExprError> {
        let env = Env::new();
        let interp = eval::Interp::new(&env);
        let src: Arc<str> = Arc::from("");
        interp
            .call(self, args.to_vec(), Vec::new())
            .map_err(|e| e.into_error(&src))
    }
}
