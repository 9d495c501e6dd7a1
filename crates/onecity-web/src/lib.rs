//! The onecity web console: server-rendered pages (login, map, to-do inbox, admin) and the static
//! assets they use (styles, small scripts, and vendored MapLibre GL JS), all embedded
//! in the binary so that running onecity needs no Node.js and no files on disk.
//!
//! Pages hold no data. Their scripts call the JSON API under `/api/v1` with the bearer
//! token kept in `localStorage["onecity.token"]`, and send the user to `/login` when
//! there is no token or the API answers 401. Pages come in Chinese and English
//! (`?lang=zh|en`, the `lang` cookie, or `Accept-Language`).
//!
//! Mount with `app.merge(onecity_web::router())`.

#![warn(missing_docs)]

use std::sync::LazyLock;

use axum::extract::RawQuery;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, LOCATION, REFERRER_POLICY, SET_COOKIE,
    VARY, X_CONTENT_TYPE_OPTIONS,
};
use http::{HeaderMap, HeaderValue, StatusCode};
use minijinja::{context, Environment};

pub mod assets;
pub mod i18n;

pub use i18n::Lang;

/// Content-Security-Policy of the pages. MapLibre runs its workers from `blob:` URLs.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
img-src 'self' data: blob:; worker-src 'self' blob:; child-src blob:; connect-src 'self'; \
font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// The console's routes: `/`, `/console`, `/login`, `/console/map`, `/console/inbox`,
/// `/console/admin`, `/console/catalog`, the public `/portal` and `/assets/{*path}`. Stateless, so it merges into a router of any state type.
/// `/console/admin`, `/console/twin` and `/assets/{*path}`. Stateless, so it merges into a router of any state type.
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route("/", get(to_map))
        .route("/console", get(to_map))
        .route("/login", get(login_page))
        .route("/console/map", get(map_page))
        .route("/console/inbox", get(inbox_page))
        .route("/console/admin", get(admin_page))
        .route("/console/catalog", get(catalog_page))
        .route("/portal", get(portal_page))
        .route("/console/exchange", get(exchange_page))
        .route("/console/events", get(events_page))
        .route("/console/stats", get(stats_page))
        .route("/console/plans", get(plans_page))
        .route("/console/twin", get(twin_page))
        .route("/console/security", get(security_page))
        .route("/citizen/register", get(register_page))
        .route("/citizen/real-name", get(real_name_page))
        .route("/citizen/companies", get(mandates_page))
        .route("/console/flows", get(flows_page))
        .route("/console/jobs", get(jobs_page))
        .route("/hall", get(hall_page))
        .route("/hall/items/{code}", get(hall_item_page))
        .route("/citizen", get(citizen_home_page))
        .route("/hall/assistant", get(assistant_page))
        .route("/console/services/forms", get(form_designer_page))
        .route("/citizen/forms/{key}", get(citizen_form_page))
        .route("/console/brain/stations", get(stations_page))
        .route("/console/brain/stations/{id}", get(station_page))
        .route("/rooms", get(rooms_page))
        .route("/assets/{*path}", get(assets::serve))
}

