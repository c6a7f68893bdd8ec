//! seam.toml parsing: strictness, error locations, secrets.

use std::path::Path;

use seam_config::parse;
use seam_model::mapping::{DispositionAction, StockStatusClass};

fn env(name: &str) -> Option<String> {
    match name {
        "CENTRA_TOKEN" => Some("tok-123".into()),
        _ => None,
    }
}

const GOOD: &str = r#"
[hub]
data_dir = "/var/lib/seam"
listen = "0.0.0.0:9000"

[connectors.centra]
url = "http://127.0.0.1:7101/graphql/"
token = "${CENTRA_TOKEN}"
budget = { mutations = { count = 50, per = "10s" }, timeout = "5s" }

[mappings]
shipping_methods = { "Standard" = "48", "Express" = { service = "ND", agent = "DPD" } }
stock_statuses = { "Available" = "sellable", "Quarantine" = "not_sellable" }
dispositions = { "WRITE_OFF" = "write_off" }
"#;

#[test]
fn a_good_file_resolves_with_defaults_and_secrets() {
    let config = parse(GOOD, Path::new("seam.toml"), &env).unwrap();
    let centra = config.connectors.centra.unwrap();
    assert_eq!(centra.url, "http://127.0.0.1:7101/graphql");
    assert_eq!(centra.token.expose(), "tok-123");
    assert_eq!(
        format!("{:?}", centra.token),
        "Secret(${CENTRA_TOKEN} = [redacted])"
    );
    assert_eq!(
        centra.budget.requests,
        Some((60, std::time::Duration::from_secs(10))),
        "Growth tier default"
    );
    assert_eq!(centra.budget.mutations.unwrap().0, 50);
    assert_eq!(
        config.hub.database_url.expose(),
        "sqlite:///var/lib/seam/seam.db"
    );
    assert_eq!(
        config
            .mappings
            .shipping_service("Express")
            .unwrap()
            .agent
            .as_deref(),
        Some("DPD")
    );
    assert_eq!(
        config.mappings.stock_status("Quarantine"),
        Some(StockStatusClass::NotSellable)
    );
    assert_eq!(
        config.mappings.disposition("WRITE_OFF"),
        Some(DispositionAction::WriteOff)
    );
    assert!(config.connectors.netsuite.is_none());
}

#[test]
fn an_unknown_key_is_named_with_its_line() {
    let text = "[connectors.centra]\nurl = \"http://x\"\ntokn = \"a\"\n";
    let errors = parse(text, Path::new("seam.toml"), &env).unwrap_err();
    let message = errors.to_string();
    assert!(message.starts_with("seam.toml:3:"), "{message}");
    assert!(message.contains("connectors.centra"), "{message}");
    assert!(message.contains("tokn"), "{message}");
}

#[test]
fn a_missing_environment_variable_is_named_at_its_key() {
    let text = "[connectors.adyen]\nurl = \"http://x\"\napi_key = \"${ADYEN_KEY}\"\nmerchant_account = \"M\"\n";
    let errors = parse(text, Path::new("seam.toml"), &env).unwrap_err();
    assert_eq!(errors.0.len(), 1);
    let message = errors.to_string();
    assert_eq!(
        message,
        "seam.toml:3:11: connectors.adyen.api_key: environment variable ADYEN_KEY is not set"
    );
}

#[test]
fn every_resolution_error_is_listed_and_no_secret_is_printed() {
    let text = r#"
[hub]
listen = "nowhere"
[connectors.centra]
url = "ftp://x"
token = "${CENTRA_TOKEN}"
[mappings]
stock_statuses = { "Available" = "maybe" }
"#;
    let errors = parse(text, Path::new("seam.toml"), &env).unwrap_err();
    let message = errors.to_string();
    assert_eq!(errors.0.len(), 3, "{message}");
    assert!(message.contains("seam.toml:3:10: hub.listen"), "{message}");
    assert!(message.contains("connectors.centra.url"), "{message}");
    assert!(
        message
            .contains("mappings.stock_statuses.\"Available\": 'maybe' is not a stock status class"),
        "{message}"
    );
    assert!(!message.contains("tok-123"));
}

