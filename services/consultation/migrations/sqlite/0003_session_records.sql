-- What a session records beyond its schedule: the campaign counts of an online session (键对键), as
-- last taken from intake (frozen at closing).
ALTER TABLE session ADD COLUMN online_participant_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE session ADD COLUMN online_post_count INTEGER NOT NULL DEFAULT 0;

CREATE INDEX session_status_start_idx ON session (status, start_time);

-- Participants of a session, in the order they were added.
CREATE TABLE session_participant (
    session_id    TEXT NOT NULL REFERENCES session (id),
    id            TEXT NOT NULL,
    position      INTEGER NOT NULL,
    -- ParticipantRole number of the contract.
    role          INTEGER NOT NULL,
    display_name  TEXT NOT NULL,
    person_id     TEXT NOT NULL DEFAULT '',
    enterprise_id TEXT NOT NULL DEFAULT '',
    affiliation   TEXT NOT NULL DEFAULT '',
    invitation_id TEXT NOT NULL DEFAULT '',
    attended      BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (session_id, id),
    UNIQUE (session_id, position)
);

-- What was said in a session (问、答、辩), numbered from 1 without gaps.
CREATE TABLE contribution (
    id                       TEXT PRIMARY KEY,
    session_id               TEXT NOT NULL REFERENCES session (id),
    sequence                 INTEGER NOT NULL,
    -- ContributionKind number of the contract.
    kind                     INTEGER NOT NULL,
    speaker_participant_id   TEXT NOT NULL,
    -- The speaker's role and name, copied when it was said.
    speaker_role             INTEGER NOT NULL,
    speaker_display_name     TEXT NOT NULL,
    text                     TEXT NOT NULL,
    reply_to_contribution_id TEXT NULL REFERENCES contribution (id),
    speak_time               TEXT NOT NULL,
    recorded_by              TEXT NOT NULL,
    request_id               TEXT NULL UNIQUE,
    request_payload          TEXT NULL,
    create_time              TEXT NOT NULL,
    UNIQUE (session_id, sequence),
    FOREIGN KEY (session_id, speaker_participant_id) REFERENCES session_participant (session_id, id)
);

CREATE INDEX contribution_speaker_idx ON contribution (session_id, speaker_participant_id);

-- Conclusions reached (协商共识), recorded when a session closes, in the order given.
CREATE TABLE session_conclusion (
    session_id TEXT NOT NULL REFERENCES session (id),
    position   INTEGER NOT NULL,
    text       TEXT NOT NULL,
    PRIMARY KEY (session_id, position)
);
