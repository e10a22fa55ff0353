//! The expression evaluator against real `python3`: every case of
//! tests/fixtures/expr/corpus.txt must give the same result (compared as
//! Python `repr`, sets sorted) or raise the same exception type.
//! One python3 process runs the whole corpus.

use offlineimap::expr::{self, Env, ErrorKind, Module, Value};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

const DRIVER: &str = r#"
import sys, re, os, ast, io, types, warnings
real_stdout = sys.stdout
# Expressions that print must not disturb the one-line-per-case answers.
sys.stdout = io.StringIO()
warnings.simplefilter('ignore')
sys.setrecursionlimit(400)

def cmp(a, b):
    return (a > b) - (a < b)

def canon(v):
    if v is None or isinstance(v, (bool, int, float, str)):
        return repr(v)
    if isinstance(v, list):
        return '[' + ', '.join(map(canon, v)) + ']'
    if isinstance(v, tuple):
        return '(' + ', '.join(map(canon, v)) + (',)' if len(v) == 1 else ')')
    if isinstance(v, (set, frozenset)):
        return '{' + ', '.join(sorted(map(canon, v))) + '}' if v else 'set()'
    if isinstance(v, dict):
        return '{' + ', '.join(canon(k) + ': ' + canon(x) for k, x in v.items()) + '}'
    if isinstance(v, re.Match):
        return '<match %s %s>' % (canon(v.span()), canon((v.group(0),) + v.groups()))
    if isinstance(v, re.Pattern):
        return '<pattern %s %d>' % (canon(v.pattern), v.flags)
    if isinstance(v, types.ModuleType):
        return '<module %s>' % v.__name__
    if callable(v):
        return '<callable>'
    return '<%s>' % type(v).__name__

for line in sys.stdin:
    source, args = ast.literal_eval(line)
    ns = {'re': re, 'os': os, 'cmp': cmp}
    try:
        v = eval(source, ns)
        if args is not None:
            v = v(*eval('(' + args + ',)', ns))
        out = 'OK ' + canon(v)
    except BaseException as e:
        out = 'ERR ' + ('SyntaxError' if isinstance(e, SyntaxError) else type(e).__name__)
    real_stdout.write(out + '\n')
"#;

struct Case {
    line: usize,
    source: String,
    args: Option<String>,
    expect_unsupported: bool,
}

fn parse_corpus(text: &str) -> (Vec<Case>, usize) {
    struct Entry {
        line: usize,
        source: String,
        calls: Vec<String>,
        unsupported: bool,
    }
    let mut entries: Vec<Entry> = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        if let Some(rest) = raw.strip_prefix("expr!: ") {
            entries.push(Entry {
                line: n + 1,
                source: rest.to_string(),
                calls: Vec::new(),
                unsupported: true,
            });
        } else if let Some(rest) = raw.strip_prefix("expr: ") {
            entries.push(Entry {
                line: n + 1,
                source: rest.to_string(),
                calls: Vec::new(),
                unsupported: false,
            });
        } else if let Some(rest) = raw.strip_prefix("|") {
            let e = entries.last_mut().expect("continuation before any expr");
            e.source.push('\n');
            e.source.push_str(rest.strip_prefix(' ').unwrap_or(rest));
        } else if let Some(rest) = raw.strip_prefix("call: ") {
            let e = entries.last_mut().expect("call before any expr");
            e.calls.push(rest.to_string());
        } else {
            assert!(
                raw.trim().is_empty() || raw.starts_with('#'),
                "corpus line {} not understood: {raw}",
                n + 1
            );
        }
    }
    let count = entries.len();
    let mut cases = Vec::new();
    for e in entries {
        if e.calls.is_empty() {
            cases.push(Case {
                line: e.line,
                source: e.source,
                args: None,
                expect_unsupported: e.unsupported,
            });
        } else {
            for c in e.calls {
                cases.push(Case {
                    line: e.line,
                    source: e.source.clone(),
                    args: Some(c),
                    expect_unsupported: e.unsupported,
                });
            }
        }
    }
    (cases, count)
}

