"""The swarm's two compound steps, each one atomic Lua script run by Redis.

- ``ENQUEUE``: a job goes on the task stream once. Its enqueue mark and its stream
  entry are written together, so a graph killed between them cannot leave a mark
  without a task; a job already done or already queued is attached to, not queued again;
  a full stream is refused (backpressure).
- ``FINISH``: a job's outcome is written once (a second delivery's outcome is dropped),
  counted for the throughput, and its task entry acknowledged and deleted, so the stream
  length is the backlog.
"""

from __future__ import annotations

ENQUEUE_QUEUED, ENQUEUE_ATTACHED, ENQUEUE_DONE, ENQUEUE_FULL = 1, 0, 2, -1

# KEYS: enqueued mark, task stream, result stream. ARGV: job JSON, max length, ttl, job id.
ENQUEUE = """
if redis.call('EXISTS', KEYS[3]) == 1 then return 2 end
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if redis.call('XLEN', KEYS[2]) >= tonumber(ARGV[2]) then return -1 end
redis.call('XADD', KEYS[2], '*', 'job', ARGV[1], 'job_id', ARGV[4])
redis.call('SET', KEYS[1], '1', 'EX', ARGV[3])
return 1
"""

# KEYS: result stream, task stream, completions stream.
# ARGV: group, task entry id, outcome JSON, ttl, worker name, status, completions kept.
FINISH = """
local written = 0
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('XADD', KEYS[1], '*', 'outcome', ARGV[3])
  redis.call('EXPIRE', KEYS[1], ARGV[4])
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[7], '*', 'worker', ARGV[5], 'status', ARGV[6])
  written = 1
end
if ARGV[2] ~= '' then
  redis.call('XACK', KEYS[2], ARGV[1], ARGV[2])
  redis.call('XDEL', KEYS[2], ARGV[2])
end
return written
"""
