//! NGSI-LD subscriptions (ETSI GS CIM 009 v1.8 §5.8 operations, §5.2.12 data type,
//! §6.10/§6.11 HTTP binding): validation, storage and the CRUD API at
//! `/ngsi-ld/v1/subscriptions`.
//!
//! A subscription is stored as the members the client sent (compacted terms, without
//! `@context`) plus the `@context` it was sent with, in `twin_subscriptions` (component
//! `twin_sub`), on SQLite and PostgreSQL alike. The parsed form ([`Subscription`], names
//! expanded) lives in the in-memory index of the notifier ([`crate::service::notify::Notifier`]),
//! a cache rebuilt from the database at start and kept current by this API.
//!
//! Limits: at most [`MAX_SUBSCRIPTIONS`] subscriptions per tenant; `throttling` and
//! `timeInterval` are whole or fractional seconds, `timeInterval` at least 1 s.
//! Representation: GET answers the Subscription members as sent (read-only and unknown
//! members are not kept; entity types, `watchedAttributes` and `notification.attributes`
//! compacted with the request's @context), plus `status`, `notificationTrigger` (the
//! default when not given) and the notification status fields (`timesSent` and
//! `timesFailed` once non-zero, `lastNotification`, `lastSuccess`, `lastFailure`).
//! `Prefer: ngsi-ld=<version>` is answered with `Preference-Applied`; pages of
//! `GET /subscriptions` carry `prev`/`next` links.

use crate::ld::context::Context;
use crate::ld::error::{NgsiError, NgsiResult};
use crate::ld::model::{self, format_micros, parse_datetime, Entity, Format, RenderOpts};
use crate::query::geo::{self as geoq, GeoQuery};
use crate::query::q::{self, Expr};
use serde_json::{json, Map, Value};
use std::sync::Arc;

pub use crate::store::subscriptions::MIGRATIONS;

/// Most subscriptions one tenant may hold.
pub const MAX_SUBSCRIPTIONS: usize = 10_000;

/// One entity selector of a subscription (§5.2.8 EntitySelector).
#[derive(Debug, Clone)]
pub struct EntitySel {
    /// Exact entity id.
    pub id: Option<String>,
    /// Entity id regular expression.
    pub id_pattern: Option<regex::Regex>,
    /// The entity type selection (§4.17), names expanded.
    pub types: TypeSel,
}

impl EntitySel {
    /// Whether the selector picks this entity.
    pub fn matches(&self, e: &Entity) -> bool {
        self.types.matches(&e.types)
            && self.id.as_ref().is_none_or(|i| *i == e.id)
            && self.id_pattern.as_ref().is_none_or(|p| p.is_match(&e.id))
    }
}

/// An entity type selection (GS CIM 009 §4.17): a type name, or types combined with `,`
/// or `|` (any of), `;` (all of) and parentheses, as in `(Building|Tower);Monument`.
#[derive(Debug, Clone, PartialEq)]
pub enum TypeSel {
    /// One expanded type.
    Name(String),
    /// Any of.
    Or(Vec<TypeSel>),
    /// All of.
    And(Vec<TypeSel>),
}

impl TypeSel {
    /// Parses a type selection, expanding names with `ctx`. Errors: 400 BadRequestData
    /// for an empty or invalid name or unbalanced parentheses.
    pub fn parse(s: &str, ctx: &Context) -> NgsiResult<TypeSel> {
        let mut rest = s;
        let sel = Self::or(&mut rest, ctx)?;
        if !rest.is_empty() {
            return Err(NgsiError::bad_data(format!(
                "entity type selection {s:?}: unexpected {rest:?}"
            )));
        }
        Ok(sel)
    }

    fn or(rest: &mut &str, ctx: &Context) -> NgsiResult<TypeSel> {
        let mut terms = vec![Self::and(rest, ctx)?];
        while let Some(r) = rest.strip_prefix([',', '|']) {
            *rest = r;
            terms.push(Self::and(rest, ctx)?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            TypeSel::Or(terms)
        })
    }

