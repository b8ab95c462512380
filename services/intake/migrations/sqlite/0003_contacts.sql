-- Contact people of enterprises (企业联系人). Names and phone numbers are personal data: they live in this
-- table only, apart from the enterprise record, so they can be encrypted and masked on their own, and a
-- deleted person leaves nothing behind (contacts keep the id alone).
CREATE TABLE contact_person (
    id                  TEXT PRIMARY KEY,
    enterprise_id       TEXT NOT NULL REFERENCES enterprise (id),
    name                TEXT NOT NULL,
    phone               TEXT NOT NULL DEFAULT '',
    position            TEXT NOT NULL DEFAULT '',
    is_primary          BOOLEAN NOT NULL DEFAULT FALSE,
    -- Idempotency: the client's request id and a digest of what it asked for (not a copy, so the
    -- personal data is stored once).
    request_id          TEXT UNIQUE,
    request_fingerprint TEXT,
    create_time         TEXT NOT NULL,
    update_time         TEXT NOT NULL
);

CREATE INDEX contact_person_enterprise_idx ON contact_person (enterprise_id, id);
-- At most one primary contact per enterprise.
CREATE UNIQUE INDEX contact_person_primary_idx ON contact_person (enterprise_id) WHERE is_primary;

-- Contacts under the weekly cadence (一周一联系): a visit, call or online exchange with an enterprise.
CREATE TABLE contact (
    id                   TEXT PRIMARY KEY,
    enterprise_id        TEXT NOT NULL REFERENCES enterprise (id),
    -- ContactChannel number of the contract.
    channel              INTEGER NOT NULL,
    contact_time         TEXT NOT NULL,
    summary              TEXT NOT NULL,
    -- Person-times briefed (宣讲人次).
    briefed_person_times INTEGER NOT NULL DEFAULT 0,
    request_id           TEXT UNIQUE,
    request_fingerprint  TEXT,
    created_by           TEXT NOT NULL,
    create_time          TEXT NOT NULL
);

CREATE INDEX contact_enterprise_time_idx ON contact (enterprise_id, contact_time, id);
CREATE INDEX contact_time_idx ON contact (contact_time, id);

-- The members and staff (subjects) who took part in a contact, in the order given.
CREATE TABLE contact_member (
    contact_id TEXT NOT NULL REFERENCES contact (id),
    position   INTEGER NOT NULL,
    member_id  TEXT NOT NULL,
    PRIMARY KEY (contact_id, position)
);

CREATE INDEX contact_member_member_idx ON contact_member (member_id, contact_id);

-- The enterprise's contact people who took part. No foreign key: a deleted person's id stays here.
CREATE TABLE contact_participant (
    contact_id        TEXT NOT NULL REFERENCES contact (id),
    position          INTEGER NOT NULL,
    contact_person_id TEXT NOT NULL,
    PRIMARY KEY (contact_id, position)
);

-- Titles of the policies briefed (宣讲的助企惠企政策), in the order given.
CREATE TABLE contact_policy (
    contact_id TEXT NOT NULL REFERENCES contact (id),
    position   INTEGER NOT NULL,
    title      TEXT NOT NULL,
    PRIMARY KEY (contact_id, position)
);
