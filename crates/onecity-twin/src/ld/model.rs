//! The entity and attribute model (GS CIM 009 §4.5, §5.2): entities with expanded type
//! and attribute IRIs, attributes of the seven NGSI-LD kinds, multi-attributes told apart
//! by `datasetId`, `observedAt`, `unitCode` and sub-attributes.
//!
//! Input is the normalized or concise representation ([`parse_entity`],
//! [`parse_attribute`]); output is normalized, concise or keyValues ([`render_entity`]),
//! compacted with the caller's [`Context`].
//!
//! Stored form: [`Entity`] serialised with serde (expanded names) in `twin_entities.body`.

use crate::ld::context::Context;
use crate::ld::error::{NgsiError, NgsiResult};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// The kind of an attribute (its NGSI-LD `type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AttrKind {
    /// `Property`: `value` (any JSON).
    Property,
    /// `Relationship`: `object` (a URI, or an array of URIs).
    Relationship,
    /// `GeoProperty`: `value` (a GeoJSON geometry, WGS-84 [lon, lat]).
    GeoProperty,
    /// `LanguageProperty`: `languageMap` (language tag → string or strings).
    LanguageProperty,
    /// `VocabProperty`: `vocab` (a term or an array of terms).
    VocabProperty,
    /// `ListProperty`: `valueList` (an ordered array).
    ListProperty,
    /// `ListRelationship`: `objectList` (an ordered array of `{"object": URI}`).
    ListRelationship,
    /// `JsonProperty`: `json` (an uninterpreted JSON value).
    JsonProperty,
}

impl AttrKind {
    /// Every kind.
    pub const ALL: [AttrKind; 8] = [
        Self::Property,
        Self::Relationship,
        Self::GeoProperty,
        Self::LanguageProperty,
        Self::VocabProperty,
        Self::ListProperty,
        Self::ListRelationship,
        Self::JsonProperty,
    ];
    /// The NGSI-LD type name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Property => "Property",
            Self::Relationship => "Relationship",
            Self::GeoProperty => "GeoProperty",
            Self::LanguageProperty => "LanguageProperty",
            Self::VocabProperty => "VocabProperty",
            Self::ListProperty => "ListProperty",
            Self::ListRelationship => "ListRelationship",
            Self::JsonProperty => "JsonProperty",
        }
    }
    /// The member holding the value.
    pub fn value_key(self) -> &'static str {
        match self {
            Self::Property | Self::GeoProperty => "value",
            Self::Relationship => "object",
            Self::LanguageProperty => "languageMap",
            Self::VocabProperty => "vocab",
            Self::ListProperty => "valueList",
            Self::ListRelationship => "objectList",
            Self::JsonProperty => "json",
        }
    }
    /// Parses a type name (short or expanded `https://uri.etsi.org/ngsi-ld/<Name>`).
    pub fn parse(s: &str) -> Option<AttrKind> {
        let s = s.strip_prefix(crate::ld::context::NGSI_LD).unwrap_or(s);
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
    /// The expanded type IRI (for `/attributes` discovery).
    pub fn iri(self) -> String {
        format!("{}{}", crate::ld::context::NGSI_LD, self.as_str())
    }
}

/// One attribute instance (one `datasetId` of an attribute).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attribute {
    /// The kind.
    pub kind: AttrKind,
    /// The payload of the kind's value member (`value`, `object`, `languageMap`, …) as given.
    pub value: Value,
    /// The instance's `datasetId` (a URI); `None` = the default instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset_id: Option<String>,
    /// `observedAt`, RFC 3339 as given (UTC `Z` in practice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_at: Option<String>,
    /// `unitCode` (UN/CEFACT common code, e.g. `CEL`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_code: Option<String>,
    /// `lang` of a Property holding a string (GS CIM 009 §4.5.18), if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// `createdAt`, µs since the epoch (system attribute).
    pub created_at: i64,
    /// `modifiedAt`, µs since the epoch (system attribute).
    pub modified_at: i64,
    /// Sub-attributes by expanded name (one instance each).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sub: BTreeMap<String, Attribute>,
}

impl Attribute {
    /// The value used by q, geo and aggregations: the kind's payload with a
    /// `{"@type": …, "@value": v}` wrapper removed.
    pub fn plain_value(&self) -> &Value {
        match &self.value {
            Value::Object(m) if m.contains_key("@value") => &m["@value"],
            v => v,
        }
    }
    /// The observation time in µs, when `observedAt` is given and valid.
    pub fn observed_micros(&self) -> Option<i64> {
        self.observed_at.as_deref().and_then(parse_datetime)
    }
}

/// An entity in stored form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entity {
    /// The entity id (a URI).
    pub id: String,
    /// Expanded type IRIs (at least one).
    pub types: Vec<String>,
    /// `scope` values (`/Madrid/Gardens`), if any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scope: Vec<String>,
    /// `createdAt`, µs since the epoch.
    pub created_at: i64,
    /// `modifiedAt`, µs since the epoch.
    pub modified_at: i64,
    /// Attributes by expanded name; each holds its instances (at most one per datasetId).
    pub attrs: BTreeMap<String, Vec<Attribute>>,
}

