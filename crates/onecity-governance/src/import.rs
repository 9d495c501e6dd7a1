//! Import of historical 311 requests in the NYC Open Data "311 Service Requests" CSV
//! layout (41 columns; local times `MM/DD/YYYY hh:mm:ss AM` in the city's zone, no offset).
//!
//! Each row becomes an event of source `nyc311` keyed by `Unique Key` (re-importing a row
//! keeps one event; a changed row updates it). Rows with coordinates are placed through the
//! geo index; rows without are placed by their `Borough` column on the jurisdiction of that
//! name; `Unspecified` rows stay unplaced. An update (`Resolution Action Updated Date`,
//! else `Closed Date`) earlier than the request is clamped to the request time and counted,
//! not dropped. Complaint types become categories (code = the type slugged). ZIP codes are
//! cleaned by [`clean_zip`].

use crate::model::ServiceDef;
use crate::service::{log, Limits};
use crate::store;
use crate::timefmt::{local_to_utc, LocalFix};
use crate::Gov;
use chrono::NaiveDateTime;
use onecity_core::{Error, Result};
use onecity_iam::Principal;
use onecity_store::audit::AuditEntry;
use serde::Serialize;
use serde_json::json;
use std::collections::{HashMap, HashSet};

/// The `source` of imported NYC 311 events (their `external_id` is the `Unique Key`).
const SOURCE: &str = "nyc311";

/// What an import did.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    /// Data rows read.
    pub rows: usize,
    /// New events.
    pub inserted: usize,
    /// Existing events whose row changed.
    pub updated: usize,
    /// Rows identical to what is stored.
    pub unchanged: usize,
    /// Rows refused (see `errors`).
    pub rejected: usize,
    /// Updates earlier than their request, clamped to the request time.
    pub clamped: usize,
    /// Placed by their coordinates.
    pub placed_by_point: usize,
    /// Placed by their borough column.
    pub placed_by_area_name: usize,
    /// Not placed (no coordinates and no known area).
    pub unplaced: usize,
    /// ZIP codes that were not valid 5-digit codes (stored as null).
    pub invalid_zip: usize,
    /// Local times in a summer-time gap or repeat (resolved, see `timefmt`).
    pub dst_adjusted: usize,
    /// Categories created.
    pub services_created: usize,
    /// The first 100 problems: `{row, error}` (row 1 = the first data row).
    pub errors: Vec<serde_json::Value>,
}

/// A 5-digit US ZIP code from a dirty cell: ZIP+4 (`11549-3650`) gives its first five
/// digits; `N/A`, `NA`, `NO CLUE`, `00000`, `000000`, other lengths and letters give `None`.
pub fn clean_zip(s: &str) -> Option<String> {
    let s = s.trim();
    let head = s.split('-').next().unwrap_or("");
    if head.len() == 5 && head.bytes().all(|b| b.is_ascii_digit()) && head != "00000" {
        Some(head.to_string())
    } else {
        None
    }
}

/// A category code from a complaint type: lower case, runs of other characters as `-`.
pub fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.trim().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let t = out.trim_matches('-').to_string();
    t.chars().take(64).collect()
}

fn parse_local(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    NaiveDateTime::parse_from_str(s, "%m/%d/%Y %I:%M:%S %p")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f"))
        .ok()
}