    fn and(rest: &mut &str, ctx: &Context) -> NgsiResult<TypeSel> {
        let mut terms = vec![Self::factor(rest, ctx)?];
        while let Some(r) = rest.strip_prefix(';') {
            *rest = r;
            terms.push(Self::factor(rest, ctx)?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            TypeSel::And(terms)
        })
    }

    fn factor(rest: &mut &str, ctx: &Context) -> NgsiResult<TypeSel> {
        if let Some(r) = rest.strip_prefix('(') {
            *rest = r;
            let inner = Self::or(rest, ctx)?;
            *rest = rest
                .strip_prefix(')')
                .ok_or_else(|| NgsiError::bad_data("entity type selection: missing \")\""))?;
            return Ok(inner);
        }
        let end = rest.find([',', '|', ';', '(', ')']).unwrap_or(rest.len());
        let name = &rest[..end];
        if !model::is_valid_name(name) {
            return Err(NgsiError::bad_data(format!(
                "entity type selection: {name:?} is not a valid type name"
            )));
        }
        *rest = &rest[end..];
        Ok(TypeSel::Name(ctx.expand(name)))
    }

    /// Whether an entity with these (expanded) types is selected.
    pub fn matches(&self, types: &[String]) -> bool {
        match self {
            TypeSel::Name(n) => types.contains(n),
            TypeSel::Or(l) => l.iter().any(|x| x.matches(types)),
            TypeSel::And(l) => l.iter().all(|x| x.matches(types)),
        }
    }

    /// Every type named in the selection.
    pub fn names(&self) -> Vec<String> {
        match self {
            TypeSel::Name(n) => vec![n.clone()],
            TypeSel::Or(l) | TypeSel::And(l) => l.iter().flat_map(TypeSel::names).collect(),
        }
    }
}

/// Where and how notifications go (§5.2.15 Endpoint).
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// `http(s)://…` or `mqtt(s)://host:port/topic`.
    pub uri: String,
    /// `application/json` (default) or `application/ld+json`.
    pub accept: String,
    /// Extra headers (`receiverInfo` key/value pairs); for MQTT they go in `metadata`.
    pub receiver_info: Vec<(String, String)>,
}

/// A validated subscription (names expanded).
#[derive(Debug, Clone)]
pub struct Subscription {
    /// NGSI-LD tenant.
    pub tenant: String,
    /// Subscription id (a URI).
    pub id: String,
    /// Entity selectors (any of); empty = every entity.
    pub entities: Vec<EntitySel>,
    /// Watched attributes (expanded); empty = every attribute.
    pub watched: Vec<String>,
    /// `q`.
    pub q: Option<Expr>,
    /// `geoQ`.
    pub geo: Option<GeoQuery>,
    /// Attributes to put in notifications (expanded); `None` = all.
    pub attrs: Option<Vec<String>>,
    /// Notification representation.
    pub format: Format,
    /// Include createdAt/modifiedAt in notified entities.
    pub sys_attrs: bool,
    /// The endpoint.
    pub endpoint: Endpoint,
    /// Minimum time between two notifications, µs (0 = none).
    pub throttling: i64,
    /// Periodic notification interval, µs (0 = on change).
    pub time_interval: i64,
    /// Expiry, µs since the epoch.
    pub expires_at: Option<i64>,
    /// `isActive`.
    pub active: bool,
    /// The `@context` it was made with.
    pub ctx: Arc<Context>,
    /// `notificationTrigger` (default: attributeCreated, attributeUpdated).
    pub triggers: Vec<Trigger>,
    /// `notification.showChanges`: previous values in notified attributes.
    pub show_changes: bool,
    /// `notification.pick`: entity members to keep (compacted names).
    pub pick: Option<Vec<String>>,
    /// `notification.omit`: entity members to drop (compacted names).
    pub omit: Vec<String>,
    /// `datasetId`: only these attribute instances are notified (`@none` = the default
    /// instance); empty = every instance.
    pub dataset_ids: Vec<String>,
}

