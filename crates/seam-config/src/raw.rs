//! The file's shape as written, and its resolution into `Config`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use seam_model::mapping::{DispositionAction, MappingTables, ShippingService, StockStatusClass};
use serde::Deserialize;
use toml::Spanned;

use crate::error::{ConfigError, ConfigErrors};
use crate::secret::{expand, Secret};
use crate::*;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    #[serde(default)]
    hub: RawHub,
    #[serde(default)]
    engine: RawEngine,
    #[serde(default)]
    connectors: RawConnectors,
    #[serde(default)]
    mappings: RawMappings,
    #[serde(default)]
    products: RawProducts,
    #[serde(default)]
    orders: RawOrders,
    #[serde(default)]
    returns: RawReturns,
    #[serde(default)]
    stock: RawStock,
    #[serde(default)]
    reconcile: RawReconcile,
}

/// `[reconcile]`: how often the reconciler compares the systems, and how
/// far back.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReconcile {
    every: Option<Spanned<String>>,
    lookback_days: Option<u32>,
}

/// `[stock]`: how often the stock flow reads the feed, pushes and reads back.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStock {
    poll_every: Option<Spanned<String>>,
    push_every: Option<Spanned<String>>,
    push_batch: Option<usize>,
    readback_every: Option<Spanned<String>>,
    readback_slice: Option<u32>,
    safety_buffer: Option<u32>,
}

/// `[returns]`: where write-offs are booked in the ERP, and how often
/// Reveni is polled as a safety net.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReturns {
    write_off_account: Option<Spanned<String>>,
    write_off_location: Option<Spanned<String>>,
    reveni_poll_every: Option<Spanned<String>>,
}

/// `[products]`: what the 3PL requires of a SKU (see `seam_model::product`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProducts {
    refurbished_conditions: Option<Vec<String>>,
    grades: Option<Vec<Spanned<String>>>,
}

