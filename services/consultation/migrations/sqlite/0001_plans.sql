-- Annual major consultation plans (年度重大协商计划): one per year.
CREATE TABLE plan (
    id          TEXT PRIMARY KEY,
    year        INTEGER NOT NULL UNIQUE,
    title       TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    version     BIGINT NOT NULL DEFAULT 1,
    request_id  TEXT UNIQUE,
    created_by  TEXT NOT NULL,
    create_time TEXT NOT NULL,
    update_time TEXT NOT NULL
);
