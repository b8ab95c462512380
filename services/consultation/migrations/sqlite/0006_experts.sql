-- The think tank (智库): experts and the topics they are attached to.
CREATE TABLE expert (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    organisation    TEXT NOT NULL DEFAULT '',
    title           TEXT NOT NULL DEFAULT '',
    bio             TEXT NOT NULL DEFAULT '',
    active          BOOLEAN NOT NULL DEFAULT TRUE,
    version         BIGINT NOT NULL DEFAULT 1,
    request_id      TEXT NULL UNIQUE,
    request_payload TEXT NULL,
    created_by      TEXT NOT NULL,
    create_time     TEXT NOT NULL,
    update_time     TEXT NOT NULL
);

CREATE INDEX expert_name_idx ON expert (name, id);

-- An expert's fields of expertise (领域), in the order given.
CREATE TABLE expert_field (
    expert_id TEXT NOT NULL REFERENCES expert (id),
    field     TEXT NOT NULL,
    position  INTEGER NOT NULL,
    PRIMARY KEY (expert_id, field)
);

CREATE INDEX expert_field_field_idx ON expert_field (field);

-- Experts attached to topics.
CREATE TABLE topic_expert (
    topic_id    TEXT NOT NULL REFERENCES topic (id),
    expert_id   TEXT NOT NULL REFERENCES expert (id),
    attached_by TEXT NOT NULL,
    attach_time TEXT NOT NULL,
    PRIMARY KEY (topic_id, expert_id)
);

CREATE INDEX topic_expert_expert_idx ON topic_expert (expert_id);
