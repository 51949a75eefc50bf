// Versioned schema migrations for PostgreSQL, numbered on their own (not SQLite's numbers: the
// first one here is SQLite's 1–5 as one schema). Each runs in its own transaction with its row in
// rackhand_migrations, under an advisory lock (migrate.ts), so a crash mid-migration leaves the
// previous version and two daemons starting at once apply each migration once. Never edit a
// migration that has shipped: add the next one.
//
// Where PostgreSQL differs from the SQLite schema, and why:
//   times        timestamptz, written and read as the same ISO strings the records carry (rows.ts);
//   JSON         jsonb (tags, power, facts, boot facts, progress, event data, constraints, the
//                allocation's machine list, searched with `?`);
//   flags        boolean (machines.accepted);
//   keys         names, MACs, addresses and ids are text COLLATE "C", so ORDER BY sorts bytewise as
//                SQLite does, whatever the database's locale;
//   ids          events.id and operations.seq are identity columns (SQLite's rowid gave the order
//                of operations created in one millisecond);
//   leases       expires_at/updated_at bigint (milliseconds, as the records);
//   allocations  a GIN index on the machine list;
//   operations   a unique index lets at most one operation per machine run (SQLite relies on the
//                transition code alone);
//   U+0000       text and jsonb cannot hold it: written as U+FFFD (db.ts).

