//! Runs the metro evaluation without the `onecity` binary (same code as
//! `onecity brain evaluate metro`):
//! `cargo run --release -p onecity-brain --example evaluate_metro -- ../shared/data/metro`.

use std::process::ExitCode;
use std::time::Instant;

use onecity_brain::{evaluate, load_hangzhou, EvalConfig, Method};

fn main() -> ExitCode {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "../shared/data/metro".into());
    let start = Instant::now();
    let mut data = match load_hangzhou(std::path::Path::new(&dir)) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let loaded = start.elapsed();
    // BRAIN_VALIDATE=1: the same protocol one week earlier (days 1-18 only, forecast
    // 2019-01-12 … 01-18), for choosing settings without looking at the test week.
    if std::env::var("BRAIN_VALIDATE").is_ok() {
        match data.flow.first_days(18) {
            Some(f) => data.flow = f,
            None => return ExitCode::FAILURE,
        }
    }
    // BRAIN_BANDS=n: time-of-day bands of the ridge model (experiments; default 1).
    let mut cfg = EvalConfig::default();
    if let Some(bands) = std::env::var("BRAIN_BANDS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        cfg.ridge.slot_bands = bands;
    }
    // BRAIN_SCENARIO=rm40|nm40: transdim's missing-data masks on the input (as
    // `onecity brain evaluate metro --scenario`).
    let mask = match std::env::var("BRAIN_SCENARIO").as_deref() {
        Ok("rm40") => Some(onecity_brain::missing::RM40),
        Ok("nm40") => Some(onecity_brain::missing::NM40),
        _ => None,
    }
    .map(|text| onecity_brain::missing::parse_mask(text, data.flow.shape(), "mask"));
    let result = match mask {
        None => evaluate(&data, &cfg, &Method::ALL),
        Some(Ok(m)) => onecity_brain::missing::evaluate_masked(&data, &m, &cfg, &Method::ALL),
        Some(Err(e)) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match result {
        Ok(scores) => {
            for s in scores {
                println!("{s}");
            }
            eprintln!(
                "load {:.2} s, total {:.2} s",
                loaded.as_secs_f64(),
                start.elapsed().as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
