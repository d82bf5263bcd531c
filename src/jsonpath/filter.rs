//! Filter expressions (`[?(<expr>)]`): parsing and evaluation.
//!
//! # Grammar
//!
//! ```text
//! expr       := and ( '||' and )*
//! and        := unary ( '&&' unary )*
//! unary      := '!' unary | primary
//! primary    := '(' expr ')' | comparison
//! comparison := operand [ op operand ]        (op '=~' takes a /regex/flags)
//! op         := '==' | '!=' | '<' | '<=' | '>' | '>=' | '=~' | 'in' | 'nin'
//! operand    := '@' ( '.name' | '['quoted']' | '['int']' )*
//!             | 'string' | "string" | number | true | false | null
//!             | '[' literal ( ',' literal )* ']'
//! ```
//!
//! A comparison without an operator must be a relative path (existence test:
//! true when the path resolves to a value, *including* `null`) or the literal
//! `true`/`false`. A bare `@` is always true.
//!
//! # Comparison semantics
//!
//! * **Missing values.** When either operand is a relative path that does not
//!   resolve (missing member, out-of-range index, indexing into a scalar), the
//!   comparison is false for `==`, `<`, `<=`, `>`, `>=`, `=~` and `in`, and
//!   *true* for `!=` and `nin`, which are defined as the negations of `==` and
//!   `in`, so `x != v` is always exactly `!(x == v)` (this follows Jayway,
//!   where a missing path is "undefined" and `!=`/`nin` negate `==`/`in`). A present `null` is a value: `@.x ==
//!   null` is true for `{"x": null}` and false for `{}`.
//! * **Equality** (`==`, `!=`, `in`, `nin`) is type-strict: strings equal
//!   strings with the same characters, numbers are compared numerically
//!   (`1 == 1.0`; integers exactly, otherwise as `f64`), booleans and null
//!   by value, arrays element-wise and objects member-wise (order
//!   insensitive) with the same rules. Values of different types are never
//!   equal: `'1' == 1` is false (Jayway may coerce between strings and
//!   numbers here; rule files should not depend on that).
//! * **Ordering** (`<`, `<=`, `>`, `>=`) is defined for number/number
//!   (numerically) and string/string (lexicographically by code point); every
//!   other combination is false.
//! * **Regex** (`=~ /pattern/flags`) must match the *whole* value (the pattern
//!   is anchored with `\A(?:...)\z`), so `=~ /abc/` does not match `"xabcx"`.
//!   Flags: `i` (case-insensitive), `m`, `s`, `x`. Strings are matched
//!   directly, numbers by their JSON text and booleans as `true`/`false`;
//!   other values (and missing ones) never match. Regexes are compiled once
//!   at parse time.
//! * **`in` / `nin`**: the right operand must be a list literal or a relative
//!   path resolving to an array; the left value is "in" when it equals (as
//!   above) any element.

use std::cmp::Ordering;

use crate::pattern::Pattern;
use serde_json::{Number, Value};

use super::cursor::{is_name_char, Parser, MAX_FILTER_DEPTH};
use super::JsonPathError;

/// A compiled filter expression (the `<expr>` in `[?(<expr>)]`).
///
/// Two filters are equal when their source texts are equal.
#[derive(Debug, Clone)]
pub struct Filter {
    source: String,
    expr: Expr,
}

impl PartialEq for Filter {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Filter {
    /// The source text of the expression (what followed `?` inside the
    /// brackets, e.g. `(@.type == 'required')`).
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Evaluates the expression with `@` bound to `node`.
    pub fn matches(&self, node: &Value) -> bool {
        self.expr.eval(node)
    }
}

#[derive(Debug, Clone)]
enum Expr {
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Not(Box<Expr>),
    Exists(RelPath),
    Const(bool),
    Compare {
        left: Operand,
        op: CmpOp,
        right: Operand,
    },
    Match {
        left: Operand,
        regex: Pattern,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    Nin,
}

/// What follows an operand: a plain comparison or a regex match.
enum Op {
    Cmp(CmpOp),
    Regex,
}

#[derive(Debug, Clone)]
enum Operand {
    Path(RelPath),
    Literal(Value),
}

/// A definite path relative to `@`.
#[derive(Debug, Clone)]
struct RelPath(Vec<Step>);

#[derive(Debug, Clone)]
enum Step {
    Name(String),
    Index(i64),
}

impl RelPath {
    fn resolve<'a>(&self, node: &'a Value) -> Option<&'a Value> {
        let mut cur = node;
        for step in &self.0 {
            cur = match (step, cur) {
                (Step::Name(n), Value::Object(map)) => map.get(n)?,
                (Step::Index(i), Value::Array(items)) => {
                    items.get(super::index::normalize_index(*i, items.len())?)?
                }
                _ => return None,
            };
        }
        Some(cur)
    }
}

