-- Online campaigns (网上建言献策征集 / 掌上主题议政): a topic open for a window, to which netizens, members
-- and enterprises post suggestions. Status is derived from the window and an early close.
CREATE TABLE campaign (
    id                TEXT PRIMARY KEY,
    -- CampaignKind number of the contract.
    kind              INTEGER NOT NULL,
    title             TEXT NOT NULL,
    description       TEXT NOT NULL DEFAULT '',
    start_time        TEXT NOT NULL,
    -- End of the window, exclusive.
    end_time          TEXT NOT NULL,
    -- Set when closed early by CloseCampaign.
    close_time        TEXT NULL,
    close_reason      TEXT NOT NULL DEFAULT '',
    closed_by         TEXT NULL,
    -- Distinct post authors (参与人数) and posts (建议条数), kept with each post.
    participant_count INTEGER NOT NULL DEFAULT 0,
    post_count        INTEGER NOT NULL DEFAULT 0,
    -- Revision, incremented by every change of the campaign itself (the etag); posts do not change it.
    version           BIGINT NOT NULL DEFAULT 1,
    -- Idempotency: the client's request id and the canonical encoding of what it asked for.
    request_id        TEXT NULL UNIQUE,
    request_payload   TEXT NULL,
    created_by        TEXT NOT NULL,
    create_time       TEXT NOT NULL,
    update_time       TEXT NOT NULL,
    CHECK (end_time > start_time)
);

CREATE INDEX campaign_create_idx ON campaign (create_time, id);

-- Who has posted to a campaign: one row per distinct author, so participants are counted once.
CREATE TABLE campaign_participant (
    campaign_id     TEXT NOT NULL REFERENCES campaign (id),
    author          TEXT NOT NULL,
    first_post_time TEXT NOT NULL,
    PRIMARY KEY (campaign_id, author)
);

-- Posts (建言). The text is never rewritten; promoting one into a demand links both ways
-- (promoted_demand_id here, origin_id on the demand).
CREATE TABLE campaign_post (
    id                  TEXT PRIMARY KEY,
    campaign_id         TEXT NOT NULL REFERENCES campaign (id),
    author              TEXT NOT NULL,
    -- PostAuthorKind number of the contract.
    author_kind         INTEGER NOT NULL,
    author_display_name TEXT NOT NULL DEFAULT '',
    enterprise_id       TEXT NULL,
    title               TEXT NOT NULL DEFAULT '',
    text                TEXT NOT NULL,
    promoted_demand_id  TEXT NULL UNIQUE REFERENCES demand (id),
    promoted_by         TEXT NULL,
    promote_time        TEXT NULL,
    -- Idempotency: the client's request id and the canonical encoding of what it asked for.
    request_id          TEXT NULL UNIQUE,
    request_payload     TEXT NULL,
    create_time         TEXT NOT NULL
);

CREATE INDEX campaign_post_campaign_idx ON campaign_post (campaign_id, create_time, id);
