//! `seam exceptions`: the exception queue from the command line.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use seam_engine::clock::format_millis;
use seam_engine::{
    Clock, ExceptionFilter, ExceptionRecord, ExceptionStatus, ResubmitMode, SystemClock,
};
use seam_model::OwnerTeam;

use crate::context;

#[derive(Subcommand)]
pub enum ExceptionsCommand {
    /// List exceptions, newest first (open ones by default).
    List(ListArgs),
    /// Show one exception with its payload and audit trail.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Run an exception's job again.
    Resubmit(ResubmitArgs),
    /// Close an exception as resolved (or ignored) with a comment.
    Resolve(ResolveArgs),
}

#[derive(Args)]
pub struct ListArgs {
    /// open, resolved, ignored or all.
    #[arg(long, default_value = "open")]
    status: String,
    /// Ops, Finance, CX, Merchandising or Engineering.
    #[arg(long)]
    owner: Option<String>,
    #[arg(long = "type")]
    exception_type: Option<String>,
    #[arg(long)]
    entity: Option<String>,
    #[arg(long, default_value_t = 100)]
    limit: u32,
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Mode {
    /// Run the original payload again, unchanged.
    Replay,
    /// Run again with today's configuration and data (refetching the record).
    Rerun,
    /// Run with the payload in --payload-file.
    Edit,
}

#[derive(Args)]
pub struct ResubmitArgs {
    id: i64,
    #[arg(long, value_enum, default_value_t = Mode::Rerun)]
    mode: Mode,
    /// JSON file with the corrected payload (with --mode edit).
    #[arg(long)]
    payload_file: Option<PathBuf>,
    /// Who is acting, for the audit trail.
    #[arg(long, env = "USER", default_value = "cli")]
    actor: String,
    #[arg(long, default_value = "")]
    comment: String,
}

#[derive(Args)]
pub struct ResolveArgs {
    id: i64,
    /// Why it is closed; kept in the audit trail.
    #[arg(long)]
    comment: String,
    /// Close as ignored rather than resolved.
    #[arg(long)]
    ignore: bool,
    #[arg(long, env = "USER", default_value = "cli")]
    actor: String,
}

pub async fn run(path: Option<PathBuf>, command: ExceptionsCommand) -> anyhow::Result<ExitCode> {
    let config = context::load_config(path)?;
    let store = context::open_store(&config).await?;
    let now = SystemClock.now_ms();
    match command {
        ExceptionsCommand::List(args) => {
            let status = match args.status.as_str() {
                "all" => None,
                other => Some(
                    other
                        .parse::<ExceptionStatus>()
                        .map_err(anyhow::Error::msg)?,
                ),
            };
            let owner = args
                .owner
                .map(|o| o.parse::<OwnerTeam>())
                .transpose()
                .map_err(|e| anyhow::anyhow!("--owner: {e}"))?;
            let filter = ExceptionFilter {
                status,
                owner,
                exception_type: args.exception_type,
                entity_key: args.entity,
                limit: Some(args.limit),
            };
            let exceptions = store.exceptions(&filter).await?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&exceptions)?);
            } else {
                print_table(&exceptions);
            }
        }
        ExceptionsCommand::Show { id, json } => {
            let exception = store
                .exception(id)
                .await?
                .with_context(|| format!("there is no exception {id}"))?;
            let audit = store.exception_audit(id).await?;
            if json {
                let value = serde_json::json!({ "exception": exception, "audit": audit });
                println!("{}", serde_json::to_string_pretty(&value)?);
            } else {
                print_detail(&exception);
                if !audit.is_empty() {
                    println!("audit:");
                    for entry in audit {
                        println!(
                            "  {}  {}  {}  {}",
                            format_millis(entry.at),
                            entry.actor,
                            entry.action,
                            entry.comment
                        );
                    }
                }
            }
        }
        ExceptionsCommand::Resubmit(args) => {
            let mode = match args.mode {
                Mode::Replay => ResubmitMode::Replay,
                Mode::Rerun => ResubmitMode::Rerun,
                Mode::Edit => {
                    let file = args
                        .payload_file
                        .context("--mode edit needs --payload-file with the corrected JSON")?;
                    let text = std::fs::read_to_string(&file)
                        .with_context(|| format!("reading {}", file.display()))?;
                    let payload = serde_json::from_str(&text)
                        .with_context(|| format!("{} is not valid JSON", file.display()))?;
                    ResubmitMode::Edit { payload }
                }
            };
            let job = store
                .resubmit_exception(args.id, &mode, &args.actor, &args.comment, now)
                .await?;
            println!(
                "exception {} resubmitted ({}) as job {job}",
                args.id,
                mode.name()
            );
        }
        ExceptionsCommand::Resolve(args) => {
            let status = if args.ignore {
                ExceptionStatus::Ignored
            } else {
                ExceptionStatus::Resolved
            };
            store
                .close_exception(args.id, status, &args.actor, &args.comment, now)
                .await?;
            println!("exception {} {status}", args.id);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_table(exceptions: &[ExceptionRecord]) {
    if exceptions.is_empty() {
        println!("no exceptions");
        return;
    }
    println!(
        "{:>6}  {:<13}  {:<28}  {:<24}  {:>5}  {:<24}  message",
        "id", "owner", "type", "entity", "times", "last seen"
    );
    for e in exceptions {
        println!(
            "{:>6}  {:<13}  {:<28}  {:<24}  {:>5}  {:<24}  {}",
            e.id,
            e.owner.as_str(),
            e.exception_type,
            e.spec.entity_key,
            e.occurrences,
            format_millis(e.last_seen),
            e.message
        );
    }
}

fn print_detail(e: &ExceptionRecord) {
    println!("exception {} ({})", e.id, e.status);
    println!("  type:       {}", e.exception_type);
    println!("  owner:      {}", e.owner);
    println!("  entity:     {}", e.spec.entity_key);
    println!(
        "  job:        {}/{}{}",
        e.spec.flow,
        e.spec.kind,
        e.job_id.map(|j| format!(" (job {j})")).unwrap_or_default()
    );
    println!("  message:    {}", e.message);
    println!("  fix:        {}", e.fix_hint);
    println!("  attempts:   {}", e.attempts);
    println!(
        "  seen:       {} times, first {}, last {}",
        e.occurrences,
        format_millis(e.first_seen),
        format_millis(e.last_seen)
    );
    if let (Some(by), Some(at)) = (&e.closed_by, e.closed_at) {
        println!(
            "  closed:     by {by} at {} ({})",
            format_millis(at),
            e.closing_comment.as_deref().unwrap_or("")
        );
    }
    println!(
        "  payload:    {}",
        serde_json::to_string_pretty(&e.payload)
            .unwrap_or_default()
            .replace('\n', "\n              ")
    );
}