impl Entity {
    /// The first type (the one stored in `twin_entities.etype`).
    pub fn main_type(&self) -> &str {
        self.types.first().map(String::as_str).unwrap_or("")
    }
    /// Number of attribute instances.
    pub fn instance_count(&self) -> usize {
        self.attrs.values().map(Vec::len).sum()
    }
    /// The instance of `attr` with `dataset_id` (`None` = default instance).
    pub fn instance(&self, attr: &str, dataset_id: Option<&str>) -> Option<&Attribute> {
        self.attrs
            .get(attr)?
            .iter()
            .find(|a| a.dataset_id.as_deref() == dataset_id)
    }
    /// Sets (adds or replaces) one instance; returns the previous one.
    pub fn put_instance(&mut self, name: &str, a: Attribute) -> Option<Attribute> {
        let list = self.attrs.entry(name.to_string()).or_default();
        if let Some(slot) = list.iter_mut().find(|x| x.dataset_id == a.dataset_id) {
            return Some(std::mem::replace(slot, a));
        }
        list.push(a);
        list.sort_by(|x, y| x.dataset_id.cmp(&y.dataset_id));
        None
    }
}

/// Parses an RFC 3339 date-time (or a date `YYYY-MM-DD` at midnight UTC) to µs since the
/// epoch.
pub fn parse_datetime(s: &str) -> Option<i64> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_micros());
    }
    if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f") {
        return Some(t.and_utc().timestamp_micros());
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return d
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc().timestamp_micros());
    }
    None
}

/// Formats µs since the epoch as RFC 3339 UTC with milliseconds (`2024-01-01T00:00:00.000Z`).
pub fn format_micros(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// Whether `s` is an absolute URI (RFC 3986 `scheme ":" rest`), as NGSI-LD requires of
/// entity ids, Relationship objects and datasetIds.
pub fn is_uri(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && !rest.is_empty()
        && !s.chars().any(|c| {
            c.is_whitespace()
                || is_invisible(c)
                || matches!(c, '<' | '>' | '"' | '{' | '}' | '|' | '\\' | '^' | '`')
        })
}

/// Code points that render as nothing or are not characters at all, refused in URIs so
/// that two ids that look the same are the same (GS CIM 009 §4.5.1, §4.6.2): format
/// characters (bidirectional overrides, zero-width space and joiners, byte order mark),
/// variation selectors, noncharacters, Hangul fillers and the blank Braille pattern.
pub fn is_invisible(c: char) -> bool {
    let u = c as u32;
    matches!(u,
        0x00AD | 0x061C | 0x180E | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x206F
        | 0xFEFF | 0xFFF9..=0xFFFB
        | 0xFE00..=0xFE0F | 0xE0000..=0xE0FFF
        | 0xFDD0..=0xFDEF
        | 0x115F | 0x1160 | 0x3164 | 0xFFA0 | 0x2800)
        || (u & 0xFFFE) == 0xFFFE
}

/// Whether `s` may be an attribute or type name (GS CIM 009 §4.6.2: no characters
/// forbidden in names, not empty).
pub fn is_valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 512
        && !s.chars().any(|c| {
            c.is_whitespace()
                || c.is_control()
                || matches!(
                    c,
                    '<' | '>'
                        | '"'
                        | '\''
                        | '='
                        | ';'
                        | '('
                        | ')'
                        | '['
                        | ']'
                        | '{'
                        | '}'
                        | '&'
                        | '?'
                        | '\\'
                        | ','
                )
        })
}

const ENTITY_RESERVED: &[&str] = &[
    "id",
    "@id",
    "type",
    "@type",
    "@context",
    "scope",
    "createdAt",
    "modifiedAt",
    "deletedAt",
];
/// The members of an attribute other than its value member ([`VALUE_KEYS`]) that are
/// not sub-attributes (GS CIM 009 §4.5).
const ATTR_RESERVED: &[&str] = &[
    "type",
    "@type",
    "datasetId",
    "observedAt",
    "unitCode",
    "createdAt",
    "modifiedAt",
    "lang",
    "instanceId",
    "@context",
    "deletedAt",
    "previousValue",
    "previousObject",
];