impl Operand {
    fn resolve<'a>(&'a self, node: &'a Value) -> Option<&'a Value> {
        match self {
            Operand::Path(p) => p.resolve(node),
            Operand::Literal(v) => Some(v),
        }
    }
}

impl Expr {
    fn eval(&self, node: &Value) -> bool {
        match self {
            Expr::Or(items) => items.iter().any(|e| e.eval(node)),
            Expr::And(items) => items.iter().all(|e| e.eval(node)),
            Expr::Not(e) => !e.eval(node),
            Expr::Exists(p) => p.resolve(node).is_some(),
            Expr::Const(b) => *b,
            Expr::Compare { left, op, right } => {
                compare(left.resolve(node), *op, right.resolve(node))
            }
            Expr::Match { left, regex } => match left.resolve(node) {
                Some(Value::String(s)) => regex.is_match(s).unwrap_or(false),
                Some(Value::Number(n)) => regex.is_match(n.as_str()).unwrap_or(false),
                Some(Value::Bool(b)) => regex
                    .is_match(if *b { "true" } else { "false" })
                    .unwrap_or(false),
                _ => false,
            },
        }
    }
}

fn compare(left: Option<&Value>, op: CmpOp, right: Option<&Value>) -> bool {
    match op {
        CmpOp::Eq => matches!((left, right), (Some(a), Some(b)) if values_equal(a, b)),
        CmpOp::Ne => !compare(left, CmpOp::Eq, right),
        CmpOp::In => match (left, right) {
            (Some(a), Some(Value::Array(items))) => items.iter().any(|b| values_equal(a, b)),
            _ => false,
        },
        CmpOp::Nin => !compare(left, CmpOp::In, right),
        CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge => {
            let Some(ord) = left.zip(right).and_then(|(a, b)| order(a, b)) else {
                return false;
            };
            match op {
                CmpOp::Lt => ord == Ordering::Less,
                CmpOp::Le => ord != Ordering::Greater,
                CmpOp::Gt => ord == Ordering::Greater,
                _ => ord != Ordering::Less,
            }
        }
    }
}

fn as_i128(n: &Number) -> Option<i128> {
    n.as_i64()
        .map(i128::from)
        .or_else(|| n.as_u64().map(i128::from))
}

/// Numeric comparison: exact for integers that fit in 64 bits, `f64`
/// otherwise; numbers that do not fit in a finite `f64` compare by text
/// (equal or unordered).
pub(crate) fn compare_numbers(a: &Number, b: &Number) -> Option<Ordering> {
    if a.as_str() == b.as_str() {
        return Some(Ordering::Equal);
    }
    if let (Some(x), Some(y)) = (as_i128(a), as_i128(b)) {
        return Some(x.cmp(&y));
    }
    a.as_f64()?.partial_cmp(&b.as_f64()?)
}

fn order(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => compare_numbers(x, y),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// Type-strict deep equality with numeric comparison of numbers.
pub(crate) fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Number(x), Value::Number(y)) => compare_numbers(x, y) == Some(Ordering::Equal),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| values_equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| values_equal(v, w)))
        }
        _ => false,
    }
}

// ---------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------

/// Parses a filter expression; the cursor must be just after `?`. Stops
/// before the closing `]` (which the caller consumes).
pub(crate) fn parse_filter(p: &mut Parser<'_>) -> Result<Filter, JsonPathError> {
    p.skip_ws();
    let start = p.pos;
    let expr = parse_or(p, 0)?;
    let source = p.text(start, p.pos).trim_end().to_string();
    Ok(Filter { source, expr })
}

fn parse_or(p: &mut Parser<'_>, depth: usize) -> Result<Expr, JsonPathError> {
    let mut items = vec![parse_and(p, depth)?];
    loop {
        p.skip_ws();
        if !p.eat_str("||") {
            break;
        }
        items.push(parse_and(p, depth)?);
    }
    Ok(if items.len() == 1 {
        items.pop().unwrap_or(Expr::Const(false))
    } else {
        Expr::Or(items)
    })
}

