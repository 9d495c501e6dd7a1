//! Guides (办事指南): the public guide of a service item, generated from the item's data
//! in Chinese or English, stating the version it was made from.
//!
//! A guide has the conditions, the materials (those the government already holds are
//! marked "无需提交（免提交）" with the source that supplies them), the steps, the time limits
//! counted on the item's working-day calendar (the calendar of the jurisdiction its code
//! names, through `onecity-flow`: "承诺时限 5 个工作日：今天申请，最迟 … 办结"), the fees, where
//! to go, the channels and the legal basis. The hall's page `/hall/items/{code}` renders
//! it for screen and print.

use crate::item::*;
use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc, Weekday};
use onecity_core::{Error, ErrorCode, Result};
use onecity_iam::{AssuranceLevel, Principal};
use serde::{Deserialize, Serialize};

/// A guide in one language.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Guide {
    /// The language it is written in.
    pub lang: Lang,
    /// Tenant code.
    pub tenant: String,
    /// Item code.
    pub code: String,
    /// The item version the guide was made from.
    pub version: i64,
    /// When that version was published (RFC 3339), `null` for an unpublished draft.
    pub published_at: Option<String>,
    /// "Made from version 3 of …" in the guide's language.
    pub version_note: String,
    /// Item name.
    pub title: String,
    /// The item name in the other language (for bilingual headings).
    pub title_other: String,
    /// Owner department's name.
    pub department: String,
    /// Item type.
    pub item_type: String,
    /// Competent level.
    pub level: String,
    /// Service targets.
    pub targets: Vec<String>,
    /// Life events.
    pub life_events: Vec<String>,
    /// Legal basis, each "《law》article".
    pub legal_basis: Vec<String>,
    /// Conditions.
    pub conditions: Vec<String>,
    /// Materials.
    pub materials: Vec<GuideMaterial>,
    /// Materials the applicant must bring (not held by the government).
    pub materials_to_submit: usize,
    /// Materials the government already holds.
    pub materials_held: usize,
    /// Steps.
    pub steps: Vec<String>,
    /// Time limits on the calendar.
    pub time_limits: GuideTimeLimits,
    /// Fees.
    pub fees: GuideFees,
    /// Channels.
    pub channels: Vec<String>,
    /// 就近办 / 异地办 statements (may be empty).
    pub handling: Vec<String>,
    /// Where to go.
    pub where_to_go: Vec<GuidePlace>,
    /// Identity needed to apply online.
    pub assurance: GuideAssurance,
}

/// A material as the guide lists it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GuideMaterial {
    /// The material.
    pub name: String,
    /// How it is handed in.
    pub form: String,
    /// Copies.
    pub copies: u32,
    /// Note.
    pub note: Option<String>,
    /// True when the government already holds it (免提交).
    pub held_by_government: bool,
    /// The source that supplies it, when held.
    pub source: Option<String>,
    /// "无需提交（免提交）：…" / "No need to submit: …", or "需提交" / "Bring it".
    pub mark: String,
}

/// Time limits, with the dates they give on the item's calendar.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GuideTimeLimits {
    /// Statutory limit in working days.
    pub legal_days: Option<u32>,
    /// Promised limit in working days.
    pub promised_days: u32,
    /// The day counted from (today in the calendar's time zone unless asked otherwise).
    #[schema(value_type = String, format = Date)]
    pub applied_on: NaiveDate,
    /// Last day of the promised limit.
    #[schema(value_type = String, format = Date)]
    pub promised_due_on: NaiveDate,
    /// Last day of the statutory limit.
    #[schema(value_type = Option<String>, format = Date)]
    pub legal_due_on: Option<NaiveDate>,
    /// "承诺时限 5 个工作日：…" / "Promised: 5 working days — …".
    pub promised_text: String,
    /// The statutory limit as a sentence.
    pub legal_text: String,
    /// The item's note on its limits.
    pub note: Option<String>,
    /// The calendar used: its time zone.
    pub time_zone: String,
    /// False when the calendar does not know the holidays of a year the count runs
    /// through (weekends only were skipped there).
    pub calendar_covers: bool,
}

/// Fees as the guide states them.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GuideFees {
    /// True when nothing is charged.
    pub free: bool,
    /// One sentence ("不收费" / "Free of charge", or the total).
    pub text: String,
    /// Each fee.
    pub items: Vec<GuideFee>,
}

