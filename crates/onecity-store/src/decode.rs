//! Row decoding: a [`Row`] into a typed struct through serde, by column name.
//!
//! Before this, every store wrote its row mappers field by field (`r.text("name")?`, …) and
//! copied them between modules. Now a store declares the row type once:
//!
//! ```
//! use onecity_store::decode::{json_text, micros};
//!
//! #[derive(serde::Deserialize)]
//! struct DatasetRow {
//!     id: uuid::Uuid,                       // TEXT holding a UUID
//!     name: String,                         // TEXT
//!     private: bool,                        // BIGINT 0/1
//!     grade: Option<i64>,                   // nullable BIGINT
//!     #[serde(with = "micros")]
//!     created_at: chrono::DateTime<chrono::Utc>, // BIGINT µs since the epoch
//!     #[serde(with = "json_text")]
//!     extras: serde_json::Value,            // TEXT holding JSON
//! }
//! ```
//!
//! and reads it with `row.decode::<DatasetRow>()` or [`Executor::fetch_all_as`]
//! (crate::Executor::fetch_all_as). Mapping rules, for the storage types of `db.rs`:
//! - integers from `BIGINT` (also from integral text); `bool` from 0/1 (any non-zero is true);
//! - floats from `DOUBLE PRECISION` or `BIGINT`;
//! - strings (and anything serde reads from a string: `Uuid`, enums by name) from `TEXT`;
//!   an integer or float column read as a string gives its decimal text;
//! - `Option<T>` is `None` for SQL NULL; a NULL into a non-`Option` field is an error;
//! - bytes from `BYTEA`/`BLOB` (or `TEXT` as UTF-8 bytes);
//! - a field missing from the select list is an error unless it is an `Option` or has
//!   `#[serde(default)]`; extra columns are ignored.
//!
//! Errors are `internal` (a row that does not fit its type is a bug, never the caller's
//! input) and name the column.

use crate::db::{Row, Val};
use onecity_core::{Error, Result};
use serde::de::{
    self, value::SeqDeserializer, value::StrDeserializer, DeserializeOwned, DeserializeSeed,
    IntoDeserializer, MapAccess, Visitor,
};
use std::fmt;

impl Row {
    /// Decodes this row into `T` by column name (rules in the [module docs](self)).
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T> {
        T::deserialize(RowDeserializer { row: self })
            .map_err(|e| Error::internal(format!("row does not decode: {}", e.0)))
    }
}

/// Decoding error: a message naming the column.
#[derive(Debug)]
pub struct DecodeError(String);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for DecodeError {}
impl de::Error for DecodeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DecodeError(msg.to_string())
    }
}

struct RowDeserializer<'r> {
    row: &'r Row,
}

impl<'de, 'r> de::Deserializer<'de> for RowDeserializer<'r> {
    type Error = DecodeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_map(RowMap {
            row: self.row,
            next: 0,
        })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

struct RowMap<'r> {
    row: &'r Row,
    next: usize,
}

impl<'de, 'r> MapAccess<'de> for RowMap<'r> {
    type Error = DecodeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DecodeError> {
        let Some(name) = self.row.columns().get(self.next) else {
            return Ok(None);
        };
        let key: StrDeserializer<'_, DecodeError> = name.as_str().into_deserializer();
        seed.deserialize(key).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, DecodeError> {
        let column = &self.row.columns()[self.next];
        let val = &self.row.values()[self.next];
        self.next += 1;
        seed.deserialize(ValDeserializer { column, val })
            .map_err(|e| {
                if e.0.starts_with("column ") {
                    e
                } else {
                    DecodeError(format!("column {column}: {}", e.0))
                }
            })
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.row.columns().len() - self.next)
    }
}

/// One column's value.
struct ValDeserializer<'v> {
    column: &'v str,
    val: &'v Val,
}

impl ValDeserializer<'_> {
    fn is_null(&self) -> bool {
        matches!(
            self.val,
            Val::I64(None) | Val::F64(None) | Val::Text(None) | Val::Bytes(None)
        )
    }
    fn null(&self) -> DecodeError {
        DecodeError(format!("column {} is null", self.column))
    }
    fn wrong(&self, want: &str) -> DecodeError {
        DecodeError(format!("column {} is not {want}", self.column))
    }
    fn int(&self) -> Result<i64, DecodeError> {
        match self.val {
            Val::I64(Some(v)) => Ok(*v),
            Val::F64(Some(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(*f as i64),
            Val::Text(Some(s)) => s.trim().parse().map_err(|_| self.wrong("an integer")),
            _ if self.is_null() => Err(self.null()),
            _ => Err(self.wrong("an integer")),
        }
    }
}

macro_rules! int_method {
    ($method:ident, $visit:ident, $ty:ty) => {
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
            let v = self.int()?;
            let v = <$ty>::try_from(v).map_err(|_| self.wrong(stringify!($ty)))?;
            visitor.$visit(v)
        }
    };
}

