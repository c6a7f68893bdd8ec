-- Mark sets: keys a flow must revisit (e.g. SKUs whose stock changed since
-- the last push). A mark keeps its first time (for staleness) and a version
-- bumped on every re-mark, so clearing after work never drops a change that
-- arrived meanwhile.
CREATE TABLE marks (
    set_name        TEXT    NOT NULL,
    mark_key        TEXT    NOT NULL,
    first_marked_at BIGINT  NOT NULL,
    version         BIGINT  NOT NULL,
    PRIMARY KEY (set_name, mark_key)
);
CREATE INDEX marks_by_age ON marks (set_name, first_marked_at);
