//! Static assets (styles, scripts, vendored libraries) embedded in the binary.

use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use http::StatusCode;

/// Embeds files under `assets/` by their path relative to that folder.
macro_rules! embed {
    ($($path:literal),* $(,)?) => {
        &[$(($path, include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/", $path)) as &[u8])),*]
    };
}

/// Every served asset, `(path under /assets/, bytes)`. A unit test checks that this
/// list matches the files in `assets/`.
static ASSETS: &[(&str, &[u8])] = embed![
    "console.css",
    "favicon.svg",
    "js/admin.js",
    "js/assistant.js",
    "js/catalog.js",
    "js/citizen.js",
    "js/common.js",
    "js/events.js",
    "js/exchange.js",
    "js/hall.js",
    "js/inbox.js",
    "js/login.js",
    "js/map.js",
    "js/plans.js",
    "js/security.js",
    "js/portal.js",
    "js/stats.js",
    "js/twin.js",
    "js/brain_stations.js",
    "js/webauthn.js",
    "js/forms_core.js",
    "js/forms_designer.js",
    "js/citizen_form.js",
    "js/jobs.js",
    "vendor/maplibre-gl/LICENSE.txt",
    "vendor/maplibre-gl/VERSION",
    "vendor/maplibre-gl/maplibre-gl.css",
    "vendor/maplibre-gl/maplibre-gl.js",
    "flows.css",
    "js/flows.js",
    "js/rooms.js",
];

/// The bytes and Content-Type of the asset at `path` (relative to `/assets/`).
pub fn lookup(path: &str) -> Option<(&'static [u8], &'static str)> {
    ASSETS
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(p, bytes)| (*bytes, content_type(p)))
}

/// The Content-Type for a file name, by extension.
pub fn content_type(path: &str) -> &'static str {
    let file = path.rsplit('/').next().unwrap_or(path);
    let ext = file.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("css") => "text/css; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("json") => "application/json",
        Some("geojson") => "application/geo+json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        Some("html") => "text/html; charset=utf-8",
        Some("txt" | "md") => "text/plain; charset=utf-8",
        None if matches!(file, "VERSION" | "LICENSE") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// `GET /assets/{*path}`.
pub async fn serve(Path(path): Path<String>) -> Response {
    match lookup(&path) {
        Some((bytes, ctype)) => (
            [
                (CONTENT_TYPE, ctype),
                (CACHE_CONTROL, "public, max-age=3600"),
                (X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            bytes,
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            [(CONTENT_TYPE, "text/plain; charset=utf-8")],
            "not found\n",
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path as FsPath, PathBuf};

    fn walk(dir: &FsPath, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }

    #[test]
    fn list_matches_folder() {
        let root = FsPath::new(env!("CARGO_MANIFEST_DIR")).join("assets");
        let mut files = Vec::new();
        walk(&root, &mut files);
        let mut on_disk: Vec<String> = files
            .iter()
            .map(|p| {
                p.strip_prefix(&root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/")
            })
            .collect();
        on_disk.sort();
        let mut listed: Vec<String> = ASSETS.iter().map(|(p, _)| p.to_string()).collect();
        listed.sort();
        assert_eq!(listed, on_disk, "update ASSETS in src/assets.rs");
    }

    #[test]
    fn lookup_known_and_unknown() {
        let (bytes, ctype) = lookup("vendor/maplibre-gl/maplibre-gl.js").unwrap();
        assert!(bytes.len() > 100_000);
        assert_eq!(ctype, "text/javascript; charset=utf-8");
        assert_eq!(lookup("console.css").unwrap().1, "text/css; charset=utf-8");
        assert_eq!(
            lookup("vendor/maplibre-gl/VERSION").unwrap().1,
            "text/plain; charset=utf-8"
        );
        assert!(lookup("nope.js").is_none());
        assert!(lookup("../Cargo.toml").is_none());
        assert!(lookup("").is_none());
    }

    #[test]
    fn content_types() {
        assert_eq!(content_type("a/b/icon.SVG"), "image/svg+xml");
        assert_eq!(content_type("x.json"), "application/json");
        assert_eq!(content_type("noext"), "application/octet-stream");
        assert_eq!(content_type("weird.bin"), "application/octet-stream");
    }
}
