//! The binary as a user runs it.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn seam() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_seam"));
    command.env_remove("SEAM_CONFIG").env("SEAM_LOG", "warn");
    command
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn check_config_names_file_line_and_key_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seam.toml");
    std::fs::write(
        &path,
        "[connectors.centra]\nurl = \"http://x\"\ntoken = \"${SEAM_TEST_UNSET}\"\n",
    )
    .unwrap();
    let output = seam()
        .arg("check-config")
        .arg("--config")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("seam.toml:3:9: connectors.centra.token: environment variable SEAM_TEST_UNSET is not set"), "{stderr}");
}

#[test]
fn exceptions_and_trace_work_on_a_fresh_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seam.toml");
    std::fs::write(
        &path,
        format!(
            "[hub]\ndata_dir = \"{}\"\n",
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    let list = seam()
        .args(["exceptions", "list", "--json", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        list.status.success(),
        "{}",
        String::from_utf8_lossy(&list.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&list.stdout).trim(), "[]");
    let trace = seam()
        .args(["trace", "order:none", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(trace.status.code(), Some(1));
    let missing = seam()
        .args(["exceptions", "show", "42", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("there is no exception 42"));
}

#[test]
fn the_demo_runs_trades_and_stops_cleanly() {
    let port = free_port();
    let child = seam()
        .args(["demo", "--duration", "5s", "--rate", "20", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut healthy = false;
    while started.elapsed() < Duration::from_secs(4) {
        if let Ok(response) = reqwest::blocking::get(format!("http://127.0.0.1:{port}/health")) {
            healthy = response.status().is_success();
            if healthy {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(healthy, "the hub never answered /health: {stderr}");
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("dashboard  http://127.0.0.1:"), "{stderr}");
    let orders: u64 = stderr
        .split("Traffic: ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(orders > 10, "the generator traded: {stderr}");
}

#[test]
fn the_month_end_report_works_on_a_fresh_database_and_reconcile_names_what_it_needs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seam.toml");
    std::fs::write(
        &path,
        format!(
            "[hub]\ndata_dir = \"{}\"\n",
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    let csv = seam()
        .args([
            "reconcile",
            "report",
            "--period",
            "2026-11",
            "--format",
            "csv",
            "--config",
        ])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        csv.status.success(),
        "{}",
        String::from_utf8_lossy(&csv.stderr)
    );
    let text = String::from_utf8_lossy(&csv.stdout);
    assert!(
        text.starts_with("period_from,period_to,currency,orders,")
            && text.contains("\nvariance_id,type,entity,day,owner,currency,expected_system,expected,found_system,found,difference,status,detail\n"),
        "{text}"
    );
    let json = seam()
        .args([
            "reconcile",
            "report",
            "--period",
            "2026-11",
            "--format",
            "json",
            "--config",
        ])
        .arg(&path)
        .output()
        .unwrap();
    assert!(json.status.success());
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["period"]["from"], "2026-11-01");
    assert_eq!(report["period"]["to"], "2026-11-30");
    assert_eq!(report["variances"], serde_json::json!([]));

    let bad = seam()
        .args(["reconcile", "report", "--period", "November", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("'November' is not a month like 2026-11"));

    let no_connectors = seam()
        .args(["reconcile", "--since", "2026-11-01", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!no_connectors.status.success());
    let stderr = String::from_utf8_lossy(&no_connectors.stderr);
    assert!(
        stderr.contains("reconciliation needs connectors.centra and connectors.netsuite"),
        "{stderr}"
    );
}
