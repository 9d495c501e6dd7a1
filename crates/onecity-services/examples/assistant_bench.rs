//! Guide search and assistant answers over 1,000 items (issue 14, BENCHMARKS.md "issue 14:
//! search and assistant"). The 1,000 items are generated for the benchmark only, by
//! varying the shipped ones: each copy gets a district of Hangzhou in its name (e.g.
//! 出生医学证明首次签发（西湖区）), its own code and department, so the index holds 1,000
//! distinct guides with real text. The questions are the evaluation's (all splits), asked
//! round-robin; the hall search uses the same texts as `q`.
//!
//! ```text
//! cargo run --release -p onecity-services --example assistant_bench -- [items] [rounds]
//! ```
//! defaults: 1000 items, 20 rounds over the questions. Prints the index build time and
//! p50 / p99 / max per operation. Nothing here runs in CI.

use onecity_services::assistant::{data, eval, Assistant, GuideItem, Lang};
use std::time::Instant;

const DISTRICTS: &[(&str, &str)] = &[
    ("上城区", "Shangcheng"),
    ("拱墅区", "Gongshu"),
    ("西湖区", "Xihu"),
    ("滨江区", "Binjiang"),
    ("萧山区", "Xiaoshan"),
    ("余杭区", "Yuhang"),
    ("临平区", "Linping"),
    ("钱塘区", "Qiantang"),
    ("富阳区", "Fuyang"),
    ("临安区", "Lin'an"),
    ("桐庐县", "Tonglu"),
    ("淳安县", "Chun'an"),
    ("建德市", "Jiande"),
    ("西湖风景名胜区", "West Lake Scenic Area"),
    ("杭州高新区", "Hangzhou Hi-tech Zone"),
    ("钱塘新区", "Qiantang New Area"),
    ("大江东", "Dajiangdong"),
    ("之江", "Zhijiang"),
    ("良渚", "Liangzhu"),
    ("未来科技城", "Future Sci-Tech City"),
];

fn generate(real: &[GuideItem], n: usize) -> Vec<GuideItem> {
    (0..n)
        .map(|i| {
            let base = &real[i % real.len()];
            let (zh, en) = DISTRICTS[(i / real.len()) % DISTRICTS.len()];
            let mut item = base.clone();
            item.code = format!("{}-{i:04}", base.code);
            item.name_zh = format!("{}（{zh}）", base.name_zh);
            item.name_en = format!("{} ({en})", base.name_en);
            item.department_zh = format!("{zh}{}", base.department_zh.trim_start_matches("杭州市"));
            item.department_en = format!("{en} {}", base.department_en);
            item
        })
        .collect()
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(1000);
    let rounds: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(20);
    let real = data::shipped_items()?;
    let items = generate(&real, n);
    let questions = eval::questions()?;
    let assistant = Assistant::new();
    let started = Instant::now();
    let indexed = assistant.index_items("bench", items);
    println!(
        "index: {indexed} guides built in {:.1} ms",
        started.elapsed().as_secs_f64() * 1000.0
    );
    let mut ask_ms = Vec::new();
    let mut search_ms = Vec::new();
    let mut found = 0usize;
    for _ in 0..rounds {
        for q in &questions {
            let t0 = Instant::now();
            let r = assistant.ask("bench", &q.q, None)?;
            ask_ms.push(t0.elapsed().as_secs_f64() * 1000.0);
            found += usize::from(r.found);
            let t0 = Instant::now();
            let hits = assistant.search_items("bench", &q.q, 20, Lang::Zh)?;
            search_ms.push(t0.elapsed().as_secs_f64() * 1000.0);
            std::hint::black_box(hits);
        }
    }
    for (name, v) in [
        ("assistant answer (ask)", &mut ask_ms),
        ("guide search (search_items, limit 20)", &mut search_ms),
    ] {
        let max = v.iter().cloned().fold(0.0, f64::max);
        println!(
            "{name}: {} calls, p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
            v.len(),
            pct(v, 0.5),
            pct(v, 0.99),
            max
        );
    }
    println!("answered (found) {found} of {}", ask_ms.len());
    Ok(())
}
