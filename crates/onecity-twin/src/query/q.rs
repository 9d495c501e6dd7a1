//! The NGSI-LD query language `q` (GS CIM 009 §4.9) and `scopeQ` (§4.19), parsed once
//! and evaluated on one entity in memory (queries and subscriptions share it).
//!
//! Grammar handled: terms `attr`, `attr<op>value` with `==`, `!=`, `>`, `>=`, `<`, `<=`,
//! `~=` (regular expression), `!~=`; values: numbers, `"quoted strings"`, `true`/`false`,
//! DateTime/Date literals, URIs, lists `a,b,c` and ranges `min..max` (with `==`/`!=`);
//! attribute paths `attr.subAttr` (also `attr.observedAt`, `.unitCode`, `.datasetId`,
//! `.modifiedAt`, `.createdAt`) and compound members `attr[key.key2]`; `;` (AND, binds
//! tighter) and `|` (OR), parentheses.
//!
//! Semantics: a term holds when any instance (datasetId) of the attribute and, for array
//! values, any element satisfies it. DateTime values compare as instants, both as plain
//! strings and in the `{"@type": "DateTime", "@value": …}` form. A single `=` is an error
//! (400 BadRequestData), not an equality.

use crate::ld::context::Context;
use crate::ld::error::{NgsiError, NgsiResult};
use crate::ld::model::{parse_datetime, AttrKind, Attribute, Entity};
use serde_json::Value;
use std::cmp::Ordering;

/// A parsed q expression.
#[derive(Debug, Clone)]
pub enum Expr {
    /// All must hold (`;`).
    And(Vec<Expr>),
    /// One must hold (`|`).
    Or(Vec<Expr>),
    /// One term.
    Term(Term),
    /// `!attr`: the attribute does not exist (§4.9).
    Absent(Term),
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `~=`
    Match,
    /// `!~=`
    NotMatch,
}

/// A literal.
#[derive(Debug, Clone)]
pub enum Lit {
    /// A number.
    Num(f64),
    /// A quoted string (also compared as a DateTime when it is one).
    Str(String),
    /// `true` / `false`.
    Bool(bool),
    /// An unquoted DateTime or Date (µs since the epoch).
    DateTime(i64),
    /// Any other unquoted token (a URI, a bare word).
    Raw(String),
}

/// The right-hand side of a term.
#[derive(Debug, Clone)]
pub enum Rhs {
    /// One value.
    One(Lit),
    /// A list: equal to any.
    List(Vec<Lit>),
    /// An inclusive range.
    Range(Lit, Lit),
    /// A regular expression.
    Regex(regex::Regex),
}

/// One term: an attribute path, and optionally an operator and a value.
#[derive(Debug, Clone)]
pub struct Term {
    /// Attribute name as written (compacted; expanded at evaluation).
    pub attr: String,
    /// Sub-attribute path after `.`.
    pub sub: Vec<String>,
    /// Compound value path inside `[…]`.
    pub compound: Vec<String>,
    /// Operator and value; `None` = the attribute exists.
    pub cond: Option<(Op, Rhs)>,
    /// `attr` expanded with a context, set by [`Expr::bound`] (saves expanding per entity).
    pub iri: Option<String>,
}

