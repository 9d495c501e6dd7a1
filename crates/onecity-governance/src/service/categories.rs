//! Categories (Open311 services with their attribute definitions) and the checks of an
//! event's attributes and attachments against them.

use super::{code_ok, json_text, Gov};
use crate::model::*;
use crate::store;
use crate::timefmt;
use onecity_core::{Error, ErrorCode, Result};
use onecity_iam::Principal;
use onecity_store::Tx;
use serde_json::{json, Map, Value};

impl Gov {
    /// Creates or replaces a category.
    ///
    /// Errors: `invalid_input` (code shape, empty name, attribute problems).
    pub async fn put_service(&self, p: &Principal, tenant: &str, s: &ServiceDef) -> Result<()> {
        self.iam().tenant(p, tenant).await?;
        validate_service(s)?;
        let mut tx = self.iam().db().begin().await?;
        self.put_service_tx(&mut tx, tenant, s).await?;
        self.audit(&mut tx, p, tenant, "governance.service", "service", &s.code)
            .await?;
        tx.commit().await
    }

    /// Creates or replaces a category inside the caller's transaction (no checks, no audit).
    pub(crate) async fn put_service_tx(
        &self,
        tx: &mut Tx,
        tenant: &str,
        s: &ServiceDef,
    ) -> Result<()> {
        let row = store::settings::ServiceRow {
            code: s.code.clone(),
            name: s.name.clone(),
            name_zh: s.name_zh.clone(),
            description: s.description.clone(),
            keywords: s.keywords.clone(),
            grp: s.group.clone(),
            kind: s.kind.clone().unwrap_or_else(|| "realtime".into()),
            deadline_working_days: s.deadline_working_days.map(i64::from),
            attributes: json_text(&s.attributes)?,
        };
        store::settings::replace_service(tx, tenant, &row, self.now()).await?;
        Ok(())
    }

    /// Every category of `tenant`, by code.
    pub async fn services(&self, tenant: &str) -> Result<Vec<ServiceDef>> {
        store::settings::services(self.iam().db(), tenant)
            .await?
            .into_iter()
            .map(service_of)
            .collect()
    }

    /// One category.
    pub async fn service(&self, tenant: &str, code: &str) -> Result<Option<ServiceDef>> {
        store::settings::service(self.iam().db(), tenant, code)
            .await?
            .map(service_of)
            .transpose()
    }
}

/// A stored category as the API shows it.
fn service_of(row: store::settings::ServiceRow) -> Result<ServiceDef> {
    Ok(ServiceDef {
        code: row.code,
        name: row.name,
        name_zh: row.name_zh,
        description: row.description,
        keywords: row.keywords,
        group: row.grp,
        kind: Some(row.kind),
        deadline_working_days: row.deadline_working_days.map(|days| days as u32),
        attributes: serde_json::from_str(&row.attributes).map_err(Error::internal)?,
    })
}

const DATATYPES: [&str; 6] = [
    "string",
    "number",
    "datetime",
    "text",
    "singlevaluelist",
    "multivaluelist",
];

