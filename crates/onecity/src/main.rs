//! `onecity`: the one binary of the onecity platform.
//!
//! Subcommands: `serve` (the platform), `import` (boundaries from GeoJSON), `export`
//! (audit trail, boundaries), `check` (validate config and data files), `admin` (tenants,
//! users, app keys), `audit verify` (check the hash chains), `replay` (stream a CSV time
//! series to a running server as device measurements). Run `onecity --help`.

mod brain_cli;
mod cli;
mod config;
mod demo;
mod jobs;
mod jobs_http;
mod ops;
mod server;
mod store;
mod webdoc;

fn main() -> std::process::ExitCode {
    cli::main()
}
