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

/// The same allocator as the server, so that the in-process `raw` ceiling is measured on equal terms.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Benchmark scenarios.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Scenario {
    /// Authenticated cheap request: `GET /api/v1/users/me`.
    UsersMe,
    /// Many companies touched once, then idle eviction: RSS before / peak / after, cold first-request latency.
    Tenants,
    /// MCP `tools/list`.
    ToolsList,
    /// MCP `tools/call filter_entity` on contacts: one relationship filter and one custom-column filter, page 25.
    Filter,
    /// The same query through REST `POST /api/v1/contacts/search`.
    RestSearch,
    /// REST search without filters: first page of 25 with the total.
    Unfiltered,
    /// REST search with one relationship filter (the contacts of one organization): page 25 with the total.
    Related,
    /// MCP `create_contacts` with one item per call (and REST `POST /api/v1/contacts` on the same server).
    #[value(name = "create-1")]
    Create1,
    /// MCP `create_contacts` with 100 items per call.
    #[value(name = "create-100")]
    Create100,
    /// The reference's workload: MCP `filter_entity` on contacts, no filter, page 10 (use `--contacts 1000`).
    Reference,
    /// MCP `get_entities` with 10 mixed ids (contacts and organizations).
    GetEntities,
    /// MCP `search_all_entities` over the five entity types.
    SearchAll,
    /// The `filter` query and a one-contact create run directly on the embedded engine, in process: the ceiling.
    Raw,
    /// Times each `--query` (SurrealQL, `$org` bound to a seeded organization) on the seeded embedded store.
    Sql,
    /// In process, no server: `--companies` databases with the tenant schema, each opened through its own
    /// session (or one shared session with `--same-session`), RSS sampled as they are added.
    TenantMemory,
    /// The full run behind BENCHMARKS.md: every scenario above at its documented scale, one after the other,
    /// in one table (`--million` adds `filter` at 1,000,000 contacts, seeded in the store: ~25 minutes more).
    All,
}

#[derive(Debug, Clone, Parser)]
#[command(about = "Customermates load harness")]
struct Args {
    /// What to measure.
    scenario: Scenario,
    /// Seconds of load per concurrency level.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// `wrk` runs per concurrency level; every reported figure is the median over the runs.
    #[arg(long, default_value_t = 3)]
    runs: u32,
    /// Concurrency levels (connections), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,8,32")]
    connections: Vec<u32>,
    /// Companies for the `tenants` scenario.
    #[arg(long, default_value_t = 10_000)]
    companies: usize,
    /// Contacts seeded for the filter / search scenarios; for `create-1` / `create-100` only when given (the
    /// company then holds that many before the creates are measured).
    #[arg(long, default_value_t = 10_000)]
    contacts: usize,
    /// Whether `--contacts` was given on the command line.
    #[arg(skip)]
    contacts_given: bool,
    /// Organizations the seeded contacts are spread over (round robin; `contacts / organizations` each). The
    /// filtered organization is the first.
    #[arg(long, default_value_t = 100)]
    organizations: usize,
    /// Cold first requests timed in the `tenants` scenario.
    #[arg(long, default_value_t = 200)]
    cold_samples: usize,
    /// `tenants`: seconds of RSS sampling (once a second) after every actor was evicted.
    #[arg(long, default_value_t = 0)]
    idle_samples: usize,
    /// Where to write the JSON report.
    #[arg(long, default_value = "bench-report.json")]
    json: PathBuf,
    /// The server binary (default: `customermates` beside this binary).
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// SurrealQL for the `sql` scenario (repeatable); `$org` is a seeded organization, `$column` the custom
    /// column and `$option` one of its options.
    #[arg(long)]
    query: Vec<String>,
    /// `tenant-memory`: open every database through one session instead of one session each.
    #[arg(long)]
    same_session: bool,
    /// `tenant-memory`, `sql`, `raw`: apply only the base tenant schema, as a company below
    /// `tenants.index_threshold` has it (by default the secondary indexes too, as a grown company has them).
    #[arg(long)]
    no_indexes: bool,
    /// Seeding scenarios: create the company and its column through the API, then write the contacts and
    /// organizations straight into the company's database with the server stopped, and start it again (for a
    /// million contacts: through the API, linking organizations slows to ~2 a second at that size).
    #[arg(long)]
    seed_in_store: bool,
    /// `tenants`: after creating the companies, restart the server on the same store, then touch every company
    /// once (a server whose companies already exist; memory the engine kept from creating them is gone).
    #[arg(long)]
    restart: bool,
    /// Run the server in a memory cgroup with this limit in bytes, as in a container (`docker run --memory`).
    #[arg(long)]
    memory_limit: Option<u64>,
    /// SurrealQL the `sql` scenario runs once after seeding (schema experiments).
    #[arg(long)]
    setup: Option<String>,
    /// SurrealQL `sql` and `raw` run once before seeding, after the schema (e.g. an index maintained while
    /// seeding, with `--no-indexes`).
    #[arg(long)]
    setup_before: Option<String>,
    /// Store of the server and of the in-process scenarios: `surrealkv` (durable: fsync on every commit; the
    /// default), `surrealkv?sync=200ms` (log flushed every 200 ms) or `mem`.
    #[arg(long, default_value = "surrealkv")]
    engine: String,
    /// Drive a server that is already running at this base URL (e.g. `http://10.0.0.5:8080`, whatever store it
    /// runs on) instead of starting one: seeding goes through its admin API with `--admin-token`. Its rate limit
    /// must be high enough for the load (rejections count as errors), its `mcp.allowed_hosts` (or public URL) must
    /// include the URL's host for the MCP scenarios, and its memory is not reported.
    #[arg(long)]
    url: Option<String>,
    /// The admin token of the `--url` server (a server the bench starts gets its own).
    #[arg(long, default_value = ADMIN_TOKEN)]
    admin_token: String,
    /// `all`: also run `filter` at 1,000,000 contacts (`--seed-in-store`, ~25 minutes of seeding).
    #[arg(long)]
    million: bool,
    /// Seeding scenarios: companies seeded alike; the load rotates over them, request by request (each with its
    /// company's key and ids).
    #[arg(long, default_value_t = 1)]
    seed_companies: usize,
    /// Deals seeded through the API beside the contacts, each with a task (default: one per 10 contacts; not
    /// with `--seed-in-store`, which writes contacts and organizations only).
    #[arg(long)]
    deals: Option<usize>,
    /// Seconds to wait after seeding before measuring (the storage engine compacts what seeding wrote).
    #[arg(long, default_value_t = 0)]
    settle: u64,
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
    /// The server's peak RSS (`None`: in process, or a `--url` server).
    server_peak_rss_mb: Option<f64>,
    note: String,
}

/// The store URL for `--engine`: `mem`, `surrealkv` (fsync on every commit, the default), or `surrealkv?<options>`
/// (e.g. `surrealkv?sync=200ms`: flush the log every 200 ms instead).
fn store_url(engine: &str, dir: &std::path::Path) -> anyhow::Result<String> {
    match engine.split_once('?') {
        None if engine == "mem" => Ok("mem://".to_owned()),
        None if engine == "surrealkv" => Ok(format!("surrealkv://{}", dir.display())),
        Some(("surrealkv", options)) => Ok(format!("surrealkv://{}?{options}", dir.display())),
        _ => bail!("--engine must be `mem`, `surrealkv` or `surrealkv?<options>`, not `{engine}`"),
    }
}

