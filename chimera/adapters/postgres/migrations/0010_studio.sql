-- The studio: users, sessions and failed sign-ins; prompt versions; async-review labels;
-- indexes for paging and filtering threads at scale.

CREATE TABLE chimera_users (
    name           text PRIMARY KEY,
    password_hash  text NOT NULL,
    roles          text[] NOT NULL DEFAULT '{}',
    created_at     timestamptz NOT NULL DEFAULT now()
);

-- Only a hash of each session token is kept: a read of this table signs nobody in.
CREATE TABLE chimera_sessions (
    token_hash  text PRIMARY KEY,
    user_name   text NOT NULL REFERENCES chimera_users (name) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX chimera_sessions_user ON chimera_sessions (user_name);

CREATE TABLE chimera_signin_failures (
    id         bigserial PRIMARY KEY,
    user_name  text NOT NULL,
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX chimera_signin_failures_user ON chimera_signin_failures (user_name, at DESC);

-- Each node's prompt versions; the files in prompts/ are the seed versions.
CREATE TABLE chimera_prompts (
    node        text NOT NULL,
    version     integer NOT NULL,
    text        text NOT NULL,
    source      text NOT NULL DEFAULT 'studio',
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (node, version)
);
CREATE TABLE chimera_prompt_defaults (
    node        text PRIMARY KEY,
    version     integer NOT NULL,
    promoted_by text NOT NULL,
    promoted_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (node, version) REFERENCES chimera_prompts (node, version)
);

-- Posts published under asynchronous review: a reviewer confirms or retracts each one.
ALTER TABLE chimera_posts DROP CONSTRAINT IF EXISTS chimera_posts_review_status_check;
ALTER TABLE chimera_posts ADD CONSTRAINT chimera_posts_review_status_check
    CHECK (review_status IN ('none', 'pending', 'approved', 'reviewed', 'confirmed', 'retracted'));
ALTER TABLE chimera_posts ADD COLUMN retracted_at timestamptz;
CREATE INDEX chimera_posts_review ON chimera_posts (review_status, published_at DESC);

-- Confirm/retract outcomes: calibration labels for the 0.7-0.9 band, which interrupts
-- alone would never label.
CREATE TABLE chimera_review_labels (
    post_id     text PRIMARY KEY REFERENCES chimera_posts (post_id),
    thread_id   text NOT NULL,
    task_id     text NOT NULL,
    attempt     integer NOT NULL,
    outcome     text NOT NULL CHECK (outcome IN ('confirm', 'retract')),
    actor       text NOT NULL,
    reason      text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX chimera_threads_updated ON chimera_threads (updated_at DESC);
CREATE INDEX chimera_threads_persona ON chimera_threads (persona_id, updated_at DESC);
CREATE INDEX chimera_threads_created ON chimera_threads (created_at DESC);
CREATE INDEX chimera_audit_event ON chimera_audit (event, id DESC);
CREATE INDEX chimera_audit_actor ON chimera_audit (actor, id DESC);
