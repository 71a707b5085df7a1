//! Load harness: starts the release server on a temporary store, seeds it over the admin API and drives
//! load over loopback with `wrk` (a closed-loop generator: each connection sends its next request when the
//! previous one answered). Prints a markdown table and writes JSON.
//!
//! `cargo build --release && target/release/bench <scenario> [options]`; `bench --help` lists them.
#![allow(clippy::print_stdout)] // a command-line report

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};
use futures::StreamExt;
use serde::Serialize;
use serde_json::{Value, json};

const ADMIN_TOKEN: &str = "bench-admin-token";

/// Benchmark scenarios.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Scenario {
    /// Authenticated cheap request: `GET /api/v1/users/me`.
    UsersMe,
    /// Many companies touched once, then idle eviction: RSS before / peak / after, cold first-request latency.
    Tenants,
}

#[derive(Debug, Parser)]
#[command(about = "Customermates load harness")]
struct Args {
    /// What to measure.
    scenario: Scenario,
    /// Seconds of load per concurrency level.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Concurrency levels (connections), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,8,32")]
    connections: Vec<u32>,
    /// Companies for the `tenants` scenario.
    #[arg(long, default_value_t = 10_000)]
    companies: usize,
    /// Cold first requests timed in the `tenants` scenario.
    #[arg(long, default_value_t = 200)]
    cold_samples: usize,
    /// Where to write the JSON report.
    #[arg(long, default_value = "bench-report.json")]
    json: PathBuf,
    /// The server binary (default: `customermates` beside this binary).
    #[arg(long)]
    server_bin: Option<PathBuf>,
}

/// One row of the report.
#[derive(Debug, Serialize)]
struct Row {
    scenario: String,
    connections: u32,
    requests_per_sec: f64,
    p50_ms: f64,
    p90_ms: f64,
    p99_ms: f64,
    errors: u64,
    server_peak_rss_mb: f64,
    note: String,
}

