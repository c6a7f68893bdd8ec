-- The engine's schema. The PostgreSQL migration of the same number defines
-- the same tables and columns; only the dialect differs. Times are Unix
-- milliseconds (UTC) so that both backends compare them the same way.

CREATE TABLE journal (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source      TEXT    NOT NULL,
    event_id    TEXT    NOT NULL,
    payload     TEXT    NOT NULL,
    received_at BIGINT  NOT NULL,
    UNIQUE (source, event_id)
);

-- Active jobs only: a job that finished is deleted (its journal row and
-- timeline stay). A parked job (an open exception) stays, holding back the
-- later jobs of its entity.
CREATE TABLE jobs (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    flow            TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    entity_key      TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    idempotency_key TEXT,
    journal_id      BIGINT,
    state           TEXT    NOT NULL,
    rerun           BIGINT  NOT NULL DEFAULT 0,
    attempts        BIGINT  NOT NULL DEFAULT 0,
    run_after       BIGINT  NOT NULL,
    lease_owner     TEXT,
    lease_until     BIGINT,
    last_error      TEXT,
    exception_id    BIGINT,
    created_at      BIGINT  NOT NULL
);
CREATE INDEX jobs_entity ON jobs (entity_key, id);
CREATE INDEX jobs_due ON jobs (state, run_after, id);

-- Every effect ever decided, by its idempotency key: an effect is enqueued once.
CREATE TABLE effects (
    idempotency_key TEXT PRIMARY KEY,
    job_id          BIGINT  NOT NULL,
    decided_at      BIGINT  NOT NULL
);

CREATE TABLE entity_state (
    entity_key TEXT    NOT NULL,
    flow       TEXT    NOT NULL,
    state      TEXT    NOT NULL,
    version    BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL,
    PRIMARY KEY (entity_key, flow)
);

CREATE TABLE exceptions (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    exception_type     TEXT    NOT NULL,
    owner              TEXT    NOT NULL,
    entity_key         TEXT    NOT NULL,
    flow               TEXT    NOT NULL,
    kind               TEXT    NOT NULL,
    message            TEXT    NOT NULL,
    fix_hint           TEXT    NOT NULL,
    payload            TEXT    NOT NULL,
    attempts           BIGINT  NOT NULL,
    occurrences        BIGINT  NOT NULL,
    first_seen         BIGINT  NOT NULL,
    last_seen          BIGINT  NOT NULL,
    status             TEXT    NOT NULL,
    job_id             BIGINT,
    closed_by          TEXT,
    closed_at          BIGINT,
    closing_comment    TEXT
);
-- Grouping: one open exception per entity and cause.
CREATE UNIQUE INDEX exceptions_open_group ON exceptions (entity_key, exception_type) WHERE status = 'open';
CREATE INDEX exceptions_status ON exceptions (status, owner, last_seen);

CREATE TABLE exception_audit (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    exception_id BIGINT  NOT NULL,
    at           BIGINT  NOT NULL,
    actor        TEXT    NOT NULL,
    action       TEXT    NOT NULL,
    comment      TEXT    NOT NULL,
    detail       TEXT    NOT NULL
);
CREATE INDEX exception_audit_by_exception ON exception_audit (exception_id, id);

CREATE TABLE timeline (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entity_key TEXT    NOT NULL,
    at         BIGINT  NOT NULL,
    system     TEXT    NOT NULL,
    step       TEXT    NOT NULL,
    detail     TEXT    NOT NULL
);
CREATE INDEX timeline_entity ON timeline (entity_key, at, id);

CREATE TABLE links (
    system      TEXT NOT NULL,
    external_id TEXT NOT NULL,
    entity_key  TEXT NOT NULL,
    linked_at   BIGINT  NOT NULL,
    PRIMARY KEY (system, external_id)
);
CREATE INDEX links_entity ON links (entity_key);

-- Shared request budgets (GCRA theoretical arrival time per bucket), so that
-- every process sharing the database spends one vendor budget together.
CREATE TABLE governor_budget (
    bucket TEXT PRIMARY KEY,
    tat    BIGINT  NOT NULL
);
