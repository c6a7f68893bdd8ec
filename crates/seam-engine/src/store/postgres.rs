//! The shared backend: PostgreSQL, for several `seam run` processes.
//!
//! Claims lock candidate rows with `FOR UPDATE SKIP LOCKED`, so processes
//! never take the same job, and the claim's "no earlier active job for this
//! entity" rule sees jobs others hold, so two jobs of one entity never run at
//! once. Scheduled work runs on one node, elected with an advisory lock held
//! on a dedicated connection.

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

pub struct PostgresStore {
    pool: PgPool,
}

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

impl PostgresStore {
    const BACKEND: Backend = Backend::Postgres;

    fn migrator() -> &'static Migrator {
        &MIGRATOR
    }

    pub async fn open(url: &str) -> Result<Self, StoreError> {
        Self::open_in_schema(url, None).await
    }

    /// Opens the database with every table in `schema` (created if missing):
    /// tests and benchmarks use a fresh schema each, in one database.
    pub async fn open_in_schema(url: &str, schema: Option<&str>) -> Result<Self, StoreError> {
        let open_error = |source| StoreError::Open {
            url: redact_url(url),
            source,
        };
        let mut options = PgConnectOptions::from_str(url).map_err(open_error)?;
        // One direct connection first: a pool reports an unreachable server
        // only as "timed out", this says why (refused, unknown host, auth).
        sqlx::Connection::close(
            <sqlx::PgConnection as sqlx::Connection>::connect_with(&options)
                .await
                .map_err(open_error)?,
        )
        .await
        .map_err(open_error)?;
        if let Some(schema) = schema {
            let bootstrap = PgPoolOptions::new()
                .max_connections(1)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options.clone())
                .await
                .map_err(open_error)?;
            sqlx::query(&format!(
                "CREATE SCHEMA IF NOT EXISTS \"{}\"",
                schema.replace('"', "")
            ))
            .execute(&bootstrap)
            .await?;
            bootstrap.close().await;
            options = options.options([("search_path", schema)]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(open_error)?;
        Ok(PostgresStore { pool })
    }

    async fn try_lead_impl(&self, name: &str) -> Result<Option<LeaderLease>, StoreError> {
        let mut connection = self.pool.acquire().await?.detach();
        let acquired: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(advisory_key(name))
            .fetch_one(&mut connection)
            .await?;
        Ok(acquired.then(|| LeaderLease::postgres(name, connection)))
    }
}

/// A stable 64-bit key for an advisory lock name (FNV-1a).
fn advisory_key(name: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in name.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash as i64
}

/// A database URL with its password replaced, for error messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &credentials[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

super::sql::impl_sql_store!(
    PostgresStore,
    sqlx::Postgres,
    claim_lock = " FOR UPDATE SKIP LOCKED",
    row_lock = " FOR UPDATE"
);

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_never_reach_error_messages() {
        assert_eq!(
            redact_url("postgres://seam:s3cret@db:5432/seam"),
            "postgres://seam:***@db:5432/seam"
        );
        assert_eq!(
            redact_url("postgres://127.0.0.1/test"),
            "postgres://127.0.0.1/test"
        );
    }
}
