//! The content of notifications (GS CIM 009 §5.8.6 notification behaviour, §5.2.12
//! `notificationTrigger`, §5.2.14 `showChanges`, §4.5.x NGSI-LD Null for deleted
//! attributes): which triggers a committed change fires, whether a subscription is
//! concerned, and the entity it is notified with.
//!
//! - Triggers: a creation fires `entityCreated` and `attributeCreated` for each attribute
//!   instance; a deletion `entityDeleted` and `attributeDeleted` for each instance; an
//!   update or replacement `entityUpdated` and, per instance (attribute name and
//!   `datasetId`) it touched, `attributeCreated`, `attributeUpdated` or
//!   `attributeDeleted`.
//! - A subscription is concerned when one of its triggers fired: an attribute trigger on a
//!   watched attribute (any attribute without `watchedAttributes`), an entity trigger when
//!   a watched attribute was touched.
//! - A deleted attribute instance is notified with the NGSI-LD Null `urn:ngsi-ld:null` as
//!   its value (`{"@none": "urn:ngsi-ld:null"}` for a LanguageProperty) and, with
//!   `sysAttrs`, its `deletedAt`. A deleted entity is notified as `id`, `type`,
//!   `deletedAt`, plus its deleted attributes when the subscription asked for
//!   `attributeDeleted` or `showChanges`.
//! - `showChanges`: updated and deleted instances carry their previous value as
//!   `previousValue`, `previousObject`, `previousLanguageMap`, `previousJson`, … .

use crate::ld::model::{self, format_micros, AttrKind, Attribute, Entity, Format};
use crate::service::subscription::{render_opts, Subscription, Trigger};
use crate::service::{ChangeKind, EntityChange};
use serde_json::{json, Map, Value};

/// The NGSI-LD Null (§4.5.x): the value of a deleted attribute in a notification.
pub const NGSI_LD_NULL: &str = "urn:ngsi-ld:null";

/// One attribute instance a change touched.
#[derive(Debug, Clone, PartialEq)]
pub struct Touched {
    /// Expanded attribute name.
    pub name: String,
    /// The instance's `datasetId` (`None` = default instance).
    pub dataset_id: Option<String>,
    /// `AttributeCreated`, `AttributeUpdated` or `AttributeDeleted`.
    pub trigger: Trigger,
}

/// The triggers one committed change fires.
#[derive(Debug, Clone)]
pub struct Fired {
    /// The entity-level trigger.
    pub entity: Trigger,
    /// The attribute instances touched.
    pub attrs: Vec<Touched>,
}

fn instances(e: Option<&Entity>, name: &str) -> Vec<Attribute> {
    e.and_then(|e| e.attrs.get(name))
        .cloned()
        .unwrap_or_default()
}

/// The triggers of a change (§5.8.6).
pub fn fired(c: &EntityChange) -> Fired {
    let before = c.before.as_deref();
    let after = c.after.as_deref();
    let entity = match c.kind {
        ChangeKind::Created => Trigger::EntityCreated,
        ChangeKind::Deleted => Trigger::EntityDeleted,
        ChangeKind::Updated | ChangeKind::Replaced => Trigger::EntityUpdated,
    };
    let mut names: Vec<&String> = c.changed_attrs.iter().collect();
    for e in [before, after].into_iter().flatten() {
        if c.kind != ChangeKind::Updated {
            names.extend(e.attrs.keys());
        }
    }
    names.sort();
    names.dedup();
    let mut attrs = Vec::new();
    for name in names {
        let old = instances(before, name);
        let new = instances(after, name);
        for a in &old {
            let now = new.iter().find(|b| b.dataset_id == a.dataset_id);
            let trigger = match now {
                None => Trigger::AttributeDeleted,
                Some(b) if b != a || c.changed_attrs.contains(name) => Trigger::AttributeUpdated,
                Some(_) => continue,
            };
            attrs.push(Touched {
                name: name.clone(),
                dataset_id: a.dataset_id.clone(),
                trigger,
            });
        }
        for b in new
            .iter()
            .filter(|b| !old.iter().any(|a| a.dataset_id == b.dataset_id))
        {
            attrs.push(Touched {
                name: name.clone(),
                dataset_id: b.dataset_id.clone(),
                trigger: Trigger::AttributeCreated,
            });
        }
    }
    Fired { entity, attrs }
}

fn watches(s: &Subscription, name: &str) -> bool {
    s.watched.is_empty() || s.watched.iter().any(|w| w == name)
}

/// Whether the change concerns the subscription (its triggers and watched attributes).
pub fn concerns(s: &Subscription, f: &Fired) -> bool {
    let entity_level = s.triggers.contains(&f.entity)
        && (s.watched.is_empty() || f.attrs.iter().any(|t| watches(s, &t.name)));
    entity_level
        || f.attrs
            .iter()
            .any(|t| s.triggers.contains(&t.trigger) && watches(s, &t.name))
}

