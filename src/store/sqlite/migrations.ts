/**
 * @module
 * The SQLite schema, as numbered migrations applied in order at open. Never edit a migration that
 * has shipped: add the next number. `PRAGMA user_version` records the last one applied.
 *
 * SQLite cannot alter a CHECK constraint, so a migration that widens one rebuilds the table as
 * https://sqlite.org/lang_altertable.html#otheralter describes; the runner turns foreign keys off
 * around migrations (they cannot be switched inside a transaction) and checks them before COMMIT.
 */

export const migrations: { version: number; sql: string }[] = [
  {
    version: 1,
    sql: /* sql */ `
      CREATE TABLE events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        source TEXT NOT NULL,
        id TEXT NOT NULL,
        type TEXT NOT NULL,
        payload TEXT NOT NULL,
        headers TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        duplicate_deliveries INTEGER NOT NULL DEFAULT 0,
        UNIQUE (source, id)
      );
      CREATE INDEX events_received_at ON events (received_at);
      CREATE INDEX events_type ON events (type, seq);

      CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        event_seq INTEGER NOT NULL REFERENCES events (seq),
        action TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'succeeded', 'retrying', 'dead')),
        attempts INTEGER NOT NULL DEFAULT 0,
        max_attempts INTEGER NOT NULL,
        ordering_key TEXT,
        run_at INTEGER NOT NULL,
        lease_expires_at INTEGER,
        worker_id TEXT,
        last_error TEXT,
        replay_of INTEGER REFERENCES runs (id),
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
      -- Claiming scans only unfinished runs, however many finished ones accumulate.
      CREATE INDEX runs_unfinished ON runs (action, id)
        WHERE state IN ('pending', 'retrying', 'running');
      CREATE INDEX runs_ordering_key ON runs (action, ordering_key, id)
        WHERE ordering_key IS NOT NULL AND state IN ('pending', 'retrying', 'running');
      CREATE INDEX runs_state ON runs (state, id);
      CREATE INDEX runs_event_seq ON runs (event_seq);
      CREATE INDEX runs_replay_of ON runs (replay_of) WHERE replay_of IS NOT NULL;

      CREATE TABLE attempts (
        run_id INTEGER NOT NULL REFERENCES runs (id),
        number INTEGER NOT NULL,
        worker_id TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        ended_at INTEGER,
        outcome TEXT CHECK (outcome IN ('succeeded', 'failed', 'dead', 'interrupted')),
        error_message TEXT,
        error_stack TEXT,
        PRIMARY KEY (run_id, number)
      );
    `,
  },
  {
    version: 2,
    sql: /* sql */ `
      -- Calls to external resources (POST /external/<name>), recorded in batches off the response
      -- path. No CHECK on outcome or fallback: new values must not need a migration.
      CREATE TABLE external_calls (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        resource TEXT NOT NULL,
        kind TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        duration_ms REAL NOT NULL,
        input_digest TEXT NOT NULL,
        status INTEGER NOT NULL,
        outcome TEXT NOT NULL,
        fallback TEXT NOT NULL,
        answer TEXT NOT NULL,
        error TEXT
      );
      CREATE INDEX external_calls_resource ON external_calls (resource, id);
      CREATE INDEX external_calls_started_at ON external_calls (started_at);
      CREATE INDEX external_calls_input_digest ON external_calls (input_digest, id);
    `,
  },
  {
    version: 3,
    sql: /* sql */ `
      -- Loop suppression (ctx.loopGuard): one fingerprint per key, replaced by each newer one.
      CREATE TABLE fingerprints (
        key TEXT PRIMARY KEY,
        digest TEXT NOT NULL,
        expires_at INTEGER NOT NULL
      );
      CREATE INDEX fingerprints_expires_at ON fingerprints (expires_at);
    `,
  },
  {
    version: 4,
    sql: /* sql */ `
      -- Durable steps (ctx.step): a finished step's result, replayed by later attempts of the run.
      CREATE TABLE steps (
        run_id INTEGER NOT NULL REFERENCES runs (id),
        name TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        result TEXT NOT NULL,
        finished_at INTEGER NOT NULL,
        PRIMARY KEY (run_id, name)
      );

      -- The stale-update guard: the newest version delivered per (action, ordering key).
      CREATE TABLE entity_versions (
        action TEXT NOT NULL,
        ordering_key TEXT NOT NULL,
        version TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (action, ordering_key)
      );

      -- runs gains the 'skipped' state and paused_on (a paused run is stored as 'retrying' with
      -- paused_on set and run_at far away, so claiming and ordering keys treat it as waiting).
      CREATE TABLE runs_new (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        event_seq INTEGER NOT NULL REFERENCES events (seq),
        action TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'succeeded', 'retrying', 'dead', 'skipped')),
        attempts INTEGER NOT NULL DEFAULT 0,
        max_attempts INTEGER NOT NULL,
        ordering_key TEXT,
        run_at INTEGER NOT NULL,
        lease_expires_at INTEGER,
        worker_id TEXT,
        last_error TEXT,
        replay_of INTEGER REFERENCES runs (id),
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        paused_on TEXT
      );
      INSERT INTO runs_new (id, event_seq, action, state, attempts, max_attempts, ordering_key, run_at,
          lease_expires_at, worker_id, last_error, replay_of, created_at, updated_at)
        SELECT id, event_seq, action, state, attempts, max_attempts, ordering_key, run_at,
          lease_expires_at, worker_id, last_error, replay_of, created_at, updated_at FROM runs;
      DROP TABLE runs;
      ALTER TABLE runs_new RENAME TO runs;
      CREATE INDEX runs_unfinished ON runs (action, id)
        WHERE state IN ('pending', 'retrying', 'running');
      CREATE INDEX runs_ordering_key ON runs (action, ordering_key, id)
        WHERE ordering_key IS NOT NULL AND state IN ('pending', 'retrying', 'running');
      CREATE INDEX runs_state ON runs (state, id);
      CREATE INDEX runs_event_seq ON runs (event_seq);
      CREATE INDEX runs_replay_of ON runs (replay_of) WHERE replay_of IS NOT NULL;
      CREATE INDEX runs_paused_on ON runs (paused_on, id) WHERE paused_on IS NOT NULL;

      -- attempts gains the 'paused' and 'skipped' outcomes.
      CREATE TABLE attempts_new (
        run_id INTEGER NOT NULL REFERENCES runs (id),
        number INTEGER NOT NULL,
        worker_id TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        ended_at INTEGER,
        outcome TEXT CHECK (outcome IN ('succeeded', 'failed', 'dead', 'interrupted', 'paused', 'skipped')),
        error_message TEXT,
        error_stack TEXT,
        PRIMARY KEY (run_id, number)
      );
      INSERT INTO attempts_new SELECT * FROM attempts;
      DROP TABLE attempts;
      ALTER TABLE attempts_new RENAME TO attempts;
    `,
  },
  {
    version: 5,
    sql: /* sql */ `
      -- Activation records of App Builder actions: one invocation's result and console output.
      CREATE TABLE activations (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        activation_id TEXT NOT NULL UNIQUE,
        action TEXT NOT NULL,
        cause TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        ended_at INTEGER NOT NULL,
        status TEXT NOT NULL,
        result TEXT NOT NULL,
        logs TEXT NOT NULL,
        left_work INTEGER NOT NULL,
        run_id INTEGER,
        attempt INTEGER
      );
      CREATE INDEX activations_started_at ON activations (started_at);
      CREATE INDEX activations_action ON activations (action, started_at);
      CREATE INDEX activations_run_id ON activations (run_id) WHERE run_id IS NOT NULL;
    `,
  },
  {
    version: 6,
    sql: /* sql */ `
      -- A run's log lines: what its action wrote through ctx.logger and to the console during each
      -- attempt, redacted, so an operator can read and search them on the run's page. No foreign
      -- key to runs: lines are written off the run's transaction and may be removed apart.
      CREATE TABLE run_logs (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id INTEGER NOT NULL,
        attempt INTEGER NOT NULL,
        at INTEGER NOT NULL,
        -- pino's level names (trace … fatal), or 'stdout' / 'stderr' for console output.
        level TEXT NOT NULL,
        message TEXT NOT NULL,
        -- The line's structured fields as JSON, or NULL when it had none.
        fields TEXT
      );
      CREATE INDEX run_logs_run ON run_logs (run_id, seq);
      CREATE INDEX run_logs_at ON run_logs (at);

      -- The HTTP requests a run made through its connections (one row per request sent, retries
      -- of the request included), so the run's page shows what it called and what came back.
      CREATE TABLE outbound_calls (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id INTEGER NOT NULL,
        attempt INTEGER NOT NULL,
        connection TEXT NOT NULL,
        method TEXT NOT NULL,
        -- Query values of secret-looking parameters are redacted before storing.
        url TEXT NOT NULL,
        -- NULL when no response came (network error, timeout).
        status INTEGER,
        started_at INTEGER NOT NULL,
        duration_ms REAL NOT NULL,
        error TEXT,
        -- The W3C trace id the request carried, when tracing was on.
        trace_id TEXT
      );
      CREATE INDEX outbound_calls_run ON outbound_calls (run_id, seq);
      CREATE INDEX outbound_calls_started_at ON outbound_calls (started_at);

      -- Retention and expunge remove an event's payload but keep its row (the run history stays
      -- readable); this records when, and the payload becomes '{}'.
      ALTER TABLE events ADD COLUMN payload_removed_at INTEGER;

      -- What each expunge removed, kept after the data is gone. The subject (an email, an order
      -- id) is stored as a SHA-256 digest only, so the audit record holds no personal data.
      CREATE TABLE expunges (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        -- Who asked: 'cli', 'admin-api', 'dashboard'.
        requested_by TEXT NOT NULL,
        -- 'customer-email' or 'order-id'.
        subject_kind TEXT NOT NULL,
        subject_digest TEXT NOT NULL,
        -- JSON: per table, how many rows were changed or removed, and the event keys touched.
        removed TEXT NOT NULL
      );
      CREATE INDEX expunges_at ON expunges (at);
    `,
  },
  {
    version: 7,
    sql: /* sql */ `
      -- The dashboard's filters on a big store (bench/dashboard.ts, a million events): each filter
      -- has an index that yields its rows newest first, so a page of 50 neither sorts nor scans
      -- the table. Free text in ids scans events_id, which holds ids only, never the payloads.
      CREATE INDEX events_source ON events (source, seq);
      CREATE INDEX events_id ON events (id);
      -- Covers the overview's events per minute by source.
      DROP INDEX events_received_at;
      CREATE INDEX events_received_at ON events (received_at, source);

      -- A run carries its event's source and type (an event never changes them), so the runs
      -- page filters on them without a join that would sort every matching run.
      ALTER TABLE runs ADD COLUMN source TEXT NOT NULL DEFAULT '';
      ALTER TABLE runs ADD COLUMN event_type TEXT NOT NULL DEFAULT '';
      UPDATE runs SET (source, event_type) = (SELECT source, type FROM events WHERE seq = runs.event_seq);
      CREATE INDEX runs_source ON runs (source, id);
      CREATE INDEX runs_event_type ON runs (event_type, id);
      CREATE INDEX runs_action ON runs (action, id);
    `,
  },
  {
    version: 8,
    sql: /* sql */ `
      -- Claims and the next due time read what is due, in due order, and the leases, soonest
      -- first: they cost the same whether ten or a hundred thousand runs wait for a later retry
      -- (runs_unfinished made both scan every waiting run of the action: 35 ms per claim at
      -- 100 000, with a claim after every failed attempt).
      CREATE INDEX runs_due ON runs (action, run_at, id) WHERE state IN ('pending', 'retrying');
      CREATE INDEX runs_leases ON runs (action, lease_expires_at) WHERE state = 'running';
      DROP INDEX runs_unfinished;
    `,
  },
]
