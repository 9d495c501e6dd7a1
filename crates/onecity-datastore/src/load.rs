//! Reading uploaded files into typed columns (pure, no I/O beyond the bytes given).
//!
//! Steps: [`decode`] (BOM stripped; UTF-8, UTF-16 by BOM, otherwise the encoding guessed by
//! chardetng, e.g. GBK/GB18030, Shift_JIS, windows-1252) → [`parse_csv`] / [`parse_json`] /
//! [`parse_xlsx`] into a [`RawTable`] of optional strings → [`infer`] a type per column over
//! the WHOLE table → [`convert`] every cell, failing at the first bad cell with its row named
//! (before anything is written).
//!
//! Type inference (first that fits every non-null cell of the column wins):
//! `int` (64-bit, no leading zero so codes like `01234` stay text) → `numeric` (finite
//! decimal or exponent) → `bool` (`true`/`false`, any case) → `date` (one of
//! `YYYY-MM-DD`, `YYYY/MM/DD`, `MM/DD/YYYY`, `DD/MM/YYYY`, the same for the whole column) →
//! `timestamp` (RFC 3339, `YYYY-MM-DD HH:MM[:SS[.f]]`, `YYYY/MM/DD HH:MM:SS`,
//! `MM/DD/YYYY hh:mm:ss AM`, `MM/DD/YYYY HH:MM`) → `text`. Null cells: empty, blank or
//! whitespace-only, and the tokens `NA`, `N/A`, `n/a`, `NaN`, `null`, `NULL`, `None` (these
//! tokens stay as written when the column ends up `text`). So `0/ 0` and `00:10` are text,
//! never dates. Dates are stored as `YYYY-MM-DD`, timestamps as `YYYY-MM-DDTHH:MM:SS[.f]`
//! (UTC when the source gave an offset, else as written).

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use onecity_core::{Error, Result};
use serde::{Deserialize, Serialize};

/// Largest upload accepted (bytes); see docs/API.md.
pub const MAX_UPLOAD_BYTES: usize = 200 * 1024 * 1024;
/// Most columns per table.
pub const MAX_COLUMNS: usize = 1000;
/// Longest field name in bytes (PostgreSQL's identifier limit).
pub const MAX_FIELD_BYTES: usize = 63;

/// A datastore column type (CKAN DataStore names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// 64-bit integer (`BIGINT`).
    Int,
    /// Double precision number.
    Numeric,
    /// Boolean (stored 0/1).
    Bool,
    /// Calendar date, stored `YYYY-MM-DD`.
    Date,
    /// Date and time, stored ISO 8601 `YYYY-MM-DDTHH:MM:SS`.
    Timestamp,
    /// Text.
    Text,
}

impl FieldType {
    /// Parses a type name, accepting CKAN's and PostgreSQL's aliases (`int4`, `int8`,
    /// `integer`, `bigint`, `float8`, `float`, `double precision`, `boolean`, `varchar`,
    /// `timestamptz`, …).
    pub fn parse(s: &str) -> Option<FieldType> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "int" | "int2" | "int4" | "int8" | "integer" | "bigint" | "smallint" => FieldType::Int,
            "numeric" | "float" | "float4" | "float8" | "double" | "double precision" | "real"
            | "number" => FieldType::Numeric,
            "bool" | "boolean" => FieldType::Bool,
            "date" => FieldType::Date,
            "timestamp" | "timestamptz" | "datetime" => FieldType::Timestamp,
            "text" | "varchar" | "string" | "char" => FieldType::Text,
            _ => return None,
        })
    }
    /// CKAN wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Int => "int",
            FieldType::Numeric => "numeric",
            FieldType::Bool => "bool",
            FieldType::Date => "date",
            FieldType::Timestamp => "timestamp",
            FieldType::Text => "text",
        }
    }
}

/// A parsed file before typing: header names and rows of optional cells.
#[derive(Debug, Clone, Default)]
pub struct RawTable {
    /// Column names (BOM removed, blanks named `column_N`, duplicates suffixed `_2`, …).
    pub headers: Vec<String>,
    /// Rows; `None` is a missing cell.
    pub rows: Vec<Vec<Option<String>>>,
}

