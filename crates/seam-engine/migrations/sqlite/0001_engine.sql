-- The engine's schema. The PostgreSQL migration of the same number defines
-- the same tables and columns; only the dialect differs. Times are Unix
-- milliseconds (UTC) so that both backends compare them the same way.

CREATE TABLE journal (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    source      TEXT    NOT NULL,
    event_id    TEXT    NOT NULL,
    payload     TEXT    NOT NULL,
    received_at INTEGER NOT NULL,
    UNIQUE (source, event_id)
);

-- Active jobs only: a job that finished is deleted (its journal row and
-- timeline stay). A parked job (an open exception) stays, holding back the
-- later jobs of its entity.
CREATE TABLE jobs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    flow            TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    entity_key      TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    idempotency_key TEXT,
    journal_id      INTEGER,
    state           TEXT    NOT NULL,
    rerun           INTEGER NOT NULL DEFAULT 0,
    attempts        INTEGER NOT NULL DEFAULT 0,
    run_after       INTEGER NOT NULL,
    lease_owner     TEXT,
    lease_until     INTEGER,
    last_error      TEXT,
    exception_id    INTEGER,
    created_at      INTEGER NOT NULL
);
CREATE INDEX jobs_entity ON jobs (entity_key, id);
CREATE INDEX jobs_due ON jobs (state, run_after, id);

-- Every effect ever decided, by its idempotency key: an effect is enqueued once.
CREATE TABLE effects (
    idempotency_key TEXT PRIMARY KEY,
    job_id          INTEGER NOT NULL,
    decided_at      INTEGER NOT NULL
);

CREATE TABLE entity_state (
    entity_key TEXT    NOT NULL,
    flow       TEXT    NOT NULL,
    state      TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (entity_key, flow)
);

CREATE TABLE exceptions (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    exception_type     TEXT    NOT NULL,
    owner              TEXT    NOT NULL,
    entity_key         TEXT    NOT NULL,
    flow               TEXT    NOT NULL,
    kind               TEXT    NOT NULL,
    message            TEXT    NOT NULL,
    fix_hint           TEXT    NOT NULL,
    payload            TEXT    NOT NULL,
    attempts           INTEGER NOT NULL,
    occurrences        INTEGER NOT NULL,
    first_seen         INTEGER NOT NULL,
    last_seen          INTEGER NOT NULL,
    status             TEXT    NOT NULL,
    job_id             INTEGER,
    closed_by          TEXT,
    closed_at          INTEGER,
    closing_comment    TEXT
);
-- Grouping: one open exception per entity and cause.
CREATE UNIQUE INDEX exceptions_open_group ON exceptions (entity_key, exception_type) WHERE status = 'open';
CREATE INDEX exceptions_status ON exceptions (status, owner, last_seen);

CREATE TABLE exception_audit (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    exception_id INTEGER NOT NULL,
    at           INTEGER NOT NULL,
    actor        TEXT    NOT NULL,
    action       TEXT    NOT NULL,
    comment      TEXT    NOT NULL,
    detail       TEXT    NOT NULL
);
CREATE INDEX exception_audit_by_exception ON exception_audit (exception_id, id);

CREATE TABLE timeline (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    entity_key TEXT    NOT NULL,
    at         INTEGER NOT NULL,
    system     TEXT    NOT NULL,
    step       TEXT    NOT NULL,
    detail     TEXT    NOT NULL
);
CREATE INDEX timeline_entity ON timeline (entity_key, at, id);

CREATE TABLE links (
    system      TEXT NOT NULL,
    external_id TEXT NOT NULL,
    entity_key  TEXT NOT NULL,
    linked_at   INTEGER NOT NULL,
    PRIMARY KEY (system, external_id)
);
CREATE INDEX links_entity ON links (entity_key);

-- Shared request budgets (GCRA theoretical arrival time per bucket), so that
-- every process sharing the database spends one vendor budget together.
CREATE TABLE governor_budget (
    bucket TEXT PRIMARY KEY,
    tat    INTEGER NOT NULL
);
