//! The item catalog as shipped data (`crates/onecity-services/items/*.json`, documented in
//! that folder's README.md) read into [`GuideItem`]s for the assistant: the evaluation, the
//! benchmark and the demo index from it until the hall's published items feed
//! [`super::Assistant::index_items`]. The serde types here are the assistant's own and read
//! only the fields a guide shows; the item model of `crate::item` is the authority.

use super::{GuideItem, GuideSection, SectionKind};
use onecity_core::{Error, Result};
use serde::Deserialize;

/// The shipped item files (name, JSON); a unit test checks that every file of the folder
/// is listed.
pub const SHIPPED: &[(&str, &str)] = &[
    ("HZ-CL.json", include_str!("../../items/HZ-CL.json")),
    ("HZ-FGJ.json", include_str!("../../items/HZ-FGJ.json")),
    ("HZ-GAJ.json", include_str!("../../items/HZ-GAJ.json")),
    ("HZ-GHZY.json", include_str!("../../items/HZ-GHZY.json")),
    ("HZ-GJJ.json", include_str!("../../items/HZ-GJJ.json")),
    ("HZ-JKZX.json", include_str!("../../items/HZ-JKZX.json")),
    ("HZ-JSW.json", include_str!("../../items/HZ-JSW.json")),
    ("HZ-JYJ.json", include_str!("../../items/HZ-JYJ.json")),
    ("HZ-MZJ.json", include_str!("../../items/HZ-MZJ.json")),
    ("HZ-RSJ.json", include_str!("../../items/HZ-RSJ.json")),
    ("HZ-SCJGJ.json", include_str!("../../items/HZ-SCJGJ.json")),
    ("HZ-SWJ.json", include_str!("../../items/HZ-SWJ.json")),
    ("HZ-WJW.json", include_str!("../../items/HZ-WJW.json")),
    ("HZ-YBJ.json", include_str!("../../items/HZ-YBJ.json")),
];

/// A text in both languages.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Text {
    /// Chinese.
    #[serde(default)]
    pub zh: String,
    /// English.
    #[serde(default)]
    pub en: String,
}

#[derive(Debug, Deserialize)]
struct File {
    department: Department,
    items: Vec<Item>,
}

#[derive(Debug, Deserialize)]
struct Department {
    name: Text,
}

#[derive(Debug, Deserialize)]
struct Item {
    code: String,
    name: Text,
    #[serde(default)]
    life_events: Vec<String>,
    #[serde(default)]
    legal_basis: Vec<LegalBasis>,
    #[serde(default)]
    conditions: Vec<Text>,
    #[serde(default)]
    materials: Vec<Material>,
    #[serde(default)]
    fees: Vec<Fee>,
    time_limits: Option<TimeLimits>,
    #[serde(default)]
    channels: Vec<String>,
    #[serde(default)]
    nearby: bool,
    #[serde(default)]
    other_place: bool,
    #[serde(default)]
    steps: Vec<Text>,
    #[serde(default, rename = "where")]
    places: Vec<Place>,
}

#[derive(Debug, Deserialize)]
struct LegalBasis {
    law: Text,
    article: Option<Text>,
}

