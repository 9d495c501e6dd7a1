//! The console pages in the OpenAPI document, so that every route is listed there.

use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem,
};
use utoipa::openapi::{ContentBuilder, OpenApi, Required, ResponseBuilder};

/// Adds the console's HTML routes (owned by `onecity-web`) to `doc`.
pub fn add_web_paths(doc: &mut OpenApi) {
    let pages = [
        ("/", "Redirects to the map console", "302"),
        ("/console", "Redirects to the map console", "302"),
        ("/login", "Login page 登录", "200"),
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
    ];
    for (path, summary, status) in pages {
        let resp = ResponseBuilder::new()
            .description(if status == "302" {
                "redirect"
            } else {
                "HTML page"
            })
            .content("text/html", ContentBuilder::new().build())
            .build();
        let op = OperationBuilder::new()
            .tag("web")
            .summary(Some(summary))
            .parameter(
                ParameterBuilder::new()
                    .name("lang")
                    .parameter_in(ParameterIn::Query)
                    .required(Required::False)
                    .description(Some("zh or en"))
                    .build(),
            )
            .response(status, resp)
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
