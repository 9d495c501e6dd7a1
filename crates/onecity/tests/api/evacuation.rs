//! Issue 15, done-when: "a replayed crowd opens a transport work order ahead of the peak".
//! The test week of one busy station is replayed through `onecity brain replay
//! evacuation` into the demo store of a running server; the work orders are read back
//! through the HTTP API and checked against the real flow, read here independently.

use crate::server_with;
use onecity_testkit::{repo_root, Options};
use std::collections::HashMap;

/// Tensor row of the station replayed (one of the busiest: about 1,365 entries in its
/// busiest 10 minutes of the two weeks before): its afternoon and evening crowds on Sunday
/// 2019-01-20 (see the replay in docs/brain.md).
const STATION: usize = 9;

/// The real inflow of `station` by (date `2019-01-DD`, slot), from hangzhou_flow.csv.
fn real_flow(station: usize) -> HashMap<(u32, u32), f64> {
    let path = repo_root().join("../shared/data/metro/hangzhou_flow.csv");
    let text = std::fs::read_to_string(&path).expect("flow csv");
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f.len() == 4 && f[0] == station.to_string()).then(|| {
                (
                    (f[1].parse().unwrap(), f[2].parse().unwrap()),
                    f[3].parse().unwrap(),
                )
            })
        })
        .collect()
}

/// (day of January, slot) of an RFC 3339 time `2019-01-DDTHH:MM:00+08:00`, slot 0 = 06:00.
fn day_slot(t: &str) -> (u32, u32) {
    let day: u32 = t[8..10].parse().unwrap();
    let (h, m): (u32, u32) = (t[11..13].parse().unwrap(), t[14..16].parse().unwrap());
    (day, ((h - 6) * 60 + m) / 10)
}

#[tokio::test]
async fn a_replayed_crowd_opens_a_transport_work_order_ahead_of_its_peak() {
    let s = server_with(Options {
        demo: true,
        ..Default::default()
    })
    .await;
    let station = STATION.to_string();
    let (code, out, err) = s
        .cli(&[
            "brain",
            "replay",
            "evacuation",
            "--data",
            "../shared/data/metro",
            "--station",
            &station,
            "--tenant",
            "hangzhou",
        ])
        .unwrap();
    assert_eq!(code, 0, "{out}\n{err}");
    let opened = out.lines().filter(|l| l.starts_with("opened ")).count();
    assert!(opened >= 1, "no work order opened:\n{out}");

    let t = s.admin_token().await.unwrap();
    let (status, page) = s
        .get(
            "/api/v1/tenants/hangzhou/events?service_code=crowd-evacuation&limit=500",
            &t,
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{page}");
    let events = page["items"].as_array().unwrap();
    assert_eq!(events.len(), opened);

    let flow = real_flow(STATION);
    let mut ahead = 0;
    for e in events {
        // Category, department (杭州市交通运输局, the demo's dispatch rule) and work order.
        assert_eq!(e["service_code"], "crowd-evacuation");
        assert_eq!(e["agency_responsible"], "杭州市交通运输局", "{e}");
        assert!(e["case_id"].is_string(), "no work order: {e}");
        let a = &e["attributes"];
        // The same station id as the twin and the station page use.
        assert_eq!(a["station"], format!("HZ-{STATION}"));
        let lead: f64 = a["lead_minutes"].as_str().unwrap().parse().unwrap();
        assert!((0.0..=50.0).contains(&lead), "{a}");
        assert!(e["description"].as_str().unwrap().contains("提前"));
        // Against the real data: within the hour after the advice, did more passengers come
        // than the station's regular capacity (its busiest slot of the two weeks before),
        // and did that hour's peak come after the advice?
        let made_at = a["made_at"].as_str().unwrap();
        assert!(e["requested_at"].as_str().unwrap().starts_with("2019-01-"));
        let capacity: f64 = a["regular_capacity"].as_str().unwrap().parse().unwrap();
        let (day, slot) = day_slot(made_at);
        let window: Vec<(u32, f64)> = (slot..(slot + 6).min(108))
            .map(|k| (k, flow[&(day, k)]))
            .collect();
        let (peak_slot, peak) =
            window
                .iter()
                .copied()
                .fold((slot, f64::MIN), |b, x| if x.1 > b.1 { x } else { b });
        if peak > capacity && peak_slot > slot {
            ahead += 1;
        }
    }
    assert!(
        ahead >= 1,
        "no work order came before a real crowd's peak:\n{out}"
    );
}