/// A notification trigger (GS CIM 009 §5.2.12 `notificationTrigger`, §5.8.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// An entity was created.
    EntityCreated,
    /// An entity was updated (any of its attributes).
    EntityUpdated,
    /// An entity was deleted.
    EntityDeleted,
    /// An attribute (instance) was added.
    AttributeCreated,
    /// An attribute (instance) was changed.
    AttributeUpdated,
    /// An attribute (instance) was removed.
    AttributeDeleted,
}

impl Trigger {
    /// Every trigger, by its name in `notificationTrigger`.
    pub const ALL: [(&'static str, Trigger); 6] = [
        ("entityCreated", Trigger::EntityCreated),
        ("entityUpdated", Trigger::EntityUpdated),
        ("entityDeleted", Trigger::EntityDeleted),
        ("attributeCreated", Trigger::AttributeCreated),
        ("attributeUpdated", Trigger::AttributeUpdated),
        ("attributeDeleted", Trigger::AttributeDeleted),
    ];
    /// The triggers of a subscription without `notificationTrigger` (§5.2.12).
    pub const DEFAULT: [Trigger; 2] = [Trigger::AttributeCreated, Trigger::AttributeUpdated];

    /// The trigger of a `notificationTrigger` value.
    pub fn parse(s: &str) -> Option<Trigger> {
        Self::ALL.iter().find(|(n, _)| *n == s).map(|(_, t)| *t)
    }
}

impl Subscription {
    /// `active`, `paused` or `expired` (§5.2.12 status).
    pub fn status(&self, now: i64) -> &'static str {
        if self.expires_at.is_some_and(|x| x <= now) {
            "expired"
        } else if self.active {
            "active"
        } else {
            "paused"
        }
    }
    /// Whether an entity passes the entity selectors, q and geoQ.
    pub fn selects(&self, e: &Entity) -> bool {
        (self.entities.is_empty() || self.entities.iter().any(|s| s.matches(e)))
            && self.q.as_ref().is_none_or(|x| x.matches(e, &self.ctx))
            && self.geo.as_ref().is_none_or(|g| g.matches(e))
    }
}

fn secs_to_micros(v: &Value, name: &str) -> NgsiResult<i64> {
    match v.as_f64() {
        Some(s) if s > 0.0 && s <= 10.0 * 365.0 * 86400.0 => Ok((s * 1e6) as i64),
        _ => Err(NgsiError::bad_data(format!(
            "{name} must be a positive number of seconds (at most ten years), not {v}"
        ))),
    }
}

fn string_list(v: &Value, name: &str) -> NgsiResult<Vec<String>> {
    let a = v.as_array().ok_or_else(|| {
        NgsiError::bad_data(format!("{name} must be an array of attribute names"))
    })?;
    if a.is_empty() {
        return Err(NgsiError::bad_data(format!("{name} must not be empty")));
    }
    a.iter()
        .map(|x| match x.as_str() {
            Some(s) if !s.is_empty() => Ok(s.to_string()),
            _ => Err(NgsiError::bad_data(format!(
                "{name} must hold non-empty strings, not {x}"
            ))),
        })
        .collect()
}

/// `jsonldContext` (§5.2.12): the URI of the @context notifications are compacted with.
/// Errors: 400 BadRequestData when it is not a URI (or not a JSON-LD context document),
/// 504 LdContextNotAvailable when it cannot be retrieved.
pub(crate) async fn check_jsonld_context(
    twin: &crate::service::Twin,
    m: &Map<String, Value>,
) -> NgsiResult<()> {
    let Some(v) = m.get("jsonldContext") else {
        return Ok(());
    };
    let url = v
        .as_str()
        .filter(|u| model::is_uri(u))
        .ok_or_else(|| NgsiError::bad_data(format!("jsonldContext {v} is not a URI")))?;
    twin.contexts.resolve(Some(&json!(url))).await.map(|_| ())
}

