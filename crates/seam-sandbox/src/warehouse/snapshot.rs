//! The stock file: one CSV row per physical unit with its location status,
//! as ACS's daily per-RFID stock CSV (backends.md §2.3); columns in
//! `vendor::SNAPSHOT_COLUMNS`. Served live and published as named files.

use chrono::{DateTime, SecondsFormat, Utc};

use super::model::StockFileInfo;
use super::state::State;
use super::vendor::{SNAPSHOT_COLUMNS, SNAPSHOT_FILE_PREFIX};

/// Renders current stock; returns the CSV text and its number of rows.
pub(crate) fn render(state: &State) -> Result<(String, u64), csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(SNAPSHOT_COLUMNS)?;
    let mut rows = 0;
    for sku in state.stock.skus_sorted() {
        for (status, unit) in state.stock.units(sku) {
            let status_date = unit.since.to_rfc3339_opts(SecondsFormat::Secs, true);
            writer.write_record([
                state.account_code.as_str(),
                sku,
                &unit.unique_sku(sku),
                &unit.rfid(state.instance),
                status,
                &status_date,
            ])?;
            rows += 1;
        }
    }
    let bytes = writer
        .into_inner()
        .map_err(|error| csv::Error::from(error.into_error()))?;
    Ok((String::from_utf8_lossy(&bytes).into_owned(), rows))
}

/// Publishes the current stock as a named file (`stock_YYYYMMDD_<n>.csv`).
pub(crate) fn publish(state: &mut State, at: DateTime<Utc>) -> Result<StockFileInfo, csv::Error> {
    let (text, rows) = render(state)?;
    let name = format!(
        "{SNAPSHOT_FILE_PREFIX}{}_{:04}.csv",
        at.format("%Y%m%d"),
        state.stock_files.len() + 1
    );
    let info = StockFileInfo {
        name: name.clone(),
        created_at: at,
        rows,
        feed_cursor: state.last_sequence(),
    };
    state.stock_file_index.insert(name, state.stock_files.len());
    state.stock_files.push((info.clone(), text));
    Ok(info)
}
