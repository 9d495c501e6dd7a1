//! The demo's lodging: the listings inside the City of Melbourne boundary, for the demo
//! tenant `melbourne` (called by the binary's demo loader).

use super::listing::Boundary;
use super::service::{import_lodging, ImportReport};
use onecity_twin::Twin;
use std::path::Path;

/// The listings file under the shared data folder.
pub const LISTINGS: &str = "lodging/melbourne_airbnb_listings_clean.csv";
/// The municipal boundary under the shared data folder.
pub const BOUNDARY: &str = "geo/melbourne_municipal_boundary.geojson";

/// Reads a boundary GeoJSON file (a FeatureCollection's first feature, a Feature or a
/// geometry).
pub fn boundary_file(path: &Path) -> Result<Boundary, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: not JSON: {e}", path.display()))?;
    Boundary::from_geojson(&v).map_err(|e| format!("{}: {e}", path.display()))
}

/// Imports the 7,279 listings inside the City of Melbourne boundary into `tenant`'s twin
/// from the shared data folder `dir`.
pub async fn install_melbourne(
    twin: &Twin,
    tenant: &str,
    dir: &Path,
) -> Result<ImportReport, String> {
    let boundary = boundary_file(&dir.join(BOUNDARY))?;
    let file = dir.join(LISTINGS);
    let text = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    import_lodging(twin, tenant, &text, Some(&boundary))
        .await
        .map_err(|e| format!("{}: {e}", file.display()))
}