/// A typed cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// SQL NULL.
    Null,
    /// Integer (also bools as 0/1).
    Int(i64),
    /// Double.
    Num(f64),
    /// Text (also normalised dates and timestamps).
    Text(String),
}

/// Upload formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Delimited text (`,`, `;`, tab or `|`, sniffed from the header line).
    Csv,
    /// A JSON array of objects, or `{"records": [...]}`.
    Json,
    /// Excel 2007+ workbook (first sheet; first row is the header).
    Xlsx,
}

impl Format {
    /// From a format name or file extension (`csv`, `tsv`, `txt`, `json`, `xlsx`, `xls`).
    pub fn parse(s: &str) -> Option<Format> {
        match s
            .trim()
            .trim_start_matches('.')
            .to_ascii_lowercase()
            .as_str()
        {
            "csv" | "tsv" | "txt" | "text/csv" => Some(Format::Csv),
            "json" | "application/json" => Some(Format::Json),
            "xlsx" | "xls" | "xlsm" | "ods" => Some(Format::Xlsx),
            _ => None,
        }
    }
}

/// Decodes bytes to text: strips a UTF-8 BOM, honours UTF-16 BOMs, keeps valid UTF-8, and
/// otherwise decodes with the encoding chardetng guesses. Returns the text and the
/// encoding's name.
///
/// Errors: `invalid_input` when the bytes do not decode in that encoding (e.g. GBK bytes
/// after a UTF-8 BOM), naming the byte offset and line of the first bad sequence: a file is
/// never stored with replacement characters (U+FFFD) in place of what it said.
pub fn decode(bytes: &[u8]) -> Result<(String, &'static str)> {
    let (enc, body, skipped) = match encoding_rs::Encoding::for_bom(bytes) {
        Some((enc, bom_len)) => (enc, &bytes[bom_len..], bom_len),
        None => {
            if let Ok(s) = std::str::from_utf8(bytes) {
                return Ok((s.to_string(), "UTF-8"));
            }
            let mut det = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
            det.feed(bytes, true);
            (det.guess(None, chardetng::Utf8Detection::Deny), bytes, 0)
        }
    };
    if let Some(bad) = first_malformed(enc, body) {
        let offset = skipped + bad;
        let line = bytes[..offset].iter().filter(|b| **b == b'\n').count() + 1;
        return Err(Error::invalid(format!(
            "the file does not decode as {}: the bytes at offset {offset} (line {line}) are not valid in it; save the file as UTF-8",
            enc.name()
        )));
    }
    let (text, _) = enc.decode_without_bom_handling(body);
    Ok((text.into_owned(), enc.name()))
}

/// Byte offset (in `bytes`) of the first sequence that is malformed in `enc`, if any.
fn first_malformed(enc: &'static encoding_rs::Encoding, bytes: &[u8]) -> Option<usize> {
    let mut decoder = enc.new_decoder_without_bom_handling();
    let cap = decoder.max_utf8_buffer_length_without_replacement(bytes.len())?;
    let mut out = String::with_capacity(cap);
    let (result, read) = decoder.decode_to_string_without_replacement(bytes, &mut out, true);
    match result {
        encoding_rs::DecoderResult::Malformed(bad_len, after) => {
            Some(read - bad_len as usize - after as usize)
        }
        _ => None,
    }
}

fn sniff_delimiter(text: &str) -> u8 {
    let first = text.lines().next().unwrap_or("");
    let mut best = (b',', 0usize);
    for d in [b',', b';', b'\t', b'|'] {
        let mut n = 0;
        let mut quoted = false;
        for b in first.bytes() {
            if b == b'"' {
                quoted = !quoted;
            } else if b == d && !quoted {
                n += 1;
            }
        }
        if n > best.1 {
            best = (d, n);
        }
    }
    best.0
}