/// Validates a subscription body (members as sent, without `@context`) and returns the
/// parsed form. Errors: 400 BadRequestData naming the wrong member (a `null` member, as in
/// `"watchedAttributes": null`, is refused).
pub fn parse(
    tenant: &str,
    id: &str,
    m: &Map<String, Value>,
    ctx: Arc<Context>,
    now: i64,
    creating: bool,
) -> NgsiResult<Subscription> {
    for (k, v) in m {
        if v.is_null() {
            return Err(NgsiError::bad_data(format!(
                "{k} is null: leave the member out instead"
            )));
        }
    }
    if let Some(t) = m.get("type") {
        if t.as_str() != Some("Subscription") {
            return Err(NgsiError::bad_data(format!(
                "type must be \"Subscription\", not {t}"
            )));
        }
    } else if creating {
        return Err(NgsiError::bad_data("type \"Subscription\" is missing"));
    }
    let mut entities = Vec::new();
    if let Some(v) = m.get("entities") {
        let a = v
            .as_array()
            .filter(|a| !a.is_empty())
            .ok_or_else(|| NgsiError::bad_data("entities must be a non-empty array"))?;
        for s in a {
            let ty = s.get("type").and_then(Value::as_str).ok_or_else(|| {
                NgsiError::bad_data(format!("entities: {s} needs a valid \"type\""))
            })?;
            let id = match s.get("id") {
                None => None,
                Some(Value::String(i)) if model::is_uri(i) => Some(i.clone()),
                Some(x) => {
                    return Err(NgsiError::bad_data(format!(
                        "entities: id {x} is not a URI"
                    )))
                }
            };
            let id_pattern = match s.get("idPattern") {
                None => None,
                Some(Value::String(p)) => Some(
                    regex::Regex::new(p)
                        .map_err(|e| NgsiError::bad_data(format!("entities: idPattern: {e}")))?,
                ),
                Some(x) => {
                    return Err(NgsiError::bad_data(format!(
                        "entities: idPattern {x} is not a string"
                    )))
                }
            };
            entities.push(EntitySel {
                id,
                id_pattern,
                types: TypeSel::parse(ty, &ctx)?,
            });
        }
    }
    let watched = match m.get("watchedAttributes") {
        None => Vec::new(),
        Some(v) => string_list(v, "watchedAttributes")?
            .iter()
            .map(|a| ctx.expand(a))
            .collect(),
    };
    let time_interval = match m.get("timeInterval") {
        None => 0,
        Some(v) => {
            let t = secs_to_micros(v, "timeInterval")?;
            if t < 1_000_000 {
                return Err(NgsiError::bad_data(
                    "timeInterval must be at least 1 second",
                ));
            }
            t
        }
    };
    if time_interval > 0 && !watched.is_empty() {
        return Err(NgsiError::bad_data(
            "timeInterval and watchedAttributes cannot be used together",
        ));
    }
    if entities.is_empty() && watched.is_empty() && time_interval == 0 && creating {
        return Err(NgsiError::bad_data(
            "a subscription needs entities or watchedAttributes",
        ));
    }
    let throttling = match m.get("throttling") {
        None => 0,
        Some(v) => secs_to_micros(v, "throttling")?,
    };
    if throttling > 0 && time_interval > 0 {
        return Err(NgsiError::bad_data(
            "throttling and timeInterval cannot be used together",
        ));
    }
    let q = match m.get("q") {
        None => None,
        // As in the HTTP binding, a percent-encoded query (`name=="Eiffel%20Tower"`) is
        // decoded first.
        Some(Value::String(s)) => Some(q::parse(
            &percent_encoding::percent_decode_str(s).decode_utf8_lossy(),
        )?),
        Some(x) => return Err(NgsiError::bad_data(format!("q must be a string, not {x}"))),
    };
    let geo = match m.get("geoQ") {
        None => None,
        Some(g) => {
            let rel = g
                .get("georel")
                .and_then(Value::as_str)
                .ok_or_else(|| NgsiError::bad_data("geoQ needs georel"))?;
            let coords = match g.get("coordinates") {
                Some(Value::String(s)) => Some(serde_json::from_str::<Value>(s).map_err(|e| {
                    NgsiError::bad_data(format!("geoQ coordinates are not JSON: {e}"))
                })?),
                other => other.cloned(),
            };
            Some(geoq::parse(
                rel,
                g.get("geometry").and_then(Value::as_str),
                coords.as_ref(),
                g.get("geoproperty").and_then(Value::as_str),
                &ctx,
            )?)
        }
    };
    let expires_at = match m.get("expiresAt") {
        None => None,
        Some(v) => {
            let t = v.as_str().and_then(parse_datetime).ok_or_else(|| {
                NgsiError::bad_data(format!("expiresAt {v} is not an RFC 3339 date-time"))
            })?;
            if t <= now {
                return Err(NgsiError::bad_data("expiresAt is in the past"));
            }
            Some(t)
        }
    };
    let active = match m.get("isActive") {
        None => true,
        Some(Value::Bool(b)) => *b,
        Some(x) => {
            return Err(NgsiError::bad_data(format!(
                "isActive must be true or false, not {x}"
            )))
        }
    };
    for k in ["description", "subscriptionName"] {
        if let Some(v) = m.get(k) {
            if !v.is_string() {
                return Err(NgsiError::bad_data(format!("{k} must be a string")));
            }
        }
    }
    let triggers = match m.get("notificationTrigger") {
        None => Trigger::DEFAULT.to_vec(),
        Some(v) => string_list(v, "notificationTrigger")?
            .iter()
            .map(|t| {
                Trigger::parse(t).ok_or_else(|| {
                    NgsiError::bad_data(format!(
                        "notificationTrigger {t:?} is not one of entityCreated, entityUpdated, \
                         entityDeleted, attributeCreated, attributeUpdated, attributeDeleted"
                    ))
                })
            })
            .collect::<NgsiResult<_>>()?,
    };
    let dataset_ids = match m.get("datasetId") {
        None => Vec::new(),
        Some(Value::String(d)) => vec![d.clone()],
        Some(v) => string_list(v, "datasetId")?,
    };
    if let Some(d) = dataset_ids
        .iter()
        .find(|d| *d != "@none" && !model::is_uri(d))
    {
        return Err(NgsiError::bad_data(format!(
            "datasetId {d:?} is neither a URI nor @none"
        )));
    }
    match m.get("csf") {
        None => {}
        Some(Value::String(s)) => {
            q::parse(s).map_err(|e| NgsiError::bad_data(format!("csf: {}", e.detail)))?;
        }
        Some(x) => {
            return Err(NgsiError::bad_data(format!(
                "csf must be a string, not {x}"
            )))
        }
    }
    let n = m
        .get("notification")
        .and_then(Value::as_object)
        .ok_or_else(|| NgsiError::bad_data("notification (an object with endpoint) is missing"))?;
    // §5.2.14 NotificationParams and §4.21: pick/omit are non-empty lists of names, not
    // both naming one member, not with attributes; showChanges needs the normalized form.
    let mut proj: Vec<(&str, Vec<String>)> = Vec::new();
    for k in ["pick", "omit"] {
        if let Some(v) = n.get(k) {
            let l = match v {
                Value::String(x) => x.split(',').map(str::to_string).collect(),
                _ => string_list(v, &format!("notification.{k}"))?,
            };
            if l.is_empty() || l.iter().any(|x| !model::is_valid_name(x)) {
                return Err(NgsiError::bad_data(format!(
                    "notification.{k} must be a non-empty list of attribute names or entity members"
                )));
            }
            if n.contains_key("attributes") {
                return Err(NgsiError::bad_data(format!(
                    "notification.{k} cannot be used together with notification.attributes"
                )));
            }
            proj.push((k, l));
        }
    }
    if let [(_, a), (_, b)] = proj.as_slice() {
        if let Some(x) = a.iter().find(|x| b.contains(x)) {
            return Err(NgsiError::bad_data(format!(
                "{x:?} is both in notification.pick and in notification.omit"
            )));
        }
    }
    if n.get("showChanges") == Some(&Value::Bool(true))
        && matches!(
            n.get("format").and_then(Value::as_str),
            Some("keyValues" | "simplified")
        )
    {
        return Err(NgsiError::bad_data(
            "notification.showChanges needs the normalized format (previous values), not keyValues",
        ));
    }
    let attrs = match n.get("attributes") {
        None => None,
        Some(v) => Some(
            string_list(v, "notification.attributes")?
                .iter()
                .map(|a| ctx.expand(a))
                .collect(),
        ),
    };
    let format = match n.get("format").map(|f| f.as_str()) {
        None | Some(Some("normalized")) => Format::Normalized,
        Some(Some("keyValues")) | Some(Some("simplified")) => Format::KeyValues,
        Some(Some("concise")) => Format::Concise,
        _ => {
            return Err(NgsiError::bad_data(
                "notification.format must be normalized, keyValues or concise",
            ))
        }
    };
    let sys_attrs = match n.get("sysAttrs") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(NgsiError::bad_data(
                "notification.sysAttrs must be true or false",
            ))
        }
    };
    let ep = n
        .get("endpoint")
        .and_then(Value::as_object)
        .ok_or_else(|| NgsiError::bad_data("notification.endpoint is missing"))?;
    let uri = ep
        .get("uri")
        .and_then(Value::as_str)
        .ok_or_else(|| NgsiError::bad_data("notification.endpoint.uri is missing"))?;
    let parsed = reqwest::Url::parse(uri)
        .map_err(|e| NgsiError::bad_data(format!("notification.endpoint.uri {uri:?}: {e}")))?;
    match parsed.scheme() {
        "http" | "https" => {}
        "mqtt" => {
            if parsed.host_str().is_none() || parsed.path().len() < 2 {
                return Err(NgsiError::bad_data(
                    "an MQTT endpoint is mqtt://host[:port]/topic",
                ));
            }
        }
        s => {
            return Err(NgsiError::bad_data(format!(
                "notification.endpoint.uri scheme {s:?} is not http, https or mqtt"
            )))
        }
    }
    let accept = match ep.get("accept").map(|a| a.as_str()) {
        None => "application/json".to_string(),
        Some(Some(a @ ("application/json" | "application/ld+json"))) => a.to_string(),
        _ => {
            return Err(NgsiError::bad_data(
                "notification.endpoint.accept must be application/json or application/ld+json",
            ))
        }
    };
    let receiver_info = key_values(ep, "receiverInfo")?;
    key_values(ep, "notifierInfo")?;
    Ok(Subscription {
        tenant: tenant.to_string(),
        id: id.to_string(),
        entities,
        watched,
        q,
        geo,
        attrs,
        format,
        sys_attrs,
        endpoint: Endpoint {
            uri: uri.to_string(),
            accept,
            receiver_info,
        },
        throttling,
        time_interval,
        expires_at,
        active,
        ctx,
        triggers,
        show_changes: n.get("showChanges") == Some(&Value::Bool(true)),
        pick: proj
            .iter()
            .find(|(k, _)| *k == "pick")
            .map(|(_, l)| l.clone()),
        omit: proj
            .iter()
            .find(|(k, _)| *k == "omit")
            .map(|(_, l)| l.clone())
            .unwrap_or_default(),
        dataset_ids,
    })
}

