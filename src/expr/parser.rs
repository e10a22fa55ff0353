//! Recursive-descent parser from tokens to the expression tree, following
//! Python 3's expression grammar and operator precedence.

use super::lexer::{Tok, Token, tokenize};
use super::value::Value;
use super::{ErrorKind, Span, SyntaxErr};
use std::sync::Arc;

/// Deeper nesting than this is refused rather than risking the stack.
const MAX_DEPTH: usize = 100;

#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub kind: NodeKind,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    FloorDiv,
    Mod,
    Pow,
    BitOr,
    BitXor,
    BitAnd,
    LShift,
    RShift,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    In,
    NotIn,
    Is,
    IsNot,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UnOp {
    Neg,
    Pos,
    Not,
    Invert,
}

#[derive(Debug, Clone)]
pub(crate) enum Target {
    Name(String),
    Tuple(Vec<Target>),
}

#[derive(Debug, Clone)]
pub(crate) struct CompFor {
    pub target: Target,
    pub iter: Node,
    pub conds: Vec<Node>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CompKind {
    List,
    Set,
    Gen,
}

#[derive(Debug)]
pub(crate) struct LambdaDef {
    pub params: Vec<String>,
    pub defaults: Vec<Option<Node>>,
    pub body: Node,
}

#[derive(Debug, Clone)]
pub(crate) enum NodeKind {
    Const(Value),
    Name(String),
    List(Vec<Node>),
    Tuple(Vec<Node>),
    Set(Vec<Node>),
    Dict(Vec<(Node, Node)>),
    Comp(CompKind, Box<Node>, Vec<CompFor>),
    DictComp(Box<(Node, Node)>, Vec<CompFor>),
    Attr(Box<Node>, String),
    Call(Box<Node>, Vec<Node>, Vec<(String, Node)>),
    Index(Box<Node>, Box<Node>),
    Slice(Option<Box<Node>>, Option<Box<Node>>, Option<Box<Node>>),
    Unary(UnOp, Box<Node>),
    Bin(BinOp, Box<Node>, Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Compare(Box<Node>, Vec<(CmpOp, Node)>),
    IfExp(Box<Node>, Box<Node>, Box<Node>),
    Lambda(Arc<LambdaDef>),
}

#[rustfmt::skip]
const KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

pub(crate) fn parse(src: &str) -> Result<Node, SyntaxErr> {
    let toks = tokenize(src)?;
    let mut p = Parser {
        toks,
        pos: 0,
        depth: 0,
    };
    if matches!(p.peek(), Tok::End | Tok::Newline) {
        return Err(p.error("unexpected EOF: the expression is empty"));
    }
    let node = p.expressions()?;
    while matches!(p.peek(), Tok::Newline) {
        p.pos += 1;
    }
    if !matches!(p.peek(), Tok::End) {
        return Err(p.error("invalid syntax"));
    }
    Ok(node)
}

/// Positional and keyword arguments of a call.
type CallArgs = (Vec<Node>, Vec<(String, Node)>);

struct Parser {
    toks: Vec<Token>,
    pos: usize,
    depth: usize,
}

fn span(a: Span, b: Span) -> Span {
    Span {
        start: a.start,
        end: b.end.max(a.start),
    }
}

impl Parser {
    fn peek(&self) -> &Tok {
        &self.toks[self.pos.min(self.toks.len() - 1)].tok
    }

    fn peek_at(&self, k: usize) -> &Tok {
        &self.toks[(self.pos + k).min(self.toks.len() - 1)].tok
    }

    fn cur_span(&self) -> Span {
        self.toks[self.pos.min(self.toks.len() - 1)].span
    }

    fn prev_span(&self) -> Span {
        self.toks[self.pos.saturating_sub(1)].span
    }

    fn error(&self, msg: &str) -> SyntaxErr {
        SyntaxErr {
            kind: ErrorKind::Syntax,
            msg: msg.to_string(),
            span: self.cur_span(),
        }
    }

    fn unsupported(&self, msg: &str) -> SyntaxErr {
        SyntaxErr {
            kind: ErrorKind::NotSupported,
            msg: msg.to_string(),
            span: self.cur_span(),
        }
    }