/// Checks a category definition; every problem is listed in `errors`.
fn validate_service(s: &ServiceDef) -> Result<()> {
    let mut errs = Vec::new();
    if !code_ok(&s.code) {
        errs.push("code must be 1..64 letters, digits, '-', '_' or '.'".to_string());
    }
    if s.name.trim().is_empty() || s.name.chars().count() > 200 {
        errs.push("name must be 1..200 characters".into());
    }
    if let Some(k) = &s.kind {
        if !["realtime", "batch", "blackbox"].contains(&k.as_str()) {
            errs.push("kind must be realtime, batch or blackbox".into());
        }
    }
    if s.deadline_working_days.is_some_and(|d| d > 366) {
        errs.push("deadline_working_days must be at most 366".into());
    }
    let mut seen = std::collections::HashSet::new();
    for a in &s.attributes {
        if !code_ok(&a.code) {
            errs.push(format!("attribute code {:?} is not a code", a.code));
        }
        if !seen.insert(a.code.clone()) {
            errs.push(format!("attribute {:?} is listed twice", a.code));
        }
        if !DATATYPES.contains(&a.datatype.as_str()) {
            errs.push(format!(
                "attribute {:?}: datatype must be one of {}",
                a.code,
                DATATYPES.join(", ")
            ));
        }
        let list = a.datatype.ends_with("valuelist");
        if list && a.values.is_empty() {
            errs.push(format!("attribute {:?}: a list needs values", a.code));
        }
        if !list && !a.values.is_empty() {
            errs.push(format!("attribute {:?}: only lists have values", a.code));
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(Error::invalid(errs.join("; ")).with_extra("errors", json!(errs)))
    }
}

/// Checks attribute answers against the service definition; returns them normalised
/// (list answers as arrays of keys).
pub(crate) fn check_attributes(
    svc: &ServiceDef,
    given: &Map<String, Value>,
) -> Result<Map<String, Value>> {
    let mut out = Map::new();
    let mut errs = Vec::new();
    for k in given.keys() {
        if !svc.attributes.iter().any(|a| &a.code == k) {
            errs.push(format!(
                "attribute {k:?} is not defined for service {:?}",
                svc.code
            ));
        }
    }
    for a in &svc.attributes {
        let v = given.get(&a.code);
        let as_list: Vec<String> = match v {
            None | Some(Value::Null) => vec![],
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Number(n)) => vec![n.to_string()],
            Some(Value::Array(xs)) => xs
                .iter()
                .map(|x| match x {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect(),
            Some(other) => vec![other.to_string()],
        };
        let as_list: Vec<String> = as_list.into_iter().filter(|s| !s.is_empty()).collect();
        if as_list.is_empty() {
            if a.required && a.variable {
                errs.push(format!("attribute {:?} is required", a.code));
            }
            continue;
        }
        match a.datatype.as_str() {
            "multivaluelist" | "singlevaluelist" => {
                for x in &as_list {
                    if !a.values.iter().any(|v| &v.key == x) {
                        errs.push(format!(
                            "attribute {:?}: {x:?} is not one of its values",
                            a.code
                        ));
                    }
                }
                if a.datatype == "singlevaluelist" && as_list.len() > 1 {
                    errs.push(format!("attribute {:?} takes one value", a.code));
                }
                if a.datatype == "multivaluelist" {
                    out.insert(a.code.clone(), json!(as_list));
                } else {
                    out.insert(a.code.clone(), json!(as_list[0]));
                }
            }
            dt => {
                if as_list.len() > 1 {
                    errs.push(format!("attribute {:?} takes one value", a.code));
                }
                let x = &as_list[0];
                if dt == "number" && x.parse::<f64>().map(|f| !f.is_finite()).unwrap_or(true) {
                    errs.push(format!("attribute {:?} must be a number", a.code));
                }
                if dt == "datetime" && timefmt::parse_w3c(x).is_none() {
                    errs.push(format!("attribute {:?} must be a date-time", a.code));
                }
                out.insert(a.code.clone(), json!(x));
            }
        }
    }
    if errs.is_empty() {
        Ok(out)
    } else {
        Err(Error::invalid(errs.join("; ")).with_extra("errors", json!(errs)))
    }
}

/// Checks attachments against the tenant's limits (count, bytes, media types).
pub(crate) fn check_attachments(s: &Settings, list: &[AttachmentRef]) -> Result<()> {
    if list.len() > s.max_attachments {
        return Err(Error::invalid(format!(
            "at most {} attachments per event",
            s.max_attachments
        )));
    }
    for a in list {
        if !s.attachment_types.iter().any(|t| t == &a.media_type) {
            return Err(Error::new(
                ErrorCode::UnsupportedMediaType,
                format!(
                    "attachment {:?}: media type {:?} is not accepted (accepted: {})",
                    a.name,
                    a.media_type,
                    s.attachment_types.join(", ")
                ),
            ));
        }
        if a.size_bytes < 0 || a.size_bytes > s.max_attachment_bytes {
            return Err(Error::new(
                ErrorCode::PayloadTooLarge,
                format!(
                    "attachment {:?} has {} bytes; the limit is {}",
                    a.name, a.size_bytes, s.max_attachment_bytes
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc() -> ServiceDef {
        serde_json::from_value(json!({
            "code": "pothole", "name": "Pothole", "attributes": [
              {"code": "size", "datatype": "singlevaluelist", "required": true, "description": "How big?",
               "values": [{"key": "s", "name": "small"}, {"key": "l", "name": "large"}]},
              {"code": "hazards", "datatype": "multivaluelist", "description": "What else?",
               "values": [{"key": "water", "name": "Water"}, {"key": "glass", "name": "Glass"}]},
              {"code": "depth", "datatype": "number", "description": "Depth in cm"}
            ]}))
        .unwrap()
    }

    #[test]
    fn attributes_are_checked_and_normalised() {
        let s = svc();
        validate_service(&s).unwrap();
        let ok = check_attributes(
            &s,
            json!({"size": "l", "hazards": ["water", "glass"], "depth": "12.5"})
                .as_object()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(ok["hazards"], json!(["water", "glass"]));
        let e =
            check_attributes(&s, json!({"hazards": ["fire"]}).as_object().unwrap()).unwrap_err();
        assert!(e.detail.contains("\"size\" is required"), "{}", e.detail);
        assert!(e.detail.contains("\"fire\" is not one of its values"));
        let e = check_attributes(
            &s,
            json!({"size": "s", "depth": "deep"}).as_object().unwrap(),
        )
        .unwrap_err();
        assert!(e.detail.contains("must be a number"));
    }

    #[test]
    fn attachments_over_limits_are_refused() {
        let s = Settings::default();
        let a = |t: &str, n: i64| AttachmentRef {
            name: "x".into(),
            media_type: t.into(),
            size_bytes: n,
            url: "file:x".into(),
        };
        check_attachments(&s, &[a("image/jpeg", 1000)]).unwrap();
        assert_eq!(
            check_attachments(&s, &[a("application/x-msdownload", 10)])
                .unwrap_err()
                .code,
            ErrorCode::UnsupportedMediaType
        );
        assert_eq!(
            check_attachments(&s, &[a("image/png", 11 * 1024 * 1024)])
                .unwrap_err()
                .code,
            ErrorCode::PayloadTooLarge
        );
    }
}
