-- Consultation topics (协商议题) of a year's plan, drawn from intake common issues.
CREATE TABLE topic (
    id              TEXT PRIMARY KEY,
    plan_id         TEXT NOT NULL REFERENCES plan (id),
    title           TEXT NOT NULL,
    background      TEXT NOT NULL DEFAULT '',
    -- The leader who answers (回应领导): PersonRef fields.
    leader_id       TEXT NOT NULL DEFAULT '',
    leader_name     TEXT NOT NULL DEFAULT '',
    leader_title    TEXT NOT NULL DEFAULT '',
    -- SessionFormat number of the contract.
    format          INTEGER NOT NULL,
    lead_committee  TEXT NOT NULL DEFAULT '',
    -- TopicStatus number of the contract.
    status          INTEGER NOT NULL,
    status_reason   TEXT NOT NULL DEFAULT '',
    version         BIGINT NOT NULL DEFAULT 1,
    request_id      TEXT NULL UNIQUE,
    request_payload TEXT NULL,
    created_by      TEXT NOT NULL,
    create_time     TEXT NOT NULL,
    update_time     TEXT NOT NULL
);

CREATE INDEX topic_plan_idx ON topic (plan_id, create_time);
CREATE INDEX topic_create_idx ON topic (create_time, id);

-- The intake common issues a topic is drawn from, in the order given.
CREATE TABLE topic_common_issue (
    topic_id        TEXT NOT NULL REFERENCES topic (id),
    common_issue_id TEXT NOT NULL,
    position        INTEGER NOT NULL,
    -- Title copied from intake when the topic was written, for display and reasons.
    title           TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (topic_id, common_issue_id)
);

CREATE INDEX topic_common_issue_issue_idx ON topic_common_issue (common_issue_id);

-- Stakeholders a topic affects (利益涉及谁就和谁商量), in the order given.
CREATE TABLE topic_stakeholder (
    topic_id TEXT NOT NULL REFERENCES topic (id),
    -- StakeholderKind number of the contract.
    kind     INTEGER NOT NULL,
    code     TEXT NOT NULL,
    name     TEXT NOT NULL DEFAULT '',
    position INTEGER NOT NULL,
    PRIMARY KEY (topic_id, kind, code)
);

-- Invitations to consult on a topic: proposed by the stakeholder principle or added by staff.
CREATE TABLE invitation (
    id              TEXT PRIMARY KEY,
    topic_id        TEXT NOT NULL REFERENCES topic (id),
    -- InviteeKind number of the contract.
    invitee_kind    INTEGER NOT NULL,
    invitee_id      TEXT NOT NULL,
    display_name    TEXT NOT NULL DEFAULT '',
    -- InvitationBasis number of the contract.
    basis           INTEGER NOT NULL,
    reason          TEXT NOT NULL DEFAULT '',
    -- 1 = strongest proposal; 0 for staff additions.
    rank            INTEGER NOT NULL DEFAULT 0,
    -- InvitationStatus number of the contract.
    status          INTEGER NOT NULL,
    decided_by      TEXT NOT NULL DEFAULT '',
    decision_reason TEXT NOT NULL DEFAULT '',
    create_time     TEXT NOT NULL,
    update_time     TEXT NOT NULL,
    UNIQUE (topic_id, invitee_kind, invitee_id)
);

CREATE INDEX invitation_topic_idx ON invitation (topic_id, status);

-- Consultation sessions (协商活动) on a topic.
CREATE TABLE session (
    id               TEXT PRIMARY KEY,
    topic_id         TEXT NOT NULL REFERENCES topic (id),
    title            TEXT NOT NULL,
    -- SessionFormat number of the contract.
    format           INTEGER NOT NULL,
    venue            TEXT NOT NULL DEFAULT '',
    start_time       TEXT NOT NULL,
    end_time         TEXT NULL,
    -- SessionStatus number of the contract.
    status           INTEGER NOT NULL,
    campaign_id      TEXT NOT NULL DEFAULT '',
    minutes          TEXT NOT NULL DEFAULT '',
    attendee_count   INTEGER NOT NULL DEFAULT 0,
    close_time       TEXT NULL,
    closed_by        TEXT NOT NULL DEFAULT '',
    cancel_reason    TEXT NOT NULL DEFAULT '',
    version          BIGINT NOT NULL DEFAULT 1,
    request_id       TEXT NULL UNIQUE,
    request_payload  TEXT NULL,
    created_by       TEXT NOT NULL,
    create_time      TEXT NOT NULL,
    update_time      TEXT NOT NULL
);

CREATE INDEX session_topic_idx ON session (topic_id, start_time);
CREATE INDEX session_start_idx ON session (start_time, id);
