-- Enterprises: when the latest contact (一周一联系) took place, kept on the record so overdue enterprises
-- are found with an index; the digest of what a registration asked for, so a request id reused with
-- another payload is refused; indexes for the name order of ListEnterprises and the overdue order.
ALTER TABLE enterprise ADD COLUMN last_contact_time TIMESTAMPTZ;
ALTER TABLE enterprise ADD COLUMN request_fingerprint TEXT;

CREATE INDEX enterprise_name_idx ON enterprise (name, id);
CREATE INDEX enterprise_contact_due_idx ON enterprise ((COALESCE(last_contact_time, create_time)), id);

-- Reference items: idempotent creation (request id and the digest of what it asked for).
ALTER TABLE reference_item ADD COLUMN request_id TEXT;
ALTER TABLE reference_item ADD COLUMN request_fingerprint TEXT;

CREATE UNIQUE INDEX reference_item_request_idx ON reference_item (request_id);