/// A console page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// `/login`.
    Login,
    /// `/console/map`.
    Map,
    /// `/console/inbox`: the to-do inbox (一体办公 待办).
    Inbox,
    /// `/console/admin`.
    Admin,
    /// `/console/catalog`: staff catalog admin (数据目录管理).
    Catalog,
    /// `/portal`: the public open-data portal (开放数据门户), no login.
    Portal,
    /// `/console/exchange`: the data exchange dashboard (数据交换).
    Exchange,
    /// `/console/events`: event console and dispatch desk (一网统管 事件与派单).
    Events,
    /// `/console/stats`: governance statistics (一网统管 统计分析).
    Stats,
    /// `/console/plans`: linkage plan editor (应急预案).
    Plans,
    /// `/console/twin`: the digital twin (数字孪生): NGSI-LD entities on the map, their
    /// attributes and history.
    Twin,
    /// `/console/security`: security settings (安全设置): second factors (TOTP, security
    /// keys, recovery codes) and the sign-in history.
    Security,
    /// `/citizen/register`: citizen self-registration with a phone and a code (注册).
    Register,
    /// `/citizen/real-name`: the real-name check (实名认证) and the assurance level.
    RealName,
    /// `/citizen/companies`: a company's registration and mandates (法人 授权).
    Mandates,
    /// `/console/flows`: the flow designer (流程设计器): a tenant's workflow definitions as
    /// diagrams, edited and saved through the engine's validation.
    Flows,
    /// `/hall`: the public service hall (网上办事大厅): search, browse by life event and by
    /// department; no login.
    Hall,
    /// `/hall/items/{code}`: an item's guide (办事指南), printable; no login.
    HallItem,
    /// `/citizen`: the citizen home (市民首页), the hall as its first tile.
    CitizenHome,
    /// `/hall/assistant`: the Q&A assistant over the guides (智能客服), no login.
    Assistant,
    /// `/console/services/forms`: the form designer for staff (表单设计器).
    FormDesigner,
    /// `/citizen/forms/{key}`: a citizen fills a form (填写表单), phone width.
    CitizenForm,
    /// `/console/jobs`: the platform's jobs (作业) and their run history (platform admin).
    Jobs,
    /// `/console/brain/stations`: metro stations with their latest flow and forecasts
    /// (城市大脑 地铁客流预测).
    Stations,
    /// `/console/brain/stations/{id}`: one station's forecast bands over the actual flow
    /// and the evacuation advice (疏散建议).
    Station,
    /// `/rooms`: the room finder (找房), public: map, ranked list, filters, book.
    Rooms,
}

impl Page {
    fn template(self) -> &'static str {
        match self {
            Page::Login => "login.html",
            Page::Map => "map.html",
            Page::Inbox => "inbox.html",
            Page::Admin => "admin.html",
            Page::Catalog => "catalog.html",
            Page::Portal => "portal.html",
            Page::Exchange => "exchange.html",
            Page::Events => "events.html",
            Page::Stats => "stats.html",
            Page::Plans => "plans.html",
            Page::Twin => "twin.html",
            Page::Security => "security.html",
            Page::Register => "register.html",
            Page::RealName => "real_name.html",
            Page::Mandates => "mandates.html",
            Page::Flows => "flows.html",
            Page::Hall => "hall.html",
            Page::HallItem => "hall_item.html",
            Page::CitizenHome => "citizen_home.html",
            Page::Assistant => "assistant.html",
            Page::FormDesigner => "forms_designer.html",
            Page::CitizenForm => "citizen_form.html",
            Page::Jobs => "jobs.html",
            Page::Stations => "stations.html",
            Page::Station => "station.html",
            Page::Rooms => "rooms.html",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Page::Login => "login",
            Page::Map => "map",
            Page::Inbox => "inbox",
            Page::Admin => "admin",
            Page::Catalog => "catalog",
            Page::Portal => "portal",
            Page::Exchange => "exchange",
            Page::Events => "events",
            Page::Stats => "stats",
            Page::Plans => "plans",
            Page::Twin => "twin",
            Page::Security => "security",
            Page::Register => "register",
            Page::RealName => "real_name",
            Page::Mandates => "mandates",
            Page::Flows => "flows",
            Page::Hall => "hall",
            Page::HallItem => "hall_item",
            Page::CitizenHome => "citizen_home",
            Page::Assistant => "assistant",
            Page::FormDesigner => "form_designer",
            Page::CitizenForm => "citizen_form",
            Page::Jobs => "jobs",
            Page::Stations => "stations",
            Page::Station => "station",
            Page::Rooms => "rooms",
        }
    }

    fn path(self) -> &'static str {
        match self {
            Page::Login => "/login",
            Page::Map => "/console/map",
            Page::Inbox => "/console/inbox",
            Page::Admin => "/console/admin",
            Page::Catalog => "/console/catalog",
            Page::Portal => "/portal",
            Page::Exchange => "/console/exchange",
            Page::Events => "/console/events",
            Page::Stats => "/console/stats",
            Page::Plans => "/console/plans",
            Page::Twin => "/console/twin",
            Page::Security => "/console/security",
            Page::Register => "/citizen/register",
            Page::RealName => "/citizen/real-name",
            Page::Mandates => "/citizen/companies",
            Page::Flows => "/console/flows",
            Page::Hall => "/hall",
            Page::HallItem => "/hall/items",
            Page::CitizenHome => "/citizen",
            Page::Assistant => "/hall/assistant",
            Page::FormDesigner => "/console/services/forms",
            Page::CitizenForm => "/citizen/forms",
            Page::Jobs => "/console/jobs",
            Page::Stations | Page::Station => "/console/brain/stations",
            Page::Rooms => "/rooms",
        }
    }

    fn title_key(self) -> &'static str {
        match self {
            Page::Login => "login_title",
            Page::Map => "map_title",
            Page::Inbox => "inbox_title",
            Page::Admin => "admin_title",
            Page::Catalog => "catalog_title",
            Page::Portal => "portal_title",
            Page::Exchange => "exchange_title",
            Page::Events => "events_title",
            Page::Stats => "stats_title",
            Page::Plans => "plans_title",
            Page::Twin => "twin_title",
            Page::Security => "security_title",
            Page::Register => "register_title",
            Page::RealName => "real_name_title",
            Page::Mandates => "companies_title",
            Page::Flows => "flows_title",
            Page::Hall => "hall_title",
            Page::HallItem => "guide_title",
            Page::CitizenHome => "citizen_home_title",
            Page::Assistant => "assistant_title",
            Page::FormDesigner => "fd_title",
            Page::CitizenForm => "cf_title",
            Page::Jobs => "jobs_title",
            Page::Stations => "stations_title",
            Page::Station => "station_title",
            Page::Rooms => "rooms_title",
        }
    }
}