#[test]
fn a_wrong_type_names_key_and_line() {
    let text = "[engine]\nbatch_size = \"many\"\n";
    let message = parse(text, Path::new("seam.toml"), &env)
        .unwrap_err()
        .to_string();
    assert!(message.starts_with("seam.toml:2:"), "{message}");
    assert!(message.contains("engine.batch_size"), "{message}");
}

#[test]
fn the_embedded_default_needs_no_file() {
    let config = seam_config::embedded_default();
    assert!(config.hub.database_url.expose().starts_with("sqlite://"));
    assert!(config.connectors.centra.is_none());
}

#[test]
fn the_reveni_poll_defaults_to_a_minute_and_refuses_nonsense() {
    let config = parse(GOOD, Path::new("seam.toml"), &env).unwrap();
    assert_eq!(
        config.returns.reveni_poll_every,
        std::time::Duration::from_secs(60)
    );
    let config = parse(
        "[returns]\nreveni_poll_every = \"15s\"\n",
        Path::new("seam.toml"),
        &env,
    )
    .unwrap();
    assert_eq!(
        config.returns.reveni_poll_every,
        std::time::Duration::from_secs(15)
    );
    for bad in ["\"soon\"", "\"0s\""] {
        let message = parse(
            &format!("[returns]\nreveni_poll_every = {bad}\n"),
            Path::new("seam.toml"),
            &env,
        )
        .unwrap_err()
        .to_string();
        assert!(
            message.starts_with("seam.toml:2:") && message.contains("returns.reveni_poll_every"),
            "{message}"
        );
    }
}

#[test]
fn the_stock_rhythm_defaults_and_says_which_line_is_wrong() {
    let config = parse("", Path::new("seam.toml"), &env).unwrap();
    assert_eq!(config.stock, seam_config::StockConfig::default());
    let config = parse(
        "[stock]\npoll_every = \"200ms\"\npush_every = \"500ms\"\npush_batch = 5000\n",
        Path::new("seam.toml"),
        &env,
    )
    .unwrap();
    assert_eq!(
        config.stock.poll_every,
        std::time::Duration::from_millis(200)
    );
    assert_eq!(
        config.stock.push_every,
        std::time::Duration::from_millis(500)
    );
    assert_eq!(config.stock.push_batch, 5000);
    let errors = parse(
        "[stock]\npoll_every = \"often\"\n",
        Path::new("seam.toml"),
        &env,
    )
    .unwrap_err()
    .to_string();
    assert!(
        errors.contains("seam.toml:2") && errors.contains("stock.poll_every"),
        "{errors}"
    );
}

#[test]
fn reconciliation_runs_hourly_by_default_and_can_be_turned_off() {
    let config = parse("", Path::new("seam.toml"), &env).unwrap();
    assert_eq!(config.reconcile, seam_config::ReconcileConfig::default());
    assert_eq!(
        config.reconcile.every,
        Some(std::time::Duration::from_secs(3600))
    );
    let config = parse(
        "[reconcile]\nevery = \"15m\"\nlookback_days = 7\n",
        Path::new("seam.toml"),
        &env,
    )
    .unwrap();
    assert_eq!(
        config.reconcile.every,
        Some(std::time::Duration::from_secs(900))
    );
    assert_eq!(config.reconcile.lookback_days, 7);
    let config = parse(
        "[reconcile]\nevery = \"off\"\n",
        Path::new("seam.toml"),
        &env,
    )
    .unwrap();
    assert_eq!(config.reconcile.every, None);
    let errors = parse(
        "[reconcile]\nevery = \"hourly\"\n",
        Path::new("seam.toml"),
        &env,
    )
    .unwrap_err()
    .to_string();
    assert!(
        errors.contains("seam.toml:2") && errors.contains("reconcile.every"),
        "{errors}"
    );
}
