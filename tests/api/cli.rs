//! The operator command line and start-up configuration errors.

use std::process::Command;

use serde_json::Value;

fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_customermates"));
    command.env("CM_LOG__LEVEL", "error");
    command
}

fn run_json(store: &str, args: &[&str]) -> Value {
    let output = binary()
        .args(["--database-url", store, "admin"])
        .args(args)
        .output()
        .expect("runs");
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON output")
}

#[test]
fn operators_create_list_suspend_and_key_companies_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("surrealkv://{}", dir.path().join("store").display());

    let created = run_json(
        &store,
        &[
            "company",
            "create",
            "--name",
            "Cli Co",
            "--email",
            "cli@example.com",
            "--first-name",
            "Cli",
        ],
    );
    let company = created["company"]["id"].as_str().unwrap();
    let user = created["user"]["id"].as_str().unwrap();
    assert_eq!(created["apiKey"]["key"].as_str().unwrap().len(), 64);

    let listed = run_json(&store, &["company", "list"]);
    assert_eq!(listed["companies"][0]["name"], "Cli Co");

    let key = run_json(&store, &["key", "create", "--user", user, "--name", "ops"]);
    assert_eq!(key["name"], "ops");
    let keys = run_json(&store, &["key", "list", "--user", user]);
    assert_eq!(keys["apiKeys"].as_array().unwrap().len(), 2);

    let suspended = run_json(&store, &["company", "suspend", company]);
    assert_eq!(suspended["status"], "suspended");

    let output = binary()
        .args(["--database-url", &store, "admin", "company", "get", "nope"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let error: Value = serde_json::from_slice(&output.stderr).expect("errors are JSON");
    assert_eq!(error["code"], "company_not_found");
}

#[test]
fn a_wrong_setting_fails_at_start_naming_the_setting() {
    let cases = [
        ("CM_DATABASE__URL", "postgres://db", "database.url"),
        ("CM_SERVER__LISTEN", "nowhere", "server.listen"),
    ];
    for (var, value, setting) in cases {
        let output = binary().env(var, value).arg("--no-demo").output().unwrap();
        assert!(!output.status.success(), "{var}={value} must fail");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(setting), "{var}={value}: {stderr}");
    }
}

/// The allocator variable the running server has, read from `/proc/<pid>/environ` (after any re-execution).
#[cfg(target_os = "linux")]
fn running_purge_delay(preset: Option<&str>) -> Option<String> {
    let mut command = binary();
    command
        .args(["--database-url", "mem://", "--listen", "127.0.0.1:0", "--no-demo"])
        .env("CM_ADMIN__TOKEN", "test-admin-token-for-the-allocator-check")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    match preset {
        Some(value) => command.env("MIMALLOC_PURGE_DELAY", value),
        None => command.env_remove("MIMALLOC_PURGE_DELAY"),
    };
    let mut child = command.spawn().unwrap();
    let mut found = None;
    for _ in 0..100 {
        let environ = std::fs::read(format!("/proc/{}/environ", child.id())).unwrap_or_default();
        found = environ
            .split(|b| *b == 0)
            .filter_map(|entry| std::str::from_utf8(entry).ok())
            .find_map(|entry| entry.strip_prefix("MIMALLOC_PURGE_DELAY=").map(str::to_owned));
        // Before a re-execution the variable is absent; `exec` replaces the environment in one step.
        if found.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    found
}

/// Without `MIMALLOC_PURGE_DELAY` the server re-executes itself with a short delay (freed memory goes back to the
/// OS); a value the operator set is kept.
#[cfg(target_os = "linux")]
#[test]
fn the_server_runs_with_a_short_allocator_purge_delay_unless_one_is_set() {
    assert_eq!(running_purge_delay(None).as_deref(), Some("10"));
    assert_eq!(running_purge_delay(Some("250")).as_deref(), Some("250"));
}
