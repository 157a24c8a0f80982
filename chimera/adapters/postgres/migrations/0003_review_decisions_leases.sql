-- One durable decision per interrupt: recorded before the graph resumes, so two
-- reviewers racing on one item cannot both win, and a resume killed mid-way is
-- completed by the next command that touches the thread.
CREATE TABLE chimera_review_decisions (
    thread_id     text NOT NULL,
    interrupt_id  text NOT NULL,
    task_id       text NOT NULL,
    attempt       integer NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('approve', 'edit', 'reject', 'retry')),
    reviewer      text NOT NULL,
    decision      jsonb NOT NULL,
    state         text NOT NULL DEFAULT 'recorded' CHECK (state IN ('recorded', 'applied')),
    decided_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    applied_at    timestamptz,
    PRIMARY KEY (thread_id, interrupt_id)
);
CREATE INDEX chimera_review_decisions_pending ON chimera_review_decisions (thread_id)
    WHERE state = 'recorded';

-- The lease of the process driving a thread: renewed by heartbeat; a thread marked
-- running whose lease has run out is stalled (its process died).
ALTER TABLE chimera_threads ADD COLUMN lease_owner text;
ALTER TABLE chimera_threads ADD COLUMN lease_expires_at timestamptz;

-- When a finished thread's checkpoints were pruned (posts, audit and memory stay).
ALTER TABLE chimera_threads ADD COLUMN checkpoints_pruned_at timestamptz;
