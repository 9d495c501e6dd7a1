//! The city brain's commands beyond the evaluation: the missing-data scenarios of
//! `onecity brain evaluate metro` and `onecity brain replay evacuation`.

use crate::cli::StoreArgs;
use clap::{Subcommand, ValueEnum};
use onecity_brain::evacuation::rfc3339;
use onecity_brain::missing::{parse_mask, Mask, NM40, RM40};
use onecity_brain::replay::{replay as run_replay, Outcome, ReplayConfig};
use onecity_brain::FlowShape;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// A published missing-data scenario (transdim, numpy seed 1000).
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Scenario {
    /// 40 % of the cells masked at random (RM).
    Rm40,
    /// 40 % of whole station-days masked (NM).
    Nm40,
}

/// The mask of `--scenario` or `--mask FILE`, if any.
pub fn mask(scenario: Option<Scenario>, file: Option<&Path>) -> anyhow::Result<Option<Mask>> {
    let shape = FlowShape::HANGZHOU;
    Ok(match (scenario, file) {
        (Some(Scenario::Rm40), _) => Some(parse_mask(RM40, shape, "rm40 (built in)")?),
        (Some(Scenario::Nm40), _) => Some(parse_mask(NM40, shape, "nm40 (built in)")?),
        (None, Some(f)) => {
            let text = std::fs::read_to_string(f)
                .map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", f.display()))?;
            Some(parse_mask(&text, shape, &f.display().to_string())?)
        }
        (None, None) => None,
    })
}

/// `onecity brain replay …`.
#[derive(Subcommand)]
pub enum ReplayCmd {
    /// Crowd-evacuation advice on the Hangzhou test week (2019-01-19 … 01-25): at every
    /// slot, from a forecast made only from earlier data. Prints one `alarm` line per work
    /// order it would have opened (hit or fired for nothing, minutes before the real peak)
    /// and a `summary` line. With `--tenant`, opens those work orders in that tenant
    /// through governance (category `crowd-evacuation`, dated at the advice time).
    Evacuation {
        /// Directory holding hangzhou_flow.csv and hangzhou_graph.csv.
        #[arg(long, default_value = "../shared/data/metro")]
        data: PathBuf,
        /// Only these stations (tensor rows 0–79; repeat the flag); all by default.
        #[arg(long)]
        station: Vec<usize>,
        /// Open the alarms' work orders in this tenant (its store: --data-dir or
        /// --database-url).
        #[arg(long)]
        tenant: Option<String>,
        /// Least excess over the regular capacity (passengers per 10 minutes) that triggers.
        #[arg(long)]
        trigger: Option<f64>,
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// Runs `onecity brain replay evacuation`.
pub async fn replay(cmd: ReplayCmd) -> anyhow::Result<ExitCode> {
    let ReplayCmd::Evacuation {
        data,
        station,
        tenant,
        trigger,
        store,
    } = cmd;
    let started = std::time::Instant::now();
    let metro = onecity_brain::load_hangzhou(&data)?;
    let mut cfg = ReplayConfig::default();
    if let Some(t) = trigger {
        if !(t.is_finite() && t > 0.0) {
            anyhow::bail!("--trigger must be a positive number of passengers, found {t}");
        }
        cfg.params.trigger_excess = t;
    }
    let report = run_replay(&metro, &cfg, &station)?;
    let mut out = std::io::stdout().lock();
    for a in &report.alarms {
        let n = |i: usize| a.advice.modes.get(i).map_or(0, |m| m.extra_vehicles);
        write!(
            out,
            "alarm station={} made_at={} for_time={} demand={:.0} capacity={:.0} excess={:.0} metro={} bus={} taxi={} ",
            a.station,
            a.advice.made_at,
            a.advice.for_time,
            a.advice.demand,
            a.advice.assumptions.regular_capacity,
            a.advice.assumptions.excess,
            n(0),
            n(1),
            n(2),
        )?;
        match (a.outcome, a.peak, a.minutes_before_peak) {
            (Outcome::Hit, Some((_, at)), Some(m)) => writeln!(
                out,
                "outcome=hit peak_at={} minutes_before_peak={m}",
                rfc3339(at)
            )?,
            _ => writeln!(out, "outcome=false_alarm")?,
        }
    }
    let hits = report.hits();
    let ahead = report
        .alarms
        .iter()
        .filter(|a| a.minutes_before_peak.is_some_and(|m| m > 0))
        .count();
    let warned = report.warned_crowds();
    writeln!(
        out,
        "summary triggered_station_slots={} alarms={} hits={} hits_before_peak={} false_alarms={} false_alarm_rate={:.3} crowds={} crowds_warned_ahead={} median_minutes_before_peak={}",
        report.triggered_slots,
        report.alarms.len(),
        hits,
        ahead,
        report.alarms.len() - hits,
        report.false_alarm_rate(),
        report.crowds.len(),
        warned,
        report
            .median_warning_minutes()
            .map_or("-".to_string(), |m| format!("{m:.0}")),
    )?;
    out.flush()?;
    drop(out);
    eprintln!("replayed in {:.2} s", started.elapsed().as_secs_f64());
    if let Some(tenant) = tenant {
        let (_, svc) = crate::cli::open(&store).await?;
        let mut opened = 0;
        for a in &report.alarms {
            let address = format!(
                "杭州地铁 HZ-{row} 站 · Hangzhou metro station HZ-{row} (tensor row {row})",
                row = a.station
            );
            let event =
                onecity_brain::workorder::open_work_order(&svc.gov, &tenant, &a.advice, &address)
                    .await?;
            println!(
                "opened event={} station={} made_at={} agency={}",
                event.service_request_id,
                a.station,
                a.advice.made_at,
                event.agency_responsible.as_deref().unwrap_or("-")
            );
            opened += 1;
        }
        eprintln!("opened {opened} work orders in tenant {tenant}");
    }
    Ok(ExitCode::SUCCESS)
}
