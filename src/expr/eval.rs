//! Tree-walking evaluator: names and scopes, operators with Python's
//! semantics (short-circuit `and`/`or` returning operands, chained
//! comparisons, `%` formatting), subscripts and slices, comprehensions,
//! lambdas and calls.

use super::builtins;
use super::parser::{BinOp, CmpOp, CompFor, CompKind, Node, NodeKind, Target, UnOp};
use super::value::{Closure, FuncKind, Function, Module, Value};
use super::{Env, ErrorKind, Exc, R, Span, exc};
use std::cell::Cell;
use std::cmp::Ordering;
use std::sync::Arc;

/// Lambda calls nested deeper than this raise RecursionError (Python's
/// limit is higher, but our stack is smaller).
const MAX_CALL_DEPTH: usize = 60;

/// Results longer than this are refused rather than exhausting memory.
pub(crate) const MAX_LEN: usize = 10_000_000;

pub(crate) type Scope = Vec<(String, Value)>;

pub(crate) struct Interp {
    globals: Arc<Env>,
    depth: Cell<usize>,
}

/// Where the code being evaluated comes from, for error locations.
struct Cx<'a> {
    src: &'a Arc<str>,
    globals: &'a Arc<Env>,
}

impl Exc {
    fn at(mut self, src: &Arc<str>, span: Span) -> Exc {
        if self.loc.is_none() {
            self.loc = Some((src.clone(), span));
        }
        self
    }
}

fn type_err<T>(msg: impl Into<String>) -> R<T> {
    exc(ErrorKind::Type, msg)
}

fn overflow<T>() -> R<T> {
    exc(
        ErrorKind::NotSupported,
        "integer result too large for the built-in evaluator",
    )
}

impl Interp {
    pub(crate) fn new(env: &Env) -> Interp {
        Interp {
            globals: Arc::new(env.clone()),
            depth: Cell::new(0),
        }
    }

    pub(crate) fn eval_root(&self, node: &Node, src: &Arc<str>) -> R<Value> {
        let cx = Cx {
            src,
            globals: &self.globals.clone(),
        };
        self.eval(&cx, node, &mut Vec::new())
    }

    fn eval(&self, cx: &Cx, node: &Node, scope: &mut Scope) -> R<Value> {
        self.eval_inner(cx, node, scope)
            .map_err(|e| e.at(cx.src, node.span))
    }

    fn lookup(&self, cx: &Cx, name: &str, scope: &Scope) -> R<Value> {
        if let Some((_, v)) = scope.iter().rev().find(|(n, _)| n == name) {
            return Ok(v.clone());
        }
        if let Some(v) = cx.globals.get(name) {
            return Ok(v.clone());
        }
        builtins::lookup(name)
    }

    fn eval_all(&self, cx: &Cx, nodes: &[Node], scope: &mut Scope) -> R<Vec<Value>> {
        nodes.iter().map(|n| self.eval(cx, n, scope)).collect()
    }

