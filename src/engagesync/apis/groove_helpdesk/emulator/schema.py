"""Tables shared across Groove helpdesk resource modules (widgets and KB own theirs).

Every table is keyed by ``tenant_id`` first: tenants never see each other's rows. Timestamps are
epoch seconds on the virtual clock; JSON columns hold lists and free-form objects.
"""

DDL = """
CREATE TABLE IF NOT EXISTS gh_agents (
    tenant_id INTEGER NOT NULL, id TEXT NOT NULL, email TEXT NOT NULL, first_name TEXT, last_name TEXT,
    role TEXT NOT NULL DEFAULT 'agent', state TEXT NOT NULL DEFAULT 'active',
    created_at REAL NOT NULL, updated_at REAL NOT NULL,
    PRIMARY KEY (tenant_id, id), UNIQUE (tenant_id, email)
);
CREATE TABLE IF NOT EXISTS gh_customers (
    tenant_id INTEGER NOT NULL, id TEXT NOT NULL, email TEXT NOT NULL, name TEXT, first_name TEXT,
    last_name TEXT, about TEXT, twitter_username TEXT, title TEXT, company_name TEXT, phone_number TEXT,
    location TEXT, website_url TEXT, linkedin_username TEXT, custom TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL, updated_at REAL NOT NULL,
    PRIMARY KEY (tenant_id, id), UNIQUE (tenant_id, email)
);
CREATE TABLE IF NOT EXISTS gh_mailboxes (
    tenant_id INTEGER NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL, email TEXT NOT NULL,
    is_primary INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL, updated_at REAL NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE TABLE IF NOT EXISTS gh_folders (
    tenant_id INTEGER NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL,
    states TEXT NOT NULL DEFAULT '[]', mailbox_id TEXT, position INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL, updated_at REAL NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE TABLE IF NOT EXISTS gh_groups (
    tenant_id INTEGER NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL, description TEXT,
    created_at REAL NOT NULL, updated_at REAL NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE TABLE IF NOT EXISTS gh_group_agents (
    tenant_id INTEGER NOT NULL, group_id TEXT NOT NULL, agent_id TEXT NOT NULL,
    PRIMARY KEY (tenant_id, group_id, agent_id)
);
CREATE TABLE IF NOT EXISTS gh_tags (
    tenant_id INTEGER NOT NULL, id INTEGER NOT NULL, name TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id), UNIQUE (tenant_id, name)
);
CREATE TABLE IF NOT EXISTS gh_tickets (
    tenant_id INTEGER NOT NULL, number INTEGER NOT NULL, id TEXT NOT NULL, state TEXT NOT NULL,
    title TEXT, priority TEXT, assignee_id TEXT, assigned_group_id TEXT, customer_id TEXT,
    mailbox_id TEXT, starred INTEGER NOT NULL DEFAULT 0, tags TEXT NOT NULL DEFAULT '[]',
    summary TEXT, message_count INTEGER NOT NULL DEFAULT 0, closed_by_id TEXT, resolution_time INTEGER,
    deleted INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL, updated_at REAL NOT NULL,
    PRIMARY KEY (tenant_id, number)
);
CREATE INDEX IF NOT EXISTS gh_tickets_state ON gh_tickets (tenant_id, state, number);
CREATE INDEX IF NOT EXISTS gh_tickets_customer ON gh_tickets (tenant_id, customer_id, number);
CREATE INDEX IF NOT EXISTS gh_tickets_assignee ON gh_tickets (tenant_id, assignee_id, number);
CREATE TABLE IF NOT EXISTS gh_messages (
    tenant_id INTEGER NOT NULL, id TEXT NOT NULL, ticket_number INTEGER NOT NULL,
    author_type TEXT NOT NULL, author_id TEXT, recipient_type TEXT, recipient_id TEXT,
    note INTEGER NOT NULL DEFAULT 0, body TEXT NOT NULL, plain_text_body TEXT NOT NULL,
    created_at REAL NOT NULL, updated_at REAL NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX IF NOT EXISTS gh_messages_ticket ON gh_messages (tenant_id, ticket_number, created_at);
CREATE TABLE IF NOT EXISTS gh_attachments (
    tenant_id INTEGER NOT NULL, id TEXT NOT NULL, message_id TEXT NOT NULL, filename TEXT NOT NULL,
    size INTEGER NOT NULL, content_type TEXT, url TEXT NOT NULL, created_at REAL NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX IF NOT EXISTS gh_attachments_message ON gh_attachments (tenant_id, message_id);
CREATE TABLE IF NOT EXISTS gh_webhooks (
    tenant_id INTEGER NOT NULL, id TEXT NOT NULL, event TEXT NOT NULL, url TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'active', created_at REAL NOT NULL, updated_at REAL NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX IF NOT EXISTS gh_webhooks_event ON gh_webhooks (tenant_id, event);
"""

TABLES = (
    "gh_agents",
    "gh_customers",
    "gh_mailboxes",
    "gh_folders",
    "gh_groups",
    "gh_group_agents",
    "gh_tags",
    "gh_tickets",
    "gh_messages",
    "gh_attachments",
    "gh_webhooks",
)
