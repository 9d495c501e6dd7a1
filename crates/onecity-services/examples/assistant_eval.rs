//! The assistant's evaluation (issue 14): hit@1 and hit@3 on the tune and held-out
//! questions for the plain BM25 baseline and the shipped ranking, and how the "not found"
//! hand-off fares. Prints the Markdown table of docs/services.md, "Assistant (智能客服)".
//!
//! ```text
//! cargo run -p onecity-services --example assistant_eval            # the table
//! cargo run -p onecity-services --example assistant_eval -- misses  # tune-split misses
//! cargo run -p onecity-services --example assistant_eval -- fusion  # tune-split choice of the fusion
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
    if std::env::args().nth(1).as_deref() == Some("fusion") {
        // Tune split only: plain tune figures and the leave-one-out ones.
        use onecity_services::assistant::{text::AnalyseOptions, Fusion, Tuning};
        let mut configs: Vec<(String, Tuning)> = Vec::new();
        for syn in [1.0f32, 0.7, 0.5] {
            let base = Tuning {
                analyse: AnalyseOptions {
                    synonym_weight: syn,
                    ..AnalyseOptions::default()
                },
                ..Tuning::default()
            };
            configs.push((format!("syn {syn} none"), base.clone()));
            for k in [5.0f32, 20.0, 60.0] {
                for w in [0.5f32, 1.0] {
                    configs.push((
                        format!("syn {syn} rrf k {k} w {w}"),
                        Tuning {
                            fusion: Fusion::Rrf { k, plain_weight: w },
                            ..base.clone()
                        },
                    ));
                }
            }
            for w in [0.25f32, 0.5, 1.0] {
                configs.push((
                    format!("syn {syn} sum w {w}"),
                    Tuning {
                        fusion: Fusion::Sum { plain_weight: w },
                        ..base.clone()
                    },
                ));
            }
        }
        for (name, t) in configs {
            let a = eval::assistant(t)?;
            let s = eval::evaluate(&a, &questions, Some("tune"));
            let l = eval::evaluate_leave_one_out(&a, &questions);
            println!(
                "{name}: tune hit1 {:.3} hit3 {:.3} | leave-one-out hit1 {:.3} hit3 {:.3} | none handed off {}/{} answerable handed off {}",
                s.hit1_rate(), s.hit3_rate(), l.hit1_rate(), l.hit3_rate(), s.handed_off, s.unanswerable, s.wrongly_handed_off
            );
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
    println!("| ranking | tune hit@1 | tune hit@3 | tune leave-one-out hit@1 / hit@3 | held-out hit@1 | held-out hit@3 | hand-off on no-answer questions (tune / held-out) | answerable questions handed off (tune / held-out) |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (name, tuning) in eval::configurations() {
        let a = eval::assistant(tuning)?;
        let tune: Scores = eval::evaluate(&a, &questions, Some("tune"));
        let held: Scores = eval::evaluate(&a, &questions, Some("heldout"));
        let loo: Scores = eval::evaluate_leave_one_out(&a, &questions);
        println!(
            "| {name} | {} | {} | {} / {} | {} | {} | {}/{} / {}/{} | {}/{} / {}/{} |",
            pct(tune.hit1_rate()),
            pct(tune.hit3_rate()),
            pct(loo.hit1_rate()),
            pct(loo.hit3_rate()),
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
