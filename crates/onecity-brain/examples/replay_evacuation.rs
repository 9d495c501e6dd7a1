//! Replays the evacuation advice without the `onecity` binary (the same code as
//! `onecity brain replay evacuation`, summary only):
//! `cargo run -p onecity-brain --example replay_evacuation -- ../shared/data/metro [trigger]`.
//! `BRAIN_VALIDATE=1` replays the week before the test week (days 1–18 only), for choosing
//! settings without looking at the test week.

use std::process::ExitCode;

use onecity_brain::evacuation::DemandLevel;
use onecity_brain::load_hangzhou;
use onecity_brain::replay::{replay, ReplayConfig};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let dir = args.next().unwrap_or_else(|| "../shared/data/metro".into());
    let mut data = match load_hangzhou(std::path::Path::new(&dir)) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    if std::env::var("BRAIN_VALIDATE").is_ok() {
        match data.flow.first_days(18) {
            Some(f) => data.flow = f,
            None => return ExitCode::FAILURE,
        }
    }
    let mut cfg = ReplayConfig::default();
    if let Some(t) = args.next().and_then(|v| v.parse().ok()) {
        cfg.params.trigger_excess = t;
    }
    // BRAIN_DEMAND=point|q90|q975: the forecast value taken as demand (default q90).
    match std::env::var("BRAIN_DEMAND").as_deref() {
        Ok("point") => cfg.params.demand = DemandLevel::Point,
        Ok("q975") => cfg.params.demand = DemandLevel::Q975,
        _ => {}
    }
    let start = std::time::Instant::now();
    let report = match replay(&data, &cfg, &[]) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    for a in &report.alarms {
        println!(
            "alarm station={} made_at={} for_time={} demand={:.0} capacity={:.0} {:?} before_peak={:?}",
            a.station,
            a.advice.made_at,
            a.advice.for_time,
            a.advice.demand,
            a.advice.assumptions.regular_capacity,
            a.outcome,
            a.minutes_before_peak
        );
    }
    let hits = report.hits();
    let warned = report.warned_crowds();
    println!(
        "demand={:?} trigger={} triggered_slots={} alarms={} hits={} false_alarm_rate={:.3} crowds={} warned_ahead={} median_minutes={:?} ({:.2} s)",
        cfg.params.demand,
        cfg.params.trigger_excess,
        report.triggered_slots,
        report.alarms.len(),
        hits,
        report.false_alarm_rate(),
        report.crowds.len(),
        warned,
        report.median_warning_minutes(),
        start.elapsed().as_secs_f64()
    );
    ExitCode::SUCCESS
}