fn parse_and(p: &mut Parser<'_>, depth: usize) -> Result<Expr, JsonPathError> {
    let mut items = vec![parse_unary(p, depth)?];
    loop {
        p.skip_ws();
        if !p.eat_str("&&") {
            break;
        }
        items.push(parse_unary(p, depth)?);
    }
    Ok(if items.len() == 1 {
        items.pop().unwrap_or(Expr::Const(true))
    } else {
        Expr::And(items)
    })
}

fn parse_unary(p: &mut Parser<'_>, depth: usize) -> Result<Expr, JsonPathError> {
    p.skip_ws();
    if depth >= MAX_FILTER_DEPTH {
        return Err(p.unsupported_at(
            p.pos,
            format!("filter expression nested more than {MAX_FILTER_DEPTH} levels deep"),
        ));
    }
    if p.peek() == Some('!') && p.peek_at(1) != Some('=') {
        p.pos += 1;
        return Ok(Expr::Not(Box::new(parse_unary(p, depth + 1)?)));
    }
    if p.peek() == Some('(') {
        let open = p.pos;
        p.pos += 1;
        let e = parse_or(p, depth + 1)?;
        p.skip_ws();
        if !p.eat(')') {
            let msg = if p.at_end() {
                format!(
                    "unclosed '(' (opened at position {open_pos})",
                    open_pos = p.original_pos(open)
                )
            } else {
                format!("expected ')' or an operator but found {}", p.found())
            };
            return Err(p.error_at(p.pos, msg));
        }
        return Ok(e);
    }
    parse_comparison(p)
}

fn parse_comparison(p: &mut Parser<'_>) -> Result<Expr, JsonPathError> {
    let start = p.pos;
    let left = parse_operand(p)?;
    p.skip_ws();
    match parse_op(p)? {
        None => match left {
            Operand::Path(path) => Ok(Expr::Exists(path)),
            Operand::Literal(Value::Bool(b)) => Ok(Expr::Const(b)),
            Operand::Literal(_) => Err(p.error_at(
                start,
                "a literal must be followed by a comparison operator (==, !=, <, <=, >, >=, =~, in, nin)",
            )),
        },
        Some(Op::Regex) => {
            p.skip_ws();
            let regex = parse_regex(p)?;
            Ok(Expr::Match { left, regex })
        }
        Some(Op::Cmp(op)) => {
            p.skip_ws();
            let right_pos = p.pos;
            let right = parse_operand(p)?;
            if matches!(op, CmpOp::In | CmpOp::Nin)
                && matches!(&right, Operand::Literal(v) if !v.is_array())
            {
                return Err(p.error_at(
                    right_pos,
                    "the right side of 'in'/'nin' must be a list like ['a','b'] or a path",
                ));
            }
            Ok(Expr::Compare { left, op, right })
        }
    }
}

/// Jayway operators we recognise but do not implement.
const UNSUPPORTED_WORD_OPS: &[&str] = &["contains", "subsetof", "anyof", "noneof", "size", "empty"];

fn parse_op(p: &mut Parser<'_>) -> Result<Option<Op>, JsonPathError> {
    let pos = p.pos;
    for (text, op) in [
        ("==", Op::Cmp(CmpOp::Eq)),
        ("!=", Op::Cmp(CmpOp::Ne)),
        ("<=", Op::Cmp(CmpOp::Le)),
        (">=", Op::Cmp(CmpOp::Ge)),
        ("=~", Op::Regex),
        ("<", Op::Cmp(CmpOp::Lt)),
        (">", Op::Cmp(CmpOp::Gt)),
    ] {
        if p.eat_str(text) {
            if p.peek() == Some('=') {
                return Err(p.error_at(pos, format!("unknown operator '{text}='")));
            }
            return Ok(Some(op));
        }
    }
    match p.peek() {
        Some('=') => Err(p.error_at(pos, "single '=' is not an operator; use '=='")),
        Some(c) if c.is_ascii_alphabetic() => {
            let word = p.parse_name();
            match word.as_str() {
                "in" => Ok(Some(Op::Cmp(CmpOp::In))),
                "nin" => Ok(Some(Op::Cmp(CmpOp::Nin))),
                w if UNSUPPORTED_WORD_OPS.contains(&w) => {
                    Err(p.unsupported_at(pos, format!("filter operator '{w}' is not supported")))
                }
                w => Err(p.error_at(pos, format!("unknown filter operator '{w}'"))),
            }
        }
        _ => Ok(None),
    }
}