static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    for (name, source) in [
        ("base.html", include_str!("../templates/base.html")),
        ("login.html", include_str!("../templates/login.html")),
        ("map.html", include_str!("../templates/map.html")),
        ("inbox.html", include_str!("../templates/inbox.html")),
        ("admin.html", include_str!("../templates/admin.html")),
        ("catalog.html", include_str!("../templates/catalog.html")),
        ("portal.html", include_str!("../templates/portal.html")),
        ("exchange.html", include_str!("../templates/exchange.html")),
        ("events.html", include_str!("../templates/events.html")),
        ("stats.html", include_str!("../templates/stats.html")),
        ("plans.html", include_str!("../templates/plans.html")),
        ("twin.html", include_str!("../templates/twin.html")),
        ("security.html", include_str!("../templates/security.html")),
        ("register.html", include_str!("../templates/register.html")),
        (
            "real_name.html",
            include_str!("../templates/real_name.html"),
        ),
        ("mandates.html", include_str!("../templates/mandates.html")),
        ("flows.html", include_str!("../templates/flows.html")),
        (
            "assistant.html",
            include_str!("../templates/assistant.html"),
        ),
        ("hall.html", include_str!("../templates/hall.html")),
        (
            "hall_item.html",
            include_str!("../templates/hall_item.html"),
        ),
        (
            "citizen_home.html",
            include_str!("../templates/citizen_home.html"),
        ),
        (
            "forms_designer.html",
            include_str!("../templates/forms_designer.html"),
        ),
        (
            "citizen_form.html",
            include_str!("../templates/citizen_form.html"),
        ),
        ("jobs.html", include_str!("../templates/jobs.html")),
        ("stations.html", include_str!("../templates/stations.html")),
        ("station.html", include_str!("../templates/station.html")),
        ("rooms.html", include_str!("../templates/rooms.html")),
    ] {
        env.add_template(name, source)
            .unwrap_or_else(|e| panic!("template {name}: {e}"));
    }
    env
});

/// Renders `page` in `lang`; `raw_query` is the request's query string (kept in the
/// language toggle links).
pub fn render(page: Page, lang: Lang, raw_query: Option<&str>) -> Result<String, minijinja::Error> {
    render_at(page, page.path(), lang, raw_query)
}

