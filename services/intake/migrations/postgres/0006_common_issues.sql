-- Common issues (共性问题): similar demands merged into one matter (合并同类项) so it can be consulted on
-- and assigned once. Member demands keep their own text, author and history; a common issue's own
-- history is append-only.
CREATE TABLE common_issue (
    id                  TEXT PRIMARY KEY,
    title               TEXT NOT NULL,
    description         TEXT NOT NULL DEFAULT '',
    -- Code of a reference item of kind 3 (demand category).
    category            TEXT NOT NULL,
    -- CommonIssueStatus number of the contract.
    status              INTEGER NOT NULL,
    -- Revision, incremented by every change (the etag).
    version             BIGINT NOT NULL DEFAULT 1,
    -- Idempotency: the client's request id and the canonical encoding of what it asked for.
    request_id          TEXT NULL UNIQUE,
    request_payload     TEXT NULL,
    created_by          TEXT NOT NULL,
    create_time         TIMESTAMPTZ NOT NULL,
    update_time         TIMESTAMPTZ NOT NULL
);

CREATE INDEX common_issue_create_idx ON common_issue (create_time, id);
CREATE INDEX common_issue_category_idx ON common_issue (category, create_time);
CREATE INDEX common_issue_status_idx ON common_issue (status, create_time);

-- Current membership, in the order demands joined. The primary key keeps a demand in at most one
-- common issue; demand.common_issue_id mirrors it and is claimed in the same transaction.
CREATE TABLE common_issue_member (
    demand_id       TEXT PRIMARY KEY REFERENCES demand (id),
    common_issue_id TEXT NOT NULL REFERENCES common_issue (id),
    -- Joining order within the common issue (1, 2, 3…).
    position        BIGINT NOT NULL,
    join_time       TIMESTAMPTZ NOT NULL
);

CREATE INDEX common_issue_member_issue_idx ON common_issue_member (common_issue_id, position);

-- A common issue's history: who did what, when and why. Append-only: rows are never updated or
-- deleted.
CREATE TABLE common_issue_history (
    common_issue_id       TEXT NOT NULL REFERENCES common_issue (id),
    -- 1, 2, 3… per common issue, gap-free.
    sequence              BIGINT NOT NULL,
    -- CommonIssueAction number of the contract.
    action                INTEGER NOT NULL,
    -- The demands concerned, comma-separated, in request order.
    demand_ids            TEXT NOT NULL DEFAULT '',
    other_common_issue_id TEXT NULL,
    old_title             TEXT NOT NULL DEFAULT '',
    new_title             TEXT NOT NULL DEFAULT '',
    -- CommonIssueStatus number after a status change; 0 otherwise.
    status                INTEGER NOT NULL DEFAULT 0,
    reason                TEXT NOT NULL,
    actor                 TEXT NOT NULL,
    time                  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (common_issue_id, sequence)
);

CREATE FUNCTION common_issue_history_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'common issue history is append-only';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER common_issue_history_no_change BEFORE UPDATE OR DELETE ON common_issue_history
    FOR EACH ROW EXECUTE FUNCTION common_issue_history_append_only();
