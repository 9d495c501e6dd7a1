//! Language negotiation and the console's UI labels (Chinese and English).

use std::collections::BTreeMap;

use http::header::{ACCEPT_LANGUAGE, COOKIE};
use http::HeaderMap;

/// Name of the cookie that remembers the chosen UI language.
pub const LANG_COOKIE: &str = "lang";

/// A UI language of the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Simplified Chinese (`zh`).
    Zh,
    /// English (`en`), the default.
    En,
}

impl Lang {
    /// The short code used in `?lang=`, the cookie and the templates.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The value for the HTML `lang` attribute.
    pub fn html_lang(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// Parses a language tag: `zh`, `zh-CN`, `zh-Hans`… give Chinese, `en`, `en-GB`…
    /// give English (case-insensitive); anything else is `None`.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next().unwrap_or("");
        if primary.eq_ignore_ascii_case("zh") {
            Some(Lang::Zh)
        } else if primary.eq_ignore_ascii_case("en") {
            Some(Lang::En)
        } else {
            None
        }
    }
}

/// The outcome of [`negotiate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Negotiated {
    /// The language to render in.
    pub lang: Lang,
    /// True when the language came from `?lang=` and must be stored in the cookie.
    pub set_cookie: bool,
}

/// Chooses the UI language: `?lang=zh|en` (which also sets the cookie), else the
/// `lang` cookie, else `Accept-Language` (the most preferred of Chinese and English),
/// else English.
pub fn negotiate(raw_query: Option<&str>, headers: &HeaderMap) -> Negotiated {
    if let Some(lang) = raw_query.and_then(lang_from_query) {
        return Negotiated {
            lang,
            set_cookie: true,
        };
    }
    let lang = lang_from_cookie(headers)
        .or_else(|| {
            let values: Vec<&str> = headers
                .get_all(ACCEPT_LANGUAGE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            lang_from_accept_language(&values.join(","))
        })
        .unwrap_or(Lang::En);
    Negotiated {
        lang,
        set_cookie: false,
    }
}

/// The language named by a `lang` parameter of a raw query string, if valid.
pub fn lang_from_query(raw_query: &str) -> Option<Lang> {
    raw_query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .filter(|(k, _)| *k == "lang")
        .find_map(|(_, v)| Lang::from_tag(v))
}

/// The language stored in the `lang` cookie, if any and valid.
pub fn lang_from_cookie(headers: &HeaderMap) -> Option<Lang> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .filter(|(k, _)| *k == LANG_COOKIE)
        .find_map(|(_, v)| Lang::from_tag(v.trim_matches('"')))
}

/// The most preferred supported language of an `Accept-Language` value (RFC 9110
/// weights; ties go to the earlier entry), or `None` when it names neither.
pub fn lang_from_accept_language(value: &str) -> Option<Lang> {
    let mut best: Option<(f32, Lang)> = None;
    for item in value.split(',') {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or("").trim();
        let mut q = 1.0_f32;
        for param in parts {
            if let Some((k, v)) = param.trim().split_once('=') {
                if k.trim().eq_ignore_ascii_case("q") {
                    q = v.trim().parse().unwrap_or(0.0);
                }
            }
        }
        if q <= 0.0 {
            continue;
        }
        let Some(lang) = Lang::from_tag(tag) else {
            continue;
        };
        if best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, lang));
        }
    }
    best.map(|(_, lang)| lang)
}

/// The `Set-Cookie` value that remembers `lang` for a year.
pub fn lang_cookie(lang: Lang) -> String {
    format!(
        "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
        lang.code()
    )
}

/// `path` with its query string, `lang` replaced by `lang` (for the language toggle).
pub fn href_with_lang(path: &str, raw_query: Option<&str>, lang: Lang) -> String {
    let mut pairs: Vec<&str> = raw_query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty() && *p != "lang" && !p.starts_with("lang="))
        .collect();
    let lang_pair = format!("lang={}", lang.code());
    pairs.push(&lang_pair);
    format!("{path}?{}", pairs.join("&"))
}

