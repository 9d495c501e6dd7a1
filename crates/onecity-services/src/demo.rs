//! The demo service hall: the Hangzhou item catalog of `crates/onecity-services/items/`
//! (51 items of 14 departments, compiled into the binary) loaded into the `hangzhou`
//! tenant, with the departments it names that the tenant lacks created through `Iam`.
//! Loading is idempotent: an item whose content is unchanged is left alone, a changed one
//! gets a new published version ([`Hall::put_published`]).

use crate::item::{ItemBody, PutOutcome, Text};
use crate::Hall;
use onecity_core::{Error, Result};
use onecity_iam::{NewDepartment, Principal};
use serde::Deserialize;

/// The catalog data files, by file name (one per owner department).
pub const CATALOG_FILES: &[(&str, &str)] = &[
    ("HZ-CL.json", include_str!("../items/HZ-CL.json")),
    ("HZ-FGJ.json", include_str!("../items/HZ-FGJ.json")),
    ("HZ-GAJ.json", include_str!("../items/HZ-GAJ.json")),
    ("HZ-GHZY.json", include_str!("../items/HZ-GHZY.json")),
    ("HZ-GJJ.json", include_str!("../items/HZ-GJJ.json")),
    ("HZ-JKZX.json", include_str!("../items/HZ-JKZX.json")),
    ("HZ-JSW.json", include_str!("../items/HZ-JSW.json")),
    ("HZ-JYJ.json", include_str!("../items/HZ-JYJ.json")),
    ("HZ-MZJ.json", include_str!("../items/HZ-MZJ.json")),
    ("HZ-RSJ.json", include_str!("../items/HZ-RSJ.json")),
    ("HZ-SCJGJ.json", include_str!("../items/HZ-SCJGJ.json")),
    ("HZ-SWJ.json", include_str!("../items/HZ-SWJ.json")),
    ("HZ-WJW.json", include_str!("../items/HZ-WJW.json")),
    ("HZ-YBJ.json", include_str!("../items/HZ-YBJ.json")),
];

/// The tenant the demo catalog belongs to.
pub const DEMO_TENANT: &str = "hangzhou";

/// One data file: a department and its items.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogFile {
    /// The owner department.
    pub department: FileDepartment,
    /// Its items, without `department_code` (the file gives it once).
    pub items: Vec<serde_json::Value>,
}

/// The department of a data file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileDepartment {
    /// Department code (`HZ-WJW`).
    pub code: String,
    /// Name.
    pub name: Text,
}

/// Reads one data file into its department and item bodies (each item gets the file's
/// department code). Errors: `invalid_input` naming the file, item and every problem.
pub fn read_file(name: &str, text: &str) -> Result<(FileDepartment, Vec<ItemBody>)> {
    let file: CatalogFile = serde_json::from_str(text)
        .map_err(|e| Error::invalid(format!("catalog file {name}: {e}")))?;
    let mut bodies = Vec::with_capacity(file.items.len());
    for (i, mut item) in file.items.into_iter().enumerate() {
        if let Some(o) = item.as_object_mut() {
            o.insert(
                "department_code".into(),
                serde_json::Value::String(file.department.code.clone()),
            );
        }
        let body = crate::item::validate::parse_body(&item).map_err(|problems| {
            let list: Vec<String> = problems
                .iter()
                .map(|p| format!("{} {}", p.pointer, p.message))
                .collect();
            Error::invalid(format!(
                "catalog file {name}, item {i}: {}",
                list.join("; ")
            ))
        })?;
        bodies.push(body);
    }
    Ok((file.department, bodies))
}

/// Every department and item of the demo catalog.
pub fn catalog() -> Result<Vec<(FileDepartment, Vec<ItemBody>)>> {
    CATALOG_FILES
        .iter()
        .map(|(name, text)| read_file(name, text))
        .collect()
}

/// What [`install`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct InstallReport {
    /// Departments created.
    pub departments_created: usize,
    /// Items created.
    pub created: usize,
    /// Items given a new version.
    pub updated: usize,
    /// Items published without a content change.
    pub published: usize,
    /// Items left as they were.
    pub unchanged: usize,
}

/// Loads the demo catalog into [`DEMO_TENANT`] (skipped when the tenant does not exist):
/// creates the departments it names that the tenant lacks (at the tenant's root
/// jurisdiction) and puts every item as its published content.
pub async fn install(hall: &Hall) -> Result<InstallReport> {
    let mut report = InstallReport::default();
    let Ok(tenant) = hall.iam.tenant_unchecked(DEMO_TENANT).await else {
        return Ok(report);
    };
    let system = Principal::system();
    for (dept, bodies) in catalog()? {
        if hall
            .iam
            .department_by_code(DEMO_TENANT, &dept.code)
            .await?
            .is_none()
        {
            hall.iam
                .create_department(
                    &system,
                    DEMO_TENANT,
                    &NewDepartment {
                        jurisdiction_id: tenant.root_jurisdiction_id,
                        code: dept.code.clone(),
                        name: dept.name.zh.clone(),
                        name_en: Some(dept.name.en.clone()),
                    },
                )
                .await?;
            report.departments_created += 1;
        }
        for body in &bodies {
            match hall.put_published(&system, DEMO_TENANT, body).await? {
                PutOutcome::Created => report.created += 1,
                PutOutcome::Updated => report.updated += 1,
                PutOutcome::Published => report.published += 1,
                PutOutcome::Unchanged => report.unchanged += 1,
            }
        }
    }
    tracing::info!(
        tenant = DEMO_TENANT,
        departments_created = report.departments_created,
        created = report.created,
        updated = report.updated,
        unchanged = report.unchanged,
        "demo service items loaded"
    );
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::validate::{is_article_zh, is_law_title_zh};
    use std::collections::HashSet;

    #[test]
    fn every_data_file_is_compiled_in() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("items");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".json"))
            .collect();
        on_disk.sort();
        let compiled: Vec<String> = CATALOG_FILES.iter().map(|(n, _)| n.to_string()).collect();
        assert_eq!(on_disk, compiled);
    }

    #[test]
    fn catalog_reads_with_40_items_of_8_departments_and_unique_codes() {
        let cat = catalog().unwrap();
        let items: Vec<&ItemBody> = cat.iter().flat_map(|(_, b)| b).collect();
        assert!(cat.len() >= 8, "{} departments", cat.len());
        assert!(items.len() >= 40, "{} items", items.len());
        let codes: HashSet<&str> = items.iter().map(|b| b.code.as_str()).collect();
        assert_eq!(codes.len(), items.len(), "duplicate item codes");
        for b in &items {
            assert!(
                b.legal_basis
                    .iter()
                    .any(|l| is_law_title_zh(&l.law.zh) && is_article_zh(&l.article.zh)),
                "{} names no law and article",
                b.code
            );
            assert!(b.code.starts_with("330100-"), "{}", b.code);
        }
    }
}
