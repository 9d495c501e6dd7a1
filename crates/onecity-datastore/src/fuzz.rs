//! Seeded property tests (a fixed budget of generated inputs, the same every run) over the
//! file loader: whatever bytes arrive, it answers Ok or a catalogue error, never panics,
//! and never invents replacement characters (issue 12: "input truth").

use crate::load::{parse, Format};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

fn config() -> Config {
    Config {
        cases: 512,
        rng_seed: RngSeed::Fixed(20_261_207),
        failure_persistence: None,
        ..Config::default()
    }
}

/// U+FFFD encoded in UTF-8: present in the output only when the input had it.
const REPLACEMENT: [u8; 3] = [0xEF, 0xBF, 0xBD];

fn has_replacement(bytes: &[u8]) -> bool {
    bytes.windows(3).any(|w| w == REPLACEMENT)
}

proptest! {
    #![proptest_config(config())]

    /// Arbitrary bytes: CSV parsing ends in Ok or `invalid_input`/`payload_too_large`, and a
    /// decoded table holds U+FFFD only if the file did.
    #[test]
    fn csv_of_arbitrary_bytes_is_parsed_or_refused(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        match parse(&bytes, Format::Csv) {
            Ok((table, _)) => {
                let invented = table.headers.iter().any(|h| h.contains('\u{FFFD}'))
                    || table.rows.iter().flatten().flatten().any(|c| c.contains('\u{FFFD}'));
                prop_assert!(!invented || has_replacement(&bytes), "replacement characters invented");
            }
            Err(e) => prop_assert!(e.code.status() < 500, "{e}"),
        }
    }

    /// CSV-shaped text with quotes, separators, BOMs and GBK bytes mixed in.
    #[test]
    fn csv_like_text_never_panics(
        rows in proptest::collection::vec(
            proptest::collection::vec("[a-z0-9\",;\t\r 区县人口\u{feff}]{0,12}", 1..6), 0..20),
        gbk_tail in proptest::collection::vec(0x81u8..0xFE, 0..4),
    ) {
        let mut text = rows.iter().map(|r| r.join(",")).collect::<Vec<_>>().join("\n").into_bytes();
        text.extend_from_slice(&gbk_tail);
        if let Err(e) = parse(&text, Format::Csv) {
            prop_assert!(e.code.status() < 500, "{e}");
        }
        if let Err(e) = parse(&text, Format::Json) {
            prop_assert!(e.code.status() < 500, "{e}");
        }
    }
}
