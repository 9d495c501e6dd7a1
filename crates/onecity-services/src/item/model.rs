//! The service item (事项) types: the body an editor writes ([`ItemBody`], the shape of
//! one entry of `crates/onecity-services/items/*.json`, documented field by field in that
//! folder's README), the stored item as read back ([`Item`]), list rows ([`ItemSummary`])
//! and versions ([`ItemVersion`]). No IO.

use onecity_iam::AssuranceLevel;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A text in Chinese and English; both are required and non-empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Text {
    /// Simplified Chinese.
    pub zh: String,
    /// English.
    pub en: String,
}

impl Text {
    /// The text in `lang` (`Lang::Zh` or `Lang::En`).
    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::Zh => &self.zh,
            Lang::En => &self.en,
        }
    }
}

/// The language a guide is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// Simplified Chinese.
    Zh,
    /// English.
    En,
}

/// Declares a wire enum with its Chinese and English labels and the list of its values.
macro_rules! wire_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $wire:literal, $zh:literal, $en:literal;)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vm])* $v,)* }

        impl $name {
            /// Every value, in documentation order.
            pub const ALL: &'static [$name] = &[$($name::$v,)*];
            /// The wire (and storage) name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$v => $wire,)* }
            }
            /// Parses a wire name.
            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s)
            }
            /// The label in `lang`.
            pub fn label(self, lang: Lang) -> &'static str {
                match (self, lang) {
                    $(($name::$v, Lang::Zh) => $zh, ($name::$v, Lang::En) => $en,)*
                }
            }
            /// Every wire name, comma-separated (for error messages).
            pub fn names() -> String {
                Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }
        }
    };
}

wire_enum! {
    /// Item type (事项类型); `code()` is the two-digit element of the item code.
    ItemType {
        /// 行政许可.
        AdministrativeLicence = "administrative_licence", "行政许可", "administrative licence";
        /// 行政处罚.
        AdministrativePenalty = "administrative_penalty", "行政处罚", "administrative penalty";
        /// 行政强制.
        AdministrativeEnforcement = "administrative_enforcement", "行政强制", "administrative enforcement";
        /// 行政征收.
        AdministrativeLevy = "administrative_levy", "行政征收", "administrative levy";
        /// 行政给付.
        AdministrativePayment = "administrative_payment", "行政给付", "administrative payment (benefit)";
        /// 行政检查.
        AdministrativeInspection = "administrative_inspection", "行政检查", "administrative inspection";
        /// 行政确认.
        AdministrativeConfirmation = "administrative_confirmation", "行政确认", "administrative confirmation";
        /// 行政奖励.
        AdministrativeReward = "administrative_reward", "行政奖励", "administrative reward";
        /// 行政裁决.
        AdministrativeAdjudication = "administrative_adjudication", "行政裁决", "administrative adjudication";
        /// 其他行政权力.
        OtherAdministrativePower = "other_administrative_power", "其他行政权力", "other administrative power";
        /// 公共服务.
        PublicService = "public_service", "公共服务", "public service";
    }
}

impl ItemType {
    /// The two-digit type element of an item code (see the items README: ours, in the
    /// order of the power lists, not checked against the standard's digits).
    pub fn code(self) -> &'static str {
        match self {
            ItemType::AdministrativeLicence => "01",
            ItemType::AdministrativePenalty => "02",
            ItemType::AdministrativeEnforcement => "03",
            ItemType::AdministrativeLevy => "04",
            ItemType::AdministrativePayment => "05",
            ItemType::AdministrativeInspection => "06",
            ItemType::AdministrativeConfirmation => "07",
            ItemType::AdministrativeReward => "08",
            ItemType::AdministrativeAdjudication => "09",
            ItemType::OtherAdministrativePower => "10",
            ItemType::PublicService => "20",
        }
    }
}

wire_enum! {
    /// Competent jurisdiction level (行使层级).
    Level {
        /// 省级.
        Province = "province", "省级", "province";
        /// 市级.
        City = "city", "市级", "city";
        /// 区县级.
        District = "district", "区（县、市）级", "district or county";
        /// 镇街级.
        Street = "street", "镇（街道）级", "town or subdistrict";
    }
}

wire_enum! {
    /// Service target (服务对象).
    Target {
        /// 自然人.
        Citizen = "citizen", "自然人", "citizens";
        /// 法人.
        Company = "company", "法人", "companies and organisations";
    }
}