/// Renders `page` served at `path` (pages whose path carries a key, like
/// `/hall/items/{code}`, keep it in the language toggle links).
pub fn render_at(
    page: Page,
    path: &str,
    lang: Lang,
    raw_query: Option<&str>,
) -> Result<String, minijinja::Error> {
    let t = i18n::labels(lang);
    let js_i18n = serde_json::to_string(&t).map_err(|e| {
        minijinja::Error::new(minijinja::ErrorKind::BadSerialization, e.to_string())
    })?;
    let ctx = context! {
        page => page.name(),
        citizen => matches!(page, Page::Register | Page::RealName | Page::Mandates | Page::CitizenHome | Page::CitizenForm),
        hall => matches!(page, Page::Hall | Page::HallItem | Page::Assistant | Page::Rooms),
        lang => lang.code(),
        html_lang => lang.html_lang(),
        title => t[page.title_key()],
        t => t,
        js_i18n => js_i18n,
        lang_href => context! {
            zh => i18n::href_with_lang(path, raw_query, Lang::Zh),
            en => i18n::href_with_lang(path, raw_query, Lang::En),
        },
    };
    TEMPLATES.get_template(page.template())?.render(ctx)
}

fn page_response(page: Page, headers: &HeaderMap, raw_query: Option<&str>) -> Response {
    page_response_at(page, page.path(), headers, raw_query)
}

fn page_response_at(
    page: Page,
    path: &str,
    headers: &HeaderMap,
    raw_query: Option<&str>,
) -> Response {
    let negotiated = i18n::negotiate(raw_query, headers);
    let Ok(html) = render_at(page, path, negotiated.lang, raw_query) else {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "page could not be rendered\n",
        )
            .into_response();
    };
    let mut response = (
        [
            (CONTENT_TYPE, "text/html; charset=utf-8"),
            (CACHE_CONTROL, "no-cache"),
            (VARY, "Cookie, Accept-Language"),
            (CONTENT_SECURITY_POLICY, CSP),
            (X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (REFERRER_POLICY, "same-origin"),
        ],
        html,
    )
        .into_response();
    if negotiated.set_cookie {
        if let Ok(cookie) = HeaderValue::from_str(&i18n::lang_cookie(negotiated.lang)) {
            response.headers_mut().append(SET_COOKIE, cookie);
        }
    }
    response
}

async fn to_map() -> impl IntoResponse {
    (StatusCode::FOUND, [(LOCATION, "/console/map")])
}

async fn login_page(headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    page_response(Page::Login, &headers, q.as_deref())
}

async fn security_page(headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    page_response(Page::Security, &headers, q.as_deref())
}

async fn map_page(headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    page_response(Page::Map, &headers, q.as_deref())
}

async fn inbox_page(headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    page_response(Page::Inbox, &headers, q.as_deref())
}

async fn admin_page(headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    page_response(Page::Admin, &headers, q.as_deref())
}

async fn catalog_page(headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    page_response(Page::Catalog, &headers, q.as_deref())
}

async fn portal_page(headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    page_response(Page::Portal, &headers, q.as_deref())
}

async fn exchange_page(headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    page_response(Page::Exchange, &headers, q.as_deref())
}

async fn events_page(headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    page_response(Page::Events, &headers, q.as_deref())
}

async fn stats_page(headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    page_response(Page::Stats, &headers, q.as_deref())
}

async fn plans_page(headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    page_response(Page::Plans, &headers, q.as_deref())
}

async fn twin_page(headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    page_response(Page::Twin, &headers, q.as_deref())
}

async fn register_page(headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    page_response(Page::Register, &headers, q.as_deref())
}

async fn real_name_page(headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    page_response(Page::RealName, &headers, q.as_deref())
}

async fn mandates_page(headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    page_response(Page::Mandates, &headers, q.as_deref())
}

async fn form_designer_page(headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    page_response(Page::FormDesigner, &headers, q.as_deref())
}

/// `/citizen/forms/{key}`: the key is read by the page's script from the path; a key
/// that is not a form key is 404.
async fn citizen_form_page(
    axum::extract::Path(key): axum::extract::Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let valid = (2..=64).contains(&key.len())
        && key
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-');
    if !valid {
        return (StatusCode::NOT_FOUND, "no such form\n").into_response();
    }
    page_response_at(
        Page::CitizenForm,
        &format!("/citizen/forms/{key}"),
        &headers,
        q.as_deref(),
    )
}

async fn jobs_page(headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    page_response(Page::Jobs, &headers, q.as_deref())
}

async fn flows_page(headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    page_response(Page::Flows, &headers, q.as_deref())
}