/// How many linked-entity hops a q expression addresses (GS CIM 009 §4.9: `attr{…}`
/// paths into the entity a Relationship targets): the deepest `{` nesting outside quoted
/// strings. 0 for a plain expression.
pub fn linked_depth(q: &str) -> usize {
    let (mut depth, mut max, mut quoted) = (0usize, 0usize, false);
    for c in q.chars() {
        match c {
            '"' => quoted = !quoted,
            '{' if !quoted => {
                depth += 1;
                max = max.max(depth);
            }
            '}' if !quoted => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// Largest accepted q text, in bytes.
pub const MAX_Q_LEN: usize = 8 * 1024;

/// Parses a q expression. Errors: 400 BadRequestData with the position and what is wrong.
pub fn parse(q: &str) -> NgsiResult<Expr> {
    if q.len() > MAX_Q_LEN {
        return Err(NgsiError::bad_data(format!(
            "q is longer than {MAX_Q_LEN} bytes"
        )));
    }
    let mut p = Parser {
        s: q.as_bytes(),
        src: q,
        i: 0,
    };
    let e = p.or_expr(0)?;
    if p.i != p.s.len() {
        return Err(p.err("unexpected character"));
    }
    Ok(e)
}

struct Parser<'a> {
    s: &'a [u8],
    src: &'a str,
    i: usize,
}

impl Parser<'_> {
    fn err(&self, what: &str) -> NgsiError {
        NgsiError::bad_data(format!(
            "invalid q {:?} at position {}: {what}",
            self.src, self.i
        ))
    }
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn or_expr(&mut self, depth: usize) -> NgsiResult<Expr> {
        if depth > 32 {
            return Err(self.err("too deeply nested"));
        }
        let mut v = vec![self.and_expr(depth)?];
        while self.peek() == Some(b'|') {
            self.i += 1;
            v.push(self.and_expr(depth)?);
        }
        Ok(if v.len() == 1 {
            v.pop().unwrap_or(Expr::And(vec![]))
        } else {
            Expr::Or(v)
        })
    }
    fn and_expr(&mut self, depth: usize) -> NgsiResult<Expr> {
        let mut v = vec![self.primary(depth)?];
        while self.peek() == Some(b';') {
            self.i += 1;
            v.push(self.primary(depth)?);
        }
        Ok(if v.len() == 1 {
            v.pop().unwrap_or(Expr::And(vec![]))
        } else {
            Expr::And(v)
        })
    }
    fn primary(&mut self, depth: usize) -> NgsiResult<Expr> {
        if self.peek() == Some(b'(') {
            self.i += 1;
            let e = self.or_expr(depth + 1)?;
            if self.peek() != Some(b')') {
                return Err(self.err("missing )"));
            }
            self.i += 1;
            return Ok(e);
        }
        if self.peek() == Some(b'!') {
            self.i += 1;
            let t = self.term()?;
            if t.cond.is_some() {
                return Err(self.err("'!' negates only an attribute's existence"));
            }
            return Ok(Expr::Absent(t));
        }
        self.term().map(Expr::Term)
    }
    fn term(&mut self) -> NgsiResult<Term> {
        let start = self.i;
        while let Some(c) = self.peek() {
            if matches!(
                c,
                b'=' | b'!' | b'>' | b'<' | b'~' | b';' | b'|' | b'(' | b')' | b'"' | b'['
            ) {
                break;
            }
            self.i += 1;
        }
        let path = &self.src[start..self.i];
        if path.is_empty() {
            return Err(self.err("expected an attribute name"));
        }
        let mut compound = Vec::new();
        if self.peek() == Some(b'[') {
            let cs = self.i + 1;
            while self.peek().is_some_and(|c| c != b']') {
                self.i += 1;
            }
            if self.peek() != Some(b']') {
                return Err(self.err("missing ]"));
            }
            compound = self.src[cs..self.i]
                .split('.')
                .map(str::to_string)
                .collect();
            self.i += 1;
        }
        let mut parts = path.split('.');
        let attr = parts.next().unwrap_or("").to_string();
        let sub: Vec<String> = parts.map(str::to_string).collect();
        if attr.is_empty()
            || sub.iter().any(String::is_empty)
            || compound.iter().any(String::is_empty)
        {
            return Err(self.err("empty attribute path segment"));
        }
        let rest = &self.s[self.i..];
        let op = if rest.starts_with(b"==") {
            Some((Op::Eq, 2))
        } else if rest.starts_with(b"!~=") {
            Some((Op::NotMatch, 3))
        } else if rest.starts_with(b"!=") {
            Some((Op::Ne, 2))
        } else if rest.starts_with(b">=") {
            Some((Op::Ge, 2))
        } else if rest.starts_with(b"<=") {
            Some((Op::Le, 2))
        } else if rest.starts_with(b"~=") {
            Some((Op::Match, 2))
        } else if rest.starts_with(b">") {
            Some((Op::Gt, 1))
        } else if rest.starts_with(b"<") {
            Some((Op::Lt, 1))
        } else if rest.starts_with(b"=") {
            return Err(self.err("a single '=' is not an operator (use '==')"));
        } else if rest.starts_with(b"!") || rest.starts_with(b"~") || rest.starts_with(b"\"") {
            return Err(self.err("unknown operator"));
        } else {
            None
        };
        let Some((op, n)) = op else {
            return Ok(Term {
                attr,
                sub,
                compound,
                cond: None,
                iri: None,
            });
        };
        self.i += n;
        let rhs = if matches!(op, Op::Match | Op::NotMatch) {
            let vs = self.i;
            let mut depth = 0i32;
            while let Some(c) = self.peek() {
                match c {
                    b'(' => depth += 1,
                    b')' if depth == 0 => break,
                    b')' => depth -= 1,
                    b';' | b'|' if depth == 0 => break,
                    _ => {}
                }
                self.i += 1;
            }
            let pat = &self.src[vs..self.i];
            let pat = pat
                .strip_prefix('"')
                .and_then(|p| p.strip_suffix('"'))
                .unwrap_or(pat);
            Rhs::Regex(
                regex::Regex::new(pat)
                    .map_err(|e| self.err(&format!("bad regular expression: {e}")))?,
            )
        } else {
            let vs = self.i;
            let mut in_q = false;
            while let Some(c) = self.peek() {
                if in_q {
                    if c == b'\\' {
                        self.i += 1;
                    } else if c == b'"' {
                        in_q = false;
                    }
                } else if c == b'"' {
                    in_q = true;
                } else if matches!(c, b';' | b'|' | b')') {
                    break;
                }
                self.i += 1;
            }
            if in_q {
                return Err(self.err("unterminated string"));
            }
            let raw = &self.src[vs..self.i];
            if raw.is_empty() {
                return Err(self.err("missing value"));
            }
            let items = split_top(raw, ",");
            if items.len() > 1 {
                if !matches!(op, Op::Eq | Op::Ne) {
                    return Err(self.err("a list of values needs == or !="));
                }
                Rhs::List(
                    items
                        .iter()
                        .map(|s| lit(s))
                        .collect::<Result<_, _>>()
                        .map_err(|e| self.err(&e))?,
                )
            } else {
                let r = split_top(raw, "..");
                if r.len() == 2 {
                    if !matches!(op, Op::Eq | Op::Ne) {
                        return Err(self.err("a range needs == or !="));
                    }
                    Rhs::Range(
                        lit(r[0]).map_err(|e| self.err(&e))?,
                        lit(r[1]).map_err(|e| self.err(&e))?,
                    )
                } else {
                    Rhs::One(lit(raw).map_err(|e| self.err(&e))?)
                }
            }
        };
        Ok(Term {
            attr,
            sub,
            compound,
            cond: Some((op, rhs)),
            iri: None,
        })
    }
}

fn split_top<'a>(s: &'a str, sep: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let (mut start, mut i, mut in_q) = (0, 0, false);
    while i < b.len() {
        if in_q {
            if b[i] == b'\\' {
                i += 1;
            } else if b[i] == b'"' {
                in_q = false;
            }
        } else if b[i] == b'"' {
            in_q = true;
        } else if b[i..].starts_with(sep.as_bytes()) {
            // `..` inside a number like `1.5` is not a range separator; only the exact `..`.
            out.push(&s[start..i]);
            i += sep.len();
            start = i;
            continue;
        }
        i += 1;
    }
    out.push(&s[start..]);
    out
}

