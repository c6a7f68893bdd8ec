//! Leader election for scheduled work (pollers, read-backs, reconciliation).
//!
//! On PostgreSQL the leader holds a session advisory lock on a dedicated
//! connection: if the process dies, the connection closes and the lock is
//! free for the next node. On SQLite the one process is always the leader.

use tokio::sync::Mutex;

pub struct LeaderLease {
    name: String,
    holder: Holder,
}

enum Holder {
    SingleNode,
    Postgres(Mutex<sqlx::PgConnection>),
}

impl LeaderLease {
    pub(crate) fn single_node(name: &str) -> Self {
        LeaderLease {
            name: name.to_string(),
            holder: Holder::SingleNode,
        }
    }

    pub(crate) fn postgres(name: &str, connection: sqlx::PgConnection) -> Self {
        LeaderLease {
            name: name.to_string(),
            holder: Holder::Postgres(Mutex::new(connection)),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the lease still holds (its connection is alive).
    pub async fn still_held(&self) -> bool {
        match &self.holder {
            Holder::SingleNode => true,
            Holder::Postgres(connection) => {
                let mut connection = connection.lock().await;
                sqlx::query("SELECT 1")
                    .execute(&mut *connection)
                    .await
                    .is_ok()
            }
        }
    }
}
