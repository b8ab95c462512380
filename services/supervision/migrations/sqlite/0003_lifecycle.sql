-- The rest of a case's life: the latest reply and evaluation on the case row, the unit that returned it,
-- when the follow-up sweep next needs it, and the cursor of its latest change on the discipline-inspection
-- item list.
ALTER TABLE supervision_case ADD COLUMN result_class INTEGER NOT NULL DEFAULT 0;
ALTER TABLE supervision_case ADD COLUMN reply_text TEXT NOT NULL DEFAULT '';
ALTER TABLE supervision_case ADD COLUMN reply_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE supervision_case ADD COLUMN reply_unit_id TEXT NOT NULL DEFAULT '';
ALTER TABLE supervision_case ADD COLUMN reply_unit_name TEXT NOT NULL DEFAULT '';
ALTER TABLE supervision_case ADD COLUMN reply_unit_kind INTEGER NOT NULL DEFAULT 0;
ALTER TABLE supervision_case ADD COLUMN replied_by TEXT NOT NULL DEFAULT '';
ALTER TABLE supervision_case ADD COLUMN reply_time TEXT;
ALTER TABLE supervision_case ADD COLUMN reply_on_time BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE supervision_case ADD COLUMN first_reply_time TEXT;
ALTER TABLE supervision_case ADD COLUMN evaluation_result INTEGER NOT NULL DEFAULT 0;
ALTER TABLE supervision_case ADD COLUMN evaluation_comment TEXT NOT NULL DEFAULT '';
ALTER TABLE supervision_case ADD COLUMN evaluated_by TEXT NOT NULL DEFAULT '';
ALTER TABLE supervision_case ADD COLUMN evaluate_time TEXT;
ALTER TABLE supervision_case ADD COLUMN returned_unit_id TEXT NOT NULL DEFAULT '';
-- When the follow-up sweep next has something to do for the case (it becomes long-running, or a new
-- quarter starts while it is long-running and open); NULL when nothing.
ALTER TABLE supervision_case ADD COLUMN follow_up_due_time TEXT;
-- Cursor of the case's latest change on the discipline-inspection item list (0: never listed).
ALTER TABLE supervision_case ADD COLUMN item_cursor BIGINT NOT NULL DEFAULT 0;

-- Cases dispatched before this column existed: the sweep looks at each open one once and reschedules it.
UPDATE supervision_case SET follow_up_due_time = dispatch_time WHERE status <> 7;

CREATE INDEX supervision_case_follow_up_due_idx ON supervision_case (follow_up_due_time)
    WHERE follow_up_due_time IS NOT NULL;

-- Deadline warnings (预警): each level once per dispatch of a case.
CREATE TABLE supervision_warning (
    id             TEXT PRIMARY KEY,
    case_id        TEXT NOT NULL REFERENCES supervision_case (id),
    level          INTEGER NOT NULL,
    dispatch_time  TEXT NOT NULL,
    lead_unit      TEXT NOT NULL,
    lead_unit_name TEXT NOT NULL,
    lead_unit_kind INTEGER NOT NULL,
    deadline_time  TEXT NOT NULL,
    raise_time     TEXT NOT NULL,
    UNIQUE (case_id, dispatch_time, level)
);

CREATE INDEX supervision_warning_raise_idx ON supervision_warning (raise_time, id);
CREATE INDEX supervision_warning_unit_idx ON supervision_warning (lead_unit, raise_time);

-- Escalations (升级督办). The ones the service makes itself carry a key naming what caused them (an overdue
-- rung of one dispatch, a missed quarter, the n-th dissatisfied evaluation), so each happens once.
CREATE TABLE supervision_escalation (
    id             TEXT PRIMARY KEY,
    case_id        TEXT NOT NULL REFERENCES supervision_case (id),
    level          INTEGER NOT NULL,
    reason         INTEGER NOT NULL,
    detail         TEXT NOT NULL DEFAULT '',
    lead_unit      TEXT NOT NULL,
    lead_unit_name TEXT NOT NULL,
    lead_unit_kind INTEGER NOT NULL,
    actor          TEXT NOT NULL,
    escalate_time  TEXT NOT NULL,
    cause_key      TEXT UNIQUE
);