/// A server process on a free loopback port and a temporary store; killed on drop.
struct Server {
    /// `None` for a `--url` server.
    child: Option<Child>,
    base: String,
    admin_token: String,
    /// The store's directory (taken over by [`Server::restart`]).
    dir: Option<tempfile::TempDir>,
    cgroup: Option<MemoryCgroup>,
}

/// A memory cgroup (v2 `memory.max` or v1 `memory.limit_in_bytes`) the server runs in, as in a container with a
/// memory limit. SurrealKV sizes its write buffer and block cache from the memory it sees (the cgroup limit when
/// there is one, else the machine's RAM). Removed on drop.
struct MemoryCgroup {
    /// The hierarchy's root (`/sys/fs/cgroup` for v2, `/sys/fs/cgroup/memory` for v1).
    root: PathBuf,
    /// The bench's cgroup below it.
    dir: PathBuf,
}

impl MemoryCgroup {
    fn create(bytes: u64) -> anyhow::Result<Self> {
        let name = format!("customermates-bench-{}", std::process::id());
        let v2 = PathBuf::from("/sys/fs/cgroup");
        let v1 = PathBuf::from("/sys/fs/cgroup/memory");
        let controllers = std::fs::read_to_string(v2.join("cgroup.controllers")).unwrap_or_default();
        let (root, file) = if controllers.split_whitespace().any(|c| c == "memory") {
            (v2, "memory.max")
        } else if v1.join("memory.limit_in_bytes").exists() {
            (v1, "memory.limit_in_bytes")
        } else {
            bail!("--memory-limit needs a cgroup memory controller (v2 or v1) under /sys/fs/cgroup");
        };
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {} (needs root)", dir.display()))?;
        std::fs::write(dir.join(file), bytes.to_string())?;
        Ok(Self { root, dir })
    }
}

