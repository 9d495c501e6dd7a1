//! The dataset model: one record is at once a CKAN package and a DCAT-AP 3 `dcat:Dataset`.
//!
//! Classification follows the Chinese national standard GB/T 43697-2024 (数据安全技术 数据分类
//! 分级规则): a grade of core (核心数据), important (重要数据) or general (一般数据) data, and within
//! it a sensitivity level 1–4. The domain is the data rail's P/G/S split: public base data
//! (P, 公共基础数据), government-shared data (G, 政务共享数据) and data opened to society
//! (S, 社会开放数据). The open level says whether a dataset is opened unconditionally
//! (无条件开放), on conditions (有条件开放) or not opened (不予开放).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! wire_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $w:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        pub enum $name { $($(#[$vm])* #[serde(rename = $w)] $v),+ }
        impl $name {
            /// Every value.
            pub const ALL: &'static [$name] = &[$(Self::$v),+];
            /// Wire name.
            pub fn as_str(self) -> &'static str { match self { $(Self::$v => $w),+ } }
            /// Parses a wire name; `invalid_input` naming the allowed values otherwise.
            pub fn parse(s: &str) -> onecity_core::Result<Self> {
                Self::ALL.iter().copied().find(|x| x.as_str() == s).ok_or_else(|| {
                    onecity_core::Error::invalid(format!(
                        "{} must be one of {}, not {s:?}",
                        stringify!($name).to_lowercase(),
                        Self::ALL.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(", ")
                    ))
                })
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

wire_enum!(
    /// Data domain of the data rail (P/G/S).
    Domain {
        /// Public base data (公共基础数据): population, legal persons, geography, e-licences.
        P = "P",
        /// Government-shared data (政务共享数据), shared between departments.
        G = "G",
        /// Data opened to society (社会开放数据).
        S = "S",
    }
);

wire_enum!(
    /// Grade per GB/T 43697-2024 §5 (核心/重要/一般数据).
    Grade {
        /// Core data (核心数据).
        Core = "core",
        /// Important data (重要数据).
        Important = "important",
        /// General data (一般数据).
        General = "general",
    }
);

wire_enum!(
    /// How far a dataset is opened to the public (开放属性).
    OpenLevel {
        /// Opened without conditions (无条件开放): metadata and data public.
        Unconditional = "unconditional",
        /// Opened on conditions (有条件开放): metadata public, data by application.
        Conditional = "conditional",
        /// Not opened (不予开放): metadata visible to staff only.
        NotOpen = "not_open",
    }
);

wire_enum!(
    /// How often a dataset is updated (更新频率); maps to the EU frequency vocabulary in DCAT.
    Frequency {
        /// Continuously / in real time (实时).
        Realtime = "realtime",
        /// Daily (每日).
        Daily = "daily",
        /// Weekly (每周).
        Weekly = "weekly",
        /// Monthly (每月).
        Monthly = "monthly",
        /// Quarterly (每季度).
        Quarterly = "quarterly",
        /// Yearly (每年).
        Yearly = "yearly",
        /// Irregular (不定期).
        Irregular = "irregular",
        /// Never updated (不更新).
        Never = "never",
    }
);

impl Frequency {
    /// The longest time between two updates before a dataset is stale, in seconds
    /// (`None` for irregular and never). Used by the responsibility list's freshness SLA
    /// when an entry gives none of its own.
    pub fn max_age_secs(self) -> Option<i64> {
        const D: i64 = 86_400;
        match self {
            Self::Realtime => Some(3_600),
            Self::Daily => Some(D),
            Self::Weekly => Some(7 * D),
            Self::Monthly => Some(31 * D),
            Self::Quarterly => Some(92 * D),
            Self::Yearly => Some(366 * D),
            Self::Irregular | Self::Never => None,
        }
    }

    /// The EU Publications Office frequency authority IRI (used in DCAT-AP).
    pub fn eu_iri(self) -> &'static str {
        match self {
            Self::Realtime => {
                "http://publications.europa.eu/resource/authority/frequency/UPDATE_CONT"
            }
            Self::Daily => "http://publications.europa.eu/resource/authority/frequency/DAILY",
            Self::Weekly => "http://publications.europa.eu/resource/authority/frequency/WEEKLY",
            Self::Monthly => "http://publications.europa.eu/resource/authority/frequency/MONTHLY",
            Self::Quarterly => {
                "http://publications.europa.eu/resource/authority/frequency/QUARTERLY"
            }
            Self::Yearly => "http://publications.europa.eu/resource/authority/frequency/ANNUAL",
            Self::Irregular => "http://publications.europa.eu/resource/authority/frequency/IRREG",
            Self::Never => "http://publications.europa.eu/resource/authority/frequency/NEVER",
        }
    }
}

wire_enum!(
    /// Kind of a resource (distribution).
    ResourceKind {
        /// A downloadable file.
        File = "file",
        /// An API endpoint.
        Api = "api",
        /// A datastore table (typed rows served by the datastore API, keyed by resource id).
        Datastore = "datastore",
    }
);

wire_enum!(
    /// Type of a schema field.
    FieldType {
        /// Text.
        Text = "text",
        /// 64-bit integer.
        Integer = "integer",
        /// Floating-point number.
        Number = "number",
        /// true/false.
        Boolean = "boolean",
        /// Calendar date (YYYY-MM-DD).
        Date = "date",
        /// Date and time (RFC 3339).
        Datetime = "datetime",
        /// Any JSON value.
        Json = "json",
    }
);

/// One field of a dataset's schema (数据项).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Field {
    /// Column name (1–64 characters), unique within the dataset.
    pub name: String,
    /// Human title (Chinese or English).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Value type.
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// Unit of measure (e.g. `m`, `人`, `mg/L`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Code table the values come from (e.g. `GB/T 2260`, `GB/T 2261.1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_table: Option<String>,
    /// True when the field holds personal information (个人信息): masked when shared.
    #[serde(default)]
    pub personal: bool,
    /// Free-text description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A resource (CKAN resource, DCAT distribution) of a dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Resource {
    /// Resource id (UUIDv7); the datastore keys its tables by it.
    pub id: Uuid,
    /// Dataset it belongs to.
    pub dataset_id: Uuid,
    /// Position within the dataset (0-based).
    pub position: i64,
    /// Name.
    pub name: String,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Access or download URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Format, upper-case (`CSV`, `JSON`, `XLSX`, `API`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Media type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mimetype: Option<String>,
    /// Kind.
    pub kind: ResourceKind,
    /// Size in bytes, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
    /// Creation time (RFC 3339 UTC).
    pub created_at: String,
    /// Last change (RFC 3339 UTC).
    pub updated_at: String,
}

/// A dataset (数据资源目录条目).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Dataset {
    /// Dataset id (UUIDv7); the sharing module keys grants by it.
    pub id: Uuid,
    /// Tenant code.
    pub tenant: String,
    /// URL-safe unique name (slug, CKAN `name`): lower-case ASCII letters, digits, `-`, `_`,
    /// 2–100 characters, unique in the deployment.
    pub name: String,
    /// Title in the local language.
    pub title: String,
    /// English title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title_en: Option<String>,
    /// Description (Markdown) in the local language.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// English description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes_en: Option<String>,
    /// Owner department (onecity_iam department id) = CKAN organization.
    pub owner_department_id: Uuid,
    /// Jurisdiction of the owner department.
    pub jurisdiction_id: Uuid,
    /// Domain P/G/S.
    pub domain: Domain,
    /// Topic (CKAN group name), e.g. `transport`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// Grade per GB/T 43697-2024.
    pub grade: Grade,
    /// Sensitivity level 1 (lowest) – 4 (highest).
    pub sensitivity: i64,
    /// Open level.
    pub open_level: OpenLevel,
    /// Update frequency.
    pub update_frequency: Frequency,
    /// Licence id (e.g. `cc-by-4.0`) or IRI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub license_id: Option<String>,
    /// Publisher's version label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Publisher name as the source states it (harvested datasets); else the department.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publisher: Option<String>,
    /// Landing page or source IRI (harvested datasets).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Tags (keywords), any script.
    pub tags: Vec<String>,
    /// Schema fields.
    pub fields: Vec<Field>,
    /// Resources in position order.
    pub resources: Vec<Resource>,
    /// Time the data was last refreshed by its owner (RFC 3339), for freshness SLAs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_updated_at: Option<String>,
    /// Revision, 1 on creation, +1 on every change (optimistic concurrency, history key).
    pub revision: i64,
    /// `active` or `deleted`.
    pub state: String,
    /// Creation time (RFC 3339 UTC).
    pub created_at: String,
    /// Last metadata change (RFC 3339 UTC).
    pub updated_at: String,
}

