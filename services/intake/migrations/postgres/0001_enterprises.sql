-- Enterprises heard by the platform (企业). Contact people are personal data and live apart from this
-- record (see the contacts migration of the intake service).
CREATE TABLE enterprise (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    credit_code      TEXT NOT NULL UNIQUE,
    district         TEXT NOT NULL,
    industry         TEXT NOT NULL,
    size             INTEGER NOT NULL,
    monitoring_point BOOLEAN NOT NULL DEFAULT FALSE,
    description      TEXT NOT NULL DEFAULT '',
    address          TEXT NOT NULL DEFAULT '',
    version          BIGINT NOT NULL DEFAULT 1,
    request_id       TEXT UNIQUE,
    created_by       TEXT NOT NULL,
    create_time      TIMESTAMPTZ NOT NULL,
    update_time      TIMESTAMPTZ NOT NULL
);

CREATE INDEX enterprise_district_idx ON enterprise (district);
CREATE INDEX enterprise_industry_idx ON enterprise (industry);