/// One fee.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GuideFee {
    /// What is paid for.
    pub name: String,
    /// "80.00 元" / "CNY 80.00", or the yearly-rate sentence.
    pub amount: String,
    /// The charging basis.
    pub basis: String,
}

/// A place to go.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GuidePlace {
    /// Hall or counter.
    pub name: String,
    /// Address.
    pub address: String,
    /// Opening hours.
    pub hours: String,
}

/// The identity needed to apply online.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GuideAssurance {
    /// `low`, `substantial` or `high`.
    pub level: AssuranceLevel,
    /// The requirement as a sentence.
    pub text: String,
}

/// Guide options: language, version and the day to count from.
#[derive(Debug, Clone, Copy)]
pub struct GuideOptions {
    /// Language.
    pub lang: Lang,
    /// Which version.
    pub version: VersionSel,
    /// Count the time limits from this day (default: now).
    pub applied_on: Option<NaiveDate>,
}

/// A date in the guide's language: `2025年6月10日（星期二）` / `Tuesday 10 June 2025`.
pub fn format_date(d: NaiveDate, lang: Lang) -> String {
    let (zh_wd, en_wd) = match d.weekday() {
        Weekday::Mon => ("星期一", "Monday"),
        Weekday::Tue => ("星期二", "Tuesday"),
        Weekday::Wed => ("星期三", "Wednesday"),
        Weekday::Thu => ("星期四", "Thursday"),
        Weekday::Fri => ("星期五", "Friday"),
        Weekday::Sat => ("星期六", "Saturday"),
        Weekday::Sun => ("星期日", "Sunday"),
    };
    match lang {
        Lang::Zh => format!("{}年{}月{}日（{zh_wd}）", d.year(), d.month(), d.day()),
        Lang::En => {
            const MONTHS: [&str; 12] = [
                "January",
                "February",
                "March",
                "April",
                "May",
                "June",
                "July",
                "August",
                "September",
                "October",
                "November",
                "December",
            ];
            format!(
                "{en_wd} {} {} {}",
                d.day(),
                MONTHS[d.month0() as usize],
                d.year()
            )
        }
    }
}

/// An amount in 分 as `80.00 元` / `CNY 80.00`.
pub fn format_amount(fen: i64, lang: Lang) -> String {
    let yuan = format!("{}.{:02}", fen / 100, fen % 100);
    match lang {
        Lang::Zh => format!("{yuan} 元"),
        Lang::En => format!("CNY {yuan}"),
    }
}

fn pick(lang: Lang, zh: String, en: String) -> String {
    match lang {
        Lang::Zh => zh,
        Lang::En => en,
    }
}