/// A server process on a free loopback port and a temporary store; killed on drop.
struct Server {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Server {
    async fn start(binary: &PathBuf, env: &[(&str, &str)]) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let dir = tempfile::tempdir()?;
        let store = format!("surrealkv://{}", dir.path().join("store").display());
        let mut command = Command::new(binary);
        command
            .args([
                "--no-demo",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--database-url",
                &store,
            ])
            .env("CM_ADMIN__TOKEN", ADMIN_TOKEN)
            .env("CM_LOG__LEVEL", "warn")
            .env("CM_RATE_LIMIT__PER_SECOND", "1000000")
            .env("CM_RATE_LIMIT__BURST", "1000000")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let server = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        };
        let client = reqwest::Client::new();
        for _ in 0..300 {
            if client.get(format!("{}/healthz", server.base)).send().await.is_ok() {
                return Ok(server);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("the server did not come up")
    }

    /// (current RSS, peak RSS) in MiB.
    fn rss_mb(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
                .map_or(0.0, |kb| kb / 1024.0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    async fn create_company(&self, client: &reqwest::Client, name: &str) -> anyhow::Result<(String, String)> {
        let email = format!("bench-{}@example.com", uuid::Uuid::new_v4().simple());
        let body = json!({"name": name, "admin": {"email": email, "firstName": "Bench"}});
        let response = client
            .post(format!("{}/admin/v1/companies", self.base))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
            .await?;
        if response.status() != 201 {
            bail!(
                "company creation answered {}: {}",
                response.status(),
                response.text().await?
            );
        }
        let created: Value = response.json().await?;
        let field = |v: &Value| v.as_str().map(str::to_owned).context("missing field");
        Ok((field(&created["company"]["id"])?, field(&created["apiKey"]["key"])?))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What `wrk --latency` reported.
struct WrkResult {
    requests_per_sec: f64,
    p50_ms: f64,
    p90_ms: f64,
    p99_ms: f64,
    errors: u64,
}

fn parse_duration_ms(text: &str) -> Option<f64> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().ok()?;
    Some(match unit {
        "us" => value / 1000.0,
        "ms" => value,
        "s" => value * 1000.0,
        "m" => value * 60_000.0,
        _ => return None,
    })
}

fn parse_wrk(output: &str) -> anyhow::Result<WrkResult> {
    let percentile = |p: &str| {
        output
            .lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(p).map(str::trim))
            .and_then(parse_duration_ms)
            .with_context(|| format!("no {p} latency in wrk output:\n{output}"))
    };
    let requests_per_sec = output
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .with_context(|| format!("no Requests/sec in wrk output:\n{output}"))?;
    let non_2xx: u64 = output
        .lines()
        .find_map(|l| l.trim().strip_prefix("Non-2xx or 3xx responses:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let socket: u64 = output
        .lines()
        .find_map(|l| l.trim().strip_prefix("Socket errors:"))
        .map(|v| {
            v.split(',')
                .filter_map(|part| part.split_whitespace().last()?.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0);
    Ok(WrkResult {
        requests_per_sec,
        p50_ms: percentile("50%")?,
        p90_ms: percentile("90%")?,
        p99_ms: percentile("99%")?,
        errors: non_2xx + socket,
    })
}

fn wrk(url: &str, connections: u32, duration: u64, headers: &[(&str, &str)]) -> anyhow::Result<WrkResult> {
    let mut command = Command::new("wrk");
    command.args([
        "--latency",
        "-t",
        &connections.clamp(1, 2).to_string(),
        "-c",
        &connections.to_string(),
        "-d",
        &format!("{duration}s"),
    ]);
    for (name, value) in headers {
        command.args(["-H", &format!("{name}: {value}")]);
    }
    let output = command
        .arg(url)
        .output()
        .context("running wrk (install it: apt-get install wrk)")?;
    if !output.status.success() {
        bail!("wrk failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    parse_wrk(&String::from_utf8_lossy(&output.stdout))
}

async fn users_me(args: &Args, binary: &PathBuf) -> anyhow::Result<Vec<Row>> {
    let server = Server::start(binary, &[]).await?;
    let client = reqwest::Client::new();
    let (_, key) = server.create_company(&client, "Bench").await?;
    let url = format!("{}/api/v1/users/me", server.base);
    let mut rows = Vec::new();
    for &connections in &args.connections {
        let result = wrk(&url, connections, args.duration, &[("x-api-key", &key)])?;
        rows.push(Row {
            scenario: "users-me".into(),
            connections,
            requests_per_sec: result.requests_per_sec,
            p50_ms: result.p50_ms,
            p90_ms: result.p90_ms,
            p99_ms: result.p99_ms,
            errors: result.errors,
            server_peak_rss_mb: server.rss_mb().1,
            note: String::new(),
        });
    }
    Ok(rows)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

async fn tenants(args: &Args, binary: &PathBuf) -> anyhow::Result<Vec<Row>> {
    let server = Server::start(
        binary,
        &[
            ("CM_TENANTS__IDLE_TIMEOUT_SECS", "5"),
            ("CM_TENANTS__SWEEP_INTERVAL_SECS", "1"),
        ],
    )
    .await?;
    let client = reqwest::Client::new();
    let (rss_before, _) = server.rss_mb();
    let started = Instant::now();
    let created: Vec<anyhow::Result<(String, String)>> = futures::stream::iter(0..args.companies)
        .map(|i| {
            let (server, client) = (&server, &client);
            async move { server.create_company(client, &format!("Company {i}")).await }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    let companies: Vec<(String, String)> = created.into_iter().collect::<anyhow::Result<_>>()?;
    let creation = started.elapsed();
    let (rss_touched, _) = server.rss_mb();
    // Wait for the idle sweep to stop every actor.
    let mut running = u64::MAX;
    for _ in 0..600 {
        let ready: Value = client
            .get(format!("{}/readyz", server.base))
            .send()
            .await?
            .json()
            .await?;
        running = ready["tenantsRunning"].as_u64().unwrap_or(u64::MAX);
        if running == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let (rss_after, rss_peak) = server.rss_mb();
    // Cold first requests: each sampled company's actor is stopped, so this request starts it.
    let mut cold = Vec::new();
    let step = (companies.len() / args.cold_samples.max(1)).max(1);
    for (_, key) in companies.iter().step_by(step).take(args.cold_samples) {
        let start = Instant::now();
        let response = client
            .post(format!("{}/api/v1/contacts/search", server.base))
            .header("x-api-key", key)
            .json(&json!({}))
            .send()
            .await?;
        if !response.status().is_success() {
            bail!("cold request answered {}", response.status());
        }
        cold.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    cold.sort_by(f64::total_cmp);
    let note = format!(
        "{} companies created in {:.1}s; RSS before {rss_before:.0} MiB, with all actors running {rss_touched:.0} MiB, \
         peak {rss_peak:.0} MiB, after idle eviction ({running} actors left) {rss_after:.0} MiB; \
         cold first request (POST /api/v1/contacts/search) over {} companies",
        companies.len(),
        creation.as_secs_f64(),
        cold.len()
    );
    Ok(vec![Row {
        scenario: "tenants".into(),
        connections: 1,
        requests_per_sec: 0.0,
        p50_ms: percentile(&cold, 0.5),
        p90_ms: percentile(&cold, 0.9),
        p99_ms: percentile(&cold, 0.99),
        errors: 0,
        server_peak_rss_mb: rss_peak,
        note,
    }])
}

fn print_table(rows: &[Row]) {
    println!("| scenario | connections | req/s | p50 ms | p90 ms | p99 ms | errors | server peak RSS MiB | note |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        println!(
            "| {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {:.0} | {} |",
            r.scenario,
            r.connections,
            r.requests_per_sec,
            r.p50_ms,
            r.p90_ms,
            r.p99_ms,
            r.errors,
            r.server_peak_rss_mb,
            r.note
        );
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let binary = match &args.server_bin {
        Some(path) => path.clone(),
        None => std::env::current_exe()?.with_file_name("customermates"),
    };
    let rows = match args.scenario {
        Scenario::UsersMe => users_me(&args, &binary).await?,
        Scenario::Tenants => tenants(&args, &binary).await?,
    };
    print_table(&rows);
    std::fs::write(&args.json, serde_json::to_string_pretty(&rows)?)?;
    println!("\nJSON written to {}", args.json.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrk_output_is_parsed() {
        let output = "Running 1s test @ http://x\n  Latency Distribution\n     50%  412.00us\n     75%  1.20ms\n     90%    2.50ms\n     99%   1.10s\n  100 requests in 1.00s\nRequests/sec:  12345.67\nTransfer/sec: 1MB\n  Non-2xx or 3xx responses: 3\n  Socket errors: connect 1, read 2, write 0, timeout 4\n";
        let parsed = parse_wrk(output).unwrap();
        assert!((parsed.p50_ms - 0.412).abs() < 1e-9);
        assert!((parsed.p99_ms - 1100.0).abs() < 1e-9);
        assert!((parsed.requests_per_sec - 12345.67).abs() < 1e-9);
        assert_eq!(parsed.errors, 10);
    }
}
