"""The ledger's SQLite schema and its versioned migrations.

Each migration is applied once, in order, inside a transaction, and recorded in
``PRAGMA user_version``. Never edit a released migration: add a new one. Statements
are split on ';', so comments must not contain one.
"""

from __future__ import annotations

# the states of migration 1 (never edited: a released migration)
STATES_1 = ("pending", "sending", "published", "failed", "unknown", "missed", "skipped")
# every state now: migration 4 added `scheduled` (the network holds the post for its
# time: `schedule: network`)
STATES = (*STATES_1, "scheduled")

MIGRATIONS: tuple[str, ...] = (
    # 1: jobs, their history, and small key/value facts (daemon heartbeat, ...)
    f"""
    CREATE TABLE jobs (
        key              TEXT PRIMARY KEY,      -- calendar:post@account[#part]
        calendar         TEXT NOT NULL,
        post_id          TEXT NOT NULL,
        account          TEXT NOT NULL,
        part             INTEGER NOT NULL,
        network          TEXT NOT NULL,
        content_hash     TEXT NOT NULL,         -- of the content as the calendar has it now
        sent_hash        TEXT,                  -- of the content that was published
        scheduled_at     TEXT NOT NULL,         -- UTC, ISO 8601
        catch_up_s       INTEGER NOT NULL,
        state            TEXT NOT NULL CHECK (state IN {STATES_1!r}),
        reason           TEXT,                  -- why failed / unknown / missed / skipped
        attempts         INTEGER NOT NULL DEFAULT 0,
        next_attempt_at  TEXT,                  -- UTC, NULL = as soon as due
        maybe_sent_at    TEXT,                  -- first attempt that may have reached it
        deadline         TEXT,                  -- last moment to try, when sent on purpose
        idempotency_key  TEXT NOT NULL,         -- the same on every retry of this job
        remote_id        TEXT,
        url              TEXT,
        remote_ref       TEXT,                  -- network data a reply needs (JSON)
        claim_owner      TEXT,                  -- host/pid/start of the process sending it
        claimed_at       TEXT,
        claim_expires_at TEXT,
        created_at       TEXT NOT NULL,
        updated_at       TEXT NOT NULL,
        published_at     TEXT
    );
    CREATE INDEX jobs_due ON jobs (state, scheduled_at);
    CREATE INDEX jobs_post ON jobs (calendar, post_id, account, part);
    CREATE TABLE events (
        id      INTEGER PRIMARY KEY AUTOINCREMENT,
        at      TEXT NOT NULL,
        key     TEXT NOT NULL,
        event   TEXT NOT NULL,
        detail  TEXT
    );
    CREATE INDEX events_key ON events (key);
    CREATE TABLE meta (
        name   TEXT PRIMARY KEY,
        value  TEXT NOT NULL
    );
    """,
    # 2: who set a job's state. NULL: cmctl itself. 'human': `cmctl resolve`, `retry` or
    # `cancel` named this job. 'human via <job key>': a consequence of a human decision
    # on that job (the later parts of a thread whose part was settled by hand). A human
    # decision is final: the plan's edits never undo it; only a human reopens it.
    """
    ALTER TABLE jobs ADD COLUMN decided_by TEXT
    """,
    # 3: multi-step publishing: what an attempt saved before its next risky step (an
    # uploaded media id, a container id), handed back to the next attempt (JSON).
    """
    ALTER TABLE jobs ADD COLUMN checkpoint TEXT
    """,
    # 4: `schedule: network`: the state `scheduled` (the CHECK constraint changes, so the
    # table is rebuilt: new table, copy, drop, rename, indexes, all in the migration's
    # transaction) and `network_at`, the time the network holds the post for (UTC ISO).
    f"""
    CREATE TABLE jobs_4 (
        key              TEXT PRIMARY KEY,
        calendar         TEXT NOT NULL,
        post_id          TEXT NOT NULL,
        account          TEXT NOT NULL,
        part             INTEGER NOT NULL,
        network          TEXT NOT NULL,
        content_hash     TEXT NOT NULL,
        sent_hash        TEXT,
        scheduled_at     TEXT NOT NULL,
        catch_up_s       INTEGER NOT NULL,
        state            TEXT NOT NULL CHECK (state IN {STATES!r}),
        reason           TEXT,
        attempts         INTEGER NOT NULL DEFAULT 0,
        next_attempt_at  TEXT,
        maybe_sent_at    TEXT,
        deadline         TEXT,
        idempotency_key  TEXT NOT NULL,
        remote_id        TEXT,
        url              TEXT,
        remote_ref       TEXT,
        claim_owner      TEXT,
        claimed_at       TEXT,
        claim_expires_at TEXT,
        created_at       TEXT NOT NULL,
        updated_at       TEXT NOT NULL,
        published_at     TEXT,
        decided_by       TEXT,
        checkpoint       TEXT,
        network_at       TEXT
    );
    INSERT INTO jobs_4 (key, calendar, post_id, account, part, network, content_hash,
        sent_hash, scheduled_at, catch_up_s, state, reason, attempts, next_attempt_at,
        maybe_sent_at, deadline, idempotency_key, remote_id, url, remote_ref, claim_owner,
        claimed_at, claim_expires_at, created_at, updated_at, published_at, decided_by,
        checkpoint)
    SELECT key, calendar, post_id, account, part, network, content_hash,
        sent_hash, scheduled_at, catch_up_s, state, reason, attempts, next_attempt_at,
        maybe_sent_at, deadline, idempotency_key, remote_id, url, remote_ref, claim_owner,
        claimed_at, claim_expires_at, created_at, updated_at, published_at, decided_by,
        checkpoint FROM jobs;
    DROP TABLE jobs;
    ALTER TABLE jobs_4 RENAME TO jobs;
    CREATE INDEX jobs_due ON jobs (state, scheduled_at);
    CREATE INDEX jobs_post ON jobs (calendar, post_id, account, part)
    """,
    # 5: the jobs that were tried or wait for a retry time, by state and time: `status`
    # (retrying jobs, the next wake-up) reads them without scanning every pending row.
    # A query uses it only when its WHERE has the term RETRIED_SQL, word for word.
    """
    CREATE INDEX jobs_retry ON jobs (state, scheduled_at)
        WHERE attempts > 0 OR next_attempt_at IS NOT NULL
    """,
)
# the WHERE of migration 5's partial index, as a query must repeat it to use the index
RETRIED_SQL = "(attempts > 0 OR next_attempt_at IS NOT NULL)"