/// A resource as given on create/update.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct NewResource {
    /// Existing id to keep (update), else a new one is made.
    #[serde(default)]
    pub id: Option<Uuid>,
    /// Name (1–200 characters); defaults to the URL's last segment.
    #[serde(default)]
    pub name: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// URL (≤ 2,000 characters).
    #[serde(default)]
    pub url: Option<String>,
    /// Format.
    #[serde(default)]
    pub format: Option<String>,
    /// Media type.
    #[serde(default)]
    pub mimetype: Option<String>,
    /// Kind (default `file`).
    #[serde(default)]
    pub kind: Option<ResourceKind>,
    /// Size in bytes.
    #[serde(default)]
    pub size: Option<i64>,
}

/// A dataset as given on create or full update.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct NewDataset {
    /// Slug; made from the title (transliterated) when absent.
    #[serde(default)]
    pub name: Option<String>,
    /// Title (1–500 characters).
    pub title: String,
    /// English title.
    #[serde(default)]
    pub title_en: Option<String>,
    /// Description.
    #[serde(default)]
    pub notes: Option<String>,
    /// English description.
    #[serde(default)]
    pub notes_en: Option<String>,
    /// Owner department id.
    pub owner_department_id: Uuid,
    /// Domain (default `G`).
    #[serde(default)]
    pub domain: Option<Domain>,
    /// Topic (group name).
    #[serde(default)]
    pub topic: Option<String>,
    /// Grade (default `general`).
    #[serde(default)]
    pub grade: Option<Grade>,
    /// Sensitivity 1–4 (default 1).
    #[serde(default)]
    pub sensitivity: Option<i64>,
    /// Open level (default `not_open`).
    #[serde(default)]
    pub open_level: Option<OpenLevel>,
    /// Update frequency (default `irregular`).
    #[serde(default)]
    pub update_frequency: Option<Frequency>,
    /// Licence.
    #[serde(default)]
    pub license_id: Option<String>,
    /// Version label.
    #[serde(default)]
    pub version: Option<String>,
    /// Publisher name.
    #[serde(default)]
    pub publisher: Option<String>,
    /// Source IRI.
    #[serde(default)]
    pub source: Option<String>,
    /// Tags (≤ 100, each 1–100 characters).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Schema (≤ 500 fields).
    #[serde(default)]
    pub fields: Vec<Field>,
    /// Resources (≤ 200).
    #[serde(default)]
    pub resources: Vec<NewResource>,
}