fn lit(s: &str) -> Result<Lit, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty value".into());
    }
    if let Some(inner) = s.strip_prefix('"') {
        let inner = inner.strip_suffix('"').ok_or("unterminated string")?;
        return Ok(Lit::Str(inner.replace("\\\"", "\"")));
    }
    if s.starts_with('\'') {
        return Err("strings are quoted with \" in q".into());
    }
    match s {
        "true" => return Ok(Lit::Bool(true)),
        "false" => return Ok(Lit::Bool(false)),
        _ => {}
    }
    if let Ok(n) = s.parse::<f64>() {
        if n.is_finite() {
            return Ok(Lit::Num(n));
        }
    }
    if s.as_bytes()[0].is_ascii_digit() {
        if let Some(t) = parse_datetime(s) {
            return Ok(Lit::DateTime(t));
        }
    }
    Ok(Lit::Raw(s.to_string()))
}

fn unwrap_typed(v: &Value) -> &Value {
    match v {
        Value::Object(m) if m.contains_key("@value") => &m["@value"],
        v => v,
    }
}

fn cmp(v: &Value, l: &Lit) -> Option<Ordering> {
    let v = unwrap_typed(v);
    match (v, l) {
        (Value::Number(n), Lit::Num(x)) => n.as_f64()?.partial_cmp(x),
        (Value::Bool(b), Lit::Bool(x)) => Some(b.cmp(x)),
        (Value::String(s), Lit::DateTime(t)) => parse_datetime(s).map(|u| u.cmp(t)),
        (Value::String(s), Lit::Str(x) | Lit::Raw(x)) => {
            if s.len() >= 10 && x.len() >= 10 {
                if let (Some(a), Some(b)) = (parse_datetime(s), parse_datetime(x)) {
                    return Some(a.cmp(&b));
                }
            }
            Some(s.as_str().cmp(x.as_str()))
        }
        _ => None,
    }
}