/// Cleans header names: trims, removes control characters, names blanks `column_N` (1-based
/// position), shortens to [`MAX_FIELD_BYTES`] at a character boundary, prefixes names
/// starting with `_` (reserved for `_id`) with `f`, and makes duplicates unique.
pub fn clean_headers(raw: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    for (i, h) in raw.into_iter().enumerate() {
        let mut h: String = h
            .trim_start_matches('\u{feff}')
            .chars()
            .filter(|c| !c.is_control())
            .collect::<String>()
            .trim()
            .to_string();
        if h.is_empty() {
            h = format!("column_{}", i + 1);
        }
        if h.starts_with('_') {
            h = format!("f{h}");
        }
        h = truncate_bytes(&h, MAX_FIELD_BYTES);
        let base = h.clone();
        let mut n = 2;
        while out.contains(&h) {
            let suffix = format!("_{n}");
            h = format!(
                "{}{suffix}",
                truncate_bytes(&base, MAX_FIELD_BYTES - suffix.len())
            );
            n += 1;
        }
        out.push(h);
    }
    out
}

fn truncate_bytes(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// Parses delimited text. Short rows are padded with nulls; a row with more cells than the
/// header fails at once, naming the row (1-based data row, header excluded).
pub fn parse_csv(text: &str) -> Result<RawTable> {
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(sniff_delimiter(text))
        .flexible(true)
        .has_headers(true)
        .from_reader(text.as_bytes());
    let headers = rdr
        .headers()
        .map_err(|e| Error::invalid(format!("CSV header: {e}")))?
        .iter()
        .map(str::to_string)
        .collect::<Vec<_>>();
    if headers.is_empty() || (headers.len() == 1 && headers[0].trim().is_empty()) {
        return Err(Error::invalid("the file has no header row"));
    }
    if headers.len() > MAX_COLUMNS {
        return Err(Error::invalid(format!(
            "{} columns; at most {MAX_COLUMNS}",
            headers.len()
        )));
    }
    let headers = clean_headers(headers);
    let mut rows = Vec::new();
    let mut rec = csv::StringRecord::new();
    let mut n = 0usize;
    loop {
        match rdr.read_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {
                n += 1;
                if rec.len() == 1 && rec.get(0) == Some("") {
                    continue; // blank line
                }
                if rec.len() > headers.len() {
                    return Err(Error::invalid(format!(
                        "row {n} has {} cells but the header has {}",
                        rec.len(),
                        headers.len()
                    )));
                }
                let mut row: Vec<Option<String>> =
                    rec.iter().map(|c| Some(c.to_string())).collect();
                row.resize(headers.len(), None);
                rows.push(row);
            }
            Err(e) => return Err(Error::invalid(format!("CSV row {}: {e}", n + 1))),
        }
    }
    Ok(RawTable { headers, rows })
}

/// Parses JSON records: an array of objects, or an object with a `records` array. Keys
/// become columns in first-seen order; numbers and booleans are read as their text, nested
/// values as JSON text.
pub fn parse_json(text: &str) -> Result<RawTable> {
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| Error::invalid(format!("JSON: {e}")))?;
    let recs = match &v {
        serde_json::Value::Array(a) => a.as_slice(),
        serde_json::Value::Object(o) => match o.get("records") {
            Some(serde_json::Value::Array(a)) => a.as_slice(),
            _ => {
                return Err(Error::invalid(
                    "JSON: expected an array of objects or {\"records\": [...]}",
                ))
            }
        },
        _ => return Err(Error::invalid("JSON: expected an array of objects")),
    };
    records_to_raw(recs)
}

