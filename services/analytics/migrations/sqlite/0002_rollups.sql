-- Analytics: the retained event history, the facts merged from it, each entity's contribution and the
-- rollups every figure is read from. Facts merge in any delivery order; contributions are recomputed from
-- the facts of the entity an event touched; rollups are the sum of every contribution, expanded to each
-- subset of the dimensions replaced by '*'. Everything but event_history is rebuilt by replaying it.

-- Every event consumed, kept as delivered (the envelope's payload bytes), one row per event id.
CREATE TABLE event_history (
    id          TEXT PRIMARY KEY,
    source      TEXT NOT NULL,
    event_type  TEXT NOT NULL,
    subject     TEXT NOT NULL,
    event_time  TEXT NOT NULL,
    data_schema TEXT NOT NULL,
    data        BLOB NOT NULL
);

CREATE INDEX event_history_time_idx ON event_history (event_time, id);

-- Counters summed over day buckets. Dimensions a counter does not carry, and "every value", are '*';
-- a carried dimension without a value is ''. `bucket` is the China calendar day number (1970-01-01 = 0),
-- `slot` the handling-time slot (0 for every other counter). Rows whose value is 0 are removed.
CREATE TABLE rollup (
    metric   TEXT NOT NULL,
    district TEXT NOT NULL,
    industry TEXT NOT NULL,
    category TEXT NOT NULL,
    unit     TEXT NOT NULL,
    channel  TEXT NOT NULL,
    bucket   BIGINT NOT NULL,
    slot     BIGINT NOT NULL,
    value    BIGINT NOT NULL,
    PRIMARY KEY (metric, district, industry, category, unit, channel, bucket, slot)
);

-- What each entity (e.g. 'case:<id>', 'enterprise:<id>') currently adds to the rollups, before the
-- expansion to '*': replaced whenever the entity's facts change, the difference going to `rollup`.
CREATE TABLE contribution (
    entity   TEXT NOT NULL,
    metric   TEXT NOT NULL,
    district TEXT NOT NULL,
    industry TEXT NOT NULL,
    category TEXT NOT NULL,
    unit     TEXT NOT NULL,
    channel  TEXT NOT NULL,
    bucket   BIGINT NOT NULL,
    slot     BIGINT NOT NULL,
    value    BIGINT NOT NULL,
    PRIMARY KEY (entity, metric, district, industry, category, unit, channel, bucket, slot)
);

-- Names of the handling units seen in events, the latest by event time.
CREATE TABLE unit_label (
    unit_id    TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    label_time TEXT NOT NULL
);

-- Enterprises: descriptive fields last-writer-wins by (info_time, info_id); registered at the earliest
-- registration seen.
CREATE TABLE enterprise_fact (
    enterprise_id    TEXT PRIMARY KEY,
    name             TEXT,
    district         TEXT,
    industry         TEXT,
    monitoring_point BOOLEAN,
    registered_time  TEXT,
    info_time        TEXT,
    info_id          TEXT
);

-- Contacts (走访/联系) logged, with the enterprise's dimensions when logged.
CREATE TABLE contact_fact (
    contact_id    TEXT PRIMARY KEY,
    enterprise_id TEXT NOT NULL,
    contact_time  TEXT NOT NULL,
    person_times  BIGINT NOT NULL DEFAULT 0,
    district      TEXT NOT NULL DEFAULT '',
    industry      TEXT NOT NULL DEFAULT ''
);

CREATE INDEX contact_fact_enterprise_idx ON contact_fact (enterprise_id);

-- Demands (诉求). Status and category last-writer-wins by (time, event id); first_merged_time is the
-- earliest time the demand joined a common issue.
CREATE TABLE demand_fact (
    demand_id         TEXT PRIMARY KEY,
    enterprise_id     TEXT,
    category          TEXT,
    channel           TEXT,
    district          TEXT,
    industry          TEXT,
    submit_time       TEXT,
    status            INTEGER,
    status_time       TEXT,
    status_id         TEXT,
    category_time     TEXT,
    category_id       TEXT,
    first_merged_time TEXT
);

CREATE INDEX demand_fact_enterprise_idx ON demand_fact (enterprise_id);

-- Common issues (共性问题); the member list is the one of the latest (members_time, members_id) event.
CREATE TABLE common_issue_fact (
    common_issue_id TEXT PRIMARY KEY,
    category        TEXT,
    formed_time     TEXT,
    members_time    TEXT,
    members_id      TEXT
);

CREATE TABLE demand_membership (
    common_issue_id TEXT NOT NULL,
    demand_id       TEXT NOT NULL,
    PRIMARY KEY (common_issue_id, demand_id)
);

CREATE INDEX demand_membership_demand_idx ON demand_membership (demand_id);

-- Campaign posts (“我为企业办实事” posts), by author.
CREATE TABLE post_fact (
    post_id       TEXT PRIMARY KEY,
    campaign_id   TEXT NOT NULL DEFAULT '',
    author        TEXT NOT NULL,
    post_time     TEXT NOT NULL,
    enterprise_id TEXT NOT NULL DEFAULT ''
);

CREATE INDEX post_fact_author_idx ON post_fact (author);

-- Consultation sessions closed, and the enterprises that spoke in them.
CREATE TABLE session_fact (
    session_id    TEXT PRIMARY KEY,
    format        INTEGER NOT NULL,
    close_time    TEXT NOT NULL,
    speaker_count BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE session_speaker (
    session_id    TEXT NOT NULL,
    enterprise_id TEXT NOT NULL,
    PRIMARY KEY (session_id, enterprise_id)
);

CREATE INDEX session_speaker_enterprise_idx ON session_speaker (enterprise_id);

-- Suggestions (建言) submitted.
CREATE TABLE suggestion_fact (
    suggestion_id TEXT PRIMARY KEY,
    category      TEXT NOT NULL DEFAULT '',
    submit_time   TEXT NOT NULL
);

-- Special reports (专报): sent at the earliest send seen; instructed once any instruction is recorded.
CREATE TABLE special_report_fact (
    special_report_id TEXT PRIMARY KEY,
    category          TEXT,
    sent_time         TEXT,
    instructed        BOOLEAN NOT NULL DEFAULT FALSE
);

-- Service items delivered to enterprises.
CREATE TABLE delivery_fact (
    entry_id      TEXT PRIMARY KEY,
    enterprise_id TEXT NOT NULL,
    delivery_time TEXT NOT NULL
);

CREATE INDEX delivery_fact_enterprise_idx ON delivery_fact (enterprise_id);

-- Supervised cases. Context fields last-writer-wins by (context_time, context_id); first times are the
-- minimum seen, latest ones the maximum; flags once set stay set.
CREATE TABLE case_fact (
    case_id             TEXT PRIMARY KEY,
    enterprise_id       TEXT,
    district            TEXT,
    industry            TEXT,
    category            TEXT,
    unit_id             TEXT,
    context_time        TEXT,
    context_id          TEXT,
    status              INTEGER,
    dispatch_time       TEXT,
    deadline_time       TEXT,
    deadline_reached    BOOLEAN NOT NULL DEFAULT FALSE,
    first_reply_time    TEXT,
    first_reply_on_time BOOLEAN,
    last_reply_time     TEXT,
    last_reply_class    INTEGER,
    last_eval_time      TEXT,
    last_eval_result    INTEGER,
    reopened            BOOLEAN NOT NULL DEFAULT FALSE,
    long_running_since  TEXT,
    closed_time         TEXT
);

CREATE INDEX case_fact_enterprise_idx ON case_fact (enterprise_id);

-- Quarterly follow-ups of long-running cases: followed when a follow-up was recorded for the quarter,
-- missed when the quarter ended without one.
CREATE TABLE case_quarter (
    case_id  TEXT NOT NULL,
    quarter  TEXT NOT NULL,
    followed BOOLEAN NOT NULL DEFAULT FALSE,
    missed   BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (case_id, quarter)
);

-- Rectification orders (整改单) to departments: issued and verified as passed at the earliest time seen.
CREATE TABLE rectification_fact (
    order_id      TEXT PRIMARY KEY,
    unit_id       TEXT,
    issue_time    TEXT,
    verified_time TEXT
);

-- Benefits recorded on cases (problems solved, money), with the case's dimensions when recorded.
CREATE TABLE benefit_fact (
    benefit_id       TEXT PRIMARY KEY,
    case_id          TEXT NOT NULL,
    enterprise_id    TEXT NOT NULL DEFAULT '',
    district         TEXT NOT NULL DEFAULT '',
    industry         TEXT NOT NULL DEFAULT '',
    category         TEXT NOT NULL DEFAULT '',
    unit_id          TEXT NOT NULL DEFAULT '',
    kind             INTEGER NOT NULL DEFAULT 0,
    benefit_category TEXT NOT NULL DEFAULT '',
    problems_solved  BIGINT NOT NULL DEFAULT 0,
    amount_fen       BIGINT NOT NULL DEFAULT 0,
    record_time      TEXT NOT NULL
);

CREATE INDEX benefit_fact_enterprise_idx ON benefit_fact (enterprise_id);
CREATE INDEX benefit_fact_case_idx ON benefit_fact (case_id);

-- Small values about the rollups as a whole, e.g. 'as_of_time' (the latest event time merged, RFC 3339).
CREATE TABLE rollup_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Consumers record the events they applied in the runtime's event_consumed table, so 0001's table goes.
DROP TABLE consumed_event;
