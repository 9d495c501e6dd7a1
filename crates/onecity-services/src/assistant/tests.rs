use super::eval::{self, shared_content_words};
use super::*;

fn birth_tenant() -> Assistant {
    let a = Assistant::new();
    a.index_items("hangzhou", data::shipped_items().unwrap());
    a
}

#[test]
fn the_newborn_question_finds_the_birth_certificate_guide() {
    let a = birth_tenant();
    let r = a.ask("hangzhou", "怎么给宝宝办出生证明", None).unwrap();
    assert!(r.found, "{r:?}");
    assert_eq!(r.lang, Lang::Zh);
    assert_eq!(r.answers[0].code, "330100-20-WJW-001-000");
    assert_eq!(r.answers[0].title, "出生医学证明首次签发");
    assert!(r.answers[0]
        .link
        .starts_with("/hall/items/330100-20-WJW-001-000#"));
    assert!(r.handoff.is_none());
}

#[test]
fn a_question_about_materials_gets_the_materials_section() {
    let a = birth_tenant();
    let r = a
        .ask("hangzhou", "办出生医学证明要带什么材料", None)
        .unwrap();
    assert_eq!(r.answers[0].code, "330100-20-WJW-001-000");
    assert_eq!(r.answers[0].section, SectionKind::Materials);
    assert_eq!(r.answers[0].section_title, "申请材料");
    assert!(
        r.answers[0].snippet.contains("父母双方居民身份证"),
        "{}",
        r.answers[0].snippet
    );
    assert_eq!(
        r.answers[0].link,
        "/hall/items/330100-20-WJW-001-000#materials"
    );
}

#[test]
fn unanswerable_questions_are_handed_to_12345() {
    let a = birth_tenant();
    for q in ["怎么申请去月球旅游", "what time does the library close"] {
        let r = a.ask("hangzhou", q, None).unwrap();
        assert!(!r.found, "{q}: {r:?}");
        assert!(r.answers.is_empty());
        let h = r.handoff.unwrap();
        assert_eq!(h.hotline, "12345");
        assert!(h.message.contains("12345"));
    }
}

#[test]
fn only_published_guides_of_the_askers_tenant_answer() {
    let a = Assistant::new();
    let mut items = data::shipped_items().unwrap();
    let birth = items
        .iter_mut()
        .find(|i| i.code == "330100-20-WJW-001-000")
        .unwrap();
    birth.published = false;
    a.index_items("hangzhou", items);
    let r = a.ask("hangzhou", "出生医学证明首次签发", None).unwrap();
    assert!(r.answers.iter().all(|x| x.code != "330100-20-WJW-001-000"));
    let hits = a
        .search_items("hangzhou", "出生医学证明首次签发", 50, Lang::Zh)
        .unwrap();
    assert!(hits.iter().all(|x| x.code != "330100-20-WJW-001-000"));
    // Another tenant has indexed nothing: nothing is found there, not hangzhou's guides.
    let r = a.ask("nyc", "出生医学证明", None).unwrap();
    assert!(!r.found);
    assert!(a
        .search_items("nyc", "出生", 10, Lang::Zh)
        .unwrap()
        .is_empty());
    assert_eq!(a.guide_count("nyc"), 0);
}

#[test]
fn english_questions_are_answered_in_english() {
    let a = birth_tenant();
    let r = a
        .ask(
            "hangzhou",
            "how do I apply for the minimum income support",
            None,
        )
        .unwrap();
    assert_eq!(r.lang, Lang::En);
    assert_eq!(r.answers[0].code, "330100-05-MZJ-002-000");
    assert_eq!(r.answers[0].title, "Minimum living allowance (dibao)");
}

#[test]
fn bad_questions_are_refused_with_the_field() {
    let a = birth_tenant();
    for q in ["", "   ", &"问".repeat(MAX_QUESTION_CHARS + 1)] {
        let e = a.ask("hangzhou", q, None).unwrap_err();
        assert_eq!(e.code, onecity_core::ErrorCode::InvalidInput);
    }
    let e = a.search_items("hangzhou", "出生", 0, Lang::Zh).unwrap_err();
    assert_eq!(e.code, onecity_core::ErrorCode::InvalidInput);
}

#[test]
fn the_hall_search_ranks_by_the_same_engine() {
    let a = birth_tenant();
    let hits = a.search_items("hangzhou", "结婚", 5, Lang::Zh).unwrap();
    assert_eq!(hits[0].code, "330100-07-MZJ-001-000");
    assert_eq!(hits[0].link, "/hall/items/330100-07-MZJ-001-000");
    let hits = a.search_items("hangzhou", "上户口", 3, Lang::Zh).unwrap();
    assert!(
        hits.iter().any(|h| h.code == "330100-07-GAJ-001-000"),
        "{hits:?}"
    );
}

