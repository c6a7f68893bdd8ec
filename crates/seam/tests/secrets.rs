//! Secrets stay secret: a hub run with known secret values (every one a
//! `${VAR}` reference), logging at debug level, fed webhooks good and bad
//! and a credential the vendor stops taking, never shows a secret in its
//! logs, its exceptions (messages and payloads), its database, its HTTP
//! answers or `seam check-config`'s output.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use seam_sandbox::sandbox::{Sandbox, SandboxOptions};
use seam_sandbox::traffic::{Systems, TrafficConfig, TrafficGenerator};

/// (environment variable, value as the sandbox expects it).
fn secrets() -> Vec<(&'static str, &'static str)> {
    vec![
        ("SEAM_T_CENTRA_TOKEN", seam_sandbox::centra::DEFAULT_TOKEN),
        ("SEAM_T_CENTRA_HOOK", "centra-hook-5ecret-91c2"),
        ("SEAM_T_WAREHOUSE_PASSWORD", "seam-sandbox"),
        ("SEAM_T_REVENI_KEY", "seam-sandbox-reveni-api-key"),
        ("SEAM_T_REVENI_HOOK", "seam-sandbox-reveni-webhook-secret"),
        ("SEAM_T_NETSUITE_TOKEN", "netsuite-sandbox-token"),
        ("SEAM_T_ADYEN_KEY", "seam-sandbox-adyen-api-key"),
        (
            "SEAM_T_ADYEN_HMAC",
            "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056",
        ),
    ]
}

/// Every secret found in `text`, by variable name. The warehouse password
/// is a prefix of other sandbox values, so it counts only on its own.
fn leaks(text: &str) -> Vec<&'static str> {
    let mut found = Vec::new();
    for (name, value) in secrets() {
        let hit = if name == "SEAM_T_WAREHOUSE_PASSWORD" {
            text.match_indices(value)
                .any(|(at, _)| !text[at + value.len()..].starts_with('-'))
        } else {
            text.contains(value) || text.contains(&value.to_ascii_lowercase())
        };
        if hit {
            found.push(name);
        }
    }
    // The warehouse's Basic credentials as they go over the wire.
    if text.contains("c2VhbTpzZWFtLXNhbmRib3g") {
        found.push("warehouse Basic credentials");
    }
    found
}

fn seam(config: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_seam"));
    command
        .env_remove("SEAM_CONFIG")
        .arg("--config")
        .arg(config);
    for (name, value) in secrets() {
        command.env(name, value);
    }
    command
}