/// (key, English, Chinese). Domain terms keep the other language beside them.
const LABELS: &[(&str, &str, &str)] = &[
    ("app_name", "onecity console", "一城 控制台"),
    ("nav_main", "Main navigation", "主导航"),
    ("nav_map", "Map 地图", "地图 Map"),
    ("nav_inbox", "To-do 待办", "待办 To-do"),
    ("nav_admin", "Admin 管理", "管理 Admin"),
    ("nav_catalog", "Catalog 数据目录", "数据目录 Catalog"),
    ("nav_portal", "Open data 开放数据", "开放数据 Open data"),
    // open-data portal
    (
        "portal_title",
        "Open data portal 开放数据门户",
        "开放数据门户 Open data portal",
    ),
    ("portal_query", "Search", "搜索"),
    (
        "portal_placeholder",
        "e.g. 公交, bus, water level",
        "例如：公交、水位、bus",
    ),
    ("portal_search", "Search", "搜索"),
    ("portal_filters", "Filters", "筛选"),
    ("portal_facets", "Filters 筛选", "筛选 Filters"),
    ("portal_datasets", "datasets 数据集", "个数据集 datasets"),
    ("portal_none", "No dataset matches.", "没有匹配的数据集。"),
    ("portal_back", "Back to search", "返回搜索"),
    ("portal_resources", "Resources 资源", "资源 Resources"),
    ("portal_resource", "Resource", "资源"),
    ("portal_format", "Format", "格式"),
    ("portal_download", "Download", "下载"),
    (
        "portal_preview",
        "Table preview 数据预览 (first rows)",
        "数据预览 Table preview（前几行）",
    ),
    (
        "portal_download_csv",
        "Download CSV 下载 CSV",
        "下载 CSV Download CSV",
    ),
    ("portal_api_help", "API help 接口说明", "接口说明 API help"),
    (
        "portal_api_show",
        "this dataset's metadata",
        "本数据集的元数据",
    ),
    ("portal_api_datastore", "rows of", "数据行"),
    (
        "portal_frequency",
        "Update frequency 更新频率",
        "更新频率 Update frequency",
    ),
    ("portal_license", "Licence 许可", "许可 Licence"),
    (
        "facet_organization",
        "Publisher 发布部门",
        "发布部门 Publisher",
    ),
    ("facet_tags", "Tags 标签", "标签 Tags"),
    ("facet_res_format", "Format 格式", "格式 Format"),
    (
        "facet_domain",
        "Domain 数据域 (P/G/S)",
        "数据域 Domain (P/G/S)",
    ),
    (
        "facet_open_level",
        "Open level 开放属性",
        "开放属性 Open level",
    ),
    ("facet_grade", "Grade 分级", "分级 Grade"),
    // catalog admin
    ("catalog_title", "Catalog 数据目录", "数据目录 Catalog"),
    ("catalog_dataset", "Dataset 数据集", "数据集 Dataset"),
    ("catalog_dataset_title", "Title 标题", "标题 Title"),
    (
        "catalog_owner",
        "Owner department 责任部门",
        "责任部门 Owner department",
    ),
    ("catalog_domain", "Domain 数据域", "数据域 Domain"),
    ("catalog_grade", "Grade 分级", "分级 Grade"),
    (
        "catalog_open_level",
        "Open level 开放属性",
        "开放属性 Open level",
    ),
    ("catalog_resources", "Resources 资源", "资源 Resources"),
    (
        "catalog_tags",
        "Tags 标签 (comma-separated)",
        "标签 Tags（逗号分隔）",
    ),
    (
        "catalog_new",
        "Describe a dataset 新增目录",
        "新增目录 Describe a dataset",
    ),
    ("catalog_create", "Create", "创建"),
    ("catalog_created", "Created", "已创建"),
    (
        "catalog_lists",
        "The three lists 三清单",
        "三清单 The three lists",
    ),
    (
        "catalog_negative",
        "Negative list 负面清单",
        "负面清单 Negative list",
    ),
    (
        "catalog_responsibility",
        "Responsibility list 责任清单",
        "责任清单 Responsibility list",
    ),
    (
        "catalog_demand",
        "Demand list 需求清单",
        "需求清单 Demand list",
    ),
    (
        "open_unconditional",
        "unconditional 无条件开放",
        "无条件开放 unconditional",
    ),
    (
        "open_conditional",
        "conditional 有条件开放",
        "有条件开放 conditional",
    ),
    ("open_not_open", "not open 不予开放", "不予开放 not open"),
    (
        "nav_exchange",
        "Data exchange 数据交换",
        "数据交换 Data exchange",
    ),
    // exchange dashboard (数据交换)
    (
        "exchange_title",
        "Data exchange 数据交换",
        "数据交换 Data exchange",
    ),
    ("exchange_calls", "Calls", "调用次数"),
    ("exchange_denied", "Refused", "拒绝次数"),
    ("exchange_rows", "Rows", "行数"),
    ("exchange_bytes", "Bytes", "字节数"),
    ("exchange_day", "Day", "日期"),
    ("exchange_dataset", "Dataset 数据集", "数据集 Dataset"),
    (
        "exchange_consumer",
        "Consumer department 使用部门",
        "使用部门 Consumer department",
    ),
    (
        "exchange_provider",
        "Provider department 提供部门",
        "提供部门 Provider department",
    ),
    ("exchange_from", "From", "起始日"),
    ("exchange_to", "To", "截止日"),
    (
        "exchange_empty",
        "No exchanges in this period.",
        "此期间无数据交换。",
    ),
    ("exchange_by_dataset", "By dataset", "按数据集"),
    ("nav_events", "Events 事件", "事件 Events"),
    // events console and dispatch desk (一网统管)
    (
        "events_title",
        "Events and dispatch 事件与派单",
        "事件与派单 Events and dispatch",
    ),
    ("events_map_label", "Map of events", "事件地图"),
    ("events_list", "Events 事件", "事件 Events"),
    ("status_label", "Status 状态", "状态 Status"),
    ("status_open", "Open 未办结", "未办结 Open"),
    ("status_closed", "Closed 已办结", "已办结 Closed"),
    ("category", "Category 类别", "类别 Category"),
    ("all_categories", "All categories", "全部类别"),
    (
        "near_border",
        "Near a border 边界附近",
        "边界附近 Near a border",
    ),
    ("requested", "Requested 受理时间", "受理时间 Requested"),
    ("place", "Place 位置", "位置 Place"),
    ("event", "Event 事件", "事件 Event"),
    (
        "dispatch_desk",
        "Dispatch desk 派单台",
        "派单台 Dispatch desk",
    ),
    ("dispatch_to", "Dispatch to 派往", "派往 Dispatch to"),
    ("co_handling", "Co-handling 协办", "协办 Co-handling"),
    ("reason", "Reason 理由", "理由 Reason"),
    ("dispatch_submit", "Dispatch 派单", "派单 Dispatch"),
    ("dispatched", "Dispatched 已派单", "已派单 Dispatched"),
    ("work_order", "Work order 工单", "工单 Work order"),
    ("deadline", "Deadline 办理时限", "办理时限 Deadline"),
    ("no_events", "No events.", "暂无事件。"),
    ("nav_stats", "Statistics 统计", "统计 Statistics"),
    ("nav_plans", "Plans 预案", "预案 Plans"),
    (
        "plans_title",
        "Linkage plans 应急联动预案",
        "应急联动预案 Linkage plans",
    ),
    ("plan_list", "Plans 预案", "预案 Plans"),
    ("plan_new", "New plan 新建预案", "新建预案 New plan"),
    ("plan_edit", "Plan 预案", "预案 Plan"),
    ("alert_type", "Alert type 预警类型", "预警类型 Alert type"),
    ("alert_level", "Level 预警级别", "预警级别 Level"),
    ("level_blue", "Blue 蓝色 (IV)", "蓝色 Blue (IV级)"),
    ("level_yellow", "Yellow 黄色 (III)", "黄色 Yellow (III级)"),
    ("level_orange", "Orange 橙色 (II)", "橙色 Orange (II级)"),
    ("level_red", "Red 红色 (I)", "红色 Red (I级)"),
    ("plan_name", "Name 名称", "名称 Name"),
    ("plan_tasks", "Tasks 任务", "任务 Tasks"),
    ("task_title", "Task 任务内容", "任务内容 Task"),
    (
        "deadline_hours",
        "Deadline (hours) 时限（小时）",
        "时限（小时） Deadline (hours)",
    ),
    ("task_add", "Add task 添加任务", "添加任务 Add task"),
    ("task_remove", "Remove 删除", "删除 Remove"),
    ("plan_save", "Save plan 保存预案", "保存预案 Save plan"),
    (
        "plan_saved",
        "Plan saved 预案已保存",
        "预案已保存 Plan saved",
    ),
    (
        "stats_title",
        "Governance statistics 统计分析",
        "统计分析 Governance statistics",
    ),
    ("stats_from", "From 起", "起 From"),
    ("stats_to", "To (exclusive) 止", "止 To (exclusive)"),
    ("stats_show", "Show 查询", "查询 Show"),
    ("stats_total", "Totals 总体", "总体 Totals"),
    ("stats_events", "Events 事件数", "事件数 Events"),
    ("stats_closed", "Closed 办结数", "办结数 Closed"),
    (
        "stats_on_time",
        "On-time rate 按时办结率",
        "按时办结率 On-time rate",
    ),
    (
        "stats_satisfaction",
        "Satisfaction 满意度 (1–5)",
        "满意度 Satisfaction (1–5)",
    ),
    ("stats_repeat", "Repeat rate 重复率", "重复率 Repeat rate"),
    (
        "stats_by_category",
        "By category 按类别",
        "按类别 By category",
    ),
    (
        "stats_hot_spots",
        "Hot spots by grid 热点网格",
        "热点网格 Hot spots by grid",
    ),
    ("stats_grid", "Grid 网格", "网格 Grid"),
    (
        "stats_chart_label",
        "Events per hot-spot grid",
        "热点网格事件数",
    ),
    ("tenant", "Tenant 租户", "租户 Tenant"),
    ("language", "Language", "语言"),
    ("logout", "Log out", "退出登录"),
    // second factor at sign-in and security settings (安全设置)
    ("nav_security", "Security 安全", "安全 Security"),
    ("mfa_prompt", "Enter the 6-digit code from your authenticator app, a recovery code, or use your security key.", "请输入身份验证器应用中的 6 位动态口令或一个恢复码，或使用安全密钥。"),
    ("mfa_code", "Code 验证码", "验证码 Code"),
    ("mfa_code_missing", "Enter a code.", "请输入验证码。"),
    ("mfa_verify", "Verify", "验证"),
    ("mfa_use_key", "Use security key", "使用安全密钥"),
    ("mfa_restart", "Start over", "重新登录"),
    ("mfa_key_failed", "The security key did not answer", "安全密钥未响应"),
    ("security_title", "Security settings 安全设置", "安全设置 Security settings"),
    ("security_enrol_notice", "Your role requires a second factor. Set up an authenticator app or a security key to continue.", "您的角色要求第二重身份验证。请先设置身份验证器应用或安全密钥。"),
    ("security_totp", "Authenticator app (TOTP) 动态口令", "动态口令 Authenticator app (TOTP)"),
    ("security_totp_on", "On: sign-ins ask for a code.", "已启用：登录时需输入动态口令。"),
    ("security_totp_off", "Off.", "未启用。"),
    ("security_totp_setup", "Set up authenticator app", "设置身份验证器应用"),
    ("security_totp_scan", "Scan the QR code with the app, then enter the code it shows.", "用应用扫描二维码，然后输入应用显示的验证码。"),
    ("security_totp_qr", "QR code of the TOTP secret", "动态口令密钥二维码"),
    ("security_totp_secret", "Or enter this key:", "或手动输入密钥："),
    ("security_totp_confirm", "Confirm", "确认"),
    ("security_totp_disable_code", "Current code or a recovery code", "当前验证码或恢复码"),
    ("security_totp_disable", "Turn off", "停用"),
    ("security_keys", "Security keys 安全密钥", "安全密钥 Security keys"),
    ("security_keys_off", "Security keys are not available on this server or in this browser.", "此服务器或浏览器不支持安全密钥。"),
    ("security_key_name", "Key name", "密钥名称"),
    ("security_key_add", "Add security key", "添加安全密钥"),
    ("security_key_remove", "Remove", "移除"),
    ("security_codes", "Recovery codes 恢复码", "恢复码 Recovery codes"),
    ("security_codes_left", "Unused codes", "未使用的恢复码"),
    ("security_codes_once", "Keep these codes somewhere safe: each works once, and they are shown only now.", "请妥善保存这些恢复码：每个只能使用一次，且只显示这一次。"),
    ("security_codes_regenerate", "New recovery codes", "生成新的恢复码"),
    ("security_continue", "Continue", "继续"),
    ("security_history", "Sign-in history 登录记录", "登录记录 Sign-in history"),
    ("security_history_time", "Time", "时间"),
    ("security_history_address", "Address", "地址"),
    ("security_history_method", "Method", "方式"),
    ("security_history_result", "Result", "结果"),
    ("security_history_ok", "Succeeded", "成功"),
    ("security_history_failed", "Failed", "失败"),
    // citizen pages (register, real-name, companies)
    ("nav_register", "Register 注册", "注册 Register"),
    ("nav_real_name", "Real name 实名认证", "实名认证 Real name"),
    ("nav_companies", "Companies 法人授权", "法人授权 Companies"),
    ("register_title", "Register 注册", "注册 Register"),
    ("citizen_tenant", "City (tenant code) 城市", "城市（租户代码）City"),
    ("phone", "Mobile number 手机号", "手机号 Mobile number"),
    ("send_code", "Send code", "获取验证码"),
    ("otp_code", "Verification code 验证码", "验证码 Verification code"),
    (
        "password_optional",
        "Password (optional, 10+ characters)",
        "密码（可选，至少10位）",
    ),
    ("register_submit", "Register / sign in", "注册 / 登录"),
    (
        "register_privacy",
        "A 6-digit code is sent by SMS and is valid for 5 minutes. A number that already has an account signs in to it.",
        "验证码以短信发送，5分钟内有效。已注册的手机号将直接登录该账号。",
    ),
    (
        "register_missing",
        "Enter the city and a mobile number.",
        "请输入城市和手机号。",
    ),
    (
        "code_sent",
        "Code sent to {to}, valid {min} min.",
        "验证码已发送至 {to}，{min}分钟内有效。",
    ),
    ("code_missing", "Enter the 6-digit code.", "请输入6位验证码。"),
    ("real_name_title", "Real-name check 实名认证", "实名认证 Real-name check"),
    ("assurance_level", "Assurance level", "认证等级"),
    (
        "assurance_help",
        "low: phone verified; substantial: name and identity number confirmed by the register; high: not available online.",
        "低：已验证手机号；较高：姓名与身份证号经登记库核验；高：暂不支持线上办理。",
    ),
    ("level_none", "none 无", "无 none"),
    ("level_low", "low 低", "低 low"),
    ("level_substantial", "substantial 较高", "较高 substantial"),
    ("level_high", "high 高", "高 high"),
    ("real_name_name", "Name 姓名", "姓名 Name"),
    ("id_number", "Identity number 身份证号", "身份证号 Identity number"),
    ("real_name_submit", "Verify", "提交认证"),
    (
        "real_name_missing",
        "Enter a name and the 18-character identity number.",
        "请输入姓名和18位身份证号。",
    ),
    (
        "real_name_done",
        "Real-name check passed.",
        "实名认证已通过。",
    ),
    ("verified_by", "Verified by", "核验方"),
    ("synthetic", "synthetic register, demo data", "合成数据库，演示数据"),
    ("companies_title", "Company mandates 法人授权", "法人授权 Company mandates"),
    ("company_register", "Company 企业", "企业 Company"),
    (
        "credit_code",
        "Unified social credit code 统一社会信用代码",
        "统一社会信用代码 Unified social credit code",
    ),
    ("company_name", "Company name 企业名称", "企业名称 Company name"),
    ("company_register_submit", "Register as legal representative", "登记为法定代表人"),
    ("company_open", "Open", "打开"),
    ("mandate_agent", "Agent", "被授权人"),
    ("mandate_actions", "Actions", "授权事项"),
    ("mandate_until", "Valid until", "有效期至"),
    ("mandate_state", "State", "状态"),
    ("mandate_grant", "Grant a mandate 授权", "授权 Grant a mandate"),
    ("mandate_agent_phone", "Agent's mobile number", "被授权人手机号"),
    (
        "mandate_actions_input",
        "Actions (item codes, comma-separated; * = all)",
        "授权事项（事项编码，逗号分隔；* 表示全部）",
    ),
    ("mandate_grant_submit", "Grant", "授权"),
    ("mandate_revoke", "Revoke", "撤销"),
    ("mandate_active", "active 有效", "有效 active"),
    ("mandate_expired", "expired 已过期", "已过期 expired"),
    ("mandate_revoked", "revoked 已撤销", "已撤销 revoked"),
    (
        "mandate_missing",
        "Enter actions and a date.",
        "请输入授权事项和日期。",
    ),
    // login
    ("login_title", "Sign in 登录", "登录 Sign in"),
    ("username", "Username", "用户名"),
    ("password", "Password", "密码"),
    ("login_submit", "Sign in", "登录"),
    ("login_failed", "Sign-in failed", "登录失败"),
    (
        "login_sso",
        "Sign in with single sign-on 统一身份认证",
        "统一身份认证登录 Single sign-on",
    ),
    (
        "login_missing",
        "Enter a username and password.",
        "请输入用户名和密码。",
    ),
    // map
    ("map_title", "Map 地图", "地图 Map"),
    ("map_label", "City map", "城市地图"),
    ("boundaries", "Boundaries 行政区划", "行政区划 Boundaries"),
    ("grids", "Grids 网格", "网格 Grids"),
    (
        "lookup",
        "Location lookup 位置查询",
        "位置查询 Location lookup",
    ),
    (
        "lookup_hint",
        "Click the map to find the jurisdiction and grid at a point.",
        "点击地图以查询该点所属的行政区划和网格。",
    ),
    (
        "lookup_none",
        "No jurisdiction at this point.",
        "此处不属于任何行政区划。",
    ),
    ("lookup_grid", "grid", "网格"),
    ("lookup_no_grid", "no grid", "无网格"),
    ("loading", "Loading…", "加载中…"),
    ("no_tenants", "No tenants available.", "没有可用的租户。"),
    ("no_boundaries", "No boundaries.", "没有行政区划。"),
    // admin
    ("admin_title", "Admin 管理", "管理 Admin"),
    (
        "jurisdictions",
        "Jurisdictions 行政区划",
        "行政区划 Jurisdictions",
    ),
    ("departments", "Departments 部门", "部门 Departments"),
    ("users", "Users 用户", "用户 Users"),
    ("code", "Code", "代码"),
    ("name", "Name (Chinese or local)", "名称"),
    ("name_en", "English name", "英文名称"),
    ("level", "Level 层级", "层级 Level"),
    ("parent", "Parent", "上级"),
    ("none", "(none)", "（无）"),
    (
        "jurisdiction",
        "Jurisdiction 行政区划",
        "行政区划 Jurisdiction",
    ),
    ("department", "Department 部门", "部门 Department"),
    ("display_name", "Display name", "显示名称"),
    ("kind", "Kind", "类型"),
    ("roles", "Roles 角色", "角色 Roles"),
    ("role", "Role 角色", "角色 Role"),
    (
        "role_scope",
        "Role scope (jurisdiction)",
        "角色范围（行政区划）",
    ),
    ("create", "Create", "创建"),
    ("add_jurisdiction", "Add jurisdiction", "新增行政区划"),
    ("add_department", "Add department", "新增部门"),
    ("add_user", "Add user", "新增用户"),
    ("more", "Load more", "加载更多"),
    ("empty", "Nothing yet.", "暂无数据。"),
    ("created", "Created.", "已创建。"),
    // inbox (一体办公)
    ("inbox_title", "To-do 待办", "待办 To-do"),
    ("inbox_counts", "To-do counts", "待办统计"),
    ("inbox_total", "To-do 待办", "待办 To-do"),
    ("overdue", "Overdue 超期", "超期 Overdue"),
    (
        "due_soon",
        "Due within 24 h 即将到期",
        "即将到期 Due within 24 h",
    ),
    ("filters", "Filters", "筛选"),
    ("flow", "Flow 流程", "流程 Flow"),
    ("all_flows", "All flows", "全部流程"),
    ("any", "Any", "全部"),
    ("overdue_only", "Overdue only", "仅超期"),
    ("not_overdue", "Not overdue", "未超期"),
    ("refresh", "Refresh", "刷新"),
    ("case_title", "Title 标题", "标题 Title"),
    ("state", "State 状态", "状态 State"),
    ("due", "Due 到期", "到期 Due"),
    ("case_due", "Case due 办结时限", "办结时限 Case due"),
    ("escalation", "Escalation 升级", "升级 Escalation"),
    ("breached", "SLA breached", "已超时"),
    ("inbox_empty", "Nothing to do.", "暂无待办。"),
    ("case", "Case 案件", "案件 Case"),
    ("case_data", "Details 详情", "详情 Details"),
    ("history", "History 办理记录", "办理记录 History"),
    ("actions", "Actions 办理", "办理 Actions"),
    (
        "no_actions",
        "No action is open to you.",
        "您暂无可办理的操作。",
    ),
    ("claim", "Sign for 签收", "签收 Sign for"),
    ("claimed", "Signed for.", "已签收。"),
    ("action_done", "Done.", "已办理。"),
    ("assignee", "Assignee 处理人", "处理人 Assignee"),
    ("applicant", "Applicant 申请人", "申请人 Applicant"),
    ("created_at", "Created", "创建时间"),
    ("closed_at", "Closed", "办结时间"),
    ("me", "me", "我"),
    ("unassigned", "unassigned", "未分配"),
    ("queue", "Queue 队列", "队列 Queue"),
    ("comment", "Comment 意见", "意见 Comment"),
    ("description", "Description 描述", "描述 Description"),
    ("rating", "Rating 评分", "评分 Rating"),
    ("satisfaction", "Satisfaction 满意度", "满意度 Satisfaction"),
    ("required", "required", "必填"),
    ("choose", "— choose —", "— 请选择 —"),
    ("user_id", "user id", "用户 ID"),
    ("department_id", "department id", "部门 ID"),
    ("submit", "Submit", "提交"),
    ("cancel", "Cancel", "取消"),
    ("close", "Close", "关闭"),
    (
        "case_changed",
        "The case changed meanwhile and was reloaded; check it and try again.",
        "案件已被他人更新并已重新加载，请核对后重试。",
    ),
    (
        "case_gone",
        "This case is no longer visible to you.",
        "您已无法查看此案件。",
    ),
    ("notifications", "Notifications 通知", "通知 Notifications"),
    ("no_notifications", "No notifications.", "暂无通知。"),
    ("open_case", "Open case", "查看案件"),
    // action keys of the shipped flows (others show their key)
    ("act_APPLY", "Apply 提交", "提交 Apply"),
    ("act_ASSIGN", "Assign 派单", "派单 Assign"),
    ("act_REJECT", "Reject 退回", "退回 Reject"),
    ("act_REASSIGN", "Reassign 改派", "改派 Reassign"),
    ("act_RESOLVE", "Resolve 办结", "办结 Resolve"),
    ("act_ESCALATE", "Escalate 升级", "升级 Escalate"),
    ("act_REOPEN", "Reopen 重新办理", "重新办理 Reopen"),
    ("act_RATE", "Rate 评价", "评价 Rate"),
    ("act_SIGN", "Sign for 签收", "签收 Sign for"),
    ("act_DISPATCH", "Dispatch 派单", "派单 Dispatch"),
    ("act_REPLY", "Reply 答复", "答复 Reply"),
    ("act_RETURN", "Return 退单", "退单 Return"),
    ("act_SEND_BACK", "Send back 退回", "退回 Send back"),
    ("act_CALL_BACK", "Call back 回访", "回访 Call back"),
    ("act_ACCEPT", "Accept 受理", "受理 Accept"),
    ("act_APPROVE", "Approve 同意", "同意 Approve"),
    ("act_REFUSE", "Refuse 不予批准", "不予批准 Refuse"),
    ("act_RESUBMIT", "Resubmit 重新提交", "重新提交 Resubmit"),
    // digital twin
    (
        "twin_title",
        "Digital twin 数字孪生",
        "数字孪生 Digital twin",
    ),
    ("nav_twin", "Twin 孪生", "孪生 Twin"),
    ("twin_entities", "Entities 实体", "实体 Entities"),
    ("twin_tenant", "Tenant 租户", "租户 Tenant"),
    ("twin_type", "Type 类型", "类型 Type"),
    ("twin_all_types", "All types", "全部类型"),
    ("twin_apply", "Filter 筛选", "筛选 Filter"),
    ("twin_attributes", "Attributes 属性", "属性 Attributes"),
    (
        "twin_pick",
        "Pick an entity on the map or in the list.",
        "在地图或列表中选择一个实体。",
    ),
    ("twin_history", "History 历史", "历史 History"),
    ("twin_placed", "placed, not surveyed", "示意位置，非实测"),
    // city brain: metro stations (/console/brain/stations)
    ("nav_stations", "Stations 客流", "客流 Stations"),
    (
        "stations_title",
        "Metro passenger-flow forecasts 地铁客流预测",
        "地铁客流预测 Metro passenger-flow forecasts",
    ),
    (
        "stations_note",
        "Hangzhou metro, January 2019 (real counts); forecasts 10–60 min ahead with 80 % and 95 % intervals. Positions are placed, not surveyed.",
        "杭州地铁 2019 年 1 月实测客流；预测未来 10–60 分钟，含 80 % 与 95 % 区间。站点位置为示意，非实测。",
    ),
    ("stations_none", "No station in this tenant. Run onecity import metro-stations.", "本租户没有站点。请运行 onecity import metro-stations。"),
    ("station_title", "Station 站点", "站点 Station"),
    ("station_id", "Station 站点", "站点 Station"),
    ("station_graph_id", "Graph id 图编号", "图编号 Graph id"),
    ("station_latest", "Latest inflow 最新进站", "最新进站 Latest inflow"),
    ("station_next", "Next forecast 下一时段预测", "下一时段预测 Next forecast"),
    ("station_band80", "80 % interval 80 % 区间", "80 % 区间 80 % interval"),
    ("station_band95", "95 % interval 95 % 区间", "95 % 区间 95 % interval"),
    ("station_status", "Status 状态", "状态 Status"),
    ("station_fresh", "current 有效", "有效 current"),
    ("station_stale", "stale 已过期", "已过期 stale"),
    ("station_no_forecast", "no forecast 无预测", "无预测 no forecast"),
    ("station_no_data", "No data yet.", "暂无数据。"),
    ("station_chart", "Forecast and actual flow 预测与实际客流", "预测与实际客流 Forecast and actual flow"),
    (
        "station_chart_label",
        "Chart: actual inflow per 10 minutes (line) with the forecast and its 80 % and 95 % bands",
        "图：每 10 分钟实际进站客流（折线）及预测值与 80 %、95 % 区间",
    ),
    (
        "station_legend",
        "Red line: actual inflow; dashed: forecast; dark band 80 %, light band 95 %. Times are Beijing time.",
        "红线：实际进站；虚线：预测；深色带 80 %，浅色带 95 %。时间为北京时间。",
    ),
    ("station_for", "For 预测时段", "预测时段 For"),
    ("station_minutes", "Minutes ahead 提前分钟", "提前分钟 Minutes ahead"),
    ("station_forecast", "Forecast 预测", "预测 Forecast"),
    ("station_made", "Made 生成时间", "生成时间 Made"),
    ("station_entity", "Twin entity 孪生实体", "孪生实体 Twin entity"),
    ("station_neighbours", "Neighbours 相邻站", "相邻站 Neighbours"),
    ("station_position", "Position 位置", "位置 Position"),
    ("advice_title", "Evacuation advice 疏散建议", "疏散建议 Evacuation advice"),
    ("advice_none", "No advice 无建议", "无建议 No advice"),
    ("advice_for", "For 时段", "时段 For"),
    ("advice_demand", "Demand 需求", "需求 Demand"),
    ("advice_triggered", "Triggered 已触发", "已触发 Triggered"),
    ("advice_lead", "Lead time 提前量", "提前量 Lead time"),
    ("advice_made", "Made 生成时间", "生成时间 Made"),
    ("advice_mode", "Mode 方式", "方式 Mode"),
    ("advice_vehicles", "Extra vehicles 加派车辆", "加派车辆 Extra vehicles"),
    ("advice_dispatch", "Dispatch at 派出时间", "派出时间 Dispatch at"),
    ("mode_metro", "Metro 地铁", "地铁 Metro"),
    ("mode_bus", "Bus 公交", "公交 Bus"),
    ("mode_taxi", "Taxi 出租车", "出租车 Taxi"),
    ("advice_yes", "yes 是", "是 yes"),
    ("advice_no", "no 否", "否 no"),
    // errors
    ("error", "Error", "错误"),
    (
        "network_error",
        "Network error: the server could not be reached.",
        "网络错误：无法连接服务器。",
    ),
    ("request_failed", "Request failed", "请求失败"),
    // flow designer (/console/flows)
    ("nav_flows", "Flows 流程设计", "流程设计 Flows"),
    ("flows_title", "Flow designer 流程设计器", "流程设计器 Flow designer"),
    ("flows_list", "Flow definitions 流程定义", "流程定义 Flow definitions"),
    ("flows_key", "Key", "标识"),
    ("flows_name", "Name", "名称"),
    ("flows_module", "Module", "模块"),
    ("flows_versions", "Versions", "版本"),
    ("flows_saved_at", "Latest saved", "最近保存"),
    ("flows_none", "This tenant has no flow definitions.", "本租户还没有流程定义。"),
    ("flows_version", "Version", "版本"),
    ("flows_version_n", "version {n}", "第 {n} 版"),
    ("flows_latest", "(latest)", "（最新）"),
    ("flows_add_state", "Add state", "添加状态"),
    ("flows_add_action", "Add action", "添加动作"),
    ("flows_discard", "Discard changes", "放弃更改"),
    ("flows_discard_confirm", "Discard the unsaved changes?", "放弃未保存的更改？"),
    ("flows_save", "Save as new version", "保存为新版本"),
    ("flows_saving", "Saving…", "正在保存…"),
    (
        "flows_saved",
        "Saved as version {n}. New cases follow it; running cases keep their version.",
        "已保存为第 {n} 版。新案件按此版本办理，已有案件保持原版本。",
    ),
    (
        "flows_refused",
        "Not saved: the workflow engine lists {n} problem(s).",
        "未保存：流程引擎列出 {n} 个问题。",
    ),
    ("flows_unsaved", "Unsaved changes", "有未保存的更改"),
    ("flows_no_changes", "No changes", "没有更改"),
    (
        "flows_readonly",
        "You may view this flow. Saving needs the flow_admin permission over the tenant.",
        "你可以查看此流程；保存需要本租户的 flow_admin（流程管理）权限。",
    ),
    ("flows_diagram", "Flow diagram", "流程图"),
    ("flows_fit", "Fit to width", "适应宽度"),
    ("flows_actual", "Actual size", "原始大小"),
    (
        "flows_legend",
        "Boxes are states, arrows are actions; select one to edit it.",
        "方框是状态，箭头是动作；选中即可编辑。",
    ),
    ("flows_problems", "Problems 问题", "问题 Problems"),
    (
        "flows_no_problems",
        "No problems: the workflow engine accepts this definition.",
        "没有问题：流程引擎接受此定义。",
    ),
    ("flows_checking", "Checking…", "正在检查…"),
    ("flows_start", "Start", "开始"),
    ("flows_terminal", "End", "结束"),
    ("flows_undefined", "not defined", "未定义"),
    ("flows_empty", "(empty)", "（空）"),
    ("flows_state", "State", "状态"),
    ("flows_action", "Action", "动作"),
    (
        "flows_select_hint",
        "Select a state or an action in the diagram to edit it.",
        "在流程图中选择一个状态或动作进行编辑。",
    ),
    ("flows_key_field", "Key (letters, digits, - _ .)", "标识（字母、数字、- _ .）"),
    ("flows_name_zh", "Name in Chinese", "中文名称"),
    ("flows_name_en", "Name in English", "英文名称"),
    ("flows_is_start", "Start state", "开始状态"),
    ("flows_is_terminal", "Terminal state (the case closes here)", "结束状态（案件在此办结）"),
    ("flows_updatable", "Case data may be edited in this state", "此状态下可修改案件数据"),
    ("flows_clock", "The deadline clock starts", "时限起算"),
    ("flows_clock_on_entry", "on entering the state", "进入状态时"),
    ("flows_clock_on_claim", "when signed for (claim)", "签收时"),
    ("flows_deadline", "Deadline (SLA)", "办理时限"),
    ("flows_has_deadline", "Has a deadline", "设置时限"),
    ("flows_has_warn", "Warn before the deadline", "到期前提醒"),
    ("flows_amount", "Amount", "数量"),
    ("flows_unit", "Unit", "单位"),
    ("flows_unit_working_days", "working days", "工作日"),
    ("flows_unit_working_hours", "working hours", "工作小时"),
    ("flows_unit_hours", "hours (clock time)", "小时（自然时间）"),
    ("flows_span_wd", "{n} working days", "{n} 个工作日"),
    ("flows_span_wd1", "{n} working day", "{n} 个工作日"),
    ("flows_span_wh", "{n} working hours", "{n} 个工作小时"),
    ("flows_span_wh1", "{n} working hour", "{n} 个工作小时"),
    ("flows_span_h", "{n} hours", "{n} 小时"),
    ("flows_span_h1", "{n} hour", "{n} 小时"),
    ("flows_warn_text", "warn {span} before", "提前 {span}提醒"),
    ("flows_escalations", "Escalations", "升级规则"),
    (
        "flows_escalations_note",
        "Kept as they are when you save; edit them in the JSON view.",
        "保存时保持不变；可在 JSON 视图中编辑。",
    ),
    ("flows_esc_notify", "after {span}: notify {roles}", "{span} 后：通知 {roles}"),
    ("flows_esc_reassign", "after {span}: move to the queue of {role}", "{span} 后：转入 {role} 的队列"),
    ("flows_esc_action", "after {span}: SYSTEM takes {action}", "{span} 后：系统执行 {action}"),
    ("flows_esc_badge", "{n} escalation(s)", "{n} 条升级规则"),
    ("flows_claim_badge", "clock on claim", "签收起算"),
    ("flows_delete_state", "Delete state", "删除状态"),
    (
        "flows_deleted_state",
        "Deleted state {key} and {n} action(s) that led to it or only left it.",
        "已删除状态 {key} 及与之相关的 {n} 个动作。",
    ),
    ("flows_from", "From states", "起始状态"),
    ("flows_to", "To state", "目标状态"),
    ("flows_roles_allowed", "Roles that may take it", "可执行的角色"),
    ("flows_required", "Required fields (comma-separated)", "必填字段（逗号分隔）"),
    ("flows_reopen", "Reopen action (allowed within the reopen window)", "重开动作（在重开期限内可用）"),
    ("flows_events", "Extra events (kept)", "附加事件（保持不变）"),
    ("flows_delete_action", "Delete action", "删除动作"),
    ("flows_flow_props", "Flow properties", "流程属性"),
    ("flows_roles", "Declared roles", "已声明的角色"),
    ("flows_role_add", "Add role", "添加角色"),
    ("flows_role_new", "New role, e.g. REVIEWER", "新角色，例如 REVIEWER"),
    ("flows_role_remove", "Remove role {role}", "移除角色 {role}"),
    (
        "flows_pseudo_roles",
        "APPLICANT (the applicant), ASSIGNEE (the current assignee) and SYSTEM (the scheduler) need no declaration.",
        "APPLICANT（申请人）、ASSIGNEE（当前承办人）和 SYSTEM（系统调度）无需声明。",
    ),
    ("flows_case_deadline", "Whole-case deadline", "整体办理时限"),
    ("flows_reopen_window", "Reopen window", "重开期限"),
    ("flows_has_reopen_window", "Closed cases may be reopened for", "办结后允许重开的期限"),
    ("flows_json", "JSON (for experts)", "JSON（高级）"),
    ("flows_json_apply", "Apply JSON", "应用 JSON"),
    ("flows_json_invalid", "Not JSON: {detail}", "不是有效的 JSON：{detail}"),
    (
        "flows_narrow",
        "The flow designer needs a screen at least 900 px wide for editing; here the diagram scrolls sideways.",
        "流程设计器在至少 900 像素宽的屏幕上编辑最方便；此处流程图可左右滚动。",
    ),
    ("fp_not_a_definition", "Not a flow definition: {detail}", "不是有效的流程定义：{detail}"),
    (
        "fp_invalid_flow_key",
        "The flow key “{detail}” must be 1 to 64 ASCII letters, digits, “-”, “_” or “.”.",
        "流程标识“{detail}”须为 1 至 64 个 ASCII 字母、数字、“-”“_”或“.”。",
    ),
    ("fp_empty_name", "The flow needs a name.", "流程名称不能为空。"),
    (
        "fp_invalid_state_key",
        "State key “{state}” is not valid (1 to 64 letters, digits, - _ .).",
        "状态标识“{state}”无效（须为 1 至 64 个字母、数字、- _ .）。",
    ),
    ("fp_duplicate_state", "State {state} is defined twice.", "状态 {state} 定义了两次。"),
    (
        "fp_start_and_terminal",
        "State {state} is both the start and a terminal state.",
        "状态 {state} 不能既是开始状态又是结束状态。",
    ),
    (
        "fp_span_state",
        "State {state}: the {field} must be more than zero and at most ten years.",
        "状态 {state}：{field}须大于零且不超过十年。",
    ),
    (
        "fp_span_flow",
        "The flow's {field} must be more than zero and at most ten years.",
        "流程的{field}须大于零且不超过十年。",
    ),
    (
        "fp_span_escalation",
        "State {state}, escalation {escalation}: the delay must be more than zero and at most ten years.",
        "状态 {state} 的第 {escalation} 条升级规则：等待时间须大于零且不超过十年。",
    ),
    ("fp_field_sla_due", "deadline", "办理时限"),
    ("fp_field_sla_warn_before", "warning time", "提前提醒时间"),
    ("fp_field_reopen_window", "reopen window", "重开期限"),
    (
        "fp_no_start_state",
        "No start state: mark exactly one state as the start.",
        "没有开始状态：请把一个状态设为开始状态。",
    ),
    (
        "fp_several_start_states",
        "Several start states ({states}): only one may be the start.",
        "有多个开始状态（{states}）：只能有一个。",
    ),
    (
        "fp_invalid_action_key",
        "Action key “{action}” is not valid (1 to 64 letters, digits, - _ .).",
        "动作标识“{action}”无效（须为 1 至 64 个字母、数字、- _ .）。",
    ),
    ("fp_action_without_from", "Action {action} starts from no state.", "动作 {action} 没有起始状态。"),
    (
        "fp_from_undefined_state",
        "Action {action} starts from state {state}, which is not defined.",
        "动作 {action} 的起始状态 {state} 未定义。",
    ),
    (
        "fp_from_terminal_state",
        "Action {action} starts from the terminal state {state} (only reopen actions may).",
        "动作 {action} 从结束状态 {state} 出发（只有重开动作可以）。",
    ),
    (
        "fp_duplicate_action",
        "Action {action} is defined twice for state {state}.",
        "动作 {action} 在状态 {state} 上定义了两次。",
    ),
    (
        "fp_to_undefined_state",
        "Action {action} leads to state {state}, which is not defined.",
        "动作 {action} 指向未定义的状态 {state}。",
    ),
    ("fp_action_without_roles", "Action {action} allows no roles.", "动作 {action} 没有可执行的角色。"),
    (
        "fp_undeclared_role",
        "Action {action} names role {role}, which the flow does not declare.",
        "动作 {action} 使用了未声明的角色 {role}。",
    ),
    (
        "fp_reopen_without_window",
        "Action {action} reopens cases, but the flow has no reopen window.",
        "动作 {action} 是重开动作，但流程没有设置重开期限。",
    ),
    (
        "fp_escalation_undeclared_role",
        "State {state}, escalation {escalation}: notifies role {role}, which the flow does not declare.",
        "状态 {state} 的第 {escalation} 条升级规则通知了未声明的角色 {role}。",
    ),
    (
        "fp_escalation_reassign_undeclared",
        "State {state}, escalation {escalation}: moves the case to role {role}, which the flow does not declare.",
        "状态 {state} 的第 {escalation} 条升级规则转给了未声明的角色 {role}。",
    ),
    (
        "fp_escalation_action_not_allowed",
        "State {state}, escalation {escalation}: takes action {action}, which SYSTEM cannot take in that state.",
        "状态 {state} 的第 {escalation} 条升级规则执行动作 {action}，但系统（SYSTEM）在该状态不能执行它。",
    ),
    (
        "fp_dead_end",
        "State {state} is not terminal, but no action leaves it.",
        "状态 {state} 不是结束状态，却没有任何动作离开它。",
    ),
    ("fp_no_terminal_state", "No terminal state: a case could never close.", "没有结束状态：案件永远无法办结。"),
    (
        "fp_unreachable_state",
        "No chain of actions reaches state {state} from the start state.",
        "从开始状态出发，没有任何动作能到达状态 {state}。",
    ),
    // service hall (一网通办 办事大厅), guides and the citizen home
    ("nav_hall", "Service hall 办事大厅", "办事大厅 Service hall"),
    ("nav_citizen_home", "Home 市民首页", "市民首页 Home"),
    (
        "hall_title",
        "Service hall 网上办事大厅",
        "网上办事大厅 Service hall",
    ),
    ("hall_search_label", "Search services", "搜索办事事项"),
    (
        "hall_placeholder",
        "e.g. 出生, birth, passport",
        "例如：出生、护照、公积金",
    ),
    ("hall_search", "Search", "搜索"),
    ("hall_clear", "Show all", "显示全部"),
    ("hall_by_life_event", "By life event 按人生事件", "按人生事件 By life event"),
    ("hall_by_department", "By department 按部门", "按部门 By department"),
    ("hall_items", "services 项事项", "项事项 services"),
    ("hall_none", "No service matches.", "没有匹配的事项。"),
    ("hall_back", "Back to the service hall", "返回办事大厅"),
    ("hall_showing", "Showing", "当前筛选"),
    ("hall_promised", "promised", "承诺"),
    ("hall_days", "working days", "个工作日"),
    ("hall_day", "working day", "个工作日"),
    ("hall_on_the_spot", "done on the spot", "即办"),
    ("guide_title", "Service guide 办事指南", "办事指南 Service guide"),
    ("guide_print", "Print 打印", "打印 Print"),
    ("guide_department", "Department 实施部门", "实施部门 Department"),
    ("guide_type", "Item type 事项类型", "事项类型 Item type"),
    ("guide_level", "Level 行使层级", "行使层级 Level"),
    ("guide_targets", "For 服务对象", "服务对象 For"),
    ("guide_channels", "Channels 办理渠道", "办理渠道 Channels"),
    ("guide_time_limits", "Time limits 办理时限", "办理时限 Time limits"),
    ("guide_conditions", "Conditions 受理条件", "受理条件 Conditions"),
    ("guide_materials", "Materials 申请材料", "申请材料 Materials"),
    (
        "guide_materials_summary",
        "to bring: {n}; already held by the government (no need to submit): {h}",
        "需提交 {n} 项；政府已掌握、免提交 {h} 项",
    ),
    ("guide_copies", "copies", "份"),
    ("guide_steps", "Steps 办理流程", "办理流程 Steps"),
    ("guide_fees", "Fees 收费", "收费 Fees"),
    ("guide_where", "Where to go 办理地点", "办理地点 Where to go"),
    ("guide_hours", "Hours", "时间"),
    ("guide_online", "Applying online 网上申请", "网上申请 Applying online"),
    ("guide_legal_basis", "Legal basis 设定依据", "设定依据 Legal basis"),
    ("guide_basis_label", "Basis", "依据"),
    ("guide_printed", "Printed from", "打印自"),
    (
        "guide_calendar_gap",
        "The holidays of a year in this span are not known yet: only weekends were skipped.",
        "该时段内某年的节假日尚未公布，仅扣除了周末。",
    ),
    (
        "citizen_home_title",
        "Citizen home 市民首页",
        "市民首页 Citizen home",
    ),
    (
        "citizen_home_intro",
        "Deal with the government, not with departments: start here.",
        "找政府办事，不用找部门：从这里开始。",
    ),
    (
        "tile_hall_text",
        "Guides for every service: what to bring, how long, where to go",
        "所有事项的办事指南：带什么、多久办好、去哪里办",
    ),
    (
        "tile_hall_count",
        "{n} services with guides in Chinese and English",
        "{n} 项事项，提供中英文办事指南",
    ),
    (
        "tile_real_name_text",
        "Verify your identity to apply online",
        "完成实名认证，网上申办",
    ),
    (
        "tile_companies_text",
        "Act for a company",
        "代表企业办事",
    ),
    ("tile_register_text", "Create an account", "注册账号"),
    // the assistant (智能客服), /hall/assistant
    ("assistant_title", "Ask the service hall 智能客服", "智能客服 Ask the service hall"),
    (
        "assistant_intro",
        "Ask in your own words. Answers are sections of the official service guides, with a link to the guide.",
        "用自己的话提问。回答均摘自正式的办事指南，并附指南链接。",
    ),
    ("assistant_question", "Your question", "您的问题"),
    ("assistant_placeholder", "e.g. how do I register my newborn?", "例如：怎么给宝宝上户口？"),
    ("assistant_ask", "Ask", "提问"),
    ("assistant_answers", "Guides that answer it", "相关办事指南"),
    (
        "assistant_not_found",
        "We could not find a guide that answers this.",
        "没有找到能回答这个问题的办事指南。",
    ),
    ("assistant_call", "Call", "拨打"),
    ("assistant_empty", "Type a question first.", "请先输入问题。"),
    (
        "assistant_note",
        "The assistant only quotes published guides and never makes up an answer; for anything else call 12345.",
        "智能客服只引用已发布的办事指南，不会编造答案；其他问题请拨打 12345。",
    ),
    ("nav_assistant", "Ask 智能客服", "智能客服 Ask"),
    // forms (表单): designer and fill page
    ("nav_forms", "Forms 表单", "表单 Forms"),
    ("fd_title", "Form designer 表单设计器", "表单设计器 Form designer"),
    ("cf_title", "Fill in a form 填写表单", "填写表单 Fill in a form"),
    ("fd_forms", "Forms of the tenant", "本租户的表单"),
    ("fd_new_form", "New form", "新建表单"),
    ("fd_design", "Design", "设计"),
    ("fd_key", "Form key", "表单标识"),
    ("fd_item_code", "Service item code 事项编码", "事项编码 Service item code"),
    ("fd_title_zh", "Title (Chinese)", "标题（中文）"),
    ("fd_title_en", "Title (English)", "标题（英文）"),
    ("fd_desc_zh", "Introduction (Chinese)", "说明（中文）"),
    ("fd_desc_en", "Introduction (English)", "说明（英文）"),
    ("fd_questions", "Questions", "问题"),
    ("fd_add_type", "Type of question", "问题类型"),
    ("fd_add_where", "Add to", "添加到"),
    ("fd_add", "Add question", "添加问题"),
    ("fd_edit_question", "Edit question", "编辑问题"),
    ("fd_preview", "Preview as a citizen sees it", "预览（市民所见）"),
    ("fd_preview_lang", "Preview language", "预览语言"),
    ("fd_check_preview", "Check the preview's answers", "检查预览中的答案"),
    ("fd_save_heading", "Save", "保存"),
    ("fd_save", "Save as a new version", "保存为新版本"),
    ("fd_type_text", "Text", "文本"),
    ("fd_type_number", "Number", "数字"),
    ("fd_type_date", "Date", "日期"),
    ("fd_type_choice", "Choice", "选择"),
    ("fd_type_address", "Address with map", "地址（地图点选）"),
    ("fd_type_id_number", "ID number 身份证号", "身份证号 ID number"),
    ("fd_type_file", "File upload", "上传材料"),
    ("fd_type_group", "Repeatable group", "可重复的一组问题"),
    ("fd_new_label_zh", "新问题", "新问题"),
    ("fd_new_label_en", "New question", "New question"),
    ("fd_shown_when", "Shown when “{q}” is “{v}”", "当“{q}”为“{v}”时显示"),
    ("fd_where_form", "the form", "表单"),
    ("fd_where_group", "the group “{g}”", "重复组“{g}”"),
    ("fd_widget_radio", "single, buttons", "单选（按钮）"),
    ("fd_widget_select", "single, drop-down", "单选（下拉）"),
    ("fd_widget_checkboxes", "multiple", "多选"),
    ("fd_required", "Required", "必填"),
    ("fd_move_up", "Move up", "上移"),
    ("fd_move_down", "Move down", "下移"),
    ("fd_delete", "Delete", "删除"),
    ("fd_q_id", "Question id (answer name)", "问题标识（答案字段名）"),
    ("fd_label_zh", "Question (Chinese)", "问题（中文）"),
    ("fd_label_en", "Question (English)", "问题（英文）"),
    ("fd_help_zh", "Help (Chinese)", "说明（中文）"),
    ("fd_help_en", "Help (English)", "说明（英文）"),
    ("fd_condition", "Show this question", "显示条件"),
    ("fd_always", "always", "总是显示"),
    ("fd_when_question", "when the question", "当问题"),
    ("fd_when_value", "is", "的答案为"),
    ("fd_multiline", "Several lines", "多行"),
    ("fd_max_length", "Most characters", "最多字数"),
    ("fd_pattern", "Format (regular expression)", "格式（正则表达式）"),
    ("fd_integer", "Whole numbers only", "只允许整数"),
    ("fd_minimum", "Least value", "最小值"),
    ("fd_maximum", "Greatest value", "最大值"),
    ("fd_unit_zh", "Unit (Chinese)", "单位（中文）"),
    ("fd_unit_en", "Unit (English)", "单位（英文）"),
    ("fd_widget", "Shown as", "显示方式"),
    ("fd_accept", "Accepted types (checked by content)", "接受的类型（按内容检查）"),
    ("fd_max_size_mib", "Largest file (MiB)", "单个文件最大（MiB）"),
    ("fd_min_count", "Fewest files", "最少文件数"),
    ("fd_max_count", "Most files", "最多文件数"),
    ("fd_min_items", "Fewest entries", "最少组数"),
    ("fd_max_items", "Most entries", "最多组数"),
    ("fd_group_hint", "Add questions to the group with “Add to” above.", "用上方的“添加到”向重复组添加问题。"),
    ("fd_options", "Options", "选项"),
    ("fd_option_value", "Stored value", "存储值"),
    ("fd_option_zh", "Option (Chinese)", "选项（中文）"),
    ("fd_option_en", "Option (English)", "选项（英文）"),
    ("fd_option_remove", "Remove option", "删除选项"),
    ("fd_option_add", "Add option", "添加选项"),
    ("fd_preview_blocked", "The preview appears when the design has no problems (listed under Save).", "设计没有问题后显示预览（问题列在“保存”下）。"),
    ("fd_preview_ok", "No problems.", "没有问题。"),
    ("fd_not_designer_form", "This form's schema is not one the designer makes:", "此表单的结构不是设计器生成的："),
    ("fd_key_invalid", "The form key is 2 to 64 lower-case letters, digits or -.", "表单标识应为2到64个小写字母、数字或 -。"),
    ("fd_item_missing", "Name the service item's code.", "请填写事项编码。"),
    ("fd_title_missing", "Give the title in Chinese and English.", "请填写中英文标题。"),
    ("fd_fix_first", "Not saved: fix the problems listed above first.", "未保存：请先解决上面列出的问题。"),
    ("fd_saved", "Saved as version {v}.", "已保存为第{v}版。"),
    ("fd_breaking", "Answers to earlier versions keep their version; this one changes:", "此前版本的答案仍按原版本处理；本版变化："),
    ("cf_problems", "Please correct these answers:", "请修改以下答案："),
    ("cf_required_note", "Questions marked * are required.", "带 * 的为必填项。"),
    ("cf_submit", "Submit", "提交"),
    ("cf_privacy", "Your answers go only to the department handling this service; files you upload are read only by you and by its staff (each read is recorded).", "您的答案只提交给办理此事项的部门；上传的材料仅您本人和经办人员可查看（每次查看均有记录）。"),
    ("cf_submitted", "Submitted. Your reference: {id}", "已提交。办件编号：{id}"),
    ("cf_no_tenant", "No tenant: open the page with ?tenant=…", "未指定租户：请使用 ?tenant=… 打开页面"),
    ("cf_unavailable", "Form unavailable", "表单不可用"),
    // the jobs page (作业)
    ("nav_jobs", "Jobs 作业", "作业 Jobs"),
    ("jobs_title", "Jobs 作业", "作业 Jobs"),
    ("jobs_intro", "The platform's scheduled and event-triggered jobs. Each tick runs once across all nodes; a failed attempt is retried with backoff.", "平台的定时与事件触发作业。每个周期在所有节点中只运行一次；失败的尝试按退避间隔重试。"),
    ("jobs_name", "Job", "作业"),
    ("jobs_schedule", "Schedule", "调度"),
    ("jobs_enabled", "Enabled", "启用"),
    ("jobs_last_run", "Last run", "最近运行"),
    ("jobs_outcome", "Outcome", "结果"),
    ("jobs_next_due", "Next due", "下次运行"),
    ("jobs_run_now", "Run now", "立即运行"),
    ("jobs_history", "Run history 运行历史", "运行历史 Run history"),
    ("jobs_tick", "Tick", "周期"),
    ("jobs_attempt", "Attempt", "尝试"),
    ("jobs_cause", "Cause", "触发"),
    ("jobs_node", "Node", "节点"),
    ("jobs_started", "Started", "开始"),
    ("jobs_duration", "Duration (ms)", "耗时（毫秒）"),
    ("jobs_detail", "Detail or error", "说明或错误"),
    ("jobs_more", "More", "更多"),
    ("jobs_empty", "No runs yet.", "尚无运行记录。"),
    ("jobs_none", "No jobs registered.", "没有已注册的作业。"),
    ("jobs_yes", "yes", "是"),
    ("jobs_no", "no", "否"),
    ("jobs_outcome_ok", "ok", "成功"),
    ("jobs_outcome_error", "error", "失败"),
    ("jobs_outcome_running", "running", "运行中"),
    ("jobs_outcome_lost", "lost", "中断"),
    ("jobs_cause_schedule", "schedule", "定时"),
    ("jobs_cause_event", "event", "事件"),
    ("jobs_cause_manual", "manual", "手动"),
    ("jobs_ran", "Ran {job}: {outcome}", "已运行 {job}：{outcome}"),
    // room finder (城市大脑 找房)
    ("nav_rooms", "Find a room 找房", "找房 Find a room"),
    ("rooms_title", "Find a room 找房", "找房 Find a room"),
    ("rooms_map_label", "Map of free rooms", "空房地图"),
    ("rooms_hint", "Click the map to search around a point.", "点击地图，搜索该点附近的空房。"),
    ("rooms_checkin", "Check-in 入住", "入住日期 Check-in"),
    ("rooms_nights", "Nights 晚数", "入住晚数 Nights"),
    ("rooms_radius", "Radius (m) 半径", "半径（米） Radius"),
    ("rooms_price_max", "Max price (A$) 最高价", "最高价（澳元） Max price"),
    ("rooms_type", "Room type 房型", "房型 Room type"),
    ("rooms_type_any", "Any", "不限"),
    ("rooms_type_entire_home", "Entire home", "整套房源"),
    ("rooms_type_private_room", "Private room", "独立房间"),
    ("rooms_type_shared_room", "Shared room", "合住房间"),
    ("rooms_type_hotel_room", "Hotel room", "酒店客房"),
    ("rooms_min_rating", "Min rating 最低评分", "最低评分 Min rating"),
    ("rooms_search", "Search 搜索", "搜索 Search"),
    (
        "rooms_synthetic",
        "Availability comes from a synthetic calendar consistent with each listing's nights free per year (Inside Airbnb, Melbourne).",
        "房态来自合成日历，与各房源的年可订晚数一致（Inside Airbnb 墨尔本数据）。",
    ),
    ("rooms_found", "free rooms 间空房", "间空房 free rooms"),
    ("rooms_none", "No free room matches: widen the radius or change the dates.", "没有符合条件的空房：请扩大半径或更换日期。"),
    ("rooms_book", "Book 预订", "预订 Book"),
    ("rooms_booked", "Booked {name}: {checkin} to {checkout}.", "已预订 {name}：{checkin} 至 {checkout}。"),
    ("rooms_price_on_request", "price on request", "价格待询"),
    ("rooms_per_night", "per night", "每晚"),
    ("rooms_unrated", "no rating yet", "暂无评分"),
    ("rooms_min_nights", "min {n} nights", "至少 {n} 晚"),
    ("rooms_took", "Answered in {ms} ms.", "{ms} 毫秒内返回。"),
];