CREATE INDEX supervision_escalation_time_idx ON supervision_escalation (escalate_time, id);
CREATE INDEX supervision_escalation_case_idx ON supervision_escalation (case_id, escalate_time);
CREATE INDEX supervision_escalation_unit_idx ON supervision_escalation (lead_unit, escalate_time);

-- Quarterly follow-up tasks of long-running cases: one per case and quarter (Asia/Shanghai).
CREATE TABLE supervision_follow_up_task (
    id               TEXT PRIMARY KEY,
    case_id          TEXT NOT NULL REFERENCES supervision_case (id),
    quarter_year     INTEGER NOT NULL,
    quarter_number   INTEGER NOT NULL,
    due_time         TEXT NOT NULL,
    status           INTEGER NOT NULL,
    remind_time      TEXT,
    missed_time      TEXT,
    -- When the follow-up sweep next has something to do for the task (its reminder, then its quarter's
    -- end); NULL once done or missed.
    next_action_time TEXT,
    create_time      TEXT NOT NULL,
    update_time      TEXT NOT NULL,
    UNIQUE (case_id, quarter_year, quarter_number)
);

CREATE INDEX supervision_follow_up_task_due_idx ON supervision_follow_up_task (due_time, id);
CREATE INDEX supervision_follow_up_task_action_idx ON supervision_follow_up_task (next_action_time)
    WHERE next_action_time IS NOT NULL;

-- Follow-ups (跟踪监督): who, when, how, what was found.
CREATE TABLE supervision_follow_up (
    id                TEXT PRIMARY KEY,
    case_id           TEXT NOT NULL REFERENCES supervision_case (id),
    task_id           TEXT REFERENCES supervision_follow_up_task (id),
    method            INTEGER NOT NULL,
    follow_time       TEXT NOT NULL,
    -- Subjects of the supervisors, one per line.
    supervisor_ids    TEXT NOT NULL,
    organisation_id   TEXT NOT NULL DEFAULT '',
    organisation_name TEXT NOT NULL DEFAULT '',
    organisation_kind INTEGER NOT NULL DEFAULT 0,
    findings          TEXT NOT NULL,
    progress          TEXT NOT NULL DEFAULT '',
    quarter_year      INTEGER NOT NULL,
    quarter_number    INTEGER NOT NULL,
    recorded_by       TEXT NOT NULL,
    request_id        TEXT UNIQUE,
    request_payload   TEXT,
    create_time       TEXT NOT NULL
);

CREATE INDEX supervision_follow_up_time_idx ON supervision_follow_up (follow_time, id);
CREATE INDEX supervision_follow_up_case_idx ON supervision_follow_up (case_id, follow_time);

-- Rectification orders (整改), issued by supervisors or by discipline inspection.
CREATE TABLE supervision_rectification (
    id              TEXT PRIMARY KEY,
    issuer_kind     INTEGER NOT NULL,
    issuer_id       TEXT NOT NULL,
    issuer_name     TEXT NOT NULL DEFAULT '',
    issuer_org_kind INTEGER NOT NULL DEFAULT 0,
    department_id   TEXT NOT NULL,
    department_name TEXT NOT NULL DEFAULT '',
    department_kind INTEGER NOT NULL DEFAULT 0,
    case_id         TEXT NOT NULL DEFAULT '',
    title           TEXT NOT NULL,
    problem         TEXT NOT NULL,
    requirements    TEXT NOT NULL,
    deadline_time   TEXT NOT NULL,
    status          INTEGER NOT NULL,
    overdue         BOOLEAN NOT NULL DEFAULT FALSE,
    revoke_reason   TEXT NOT NULL DEFAULT '',
    version         BIGINT NOT NULL DEFAULT 1,
    created_by      TEXT NOT NULL,
    request_id      TEXT UNIQUE,
    request_payload TEXT,
    create_time     TEXT NOT NULL,
    update_time     TEXT NOT NULL
);

CREATE INDEX supervision_rectification_time_idx ON supervision_rectification (create_time, id);
CREATE INDEX supervision_rectification_department_idx ON supervision_rectification (department_id, create_time);
CREATE INDEX supervision_rectification_case_idx ON supervision_rectification (case_id);
-- Open orders by deadline: what the rectification sweep marks overdue.
CREATE INDEX supervision_rectification_open_deadline_idx ON supervision_rectification (deadline_time)
    WHERE overdue = FALSE AND status IN (1, 2);

