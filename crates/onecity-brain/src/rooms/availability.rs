//! The synthetic availability calendar (合成房态日历). The listings file has no booking
//! calendar, only `availability_365` (nights free in the next 365 days) and
//! `minimum_nights`. This module makes a seeded, deterministic calendar consistent with it,
//! and every API answer that uses it says `"calendar": "synthetic"`.
//!
//! The calendar is periodic with a period of 365 days counted from [`ANCHOR_DAY`]
//! (2023-10-05, the day the data was downloaded), so **every** window of 365 consecutive
//! nights holds exactly `availability_365` free nights, whichever day "today" is. Within
//! one period the free nights come in 1–6 runs (a host blocks stretches, not random single
//! nights): the run lengths, the gaps between them and the start are drawn from ChaCha8
//! seeded with [`CALENDAR_SEED`] and the listing id.

use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Days in one period of the calendar.
pub const PERIOD: i64 = 365;
/// Day 0 of the period: 2023-10-05 as days since 1970-01-01.
pub const ANCHOR_DAY: i64 = 19_635;
/// The seed of every listing's calendar (combined with its id).
pub const CALENDAR_SEED: u64 = 20_231_005;

/// Which nights of the period are free (bit `i` = night `ANCHOR_DAY + i` mod 365).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Availability {
    bits: [u64; 6],
}

fn id_seed(listing_id: &str) -> u64 {
    // Ids are decimal u64s; anything else falls back to FNV-1a of its bytes.
    listing_id.parse::<u64>().unwrap_or_else(|_| {
        listing_id.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
    })
}

/// Splits `total` into `parts` positive parts (a random composition).
fn composition(rng: &mut ChaCha8Rng, total: usize, parts: usize) -> Vec<usize> {
    let mut cuts: Vec<usize> = sample(rng, total - 1, parts - 1)
        .into_iter()
        .map(|c| c + 1)
        .collect();
    cuts.sort_unstable();
    let mut out = Vec::with_capacity(parts);
    let mut previous = 0;
    for c in cuts.into_iter().chain(std::iter::once(total)) {
        out.push(c - previous);
        previous = c;
    }
    out
}

impl Availability {
    /// The synthetic calendar of a listing with `availability_365` free nights.
    pub fn synthetic(listing_id: &str, availability_365: u16) -> Availability {
        let free = usize::from(availability_365.min(365));
        let mut a = Availability { bits: [0; 6] };
        if free == 0 {
            return a;
        }
        if free == 365 {
            (0..365).for_each(|i| a.set(i));
            return a;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(CALENDAR_SEED ^ id_seed(listing_id));
        let blocked = 365 - free;
        let runs = rng.gen_range(1..=6usize.min(free).min(blocked));
        let lengths = composition(&mut rng, free, runs);
        let gaps = composition(&mut rng, blocked, runs);
        let mut at = rng.gen_range(0..365usize);
        for (len, gap) in lengths.into_iter().zip(gaps) {
            for _ in 0..len {
                a.set(at % 365);
                at += 1;
            }
            at += gap;
        }
        a
    }

    fn set(&mut self, i: usize) {
        self.bits[i / 64] |= 1 << (i % 64);
    }

    /// Free nights in one period (equals the listing's `availability_365`).
    pub fn count(&self) -> u32 {
        self.bits.iter().map(|b| b.count_ones()).sum()
    }

    /// Whether the night starting on `day` (days since 1970-01-01) is free.
    pub fn is_free(&self, day: i64) -> bool {
        let i = (day - ANCHOR_DAY).rem_euclid(PERIOD) as usize;
        self.bits[i / 64] & (1 << (i % 64)) != 0
    }

    /// Whether `nights` nights from `first` (days since 1970-01-01) are all free.
    pub fn all_free(&self, first: i64, nights: u32) -> bool {
        (first..first + i64::from(nights)).all(|d| self.is_free(d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchor_is_the_download_day() {
        let d = chrono::NaiveDate::from_ymd_opt(2023, 10, 5).unwrap();
        let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        assert_eq!((d - epoch).num_days(), ANCHOR_DAY);
    }

    #[test]
    fn every_window_of_365_nights_holds_availability_365() {
        for (id, avail) in [
            ("10803", 201u16),
            ("503340821600471373", 1),
            ("12936", 0),
            ("42", 365),
            ("7", 364),
            ("99", 90),
        ] {
            let a = Availability::synthetic(id, avail);
            assert_eq!(a.count(), u32::from(avail), "{id}");
            for start in [ANCHOR_DAY - 1000, ANCHOR_DAY, 20_430, 20_431 + 17] {
                let free = (start..start + 365).filter(|d| a.is_free(*d)).count();
                assert_eq!(free, usize::from(avail), "{id} from {start}");
            }
        }
    }

    #[test]
    fn seeded_and_in_runs() {
        let a = Availability::synthetic("10803", 201);
        assert_eq!(a, Availability::synthetic("10803", 201));
        assert_ne!(a, Availability::synthetic("10804", 201));
        let starts = (0..365)
            .filter(|d| a.is_free(ANCHOR_DAY + d) && !a.is_free(ANCHOR_DAY + d - 1))
            .count();
        assert!((1..=6).contains(&starts), "{starts} runs");
        assert!(!Availability::synthetic("1", 0).all_free(ANCHOR_DAY, 1));
    }
}
