//! The console pages in the OpenAPI document, so that every route is listed there.

use utoipa::openapi::path::{
    HttpMethod, Operation, OperationBuilder, ParameterBuilder, ParameterIn, PathItem,
};
use utoipa::openapi::{
    ContentBuilder, ObjectBuilder, OpenApi, RefOr, Required, ResponseBuilder, Type,
};

/// Adds the console's HTML routes (owned by `onecity-web`) to `doc`.
pub fn add_web_paths(doc: &mut OpenApi) {
    let pages = [
        ("/", "Redirects to the map console", "302"),
        ("/console", "Redirects to the map console", "302"),
        ("/login", "Login page 登录", "200"),
        (
            "/console/inbox",
            "To-do inbox 待办 (一体办公): cases waiting for the caller, actions, notifications",
            "200",
        ),
        (
            "/console/map",
            "Map console 地图: boundaries, grids, point lookup",
            "200",
        ),
        (
            "/console/admin",
            "Admin console 管理: jurisdictions, departments, users",
            "200",
        ),
        (
            "/console/catalog",
            "Catalog admin 数据目录管理: datasets, new dataset, the three lists",
            "200",
        ),
        (
            "/portal",
            "Open-data portal 开放数据门户: search, facets, dataset pages with API help (public)",
            "200",
        ),
        (
            "/console/exchange",
            "Data exchange dashboard 数据交换: exchange statistics per day, dataset and department",
            "200",
        ),
        (
            "/console/events",
            "Event console and dispatch desk 事件与派单 (一网统管): map, filters, history, re-dispatch",
            "200",
        ),
        (
            "/console/stats",
            "Governance statistics 统计分析 (一网统管): totals, by category, hot-spot grids with a chart",
            "200",
        ),
        (
            "/console/plans",
            "Linkage plan editor 应急联动预案: alert type and level to department tasks with deadlines",
            "200",
        ),
        (
            "/console/twin",
            "Digital twin console 数字孪生: NGSI-LD entities on the map, attributes, history chart",
            "200",
        ),
        (
            "/console/security",
            "Security settings 安全设置: authenticator app (TOTP) with QR code, security keys, recovery codes, sign-in history",
            "200",
        ),
        (
            "/citizen/register",
            "Citizen registration 注册: phone number and a one-time code (`?tenant=`), phone width",
            "200",
        ),
        (
            "/citizen/real-name",
            "Real-name check 实名认证: name and identity number, the assurance level reached",
            "200",
        ),
        (
            "/citizen/companies",
            "Company mandates 法人授权: register a company by credit code, grant and revoke mandates",
            "200",
        ),
        (
            "/console/flows",
            "Flow designer 流程设计器: workflow definitions as diagrams, edited and saved through the engine's validation",
            "200",
        ),
        (
            "/hall",
            "Service hall 网上办事大厅 (public): search, browse by life event and by department (`?tenant=`, `?q=`, `?life_event=`, `?department=`)",
            "200",
        ),
        (
            "/hall/items/{code}",
            "Service guide 办事指南 of one item (public, printable)",
            "200",
        ),
        (
            "/citizen",
            "Citizen home 市民首页: the service hall as the first tile, real-name check, company mandates",
            "200",
        ),
        (
            "/hall/assistant",
            "Assistant 智能客服: ask in Chinese or English, get guide sections or the 12345 hand-off (`?tenant=`, `?q=`), phone width",
            "200",
        ),
        (
            "/console/services/forms",
            "Form designer 表单设计器: questions of every type and their branching, preview, save a version",
            "200",
        ),
        (
            "/citizen/forms/{key}",
            "Fill in a form 填写表单 (`?tenant=`), phone width: checks in the browser, uploads, submit",
            "200",
        ),
        (
            "/console/jobs",
            "Jobs 作业: the platform's scheduled jobs, their run history with durations and outcomes, run now (platform admin)",
            "200",
        ),
        (
            "/console/brain/stations",
            "Metro stations 地铁客流预测: latest inflow and the next forecast of each station",
            "200",
        ),
        (
            "/console/brain/stations/{id}",
            "One station 站点: forecast bands (80 %, 95 %) over the actual flow, evacuation advice 疏散建议",
            "200",
        ),
        (
            "/rooms",
            "Room finder 找房 (public): map and ranked list of free rooms, filters, book (`?tenant=`)",
            "200",
        ),
    ];
    for (path, summary, status) in pages {
        let resp = ResponseBuilder::new()
            .description(if status == "302" {
                "redirect"
            } else {
                "HTML page"
            })
            .build();
        let resp = if status == "302" {
            resp
        } else {
            ResponseBuilder::from(resp)
                .content("text/html", ContentBuilder::new().build())
                .build()
        };
        let mut op = OperationBuilder::new().tag("web").summary(Some(summary));
        if path.contains("{key}") {
            op = op.parameter(
                ParameterBuilder::new()
                    .name("key")
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .description(Some("form key"))
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                    .build(),
            );
        }
        let op = op
            .parameter(
                ParameterBuilder::new()
                    .name("lang")
                    .parameter_in(ParameterIn::Query)
                    .required(Required::False)
                    .description(Some("zh or en"))
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                    .build(),
            )
            .response(status, resp);
        let op = if path.contains("{id}") {
            op.parameter(
                ParameterBuilder::new()
                    .name("id")
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .description(Some("station id, HZ-<row>"))
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                    .build(),
            )
        } else {
            op
        };
        let op = if path.contains("{code}") {
            op.parameter(
                ParameterBuilder::new()
                    .name("code")
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .description(Some("service item code, e.g. 330100-20-WJW-001-000"))
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                    .build(),
            )
        } else {
            op
        }
        .build();
        doc.paths
            .paths
            .insert(path.to_string(), PathItem::new(HttpMethod::Get, op));
    }
    let op = OperationBuilder::new()
        .tag("web")
        .summary(Some(
            "Static assets of the console (embedded in the binary)",
        ))
        .parameter(
            ParameterBuilder::new()
                .name("path")
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                .build(),
        )
        .response(
            "200",
            ResponseBuilder::new().description("the file").build(),
        )
        .response(
            "404",
            ResponseBuilder::new().description("no such asset").build(),
        )
        .build();
    doc.paths.paths.insert(
        "/assets/{path}".to_string(),
        PathItem::new(HttpMethod::Get, op),
    );
}

