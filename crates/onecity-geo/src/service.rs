//! The geography service: import, grids, GeoJSON output and lookup.

use crate::area::{parse_area, to_geojson};
use crate::index::{AreaOf, LookupResult, NamedRef, Node, TenantIndex};
use crate::store;
use geo::{BooleanOps, BoundingRect, CoordsIter, MultiPolygon, Rect, Simplify};
use onecity_core::events::{EventEnvelope, PlatformEvent};
use onecity_core::model::Jurisdiction;
use onecity_core::{validate, Error, ErrorCode, Result};
use onecity_iam::{Iam, NewJurisdiction, Permission, Principal};
use onecity_store::audit::AuditEntry;
use onecity_store::Tx;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use uuid::Uuid;

/// How to read a FeatureCollection of boundaries.
#[derive(Debug, Clone, Deserialize, utoipa::IntoParams, utoipa::ToSchema)]
#[into_params(parameter_in = Query)]
pub struct ImportOptions {
    /// Official code of the parent jurisdiction new nodes go under (default: the root).
    pub parent_code: Option<String>,
    /// Level of new nodes, e.g. `district` (default `district`).
    pub level: Option<String>,
    /// Feature property holding the code (default `code`). A feature whose code equals the
    /// root's code sets the root's boundary.
    pub code_property: Option<String>,
    /// Feature property holding the local name (default `name`).
    pub name_property: Option<String>,
    /// Feature property holding the English name (optional).
    pub name_en_property: Option<String>,
    /// Source note stored with each boundary (e.g. the file name).
    pub source: Option<String>,
}

/// What an import did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    /// Features read.
    pub features: usize,
    /// Jurisdictions created.
    pub created: usize,
    /// Existing jurisdictions whose boundary was set or replaced.
    pub updated: usize,
    /// Vertices stored.
    pub vertices: usize,
}

/// How to read a FeatureCollection of grids.
#[derive(Debug, Clone, Deserialize, utoipa::IntoParams, utoipa::ToSchema)]
#[into_params(parameter_in = Query)]
pub struct GridImportOptions {
    /// Feature property holding the grid code (default `code`).
    pub code_property: Option<String>,
    /// Feature property holding the grid name (default `name`).
    pub name_property: Option<String>,
    /// Feature property holding the code of the grid's jurisdiction (default
    /// `jurisdiction_code`; when absent the grid's interior point is looked up).
    pub jurisdiction_code_property: Option<String>,
}

/// Generated grid settings.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GridSpec {
    /// Cell edge in metres, 100..=50,000.
    pub cell_size_m: f64,
}

/// Max features in one import request.
pub const MAX_IMPORT_FEATURES: usize = 10_000;
/// Max generated cells per jurisdiction.
pub const MAX_GRID_CELLS: usize = 5_000;

/// Most grids one GeoJSON listing returns.
const MAX_GRIDS_LISTED: i64 = 20_000;

type Indexes = Arc<RwLock<HashMap<String, (i64, Arc<TenantIndex>)>>>;

/// The geography service; cheap to clone. Its index is a cache of the database.
#[derive(Clone)]
pub struct Geo {
    iam: Iam,
    index: Indexes,
}

impl axum::extract::FromRef<Geo> for Iam {
    fn from_ref(g: &Geo) -> Iam {
        g.iam.clone()
    }
}