/// Parses an entity in normalized (or concise) form. `now` stamps createdAt/modifiedAt.
///
/// Errors (400 BadRequestData, saying which member is wrong): missing or non-URI `id`,
/// missing or invalid `type`, an attribute that is not an NGSI-LD attribute (e.g.
/// `"type": "string"`), a Relationship whose `object` is not a URI, a GeoProperty whose
/// value is not a valid GeoJSON geometry, duplicate datasetIds.
pub fn parse_entity(body: &Value, ctx: &Context, now: i64) -> NgsiResult<Entity> {
    let m = body
        .as_object()
        .ok_or_else(|| NgsiError::bad_data("an entity must be a JSON object"))?;
    let id = m
        .get("id")
        .or_else(|| m.get("@id"))
        .ok_or_else(|| NgsiError::bad_data("the entity has no \"id\""))?;
    let id = id
        .as_str()
        .ok_or_else(|| NgsiError::bad_data("the entity \"id\" must be a string"))?;
    if !is_uri(id) {
        return Err(NgsiError::bad_data(format!(
            "the entity id {id:?} is not a URI"
        )));
    }
    if id == crate::ld::expiry::NGSI_LD_NULL {
        return Err(NgsiError::bad_data(
            "the NGSI-LD Null cannot be an entity id (GS CIM 009 §5.5.4)",
        ));
    }
    let types = parse_types(m.get("type").or_else(|| m.get("@type")), ctx)?
        .ok_or_else(|| NgsiError::bad_data(format!("entity {id}: no \"type\"")))?;
    let scope = parse_scope(m.get("scope"))?;
    let mut e = Entity {
        id: id.to_string(),
        types,
        scope,
        created_at: now,
        modified_at: now,
        attrs: BTreeMap::new(),
    };
    for (k, v) in m {
        if ENTITY_RESERVED.contains(&k.as_str()) {
            continue;
        }
        if matches!(k.as_str(), "datasetId" | "instanceId" | "observedAt") {
            return Err(NgsiError::bad_data(format!(
                "{k} is a core NGSI-LD term of attributes and cannot name an attribute (GS CIM 009 §4.5.1)"
            )));
        }
        if k == "expiresAt" && !crate::ld::expiry::valid_expires_at(v) {
            return Err(NgsiError::bad_data(format!(
                "expiresAt {v} is not a UTC DateTime ending in Z (GS CIM 009 §4.22, §4.6.3)"
            )));
        }
        let name = attr_name(k, ctx)?;
        for a in parse_attribute_list(k, v, ctx, now)? {
            if e.put_instance(&name, a).is_some() {
                return Err(NgsiError::bad_data(format!(
                    "attribute {k}: two instances with the same datasetId"
                )));
            }
        }
    }
    Ok(e)
}

/// Parses a `type` member (a string or an array of strings) to expanded IRIs.
pub fn parse_types(v: Option<&Value>, ctx: &Context) -> NgsiResult<Option<Vec<String>>> {
    let Some(v) = v else { return Ok(None) };
    let list: Vec<&str> = match v {
        Value::String(s) => vec![s.as_str()],
        Value::Array(a) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .ok_or_else(|| NgsiError::bad_data("entity types must be strings"))
            })
            .collect::<NgsiResult<_>>()?,
        _ => {
            return Err(NgsiError::bad_data(
                "the entity \"type\" must be a string or an array of strings",
            ))
        }
    };
    if list.is_empty() {
        return Err(NgsiError::bad_data("the entity \"type\" is empty"));
    }
    let mut out = Vec::new();
    for t in list {
        if t.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(NgsiError::bad_data(format!(
                "entity type {t:?} starts with a digit (GS CIM 009 §4.6.2)"
            )));
        }
        if !is_valid_name(t) {
            return Err(NgsiError::bad_data(format!(
                "entity type {t:?} is not a valid name"
            )));
        }
        let iri = ctx.expand(t);
        if iri.starts_with('@') || matches!(t, "type" | "id") {
            return Err(NgsiError::bad_data(format!(
                "entity type {t:?} names the JSON-LD keyword {iri} in this @context, not a type"
            )));
        }
        if !out.contains(&iri) {
            out.push(iri);
        }
    }
    Ok(Some(out))
}

/// Parses a `scope` member (GS CIM 009 §4.18): a string or an array of strings, each a
/// path of non-empty levels starting with `/`.
pub fn parse_scope(v: Option<&Value>) -> NgsiResult<Vec<String>> {
    let bad = |x: &Value| {
        NgsiError::bad_data(format!(
            "\"scope\" {x} is not a scope: \"/\" followed by levels that start with a letter and hold letters, digits and _ (GS CIM 009 §4.18)"
        ))
    };
    let one = |x: &Value| {
        x.as_str()
            .filter(|s| is_scope(s))
            .map(str::to_string)
            .ok_or_else(|| bad(x))
    };
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a.iter().map(one).collect(),
        Some(x) => Ok(vec![one(x)?]),
    }
}

/// Whether `s` follows the scope grammar of GS CIM 009 §4.18: `/` ScopeLevel (`/`
/// ScopeLevel)*, a level being a letter then letters, digits or `_`.
pub fn is_scope(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('/') else {
        return false;
    };
    rest.split('/').all(|level| {
        let mut c = level.chars();
        c.next().is_some_and(char::is_alphabetic) && c.all(|x| x.is_alphanumeric() || x == '_')
    })
}

/// Validates and expands an attribute name.
pub fn attr_name(k: &str, ctx: &Context) -> NgsiResult<String> {
    if !is_valid_name(k) || k.starts_with('@') {
        return Err(NgsiError::bad_data(format!(
            "attribute name {k:?} is not a valid name"
        )));
    }
    Ok(ctx.expand(k))
}