/// Our rendering of a value, as the driver's `canon`.
fn canon(v: &Value) -> String {
    let seq = |items: &[Value]| items.iter().map(canon).collect::<Vec<_>>().join(", ");
    match v {
        Value::List(items) => format!("[{}]", seq(items)),
        Value::Tuple(items) if items.len() == 1 => format!("({},)", canon(&items[0])),
        Value::Tuple(items) => format!("({})", seq(items)),
        Value::Set(items) if items.is_empty() => "set()".into(),
        Value::Set(items) => {
            let mut parts: Vec<String> = items.iter().map(canon).collect();
            parts.sort();
            format!("{{{}}}", parts.join(", "))
        }
        Value::Dict(pairs) => format!(
            "{{{}}}",
            pairs
                .iter()
                .map(|(k, x)| format!("{}: {}", canon(k), canon(x)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Match(m) => {
            let (s, e) = m.char_span(0).unwrap();
            let groups: Vec<Value> = (0..=m.groups_len())
                .map(|g| m.group(g).map_or(Value::None, Value::from))
                .collect();
            format!("<match ({s}, {e}) {}>", canon(&Value::Tuple(groups)))
        }
        Value::Pattern(p) => format!(
            "<pattern {} {}>",
            canon(&Value::from(p.pattern())),
            p.flags()
        ),
        Value::Module(m) => format!(
            "<module {}>",
            match m {
                Module::Re => "re",
                Module::Os => "os",
                Module::OsPath => "posixpath",
            }
        ),
        Value::Function(_) => "<callable>".into(),
        other => other.repr(),
    }
}

fn run_ours(case: &Case) -> Result<String, expr::ExprError> {
    let env = Env::with_os();
    let value = expr::compile(&case.source)?.eval(&env)?;
    let value = match &case.args {
        None => value,
        Some(args) => {
            let args = expr::compile(&format!("({args},)"))
                .and_then(|a| a.eval(&env))
                .expect("corpus call arguments must evaluate");
            let Value::Tuple(args) = args else {
                panic!("arguments are not a tuple")
            };
            value.call(&args)?
        }
    };
    Ok(canon(&value))
}

fn outcome(r: &Result<String, expr::ExprError>) -> String {
    match r {
        Ok(s) => format!("OK {s}"),
        Err(e) => format!(
            "ERR {}",
            match e.kind() {
                ErrorKind::Regex => "error",
                k => k.python_name(),
            }
        ),
    }
}

fn python_outcomes(cases: &[Case]) -> Vec<String> {
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(DRIVER)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 must be installed to check the expression evaluator (it is not optional)");
    let mut input = String::new();
    for c in cases {
        let src = Value::from(c.source.as_str()).repr();
        let args = c
            .args
            .as_deref()
            .map_or("None".to_string(), |a| Value::from(a).repr());
        input.push_str(&format!("({src}, {args})\n"));
    }
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()).unwrap());
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(
        out.status.success(),
        "python3 driver failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(
        lines.len(),
        cases.len(),
        "python3 answered a different number of cases"
    );
    lines
}

#[test]
fn expr_evaluator_agrees_with_python3_on_the_corpus() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/expr/corpus.txt");
    let text = std::fs::read_to_string(&path).unwrap();
    let (cases, entries) = parse_corpus(&text);
    assert!(entries >= 300, "the corpus has only {entries} expressions");
    let python = python_outcomes(&cases);
    let mut failures = Vec::new();
    let mut unsupported = 0;
    for (case, py) in cases.iter().zip(&python) {
        let ours = run_ours(case);
        let call = case
            .args
            .as_deref()
            .map(|a| format!(" called with ({a})"))
            .unwrap_or_default();
        if case.expect_unsupported {
            unsupported += 1;
            if !matches!(&ours, Err(e) if e.is_not_supported()) {
                failures.push(format!(
                    "line {}: {:?}{call}: expected NotSupported, got {}",
                    case.line,
                    case.source,
                    outcome(&ours)
                ));
            }
            continue;
        }
        let ours_s = outcome(&ours);
        if ours_s != *py {
            let detail = match &ours {
                Err(e) => format!("\n    ours: {e}"),
                Ok(_) => String::new(),
            };
            failures.push(format!(
                "line {}: {:?}{call}\n    python: {py}\n    ours:   {ours_s}{detail}",
                case.line, case.source
            ));
        }
    }
    eprintln!(
        "expr corpus: {entries} expressions, {} cases, {unsupported} expected NotSupported, {} mismatches",
        cases.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