fn prop_text(props: &Value, key: &str) -> Option<String> {
    match props.get(key)? {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The features of a GeoJSON FeatureCollection body, at most [`MAX_IMPORT_FEATURES`].
fn features_of(fc: &Value) -> Result<&Vec<Value>> {
    let features = fc
        .get("features")
        .and_then(Value::as_array)
        .filter(|_| fc.get("type").and_then(Value::as_str) == Some("FeatureCollection"))
        .ok_or_else(|| Error::invalid("body must be a GeoJSON FeatureCollection"))?;
    if features.len() > MAX_IMPORT_FEATURES {
        return Err(Error::invalid(format!(
            "at most {MAX_IMPORT_FEATURES} features per import"
        )));
    }
    Ok(features)
}

/// The all-or-nothing import error: `invalid_geometry` with an `errors` list.
fn feature_errors(errors: Vec<Value>) -> Error {
    Error::new(
        ErrorCode::InvalidGeometry,
        format!(
            "{} problem(s) in the features; nothing was imported",
            errors.len()
        ),
    )
    .with_extra("errors", Value::from(errors))
}

fn bbox_vals(mp: &MultiPolygon<f64>) -> Result<Rect<f64>> {
    mp.bounding_rect()
        .ok_or_else(|| Error::new(ErrorCode::InvalidGeometry, "geometry is empty"))
}

impl Geo {
    /// The service over the identity service's database.
    pub fn new(iam: Iam) -> Geo {
        Geo {
            iam,
            index: Arc::new(RwLock::new(HashMap::new())),
        }
    }

    /// The identity service.
    pub fn iam(&self) -> &Iam {
        &self.iam
    }

    /// Records the audit entry and `geometry_changed` event of a geometry change, bumps the
    /// tenant's geometry version, commits, and reloads the index.
    #[allow(clippy::too_many_arguments)]
    async fn finish_change(
        &self,
        mut tx: Tx,
        tenant: &str,
        actor: &str,
        action: &str,
        resource_type: &str,
        resource_id: &str,
        detail: &str,
        features: usize,
    ) -> Result<()> {
        self.iam
            .record(
                &mut tx,
                &AuditEntry {
                    tenant,
                    actor,
                    action,
                    resource_type,
                    resource_id,
                    detail: Some(detail),
                    ..Default::default()
                },
                Some(EventEnvelope::new(
                    Some(tenant),
                    PlatformEvent::GeometryChanged {
                        features: features as u64,
                    },
                )),
            )
            .await?;
        store::bump_version(&mut tx, tenant).await?;
        tx.commit().await?;
        self.iam.bus().poke();
        self.refresh().await?;
        Ok(())
    }

    /// Reloads the index of every tenant whose geometry version changed since it was
    /// loaded (call periodically: replicas pick up each other's imports this way).
    pub async fn refresh(&self) -> Result<usize> {
        let versions: HashMap<String, i64> = store::versions(self.iam.db())
            .await?
            .into_iter()
            .map(|v| (v.tenant, v.version))
            .collect();
        let mut n = 0;
        for tenant in self.iam.tenant_codes().await? {
            let version = versions.get(&tenant).copied().unwrap_or(0);
            let loaded = self
                .index
                .read()
                .expect("index lock")
                .get(&tenant)
                .map(|(v, _)| *v);
            if loaded != Some(version) {
                self.reload(&tenant, version).await?;
                n += 1;
            }
        }
        Ok(n)
    }

    async fn reload(&self, tenant: &str, version: i64) -> Result<()> {
        let db = self.iam.db();
        let mut nodes = HashMap::new();
        for j in self.iam.all_jurisdictions(tenant).await? {
            let depth = j.path.matches('/').count();
            let path = j.path.clone();
            nodes.insert(
                j.id,
                Node {
                    r: NamedRef {
                        id: j.id,
                        code: j.code,
                        name: j.name,
                        name_en: j.name_en,
                        level: j.level,
                    },
                    parent: j.parent_id,
                    depth,
                    path,
                },
            );
        }
        let mut shapes = Vec::new();
        for b in store::boundaries(db, tenant).await? {
            let v: Value = serde_json::from_str(&b.geojson).map_err(Error::internal)?;
            if let Ok(mp) = parse_area(&v) {
                shapes.push((AreaOf::Jurisdiction(b.jurisdiction_id), mp));
            }
        }
        for g in store::grids(db, tenant, None, i64::MAX).await? {
            let v: Value = serde_json::from_str(&g.geojson).map_err(Error::internal)?;
            if let Ok(mp) = parse_area(&v) {
                shapes.push((
                    AreaOf::Grid(NamedRef {
                        id: g.id,
                        code: g.code,
                        name: g.name,
                        name_en: None,
                        level: "grid".into(),
                    }),
                    mp,
                ));
            }
        }
        let idx = tokio::task::spawn_blocking(move || TenantIndex::build(nodes, shapes))
            .await
            .map_err(Error::internal)?;
        tracing::info!(
            tenant,
            areas = idx.area_count(),
            version,
            "spatial index loaded"
        );
        self.index
            .write()
            .expect("index lock")
            .insert(tenant.to_string(), (version, Arc::new(idx)));
        Ok(())
    }

    fn tenant_index(&self, tenant: &str) -> Option<Arc<TenantIndex>> {
        self.index
            .read()
            .expect("index lock")
            .get(tenant)
            .map(|(_, i)| i.clone())
    }

    /// Where `(lon, lat)` (WGS-84 degrees) is in `tenant`: the jurisdiction chain and grid.
    ///
    /// Errors: `invalid_query` for coordinates out of range; `tenant_not_found`.
    pub async fn lookup(
        &self,
        p: &Principal,
        tenant: &str,
        lon: f64,
        lat: f64,
    ) -> Result<LookupResult> {
        self.iam.tenant(p, tenant).await?;
        if !lon.is_finite()
            || !lat.is_finite()
            || !(-180.0..=180.0).contains(&lon)
            || !(-90.0..=90.0).contains(&lat)
        {
            return Err(Error::new(
                ErrorCode::InvalidQuery,
                "lon must be in [-180, 180] and lat in [-90, 90]",
            ));
        }
        let Some(idx) = self.tenant_index(tenant) else {
            return Ok(LookupResult {
                jurisdictions: vec![],
                grid: None,
            });
        };
        // Only what the caller may read: jurisdictions outside its subtrees are left out,
        // and the grid only when its jurisdiction (the deepest) is visible.
        let mut r = idx.lookup(lon, lat);
        let deepest = r.jurisdictions.last().map(|j| j.id);
        let visible = |id: Uuid| {
            idx.nodes
                .get(&id)
                .is_some_and(|n| p.can_at(Permission::GeoRead, tenant, &n.path))
        };
        r.jurisdictions.retain(|j| visible(j.id));
        if deepest.is_none_or(|d| r.jurisdictions.last().map(|j| j.id) != Some(d)) {
            r.grid = None;
        }
        Ok(r)
    }

    /// Lookup without an access check (benchmarks, other services).
    pub fn lookup_unchecked(&self, tenant: &str, lon: f64, lat: f64) -> LookupResult {
        match self.tenant_index(tenant) {
            Some(i) => i.lookup(lon, lat),
            None => LookupResult {
                jurisdictions: vec![],
                grid: None,
            },
        }
    }

    /// Imports a GeoJSON FeatureCollection of boundaries into `tenant`'s tree: features
    /// whose code names an existing jurisdiction set its boundary; others create a node
    /// under `parent_code`. All or nothing: any invalid feature fails the whole import with
    /// `invalid_geometry` and an `errors` list (`[{feature, problem}]`).
    pub async fn import(
        &self,
        p: &Principal,
        tenant: &str,
        fc: &Value,
        o: &ImportOptions,
    ) -> Result<ImportReport> {
        let t = self.iam.tenant(p, tenant).await?;
        let features = features_of(fc)?;
        let code_p = o.code_property.as_deref().unwrap_or("code");
        let name_p = o.name_property.as_deref().unwrap_or("name");
        let level = o.level.clone().unwrap_or_else(|| "district".into());
        validate::code("level", &level)?;
        let parent = match &o.parent_code {
            Some(c) => self
                .iam
                .jurisdiction_by_code(tenant, c)
                .await?
                .ok_or_else(|| {
                    Error::invalid(format!("parent_code {c:?} names no jurisdiction"))
                })?,
            None => {
                self.iam
                    .jurisdiction_unchecked(tenant, t.root_jurisdiction_id)
                    .await?
            }
        };
        if !p.can_at(Permission::GeoWrite, tenant, &parent.path)
            || !p.can_at(Permission::JurisdictionWrite, tenant, &parent.path)
        {
            return Err(Error::forbidden(
                "importing boundaries here needs geo:write and jurisdiction:write over the parent",
            ));
        }
        let fs = features.clone();
        let (cp, np, nep) = (
            code_p.to_string(),
            name_p.to_string(),
            o.name_en_property.clone(),
        );
        let parsed = tokio::task::spawn_blocking(move || {
            let mut ok = Vec::new();
            let mut errors = Vec::new();
            for (i, f) in fs.iter().enumerate() {
                let props = f.get("properties").cloned().unwrap_or(Value::Null);
                let code = prop_text(&props, &cp);
                let name = prop_text(&props, &np);
                match (code, name, parse_area(f)) {
                    (Some(c), Some(n), Ok(mp)) => ok.push((i, c, n, nep.as_deref().and_then(|k| prop_text(&props, k)), mp)),
                    (c, n, g) => {
                        if c.is_none() {
                            errors.push(json!({"feature": i, "problem": format!("property {cp:?} (code) is missing")}));
                        }
                        if n.is_none() {
                            errors.push(json!({"feature": i, "problem": format!("property {np:?} (name) is missing")}));
                        }
                        if let Err(es) = g {
                            errors.extend(es.into_iter().map(|e| json!({"feature": i, "problem": e})));
                        }
                    }
                }
            }
            (ok, errors)
        })
        .await
        .map_err(Error::internal)?;
        let (ok, mut errors) = parsed;
        // A code twice in one file, or a feature outside its parent's boundary, is refused.
        let mut first: HashMap<&str, usize> = HashMap::new();
        for (i, code, ..) in &ok {
            if let Some(j) = first.insert(code.as_str(), *i) {
                errors.push(json!({"feature": i, "problem": format!("code {code:?} appears more than once in this import (also feature {j})")}));
            }
        }
        let parent_area = store::boundary(self.iam.db(), parent.id)
            .await?
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .and_then(|v| parse_area(&v).ok())
            .and_then(|mp| crate::pip::PreparedArea::new(&mp));
        if let Some(area) = &parent_area {
            for (i, code, _, _, mp) in &ok {
                let inside = geo::InteriorPoint::interior_point(mp)
                    .is_some_and(|pt| area.contains(pt.x(), pt.y()));
                if *code != parent.code && !inside {
                    errors.push(json!({"feature": i, "problem": format!("the feature lies outside its parent {} ({})", parent.name, parent.code)}));
                }
            }
        }
        if !errors.is_empty() {
            return Err(feature_errors(errors));
        }
        let actor = p.actor();
        let mut report = ImportReport {
            features: ok.len(),
            created: 0,
            updated: 0,
            vertices: 0,
        };
        let mut tx = self.iam.db().begin().await?;
        for (i, code, name, name_en, mp) in &ok {
            let existing = self
                .iam
                .jurisdiction_by_code_in(&mut tx, tenant, code)
                .await?;
            let j: Jurisdiction = match existing {
                Some(found) => {
                    if found.id != parent.id && found.parent_id != Some(parent.id) {
                        return Err(Error::conflict(format!(
                            "feature {i}: code {code:?} belongs to jurisdiction {} ({}), which is not a child of {}; nothing was imported",
                            found.name, found.level, parent.code
                        )));
                    }
                    report.updated += 1;
                    Jurisdiction {
                        has_boundary: true,
                        ..found
                    }
                }
                None => {
                    report.created += 1;
                    self.iam
                        .insert_jurisdiction(
                            &mut tx,
                            &actor,
                            &parent,
                            &NewJurisdiction {
                                parent_id: Some(parent.id),
                                level: level.clone(),
                                code: code.clone(),
                                name: name.clone(),
                                name_en: name_en.clone(),
                            },
                        )
                        .await?
                }
            };
            if !p.can_at(Permission::GeoWrite, tenant, &j.path) {
                return Err(Error::forbidden(format!(
                    "you may not change the boundary of {}",
                    j.code
                )));
            }
            report.vertices += mp.coords_count();
            store::replace_boundary(&mut tx, tenant, j.id, mp, o.source.as_deref()).await?;
            self.iam.set_has_boundary(&mut tx, j.id).await?;
        }
        let detail = format!(
            "{} features, {} created, {} updated",
            report.features, report.created, report.updated
        );
        self.finish_change(
            tx,
            tenant,
            &actor,
            "boundary.import",
            "jurisdiction",
            &parent.id.to_string(),
            &detail,
            report.features,
        )
        .await?;
        Ok(report)
    }

    /// Imports surveyed grids (网格) from a GeoJSON FeatureCollection. Each feature needs a
    /// code (`code_property`, default `code`) and a name (`name_property`, default `name`);
    /// it goes under the jurisdiction named by `jurisdiction_code_property` (default
    /// `jurisdiction_code`) or, when absent, the deepest jurisdiction containing an interior
    /// point of the grid. Existing grids with the same code are replaced. All or nothing:
    /// problems give 422 `invalid_geometry` with an `errors` list.
    pub async fn import_grids(
        &self,
        p: &Principal,
        tenant: &str,
        fc: &Value,
        o: &GridImportOptions,
    ) -> Result<ImportReport> {
        self.iam.tenant(p, tenant).await?;
        let features = features_of(fc)?;
        let code_p = o.code_property.clone().unwrap_or_else(|| "code".into());
        let name_p = o.name_property.clone().unwrap_or_else(|| "name".into());
        let jur_p = o
            .jurisdiction_code_property
            .clone()
            .unwrap_or_else(|| "jurisdiction_code".into());
        let mut errors = Vec::new();
        let mut rows = Vec::new();
        for (i, f) in features.iter().enumerate() {
            let props = f.get("properties").cloned().unwrap_or(Value::Null);
            let (code, name) = (prop_text(&props, &code_p), prop_text(&props, &name_p));
            let mp = match parse_area(f) {
                Ok(mp) => mp,
                Err(es) => {
                    errors.extend(es.into_iter().map(|e| json!({"feature": i, "problem": e})));
                    continue;
                }
            };
            let (Some(code), Some(name)) = (code, name) else {
                errors.push(json!({"feature": i, "problem": format!("properties {code_p:?} and {name_p:?} are required")}));
                continue;
            };
            if let Err(e) =
                validate::code("code", &code).and_then(|_| validate::text("name", &name, 200))
            {
                errors.push(json!({"feature": i, "problem": e.detail}));
                continue;
            }
            let j = match prop_text(&props, &jur_p) {
                Some(jc) => self.iam.jurisdiction_by_code(tenant, &jc).await?,
                None => match geo::InteriorPoint::interior_point(&mp) {
                    Some(pt) => match self
                        .lookup_unchecked(tenant, pt.x(), pt.y())
                        .jurisdictions
                        .last()
                    {
                        Some(r) => Some(self.iam.jurisdiction_unchecked(tenant, r.id).await?),
                        None => None,
                    },
                    None => None,
                },
            };
            let Some(j) = j else {
                errors.push(json!({"feature": i, "problem": "no jurisdiction: give its code or place the grid inside an imported boundary"}));
                continue;
            };
            if !p.can_at(Permission::GeoWrite, tenant, &j.path) {
                return Err(Error::forbidden(format!(
                    "you may not add grids to {}",
                    j.code
                )));
            }
            rows.push((code, name, j, mp));
        }
        if !errors.is_empty() {
            return Err(feature_errors(errors));
        }
        let mut report = ImportReport {
            features: rows.len(),
            created: 0,
            updated: 0,
            vertices: 0,
        };
        let now = onecity_core::time::now_micros();
        let mut tx = self.iam.db().begin().await?;
        for (code, name, j, mp) in &rows {
            let replaced = store::delete_grid(&mut tx, tenant, code).await?;
            if replaced > 0 {
                report.updated += 1;
            } else {
                report.created += 1;
            }
            report.vertices += mp.coords_count();
            store::insert_grid(
                &mut tx,
                &store::NewGrid {
                    tenant,
                    jurisdiction_id: j.id,
                    code,
                    name,
                    generated: false,
                    area: mp,
                    now,
                },
            )
            .await?;
        }
        let detail = format!(
            "{} grids, {} created, {} replaced",
            report.features, report.created, report.updated
        );
        self.finish_change(
            tx,
            tenant,
            &p.actor(),
            "grid.import",
            "grid",
            tenant,
            &detail,
            report.features,
        )
        .await?;
        Ok(report)
    }

    /// Replaces the generated grids of a jurisdiction with a square lattice of
    /// `cell_size_m` clipped to its boundary (cells named "… (generated)", `generated`
    /// true). Returns how many cells were made.
    pub async fn generate_grids(
        &self,
        p: &Principal,
        tenant: &str,
        jurisdiction_id: Uuid,
        spec: &GridSpec,
    ) -> Result<usize> {
        self.iam.tenant(p, tenant).await?;
        let j = self.iam.jurisdiction(p, tenant, jurisdiction_id).await?;
        if !p.can_at(Permission::GeoWrite, tenant, &j.path) {
            return Err(Error::forbidden(
                "generating grids needs geo:write over the jurisdiction",
            ));
        }
        if !(100.0..=50_000.0).contains(&spec.cell_size_m) {
            return Err(Error::invalid("cell_size_m must be between 100 and 50000"));
        }
        let text = store::boundary(self.iam.db(), j.id)
            .await?
            .ok_or_else(|| Error::invalid("this jurisdiction has no boundary to clip grids to"))?;
        let v: Value = serde_json::from_str(&text).map_err(Error::internal)?;
        let area = parse_area(&v).map_err(|e| Error::internal(e.join("; ")))?;
        let cell = spec.cell_size_m;
        let cells = tokio::task::spawn_blocking(move || lattice(&area, cell))
            .await
            .map_err(Error::internal)??;
        let mut tx = self.iam.db().begin().await?;
        store::delete_generated_grids(&mut tx, j.id).await?;
        let now = onecity_core::time::now_micros();
        for (i, mp) in cells.iter().enumerate() {
            let code = format!("{}-G{:04}", j.code, i + 1);
            let name = format!("{} 网格 Grid {:04} (generated)", j.name, i + 1);
            store::insert_grid(
                &mut tx,
                &store::NewGrid {
                    tenant,
                    jurisdiction_id: j.id,
                    code: &code,
                    name: &name,
                    generated: true,
                    area: mp,
                    now,
                },
            )
            .await?;
        }
        let detail = format!("{} generated cells of {cell} m", cells.len());
        self.finish_change(
            tx,
            tenant,
            &p.actor(),
            "grid.generate",
            "jurisdiction",
            &j.id.to_string(),
            &detail,
            cells.len(),
        )
        .await?;
        Ok(cells.len())
    }

    /// Boundaries the caller may read as a GeoJSON FeatureCollection (feature `id` and
    /// `properties.id` = jurisdiction id), simplified by `tolerance` degrees
    /// (Ramer–Douglas–Peucker; 0 = as stored).
    pub async fn boundaries_geojson(
        &self,
        p: &Principal,
        tenant: &str,
        level: Option<&str>,
        tolerance: f64,
    ) -> Result<Value> {
        self.iam.tenant(p, tenant).await?;
        let shapes: HashMap<Uuid, String> = store::boundaries(self.iam.db(), tenant)
            .await?
            .into_iter()
            .map(|b| (b.jurisdiction_id, b.geojson))
            .collect();
        let mut features = Vec::new();
        // all_jurisdictions is in path order, as the collection has always been.
        for j in self.iam.all_jurisdictions(tenant).await? {
            let Some(text) = shapes.get(&j.id) else {
                continue;
            };
            if level.is_some_and(|l| j.level != l) {
                continue;
            }
            if !p.can_at(Permission::GeoRead, tenant, &j.path) {
                continue;
            }
            let geom: Value = serde_json::from_str(text).map_err(Error::internal)?;
            let geom = simplify(geom, tolerance);
            let id = j.id.to_string();
            features.push(
                json!({"type": "Feature", "id": id, "geometry": geom, "properties": {
                "id": id, "code": j.code, "name": j.name, "name_en": j.name_en,
                "level": j.level, "parent_id": j.parent_id.map(|u| u.to_string())}}),
            );
        }
        Ok(json!({"type": "FeatureCollection", "features": features}))
    }

    /// Grids the caller may read as a GeoJSON FeatureCollection.
    pub async fn grids_geojson(
        &self,
        p: &Principal,
        tenant: &str,
        jurisdiction_id: Option<Uuid>,
    ) -> Result<Value> {
        self.iam.tenant(p, tenant).await?;
        let paths: HashMap<Uuid, String> = self
            .iam
            .all_jurisdictions(tenant)
            .await?
            .into_iter()
            .map(|j| (j.id, j.path))
            .collect();
        let mut features = Vec::new();
        for g in store::grids(self.iam.db(), tenant, jurisdiction_id, MAX_GRIDS_LISTED).await? {
            let readable = paths
                .get(&g.jurisdiction_id)
                .is_some_and(|path| p.can_at(Permission::GeoRead, tenant, path));
            if !readable {
                continue;
            }
            let geom: Value = serde_json::from_str(&g.geojson).map_err(Error::internal)?;
            let id = g.id.to_string();
            features.push(json!({"type": "Feature", "id": id, "geometry": geom, "properties": {
                "id": id, "code": g.code, "name": g.name, "jurisdiction_id": g.jurisdiction_id.to_string(),
                "generated": g.generated}}));
        }
        Ok(json!({"type": "FeatureCollection", "features": features}))
    }
}

fn simplify(geom: Value, tolerance: f64) -> Value {
    if tolerance <= 0.0 {
        return geom;
    }
    match parse_area(&geom) {
        Ok(mp) => to_geojson(&mp.simplify(&tolerance)),
        Err(_) => geom,
    }
}

/// Square cells of `cell_m` metres over the area's bounding box, clipped to the area.
fn lattice(area: &MultiPolygon<f64>, cell_m: f64) -> Result<Vec<MultiPolygon<f64>>> {
    let b = bbox_vals(area)?;
    let lat0 = (b.min().y + b.max().y) / 2.0;
    let dlat = cell_m / 111_320.0;
    let dlon = cell_m / (111_320.0 * lat0.to_radians().cos().max(0.01));
    let nx = ((b.max().x - b.min().x) / dlon).ceil() as usize;
    let ny = ((b.max().y - b.min().y) / dlat).ceil() as usize;
    if nx.saturating_mul(ny) > MAX_GRID_CELLS * 4 {
        return Err(Error::invalid(format!(
            "cell_size_m {cell_m} makes too many cells ({nx}×{ny}); use a larger cell"
        )));
    }
    let mut out = Vec::new();
    for j in 0..ny {
        for i in 0..nx {
            let x0 = b.min().x + i as f64 * dlon;
            let y0 = b.min().y + j as f64 * dlat;
            let rect = Rect::new((x0, y0), (x0 + dlon, y0 + dlat)).to_polygon();
            let clipped = area.intersection(&MultiPolygon(vec![rect]));
            let keep =
                !clipped.0.is_empty() && geo::Area::unsigned_area(&clipped) > dlon * dlat * 0.02;
            if keep {
                out.push(clipped);
            }
            if out.len() > MAX_GRID_CELLS {
                return Err(Error::invalid(format!(
                    "more than {MAX_GRID_CELLS} cells; use a larger cell_size_m"
                )));
            }
        }
    }
    Ok(out)
}