#[test]
fn every_question_is_labelled_and_shares_at_most_one_content_word_with_its_title() {
    let items = data::shipped_items().unwrap();
    let questions = eval::questions().unwrap();
    let answerable = questions.iter().filter(|q| !q.is_none()).count();
    let held = questions
        .iter()
        .filter(|q| q.split == "heldout" && !q.is_none())
        .count();
    assert!(answerable >= 150, "{answerable} answerable questions");
    assert_eq!(held, 50);
    assert!(questions
        .iter()
        .any(|q| q.is_none() && q.split == "heldout"));
    let mut too_close = Vec::new();
    for q in &questions {
        assert!(["tune", "heldout"].contains(&q.split.as_str()), "{q:?}");
        assert!(["zh", "en"].contains(&q.lang.as_str()), "{q:?}");
        if q.is_none() {
            continue;
        }
        let item = items
            .iter()
            .find(|i| i.code == q.item)
            .unwrap_or_else(|| panic!("{:?} names no shipped item", q));
        let shared = shared_content_words(&q.q, item);
        if shared.len() > 1 {
            too_close.push(format!("{} / {}: {shared:?}", q.q, item.name_zh));
        }
    }
    assert!(too_close.is_empty(), "{too_close:#?}");
}

#[test]
fn leaving_a_question_out_drops_only_the_phrases_written_from_it() {
    let questions = eval::questions().unwrap();
    let shipped = text::Lexicon::shipped();
    let count = |l: &text::Lexicon| l.synonyms.iter().map(|s| s.ask.len()).sum::<usize>();
    let mut dropped_any = false;
    for q in questions.iter().filter(|q| q.split == "tune") {
        let l = eval::lexicon_without(q, &questions, shipped);
        let gone = count(shipped) - count(&l);
        dropped_any |= gone > 0;
        // Every phrase left out occurs in the question itself.
        for s in &shipped.synonyms {
            for p in &s.ask {
                let kept = l.synonyms.iter().any(|x| x.ask.contains(p));
                assert!(
                    kept || q.q.to_lowercase().contains(&p.to_lowercase()),
                    "{p} dropped for {}",
                    q.q
                );
            }
        }
    }
    assert!(dropped_any, "some tune question has phrases of its own");
}

#[test]
fn the_shared_word_check_counts_bigrams_and_english_words() {
    let items = data::shipped_items().unwrap();
    let birth = items
        .iter()
        .find(|i| i.code == "330100-20-WJW-001-000")
        .unwrap();
    assert_eq!(
        shared_content_words("怎么给宝宝办出生证明", birth),
        vec!["出生", "证明"]
    );
    assert_eq!(
        shared_content_words("the birth certificates of my baby", birth),
        vec!["birth", "certificate"]
    );
    assert!(shared_content_words("孩子刚生下来", birth).is_empty());
}

/// The floors sit below the figures measured when the tuning was fixed (docs/services.md);
/// a change to the lexicon, the weights or the tokens that loses retrieval quality fails
/// here.
#[test]
fn evaluation_figures_stay_above_their_floors() {
    let questions = eval::questions().unwrap();
    let a = eval::assistant(Tuning::default()).unwrap();
    let tune = eval::evaluate(&a, &questions, Some("tune"));
    let held = eval::evaluate(&a, &questions, Some("heldout"));
    let loo = eval::evaluate_leave_one_out(&a, &questions);
    println!("tune {tune:?}\nheld-out {held:?}\ntune leave-one-out {loo:?}");
    assert!(tune.hit3_rate() >= FLOOR_TUNE_HIT3, "{tune:?}");
    assert!(loo.hit3_rate() >= FLOOR_TUNE_LOO_HIT3, "{loo:?}");
    assert!(held.hit1_rate() >= FLOOR_HELDOUT_HIT1, "{held:?}");
    assert!(held.hit3_rate() >= FLOOR_HELDOUT_HIT3, "{held:?}");
    assert!(
        tune.handoff_rate() + held.handoff_rate() >= 2.0 * FLOOR_HANDOFF,
        "{tune:?} {held:?}"
    );
}

// Measured when the fusion was chosen (docs/services.md): tune hit@3 0.97, tune
// leave-one-out hit@3 0.75 (95/126), held-out hit@1 0.60 and hit@3 0.76 (38/50), hand-off
// on no-answer questions 11/12 (tune) and 6/8 (held-out).
const FLOOR_TUNE_HIT3: f64 = 0.9;
const FLOOR_TUNE_LOO_HIT3: f64 = 0.73;
const FLOOR_HELDOUT_HIT1: f64 = 0.5;
const FLOOR_HELDOUT_HIT3: f64 = 0.74;
const FLOOR_HANDOFF: f64 = 0.7;

/// The synonym table is written from the tune split (and the issue's own examples): a
/// phrase that occurs in a held-out question must also occur in a tune question, so the
/// held-out figures are not tuned by the back door.
#[test]
fn the_lexicon_is_not_written_from_held_out_questions() {
    const ISSUE_EXAMPLES: &[&str] = &["生娃", "生孩子", "新生儿", "宝宝", "上户口", "买房"];
    let questions = eval::questions().unwrap();
    let occurs = |phrase: &str, split: &str| {
        let p = phrase.to_lowercase();
        questions
            .iter()
            .any(|q| q.split == split && q.q.to_lowercase().contains(&p))
    };
    let mut leaked = Vec::new();
    for s in &text::Lexicon::shipped().synonyms {
        for phrase in &s.ask {
            if occurs(phrase, "heldout")
                && !occurs(phrase, "tune")
                && !ISSUE_EXAMPLES.contains(&phrase.as_str())
            {
                leaked.push(phrase.clone());
            }
        }
    }
    assert!(
        leaked.is_empty(),
        "held-out phrases in the lexicon: {leaked:?}"
    );
}