impl Drop for MemoryCgroup {
    fn drop(&mut self) {
        // Empty once the server process is gone.
        for _ in 0..50 {
            if std::fs::remove_dir(&self.dir).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Server {
    async fn start(binary: &PathBuf, args: &Args, env: &[(&str, &str)]) -> anyhow::Result<Self> {
        if let Some(url) = &args.url {
            let server = Self {
                child: None,
                base: url.trim_end_matches('/').to_owned(),
                admin_token: args.admin_token.clone(),
                dir: None,
                cgroup: None,
            };
            let health = reqwest::Client::new()
                .get(format!("{}/healthz", server.base))
                .send()
                .await
                .with_context(|| format!("--url {url}: no answer at {}/healthz", server.base))?;
            if !health.status().is_success() {
                bail!("--url {url}: /healthz answered {}", health.status());
            }
            return Ok(server);
        }
        let dir = tempfile::tempdir()?;
        let cgroup = args.memory_limit.map(MemoryCgroup::create).transpose()?;
        Self::spawn(binary, args, env, dir, cgroup).await
    }

    /// Stops the server (SIGTERM: a graceful shutdown) and starts it again on the same store, in the same cgroup.
    async fn restart(mut self, binary: &PathBuf, args: &Args, env: &[(&str, &str)]) -> anyhow::Result<Self> {
        let (dir, cgroup) = self.stop()?;
        Self::spawn(binary, args, env, dir, cgroup).await
    }

    /// Stops the server gracefully; its store and cgroup are handed back for the next one.
    fn stop(&mut self) -> anyhow::Result<(tempfile::TempDir, Option<MemoryCgroup>)> {
        let child = self
            .child
            .as_mut()
            .context("the bench stops only a server it started")?;
        Command::new("kill").args(["-TERM", &child.id().to_string()]).status()?;
        child.wait()?;
        let dir = self.dir.take().context("the server's store is gone")?;
        Ok((dir, self.cgroup.take()))
    }

    async fn spawn(
        binary: &PathBuf,
        args: &Args,
        env: &[(&str, &str)],
        dir: tempfile::TempDir,
        cgroup: Option<MemoryCgroup>,
    ) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let store = store_url(&args.engine, &dir.path().join("store"))?;
        let mut command = match &cgroup {
            // The limit must hold from the first instruction: the engine sizes its caches when it opens the store.
            // As in a container: a private mount namespace where the cgroup is mounted as the hierarchy's root
            // (where the engine's memory probe looks), the process moved into it, then the server exec'd.
            Some(cgroup) => {
                let mut sh = Command::new("unshare");
                sh.args(["--mount", "sh", "-c"])
                    .arg(format!(
                        "mount --bind {dir} {root} && echo $$ > {root}/cgroup.procs && exec \"$0\" \"$@\"",
                        dir = cgroup.dir.display(),
                        root = cgroup.root.display()
                    ))
                    .arg(binary);
                sh
            }
            None => Command::new(binary),
        };
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
            child: Some(child),
            base: format!("http://127.0.0.1:{port}"),
            admin_token: ADMIN_TOKEN.to_owned(),
            dir: Some(dir),
            cgroup,
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

    /// (current RSS, peak RSS) in MiB (NaN for a `--url` server).
    fn rss_mb(&self) -> (f64, f64) {
        (self.status_mb("VmRSS:"), self.status_mb("VmHWM:"))
    }

    /// The CPU time the server's threads have used so far (user + system), when the bench started it.
    fn cpu_seconds(&self) -> Option<f64> {
        let child = self.child.as_ref()?;
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", child.id())).ok()?;
        // The fields after the command name (which is in parentheses and may hold spaces): utime and stime, the
        // line's 14th and 15th fields, are the 12th and 13th of these, in clock ticks (USER_HZ: 100 on Linux).
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
        Some(ticks / 100.0)
    }

    /// Runs `wrk_with` and measures the server's CPU time per request over those runs (all of its threads: request
    /// handling, the engine's background work and its log syncing): the figure to compare where latency is noisy.
    fn wrk_cpu(
        &self,
        url: &str,
        connections: u32,
        args: &Args,
        script: &std::path::Path,
    ) -> anyhow::Result<(WrkResult, Option<f64>)> {
        let before = self.cpu_seconds();
        let result = wrk_with(url, connections, args, &[], Some(script))?;
        let per_request = match (before, self.cpu_seconds()) {
            (Some(before), Some(after)) if result.requests > 0 => Some((after - before) * 1e6 / result.requests as f64),
            _ => None,
        };
        Ok((result, per_request))
    }

    /// Peak RSS in MiB, when the bench started the server.
    fn peak_mb(&self) -> Option<f64> {
        self.child.is_some().then(|| self.rss_mb().1)
    }

    /// A memory field of the server's `/proc/<pid>/status` in MiB (`RssAnon:` is the heap, `RssFile:` mapped
    /// files the kernel can drop); NaN for a `--url` server.
    fn status_mb(&self, name: &str) -> f64 {
        self.child
            .as_ref()
            .map_or(f64::NAN, |child| proc_status_mb(&child.id().to_string(), name))
    }

    /// Times one `POST /api/v1/contacts/search` of a company (cold when its actor is not running), in ms.
    async fn cold_search(&self, client: &reqwest::Client, key: &str) -> anyhow::Result<f64> {
        let start = Instant::now();
        let response = client
            .post(format!("{}/api/v1/contacts/search", self.base))
            .header("x-api-key", key)
            .json(&json!({}))
            .send()
            .await?;
        if !response.status().is_success() {
            bail!("cold request answered {}", response.status());
        }
        Ok(start.elapsed().as_secs_f64() * 1000.0)
    }

    async fn create_company(&self, client: &reqwest::Client, name: &str) -> anyhow::Result<(String, String)> {
        let email = format!("bench-{}@example.com", uuid::Uuid::new_v4().simple());
        let body = json!({"name": name, "admin": {"email": email, "firstName": "Bench"}});
        let response = client
            .post(format!("{}/admin/v1/companies", self.base))
            .bearer_auth(&self.admin_token)
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
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// What `wrk --latency` reported.
struct WrkResult {
    requests_per_sec: f64,
    /// Requests completed (summed over the runs).
    requests: u64,
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
    let requests = output
        .lines()
        .find_map(|l| l.trim().split_once(" requests in "))
        .and_then(|(n, _)| n.trim().parse().ok())
        .with_context(|| format!("no request count in wrk output:\n{output}"))?;
    Ok(WrkResult {
        requests_per_sec,
        requests,
        p50_ms: percentile("50%")?,
        p90_ms: percentile("90%")?,
        p99_ms: percentile("99%")?,
        errors: non_2xx + socket,
    })
}

/// A wrk Lua script that POSTs JSON bodies to `url`, each with its API key; with several (key, body) pairs each
/// connection cycles through them, one per request.
fn post_script(url: &str, requests: &[(String, Value)]) -> anyhow::Result<tempfile::NamedTempFile> {
    use std::io::Write;
    let mut file = tempfile::NamedTempFile::new()?;
    let lua_string = |text: &str| format!("{text:?}");
    let path = url
        .splitn(4, '/')
        .nth(3)
        .map_or_else(|| "/".to_owned(), |p| format!("/{p}"));
    writeln!(file, "local path = {}", lua_string(&path))?;
    writeln!(file, "local entries = {{")?;
    for (key, body) in requests {
        writeln!(file, "  {{{}, {}}},", lua_string(key), lua_string(&body.to_string()))?;
    }
    writeln!(file, "}}")?;
    // Formatted in `init`, once wrk has set the Host header.
    writeln!(file, "local requests = {{}}")?;
    writeln!(file, "local i = 0")?;
    writeln!(file, "function init(args)")?;
    writeln!(file, "  for n, p in ipairs(entries) do")?;
    writeln!(
        file,
        "    requests[n] = wrk.format(\"POST\", path, {{[\"Content-Type\"] = \"application/json\", [\"x-api-key\"] = p[1]}}, p[2])"
    )?;
    writeln!(file, "  end")?;
    writeln!(file, "end")?;
    writeln!(file, "function request()")?;
    writeln!(file, "  i = i % #requests + 1")?;
    writeln!(file, "  return requests[i]")?;
    writeln!(file, "end")?;
    Ok(file)
}

fn wrk(url: &str, connections: u32, args: &Args, headers: &[(&str, &str)]) -> anyhow::Result<WrkResult> {
    wrk_with(url, connections, args, headers, None)
}

/// `--runs` runs of `wrk`; each figure is the median of that figure over the runs, errors are summed.
fn wrk_with(
    url: &str,
    connections: u32,
    args: &Args,
    headers: &[(&str, &str)],
    script: Option<&std::path::Path>,
) -> anyhow::Result<WrkResult> {
    let runs = (0..args.runs.max(1))
        .map(|_| wrk_once(url, connections, args.duration, headers, script))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let median = |f: fn(&WrkResult) -> f64| {
        let mut values: Vec<f64> = runs.iter().map(f).collect();
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    Ok(WrkResult {
        requests_per_sec: median(|r| r.requests_per_sec),
        requests: runs.iter().map(|r| r.requests).sum(),
        p50_ms: median(|r| r.p50_ms),
        p90_ms: median(|r| r.p90_ms),
        p99_ms: median(|r| r.p99_ms),
        errors: runs.iter().map(|r| r.errors).sum(),
    })
}

fn wrk_once(
    url: &str,
    connections: u32,
    duration: u64,
    headers: &[(&str, &str)],
    script: Option<&std::path::Path>,
) -> anyhow::Result<WrkResult> {
    let mut command = Command::new("wrk");
    if let Some(script) = script {
        command.arg("-s").arg(script);
    }
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
    let server = Server::start(binary, args, &[]).await?;
    let client = reqwest::Client::new();
    let (_, key) = server.create_company(&client, "Bench").await?;
    let url = format!("{}/api/v1/users/me", server.base);
    let mut rows = Vec::new();
    for &connections in &args.connections {
        let result = wrk(&url, connections, args, &[("x-api-key", &key)])?;
        rows.push(row("users-me", connections, &result, server.peak_mb(), String::new()));
    }
    Ok(rows)
}

/// A seeded company: key, an organization id, a select option id, its column id.
struct Seeded {
    key: String,
    org: String,
    column: String,
    option: String,
}

/// Deals seeded beside the contacts (`--deals`, default one per 10 contacts).
fn deal_count(args: &Args) -> usize {
    if args.seed_in_store {
        0
    } else {
        args.deals.unwrap_or(args.contacts / 10)
    }
}

/// POSTs a batch, expecting 201 and an array of created records: their ids.
async fn created_ids(request: reqwest::RequestBuilder, what: &str) -> anyhow::Result<Vec<String>> {
    let response = request.send().await?;
    if response.status() != 201 {
        bail!(
            "seeding {what} answered {}: {}",
            response.status(),
            response.text().await?
        );
    }
    let created: Value = response.json().await?;
    let records = match &created {
        Value::Array(items) => items.clone(),
        one => vec![one.clone()],
    };
    Ok(records
        .iter()
        .filter_map(|c| c["id"].as_str().map(str::to_owned))
        .collect())
}

/// Creates records through `POST /api/v1/<plural>/many`, one request per batch, two in flight: every id, in order.
async fn create_batches(
    server: &Server,
    client: &reqwest::Client,
    key: &str,
    plural: &str,
    batches: Vec<Vec<Value>>,
) -> anyhow::Result<Vec<String>> {
    let created: Vec<anyhow::Result<Vec<String>>> = futures::stream::iter(batches)
        .map(|items| {
            created_ids(
                client
                    .post(format!("{}/api/v1/{plural}/many", server.base))
                    .header("x-api-key", key)
                    .json(&json!({plural: items})),
                plural,
            )
        })
        .buffered(2)
        .collect()
        .await;
    let mut ids = Vec::new();
    for batch in created {
        ids.extend(batch?);
    }
    Ok(ids)
}

/// Seeds a company through the API: `--contacts` contacts (100 per request) with a 3-option single-select
/// column, spread over `--organizations` organizations (contact `i` in organization `i % organizations`); 20
/// services; `--deals` deals, deal `d` with organization `d % organizations`, two of its contacts and one service
/// line; and a task on each deal.
async fn seed(server: &Server, args: &Args) -> anyhow::Result<Seeded> {
    let (contacts, organizations) = (args.contacts, args.organizations.max(1));
    let client = reqwest::Client::new();
    let (_, key) = server.create_company(&client, "Bench").await?;
    let post = |path: &str, body: Value| {
        client
            .post(format!("{}{path}", server.base))
            .header("x-api-key", key.clone())
            .json(&body)
            .send()
    };
    let (column_id, options) = stage_column(server, &client, &key).await?;
    // Contacts first, then each organization created with its contacts: linking from the organization's side
    // reloads each contact once (linear), whereas adding contacts to ever larger organizations reloads every
    // organization's growing contact list per batch (quadratic in the seed size).
    let started = Instant::now();
    let contact_batches: Vec<Vec<Value>> = (0..contacts)
        .step_by(100)
        .map(|start| {
            (start..(start + 100).min(contacts))
                .map(|i| {
                    json!({"firstName": format!("First{i}"), "lastName": format!("Last{}", i % 997),
                    "emails": [format!("person{i}@example.com")],
                    "customFieldValues": [{"columnId": column_id, "value": options[i % options.len()]}]})
                })
                .collect()
        })
        .collect();
    let contact_ids = create_batches(server, &client, &key, "contacts", contact_batches).await?;
    let organizations_created: Vec<anyhow::Result<String>> = futures::stream::iter(0..organizations)
        .map(|o| {
            let members: Vec<&String> = contact_ids.iter().skip(o).step_by(organizations).collect();
            let request = post(
                "/api/v1/organizations",
                json!({"name": format!("Organization {o:03}"), "contactIds": members}),
            );
            async move {
                let response = request.await?;
                if response.status() != 201 {
                    bail!("seeding organizations answered {}", response.status());
                }
                let created: Value = response.json().await?;
                created["id"].as_str().map(str::to_owned).context("organization id")
            }
        })
        .buffered(2)
        .collect()
        .await;
    let org_ids = organizations_created
        .into_iter()
        .collect::<anyhow::Result<Vec<String>>>()?;
    let services: Vec<Value> = (0..20)
        .map(|s| json!({"name": format!("Service {s:02}"), "amount": 100 + 10 * s}))
        .collect();
    let service_ids = create_batches(server, &client, &key, "services", vec![services]).await?;
    let deals = deal_count(args);
    let deal_batches: Vec<Vec<Value>> = (0..deals)
        .step_by(100)
        .map(|start| {
            (start..(start + 100).min(deals))
                .map(|d| {
                    let o = d % organizations;
                    // Two contacts of organization `o` (contact `i` is in organization `i % organizations`, so
                    // it holds the contacts `o + organizations * k`, `k < members`); none when it has none.
                    let members = contact_ids.len().saturating_sub(o).div_ceil(organizations);
                    let first = 2 * (d / organizations);
                    let mut linked: Vec<&String> = (first..first + 2)
                        .filter(|_| members > 0)
                        .filter_map(|k| contact_ids.get(o + organizations * (k % members)))
                        .collect();
                    linked.dedup();
                    json!({"name": format!("Deal {d}"), "organizationIds": [org_ids[o]],
                           "contactIds": linked,
                           "services": [{"serviceId": service_ids[d % service_ids.len()], "quantity": 1 + d % 3}]})
                })
                .collect()
        })
        .collect();
    let deal_ids = create_batches(server, &client, &key, "deals", deal_batches).await?;
    let task_batches: Vec<Vec<Value>> = deal_ids
        .chunks(100)
        .map(|chunk| {
            chunk
                .iter()
                .enumerate()
                .map(|(n, deal)| json!({"name": format!("Follow up {n}"), "dealIds": [deal]}))
                .collect()
        })
        .collect();
    create_batches(server, &client, &key, "tasks", task_batches).await?;
    eprintln!(
        "seeded {contacts} contacts, {organizations} organizations, {deals} deals with a task each in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(Seeded {
        key,
        org: org_ids[0].clone(),
        column: column_id,
        option: options[1].clone(),
    })
}

/// Writes contacts straight into a company's database: each `{id, first, last, emails, org, stage}` of `$rows`
/// with its `$column` value and its `works_at` edge.
const SEED_CONTACTS: &str = "FOR $c IN $rows {
    LET $r = type::record('contact', $c.id);
    CREATE $r SET firstName = $c.first, lastName = $c.last, emails = $c.emails, customFields = {};
    UPDATE $r SET customFields[$column] = $c.stage;
    RELATE $r->works_at->(type::record('organization', $c.org));
}";

/// Waits (up to 10 minutes) until no process holds the store's lock file (`flock -n`, util-linux: the engine
/// locks it with `flock`).
async fn wait_for_store_lock(lock: &std::path::Path) -> anyhow::Result<()> {
    for _ in 0..3000 {
        if !lock.exists()
            || Command::new("flock")
                .arg("-n")
                .arg(lock)
                .arg("true")
                .status()?
                .success()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bail!("{} is still locked", lock.display())
}

/// Creates the seeded contacts' single-select column "Stage" (Lead, Customer, Lost): its id and option ids.
async fn stage_column(server: &Server, client: &reqwest::Client, key: &str) -> anyhow::Result<(String, Vec<String>)> {
    let column: Value = client
        .post(format!("{}/api/v1/custom-columns", server.base))
        .header("x-api-key", key)
        .json(
            &json!({"entityType": "contact", "type": "singleSelect", "label": "Stage",
               "options": {"options": [{"label": "Lead"}, {"label": "Customer"}, {"label": "Lost"}]}}),
        )
        .send()
        .await?
        .json()
        .await?;
    let column_id = column["id"].as_str().context("column id")?.to_owned();
    let options: Vec<String> = column["options"]["options"]
        .as_array()
        .context("options")?
        .iter()
        .filter_map(|o| o["value"].as_str().map(str::to_owned))
        .collect();
    Ok((column_id, options))
}

/// `--seed-in-store`: the company and its column through the API, then the same records as [`seed`] (contact `i`
/// in organization `i % organizations`, stage option `i % 3`) written straight into the company's database while
/// the server is stopped, with every index of a grown company; then the server is started again on the store.
async fn seed_in_store(mut server: Server, binary: &PathBuf, args: &Args) -> anyhow::Result<(Server, Seeded)> {
    use customermates::store::{migrate, run};
    let client = reqwest::Client::new();
    let (company, key) = server.create_company(&client, "Bench").await?;
    let (column, options) = stage_column(&server, &client, &key).await?;
    let (dir, cgroup) = server.stop()?;
    let started = Instant::now();
    let orgs: Vec<String> = (0..args.organizations.max(1))
        .map(|_| uuid::Uuid::new_v4().to_string())
        .collect();
    {
        let db = surrealdb::engine::any::connect(store_url(&args.engine, &dir.path().join("store"))?).await?;
        let database = customermates::domain::company::database_name(&uuid::Uuid::parse_str(&company)?);
        db.use_ns("customermates").use_db(database).await?;
        migrate::ensure(&db, &migrate::TENANT).await?;
        migrate::ensure(&db, &migrate::TENANT_INDEXES).await?;
        let named: Vec<Value> = orgs
            .iter()
            .enumerate()
            .map(|(o, id)| json!({"id": id, "name": format!("Organization {o:03}")}))
            .collect();
        run(
            &db,
            "FOR $o IN $orgs { CREATE type::record('organization', $o.id) SET name = $o.name; }",
            json!({"orgs": named}),
        )
        .await?;
        for start in (0..args.contacts).step_by(1000) {
            let rows: Vec<Value> = (start..(start + 1000).min(args.contacts))
                .map(|i| {
                    json!({"id": uuid::Uuid::new_v4().to_string(), "first": format!("First{i}"),
                    "last": format!("Last{}", i % 997), "emails": [format!("person{i}@example.com")],
                    "org": orgs[i % orgs.len()], "stage": options[i % options.len()]})
                })
                .collect();
            run(&db, SEED_CONTACTS, json!({"rows": rows, "column": column})).await?;
            if (start + 1000) % 100_000 == 0 {
                eprintln!(
                    "seeded {} contacts in the store, {:.0}s",
                    start + 1000,
                    started.elapsed().as_secs_f64()
                );
            }
        }
    }
    // The engine releases the store (its LOCK file) once its last handle is gone and its write buffer is flushed,
    // which takes a while after a million records: wait until the lock is free.
    wait_for_store_lock(&dir.path().join("store").join("LOCK")).await?;
    eprintln!(
        "seeded {} contacts in the store in {:.1}s",
        args.contacts,
        started.elapsed().as_secs_f64()
    );
    let server = Server::spawn(binary, args, &[], dir, cgroup).await?;
    Ok((
        server,
        Seeded {
            key,
            org: orgs[0].clone(),
            column,
            option: options[1].clone(),
        },
    ))
}

fn row(scenario: &str, connections: u32, result: &WrkResult, rss: Option<f64>, note: String) -> Row {
    Row {
        scenario: scenario.to_owned(),
        connections,
        requests_per_sec: result.requests_per_sec,
        p50_ms: result.p50_ms,
        p90_ms: result.p90_ms,
        p99_ms: result.p99_ms,
        errors: result.errors,
        server_peak_rss_mb: rss,
        note,
    }
}

/// POST scenarios driven by a body (MCP or REST). With `--seed-companies N`, N companies are seeded alike and
/// each connection's requests rotate over them (each request with its company's key and ids).
async fn posted(args: &Args, binary: &PathBuf) -> anyhow::Result<Vec<Row>> {
    let server = Server::start(binary, args, &[]).await?;
    // Creates are measured on a new company, or on one of `--contacts` records when that is given (issue 3
    // states the 1 ms create for 100,000).
    let needs_data = matches!(
        args.scenario,
        Scenario::Filter
            | Scenario::Reference
            | Scenario::RestSearch
            | Scenario::Unfiltered
            | Scenario::Related
            | Scenario::GetEntities
            | Scenario::SearchAll
    ) || (matches!(args.scenario, Scenario::Create1 | Scenario::Create100)
        && args.contacts_given
        && args.contacts > 0);
    let (server, seeds) = if needs_data && args.seed_in_store {
        let (server, seeded) = seed_in_store(server, binary, args).await?;
        (server, vec![seeded])
    } else {
        let mut seeds = Vec::with_capacity(args.seed_companies);
        for _ in 0..args.seed_companies.max(1) {
            seeds.push(if needs_data {
                seed(&server, args).await?
            } else {
                let (_, key) = server.create_company(&reqwest::Client::new(), "Bench").await?;
                Seeded {
                    key,
                    org: String::new(),
                    column: String::new(),
                    option: String::new(),
                }
            });
        }
        (server, seeds)
    };
    if args.settle > 0 {
        eprintln!("settling for {} s", args.settle);
        tokio::time::sleep(Duration::from_secs(args.settle)).await;
    }
    let mut requests = Vec::with_capacity(seeds.len());
    let mut rest_requests = Vec::new();
    for seeded in &seeds {
        let (name, url, body) = scenario_request(args.scenario, &server, seeded).await?;
        // One check request per company, so a broken setup fails loudly instead of measuring errors.
        let check: Value = reqwest::Client::new()
            .post(&url)
            .header("x-api-key", &seeded.key)
            .json(&body)
            .send()
            .await?
            .json()
            .await?;
        if check.get("error").is_some() || check["result"]["isError"] == true || check.get("code").is_some() {
            bail!("the scenario's request fails: {check}");
        }
        let total = check["pagination"]["total"]
            .as_u64()
            .or(check["result"]["structuredContent"]["total"].as_u64());
        // `filter` also runs the same query through REST against the same server and data, interleaved per
        // concurrency level, so the MCP ÷ REST ratio comes from one run.
        // `create-1` likewise runs REST `POST /api/v1/contacts` with the same contact.
        match args.scenario {
            Scenario::Filter => {
                let body = json!({"filters": filter_conditions(seeded), "pagination": {"page": 1, "pageSize": 25}});
                rest_requests.push((seeded.key.clone(), body));
            }
            Scenario::Create1 => rest_requests.push((seeded.key.clone(), new_contact(0))),
            _ => {}
        }
        requests.push((name, url, seeded.key.clone(), body, total));
    }
    let (name, url) = (requests[0].0, requests[0].1.clone());
    let mut notes = Vec::new();
    if seeds.len() > 1 {
        notes.push(format!("{} companies", seeds.len()));
    }
    if needs_data {
        notes.push(format!(
            "{} contacts, {} deals, total {}",
            args.contacts,
            deal_count(args),
            requests[0].4.unwrap_or(0)
        ));
    }
    if args.engine != "surrealkv" && args.url.is_none() {
        notes.push(format!("{} store", args.engine));
    }
    let note = notes.join(", ");
    let pairs: Vec<(String, Value)> = requests.into_iter().map(|(_, _, key, body, _)| (key, body)).collect();
    let script = post_script(&url, &pairs)?;
    let rest = if rest_requests.is_empty() {
        None
    } else {
        let (rest_name, path) = if args.scenario == Scenario::Create1 {
            ("rest-create-1 (same server)", "contacts")
        } else {
            ("rest-search (same server)", "contacts/search")
        };
        let rest_url = format!("{}/api/v1/{path}", server.base);
        let rest_script = post_script(&rest_url, &rest_requests)?;
        Some((rest_name, rest_url, rest_script))
    };
    let mut rows = Vec::new();
    let with_cpu = |cpu: Option<f64>| match cpu {
        Some(us) if note.is_empty() => format!("server CPU {us:.0} µs/request"),
        Some(us) => format!("{note}, server CPU {us:.0} µs/request"),
        None => note.clone(),
    };
    for &connections in &args.connections {
        let (result, cpu) = server.wrk_cpu(&url, connections, args, script.path())?;
        rows.push(row(name, connections, &result, server.peak_mb(), with_cpu(cpu)));
        if let Some((rest_name, rest_url, rest_script)) = &rest {
            let (result, cpu) = server.wrk_cpu(rest_url, connections, args, rest_script.path())?;
            rows.push(row(rest_name, connections, &result, server.peak_mb(), with_cpu(cpu)));
        }
    }
    Ok(rows)
}

/// The `filter` scenario's conditions: the company's first organization and one option of its column.
fn filter_conditions(seeded: &Seeded) -> Value {
    json!([
        {"field": "organizationIds", "operator": "in", "value": [seeded.org]},
        {"field": seeded.column, "operator": "in", "value": [seeded.option]}
    ])
}

/// The contact the create scenarios send.
fn new_contact(i: usize) -> Value {
    json!({"firstName": format!("New{i}"), "lastName": "Bench", "emails": [format!("new{i}@example.com")]})
}

/// A scenario's request for one seeded company: (row name, URL, body).
async fn scenario_request(
    scenario: Scenario,
    server: &Server,
    seeded: &Seeded,
) -> anyhow::Result<(&'static str, String, Value)> {
    let mcp = format!("{}/api/v1/mcp", server.base);
    let search = format!("{}/api/v1/contacts/search", server.base);
    let tool = |name: &str, arguments: Value| json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "arguments": arguments}});
    Ok(match scenario {
        Scenario::ToolsList => (
            "tools-list",
            mcp,
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
        ),
        Scenario::Filter => (
            "filter",
            mcp,
            tool(
                "filter_entity",
                json!({"entity": "contact", "filters": filter_conditions(seeded), "pageSize": 25}),
            ),
        ),
        Scenario::RestSearch => (
            "rest-search",
            search,
            json!({"filters": filter_conditions(seeded), "pagination": {"page": 1, "pageSize": 25}}),
        ),
        Scenario::Related => (
            "related",
            search,
            json!({"filters": [{"field": "organizationIds", "operator": "in", "value": [seeded.org]}],
                   "pagination": {"page": 1, "pageSize": 25}}),
        ),
        Scenario::Unfiltered => ("unfiltered", search, json!({"pagination": {"page": 1, "pageSize": 25}})),
        Scenario::Create1 => (
            "create-1",
            mcp,
            tool("create_contacts", json!({"contacts": [new_contact(0)]})),
        ),
        Scenario::Create100 => (
            "create-100",
            mcp,
            tool(
                "create_contacts",
                json!({"contacts": (0..100).map(new_contact).collect::<Vec<_>>()}),
            ),
        ),
        Scenario::GetEntities => {
            let client = reqwest::Client::new();
            let mut items: Vec<Value> = Vec::new();
            for (plural, entity) in [("contacts", "contact"), ("organizations", "organization")] {
                let page: Value = client
                    .post(format!("{}/api/v1/{plural}/search", server.base))
                    .header("x-api-key", &seeded.key)
                    .json(&json!({"pagination": {"pageSize": 5}}))
                    .send()
                    .await?
                    .json()
                    .await?;
                let found = page["items"].as_array().context("search items")?;
                items.extend(found.iter().map(|r| json!({"entity": entity, "id": r["id"]})));
            }
            ("get-entities", mcp, tool("get_entities", json!({"items": items})))
        }
        Scenario::Reference => (
            "reference",
            mcp,
            tool("filter_entity", json!({"entity": "contact", "pageSize": 10})),
        ),
        Scenario::SearchAll => (
            "search-all",
            mcp,
            tool("search_all_entities", json!({"searchTerm": "First12"})),
        ),
        _ => bail!("not a POST scenario"),
    })
}

/// Runs `work` in a closed loop on `connections` tasks for `duration` seconds; returns latencies in ms.
async fn closed_loop<F, Fut>(connections: u32, duration: u64, work: F) -> (Vec<f64>, u64)
where
    F: Fn(u64) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let deadline = Instant::now() + Duration::from_secs(duration);
    let tasks: Vec<_> = (0..connections)
        .map(|task| {
            let work = work.clone();
            tokio::spawn(async move {
                let (mut latencies, mut errors, mut n) = (Vec::new(), 0u64, 0u64);
                while Instant::now() < deadline {
                    let start = Instant::now();
                    if !work(u64::from(task) * 1_000_000_000 + n).await {
                        errors += 1;
                    }
                    latencies.push(start.elapsed().as_secs_f64() * 1000.0);
                    n += 1;
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut errors = 0;
    for task in tasks {
        if let Ok((latencies, e)) = task.await {
            all.extend(latencies);
            errors += e;
        }
    }
    all.sort_by(f64::total_cmp);
    (all, errors)
}

/// The filter query and single creates straight on the embedded engine (no HTTP, auth or actor).
/// The embedded store of the in-process scenarios, seeded like the server's: contacts spread over 100
/// organizations, each with a single-select custom field.
struct RawStore {
    db: surrealdb::Surreal<surrealdb::engine::any::Any>,
    orgs: Vec<String>,
    column_id: String,
    options: Vec<String>,
    _dir: tempfile::TempDir,
}

async fn raw_store(args: &Args) -> anyhow::Result<RawStore> {
    let dir = tempfile::tempdir()?;
    let db = surrealdb::engine::any::connect(store_url(&args.engine, &dir.path().join("raw"))?).await?;
    db.query("DEFINE NAMESPACE IF NOT EXISTS bench; USE NS bench; DEFINE DATABASE IF NOT EXISTS raw;")
        .await?
        .check()?;
    db.use_ns("bench").use_db("raw").await?;
    customermates::store::migrate::ensure(&db, &customermates::store::migrate::TENANT).await?;
    if !args.no_indexes {
        customermates::store::migrate::ensure(&db, &customermates::store::migrate::TENANT_INDEXES).await?;
    }
    if let Some(setup) = &args.setup_before {
        customermates::store::run(&db, setup, json!({})).await?;
    }
    let column_id = uuid::Uuid::new_v4().to_string();
    let options: Vec<String> = (0..3).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let orgs: Vec<String> = (0..args.organizations.max(1))
        .map(|_| uuid::Uuid::new_v4().to_string())
        .collect();
    customermates::store::run(
        &db,
        "FOR $o IN $orgs { CREATE type::record('organization', $o) SET name = 'Org'; }",
        json!({"orgs": orgs}),
    )
    .await?;
    let started = Instant::now();
    for start in (0..args.contacts).step_by(1000) {
        let rows: Vec<Value> = (start..(start + 1000).min(args.contacts))
            .map(|i| json!({"id": uuid::Uuid::new_v4().to_string(), "first": format!("First{i}"), "last": format!("Last{}", i % 997),
                "emails": [format!("person{i}@example.com")], "org": orgs[i % orgs.len()], "stage": options[i % 3]}))
            .collect();
        customermates::store::run(&db, SEED_CONTACTS, json!({"rows": rows, "column": column_id})).await?;
    }
    eprintln!(
        "raw: seeded {} contacts in {:.1}s",
        args.contacts,
        started.elapsed().as_secs_f64()
    );
    Ok(RawStore {
        db,
        orgs,
        column_id,
        options,
        _dir: dir,
    })
}

/// Resident memory of this process in MiB.
fn own_rss_mb() -> f64 {
    proc_status_mb("self", "VmRSS:")
}

/// A memory field of `/proc/<pid>/status` in MiB (0 when unreadable).
fn proc_status_mb(pid: &str, name: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

async fn tenant_memory(args: &Args) -> anyhow::Result<Vec<Row>> {
    let dir = tempfile::tempdir()?;
    let root = surrealdb::engine::any::connect(store_url(&args.engine, &dir.path().join("raw"))?).await?;
    root.query("DEFINE NAMESPACE IF NOT EXISTS bench").await?.check()?;
    root.use_ns("bench").await?;
    let shared = root.clone();
    let started = Instant::now();
    let mut rows = Vec::new();
    eprintln!("tenant-memory: RSS {:.0} MiB before", own_rss_mb());
    for i in 0..args.companies {
        let name = format!("c_{i}");
        root.query(format!("DEFINE DATABASE IF NOT EXISTS {name}"))
            .await?
            .check()?;
        let session = if args.same_session {
            shared.clone()
        } else {
            root.clone()
        };
        session.use_ns("bench").use_db(&name).await?;
        customermates::store::migrate::ensure(&session, &customermates::store::migrate::TENANT).await?;
        if !args.no_indexes {
            customermates::store::migrate::ensure(&session, &customermates::store::migrate::TENANT_INDEXES).await?;
        }
        session.query("SELECT count() FROM contact GROUP ALL").await?.check()?;
        drop(session);
        if (i + 1) % (args.companies / 10).max(1) == 0 {
            let rss = own_rss_mb();
            eprintln!(
                "tenant-memory: {} databases, RSS {rss:.0} MiB, {:.0}s",
                i + 1,
                started.elapsed().as_secs_f64()
            );
            rows.push(Row {
                scenario: "tenant-memory".into(),
                connections: 1,
                requests_per_sec: 0.0,
                p50_ms: 0.0,
                p90_ms: 0.0,
                p99_ms: 0.0,
                errors: 0,
                server_peak_rss_mb: Some(rss),
                note: format!(
                    "{} databases, {}{}",
                    i + 1,
                    if args.same_session {
                        "one session"
                    } else {
                        "a session each"
                    },
                    if args.no_indexes {
                        ", base schema only (no secondary indexes)"
                    } else {
                        ""
                    }
                ),
            });
        }
    }
    Ok(rows)
}

/// Times each `--query` for `--duration` seconds per concurrency level on the seeded store.
async fn sql(args: &Args) -> anyhow::Result<Vec<Row>> {
    let store = raw_store(args).await?;
    let vars = json!({"orgId": store.orgs[0], "column": store.column_id, "option": store.options[1]});
    if let Some(setup) = &args.setup {
        let started = Instant::now();
        customermates::store::run(&store.db, setup, vars.clone()).await?;
        eprintln!("setup took {:.1}s", started.elapsed().as_secs_f64());
    }
    let mut rows = Vec::new();
    for query in &args.query {
        let sql = std::sync::Arc::new(format!("LET $org = type::record('organization', $orgId);\n{query}"));
        let first = customermates::store::run(&store.db, &sql, vars.clone()).await?;
        eprintln!(
            "{query}\n  -> {}",
            Value::Array(first).to_string().chars().take(400).collect::<String>()
        );
        for &connections in &args.connections {
            let (db, sql, vars) = (store.db.clone(), sql.clone(), vars.clone());
            let (latencies, errors) = closed_loop(connections, args.duration, move |_| {
                let (db, sql, vars) = (db.clone(), sql.clone(), vars.clone());
                async move { customermates::store::run(&db, &sql, vars).await.is_ok() }
            })
            .await;
            rows.push(raw_row(
                "sql",
                connections,
                args.duration,
                &latencies,
                errors,
                query.clone(),
            ));
        }
    }
    Ok(rows)
}

async fn raw(args: &Args) -> anyhow::Result<Vec<Row>> {
    use customermates::crm::Entity;
    use customermates::crm::access::{Access, Scope};
    use customermates::crm::custom::{Column, ColumnType};
    use customermates::crm::query::{QueryInput, compile};
    let RawStore {
        db,
        orgs,
        column_id,
        options,
        _dir,
    } = raw_store(args).await?;
    let option_json: Vec<Value> = options.iter().map(|o| json!({"value": o, "label": o})).collect();
    let column = Column {
        id: column_id.clone(),
        label: "Stage".into(),
        entity_type: Entity::Contact,
        kind: ColumnType::SingleSelect,
        options: Some(json!({"options": option_json})),
    };
    let role = customermates::domain::Role {
        id: "r".into(),
        name: "Admin".into(),
        description: None,
        is_system_role: true,
        permissions: vec![],
    };
    let access = Access {
        user_id: "bench".into(),
        role: Some(role),
    };
    let mut input: QueryInput = serde_json::from_value(json!({
        "filters": [{"field": "organizationIds", "operator": "in", "value": [orgs[0]]}, {"field": column_id, "operator": "in", "value": [options[1]]}],
        "pagination": {"page": 1, "pageSize": 25}
    }))?;
    // The SurrealQL MCP `filter_entity` runs: its list rows carry ids and names only.
    input.brief = true;
    let compiled = compile(Entity::Contact, &input, &[column], &access, Scope::All, true, None)
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let vars = Value::Object(compiled.vars.clone());
    let sql = std::sync::Arc::new(compiled.sql.clone());
    let mut rows = Vec::new();
    for &connections in &args.connections {
        let (db, sql, vars) = (db.clone(), sql.clone(), vars.clone());
        let (latencies, errors) = closed_loop(connections, args.duration, move |_| {
            let (db, sql, vars) = (db.clone(), sql.clone(), vars.clone());
            async move { customermates::store::run(&db, &sql, vars).await.is_ok() }
        })
        .await;
        rows.push(raw_row(
            "raw-filter",
            connections,
            args.duration,
            &latencies,
            errors,
            format!("{} contacts", args.contacts),
        ));
    }
    for &connections in &args.connections {
        let db = db.clone();
        let (latencies, errors) = closed_loop(connections, args.duration, move |n| {
            let db = db.clone();
            async move {
                let vars = json!({"id": uuid::Uuid::new_v4().to_string(), "first": format!("New{n}")});
                customermates::store::run(
                    &db,
                    "CREATE type::record('contact', $id) SET firstName = $first, lastName = 'Bench', emails = []",
                    vars,
                )
                .await
                .is_ok()
            }
        })
        .await;
        rows.push(raw_row(
            "raw-create-1",
            connections,
            args.duration,
            &latencies,
            errors,
            format!("{}, one CREATE per call", args.engine),
        ));
    }
    Ok(rows)
}

#[allow(clippy::cast_precision_loss)]
fn raw_row(scenario: &str, connections: u32, duration: u64, latencies: &[f64], errors: u64, note: String) -> Row {
    Row {
        scenario: scenario.to_owned(),
        connections,
        requests_per_sec: latencies.len() as f64 / duration as f64,
        p50_ms: percentile(latencies, 0.5),
        p90_ms: percentile(latencies, 0.9),
        p99_ms: percentile(latencies, 0.99),
        errors,
        server_peak_rss_mb: None,
        note,
    }
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
    let env = [
        ("CM_TENANTS__IDLE_TIMEOUT_SECS", "5"),
        ("CM_TENANTS__SWEEP_INTERVAL_SECS", "1"),
    ];
    let mut server = Server::start(binary, args, &env).await?;
    let client = reqwest::Client::new();
    let (mut rss_before, _) = server.rss_mb();
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
    let mut restarted = String::new();
    if args.restart {
        let (rss_created, peak_created) = server.rss_mb();
        server = server.restart(binary, args, &env).await?;
        rss_before = server.rss_mb().0;
        let touched: Vec<anyhow::Result<f64>> = futures::stream::iter(&companies)
            .map(|(_, key)| {
                let (server, client) = (&server, &client);
                async move { server.cold_search(client, key).await }
            })
            .buffer_unordered(8)
            .collect()
            .await;
        let mut touched_cold: Vec<f64> = touched.into_iter().collect::<anyhow::Result<_>>()?;
        touched_cold.sort_by(f64::total_cmp);
        restarted = format!(
            "before the restart RSS {rss_created:.0} MiB (peak {peak_created:.0} MiB); restarted on the same store, \
             every company touched once (POST /api/v1/contacts/search, 8 at a time: p50 {:.2} ms, p99 {:.2} ms); ",
            percentile(&touched_cold, 0.5),
            percentile(&touched_cold, 0.99)
        );
    }
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
    let (rss_after, _) = server.rss_mb();
    let (anon_after, file_after) = (server.status_mb("RssAnon:"), server.status_mb("RssFile:"));
    // The idle server's RSS moves with the engine's maintenance passes (every 30 s): sample it for a while.
    let mut idle = Vec::new();
    for _ in 0..args.idle_samples {
        tokio::time::sleep(Duration::from_secs(1)).await;
        idle.push(server.rss_mb().0);
    }
    idle.sort_by(f64::total_cmp);
    let idle_note = if idle.is_empty() {
        String::new()
    } else {
        format!(
            "; idle after eviction, sampled every second for {} s: min {:.0}, median {:.0}, max {:.0} MiB",
            idle.len(),
            idle[0],
            percentile(&idle, 0.5),
            idle[idle.len() - 1]
        )
    };
    let (_, rss_peak) = server.rss_mb();
    // Cold first requests: each sampled company's actor is stopped, so this request starts it.
    let mut cold = Vec::new();
    let step = (companies.len() / args.cold_samples.max(1)).max(1);
    for (_, key) in companies.iter().step_by(step).take(args.cold_samples) {
        cold.push(server.cold_search(&client, key).await?);
    }
    cold.sort_by(f64::total_cmp);
    let note = format!(
        "{} companies created in {:.1}s; {restarted}RSS before {rss_before:.0} MiB, with all actors running {rss_touched:.0} MiB, \
         peak {rss_peak:.0} MiB, after idle eviction ({running} actors left) {rss_after:.0} MiB (anonymous {anon_after:.0}, \
         mapped files {file_after:.0}); \
         cold first request (POST /api/v1/contacts/search) over {} companies{idle_note}",
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
        server_peak_rss_mb: Some(rss_peak),
        note,
    }])
}

fn print_table(rows: &[Row]) {
    println!("| scenario | connections | req/s | p50 ms | p90 ms | p99 ms | errors | server peak RSS MiB | note |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        let rss = r
            .server_peak_rss_mb
            .map_or_else(|| "–".to_owned(), |mb| format!("{mb:.0}"));
        println!(
            "| {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {rss} | {} |",
            r.scenario, r.connections, r.requests_per_sec, r.p50_ms, r.p90_ms, r.p99_ms, r.errors, r.note
        );
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let matches = <Args as clap::CommandFactory>::command().get_matches();
    let mut args = <Args as clap::FromArgMatches>::from_arg_matches(&matches)?;
    args.contacts_given = matches.value_source("contacts") == Some(clap::parser::ValueSource::CommandLine);
    let binary = match &args.server_bin {
        Some(path) => path.clone(),
        None => std::env::current_exe()?.with_file_name("customermates"),
    };
    check_options(&args)?;
    let rows = if args.scenario == Scenario::All {
        all(&args, &binary).await?
    } else {
        one(&args, &binary).await?
    };
    print_table(&rows);
    std::fs::write(&args.json, serde_json::to_string_pretty(&rows)?)?;
    println!("\nJSON written to {}", args.json.display());
    Ok(())
}

/// Option combinations the harness cannot honour.
fn check_options(args: &Args) -> anyhow::Result<()> {
    if args.seed_in_store && (args.seed_companies > 1 || args.deals.is_some()) {
        bail!("--seed-in-store seeds one company's contacts and organizations: drop --seed-companies and --deals");
    }
    if args.seed_companies == 0 {
        bail!("--seed-companies must be at least 1");
    }
    if args.scenario == Scenario::All && (args.seed_in_store || args.deals.is_some() || args.seed_companies > 1) {
        bail!("`all` sets --seed-in-store, --deals and --seed-companies per step: drop them");
    }
    check_url_use(args)
}

/// `--url` drives a server over HTTP only: what needs the server's process, its store or the engine in process
/// is refused up front.
fn check_url_use(args: &Args) -> anyhow::Result<()> {
    if args.url.is_none() {
        return Ok(());
    }
    let refused = match args.scenario {
        Scenario::Raw | Scenario::Sql | Scenario::TenantMemory => Some("runs the engine in process, not a server"),
        Scenario::Tenants => Some("sets the server's idle eviction and reads its memory"),
        Scenario::All => Some("includes in-process and memory scenarios"),
        _ if args.seed_in_store => Some("--seed-in-store writes into the server's store while it is stopped"),
        _ if args.memory_limit.is_some() => Some("--memory-limit starts the server in a cgroup"),
        _ => None,
    };
    match refused {
        Some(why) => bail!("--url cannot be used here: {why}; run it without --url (the bench starts its own server)"),
        None => Ok(()),
    }
}

/// One scenario.
async fn one(args: &Args, binary: &PathBuf) -> anyhow::Result<Vec<Row>> {
    match args.scenario {
        Scenario::UsersMe => users_me(args, binary).await,
        Scenario::Tenants => tenants(args, binary).await,
        Scenario::Raw => raw(args).await,
        Scenario::Sql => sql(args).await,
        Scenario::TenantMemory => tenant_memory(args).await,
        Scenario::All => bail!("`all` runs the other scenarios"),
        _ => posted(args, binary).await,
    }
}

/// The full run: each scenario at the scale BENCHMARKS.md reports it, with the given `--runs`, `--duration`,
/// `--connections`, `--engine` and `--memory-limit` (the latter for `tenants` only). The JSON report is rewritten
/// after every step, so a failed late step keeps the earlier rows.
async fn all(args: &Args, binary: &PathBuf) -> anyhow::Result<Vec<Row>> {
    use Scenario as S;
    // `--settle` applies to the steps seeded with 100,000 contacts or more, whose reads are slower for minutes
    // after the bulk load (BENCHMARKS.md).
    let step = |scenario: Scenario, contacts: usize, organizations: usize| Args {
        scenario,
        contacts,
        organizations,
        memory_limit: args.memory_limit.filter(|_| scenario == S::Tenants),
        settle: if contacts >= 100_000 { args.settle } else { 0 },
        ..args.clone()
    };
    let mut steps = vec![
        step(S::UsersMe, 0, 0),
        step(S::ToolsList, 0, 0),
        step(S::Reference, 1_000, 100),
        step(S::Filter, 10_000, 100),
        Args {
            seed_companies: 10,
            ..step(S::Filter, 10_000, 100)
        },
        step(S::Raw, 10_000, 100),
        step(S::Create1, 0, 0),
        Args {
            engine: "mem".into(),
            ..step(S::Create1, 0, 0)
        },
        step(S::Create100, 0, 0),
        step(S::GetEntities, 10_000, 100),
        step(S::SearchAll, 10_000, 100),
        step(S::Filter, 100_000, 100),
        step(S::Raw, 100_000, 100),
        // These read contacts only; seeding 10,000 deals at this size takes ~10 minutes a step.
        Args {
            deals: Some(0),
            ..step(S::Unfiltered, 100_000, 100)
        },
        Args {
            deals: Some(0),
            ..step(S::Related, 100_000, 100)
        },
        Args {
            deals: Some(0),
            ..step(S::Related, 100_000, 10_000)
        },
        step(S::Tenants, 0, 0),
    ];
    if args.million {
        steps.push(Args {
            seed_in_store: true,
            runs: 1,
            ..step(S::Filter, 1_000_000, 100)
        });
    }
    let mut rows = Vec::new();
    for step in steps {
        let started = Instant::now();
        let what = format!(
            "{:?} ({} contacts over {} organizations, {} compan{}, {})",
            step.scenario,
            step.contacts,
            step.organizations,
            step.seed_companies,
            if step.seed_companies == 1 { "y" } else { "ies" },
            step.engine
        );
        eprintln!("all: {what}");
        let step_rows = one(&step, binary).await.with_context(|| format!("all: step {what}"))?;
        eprintln!("all: {what} done in {:.0}s", started.elapsed().as_secs_f64());
        print_table(&step_rows);
        rows.extend(step_rows);
        std::fs::write(&args.json, serde_json::to_string_pretty(&rows)?)?;
    }
    Ok(rows)
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
        assert_eq!(parsed.requests, 100);
    }
}
