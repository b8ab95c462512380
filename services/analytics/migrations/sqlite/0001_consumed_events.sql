-- Events the analytics consumers have applied, one row per (consumer, event id): an event delivered
-- again finds its row and has no second effect on the rollups.
CREATE TABLE consumed_event (
    consumer     TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    applied_time TEXT NOT NULL,
    PRIMARY KEY (consumer, event_id)
);