fn parse_operand(p: &mut Parser<'_>) -> Result<Operand, JsonPathError> {
    p.skip_ws();
    let pos = p.pos;
    match p.peek() {
        Some('@') => {
            p.pos += 1;
            Ok(Operand::Path(parse_rel_path(p)?))
        }
        Some('$') => {
            Err(p.unsupported_at(pos, "absolute paths ($) inside filters are not supported"))
        }
        Some('[') => parse_list(p).map(Operand::Literal),
        Some('/') => Err(p.error_at(pos, "a regex literal is only allowed after '=~'")),
        Some(_) => parse_scalar_literal(p).map(Operand::Literal),
        None => Err(p.error_at(
            pos,
            "unexpected end of path inside filter; expected a value",
        )),
    }
}

fn parse_rel_path(p: &mut Parser<'_>) -> Result<RelPath, JsonPathError> {
    let mut steps = Vec::new();
    loop {
        let step_pos = p.pos;
        match p.peek() {
            Some('.') => {
                p.pos += 1;
                match p.peek() {
                    Some('.') => {
                        return Err(p.unsupported_at(
                            step_pos,
                            "deep scan (..) inside filters is not supported",
                        ))
                    }
                    Some('*') => {
                        return Err(p.unsupported_at(
                            step_pos,
                            "wildcards inside filters are not supported",
                        ))
                    }
                    Some(c) if is_name_char(c) => {
                        let name = p.parse_name();
                        if p.peek() == Some('(') {
                            return Err(p.unsupported_at(
                                step_pos + 1,
                                format!("function calls such as '{name}()' are not supported"),
                            ));
                        }
                        steps.push(Step::Name(name));
                    }
                    _ => {
                        return Err(p.error_at(
                            p.pos,
                            format!("expected a property name after '.', found {}", p.found()),
                        ))
                    }
                }
            }
            Some('[') => {
                p.pos += 1;
                p.skip_ws();
                match p.peek() {
                    Some('\'' | '"') => steps.push(Step::Name(p.parse_quoted()?)),
                    Some(c) if c == '-' || c.is_ascii_digit() => {
                        steps.push(Step::Index(p.parse_int()?))
                    }
                    Some('*' | '?' | ':') => {
                        return Err(p.unsupported_at(
                            step_pos,
                            "only names and single indexes are supported in paths inside filters",
                        ))
                    }
                    _ => {
                        return Err(p.error_at(
                            p.pos,
                            format!(
                                "expected a quoted name or an index after '[', found {}",
                                p.found()
                            ),
                        ))
                    }
                }
                p.skip_ws();
                if matches!(p.peek(), Some(',' | ':')) {
                    return Err(p.unsupported_at(
                        step_pos,
                        "unions and slices are not supported in paths inside filters",
                    ));
                }
                p.expect_close_bracket(step_pos)?;
            }
            _ => break,
        }
    }
    Ok(RelPath(steps))
}

fn parse_list(p: &mut Parser<'_>) -> Result<Value, JsonPathError> {
    let open = p.pos;
    p.pos += 1;
    let mut items = Vec::new();
    p.skip_ws();
    if p.eat(']') {
        return Ok(Value::Array(items));
    }
    loop {
        p.skip_ws();
        if matches!(p.peek(), Some('[' | '@' | '$' | '/')) {
            return Err(p.error_at(
                p.pos,
                "list literals may only contain strings, numbers, booleans and null",
            ));
        }
        if p.at_end() {
            return Err(p.error_at(
                p.pos,
                format!("unclosed '[' (opened at position {})", p.original_pos(open)),
            ));
        }
        items.push(parse_scalar_literal(p)?);
        p.skip_ws();
        if p.eat(',') {
            continue;
        }
        p.expect_close_bracket(open)?;
        return Ok(Value::Array(items));
    }
}