-- Rectification reports (整改报告) of an order, in order.
CREATE TABLE supervision_rectification_report (
    order_id    TEXT NOT NULL REFERENCES supervision_rectification (id),
    sequence    INTEGER NOT NULL,
    text        TEXT NOT NULL,
    reported_by TEXT NOT NULL,
    report_time TEXT NOT NULL,
    PRIMARY KEY (order_id, sequence)
);

-- Verifications (核查) of an order's reports, in order.
CREATE TABLE supervision_rectification_verification (
    order_id          TEXT NOT NULL REFERENCES supervision_rectification (id),
    sequence          INTEGER NOT NULL,
    passed            BOOLEAN NOT NULL,
    comment           TEXT NOT NULL DEFAULT '',
    verifier          TEXT NOT NULL,
    organisation_id   TEXT NOT NULL DEFAULT '',
    organisation_name TEXT NOT NULL DEFAULT '',
    organisation_kind INTEGER NOT NULL DEFAULT 0,
    verify_time       TEXT NOT NULL,
    PRIMARY KEY (order_id, sequence)
);

-- Benefits of cases (成效): money in integer fen and problems solved, by category.
CREATE TABLE supervision_benefit (
    id              TEXT PRIMARY KEY,
    case_id         TEXT NOT NULL REFERENCES supervision_case (id),
    enterprise_id   TEXT NOT NULL DEFAULT '',
    kind            INTEGER NOT NULL,
    amount_fen      BIGINT NOT NULL DEFAULT 0,
    problems_solved INTEGER NOT NULL DEFAULT 0,
    category        TEXT NOT NULL DEFAULT '',
    description     TEXT NOT NULL DEFAULT '',
    recorded_by     TEXT NOT NULL,
    request_id      TEXT UNIQUE,
    request_payload TEXT,
    create_time     TEXT NOT NULL
);

CREATE INDEX supervision_benefit_time_idx ON supervision_benefit (create_time, id);
CREATE INDEX supervision_benefit_case_idx ON supervision_benefit (case_id);
CREATE INDEX supervision_benefit_enterprise_idx ON supervision_benefit (enterprise_id, create_time);

-- The change log of the supervision item list (监督事项清单): every change to an item visible to
-- discipline inspection, numbered in commit order (the counter row below is taken under a row lock by the
-- committing transaction, so a later cursor never commits before an earlier one). `item` is the encoded
-- SupervisionItem after the change.
CREATE TABLE supervision_item_change (
    cursor      BIGINT PRIMARY KEY,
    case_id     TEXT NOT NULL,
    kind        INTEGER NOT NULL,
    case_action INTEGER NOT NULL,
    item        BLOB NOT NULL,
    change_time TEXT NOT NULL
);

CREATE TABLE supervision_item_counter (
    id          INTEGER PRIMARY KEY,
    last_cursor BIGINT NOT NULL
);

INSERT INTO supervision_item_counter (id, last_cursor) VALUES (1, 0);

-- Acknowledgements of items by discipline inspection (已阅): the item's cursor when acknowledged.
CREATE TABLE supervision_item_ack (
    case_id          TEXT PRIMARY KEY REFERENCES supervision_case (id),
    cursor           BIGINT NOT NULL,
    note             TEXT NOT NULL DEFAULT '',
    acknowledged_by  TEXT NOT NULL,
    acknowledge_time TEXT NOT NULL
);

-- Matters referred in by discipline inspection (移交), each with the case created from it.
CREATE TABLE supervision_referral (
    id                     TEXT PRIMARY KEY,
    case_id                TEXT NOT NULL REFERENCES supervision_case (id),
    title                  TEXT NOT NULL,
    description            TEXT NOT NULL,
    enterprise_id          TEXT NOT NULL DEFAULT '',
    category               TEXT NOT NULL DEFAULT '',
    deadline_working_days  INTEGER NOT NULL DEFAULT 0,
    officer_id             TEXT NOT NULL DEFAULT '',
    officer_name           TEXT NOT NULL DEFAULT '',
    officer_title          TEXT NOT NULL DEFAULT '',
    officer_organisation   TEXT NOT NULL DEFAULT '',
    referred_by            TEXT NOT NULL,
    request_id             TEXT UNIQUE,
    request_payload        TEXT,
    create_time            TEXT NOT NULL
);

CREATE INDEX supervision_referral_time_idx ON supervision_referral (create_time, id);
