"""Volt tables, all keyed by ``tenant_id`` first (a tenant is one organization and its token).

Timestamps are epoch seconds on the virtual clock; JSON columns hold lists (pool numbers, media,
custom fields, list rules, wave lists). Messages carry a per-tenant ``seq`` in send order, which is
also time order (the clock only moves forward): the ``before`` cursors are keyed by it.
"""

from ....sandbox.api import sequences_ddl

DDL = (
    sequences_ddl("vt_sequences")
    + """
CREATE TABLE IF NOT EXISTS vt_orgs (
    tenant_id INTEGER PRIMARY KEY, id INTEGER NOT NULL, company_name TEXT NOT NULL, domain TEXT, size TEXT,
    industry TEXT, user_email TEXT NOT NULL, free_trial INTEGER NOT NULL, active INTEGER NOT NULL,
    created_at REAL NOT NULL, updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS vt_accounts (
    tenant_id INTEGER NOT NULL, id INTEGER NOT NULL, name TEXT NOT NULL, created_by TEXT NOT NULL,
    primary_phone TEXT NOT NULL, pool TEXT NOT NULL DEFAULT '[]', call_forwarding TEXT, location TEXT,
    created_at REAL NOT NULL, updated_at REAL NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE TABLE IF NOT EXISTS vt_numbers (
    tenant_id INTEGER NOT NULL, number TEXT NOT NULL, account_id INTEGER NOT NULL, is_primary INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, number)
);
CREATE TABLE IF NOT EXISTS vt_fields (
    tenant_id INTEGER NOT NULL, key TEXT NOT NULL, type TEXT NOT NULL,
    PRIMARY KEY (tenant_id, key)
);
CREATE TABLE IF NOT EXISTS vt_contacts (
    tenant_id INTEGER NOT NULL, id INTEGER NOT NULL, account_id INTEGER NOT NULL, phone TEXT NOT NULL,
    name TEXT NOT NULL, mapped_number TEXT, custom TEXT NOT NULL DEFAULT '[]', blocked INTEGER NOT NULL,
    created_at REAL NOT NULL, updated_at REAL NOT NULL,
    PRIMARY KEY (tenant_id, id), UNIQUE (tenant_id, account_id, phone)
);
CREATE TABLE IF NOT EXISTS vt_lists (
    tenant_id INTEGER NOT NULL, id INTEGER NOT NULL, account_id INTEGER NOT NULL, name TEXT NOT NULL,
    created_by TEXT NOT NULL, source_list TEXT, name_term TEXT, rules TEXT,
    created_at REAL NOT NULL, updated_at REAL NOT NULL,
    PRIMARY KEY (tenant_id, id), UNIQUE (tenant_id, account_id, name)
);
CREATE TABLE IF NOT EXISTS vt_messages (
    tenant_id INTEGER NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL, legacy_id TEXT NOT NULL,
    account_id INTEGER NOT NULL, contact_id INTEGER, peer TEXT NOT NULL, direction TEXT NOT NULL,
    to_number TEXT NOT NULL, from_number TEXT NOT NULL, status TEXT NOT NULL, status_description TEXT NOT NULL,
    media TEXT NOT NULL DEFAULT '[]', body TEXT NOT NULL, sent_at REAL NOT NULL, confirmed_at REAL,
    wave_id INTEGER,
    PRIMARY KEY (tenant_id, seq)
);
CREATE UNIQUE INDEX IF NOT EXISTS vt_messages_id ON vt_messages (tenant_id, id);
CREATE INDEX IF NOT EXISTS vt_messages_legacy ON vt_messages (tenant_id, legacy_id);
CREATE INDEX IF NOT EXISTS vt_messages_peer ON vt_messages (tenant_id, account_id, peer, seq);
CREATE INDEX IF NOT EXISTS vt_messages_wave ON vt_messages (tenant_id, wave_id);
CREATE TABLE IF NOT EXISTS vt_transitions (
    tenant_id INTEGER NOT NULL, seq INTEGER NOT NULL, status TEXT NOT NULL, description TEXT NOT NULL,
    due_at REAL NOT NULL,
    PRIMARY KEY (tenant_id, seq, status)
);
CREATE INDEX IF NOT EXISTS vt_transitions_due ON vt_transitions (due_at);
CREATE TABLE IF NOT EXISTS vt_waves (
    tenant_id INTEGER NOT NULL, id INTEGER NOT NULL, account_id INTEGER, name TEXT NOT NULL, type TEXT NOT NULL,
    status TEXT NOT NULL, scheduled_at REAL NOT NULL, body TEXT NOT NULL, media TEXT NOT NULL DEFAULT '[]',
    sent_by TEXT NOT NULL, lists TEXT, numbers TEXT, created_at REAL NOT NULL, processed_at REAL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX IF NOT EXISTS vt_waves_due ON vt_waves (status, scheduled_at);
CREATE TABLE IF NOT EXISTS vt_webhooks (
    tenant_id INTEGER NOT NULL, id INTEGER NOT NULL, url TEXT NOT NULL, created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
"""
)

TABLES = (
    "vt_sequences",
    "vt_orgs",
    "vt_accounts",
    "vt_numbers",
    "vt_fields",
    "vt_contacts",
    "vt_lists",
    "vt_messages",
    "vt_transitions",
    "vt_waves",
    "vt_webhooks",
)
