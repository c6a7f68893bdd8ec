//! All five simulators together, seeded with one demo brand, and the
//! `seam.toml` that connects a hub to them.

use crate::brand::{Brand, SHIPPING_METHODS};
use crate::server::RunningServer;
use crate::{adyen, centra, netsuite, reveni, warehouse};

/// Ports for the simulators; 0 picks free ones.
#[derive(Debug, Clone, Copy)]
pub struct SandboxOptions {
    pub seed: u64,
    /// First of five consecutive ports (Centra, 3PL, Reveni, NetSuite,
    /// Adyen), or 0 for any free ports.
    pub base_port: u16,
    /// Styles in the demo catalogue (ten SKUs each).
    pub styles: usize,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        SandboxOptions {
            seed: 1,
            base_port: 0,
            styles: 20,
        }
    }
}

pub struct Sandbox {
    pub brand: Brand,
    pub centra: centra::CentraSim,
    pub warehouse: warehouse::WarehouseSim,
    pub reveni: reveni::ReveniSim,
    pub netsuite: netsuite::NetSuiteSim,
    pub adyen: adyen::AdyenSim,
    servers: Vec<RunningServer>,
}

fn port(options: &SandboxOptions, offset: u16) -> u16 {
    if options.base_port == 0 {
        0
    } else {
        options.base_port + offset
    }
}

impl Sandbox {
    /// Starts the five simulators on loopback and seeds the demo brand.
    pub async fn start(options: SandboxOptions) -> anyhow::Result<Sandbox> {
        let brand = Brand::generate(options.styles.max(3), options.seed);
        Sandbox::start_with_brand(options, brand).await
    }

    /// Starts the five simulators and seeds them with `brand` (a benchmark
    /// changes the generated brand's stock, say).
    pub async fn start_with_brand(
        options: SandboxOptions,
        brand: Brand,
    ) -> anyhow::Result<Sandbox> {
        let seed = options.seed;
        let (centra, centra_server) =
            centra::start(centra::CentraConfig::default(), seed, port(&options, 0)).await?;
        let (warehouse, warehouse_server) = warehouse::start(
            warehouse::WarehouseConfig::default(),
            seed,
            port(&options, 1),
        )
        .await?;
        let (reveni, reveni_server) =
            reveni::start(reveni::ReveniConfig::default(), seed, port(&options, 2)).await?;
        let (netsuite, netsuite_server) =
            netsuite::start(netsuite::NetSuiteConfig::default(), seed, port(&options, 3)).await?;
        let (adyen, adyen_server) =
            adyen::start(adyen::AdyenConfig::default(), seed, port(&options, 4)).await?;

        // Centra's payment plugin captures at Adyen, as the Adyen plugin does.
        let psp = adyen.clone();
        centra.set_psp_capture(std::sync::Arc::new(move |reference, currency, value| {
            psp.plugin_capture(reference, currency, value)
        }));
        centra
            .seed_catalogue(&brand.centra_seed())
            .map_err(anyhow::Error::msg)?;
        warehouse.seed(brand.warehouse_seed())?;
        for sku in &brand.skus {
            netsuite
                .seed_item(&netsuite::ItemSeed {
                    sku: sku.sku.clone(),
                    display_name: Some(format!(
                        "{} {} {}",
                        sku.product_number, sku.variant_number, sku.size
                    )),
                    cost: Some(sku.price_eur / rust_decimal::Decimal::from(3)),
                    base_price: Some(sku.price_eur),
                })
                .map_err(|e| anyhow::anyhow!("seeding NetSuite item {}: {e:?}", sku.sku))?;
        }
        netsuite
            .seed_customer(&netsuite::CustomerSeed {
                external_id: "web-customer".into(),
                company_name: Some("Web shop customer".into()),
                email: None,
            })
            .map_err(|e| anyhow::anyhow!("seeding the NetSuite customer: {e:?}"))?;
        Ok(Sandbox {
            brand,
            centra,
            warehouse,
            reveni,
            netsuite,
            adyen,
            servers: vec![
                centra_server,
                warehouse_server,
                reveni_server,
                netsuite_server,
                adyen_server,
            ],
        })
    }

    /// (name, base URL) of each simulator.
    pub fn urls(&self) -> Vec<(&'static str, String)> {
        self.servers
            .iter()
            .map(|s| (s.name, s.base_url()))
            .collect()
    }

