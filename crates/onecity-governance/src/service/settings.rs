//! Governance settings of a tenant (duplicate radius and window, border distance,
//! attachment limits, display zone) and the zone times are shown in.

use super::{json_text, Gov};
use crate::model::Settings;
use crate::store;
use chrono_tz::Tz;
use onecity_core::{Error, Result};
use onecity_iam::Principal;
use std::collections::HashMap;
use uuid::Uuid;

impl Gov {
    /// Settings of `tenant` (defaults when none were stored).
    pub async fn settings(&self, tenant: &str) -> Result<Settings> {
        match store::settings::settings(self.iam().db(), tenant).await? {
            Some(text) => serde_json::from_str(&text).map_err(Error::internal),
            None => Ok(Settings::default()),
        }
    }

    /// Replaces the settings of `tenant`.
    ///
    /// Errors: `invalid_input` for an unknown zone or out-of-range numbers.
    pub async fn put_settings(&self, p: &Principal, tenant: &str, s: &Settings) -> Result<()> {
        self.iam().tenant(p, tenant).await?;
        if let Some(z) = &s.time_zone {
            z.parse::<Tz>()
                .map_err(|_| Error::invalid(format!("time_zone {z:?} is not an IANA zone")))?;
        }
        let ok = |v: f64, lo: f64, hi: f64| v.is_finite() && v >= lo && v <= hi;
        if !ok(s.duplicate_radius_m, 0.0, 10_000.0)
            || !ok(s.duplicate_window_hours, 0.0, 24.0 * 365.0)
            || !ok(s.border_distance_m, 0.0, 10_000.0)
            || s.max_attachment_bytes < 1
            || s.max_attachments > 50
        {
            return Err(Error::invalid(
                "duplicate_radius_m and border_distance_m must be 0..10000, duplicate_window_hours 0..8760, max_attachment_bytes ≥ 1, max_attachments ≤ 50",
            ));
        }
        let mut tx = self.iam().db().begin().await?;
        store::settings::replace_settings(&mut tx, tenant, &json_text(s)?, self.now()).await?;
        self.audit(&mut tx, p, tenant, "governance.settings", "tenant", tenant)
            .await?;
        tx.commit().await
    }

    /// The zone times of `tenant` are shown in.
    pub async fn zone(&self, tenant: &str) -> Result<Tz> {
        if let Some(z) = self.settings(tenant).await?.time_zone {
            if let Ok(tz) = z.parse() {
                return Ok(tz);
            }
        }
        Ok(self.flow.calendar(tenant).await?.time_zone())
    }

    /// The zone times of an event in `jurisdiction` are shown in: the zone of the calendar
    /// set on the jurisdiction or its nearest ancestor that has one, else the tenant's
    /// zone ([`Gov::zone`]). Times are always stored in UTC (µs).
    pub async fn zone_for(&self, tenant: &str, jurisdiction: Option<Uuid>) -> Result<Tz> {
        if let Some(j) = jurisdiction {
            // A jurisdiction deleted since the event was placed falls back to the tenant.
            if let Ok(Some(cal)) = self.flow.own_calendar_for(tenant, j).await {
                return Ok(cal.time_zone());
            }
        }
        self.zone(tenant).await
    }

    /// The display zone of each event in `tenant`, given the events' jurisdictions in
    /// order, looked up once per distinct jurisdiction.
    pub(crate) async fn zones_of(
        &self,
        tenant: &str,
        jurisdictions: &[Option<Uuid>],
    ) -> Result<Vec<Tz>> {
        let mut seen: HashMap<Option<Uuid>, Tz> = HashMap::new();
        let mut zones = Vec::with_capacity(jurisdictions.len());
        for &jurisdiction in jurisdictions {
            let zone = match seen.get(&jurisdiction) {
                Some(zone) => *zone,
                None => {
                    let zone = self.zone_for(tenant, jurisdiction).await?;
                    seen.insert(jurisdiction, zone);
                    zone
                }
            };
            zones.push(zone);
        }
        Ok(zones)
    }
}