fn parse_scalar_literal(p: &mut Parser<'_>) -> Result<Value, JsonPathError> {
    let pos = p.pos;
    match p.peek() {
        Some('\'' | '"') => Ok(Value::String(p.parse_quoted()?)),
        Some(c) if c == '-' || c.is_ascii_digit() => parse_number(p).map(Value::Number),
        Some(c) if c.is_ascii_alphabetic() => {
            let word = p.parse_name();
            match word.as_str() {
                "true" => Ok(Value::Bool(true)),
                "false" => Ok(Value::Bool(false)),
                "null" => Ok(Value::Null),
                w => Err(p.error_at(
                    pos,
                    format!("unexpected word '{w}'; expected '@', a quoted string, a number, true, false or null"),
                )),
            }
        }
        _ => Err(p.error_at(
            pos,
            format!(
                "expected '@', a quoted string, a number, true, false, null or a list, found {}",
                p.found()
            ),
        )),
    }
}

fn parse_number(p: &mut Parser<'_>) -> Result<Number, JsonPathError> {
    let start = p.pos;
    let digits = |p: &mut Parser<'_>| {
        let s = p.pos;
        while p.peek().is_some_and(|c| c.is_ascii_digit()) {
            p.pos += 1;
        }
        p.pos > s
    };
    p.eat('-');
    let mut ok = digits(p);
    if p.peek() == Some('.') && p.peek_at(1).is_some_and(|c| c.is_ascii_digit()) {
        p.pos += 1;
        ok &= digits(p);
    }
    if matches!(p.peek(), Some('e' | 'E')) {
        p.pos += 1;
        if matches!(p.peek(), Some('+' | '-')) {
            p.pos += 1;
        }
        ok &= digits(p);
    }
    let text = p.text(start, p.pos);
    if !ok {
        return Err(p.error_at(start, format!("invalid number '{text}'")));
    }
    text.parse::<Number>()
        .map_err(|_| p.error_at(start, format!("invalid number '{text}'")))
}

fn parse_regex(p: &mut Parser<'_>) -> Result<Pattern, JsonPathError> {
    let start = p.pos;
    if !p.eat('/') {
        return Err(p.error_at(
            start,
            format!(
                "expected a regex literal like /pattern/ after '=~', found {}",
                p.found()
            ),
        ));
    }
    let mut pattern = String::new();
    loop {
        match p.bump() {
            None => {
                return Err(p.error_at(start, "unterminated regex literal (missing closing '/')"))
            }
            Some('/') => break,
            Some('\\') => match p.bump() {
                Some('/') => pattern.push('/'),
                Some(c) => {
                    pattern.push('\\');
                    pattern.push(c);
                }
                None => {
                    return Err(
                        p.error_at(start, "unterminated regex literal (missing closing '/')")
                    )
                }
            },
            Some(c) => pattern.push(c),
        }
    }
    // Jayway's flags are Java's: `i m s x u U d`, applied as inline flags to the Java pattern,
    // which must match the whole value.
    let mut flags = String::new();
    while let Some(c) = p.peek().filter(char::is_ascii_alphabetic) {
        if !matches!(c, 'i' | 'm' | 's' | 'x' | 'u' | 'U' | 'd') {
            return Err(p.error_at(p.pos, format!("unsupported regex flag '{c}'")));
        }
        if !flags.contains(c) {
            flags.push(c);
        }
        p.pos += 1;
    }
    let java = if flags.is_empty() {
        pattern
    } else {
        format!("(?{flags}){pattern}")
    };
    Pattern::whole(&java, false).map_err(|e| p.regex_error_at(start, e))
}

#[cfg(test)]
mod tests {
    use super::super::{JsonPath, Selector};
    use super::*;
    use serde_json::json;

    fn filter(expr: &str) -> Filter {
        let path = format!("$[?({expr})]");
        let jp = JsonPath::parse(&path).unwrap_or_else(|e| panic!("{expr}: {e}"));
        match &jp.segments()[0].selector {
            Selector::Filter(f) => f.clone(),
            other => panic!("{other:?}"),
        }
    }

    fn holds(expr: &str, node: &Value) -> bool {
        filter(expr).matches(node)
    }

    #[test]
    fn equality_strings_and_numbers() {
        let v = json!({"type": "required", "n": 3, "f": 1.5, "b": true, "z": null});
        assert!(holds("@.type == 'required'", &v));
        assert!(holds("@.type == \"required\"", &v));
        assert!(!holds("@.type == 'optional'", &v));
        assert!(holds("@.type != 'optional'", &v));
        assert!(holds("@.n == 3", &v));
        assert!(holds("@.n == 3.0", &v));
        assert!(holds("@.n == 3e0", &v));
        assert!(holds("@.f == 1.50", &v));
        assert!(holds("@.b == true", &v));
        assert!(holds("@.b != false", &v));
        assert!(holds("@.z == null", &v));
        assert!(holds("'required' == @.type", &v));
    }