    fn eval_inner(&self, cx: &Cx, node: &Node, scope: &mut Scope) -> R<Value> {
        Ok(match &node.kind {
            NodeKind::Const(v) => v.clone(),
            NodeKind::Name(n) => self.lookup(cx, n, scope)?,
            NodeKind::List(items) => Value::List(self.eval_all(cx, items, scope)?),
            NodeKind::Tuple(items) => Value::Tuple(self.eval_all(cx, items, scope)?),
            NodeKind::Set(items) => {
                let mut set = Vec::new();
                for v in self.eval_all(cx, items, scope)? {
                    set_add(&mut set, v)?;
                }
                Value::Set(set)
            }
            NodeKind::Dict(pairs) => {
                let mut d = Vec::new();
                for (k, v) in pairs {
                    let k = self.eval(cx, k, scope)?;
                    let v = self.eval(cx, v, scope)?;
                    dict_set(&mut d, k, v)?;
                }
                Value::Dict(d)
            }
            NodeKind::Comp(kind, elt, fors) => {
                let mut out = Vec::new();
                self.comprehension(cx, fors, scope, &mut |me, scope| {
                    out.push(me.eval(cx, elt, scope)?);
                    Ok(true)
                })?;
                match kind {
                    CompKind::List | CompKind::Gen => Value::List(out),
                    CompKind::Set => {
                        let mut set = Vec::new();
                        for v in out {
                            set_add(&mut set, v)?;
                        }
                        Value::Set(set)
                    }
                }
            }
            NodeKind::DictComp(kv, fors) => {
                let mut d = Vec::new();
                self.comprehension(cx, fors, scope, &mut |me, scope| {
                    let k = me.eval(cx, &kv.0, scope)?;
                    let v = me.eval(cx, &kv.1, scope)?;
                    dict_set(&mut d, k, v)?;
                    Ok(true)
                })?;
                Value::Dict(d)
            }
            NodeKind::Attr(obj, name) => {
                let obj = self.eval(cx, obj, scope)?;
                builtins::attribute(obj, name)?
            }
            NodeKind::Call(func, args, kwargs) => {
                let f = self.eval(cx, func, scope)?;
                if let (
                    Value::Function(Function(FuncKind::Builtin(name @ ("any" | "all")))),
                    [arg],
                    [],
                ) = (&f, args.as_slice(), kwargs.as_slice())
                    && let NodeKind::Comp(CompKind::Gen, elt, fors) = &arg.kind
                {
                    return self.any_all(cx, *name == "any", elt, fors, scope);
                }
                let args = self.eval_all(cx, args, scope)?;
                let mut kw = Vec::with_capacity(kwargs.len());
                for (k, v) in kwargs {
                    kw.push((k.clone(), self.eval(cx, v, scope)?));
                }
                self.call(&f, args, kw)?
            }
            NodeKind::Index(obj, index) => {
                let obj = self.eval(cx, obj, scope)?;
                if let NodeKind::Slice(a, b, c) = &index.kind {
                    let mut bound = |n: &Option<Box<Node>>| -> R<Option<Value>> {
                        match n {
                            Some(n) => Ok(Some(self.eval(cx, n, scope)?)),
                            None => Ok(None),
                        }
                    };
                    let (a, b, c) = (bound(a)?, bound(b)?, bound(c)?);
                    return slice(&obj, a, b, c);
                }
                let index = self.eval(cx, index, scope)?;
                subscript(&obj, &index)?
            }
            NodeKind::Slice(..) => return exc(ErrorKind::Syntax, "invalid syntax"),
            NodeKind::Unary(op, operand) => {
                let v = self.eval(cx, operand, scope)?;
                unary(*op, v)?
            }
            NodeKind::Bin(op, a, b) => {
                let a = self.eval(cx, a, scope)?;
                let b = self.eval(cx, b, scope)?;
                binary(*op, a, b)?
            }
            NodeKind::And(a, b) => {
                let a = self.eval(cx, a, scope)?;
                if a.truthy() {
                    self.eval(cx, b, scope)?
                } else {
                    a
                }
            }
            NodeKind::Or(a, b) => {
                let a = self.eval(cx, a, scope)?;
                if a.truthy() {
                    a
                } else {
                    self.eval(cx, b, scope)?
                }
            }
            NodeKind::Compare(first, rest) => {
                let mut left = self.eval(cx, first, scope)?;
                for (op, right) in rest {
                    let right_v = self.eval(cx, right, scope)?;
                    if !compare(*op, &left, &right_v).map_err(|e| e.at(cx.src, right.span))? {
                        return Ok(Value::Bool(false));
                    }
                    left = right_v;
                }
                Value::Bool(true)
            }
            NodeKind::IfExp(test, body, orelse) => {
                if self.eval(cx, test, scope)?.truthy() {
                    self.eval(cx, body, scope)?
                } else {
                    self.eval(cx, orelse, scope)?
                }
            }
            NodeKind::Lambda(def) => {
                let mut defaults = Vec::with_capacity(def.defaults.len());
                for d in &def.defaults {
                    defaults.push(match d {
                        Some(n) => Some(self.eval(cx, n, scope)?),
                        None => None,
                    });
                }
                Value::Function(Function(FuncKind::Lambda(Arc::new(Closure {
                    def: def.clone(),
                    defaults,
                    captured: scope.clone(),
                    globals: cx.globals.clone(),
                    src: cx.src.clone(),
                }))))
            }
        })
    }