/// Parses an attribute member: one attribute object, or an array of instances
/// (multi-attribute, distinct datasetIds).
pub fn parse_attribute_list(
    name: &str,
    v: &Value,
    ctx: &Context,
    now: i64,
) -> NgsiResult<Vec<Attribute>> {
    let geo_only = GEO_ONLY.iter().any(|g| {
        ctx.expand(name)
            .strip_prefix(crate::ld::context::NGSI_LD)
            .is_some_and(|n| n == *g)
    });
    let mut out: Vec<Attribute> = Vec::new();
    for x in instance_items(v) {
        let at = parse_attribute(name, x, ctx, now)?;
        // Smart Data Models publish `location` as a Property holding a GeoJSON geometry;
        // that is stored as given, anything else not a geometry is refused.
        let geometry_property = at.kind == AttrKind::Property && is_geojson_geometry(&at.value);
        if geo_only && at.kind != AttrKind::GeoProperty && !geometry_property {
            return Err(NgsiError::bad_data(format!(
                "attribute {name} is a GeoProperty by definition (GS CIM 009 §4.7.1), not a {}",
                at.kind.as_str()
            )));
        }
        if out.iter().any(|o| o.dataset_id == at.dataset_id) {
            return Err(NgsiError::bad_data(format!(
                "attribute {name}: two instances with the same datasetId"
            )));
        }
        out.push(at);
    }
    Ok(out)
}

/// The core attributes that are GeoProperties by definition (GS CIM 009 §4.7.1).
const GEO_ONLY: &[&str] = &["location", "observationSpace", "operationSpace"];

/// The instances of an attribute member (GS CIM 009 §4.5.5): the items of a non-empty
/// array of attribute objects (a multi-attribute), else the member itself.
pub fn instance_items(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(a)
            if !a.is_empty()
                && a.iter().all(|x| {
                    x.as_object().is_some_and(|o| {
                        o.contains_key("type")
                            || o.contains_key("value")
                            || o.contains_key("object")
                    })
                }) =>
        {
            a.iter().collect()
        }
        _ => vec![v],
    }
}

fn is_geojson_geometry(v: &Value) -> bool {
    v.get("type").and_then(Value::as_str).is_some_and(|t| {
        matches!(
            t,
            "Point" | "LineString" | "Polygon" | "MultiPoint" | "MultiLineString" | "MultiPolygon"
        )
    }) && v.get("coordinates").is_some()
}

/// The value members of the attribute types (GS CIM 009 §4.5.2 to §4.5.24): the one
/// member of an attribute instance that holds its value, whatever its type.
pub const VALUE_KEYS: &[&str] = &[
    "value",
    "object",
    "languageMap",
    "vocab",
    "valueList",
    "objectList",
    "json",
];

/// Parses one attribute instance (normalized, or concise: kind inferred from its members,
/// and a bare value is a Property). The NGSI-LD Null (`urn:ngsi-ld:null`) anywhere in the
/// value is 400 BadRequestData: it deletes in an update or merge, it is never stored
/// (GS CIM 009 §5.5.4).
pub fn parse_attribute(name: &str, v: &Value, ctx: &Context, now: i64) -> NgsiResult<Attribute> {
    parse_attribute_with(name, v, ctx, now, false)
}

/// Parses one instance of a temporal representation (POST /temporal/entities and its
/// attrs, PATCH of an instance; GS CIM 009 §5.6.11, §5.6.12, §5.6.14), where the NGSI-LD
/// Null is a recorded value: it marks when the attribute was deleted (§4.5.x temporal
/// representation). Otherwise as [`parse_attribute`].
pub fn parse_temporal_attribute(
    name: &str,
    v: &Value,
    ctx: &Context,
    now: i64,
) -> NgsiResult<Attribute> {
    parse_attribute_with(name, v, ctx, now, true)
}

