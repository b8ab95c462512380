-- Service teams (一企一团队): one per intake enterprise, led by a chair-meeting member (主席会议成员)
-- and a special committee (专委会).
CREATE TABLE service_team (
    id                   TEXT PRIMARY KEY,
    enterprise_id        TEXT NOT NULL UNIQUE,
    -- The lead: PersonRef fields.
    lead_id              TEXT NOT NULL DEFAULT '',
    lead_name            TEXT NOT NULL DEFAULT '',
    lead_title           TEXT NOT NULL DEFAULT '',
    lead_organisation_id TEXT NOT NULL DEFAULT '',
    committee            TEXT NOT NULL,
    plan                 TEXT NOT NULL DEFAULT '',
    version              BIGINT NOT NULL DEFAULT 1,
    request_id           TEXT NULL UNIQUE,
    request_payload      TEXT NULL,
    created_by           TEXT NOT NULL,
    create_time          TIMESTAMPTZ NOT NULL,
    update_time          TIMESTAMPTZ NOT NULL
);

CREATE INDEX service_team_create_idx ON service_team (create_time, id);
CREATE INDEX service_team_lead_idx ON service_team (lead_id);
CREATE INDEX service_team_committee_idx ON service_team (committee);

-- The members of a team, in the order given; a member serves at most once per team.
CREATE TABLE service_team_member (
    team_id         TEXT NOT NULL REFERENCES service_team (id),
    member_id       TEXT NOT NULL,
    display_name    TEXT NOT NULL DEFAULT '',
    title           TEXT NOT NULL DEFAULT '',
    organisation_id TEXT NOT NULL DEFAULT '',
    -- Sector (界别) and expertise.
    sector          TEXT NOT NULL DEFAULT '',
    expertise       TEXT NOT NULL DEFAULT '',
    position        INTEGER NOT NULL,
    PRIMARY KEY (team_id, member_id)
);

CREATE INDEX service_team_member_member_idx ON service_team_member (member_id);

-- The service menu (菜单式服务). Items are deactivated, never deleted; titles are unique among active items.
CREATE TABLE service_menu_item (
    id              TEXT PRIMARY KEY,
    -- Compared by code point (as on SQLite), so the menu lists in the same order on both backends.
    title           TEXT COLLATE "C" NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    active          BOOLEAN NOT NULL DEFAULT TRUE,
    version         BIGINT NOT NULL DEFAULT 1,
    request_id      TEXT NULL UNIQUE,
    request_payload TEXT NULL,
    created_by      TEXT NOT NULL,
    create_time     TIMESTAMPTZ NOT NULL,
    update_time     TIMESTAMPTZ NOT NULL
);

CREATE UNIQUE INDEX service_menu_item_active_title_idx ON service_menu_item (title) WHERE active;
CREATE INDEX service_menu_item_title_idx ON service_menu_item (title, id);

-- The intake demand categories a menu item usually answers, in the order given.
CREATE TABLE service_menu_item_category (
    item_id  TEXT NOT NULL REFERENCES service_menu_item (id),
    category TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (item_id, category)
);

CREATE INDEX service_menu_item_category_idx ON service_menu_item_category (category);

-- Service lists (服务清单): an enterprise's demands mapped to menu items and the members who deliver
-- them. One entry per demand.
CREATE TABLE service_list_entry (
    id              TEXT PRIMARY KEY,
    team_id         TEXT NOT NULL REFERENCES service_team (id),
    enterprise_id   TEXT NOT NULL,
    demand_id       TEXT NOT NULL UNIQUE,
    menu_item_id    TEXT NOT NULL REFERENCES service_menu_item (id),
    member_id       TEXT NOT NULL,
    -- ServiceEntryStatus number of the contract.
    status          INTEGER NOT NULL,
    note            TEXT NOT NULL DEFAULT '',
    delivery_note   TEXT NOT NULL DEFAULT '',
    deliver_time    TIMESTAMPTZ NULL,
    delivered_by    TEXT NOT NULL DEFAULT '',
    version         BIGINT NOT NULL DEFAULT 1,
    request_id      TEXT NULL UNIQUE,
    request_payload TEXT NULL,
    created_by      TEXT NOT NULL,
    create_time     TIMESTAMPTZ NOT NULL,
    update_time     TIMESTAMPTZ NOT NULL
);

CREATE INDEX service_list_entry_team_idx ON service_list_entry (team_id, create_time, id);
