"""GrowthGenius tables. Keyed by ``tenant_id`` first (a tenant is one team); times are epoch ms.

Contacts and messages keep their documented fields in a JSON ``data`` column (sixty-odd contact
fields change together and are returned together); the columns beside it are what queries filter
and sort on.
"""

DDL = """
CREATE TABLE IF NOT EXISTS gg_users (
    tenant_id INTEGER NOT NULL, id INTEGER NOT NULL, team_id INTEGER NOT NULL, email TEXT NOT NULL,
    email_bcc TEXT, first_name TEXT, last_name TEXT, reporting_email TEXT, roles TEXT NOT NULL DEFAULT '[]',
    integrations INTEGER NOT NULL DEFAULT 1, created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE TABLE IF NOT EXISTS gg_contacts (
    tenant_id INTEGER NOT NULL, id INTEGER NOT NULL, email TEXT, search TEXT NOT NULL DEFAULT '',
    data TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX IF NOT EXISTS gg_contacts_updated ON gg_contacts (tenant_id, updated_at, id);
CREATE TABLE IF NOT EXISTS gg_messages (
    tenant_id INTEGER NOT NULL, id INTEGER NOT NULL, contact_id INTEGER NOT NULL, sent_at INTEGER,
    data TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX IF NOT EXISTS gg_messages_updated ON gg_messages (tenant_id, updated_at, id);
CREATE INDEX IF NOT EXISTS gg_messages_contact ON gg_messages (tenant_id, contact_id, sent_at);
"""

TABLES = ("gg_sequences", "gg_users", "gg_contacts", "gg_messages")
