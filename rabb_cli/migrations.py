"""Ordered, named schema migrations.

Each migration runs once, in its own transaction, and is recorded by name in the
`schema_migration` table; `PRAGMA user_version` holds their count. Migrations only
add: a new table, column or index. None drops or rewrites user data, and a
database that already holds data is copied to a backup file before any migration
runs on it.

To change the schema, append a migration; never edit or reorder one that shipped.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    name: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "0001_create_posts",
        (
            """
            CREATE TABLE post (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                uid VARCHAR NOT NULL UNIQUE,
                text VARCHAR NOT NULL,
                status VARCHAR NOT NULL,
                media JSON NOT NULL DEFAULT '[]',
                scheduled_for VARCHAR(27),
                published_at VARCHAR(27),
                late_post_id VARCHAR,
                failure_reason VARCHAR,
                attempts INTEGER NOT NULL DEFAULT 0,
                next_attempt_at VARCHAR(27),
                revision INTEGER NOT NULL DEFAULT 1,
                claimed_at VARCHAR(27),
                claimed_by VARCHAR,
                created_at VARCHAR(27) NOT NULL,
                updated_at VARCHAR(27) NOT NULL
            )
            """,
            # Serves the due query of run-due and the date ranges of list and
            # calendar.
            "CREATE INDEX ix_post_status_scheduled ON post (status, scheduled_for)",
            "CREATE INDEX ix_post_scheduled ON post (scheduled_for)",
            """
            CREATE TABLE target (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                post_id INTEGER NOT NULL REFERENCES post (id) ON DELETE CASCADE,
                position INTEGER NOT NULL DEFAULT 0,
                platform VARCHAR NOT NULL,
                account VARCHAR,
                account_id VARCHAR,
                text VARCHAR,
                status VARCHAR NOT NULL DEFAULT 'pending',
                url VARCHAR,
                error VARCHAR,
                platform_post_id VARCHAR,
                published_at VARCHAR(27)
            )
            """,
            "CREATE INDEX ix_target_post ON target (post_id)",
        ),
    ),
    Migration(
        "0002_add_publishing",
        (
            # The idempotency key of an attempt whose outcome is unknown (a timeout,
            # a dropped connection, a killed run). Retries reuse it until Late answers.
            "ALTER TABLE post ADD COLUMN attempt_key VARCHAR",
            # Late's own status of the post while Late is still publishing it.
            "ALTER TABLE post ADD COLUMN late_status VARCHAR",
            # The reason of the last failed attempt of a post that will be retried.
            "ALTER TABLE post ADD COLUMN last_error VARCHAR",
            # Serves the due query's search for stopped runs and pending checks.
            "CREATE INDEX ix_post_status_next ON post (status, next_attempt_at)",
            """
            CREATE TABLE run (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                started_at VARCHAR(27) NOT NULL,
                finished_at VARCHAR(27),
                pid INTEGER NOT NULL,
                status VARCHAR NOT NULL,
                error VARCHAR,
                publisher VARCHAR,
                due INTEGER NOT NULL DEFAULT 0,
                published INTEGER NOT NULL DEFAULT 0,
                partial INTEGER NOT NULL DEFAULT 0,
                failed INTEGER NOT NULL DEFAULT 0,
                retrying INTEGER NOT NULL DEFAULT 0,
                waiting INTEGER NOT NULL DEFAULT 0
            )
            """,
            "CREATE INDEX ix_run_started ON run (started_at)",
            """
            CREATE TABLE account (
                id VARCHAR PRIMARY KEY,
                platform VARCHAR NOT NULL,
                username VARCHAR,
                display_name VARCHAR,
                profile_id VARCHAR,
                active BOOLEAN NOT NULL DEFAULT 1,
                can_post BOOLEAN NOT NULL DEFAULT 1,
                fetched_at VARCHAR(27) NOT NULL
            )
            """,
        ),
    ),
    Migration(
        "0003_add_alerts_and_retry",
        (
            # How many times the post ended FAILED or PARTIAL. Each failure gets one
            # alert, and a retry after failure N gets an idempotency key of its own.
            "ALTER TABLE post ADD COLUMN failures INTEGER NOT NULL DEFAULT 0",
            # The revision of the content that the Late post `late_post_id` carries,
            # so a retry can tell whether Late's copy is still the current text.
            "ALTER TABLE post ADD COLUMN late_revision INTEGER",
            # Edits bump the revision and are recorded nowhere else, so Late's copy
            # of an existing post is taken to be the current revision.
            "UPDATE post SET late_revision = revision WHERE late_post_id IS NOT NULL",
            # Late's errorCategory of a failed target, such as auth_expired.
            "ALTER TABLE target ADD COLUMN error_category VARCHAR",
            """
            CREATE TABLE alert_email (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                idempotency_key VARCHAR NOT NULL UNIQUE,
                status VARCHAR NOT NULL,
                digest BOOLEAN NOT NULL DEFAULT 0,
                recipient VARCHAR NOT NULL,
                sender VARCHAR NOT NULL,
                subject VARCHAR NOT NULL,
                html VARCHAR NOT NULL,
                text VARCHAR NOT NULL,
                resend_id VARCHAR,
                last_error VARCHAR,
                attempts INTEGER NOT NULL DEFAULT 0,
                created_at VARCHAR(27) NOT NULL,
                next_attempt_at VARCHAR(27),
                sent_at VARCHAR(27),
                claimed_by VARCHAR,
                claimed_at VARCHAR(27)
            )
            """,
            # Serves the due query's search for emails to send again.
            "CREATE INDEX ix_alert_email_status_next"
            " ON alert_email (status, next_attempt_at)",
            """
            CREATE TABLE alert (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                post_id INTEGER NOT NULL REFERENCES post (id) ON DELETE CASCADE,
                failure INTEGER NOT NULL,
                run_id INTEGER,
                created_at VARCHAR(27) NOT NULL,
                alert_email_id INTEGER REFERENCES alert_email (id),
                UNIQUE (post_id, failure)
            )
            """,
            # Serves the due query's search for alerts no email carries yet.
            "CREATE INDEX ix_alert_unsent ON alert (alert_email_id, created_at)",
        ),
    ),
    Migration(
        "0004_add_unknown_outcome_tracking",
        (
            # The request a run claimed the post for: create, late_retry or check. A
            # run that takes over a stale claim sends that request again.
            "ALTER TABLE post ADD COLUMN claim_kind VARCHAR",
            # When `attempt_key` was first sent. Late recognizes a key for 24 hours.
            "ALTER TABLE post ADD COLUMN attempt_sent_at VARCHAR(27)",
            # The first send of a key from before this migration was not recorded.
            # The post cannot have been sent before it was created, so taking that
            # time never makes the key look younger than it is.
            "UPDATE post SET attempt_sent_at = created_at"
            " WHERE attempt_key IS NOT NULL",
            # Set while Late may still publish `late_post_id` without rabb knowing:
            # a retry request to Late got no answer, or Late had not finished when
            # rabb stopped checking.
            "ALTER TABLE post ADD COLUMN late_unsettled BOOLEAN NOT NULL DEFAULT 0",
            # When Late first answered that it was still publishing the post.
            "ALTER TABLE post ADD COLUMN waiting_since VARCHAR(27)",
            # Set once an attempt got no clear answer, so Resend may have sent the
            # email.
            "ALTER TABLE alert_email ADD COLUMN outcome_unknown BOOLEAN NOT NULL"
            " DEFAULT 0",
            # Earlier attempts of a pending email were not recorded as known or
            # unknown, so any attempt made counts as one that may have sent it.
            "UPDATE alert_email SET outcome_unknown = 1"
            " WHERE status = 'pending' AND attempts > 0",
        ),
    ),
    Migration(
        "0005_count_failures_per_alert_email",
        (
            # How many failures the email covered when it was queued. The alerts of
            # a deleted post are deleted with it, so fewer alert rows than this
            # mean that a post the email is about no longer exists.
            "ALTER TABLE alert_email ADD COLUMN covered INTEGER NOT NULL DEFAULT 0",
            # Posts deleted before this migration cannot be counted any more.
            "UPDATE alert_email SET covered ="
            " (SELECT COUNT(*) FROM alert WHERE alert.alert_email_id = alert_email.id)",
        ),
    ),
)