fn parse_attribute_with(
    name: &str,
    v: &Value,
    ctx: &Context,
    now: i64,
    null_ok: bool,
) -> NgsiResult<Attribute> {
    let m = match v {
        Value::Object(m) => m,
        Value::Null => {
            return Err(NgsiError::bad_data(format!(
                "attribute {name}: the value is null"
            )))
        }
        other => {
            if !null_ok && crate::ld::expiry::contains_null(other) {
                return Err(NgsiError::bad_data(format!(
                    "attribute {name}: the NGSI-LD Null (urn:ngsi-ld:null) cannot be stored (GS CIM 009 §5.5.4)"
                )));
            }
            // Concise form: a bare value is a Property.
            return Ok(Attribute {
                kind: AttrKind::Property,
                value: other.clone(),
                dataset_id: None,
                observed_at: None,
                unit_code: None,
                lang: None,
                created_at: now,
                modified_at: now,
                sub: BTreeMap::new(),
            });
        }
    };
    let kind = match m.get("type") {
        Some(Value::String(t)) => AttrKind::parse(t).ok_or_else(|| {
            NgsiError::bad_data(format!(
                "attribute {name} has type {t:?}; an NGSI-LD attribute's type is one of Property, Relationship, GeoProperty, LanguageProperty, VocabProperty, ListProperty, ListRelationship, JsonProperty"
            ))
        })?,
        Some(_) => return Err(NgsiError::bad_data(format!("attribute {name}: \"type\" must be a string"))),
        None => {
            // Concise form.
            if m.contains_key("object") {
                AttrKind::Relationship
            } else if m.contains_key("languageMap") {
                AttrKind::LanguageProperty
            } else if m.contains_key("vocab") {
                AttrKind::VocabProperty
            } else if m.contains_key("valueList") {
                AttrKind::ListProperty
            } else if m.contains_key("objectList") {
                AttrKind::ListRelationship
            } else if m.contains_key("json") {
                AttrKind::JsonProperty
            } else if m.get("value").is_some_and(is_geojson_geometry) {
                AttrKind::GeoProperty
            } else if m.contains_key("value") {
                AttrKind::Property
            } else if is_geojson_geometry(v) {
                return parse_attribute(name, &json!({"type": "GeoProperty", "value": v}), ctx, now);
            } else {
                // A JSON object without NGSI-LD members: a Property holding that object.
                return parse_attribute(name, &json!({"type": "Property", "value": v}), ctx, now);
            }
        }
    };
    // GS CIM 009 §4.5.2.2 ff.: each attribute type has one value member; a second one
    // (a Property with `object`, a Relationship with `value`) is ambiguous. Output-only
    // members (`previousValue`, …) are never accepted in a request (§4.5.2.2, §4.5.3.2).
    for k in VALUE_KEYS {
        if *k != kind.value_key() && m.contains_key(*k) {
            return Err(NgsiError::bad_data(format!(
                "attribute {name} ({}) holds \"{k}\", which belongs to another attribute type; its value member is \"{}\"",
                kind.as_str(),
                kind.value_key()
            )));
        }
    }
    for k in [
        "previousValue",
        "previousObject",
        "previousLanguageMap",
        "previousVocab",
        "previousValueList",
        "previousObjectList",
        "previousJson",
    ] {
        if m.contains_key(k) {
            return Err(NgsiError::bad_data(format!(
                "attribute {name}: \"{k}\" is an output-only member (notifications) and cannot be sent"
            )));
        }
    }
    if matches!(
        kind,
        AttrKind::Relationship | AttrKind::ListRelationship | AttrKind::JsonProperty
    ) && m.contains_key("unitCode")
    {
        return Err(NgsiError::bad_data(format!(
            "attribute {name}: a {} has no unitCode",
            kind.as_str()
        )));
    }
    let mut value = m.get(kind.value_key()).cloned().ok_or_else(|| {
        NgsiError::bad_data(format!(
            "attribute {name} ({}) has no \"{}\"",
            kind.as_str(),
            kind.value_key()
        ))
    })?;
    if kind == AttrKind::GeoProperty {
        // §4.7.2: a geometry may come as the JSON string of its GeoJSON object.
        if let Some(g) = value
            .as_str()
            .and_then(|s| serde_json::from_str::<Value>(s).ok())
            .filter(Value::is_object)
        {
            value = g;
        }
    }
    validate_value(name, kind, &value)?;
    if kind == AttrKind::ListRelationship {
        // §4.5.22: entries given as bare URIs are served as {"object": URI}.
        if let Value::Array(a) = &mut value {
            for x in a.iter_mut() {
                if x.is_string() {
                    *x = json!({ "object": x.take() });
                }
            }
        }
    }
    if !null_ok && crate::ld::expiry::contains_null(&value) {
        return Err(NgsiError::bad_data(format!(
            "attribute {name}: the NGSI-LD Null (urn:ngsi-ld:null) only deletes in an update or merge; it cannot be stored (GS CIM 009 §5.5.4)"
        )));
    }
    check_sealed(name, kind, &value, m)?;
    if m.contains_key("@context") {
        return Err(NgsiError::bad_data(format!(
            "attribute {name}: an @context belongs to the top level of the body, not inside an attribute (GS CIM 009 §5.5.7)"
        )));
    }
    if kind == AttrKind::LanguageProperty {
        if let Some(vt) = m.get("valueType") {
            if vt != "langString" {
                return Err(NgsiError::bad_data(format!(
                    "attribute {name}: the valueType of a LanguageProperty is langString, not {vt} (GS CIM 009 Table 5.2.32-1)"
                )));
            }
        }
    }
    let dataset_id = match m.get("datasetId") {
        None | Some(Value::Null) => None,
        // §4.5.5: "@none" names the default instance explicitly.
        Some(Value::String(s)) if s == "@none" => None,
        Some(Value::String(s)) if is_uri(s) => Some(s.clone()),
        Some(x) => {
            return Err(NgsiError::bad_data(format!(
                "attribute {name}: datasetId {x} is not a URI"
            )))
        }
    };
    let observed_at = match m.get("observedAt") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.ends_with('Z') && parse_datetime(s).is_some() => {
            Some(s.clone())
        }
        Some(x) => {
            return Err(NgsiError::bad_data(format!(
                "attribute {name}: observedAt {x} is not a UTC date-time ending in Z (GS CIM 009 §4.6.3)"
            )))
        }
    };
    let unit_code = match m.get("unitCode") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(x) => {
            return Err(NgsiError::bad_data(format!(
                "attribute {name}: unitCode {x} is not a string"
            )))
        }
    };
    let lang = m.get("lang").and_then(Value::as_str).map(str::to_string);
    let mut sub = BTreeMap::new();
    for (k, sv) in m {
        if VALUE_KEYS.contains(&k.as_str()) || ATTR_RESERVED.contains(&k.as_str()) {
            continue;
        }
        if k == "expiresAt" && !crate::ld::expiry::valid_expires_at(sv) {
            return Err(NgsiError::bad_data(format!(
                "attribute {name}: expiresAt {sv} is not a UTC DateTime ending in Z (GS CIM 009 §4.22)"
            )));
        }
        let sname = attr_name(k, ctx)?;
        let sa = parse_attribute(&format!("{name}.{k}"), sv, ctx, now)?;
        sub.insert(sname, sa);
    }
    Ok(Attribute {
        kind,
        value,
        dataset_id,
        observed_at,
        unit_code,
        lang,
        created_at: now,
        modified_at: now,
        sub,
    })
}

