//! A synthetic register (合成人口与法人库) for demos and benchmarks: deterministic persons
//! with 居民身份证号码 whose check digits are valid (GB 11643-1999), and companies with
//! 统一社会信用代码 whose check characters are valid (GB 32100-2015, with the embedded
//! organisation code checked per GB 11714-1997), each company's legal representative drawn
//! from the persons. Every record carries `synthetic = true`: nobody here exists.
//!
//! The same `(seed, rows, places)` give the same records on every machine and version: the
//! generator is ChaCha8 (`rand_chacha`, whose stream is fixed by its specification), not
//! `StdRng` (whose algorithm may change between `rand` releases).
//!
//! Persons are grouped into households (户): each person has a household number (户号)
//! shared by its members, a role in it (head 户主, spouse 配偶, child 子女) and the
//! household's registered address (户籍地址, the head's address). Households are formed
//! after the persons are made, from a random stream of their own, so adding them changed
//! no earlier column: the same seed gives the same persons as before, field for field,
//! with the household columns added at the end.
//!
//! Loading the records into datastore tables is the catalog's job
//! (`onecity_catalog::demo::synthetic_register`); this module only makes them.

use crate::idnum;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

/// Where synthetic people live: a jurisdiction of the tenant.
#[derive(Debug, Clone)]
pub struct Place {
    /// The jurisdiction's code; when it is a 6-digit administrative division code (GB/T
    /// 2260, e.g. `330106`) it becomes the first six digits of the identity numbers of the
    /// people born there.
    pub code: String,
    /// Its name (e.g. `西湖区`).
    pub name: String,
}

/// The region code used when no place has a 6-digit GB/T 2260 code (杭州市上城区).
pub const DEFAULT_REGION: &str = "330102";

/// Most records one call makes (persons or companies): 5 million.
pub const MAX_ROWS: usize = 5_000_000;

/// One synthetic person.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Person {
    /// 18-character identity number with a valid check digit.
    pub id_number: String,
    /// Chinese name (surname + one or two given characters).
    pub name: String,
    /// `M` or `F` (the 17th digit's parity, per GB 11643).
    pub sex: &'static str,
    /// Birth date `YYYY-MM-DD` (1940–2007).
    pub birth_date: String,
    /// Mobile number (`1` + 10 digits; the `199 0000` prefix is never assigned to a subscriber
    /// in these records' generator, so they cannot reach a real phone: every number starts
    /// `19900`).
    pub phone: String,
    /// The jurisdiction code of the address.
    pub jurisdiction: String,
    /// Street address inside that jurisdiction.
    pub address: String,
    /// Always true.
    pub synthetic: bool,
    /// Household number (户号): 6-digit region code of the household's jurisdiction and an
    /// 8-digit sequence, shared by every member.
    pub household_id: String,
    /// Role in the household: `head` (户主), `spouse` (配偶) or `child` (子女).
    pub household_role: &'static str,
    /// The household's registered address (户籍地址): the head's `address`.
    pub household_address: String,
}

/// One synthetic company (法人).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Company {
    /// 18-character unified social credit code with a valid check character.
    pub credit_code: String,
    /// Registered name.
    pub name: String,
    /// Legal representative's name.
    pub legal_representative: String,
    /// Legal representative's identity number (a [`Person`] of the same register).
    pub legal_representative_id: String,
    /// The jurisdiction code of the registered address.
    pub jurisdiction: String,
    /// Registered address.
    pub address: String,
    /// Registration date `YYYY-MM-DD` (1995–2025).
    pub registered_on: String,
    /// Always true.
    pub synthetic: bool,
}

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "林", "罗", "高", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "肖", "田", "董", "潘", "袁", "蔡", "蒋", "余", "于", "杜", "叶", "程", "魏", "苏", "吕", "丁",
    "任", "卢", "姚", "沈", "钟", "姜", "崔", "谭", "陆", "范", "汪", "廖",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀", "霞", "平", "刚", "桂", "英", "华", "玉", "萍", "红", "鹏", "飞", "辉", "建", "国",
    "文", "斌", "宇", "浩", "凯", "晨", "欣", "怡", "佳", "悦", "嘉", "子", "涵", "梓", "轩", "睿",
    "博", "思", "雨", "晓", "婷", "雪", "琳", "海", "波", "宁", "安", "然",
];
const STREETS: &[&str] = &[
    "文三路",
    "天目山路",
    "延安路",
    "解放路",
    "庆春路",
    "凤起路",
    "体育场路",
    "莫干山路",
    "古墩路",
    "文一西路",
    "学院路",
    "教工路",
    "秋涛路",
    "江南大道",
    "滨盛路",
    "钱江路",
    "丰潭路",
    "紫金港路",
    "之江路",
    "建国路",
];
const TRADE_WORDS: &[&str] = &[
    "云", "数", "智", "联", "信", "达", "恒", "启", "源", "晟", "泽", "创", "兴", "和", "新", "博",
    "海", "星", "汇", "远",
];
const INDUSTRIES: &[&str] = &[
    "科技",
    "信息技术",
    "贸易",
    "餐饮管理",
    "建筑工程",
    "物流",
    "文化传媒",
    "电子商务",
    "环保科技",
    "医疗器械",
    "教育咨询",
    "物业管理",
];
const FORMS: &[&str] = &["有限公司", "有限责任公司", "股份有限公司"];

