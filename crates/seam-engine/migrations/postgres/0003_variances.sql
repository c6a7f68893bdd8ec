-- Reconciliation variances: a disagreement between two systems about one
-- entity (an order, a SKU), with both values. One open variance per entity
-- and type; a re-check that no longer finds it clears it. Amounts are exact
-- decimal text.
CREATE TABLE variances (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    variance_type    TEXT    NOT NULL,
    entity_key       TEXT    NOT NULL,
    day              TEXT    NOT NULL,
    owner            TEXT    NOT NULL,
    currency         TEXT,
    expected         TEXT    NOT NULL,
    found            TEXT    NOT NULL,
    expected_system  TEXT    NOT NULL,
    found_system     TEXT    NOT NULL,
    detail           TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    first_seen       BIGINT  NOT NULL,
    last_seen        BIGINT  NOT NULL,
    cleared_at       BIGINT
);
CREATE UNIQUE INDEX variances_open ON variances (entity_key, variance_type) WHERE status = 'open';
CREATE INDEX variances_by_day ON variances (day, id);
