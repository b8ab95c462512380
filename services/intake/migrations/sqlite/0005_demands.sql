-- Demands (诉求): what enterprises raise, from any channel. Title and text are never rewritten; status
-- and triage fields change, each change appended to demand_history.
CREATE TABLE demand (
    id              TEXT PRIMARY KEY,
    -- Empty only for a netizen's campaign post promoted into a demand.
    enterprise_id   TEXT NULL REFERENCES enterprise (id),
    title           TEXT NOT NULL,
    text            TEXT NOT NULL,
    -- Code of a reference item of kind 3 (demand category).
    category        TEXT NOT NULL,
    -- DemandChannel number of the contract.
    channel         INTEGER NOT NULL,
    -- DemandStatus number of the contract.
    status          INTEGER NOT NULL,
    status_reason   TEXT NOT NULL DEFAULT '',
    submitter       TEXT NOT NULL,
    -- The contact, roundtable or campaign post it came from.
    origin_id       TEXT NULL,
    -- The common issue (共性问题) it belongs to; filled by the common-issue operations.
    common_issue_id TEXT NULL,
    -- The enterprise's district and industry at submission, kept for reporting.
    district        TEXT NOT NULL DEFAULT '',
    industry        TEXT NOT NULL DEFAULT '',
    -- Revision, incremented by every change (the etag).
    version         BIGINT NOT NULL DEFAULT 1,
    -- Idempotency: the client's request id and the canonical encoding of what it asked for, so a
    -- retry returns this demand and a different payload under the same id is refused.
    request_id      TEXT NULL UNIQUE,
    request_payload TEXT NULL,
    create_time     TEXT NOT NULL,
    update_time     TEXT NOT NULL
);

CREATE INDEX demand_create_idx ON demand (create_time, id);
CREATE INDEX demand_enterprise_idx ON demand (enterprise_id, status, create_time);
CREATE INDEX demand_status_idx ON demand (status, create_time);
CREATE INDEX demand_category_idx ON demand (category, create_time);
CREATE INDEX demand_origin_idx ON demand (origin_id);
CREATE INDEX demand_common_issue_idx ON demand (common_issue_id);

-- Difficulty tags (高频事 1, 难心事 2, 操心事 3: DifficultyTag numbers), at most one row per tag.
CREATE TABLE demand_tag (
    demand_id TEXT NOT NULL REFERENCES demand (id),
    tag       INTEGER NOT NULL,
    PRIMARY KEY (demand_id, tag)
);

CREATE INDEX demand_tag_tag_idx ON demand_tag (tag, demand_id);

-- A demand's history: who did what, when, from what to what and why. Append-only: rows are never
-- updated or deleted.
CREATE TABLE demand_history (
    demand_id            TEXT NOT NULL REFERENCES demand (id),
    -- 1, 2, 3… per demand, gap-free.
    sequence             BIGINT NOT NULL,
    -- DemandAction number of the contract.
    action               INTEGER NOT NULL,
    from_status          INTEGER NOT NULL,
    to_status            INTEGER NOT NULL,
    from_common_issue_id TEXT NULL,
    to_common_issue_id   TEXT NULL,
    reason               TEXT NOT NULL DEFAULT '',
    detail               TEXT NOT NULL DEFAULT '',
    actor                TEXT NOT NULL,
    time                 TEXT NOT NULL,
    PRIMARY KEY (demand_id, sequence)
);

CREATE TRIGGER demand_history_no_update BEFORE UPDATE ON demand_history
BEGIN
    SELECT RAISE(ABORT, 'demand history is append-only');
END;

CREATE TRIGGER demand_history_no_delete BEFORE DELETE ON demand_history
BEGIN
    SELECT RAISE(ABORT, 'demand history is append-only');
END;