    #[test]
    fn different_types_never_equal() {
        let v = json!({"n": 1, "s": "1", "b": true, "z": null});
        assert!(!holds("@.n == '1'", &v));
        assert!(!holds("@.s == 1", &v));
        assert!(!holds("@.b == 'true'", &v));
        assert!(!holds("@.z == 0", &v));
        assert!(!holds("@.z == false", &v));
        assert!(holds("@.n != '1'", &v));
    }

    #[test]
    fn ordering() {
        let v = json!({"n": 10, "s": "b", "big": 18446744073709551615u64});
        assert!(holds("@.n > 9", &v));
        assert!(holds("@.n >= 10", &v));
        assert!(holds("@.n < 10.5", &v));
        assert!(holds("@.n <= 10", &v));
        assert!(!holds("@.n < 10", &v));
        assert!(holds("@.n > -1", &v));
        assert!(holds("@.s > 'a'", &v));
        assert!(holds("@.s < 'c'", &v));
        assert!(!holds("@.s < 5", &v));
        assert!(!holds("@.n < 'z'", &v));
        assert!(holds("@.big > 18446744073709551614", &v));
        assert!(holds("@.big == 18446744073709551615", &v));
    }

    #[test]
    fn missing_values() {
        let v = json!({"a": 1});
        assert!(!holds("@.x == 1", &v));
        assert!(holds("@.x != 1", &v));
        assert!(!holds("@.x < 1", &v));
        assert!(!holds("@.x <= 1", &v));
        assert!(!holds("@.x > 1", &v));
        assert!(!holds("@.x >= 1", &v));
        assert!(!holds("@.x =~ /.*/", &v));
        assert!(!holds("@.x in [1]", &v));
        assert!(holds("@.x nin [1]", &v));
        assert!(!holds("@.x == null", &v));
        // Both sides missing: not equal.
        assert!(!holds("@.x == @.y", &v));
    }

    #[test]
    fn existence() {
        let v = json!({"a": null, "b": {"c": false}, "arr": [1, 2]});
        assert!(holds("@.a", &v));
        assert!(holds("@.b.c", &v));
        assert!(holds("@['b']['c']", &v));
        assert!(holds("@.arr[1]", &v));
        assert!(holds("@.arr[-2]", &v));
        assert!(!holds("@.arr[2]", &v));
        assert!(!holds("@.x", &v));
        assert!(!holds("@.b.c.d", &v));
        assert!(holds("!@.x", &v));
        assert!(holds("@", &v));
        assert!(holds("true", &v));
        assert!(!holds("false", &v));
    }

    #[test]
    fn regex_whole_match() {
        let v = json!({"s": "xabcx", "t": "abc", "u": "ABC", "n": 123, "ml": "a\nb"});
        assert!(!holds("@.s =~ /abc/", &v));
        assert!(holds("@.s =~ /.*abc.*/", &v));
        assert!(holds("@.t =~ /abc/", &v));
        assert!(!holds("@.u =~ /abc/", &v));
        assert!(holds("@.u =~ /abc/i", &v));
        assert!(holds("@.n =~ /\\d+/", &v));
        assert!(!holds("@.t =~ /a|ab/", &v));
        assert!(holds("@.t =~ /ab|abc/", &v));
        // `m` does not weaken the whole-value anchoring.
        assert!(!holds("@.ml =~ /a/m", &v));
        assert!(holds("@.ml =~ /a.b/s", &v));
        assert!(holds("@.t =~ / a b c # comment/x", &v));
        assert!(holds("@.p =~ /a\\/b/", &json!({"p": "a/b"})));
    }

    #[test]
    fn in_and_nin() {
        let v = json!({"t": "b", "n": 2, "allowed": ["a", "b"]});
        assert!(holds("@.t in ['a','b']", &v));
        assert!(!holds("@.t in ['c']", &v));
        assert!(holds("@.t nin ['c']", &v));
        assert!(!holds("@.t nin ['a', 'b']", &v));
        assert!(holds("@.n in [1, 2.0, 'x']", &v));
        assert!(!holds("@.n in ['2']", &v));
        assert!(holds("@.t in @.allowed", &v));
        assert!(!holds("@.t in []", &v));
        // Right side not an array: `in` false.
        assert!(!holds("@.t in @.t", &v));
    }