wire_enum! {
    /// Life-event topic (生命周期主题).
    LifeEvent {
        /// 出生.
        Birth = "birth", "出生", "birth";
        /// 入学/教育.
        Education = "education", "入学教育", "school and education";
        /// 就业.
        Employment = "employment", "就业创业", "work";
        /// 婚育.
        MarriageBirth = "marriage_birth", "婚姻生育", "marriage and family";
        /// 住房.
        Housing = "housing", "住房", "housing";
        /// 社保.
        SocialSecurity = "social_security", "社会保障", "social security";
        /// 退休/养老.
        Retirement = "retirement", "退休养老", "retirement";
        /// 医疗健康.
        Health = "health", "医疗健康", "health";
        /// 开办企业.
        Business = "business", "开办企业", "starting a business";
        /// 出行/出入境.
        Travel = "travel", "交通出行", "travel and driving";
        /// 迁居.
        Relocation = "relocation", "户籍迁居", "moving and residence";
        /// 社会救助.
        Assistance = "assistance", "社会救助", "social assistance";
        /// 身后事.
        Death = "death", "身后事", "after a death";
    }
}

wire_enum! {
    /// Channel (办理渠道).
    Channel {
        /// 网上办.
        Online = "online", "网上办", "online";
        /// 窗口办.
        Counter = "counter", "窗口办", "at a counter";
        /// 掌上办.
        Mobile = "mobile", "掌上办", "on a phone";
    }
}

wire_enum! {
    /// How a material is handed in (材料形式).
    MaterialForm {
        /// 原件.
        Original = "original", "原件", "original";
        /// 复印件.
        Copy = "copy", "复印件", "copy";
        /// 电子文件.
        Electronic = "electronic", "电子文件", "electronic file";
        /// 在申请表中填写.
        Form = "form", "在申请表中填写", "given on the form";
        /// 照片.
        Photo = "photo", "照片", "photo";
        /// 现场采集.
        Biometric = "biometric", "现场采集", "taken at the counter";
    }
}

wire_enum! {
    /// Where the government's copy of a material comes from.
    SourceKind {
        /// A catalog dataset of the tenant (its `name`).
        Dataset = "dataset", "数据集", "dataset";
        /// An electronic licence type (电子证照类型).
        Licence = "licence", "电子证照", "electronic licence";
    }
}

/// The government already holds a material (免提交): which source supplies it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HeldBy {
    /// Dataset or electronic licence.
    pub kind: SourceKind,
    /// Catalog dataset name (`synthetic-register-persons`) or licence type (`出生医学证明`).
    pub name: String,
    /// The source as people read it.
    pub title: Text,
}

/// A required material (申请材料).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Material {
    /// The material.
    pub name: Text,
    /// How it is handed in.
    pub form: MaterialForm,
    /// Copies (≥ 1).
    pub copies: u32,
    /// A note (e.g. only when another person applies).
    pub note: Option<Text>,
    /// Set when the government already holds it: the applicant need not hand it in.
    pub held_by_government: Option<HeldBy>,
}

/// A fee (收费项目).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Fee {
    /// What is paid for.
    pub name: Text,
    /// Amount in 分 (1/100 yuan); `null` when it is set yearly (the basis says where).
    pub amount_fen: Option<i64>,
    /// The charging basis (收费依据).
    pub basis: Text,
}

/// Time limits in working days (办结时限).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TimeLimits {
    /// Statutory limit (法定时限) in working days; `null` when the law sets none in working days.
    pub legal_days: Option<u32>,
    /// Promised limit (承诺时限) in working days; 0 = done on the spot (即办件).
    pub promised_days: u32,
    /// How to read the limits.
    pub note: Option<Text>,
}

/// A place to go (办理地点).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Place {
    /// Name of the hall or counter.
    pub name: Text,
    /// Address.
    pub address: Text,
    /// Opening hours.
    pub hours: Text,
}

/// A legal basis (设定依据): the law and the article.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LegalBasis {
    /// Title of the law or regulation (`zh` in 《》).
    pub law: Text,
    /// The article (`zh`: 第…条; `en`: Article N).
    pub article: Text,
}

