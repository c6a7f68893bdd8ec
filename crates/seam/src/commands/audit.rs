//! `seam audit`: checks that run over a whole catalogue before any order
//! arrives.
//!
//! `seam audit products` reads every product from Centra's product master
//! and lists each SKU the 3PL would refuse an order line for (story S04: a
//! refurbished SKU without a Grade), with the reason and the fix. It exits 1
//! when any SKU would be refused, so a brand's CI can gate on it.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use seam_connectors::centra::{
    CentraClient, Product, ProductFilter, RateLimitInterval, RateLimitType,
};
use seam_engine::FailureClass;
use seam_model::product::{ProductFacts, ProductProblem, ProductRules};

use crate::context;

/// Centra's largest page of products.
const MAX_PAGE_SIZE: u32 = 200;
/// The page size when Centra does not tell its complexity quota (what fits
/// the Growth tier, Centra's default plan).
const FALLBACK_PAGE_SIZE: u32 = 40;
/// What one product of the connector's product query costs against
/// Centra's query-complexity budget, with headroom. Centra does not publish
/// its weights; under the rules it documents, as the sandbox models them
/// (every field costs one, a nested list without a limit counts 20 times),
/// a product with its attributes, variants, sizes and bundle sections costs
/// 5,471. A page of 200 (about 1.1 million) would exceed the Growth tier's
/// 250,000 per 10 seconds and be refused however long Seam waited; the
/// Growth tier takes 41 a page, the High volume tier (1.8 million) 200.
const COMPLEXITY_PER_PRODUCT: i64 = 6_000;

#[derive(Subcommand)]
pub enum AuditCommand {
    /// List every SKU the 3PL would refuse (e.g. a refurbished SKU without a
    /// Grade), before any order for it arrives. Exits 1 when there is one.
    Products(ProductsArgs),
}

#[derive(Args)]
pub struct ProductsArgs {
    /// How to print the listing.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Write the listing to this file instead of standard output.
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// List every SKU with its status (ok or refused), not only refused ones.
    #[arg(long)]
    all: bool,
    /// Products read per Centra call (1-200). By default as many as fit
    /// Centra's query-complexity budget for 10 seconds (41 on the Growth tier).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=200))]
    page_size: Option<u32>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns and a summary line, for people.
    Table,
    /// Comma-separated with a header row, for spreadsheets and scripts.
    Csv,
}

