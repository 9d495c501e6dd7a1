//! Read-only SQL over datastore tables (CKAN `datastore_search_sql`): parsing and checking.
//!
//! A query is parsed with sqlparser (PostgreSQL dialect, recursion limit 50) and accepted
//! only when it is exactly one `SELECT` (also `WITH … SELECT`, `UNION`, `VALUES`) with:
//! no `INTO`, no `FOR UPDATE`/`FOR SHARE`, no data-modifying CTE, no bound parameters, no
//! table-valued functions, every table a datastore resource id (written as a quoted
//! identifier, `"<resource id>"`) or a CTE of the same query, and every function in
//! [`ALLOWED_FUNCTIONS`]. Anything else (`INSERT`, `ATTACH`, `PRAGMA`, `SET`, several
//! statements, `pg_sleep`, `sqlite_master`, `pg_catalog.*`) is refused with a validation
//! error that names the reason.
//!
//! Masked fields may only be selected as they are (`SELECT phone` or `SELECT phone AS p`,
//! also through `*`), never used in expressions, filters, joins or sort keys, so that a
//! masked value cannot be recovered by computing over it; the returned column is masked.

use onecity_core::{Error, Result};
use sqlparser::ast::{
    Expr, Ident, ObjectNamePart, Query, SelectItem, SetExpr, Statement, TableAlias, TableFactor,
    Value, VisitMut, VisitorMut,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;

/// Longest SQL text accepted (characters).
pub const MAX_SQL_CHARS: usize = 20_000;
/// Most rows a query returns; more are cut off and `records_truncated` is set.
pub const MAX_SQL_ROWS: usize = 10_000;
/// Longest a query may run (seconds).
pub const SQL_TIMEOUT_SECS: u64 = 5;

/// Functions a query may call (case-insensitive).
pub const ALLOWED_FUNCTIONS: &[&str] = &[
    "count",
    "sum",
    "avg",
    "min",
    "max",
    "lower",
    "upper",
    "length",
    "char_length",
    "substr",
    "substring",
    "round",
    "abs",
    "coalesce",
    "nullif",
    "replace",
    "trim",
    "ltrim",
    "rtrim",
    "greatest",
    "least",
    "ceil",
    "floor",
    "concat",
    "cast",
    "date",
    "strftime",
    "to_char",
    "date_trunc",
    "extract",
    "instr",
    "position",
    "sign",
    "sqrt",
    "power",
    "mod",
];

/// A checked query: SQL text in which each datastore table is a placeholder
/// `__ocds_<n>__`, to be replaced by the table (or a restricted subquery) of `resources[n]`.
#[derive(Debug, Clone)]
pub struct CheckedSql {
    /// The rewritten query.
    pub sql: String,
    /// Resource ids in placeholder order (a resource may appear more than once).
    pub resources: Vec<String>,
    /// Identifier occurrences by lower-cased name (columns referenced anywhere).
    pub idents: HashMap<String, usize>,
    /// Top-level projection items that are bare column references: (output name, column).
    pub bare: Vec<(String, String)>,
}

/// Placeholder text of resource number `i`.
pub fn placeholder(i: usize) -> String {
    format!("__ocds_{i}__")
}

struct Check {
    resources: Vec<String>,
    ctes: HashSet<String>,
    idents: HashMap<String, usize>,
    err: Option<String>,
}

impl Check {
    fn fail(&mut self, msg: impl Into<String>) -> ControlFlow<()> {
        self.err = Some(msg.into());
        ControlFlow::Break(())
    }
}

fn body_ok(b: &SetExpr) -> std::result::Result<(), String> {
    match b {
        SetExpr::Select(s) => {
            if s.into.is_some() {
                return Err("a query with INTO is not allowed".into());
            }
            Ok(())
        }
        SetExpr::Query(q) => body_ok(&q.body),
        SetExpr::SetOperation { left, right, .. } => {
            body_ok(left)?;
            body_ok(right)
        }
        SetExpr::Values(_) => Ok(()),
        _ => Err("only SELECT queries are allowed".into()),
    }
}

impl VisitorMut for Check {
    type Break = ();

    fn pre_visit_query(&mut self, q: &mut Query) -> ControlFlow<()> {
        if !q.locks.is_empty() {
            return self.fail("FOR UPDATE / FOR SHARE is not allowed");
        }
        if let Err(e) = body_ok(&q.body) {
            return self.fail(e);
        }
        if let Some(w) = &q.with {
            for c in &w.cte_tables {
                if let Err(e) = body_ok(&c.query.body) {
                    return self.fail(e);
                }
                self.ctes.insert(c.alias.name.value.to_lowercase());
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, tf: &mut TableFactor) -> ControlFlow<()> {
        match tf {
            TableFactor::Table {
                name, alias, args, ..
            } => {
                if args.is_some() {
                    return self.fail("table functions are not allowed");
                }
                if name.0.len() != 1 {
                    return self.fail(format!(
                        "table {name} is not a datastore resource (write \"<resource id>\")"
                    ));
                }
                let ObjectNamePart::Identifier(id) = &name.0[0] else {
                    return self.fail("table names must be identifiers");
                };
                if id.quote_style.is_none() && self.ctes.contains(&id.value.to_lowercase()) {
                    return ControlFlow::Continue(());
                }
                if self.ctes.contains(&id.value.to_lowercase()) && id.quote_style.is_some() {
                    return ControlFlow::Continue(());
                }
                let rid = id.value.clone();
                let n = self.resources.len();
                self.resources.push(rid.clone());
                if alias.is_none() {
                    *alias = Some(TableAlias {
                        explicit: true,
                        name: Ident::with_quote('"', rid),
                        columns: vec![],
                        at: None,
                    });
                }
                name.0[0] = ObjectNamePart::Identifier(Ident::new(placeholder(n)));
                ControlFlow::Continue(())
            }
            TableFactor::Derived { .. } | TableFactor::NestedJoin { .. } => {
                ControlFlow::Continue(())
            }
            _ => self.fail("only tables, subqueries and joins may appear in FROM"),
        }
    }

    fn pre_visit_expr(&mut self, e: &mut Expr) -> ControlFlow<()> {
        match e {
            Expr::Function(f) => {
                let ok = f.name.0.len() == 1
                    && match &f.name.0[0] {
                        ObjectNamePart::Identifier(i) => {
                            ALLOWED_FUNCTIONS.contains(&i.value.to_lowercase().as_str())
                        }
                        _ => false,
                    };
                if !ok {
                    return self.fail(format!(
                        "function {} is not allowed (allowed: {})",
                        f.name,
                        ALLOWED_FUNCTIONS.join(", ")
                    ));
                }
            }
            Expr::Identifier(i) => {
                *self.idents.entry(i.value.to_lowercase()).or_default() += 1;
            }
            Expr::CompoundIdentifier(parts) => {
                if let Some(last) = parts.last() {
                    *self.idents.entry(last.value.to_lowercase()).or_default() += 1;
                }
            }
            Expr::Value(v) if matches!(v.value, Value::Placeholder(_)) => {
                return self.fail("bound parameters are not allowed");
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

/// Parses and checks `sql` (see the module docs); errors are validation errors.
pub fn check(sql: &str) -> Result<CheckedSql> {
    if sql.chars().count() > MAX_SQL_CHARS {
        return Err(Error::invalid(format!(
            "the SQL is longer than {MAX_SQL_CHARS} characters"
        )));
    }
    let dialect = PostgreSqlDialect {};
    let mut stmts = Parser::new(&dialect)
        .with_recursion_limit(50)
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_statements())
        .map_err(|e| Error::invalid(format!("SQL syntax: {e}")))?;
    if stmts.len() != 1 {
        return Err(Error::invalid(format!(
            "exactly one statement is allowed (found {})",
            stmts.len()
        )));
    }
    let Statement::Query(q) = &mut stmts[0] else {
        return Err(Error::invalid("only SELECT statements are allowed"));
    };
    let mut c = Check {
        resources: vec![],
        ctes: HashSet::new(),
        idents: HashMap::new(),
        err: None,
    };
    // CTE names first, so references to them are not taken for resources.
    if let Some(w) = &q.with {
        for t in &w.cte_tables {
            c.ctes.insert(t.alias.name.value.to_lowercase());
        }
    }
    let _ = q.visit(&mut c);
    if let Some(e) = c.err {
        return Err(Error::invalid(e));
    }
    if c.resources.is_empty() {
        return Err(Error::invalid("the query reads no datastore table"));
    }
    let mut bare = Vec::new();
    if let SetExpr::Select(s) = q.body.as_ref() {
        for item in &s.projection {
            let (e, alias) = match item {
                SelectItem::UnnamedExpr(e) => (e, None),
                SelectItem::ExprWithAlias { expr, alias } => (expr, Some(alias.value.clone())),
                _ => continue,
            };
            let col = match e {
                Expr::Identifier(i) => i.value.clone(),
                Expr::CompoundIdentifier(p) => match p.last() {
                    Some(i) => i.value.clone(),
                    None => continue,
                },
                _ => continue,
            };
            bare.push((alias.unwrap_or_else(|| col.clone()), col));
        }
    }
    Ok(CheckedSql {
        sql: q.to_string(),
        resources: c.resources,
        idents: c.idents,
        bare,
    })
}

impl CheckedSql {
    /// Checks that each masked column (by name) is used only as a bare top-level projection
    /// item; returns output column name → masked column name.
    pub fn masked_outputs(&self, masked: &HashSet<String>) -> Result<HashMap<String, String>> {
        let mut out = HashMap::new();
        for m in masked {
            let lm = m.to_lowercase();
            let used = self.idents.get(&lm).copied().unwrap_or(0);
            let bare: Vec<&(String, String)> = self
                .bare
                .iter()
                .filter(|(_, c)| c.to_lowercase() == lm)
                .collect();
            if used > bare.len() {
                return Err(Error::invalid(format!(
                    "field {m:?} is masked for you: select it as it is, without computing, filtering, joining or sorting on it"
                )));
            }
            out.insert(m.clone(), m.clone());
            for (o, c) in bare {
                out.insert(o.clone(), c.clone());
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(sql: &str) -> String {
        check(sql).unwrap_err().detail
    }

    #[test]
    fn select_is_rewritten_with_placeholders() {
        let c =
            check(r#"SELECT "PM2.5", station FROM "air-1" WHERE year = 2014 ORDER BY 1 LIMIT 5"#)
                .unwrap();
        assert_eq!(c.resources, vec!["air-1"]);
        assert!(c.sql.contains("FROM __ocds_0__ AS \"air-1\""), "{}", c.sql);
        let c = check(
            r#"WITH t AS (SELECT * FROM "a") SELECT count(*) FROM t JOIN "b" x ON t.k = x.k"#,
        )
        .unwrap();
        assert_eq!(c.resources, vec!["a", "b"]);
    }

    #[test]
    fn writes_attach_pragma_and_several_statements_are_refused() {
        assert!(refused(r#"DELETE FROM "a""#).contains("only SELECT"));
        assert!(refused(r#"INSERT INTO "a" VALUES (1)"#).contains("only SELECT"));
        assert!(
            refused("ATTACH DATABASE 'x.db' AS x").contains("SELECT")
                || refused("ATTACH DATABASE 'x.db' AS x").contains("syntax")
        );
        assert!(!refused("PRAGMA table_info(x)").is_empty());
        assert!(refused(r#"SELECT 1 FROM "a"; SELECT 2 FROM "a""#).contains("exactly one"));
        assert!(refused(r#"SELECT 1 FROM "a"; DROP TABLE x"#).contains("exactly one"));
        assert!(
            refused(r#"WITH d AS (DELETE FROM "a" RETURNING *) SELECT * FROM d"#)
                .contains("only SELECT")
        );
        assert!(refused(r#"SELECT * INTO x FROM "a""#).contains("INTO"));
        assert!(refused(r#"SELECT * FROM "a" FOR UPDATE"#).contains("FOR UPDATE"));
    }

    #[test]
    fn functions_and_system_tables_are_refused() {
        assert!(refused(r#"SELECT pg_sleep(10) FROM "a""#).contains("pg_sleep"));
        assert!(refused("SELECT * FROM pg_catalog.pg_tables").contains("not a datastore"));
        assert!(refused(r#"SELECT * FROM generate_series(1, 10)"#).contains("table functions"));
        assert!(refused("SELECT 1").contains("no datastore table"));
        assert!(refused(r#"SELECT * FROM "a" WHERE x = $1"#).contains("parameters"));
        assert!(refused("SELEC * FROM").contains("syntax"));
    }

    #[test]
    fn masked_fields_only_as_they_are() {
        let m: HashSet<String> = ["phone".to_string()].into();
        let c = check(r#"SELECT name, phone AS p FROM "a""#).unwrap();
        let o = c.masked_outputs(&m).unwrap();
        assert_eq!(o.get("p").map(String::as_str), Some("phone"));
        assert!(check(r#"SELECT substr(phone, 1, 11) FROM "a""#)
            .unwrap()
            .masked_outputs(&m)
            .is_err());
        assert!(check(r#"SELECT name FROM "a" WHERE phone LIKE '138%'"#)
            .unwrap()
            .masked_outputs(&m)
            .is_err());
        assert!(check(r#"SELECT * FROM "a""#)
            .unwrap()
            .masked_outputs(&m)
            .is_ok());
    }
}
