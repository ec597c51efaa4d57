"""Groove sales tables, all keyed by ``tenant_id`` first (tenants never see each other's rows).

Ids are per-tenant integers rendered as GraphQL ``ID`` strings; timestamps are epoch seconds on the
virtual clock.
"""

DDL = """
CREATE TABLE IF NOT EXISTS gs_flows (
    tenant_id INTEGER NOT NULL, id INTEGER NOT NULL, name TEXT NOT NULL, description TEXT,
    user_id INTEGER, auto_import_assign_owner INTEGER, auto_import_id TEXT, finalized INTEGER,
    is_master_flow INTEGER, remove_person_after_bounce INTEGER, remove_person_after_reply INTEGER,
    sfdc_campaign_id TEXT, created_at REAL NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE TABLE IF NOT EXISTS gs_steps (
    tenant_id INTEGER NOT NULL, id INTEGER NOT NULL, flow_id INTEGER NOT NULL, name TEXT NOT NULL,
    day_number TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX IF NOT EXISTS gs_steps_flow ON gs_steps (tenant_id, flow_id, id);
CREATE TABLE IF NOT EXISTS gs_label_instances (
    tenant_id INTEGER NOT NULL, id INTEGER NOT NULL, flow_id INTEGER NOT NULL, label TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX IF NOT EXISTS gs_labels_flow ON gs_label_instances (tenant_id, flow_id, id);
CREATE TABLE IF NOT EXISTS gs_people (
    tenant_id INTEGER NOT NULL, id INTEGER NOT NULL, name TEXT NOT NULL, email TEXT NOT NULL,
    salesforce_id TEXT NOT NULL COLLATE NOCASE,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX IF NOT EXISTS gs_people_sfdc ON gs_people (tenant_id, salesforce_id);
CREATE TABLE IF NOT EXISTS gs_person_flows (
    tenant_id INTEGER NOT NULL, id INTEGER NOT NULL, person_id INTEGER NOT NULL, flow_id INTEGER NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (tenant_id, id), UNIQUE (tenant_id, person_id, flow_id)
);
"""

TABLES = ("gs_flows", "gs_steps", "gs_label_instances", "gs_people", "gs_person_flows")