pub async fn run(path: Option<PathBuf>, command: AuditCommand) -> anyhow::Result<ExitCode> {
    let AuditCommand::Products(args) = command;
    let config = context::load_config(path)?;
    let centra = config.connectors.centra.as_ref().with_context(|| {
        format!(
            "no Centra connector is configured: `seam audit products` reads the product master \
             from Centra; add a [connectors.centra] section (connectors.centra.url, \
             connectors.centra.token) to {}",
            config.source.display()
        )
    })?;
    let client = CentraClient::new(centra, None);
    let products = read_products(&client, args.page_size)
        .await
        .with_context(|| {
            format!(
                "cannot read the product master from Centra at {} (connectors.centra in {})",
                centra.url,
                config.source.display()
            )
        })?;
    let mut report = audit(&products, &config.products);
    report.include_ok = args.all;

    match &args.output {
        Some(file) => {
            let out = std::fs::File::create(file)
                .with_context(|| format!("cannot create {}", file.display()))?;
            let mut out = std::io::BufWriter::new(out);
            match args.format {
                Format::Table => out.write_all(to_table(&report).as_bytes())?,
                Format::Csv => write_csv(&report, &mut out)?,
            }
            out.flush()
                .with_context(|| format!("writing {}", file.display()))?;
            eprintln!("{} (written to {})", report.summary(), file.display());
        }
        None => {
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            match args.format {
                Format::Table => out.write_all(to_table(&report).as_bytes())?,
                Format::Csv => {
                    write_csv(&report, &mut out)?;
                    // Standard output stays pure CSV.
                    eprintln!("{}", report.summary());
                }
            }
            out.flush()?;
        }
    }
    Ok(if report.refused() > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// As many products a page as fit Centra's query-complexity budget for its
/// short window, which Centra reports (it depends on the brand's plan).
async fn page_size(client: &CentraClient) -> u32 {
    let quota = client.rate_limits().await.ok().and_then(|limits| {
        limits
            .into_iter()
            .find(|l| {
                l.limit_type == RateLimitType::QueryComplexity
                    && l.interval_seconds == RateLimitInterval::TenSeconds
            })
            .map(|l| l.quota)
    });
    match quota {
        Some(quota) => (quota / COMPLEXITY_PER_PRODUCT).clamp(1, i64::from(MAX_PAGE_SIZE)) as u32,
        None => FALLBACK_PAGE_SIZE,
    }
}

/// Every product, page by page until a short page, with a spinner on
/// standard error (hidden when it is not a terminal).
async fn read_products(
    client: &CentraClient,
    page_size: Option<u32>,
) -> anyhow::Result<Vec<Product>> {
    let spinner = ProgressBar::new_spinner();
    spinner.set_style(
        ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    spinner.set_message("reading the product master from Centra");
    spinner.enable_steady_tick(Duration::from_millis(120));
    let page_size = match page_size {
        Some(size) => size,
        None => self::page_size(client).await,
    };
    let mut products = Vec::new();
    let mut page = 1;
    let result = loop {
        match client
            .products(&ProductFilter::default(), page_size, page)
            .await
        {
            Ok(batch) => {
                let short = batch.len() < page_size as usize;
                products.extend(batch);
                spinner.set_message(format!(
                    "reading the product master from Centra: page {page}, {} products",
                    products.len()
                ));
                if short {
                    break Ok(products);
                }
                page += 1;
            }
            Err(failure) => {
                let hint = if failure.class == FailureClass::RateLimited {
                    format!(
                        " ({page_size} products a page), which Centra's rate limit kept \
                         refusing (every integration of the brand shares its budget): try again \
                         later or with a smaller --page-size"
                    )
                } else {
                    String::new()
                };
                break Err(
                    anyhow::Error::new(failure).context(format!("reading page {page}{hint}"))
                );
            }
        }
    };
    spinner.finish_and_clear();
    result
}

/// One SKU and every reason the 3PL would refuse it (none: it would take it).
#[derive(Debug, Clone, PartialEq)]
pub struct SkuAudit {
    pub facts: ProductFacts,
    pub problems: Vec<ProductProblem>,
}

impl SkuAudit {
    pub fn refused(&self) -> bool {
        !self.problems.is_empty()
    }
}

/// The outcome of checking a catalogue, SKU by SKU.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditReport {
    /// Every SKU checked, sorted by SKU.
    pub skus: Vec<SkuAudit>,
    /// Bundles are virtual (their components are ordinary SKUs, checked on
    /// their own products), so they are not checked.
    pub bundles_skipped: usize,
    /// The renderers list SKUs the 3PL would take too (`--all`).
    pub include_ok: bool,
}

impl AuditReport {
    /// SKUs checked.
    pub fn checked(&self) -> usize {
        self.skus.len()
    }

    /// SKUs the 3PL would refuse.
    pub fn refused(&self) -> usize {
        self.skus.iter().filter(|s| s.refused()).count()
    }

    pub fn summary(&self) -> String {
        format!(
            "{} of {} SKUs would be refused by the 3PL",
            self.refused(),
            self.checked()
        )
    }

    /// One row per problem, plus one per SKU without problems with `include_ok`.
    fn rows(&self) -> Vec<Row<'_>> {
        let mut rows = Vec::new();
        for sku in &self.skus {
            let facts = &sku.facts;
            let row = |status, problem: Option<&ProductProblem>| Row {
                sku: &facts.sku,
                product_number: &facts.product_number,
                item_condition: facts.item_condition.as_deref().unwrap_or(""),
                grade: facts.grade.as_deref().unwrap_or(""),
                status,
                code: problem.map(ProductProblem::code).unwrap_or(""),
                description: problem.map(|p| p.describe(&facts.sku)).unwrap_or_default(),
                fix_hint: problem.map(|p| p.fix_hint(&facts.sku)).unwrap_or_default(),
            };
            if sku.problems.is_empty() {
                if self.include_ok {
                    rows.push(row("ok", None));
                }
            } else {
                rows.extend(sku.problems.iter().map(|p| row("refused", Some(p))));
            }
        }
        rows
    }
}

struct Row<'a> {
    sku: &'a str,
    product_number: &'a str,
    item_condition: &'a str,
    grade: &'a str,
    status: &'static str,
    code: &'static str,
    description: String,
    fix_hint: String,
}

