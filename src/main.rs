//! `customermates`: run the server, or administer the platform from the command line.
#![allow(clippy::print_stdout)] // the first-run banner and admin command output go to stdout by design

use clap::Parser;
use customermates::cli::{Cli, Command, run_admin};
use customermates::config::Settings;
use customermates::startup::{Application, FirstRun, services};

/// mimalloc: the request path allocates heavily (the query engine, JSON); glibc malloc took ~20 % of the
/// server's CPU under load (perf, `bench reference`), see BENCHMARKS.md.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    return_freed_memory_promptly();
    run()
}

#[actix_web::main]
async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load(&cli.overrides())?;
    customermates::telemetry::init(&settings.log);
    match cli.command {
        None | Some(Command::Serve) => serve(settings).await,
        Some(Command::Admin { command }) => {
            let (_, tenants, _, admin) = services(&settings).await?;
            let outcome = run_admin(&admin, command).await;
            tenants.shutdown().await;
            match outcome {
                Ok(value) => {
                    println!("{}", serde_json::to_string_pretty(&value)?);
                    Ok(())
                }
                Err(error) => {
                    let body = customermates::error::ApiError::from(error).body();
                    eprintln!("{}", serde_json::to_string_pretty(&serde_json::json!(body))?);
                    std::process::exit(1);
                }
            }
        }
    }
}

/// mimalloc hands freed memory back to the OS only after a delay (1 s in mimalloc v3, ten times that for its
/// arenas), and only while the process keeps allocating. After idle companies' actors stop, what they freed stayed
/// resident: 2,000 companies touched then evicted left 318 MiB, against 265 MiB with a 10 ms delay and 241 MiB with
/// none, while the 10 ms delay cost ~3 % of throughput and no delay ~25 % (`bench tenants`, `bench reference`;
/// BENCHMARKS.md). mimalloc reads its options when the process starts, so when `MIMALLOC_PURGE_DELAY` is not set
/// the process re-executes itself (same pid, arguments and environment) with it set to 10. Set the variable to
/// choose another delay.
fn return_freed_memory_promptly() {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return;
        }
        let mut args = std::env::args_os();
        let Some(arg0) = args.next() else { return };
        // This very binary (not whatever its path points to now, e.g. during an upgrade), same argv[0].
        let error = std::process::Command::new("/proc/self/exe")
            .arg0(arg0)
            .args(args)
            .env("MIMALLOC_PURGE_DELAY", "10")
            .exec();
        // `exec` returns only if it failed; the server then runs with mimalloc's default delay.
        eprintln!("note: could not re-execute with MIMALLOC_PURGE_DELAY=10 ({error}); using the allocator's default");
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let base = settings.public_url();
    let mut app = Application::build(settings).await?;
    print_first_run(&app.take_first_run(), &base);
    tracing::info!(port = app.port(), "listening");
    app.run_until_stopped().await?;
    Ok(())
}

fn print_first_run(first: &FirstRun, base: &str) {
    if let Some(token) = &first.admin_token {
        println!("\nPlatform admin token (shown once; only its hash is stored):\n  {token}\n");
        println!("  curl -H 'Authorization: Bearer {token}' {base}/admin/v1/companies\n");
    }
    if let Some(demo) = &first.demo {
        let key = &demo.api_key.key;
        println!("Demo company \"{}\" created with sample data.", demo.company.name);
        println!("API key of {} (shown once):\n  {key}\n", demo.user.email);
        println!("Try it:\n  curl -H 'x-api-key: {key}' {base}/api/v1/users/me\n");
        println!("MCP client config (Cursor, Claude Desktop, …):");
        let config = serde_json::json!({"mcpServers": {"customermates": {"url": format!("{base}/api/v1/mcp"), "headers": {"x-api-key": key}}}});
        println!("{}", serde_json::to_string_pretty(&config).unwrap_or_default());
        println!(
            "\nClaude Code:\n  claude mcp add --transport http customermates {base}/api/v1/mcp --header \"x-api-key: {key}\"\n"
        );
    }
}
