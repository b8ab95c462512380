-- Consultation suggestions (协商建议), the suggestion list (协商建议清单) of sessions and topics, sent to the
-- party committee and government, with their response (反馈).
CREATE TABLE suggestion (
    id                   TEXT PRIMARY KEY,
    -- The session it came out of, if any; the topic is always known (taken from the session).
    session_id           TEXT NULL REFERENCES session (id),
    topic_id             TEXT NOT NULL REFERENCES topic (id),
    title                TEXT NOT NULL,
    text                 TEXT NOT NULL,
    category             TEXT NOT NULL DEFAULT '',
    -- SuggestionStatus number of the contract.
    status               INTEGER NOT NULL,
    submit_time          TIMESTAMPTZ NULL,
    submitted_by         TEXT NULL,
    -- The latest response (反馈), once RESPONDED.
    feedback_text        TEXT NULL,
    responder_id         TEXT NOT NULL DEFAULT '',
    responder_name       TEXT NOT NULL DEFAULT '',
    -- OrganisationKind number of the contract.
    responder_kind       INTEGER NOT NULL DEFAULT 0,
    response_time        TIMESTAMPTZ NULL,
    feedback_recorded_by TEXT NULL,
    -- The supervision case it was assigned as (交办), if any.
    case_id              TEXT NULL,
    -- Revision, incremented by every change (the etag).
    version              BIGINT NOT NULL DEFAULT 1,
    -- Idempotency: the client's request id and the canonical encoding of what it asked for.
    request_id           TEXT NULL UNIQUE,
    request_payload      TEXT NULL,
    created_by           TEXT NOT NULL,
    create_time          TIMESTAMPTZ NOT NULL,
    update_time          TIMESTAMPTZ NOT NULL
);

CREATE INDEX suggestion_create_idx ON suggestion (create_time, id);
CREATE INDEX suggestion_session_idx ON suggestion (session_id, create_time);
CREATE INDEX suggestion_topic_idx ON suggestion (topic_id, create_time);
CREATE INDEX suggestion_submit_idx ON suggestion (submit_time);

-- The intake common issues a suggestion addresses, in the order given.
CREATE TABLE suggestion_common_issue (
    suggestion_id   TEXT NOT NULL REFERENCES suggestion (id),
    common_issue_id TEXT NOT NULL,
    position        INTEGER NOT NULL,
    PRIMARY KEY (suggestion_id, common_issue_id)
);

-- Who a suggestion was submitted to (报送对象).
CREATE TABLE suggestion_recipient (
    suggestion_id TEXT NOT NULL REFERENCES suggestion (id),
    -- SuggestionRecipient number of the contract.
    recipient     INTEGER NOT NULL,
    position      INTEGER NOT NULL,
    PRIMARY KEY (suggestion_id, recipient)
);

-- Special reports (专报) sent straight to leaders.
CREATE TABLE special_report (
    id              TEXT PRIMARY KEY,
    title           TEXT NOT NULL,
    text            TEXT NOT NULL,
    category        TEXT NOT NULL DEFAULT '',
    -- SpecialReportStatus number of the contract.
    status          INTEGER NOT NULL,
    send_time       TIMESTAMPTZ NULL,
    sent_by         TEXT NULL,
    -- The supervision case it was assigned as (交办), if any.
    case_id         TEXT NULL,
    -- Revision, incremented by every change (the etag).
    version         BIGINT NOT NULL DEFAULT 1,
    -- Idempotency: the client's request id and the canonical encoding of what it asked for.
    request_id      TEXT NULL UNIQUE,
    request_payload TEXT NULL,
    created_by      TEXT NOT NULL,
    create_time     TIMESTAMPTZ NOT NULL,
    update_time     TIMESTAMPTZ NOT NULL
);

CREATE INDEX special_report_create_idx ON special_report (create_time, id);
CREATE INDEX special_report_send_idx ON special_report (send_time);

-- The suggestions a special report was compiled from, in the order given.
CREATE TABLE report_suggestion (
    report_id     TEXT NOT NULL REFERENCES special_report (id),
    suggestion_id TEXT NOT NULL REFERENCES suggestion (id),
    position      INTEGER NOT NULL,
    PRIMARY KEY (report_id, suggestion_id)
);

-- The public-opinion items (社情民意) a special report was compiled from, in the order given.
CREATE TABLE report_opinion_item (
    report_id TEXT NOT NULL REFERENCES special_report (id),
    position  INTEGER NOT NULL,
    text      TEXT NOT NULL,
    PRIMARY KEY (report_id, position)
);

-- The leaders a special report was sent to (PersonRef fields), in the order given.
CREATE TABLE report_recipient (
    report_id       TEXT NOT NULL REFERENCES special_report (id),
    position        INTEGER NOT NULL,
    person_id       TEXT NOT NULL DEFAULT '',
    display_name    TEXT NOT NULL,
    title           TEXT NOT NULL DEFAULT '',
    organisation_id TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (report_id, position)
);

-- Leaders' instructions (批示) on special reports, in the order recorded.
CREATE TABLE instruction (
    id                     TEXT PRIMARY KEY,
    report_id              TEXT NOT NULL REFERENCES special_report (id),
    leader_id              TEXT NOT NULL DEFAULT '',
    leader_name            TEXT NOT NULL,
    leader_title           TEXT NOT NULL DEFAULT '',
    leader_organisation_id TEXT NOT NULL DEFAULT '',
    text                   TEXT NOT NULL,
    -- The date written on the instruction (批示日期), Asia/Shanghai, as YYYY-MM-DD.
    instruction_date       TEXT NOT NULL,
    -- Idempotency: the client's request id and the canonical encoding of what it asked for.
    request_id             TEXT NULL UNIQUE,
    request_payload        TEXT NULL,
    recorded_by            TEXT NOT NULL,
    record_time            TIMESTAMPTZ NOT NULL
);

CREATE INDEX instruction_report_idx ON instruction (report_id, record_time);

-- Assignments (交办) of suggestions and special reports to supervision: one case per source.
CREATE TABLE assignment (
    -- AssignmentSourceKind number of the contract.
    source_kind    INTEGER NOT NULL,
    source_id      TEXT NOT NULL,
    case_id        TEXT NOT NULL,
    lead_unit_id   TEXT NOT NULL,
    lead_unit_name TEXT NOT NULL DEFAULT '',
    -- OrganisationKind number of the contract.
    lead_unit_kind INTEGER NOT NULL DEFAULT 0,
    assigned_by    TEXT NOT NULL,
    assign_time    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source_kind, source_id)
);