/// An entity rendered for a subscription's notification: its representation, `sysAttrs`
/// (with keyValues too, at entity level), `attributes`, `datasetId`, `pick` and `omit`.
pub fn render(s: &Subscription, e: &Entity) -> Value {
    let mut v = if s.dataset_ids.is_empty() {
        model::render_entity(e, &s.ctx, &render_opts(s))
    } else {
        let mut only = e.clone();
        for list in only.attrs.values_mut() {
            list.retain(|a| {
                let d = a.dataset_id.as_deref().unwrap_or("@none");
                s.dataset_ids.iter().any(|x| x == d)
            });
        }
        only.attrs.retain(|_, l| !l.is_empty());
        model::render_entity(&only, &s.ctx, &render_opts(s))
    };
    if s.sys_attrs && s.format == Format::KeyValues {
        if let Value::Object(m) = &mut v {
            m.insert("createdAt".into(), json!(format_micros(e.created_at)));
            m.insert("modifiedAt".into(), json!(format_micros(e.modified_at)));
        }
    }
    v
}

fn null_instance(a: &Attribute) -> Attribute {
    let value = if a.kind == AttrKind::LanguageProperty {
        json!({"@none": NGSI_LD_NULL})
    } else {
        json!(NGSI_LD_NULL)
    };
    Attribute {
        value,
        observed_at: None,
        unit_code: None,
        lang: None,
        sub: Default::default(),
        ..a.clone()
    }
}

fn is_null_instance(a: &Attribute) -> bool {
    a.value == json!(NGSI_LD_NULL) || a.value == json!({"@none": NGSI_LD_NULL})
}

/// The rendered attribute object of one instance inside a rendered entity.
fn rendered_instance<'a>(
    m: &'a mut Map<String, Value>,
    key: &str,
    dataset_id: Option<&str>,
) -> Option<&'a mut Map<String, Value>> {
    let same = |o: &Map<String, Value>| o.get("datasetId").and_then(Value::as_str) == dataset_id;
    match m.get_mut(key)? {
        Value::Object(o) if same(o) => Some(o),
        Value::Array(list) => list.iter_mut().find_map(|x| match x {
            Value::Object(o) if same(o) => Some(o),
            _ => None,
        }),
        _ => None,
    }
}

/// The entity a change is notified with to `s` (§5.8.6); `None` when the change has no
/// entity to show.
pub fn notified_entity(s: &Subscription, c: &EntityChange, f: &Fired) -> Option<Value> {
    let deleted_entity = c.kind == ChangeKind::Deleted;
    let before = c.before.as_deref();
    let mut shown = if deleted_entity {
        Entity {
            attrs: Default::default(),
            ..before?.clone()
        }
    } else {
        c.after.as_deref()?.clone()
    };
    let show_deleted = |t: &Touched| {
        !deleted_entity
            || s.show_changes
            || (s.triggers.contains(&Trigger::AttributeDeleted) && watches(s, &t.name))
    };
    let deleted: Vec<&Touched> = f
        .attrs
        .iter()
        .filter(|t| t.trigger == Trigger::AttributeDeleted && show_deleted(t))
        .collect();
    for t in &deleted {
        if let Some(a) = before.and_then(|b| b.instance(&t.name, t.dataset_id.as_deref())) {
            shown.put_instance(&t.name, null_instance(a));
        }
    }
    // An attribute deleted as a whole (every instance) is one NGSI-LD Null.
    for list in shown.attrs.values_mut() {
        if list.len() > 1 && list.iter().all(is_null_instance) {
            list.sort_by_key(|a| a.dataset_id.is_some());
            list.truncate(1);
            list[0].dataset_id = None;
        }
    }
    let deleted: Vec<&Touched> = deleted
        .into_iter()
        .filter(|t| {
            t.dataset_id.is_none() || shown.instance(&t.name, t.dataset_id.as_deref()).is_some()
        })
        .collect();
    let mut v = render(s, &shown);
    let Value::Object(m) = &mut v else {
        return Some(v);
    };
    let at = json!(format_micros(c.at));
    if deleted_entity {
        m.insert("deletedAt".into(), at.clone());
    }
    if s.format == Format::KeyValues {
        return Some(v);
    }
    if s.sys_attrs {
        for t in &deleted {
            if let Some(o) = rendered_instance(m, &s.ctx.compact(&t.name), t.dataset_id.as_deref())
            {
                o.insert("deletedAt".into(), at.clone());
            }
        }
    }
    if s.show_changes {
        for t in f.attrs.iter().filter(|t| {
            t.trigger == Trigger::AttributeUpdated
                || (t.trigger == Trigger::AttributeDeleted && show_deleted(t))
        }) {
            let Some(old) = before.and_then(|b| b.instance(&t.name, t.dataset_id.as_deref()))
            else {
                continue;
            };
            if let Some(o) = rendered_instance(m, &s.ctx.compact(&t.name), t.dataset_id.as_deref())
            {
                o.insert(previous_key(old.kind), old.value.clone());
            }
        }
    }
    Some(v)
}

/// `previousValue`, `previousObject`, `previousLanguageMap`, … (§5.2.14 showChanges).
fn previous_key(kind: AttrKind) -> String {
    let k = kind.value_key();
    let mut cs = k.chars();
    match cs.next() {
        Some(first) => format!("previous{}{}", first.to_ascii_uppercase(), cs.as_str()),
        None => "previousValue".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previous_keys_follow_the_value_member() {
        assert_eq!(previous_key(AttrKind::Property), "previousValue");
        assert_eq!(previous_key(AttrKind::Relationship), "previousObject");
        assert_eq!(
            previous_key(AttrKind::LanguageProperty),
            "previousLanguageMap"
        );
        assert_eq!(previous_key(AttrKind::JsonProperty), "previousJson");
        assert_eq!(previous_key(AttrKind::VocabProperty), "previousVocab");
    }
}