/// The sealed members of GS CIM 009 §4.5.2.2 (`entityIdSealed`, `entityTypeSealed`): only
/// in the Property `ngsildproof`, as strings, whose value is a proof object.
fn check_sealed(
    name: &str,
    kind: AttrKind,
    value: &Value,
    m: &serde_json::Map<String, Value>,
) -> NgsiResult<()> {
    let sealed: Vec<&Value> = ["entityIdSealed", "entityTypeSealed"]
        .iter()
        .filter_map(|k| m.get(*k))
        .collect();
    if name != "ngsildproof" {
        if !sealed.is_empty() {
            return Err(NgsiError::bad_data(format!(
                "attribute {name}: entityIdSealed and entityTypeSealed belong to the Property ngsildproof only (GS CIM 009 §4.5.2.2)"
            )));
        }
        return Ok(());
    }
    if kind != AttrKind::Property || !value.is_object() || sealed.iter().any(|x| !x.is_string()) {
        return Err(NgsiError::bad_data(
            "ngsildproof is a Property whose value is a proof object and whose sealed members are strings (GS CIM 009 §4.5.2.2)",
        ));
    }
    Ok(())
}

fn validate_value(name: &str, kind: AttrKind, v: &Value) -> NgsiResult<()> {
    let bad = |what: &str| {
        Err(NgsiError::bad_data(format!(
            "attribute {name} ({}): {what}",
            kind.as_str()
        )))
    };
    match kind {
        AttrKind::Property => {
            if v.is_null() {
                return bad("the value is null");
            }
        }
        AttrKind::JsonProperty => {
            let ok = v.is_object() || v.as_array().is_some_and(|a| a.iter().all(Value::is_object));
            if !ok {
                return bad(
                    "\"json\" must be a JSON object or an array of objects (GS CIM 009 §4.5.24.2)",
                );
            }
        }
        AttrKind::Relationship => {
            let ok = match v {
                Value::String(s) => is_uri(s),
                Value::Array(a) => {
                    !a.is_empty() && a.iter().all(|x| x.as_str().is_some_and(is_uri))
                }
                _ => false,
            };
            if !ok {
                return bad(&format!(
                    "\"object\" must be a URI (or an array of URIs), got {v}"
                ));
            }
        }
        AttrKind::GeoProperty => {
            if v.get("type").and_then(Value::as_str) == Some("GeometryCollection") {
                return bad("a GeometryCollection is not a supported geometry (GS CIM 009 §4.6.3)");
            }
            if let Err(e) = crate::ld::geometry::geometry_from_json(v) {
                return bad(&format!("\"value\" is not a valid GeoJSON geometry: {e}"));
            }
        }
        AttrKind::LanguageProperty => {
            let ok = v.as_object().is_some_and(|m| {
                !m.contains_key("")
                    && m.values().all(|x| {
                        x.is_string()
                            || x.as_array().is_some_and(|a| a.iter().all(Value::is_string))
                    })
            });
            if !ok {
                return bad("\"languageMap\" must map language tags to strings");
            }
        }
        AttrKind::VocabProperty => {
            let ok = v.is_string() || v.as_array().is_some_and(|a| a.iter().all(Value::is_string));
            if !ok {
                return bad("\"vocab\" must be a string or an array of strings");
            }
        }
        AttrKind::ListProperty => {
            if !v.is_array() {
                return bad("\"valueList\" must be an array");
            }
        }
        AttrKind::ListRelationship => {
            let ok = v.as_array().is_some_and(|a| {
                a.iter().all(|x| {
                    x.as_str().is_some_and(is_uri)
                        || x.get("object").and_then(Value::as_str).is_some_and(is_uri)
                })
            });
            if !ok {
                return bad("\"objectList\" must be an array of URIs or {\"object\": URI}");
            }
        }
    }
    Ok(())
}

/// Output representation (GS CIM 009 §4.5: normalized, concise, simplified = keyValues).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Every attribute an object with its `type`.
    #[default]
    Normalized,
    /// Types left out where they can be inferred.
    Concise,
    /// Attribute name → value only.
    KeyValues,
}

/// What to render.
#[derive(Debug, Clone, Default)]
pub struct RenderOpts {
    /// Representation.
    pub format: Format,
    /// Include createdAt/modifiedAt.
    pub sys_attrs: bool,
    /// Only these attributes (expanded names); `None` = all.
    pub attrs: Option<Vec<String>>,
    /// `lang`: the preferred language of LanguageProperties (they become Properties).
    pub lang: Option<String>,
    /// `pick`: entity members to keep (compacted names incl. `id`, `type`); `None` = all.
    pub pick: Option<Vec<String>>,
    /// `omit`: entity members to drop.
    pub omit: Vec<String>,
    /// `datasetId`: only the attribute instances with one of these datasetIds (`@none` =
    /// the default instance, GS CIM 009 §4.5.5); `None` = all.
    pub dataset_ids: Option<Vec<String>>,
}

