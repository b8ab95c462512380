-- The similar-demand engine (合并同类项). Its index lives in memory, rebuilt from the demands and common
-- issues at start; these indexes let each replica read what changed since it last looked.
CREATE INDEX demand_update_idx ON demand (update_time);
CREATE INDEX common_issue_update_idx ON common_issue (update_time);

-- Clustering proposals: groups of likely duplicates over a scope of demands, kept so staff can decide on
-- each group. Nothing is merged until a person accepts a group.
CREATE TABLE clustering_proposal (
    id              TEXT PRIMARY KEY,
    -- The scope as asked: the period (PeriodKind number, year, month or quarter number; kind 0 when none),
    -- the category code, unmerged only, and the explicit demand ids (comma-separated).
    period_kind     INTEGER NOT NULL DEFAULT 0,
    period_year     INTEGER NOT NULL DEFAULT 0,
    period_number   INTEGER NOT NULL DEFAULT 0,
    category        TEXT NOT NULL DEFAULT '',
    unmerged_only   BOOLEAN NOT NULL DEFAULT FALSE,
    scope_demand_ids TEXT NOT NULL DEFAULT '',
    threshold       DOUBLE PRECISION NOT NULL,
    min_cluster_size INTEGER NOT NULL,
    -- Demands considered.
    demand_count    INTEGER NOT NULL,
    -- Groups still awaiting a decision.
    pending_count   INTEGER NOT NULL,
    request_id      TEXT NULL UNIQUE,
    request_payload TEXT NULL,
    created_by      TEXT NOT NULL,
    create_time     TEXT NOT NULL
);

CREATE INDEX clustering_proposal_create_idx ON clustering_proposal (create_time, id);

-- A proposed group and the decision on it.
CREATE TABLE proposed_cluster (
    proposal_id               TEXT NOT NULL REFERENCES clustering_proposal (id),
    -- 1, 2, 3… within the proposal, largest group first.
    id                        TEXT NOT NULL,
    position                  INTEGER NOT NULL,
    representative_title      TEXT NOT NULL,
    -- Demand ids, comma-separated, most central first; after acceptance, the membership accepted.
    demand_ids                TEXT NOT NULL,
    -- Shared key terms, separated by U+001F.
    shared_terms              TEXT NOT NULL DEFAULT '',
    cohesion                  DOUBLE PRECISION NOT NULL,
    suggested_common_issue_id TEXT NULL,
    -- ClusterStatus number of the contract.
    status                    INTEGER NOT NULL,
    common_issue_id           TEXT NULL,
    decided_by                TEXT NOT NULL DEFAULT '',
    decide_time               TEXT NULL,
    decision_reason           TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (proposal_id, id)
);
