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