fn holds_one(v: &Value, op: Op, rhs: &Rhs) -> bool {
    match rhs {
        Rhs::Regex(re) => {
            let m = unwrap_typed(v).as_str().is_some_and(|s| re.is_match(s));
            if op == Op::Match {
                m
            } else {
                !m
            }
        }
        Rhs::One(l) => {
            let c = cmp(v, l);
            match op {
                Op::Eq => c == Some(Ordering::Equal),
                Op::Ne => c != Some(Ordering::Equal),
                Op::Gt => c == Some(Ordering::Greater),
                Op::Ge => matches!(c, Some(Ordering::Greater | Ordering::Equal)),
                Op::Lt => c == Some(Ordering::Less),
                Op::Le => matches!(c, Some(Ordering::Less | Ordering::Equal)),
                Op::Match | Op::NotMatch => false,
            }
        }
        Rhs::List(ls) => {
            let any = ls.iter().any(|l| cmp(v, l) == Some(Ordering::Equal));
            if op == Op::Ne {
                !any
            } else {
                any
            }
        }
        Rhs::Range(a, b) => {
            let inside = matches!(cmp(v, a), Some(Ordering::Greater | Ordering::Equal))
                && matches!(cmp(v, b), Some(Ordering::Less | Ordering::Equal));
            if op == Op::Ne {
                !inside
            } else {
                inside
            }
        }
    }
}

fn holds(v: &Value, op: Op, rhs: &Rhs) -> bool {
    match unwrap_typed(v) {
        Value::Array(a) if !matches!(rhs, Rhs::One(_)) || !matches!(op, Op::Ne) => {
            a.iter().any(|x| holds_one(x, op, rhs))
        }
        Value::Array(a) => !a.iter().any(|x| holds_one(x, Op::Eq, rhs)),
        _ => holds_one(v, op, rhs),
    }
}

