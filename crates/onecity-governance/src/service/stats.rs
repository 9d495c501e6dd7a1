//! Statistics of a period: totals, by category, department, grid and month (in the
//! tenant's zone), on-time and repeat rates, satisfaction, hot spots.

use super::{haversine_m, Gov};
use crate::model::*;
use crate::store;
use crate::timefmt;
use onecity_core::{time, Error, ErrorCode, Result};
use onecity_iam::Principal;
use std::collections::HashMap;

impl Gov {
    /// Statistics of the events requested in `[from, to)`.
    pub async fn stats(&self, p: &Principal, tenant: &str, q: &StatsQuery) -> Result<Stats> {
        self.iam().tenant(p, tenant).await?;
        let parse = |s: &Option<String>, what: &str| -> Result<Option<i64>> {
            s.as_deref()
                .map(|v| {
                    timefmt::parse_w3c(v).ok_or_else(|| {
                        Error::new(
                            ErrorCode::InvalidQuery,
                            format!("{what} is not an RFC 3339 time"),
                        )
                    })
                })
                .transpose()
        };
        let from = parse(&q.from, "from")?.unwrap_or(i64::MIN / 2);
        let to = parse(&q.to, "to")?.unwrap_or(i64::MAX / 2);
        let radius = q.repeat_radius_m.unwrap_or(100.0);
        let window = (q.repeat_window_days.unwrap_or(30.0) * 86_400_000_000.0) as i64;
        let tz = self.zone(tenant).await?;
        let rows = store::events::stats_rows(self.iam().db(), tenant, to).await?;
        /// One event as the statistics count it.
        struct E {
            code: String,
            dept: String,
            grid: String,
            lat: Option<f64>,
            lon: Option<f64>,
            closed: bool,
            at: i64,
            on_time: Option<bool>,
            rating: Option<i64>,
        }
        let all: Vec<E> = rows
            .into_iter()
            .map(|row| E {
                on_time: match (row.closed_at, row.due_at) {
                    (Some(closed_at), Some(due_at)) => Some(closed_at <= due_at),
                    _ => None,
                },
                code: row.service_code,
                dept: row.department_id.unwrap_or_else(|| "-".into()),
                grid: row.grid_code.unwrap_or_else(|| "-".into()),
                lat: row.lat,
                lon: row.lon,
                closed: row.status == "closed",
                at: row.requested_at,
                rating: row.rating,
            })
            .collect();
        // Repeats: an earlier event (also before the period) of the same category nearby.
        let mut by_code: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut repeat = vec![false; all.len()];
        for (i, e) in all.iter().enumerate() {
            let earlier = by_code.entry(e.code.as_str()).or_default();
            if let (Some(la), Some(lo)) = (e.lat, e.lon) {
                repeat[i] = earlier.iter().rev().any(|&j| {
                    let o = &all[j];
                    e.at - o.at <= window
                        && o.lat
                            .zip(o.lon)
                            .is_some_and(|(a, b)| haversine_m(la, lo, a, b) <= radius)
                });
            }
            earlier.push(i);
        }
        let in_period: Vec<usize> = (0..all.len()).filter(|&i| all[i].at >= from).collect();
        let row = |key: String, idx: &[usize]| -> StatRow {
            let n = idx.len() as i64;
            let closed = idx.iter().filter(|&&i| all[i].closed).count() as i64;
            let timed: Vec<bool> = idx.iter().filter_map(|&i| all[i].on_time).collect();
            let ratings: Vec<i64> = idx.iter().filter_map(|&i| all[i].rating).collect();
            StatRow {
                key,
                events: n,
                closed,
                on_time_rate: (!timed.is_empty())
                    .then(|| timed.iter().filter(|b| **b).count() as f64 / timed.len() as f64),
                satisfaction: (!ratings.is_empty())
                    .then(|| ratings.iter().sum::<i64>() as f64 / ratings.len() as f64),
                repeat_rate: if n == 0 {
                    0.0
                } else {
                    idx.iter().filter(|&&i| repeat[i]).count() as f64 / n as f64
                },
            }
        };
        let group = |f: &dyn Fn(&E) -> String| -> Vec<StatRow> {
            let mut g: std::collections::BTreeMap<String, Vec<usize>> = Default::default();
            for &i in &in_period {
                g.entry(f(&all[i])).or_default().push(i);
            }
            g.into_iter().map(|(k, v)| row(k, &v)).collect()
        };
        let by_grid = group(&|e| e.grid.clone());
        let mut hot: Vec<StatRow> = by_grid.iter().filter(|r| r.key != "-").cloned().collect();
        hot.sort_by(|a, b| b.events.cmp(&a.events).then(a.key.cmp(&b.key)));
        hot.truncate(20);
        Ok(Stats {
            total: row("all".into(), &in_period),
            by_category: group(&|e| e.code.clone()),
            by_department: group(&|e| e.dept.clone()),
            by_grid,
            by_month: group(&|e| {
                time::to_datetime(e.at)
                    .with_timezone(&tz)
                    .format("%Y-%m")
                    .to_string()
            }),
            hot_spots: hot,
        })
    }
}
