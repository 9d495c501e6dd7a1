//! The assistant's evaluation (issue 14): hit@1 and hit@3 on the tune and held-out
//! questions for the plain BM25 baseline and the shipped ranking, and how the "not found"
//! hand-off fares. Prints the Markdown table of docs/services.md, "Assistant (智能客服)".
//!
//! ```text
//! cargo run -p onecity-services --example assistant_eval            # the table
//! cargo run -p onecity-services --example assistant_eval -- misses  # tune-split misses
//! ```
//! The misses are printed for the tune split only: the held-out questions are never looked
//! at one by one while tuning.

use onecity_services::assistant::eval::{self, Scores};

fn pct(x: f64) -> String {
    format!("{:.2}", x)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let questions = eval::questions()?;
    if std::env::args().nth(1).as_deref() == Some("grid") {
        // Tune split only.
        use onecity_services::assistant::Tuning;
        for share in [0.1f32, 0.25, 0.5] {
            for min in [0.05f32, 0.1, 0.15, 0.2, 0.25] {
                let t = Tuning {
                    min_confidence: min,
                    unknown_term_share: share,
                    ..Tuning::default()
                };
                let a = eval::assistant(t)?;
                let s = eval::evaluate(&a, &questions, Some("tune"));
                println!(
                    "share {share} min {min}: hit1 {:.3} hit3 {:.3} none handed off {}/{} answerable handed off {}",
                    s.hit1_rate(), s.hit3_rate(), s.handed_off, s.unanswerable, s.wrongly_handed_off
                );
            }
        }
        return Ok(());
    }
    if std::env::args().nth(1).as_deref() == Some("misses") {
        let a = eval::assistant(onecity_services::assistant::Tuning::default())?;
        for q in questions.iter().filter(|q| q.split == "tune") {
            let ranked = a.rank(eval::EVAL_TENANT, &q.q);
            let reply = a.ask(eval::EVAL_TENANT, &q.q, None)?;
            let top: Vec<String> = ranked
                .hits
                .iter()
                .take(3)
                .map(|(i, s)| format!("{} {:.2}", i.name_zh, s))
                .collect();
            let pos = ranked.hits.iter().position(|(i, _)| i.code == q.item);
            let ok = if q.is_none() {
                !reply.found
            } else {
                pos.is_some_and(|p| p < 1) && reply.found
            };
            if q.is_none() {
                println!("NONE {} | top {:?} conf {:.2}", q.q, top, ranked.confidence);
            } else if !ok {
                let terms: Vec<&str> = ranked
                    .analysed
                    .terms
                    .iter()
                    .map(|t| t.term.as_str())
                    .collect();
                println!(
                    "MISS {} | want {} at {:?} | conf {:.2} found {} | {:?} | terms {:?}",
                    q.q, q.item, pos, ranked.confidence, reply.found, top, terms
                );
            }
        }
        return Ok(());
    }
    let n = |split: &str, none: bool| {
        questions
            .iter()
            .filter(|q| q.split == split && q.is_none() == none)
            .count()
    };
    println!(
        "Questions: tune {} (+{} without answer), held-out {} (+{} without answer); {} items.\n",
        n("tune", false),
        n("tune", true),
        n("heldout", false),
        n("heldout", true),
        onecity_services::assistant::data::shipped_items()?.len()
    );
    println!("| ranking | tune hit@1 | tune hit@3 | held-out hit@1 | held-out hit@3 | hand-off on no-answer questions (tune / held-out) | answerable questions handed off (tune / held-out) |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (name, tuning) in eval::configurations() {
        let a = eval::assistant(tuning)?;
        let tune: Scores = eval::evaluate(&a, &questions, Some("tune"));
        let held: Scores = eval::evaluate(&a, &questions, Some("heldout"));
        println!(
            "| {name} | {} | {} | {} | {} | {}/{} / {}/{} | {}/{} / {}/{} |",
            pct(tune.hit1_rate()),
            pct(tune.hit3_rate()),
            pct(held.hit1_rate()),
            pct(held.hit3_rate()),
            tune.handed_off,
            tune.unanswerable,
            held.handed_off,
            held.unanswerable,
            tune.wrongly_handed_off,
            tune.answerable,
            held.wrongly_handed_off,
            held.answerable,
        );
    }
    Ok(())
}
