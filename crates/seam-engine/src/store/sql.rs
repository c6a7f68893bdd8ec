//! The SQL behind both backends, written once.
//!
//! `impl_sql_store!` expands to the `Store` implementation for a concrete
//! sqlx database. Queries use `$n` placeholders, which PostgreSQL takes
//! natively and SQLite reads as numbered parameters, so the text is shared;
//! the few real dialect differences (row locks, migrations, leader election)
//! come in as arguments or from the backend's own module.

/// Rows per multi-row INSERT: far below both backends' bind-parameter limits.
pub(crate) const INSERT_CHUNK: usize = 400;

pub(crate) const JOB_COLUMNS: &str = "id, flow, kind, entity_key, payload, idempotency_key, \
     journal_id, state, rerun, attempts, exception_id, created_at";

pub(crate) const EXCEPTION_COLUMNS: &str = "id, exception_type, owner, entity_key, flow, kind, \
     message, fix_hint, payload, attempts, occurrences, first_seen, last_seen, status, job_id, \
     closed_by, closed_at, closing_comment";

macro_rules! impl_sql_store {
    ($store:ty, $db:ty, claim_lock = $claim_lock:expr, row_lock = $row_lock:expr) => {
        use std::collections::HashMap;

        use async_trait::async_trait;
        use sqlx::{QueryBuilder, Row};

        use $crate::clock::Millis;
        use $crate::handler::Commit;
        use $crate::store::sql::{EXCEPTION_COLUMNS, INSERT_CHUNK, JOB_COLUMNS};
        use $crate::store::{
            parse_json, Backend, Completion, CompletionResult, LeaderLease, Store, StoreError,
        };
        use $crate::types::*;

        type DbRow = <$db as sqlx::Database>::Row;
        type Tx = sqlx::Transaction<'static, $db>;

        fn job_from_row(row: &DbRow) -> Result<Job, sqlx::Error> {
            let state: String = row.try_get("state")?;
            let payload: String = row.try_get("payload")?;
            Ok(Job {
                id: row.try_get("id")?,
                spec: JobSpec {
                    flow: row.try_get("flow")?,
                    kind: row.try_get("kind")?,
                    entity_key: row.try_get("entity_key")?,
                },
                payload: parse_json(&payload),
                idempotency_key: row.try_get("idempotency_key")?,
                journal_id: row.try_get("journal_id")?,
                state: JobState::parse(&state).unwrap_or(JobState::Queued),
                rerun: row.try_get::<i64, _>("rerun")? != 0,
                attempts: row.try_get::<i64, _>("attempts")? as i32,
                exception_id: row.try_get("exception_id")?,
                created_at: row.try_get("created_at")?,
            })
        }

        fn exception_from_row(row: &DbRow) -> Result<ExceptionRecord, sqlx::Error> {
            let owner: String = row.try_get("owner")?;
            let status: String = row.try_get("status")?;
            let payload: String = row.try_get("payload")?;
            Ok(ExceptionRecord {
                id: row.try_get("id")?,
                exception_type: row.try_get("exception_type")?,
                owner: owner.parse().unwrap_or(seam_model::OwnerTeam::Engineering),
                spec: JobSpec {
                    flow: row.try_get("flow")?,
                    kind: row.try_get("kind")?,
                    entity_key: row.try_get("entity_key")?,
                },
                message: row.try_get("message")?,
                fix_hint: row.try_get("fix_hint")?,
                payload: parse_json(&payload),
                attempts: row.try_get::<i64, _>("attempts")? as i32,
                occurrences: row.try_get::<i64, _>("occurrences")? as i32,
                first_seen: row.try_get("first_seen")?,
                last_seen: row.try_get("last_seen")?,
                status: status.parse().unwrap_or(ExceptionStatus::Open),
                job_id: row.try_get("job_id")?,
                closed_by: row.try_get("closed_by")?,
                closed_at: row.try_get("closed_at")?,
                closing_comment: row.try_get("closing_comment")?,
            })
        }

        /// Appends "WHERE the job is running under `worker` and its id is one of `ids`".
        fn push_owned_running<'a>(qb: &mut QueryBuilder<'a, $db>, worker: &'a str, ids: &[JobId]) {
            qb.push(" WHERE state = 'running' AND lease_owner = ");
            qb.push_bind(worker);
            qb.push(" AND id IN (");
            let mut list = qb.separated(", ");
            for id in ids {
                list.push_bind(*id);
            }
            qb.push(")");
        }

        async fn insert_jobs(
            tx: &mut Tx,
            jobs: &[(&JobSpec, String, Option<&str>, Option<i64>)],
            now: Millis,
        ) -> Result<Vec<JobId>, sqlx::Error> {
            let mut ids = Vec::with_capacity(jobs.len());
            for chunk in jobs.chunks(INSERT_CHUNK) {
                let mut qb = QueryBuilder::<$db>::new(
                    "INSERT INTO jobs (flow, kind, entity_key, payload, idempotency_key, \
                     journal_id, state, run_after, created_at) ",
                );
                qb.push_values(chunk, |mut b, (spec, payload, key, journal_id)| {
                    b.push_bind(spec.flow.clone())
                        .push_bind(spec.kind.clone())
                        .push_bind(spec.entity_key.clone())
                        .push_bind(payload.clone())
                        .push_bind(key.map(str::to_string))
                        .push_bind(*journal_id)
                        .push_bind("queued")
                        .push_bind(now)
                        .push_bind(now);
                });
                qb.push(" RETURNING id");
                let rows = qb.build().fetch_all(&mut **tx).await?;
                let mut chunk_ids: Vec<JobId> =
                    rows.iter().map(|r| r.try_get("id")).collect::<Result<_, _>>()?;
                // Multi-row inserts assign ascending ids in VALUES order on both
                // backends; sorting makes the mapping independent of RETURNING order.
                chunk_ids.sort_unstable();
                ids.extend(chunk_ids);
            }
            Ok(ids)
        }

        async fn upsert_exception(
            tx: &mut Tx,
            exception: &NewException,
            job_id: Option<JobId>,
            now: Millis,
        ) -> Result<ExceptionId, sqlx::Error> {
            let row = sqlx::query(
                "INSERT INTO exceptions (exception_type, owner, entity_key, flow, kind, message, \
                 fix_hint, payload, attempts, occurrences, first_seen, last_seen, status, job_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10, $10, 'open', $11) \
                 ON CONFLICT (entity_key, exception_type) WHERE status = 'open' DO UPDATE SET \
                 occurrences = exceptions.occurrences + 1, last_seen = excluded.last_seen, \
                 message = excluded.message, fix_hint = excluded.fix_hint, \
                 attempts = excluded.attempts, owner = excluded.owner, \
                 job_id = COALESCE(excluded.job_id, exceptions.job_id) \
                 RETURNING id",
            )
            .bind(&exception.exception_type)
            .bind(exception.owner.as_str())
            .bind(&exception.spec.entity_key)
            .bind(&exception.spec.flow)
            .bind(&exception.spec.kind)
            .bind(&exception.message)
            .bind(&exception.fix_hint)
            .bind(exception.payload.to_string())
            .bind(exception.attempts as i64)
            .bind(now)
            .bind(job_id)
            .fetch_one(&mut **tx)
            .await?;
            row.try_get("id")
        }

        async fn audit(
            tx: &mut Tx,
            exception_id: ExceptionId,
            actor: &str,
            action: &str,
            comment: &str,
            detail: serde_json::Value,
            now: Millis,
        ) -> Result<(), sqlx::Error> {
            sqlx::query(
                "INSERT INTO exception_audit (exception_id, at, actor, action, comment, detail) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(exception_id)
            .bind(now)
            .bind(actor)
            .bind(action)
            .bind(comment)
            .bind(detail.to_string())
            .execute(&mut **tx)
            .await?;
            Ok(())
        }

        async fn close_open_exception(
            tx: &mut Tx,
            id: ExceptionId,
            status: ExceptionStatus,
            actor: &str,
            comment: &str,
            now: Millis,
        ) -> Result<bool, sqlx::Error> {
            let changed = sqlx::query(
                "UPDATE exceptions SET status = $1, closed_by = $2, closed_at = $3, \
                 closing_comment = $4 WHERE id = $5 AND status = 'open'",
            )
            .bind(status.as_str())
            .bind(actor)
            .bind(now)
            .bind(comment)
            .bind(id)
            .execute(&mut **tx)
            .await?
            .rows_affected();
            if changed > 0 {
                audit(tx, id, actor, status.as_str(), comment, serde_json::Value::Null, now)
                    .await?;
            }
            Ok(changed > 0)
        }

        async fn insert_marks(tx: &mut Tx, marks: &[Mark], now: Millis) -> Result<(), sqlx::Error> {
            for mark in marks {
                sqlx::query(
                    "INSERT INTO marks (set_name, mark_key, first_marked_at, version) \
                     VALUES ($1, $2, $3, 1) ON CONFLICT (set_name, mark_key) \
                     DO UPDATE SET version = marks.version + 1",
                )
                .bind(&mark.set)
                .bind(&mark.key)
                .bind(now)
                .execute(&mut **tx)
                .await?;
            }
            Ok(())
        }

        async fn delete_mark(tx: &mut Tx, set: &str, mark: &MarkedKey) -> Result<u64, sqlx::Error> {
            Ok(sqlx::query("DELETE FROM marks WHERE set_name = $1 AND mark_key = $2 AND version = $3")
                .bind(set)
                .bind(&mark.key)
                .bind(mark.version)
                .execute(&mut **tx)
                .await?
                .rows_affected())
        }

        async fn insert_timeline(tx: &mut Tx, entries: &[TimelineEntry]) -> Result<(), sqlx::Error> {
            for chunk in entries.chunks(INSERT_CHUNK) {
                let mut qb = QueryBuilder::<$db>::new(
                    "INSERT INTO timeline (entity_key, at, system, step, detail) ",
                );
                qb.push_values(chunk, |mut b, e| {
                    b.push_bind(e.entity_key.clone())
                        .push_bind(e.at)
                        .push_bind(e.system.clone())
                        .push_bind(e.step.clone())
                        .push_bind(e.detail.clone());
                });
                qb.build().execute(&mut **tx).await?;
            }
            Ok(())
        }

        async fn upsert_links(tx: &mut Tx, links: &[Link], now: Millis) -> Result<(), sqlx::Error> {
            for link in links {
                sqlx::query(
                    "INSERT INTO links (system, external_id, entity_key, linked_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (system, external_id) \
                     DO UPDATE SET entity_key = excluded.entity_key",
                )
                .bind(&link.system)
                .bind(&link.external_id)
                .bind(&link.entity_key)
                .bind(now)
                .execute(&mut **tx)
                .await?;
            }
            Ok(())
        }

        /// Enqueues each effect whose idempotency key was never decided before.
        async fn insert_effects(tx: &mut Tx, effects: &[NewEffect], now: Millis) -> Result<u64, sqlx::Error> {
            let mut fresh_count = 0;
            for effect in effects {
                // An effect is decided once per idempotency key, ever: a replayed
                // decision finds the key taken and enqueues nothing.
                let fresh = sqlx::query(
                    "INSERT INTO effects (idempotency_key, job_id, decided_at) VALUES ($1, 0, $2) \
                     ON CONFLICT (idempotency_key) DO NOTHING RETURNING idempotency_key",
                )
                .bind(&effect.idempotency_key)
                .bind(now)
                .fetch_optional(&mut **tx)
                .await?;
                if fresh.is_none() {
                    continue;
                }
                fresh_count += 1;
                let ids = insert_jobs(
                    tx,
                    &[(&effect.spec, effect.payload.to_string(), Some(&effect.idempotency_key), None)],
                    now,
                )
                .await?;
                if let Some(job_id) = ids.first() {
                    sqlx::query("UPDATE effects SET job_id = $1 WHERE idempotency_key = $2")
                        .bind(*job_id)
                        .bind(&effect.idempotency_key)
                        .execute(&mut **tx)
                        .await?;
                }
            }
            Ok(fresh_count)
        }

        /// Writes everything a `Done` outcome decided, inside the completion's transaction.
        async fn apply_commit(tx: &mut Tx, commit: &Commit, now: Millis) -> Result<(), sqlx::Error> {
            for write in &commit.state {
                sqlx::query(
                    "INSERT INTO entity_state (entity_key, flow, state, version, updated_at) \
                     VALUES ($1, $2, $3, 1, $4) ON CONFLICT (entity_key, flow) DO UPDATE SET \
                     state = excluded.state, version = entity_state.version + 1, \
                     updated_at = excluded.updated_at",
                )
                .bind(&write.entity_key)
                .bind(&write.flow)
                .bind(write.state.to_string())
                .bind(now)
                .execute(&mut **tx)
                .await?;
            }
            insert_effects(tx, &commit.effects, now).await?;
            if !commit.follow_ups.is_empty() {
                let rows: Vec<_> = commit
                    .follow_ups
                    .iter()
                    .map(|job| (&job.spec, job.payload.to_string(), None, None))
                    .collect();
                insert_jobs(tx, &rows, now).await?;
            }
            insert_marks(tx, &commit.marks, now).await?;
            for (set, mark) in &commit.cleared_marks {
                delete_mark(tx, set, mark).await?;
            }
            insert_timeline(tx, &commit.timeline).await?;
            upsert_links(tx, &commit.links, now).await?;
            for exception in &commit.exceptions {
                upsert_exception(tx, exception, None, now).await?;
            }
            Ok(())
        }

        #[async_trait]
        impl Store for $store {
            fn backend(&self) -> Backend {
                Self::BACKEND
            }

            async fn migrate(&self) -> Result<(), StoreError> {
                Self::migrator().run(&self.pool).await?;
                Ok(())
            }

            async fn ingest(
                &self,
                events: &[InboundEvent],
                now: Millis,
            ) -> Result<Vec<IngestOutcome>, StoreError> {
                let mut outcomes = vec![IngestOutcome::Duplicate; events.len()];
                if events.is_empty() {
                    return Ok(outcomes);
                }
                let mut tx: Tx = self.pool.begin().await?;
                for (chunk_index, chunk) in events.chunks(INSERT_CHUNK).enumerate() {
                    let base = chunk_index * INSERT_CHUNK;
                    let mut qb = QueryBuilder::<$db>::new(
                        "INSERT INTO journal (source, event_id, payload, received_at) ",
                    );
                    qb.push_values(chunk, |mut b, event| {
                        b.push_bind(event.source.clone())
                            .push_bind(event.event_id.clone())
                            .push_bind(event.payload.to_string())
                            .push_bind(now);
                    });
                    qb.push(" ON CONFLICT (source, event_id) DO NOTHING RETURNING id, source, event_id");
                    let rows = qb.build().fetch_all(&mut *tx).await?;
                    let mut journaled: HashMap<(String, String), i64> = HashMap::new();
                    for row in &rows {
                        journaled.insert(
                            (row.try_get("source")?, row.try_get("event_id")?),
                            row.try_get("id")?,
                        );
                    }
                    // The first occurrence of a new (source, event id) wins; a
                    // repeat inside the same batch is a duplicate like any other.
                    let mut accepted: Vec<(usize, i64)> = Vec::new();
                    for (offset, event) in chunk.iter().enumerate() {
                        let key = (event.source.clone(), event.event_id.clone());
                        if let Some(journal_id) = journaled.remove(&key) {
                            accepted.push((base + offset, journal_id));
                        }
                    }
                    let job_rows: Vec<_> = accepted
                        .iter()
                        .map(|(index, journal_id)| {
                            let event = &events[*index];
                            (&event.job, event.payload.to_string(), None, Some(*journal_id))
                        })
                        .collect();
                    let job_ids = insert_jobs(&mut tx, &job_rows, now).await?;
                    for ((index, journal_id), job_id) in accepted.iter().zip(job_ids) {
                        outcomes[*index] =
                            IngestOutcome::Accepted { journal_id: *journal_id, job_id };
                    }
                }
                tx.commit().await?;
                Ok(outcomes)
            }

            async fn enqueue(&self, jobs: &[NewJob], now: Millis) -> Result<Vec<JobId>, StoreError> {
                let mut tx: Tx = self.pool.begin().await?;
                let rows: Vec<_> =
                    jobs.iter().map(|job| (&job.spec, job.payload.to_string(), None, None)).collect();
                let ids = insert_jobs(&mut tx, &rows, now).await?;
                tx.commit().await?;
                Ok(ids)
            }

            async fn enqueue_effects(&self, effects: &[NewEffect], now: Millis) -> Result<u64, StoreError> {
                let mut tx: Tx = self.pool.begin().await?;
                let fresh = insert_effects(&mut tx, effects, now).await?;
                tx.commit().await?;
                Ok(fresh)
            }

            async fn claim(
                &self,
                worker: &str,
                limit: u32,
                lease_ms: i64,
                now: Millis,
            ) -> Result<Vec<Job>, StoreError> {
                let sql = format!(
                    "UPDATE jobs SET state = 'running', lease_owner = $1, lease_until = $2, \
                     attempts = attempts + 1 WHERE id IN (SELECT j.id FROM jobs j \
                     WHERE ((j.state = 'queued' AND j.run_after <= $3) \
                     OR (j.state = 'running' AND j.lease_until < $3)) \
                     AND NOT EXISTS (SELECT 1 FROM jobs p WHERE p.entity_key = j.entity_key \
                     AND p.id < j.id) ORDER BY j.id LIMIT $4{}) RETURNING {}",
                    $claim_lock, JOB_COLUMNS
                );
                let mut tx: Tx = self.pool.begin().await?;
                let rows = sqlx::query(&sql)
                    .bind(worker)
                    .bind(now + lease_ms)
                    .bind(now)
                    .bind(limit as i64)
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                let mut jobs = rows.iter().map(job_from_row).collect::<Result<Vec<_>, _>>()?;
                jobs.sort_by_key(|job| job.id);
                Ok(jobs)
            }

            async fn complete(
                &self,
                worker: &str,
                completions: Vec<Completion>,
                now: Millis,
            ) -> Result<u64, StoreError> {
                let mut tx: Tx = self.pool.begin().await?;
                let mut applied = 0u64;
                let done_ids: Vec<JobId> = completions
                    .iter()
                    .filter(|c| matches!(c.result, CompletionResult::Done(_)))
                    .map(|c| c.job_id)
                    .collect();
                let mut owned_done: HashMap<JobId, Option<ExceptionId>> = HashMap::new();
                for chunk in done_ids.chunks(INSERT_CHUNK) {
                    let mut qb = QueryBuilder::<$db>::new("DELETE FROM jobs");
                    push_owned_running(&mut qb, worker, chunk);
                    qb.push(" RETURNING id, exception_id");
                    for row in qb.build().fetch_all(&mut *tx).await? {
                        owned_done.insert(row.try_get("id")?, row.try_get("exception_id")?);
                    }
                }
                for completion in &completions {
                    match &completion.result {
                        CompletionResult::Done(commit) => {
                            let Some(exception_id) = owned_done.get(&completion.job_id) else {
                                continue;
                            };
                            applied += 1;
                            // The resubmitted job's exception closes first, so
                            // that a commit raising the same problem again opens
                            // a new exception instead of adding to the one closed.
                            if let Some(exception_id) = exception_id {
                                close_open_exception(
                                    &mut tx,
                                    *exception_id,
                                    ExceptionStatus::Resolved,
                                    "seam",
                                    "the resubmitted job succeeded",
                                    now,
                                )
                                .await?;
                            }
                            if !commit.is_empty() {
                                apply_commit(&mut tx, commit, now).await?;
                            }
                        }
                        CompletionResult::Retry { run_after, error } => {
                            let changed = sqlx::query(
                                "UPDATE jobs SET state = 'queued', run_after = $1, \
                                 last_error = $2, lease_owner = NULL, lease_until = NULL \
                                 WHERE id = $3 AND lease_owner = $4 AND state = 'running'",
                            )
                            .bind(*run_after)
                            .bind(error)
                            .bind(completion.job_id)
                            .bind(worker)
                            .execute(&mut *tx)
                            .await?
                            .rows_affected();
                            applied += changed;
                        }
                        CompletionResult::Postpone { run_after, reason } => {
                            let changed = sqlx::query(
                                "UPDATE jobs SET state = 'queued', run_after = $1, \
                                 last_error = $2, lease_owner = NULL, lease_until = NULL, \
                                 attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END \
                                 WHERE id = $3 AND lease_owner = $4 AND state = 'running'",
                            )
                            .bind(*run_after)
                            .bind(reason)
                            .bind(completion.job_id)
                            .bind(worker)
                            .execute(&mut *tx)
                            .await?
                            .rows_affected();
                            applied += changed;
                        }
                        CompletionResult::Park(exception) => {
                            let previous = sqlx::query(
                                "UPDATE jobs SET state = 'parked', last_error = $1, \
                                 lease_owner = NULL, lease_until = NULL \
                                 WHERE id = $2 AND lease_owner = $3 AND state = 'running' \
                                 RETURNING exception_id",
                            )
                            .bind(&exception.message)
                            .bind(completion.job_id)
                            .bind(worker)
                            .fetch_optional(&mut *tx)
                            .await?;
                            let Some(previous) = previous else { continue };
                            applied += 1;
                            let previous: Option<ExceptionId> = previous.try_get("exception_id")?;
                            let exception_id =
                                upsert_exception(&mut tx, exception, Some(completion.job_id), now)
                                    .await?;
                            sqlx::query("UPDATE jobs SET exception_id = $1 WHERE id = $2")
                                .bind(exception_id)
                                .bind(completion.job_id)
                                .execute(&mut *tx)
                                .await?;
                            if let Some(previous) = previous.filter(|p| *p != exception_id) {
                                close_open_exception(
                                    &mut tx,
                                    previous,
                                    ExceptionStatus::Resolved,
                                    "seam",
                                    &format!("superseded by exception {exception_id}"),
                                    now,
                                )
                                .await?;
                            }
                        }
                    }
                }
                tx.commit().await?;
                Ok(applied)
            }

            async fn release(&self, worker: &str, job_ids: &[JobId]) -> Result<u64, StoreError> {
                let mut released = 0;
                for chunk in job_ids.chunks(INSERT_CHUNK) {
                    let mut qb = QueryBuilder::<$db>::new(
                        "UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_until = NULL, \
                         attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END",
                    );
                    push_owned_running(&mut qb, worker, chunk);
                    released += qb.build().execute(&self.pool).await?.rows_affected();
                }
                Ok(released)
            }

            async fn renew_leases(
                &self,
                worker: &str,
                job_ids: &[JobId],
                until: Millis,
            ) -> Result<u64, StoreError> {
                let mut renewed = 0;
                for chunk in job_ids.chunks(INSERT_CHUNK) {
                    let mut qb = QueryBuilder::<$db>::new("UPDATE jobs SET lease_until = ");
                    qb.push_bind(until);
                    push_owned_running(&mut qb, worker, chunk);
                    renewed += qb.build().execute(&self.pool).await?.rows_affected();
                }
                Ok(renewed)
            }

            async fn entity_state(
                &self,
                entity_key: &str,
                flow: &str,
            ) -> Result<Option<EntityState>, StoreError> {
                let row = sqlx::query(
                    "SELECT state, version, updated_at FROM entity_state \
                     WHERE entity_key = $1 AND flow = $2",
                )
                .bind(entity_key)
                .bind(flow)
                .fetch_optional(&self.pool)
                .await?;
                row.map(|row| {
                    let state: String = row.try_get("state")?;
                    Ok(EntityState {
                        state: parse_json(&state),
                        version: row.try_get("version")?,
                        updated_at: row.try_get("updated_at")?,
                    })
                })
                .transpose()
                .map_err(StoreError::Database)
            }

            async fn entity_states(
                &self,
                flow: &str,
                after_key: &str,
                limit: u32,
            ) -> Result<Vec<(String, EntityState)>, StoreError> {
                let rows = sqlx::query(
                    "SELECT entity_key, state, version, updated_at FROM entity_state \
                     WHERE flow = $1 AND entity_key > $2 ORDER BY entity_key LIMIT $3",
                )
                .bind(flow)
                .bind(after_key)
                .bind(limit as i64)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        let state: String = row.try_get("state")?;
                        Ok((
                            row.try_get("entity_key")?,
                            EntityState {
                                state: parse_json(&state),
                                version: row.try_get("version")?,
                                updated_at: row.try_get("updated_at")?,
                            },
                        ))
                    })
                    .collect::<Result<Vec<_>, sqlx::Error>>()
                    .map_err(StoreError::Database)
            }

            async fn entity_state_texts(
                &self,
                flow: &str,
                after_key: &str,
                limit: u32,
            ) -> Result<Vec<(String, String)>, StoreError> {
                let rows = sqlx::query(
                    "SELECT entity_key, state FROM entity_state \
                     WHERE flow = $1 AND entity_key > $2 ORDER BY entity_key LIMIT $3",
                )
                .bind(flow)
                .bind(after_key)
                .bind(limit as i64)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|row| Ok((row.try_get("entity_key")?, row.try_get("state")?)))
                    .collect::<Result<Vec<_>, sqlx::Error>>()
                    .map_err(StoreError::Database)
            }

            async fn entity_states_of(
                &self,
                flow: &str,
                entity_keys: &[String],
            ) -> Result<HashMap<String, EntityState>, StoreError> {
                let mut states = HashMap::with_capacity(entity_keys.len());
                for chunk in entity_keys.chunks(INSERT_CHUNK) {
                    let mut qb = QueryBuilder::<$db>::new(
                        "SELECT entity_key, state, version, updated_at FROM entity_state WHERE flow = ",
                    );
                    qb.push_bind(flow);
                    qb.push(" AND entity_key IN (");
                    let mut keys = qb.separated(", ");
                    for key in chunk {
                        keys.push_bind(key.as_str());
                    }
                    qb.push(")");
                    for row in qb.build().fetch_all(&self.pool).await? {
                        let state: String = row.try_get("state")?;
                        states.insert(
                            row.try_get("entity_key")?,
                            EntityState {
                                state: parse_json(&state),
                                version: row.try_get("version")?,
                                updated_at: row.try_get("updated_at")?,
                            },
                        );
                    }
                }
                Ok(states)
            }

            async fn journal_entry(&self, id: i64) -> Result<Option<JournalEntry>, StoreError> {
                let row = sqlx::query(
                    "SELECT id, source, event_id, payload, received_at FROM journal WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
                row.map(|row| {
                    let payload: String = row.try_get("payload")?;
                    Ok(JournalEntry {
                        id: row.try_get("id")?,
                        source: row.try_get("source")?,
                        event_id: row.try_get("event_id")?,
                        payload: parse_json(&payload),
                        received_at: row.try_get("received_at")?,
                    })
                })
                .transpose()
                .map_err(StoreError::Database)
            }

            async fn raise_exceptions(
                &self,
                exceptions: &[NewException],
                now: Millis,
            ) -> Result<Vec<ExceptionId>, StoreError> {
                let mut tx: Tx = self.pool.begin().await?;
                let mut ids = Vec::with_capacity(exceptions.len());
                for exception in exceptions {
                    ids.push(upsert_exception(&mut tx, exception, None, now).await?);
                }
                tx.commit().await?;
                Ok(ids)
            }

            async fn exceptions(
                &self,
                filter: &ExceptionFilter,
            ) -> Result<Vec<ExceptionRecord>, StoreError> {
                let mut qb = QueryBuilder::<$db>::new(format!(
                    "SELECT {EXCEPTION_COLUMNS} FROM exceptions WHERE 1 = 1"
                ));
                if let Some(status) = filter.status {
                    qb.push(" AND status = ").push_bind(status.as_str());
                }
                if let Some(owner) = filter.owner {
                    qb.push(" AND owner = ").push_bind(owner.as_str());
                }
                if let Some(kind) = &filter.exception_type {
                    qb.push(" AND exception_type = ").push_bind(kind.clone());
                }
                if let Some(entity) = &filter.entity_key {
                    qb.push(" AND entity_key = ").push_bind(entity.clone());
                }
                qb.push(" ORDER BY last_seen DESC, id DESC LIMIT ")
                    .push_bind(filter.limit.unwrap_or(500) as i64);
                let rows = qb.build().fetch_all(&self.pool).await?;
                Ok(rows.iter().map(exception_from_row).collect::<Result<Vec<_>, _>>()?)
            }

            async fn exception(
                &self,
                id: ExceptionId,
            ) -> Result<Option<ExceptionRecord>, StoreError> {
                let sql = format!("SELECT {EXCEPTION_COLUMNS} FROM exceptions WHERE id = $1");
                let row = sqlx::query(&sql).bind(id).fetch_optional(&self.pool).await?;
                Ok(row.as_ref().map(exception_from_row).transpose()?)
            }

            async fn exception_audit(&self, id: ExceptionId) -> Result<Vec<AuditEntry>, StoreError> {
                let rows = sqlx::query(
                    "SELECT exception_id, at, actor, action, comment, detail FROM exception_audit \
                     WHERE exception_id = $1 ORDER BY id",
                )
                .bind(id)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        let detail: String = row.try_get("detail")?;
                        Ok(AuditEntry {
                            exception_id: row.try_get("exception_id")?,
                            at: row.try_get("at")?,
                            actor: row.try_get("actor")?,
                            action: row.try_get("action")?,
                            comment: row.try_get("comment")?,
                            detail: parse_json(&detail),
                        })
                    })
                    .collect::<Result<Vec<_>, sqlx::Error>>()
                    .map_err(StoreError::Database)
            }

            async fn resubmit_exception(
                &self,
                id: ExceptionId,
                mode: &ResubmitMode,
                actor: &str,
                comment: &str,
                now: Millis,
            ) -> Result<JobId, StoreError> {
                let mut tx: Tx = self.pool.begin().await?;
                let sql = format!("SELECT {EXCEPTION_COLUMNS} FROM exceptions WHERE id = $1{}", $row_lock);
                let row = sqlx::query(&sql)
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or_else(|| StoreError::NotFound(format!("exception {id}")))?;
                let exception = exception_from_row(&row)?;
                if exception.status != ExceptionStatus::Open {
                    return Err(StoreError::Conflict(format!(
                        "exception {id} is {}; only open exceptions can be resubmitted",
                        exception.status
                    )));
                }
                let payload = match mode {
                    ResubmitMode::Replay | ResubmitMode::Rerun => exception.payload.clone(),
                    ResubmitMode::Edit { payload } => payload.clone(),
                };
                let rerun = i64::from(matches!(mode, ResubmitMode::Rerun));
                let existing_state: Option<String> = match exception.job_id {
                    Some(job_id) => sqlx::query("SELECT state FROM jobs WHERE id = $1")
                        .bind(job_id)
                        .fetch_optional(&mut *tx)
                        .await?
                        .map(|row| row.try_get("state"))
                        .transpose()?,
                    None => None,
                };
                let job_id = match (exception.job_id, existing_state.as_deref()) {
                    (Some(job_id), Some("parked")) => {
                        sqlx::query(
                            "UPDATE jobs SET state = 'queued', payload = $1, rerun = $2, \
                             attempts = 0, run_after = $3, last_error = NULL, \
                             lease_owner = NULL, lease_until = NULL WHERE id = $4",
                        )
                        .bind(payload.to_string())
                        .bind(rerun)
                        .bind(now)
                        .bind(job_id)
                        .execute(&mut *tx)
                        .await?;
                        job_id
                    }
                    (Some(job_id), Some(state)) => {
                        return Err(StoreError::Conflict(format!(
                            "exception {id} was already resubmitted: job {job_id} is {state}"
                        )));
                    }
                    _ => {
                        let row = sqlx::query(
                            "INSERT INTO jobs (flow, kind, entity_key, payload, state, rerun, \
                             run_after, exception_id, created_at) \
                             VALUES ($1, $2, $3, $4, 'queued', $5, $6, $7, $6) RETURNING id",
                        )
                        .bind(&exception.spec.flow)
                        .bind(&exception.spec.kind)
                        .bind(&exception.spec.entity_key)
                        .bind(payload.to_string())
                        .bind(rerun)
                        .bind(now)
                        .bind(id)
                        .fetch_one(&mut *tx)
                        .await?;
                        let job_id: JobId = row.try_get("id")?;
                        sqlx::query("UPDATE exceptions SET job_id = $1 WHERE id = $2")
                            .bind(job_id)
                            .bind(id)
                            .execute(&mut *tx)
                            .await?;
                        job_id
                    }
                };
                let mut detail = serde_json::json!({ "job_id": job_id });
                if let ResubmitMode::Edit { payload } = mode {
                    detail["payload"] = payload.clone();
                }
                audit(&mut tx, id, actor, &format!("resubmit_{}", mode.name()), comment, detail, now)
                    .await?;
                tx.commit().await?;
                Ok(job_id)
            }

            async fn close_exception(
                &self,
                id: ExceptionId,
                status: ExceptionStatus,
                actor: &str,
                comment: &str,
                now: Millis,
            ) -> Result<(), StoreError> {
                if status == ExceptionStatus::Open {
                    return Err(StoreError::Conflict(
                        "an exception is closed as resolved or ignored, not open".into(),
                    ));
                }
                let mut tx: Tx = self.pool.begin().await?;
                let current: Option<String> =
                    sqlx::query("SELECT status FROM exceptions WHERE id = $1")
                        .bind(id)
                        .fetch_optional(&mut *tx)
                        .await?
                        .map(|row| row.try_get("status"))
                        .transpose()?;
                match current.as_deref() {
                    None => return Err(StoreError::NotFound(format!("exception {id}"))),
                    Some("open") => {}
                    Some(other) => {
                        return Err(StoreError::Conflict(format!("exception {id} is already {other}")))
                    }
                }
                close_open_exception(&mut tx, id, status, actor, comment, now).await?;
                sqlx::query("DELETE FROM jobs WHERE exception_id = $1 AND state = 'parked'")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn append_timeline(&self, entries: &[TimelineEntry]) -> Result<(), StoreError> {
                let mut tx: Tx = self.pool.begin().await?;
                insert_timeline(&mut tx, entries).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn timeline(&self, entity_key: &str) -> Result<Vec<TimelineEntry>, StoreError> {
                let rows = sqlx::query(
                    "SELECT entity_key, at, system, step, detail FROM timeline \
                     WHERE entity_key = $1 ORDER BY at, id",
                )
                .bind(entity_key)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        Ok(TimelineEntry {
                            entity_key: row.try_get("entity_key")?,
                            at: row.try_get("at")?,
                            system: row.try_get("system")?,
                            step: row.try_get("step")?,
                            detail: row.try_get("detail")?,
                        })
                    })
                    .collect::<Result<Vec<_>, sqlx::Error>>()
                    .map_err(StoreError::Database)
            }

            async fn put_links(&self, links: &[Link], now: Millis) -> Result<(), StoreError> {
                let mut tx: Tx = self.pool.begin().await?;
                upsert_links(&mut tx, links, now).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn links_of(&self, entity_key: &str) -> Result<Vec<Link>, StoreError> {
                let rows = sqlx::query(
                    "SELECT system, external_id, entity_key FROM links WHERE entity_key = $1 \
                     ORDER BY system, external_id",
                )
                .bind(entity_key)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        Ok(Link {
                            entity_key: row.try_get("entity_key")?,
                            system: row.try_get("system")?,
                            external_id: row.try_get("external_id")?,
                        })
                    })
                    .collect::<Result<Vec<_>, sqlx::Error>>()
                    .map_err(StoreError::Database)
            }

            async fn find_link(
                &self,
                system: &str,
                external_id: &str,
            ) -> Result<Option<String>, StoreError> {
                let row = sqlx::query(
                    "SELECT entity_key FROM links WHERE system = $1 AND external_id = $2",
                )
                .bind(system)
                .bind(external_id)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(|row| row.try_get("entity_key")).transpose()?)
            }

            async fn job_counts(&self) -> Result<JobCounts, StoreError> {
                let mut counts = JobCounts::default();
                let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state")
                    .fetch_all(&self.pool)
                    .await?;
                for row in rows {
                    let state: String = row.try_get("state")?;
                    let n: i64 = row.try_get("n")?;
                    match JobState::parse(&state) {
                        Some(JobState::Queued) => counts.queued = n,
                        Some(JobState::Running) => counts.running = n,
                        Some(JobState::Parked) => counts.parked = n,
                        None => {}
                    }
                }
                let row = sqlx::query("SELECT COUNT(*) AS n FROM exceptions WHERE status = 'open'")
                    .fetch_one(&self.pool)
                    .await?;
                counts.open_exceptions = row.try_get("n")?;
                Ok(counts)
            }

            async fn mark(&self, marks: &[Mark], now: Millis) -> Result<(), StoreError> {
                let mut tx: Tx = self.pool.begin().await?;
                insert_marks(&mut tx, marks, now).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn marked(&self, set: &str, limit: u32) -> Result<Vec<MarkedKey>, StoreError> {
                let rows = sqlx::query(
                    "SELECT mark_key, first_marked_at, version FROM marks WHERE set_name = $1 \
                     ORDER BY first_marked_at, mark_key LIMIT $2",
                )
                .bind(set)
                .bind(limit as i64)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        Ok(MarkedKey {
                            key: row.try_get("mark_key")?,
                            first_marked_at: row.try_get("first_marked_at")?,
                            version: row.try_get("version")?,
                        })
                    })
                    .collect::<Result<Vec<_>, sqlx::Error>>()
                    .map_err(StoreError::Database)
            }

            async fn clear_marks(&self, set: &str, handled: &[MarkedKey]) -> Result<u64, StoreError> {
                let mut tx: Tx = self.pool.begin().await?;
                let mut cleared = 0;
                for mark in handled {
                    cleared += delete_mark(&mut tx, set, mark).await?;
                }
                tx.commit().await?;
                Ok(cleared)
            }

            async fn take_budget(
                &self,
                bucket: &str,
                emission_ms: i64,
                burst: i64,
                now: Millis,
            ) -> Result<Option<Millis>, StoreError> {
                let mut tx: Tx = self.pool.begin().await?;
                sqlx::query(
                    "INSERT INTO governor_budget (bucket, tat) VALUES ($1, $2) \
                     ON CONFLICT (bucket) DO NOTHING",
                )
                .bind(bucket)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                let sql = format!("SELECT tat FROM governor_budget WHERE bucket = $1{}", $row_lock);
                let tat: i64 = sqlx::query(&sql).bind(bucket).fetch_one(&mut *tx).await?.try_get("tat")?;
                // GCRA: the bucket's theoretical arrival time may run ahead of
                // now by at most `burst` emissions.
                let new_tat = tat.max(now) + emission_ms;
                let allowed_ahead = burst.max(1) * emission_ms;
                let wait = new_tat - now - allowed_ahead;
                if wait > 0 {
                    tx.rollback().await?;
                    return Ok(Some(wait));
                }
                sqlx::query("UPDATE governor_budget SET tat = $1 WHERE bucket = $2")
                    .bind(new_tat)
                    .bind(bucket)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(None)
            }

            async fn try_lead(&self, name: &str) -> Result<Option<LeaderLease>, StoreError> {
                self.try_lead_impl(name).await
            }

            // --- Scheduler ---

            async fn enqueue_scheduled(
                &self,
                runs: &[NewEffect],
                forget_before: Millis,
                now: Millis,
            ) -> Result<u64, StoreError> {
                let mut tx: Tx = self.pool.begin().await?;
                let mut due = Vec::with_capacity(runs.len());
                for run in runs {
                    let waiting = sqlx::query(
                        "SELECT 1 FROM jobs WHERE entity_key = $1 AND state = 'queued' LIMIT 1",
                    )
                    .bind(&run.spec.entity_key)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if waiting.is_none() {
                        due.push(run.clone());
                    }
                }
                let fresh = insert_effects(&mut tx, &due, now).await?;
                sqlx::query(
                    "DELETE FROM effects WHERE idempotency_key LIKE 'schedule:%' AND decided_at < $1",
                )
                .bind(forget_before)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(fresh)
            }

            // --- Reconciliation ---

            async fn record_variances(
                &self,
                checked: &[String],
                found: &[NewVariance],
                now: Millis,
            ) -> Result<VarianceChanges, StoreError> {
                let mut tx: Tx = self.pool.begin().await?;
                let mut changes = VarianceChanges::default();
                // The open variances of the checked entities (and of any
                // entity a variance names), by (entity, type).
                let mut keys: Vec<&str> = checked.iter().map(String::as_str).collect();
                keys.extend(found.iter().map(|v| v.entity_key.as_str()));
                keys.sort_unstable();
                keys.dedup();
                let mut open: HashMap<(String, String), i64> = HashMap::new();
                for chunk in keys.chunks(INSERT_CHUNK) {
                    let mut qb = QueryBuilder::<$db>::new(
                        "SELECT id, entity_key, variance_type FROM variances \
                         WHERE status = 'open' AND entity_key IN (",
                    );
                    let mut list = qb.separated(", ");
                    for key in chunk {
                        list.push_bind(*key);
                    }
                    qb.push(")");
                    for row in qb.build().fetch_all(&mut *tx).await? {
                        open.insert(
                            (row.try_get("entity_key")?, row.try_get("variance_type")?),
                            row.try_get("id")?,
                        );
                    }
                }
                for variance in found {
                    let key = (variance.entity_key.clone(), variance.variance_type.clone());
                    if let Some(id) = open.remove(&key) {
                        sqlx::query(
                            "UPDATE variances SET day = $1, owner = $2, currency = $3, \
                             expected = $4, found = $5, expected_system = $6, found_system = $7, \
                             detail = $8, last_seen = $9 WHERE id = $10",
                        )
                        .bind(&variance.day)
                        .bind(variance.owner.as_str())
                        .bind(&variance.currency)
                        .bind(variance.expected.to_string())
                        .bind(variance.found.to_string())
                        .bind(&variance.expected_system)
                        .bind(&variance.found_system)
                        .bind(&variance.detail)
                        .bind(now)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                        changes.seen_again += 1;
                    } else {
                        sqlx::query(
                            "INSERT INTO variances (variance_type, entity_key, day, owner, \
                             currency, expected, found, expected_system, found_system, detail, \
                             status, first_seen, last_seen) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'open', $11, $11) \
                             ON CONFLICT DO NOTHING",
                        )
                        .bind(&variance.variance_type)
                        .bind(&variance.entity_key)
                        .bind(&variance.day)
                        .bind(variance.owner.as_str())
                        .bind(&variance.currency)
                        .bind(variance.expected.to_string())
                        .bind(variance.found.to_string())
                        .bind(&variance.expected_system)
                        .bind(&variance.found_system)
                        .bind(&variance.detail)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                        changes.opened += 1;
                        // A second variance of the same entity and type in one
                        // check is the same cause: count it once.
                        open.insert(key, -1);
                    }
                }
                let checked: std::collections::HashSet<&str> =
                    checked.iter().map(String::as_str).collect();
                for ((entity_key, _), id) in open {
                    if id < 0 || !checked.contains(entity_key.as_str()) {
                        continue;
                    }
                    sqlx::query(
                        "UPDATE variances SET status = 'cleared', cleared_at = $1 WHERE id = $2",
                    )
                    .bind(now)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    changes.cleared += 1;
                }
                tx.commit().await?;
                Ok(changes)
            }

            async fn variances(
                &self,
                filter: &VarianceFilter,
            ) -> Result<Vec<VarianceRecord>, StoreError> {
                let mut qb = QueryBuilder::<$db>::new(
                    "SELECT id, variance_type, entity_key, day, owner, currency, expected, found, \
                     expected_system, found_system, detail, status, first_seen, last_seen, \
                     cleared_at FROM variances WHERE id > ",
                );
                qb.push_bind(filter.after_id);
                if let Some(from) = &filter.day_from {
                    qb.push(" AND day >= ").push_bind(from.clone());
                }
                if let Some(to) = &filter.day_to {
                    qb.push(" AND day <= ").push_bind(to.clone());
                }
                if let Some(status) = filter.status {
                    qb.push(" AND status = ").push_bind(status.as_str());
                }
                qb.push(" ORDER BY id LIMIT ").push_bind(filter.limit.max(1) as i64);
                let rows = qb.build().fetch_all(&self.pool).await?;
                let mut out = Vec::with_capacity(rows.len());
                for row in &rows {
                    let owner: String = row.try_get("owner")?;
                    let status: String = row.try_get("status")?;
                    let amount = |column: &str| -> Result<rust_decimal::Decimal, StoreError> {
                        let text: String = row.try_get(column)?;
                        text.parse().map_err(|_| {
                            StoreError::Conflict(format!("variance amount '{text}' is not a decimal"))
                        })
                    };
                    out.push(VarianceRecord {
                        id: row.try_get("id")?,
                        variance: NewVariance {
                            variance_type: row.try_get("variance_type")?,
                            entity_key: row.try_get("entity_key")?,
                            day: row.try_get("day")?,
                            owner: owner.parse().unwrap_or(seam_model::OwnerTeam::Engineering),
                            currency: row.try_get("currency")?,
                            expected: amount("expected")?,
                            found: amount("found")?,
                            expected_system: row.try_get("expected_system")?,
                            found_system: row.try_get("found_system")?,
                            detail: row.try_get("detail")?,
                        },
                        status: if status == "open" {
                            VarianceStatus::Open
                        } else {
                            VarianceStatus::Cleared
                        },
                        first_seen: row.try_get("first_seen")?,
                        last_seen: row.try_get("last_seen")?,
                        cleared_at: row.try_get("cleared_at")?,
                    });
                }
                Ok(out)
            }

            async fn entities_in_flight(
                &self,
                entity_keys: &[String],
            ) -> Result<std::collections::HashSet<String>, StoreError> {
                let mut busy = std::collections::HashSet::new();
                for chunk in entity_keys.chunks(INSERT_CHUNK) {
                    let mut qb = QueryBuilder::<$db>::new(
                        "SELECT DISTINCT entity_key FROM jobs WHERE entity_key IN (",
                    );
                    let mut list = qb.separated(", ");
                    for key in chunk {
                        list.push_bind(key.clone());
                    }
                    qb.push(")");
                    for row in qb.build().fetch_all(&self.pool).await? {
                        busy.insert(row.try_get("entity_key")?);
                    }
                }
                Ok(busy)
            }

            // --- The soak ---

            async fn active_jobs(
                &self,
                after_id: JobId,
                limit: u32,
            ) -> Result<Vec<ActiveJob>, StoreError> {
                let sql = format!(
                    "SELECT {JOB_COLUMNS}, run_after, last_error FROM jobs WHERE id > $1 \
                     ORDER BY id LIMIT $2"
                );
                let rows = sqlx::query(&sql)
                    .bind(after_id)
                    .bind(limit as i64)
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|row| {
                        Ok(ActiveJob {
                            job: job_from_row(row)?,
                            run_after: row.try_get("run_after")?,
                            last_error: row.try_get("last_error")?,
                        })
                    })
                    .collect::<Result<Vec<_>, sqlx::Error>>()
                    .map_err(StoreError::Database)
            }

            async fn journal_high_water(&self) -> Result<i64, StoreError> {
                let row = sqlx::query("SELECT COALESCE(MAX(id), 0) AS n FROM journal")
                    .fetch_one(&self.pool)
                    .await?;
                Ok(row.try_get("n")?)
            }
        }
    };
}

pub(crate) use impl_sql_store;