/// The values a term compares for one attribute instance.
fn instance_values(a: &Attribute, t: &Term, ctx: &Context) -> Vec<Value> {
    let mut cur = a;
    let mut meta: Option<Value> = None;
    for (i, s) in t.sub.iter().enumerate() {
        let last = i + 1 == t.sub.len();
        match s.as_str() {
            "observedAt" if last => meta = cur.observed_at.clone().map(Value::String),
            "unitCode" if last => meta = cur.unit_code.clone().map(Value::String),
            "datasetId" if last => meta = cur.dataset_id.clone().map(Value::String),
            "modifiedAt" if last => {
                meta = Some(Value::String(crate::ld::model::format_micros(
                    cur.modified_at,
                )))
            }
            "createdAt" if last => {
                meta = Some(Value::String(crate::ld::model::format_micros(
                    cur.created_at,
                )))
            }
            name => match cur.sub.get(&ctx.expand(name)) {
                Some(sa) => cur = sa,
                None => return Vec::new(),
            },
        }
        if meta.is_some() {
            return meta.into_iter().collect();
        }
        if last && matches!(s.as_str(), "observedAt" | "unitCode" | "datasetId") {
            return Vec::new();
        }
    }
    let base: Vec<Value> = match cur.kind {
        // §4.9: `attr[lang]` addresses one language of a languageMap, `attr[*]` any.
        AttrKind::LanguageProperty => {
            let Some(m) = cur.value.as_object() else {
                return Vec::new();
            };
            return match t.compound.as_slice() {
                [] => m.values().cloned().collect(),
                [k] if k == "*" => m.values().cloned().collect(),
                [k] => m.get(k).cloned().into_iter().collect(),
                _ => Vec::new(),
            };
        }
        _ => vec![cur.plain_value().clone()],
    };
    if t.compound.is_empty() {
        return base;
    }
    base.into_iter()
        .filter_map(|mut v| {
            for k in &t.compound {
                v = unwrap_typed(&v).get(k)?.clone();
            }
            Some(v)
        })
        .collect()
}

fn term_holds(t: &Term, e: &Entity, ctx: &Context) -> bool {
    let found = match &t.iri {
        Some(iri) => e.attrs.get(iri),
        None => e.attrs.get(&ctx.expand(&t.attr)),
    };
    let Some(list) = found else {
        return false;
    };
    list.iter().any(|a| {
        // §4.9: on a Relationship only equal and unequal can match.
        if matches!(a.kind, AttrKind::Relationship | AttrKind::ListRelationship)
            && t.sub.is_empty()
            && matches!(&t.cond, Some((op, _)) if !matches!(op, Op::Eq | Op::Ne))
        {
            return false;
        }
        let vals = instance_values(a, t, ctx);
        match &t.cond {
            None => !vals.is_empty(),
            // §4.9: unequal on a languageMap holds only when no language matches.
            Some((op @ (Op::Ne | Op::NotMatch), rhs)) if a.kind == AttrKind::LanguageProperty => {
                !vals.is_empty() && vals.iter().all(|v| holds(v, *op, rhs))
            }
            // A Relationship's object is a URI: it has no order (§4.9).
            Some((Op::Gt | Op::Ge | Op::Lt | Op::Le, _))
                if a.kind == AttrKind::Relationship && t.sub.is_empty() =>
            {
                false
            }
            Some((op, rhs)) => vals.iter().any(|v| holds(v, *op, rhs)),
        }
    })
}

impl Expr {
    /// A copy with attribute names expanded once with `ctx` (evaluate it with the same
    /// `ctx`; sub-attribute names are still expanded per use).
    pub fn bound(&self, ctx: &Context) -> Expr {
        match self {
            Expr::And(v) => Expr::And(v.iter().map(|x| x.bound(ctx)).collect()),
            Expr::Or(v) => Expr::Or(v.iter().map(|x| x.bound(ctx)).collect()),
            Expr::Term(t) => Expr::Term(Term {
                iri: Some(ctx.expand(&t.attr)),
                ..t.clone()
            }),
            Expr::Absent(t) => Expr::Absent(Term {
                iri: Some(ctx.expand(&t.attr)),
                ..t.clone()
            }),
        }
    }