/// Builds the guide text of `item` with the computed dates (pure: unit-tested).
#[allow(clippy::too_many_arguments)]
pub fn compose(
    item: &Item,
    lang: Lang,
    applied_on: NaiveDate,
    promised_due_on: NaiveDate,
    legal_due_on: Option<NaiveDate>,
    time_zone: String,
    calendar_covers: bool,
    applied_today: bool,
) -> Guide {
    let b = &item.body;
    let other = match lang {
        Lang::Zh => Lang::En,
        Lang::En => Lang::Zh,
    };
    let materials: Vec<GuideMaterial> = b
        .materials
        .iter()
        .map(|m| {
            let held = m.held_by_government.as_ref();
            let source = held.map(|h| h.title.get(lang).to_string());
            let mark = match held {
                Some(h) => pick(
                    lang,
                    format!("无需提交（免提交）：政府已掌握，由{}提供", h.title.zh),
                    format!(
                        "No need to submit: the government holds it ({})",
                        h.title.en
                    ),
                ),
                None => pick(lang, "需提交".into(), "Bring it".into()),
            };
            GuideMaterial {
                name: m.name.get(lang).to_string(),
                form: m.form.label(lang).to_string(),
                copies: m.copies,
                note: m.note.as_ref().map(|n| n.get(lang).to_string()),
                held_by_government: held.is_some(),
                source,
                mark,
            }
        })
        .collect();
    let held = materials.iter().filter(|m| m.held_by_government).count();
    let day_word = if applied_today {
        pick(
            lang,
            format!("今天（{}）", format_date(applied_on, lang)),
            format!("today ({})", format_date(applied_on, lang)),
        )
    } else {
        format_date(applied_on, lang)
    };
    let promised = b.time_limits.promised_days;
    let promised_text = if promised == 0 {
        pick(
            lang,
            format!("即办件：{day_word}申请，当场办结"),
            format!("Done on the spot: applied {day_word}, settled at once"),
        )
    } else {
        pick(
            lang,
            format!(
                "承诺时限 {promised} 个工作日：{day_word}申请，最迟于{}办结",
                format_date(promised_due_on, lang)
            ),
            format!(
                "Promised time limit {promised} working day{}: applied {day_word}, answer by {}",
                if promised == 1 { "" } else { "s" },
                format_date(promised_due_on, lang)
            ),
        )
    };
    let legal_text = match (b.time_limits.legal_days, legal_due_on) {
        (Some(n), Some(d)) => pick(
            lang,
            format!(
                "法定时限 {n} 个工作日（同日申请最迟于{}办结）",
                format_date(d, lang)
            ),
            format!(
                "Statutory time limit {n} working day{} (by {} for the same application day)",
                if n == 1 { "" } else { "s" },
                format_date(d, lang)
            ),
        ),
        _ => pick(
            lang,
            "法律未规定以工作日计的办结时限".into(),
            "The law sets no time limit in working days".into(),
        ),
    };
    let fee_items: Vec<GuideFee> = b
        .fees
        .iter()
        .map(|f| GuideFee {
            name: f.name.get(lang).to_string(),
            amount: match f.amount_fen {
                Some(fen) => format_amount(fen, lang),
                None => pick(
                    lang,
                    "按当年公布的标准".into(),
                    "at the rate published each year".into(),
                ),
            },
            basis: f.basis.get(lang).to_string(),
        })
        .collect();
    let fees_text = if b.fees.is_empty() {
        pick(lang, "不收费".into(), "Free of charge".into())
    } else if b.fees.iter().all(|f| f.amount_fen.is_some()) {
        let total: i64 = b.fees.iter().filter_map(|f| f.amount_fen).sum();
        pick(
            lang,
            format!("收费，合计 {}", format_amount(total, lang)),
            format!("Fees: {} in total", format_amount(total, lang)),
        )
    } else {
        pick(
            lang,
            "收费，金额见下".into(),
            "Fees apply, see below".into(),
        )
    };
    let mut handling = Vec::new();
    if b.nearby {
        handling.push(pick(
            lang,
            "可就近办：可在附近的镇街便民服务中心或本市任一办理点办理".into(),
            "Handled nearby: at a nearby town or street centre or any office of the city".into(),
        ));
    }
    if b.other_place {
        handling.push(pick(
            lang,
            "可异地办（跨省通办）：可在外地受理".into(),
            "Handled in another place: can be applied for outside the competent city or province"
                .into(),
        ));
    }
    let assurance_text = match b.assurance {
        AssuranceLevel::Low => pick(
            lang,
            "网上申请须注册账号并验证手机号".into(),
            "To apply online: an account with a verified phone number".into(),
        ),
        AssuranceLevel::Substantial => pick(
            lang,
            "网上申请须完成实名认证".into(),
            "To apply online: a real-name verified account".into(),
        ),
        AssuranceLevel::High => pick(
            lang,
            "网上申请须高等级身份认证（如网络身份认证或读取身份证芯片）".into(),
            "To apply online: high-assurance identity (e.g. the national network identity or the ID card chip)".into(),
        ),
    };
    Guide {
        lang,
        tenant: item.tenant.clone(),
        code: b.code.clone(),
        version: item.version,
        published_at: item.published_at.clone(),
        version_note: pick(
            lang,
            format!("本指南根据事项第 {} 版生成", item.version),
            format!(
                "This guide is made from version {} of the item",
                item.version
            ),
        ),
        title: b.name.get(lang).to_string(),
        title_other: b.name.get(other).to_string(),
        department: item.department.name.get(lang).to_string(),
        item_type: b.item_type.label(lang).to_string(),
        level: b.level.label(lang).to_string(),
        targets: b
            .targets
            .iter()
            .map(|t| t.label(lang).to_string())
            .collect(),
        life_events: b
            .life_events
            .iter()
            .map(|e| e.label(lang).to_string())
            .collect(),
        legal_basis: b
            .legal_basis
            .iter()
            .map(|l| match lang {
                Lang::Zh => format!("{}{}", l.law.zh, l.article.zh),
                Lang::En => format!("{}, {}", l.law.en, l.article.en),
            })
            .collect(),
        conditions: b
            .conditions
            .iter()
            .map(|c| c.get(lang).to_string())
            .collect(),
        materials_to_submit: materials.len() - held,
        materials_held: held,
        materials,
        steps: b.steps.iter().map(|s| s.get(lang).to_string()).collect(),
        time_limits: GuideTimeLimits {
            legal_days: b.time_limits.legal_days,
            promised_days: promised,
            applied_on,
            promised_due_on,
            legal_due_on,
            promised_text,
            legal_text,
            note: b.time_limits.note.as_ref().map(|n| n.get(lang).to_string()),
            time_zone,
            calendar_covers,
        },
        fees: GuideFees {
            free: b.fees.is_empty(),
            text: fees_text,
            items: fee_items,
        },
        channels: b
            .channels
            .iter()
            .map(|c| c.label(lang).to_string())
            .collect(),
        handling,
        where_to_go: b
            .where_to_go
            .iter()
            .map(|w| GuidePlace {
                name: w.name.get(lang).to_string(),
                address: w.address.get(lang).to_string(),
                hours: w.hours.get(lang).to_string(),
            })
            .collect(),
        assurance: GuideAssurance {
            level: b.assurance,
            text: assurance_text,
        },
    }
}

