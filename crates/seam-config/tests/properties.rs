//! Property tests of `seam.toml` parsing (the `config` fuzz target in
//! `fuzz/` hammers the same door): any text, and any damage to a valid
//! file, is a list of located errors and never a panic; a valid file's
//! values come back as written; a secret's value never shows in an error.

use std::path::Path;
use std::time::Duration;

use proptest::prelude::*;
use seam_config::parse;

const FULL: &str = r#"
[hub]
data_dir = "/var/lib/seam"
listen = "127.0.0.1:9000"
database_url = "${DATABASE_URL}"

[engine]
batch_size = 64
concurrency = 8
lease = "30s"
max_attempts = 5
backoff_base = "500ms"
backoff_cap = "2m"

[connectors.centra]
url = "http://127.0.0.1:7101/graphql"
token = "${CENTRA_TOKEN}"
warehouse = "Main"
webhook_secret = "${CENTRA_HOOK}"
budget = { requests = { count = 60, per = "10s" }, mutations = { count = 20, per = "10s" } }

[connectors.warehouse]
url = "http://127.0.0.1:7102/api/v1"
username = "seam"
password = "${WAREHOUSE_PASSWORD}"
account_code = "SEAMTEST"

[connectors.reveni]
url = "http://127.0.0.1:7103/merchants/v0"
store_id = "store-1"
api_key = "${REVENI_KEY}"
webhook_secret = "${REVENI_HOOK}"

[connectors.netsuite]
url = "http://127.0.0.1:7104"
account_id = "TSTDRV1"
token = "${NETSUITE_TOKEN}"

[connectors.adyen]
url = "http://127.0.0.1:7105/v71"
api_key = "${ADYEN_KEY}"
merchant_account = "SeamECOM"
hmac_key = "${ADYEN_HMAC}"

[mappings]
shipping_methods = { "Standard" = "48", "Express" = { service = "ND", agent = "DPD" } }
stock_statuses = { "Available" = "sellable", "Quarantine" = "not_sellable" }
dispositions = { "RESTOCK" = "restock", "WRITE_OFF" = "write_off" }

[products]
grades = ["A", "B", "C"]

[orders]
erp_customer = "web-customer"

[returns]
write_off_account = "300"
write_off_location = "7"
"#;

const SECRET: &str = "s3cret-value-that-must-never-show";

fn every_variable_set(name: &str) -> Option<String> {
    Some(match name {
        "DATABASE_URL" => format!("postgres://seam:{SECRET}@db/seam"),
        "ADYEN_HMAC" => "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056".into(),
        _ => SECRET.to_string(),
    })
}

fn mutate(mut bytes: Vec<u8>, edits: &[(usize, u8, u8)]) -> Vec<u8> {
    for (at, how, byte) in edits {
        if bytes.is_empty() {
            bytes.push(*byte);
            continue;
        }
        let at = at % bytes.len();
        match how % 3 {
            0 => bytes[at] ^= byte | 1,
            1 => {
                bytes.remove(at);
            }
            _ => bytes.insert(at, *byte),
        }
    }
    bytes
}

#[test]
fn the_full_sample_is_valid() {
    let config = parse(FULL, Path::new("seam.toml"), &every_variable_set).unwrap();
    assert_eq!(config.engine.batch_size, 64);
    assert!(config.connectors.adyen.is_some() && config.connectors.reveni.is_some());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_text_is_errors_not_a_panic(text in ".{0,400}") {
        let _ = parse(&text, Path::new("seam.toml"), &every_variable_set);
        let _ = parse(&text, Path::new("seam.toml"), &|_| None);
    }

    #[test]
    fn a_damaged_file_is_errors_at_real_lines_and_never_shows_a_secret(
        edits in prop::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..6)
    ) {
        let damaged = mutate(FULL.as_bytes().to_vec(), &edits);
        let Ok(text) = String::from_utf8(damaged) else { return Ok(()) };
        if let Err(errors) = parse(&text, Path::new("seam.toml"), &every_variable_set) {
            let lines = text.lines().count().max(1) + 1;
            for error in &errors.0 {
                if let Some(line) = error.line {
                    prop_assert!(line <= lines, "line {line} of {lines}");
                }
            }
            prop_assert!(!errors.to_string().contains(SECRET), "{errors}");
        }
    }

    #[test]
    fn written_values_come_back(
        batch_size in 1u32..100_000,
        concurrency in 1usize..1_000,
        lease_secs in 1u64..3_600,
        max_attempts in 1i32..50,
        statuses in prop::collection::btree_map("[A-Za-z][A-Za-z -]{0,20}", any::<bool>(), 0..8),
        methods in prop::collection::btree_map("[A-Za-z][A-Za-z ]{0,15}", prop::sample::select(vec!["24", "48", "ND"]), 0..6),
    ) {
        let statuses_toml = statuses
            .iter()
            .map(|(status, sellable)| format!("\"{status}\" = \"{}\"", if *sellable { "sellable" } else { "not_sellable" }))
            .collect::<Vec<_>>()
            .join(", ");
        let methods_toml = methods
            .iter()
            .map(|(method, service)| format!("\"{method}\" = \"{service}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let text = format!(
            "[engine]\nbatch_size = {batch_size}\nconcurrency = {concurrency}\nlease = \"{lease_secs}s\"\nmax_attempts = {max_attempts}\n\n[mappings]\nstock_statuses = {{ {statuses_toml} }}\nshipping_methods = {{ {methods_toml} }}\n"
        );
        let config = parse(&text, Path::new("seam.toml"), &|_| None).unwrap();
        prop_assert_eq!(config.engine.batch_size, batch_size);
        prop_assert_eq!(config.engine.concurrency, concurrency);
        prop_assert_eq!(config.engine.lease, Duration::from_secs(lease_secs));
        prop_assert_eq!(config.engine.max_attempts, max_attempts);
        for (status, sellable) in &statuses {
            let class = config.mappings.stock_status(status);
            prop_assert_eq!(
                class == Some(seam_model::mapping::StockStatusClass::Sellable),
                *sellable
            );
        }
        for (method, service) in &methods {
            prop_assert_eq!(
                config.mappings.shipping_service(method).map(|s| s.service.as_str()),
                Some(*service)
            );
        }
    }
}
