//! `seam audit products` against the sandbox's Centra: the brand's
//! refurbished SKUs without a Grade (story S04) are listed before any order
//! for them arrives, and the exit code lets CI gate on it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;

use seam_sandbox::sandbox::{Sandbox, SandboxOptions};
use tokio::process::Command;

fn seam(config: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_seam"));
    command
        .env_remove("SEAM_CONFIG")
        .env("SEAM_LOG", "warn")
        .arg("--config")
        .arg(config);
    command
}

fn write_config(dir: &tempfile::TempDir, text: &str) -> PathBuf {
    let path = dir.path().join("seam.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

async fn audit(config: &Path, args: &[&str]) -> Output {
    seam(config)
        .args(["audit", "products"])
        .args(args)
        .output()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn ungraded_refurbished_skus_are_refused_with_missing_grade_and_exit_1() {
    let sandbox = Sandbox::start(SandboxOptions {
        seed: 3,
        base_port: 0,
        styles: 10,
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = write_config(
        &dir,
        &sandbox.hub_config(&data.display().to_string(), "127.0.0.1:0"),
    );
    let expected: BTreeSet<String> = sandbox
        .brand
        .skus
        .iter()
        .filter(|s| s.refurbished && !s.graded)
        .map(|s| s.sku.clone())
        .collect();
    assert!(!expected.is_empty(), "the brand has an S04 SKU");

    let output = audit(&config, &["--format", "csv"]).await;
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let mut reader = csv::Reader::from_reader(output.stdout.as_slice());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "sku",
            "product_number",
            "item_condition",
            "grade",
            "status",
            "code",
            "description",
            "fix_hint"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert!(rows.iter().all(|r| &r[4] == "refused"), "{rows:?}");
    let missing_grade: BTreeSet<String> = rows
        .iter()
        .filter(|r| &r[5] == "missing_grade")
        .map(|r| r[0].to_string())
        .collect();
    let refused: BTreeSet<String> = rows.iter().map(|r| r[0].to_string()).collect();
    assert_eq!(missing_grade, expected);
    assert_eq!(refused, expected, "nothing else is refused: {rows:?}");
    for row in &rows {
        assert_eq!(&row[2], "Refurbished");
        assert_eq!(&row[3], "");
        assert!(row[7].contains("'grade' attribute"), "{row:?}");
    }
    let total = sandbox.brand.skus.len();
    assert!(
        stderr.contains(&format!(
            "{} of {total} SKUs would be refused by the 3PL",
            expected.len()
        )),
        "{stderr}"
    );

    // --all lists every SKU once (the bundle is virtual and skipped), to a
    // file; small pages (11 products: 4 + 4 + 3) lose and repeat nothing.
    let listing = dir.path().join("audit.txt");
    let output = audit(
        &config,
        &[
            "--all",
            "--page-size",
            "4",
            "--output",
            &listing.display().to_string(),
        ],
    )
    .await;
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    assert!(output.stdout.is_empty());
    let table = std::fs::read_to_string(&listing).unwrap();
    let listed: Vec<&str> = table
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .filter(|sku| sku.starts_with('P'))
        .collect();
    let brand: BTreeSet<&str> = sandbox.brand.skus.iter().map(|s| s.sku.as_str()).collect();
    assert_eq!(listed.len(), total, "{table}");
    assert_eq!(listed.iter().copied().collect::<BTreeSet<_>>(), brand);
    let refused_lines = table
        .lines()
        .filter(|l| l.starts_with('P') && l.contains(" refused "))
        .count();
    assert_eq!(refused_lines, expected.len(), "{table}");
    assert!(!table.contains(&sandbox.brand.bundle_sku), "{table}");
    assert!(table.trim_end().ends_with(&format!(
        "{} of {total} SKUs would be refused by the 3PL",
        expected.len()
    )));

    sandbox.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_clean_catalogue_exits_0() {
    let sandbox = Sandbox::start(SandboxOptions {
        seed: 3,
        base_port: 0,
        styles: 10,
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // The sandbox's ungraded SKUs are refurbished; with no refurbished
    // condition configured, nothing needs a Grade.
    let text_config = format!(
        "{}\n[products]\nrefurbished_conditions = []\n",
        sandbox.hub_config(&data.display().to_string(), "127.0.0.1:0")
    );
    let config = write_config(&dir, &text_config);
    let output = audit(&config, &[]).await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stdout).trim(),
        format!(
            "0 of {} SKUs would be refused by the 3PL",
            sandbox.brand.skus.len()
        )
    );
    sandbox.stop().await;
}

#[tokio::test]
async fn without_a_centra_connector_the_error_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        &dir,
        &format!(
            "[hub]\ndata_dir = \"{}\"\n",
            dir.path().join("data").display()
        ),
    );
    let output = audit(&config, &["--format", "csv"]).await;
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert!(stderr.contains("connectors.centra"), "{stderr}");
    assert!(output.stdout.is_empty());
}

#[tokio::test]
async fn an_unreachable_centra_is_a_clear_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        &dir,
        &format!(
            "[hub]\ndata_dir = \"{}\"\n\n[connectors.centra]\nurl = \"http://127.0.0.1:{port}/graphql\"\ntoken = \"t\"\n",
            dir.path().join("data").display()
        ),
    );
    let output = audit(&config, &[]).await;
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("cannot read the product master from Centra")
            && stderr.contains("connectors.centra"),
        "{stderr}"
    );
}