/// Turns JSON records (objects) into a [`RawTable`] (see [`parse_json`]).
pub fn records_to_raw(recs: &[serde_json::Value]) -> Result<RawTable> {
    let mut keys: Vec<String> = Vec::new();
    let mut index = std::collections::HashMap::new();
    for (i, r) in recs.iter().enumerate() {
        let o = r
            .as_object()
            .ok_or_else(|| Error::invalid(format!("record {} is not an object", i + 1)))?;
        for k in o.keys() {
            if !index.contains_key(k) {
                index.insert(k.clone(), keys.len());
                keys.push(k.clone());
            }
        }
    }
    if keys.len() > MAX_COLUMNS {
        return Err(Error::invalid(format!("more than {MAX_COLUMNS} fields")));
    }
    let mut rows = Vec::with_capacity(recs.len());
    for r in recs {
        let mut row = vec![None; keys.len()];
        for (k, v) in r.as_object().into_iter().flatten() {
            row[index[k]] = match v {
                serde_json::Value::Null => None,
                serde_json::Value::String(s) => Some(s.clone()),
                other => Some(other.to_string()),
            };
        }
        rows.push(row);
    }
    let headers = clean_headers(keys);
    Ok(RawTable { headers, rows })
}

/// Parses the first sheet of an XLSX/XLS/ODS workbook; the first row is the header. Dates
/// become ISO text, numbers that are whole become integers.
pub fn parse_xlsx(bytes: &[u8]) -> Result<RawTable> {
    use calamine::{Data, Reader};
    let mut wb = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes))
        .map_err(|e| Error::invalid(format!("workbook: {e}")))?;
    let range = wb
        .worksheet_range_at(0)
        .ok_or_else(|| Error::invalid("the workbook has no sheet"))?
        .map_err(|e| Error::invalid(format!("workbook: {e}")))?;
    let mut it = range.rows();
    let cell = |d: &Data| -> Option<String> {
        match d {
            Data::Empty => None,
            Data::String(s) => Some(s.clone()),
            Data::Int(i) => Some(i.to_string()),
            Data::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some((*f as i64).to_string()),
            Data::Float(f) => Some(f.to_string()),
            Data::Bool(b) => Some(b.to_string()),
            Data::DateTime(dt) => dt.as_datetime().map(|t| {
                if t.time() == chrono::NaiveTime::MIN {
                    t.date().to_string()
                } else {
                    t.format("%Y-%m-%dT%H:%M:%S").to_string()
                }
            }),
            Data::DateTimeIso(s) | Data::DurationIso(s) => Some(s.clone()),
            Data::Error(e) => Some(format!("#{e:?}")),
        }
    };
    let headers: Vec<String> = it
        .next()
        .ok_or_else(|| Error::invalid("the sheet is empty"))?
        .iter()
        .map(|d| cell(d).unwrap_or_default())
        .collect();
    if headers.len() > MAX_COLUMNS {
        return Err(Error::invalid(format!("more than {MAX_COLUMNS} columns")));
    }
    let headers = clean_headers(headers);
    let rows = it
        .filter(|r| r.iter().any(|d| !matches!(d, Data::Empty)))
        .map(|r| {
            let mut row: Vec<Option<String>> = r.iter().map(cell).collect();
            row.resize(headers.len(), None);
            row
        })
        .collect();
    Ok(RawTable { headers, rows })
}

/// Parses an upload of `format`.
pub fn parse(bytes: &[u8], format: Format) -> Result<(RawTable, &'static str)> {
    if bytes.len() > MAX_UPLOAD_BYTES {
        return Err(Error::new(
            onecity_core::ErrorCode::PayloadTooLarge,
            format!("uploads are limited to {MAX_UPLOAD_BYTES} bytes"),
        ));
    }
    match format {
        Format::Xlsx => Ok((parse_xlsx(bytes)?, "xlsx")),
        Format::Csv => {
            let (text, enc) = decode(bytes)?;
            Ok((parse_csv(&text)?, enc))
        }
        Format::Json => {
            let (text, enc) = decode(bytes)?;
            Ok((parse_json(&text)?, enc))
        }
    }
}

