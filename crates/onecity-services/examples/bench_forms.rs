//! Form validation speed (issue 14: p99 < 1 ms for the largest demo form).
//!
//! ```text
//! cargo run --release -p onecity-services --example bench_forms -- [iterations]
//! ```
//! default 20000 checks per case. Takes the largest demo form (most questions, counting
//! those in groups: `forms/birth-medical-certificate.json`, 16 questions with two branches),
//! compiles it once (the time is printed; the server caches compiled versions), then times
//! `CompiledForm::check` (the `jsonschema` validator plus our bilingual problem messages)
//! on four answer sets: valid answers with the father's branch taken, the empty answer (11
//! problems), answers with six wrong values (type, range, check digit, pattern, branch),
//! and valid answers checked in Chinese. Prints p50/p99/max per case. It times only the
//! check itself: at submit the server also looks up each named file (one indexed read per
//! file). Nothing here runs in CI.

use onecity_services::forms::{demo_designs, design, CompiledForm, Lang};
use serde_json::{json, Value};
use std::time::Instant;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn main() {
    let iterations: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000);
    let designs = demo_designs().expect("demo forms");
    let largest = designs
        .iter()
        .max_by_key(|d| {
            d.questions
                .iter()
                .map(|q| 1 + q.questions.len())
                .sum::<usize>()
        })
        .expect("a demo form");
    let count: usize = largest
        .questions
        .iter()
        .map(|q| 1 + q.questions.len())
        .sum();
    let schema = design::to_schema(&largest.questions);
    let ui = design::to_ui(&largest.questions);
    let t = Instant::now();
    let compiled = CompiledForm::new(&schema, &ui, Lang::En).expect("compiles");
    println!(
        "form {} ({count} questions, schema {} bytes): compile {:.3} ms",
        largest.key,
        schema.to_string().len(),
        t.elapsed().as_secs_f64() * 1e3
    );
    let file = json!([{"id": "0190c4a0-0000-7000-8000-000000000001", "name": "id.png", "media_type": "image/png", "size": 31337}]);
    let valid = json!({
        "newborn_name": "王小明", "newborn_sex": "male", "birth_date": "2025-03-14",
        "birth_weight": 3350, "birth_place_type": "hospital", "hospital_name": "浙江大学医学院附属妇产科医院",
        "birth_address": {"text": "杭州市上城区学士路1号", "lat": 30.2563, "lon": 120.1696},
        "mother_name": "李四", "mother_id_number": "440308199003070021", "mother_id_scan": file,
        "father_known": "yes", "father_name": "王五", "father_id_number": "11010519491231002X",
        "contact_phone": "13812345678"
    });
    assert!(compiled.check(&valid, Lang::En).is_empty(), "valid answers");
    let mut wrong = valid.clone();
    wrong["birth_weight"] = json!(12.5);
    wrong["newborn_sex"] = json!("unknown");
    wrong["mother_id_number"] = json!("440308199003070026");
    wrong["contact_phone"] = json!("12345");
    wrong["father_known"] = json!("no");
    wrong["birth_address"]["lat"] = json!(300);
    let cases: [(&str, &Value, Lang); 4] = [
        ("valid answers, branch taken", &valid, Lang::En),
        ("empty answers (11 problems)", &json!({}), Lang::En),
        ("six wrong values (8 problems)", &wrong, Lang::En),
        ("valid answers, Chinese", &valid, Lang::Zh),
    ];
    for (name, answers, lang) in cases {
        let problems = compiled.check(answers, lang).len();
        // Warm up.
        for _ in 0..200 {
            std::hint::black_box(compiled.check(answers, lang));
        }
        let mut times = Vec::with_capacity(iterations);
        for _ in 0..iterations {
            let t = Instant::now();
            std::hint::black_box(compiled.check(std::hint::black_box(answers), lang));
            times.push(t.elapsed().as_secs_f64() * 1e6);
        }
        times.sort_by(f64::total_cmp);
        println!(
            "{name:<30} problems {problems:>2}  p50 {:>7.1} µs  p99 {:>7.1} µs  max {:>8.1} µs  ({iterations} checks)",
            percentile(&times, 0.5),
            percentile(&times, 0.99),
            times[times.len() - 1]
        );
    }
}
