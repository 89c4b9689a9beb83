/**
 * @module
 * The PostgreSQL schema, as numbered migrations applied in order at open, and the migrator.
 * Never edit a migration that has shipped: add the next number. The table `migrations` in the
 * store's schema records what was applied.
 *
 * Several processes may start at once against a new database. The migrator holds a session-level
 * `pg_advisory_lock` keyed on the schema name while it reads the version and applies what is
 * missing, so exactly one of them migrates and the others then find nothing to do. Each migration
 * runs in its own transaction with its version row, so a failure leaves the schema at the last
 * complete version.
 *
 * The schema mirrors SQLite's (`../sqlite/migrations.ts`): times are epoch milliseconds in
 * `bigint`, payloads and headers are `json` (kept as sent, unlike `jsonb`).
 */
import type { PoolClient } from 'pg'

/** `s` is the quoted schema name; every object lives in it. */
export const migrations: { version: number; sql: (s: string) => string }[] = [
  {
    version: 1,
    sql: (s) => /* sql */ `
      CREATE TABLE ${s}.events (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        source text NOT NULL,
        id text NOT NULL,
        type text NOT NULL,
        payload json NOT NULL,
        headers json NOT NULL,
        received_at bigint NOT NULL,
        duplicate_deliveries integer NOT NULL DEFAULT 0,
        UNIQUE (source, id)
      );
      CREATE INDEX events_received_at ON ${s}.events (received_at);
      CREATE INDEX events_type ON ${s}.events (type, seq);

      CREATE TABLE ${s}.runs (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        event_seq bigint NOT NULL REFERENCES ${s}.events (seq),
        action text NOT NULL,
        state text NOT NULL CHECK (state IN ('pending', 'running', 'succeeded', 'retrying', 'dead')),
        attempts integer NOT NULL DEFAULT 0,
        max_attempts integer NOT NULL,
        ordering_key text,
        run_at bigint NOT NULL,
        lease_expires_at bigint,
        worker_id text,
        last_error text,
        replay_of bigint REFERENCES ${s}.runs (id),
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL
      );
      -- Claiming scans only unfinished runs, however many finished ones accumulate.
      CREATE INDEX runs_unfinished ON ${s}.runs (action, id)
        WHERE state IN ('pending', 'retrying', 'running');
      CREATE INDEX runs_ordering_key ON ${s}.runs (action, ordering_key, id)
        WHERE ordering_key IS NOT NULL AND state IN ('pending', 'retrying', 'running');
      -- Expired leases (reclaim, burial) without reading every unfinished run.
      CREATE INDEX runs_leases ON ${s}.runs (action, lease_expires_at) WHERE state = 'running';
      -- "Is a run of this key running?" without reading the key's whole queue.
      CREATE INDEX runs_running_key ON ${s}.runs (action, ordering_key)
        WHERE ordering_key IS NOT NULL AND state = 'running';
      CREATE INDEX runs_state ON ${s}.runs (state, id);
      CREATE INDEX runs_event_seq ON ${s}.runs (event_seq);
      CREATE INDEX runs_replay_of ON ${s}.runs (replay_of) WHERE replay_of IS NOT NULL;

      CREATE TABLE ${s}.attempts (
        run_id bigint NOT NULL REFERENCES ${s}.runs (id),
        number integer NOT NULL,
        worker_id text NOT NULL,
        started_at bigint NOT NULL,
        ended_at bigint,
        outcome text CHECK (outcome IN ('succeeded', 'failed', 'dead', 'interrupted')),
        error_message text,
        error_stack text,
        PRIMARY KEY (run_id, number)
      );
    `,
  },
  {
    version: 2,
    sql: (s) => /* sql */ `
      -- Calls to external resources (POST /external/<name>), recorded in batches off the response
      -- path; the same columns as SQLite's, so storehook db copy carries them over. No CHECK on
      -- outcome or fallback: new values must not need a migration. The answer stays text, not
      -- json: it is kept as sent, and a record that is not JSON must still be storable.
      CREATE TABLE ${s}.external_calls (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        resource text NOT NULL,
        kind text NOT NULL,
        started_at bigint NOT NULL,
        duration_ms double precision NOT NULL,
        input_digest text NOT NULL,
        status integer NOT NULL,
        outcome text NOT NULL,
        fallback text NOT NULL,
        answer text NOT NULL,
        error text
      );
      CREATE INDEX external_calls_resource ON ${s}.external_calls (resource, id);
      CREATE INDEX external_calls_started_at ON ${s}.external_calls (started_at);
      CREATE INDEX external_calls_input_digest ON ${s}.external_calls (input_digest, id);
    `,
  },
  {
    version: 3,
    sql: (s) => /* sql */ `
      -- Loop suppression (ctx.loopGuard): one fingerprint per key, replaced by each newer one.
      CREATE TABLE ${s}.fingerprints (
        key text PRIMARY KEY,
        digest text NOT NULL,
        expires_at bigint NOT NULL
      );
      CREATE INDEX fingerprints_expires_at ON ${s}.fingerprints (expires_at);
    `,
  },
  {
    version: 4,
    sql: (s) => /* sql */ `
      -- Durable steps (ctx.step): a finished step's result, replayed by later attempts of the run.
      CREATE TABLE ${s}.steps (
        run_id bigint NOT NULL REFERENCES ${s}.runs (id),
        name text NOT NULL,
        attempt integer NOT NULL,
        result text NOT NULL,
        finished_at bigint NOT NULL,
        PRIMARY KEY (run_id, name)
      );

      -- The stale-update guard: the newest version delivered per (action, ordering key).
      CREATE TABLE ${s}.entity_versions (
        action text NOT NULL,
        ordering_key text NOT NULL,
        version text NOT NULL,
        updated_at bigint NOT NULL,
        PRIMARY KEY (action, ordering_key)
      );

      -- The 'skipped' state and outcome, the 'paused' outcome; a paused run is stored as
      -- 'retrying' with paused_on set and run_at far away (see SQLite's migration 4).
      ALTER TABLE ${s}.runs DROP CONSTRAINT runs_state_check;
      ALTER TABLE ${s}.runs ADD CONSTRAINT runs_state_check
        CHECK (state IN ('pending', 'running', 'succeeded', 'retrying', 'dead', 'skipped'));
      ALTER TABLE ${s}.runs ADD COLUMN paused_on text;
      CREATE INDEX runs_paused_on ON ${s}.runs (paused_on, id) WHERE paused_on IS NOT NULL;
      ALTER TABLE ${s}.attempts DROP CONSTRAINT attempts_outcome_check;
      ALTER TABLE ${s}.attempts ADD CONSTRAINT attempts_outcome_check
        CHECK (outcome IN ('succeeded', 'failed', 'dead', 'interrupted', 'paused', 'skipped'));

      -- Flow control shared by every process (rate budgets and concurrency caps of connections):
      -- a budget of N is N slot rows; a slot may be taken from free_at (epoch ms) on.
      CREATE TABLE ${s}.budget_slots (
        budget text NOT NULL,
        slot integer NOT NULL,
        free_at bigint NOT NULL,
        holder text,
        PRIMARY KEY (budget, slot)
      );
    `,
  },
  {
    version: 5,
    sql: (s) => /* sql */ `
      -- Activation records of App Builder actions (see SQLite's migration 5). No foreign key to
      -- runs: a record may outlive its run's retention, and is written off the run's transaction.
      CREATE TABLE ${s}.activations (
        seq bigserial PRIMARY KEY,
        activation_id text NOT NULL UNIQUE,
        action text NOT NULL,
        cause text NOT NULL,
        started_at bigint NOT NULL,
        ended_at bigint NOT NULL,
        status text NOT NULL,
        result text NOT NULL,
        logs text NOT NULL,
        left_work boolean NOT NULL,
        run_id bigint,
        attempt integer
      );
      CREATE INDEX activations_started_at ON ${s}.activations (started_at);
      CREATE INDEX activations_action ON ${s}.activations (action, started_at);
      CREATE INDEX activations_run_id ON ${s}.activations (run_id) WHERE run_id IS NOT NULL;
    `,
  },
  {
    version: 6,
    sql: (s) => /* sql */ `
      -- A run's log lines, its outbound calls, payload removal and the expunge audit: see SQLite's
      -- migration 6 for what each column holds.
      CREATE TABLE ${s}.run_logs (
        seq bigserial PRIMARY KEY,
        run_id bigint NOT NULL,
        attempt integer NOT NULL,
        at bigint NOT NULL,
        level text NOT NULL,
        message text NOT NULL,
        fields text
      );
      CREATE INDEX run_logs_run ON ${s}.run_logs (run_id, seq);
      CREATE INDEX run_logs_at ON ${s}.run_logs (at);

      CREATE TABLE ${s}.outbound_calls (
        seq bigserial PRIMARY KEY,
        run_id bigint NOT NULL,
        attempt integer NOT NULL,
        connection text NOT NULL,
        method text NOT NULL,
        url text NOT NULL,
        status integer,
        started_at bigint NOT NULL,
        duration_ms double precision NOT NULL,
        error text,
        trace_id text
      );
      CREATE INDEX outbound_calls_run ON ${s}.outbound_calls (run_id, seq);
      CREATE INDEX outbound_calls_started_at ON ${s}.outbound_calls (started_at);

      ALTER TABLE ${s}.events ADD COLUMN payload_removed_at bigint;

      CREATE TABLE ${s}.expunges (
        id bigserial PRIMARY KEY,
        at bigint NOT NULL,
        requested_by text NOT NULL,
        subject_kind text NOT NULL,
        subject_digest text NOT NULL,
        removed text NOT NULL
      );
      CREATE INDEX expunges_at ON ${s}.expunges (at);
    `,
  },
  {
    version: 7,
    sql: (s) => /* sql */ `
      -- The dashboard's filters on a big store: see SQLite's migration 7.
      CREATE INDEX events_source ON ${s}.events (source, seq);
      -- Free text in ids (LIKE '%…%') through a trigram index, where pg_trgm can be had: it ships
      -- with PostgreSQL and is trusted (a database owner may create it). Without it the search
      -- still works, by scanning the events.
      DO $$
      DECLARE trgm_schema name;
      BEGIN
        BEGIN
          CREATE EXTENSION IF NOT EXISTS pg_trgm;
        EXCEPTION WHEN OTHERS THEN
          RAISE NOTICE 'pg_trgm is not available (%): searching event ids will scan the events', SQLERRM;
        END;
        SELECT n.nspname INTO trgm_schema FROM pg_extension x JOIN pg_namespace n ON n.oid = x.extnamespace
          WHERE x.extname = 'pg_trgm';
        IF trgm_schema IS NOT NULL THEN
          EXECUTE format('CREATE INDEX events_id_trgm ON %s.events USING gin (id %I.gin_trgm_ops)', '${s}', trgm_schema);
        END IF;
      END $$;
      DROP INDEX ${s}.events_received_at;
      CREATE INDEX events_received_at ON ${s}.events (received_at, source);

      ALTER TABLE ${s}.runs ADD COLUMN source text NOT NULL DEFAULT '';
      ALTER TABLE ${s}.runs ADD COLUMN event_type text NOT NULL DEFAULT '';
      UPDATE ${s}.runs r SET source = e.source, event_type = e.type FROM ${s}.events e WHERE e.seq = r.event_seq;
      CREATE INDEX runs_source ON ${s}.runs (source, id);
      CREATE INDEX runs_event_type ON ${s}.runs (event_type, id);
      CREATE INDEX runs_action ON ${s}.runs (action, id);
    `,
  },
  {
    version: 8,
    sql: (s) => /* sql */ `
      -- Waiting runs by due time: claims read the due ones in order and the next due time is the
      -- first entry per action, however many runs wait for a later retry (SQLite's migration 8;
      -- runs_leases already exists here). Nothing reads runs_unfinished any more.
      CREATE INDEX runs_due ON ${s}.runs (action, run_at, id) WHERE state IN ('pending', 'retrying');
      DROP INDEX ${s}.runs_unfinished;
    `,
  },
]