impl<'de, 'v> de::Deserializer<'de> for ValDeserializer<'v> {
    type Error = DecodeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.val {
            Val::I64(Some(v)) => visitor.visit_i64(*v),
            Val::F64(Some(v)) => visitor.visit_f64(*v),
            Val::Text(Some(s)) => visitor.visit_str(s),
            Val::Bytes(Some(b)) => visitor.visit_bytes(b),
            _ => visitor.visit_none(),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        if self.is_null() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.val {
            Val::Text(Some(s)) if s == "true" => visitor.visit_bool(true),
            Val::Text(Some(s)) if s == "false" => visitor.visit_bool(false),
            _ => visitor.visit_bool(self.int()? != 0),
        }
    }

    int_method!(deserialize_i8, visit_i8, i8);
    int_method!(deserialize_i16, visit_i16, i16);
    int_method!(deserialize_i32, visit_i32, i32);
    int_method!(deserialize_i64, visit_i64, i64);
    int_method!(deserialize_u8, visit_u8, u8);
    int_method!(deserialize_u16, visit_u16, u16);
    int_method!(deserialize_u32, visit_u32, u32);
    int_method!(deserialize_u64, visit_u64, u64);

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.val {
            Val::F64(Some(v)) => visitor.visit_f64(*v),
            Val::I64(Some(v)) => visitor.visit_f64(*v as f64),
            Val::Text(Some(s)) => {
                visitor.visit_f64(s.trim().parse().map_err(|_| self.wrong("a number"))?)
            }
            _ if self.is_null() => Err(self.null()),
            _ => Err(self.wrong("a number")),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.val {
            Val::Text(Some(s)) => visitor.visit_str(s),
            Val::I64(Some(v)) => visitor.visit_string(v.to_string()),
            Val::F64(Some(v)) => visitor.visit_string(v.to_string()),
            Val::Bytes(Some(b)) => {
                visitor.visit_str(std::str::from_utf8(b).map_err(|_| self.wrong("UTF-8"))?)
            }
            _ => Err(self.null()),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.val {
            Val::Bytes(Some(b)) => visitor.visit_bytes(b),
            Val::Text(Some(s)) => visitor.visit_bytes(s.as_bytes()),
            _ if self.is_null() => Err(self.null()),
            _ => Err(self.wrong("bytes")),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        visitor.visit_newtype_struct(self)
    }

    /// A `Vec<u8>` field asks for a sequence: bytes columns give their bytes.
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.val {
            Val::Bytes(Some(b)) => visitor.visit_seq(SeqDeserializer::new(b.iter().copied())),
            _ if self.is_null() => Err(self.null()),
            _ => Err(self.wrong("bytes")),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        match self.val {
            Val::Text(Some(s)) => visitor.visit_enum(s.as_str().into_deserializer()),
            _ if self.is_null() => Err(self.null()),
            _ => Err(self.wrong("text naming an enum variant")),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_unit()
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        i128 u128 unit_struct tuple tuple_struct map struct
    }
}

/// `#[serde(with = "micros")]`: a `chrono::DateTime<Utc>` stored as microseconds since the
/// Unix epoch in a `BIGINT` column (onecity's time storage, `onecity_core::time`).
pub mod micros {
    use chrono::{DateTime, TimeZone, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    /// Reads µs since the epoch; out of chrono's range is an error.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let us = i64::deserialize(d)?;
        Utc.timestamp_micros(us)
            .single()
            .ok_or_else(|| serde::de::Error::custom(format!("{us} µs is out of range")))
    }

    /// Writes µs since the epoch (for row types that are also serialised).
    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(t.timestamp_micros())
    }

    /// The same for a nullable column: `#[serde(with = "micros::option", default)]`.
    pub mod option {
        use super::*;

        /// Reads a nullable µs value.
        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<DateTime<Utc>>, D::Error> {
            let Some(us) = Option::<i64>::deserialize(d)? else {
                return Ok(None);
            };
            Utc.timestamp_micros(us)
                .single()
                .map(Some)
                .ok_or_else(|| serde::de::Error::custom(format!("{us} µs is out of range")))
        }

        /// Writes a nullable µs value.
        pub fn serialize<S: Serializer>(
            t: &Option<DateTime<Utc>>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => s.serialize_some(&t.timestamp_micros()),
                None => s.serialize_none(),
            }
        }
    }
}

/// `#[serde(with = "json_text")]`: any serde type stored as JSON text in a `TEXT` column
/// (settings, schemas, attribute bags). Text that is not valid JSON for `T` is an error.
pub mod json_text {
    use serde::de::DeserializeOwned;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Parses the column's text as JSON into `T`.
    pub fn deserialize<'de, D: Deserializer<'de>, T: DeserializeOwned>(
        d: D,
    ) -> Result<T, D::Error> {
        let text = String::deserialize(d)?;
        serde_json::from_str(&text).map_err(serde::de::Error::custom)
    }

    /// Writes `T` as JSON text.
    pub fn serialize<S: Serializer, T: Serialize>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        let text = serde_json::to_string(v).map_err(serde::ser::Error::custom)?;
        s.serialize_str(&text)
    }

    /// The same for a nullable column: `#[serde(with = "json_text::option", default)]`.
    pub mod option {
        use super::*;

