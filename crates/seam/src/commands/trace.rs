//! `seam trace`: the story of one entity across every system.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use seam_engine::clock::format_millis;
use seam_engine::{ExceptionFilter, Store};

use crate::context;

#[derive(Args)]
pub struct TraceArgs {
    /// An entity key (`order:<centra id>`, `return:<id>`, `sku:<sku>`) or an
    /// id any system knows it by (Centra order number, Reveni return id,
    /// NetSuite id, tracking number).
    entity: String,
    #[arg(long)]
    json: bool,
}

/// Systems whose ids are linked to entities, in lookup order.
const LINKED_SYSTEMS: [&str; 7] = [
    "centra",
    "centra-number",
    "reveni",
    "warehouse",
    "netsuite",
    "adyen",
    "tracking",
];

async fn resolve(store: &dyn Store, given: &str) -> anyhow::Result<String> {
    for system in LINKED_SYSTEMS {
        if let Some(entity) = store.find_link(system, given).await? {
            return Ok(entity);
        }
    }
    Ok(given.to_string())
}

pub async fn run(path: Option<PathBuf>, args: TraceArgs) -> anyhow::Result<ExitCode> {
    let config = context::load_config(path)?;
    let store = context::open_store(&config).await?;
    let entity = resolve(store.as_ref(), &args.entity).await?;
    let timeline = store.timeline(&entity).await?;
    let links = store.links_of(&entity).await?;
    let exceptions = store
        .exceptions(&ExceptionFilter {
            entity_key: Some(entity.clone()),
            ..Default::default()
        })
        .await?;
    if args.json {
        let value = serde_json::json!({
            "entity": entity, "links": links, "timeline": timeline, "exceptions": exceptions,
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(ExitCode::SUCCESS);
    }
    if timeline.is_empty() && links.is_empty() && exceptions.is_empty() {
        println!("nothing is known about '{}'", args.entity);
        return Ok(ExitCode::from(1));
    }
    println!("{entity}");
    for link in &links {
        println!("  known in {} as {}", link.system, link.external_id);
    }
    for step in &timeline {
        println!(
            "  {}  {:<10} {:<28} {}",
            format_millis(step.at),
            step.system,
            step.step,
            step.detail
        );
    }
    for e in &exceptions {
        println!(
            "  exception {} [{}] {} ({}): {}",
            e.id, e.status, e.exception_type, e.owner, e.message
        );
    }
    Ok(ExitCode::SUCCESS)
}