const NULL_TOKENS: &[&str] = &["NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "None"];

/// Whether a cell counts as null in a non-text column.
pub fn is_null_cell(s: &str) -> bool {
    let t = s.trim();
    t.is_empty() || NULL_TOKENS.contains(&t)
}

fn parse_int(s: &str) -> Option<i64> {
    let t = s.trim();
    let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if digits.len() > 1 && digits.starts_with('0') {
        return None;
    }
    t.parse().ok()
}

fn parse_num(s: &str) -> Option<f64> {
    let t = s.trim();
    let body = t.strip_prefix(['-', '+']).unwrap_or(t);
    if body.is_empty()
        || !body.bytes().any(|b| b.is_ascii_digit())
        || !body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'))
    {
        return None;
    }
    let b = body.as_bytes();
    if b.len() > 1 && b[0] == b'0' && b[1].is_ascii_digit() {
        return None;
    }
    t.parse::<f64>().ok().filter(|f| f.is_finite())
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

const DATE_FORMATS: &[&str] = &["%Y-%m-%d", "%Y/%m/%d", "%m/%d/%Y", "%d/%m/%Y"];
const TS_FORMATS: &[&str] = &[
    "rfc3339",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %H:%M",
];

fn looks_dated(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() >= 8 && b[0].is_ascii_digit() && (t.contains('-') || t.contains('/'))
}

fn parse_date(t: &str, fmt: usize) -> Option<NaiveDate> {
    let t = t.trim();
    if !looks_dated(t) || t.len() > 10 {
        return None;
    }
    NaiveDate::parse_from_str(t, DATE_FORMATS[fmt]).ok()
}

fn parse_ts(t: &str, fmt: usize) -> Option<String> {
    let t = t.trim();
    if !looks_dated(t) || t.len() < 14 {
        return None;
    }
    if fmt == 0 {
        return DateTime::parse_from_rfc3339(t)
            .ok()
            .map(|d| d.naive_utc().format("%Y-%m-%dT%H:%M:%S%.f").to_string());
    }
    NaiveDateTime::parse_from_str(t, TS_FORMATS[fmt])
        .ok()
        .map(|d| d.format("%Y-%m-%dT%H:%M:%S%.f").to_string())
}

/// A column's inferred type and, for dates and timestamps, the format index used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inferred {
    /// The type.
    pub ty: FieldType,
    /// Index into the date or timestamp format list.
    pub fmt: usize,
}

/// Infers every column's type over all rows (see the module docs). A column with no
/// non-null cell is `text`.
pub fn infer(t: &RawTable) -> Vec<Inferred> {
    (0..t.headers.len())
        .map(|c| {
            let mut int = true;
            let mut num = true;
            let mut boolean = true;
            let mut dates: Vec<bool> = vec![true; DATE_FORMATS.len()];
            let mut tss: Vec<bool> = vec![true; TS_FORMATS.len()];
            let mut seen = false;
            for row in &t.rows {
                let Some(s) = row[c].as_deref() else { continue };
                if is_null_cell(s) {
                    continue;
                }
                seen = true;
                if int && parse_int(s).is_none() {
                    int = false;
                }
                if num && parse_num(s).is_none() {
                    num = false;
                }
                if boolean && parse_bool(s).is_none() {
                    boolean = false;
                }
                for (i, ok) in dates.iter_mut().enumerate() {
                    if *ok && parse_date(s, i).is_none() {
                        *ok = false;
                    }
                }
                for (i, ok) in tss.iter_mut().enumerate() {
                    if *ok && parse_ts(s, i).is_none() {
                        *ok = false;
                    }
                }
                if !int && !num && !boolean && !dates.iter().any(|d| *d) && !tss.iter().any(|d| *d)
                {
                    return Inferred {
                        ty: FieldType::Text,
                        fmt: 0,
                    };
                }
            }
            let ty = |ty, fmt| Inferred { ty, fmt };
            if !seen {
                ty(FieldType::Text, 0)
            } else if int {
                ty(FieldType::Int, 0)
            } else if num {
                ty(FieldType::Numeric, 0)
            } else if boolean {
                ty(FieldType::Bool, 0)
            } else if let Some(i) = dates.iter().position(|d| *d) {
                ty(FieldType::Date, i)
            } else if let Some(i) = tss.iter().position(|d| *d) {
                ty(FieldType::Timestamp, i)
            } else {
                ty(FieldType::Text, 0)
            }
        })
        .collect()
}

/// A value that does not fit its column's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadValue;

/// Converts one cell to `ty`. For an explicit type (`fmt = None`) every known date or
/// timestamp format is tried. `Err(BadValue)` when the value does not fit.
pub fn convert_cell(
    s: Option<&str>,
    ty: FieldType,
    fmt: Option<usize>,
) -> std::result::Result<Cell, BadValue> {
    let Some(s) = s else { return Ok(Cell::Null) };
    if ty == FieldType::Text {
        return Ok(if s.is_empty() {
            Cell::Null
        } else {
            Cell::Text(s.to_string())
        });
    }
    if is_null_cell(s) {
        return Ok(Cell::Null);
    }
    match ty {
        FieldType::Int => parse_int(s)
            .or_else(|| {
                // explicit int over values like "7.0"
                parse_num(s)
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9.2e18)
                    .map(|f| f as i64)
            })
            .map(Cell::Int)
            .ok_or(BadValue),
        FieldType::Numeric => parse_num(s)
            .or_else(|| s.trim().parse::<f64>().ok().filter(|f| f.is_finite()))
            .map(Cell::Num)
            .ok_or(BadValue),
        FieldType::Bool => parse_bool(s)
            .or(match s.trim() {
                "1" => Some(true),
                "0" => Some(false),
                _ => None,
            })
            .map(|b| Cell::Int(b as i64))
            .ok_or(BadValue),
        FieldType::Date => {
            let fmts: Vec<usize> = fmt
                .map(|f| vec![f])
                .unwrap_or_else(|| (0..DATE_FORMATS.len()).collect());
            fmts.into_iter()
                .find_map(|f| parse_date(s, f))
                .map(|d| Cell::Text(d.format("%Y-%m-%d").to_string()))
                .ok_or(BadValue)
        }
        FieldType::Timestamp => {
            let fmts: Vec<usize> = fmt
                .map(|f| vec![f])
                .unwrap_or_else(|| (0..TS_FORMATS.len()).collect());
            fmts.into_iter()
                .find_map(|f| parse_ts(s, f))
                .or_else(|| {
                    // a bare date is midnight
                    (0..DATE_FORMATS.len())
                        .find_map(|f| parse_date(s, f))
                        .map(|d| format!("{}T00:00:00", d.format("%Y-%m-%d")))
                })
                .map(Cell::Text)
                .ok_or(BadValue)
        }
        FieldType::Text => unreachable!("handled above"),
    }
}

