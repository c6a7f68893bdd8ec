//! The default backend: SQLite, one WAL file in the data directory.
//!
//! Commits are durable (`synchronous = FULL`). Writes go through one
//! connection, which is how SQLite works best: it has one writer anyway, and
//! batching claims and completions keeps that writer busy with useful work.
//! SQLite serves one `seam run` process; several processes need PostgreSQL.

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub struct SqliteStore {
    pool: SqlitePool,
}

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

impl SqliteStore {
    const BACKEND: Backend = Backend::Sqlite;

    fn migrator() -> &'static Migrator {
        &MIGRATOR
    }

    /// Opens (creating if missing) the database file a `sqlite://` URL names.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let open_error = |source| StoreError::Open {
            url: url.to_string(),
            source,
        };
        let options = SqliteConnectOptions::from_str(url)
            .map_err(open_error)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10));
        if let Some(parent) = options.get_filename().parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent).map_err(|e| open_error(sqlx::Error::Io(e)))?;
            }
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await
            .map_err(open_error)?;
        Ok(SqliteStore { pool })
    }

    async fn try_lead_impl(&self, name: &str) -> Result<Option<LeaderLease>, StoreError> {
        // One process owns a SQLite database, so it always leads.
        Ok(Some(LeaderLease::single_node(name)))
    }
}

super::sql::impl_sql_store!(SqliteStore, sqlx::Sqlite, claim_lock = "", row_lock = "");
