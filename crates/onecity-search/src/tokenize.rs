//! Tokens: runs of CJK ideographs (and kana, hangul) are indexed as single characters and
//! overlapping bigrams (the CJK bigram method of Lucene's `CJKAnalyzer`), so any Chinese
//! word is found without a dictionary (a query `公交线路` must contain the bigrams 公交,
//! 交线, 线路); other words are split on anything not alphanumeric, folded to ASCII lower
//! case (`Århus` → `arhus`).

use std::collections::HashSet;

/// True for the characters indexed as CJK runs: CJK unified ideographs (with extensions A
/// and B–F), compatibility ideographs, hiragana and katakana, hangul syllables.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F | 0x3040..=0x30FF | 0xAC00..=0xD7AF)
}

fn is_combining(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F)
}

/// The index terms of `text`: CJK unigrams and bigrams, folded ASCII words, in text order.
pub fn tokenize(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for_each_token(text, |t| out.push(t.to_string()));
    out
}

/// Calls `f` with every index term of `text` (see [`tokenize`]) without collecting them.
pub fn for_each_token(text: &str, mut f: impl FnMut(&str)) {
    let mut word = String::new();
    let mut cjk: Vec<char> = Vec::new();
    let mut buf = String::new();
    let flush_word = |w: &mut String, f: &mut dyn FnMut(&str)| {
        if !w.is_empty() {
            let folded: String = deunicode::deunicode(w)
                .chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .map(|c| c.to_ascii_lowercase())
                .collect();
            if !folded.is_empty() {
                f(&folded);
            }
            w.clear();
        }
    };
    let mut flush_cjk = |run: &mut Vec<char>, f: &mut dyn FnMut(&str)| {
        for (i, c) in run.iter().enumerate() {
            buf.clear();
            buf.push(*c);
            f(&buf);
            if let Some(n) = run.get(i + 1) {
                buf.push(*n);
                f(&buf);
            }
        }
        run.clear();
    };
    for c in text.chars() {
        if is_cjk(c) {
            flush_word(&mut word, &mut f);
            cjk.push(c);
        } else if c.is_alphanumeric() || is_combining(c) {
            flush_cjk(&mut cjk, &mut f);
            word.push(c);
        } else {
            flush_word(&mut word, &mut f);
            flush_cjk(&mut cjk, &mut f);
        }
    }
    flush_word(&mut word, &mut f);
    flush_cjk(&mut cjk, &mut f);
}

/// The terms a query needs: for a CJK run of one character the character, else its
/// bigrams; folded words otherwise; each term once, in query order.
pub fn query_terms(q: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut run: Vec<char> = Vec::new();
    let mut rest = String::new();
    let flush = |run: &mut Vec<char>, out: &mut Vec<String>| {
        if run.len() == 1 {
            out.push(run[0].to_string());
        } else {
            for w in run.windows(2) {
                out.push(format!("{}{}", w[0], w[1]));
            }
        }
        run.clear();
    };
    for c in q.chars() {
        if is_cjk(c) {
            run.push(c);
            rest.push(' ');
        } else {
            flush(&mut run, &mut out);
            rest.push(c);
        }
    }
    flush(&mut run, &mut out);
    out.extend(tokenize(&rest));
    let mut seen = HashSet::new();
    out.retain(|t| seen.insert(t.clone()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_is_indexed_as_unigrams_and_bigrams() {
        assert_eq!(
            tokenize("公交线路"),
            vec!["公", "公交", "交", "交线", "线", "线路", "路"]
        );
        assert_eq!(query_terms("线路"), vec!["线路"]);
        assert_eq!(query_terms("路"), vec!["路"]);
    }

    #[test]
    fn latin_words_fold_to_ascii() {
        assert_eq!(
            tokenize("Århus Straße-2024"),
            vec!["arhus", "strasse", "2024"]
        );
        assert_eq!(tokenize("A\u{30a}rhus"), vec!["arhus"]);
    }

    #[test]
    fn punctuation_only_separates() {
        assert_eq!(
            query_terms("a:b/c-d+e&f[g]"),
            vec!["a", "b", "c", "d", "e", "f", "g"]
        );
        assert!(query_terms(":/-+&[]").is_empty());
    }

    #[test]
    fn mixed_scripts_split_where_the_script_changes() {
        assert_eq!(
            tokenize("办理ID卡2025年"),
            vec!["办", "办理", "理", "id", "卡", "2025", "年"]
        );
        assert_eq!(
            query_terms("出生证明 birth"),
            vec!["出生", "生证", "证明", "birth"]
        );
    }
}
