-- The organisation the leader who answers a topic acts for (PersonRef.organisation_id).
ALTER TABLE topic ADD COLUMN leader_organisation_id TEXT NOT NULL DEFAULT '';
