//! Building SQL whose shape depends on the request (filters, sort keys, `IN` lists) with
//! numbered `$n` placeholders, so a value never enters the SQL text.
//!
//! Moved here from the datastore's query module, so that every store builds dynamic SQL the
//! same way. Identifiers (table and column names) are not values: a store quotes them with
//! [`quote_ident`] after checking them against its own schema.
//!
//! ```
//! use onecity_store::{SqlBuilder, Val};
//!
//! let mut q = SqlBuilder::new("SELECT id FROM gov_events WHERE tenant = ");
//! q.push_bind("nyc");
//! q.push(" AND status IN ").push_list(["open", "assigned"]);
//! let since = q.bind(1_577_836_800_000_000_i64); // a placeholder for use in format!
//! q.push(&format!(" AND created_at >= {since}"));
//! assert_eq!(
//!     q.sql(),
//!     "SELECT id FROM gov_events WHERE tenant = $1 AND status IN ($2, $3) AND created_at >= $4"
//! );
//! assert_eq!(q.args()[1], Val::from("open"));
//! ```

use crate::db::Val;

/// SQL text and its bound arguments, built together.
#[derive(Debug, Clone, Default)]
pub struct SqlBuilder {
    sql: String,
    args: Vec<Val>,
}

impl SqlBuilder {
    /// Starts with `sql` (may be empty).
    pub fn new(sql: &str) -> Self {
        Self {
            sql: sql.to_string(),
            args: Vec::new(),
        }
    }

    /// Appends SQL text (never a value: use [`push_bind`](Self::push_bind)).
    pub fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }

    /// Adds an argument and returns its placeholder (`$n`) without touching the text, for
    /// fragments assembled with `format!`.
    pub fn bind(&mut self, v: impl Into<Val>) -> String {
        self.args.push(v.into());
        format!("${}", self.args.len())
    }

    /// Adds an argument and appends its placeholder to the text.
    pub fn push_bind(&mut self, v: impl Into<Val>) -> &mut Self {
        let p = self.bind(v);
        self.sql.push_str(&p);
        self
    }

    /// Appends `($a, $b, …)` for the values; an empty list appends `(NULL)`, which matches
    /// nothing in `x IN (NULL)` on both backends.
    pub fn push_list<V: Into<Val>>(&mut self, vals: impl IntoIterator<Item = V>) -> &mut Self {
        let ps: Vec<String> = vals.into_iter().map(|v| self.bind(v)).collect();
        if ps.is_empty() {
            self.sql.push_str("(NULL)");
        } else {
            self.sql.push('(');
            self.sql.push_str(&ps.join(", "));
            self.sql.push(')');
        }
        self
    }

    /// The SQL text so far.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The arguments so far, in placeholder order.
    pub fn args(&self) -> &[Val] {
        &self.args
    }

    /// Text and arguments.
    pub fn into_parts(self) -> (String, Vec<Val>) {
        (self.sql, self.args)
    }
}

/// Double-quotes an SQL identifier (both backends), doubling embedded quotes. Check the
/// name against the schema first: quoting makes any text a valid identifier.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_list_matches_nothing_and_numbers_continue() {
        let mut q = SqlBuilder::new("SELECT 1 FROM t WHERE a IN ");
        q.push_list(Vec::<i64>::new());
        q.push(" OR b = ").push_bind(7_i64);
        assert_eq!(q.sql(), "SELECT 1 FROM t WHERE a IN (NULL) OR b = $1");
        assert_eq!(q.args(), &[Val::I64(Some(7))]);
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_ident("Incident Zip"), "\"Incident Zip\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }
}
