//! Runs the store contract against SQLite always and PostgreSQL when
//! `SEAM_TEST_DATABASE_URL` is set.

use std::sync::Arc;

use seam_engine::store::{PostgresStore, SqliteStore, Store};

async fn fresh_sqlite() -> (Arc<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("seam.db").display());
    let store = SqliteStore::open(&url).await.expect("open sqlite");
    store.migrate().await.expect("migrate sqlite");
    (Arc::new(store), dir)
}

async fn fresh_postgres() -> Option<Arc<dyn Store>> {
    let url = std::env::var("SEAM_TEST_DATABASE_URL").ok()?;
    let schema = format!("contract_{}", uuid::Uuid::new_v4().simple());
    let store = PostgresStore::open_in_schema(&url, Some(&schema))
        .await
        .expect("open postgres");
    store.migrate().await.expect("migrate postgres");
    Some(Arc::new(store))
}

macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let (store, _dir) = super::fresh_sqlite().await;
                    seam_engine::store::contract::$name(store).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(store) = super::fresh_postgres().await else {
                        eprintln!("SEAM_TEST_DATABASE_URL is not set: PostgreSQL contract skipped");
                        return;
                    };
                    seam_engine::store::contract::$name(store).await;
                }
            )*
        }
        #[test]
        fn every_contract_test_is_instantiated() {
            let instantiated = [$(stringify!($name)),*];
            assert_eq!(instantiated.as_slice(), seam_engine::store::contract::suite());
        }
    };
}

contract!(
    journal_deduplicates_by_source_and_event_id,
    one_job_per_entity_runs_at_a_time_in_arrival_order,
    an_expired_lease_is_claimed_again,
    a_stale_completion_is_ignored,
    a_retry_holds_back_only_its_own_entity,
    exceptions_are_grouped_and_hold_their_entity_until_closed,
    resubmits_are_audited_and_success_resolves,
    a_resubmit_that_raises_its_problem_again_leaves_it_open,
    effects_are_enqueued_once_per_idempotency_key,
    timeline_links_and_state,
    release_gives_jobs_back,
    shared_budget_spaces_units,
    marks_keep_changes_made_while_working,
    a_postponed_job_keeps_its_attempts,
    the_active_queue_and_the_journal_can_be_read_whole,
    variances_open_update_and_clear_by_check,
    work_in_flight_is_told_by_entity,
    states_page_by_key_as_text,
);