    /// `any(... for ...)` / `all(... for ...)`: lazy, as Python's
    /// generators are, so they stop at the first decisive element.
    fn any_all(
        &self,
        cx: &Cx,
        any: bool,
        elt: &Node,
        fors: &[CompFor],
        scope: &mut Scope,
    ) -> R<Value> {
        let mut result = !any;
        self.comprehension(cx, fors, scope, &mut |me, scope| {
            if me.eval(cx, elt, scope)?.truthy() == any {
                result = any;
                return Ok(false);
            }
            Ok(true)
        })?;
        Ok(Value::Bool(result))
    }

    /// Runs `body` for each binding of the `for` clauses; `body` returns
    /// false to stop early. Returns false when stopped.
    fn comprehension(
        &self,
        cx: &Cx,
        fors: &[CompFor],
        scope: &mut Scope,
        body: &mut dyn FnMut(&Self, &mut Scope) -> R<bool>,
    ) -> R<bool> {
        let Some((first, rest)) = fors.split_first() else {
            return body(self, scope);
        };
        let iterable = self.eval(cx, &first.iter, scope)?;
        let items = builtins::iterate(&iterable).map_err(|e| e.at(cx.src, first.iter.span))?;
        'items: for item in items {
            let mark = scope.len();
            bind(&first.target, item, scope).map_err(|e| e.at(cx.src, first.iter.span))?;
            for cond in &first.conds {
                if !self.eval(cx, cond, scope)?.truthy() {
                    scope.truncate(mark);
                    continue 'items;
                }
            }
            let go_on = self.comprehension(cx, rest, scope, body);
            scope.truncate(mark);
            if !go_on? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Calls any callable value.
    pub(crate) fn call(
        &self,
        f: &Value,
        args: Vec<Value>,
        kwargs: Vec<(String, Value)>,
    ) -> R<Value> {
        let Value::Function(Function(kind)) = f else {
            return type_err(format!("'{}' object is not callable", f.type_name()));
        };
        match kind {
            FuncKind::Lambda(closure) => self.call_lambda(closure, args, kwargs),
            FuncKind::Builtin(name) => builtins::call_builtin(self, name, args, kwargs),
            FuncKind::Method(recv, name) => builtins::call_method(self, recv, name, args, kwargs),
            FuncKind::Unbound(ty, name) => {
                let mut args = args.into_iter();
                let Some(recv) = args.next() else {
                    return type_err(format!("unbound method {ty}.{name}() needs an argument"));
                };
                if recv.type_name() != *ty {
                    return type_err(format!(
                        "descriptor '{name}' for '{ty}' objects doesn't apply to a '{}' object",
                        recv.type_name()
                    ));
                }
                builtins::call_method(self, &recv, name, args.collect(), kwargs)
            }
        }
    }

    fn call_lambda(&self, c: &Closure, args: Vec<Value>, kwargs: Vec<(String, Value)>) -> R<Value> {
        let params = &c.def.params;
        if args.len() > params.len() {
            let n = params.len();
            return type_err(format!(
                "<lambda>() takes {n} positional argument{} but {} {} given",
                if n == 1 { "" } else { "s" },
                args.len(),
                if args.len() == 1 { "was" } else { "were" }
            ));
        }
        let mut bound: Vec<Option<Value>> = args.into_iter().map(Some).collect();
        bound.resize(params.len(), None);
        for (k, v) in kwargs {
            let Some(i) = params.iter().position(|p| *p == k) else {
                return type_err(format!(
                    "<lambda>() got an unexpected keyword argument '{k}'"
                ));
            };
            if bound[i].is_some() {
                return type_err(format!("<lambda>() got multiple values for argument '{k}'"));
            }
            bound[i] = Some(v);
        }
        let mut scope = c.captured.clone();
        let mut missing = Vec::new();
        for (i, p) in params.iter().enumerate() {
            match bound[i].take().or_else(|| c.defaults[i].clone()) {
                Some(v) => scope.push((p.clone(), v)),
                None => missing.push(format!("'{p}'")),
            }
        }
        if !missing.is_empty() {
            return type_err(format!(
                "<lambda>() missing {} required positional argument{}: {}",
                missing.len(),
                if missing.len() == 1 { "" } else { "s" },
                missing.join(" and ")
            ));
        }
        let depth = self.depth.get();
        if depth >= MAX_CALL_DEPTH {
            return exc(ErrorKind::Recursion, "maximum recursion depth exceeded");
        }
        self.depth.set(depth + 1);
        let cx = Cx {
            src: &c.src,
            globals: &c.globals,
        };
        let r = self.eval(&cx, &c.def.body, &mut scope);
        self.depth.set(depth);
        r
    }
}

fn bind(target: &Target, value: Value, scope: &mut Scope) -> R<()> {
    match target {
        Target::Name(n) => {
            scope.push((n.clone(), value));
            Ok(())
        }
        Target::Tuple(targets) => {
            let items = builtins::iterate(&value).map_err(|_| {
                Exc::new(
                    ErrorKind::Type,
                    format!("cannot unpack non-iterable {} object", value.type_name()),
                )
            })?;
            if items.len() != targets.len() {
                return exc(
                    ErrorKind::Value,
                    if items.len() < targets.len() {
                        format!(
                            "not enough values to unpack (expected {}, got {})",
                            targets.len(),
                            items.len()
                        )
                    } else {
                        format!("too many values to unpack (expected {})", targets.len())
                    },
                );
            }
            for (t, v) in targets.iter().zip(items) {
                bind(t, v, scope)?;
            }
            Ok(())
        }
    }
}

pub(crate) fn set_add(set: &mut Vec<Value>, v: Value) -> R<()> {
    v.check_hashable()?;
    if !set.iter().any(|x| x.py_eq(&v)) {
        set.push(v);
    }
    Ok(())
}

pub(crate) fn dict_set(d: &mut Vec<(Value, Value)>, k: Value, v: Value) -> R<()> {
    k.check_hashable()?;
    match d.iter_mut().find(|(x, _)| x.py_eq(&k)) {
        Some(slot) => slot.1 = v,
        None => d.push((k, v)),
    }
    Ok(())
}

pub(crate) fn contains(container: &Value, item: &Value) -> R<bool> {
    match container {
        Value::Str(s) => match item {
            Value::Str(sub) => Ok(s.contains(sub.as_str())),
            other => type_err(format!(
                "'in <string>' requires string as left operand, not {}",
                other.type_name()
            )),
        },
        Value::List(v) | Value::Tuple(v) => Ok(v.iter().any(|x| x.py_eq(item))),
        Value::Set(v) => {
            item.check_hashable()?;
            Ok(v.iter().any(|x| x.py_eq(item)))
        }
        Value::Dict(d) => {
            item.check_hashable()?;
            Ok(d.iter().any(|(k, _)| k.py_eq(item)))
        }
        other => type_err(format!(
            "argument of type '{}' is not iterable",
            other.type_name()
        )),
    }
}

fn compare(op: CmpOp, a: &Value, b: &Value) -> R<bool> {
    let order = |want: fn(Ordering) -> bool, sym: &str| -> R<bool> {
        if let (Value::Set(x), Value::Set(y)) = (a, b) {
            let sub =
                |p: &Vec<Value>, q: &Vec<Value>| p.iter().all(|v| q.iter().any(|w| w.py_eq(v)));
            return Ok(match sym {
                "<" => sub(x, y) && x.len() < y.len(),
                "<=" => sub(x, y),
                ">" => sub(y, x) && x.len() > y.len(),
                _ => sub(y, x),
            });
        }
        match a.py_cmp(b) {
            Ok(Some(o)) => Ok(want(o)),
            Ok(None) => Ok(false),
            Err(()) => type_err(format!(
                "'{sym}' not supported between instances of '{}' and '{}'",
                a.type_name(),
                b.type_name()
            )),
        }
    };
    match op {
        CmpOp::Eq => Ok(a.py_eq(b)),
        CmpOp::Ne => Ok(!a.py_eq(b)),
        CmpOp::Lt => order(Ordering::is_lt, "<"),
        CmpOp::Le => order(Ordering::is_le, "<="),
        CmpOp::Gt => order(Ordering::is_gt, ">"),
        CmpOp::Ge => order(Ordering::is_ge, ">="),
        CmpOp::In => contains(b, a),
        CmpOp::NotIn => contains(b, a).map(|x| !x),
        CmpOp::Is => identical(a, b),
        CmpOp::IsNot => identical(a, b).map(|x| !x),
    }
}

/// `is`: exact for singletons, modules and functions; Python's answer for
/// other values depends on object caching, so those are not supported.
fn identical(a: &Value, b: &Value) -> R<bool> {
    use Value as V;
    match (a, b) {
        (V::None, V::None) => Ok(true),
        (V::Bool(x), V::Bool(y)) => Ok(x == y),
        (V::None | V::Bool(_), _) | (_, V::None | V::Bool(_)) => Ok(false),
        (V::Module(x), V::Module(y)) => Ok(x == y),
        (V::Function(_), V::Function(_)) => Ok(a.py_eq(b)),
        _ if a.type_name() != b.type_name() => Ok(false),
        _ => exc(
            ErrorKind::NotSupported,
            "'is' between values other than None, True and False is not supported",
        ),
    }
}

fn unary(op: UnOp, v: Value) -> R<Value> {
    Ok(match (op, &v) {
        (UnOp::Not, _) => Value::Bool(!v.truthy()),
        (UnOp::Neg, Value::Int(_) | Value::Bool(_)) => {
            match v.as_int().and_then(i64::checked_neg) {
                Some(i) => Value::Int(i),
                None => return overflow(),
            }
        }
        (UnOp::Neg, Value::Float(f)) => Value::Float(-f),
        (UnOp::Pos, Value::Int(_) | Value::Bool(_)) => Value::Int(v.as_int().unwrap_or(0)),
        (UnOp::Pos, Value::Float(f)) => Value::Float(*f),
        (UnOp::Invert, Value::Int(_) | Value::Bool(_)) => Value::Int(!v.as_int().unwrap_or(0)),
        _ => {
            let sym = match op {
                UnOp::Neg => "-",
                UnOp::Pos => "+",
                _ => "~",
            };
            return type_err(format!(
                "bad operand type for unary {sym}: '{}'",
                v.type_name()
            ));
        }
    })
}

fn float_of(v: &Value) -> Option<f64> {
    match v {
        Value::Float(f) => Some(*f),
        #[allow(clippy::cast_precision_loss)]
        Value::Int(_) | Value::Bool(_) => v.as_int().map(|i| i as f64),
        _ => None,
    }
}

fn is_int(v: &Value) -> bool {
    matches!(v, Value::Int(_) | Value::Bool(_))
}

fn repeat(items: &[Value], n: i64) -> R<Vec<Value>> {
    let n = usize::try_from(n).unwrap_or(0);
    if items.len().saturating_mul(n) > MAX_LEN {
        return exc(ErrorKind::NotSupported, "result too large");
    }
    Ok(items
        .iter()
        .cloned()
        .cycle()
        .take(items.len() * n)
        .collect())
}

pub(crate) fn binary(op: BinOp, a: Value, b: Value) -> R<Value> {
    use Value as V;
    let sym = match op {
        BinOp::Add => "+",
        BinOp::Sub => "-",
        BinOp::Mul => "*",
        BinOp::Div => "/",
        BinOp::FloorDiv => "//",
        BinOp::Mod => "%",
        BinOp::Pow => "** or pow()",
        BinOp::BitOr => "|",
        BinOp::BitXor => "^",
        BinOp::BitAnd => "&",
        BinOp::LShift => "<<",
        BinOp::RShift => ">>",
    };
    let unsupported = |a: &Value, b: &Value| -> R<Value> {
        type_err(format!(
            "unsupported operand type(s) for {sym}: '{}' and '{}'",
            a.type_name(),
            b.type_name()
        ))
    };
    if op == BinOp::Mod
        && let V::Str(fmt) = &a
    {
        return builtins::percent_format(fmt, &b).map(V::Str);
    }
    if is_int(&a) && is_int(&b) {
        let (x, y) = (a.as_int().unwrap_or(0), b.as_int().unwrap_or(0));
        let bools = matches!((&a, &b), (V::Bool(_), V::Bool(_)));
        let r = match op {
            BinOp::Add => x.checked_add(y),
            BinOp::Sub => x.checked_sub(y),
            BinOp::Mul => x.checked_mul(y),
            BinOp::Div => {
                if y == 0 {
                    return exc(ErrorKind::ZeroDivision, "division by zero");
                }
                #[allow(clippy::cast_precision_loss)]
                return Ok(V::Float(x as f64 / y as f64));
            }
            BinOp::FloorDiv | BinOp::Mod => {
                if y == 0 {
                    return exc(
                        ErrorKind::ZeroDivision,
                        if op == BinOp::Mod {
                            "integer modulo by zero"
                        } else {
                            "integer division or modulo by zero"
                        },
                    );
                }
                let (q, r) = (x.checked_div_euclid(y), x.checked_rem_euclid(y));
                let (Some(mut q), Some(mut r)) = (q, r) else {
                    return overflow();
                };
                // Python rounds the quotient toward minus infinity.
                if r != 0 && y < 0 {
                    q += 1;
                    r += y;
                }
                Some(if op == BinOp::Mod { r } else { q })
            }
            BinOp::Pow => {
                if y < 0 {
                    #[allow(clippy::cast_precision_loss)]
                    return Ok(V::Float((x as f64).powf(y as f64)));
                }
                u32::try_from(y).ok().and_then(|e| x.checked_pow(e))
            }
            BinOp::BitOr if bools => return Ok(V::Bool(x != 0 || y != 0)),
            BinOp::BitAnd if bools => return Ok(V::Bool(x != 0 && y != 0)),
            BinOp::BitXor if bools => return Ok(V::Bool((x != 0) ^ (y != 0))),
            BinOp::BitOr => Some(x | y),
            BinOp::BitAnd => Some(x & y),
            BinOp::BitXor => Some(x ^ y),
            BinOp::LShift | BinOp::RShift => {
                if y < 0 {
                    return exc(ErrorKind::Value, "negative shift count");
                }
                if op == BinOp::RShift {
                    Some(x >> y.min(63))
                } else {
                    u32::try_from(y)
                        .ok()
                        .filter(|s| *s < 63)
                        .and_then(|s| x.checked_mul(1i64 << s))
                }
            }
        };
        return r.map_or_else(overflow, |i| Ok(V::Int(i)));
    }
    if let (Some(x), Some(y)) = (float_of(&a), float_of(&b))
        && !matches!(
            op,
            BinOp::BitOr | BinOp::BitAnd | BinOp::BitXor | BinOp::LShift | BinOp::RShift
        )
    {
        return Ok(V::Float(match op {
            BinOp::Add => x + y,
            BinOp::Sub => x - y,
            BinOp::Mul => x * y,
            BinOp::Div | BinOp::FloorDiv | BinOp::Mod if y == 0.0 => {
                return exc(ErrorKind::ZeroDivision, "float division by zero");
            }
            BinOp::Div => x / y,
            BinOp::FloorDiv => (x / y).floor(),
            BinOp::Mod => {
                let r = x % y;
                if r != 0.0 && (r < 0.0) != (y < 0.0) {
                    r + y
                } else {
                    r
                }
            }
            _ => {
                if x == 0.0 && y < 0.0 {
                    return exc(
                        ErrorKind::ZeroDivision,
                        "0.0 cannot be raised to a negative power",
                    );
                }
                let r = x.powf(y);
                if r.is_nan() && !x.is_nan() && !y.is_nan() {
                    return exc(ErrorKind::NotSupported, "complex results are not supported");
                }
                if r.is_infinite() && x.is_finite() && y.is_finite() {
                    return exc(ErrorKind::Overflow, "(34, 'Numerical result out of range')");
                }
                r
            }
        }));
    }
    match (op, &a, &b) {
        (BinOp::Add, V::Str(x), V::Str(y)) => Ok(V::Str(format!("{x}{y}"))),
        (BinOp::Add, V::Str(_), other) => type_err(format!(
            "can only concatenate str (not \"{}\") to str",
            other.type_name()
        )),
        (BinOp::Add, V::List(x), V::List(y)) => Ok(V::List([x.as_slice(), y].concat())),
        (BinOp::Add, V::List(_), other) => type_err(format!(
            "can only concatenate list (not \"{}\") to list",
            other.type_name()
        )),
        (BinOp::Add, V::Tuple(x), V::Tuple(y)) => Ok(V::Tuple([x.as_slice(), y].concat())),
        (BinOp::Add, V::Tuple(_), other) => type_err(format!(
            "can only concatenate tuple (not \"{}\") to tuple",
            other.type_name()
        )),
        (BinOp::Mul, V::Str(s), n) | (BinOp::Mul, n, V::Str(s)) if is_int(n) => {
            let n = usize::try_from(n.as_int().unwrap_or(0)).unwrap_or(0);
            if s.len().saturating_mul(n) > MAX_LEN {
                return exc(ErrorKind::NotSupported, "result too large");
            }
            Ok(V::Str(s.repeat(n)))
        }
        (BinOp::Mul, V::List(v), n) | (BinOp::Mul, n, V::List(v)) if is_int(n) => {
            Ok(V::List(repeat(v, n.as_int().unwrap_or(0))?))
        }
        (BinOp::Mul, V::Tuple(v), n) | (BinOp::Mul, n, V::Tuple(v)) if is_int(n) => {
            Ok(V::Tuple(repeat(v, n.as_int().unwrap_or(0))?))
        }
        (BinOp::Mul, V::Str(_) | V::List(_) | V::Tuple(_), other)
        | (BinOp::Mul, other, V::Str(_) | V::List(_) | V::Tuple(_)) => type_err(format!(
            "can't multiply sequence by non-int of type '{}'",
            other.type_name()
        )),
        (BinOp::Sub, V::Set(x), V::Set(y)) => Ok(V::Set(
            x.iter()
                .filter(|v| !y.iter().any(|w| w.py_eq(v)))
                .cloned()
                .collect(),
        )),
        (BinOp::BitAnd, V::Set(x), V::Set(y)) => Ok(V::Set(
            x.iter()
                .filter(|v| y.iter().any(|w| w.py_eq(v)))
                .cloned()
                .collect(),
        )),
        (BinOp::BitOr, V::Set(x), V::Set(y)) => {
            let mut s = x.clone();
            for v in y {
                set_add(&mut s, v.clone())?;
            }
            Ok(V::Set(s))
        }
        (BinOp::BitXor, V::Set(x), V::Set(y)) => {
            let mut s: Vec<Value> = x
                .iter()
                .filter(|v| !y.iter().any(|w| w.py_eq(v)))
                .cloned()
                .collect();
            s.extend(y.iter().filter(|v| !x.iter().any(|w| w.py_eq(v))).cloned());
            Ok(V::Set(s))
        }
        (BinOp::BitOr, V::Dict(x), V::Dict(y)) => {
            let mut d = x.clone();
            for (k, v) in y {
                dict_set(&mut d, k.clone(), v.clone())?;
            }
            Ok(V::Dict(d))
        }
        _ => unsupported(&a, &b),
    }
}

/// Python's index normalisation for one position.
fn seq_index(len: usize, index: &Value, what: &str) -> R<usize> {
    let Some(i) = index.as_int() else {
        return type_err(format!(
            "{what} indices must be integers or slices, not {}",
            index.type_name()
        ));
    };
    let n = i64::try_from(len).unwrap_or(i64::MAX);
    let j = if i < 0 { i + n } else { i };
    if j < 0 || j >= n {
        return exc(ErrorKind::Index, format!("{what} index out of range"));
    }
    usize::try_from(j).map_or_else(
        |_| exc(ErrorKind::Index, format!("{what} index out of range")),
        Ok,
    )
}

pub(crate) fn subscript(obj: &Value, index: &Value) -> R<Value> {
    match obj {
        Value::Str(s) => {
            let chars: Vec<char> = s.chars().collect();
            let i = if index.as_int().is_some() {
                seq_index(chars.len(), index, "string")?
            } else {
                return type_err(format!(
                    "string indices must be integers, not '{}'",
                    index.type_name()
                ));
            };
            Ok(Value::Str(chars[i].to_string()))
        }
        Value::List(v) => Ok(v[seq_index(v.len(), index, "list")?].clone()),
        Value::Tuple(v) => Ok(v[seq_index(v.len(), index, "tuple")?].clone()),
        Value::Dict(d) => {
            index.check_hashable()?;
            d.iter()
                .find(|(k, _)| k.py_eq(index))
                .map(|(_, v)| v.clone())
                .map_or_else(|| exc(ErrorKind::Key, index.repr()), Ok)
        }
        Value::Match(m) => Ok(m.group_value(m.group_index(index)?)),
        Value::Module(Module::Re | Module::Os | Module::OsPath)
        | Value::Set(_)
        | Value::Function(_) => {
            type_err(format!("'{}' object is not subscriptable", obj.type_name()))
        }
        _ => type_err(format!("'{}' object is not subscriptable", obj.type_name())),
    }
}

/// Python's `slice.indices()` followed by the selection.
fn slice_positions(
    len: usize,
    a: Option<Value>,
    b: Option<Value>,
    c: Option<Value>,
) -> R<Vec<usize>> {
    let as_int = |v: &Option<Value>| -> R<Option<i64>> {
        match v {
            None | Some(Value::None) => Ok(None),
            Some(v) => v.as_int().map(Some).map_or_else(
                || type_err("slice indices must be integers or None or have an __index__ method"),
                Ok,
            ),
        }
    };
    let n = i64::try_from(len).unwrap_or(i64::MAX);
    let step = as_int(&c)?.unwrap_or(1);
    if step == 0 {
        return exc(ErrorKind::Value, "slice step cannot be zero");
    }
    let clamp = |v: Option<i64>, default: i64| -> i64 {
        match v {
            None => default,
            Some(i) => {
                let i = if i < 0 { i + n } else { i };
                if step > 0 {
                    i.clamp(0, n)
                } else {
                    i.clamp(-1, n - 1)
                }
            }
        }
    };
    let (start, stop) = if step > 0 {
        (clamp(as_int(&a)?, 0), clamp(as_int(&b)?, n))
    } else {
        (clamp(as_int(&a)?, n - 1), clamp(as_int(&b)?, -1))
    };
    let mut out = Vec::new();
    let mut i = start;
    while (step > 0 && i < stop) || (step < 0 && i > stop) {
        out.push(usize::try_from(i).unwrap_or(0));
        i += step;
    }
    Ok(out)
}

pub(crate) fn slice(obj: &Value, a: Option<Value>, b: Option<Value>, c: Option<Value>) -> R<Value> {
    match obj {
        Value::Str(s) => {
            let chars: Vec<char> = s.chars().collect();
            let pos = slice_positions(chars.len(), a, b, c)?;
            Ok(Value::Str(pos.into_iter().map(|i| chars[i]).collect()))
        }
        Value::List(v) => Ok(Value::List(
            slice_positions(v.len(), a, b, c)?
                .into_iter()
                .map(|i| v[i].clone())
                .collect(),
        )),
        Value::Tuple(v) => Ok(Value::Tuple(
            slice_positions(v.len(), a, b, c)?
                .into_iter()
                .map(|i| v[i].clone())
                .collect(),
        )),
        Value::Dict(_) => type_err("unhashable type: 'slice'"),
        _ => type_err(format!("'{}' object is not subscriptable", obj.type_name())),
    }
}