/// All UI labels in `lang`, by key (used by the templates and, as JSON, by the scripts).
pub fn labels(lang: Lang) -> BTreeMap<&'static str, &'static str> {
    LABELS
        .iter()
        .map(|&(k, en, zh)| (k, if lang == Lang::Zh { zh } else { en }))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn tags() {
        assert_eq!(Lang::from_tag("zh"), Some(Lang::Zh));
        assert_eq!(Lang::from_tag("zh-CN"), Some(Lang::Zh));
        assert_eq!(Lang::from_tag("ZH_hans"), Some(Lang::Zh));
        assert_eq!(Lang::from_tag("en-GB"), Some(Lang::En));
        assert_eq!(Lang::from_tag("fr"), None);
        assert_eq!(Lang::from_tag("zhx"), None);
        assert_eq!(Lang::from_tag(""), None);
    }

    #[test]
    fn query_wins_and_sets_cookie() {
        let h = headers(&[("cookie", "lang=en"), ("accept-language", "en")]);
        let n = negotiate(Some("next=%2Fx&lang=zh"), &h);
        assert_eq!(
            n,
            Negotiated {
                lang: Lang::Zh,
                set_cookie: true
            }
        );
        assert_eq!(
            lang_cookie(n.lang),
            "lang=zh; Path=/; Max-Age=31536000; SameSite=Lax"
        );
    }

    #[test]
    fn invalid_query_falls_through() {
        let h = headers(&[("cookie", "a=b; lang=zh")]);
        assert_eq!(
            negotiate(Some("lang=fr"), &h),
            Negotiated {
                lang: Lang::Zh,
                set_cookie: false
            }
        );
    }

    #[test]
    fn cookie_beats_accept_language() {
        let h = headers(&[
            ("cookie", "x=1"),
            ("cookie", "lang=en"),
            ("accept-language", "zh-CN"),
        ]);
        assert_eq!(negotiate(None, &h).lang, Lang::En);
    }

    #[test]
    fn accept_language() {
        assert_eq!(
            lang_from_accept_language("zh-CN,zh;q=0.9,en;q=0.8"),
            Some(Lang::Zh)
        );
        assert_eq!(
            lang_from_accept_language("en-US,en;q=0.9,zh;q=0.8"),
            Some(Lang::En)
        );
        assert_eq!(lang_from_accept_language("fr, zh-TW;q=0.5"), Some(Lang::Zh));
        assert_eq!(
            lang_from_accept_language("en;q=0.2, zh;q=0.7"),
            Some(Lang::Zh)
        );
        assert_eq!(
            lang_from_accept_language("zh;q=0, en;q=0.1"),
            Some(Lang::En)
        );
        assert_eq!(lang_from_accept_language("fr, de"), None);
        assert_eq!(lang_from_accept_language(""), None);
        let h = headers(&[("accept-language", "zh-Hans")]);
        assert_eq!(negotiate(None, &h).lang, Lang::Zh);
        assert_eq!(negotiate(None, &HeaderMap::new()).lang, Lang::En);
    }

    #[test]
    fn toggle_hrefs_keep_other_params() {
        assert_eq!(href_with_lang("/login", None, Lang::Zh), "/login?lang=zh");
        assert_eq!(
            href_with_lang("/login", Some("lang=en&next=%2Fconsole%2Fadmin"), Lang::Zh),
            "/login?next=%2Fconsole%2Fadmin&lang=zh"
        );
    }

    #[test]
    fn labels_complete_and_unique() {
        let en = labels(Lang::En);
        let zh = labels(Lang::Zh);
        assert_eq!(en.len(), LABELS.len(), "duplicate label key");
        assert_eq!(zh["jurisdictions"], "行政区划 Jurisdictions");
        assert_eq!(en["grids"], "Grids 网格");
        assert_eq!(en["nav_inbox"], "To-do 待办");
        assert_eq!(zh["claim"], "签收 Sign for");
        assert!(LABELS
            .iter()
            .all(|(_, e, z)| !e.is_empty() && !z.is_empty()));
    }
}