fn problem_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    let content = ContentBuilder::new()
        .schema(Some(utoipa::openapi::Ref::from_schema_name("Problem")))
        .build();
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content("application/problem+json", content)
            .build(),
    )
}

fn fix_operation(op: &mut Operation, has_body: bool) {
    let rs = &mut op.responses.responses;
    for (status, r) in rs.iter_mut() {
        if status.starts_with('4') || status.starts_with('5') {
            if let RefOr::T(resp) = r {
                if let Some(c) = resp.content.shift_remove("application/json") {
                    resp.content.insert("application/problem+json".into(), c);
                }
            }
        }
    }
    if op.security.as_ref().is_some_and(|s| !s.is_empty()) {
        rs.entry("401".into())
            .or_insert_with(|| problem_response("missing, invalid or expired credentials"));
        rs.entry("429".into()).or_insert_with(|| {
            problem_response("an app key over its rate limit (see Retry-After)")
        });
    }
    rs.entry("400".into())
        .or_insert_with(|| problem_response("malformed body or query"));
    if has_body {
        rs.entry("413".into())
            .or_insert_with(|| problem_response("body over the size limit"));
        rs.entry("415".into())
            .or_insert_with(|| problem_response("body is not application/json"));
        rs.entry("422".into())
            .or_insert_with(|| problem_response("invalid input"));
    }
}

/// Makes the generated document say what the server does for every operation: error
/// bodies are `application/problem+json`, authenticated operations may answer 401 and 429,
/// and operations with a body may answer 400, 413, 415 and 422.
pub fn fix_error_responses(doc: &mut OpenApi) {
    for (path, item) in doc.paths.paths.iter_mut() {
        if !path.starts_with("/api/") {
            continue;
        }
        for op in [&mut item.get, &mut item.delete].into_iter().flatten() {
            fix_operation(op, false);
        }
        for op in [&mut item.post, &mut item.put, &mut item.patch]
            .into_iter()
            .flatten()
        {
            let has_body = op.request_body.is_some();
            fix_operation(op, has_body);
        }
    }
}
