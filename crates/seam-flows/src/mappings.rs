//! The mapping tables in force: the configuration's, until someone changes
//! them at runtime. A change is a `mappings/set` job, so it is serialized
//! with everything else, versioned (the state's version) and on the
//! `mappings` timeline with what changed; flows read the current tables at
//! the start of each job, so a resubmit after a fix sees the fix.

use std::sync::Arc;

use async_trait::async_trait;
use seam_engine::{
    Commit, Failure, HandlerRegistry, Job, JobContext, JobHandler, JobSpec, NewJob, Outcome,
    StateWrite, Store, TimelineEntry,
};
use seam_model::mapping::{MappingTables, ShippingService};
use serde::{Deserialize, Serialize};
use serde_json::json;

pub const FLOW: &str = "mappings";
pub const ENTITY: &str = "mappings";

/// A change to one table entry (`None` removes it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "table", rename_all = "snake_case")]
pub enum MappingChange {
    ShippingMethod {
        method: String,
        service: Option<ShippingService>,
    },
    StockStatus {
        status: String,
        class: Option<seam_model::mapping::StockStatusClass>,
    },
    Disposition {
        code: String,
        action: Option<seam_model::mapping::DispositionAction>,
    },
    SkuAlias {
        alias: String,
        sku: Option<String>,
    },
}

impl MappingChange {
    fn apply(&self, tables: &mut MappingTables) {
        fn put<V: Clone>(
            map: &mut std::collections::BTreeMap<String, V>,
            key: &str,
            value: &Option<V>,
        ) {
            match value {
                Some(v) => {
                    map.insert(key.to_string(), v.clone());
                }
                None => {
                    map.remove(key);
                }
            }
        }
        match self {
            MappingChange::ShippingMethod { method, service } => {
                put(&mut tables.shipping_methods, method, service)
            }
            MappingChange::StockStatus { status, class } => {
                put(&mut tables.stock_statuses, status, class)
            }
            MappingChange::Disposition { code, action } => {
                put(&mut tables.dispositions, code, action)
            }
            MappingChange::SkuAlias { alias, sku } => put(&mut tables.sku_aliases, alias, sku),
        }
    }

    fn describe(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The job that applies a change (`seam mappings set-shipping`, the API).
pub fn change_job(change: &MappingChange, by: &str) -> NewJob {
    NewJob {
        spec: JobSpec::new(FLOW, "set", ENTITY),
        payload: json!({ "change": change, "by": by }),
    }
}

/// Reads the tables in force.
#[derive(Clone)]
pub struct MappingSource {
    configured: Arc<MappingTables>,
}

impl MappingSource {
    pub fn new(configured: MappingTables) -> Self {
        MappingSource {
            configured: Arc::new(configured),
        }
    }

    pub async fn current(&self, store: &dyn Store) -> Result<Arc<MappingTables>, Failure> {
        match store.entity_state(ENTITY, FLOW).await {
            Ok(Some(state)) => serde_json::from_value::<MappingTables>(state.state)
                .map(Arc::new)
                .map_err(|e| {
                    Failure::data(format!("the stored mapping tables do not decode: {e}"))
                }),
            Ok(None) => Ok(self.configured.clone()),
            Err(error) => Err(crate::database_failure(error)),
        }
    }

    pub fn register(&self, registry: &mut HandlerRegistry) {
        registry.register(FLOW, "set", Arc::new(SetMapping(self.clone())));
    }
}

struct SetMapping(MappingSource);

#[async_trait]
impl JobHandler for SetMapping {
    async fn handle(&self, job: &Job, ctx: &JobContext) -> Outcome {
        let change: MappingChange = match job
            .payload
            .get("change")
            .cloned()
            .map(serde_json::from_value)
        {
            Some(Ok(change)) => change,
            _ => {
                return Outcome::failed(Failure::data(
                    "the mapping change in this job does not decode",
                ))
            }
        };
        let by = job
            .payload
            .get("by")
            .and_then(|b| b.as_str())
            .unwrap_or("unknown");
        let mut tables = match self.0.current(ctx.store.as_ref()).await {
            Ok(tables) => (*tables).clone(),
            Err(failure) => return Outcome::failed(failure),
        };
        change.apply(&mut tables);
        Outcome::Done(Commit {
            state: vec![StateWrite {
                entity_key: ENTITY.into(),
                flow: FLOW.into(),
                state: json!(tables),
            }],
            timeline: vec![TimelineEntry {
                entity_key: ENTITY.into(),
                at: ctx.now,
                system: "seam".into(),
                step: "mapping_changed".into(),
                detail: format!("by {by}: {}", change.describe()),
            }],
            ..Default::default()
        })
    }
}
