-- Reference data (参考数据): districts (kind 1), industries (kind 2) and demand categories (kind 3), as
-- codes with Chinese display names. Seeded with the city's values; operators add, rename and
-- deactivate items through the API. Items are never deleted, so old records keep resolving.
CREATE TABLE reference_item (
    kind        INTEGER NOT NULL,
    code        TEXT NOT NULL,
    name        TEXT NOT NULL,
    name_en     TEXT NOT NULL DEFAULT '',
    active      BOOLEAN NOT NULL DEFAULT TRUE,
    sort_order  INTEGER NOT NULL DEFAULT 0,
    create_time TIMESTAMPTZ NOT NULL,
    update_time TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (kind, code),
    UNIQUE (kind, name)
);

INSERT INTO reference_item (kind, code, name, name_en, active, sort_order, create_time, update_time) VALUES
    (1, 'dinghai', '定海区', 'Dinghai District', TRUE, 10, now(), now()),
    (1, 'putuo', '普陀区', 'Putuo District', TRUE, 20, now(), now()),
    (1, 'daishan', '岱山县', 'Daishan County', TRUE, 30, now(), now()),
    (1, 'shengsi', '嵊泗县', 'Shengsi County', TRUE, 40, now(), now()),
    (1, 'xincheng', '新城', 'New City', TRUE, 50, now(), now()),
    (2, 'advanced_manufacturing', '先进制造', 'Advanced manufacturing', TRUE, 10, now(), now()),
    (2, 'catering_trade', '餐饮商贸', 'Catering and trade', TRUE, 20, now(), now()),
    (2, 'ocean_fishing', '远洋渔业', 'Ocean fishing', TRUE, 30, now(), now()),
    (2, 'port_logistics', '港航物流', 'Port and shipping logistics', TRUE, 40, now(), now()),
    (2, 'tourism', '旅游', 'Tourism', TRUE, 50, now(), now()),
    (2, 'shipbuilding', '船舶修造', 'Shipbuilding and repair', TRUE, 60, now(), now()),
    (2, 'petrochemical', '绿色石化', 'Green petrochemicals', TRUE, 70, now(), now()),
    (2, 'aquatic_processing', '水产加工', 'Aquatic products processing', TRUE, 80, now(), now()),
    (3, 'finance_credit', '金融信贷', 'Finance and credit', TRUE, 10, now(), now()),
    (3, 'logistics', '物流运输', 'Logistics and transport', TRUE, 20, now(), now()),
    (3, 'patent', '专利申请', 'Patent applications', TRUE, 30, now(), now()),
    (3, 'approval', '审批', 'Approvals', TRUE, 40, now(), now()),
    (3, 'subsidy', '补助', 'Subsidies', TRUE, 50, now(), now()),
    (3, 'talent', '人才', 'Talent', TRUE, 60, now(), now()),
    (3, 'land', '用地', 'Land use', TRUE, 70, now(), now()),
    (3, 'project_award', '项目奖励', 'Project awards', TRUE, 80, now(), now()),
    (3, 'labour', '劳动用工', 'Labour and employment', TRUE, 90, now(), now()),
    (3, 'policy', '惠企政策兑现', 'Business support policies', TRUE, 100, now(), now());