export interface Migration {
  version: number;
  says: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    says: 'machines, events, leases, operations (boot nonces, agent tokens), allocations, tenant API tokens',
    sql: `
      CREATE TABLE machines (
        name             text COLLATE "C" PRIMARY KEY,
        mac              text COLLATE "C" NOT NULL,
        ip               text COLLATE "C",
        hostname         text NOT NULL,
        profile          text,
        tags             jsonb NOT NULL DEFAULT '[]',
        power            jsonb NOT NULL DEFAULT '{}',
        state            text NOT NULL,
        previous_state   text,
        last_error       text,
        owner            text COLLATE "C",
        deploy_profile   text,
        facts            jsonb,
        boot_facts       jsonb,
        source           text NOT NULL DEFAULT 'inventory' CHECK (source IN ('inventory', 'discovered')),
        retired_at       timestamptz,
        state_changed_at timestamptz NOT NULL,
        created_at       timestamptz NOT NULL,
        updated_at       timestamptz NOT NULL,
        version          integer NOT NULL DEFAULT 1,
        -- Allocatable: inventory machines always, discovered ones once an operator accepts them.
        accepted         boolean NOT NULL DEFAULT true
      );
      -- A MAC belongs to one live machine; a retired machine keeps its MAC in its history.
      CREATE UNIQUE INDEX machines_live_mac ON machines (mac) WHERE retired_at IS NULL;
      CREATE INDEX machines_state ON machines (state);
      CREATE INDEX machines_pending ON machines (source, accepted) WHERE retired_at IS NULL;

      CREATE TABLE events (
        id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        time       timestamptz NOT NULL,
        machine    text COLLATE "C",
        kind       text NOT NULL,
        event      text,
        from_state text,
        to_state   text,
        cause      text,
        actor      text NOT NULL,
        data       jsonb
      );
      CREATE INDEX events_machine ON events (machine, id);
      CREATE INDEX events_time ON events (time);

      -- One lease per MAC, one holder per address: two writers can never hold the same address.
      CREATE TABLE leases (
        mac        text COLLATE "C" PRIMARY KEY,
        ip         text COLLATE "C" NOT NULL UNIQUE,
        state      text NOT NULL,
        expires_at bigint NOT NULL,
        hostname   text,
        machine    text COLLATE "C",
        updated_at bigint NOT NULL
      );
      CREATE INDEX leases_expiry ON leases (expires_at);

      -- Digests (sha256 hex) only: the boot nonce and the agent token themselves are never stored.
      CREATE TABLE operations (
        seq              bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
        id               text COLLATE "C" PRIMARY KEY,
        machine          text COLLATE "C" NOT NULL REFERENCES machines (name) ON UPDATE CASCADE,
        kind             text NOT NULL,
        token            text COLLATE "C" NOT NULL UNIQUE,
        state            text NOT NULL,
        step             text,
        progress         jsonb,
        error            text,
        created_at       timestamptz NOT NULL,
        finished_at      timestamptz,
        nonce_digest     text COLLATE "C",
        nonce_expires_at timestamptz,
        nonce_traded_at  timestamptz,
        agent_digest     text COLLATE "C"
      );
      CREATE INDEX operations_machine ON operations (machine, created_at, seq);
      -- At most one operation runs per machine: a bug that started a second one fails loudly.
      CREATE UNIQUE INDEX operations_running ON operations (machine) WHERE state = 'running';
      CREATE INDEX operations_nonce ON operations (nonce_digest);
      CREATE INDEX operations_agent ON operations (agent_digest);

      CREATE TABLE allocations (
        id          text COLLATE "C" PRIMARY KEY,
        owner       text COLLATE "C" NOT NULL,
        profile     text NOT NULL,
        constraints jsonb NOT NULL DEFAULT '{}',
        machines    jsonb NOT NULL DEFAULT '[]',
        -- active | released; what the machines are doing is derived from them, not stored here
        state       text NOT NULL,
        actor       text NOT NULL,
        created_at  timestamptz NOT NULL,
        released_at timestamptz
      );
      CREATE INDEX allocations_owner ON allocations (owner, created_at);
      CREATE INDEX allocations_machines ON allocations USING gin (machines);

      -- Tokens an admin creates for a tenant; only the sha256 of the secret is kept.
      CREATE TABLE api_tokens (
        name         text COLLATE "C" PRIMARY KEY,
        owner        text COLLATE "C" NOT NULL,
        digest       text COLLATE "C" NOT NULL UNIQUE,
        created_by   text NOT NULL,
        created_at   timestamptz NOT NULL,
        expires_at   timestamptz,
        revoked_at   timestamptz,
        last_used_at timestamptz
      );
    `,
  },
  {
    version: 2,
    says: 'racks: each machine\'s rack, rack heartbeats, durable per-machine work with claims',
    sql: `
      ALTER TABLE machines ADD COLUMN rack text COLLATE "C";
      CREATE TABLE racks (
        name         text COLLATE "C" PRIMARY KEY,
        daemon       text COLLATE "C" NOT NULL,
        info         jsonb NOT NULL DEFAULT '{}',
        started_at   timestamptz NOT NULL,
        -- the server's clock (now()), never a daemon's: one clock judges every rack's silence
        heartbeat_at timestamptz NOT NULL,
        stopped_at   timestamptz
      );
      -- A transition that starts an operation enqueues its boot here in the same transaction;
      -- daemons claim rows with FOR UPDATE SKIP LOCKED and a lease (claimed_until, server clock).
      CREATE TABLE work (
        id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        machine       text COLLATE "C" NOT NULL,
        operation     text COLLATE "C" NOT NULL,
        kind          text NOT NULL,
        -- takeover work: the silent daemon it stands in for (one takeover per operation and daemon)
        cause         text COLLATE "C" NOT NULL DEFAULT '',
        created_at    timestamptz NOT NULL,
        claimed_by    text COLLATE "C",
        claimed_until timestamptz,
        attempts      integer NOT NULL DEFAULT 0,
        step          text,
        done_at       timestamptz,
        outcome       text
      );
      CREATE INDEX work_open ON work (id) WHERE done_at IS NULL;
      CREATE UNIQUE INDEX work_once ON work (operation, kind, cause);
    `,
  },
  {
    version: 3,
    says: 'boot trace: each machine\'s latest DHCP, TFTP and HTTP boot steps (core/boot-trace.ts)',
    sql: `
      -- Written by the daemon serving the machine's rack, read by any daemon's API and dashboard.
      CREATE TABLE boot_trace (
        id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        machine text COLLATE "C" NOT NULL,
        at      timestamptz NOT NULL,
        kind    text NOT NULL,
        outcome text NOT NULL,
        summary text NOT NULL,
        detail  jsonb NOT NULL DEFAULT '{}',
        text    text
      );
      CREATE INDEX boot_trace_machine ON boot_trace (machine, id);
    `,
  },
  {
    version: 4,
    says: 'dashboard sessions: digests of the session id and of the token that signed in (http/ui/sessions.ts)',
    sql: `
      -- Any daemon of the site knows a session opened on another (a balancer may send a browser to either).
      CREATE TABLE ui_sessions (
        id_digest    text COLLATE "C" PRIMARY KEY,
        token_digest text NOT NULL,
        csrf         text NOT NULL,
        created_at   timestamptz NOT NULL,
        seen_at      timestamptz NOT NULL
      );
      CREATE INDEX ui_sessions_created ON ui_sessions (created_at);
    `,
  },
];

export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
