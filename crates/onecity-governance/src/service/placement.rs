//! Placement of a point (deepest jurisdiction, community, grid, near a border) through the
//! geo index, and the duplicate search around it.

use super::{haversine_m, Gov};
use crate::model::*;
use crate::store;
use onecity_core::{Error, Result};
use serde_json::json;
use uuid::Uuid;

impl Gov {
    /// Where `(lat, lon)` is in `tenant`: deepest jurisdiction, community, grid, and whether
    /// another area lies within `border_m` (probed at 8 compass points at that distance).
    ///
    /// Errors: `invalid_input` for coordinates out of range, and for a point that no
    /// jurisdiction of the tenant covers (the answer names the point).
    pub fn place(&self, tenant: &str, lat: f64, lon: f64, border_m: f64) -> Result<Placement> {
        if !lat.is_finite()
            || !lon.is_finite()
            || !(-90.0..=90.0).contains(&lat)
            || !(-180.0..=180.0).contains(&lon)
        {
            return Err(Error::invalid(
                "lat must be in [-90, 90] and long in [-180, 180]",
            ));
        }
        let r = self.geo.lookup_unchecked(tenant, lon, lat);
        let Some(deepest) = r.jurisdictions.last() else {
            return Err(Error::invalid(format!(
                "the point lat={lat}, long={lon} lies in no jurisdiction of this city: nothing was recorded"
            ))
            .with_extra("reason", json!("outside_jurisdiction")));
        };
        let mut near = false;
        if border_m > 0.0 {
            let dlat = border_m / 111_320.0;
            let dlon = border_m / (111_320.0 * lat.to_radians().cos().max(0.01));
            let s = std::f64::consts::FRAC_1_SQRT_2;
            for (a, b) in [
                (1.0, 0.0),
                (-1.0, 0.0),
                (0.0, 1.0),
                (0.0, -1.0),
                (s, s),
                (s, -s),
                (-s, s),
                (-s, -s),
            ] {
                let q = self
                    .geo
                    .lookup_unchecked(tenant, lon + b * dlon, lat + a * dlat);
                if q.jurisdictions.last().map(|j| j.id) != Some(deepest.id) {
                    near = true;
                    break;
                }
            }
        }
        Ok(Placement {
            jurisdiction_id: Some(deepest.id),
            jurisdiction_code: Some(deepest.code.clone()),
            jurisdiction_name: Some(deepest.name.clone()),
            community_code: r
                .jurisdictions
                .iter()
                .find(|j| j.level == "community")
                .map(|j| j.code.clone()),
            grid_code: r.grid.as_ref().map(|g| g.code.clone()),
            near_border: near,
        })
    }

    /// Open events of `code` within the duplicate radius and window before `at`.
    pub(crate) async fn duplicates(
        &self,
        tenant: &str,
        code: &str,
        lat: f64,
        lon: f64,
        at: i64,
        s: &Settings,
    ) -> Result<Vec<Uuid>> {
        let window = (s.duplicate_window_hours * 3_600_000_000.0) as i64;
        let dlat = s.duplicate_radius_m / 111_320.0 + 1e-9;
        let dlon = s.duplicate_radius_m / (111_320.0 * lat.to_radians().cos().max(0.01)) + 1e-9;
        let candidates = store::events::open_events_in_box(
            self.iam().db(),
            tenant,
            code,
            (at - window, at),
            (lat - dlat, lat + dlat),
            (lon - dlon, lon + dlon),
        )
        .await?;
        let out = candidates
            .into_iter()
            .filter(|point| haversine_m(lat, lon, point.lat, point.lon) <= s.duplicate_radius_m)
            .map(|point| point.id)
            .collect();
        Ok(out)
    }
}
