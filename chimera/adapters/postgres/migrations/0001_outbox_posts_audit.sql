-- Chimera's own tables. LangGraph's checkpoint tables are created by PostgresSaver.setup().

CREATE TABLE chimera_threads (
    thread_id   text PRIMARY KEY,
    persona_id  text NOT NULL,
    goal        text NOT NULL,
    status      text NOT NULL CHECK (status IN ('running', 'interrupted', 'completed', 'failed')),
    models      jsonb NOT NULL DEFAULT '{}'::jsonb,
    error       text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX chimera_threads_status ON chimera_threads (status, updated_at DESC);

-- One row per post that passed the gate; the key (thread:task:attempt) makes a
-- replayed publish a no-op.
CREATE TABLE chimera_outbox (
    id               bigserial PRIMARY KEY,
    idempotency_key  text NOT NULL UNIQUE,
    thread_id        text NOT NULL,
    task_id          text NOT NULL,
    attempt          integer NOT NULL,
    persona_id       text NOT NULL,
    handle           text NOT NULL,
    platform         text NOT NULL,
    text             text NOT NULL,
    review           text NOT NULL CHECK (review IN ('none', 'async', 'human')),
    confidence       double precision NOT NULL,
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered')),
    created_at       timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz
);
CREATE INDEX chimera_outbox_thread ON chimera_outbox (thread_id);

-- The sandbox platform: where posts land until real platforms come over MCP.
CREATE TABLE chimera_posts (
    post_id       text PRIMARY KEY,
    outbox_id     bigint NOT NULL UNIQUE REFERENCES chimera_outbox (id),
    platform      text NOT NULL,
    handle        text NOT NULL,
    text          text NOT NULL,
    review        text NOT NULL,
    review_status text NOT NULL DEFAULT 'none'
        CHECK (review_status IN ('none', 'pending', 'approved', 'reviewed')),
    published_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE chimera_audit (
    id          bigserial PRIMARY KEY,
    thread_id   text NOT NULL,
    task_id     text,
    event       text NOT NULL,
    actor       text NOT NULL,
    payload     jsonb NOT NULL DEFAULT '{}'::jsonb,
    dedupe_key  text UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX chimera_audit_thread ON chimera_audit (thread_id, id);