    fn url(&self, name: &str) -> String {
        self.servers
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.base_url())
            .unwrap_or_default()
    }

    /// Points the simulators' webhooks at a hub listening on `hub_base_url`
    /// (`http://host:port`), as a brand sets them up in each vendor's
    /// back office. Adyen's notifications go to `/webhooks/adyen`, signed
    /// with the HMAC key `hub_config` writes.
    pub fn connect_webhooks(&self, hub_base_url: &str) {
        let base = hub_base_url.trim_end_matches('/');
        self.adyen.register_webhook(adyen::WebhookTarget {
            url: format!("{base}/webhooks/adyen"),
            hmac_key_hex: None,
            username: None,
            password: None,
        });
        // Reveni's subscription is what a merchant makes with `POST webhooks`.
        let _ = self.reveni.subscribe(reveni::WebhookRequest {
            event_types: vec!["return.created".into(), "return.updated".into()],
            url: format!("{base}/webhooks/reveni"),
        });
    }

    /// A `seam.toml` connecting a hub to these simulators. The sandbox's
    /// credentials are not secrets, so they are written inline; a real
    /// installation uses `${ENV_VAR}` references.
    pub fn hub_config(&self, data_dir: &str, listen: &str) -> String {
        let w = warehouse::WarehouseConfig::default();
        let r = reveni::ReveniConfig::default();
        let n = netsuite::NetSuiteConfig::default();
        let a = adyen::AdyenConfig::default();
        let shipping = [
            ("Standard", "48", "RM"),
            ("Express", "24", "DPD"),
            ("Next Day", "ND", "DPD"),
        ]
        .iter()
        .map(|(method, service, agent)| {
            format!("\"{method}\" = {{ service = \"{service}\", agent = \"{agent}\" }}")
        })
        .collect::<Vec<_>>()
        .join(", ");
        debug_assert!(SHIPPING_METHODS.contains(&"Express Saturday"));
        format!(
            r#"# seam.toml for the sandbox: every connector points at a local simulator.
[hub]
data_dir = "{data_dir}"
listen = "{listen}"

[connectors.centra]
url = "{centra}/graphql"
token = "{centra_token}"
warehouse = "{centra_warehouse}"

[connectors.warehouse]
url = "{warehouse}/api/v1"
username = "{w_user}"
password = "{w_pass}"
account_code = "{w_account}"

[connectors.reveni]
url = "{reveni}/merchants/v0"
store_id = "{r_store}"
api_key = "{r_key}"
webhook_secret = "{r_secret}"

[connectors.netsuite]
url = "{netsuite}"
account_id = "{n_account}"
token = "{n_token}"

[connectors.adyen]
url = "{adyen}/v71"
api_key = "{a_key}"
merchant_account = "{a_merchant}"
hmac_key = "{a_hmac}"

[mappings]
# "Express Saturday" is deliberately missing: orders using it become exceptions (story S03).
shipping_methods = {{ {shipping} }}
stock_statuses = {{ "Available" = "sellable", "In-Refurbishment" = "not_sellable", "Post-Rental Inspection" = "not_sellable", "In warehouse processing" = "not_sellable", "Quarantine" = "not_sellable", "Damaged" = "not_sellable", "Pending Inspection" = "not_sellable", "Ex-Hire" = "not_sellable", "Dispatched" = "not_sellable", "Written Off" = "not_sellable", "Stock Adjustment" = "not_sellable" }}
dispositions = {{ "RESTOCK" = "restock", "REFURBISH" = "hold", "REPAIR" = "hold", "EX_HIRE" = "hold", "WRITE_OFF" = "write_off" }}

[returns]
# The sandbox NetSuite's write-off expense account and the 3PL's location.
write_off_account = "300"
write_off_location = "7"
# The safety net under Reveni's webhooks: returns changed since the last look.
reveni_poll_every = "60s"
"#,
            centra = self.url("centra"),
            centra_token = centra::DEFAULT_TOKEN,
            centra_warehouse = crate::brand::WAREHOUSE_NAME,
            warehouse = self.url("warehouse"),
            w_user = w.username,
            w_pass = w.password,
            w_account = w.account_code,
            reveni = self.url("reveni"),
            r_store = r.store_id,
            r_key = r.api_key,
            r_secret = r.secret_header_value,
            netsuite = self.url("netsuite"),
            n_account = n.account_id,
            n_token = n.static_token.clone().unwrap_or_default(),
            adyen = self.url("adyen"),
            a_key = a.api_key,
            a_merchant = a.merchant_account,
            a_hmac = a.hmac_key_hex,
        )
    }

    /// Stops every simulator.
    pub async fn stop(self) {
        for server in self.servers {
            server.stop().await;
        }
    }
}