/// Whether an expanded name is `expiresAt` (GS CIM 009 §4.22, §6.3.11), a system temporal
/// member: the core term, or the default-context one where a core context lacks it.
pub fn is_expires_at(iri: &str) -> bool {
    matches!(
        iri,
        "https://uri.etsi.org/ngsi-ld/expiresAt"
            | "https://uri.etsi.org/ngsi-ld/default-context/expiresAt"
    )
}

/// Renders an entity compacted with `ctx`.
pub fn render_entity(e: &Entity, ctx: &Context, o: &RenderOpts) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), Value::String(e.id.clone()));
    let types: Vec<Value> = e
        .types
        .iter()
        .map(|t| Value::String(ctx.compact(t)))
        .collect();
    m.insert(
        "type".into(),
        if types.len() == 1 {
            types[0].clone()
        } else {
            Value::Array(types)
        },
    );
    if !e.scope.is_empty() {
        m.insert(
            "scope".into(),
            if e.scope.len() == 1 {
                json!(e.scope[0])
            } else {
                json!(e.scope)
            },
        );
    }
    if o.sys_attrs && o.format != Format::KeyValues {
        m.insert("createdAt".into(), json!(format_micros(e.created_at)));
        m.insert("modifiedAt".into(), json!(format_micros(e.modified_at)));
    }
    for (name, list) in &e.attrs {
        if let Some(sel) = &o.attrs {
            if !sel.contains(name) {
                continue;
            }
        }
        let insts: Vec<&Attribute> = list
            .iter()
            .filter(|a| {
                o.dataset_ids.as_ref().is_none_or(|d| {
                    let ds = a.dataset_id.as_deref().unwrap_or("@none");
                    d.iter().any(|x| x == ds)
                })
            })
            .collect();
        if insts.is_empty() {
            continue;
        }
        if is_expires_at(name) {
            // §6.3.11: a system temporal member, shown (as its DateTime) with sysAttrs only.
            if o.sys_attrs {
                m.insert("expiresAt".into(), insts[0].plain_value().clone());
            }
            continue;
        }
        let short = ctx.compact(name);
        let v = if insts.len() == 1 {
            render_attribute(insts[0], ctx, o)
        } else if o.format == Format::KeyValues {
            // §4.5.4: several instances become a map datasetId (or `@none`) → value.
            let ds: Map<String, Value> = insts
                .iter()
                .map(|a| {
                    (
                        a.dataset_id.clone().unwrap_or_else(|| "@none".into()),
                        render_attribute(a, ctx, o),
                    )
                })
                .collect();
            json!({ "dataset": ds })
        } else {
            Value::Array(insts.iter().map(|a| render_attribute(a, ctx, o)).collect())
        };
        m.insert(short, v);
    }
    if let Some(pick) = &o.pick {
        m.retain(|k, _| pick.iter().any(|p| p == k));
    }
    for k in &o.omit {
        m.remove(k);
    }
    Value::Object(m)
}

/// Renders one attribute instance.
pub fn render_attribute(a: &Attribute, ctx: &Context, o: &RenderOpts) -> Value {
    if o.format == Format::KeyValues {
        return key_value(a, o.lang.as_deref());
    }
    let mut m = Map::new();
    let mut kind = a.kind;
    let mut value = a.value.clone();
    if let (AttrKind::LanguageProperty, Some(lang)) = (a.kind, o.lang.as_deref()) {
        kind = AttrKind::Property;
        let (v, l) = pick_language(&a.value, lang);
        value = v;
        m.insert("lang".into(), json!(l));
    }
    let concise = o.format == Format::Concise;
    let inferable = matches!(
        kind,
        AttrKind::Property
            | AttrKind::Relationship
            | AttrKind::LanguageProperty
            | AttrKind::VocabProperty
            | AttrKind::ListProperty
            | AttrKind::JsonProperty
            | AttrKind::ListRelationship
    ) || (kind == AttrKind::GeoProperty);
    if !(concise && inferable) {
        m.insert("type".into(), json!(kind.as_str()));
    }
    m.insert(kind.value_key().into(), value);
    if let Some(d) = &a.dataset_id {
        m.insert("datasetId".into(), json!(d));
    }
    if let Some(t) = &a.observed_at {
        m.insert("observedAt".into(), json!(t));
    }
    if let Some(u) = &a.unit_code {
        m.insert("unitCode".into(), json!(u));
    }
    if let Some(l) = &a.lang {
        m.insert("lang".into(), json!(l));
    }
    if o.sys_attrs {
        m.insert("createdAt".into(), json!(format_micros(a.created_at)));
        m.insert("modifiedAt".into(), json!(format_micros(a.modified_at)));
    }
    let sub_opts = RenderOpts {
        attrs: None,
        pick: None,
        omit: Vec::new(),
        ..o.clone()
    };
    for (k, s) in &a.sub {
        if is_expires_at(k) {
            if o.sys_attrs {
                m.insert("expiresAt".into(), s.plain_value().clone());
            }
            continue;
        }
        m.insert(ctx.compact(k), render_attribute(s, ctx, &sub_opts));
    }
    if concise && m.len() == 1 && kind == AttrKind::Property && !a.value.is_object() {
        return m.remove("value").unwrap_or(Value::Null);
    }
    Value::Object(m)
}