/// The sandbox's seam.toml with every secret as a `${VAR}` reference.
fn config_text(sandbox: &Sandbox, data: &Path, listen: &str) -> String {
    let mut text = sandbox.hub_config(&data.display().to_string(), listen);
    for (name, value) in secrets() {
        if name == "SEAM_T_WAREHOUSE_PASSWORD" {
            text = text.replace(
                "password = \"seam-sandbox\"",
                &format!("password = \"${{{name}}}\""),
            );
        } else {
            text = text.replace(&format!("\"{value}\""), &format!("\"${{{name}}}\""));
        }
    }
    text.replacen(
        "[connectors.centra]\n",
        "[connectors.centra]\nwebhook_secret = \"${SEAM_T_CENTRA_HOOK}\"\n",
        1,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_a_log_an_exception_the_database_or_an_answer() {
    let sandbox = Sandbox::start(SandboxOptions {
        seed: 3,
        base_port: 0,
        styles: 5,
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let listen = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let config = dir.path().join("seam.toml");
    let text = config_text(&sandbox, &dir.path().join("data"), &listen.to_string());
    assert_eq!(
        leaks(&text),
        Vec::<&str>::new(),
        "the file holds references only:\n{text}"
    );
    std::fs::write(&config, &text).unwrap();
    let hub_url = format!("http://{listen}");
    sandbox.connect_webhooks(&hub_url);
    sandbox
        .centra
        .set_webhook(Some(seam_sandbox::centra::WebhookTarget {
            url: format!("{hub_url}/webhooks/centra"),
            secret: "centra-hook-5ecret-91c2".into(),
        }));

    let log_path = dir.path().join("hub.log");
    let mut hub = seam(&config)
        .args(["--log-format", "json", "run"])
        .env("SEAM_LOG", "debug")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let started = Instant::now();
    while client
        .get(format!("{hub_url}/health"))
        .send()
        .await
        .is_err()
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the hub did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Trade for a while, send webhooks that must be refused, and have
    // Centra stop taking the token so credentials end up in exceptions'
    // neighbourhood.
    let mut generator = TrafficGenerator::new(
        Systems::of(&sandbox),
        TrafficConfig {
            seed: 3,
            rate: 10.0,
            mix: Default::default(),
        },
    );
    for _ in 0..60 {
        generator.step();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut answers = Vec::new();
    for (path, body, header) in [
        (
            "/webhooks/centra",
            "payload=%7B%7D",
            ("x-centra-signature", "t=1,v1=00"),
        ),
        (
            "/webhooks/reveni",
            "{}",
            ("x-reveni-secret", "seam-sandbox-reveni-webhook-secreT"),
        ),
        (
            "/webhooks/adyen",
            "{\"notificationItems\":[]}",
            ("x-nothing", ""),
        ),
        ("/webhooks/adyen", "not json", ("x-nothing", "")),
    ] {
        let response = client
            .post(format!("{hub_url}{path}"))
            .header(header.0, header.1)
            .body(body)
            .send()
            .await
            .unwrap();
        answers.push(format!(
            "{path}: {} {}",
            response.status(),
            response.text().await.unwrap_or_default()
        ));
    }
    let mut expired = seam_sandbox::centra::TokenConfig::full(
        seam_sandbox::centra::DEFAULT_TOKEN,
        seam_sandbox::centra::DEFAULT_INTEGRATION,
    );
    expired.expires_at = Some(chrono::Utc::now() - chrono::Duration::hours(1));
    sandbox.centra.add_token(expired);
    for _ in 0..30 {
        generator.step();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    for path in ["/", "/health", "/ready", "/metrics", "/nowhere"] {
        let response = client.get(format!("{hub_url}{path}")).send().await.unwrap();
        answers.push(format!(
            "{path}: {}",
            response.text().await.unwrap_or_default()
        ));
    }
    hub.kill().unwrap();
    hub.wait().unwrap();

    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        log.contains("DEBUG") || log.contains("\"level\":\"DEBUG\""),
        "logged at debug: {}",
        &log[..log.len().min(2000)]
    );
    assert_eq!(
        leaks(&log),
        Vec::<&str>::new(),
        "the hub's log shows a secret"
    );
    let answers = answers.join("\n");
    assert_eq!(
        leaks(&answers),
        Vec::<&str>::new(),
        "an HTTP answer shows a secret:\n{answers}"
    );
    assert!(answers.contains("/webhooks/reveni: 401"), "{answers}");

    let listed = seam(&config)
        .args(["exceptions", "list", "--json", "--status", "open"])
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert!(
        listed.contains("credentials_refused") || listed.contains("refused the credentials"),
        "Centra's refusal of the token is an exception: {listed}"
    );
    let every = seam(&config)
        .args([
            "exceptions",
            "list",
            "--json",
            "--status",
            "all",
            "--limit",
            "1000",
        ])
        .output()
        .unwrap();
    let every = String::from_utf8_lossy(&every.stdout).into_owned();
    assert_eq!(
        leaks(&every),
        Vec::<&str>::new(),
        "an exception shows a secret"
    );
    for id in every
        .split("\"id\":")
        .skip(1)
        .filter_map(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .filter(|id| !id.is_empty())
        .take(20)
    {
        let shown = seam(&config)
            .args(["exceptions", "show", id])
            .output()
            .unwrap();
        let shown = String::from_utf8_lossy(&shown.stdout).into_owned();
        assert_eq!(
            leaks(&shown),
            Vec::<&str>::new(),
            "exception {id} shows a secret"
        );
    }
    let database = std::fs::read(dir.path().join("data").join("seam.db")).unwrap();
    assert_eq!(
        leaks(&String::from_utf8_lossy(&database)),
        Vec::<&str>::new(),
        "the database holds a secret"
    );
    let checked = seam(&config).arg("check-config").output().unwrap();
    let checked = format!(
        "{}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
    assert!(checked.contains(": ok"), "{checked}");
    assert_eq!(
        leaks(&checked),
        Vec::<&str>::new(),
        "check-config shows a secret"
    );
    sandbox.stop().await;
}

/// A database password never shows, whether the configuration is fine, the
/// URL is refused, or the database cannot be reached.
#[test]
fn a_database_password_never_shows() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("seam.toml");
    std::fs::write(&config, "[hub]\ndatabase_url = \"${SEAM_T_DB}\"\n").unwrap();
    for url in [
        "postgres://seam:db-pa55word-77@127.0.0.1:1/seam",
        "mysql://seam:db-pa55word-77@127.0.0.1/seam",
    ] {
        for args in [
            &["check-config"][..],
            &["migrate"][..],
            &["exceptions", "list"][..],
        ] {
            let output = Command::new(env!("CARGO_BIN_EXE_seam"))
                .env_remove("SEAM_CONFIG")
                .env("SEAM_T_DB", url)
                .arg("--config")
                .arg(&config)
                .args(args)
                .output()
                .unwrap();
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            assert!(
                !text.contains("db-pa55word-77"),
                "{args:?} with {url}: {text}"
            );
        }
    }
}