export const LATEST_VERSION = migrations.at(-1)!.version

/**
 * Brings the schema up to date, creating it if needed. Safe to call from many processes at once.
 *
 * @param schema the unquoted schema name (already validated as a plain identifier)
 * @returns the versions this call applied (empty when another process had already migrated)
 */
export async function migrate(client: PoolClient, schema: string): Promise<number[]> {
  const s = `"${schema}"`
  const lockKey = `storehook:migrate:${schema}`
  await client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [lockKey])
  try {
    // Only create it when missing: a role allowed to use an existing schema may not create schemas.
    const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])
    if (exists.rowCount === 0) await client.query(`CREATE SCHEMA ${s}`)
    await client.query(`CREATE TABLE IF NOT EXISTS ${s}.migrations (
      version integer PRIMARY KEY,
      applied_at bigint NOT NULL
    )`)
    const { rows } = await client.query<{ current: number | null }>(`SELECT max(version) AS current FROM ${s}.migrations`)
    const current = rows[0]?.current ?? 0
    if (current > LATEST_VERSION) {
      throw new Error(
        `the PostgreSQL schema "${schema}" was written by a newer storehook (schema ${current}, this one knows up to ` +
          `${LATEST_VERSION}); upgrade storehook`,
      )
    }
    const applied: number[] = []
    for (const migration of migrations) {
      if (migration.version <= current) continue
      await client.query('BEGIN')
      try {
        await client.query(migration.sql(s))
        await client.query(`INSERT INTO ${s}.migrations (version, applied_at) VALUES ($1, $2)`, [
          migration.version,
          Date.now(),
        ])
        await client.query('COMMIT')
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {})
        throw new Error(`migration ${migration.version} of the PostgreSQL schema "${schema}" failed: ${(error as Error).message}`, {
          cause: error,
        })
      }
      applied.push(migration.version)
    }
    return applied
  } finally {
    await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [lockKey]).catch(() => {})
  }
}
