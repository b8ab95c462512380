-- Cases (交办单 / 督办事项): an outcome assigned to a lead handling unit, supervised to its close.
CREATE TABLE supervision_case (
    id            TEXT PRIMARY KEY,
    title         TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    status        INTEGER NOT NULL,
    lead_unit     TEXT NOT NULL,
    dispatch_time TEXT NOT NULL,
    deadline_time TEXT NOT NULL,
    version       BIGINT NOT NULL DEFAULT 1,
    request_id    TEXT UNIQUE,
    dispatched_by TEXT NOT NULL,
    create_time   TEXT NOT NULL,
    update_time   TEXT NOT NULL
);

CREATE INDEX supervision_case_lead_unit_idx ON supervision_case (lead_unit);