    #[test]
    fn boolean_logic_and_grouping() {
        let v = json!({"a": 1, "b": 2});
        assert!(holds("@.a == 1 && @.b == 2", &v));
        assert!(!holds("@.a == 1 && @.b == 3", &v));
        assert!(holds("@.a == 0 || @.b == 2", &v));
        assert!(holds("@.a == 0 || @.a == 1 && @.b == 2", &v));
        // && binds tighter than ||.
        assert!(holds("@.a == 1 || @.a == 0 && @.b == 3", &v));
        assert!(!holds("(@.a == 1 || @.a == 0) && @.b == 3", &v));
        assert!(holds("!(@.a == 0)", &v));
        assert!(!holds("!(@.a == 1)", &v));
        assert!(holds("!!(@.a == 1)", &v));
        assert!(holds("((@.a == 1))", &v));
    }

    #[test]
    fn deep_equality() {
        let v = json!({"o": {"x": 1, "y": [1, "a"]}, "l": [1, 2]});
        assert!(holds("@.l == [1, 2]", &v));
        assert!(!holds("@.l == [2, 1]", &v));
        assert!(holds("@.o == @.o", &v));
        assert!(values_equal(
            &json!({"a": 1, "b": 2}),
            &json!({"b": 2.0, "a": 1})
        ));
        assert!(!values_equal(&json!({"a": 1}), &json!({"a": 1, "b": 2})));
    }

    #[test]
    fn source_text_is_kept() {
        assert_eq!(filter("@.a == 1 ").as_str(), "(@.a == 1 )");
    }

    #[test]
    fn parse_errors() {
        for bad in [
            "$[?(@.a == )]",
            "$[?(@.a = 1)]",
            "$[?(@.a === 1)]",
            "$[?(@.a foo 1)]",
            "$[?(@.a in 'x')]",
            "$[?(@.a =~ 'x')]",
            "$[?(@.a =~ /x)]",
            "$[?(@.a =~ /x/q)]",
            "$[?(@.a == /x/)]",
            "$[?(@.a == 1 &&)]",
            "$[?(@.a == 1 ||)]",
            "$[?(@.a == [1,)]",
            "$[?(@.a == [[1]])]",
            "$[?(@.a == tru)]",
            "$[?(@.a == 1.)]",
            "$[?(@.a == -)]",
            "$[?(@. == 1)]",
            "$[?(@[abc])]",
            "$[?(@['a')]",
            "$[?((@.a)]",
            "$[?(1)]",
            "$[?(@.a",
        ] {
            let e = JsonPath::parse(bad).expect_err(bad);
            assert!(matches!(e, JsonPathError::Syntax { .. }), "{bad}: {e:?}");
            assert!(e.position() <= bad.chars().count(), "{bad}: {e:?}");
        }
    }

    #[test]
    fn invalid_regex_is_reported() {
        let e = JsonPath::parse("$[?(@.a =~ /(unclosed/)]").unwrap_err();
        assert!(
            matches!(e, JsonPathError::InvalidRegex { position: 11, .. }),
            "{e:?}"
        );
    }

    #[test]
    fn unsupported_operators() {
        for bad in [
            "$[?(@.a contains 'x')]",
            "$[?(@.a size 2)]",
            "$[?(@.a[*])]",
            "$[?(@.a['x','y'])]",
        ] {
            let e = JsonPath::parse(bad).expect_err(bad);
            assert!(
                matches!(e, JsonPathError::Unsupported { .. }),
                "{bad}: {e:?}"
            );
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!("$[?({}@.a{})]", "(".repeat(10_000), ")".repeat(10_000));
        assert!(JsonPath::parse(&deep).is_err());
        let nots = format!("$[?({}@.a)]", "!".repeat(10_000));
        assert!(JsonPath::parse(&nots).is_err());
        let ok = format!("$[?({}@.a{})]", "(".repeat(20), ")".repeat(20));
        assert!(JsonPath::parse(&ok).is_ok());
    }

    #[test]
    fn long_or_chain_is_flat() {
        let expr = vec!["@.a == 1"; 5_000].join(" || ");
        assert!(holds(&expr, &json!({"a": 1})));
        assert!(!holds(&expr, &json!({"a": 2})));
    }
}