fn pick<'a>(rng: &mut ChaCha8Rng, xs: &[&'a str]) -> &'a str {
    xs[rng.gen_range(0..xs.len())]
}

/// Days in `month` of `year` (proleptic Gregorian).
fn days_in(year: u32, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        _ => 31,
    }
}

fn date(rng: &mut ChaCha8Rng, from_year: u32, to_year: u32) -> (u32, u32, u32) {
    let y = rng.gen_range(from_year..=to_year);
    let m = rng.gen_range(1..=12);
    let d = rng.gen_range(1..=days_in(y, m));
    (y, m, d)
}

fn region_of(place: &Place) -> &str {
    let c = place.code.as_str();
    if c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit()) {
        c
    } else {
        DEFAULT_REGION
    }
}

fn address(rng: &mut ChaCha8Rng, place: &Place) -> String {
    format!(
        "{}{}{}号{}幢{}室",
        place.name,
        pick(rng, STREETS),
        rng.gen_range(1..=999),
        rng.gen_range(1..=30),
        rng.gen_range(101..=2804)
    )
}

/// Makes `rows` persons from `seed`, living in `places` (an empty slice: one place named
/// after [`DEFAULT_REGION`]). Identity numbers are unique within one call. `rows` is capped
/// at [`MAX_ROWS`].
pub fn persons(seed: u64, rows: usize, places: &[Place]) -> Vec<Person> {
    let fallback = [Place {
        code: DEFAULT_REGION.into(),
        name: "上城区".into(),
    }];
    let places = if places.is_empty() {
        &fallback[..]
    } else {
        places
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let rows = rows.min(MAX_ROWS);
    let mut seen = std::collections::HashSet::with_capacity(rows);
    let mut out = Vec::with_capacity(rows);
    while out.len() < rows {
        let place = &places[rng.gen_range(0..places.len())];
        let (y, m, d) = date(&mut rng, 1940, 2007);
        let seq: u32 = rng.gen_range(0..1000);
        let body = format!("{}{y:04}{m:02}{d:02}{seq:03}", region_of(place));
        let id = format!("{body}{}", idnum::id_check_char(&body).unwrap_or('0'));
        if !seen.insert(id.clone()) {
            continue;
        }
        let given: String = (0..rng.gen_range(1..=2))
            .map(|_| pick(&mut rng, GIVEN))
            .collect();
        let name = format!("{}{given}", pick(&mut rng, SURNAMES));
        let phone = format!("19900{:06}", rng.gen_range(0..1_000_000));
        out.push(Person {
            id_number: id,
            name,
            sex: if seq % 2 == 1 { "M" } else { "F" },
            birth_date: format!("{y:04}-{m:02}-{d:02}"),
            phone,
            jurisdiction: place.code.clone(),
            address: address(&mut rng, place),
            synthetic: true,
            household_id: String::new(),
            household_role: ROLE_HEAD,
            household_address: String::new(),
        });
    }
    households(seed, &mut out);
    out
}

/// Household role of the head (户主).
pub const ROLE_HEAD: &str = "head";
/// Household role of the head's spouse (配偶).
pub const ROLE_SPOUSE: &str = "spouse";
/// Household role of a child of the head (子女).
pub const ROLE_CHILD: &str = "child";

/// Born in or before this year: may head a household or be a spouse.
const ADULT_UNTIL: i32 = 2000;

/// Groups `people` into households, deterministically from `seed` (a stream apart from the
/// persons' own). In generation order, each person not yet placed who was born by
/// [`ADULT_UNTIL`] heads a household; about two in three get a spouse of the other sex,
/// born within five years of them; a couple gets 0–2 children, born 22–38 years after the
/// younger parent. Spouses and children are the earliest-generated unplaced persons of the
/// same jurisdiction that fit (nearest birth year first). Everyone left over (born after
/// 2000 and nobody's child) heads a household alone.
fn households(seed: u64, people: &mut [Person]) {
    use std::collections::{BTreeMap, HashMap, VecDeque};
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x486F_7573_6568_6F6C);
    let year = |p: &Person| p.birth_date[..4].parse::<i32>().unwrap_or(1970);
    // Unplaced persons per (jurisdiction, sex, birth year), in generation order; placed ones
    // are skipped when popped.
    let mut pool: HashMap<(String, &'static str, i32), VecDeque<usize>> = HashMap::new();
    for (i, p) in people.iter().enumerate() {
        pool.entry((p.jurisdiction.clone(), p.sex, year(p)))
            .or_default()
            .push_back(i);
    }
    let mut placed = vec![false; people.len()];
    let mut take = |placed: &mut Vec<bool>, key: (String, &'static str, i32)| -> Option<usize> {
        let q = pool.get_mut(&key)?;
        while let Some(i) = q.pop_front() {
            if !placed[i] {
                placed[i] = true;
                return Some(i);
            }
        }
        None
    };
    let mut seq: BTreeMap<String, u64> = BTreeMap::new();
    for head in 0..people.len() {
        if placed[head] {
            continue;
        }
        placed[head] = true;
        let region = region_code(&people[head].jurisdiction).to_string();
        let n = seq.entry(region.clone()).or_insert(0);
        *n += 1;
        let id = format!("{region}{n:08}");
        let home = people[head].address.clone();
        let mut members = vec![(head, ROLE_HEAD)];
        let head_year = year(&people[head]);
        if head_year <= ADULT_UNTIL {
            let jur = people[head].jurisdiction.clone();
            let other = if people[head].sex == "M" { "F" } else { "M" };
            let mut younger = head_year;
            if rng.gen_bool(0.65) {
                let spouse = (0..=5)
                    .flat_map(|d| [head_year - d, head_year + d])
                    .filter(|y| *y <= ADULT_UNTIL)
                    .find_map(|y| take(&mut placed, (jur.clone(), other, y)));
                if let Some(s) = spouse {
                    younger = younger.max(year(&people[s]));
                    members.push((s, ROLE_SPOUSE));
                    let children = rng.gen_range(0..=2);
                    for _ in 0..children {
                        let start = rng.gen_range(22..=38);
                        let child = (0..17)
                            .map(|k| younger + 22 + (start - 22 + k) % 17)
                            .flat_map(|y| [(jur.clone(), "M", y), (jur.clone(), "F", y)])
                            .find_map(|key| take(&mut placed, key));
                        if let Some(c) = child {
                            members.push((c, ROLE_CHILD));
                        }
                    }
                }
            }
        }
        for (i, role) in members {
            people[i].household_id = id.clone();
            people[i].household_role = role;
            people[i].household_address = home.clone();
        }
    }
}

/// The region part of a household number: the jurisdiction's code when it is a 6-digit
/// GB/T 2260 code, else [`DEFAULT_REGION`].
fn region_code(jurisdiction: &str) -> &str {
    if jurisdiction.len() == 6 && jurisdiction.bytes().all(|b| b.is_ascii_digit()) {
        jurisdiction
    } else {
        DEFAULT_REGION
    }
}

/// Makes `rows` companies from `seed`, registered in `places`, each with a legal
/// representative drawn from `people` (adults only: born in or before 2000; when there are
/// none, from all of them). Credit codes are unique within one call. Empty `people` give no
/// companies. `rows` is capped at [`MAX_ROWS`].
pub fn companies(seed: u64, rows: usize, places: &[Place], people: &[Person]) -> Vec<Company> {
    let adults: Vec<&Person> = people
        .iter()
        .filter(|p| p.birth_date.as_str() <= "2000-12-31")
        .collect();
    let pool: Vec<&Person> = if adults.is_empty() {
        people.iter().collect()
    } else {
        adults
    };
    if pool.is_empty() {
        return Vec::new();
    }
    let fallback = [Place {
        code: DEFAULT_REGION.into(),
        name: "上城区".into(),
    }];
    let places = if places.is_empty() {
        &fallback[..]
    } else {
        places
    };
    // A different stream from the persons' for the same seed.
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x9E37_79B9_7F4A_7C15);
    let rows = rows.min(MAX_ROWS);
    let mut seen = std::collections::HashSet::with_capacity(rows);
    let mut out = Vec::with_capacity(rows);
    const ORG_ALPHABET: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    while out.len() < rows {
        let place = &places[rng.gen_range(0..places.len())];
        // 9 = registered by the market regulator (工商), 1 = enterprise (企业).
        let org_body: String = (0..8)
            .map(|_| ORG_ALPHABET[rng.gen_range(0..ORG_ALPHABET.len())] as char)
            .collect();
        let Some(org_check) = idnum::organization_code_check(&org_body) else {
            continue;
        };
        let body = format!("91{}{org_body}{org_check}", region_of(place));
        let Some(check) = idnum::credit_check_char(&body) else {
            continue;
        };
        let code = format!("{body}{check}");
        if !seen.insert(code.clone()) {
            continue;
        }
        let rep = pool[rng.gen_range(0..pool.len())];
        let city = place.name.trim_end_matches(['区', '县', '市']);
        let name = format!(
            "杭州{city}{}{}{}{}",
            pick(&mut rng, TRADE_WORDS),
            pick(&mut rng, TRADE_WORDS),
            pick(&mut rng, INDUSTRIES),
            pick(&mut rng, FORMS)
        );
        let (y, m, d) = date(&mut rng, 1995, 2025);
        out.push(Company {
            credit_code: code,
            name,
            legal_representative: rep.name.clone(),
            legal_representative_id: rep.id_number.clone(),
            jurisdiction: place.code.clone(),
            address: address(&mut rng, place),
            registered_on: format!("{y:04}-{m:02}-{d:02}"),
            synthetic: true,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn places() -> Vec<Place> {
        vec![
            Place {
                code: "330106".into(),
                name: "西湖区".into(),
            },
            Place {
                code: "330102".into(),
                name: "上城区".into(),
            },
        ]
    }

    #[test]
    fn same_seed_same_register_and_every_check_is_valid() {
        let a = persons(7, 500, &places());
        assert_eq!(a, persons(7, 500, &places()));
        assert_ne!(a, persons(8, 500, &places()));
        assert_eq!(a.len(), 500);
        for p in &a {
            assert!(
                idnum::check_id_number(&p.id_number, "20991231").is_ok(),
                "{}",
                p.id_number
            );
            assert!(p.id_number.starts_with("330106") || p.id_number.starts_with("330102"));
            assert_eq!(&p.id_number[6..14], p.birth_date.replace('-', ""));
            assert!(p.address.starts_with("西湖区") || p.address.starts_with("上城区"));
            assert!(p.phone.starts_with("19900") && p.phone.len() == 11);
            assert!(p.synthetic);
        }
        let c = companies(7, 200, &places(), &a);
        assert_eq!(c, companies(7, 200, &places(), &a));
        assert_eq!(c.len(), 200);
        for x in &c {
            assert!(
                idnum::check_credit_code(&x.credit_code).is_ok(),
                "{}",
                x.credit_code
            );
            let rep = a.iter().find(|p| p.id_number == x.legal_representative_id);
            assert_eq!(
                rep.map(|p| p.name.as_str()),
                Some(x.legal_representative.as_str())
            );
            assert!(x.synthetic);
        }
    }

    #[test]
    fn numbers_are_unique_and_non_numeric_codes_use_the_default_region() {
        let nyc = [Place {
            code: "MN".into(),
            name: "Manhattan".into(),
        }];
        let a = persons(1, 2000, &nyc);
        let ids: std::collections::HashSet<_> = a.iter().map(|p| &p.id_number).collect();
        assert_eq!(ids.len(), 2000);
        assert!(a.iter().all(|p| p.id_number.starts_with(DEFAULT_REGION)));
        assert!(companies(1, 10, &nyc, &[]).is_empty());
    }

    /// The household columns came after the others and from a stream of their own: the
    /// first persons and companies of seed 7 are, field for field, what the generator gave
    /// before households existed (recorded from commit a91cb41).
    #[test]
    fn households_leave_earlier_columns_unchanged() {
        let a = persons(7, 500, &places());
        let old = |p: &Person| {
            (
                p.id_number.clone(),
                p.name.clone(),
                p.sex,
                p.birth_date.clone(),
                p.phone.clone(),
                p.jurisdiction.clone(),
                p.address.clone(),
            )
        };
        let s = |x: &str| x.to_string();
        assert_eq!(
            a[..3].iter().map(old).collect::<Vec<_>>(),
            [
                (
                    s("330106195203097045"),
                    s("任静"),
                    "F",
                    s("1952-03-09"),
                    s("19900359364"),
                    s("330106"),
                    s("西湖区莫干山路493号30幢642室")
                ),
                (
                    s("330102195705142496"),
                    s("高霞静"),
                    "M",
                    s("1957-05-14"),
                    s("19900012931"),
                    s("330102"),
                    s("上城区凤起路819号13幢164室")
                ),
                (
                    s("330106197204174814"),
                    s("周轩"),
                    "M",
                    s("1972-04-17"),
                    s("19900145301"),
                    s("330106"),
                    s("西湖区建国路151号22幢1257室")
                ),
            ]
        );
        let c = companies(7, 2, &places(), &a);
        assert_eq!(
            c.iter()
                .map(|x| (
                    x.credit_code.as_str(),
                    x.name.as_str(),
                    x.legal_representative_id.as_str(),
                    x.registered_on.as_str()
                ))
                .collect::<Vec<_>>(),
            [
                (
                    "9133010283UAU46G7E",
                    "杭州上城和新信息技术有限公司",
                    "33010219891023553X",
                    "2019-02-08"
                ),
                (
                    "913301021C9K3NY95C",
                    "杭州上城远远科技有限责任公司",
                    "33010219531111736X",
                    "2019-01-12"
                ),
            ]
        );
        // The first person heads the first household of 西湖区.
        assert_eq!(a[0].household_id, "33010600000001");
        assert_eq!(a[0].household_role, ROLE_HEAD);
        assert_eq!(a[0].household_address, a[0].address);
    }

    #[test]
    fn households_link_heads_spouses_and_children() {
        use std::collections::HashMap;
        let a = persons(7, 5000, &places());
        assert_eq!(a, persons(7, 5000, &places()), "deterministic");
        let mut by_household: HashMap<&str, Vec<&Person>> = HashMap::new();
        for p in &a {
            assert_eq!(p.household_id.len(), 14, "{}", p.household_id);
            assert!(p.household_id.starts_with(&p.jurisdiction[..]));
            by_household.entry(&p.household_id).or_default().push(p);
        }
        let year = |p: &Person| p.birth_date[..4].parse::<i32>().unwrap();
        let (mut spouses, mut children) = (0, 0);
        for (id, members) in &by_household {
            let heads: Vec<_> = members
                .iter()
                .filter(|p| p.household_role == ROLE_HEAD)
                .collect();
            assert_eq!(heads.len(), 1, "household {id} has one head");
            let head = heads[0];
            let spouse: Vec<_> = members
                .iter()
                .filter(|p| p.household_role == ROLE_SPOUSE)
                .collect();
            assert!(spouse.len() <= 1);
            if let Some(s) = spouse.first() {
                spouses += 1;
                assert_ne!(s.sex, head.sex);
                assert!((year(s) - year(head)).abs() <= 5);
            }
            let kids: Vec<_> = members
                .iter()
                .filter(|p| p.household_role == ROLE_CHILD)
                .collect();
            assert!(kids.len() <= 2 && (kids.is_empty() || spouse.len() == 1));
            for k in &kids {
                children += 1;
                let younger = year(head).max(year(spouse[0]));
                assert!((younger + 22..=younger + 38).contains(&year(k)), "{id}");
            }
            for m in members {
                assert_eq!(m.jurisdiction, head.jurisdiction);
                assert_eq!(m.household_address, head.address);
            }
        }
        // Real shares, not a degenerate grouping: many couples, some children.
        assert!(spouses > 1000, "{spouses} couples");
        assert!(children > 300, "{children} children");
        assert!(by_household.len() < a.len() * 3 / 4);
    }
}
