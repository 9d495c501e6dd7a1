//! Deadline arithmetic on the compiled-in mainland-China calendar.
//!
//! Run: `cargo bench -p onecity-flow --bench calendar`. Each call steps day by day (never
//! minute by minute), so 13 working days across National Day 2025 costs about 20 day steps.

use chrono::{DateTime, TimeZone, Utc};
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use onecity_flow::calendar::WorkCalendar;

fn bj(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Shanghai
        .with_ymd_and_hms(y, m, d, h, min, 0)
        .single()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

fn bench(c: &mut Criterion) {
    let cal = WorkCalendar::china_mainland();
    let start = bj(2025, 9, 25, 10, 0);
    c.bench_function("add_working_days(13) across National Day 2025", |b| {
        b.iter(|| cal.add_working_days(black_box(start), black_box(13)))
    });
    c.bench_function("add_working_hours(91.0) across National Day 2025", |b| {
        b.iter(|| cal.add_working_hours(black_box(start), black_box(91.0)))
    });
    let end = bj(2026, 12, 31, 18, 0);
    c.bench_function("working_minutes_between over 2025-2026", |b| {
        b.iter(|| cal.working_minutes_between(black_box(bj(2025, 1, 1, 0, 0)), black_box(end)))
    });
    c.bench_function("china_mainland() (cached parse, clone)", |b| {
        b.iter(WorkCalendar::china_mainland)
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