/// `[orders]`: how orders are posted to the ERP.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOrders {
    erp_customer: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHub {
    data_dir: Option<String>,
    database_url: Option<Spanned<String>>,
    listen: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEngine {
    batch_size: Option<u32>,
    concurrency: Option<usize>,
    lease: Option<Spanned<String>>,
    max_attempts: Option<i32>,
    backoff_base: Option<Spanned<String>>,
    backoff_cap: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConnectors {
    centra: Option<RawCentra>,
    warehouse: Option<RawWarehouse>,
    reveni: Option<RawReveni>,
    netsuite: Option<RawNetSuite>,
    adyen: Option<RawAdyen>,
}

/// A vendor's request budget as written: `{ count = 60, per = "10s" }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateConfig {
    pub count: u32,
    pub per: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBudget {
    requests: Option<RateConfig>,
    mutations: Option<RateConfig>,
    max_concurrency: Option<usize>,
    timeout: Option<String>,
}

/// A connector's resolved request budget.
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetConfig {
    pub requests: Option<(u32, Duration)>,
    pub mutations: Option<(u32, Duration)>,
    pub max_concurrency: usize,
    pub timeout: Duration,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCentra {
    url: Spanned<String>,
    token: Spanned<String>,
    warehouse: Option<String>,
    webhook_secret: Option<Spanned<String>>,
    #[serde(default)]
    budget: RawBudget,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWarehouse {
    url: Spanned<String>,
    username: String,
    password: Spanned<String>,
    account_code: String,
    webhook_secret: Option<Spanned<String>>,
    #[serde(default)]
    budget: RawBudget,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReveni {
    url: Spanned<String>,
    store_id: String,
    api_key: Spanned<String>,
    webhook_secret: Option<Spanned<String>>,
    #[serde(default)]
    budget: RawBudget,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNetSuite {
    url: Spanned<String>,
    account_id: String,
    token: Spanned<String>,
    #[serde(default)]
    budget: RawBudget,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAdyen {
    url: Spanned<String>,
    api_key: Spanned<String>,
    merchant_account: String,
    hmac_key: Option<Spanned<String>>,
    #[serde(default)]
    budget: RawBudget,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMappings {
    #[serde(default)]
    shipping_methods: BTreeMap<String, Spanned<RawShippingService>>,
    #[serde(default)]
    stock_statuses: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    dispositions: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    sku_aliases: BTreeMap<String, String>,
}

/// `"ND"` or `{ service = "ND", agent = "DPD" }`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawShippingService {
    Code(String),
    Full {
        service: String,
        agent: Option<String>,
    },
}

/// Collects errors while resolving, so one run lists all of them.
struct Resolver<'a> {
    text: &'a str,
    path: &'a Path,
    env: &'a dyn Fn(&str) -> Option<String>,
    errors: Vec<ConfigError>,
}

impl Resolver<'_> {
    fn error_at<T>(&mut self, spanned: &Spanned<T>, key: &str, message: impl Into<String>) {
        self.errors.push(ConfigError::at(
            self.path,
            self.text,
            spanned.span().start,
            key,
            message,
        ));
    }

    fn error(&mut self, key: &str, message: impl Into<String>) {
        self.errors
            .push(ConfigError::unlocated(self.path, key, message));
    }

    /// Expands `${VAR}` references; a missing variable is reported at its key.
    fn secret(&mut self, raw: &Spanned<String>, key: &str) -> Secret {
        match expand(raw.get_ref(), self.env) {
            Ok(value) => {
                if value.is_empty() {
                    self.error_at(raw, key, "is empty");
                }
                Secret::new(value, raw.get_ref().clone())
            }
            Err(missing) => {
                for name in missing {
                    self.error_at(raw, key, format!("environment variable {name} is not set"));
                }
                Secret::new(String::new(), raw.get_ref().clone())
            }
        }
    }

    fn url(&mut self, raw: &Spanned<String>, key: &str) -> String {
        let value = raw.get_ref().trim().trim_end_matches('/').to_string();
        if !(value.starts_with("http://") || value.starts_with("https://")) {
            self.error_at(
                raw,
                key,
                format!("'{value}' is not an http:// or https:// URL"),
            );
        }
        value
    }

    fn duration(
        &mut self,
        raw: Option<&Spanned<String>>,
        key: &str,
        default: Duration,
    ) -> Duration {
        let Some(raw) = raw else { return default };
        match humantime::parse_duration(raw.get_ref()) {
            Ok(duration) => duration,
            Err(e) => {
                self.error_at(
                    raw,
                    key,
                    format!("'{}' is not a duration like \"30s\": {e}", raw.get_ref()),
                );
                default
            }
        }
    }

    fn plain_duration(&mut self, raw: &str, key: &str) -> Option<Duration> {
        match humantime::parse_duration(raw) {
            Ok(d) if !d.is_zero() => Some(d),
            Ok(_) => {
                self.error(key, "must be longer than zero");
                None
            }
            Err(e) => {
                self.error(key, format!("'{raw}' is not a duration like \"10s\": {e}"));
                None
            }
        }
    }

    /// Resolves a budget, starting from the vendor's documented defaults.
    fn budget(&mut self, raw: &RawBudget, key: &str, default: BudgetConfig) -> BudgetConfig {
        let mut rate = |rate: &Option<RateConfig>, name: &str, fallback| match rate {
            None => fallback,
            Some(rate) if rate.count == 0 => {
                self.error(&format!("{key}.{name}.count"), "must be at least 1");
                fallback
            }
            Some(rate) => self
                .plain_duration(&rate.per, &format!("{key}.{name}.per"))
                .map(|per| (rate.count, per))
                .or(fallback),
        };
        let requests = rate(&raw.requests, "requests", default.requests);
        let mutations = rate(&raw.mutations, "mutations", default.mutations);
        let timeout = match &raw.timeout {
            Some(t) => self
                .plain_duration(t, &format!("{key}.timeout"))
                .unwrap_or(default.timeout),
            None => default.timeout,
        };
        let max_concurrency = raw.max_concurrency.unwrap_or(default.max_concurrency);
        if max_concurrency == 0 {
            self.error(&format!("{key}.max_concurrency"), "must be at least 1");
        }
        BudgetConfig {
            requests,
            mutations,
            max_concurrency: max_concurrency.max(1),
            timeout,
        }
    }
}

fn budget(
    requests: Option<(u32, u64)>,
    mutations: Option<(u32, u64)>,
    concurrency: usize,
) -> BudgetConfig {
    BudgetConfig {
        requests: requests.map(|(n, secs)| (n, Duration::from_secs(secs))),
        mutations: mutations.map(|(n, secs)| (n, Duration::from_secs(secs))),
        max_concurrency: concurrency,
        timeout: Duration::from_secs(30),
    }
}

impl RawConfig {
    pub(crate) fn parse(text: &str, path: &Path) -> Result<RawConfig, ConfigErrors> {
        let deserializer = toml::Deserializer::new(text);
        serde_path_to_error::deserialize(deserializer).map_err(|error| {
            let key = error.path().to_string();
            let inner = error.into_inner();
            let key = if key == "." { String::new() } else { key };
            let message = inner.message().to_string();
            ConfigErrors(vec![match inner.span() {
                Some(span) => ConfigError::at(path, text, span.start, &key, message),
                None => ConfigError::unlocated(path, &key, message),
            }])
        })
    }

    pub(crate) fn resolve(
        self,
        text: &str,
        path: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigErrors> {
        let mut r = Resolver {
            text,
            path,
            env,
            errors: Vec::new(),
        };

        let data_dir = PathBuf::from(self.hub.data_dir.unwrap_or_else(|| ".seam".into()));
        let database_url = match &self.hub.database_url {
            Some(raw) => {
                let secret = r.secret(raw, "hub.database_url");
                let url = secret.expose();
                if !url.is_empty()
                    && !["sqlite:", "postgres:", "postgresql:"]
                        .iter()
                        .any(|p| url.starts_with(p))
                {
                    r.error_at(
                        raw,
                        "hub.database_url",
                        "expected sqlite://... or postgres://...",
                    );
                }
                secret
            }
            None => {
                let url = format!("sqlite://{}", data_dir.join("seam.db").display());
                Secret::new(url.clone(), url)
            }
        };
        let listen = match &self.hub.listen {
            Some(raw) => raw.get_ref().parse::<SocketAddr>().unwrap_or_else(|e| {
                r.error_at(
                    raw,
                    "hub.listen",
                    format!(
                        "'{}' is not an address like 127.0.0.1:8080: {e}",
                        raw.get_ref()
                    ),
                );
                SocketAddr::from(([127, 0, 0, 1], 8080))
            }),
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
        };

        let engine = EngineConfig {
            batch_size: self.engine.batch_size.unwrap_or(512).max(1),
            concurrency: self.engine.concurrency.unwrap_or(64).max(1),
            lease: r.duration(
                self.engine.lease.as_ref(),
                "engine.lease",
                Duration::from_secs(60),
            ),
            max_attempts: self.engine.max_attempts.unwrap_or(8).max(1),
            backoff_base: r.duration(
                self.engine.backoff_base.as_ref(),
                "engine.backoff_base",
                Duration::from_secs(1),
            ),
            backoff_cap: r.duration(
                self.engine.backoff_cap.as_ref(),
                "engine.backoff_cap",
                Duration::from_secs(600),
            ),
        };

        let c = self.connectors;
        let connectors = Connectors {
            // Growth tier: 60 requests and 20 mutations per 10 s.
            centra: c.centra.map(|raw| CentraConfig {
                url: r.url(&raw.url, "connectors.centra.url"),
                token: r.secret(&raw.token, "connectors.centra.token"),
                warehouse: raw.warehouse.clone(),
                webhook_secret: raw
                    .webhook_secret
                    .as_ref()
                    .map(|s| r.secret(s, "connectors.centra.webhook_secret")),
                budget: r.budget(
                    &raw.budget,
                    "connectors.centra.budget",
                    budget(Some((60, 10)), Some((20, 10)), 4),
                ),
            }),
            warehouse: c.warehouse.map(|raw| WarehouseConfig {
                url: r.url(&raw.url, "connectors.warehouse.url"),
                username: raw.username,
                password: r.secret(&raw.password, "connectors.warehouse.password"),
                account_code: raw.account_code,
                webhook_secret: raw
                    .webhook_secret
                    .as_ref()
                    .map(|s| r.secret(s, "connectors.warehouse.webhook_secret")),
                budget: r.budget(
                    &raw.budget,
                    "connectors.warehouse.budget",
                    budget(Some((20, 1)), None, 4),
                ),
            }),
            reveni: c.reveni.map(|raw| ReveniConfig {
                url: r.url(&raw.url, "connectors.reveni.url"),
                store_id: raw.store_id,
                api_key: r.secret(&raw.api_key, "connectors.reveni.api_key"),
                webhook_secret: raw
                    .webhook_secret
                    .as_ref()
                    .map(|s| r.secret(s, "connectors.reveni.webhook_secret")),
                budget: r.budget(
                    &raw.budget,
                    "connectors.reveni.budget",
                    budget(Some((10, 1)), None, 4),
                ),
            }),
            // NetSuite governs concurrency per account (shared tier: 5 + 10 per SuiteCloud Plus licence).
            netsuite: c.netsuite.map(|raw| NetSuiteConfig {
                url: r.url(&raw.url, "connectors.netsuite.url"),
                account_id: raw.account_id,
                token: r.secret(&raw.token, "connectors.netsuite.token"),
                budget: r.budget(
                    &raw.budget,
                    "connectors.netsuite.budget",
                    budget(None, None, 5),
                ),
            }),
            adyen: c.adyen.map(|raw| AdyenConfig {
                url: r.url(&raw.url, "connectors.adyen.url"),
                api_key: r.secret(&raw.api_key, "connectors.adyen.api_key"),
                merchant_account: raw.merchant_account,
                hmac_key: raw
                    .hmac_key
                    .as_ref()
                    .map(|s| r.secret(s, "connectors.adyen.hmac_key")),
                budget: r.budget(
                    &raw.budget,
                    "connectors.adyen.budget",
                    budget(Some((50, 1)), None, 8),
                ),
            }),
        };

        let mut mappings = MappingTables::default();
        for (method, raw) in &self.mappings.shipping_methods {
            let service = match raw.get_ref() {
                RawShippingService::Code(code) => ShippingService {
                    service: code.clone(),
                    agent: None,
                },
                RawShippingService::Full { service, agent } => ShippingService {
                    service: service.clone(),
                    agent: agent.clone(),
                },
            };
            if service.service.trim().is_empty() {
                r.error_at(
                    raw,
                    &format!("mappings.shipping_methods.\"{method}\""),
                    "the service code is empty",
                );
            }
            mappings.shipping_methods.insert(method.clone(), service);
        }
        for (status, raw) in &self.mappings.stock_statuses {
            match raw.get_ref().parse::<StockStatusClass>() {
                Ok(class) => {
                    mappings.stock_statuses.insert(status.clone(), class);
                }
                Err(e) => r.error_at(raw, &format!("mappings.stock_statuses.\"{status}\""), e),
            }
        }
        for (code, raw) in &self.mappings.dispositions {
            match raw.get_ref().parse::<DispositionAction>() {
                Ok(action) => {
                    mappings.dispositions.insert(code.clone(), action);
                }
                Err(e) => r.error_at(raw, &format!("mappings.dispositions.\"{code}\""), e),
            }
        }
        mappings.sku_aliases = self.mappings.sku_aliases;

        let mut products = seam_model::product::ProductRules::default();
        if let Some(conditions) = self.products.refurbished_conditions {
            products.refurbished_conditions = conditions;
        }
        if let Some(grades) = self.products.grades {
            for grade in &grades {
                if grade.get_ref().trim().is_empty() {
                    r.error_at(grade, "products.grades", "a grade is empty");
                }
            }
            products.grades = grades.into_iter().map(|g| g.into_inner()).collect();
        }
        let orders = OrdersConfig {
            erp_customer: match self.orders.erp_customer {
                Some(customer) if customer.get_ref().trim().is_empty() => {
                    r.error_at(
                        &customer,
                        "orders.erp_customer",
                        "the customer externalId is empty",
                    );
                    String::new()
                }
                Some(customer) => customer.into_inner(),
                None => OrdersConfig::default().erp_customer,
            },
        };
        let mut returns = crate::ReturnsConfig::default();
        returns.reveni_poll_every = r.duration(
            self.returns.reveni_poll_every.as_ref(),
            "returns.reveni_poll_every",
            returns.reveni_poll_every,
        );
        if returns.reveni_poll_every.is_zero() {
            if let Some(raw) = &self.returns.reveni_poll_every {
                r.error_at(raw, "returns.reveni_poll_every", "must be longer than zero");
            }
        }
        for (value, key, slot) in [
            (
                self.returns.write_off_account,
                "returns.write_off_account",
                &mut returns.write_off_account,
            ),
            (
                self.returns.write_off_location,
                "returns.write_off_location",
                &mut returns.write_off_location,
            ),
        ] {
            if let Some(value) = value {
                if value.get_ref().trim().is_empty() {
                    r.error_at(&value, key, "the NetSuite internal id is empty");
                } else {
                    *slot = Some(value.into_inner());
                }
            }
        }

        let defaults = StockConfig::default();
        let stock = StockConfig {
            poll_every: r.duration(
                self.stock.poll_every.as_ref(),
                "stock.poll_every",
                defaults.poll_every,
            ),
            push_every: r.duration(
                self.stock.push_every.as_ref(),
                "stock.push_every",
                defaults.push_every,
            ),
            push_batch: self.stock.push_batch.unwrap_or(defaults.push_batch).max(1),
            readback_every: r.duration(
                self.stock.readback_every.as_ref(),
                "stock.readback_every",
                defaults.readback_every,
            ),
            readback_slice: self
                .stock
                .readback_slice
                .unwrap_or(defaults.readback_slice)
                .max(1),
            safety_buffer: self.stock.safety_buffer.unwrap_or(defaults.safety_buffer),
        };

        let defaults = ReconcileConfig::default();
        let reconcile = ReconcileConfig {
            every: match self.reconcile.every.as_ref() {
                Some(raw) if raw.get_ref().trim() == "off" => None,
                Some(raw) => {
                    Some(r.duration(Some(raw), "reconcile.every", Duration::from_secs(3600)))
                }
                None => defaults.every,
            },
            lookback_days: self
                .reconcile
                .lookback_days
                .unwrap_or(defaults.lookback_days)
                .max(1),
        };

        if !r.errors.is_empty() {
            r.errors
                .sort_by_key(|e| (e.line.unwrap_or(usize::MAX), e.column));
            return Err(ConfigErrors(r.errors));
        }
        Ok(Config {
            source: path.to_path_buf(),
            hub: HubConfig {
                data_dir,
                database_url,
                listen,
            },
            engine,
            connectors,
            mappings,
            products,
            orders,
            returns,
            stock,
            reconcile,
        })
    }
}