/// Picks the value of a languageMap for `lang` (GS CIM 009 §4.15): a list of language
/// ranges with optional quality values (`fr;q=0.2,nl;q=0.9`), tried by descending quality;
/// each range matches a tag case-insensitively, then by truncation (`nl-BE` → `nl`,
/// RFC 4647 lookup), then a longer tag (`en` → `en-US`); `*` matches any. Without a match,
/// `@none`, else any language. Returns the value and the tag used.
fn pick_language(map: &Value, lang: &str) -> (Value, String) {
    let Some(m) = map.as_object() else {
        return (Value::Null, String::new());
    };
    let mut ranges: Vec<(f64, &str)> = lang
        .split(',')
        .filter_map(|r| {
            let mut parts = r.split(';');
            let tag = parts.next()?.trim();
            let q = parts
                .find_map(|x| x.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f64>().ok())
                .unwrap_or(1.0);
            (!tag.is_empty() && q > 0.0).then_some((q, tag))
        })
        .collect();
    ranges.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal));
    let found = |want: &str| {
        m.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(want))
            .map(|(k, v)| (v.clone(), k.clone()))
    };
    for (_, range) in &ranges {
        if *range == "*" {
            if let Some((k, v)) = m.iter().find(|(k, _)| k.as_str() != "@none") {
                return (v.clone(), k.clone());
            }
            continue;
        }
        let mut r: &str = range;
        loop {
            if let Some(hit) = found(r) {
                return hit;
            }
            match r.rfind('-') {
                Some(i) => r = &r[..i],
                None => break,
            }
        }
        let prefix = format!("{}-", range.to_ascii_lowercase());
        if let Some((k, v)) = m
            .iter()
            .find(|(k, _)| k.to_ascii_lowercase().starts_with(&prefix))
        {
            return (v.clone(), k.clone());
        }
    }
    if let Some(v) = m.get("@none") {
        return (v.clone(), "@none".into());
    }
    m.iter()
        .next()
        .map(|(k, v)| (v.clone(), k.clone()))
        .unwrap_or((Value::Null, String::new()))
}

/// A ListRelationship's `objectList` in the simplified representations (GS CIM 009
/// §4.5.22, §4.5.9): the bare URIs, where the normalized form holds `{"object": URI}`.
pub fn bare_object_list(v: &Value) -> Value {
    match v {
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| x.get("object").cloned().unwrap_or_else(|| x.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The keyValues value of an instance.
pub fn key_value(a: &Attribute, lang: Option<&str>) -> Value {
    match (a.kind, lang) {
        (AttrKind::LanguageProperty, Some(l)) => pick_language(&a.value, l).0,
        (AttrKind::LanguageProperty, None) => json!({"languageMap": a.value}),
        (AttrKind::VocabProperty, _) => json!({"vocab": a.value}),
        // §4.5.4 (examples 7, 8): lists are given bare.
        (AttrKind::ListProperty, _) => a.value.clone(),
        (AttrKind::ListRelationship, _) => bare_object_list(&a.value),
        (AttrKind::JsonProperty, _) => json!({"json": a.value}),
        _ => a.value.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_and_names() {
        assert!(is_uri("urn:ngsi-ld:Device:1"));
        assert!(is_uri("uri:ngsi:Device:T2-NP-018"));
        assert!(!is_uri("2020-03-17T08:45:00.209Z"));
        assert!(!is_uri("Device1"));
        assert!(is_valid_name("pm10"));
        assert!(!is_valid_name("a=b"));
    }

    #[test]
    fn parses_multi_attribute_and_sub_attributes() {
        let ctx = Context::core();
        let e = parse_entity(
            &json!({"id":"urn:ngsi-ld:T:1","type":"T",
                "temp":[{"type":"Property","value":20,"unitCode":"CEL","observedAt":"2024-01-01T00:00:00Z"},
                        {"type":"Property","value":21,"datasetId":"urn:ngsi-ld:Dataset:b","accuracy":{"type":"Property","value":0.5}}],
                "name":{"type":"LanguageProperty","languageMap":{"en":"Bridge","zh":"桥"}}}),
            &ctx,
            1,
        )
        .unwrap();
        let t = &e.attrs[&ctx.expand("temp")];
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].unit_code.as_deref(), Some("CEL"));
        assert_eq!(t[1].sub.len(), 1);
        let out = render_entity(
            &e,
            &ctx,
            &RenderOpts {
                format: Format::KeyValues,
                lang: Some("zh".into()),
                ..Default::default()
            },
        );
        assert_eq!(out["name"], "桥");
    }

    #[test]
    fn rejects_json_schema_style_and_bad_relationship() {
        let ctx = Context::core();
        let e = parse_entity(
            &json!({"id":"urn:a:1","type":"T","x":{"type":"string","value":"1"}}),
            &ctx,
            1,
        )
        .unwrap_err();
        assert!(e.detail.contains("has type \"string\""), "{}", e.detail);
        let e = parse_entity(&json!({"id":"urn:a:1","type":"T","d":{"type":"Relationship","object":"2020-03-17T08:45:00.209Z"}}), &ctx, 1).unwrap_err();
        assert!(e.detail.contains("must be a URI"), "{}", e.detail);
    }
}
