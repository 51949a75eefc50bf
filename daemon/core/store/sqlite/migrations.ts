// Versioned schema migrations, applied in order at start. Each runs in its own transaction with
// the version bump, so a crash mid-migration leaves the previous version intact. Never edit a
// migration that has shipped: add the next one.

export interface Migration {
  version: number;
  says: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    says: 'machines, events, leases, operations',
    sql: `
      CREATE TABLE machines (
        name             TEXT PRIMARY KEY,
        mac              TEXT NOT NULL,
        ip               TEXT,
        hostname         TEXT NOT NULL,
        profile          TEXT,
        tags             TEXT NOT NULL DEFAULT '[]',
        power            TEXT NOT NULL DEFAULT '{}',
        state            TEXT NOT NULL,
        previous_state   TEXT,
        last_error       TEXT,
        owner            TEXT,
        deploy_profile   TEXT,
        facts            TEXT,
        boot_facts       TEXT,
        source           TEXT NOT NULL DEFAULT 'inventory',
        retired_at       TEXT,
        state_changed_at TEXT NOT NULL,
        created_at       TEXT NOT NULL,
        updated_at       TEXT NOT NULL,
        version          INTEGER NOT NULL DEFAULT 1
      );
      -- A MAC belongs to one live machine; a retired machine keeps its MAC in its history.
      CREATE UNIQUE INDEX machines_live_mac ON machines(mac) WHERE retired_at IS NULL;
      CREATE INDEX machines_state ON machines(state);

      CREATE TABLE events (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        time       TEXT NOT NULL,
        machine    TEXT,
        kind       TEXT NOT NULL,
        event      TEXT,
        from_state TEXT,
        to_state   TEXT,
        cause      TEXT,
        actor      TEXT NOT NULL,
        data       TEXT
      );
      CREATE INDEX events_machine ON events(machine, id);
      CREATE INDEX events_time ON events(time);

      CREATE TABLE leases (
        mac        TEXT PRIMARY KEY,
        ip         TEXT NOT NULL UNIQUE,
        state      TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        hostname   TEXT,
        machine    TEXT,
        updated_at INTEGER NOT NULL
      );
      CREATE INDEX leases_expiry ON leases(expires_at);

      CREATE TABLE operations (
        id          TEXT PRIMARY KEY,
        machine     TEXT NOT NULL REFERENCES machines(name) ON UPDATE CASCADE,
        kind        TEXT NOT NULL,
        token       TEXT NOT NULL UNIQUE,
        state       TEXT NOT NULL,
        step        TEXT,
        progress    TEXT,
        error       TEXT,
        created_at  TEXT NOT NULL,
        finished_at TEXT
      );
      CREATE INDEX operations_machine ON operations(machine, created_at);
    `,
  },
  {
    version: 2,
    says: 'allocations (machines on demand, SPEC §2b) and owner-scoped API tokens',
    sql: `
      CREATE TABLE allocations (
        id          TEXT PRIMARY KEY,
        owner       TEXT NOT NULL,
        profile     TEXT NOT NULL,
        constraints TEXT NOT NULL DEFAULT '{}',
        machines    TEXT NOT NULL DEFAULT '[]',
        -- active | released; what the machines are doing is derived from them, not stored here
        state       TEXT NOT NULL,
        actor       TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        released_at TEXT
      );
      CREATE INDEX allocations_owner ON allocations(owner, created_at);

      -- Tokens an admin creates for a tenant; only the sha256 of the secret is kept.
      CREATE TABLE api_tokens (
        name       TEXT PRIMARY KEY,
        owner      TEXT NOT NULL,
        digest     TEXT NOT NULL UNIQUE,
        created_by TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
    `,
  },
  {
    version: 3,
    says: 'boot nonces and agent tokens: the iPXE script carries a one-use nonce the agent trades for its token',
    sql: `
      -- Digests (sha256 hex) only: the nonce and the agent token themselves are never stored.
      ALTER TABLE operations ADD COLUMN nonce_digest TEXT;
      ALTER TABLE operations ADD COLUMN nonce_expires_at TEXT;
      ALTER TABLE operations ADD COLUMN nonce_traded_at TEXT;
      ALTER TABLE operations ADD COLUMN agent_digest TEXT;
      CREATE INDEX operations_nonce ON operations(nonce_digest);
      CREATE INDEX operations_agent ON operations(agent_digest);
    `,
  },
  {
    version: 4,
    says: 'machines.accepted: a discovered machine is allocatable only once an operator accepts it',
    sql: `
      ALTER TABLE machines ADD COLUMN accepted INTEGER NOT NULL DEFAULT 1;
      -- Machines discovered before this version were enrolled by anyone on the network: an
      -- operator looks at them before a tenant gets one.
      UPDATE machines SET accepted = 0 WHERE source = 'discovered';
      CREATE INDEX machines_pending ON machines(source, accepted) WHERE retired_at IS NULL;
    `,
  },
  {
    version: 5,
    says: 'tenant tokens expire, are revoked, and remember when they were last used',
    sql: `
      ALTER TABLE api_tokens ADD COLUMN expires_at TEXT;
      ALTER TABLE api_tokens ADD COLUMN revoked_at TEXT;
      ALTER TABLE api_tokens ADD COLUMN last_used_at TEXT;
    `,
  },
  {
    version: 6,
    says: 'racks: each machine\'s rack, rack heartbeats, durable per-machine work with claims',
    sql: `
      ALTER TABLE machines ADD COLUMN rack TEXT;
      CREATE TABLE racks (
        name         TEXT PRIMARY KEY,
        daemon       TEXT NOT NULL,
        info         TEXT NOT NULL DEFAULT '{}',
        started_at   TEXT NOT NULL,
        heartbeat_at TEXT NOT NULL,
        stopped_at   TEXT
      );
      -- A transition that starts an operation enqueues its boot here in the same transaction.
      CREATE TABLE work (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        machine       TEXT NOT NULL,
        operation     TEXT NOT NULL,
        kind          TEXT NOT NULL,
        -- takeover work: the silent daemon it stands in for (one takeover per operation and daemon)
        cause         TEXT NOT NULL DEFAULT '',
        created_at    TEXT NOT NULL,
        claimed_by    TEXT,
        claimed_until TEXT,
        attempts      INTEGER NOT NULL DEFAULT 0,
        step          TEXT,
        done_at       TEXT,
        outcome       TEXT
      );
      CREATE INDEX work_open ON work(id) WHERE done_at IS NULL;
      CREATE UNIQUE INDEX work_once ON work(operation, kind, cause);
    `,
  },
  {
    version: 7,
    says: 'boot trace: each machine\'s latest DHCP, TFTP and HTTP boot steps (core/boot-trace.ts)',
    sql: `
      CREATE TABLE boot_trace (
        id      INTEGER PRIMARY KEY AUTOINCREMENT,
        machine TEXT NOT NULL,
        at      TEXT NOT NULL,
        kind    TEXT NOT NULL,
        outcome TEXT NOT NULL,
        summary TEXT NOT NULL,
        detail  TEXT NOT NULL DEFAULT '{}',
        text    TEXT
      );
      CREATE INDEX boot_trace_machine ON boot_trace(machine, id);
    `,
  },
  {
    version: 8,
    says: 'dashboard sessions: digests of the session id and of the token that signed in (http/ui/sessions.ts)',
    sql: `
      CREATE TABLE ui_sessions (
        id_digest    TEXT PRIMARY KEY,
        token_digest TEXT NOT NULL,
        csrf         TEXT NOT NULL,
        created_at   TEXT NOT NULL,
        seen_at      TEXT NOT NULL
      );
      CREATE INDEX ui_sessions_created ON ui_sessions(created_at);
    `,
  },
];

export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