    /// Evaluates the expression on one entity; attribute names are expanded with `ctx`.
    pub fn matches(&self, e: &Entity, ctx: &Context) -> bool {
        match self {
            Expr::And(v) => v.iter().all(|x| x.matches(e, ctx)),
            Expr::Or(v) => v.iter().any(|x| x.matches(e, ctx)),
            Expr::Term(t) => term_holds(t, e, ctx),
            Expr::Absent(t) => !term_holds(t, e, ctx),
        }
    }

    /// The attribute names (as written) the expression refers to.
    pub fn attributes(&self) -> Vec<&str> {
        match self {
            Expr::And(v) | Expr::Or(v) => v.iter().flat_map(Expr::attributes).collect(),
            Expr::Term(t) | Expr::Absent(t) => vec![t.attr.as_str()],
        }
    }
}

/// A parsed `scopeQ`: an OR of ANDs of scope patterns (`/A/B`, `/A/#`, `/A/+`, `/#`).
#[derive(Debug, Clone)]
pub struct ScopeQuery(Vec<Vec<String>>);

/// Parses `scopeQ`. Errors: 400 BadRequestData.
pub fn parse_scope_q(s: &str) -> NgsiResult<ScopeQuery> {
    let s = s.replace(['(', ')'], "");
    let mut ors = Vec::new();
    for part in s.split(['|', ',']) {
        let ands: Vec<String> = part.split(';').map(|x| x.trim().to_string()).collect();
        if ands.iter().any(|a| !a.starts_with('/')) {
            return Err(NgsiError::bad_data(format!(
                "scopeQ {s:?}: every scope starts with /"
            )));
        }
        ors.push(ands);
    }
    Ok(ScopeQuery(ors))
}

/// Whether `scope` matches the pattern `pat` (§4.19): level by level, `+` matches any one
/// level and a final `#` the rest (none included).
fn scope_matches(pat: &str, scope: &str) -> bool {
    let mut want = pat.split('/').skip(1);
    let mut have = scope.split('/').skip(1);
    loop {
        match (want.next(), have.next()) {
            (Some("#"), _) => return want.next().is_none(),
            (None, None) => return true,
            (Some("+"), Some(h)) if !h.is_empty() => {}
            (Some(w), Some(h)) if w == h => {}
            _ => return false,
        }
    }
}

