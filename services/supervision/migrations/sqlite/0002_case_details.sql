-- Cases grow the contract's fields: where they came from (one case per source), the lead unit's and the
-- unit head's display fields, the deadlines set at dispatch (the return window, the first warning the
-- deadline sweep looks for), the flags readers filter on, and the marks of the later lifecycle.
ALTER TABLE supervision_case ADD COLUMN source_kind INTEGER NOT NULL DEFAULT 0;
ALTER TABLE supervision_case ADD COLUMN source_id TEXT NOT NULL DEFAULT '';
ALTER TABLE supervision_case ADD COLUMN source_title TEXT NOT NULL DEFAULT '';
ALTER TABLE supervision_case ADD COLUMN lead_unit_name TEXT NOT NULL DEFAULT '';
ALTER TABLE supervision_case ADD COLUMN lead_unit_kind INTEGER NOT NULL DEFAULT 0;
ALTER TABLE supervision_case ADD COLUMN head_id TEXT NOT NULL DEFAULT '';
ALTER TABLE supervision_case ADD COLUMN head_name TEXT NOT NULL DEFAULT '';
ALTER TABLE supervision_case ADD COLUMN head_title TEXT NOT NULL DEFAULT '';
ALTER TABLE supervision_case ADD COLUMN head_organisation_id TEXT NOT NULL DEFAULT '';
-- A date (YYYY-MM-DD, Asia/Shanghai).
ALTER TABLE supervision_case ADD COLUMN planned_completion_date TEXT;
ALTER TABLE supervision_case ADD COLUMN joint_supervision BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE supervision_case ADD COLUMN discipline_inspection BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE supervision_case ADD COLUMN requirements TEXT NOT NULL DEFAULT '';
ALTER TABLE supervision_case ADD COLUMN enterprise_id TEXT NOT NULL DEFAULT '';
ALTER TABLE supervision_case ADD COLUMN evaluator_id TEXT NOT NULL DEFAULT '';
ALTER TABLE supervision_case ADD COLUMN category TEXT NOT NULL DEFAULT '';
ALTER TABLE supervision_case ADD COLUMN district TEXT NOT NULL DEFAULT '';
ALTER TABLE supervision_case ADD COLUMN industry TEXT NOT NULL DEFAULT '';
ALTER TABLE supervision_case ADD COLUMN warning_level INTEGER NOT NULL DEFAULT 0;
ALTER TABLE supervision_case ADD COLUMN escalation_level INTEGER NOT NULL DEFAULT 0;
ALTER TABLE supervision_case ADD COLUMN overdue BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE supervision_case ADD COLUMN long_running BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE supervision_case ADD COLUMN long_running_since_time TEXT;
ALTER TABLE supervision_case ADD COLUMN reopen_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE supervision_case ADD COLUMN last_progress_time TEXT;
ALTER TABLE supervision_case ADD COLUMN accept_time TEXT;
ALTER TABLE supervision_case ADD COLUMN return_deadline_time TEXT;
ALTER TABLE supervision_case ADD COLUMN return_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE supervision_case ADD COLUMN close_time TEXT;
ALTER TABLE supervision_case ADD COLUMN next_follow_up_due_time TEXT;
-- When a sweep next has something to do for the case (the next deadline warning); NULL when nothing.
ALTER TABLE supervision_case ADD COLUMN next_due_time TEXT;
-- What the request that created the case asked for, so a retry under its request_id is recognised.
ALTER TABLE supervision_case ADD COLUMN request_payload TEXT;

DROP INDEX supervision_case_lead_unit_idx;
CREATE INDEX supervision_case_lead_status_idx ON supervision_case (lead_unit, status);
CREATE UNIQUE INDEX supervision_case_source_idx ON supervision_case (source_kind, source_id);
CREATE INDEX supervision_case_dispatch_idx ON supervision_case (dispatch_time, id);
CREATE INDEX supervision_case_next_due_idx ON supervision_case (next_due_time) WHERE next_due_time IS NOT NULL;

-- Co-handling units (协办单位) of a case, in the order given; a unit sees the cases it co-handles.
CREATE TABLE supervision_case_co_unit (
    case_id   TEXT NOT NULL REFERENCES supervision_case (id),
    position  INTEGER NOT NULL,
    unit_id   TEXT NOT NULL,
    unit_name TEXT NOT NULL,
    unit_kind INTEGER NOT NULL,
    PRIMARY KEY (case_id, unit_id)
);

CREATE INDEX supervision_case_co_unit_unit_idx ON supervision_case_co_unit (unit_id, case_id);

-- A case's history: who, when, what and why. Append-only.
CREATE TABLE supervision_case_history (
    case_id               TEXT NOT NULL REFERENCES supervision_case (id),
    sequence              BIGINT NOT NULL,
    action                INTEGER NOT NULL,
    from_status           INTEGER NOT NULL,
    to_status             INTEGER NOT NULL,
    reason                TEXT NOT NULL DEFAULT '',
    text                  TEXT NOT NULL DEFAULT '',
    result_class          INTEGER NOT NULL DEFAULT 0,
    evaluation_result     INTEGER NOT NULL DEFAULT 0,
    warning_level         INTEGER NOT NULL DEFAULT 0,
    escalation_level      INTEGER NOT NULL DEFAULT 0,
    actor                 TEXT NOT NULL,
    actor_organisation_id TEXT NOT NULL DEFAULT '',
    time                  TEXT NOT NULL,
    PRIMARY KEY (case_id, sequence)
);

-- Working calendars (工作日历) operators replaced; a year stored here takes the place of the shipped one.
CREATE TABLE supervision_calendar (
    year        INTEGER PRIMARY KEY,
    source      TEXT NOT NULL DEFAULT '',
    version     BIGINT NOT NULL,
    updated_by  TEXT NOT NULL,
    update_time TEXT NOT NULL
);

-- The days of a replaced calendar: kind 1 a public holiday, 2 a make-up working day (调休上班).
CREATE TABLE supervision_calendar_day (
    year INTEGER NOT NULL REFERENCES supervision_calendar (year),
    day  TEXT NOT NULL,
    kind INTEGER NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (year, day)
);