        /// Parses a nullable column's JSON text.
        pub fn deserialize<'de, D: Deserializer<'de>, T: DeserializeOwned>(
            d: D,
        ) -> Result<Option<T>, D::Error> {
            match Option::<String>::deserialize(d)? {
                Some(text) => serde_json::from_str(&text)
                    .map(Some)
                    .map_err(serde::de::Error::custom),
                None => Ok(None),
            }
        }

        /// Writes a nullable value as JSON text.
        pub fn serialize<S: Serializer, T: Serialize>(
            v: &Option<T>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match v {
                Some(v) => {
                    let text = serde_json::to_string(v).map_err(serde::ser::Error::custom)?;
                    s.serialize_some(&text)
                }
                None => s.serialize_none(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};
    use serde::Deserialize;
    use std::sync::Arc;
    use uuid::Uuid;

    fn row(cols: &[(&str, Val)]) -> Row {
        Row::from_parts(
            cols.iter()
                .map(|(c, _)| c.to_string())
                .collect::<Arc<[String]>>(),
            cols.iter().map(|(_, v)| v.clone()).collect(),
        )
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "snake_case")]
    enum Status {
        Open,
        Closed,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct EventRow {
        id: Uuid,
        title: String,
        urgent: bool,
        priority: Option<i32>,
        lat: f64,
        status: Status,
        #[serde(with = "micros")]
        created_at: DateTime<Utc>,
        #[serde(with = "micros::option", default)]
        closed_at: Option<DateTime<Utc>>,
        #[serde(with = "json_text")]
        attrs: serde_json::Value,
    }

    #[test]
    fn decodes_a_typed_row_by_column_name() {
        // A real NYC 311 request (311_nyc_sample.csv): Noise - Residential in Brooklyn.
        let r = row(&[
            ("title", Val::from("Noise - Residential")),
            ("id", Val::from("0190a8c2-6b1f-7cc1-9a55-1f2b3c4d5e6f")),
            ("urgent", Val::I64(Some(1))),
            ("priority", Val::I64(None)),
            ("lat", Val::F64(Some(40.655_072))),
            ("status", Val::from("open")),
            ("created_at", Val::I64(Some(1_577_836_800_000_000))),
            ("closed_at", Val::Text(None)),
            ("attrs", Val::from(r#"{"descriptor":"Loud Music/Party"}"#)),
            ("extra_column_ignored", Val::I64(Some(9))),
        ]);
        let e: EventRow = r.decode().unwrap();
        assert_eq!(e.id.to_string(), "0190a8c2-6b1f-7cc1-9a55-1f2b3c4d5e6f");
        assert_eq!(e.title, "Noise - Residential");
        assert!(e.urgent);
        assert_eq!(e.priority, None);
        assert_eq!(e.lat, 40.655_072);
        assert_eq!(e.status, Status::Open);
        assert_eq!(e.created_at.to_rfc3339(), "2020-01-01T00:00:00+00:00");
        assert_eq!(e.closed_at, None);
        assert_eq!(e.attrs["descriptor"], "Loud Music/Party");
    }

    #[test]
    fn coerces_between_storage_types() {
        #[derive(Deserialize)]
        struct Mixed {
            from_text: i64,
            from_int: f64,
            int_as_text: String,
            small: u8,
            bytes: Vec<u8>,
            flag_text: bool,
        }
        let r = row(&[
            ("from_text", Val::from("42")),
            ("from_int", Val::I64(Some(3))),
            ("int_as_text", Val::I64(Some(330_106))),
            ("small", Val::I64(Some(200))),
            ("bytes", Val::Bytes(Some(vec![0, 159, 255]))),
            ("flag_text", Val::from("false")),
        ]);
        let m: Mixed = r.decode().unwrap();
        assert_eq!(m.from_text, 42);
        assert_eq!(m.from_int, 3.0);
        assert_eq!(m.int_as_text, "330106");
        assert_eq!(m.small, 200);
        assert_eq!(m.bytes, vec![0, 159, 255]);
        assert!(!m.flag_text);
    }

    #[test]
    fn errors_name_the_column() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Need {
            name: String,
            n: u8,
        }
        let null = row(&[("name", Val::Text(None)), ("n", Val::I64(Some(1)))]);
        let e = null.decode::<Need>().unwrap_err();
        assert!(e.detail.contains("column name is null"), "{}", e.detail);

        let too_big = row(&[("name", Val::from("x")), ("n", Val::I64(Some(300)))]);
        let e = too_big.decode::<Need>().unwrap_err();
        assert!(e.detail.contains("column n is not u8"), "{}", e.detail);

        let missing = row(&[("name", Val::from("x"))]);
        let e = missing.decode::<Need>().unwrap_err();
        assert!(e.detail.contains("missing field `n`"), "{}", e.detail);

        let bad_json = row(&[("attrs", Val::from("{not json"))]);
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct J {
            #[serde(with = "json_text")]
            attrs: serde_json::Value,
        }
        let e = bad_json.decode::<J>().unwrap_err();
        assert!(e.detail.contains("column attrs"), "{}", e.detail);
    }
}