    fn is_op(&self, op: &str) -> bool {
        matches!(self.peek(), Tok::Op(o) if *o == op)
    }

    fn is_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Tok::Name(n) if n == kw)
    }

    fn eat_op(&mut self, op: &str) -> bool {
        if self.is_op(op) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.is_kw(kw) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect_op(&mut self, op: &str) -> Result<(), SyntaxErr> {
        if self.eat_op(op) {
            Ok(())
        } else {
            Err(self.error(&format!("invalid syntax: expected '{op}'")))
        }
    }

    fn enter(&mut self) -> Result<(), SyntaxErr> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.unsupported("expression nested too deeply"));
        }
        Ok(())
    }

    /// Whether the next token can end an element list (`)`, `]`, ...).
    fn at_closer(&self) -> bool {
        matches!(
            self.peek(),
            Tok::Op(")" | "]" | "}" | "=" | ":") | Tok::End | Tok::Newline
        ) || self.is_kw("for")
    }

    /// `a, b, c` at top level or in parentheses: a tuple when there is a comma.
    fn expressions(&mut self) -> Result<Node, SyntaxErr> {
        let first = self.expr()?;
        if !self.is_op(",") {
            return Ok(first);
        }
        let start = first.span;
        let mut items = vec![first];
        while self.eat_op(",") {
            if self.at_closer() {
                break;
            }
            items.push(self.expr()?);
        }
        Ok(Node {
            kind: NodeKind::Tuple(items),
            span: span(start, self.prev_span()),
        })
    }

    fn expr(&mut self) -> Result<Node, SyntaxErr> {
        self.enter()?;
        let r = self.expr_inner();
        self.depth -= 1;
        r
    }

    fn expr_inner(&mut self) -> Result<Node, SyntaxErr> {
        if self.is_op("*") {
            return Err(self.unsupported("starred expressions are not supported"));
        }
        if self.is_kw("lambda") {
            return self.lambda();
        }
        let start = self.cur_span();
        let body = self.or_test()?;
        if self.is_op(":=") {
            return Err(self.unsupported("assignment expressions are not supported"));
        }
        if !self.eat_kw("if") {
            return Ok(body);
        }
        let test = self.or_test()?;
        if !self.eat_kw("else") {
            return Err(self.error("expected 'else' after 'if' expression"));
        }
        let orelse = self.expr()?;
        Ok(Node {
            span: span(start, orelse.span),
            kind: NodeKind::IfExp(Box::new(test), Box::new(body), Box::new(orelse)),
        })
    }

    fn lambda(&mut self) -> Result<Node, SyntaxErr> {
        let start = self.cur_span();
        self.pos += 1;
        let mut params: Vec<String> = Vec::new();
        let mut defaults = Vec::new();
        while !self.is_op(":") {
            if self.is_op("*") || self.is_op("**") || self.is_op("/") {
                return Err(self.unsupported("*args, **kwargs and / in lambdas are not supported"));
            }
            let Tok::Name(name) = self.peek().clone() else {
                return Err(self.error("invalid syntax in lambda parameters"));
            };
            if KEYWORDS.contains(&name.as_str()) {
                return Err(self.error("invalid syntax in lambda parameters"));
            }
            if params.contains(&name) {
                return Err(self.error(&format!(
                    "duplicate argument '{name}' in function definition"
                )));
            }
            self.pos += 1;
            params.push(name);
            if self.eat_op("=") {
                defaults.push(Some(self.expr()?));
            } else if defaults.iter().any(Option::is_some) {
                return Err(
                    self.error("parameter without a default follows parameter with a default")
                );
            } else {
                defaults.push(None);
            }
            if !self.eat_op(",") {
                break;
            }
        }
        self.expect_op(":")?;
        let body = self.expr()?;
        Ok(Node {
            span: span(start, body.span),
            kind: NodeKind::Lambda(Arc::new(LambdaDef {
                params,
                defaults,
                body,
            })),
        })
    }

    fn or_test(&mut self) -> Result<Node, SyntaxErr> {
        let mut left = self.and_test()?;
        while self.eat_kw("or") {
            let right = self.and_test()?;
            left = Node {
                span: span(left.span, right.span),
                kind: NodeKind::Or(Box::new(left), Box::new(right)),
            };
        }
        Ok(left)
    }

    fn and_test(&mut self) -> Result<Node, SyntaxErr> {
        let mut left = self.not_test()?;
        while self.eat_kw("and") {
            let right = self.not_test()?;
            left = Node {
                span: span(left.span, right.span),
                kind: NodeKind::And(Box::new(left), Box::new(right)),
            };
        }
        Ok(left)
    }

    fn not_test(&mut self) -> Result<Node, SyntaxErr> {
        if self.is_kw("not") {
            let start = self.cur_span();
            self.pos += 1;
            self.enter()?;
            let operand = self.not_test();
            self.depth -= 1;
            let operand = operand?;
            return Ok(Node {
                span: span(start, operand.span),
                kind: NodeKind::Unary(UnOp::Not, Box::new(operand)),
            });
        }
        self.comparison()
    }

    fn cmp_op(&mut self) -> Option<CmpOp> {
        let op = match self.peek() {
            Tok::Op("<") => CmpOp::Lt,
            Tok::Op("<=") => CmpOp::Le,
            Tok::Op(">") => CmpOp::Gt,
            Tok::Op(">=") => CmpOp::Ge,
            Tok::Op("==") => CmpOp::Eq,
            Tok::Op("!=") => CmpOp::Ne,
            Tok::Name(n) if n == "in" => CmpOp::In,
            Tok::Name(n) if n == "is" => {
                if matches!(self.peek_at(1), Tok::Name(m) if m == "not") {
                    self.pos += 1;
                    CmpOp::IsNot
                } else {
                    CmpOp::Is
                }
            }
            Tok::Name(n) if n == "not" && matches!(self.peek_at(1), Tok::Name(m) if m == "in") => {
                self.pos += 1;
                CmpOp::NotIn
            }
            _ => return None,
        };
        self.pos += 1;
        Some(op)
    }

    fn comparison(&mut self) -> Result<Node, SyntaxErr> {
        let left = self.binary(0)?;
        let mut rest = Vec::new();
        while let Some(op) = self.cmp_op() {
            rest.push((op, self.binary(0)?));
        }
        if rest.is_empty() {
            return Ok(left);
        }
        let end = rest.last().map_or(left.span, |(_, n)| n.span);
        Ok(Node {
            span: span(left.span, end),
            kind: NodeKind::Compare(Box::new(left), rest),
        })
    }

    /// Binary operators by precedence level, loosest first.
    fn binary(&mut self, level: usize) -> Result<Node, SyntaxErr> {
        const LEVELS: &[&[(&str, BinOp)]] = &[
            &[("|", BinOp::BitOr)],
            &[("^", BinOp::BitXor)],
            &[("&", BinOp::BitAnd)],
            &[("<<", BinOp::LShift), (">>", BinOp::RShift)],
            &[("+", BinOp::Add), ("-", BinOp::Sub)],
            &[
                ("*", BinOp::Mul),
                ("/", BinOp::Div),
                ("//", BinOp::FloorDiv),
                ("%", BinOp::Mod),
            ],
        ];
        if level == LEVELS.len() {
            return self.factor();
        }
        let mut left = self.binary(level + 1)?;
        loop {
            if self.is_op("@") {
                return Err(self.unsupported("the @ operator is not supported"));
            }
            let Some(op) = LEVELS[level]
                .iter()
                .find(|(s, _)| self.is_op(s))
                .map(|(_, op)| *op)
            else {
                return Ok(left);
            };
            self.pos += 1;
            let right = self.binary(level + 1)?;
            left = Node {
                span: span(left.span, right.span),
                kind: NodeKind::Bin(op, Box::new(left), Box::new(right)),
            };
        }
    }

    fn factor(&mut self) -> Result<Node, SyntaxErr> {
        let op = match self.peek() {
            Tok::Op("-") => Some(UnOp::Neg),
            Tok::Op("+") => Some(UnOp::Pos),
            Tok::Op("~") => Some(UnOp::Invert),
            _ => None,
        };
        if let Some(op) = op {
            let start = self.cur_span();
            self.pos += 1;
            self.enter()?;
            let operand = self.factor();
            self.depth -= 1;
            let operand = operand?;
            return Ok(Node {
                span: span(start, operand.span),
                kind: NodeKind::Unary(op, Box::new(operand)),
            });
        }
        let base = self.primary()?;
        if self.eat_op("**") {
            self.enter()?;
            let exp = self.factor();
            self.depth -= 1;
            let exp = exp?;
            return Ok(Node {
                span: span(base.span, exp.span),
                kind: NodeKind::Bin(BinOp::Pow, Box::new(base), Box::new(exp)),
            });
        }
        Ok(base)
    }

    fn primary(&mut self) -> Result<Node, SyntaxErr> {
        if self.is_kw("await") {
            return Err(self.unsupported("await is not supported"));
        }
        let mut node = self.atom()?;
        loop {
            if self.eat_op(".") {
                let Tok::Name(name) = self.peek().clone() else {
                    return Err(self.error("invalid syntax: expected an attribute name"));
                };
                self.pos += 1;
                node = Node {
                    span: span(node.span, self.prev_span()),
                    kind: NodeKind::Attr(Box::new(node), name),
                };
            } else if self.is_op("(") {
                let open = self.cur_span();
                self.pos += 1;
                let (args, kwargs) = self.call_args()?;
                node = Node {
                    // Errors in a call point at its opening parenthesis.
                    span: Span {
                        start: open.start,
                        end: self.prev_span().end,
                    },
                    kind: NodeKind::Call(Box::new(node), args, kwargs),
                };
            } else if self.is_op("[") {
                let open = self.cur_span();
                self.pos += 1;
                let index = self.subscript()?;
                self.expect_op("]")?;
                node = Node {
                    // Like calls, subscript errors point at the bracket.
                    span: span(open, self.prev_span()),
                    kind: NodeKind::Index(Box::new(node), Box::new(index)),
                };
            } else {
                return Ok(node);
            }
        }
    }

    fn call_args(&mut self) -> Result<CallArgs, SyntaxErr> {
        let mut args = Vec::new();
        let mut kwargs: Vec<(String, Node)> = Vec::new();
        while !self.eat_op(")") {
            if self.is_op("*") || self.is_op("**") {
                return Err(self.unsupported("*args and **kwargs in calls are not supported"));
            }
            if let (Tok::Name(name), Tok::Op("=")) = (self.peek().clone(), self.peek_at(1)) {
                self.pos += 2;
                if kwargs.iter().any(|(k, _)| *k == name) {
                    return Err(self.error(&format!("keyword argument repeated: {name}")));
                }
                kwargs.push((name, self.expr()?));
            } else {
                if !kwargs.is_empty() {
                    return Err(self.error("positional argument follows keyword argument"));
                }
                let arg = self.expr()?;
                if self.is_kw("for") {
                    let start = arg.span;
                    let fors = self.comp_fors()?;
                    args.push(Node {
                        span: span(start, self.prev_span()),
                        kind: NodeKind::Comp(CompKind::Gen, Box::new(arg), fors),
                    });
                    // Python requires a lone generator argument here.
                    if args.len() > 1 || !self.is_op(")") {
                        return Err(self.error("Generator expression must be parenthesized"));
                    }
                } else {
                    args.push(arg);
                }
            }
            if !self.eat_op(",") {
                self.expect_op(")")?;
                break;
            }
        }
        Ok((args, kwargs))
    }

    fn subscript(&mut self) -> Result<Node, SyntaxErr> {
        let start = self.cur_span();
        let mut parts: [Option<Box<Node>>; 3] = [None, None, None];
        let mut colons = 0;
        loop {
            if !self.is_op(":") && !self.is_op("]") && !self.is_op(",") {
                parts[colons] = Some(Box::new(self.expr()?));
            }
            if colons < 2 && self.eat_op(":") {
                colons += 1;
            } else {
                break;
            }
        }
        if self.is_op(",") {
            return Err(self.unsupported("tuple subscripts are not supported"));
        }
        let [a, b, c] = parts;
        if colons == 0 {
            return a
                .map(|n| *n)
                .ok_or_else(|| self.error("invalid syntax: empty subscript"));
        }
        Ok(Node {
            span: span(start, self.prev_span()),
            kind: NodeKind::Slice(a, b, c),
        })
    }

    fn comp_fors(&mut self) -> Result<Vec<CompFor>, SyntaxErr> {
        let mut fors = Vec::new();
        while self.eat_kw("for") {
            let target = self.target()?;
            if !self.eat_kw("in") {
                return Err(self.error("invalid syntax: expected 'in'"));
            }
            let iter = self.or_test()?;
            let mut conds = Vec::new();
            while self.eat_kw("if") {
                conds.push(self.or_test()?);
            }
            fors.push(CompFor {
                target,
                iter,
                conds,
            });
        }
        if self.is_kw("async") {
            return Err(self.unsupported("async comprehensions are not supported"));
        }
        Ok(fors)
    }

    fn target(&mut self) -> Result<Target, SyntaxErr> {
        let mut items = vec![self.target_atom()?];
        let mut tuple = false;
        while self.eat_op(",") {
            tuple = true;
            if self.is_kw("in") {
                break;
            }
            items.push(self.target_atom()?);
        }
        Ok(if tuple {
            Target::Tuple(items)
        } else {
            items.remove(0)
        })
    }

    fn target_atom(&mut self) -> Result<Target, SyntaxErr> {
        if self.eat_op("(") || self.eat_op("[") {
            let close = if matches!(self.toks[self.pos - 1].tok, Tok::Op("(")) {
                ")"
            } else {
                "]"
            };
            let inner = self.target()?;
            self.expect_op(close)?;
            return Ok(match inner {
                t @ Target::Tuple(_) => t,
                t => Target::Tuple(vec![t]).flatten_single(close == ")"),
            });
        }
        match self.peek().clone() {
            Tok::Name(n) if !KEYWORDS.contains(&n.as_str()) => {
                self.pos += 1;
                Ok(Target::Name(n))
            }
            _ => Err(self.error("invalid syntax: cannot assign to this in a comprehension")),
        }
    }

    fn atom(&mut self) -> Result<Node, SyntaxErr> {
        let sp = self.cur_span();
        let tok = self.peek().clone();
        let node = |kind| Node { kind, span: sp };
        match tok {
            Tok::Int(i) => {
                self.pos += 1;
                Ok(node(NodeKind::Const(Value::Int(i))))
            }
            Tok::Float(f) => {
                self.pos += 1;
                Ok(node(NodeKind::Const(Value::Float(f))))
            }
            Tok::Str(_) => {
                let mut s = String::new();
                let mut end = sp;
                while let Tok::Str(part) = self.peek() {
                    s.push_str(part);
                    end = self.cur_span();
                    self.pos += 1;
                }
                Ok(Node {
                    kind: NodeKind::Const(Value::Str(s)),
                    span: span(sp, end),
                })
            }
            Tok::Name(n) => {
                let kind = match n.as_str() {
                    "None" => NodeKind::Const(Value::None),
                    "True" => NodeKind::Const(Value::Bool(true)),
                    "False" => NodeKind::Const(Value::Bool(false)),
                    "yield" | "await" => {
                        return Err(self.unsupported(&format!("'{n}' is not supported")));
                    }
                    k if KEYWORDS.contains(&k) => return Err(self.error("invalid syntax")),
                    _ => NodeKind::Name(n),
                };
                self.pos += 1;
                Ok(node(kind))
            }
            Tok::Op("(") => {
                self.pos += 1;
                self.enter()?;
                let r = self.paren(sp);
                self.depth -= 1;
                r
            }
            Tok::Op("[") => {
                self.pos += 1;
                self.enter()?;
                let r = self.bracket(sp);
                self.depth -= 1;
                r
            }
            Tok::Op("{") => {
                self.pos += 1;
                self.enter()?;
                let r = self.brace(sp);
                self.depth -= 1;
                r
            }
            Tok::Op("...") => Err(self.unsupported("Ellipsis is not supported")),
            Tok::End | Tok::Newline => {
                Err(self.error("invalid syntax: unexpected end of expression"))
            }
            Tok::Op(_) => Err(self.error("invalid syntax")),
        }
    }

    fn paren(&mut self, open: Span) -> Result<Node, SyntaxErr> {
        if self.eat_op(")") {
            return Ok(Node {
                kind: NodeKind::Tuple(Vec::new()),
                span: span(open, self.prev_span()),
            });
        }
        if self.is_kw("yield") {
            return Err(self.unsupported("'yield' is not supported"));
        }
        let first = self.expr()?;
        if self.is_kw("for") {
            let fors = self.comp_fors()?;
            self.expect_op(")")?;
            return Ok(Node {
                kind: NodeKind::Comp(CompKind::Gen, Box::new(first), fors),
                span: span(open, self.prev_span()),
            });
        }
        if self.eat_op(")") {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.eat_op(",") {
            if self.is_op(")") {
                break;
            }
            items.push(self.expr()?);
        }
        self.expect_op(")")?;
        Ok(Node {
            kind: NodeKind::Tuple(items),
            span: span(open, self.prev_span()),
        })
    }

    fn bracket(&mut self, open: Span) -> Result<Node, SyntaxErr> {
        let mut items = Vec::new();
        if !self.is_op("]") {
            let first = self.expr()?;
            if self.is_kw("for") {
                let fors = self.comp_fors()?;
                self.expect_op("]")?;
                return Ok(Node {
                    kind: NodeKind::Comp(CompKind::List, Box::new(first), fors),
                    span: span(open, self.prev_span()),
                });
            }
            items.push(first);
            while self.eat_op(",") {
                if self.is_op("]") {
                    break;
                }
                items.push(self.expr()?);
            }
        }
        self.expect_op("]")?;
        Ok(Node {
            kind: NodeKind::List(items),
            span: span(open, self.prev_span()),
        })
    }

    fn brace(&mut self, open: Span) -> Result<Node, SyntaxErr> {
        if self.eat_op("}") {
            return Ok(Node {
                kind: NodeKind::Dict(Vec::new()),
                span: span(open, self.prev_span()),
            });
        }
        if self.is_op("**") {
            return Err(self.unsupported("** in dict displays is not supported"));
        }
        let first = self.expr()?;
        if self.eat_op(":") {
            let value = self.expr()?;
            if self.is_kw("for") {
                let fors = self.comp_fors()?;
                self.expect_op("}")?;
                return Ok(Node {
                    kind: NodeKind::DictComp(Box::new((first, value)), fors),
                    span: span(open, self.prev_span()),
                });
            }
            let mut pairs = vec![(first, value)];
            while self.eat_op(",") {
                if self.is_op("}") {
                    break;
                }
                if self.is_op("**") {
                    return Err(self.unsupported("** in dict displays is not supported"));
                }
                let k = self.expr()?;
                self.expect_op(":")?;
                pairs.push((k, self.expr()?));
            }
            self.expect_op("}")?;
            return Ok(Node {
                kind: NodeKind::Dict(pairs),
                span: span(open, self.prev_span()),
            });
        }
        if self.is_kw("for") {
            let fors = self.comp_fors()?;
            self.expect_op("}")?;
            return Ok(Node {
                kind: NodeKind::Comp(CompKind::Set, Box::new(first), fors),
                span: span(open, self.prev_span()),
            });
        }
        let mut items = vec![first];
        while self.eat_op(",") {
            if self.is_op("}") {
                break;
            }
            items.push(self.expr()?);
        }
        self.expect_op("}")?;
        Ok(Node {
            kind: NodeKind::Set(items),
            span: span(open, self.prev_span()),
        })
    }
}

impl Target {
    /// `(x)` is just `x`; `[x]` is a one-element unpacking.
    fn flatten_single(self, paren: bool) -> Target {
        match self {
            Target::Tuple(mut v) if paren && v.len() == 1 => v.remove(0),
            t => t,
        }
    }
}