async fn rooms_page(headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    page_response(Page::Rooms, &headers, q.as_deref())
}

async fn hall_page(headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    page_response(Page::Hall, &headers, q.as_deref())
}

/// The guide page of item `code`; the script reads the code from the path. A code of
/// anything but letters, digits and `-` is not an item code: 404 without rendering.
async fn hall_item_page(
    axum::extract::Path(code): axum::extract::Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    if code.is_empty()
        || code.len() > 64
        || !code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return (StatusCode::NOT_FOUND, "no such item\n").into_response();
    }
    page_response_at(
        Page::HallItem,
        &format!("/hall/items/{code}"),
        &headers,
        q.as_deref(),
    )
}

async fn citizen_home_page(headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    page_response(Page::CitizenHome, &headers, q.as_deref())
}

async fn assistant_page(headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    page_response(Page::Assistant, &headers, q.as_deref())
}

async fn stations_page(headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    page_response(Page::Stations, &headers, q.as_deref())
}

/// One station's page; the script reads the id from the path. An id that is not of the
/// form `HZ-<digits>` is 404 without rendering.
async fn station_page(
    axum::extract::Path(id): axum::extract::Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let valid = id
        .strip_prefix("HZ-")
        .is_some_and(|d| (1..=6).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()));
    if !valid {
        return (StatusCode::NOT_FOUND, "no such station\n").into_response();
    }
    page_response_at(
        Page::Station,
        &format!("/console/brain/stations/{id}"),
        &headers,
        q.as_deref(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    async fn get(uri: &str, headers: &[(&str, &str)]) -> (StatusCode, HeaderMap, String) {
        let mut req = Request::get(uri);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = router::<()>()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        (status, headers, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn root_redirects_to_map() {
        let (status, headers, _) = get("/", &[]).await;
        assert_eq!(status, StatusCode::FOUND);
        assert_eq!(headers["location"], "/console/map");
    }

    #[tokio::test]
    async fn pages_render_in_both_languages() {
        for (path, marker) in [
            ("/login", "id=\"login-submit\""),
            ("/console/map", "id=\"lookup-result\""),
            ("/console/inbox", "id=\"inbox-table\""),
            ("/console/admin", "id=\"jurisdictions-table\""),
            ("/console/catalog", "id=\"catalog-table\""),
            ("/portal", "id=\"portal-results\""),
            ("/console/twin", "id=\"twin-filter\""),
            ("/console/security", "id=\"totp-start\""),
            ("/login", "id=\"mfa-code\""),
            ("/citizen/register", "id=\"send-code\""),
            ("/citizen/real-name", "id=\"id-number\""),
            ("/citizen/companies", "id=\"mandates-table\""),
            ("/console/services/forms", "id=\"question-list\""),
            (
                "/citizen/forms/birth-medical-certificate",
                "id=\"form-questions\"",
            ),
            ("/console/flows", "id=\"flows-table\""),
            ("/hall", "id=\"hall-results\""),
            ("/hall/items/330100-20-WJW-001-000", "id=\"guide\""),
            ("/citizen", "id=\"tile-hall\""),
            ("/hall/assistant", "id=\"assistant-question\""),
            ("/console/jobs", "id=\"runs-table\""),
            ("/console/brain/stations", "id=\"stations-table\""),
            ("/console/brain/stations/HZ-12", "id=\"station-chart\""),
            ("/rooms", "id=\"rooms-list\""),
        ] {
            let (status, headers, body) = get(path, &[]).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            assert_eq!(headers["content-type"], "text/html; charset=utf-8");
            assert!(body.contains(marker), "{path} lacks {marker}");
            assert!(body.contains("<html lang=\"en\""), "{path}");
            assert!(headers.get("set-cookie").is_none());

            let (_, headers, body) = get(&format!("{path}?lang=zh"), &[]).await;
            assert!(body.contains("<html lang=\"zh-CN\""), "{path}");
            assert_eq!(
                headers["set-cookie"],
                "lang=zh; Path=/; Max-Age=31536000; SameSite=Lax"
            );
        }
        let (_, _, body) = get("/console/admin", &[("cookie", "lang=zh")]).await;
        assert!(body.contains("行政区划 Jurisdictions"));
        assert!(body.contains("id=\"tenant-switcher\""));
        let (_, _, body) = get("/console/map", &[("accept-language", "zh-CN,zh;q=0.9")]).await;
        assert!(body.contains("地图 Map"));
    }

    #[tokio::test]
    async fn inbox_page_in_navigation() {
        let (status, headers, body) = get("/console/inbox", &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'self'"));
        assert!(body.contains("<title>To-do 待办 · onecity</title>"));
        assert!(body.contains("data-page=\"inbox\""));
        assert!(body.contains("<a href=\"/console/inbox\" aria-current=\"page\">To-do 待办</a>"));
        for marker in [
            "id=\"case-detail\"",
            "id=\"claim-button\"",
            "id=\"notification-list\"",
            "id=\"count-overdue\"",
            "<script src=\"/assets/js/inbox.js\"></script>",
        ] {
            assert!(body.contains(marker), "inbox page lacks {marker}");
        }
        // every console page links to the inbox; only the inbox page marks it current
        let (_, _, body) = get("/console/map?lang=zh", &[]).await;
        assert!(body.contains("<a href=\"/console/inbox\">待办 To-do</a>"));
        let (_, _, body) = get("/login", &[]).await;
        assert!(!body.contains("/console/inbox\""));
        let (status, _, body) = get("/assets/js/inbox.js", &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("inboxReady"));
    }

    #[tokio::test]
    async fn hall_item_page_keeps_its_path_and_refuses_odd_codes() {
        let (status, _, body) = get("/hall/items/330100-20-WJW-001-000?lang=en", &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("href=\"&#x2f;hall&#x2f;items&#x2f;330100-20-WJW-001-000?lang=zh\""));
        assert!(body.contains("data-page=\"hall_item\""));
        assert!(body.contains("<script src=\"/assets/js/hall.js\"></script>"));
        assert!(!body.contains("id=\"logout\""), "public page");
        let (status, _, _) = get("/hall/items/%3Cscript%3E", &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (_, _, home) = get("/citizen?lang=zh", &[]).await;
        let hall_tile = home.find("id=\"tile-hall\"").unwrap();
        assert!(
            !home[..hall_tile].contains("class=\"tile\"")
                && !home[..hall_tile].contains("class=\"tile "),
            "the hall is the first tile"
        );
    }

    #[tokio::test]
    async fn toggle_links_keep_next_and_escape() {
        let (_, _, body) = get("/login?next=%2Fconsole%2Fadmin&x=%22%3E", &[]).await;
        // minijinja escapes `/` as `&#x2f;` in HTML.
        assert!(
            body.contains("href=\"&#x2f;login?next=%2Fconsole%2Fadmin&amp;x=%22%3E&amp;lang=zh\"")
        );
    }

    #[tokio::test]
    async fn assets_served_with_headers() {
        let (status, headers, body) = get("/assets/js/common.js", &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers["content-type"], "text/javascript; charset=utf-8");
        assert_eq!(headers["cache-control"], "public, max-age=3600");
        assert!(body.contains("onecity.token"));
        let (status, _, _) = get("/assets/vendor/maplibre-gl/maplibre-gl.css", &[]).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _, _) = get("/assets/missing.js", &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _, _) = get("/assets/../Cargo.toml", &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn flows_page_has_the_designer() {
        let (status, _, body) = get("/console/flows?lang=zh", &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("<title>流程设计器 Flow designer · onecity</title>"));
        assert!(
            body.contains("<a href=\"/console/flows\" aria-current=\"page\">流程设计 Flows</a>")
        );
        for marker in [
            "id=\"diagram\"",
            "id=\"problem-list\"",
            "id=\"save-flow\"",
            "id=\"json-text\"",
            "<link rel=\"stylesheet\" href=\"/assets/flows.css\">",
            "<script src=\"/assets/js/flows.js\"></script>",
        ] {
            assert!(body.contains(marker), "flows page lacks {marker}");
        }
        let (status, _, js) = get("/assets/js/flows.js", &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(js.contains("flowsReady"));
        assert!(
            !js.contains("innerHTML"),
            "console scripts build the DOM, never innerHTML"
        );
    }
}
