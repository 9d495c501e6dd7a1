//! Bare axum hello world: the baseline for onecity's authenticated-request throughput.
//! Usage: hello-axum [ADDR] (default 127.0.0.1:3999).

use axum::{routing::get, Router};

#[tokio::main]
async fn main() {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:3999".into());
    let app = Router::new().route("/", get(|| async { "hello, world" }));
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
    eprintln!("hello-axum listening on http://{addr}");
    axum::serve(listener, app).await.expect("serve");
}
