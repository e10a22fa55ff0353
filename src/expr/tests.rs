//! Unit tests for the expression evaluator, one group per construct.
//! (The corpus test in tests/integration/expr_python.rs checks the same
//! ground against a real python3.)

use super::*;

fn ev(src: &str) -> Value {
    compile(src)
        .and_then(|e| e.eval(&Env::with_os()))
        .unwrap_or_else(|e| panic!("{src}: {e}"))
}

fn repr(src: &str) -> String {
    ev(src).repr()
}

fn err(src: &str) -> ExprError {
    match compile(src).and_then(|e| e.eval(&Env::with_os())) {
        Ok(v) => panic!("{src} gave {} instead of an error", v.repr()),
        Err(e) => e,
    }
}

fn call(src: &str, args: &[Value]) -> Value {
    compile(src)
        .and_then(|e| e.call(&Env::offlineimap(), args))
        .unwrap_or_else(|e| panic!("{src}: {e}"))
}

#[test]
fn literals() {
    assert_eq!(repr("'a' \"b\" '''c'''"), "'abc'");
    assert_eq!(repr(r"r'\d\n'"), r"'\\d\\n'");
    assert_eq!(
        repr(r"'\x41\u00e9\101\t'"),
        "'Aé\\x41\\t'".replace("\\x41", "A")
    );
    assert_eq!(
        repr("[1, (2,), {3}, {'k': None}, True, 1.5]"),
        "[1, (2,), {3}, {'k': None}, True, 1.5]"
    );
    assert_eq!(repr("0x10 + 0o10 + 0b10 + 1_000"), "1026");
    assert_eq!(repr("1e22"), "1e+22");
    assert_eq!(repr("1e-5"), "1e-05");
    assert_eq!(repr("\"it's\""), "\"it's\"");
    assert_eq!(repr("()"), "()");
    assert_eq!(repr("set()"), "set()");
}

#[test]
fn boolean_operators_short_circuit_and_return_operands() {
    assert_eq!(repr("0 or '' or 'x'"), "'x'");
    assert_eq!(repr("1 and [] and 2"), "[]");
    assert_eq!(repr("1 or 1/0"), "1");
    assert_eq!(repr("0 and 1/0"), "0");
    assert_eq!(repr("not []"), "True");
    assert_eq!(repr("'y' if 0 else 'n'"), "'n'");
}

#[test]
fn comparisons_chain_and_membership() {
    assert_eq!(repr("1 < 2 < 3"), "True");
    assert_eq!(repr("1 < 3 < 2"), "False");
    assert_eq!(repr("'a' in 'cat' and 'z' not in ['a']"), "True");
    assert_eq!(repr("None is None and 1 is not None"), "True");
    assert_eq!(repr("[1, 2] < [1, 3] and (1, 'a') == (1, 'a')"), "True");
    assert_eq!(err("1 < 'a'").kind(), ErrorKind::Type);
    assert_eq!(err("1 in 2").kind(), ErrorKind::Type);
}

#[test]
fn arithmetic_follows_python() {
    assert_eq!(
        repr("-7 // 2, -7 % 3, 7 / 2, 2 ** 10, 2 ** -1"),
        "(-4, 2, 3.5, 1024, 0.5)"
    );
    assert_eq!(repr("'ab' * 2 + 'c'"), "'ababc'");
    assert_eq!(repr("[1] + [2] * 2"), "[1, 2, 2]");
    assert_eq!(err("1 / 0").kind(), ErrorKind::ZeroDivision);
    assert_eq!(err("'a' + 1").kind(), ErrorKind::Type);
    assert!(err("9223372036854775807 + 1").is_not_supported());
}

#[test]
fn percent_and_format() {
    assert_eq!(
        repr("'%s-%05d|%-3s|%.2f' % ('a', 42, 'b', 3.14159)"),
        "'a-00042|b  |3.14'"
    );
    assert_eq!(repr("'%(n)s' % {'n': 1}"), "'1'");
    assert_eq!(err("'%s %s' % ('a',)").kind(), ErrorKind::Type);
    assert_eq!(
        repr("'{} {0}'.format('a') if False else '{}{}'.format(1, 2)"),
        "'12'"
    );
    assert_eq!(repr("'{x}/{0}/{1!r}'.format('a', 'b', x=3)"), "\"3/a/'b'\"");
    assert_eq!(
        repr("'{:>4}|{:<3}|{:^5}|{:03d}'.format('a', 'b', 'c', 7)"),
        "'   a|b  |  c  |007'"
    );
}