/// What an editor writes: one version of a service item. The shape of one entry of the
/// catalog data files plus `department_code` (which the files give once per file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemBody {
    /// Item code, `330100-07-GAJ-001-000` (see the items README).
    pub code: String,
    /// Owner department's code (an onecity-iam department of the tenant).
    pub department_code: String,
    /// Item name (事项名称).
    pub name: Text,
    /// Item type (事项类型).
    #[serde(rename = "type")]
    pub item_type: ItemType,
    /// Competent level.
    pub level: Level,
    /// Service targets.
    pub targets: Vec<Target>,
    /// Life events.
    pub life_events: Vec<LifeEvent>,
    /// Legal basis, at least one with an article.
    pub legal_basis: Vec<LegalBasis>,
    /// Conditions (受理条件).
    pub conditions: Vec<Text>,
    /// Required materials.
    pub materials: Vec<Material>,
    /// Fees; empty = free.
    pub fees: Vec<Fee>,
    /// Time limits.
    pub time_limits: TimeLimits,
    /// Channels.
    pub channels: Vec<Channel>,
    /// 就近办.
    pub nearby: bool,
    /// 异地办 / 跨省通办.
    pub other_place: bool,
    /// Steps (办理流程).
    pub steps: Vec<Text>,
    /// Where to go.
    #[serde(rename = "where")]
    pub where_to_go: Vec<Place>,
    /// Identity assurance needed to apply online.
    pub assurance: AssuranceLevel,
}

impl ItemBody {
    /// The six-digit division element of the code (`330100`), if the code has one.
    pub fn division_code(&self) -> Option<&str> {
        self.code.get(0..6)
    }
}

/// The state of an item: `draft` (never published, or withdrawn then edited),
/// `published` (a version is public), `withdrawn` (no longer public).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemState {
    /// Not (yet) public.
    Draft,
    /// A version is public.
    Published,
    /// Taken out of the hall.
    Withdrawn,
}

impl ItemState {
    /// Storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemState::Draft => "draft",
            ItemState::Published => "published",
            ItemState::Withdrawn => "withdrawn",
        }
    }
    /// Parses a storage name.
    pub fn parse(s: &str) -> Option<Self> {
        [ItemState::Draft, ItemState::Published, ItemState::Withdrawn]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// The owner department as an item shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DepartmentRef {
    /// Department id (onecity-iam).
    pub id: Uuid,
    /// Department code.
    pub code: String,
    /// Name (`en` falls back to `zh` when the department has no English name).
    pub name: Text,
}

/// One version of a service item as read back (serialised only: the body is flattened
/// into it).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Item {
    /// Tenant code.
    pub tenant: String,
    /// The version shown (1, 2, …).
    pub version: i64,
    /// The newest version (may be an unpublished draft).
    pub latest_version: i64,
    /// The version the hall shows, or `null` when none is public.
    pub published_version: Option<i64>,
    /// The item's state.
    pub state: ItemState,
    /// When this version was written (RFC 3339).
    pub version_created_at: String,
    /// Who wrote it (`user:…`).
    pub version_created_by: String,
    /// When this version was (last) published, if ever (RFC 3339).
    pub published_at: Option<String>,
    /// Owner department.
    pub department: DepartmentRef,
    /// The content.
    #[serde(flatten)]
    pub body: ItemBody,
}

/// A list row.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ItemSummary {
    /// Item code.
    pub code: String,
    /// Name.
    pub name: Text,
    /// Item type.
    #[serde(rename = "type")]
    pub item_type: ItemType,
    /// Competent level.
    pub level: Level,
    /// Owner department's code.
    pub department_code: String,
    /// Service targets.
    pub targets: Vec<Target>,
    /// Life events.
    pub life_events: Vec<LifeEvent>,
    /// Channels.
    pub channels: Vec<Channel>,
    /// Promised limit in working days.
    pub promised_days: u32,
    /// The version listed (published, or latest for editors asking for drafts).
    pub version: i64,
    /// The item's state.
    pub state: ItemState,
}

/// One entry of an item's history (newest first).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ItemVersion {
    /// Version number.
    pub version: i64,
    /// `create` or `update`.
    pub change: String,
    /// Who wrote it.
    pub created_by: String,
    /// When (RFC 3339).
    pub created_at: String,
    /// When it was last published, if ever.
    pub published_at: Option<String>,
    /// Who published it.
    pub published_by: Option<String>,
    /// True for the version the hall shows now.
    pub current: bool,
    /// Item name in that version.
    pub name: Text,
}

/// A validation problem of an item body: where (RFC 6901 JSON pointer) and what, in
/// English and Chinese.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Problem {
    /// JSON pointer into the body (`/materials/2/name/en`); empty for the body itself.
    pub pointer: String,
    /// What is wrong (English).
    pub message: String,
    /// What is wrong (Chinese).
    pub message_zh: String,
}