/// `receiverInfo` / `notifierInfo` of an endpoint (§5.2.15, §5.2.22 KeyValuePair): an
/// array of `{"key", "value"}` strings usable as header name and value. Errors: 400
/// BadRequestData for any other shape.
fn key_values(ep: &Map<String, Value>, member: &str) -> NgsiResult<Vec<(String, String)>> {
    let Some(ri) = ep.get(member) else {
        return Ok(Vec::new());
    };
    let a = ri.as_array().ok_or_else(|| {
        NgsiError::bad_data(format!("notification.endpoint.{member} must be an array"))
    })?;
    a.iter()
        .map(|kv| {
            let (Some(k), Some(v)) = (
                kv.get("key").and_then(Value::as_str),
                kv.get("value").and_then(Value::as_str),
            ) else {
                return Err(NgsiError::bad_data(format!(
                    "{member} entries are {{\"key\": …, \"value\": …}} strings"
                )));
            };
            if http::HeaderName::from_bytes(k.as_bytes()).is_err()
                || http::HeaderValue::from_str(v).is_err()
            {
                return Err(NgsiError::bad_data(format!(
                    "{member} {k:?} is not a valid header"
                )));
            }
            Ok((k.to_string(), v.to_string()))
        })
        .collect()
}

/// Re-compacts the terms of stored subscription members (entity types, including the
/// names in a type selection, `watchedAttributes`, `notification.attributes`) from the
/// @context the subscription was made with to `to`, the @context of the request that
/// reads it (GS CIM 009 §5.8.3, §5.5.7 term to URI expansion).
pub fn recompact(m: &mut Map<String, Value>, from: &Context, to: &Context) {
    let term = |t: &str| to.compact(&from.expand(t));
    if let Some(Value::Array(sels)) = m.get_mut("entities") {
        for sel in sels {
            if let Some(Value::String(ty)) = sel.get_mut("type") {
                let mut out = String::new();
                let mut name = String::new();
                for c in ty.chars().chain(std::iter::once('\0')) {
                    if matches!(c, ',' | '|' | ';' | '(' | ')' | '\0') {
                        if !name.is_empty() {
                            out.push_str(&term(&name));
                            name.clear();
                        }
                        if c != '\0' {
                            out.push(c);
                        }
                    } else {
                        name.push(c);
                    }
                }
                *ty = out;
            }
        }
    }
    let names = |v: Option<&mut Value>| {
        if let Some(Value::Array(a)) = v {
            for x in a {
                if let Value::String(n) = x {
                    *n = term(n);
                }
            }
        }
    };
    names(m.get_mut("watchedAttributes"));
    if let Some(Value::Object(n)) = m.get_mut("notification") {
        names(n.get_mut("attributes"));
    }
}

/// Render options of a subscription's notifications.
pub fn render_opts(s: &Subscription) -> RenderOpts {
    RenderOpts {
        format: s.format,
        sys_attrs: s.sys_attrs,
        attrs: s.attrs.clone(),
        pick: s.pick.clone(),
        omit: s.omit.clone(),
        ..Default::default()
    }
}

/// The `Notification` body (§5.3.1): id, type, subscriptionId, notifiedAt, data. With
/// an `application/ld+json` endpoint the notification and every entity in `data` carry
/// the subscription's `@context` (each entity is a JSON-LD document of its own).
pub fn notification_body(s: &Subscription, mut data: Vec<Value>, now: i64) -> Value {
    let ld = s.endpoint.accept == "application/ld+json";
    if ld {
        for d in data.iter_mut() {
            if let Value::Object(m) = d {
                m.insert("@context".into(), s.ctx.echo());
            }
        }
    }
    let mut v = json!({
        "id": format!("urn:ngsi-ld:Notification:{}", uuid::Uuid::new_v4()),
        "type": "Notification",
        "subscriptionId": s.id,
        "notifiedAt": format_micros(now),
        "data": data,
    });
    if ld {
        v["@context"] = s.ctx.echo();
    }
    v
}