#[test]
fn indexing_and_slicing() {
    assert_eq!(
        repr("'héllo'[1], 'hello'[-1], 'hello'[::-1], 'hello'[1:4:2]"),
        "('é', 'o', 'olleh', 'el')"
    );
    assert_eq!(repr("[1, 2, 3, 4][-2:]"), "[3, 4]");
    assert_eq!(repr("{'a': 1}['a']"), "1");
    assert_eq!(err("'abc'[3]").kind(), ErrorKind::Index);
    assert_eq!(err("{'a': 1}['b']").kind(), ErrorKind::Key);
    assert_eq!(err("'abc'[::0]").kind(), ErrorKind::Value);
}

#[test]
fn string_methods() {
    assert_eq!(repr("'INBOX.Sent'.startswith(('X', 'INBOX'))"), "True");
    assert_eq!(
        repr("'a b  c'.split(), 'a,b,c'.split(',', 1), 'a,b,c'.rsplit(',', 1)"),
        "(['a', 'b', 'c'], ['a', 'b,c'], ['a,b', 'c'])"
    );
    assert_eq!(
        repr("'/'.join(['a', 'b']).upper().replace('/', '.')"),
        "'A.B'"
    );
    assert_eq!(
        repr("'xxhixx'.strip('x'), '  a '.lstrip(), 'hello'.find('l'), 'hello'.rfind('l')"),
        "('hi', 'a ', 2, 3)"
    );
    assert_eq!(
        repr("'hello world'.title(), 'hELLO'.capitalize(), '12'.isdigit()"),
        "('Hello World', 'Hello', True)"
    );
    assert_eq!(err("'abc'.index('z')").kind(), ErrorKind::Value);
    assert_eq!(err("'abc'.nope").kind(), ErrorKind::Attribute);
    assert!(err("'abc'.encode()").is_not_supported());
}

#[test]
fn containers_and_builtins() {
    assert_eq!(
        repr("sorted(['b', 'C', 'a'], key=str.lower, reverse=True)"),
        "['C', 'b', 'a']"
    );
    assert_eq!(
        repr("len('héllo'), min(3, 1), max(['a', 'bb'], key=len)"),
        "(5, 1, 'bb')"
    );
    assert_eq!(
        repr("list(map(len, ['a', 'bb'])), list(filter(None, [0, 1]))"),
        "([1, 2], [1])"
    );
    assert_eq!(
        repr("list(enumerate('ab')), list(range(3)), list(reversed([1, 2]))"),
        "([(0, 'a'), (1, 'b')], [0, 1, 2], [2, 1])"
    );
    assert_eq!(
        repr("isinstance('x', str), isinstance(True, int), isinstance(1, (str, list))"),
        "(True, True, False)"
    );
    assert_eq!(repr("cmp(1, 2), cmp('b', 'a'), cmp(3, 3)"), "(-1, 1, 0)");
    assert_eq!(
        repr("{'a': 1}.get('b', 0), list({'a': 1}.items())"),
        "(0, [('a', 1)])"
    );
    assert_eq!(
        repr("int('42'), str(4), bool(''), tuple('ab')"),
        "(42, '4', False, ('a', 'b'))"
    );
    assert_eq!(
        repr("any(f.startswith('S') for f in ['INBOX', 'Sent'])"),
        "True"
    );
    assert_eq!(repr("any(1/x for x in [1, 0])"), "True");
    assert_eq!(repr("[x * 2 for x in range(3) if x]"), "[2, 4]");
    assert_eq!(repr("{k: v for k, v in [('a', 1)]}"), "{'a': 1}");
    assert_eq!(err("undefined").kind(), ErrorKind::Name);
    assert!(err("open('/etc/passwd')").is_not_supported());
}

#[test]
fn lambdas_closures_and_calls() {
    assert_eq!(
        call("lambda f: f not in ['Trash']", &["INBOX".into()]).repr(),
        "True"
    );
    assert_eq!(
        call("lambda x, y: -cmp(x, y)", &["a".into(), "b".into()]).repr(),
        "1"
    );
    assert_eq!(repr("(lambda x: lambda y: x + y)(1)(2)"), "3");
    assert_eq!(repr("(lambda x, y=2: x * y)(4)"), "8");
    let f = ev("lambda f: re.sub('^INBOX/', '', f)");
    // A lambda keeps the globals it was created with.
    assert_eq!(f.call(&["INBOX/Sent".into()]).unwrap().repr(), "'Sent'");
    let e = compile("lambda f: f").unwrap();
    assert_eq!(e.lambda_arity(), Some(1));
    assert_eq!(err("(lambda x: x)(1, 2)").kind(), ErrorKind::Type);
    assert_eq!(
        err("(lambda f: f(f))(lambda f: f(f))").kind(),
        ErrorKind::Recursion
    );
}