/// Converts every row; `overrides` gives explicit types by field name (others inferred).
/// Fails at the first value that does not fit its column, naming row (1-based data row),
/// field and value, before anything is stored.
pub fn convert(
    t: &RawTable,
    overrides: &std::collections::HashMap<String, FieldType>,
) -> Result<(Vec<FieldType>, Vec<Vec<Cell>>)> {
    let inferred = infer(t);
    let plan: Vec<(FieldType, Option<usize>)> = t
        .headers
        .iter()
        .zip(&inferred)
        .map(|(h, inf)| match overrides.get(h) {
            Some(ty) => (*ty, None),
            None => (inf.ty, Some(inf.fmt)),
        })
        .collect();
    for k in overrides.keys() {
        if !t.headers.contains(k) {
            return Err(Error::invalid(format!(
                "the schema names a field {k:?} that the file does not have"
            )));
        }
    }
    let mut rows = Vec::with_capacity(t.rows.len());
    for (i, r) in t.rows.iter().enumerate() {
        let mut out = Vec::with_capacity(r.len());
        for (c, v) in r.iter().enumerate() {
            let (ty, fmt) = plan[c];
            out.push(convert_cell(v.as_deref(), ty, fmt).map_err(|_| {
                Error::invalid(format!(
                    "row {}: field {:?} value {:?} is not a {}",
                    i + 1,
                    t.headers[c],
                    v.as_deref().unwrap_or(""),
                    ty.as_str()
                ))
                .with_extra("row", serde_json::json!(i + 1))
                .with_extra("field", serde_json::json!(t.headers[c]))
            })?);
        }
        rows.push(out);
    }
    Ok((plan.into_iter().map(|p| p.0).collect(), rows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn types(csv: &str) -> Vec<FieldType> {
        let t = parse_csv(csv).unwrap();
        infer(&t).into_iter().map(|i| i.ty).collect()
    }

    #[test]
    fn bom_is_stripped_from_the_first_column() {
        let bytes = b"\xef\xbb\xbfid,name\n1,a\n";
        let (t, enc) = parse(bytes, Format::Csv).unwrap();
        assert_eq!(enc, "UTF-8");
        assert_eq!(t.headers, vec!["id", "name"]);
    }

    #[test]
    fn gbk_after_a_utf8_bom_is_refused_with_its_offset_and_line() {
        let text = "区县,人口\n西湖区,1162900\n";
        let (gbk, _, _) = encoding_rs::GBK.encode(text);
        let mut bytes = b"\xef\xbb\xbf".to_vec();
        bytes.extend_from_slice(&gbk);
        let e = parse(&bytes, Format::Csv).unwrap_err();
        assert_eq!(e.code, onecity_core::ErrorCode::InvalidInput);
        assert!(e.detail.contains("UTF-8"), "{}", e.detail);
        assert!(e.detail.contains("offset 3 (line 1)"), "{}", e.detail);
        assert!(!e.detail.contains('\u{FFFD}'));
        // Valid UTF-8 after the BOM, with a bad byte on line 3.
        let mut late = "\u{feff}id,name\n1,杭州\n2,".as_bytes().to_vec();
        late.extend_from_slice(&[0xff, b'\n']);
        let e = parse(&late, Format::Csv).unwrap_err();
        let at = late.len() - 2;
        assert!(
            e.detail.contains(&format!("offset {at} (line 3)")),
            "{}",
            e.detail
        );
    }

    #[test]
    fn gbk_is_detected() {
        let text = "区县,人口,备注\n西湖区,1162900,杭州市中心城区之一\n上城区,1323000,钱塘江北岸的老城区\n萧山区,2011000,杭州南部\n";
        let (bytes, _, _) = encoding_rs::GBK.encode(text);
        assert!(std::str::from_utf8(&bytes).is_err());
        let (t, enc) = parse(&bytes, Format::Csv).unwrap();
        assert!(enc == "GBK" || enc == "gb18030", "{enc}");
        assert_eq!(t.headers, vec!["区县", "人口", "备注"]);
        assert_eq!(t.rows[0][0].as_deref(), Some("西湖区"));
        assert_eq!(infer(&t)[1].ty, FieldType::Int);
    }

    #[test]
    fn blanks_in_numeric_columns_are_null_also_after_row_1000() {
        let mut s = String::from("a,b\n");
        for i in 0..3000 {
            let b = if i == 5 || i == 1500 {
                " "
            } else if i == 2500 {
                ""
            } else {
                "1.5"
            };
            s.push_str(&format!("{i},{b}\n"));
        }
        let t = parse_csv(&s).unwrap();
        let (tys, rows) = convert(&t, &HashMap::new()).unwrap();
        assert_eq!(tys, vec![FieldType::Int, FieldType::Numeric]);
        assert_eq!(rows[1500][1], Cell::Null);
        assert_eq!(rows[2500][1], Cell::Null);
        assert_eq!(rows[1501][1], Cell::Num(1.5));
    }

    #[test]
    fn a_letter_at_row_5000_makes_the_column_text_or_fails_at_once() {
        let mut s = String::from("n\n");
        for i in 1..=6000 {
            if i == 5000 {
                s.push_str("x\n");
            } else {
                s.push_str(&format!("{i}\n"));
            }
        }
        let t = parse_csv(&s).unwrap();
        let (tys, rows) = convert(&t, &HashMap::new()).unwrap();
        assert_eq!(tys, vec![FieldType::Text]);
        assert_eq!(rows[4999][0], Cell::Text("x".into()));
        assert_eq!(rows[0][0], Cell::Text("1".into()));
        let over = HashMap::from([("n".to_string(), FieldType::Int)]);
        let e = convert(&t, &over).unwrap_err();
        assert!(e.detail.contains("row 5000"), "{}", e.detail);
        assert!(e.detail.contains("\"x\""), "{}", e.detail);
    }

    #[test]
    fn fractions_and_clock_times_are_not_dates() {
        assert_eq!(
            types("a,b\n0/ 0,00:10\n1/ 2,00:20\n"),
            vec![FieldType::Text, FieldType::Text]
        );
        assert_eq!(
            types("d,t\n2019-01-02,2019-01-02 10:11:12\n2020-02-29,2020-02-29T00:00:00Z\n"),
            vec![FieldType::Date, FieldType::Text]
        );
        assert_eq!(
            types("d,t\n01/31/2020,10/30/2019 02:09:00 PM\n02/01/2020,\n"),
            vec![FieldType::Date, FieldType::Timestamp]
        );
    }

    #[test]
    fn codes_with_leading_zeros_stay_text_and_na_is_null() {
        assert_eq!(
            types("zip,v,b\n01234,NA,true\n10001,2,FALSE\n"),
            vec![FieldType::Text, FieldType::Int, FieldType::Bool]
        );
    }

    #[test]
    fn headers_are_cleaned() {
        assert_eq!(
            clean_headers(vec!["".into(), "a".into(), "a".into(), "_id".into()]),
            vec!["column_1", "a", "a_2", "f_id"]
        );
        let long = "长".repeat(30);
        let h = clean_headers(vec![long.clone(), long]);
        assert!(h[0].len() <= 63 && h[1].len() <= 63 && h[0] != h[1]);
    }

    #[test]
    fn semicolons_are_sniffed_and_long_rows_fail_naming_the_row() {
        let t = parse_csv("Data;Liv\n2022-08-10 00:00:00;0.32\n").unwrap();
        assert_eq!(t.headers, vec!["Data", "Liv"]);
        let e = parse_csv("a,b\n1,2\n1,2,3\n").unwrap_err();
        assert!(e.detail.contains("row 2"), "{}", e.detail);
    }

    #[test]
    fn xlsx_first_sheet_is_read_typed() {
        // Written by openpyxl: numbers, a decimal, real Excel dates and an empty cell.
        let bytes = include_bytes!("../tests/fixtures/districts.xlsx");
        let (t, enc) = parse(bytes, Format::Xlsx).unwrap();
        assert_eq!(enc, "xlsx");
        assert_eq!(
            t.headers,
            vec!["区县", "人口", "面积(km²)", "设立日期", "备注"]
        );
        assert_eq!(t.rows.len(), 3);
        let (tys, rows) = convert(&t, &HashMap::new()).unwrap();
        assert_eq!(
            tys,
            vec![
                FieldType::Text,
                FieldType::Int,
                FieldType::Numeric,
                FieldType::Date,
                FieldType::Text
            ]
        );
        assert_eq!(rows[0][0], Cell::Text("西湖区".into()));
        assert_eq!(rows[0][1], Cell::Int(1162900));
        assert_eq!(rows[0][2], Cell::Num(309.41));
        assert_eq!(rows[2][3], Cell::Text("2001-03-25".into()));
        assert_eq!(rows[1][4], Cell::Null);
    }

    #[test]
    fn json_records_are_read() {
        let t = parse_json(r#"[{"a":1,"b":"x"},{"a":2.5,"c":true}]"#).unwrap();
        assert_eq!(t.headers, vec!["a", "b", "c"]);
        let tys: Vec<_> = infer(&t).into_iter().map(|i| i.ty).collect();
        assert_eq!(
            tys,
            vec![FieldType::Numeric, FieldType::Text, FieldType::Bool]
        );
    }
}