impl crate::Hall {
    /// The guide of an item as `viewer` may see it (the published version by default;
    /// drafts for editors), in `opts.lang`, with its time limits counted on the calendar
    /// of the jurisdiction the item's code names, from `opts.applied_on` (default now).
    ///
    /// Errors: as [`crate::Hall::item`]; `invalid_query` when a date is out of the
    /// calendar's range.
    pub async fn guide(
        &self,
        viewer: Option<&Principal>,
        tenant: &str,
        code: &str,
        opts: GuideOptions,
    ) -> Result<Guide> {
        let item = self.item(viewer, tenant, code, opts.version).await?;
        let jurisdiction = match item.body.division_code() {
            Some(div) => self
                .iam
                .jurisdiction_by_code(tenant, div)
                .await?
                .map(|j| j.id),
            None => None,
        };
        let cal = self.flow.calendar_for(tenant, jurisdiction).await?;
        let tz = cal.time_zone();
        let now = Utc::now();
        let (start, applied_on, today) = match opts.applied_on {
            None => (now, now.with_timezone(&tz).date_naive(), true),
            Some(d) => {
                let nine = d
                    .and_hms_opt(9, 0, 0)
                    .ok_or_else(|| Error::internal("09:00 is a valid time"))?;
                let local = tz.from_local_datetime(&nine).earliest().ok_or_else(|| {
                    Error::new(
                        ErrorCode::InvalidQuery,
                        "applied_on has no 09:00 local time",
                    )
                })?;
                let today = d == now.with_timezone(&tz).date_naive();
                (local.with_timezone(&Utc), d, today)
            }
        };
        let out_of_range = |e: onecity_flow::calendar::CalendarError| {
            Error::new(ErrorCode::InvalidQuery, e.to_string())
        };
        let due = |n: u32| -> Result<DateTime<Utc>> {
            cal.add_working_days(start, n).map_err(out_of_range)
        };
        let promised_due = due(item.body.time_limits.promised_days)?;
        let legal_due = item.body.time_limits.legal_days.map(due).transpose()?;
        let last = legal_due.unwrap_or(promised_due).max(promised_due);
        let covers = (applied_on.year()..=last.with_timezone(&tz).year()).all(|y| cal.covers(y));
        let local_date = |t: DateTime<Utc>| t.with_timezone(&tz).date_naive();
        let mut g = compose(
            &item,
            opts.lang,
            applied_on,
            local_date(promised_due),
            legal_due.map(local_date),
            tz.name().to_string(),
            covers,
            today,
        );
        if g.published_at.is_none() {
            g.version_note.push_str(match opts.lang {
                Lang::Zh => "（草稿，未发布）",
                Lang::En => " (a draft, not published)",
            });
        }
        Ok(g)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_amounts_in_both_languages() {
        let d = NaiveDate::from_ymd_opt(2025, 6, 10).unwrap();
        assert_eq!(format_date(d, Lang::Zh), "2025年6月10日（星期二）");
        assert_eq!(format_date(d, Lang::En), "Tuesday 10 June 2025");
        assert_eq!(format_amount(8000, Lang::Zh), "80.00 元");
        assert_eq!(format_amount(1005, Lang::En), "CNY 10.05");
    }
}
