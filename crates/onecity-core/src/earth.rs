//! Distances on the Earth: one great-circle function for the whole platform (governance's
//! duplicate radius, the twin's `near` queries, the brain's room finder).
//!
//! Haversine on a sphere of the IUGG mean Earth radius R₁ = 6,371,008.8 m (Moritz, "Geodetic
//! Reference System 1980", Bulletin Géodésique 54, 1980). Against the WGS-84 ellipsoid the
//! error is at most about 0.5 %, far below what city-scale radii need.

/// The IUGG mean Earth radius R₁, in metres.
pub const MEAN_EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Great-circle distance in metres between two WGS-84 points given as decimal degrees
/// (latitude, longitude). Inputs are not range-checked; antipodal points give πR.
pub fn haversine_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (phi1, phi2) = (lat1.to_radians(), lat2.to_radians());
    let d_phi = (lat2 - lat1).to_radians();
    let d_lambda = (lon2 - lon1).to_radians();
    let h = (d_phi / 2.0).sin().powi(2) + phi1.cos() * phi2.cos() * (d_lambda / 2.0).sin().powi(2);
    2.0 * MEAN_EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_square_to_the_empire_state_building() {
        // 40.7580,-73.9855 → 40.7484,-73.9857: about 1.07 km along Broadway/Fifth.
        let d = haversine_m(40.758, -73.9855, 40.7484, -73.9857);
        assert!((d - 1_067.6).abs() < 1.0, "{d}");
    }

    #[test]
    fn one_degree_of_latitude_and_the_antipode() {
        let d = haversine_m(30.0, 120.0, 31.0, 120.0);
        assert!((d - 111_195.1).abs() < 0.5, "{d}");
        let half = haversine_m(0.0, 0.0, 0.0, 180.0);
        assert!((half - std::f64::consts::PI * MEAN_EARTH_RADIUS_M).abs() < 1e-6);
        assert_eq!(haversine_m(45.4305, 12.336, 45.4305, 12.336), 0.0);
    }
}