impl ScopeQuery {
    /// Whether the entity's scopes satisfy the query.
    pub fn matches(&self, e: &Entity) -> bool {
        self.0.iter().any(|ands| {
            ands.iter()
                .all(|p| e.scope.iter().any(|s| scope_matches(p, s)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ld::model::parse_entity;
    use serde_json::json;

    fn entity() -> Entity {
        parse_entity(
            &json!({"id":"urn:ngsi-ld:Device:1","type":"Device","scope":"/Madrid/Gardens",
              "pm10":{"type":"Property","value":42,"observedAt":"2024-05-01T10:00:00Z","unitCode":"GQ"},
              "name":{"type":"Property","value":"NICE D'R ST"},
              "since":{"type":"Property","value":"2024-01-01T00:00:00Z"},
              "until":{"type":"Property","value":{"@type":"DateTime","@value":"2025-01-01T00:00:00Z"}},
              "controlledAsset":{"type":"Relationship","object":"urn:x"},
              "address":{"type":"Property","value":{"city":"Nice","street":{"no":5}}},
              "tags":{"type":"Property","value":["a","b"]},
              "label":{"type":"LanguageProperty","languageMap":{"en":"red","fr":"rouge"}}}),
            &Context::core(),
            1,
        )
        .unwrap()
    }

    fn m(q: &str) -> bool {
        parse(q).unwrap().matches(&entity(), &Context::core())
    }

    #[test]
    fn comparisons_logic_and_paths() {
        assert!(m("pm10==42"));
        assert!(m("pm10>40;pm10<=42"));
        assert!(!m("pm10>42"));
        assert!(m("pm10==40..50"));
        assert!(m("pm10==1,2,42"));
        assert!(m("pm10!=41"));
        assert!(m("(pm10<0|pm10>10);controlledAsset==\"urn:x\""));
        assert!(m("controlledAsset==urn:x"));
        assert!(m("name==\"NICE D'R ST\""));
        assert!(m("name~=^NICE"));
        assert!(m("name!~=^LYON"));
        assert!(m("address[city]==\"Nice\""));
        assert!(m("address[street.no]==5"));
        assert!(m("pm10.observedAt>2024-04-01T00:00:00Z"));
        assert!(m("pm10.unitCode==\"GQ\""));
        assert!(m("tags==\"b\""));
        assert!(m("pm10"));
        assert!(!m("so2"));
        assert!(!m("name==北京,上海"));
        assert!(!m("name==北京..上海"));
        assert!(!m("name~=^北京"));
        assert!(m("label[en]==\"red\""));
        assert!(!m("label[fr]==\"red\""));
        assert!(m("label[*]==\"rouge\""));
        assert!(m("label==\"rouge\""));
        assert!(!m("controlledAsset>\"urn:a\""));
        assert!(!m("controlledAsset<\"urn:z\""));
        assert!(m("!so2;pm10==42"));
        assert!(!m("label[*]!=\"red\""));
        assert!(m("label[*]!=\"blue\""));
        assert!(!m("!pm10"));
        assert!(parse("!pm10==42").is_err());
    }

    #[test]
    fn datetimes_in_both_forms() {
        assert!(m("since<2024-06-01T00:00:00Z"));
        assert!(m("since==2024-01-01T00:00:00.000Z"));
        assert!(m("until>2024-06-01T00:00:00Z"));
        assert!(m("until>\"2024-06-01T00:00:00Z\""));
        assert!(!m("until<2024-06-01T00:00:00Z"));
    }

    #[test]
    fn single_equals_is_an_error() {
        let e = parse("controlledAsset=\"urn:x\"").unwrap_err();
        assert_eq!(e.kind, crate::ld::error::ProblemKind::BadRequestData);
        assert!(e.detail.contains("single '='"), "{}", e.detail);
        assert!(parse("pm10==").is_err());
        assert!(parse("(pm10==1").is_err());
        assert!(parse("pm10>1,2").is_err());
    }

    #[test]
    fn no_panic_on_any_prefix_or_garbage() {
        let samples = [
            "(pm10<0|pm10>10);controlledAsset==\"urn:x\";name~=^北京(市)?$|a[b.c]!=1..2,3",
            "温度>=2024-01-01T00:00:00Z;x.observedAt<\"é\"|(((a)))",
            "a==\"\\\"\",\"b\"",
            "!~=",
            "==",
            "a[",
            "a[]==1",
            "a..b",
            "(",
            ")",
            ";|;",
        ];
        let e = entity();
        for s in samples {
            for (i, _) in s.char_indices() {
                if let Ok(x) = parse(&s[..i]) {
                    let _ = x.matches(&e, &Context::core());
                }
                let _ = parse(&s[i..]);
            }
        }
    }

    #[test]
    fn scope_queries() {
        let e = entity();
        assert!(parse_scope_q("/Madrid/#").unwrap().matches(&e));
        assert!(parse_scope_q("/Madrid/+").unwrap().matches(&e));
        assert!(parse_scope_q("/+/Gardens").unwrap().matches(&e));
        assert!(parse_scope_q("/Madrid/Gardens/#").unwrap().matches(&e));
        assert!(!parse_scope_q("/+/Parks").unwrap().matches(&e));
        assert!(parse_scope_q("/#").unwrap().matches(&e));
        assert!(!parse_scope_q("/Madrid").unwrap().matches(&e));
        assert!(parse_scope_q("/Nice,/Madrid/Gardens").unwrap().matches(&e));
        assert!(parse_scope_q("Madrid").is_err());
    }
}