impl Gov {
    /// Imports a NYC 311 CSV into `tenant` (all rows in one transaction; a row that cannot
    /// be read is reported and skipped, the rest are kept).
    ///
    /// Errors: `invalid_input` when the header lacks `Unique Key`, `Created Date` or
    /// `Complaint Type`, or the body is larger than [`Limits::IMPORT_BYTES`].
    pub async fn import_nyc311(
        &self,
        p: &Principal,
        tenant: &str,
        csv_bytes: &[u8],
    ) -> Result<ImportReport> {
        self.iam().tenant(p, tenant).await?;
        if csv_bytes.len() > Limits::IMPORT_BYTES {
            return Err(Error::invalid(format!(
                "at most {} bytes per import",
                Limits::IMPORT_BYTES
            )));
        }
        let body = csv_bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(csv_bytes);
        let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(body);
        let headers = rdr
            .headers()
            .map_err(|e| Error::invalid(format!("the CSV header cannot be read: {e}")))?
            .clone();
        let col = |name: &str| headers.iter().position(|h| h.trim() == name);
        let (Some(c_key), Some(c_created), Some(c_type)) = (
            col("Unique Key"),
            col("Created Date"),
            col("Complaint Type"),
        ) else {
            return Err(Error::invalid(
                "the CSV needs the NYC 311 columns Unique Key, Created Date and Complaint Type",
            ));
        };
        let get = |rec: &csv::StringRecord, name: &str| -> Option<String> {
            col(name)
                .and_then(|i| rec.get(i))
                .map(str::trim)
                .filter(|v| !v.is_empty() && *v != "N/A" && *v != "Unspecified")
                .map(str::to_string)
        };
        let tz = self.zone(tenant).await?;
        let settings = self.settings(tenant).await?;
        // Areas by upper-case name, departments by code.
        let areas: HashMap<String, (uuid::Uuid, String, String)> = self
            .iam()
            .all_jurisdictions(tenant)
            .await?
            .into_iter()
            .flat_map(|j| {
                let v = (j.id, j.code.clone(), j.name.clone());
                let mut keys = vec![j.name.to_uppercase()];
                if let Some(en) = &j.name_en {
                    keys.push(en.to_uppercase());
                }
                keys.into_iter().map(move |k| (k, v.clone()))
            })
            .collect();
        let existing_services: HashSet<String> = self
            .services(tenant)
            .await?
            .into_iter()
            .map(|s| s.code)
            .collect();
        let existing: HashMap<String, i64> =
            store::events::imported_versions(self.iam().db(), tenant, SOURCE)
                .await?
                .into_iter()
                .collect();
        let mut rep = ImportReport::default();
        let mut new_services: HashMap<String, ServiceDef> = HashMap::new();
        let mut depts: HashMap<String, Option<uuid::Uuid>> = HashMap::new();
        let mut seen = HashSet::new();
        let now = onecity_core::time::now_micros();
        let mut tx = self.iam().db().begin().await?;
        for (i, rec) in rdr.records().enumerate() {
            let row_no = i + 1;
            rep.rows += 1;
            let reject = |rep: &mut ImportReport, msg: String| {
                rep.rejected += 1;
                if rep.errors.len() < 100 {
                    rep.errors.push(json!({"row": row_no, "error": msg}));
                }
            };
            let rec = match rec {
                Ok(r) => r,
                Err(e) => {
                    reject(&mut rep, format!("unreadable row: {e}"));
                    continue;
                }
            };
            let key = rec.get(c_key).unwrap_or("").trim().to_string();
            if key.is_empty() {
                reject(&mut rep, "Unique Key is empty".into());
                continue;
            }
            if !seen.insert(key.clone()) {
                rep.unchanged += 1;
                continue;
            }
            let Some(created_local) = rec.get(c_created).and_then(parse_local) else {
                reject(
                    &mut rep,
                    format!(
                        "Created Date {:?} is not MM/DD/YYYY hh:mm:ss AM",
                        rec.get(c_created).unwrap_or("")
                    ),
                );
                continue;
            };
            let ctype = rec.get(c_type).unwrap_or("").trim().to_string();
            let code = slug(&ctype);
            if code.is_empty() {
                reject(&mut rep, "Complaint Type is empty".into());
                continue;
            }
            let fix = |t: NaiveDateTime, rep: &mut ImportReport| {
                let (m, f) = local_to_utc(t, tz);
                if f != LocalFix::Exact {
                    rep.dst_adjusted += 1;
                }
                m
            };
            let requested = fix(created_local, &mut rep);
            let closed = get(&rec, "Closed Date")
                .and_then(|s| parse_local(&s))
                .map(|t| fix(t, &mut rep));
            let touched = get(&rec, "Resolution Action Updated Date")
                .and_then(|s| parse_local(&s))
                .map(|t| fix(t, &mut rep));
            let mut updated = touched.or(closed).unwrap_or(requested);
            if updated < requested {
                updated = requested;
                rep.clamped += 1;
            }
            let closed = closed.map(|c| c.max(requested));
            let due = get(&rec, "Due Date")
                .and_then(|s| parse_local(&s))
                .map(|t| fix(t, &mut rep));
            let status = if get(&rec, "Status").as_deref() == Some("Closed") {
                "closed"
            } else {
                "open"
            };
            let lat = get(&rec, "Latitude").and_then(|s| s.parse::<f64>().ok());
            let lon = get(&rec, "Longitude").and_then(|s| s.parse::<f64>().ok());
            let mut place = None;
            if let (Some(la), Some(lo)) = (lat, lon) {
                if let Ok(pl) = self.place(tenant, la, lo, settings.border_distance_m) {
                    rep.placed_by_point += 1;
                    place = Some(pl);
                }
            }
            if place.is_none() {
                if let Some((id, code, name)) =
                    get(&rec, "Borough").and_then(|b| areas.get(&b.to_uppercase()))
                {
                    rep.placed_by_area_name += 1;
                    place = Some(crate::model::Placement {
                        jurisdiction_id: Some(*id),
                        jurisdiction_code: Some(code.clone()),
                        jurisdiction_name: Some(name.clone()),
                        ..Default::default()
                    });
                } else {
                    rep.unplaced += 1;
                }
            }
            let place = place.unwrap_or_default();
            let raw_zip = get(&rec, "Incident Zip");
            let zip = raw_zip.as_deref().and_then(clean_zip);
            if raw_zip.is_some() && zip.is_none() {
                rep.invalid_zip += 1;
            }
            let agency_code = get(&rec, "Agency");
            let dept = match &agency_code {
                Some(a) => match depts.get(a) {
                    Some(d) => *d,
                    None => {
                        let d = self
                            .iam()
                            .department_by_code(tenant, &format!("NYC-{a}"))
                            .await?
                            .map(|d| d.id);
                        depts.insert(a.clone(), d);
                        d
                    }
                },
                None => None,
            };
            if !existing_services.contains(&code) && !new_services.contains_key(&code) {
                new_services.insert(
                    code.clone(),
                    ServiceDef {
                        code: code.clone(),
                        name: ctype.clone(),
                        name_zh: None,
                        description: Some(format!("NYC 311 complaint type \"{ctype}\"")),
                        keywords: None,
                        group: agency_code.clone(),
                        kind: Some("realtime".into()),
                        deadline_working_days: None,
                        attributes: vec![],
                    },
                );
            }
            let address = get(&rec, "Incident Address").or_else(|| {
                match (
                    get(&rec, "Intersection Street 1"),
                    get(&rec, "Intersection Street 2"),
                ) {
                    (Some(a), Some(b)) => Some(format!("{a} & {b}")),
                    _ => None,
                }
            });
            match existing.get(&key) {
                Some(u) if *u == updated => {
                    rep.unchanged += 1;
                    continue;
                }
                Some(_) => {
                    let resolution = get(&rec, "Resolution Description");
                    let change = store::events::ImportedStatus {
                        status,
                        status_notes: resolution.as_deref(),
                        updated_at: updated,
                        closed_at: closed,
                    };
                    store::events::update_imported(&mut tx, tenant, SOURCE, &key, &change).await?;
                    rep.updated += 1;
                }
                None => {
                    let id = onecity_core::new_id();
                    let event = store::events::EventRow {
                        id,
                        tenant: tenant.into(),
                        request_id: key.clone(),
                        token: uuid::Uuid::new_v4().to_string(),
                        source: SOURCE.into(),
                        external_id: Some(key.clone()),
                        service_code: code.clone(),
                        description: get(&rec, "Descriptor"),
                        status: status.into(),
                        status_notes: get(&rec, "Resolution Description"),
                        lat,
                        lon,
                        address,
                        address_id: None,
                        zipcode: zip,
                        jurisdiction_id: place.jurisdiction_id,
                        jurisdiction_code: place.jurisdiction_code.clone(),
                        jurisdiction_name: place.jurisdiction_name.clone(),
                        community_code: place.community_code.clone(),
                        grid_code: place.grid_code.clone(),
                        near_border: place.near_border,
                        attributes: "{}".into(),
                        media_url: None,
                        attachments: "[]".into(),
                        agency: get(&rec, "Agency Name"),
                        department_id: dept,
                        co_departments: "[]".into(),
                        case_id: None,
                        duplicate_of: None,
                        merged_into: None,
                        contact: None,
                        requested_at: requested,
                        updated_at: updated,
                        due_at: due,
                        closed_at: closed,
                        rating: None,
                        rating_comment: None,
                        created_at: now,
                    };
                    store::events::insert_event(&mut tx, &event).await?;
                    log(
                        &mut tx,
                        id,
                        now,
                        &p.actor(),
                        "import",
                        Some(json!({"source": "nyc311", "key": key})),
                    )
                    .await?;
                    rep.inserted += 1;
                }
            }
        }
        let mut codes: Vec<_> = new_services.into_values().collect();
        codes.sort_by(|a, b| a.code.cmp(&b.code));
        for s in &codes {
            self.put_service_tx(&mut tx, tenant, s).await?;
        }
        rep.services_created = codes.len();
        let detail = serde_json::to_string(
            &json!({"inserted": rep.inserted, "updated": rep.updated, "clamped": rep.clamped}),
        )
        .unwrap_or_default();
        self.iam()
            .record(
                &mut tx,
                &AuditEntry {
                    tenant,
                    actor: &p.actor(),
                    action: "governance.import",
                    resource_type: "events",
                    resource_id: "nyc311",
                    detail: Some(&detail),
                    ..Default::default()
                },
                None,
            )
            .await?;
        tx.commit().await?;
        Ok(rep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zip_codes_are_cleaned() {
        assert_eq!(clean_zip("11549-3650").as_deref(), Some("11549"));
        assert_eq!(clean_zip(" 10027 ").as_deref(), Some("10027"));
        for bad in [
            "N/A", "NA", "NO CLUE", "000000", "00000", "1002", "1002A", "",
        ] {
            assert_eq!(clean_zip(bad), None, "{bad}");
        }
    }

    /// The real dirty sample (98,814 rows, 250 distinct raw values).
    #[test]
    fn the_dirty_zip_sample_cleans_to_245_codes() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/data/requests311/311_zip_dirty_sample.csv"
        );
        let text = std::fs::read_to_string(path).expect("the shared data folder is present");
        let rows: Vec<&str> = text.lines().skip(1).collect();
        assert_eq!(rows.len(), 98_814);
        let cleaned: Vec<Option<String>> = rows.iter().map(|r| clean_zip(r)).collect();
        assert_eq!(cleaned.iter().filter(|c| c.is_none()).count(), 10);
        let distinct: HashSet<&String> = cleaned.iter().flatten().collect();
        assert_eq!(distinct.len(), 245);
        assert!(
            distinct.contains(&"77092".to_string()),
            "ZIP+4 kept as its ZIP"
        );
    }

    #[test]
    fn slugs() {
        assert_eq!(
            slug("DOF Property - Payment Issue"),
            "dof-property-payment-issue"
        );
        assert_eq!(slug("Noise - Street/Sidewalk"), "noise-street-sidewalk");
    }
}
