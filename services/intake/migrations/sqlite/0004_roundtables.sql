-- Monthly roundtables with entrepreneurs (一月一座谈). Demands raised there point back with origin_id.
CREATE TABLE roundtable (
    id                  TEXT PRIMARY KEY,
    title               TEXT NOT NULL,
    theme               TEXT NOT NULL DEFAULT '',
    held_time           TEXT NOT NULL,
    venue               TEXT NOT NULL DEFAULT '',
    entrepreneur_count  INTEGER NOT NULL DEFAULT 0,
    summary             TEXT NOT NULL DEFAULT '',
    -- Revision, incremented by every change (the etag).
    version             BIGINT NOT NULL DEFAULT 1,
    request_id          TEXT UNIQUE,
    request_fingerprint TEXT,
    created_by          TEXT NOT NULL,
    create_time         TEXT NOT NULL,
    update_time         TEXT NOT NULL
);

CREATE INDEX roundtable_held_idx ON roundtable (held_time, id);

-- The members and staff (subjects) who hosted a roundtable, in the order given.
CREATE TABLE roundtable_host (
    roundtable_id TEXT NOT NULL REFERENCES roundtable (id),
    position      INTEGER NOT NULL,
    host_id       TEXT NOT NULL,
    PRIMARY KEY (roundtable_id, position)
);

-- The enterprises invited to a roundtable, in the order given.
CREATE TABLE roundtable_invitee (
    roundtable_id TEXT NOT NULL REFERENCES roundtable (id),
    enterprise_id TEXT NOT NULL REFERENCES enterprise (id),
    position      INTEGER NOT NULL,
    PRIMARY KEY (roundtable_id, enterprise_id)
);

CREATE INDEX roundtable_invitee_enterprise_idx ON roundtable_invitee (enterprise_id, roundtable_id);