const CSV_HEADER: [&str; 8] = [
    "sku",
    "product_number",
    "item_condition",
    "grade",
    "status",
    "code",
    "description",
    "fix_hint",
];

/// Checks every SKU of every product against the 3PL's rules. Bundles are
/// skipped: they are virtual, and their components are ordinary SKUs.
pub fn audit(products: &[Product], rules: &ProductRules) -> AuditReport {
    let mut report = AuditReport::default();
    for product in products {
        if product.is_bundle {
            report.bundles_skipped += 1;
            continue;
        }
        for facts in product.sku_facts() {
            let problems = rules.check(&facts);
            report.skus.push(SkuAudit { facts, problems });
        }
    }
    report.skus.sort_by(|a, b| {
        (&a.facts.sku, &a.facts.product_number).cmp(&(&b.facts.sku, &b.facts.product_number))
    });
    report
}

/// Aligned columns, then the summary line. The status column appears only
/// with `include_ok` (otherwise every row is refused).
pub fn to_table(report: &AuditReport) -> String {
    let rows = report.rows();
    let mut out = String::new();
    if !rows.is_empty() {
        let mut lines: Vec<Vec<String>> = Vec::with_capacity(rows.len() + 1);
        let header: Vec<&str> = [
            "SKU",
            "PRODUCT",
            "CONDITION",
            "GRADE",
            "STATUS",
            "PROBLEM",
            "DESCRIPTION",
            "FIX",
        ]
        .into_iter()
        .filter(|h| report.include_ok || *h != "STATUS")
        .collect();
        lines.push(header.into_iter().map(str::to_string).collect());
        for row in &rows {
            let mut cells = vec![
                row.sku.to_string(),
                row.product_number.to_string(),
                dash(row.item_condition),
                dash(row.grade),
            ];
            if report.include_ok {
                cells.push(row.status.to_string());
            }
            cells.push(dash(row.code));
            cells.push(dash(&row.description));
            cells.push(dash(&row.fix_hint));
            lines.push(cells);
        }
        let columns = lines[0].len();
        let widths: Vec<usize> = (0..columns)
            .map(|c| {
                lines
                    .iter()
                    .map(|l| l[c].chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        for line in &lines {
            let mut text = String::new();
            for (c, cell) in line.iter().enumerate() {
                if c > 0 {
                    text.push_str("  ");
                }
                text.push_str(cell);
                if c + 1 < columns {
                    let pad = widths[c] - cell.chars().count();
                    text.extend(std::iter::repeat_n(' ', pad));
                }
            }
            out.push_str(text.trim_end());
            out.push('\n');
        }
        out.push('\n');
    }
    out.push_str(&report.summary());
    out.push('\n');
    out
}

fn dash(value: &str) -> String {
    if value.is_empty() {
        "-".to_string()
    } else {
        value.to_string()
    }
}

/// CSV with a header row; the same columns whether or not `include_ok` is
/// set (status is `ok` or `refused`), so scripts can rely on them.
pub fn write_csv(report: &AuditReport, out: impl Write) -> csv::Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(CSV_HEADER)?;
    for row in report.rows() {
        writer.write_record([
            row.sku,
            row.product_number,
            row.item_condition,
            row.grade,
            row.status,
            row.code,
            &row.description,
            &row.fix_hint,
        ])?;
    }
    writer.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn size(id: i64, sku: &str) -> serde_json::Value {
        json!({ "id": id, "SKU": sku, "EAN": null, "sizeNumber": null, "description": null })
    }

    fn attribute(name: &str, value: &str) -> serde_json::Value {
        json!({ "type": { "name": name }, "elements": [{ "key": name, "value": value }] })
    }

    fn catalogue() -> Vec<Product> {
        serde_json::from_value(json!([
            {
                "id": 1, "name": "Coat", "productNumber": "P1004", "brandName": null,
                "isBundle": false, "bundle": null,
                "attributes": [attribute("item_condition", "Refurbished")],
                "variants": [
                    { "id": 11, "name": "Black", "variantNumber": "V1",
                      "attributes": [attribute("grade", "A")],
                      "productSizes": [size(111, "P1004V1M")] },
                    { "id": 12, "name": "Navy", "variantNumber": "V2",
                      "attributes": [],
                      "productSizes": [size(122, "P1004V2S"), size(121, "P1004V2M")] },
                    { "id": 13, "name": "Red", "variantNumber": "V3",
                      "attributes": [attribute("grade", "Z")],
                      "productSizes": [size(131, "P1004V3M")] }
                ]
            },
            {
                "id": 2, "name": "Shirt", "productNumber": "P1000", "brandName": null,
                "isBundle": false, "bundle": null, "attributes": [],
                "variants": [{ "id": 21, "name": "Black", "variantNumber": "V1",
                               "attributes": [], "productSizes": [size(211, "P1000V1M")] }]
            },
            {
                "id": 3, "name": "Bundle", "productNumber": "BND100", "brandName": null,
                "isBundle": true, "bundle": null, "attributes": [],
                "variants": [{ "id": 31, "name": "Bundle", "variantNumber": "V1",
                               "attributes": [attribute("item_condition", "Refurbished")],
                               "productSizes": [size(311, "BND100V1OS")] }]
            }
        ]))
        .unwrap()
    }

    #[test]
    fn refurbished_skus_without_a_valid_grade_are_refused_and_bundles_skipped() {
        let report = audit(&catalogue(), &ProductRules::default());
        assert_eq!(report.checked(), 5);
        assert_eq!(report.bundles_skipped, 1);
        assert_eq!(report.refused(), 3);
        let refused: Vec<(&str, &str)> = report
            .skus
            .iter()
            .flat_map(|s| s.problems.iter().map(|p| (s.facts.sku.as_str(), p.code())))
            .collect();
        assert_eq!(
            refused,
            vec![
                ("P1004V2M", "missing_grade"),
                ("P1004V2S", "missing_grade"),
                ("P1004V3M", "invalid_grade"),
            ]
        );
    }

    #[test]
    fn csv_has_a_header_and_one_row_per_problem() {
        let mut report = audit(&catalogue(), &ProductRules::default());
        let mut out = Vec::new();
        write_csv(&report, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "sku,product_number,item_condition,grade,status,code,description,fix_hint"
        );
        assert_eq!(lines.len(), 4, "{text}");
        assert!(lines[1].starts_with("P1004V2M,P1004,Refurbished,,refused,missing_grade,"));
        assert!(lines[3].contains(",Z,refused,invalid_grade,"), "{text}");
        // Descriptions with commas are quoted.
        assert!(lines[3].contains("\"P1004V3M has Grade 'Z'"), "{text}");

        report.include_ok = true;
        let mut out = Vec::new();
        write_csv(&report, &mut out).unwrap();
        let mut reader = csv::Reader::from_reader(out.as_slice());
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 5);
        let ok: Vec<&str> = rows
            .iter()
            .filter(|r| &r[4] == "ok")
            .map(|r| &r[0])
            .collect();
        assert_eq!(ok, vec!["P1000V1M", "P1004V1M"]);
        assert!(rows
            .iter()
            .filter(|r| &r[4] == "ok")
            .all(|r| r[5].is_empty()));
    }

    #[test]
    fn the_table_is_aligned_and_ends_with_the_summary() {
        let mut report = audit(&catalogue(), &ProductRules::default());
        let table = to_table(&report);
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[0].starts_with("SKU       PRODUCT  CONDITION    GRADE  PROBLEM"));
        assert!(!lines[0].contains("STATUS"));
        assert_eq!(lines.len(), 6, "{table}");
        let column = lines[0].find("PROBLEM").unwrap();
        assert_eq!(&lines[1][column..column + 13], "missing_grade");
        assert_eq!(&lines[3][column..column + 13], "invalid_grade");
        assert_eq!(lines[4], "");
        assert_eq!(lines[5], "3 of 5 SKUs would be refused by the 3PL");

        report.include_ok = true;
        let table = to_table(&report);
        let status = table.lines().next().unwrap().find("STATUS").unwrap();
        let statuses: Vec<&str> = table
            .lines()
            .skip(1)
            .take(5)
            .map(|l| l[status..].split(' ').next().unwrap())
            .collect();
        assert_eq!(statuses, vec!["ok", "ok", "refused", "refused", "refused"]);
    }

    #[test]
    fn a_clean_catalogue_prints_only_the_summary() {
        let report = audit(&catalogue()[1..], &ProductRules::default());
        assert_eq!(
            to_table(&report),
            "0 of 1 SKUs would be refused by the 3PL\n"
        );
        let mut out = Vec::new();
        write_csv(&report, &mut out).unwrap();
        assert_eq!(out.iter().filter(|b| **b == b'\n').count(), 1);
    }
}
