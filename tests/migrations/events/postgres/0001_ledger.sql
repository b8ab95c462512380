-- The producer's change: a ledger row, recorded with its event in one transaction.
CREATE TABLE ledger (
    id       TEXT PRIMARY KEY,
    amount   BIGINT NOT NULL,
    event_id TEXT NOT NULL
);

-- The consumer's effect: deliberately no uniqueness on event_id, so a doubled effect is visible.
CREATE TABLE effect (
    row_id    BIGSERIAL PRIMARY KEY,
    event_id  TEXT NOT NULL,
    subject   TEXT NOT NULL,
    ledger_id TEXT NOT NULL,
    counter   BIGINT NOT NULL
);