#[derive(Debug, Deserialize)]
struct Material {
    name: Text,
    note: Option<Text>,
    held_by_government: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct Fee {
    name: Text,
    amount_fen: Option<i64>,
    basis: Option<Text>,
}

#[derive(Debug, Deserialize)]
struct TimeLimits {
    legal_days: Option<i64>,
    promised_days: Option<i64>,
    note: Option<Text>,
}

#[derive(Debug, Deserialize)]
struct Place {
    name: Text,
    address: Option<Text>,
    hours: Option<Text>,
}

/// The life-event topics of the README, as the words a citizen uses (zh, en).
pub const LIFE_EVENTS: &[(&str, &str, &str)] = &[
    ("birth", "出生", "birth"),
    ("education", "入学 教育", "school education"),
    ("employment", "就业 工作", "employment work"),
    ("marriage_birth", "婚育", "marriage family"),
    ("housing", "住房", "housing"),
    ("social_security", "社保", "social security"),
    ("retirement", "退休 养老", "retirement"),
    ("health", "医疗健康", "health"),
    ("business", "开办企业", "business"),
    ("travel", "出行 出入境", "travel"),
    ("relocation", "迁居", "moving"),
    ("assistance", "社会救助", "social assistance"),
    ("death", "身后事", "death"),
];

fn join(parts: impl IntoIterator<Item = String>, sep: &str) -> String {
    parts
        .into_iter()
        .filter(|p| !p.trim().is_empty())
        .collect::<Vec<_>>()
        .join(sep)
}

fn yuan(fen: i64) -> String {
    if fen % 100 == 0 {
        format!("{}", fen / 100)
    } else {
        format!("{}.{:02}", fen / 100, fen % 100)
    }
}

impl Item {
    fn into_guide(self, department: &Text) -> GuideItem {
        let conditions = GuideSection {
            kind: SectionKind::Conditions,
            zh: join(self.conditions.iter().map(|c| c.zh.clone()), "；"),
            en: join(self.conditions.iter().map(|c| c.en.clone()), "; "),
        };
        let material = |m: &Material, zh: bool| {
            let (name, note, held) = if zh {
                (
                    &m.name.zh,
                    m.note.as_ref().map(|n| &n.zh),
                    "（政府已有，免提交）",
                )
            } else {
                (
                    &m.name.en,
                    m.note.as_ref().map(|n| &n.en),
                    " (held by the government: no need to submit)",
                )
            };
            let mut s = name.clone();
            if let Some(n) = note.filter(|n| !n.is_empty()) {
                s.push_str(if zh { "，" } else { ", " });
                s.push_str(n);
            }
            if m.held_by_government.is_some() {
                s.push_str(held);
            }
            s
        };
        let materials = GuideSection {
            kind: SectionKind::Materials,
            zh: join(self.materials.iter().map(|m| material(m, true)), "；"),
            en: join(self.materials.iter().map(|m| material(m, false)), "; "),
        };
        let fees = if self.fees.is_empty() {
            GuideSection {
                kind: SectionKind::Fees,
                zh: "不收费".into(),
                en: "free of charge".into(),
            }
        } else {
            let fee = |f: &Fee, zh: bool| {
                let name = if zh { &f.name.zh } else { &f.name.en };
                let amount = match (f.amount_fen, zh) {
                    (Some(a), true) => format!("{} 元", yuan(a)),
                    (Some(a), false) => format!("CNY {}", yuan(a)),
                    (None, true) => "按年度公布标准".to_string(),
                    (None, false) => "at the rate published each year".to_string(),
                };
                let basis = f
                    .basis
                    .as_ref()
                    .map(|b| if zh { b.zh.clone() } else { b.en.clone() })
                    .unwrap_or_default();
                join(
                    [format!("{name}：{amount}"), basis],
                    if zh { "，依据" } else { ", basis: " },
                )
            };
            GuideSection {
                kind: SectionKind::Fees,
                zh: join(self.fees.iter().map(|f| fee(f, true)), "；"),
                en: join(self.fees.iter().map(|f| fee(f, false)), "; "),
            }
        };
        let time_limits = match &self.time_limits {
            Some(t) => GuideSection {
                kind: SectionKind::TimeLimits,
                zh: join(
                    [
                        t.legal_days
                            .map(|d| format!("法定办结时限 {d} 个工作日"))
                            .unwrap_or_default(),
                        t.promised_days
                            .map(|d| {
                                if d == 0 {
                                    "承诺即办".to_string()
                                } else {
                                    format!("承诺办结时限 {d} 个工作日")
                                }
                            })
                            .unwrap_or_default(),
                        t.note.as_ref().map(|n| n.zh.clone()).unwrap_or_default(),
                    ],
                    "；",
                ),
                en: join(
                    [
                        t.legal_days
                            .map(|d| format!("legal time limit {d} working days"))
                            .unwrap_or_default(),
                        t.promised_days
                            .map(|d| {
                                if d == 0 {
                                    "done on the spot".to_string()
                                } else {
                                    format!("promised within {d} working days")
                                }
                            })
                            .unwrap_or_default(),
                        t.note.as_ref().map(|n| n.en.clone()).unwrap_or_default(),
                    ],
                    "; ",
                ),
            },
            None => GuideSection {
                kind: SectionKind::TimeLimits,
                zh: String::new(),
                en: String::new(),
            },
        };
        let channel = |c: &str, zh: bool| match (c, zh) {
            ("online", true) => "网上办",
            ("counter", true) => "窗口办",
            ("mobile", true) => "掌上办",
            ("online", false) => "online",
            ("counter", false) => "at the counter",
            ("mobile", false) => "on the mobile app",
            _ => "",
        };
        let place = |p: &Place, zh: bool| {
            let pick = |t: &Text| if zh { t.zh.clone() } else { t.en.clone() };
            join(
                [
                    pick(&p.name),
                    p.address.as_ref().map(pick).unwrap_or_default(),
                    p.hours.as_ref().map(pick).unwrap_or_default(),
                ],
                if zh { "，" } else { ", " },
            )
        };
        let where_zh = join(
            [
                join(self.places.iter().map(|p| place(p, true)), "；"),
                join(
                    self.channels.iter().map(|c| channel(c, true).to_string()),
                    "、",
                ),
                if self.nearby {
                    "可就近办".into()
                } else {
                    String::new()
                },
                if self.other_place {
                    "可异地办".into()
                } else {
                    String::new()
                },
                join(self.steps.iter().map(|s| s.zh.clone()), " → "),
            ],
            "。",
        );
        let where_en = join(
            [
                join(self.places.iter().map(|p| place(p, false)), "; "),
                join(
                    self.channels.iter().map(|c| channel(c, false).to_string()),
                    ", ",
                ),
                if self.nearby {
                    "at any nearby centre".into()
                } else {
                    String::new()
                },
                if self.other_place {
                    "also from another city".into()
                } else {
                    String::new()
                },
                join(self.steps.iter().map(|s| s.en.clone()), " → "),
            ],
            ". ",
        );
        let legal = GuideSection {
            kind: SectionKind::LegalBasis,
            zh: join(
                self.legal_basis.iter().map(|b| {
                    format!(
                        "{}{}",
                        b.law.zh,
                        b.article.as_ref().map(|a| a.zh.as_str()).unwrap_or("")
                    )
                }),
                "；",
            ),
            en: join(
                self.legal_basis.iter().map(|b| {
                    join(
                        [
                            b.law.en.clone(),
                            b.article.as_ref().map(|a| a.en.clone()).unwrap_or_default(),
                        ],
                        ", ",
                    )
                }),
                "; ",
            ),
        };
        let mut keywords = Vec::new();
        for e in &self.life_events {
            if let Some((_, zh, en)) = LIFE_EVENTS.iter().find(|(k, _, _)| k == e) {
                keywords.push(zh.to_string());
                keywords.push(en.to_string());
            }
        }
        GuideItem {
            code: self.code,
            name_zh: self.name.zh,
            name_en: self.name.en,
            department_zh: department.zh.clone(),
            department_en: department.en.clone(),
            keywords,
            sections: vec![
                conditions,
                materials,
                fees,
                time_limits,
                GuideSection {
                    kind: SectionKind::Where,
                    zh: where_zh,
                    en: where_en,
                },
                legal,
            ],
            published: true,
        }
    }
}

/// Reads one item file (the README's shape) into guides, all marked published.
/// Errors: `invalid_input` naming the file when it does not parse.
pub fn parse_file(name: &str, json: &str) -> Result<Vec<GuideItem>> {
    let file: File =
        serde_json::from_str(json).map_err(|e| Error::invalid(format!("item file {name}: {e}")))?;
    let department = file.department.name;
    Ok(file
        .items
        .into_iter()
        .map(|i| i.into_guide(&department))
        .collect())
}

#[derive(Debug, Deserialize)]
struct LiveItem {
    department: Department,
    #[serde(flatten)]
    item: Item,
}

/// A published item as the hall serves it (`crate::item::Item`, serialised: its body's
/// fields as in the data files, plus `department` with its name) as a guide.
/// Errors: `invalid_input` when the item does not have that shape.
pub fn guide_from_item_json(item: serde_json::Value) -> Result<GuideItem> {
    let live: LiveItem =
        serde_json::from_value(item).map_err(|e| Error::invalid(format!("published item: {e}")))?;
    Ok(live.item.into_guide(&live.department.name))
}

/// Every shipped item as a guide, in file order.
pub fn shipped_items() -> Result<Vec<GuideItem>> {
    let mut out = Vec::new();
    for (name, json) in SHIPPED {
        out.extend(parse_file(name, json)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_file_is_shipped_and_parses() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/items");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with(".json"))
            .collect();
        on_disk.sort();
        let listed: Vec<String> = SHIPPED.iter().map(|(n, _)| n.to_string()).collect();
        assert_eq!(on_disk, listed, "list every items/*.json in data::SHIPPED");
        let items = shipped_items().unwrap();
        assert!(items.len() >= 40);
        let birth = items
            .iter()
            .find(|i| i.code == "330100-20-WJW-001-000")
            .unwrap();
        assert_eq!(birth.name_zh, "出生医学证明首次签发");
        assert_eq!(birth.department_zh, "杭州市卫生健康委员会");
        assert_eq!(
            birth.section_text(SectionKind::LegalBasis, super::super::Lang::Zh),
            Some("《中华人民共和国母婴保健法》第二十三条")
        );
        assert_eq!(
            birth.section_text(SectionKind::Fees, super::super::Lang::En),
            Some("free of charge")
        );
        assert!(birth.keywords.contains(&"出生".to_string()));
    }
}