#[test]
fn regexes() {
    assert_eq!(
        repr(r"re.sub(r'^\[Gmail\]/', '', '[Gmail]/Sent Mail')"),
        "'Sent Mail'"
    );
    assert_eq!(
        repr(r"re.sub(r'(?P<a>\w+)\.(\w+)', r'\2.\g<a>', 'x.y')"),
        "'y.x'"
    );
    assert_eq!(repr("re.sub('x*', '-', 'abxd')"), "'-a-b--d-'");
    assert_eq!(repr("re.sub('$', '<', 'a\\n')"), "'a<\\n<'");
    assert_eq!(repr(r"re.sub(r'\Z', '<', 'a\n')"), "'a\\n<'");
    assert_eq!(repr("re.sub('{x}', 'X', 'a{x}')"), "'aX'");
    assert_eq!(repr("re.search('(a)(b)?', 'ac').groups()"), "('a', None)");
    assert_eq!(repr("re.match('b', 'ab')"), "None");
    assert_eq!(repr("re.match('a|ab', 'ab').group()"), "'a'");
    assert_eq!(repr("re.fullmatch('a|ab', 'ab').group()"), "'ab'");
    assert_eq!(
        repr("re.compile('inbox', re.I).match('INBOX.x').span()"),
        "(0, 5)"
    );
    assert_eq!(
        repr("re.split(r'(,)', 'a,b'), re.findall(r'\\d', 'a1b2')"),
        "(['a', ',', 'b'], ['1', '2'])"
    );
    assert_eq!(repr(r"re.sub(r'(\w)\1', 'D', 'aabcc')"), "'DbD'");
    assert_eq!(repr(r"re.sub(r'(?<=@)\w+', 'h', 'me@ex')"), "'me@h'");
    assert_eq!(err("re.compile('(')").kind(), ErrorKind::Regex);
    assert_eq!(err(r"re.compile('\\q')").kind(), ErrorKind::Regex);
    assert_eq!(err(r"re.sub('a', r'\2', 'a')").kind(), ErrorKind::Regex);
}

#[test]
fn os_path() {
    assert_eq!(
        repr("os.path.join('a', 'b'), os.path.basename('/x/y.z'), os.path.dirname('/x/y')"),
        "('a/b', 'y.z', '/x')"
    );
    assert_eq!(
        repr("os.path.splitext('a.tar.gz'), os.path.splitext('.rc')"),
        "(('a.tar', '.gz'), ('.rc', ''))"
    );
}

#[test]
fn syntax_errors_point_at_the_column() {
    let e = err("lambda f: f in ['a' 'b'");
    assert_eq!(e.kind(), ErrorKind::Syntax);
    let e = err("lambda f: f +* 2");
    assert_eq!(e.kind(), ErrorKind::Syntax);
    assert_eq!(e.position(), Some((1, 14)));
    let shown = e.to_string();
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines.len(), 3, "{shown}");
    assert!(lines[0].starts_with("SyntaxError: "), "{shown}");
    assert_eq!(lines[1], "  lambda f: f +* 2");
    assert_eq!(lines[2], "               ^");
    assert!(compile("1;").is_err());
    assert!(compile("x = 1").is_err());
    assert!(compile("1\n+2").is_err());
    assert!(compile("(1 +\n 2)").is_ok());
    assert!(compile("lambda f: f \\\n  .upper()").is_ok());
}

#[test]
fn runtime_errors_name_the_failing_spot() {
    let e = compile("lambda f: f.split('.')[1]").unwrap();
    let err = e.call(&Env::offlineimap(), &["INBOX".into()]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Index);
    assert_eq!(err.position(), Some((1, 23)));
    assert!(
        err.to_string()
            .starts_with("IndexError: list index out of range"),
        "{err}"
    );
    let e = compile("lambda f: (\n  undefined(f))").unwrap();
    let err = e.call(&Env::offlineimap(), &["x".into()]).unwrap_err();
    assert_eq!(err.position(), Some((2, 3)));
    assert!(
        err.to_string().contains("\n    undefined(f))\n    ^"),
        "{err}"
    );
}

#[test]
fn not_supported_is_distinct_from_python_errors() {
    for src in [
        "f'{1}'",
        "b'x'",
        "lambda *a: a",
        "[1].append(2)",
        "os.getenv('HOME')",
        "'a' is 'a'",
    ] {
        let e = match compile(src).and_then(|e| e.eval(&Env::with_os())) {
            Err(e) => e,
            Ok(v) => panic!("{src} gave {}", v.repr()),
        };
        assert!(e.is_not_supported(), "{src}: {e}");
    }
}

#[test]
fn deep_nesting_is_refused_not_a_stack_overflow() {
    let src = format!("{}1{}", "(".repeat(500), ")".repeat(500));
    assert!(compile(&src).is_err());
    let src = format!("{}1", "-".repeat(500));
    assert!(compile(&src).is_err());
}
