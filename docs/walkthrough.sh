#!/usr/bin/env bash
# Replays the README's curl walkthrough against a fresh server and prints each command
# with its real output, so the README can be regenerated rather than hand-edited.
# Usage: docs/walkthrough.sh   (needs curl and jq; starts and stops its own server on 8080)
#        LEASEQ_URL=http://127.0.0.1:8080 docs/walkthrough.sh   (against a running server)
set -euo pipefail
if [ -n "${LEASEQ_URL:-}" ]; then
  Q=$LEASEQ_URL
else
  dir=$(mktemp -d)
  leaseq serve --db "sqlite:///$dir/leaseq.db" --retry-base 0.2 --reap-interval 0.2 >"$dir/log" 2>&1 &
  pid=$!
  trap 'kill $pid; rm -rf "$dir"' EXIT
  Q=localhost:8080
fi
for _ in $(seq 1 100); do curl -sf "$Q/health" >/dev/null && break; sleep 0.1; done

show() { printf '$ %s\n' "$1"; eval "$1"; printf '\n'; }

show "curl -s $Q/enqueue --json '{\"queue\": \"emails\", \"task\": \"send_email\", \"payload\": {\"to\": \"ada@example.com\"}, \"max_tries\": 2}'"
show "curl -s $Q/poll --json '{\"worker_id\": \"worker-1\", \"queues\": [\"emails\"], \"wait\": 5}' | tee /tmp/leased.json | jq -c '.jobs[] | {id, state, attempts, lease_token, lease_expires_at}'"
ID=$(jq -r '.jobs[0].id' /tmp/leased.json); TOKEN=$(jq -r '.jobs[0].lease_token' /tmp/leased.json)
echo "# fail it: it goes back to the queue after a backoff (here 0.1-0.2 s)"
show "curl -s $Q/fail --json '{\"job_id\": \"$ID\", \"lease_token\": \"$TOKEN\", \"error\": \"SMTP timeout\"}' | jq -c '.job | {state, attempts, last_error, run_at, updated_at}'"
echo "# the old token is fenced off"
show "curl -s $Q/ack --json '{\"job_id\": \"$ID\", \"lease_token\": \"$TOKEN\"}'"
show "curl -s $Q/poll --json '{\"worker_id\": \"worker-2\", \"queues\": [\"emails\"], \"wait\": 5}' | tee /tmp/leased.json | jq -c '.jobs[] | {state, attempts, lease_owner}'"
TOKEN=$(jq -r '.jobs[0].lease_token' /tmp/leased.json)
echo "# the last try fails too: the job is DEAD, in the dead letter queue"
show "curl -s $Q/fail --json '{\"job_id\": \"$ID\", \"lease_token\": \"$TOKEN\", \"error\": \"SMTP timeout\"}' | jq -c '.job | {state, attempts, last_error}'"
show "curl -s '$Q/dead?queue=emails' | jq -c '{ids: [.jobs[].id], next_cursor}'"
show "curl -s $Q/dead/requeue --json '{\"queue\": \"emails\"}'"
show "curl -s $Q/poll --json '{\"worker_id\": \"worker-3\", \"queues\": [\"emails\"], \"lease_seconds\": 1}' | jq -c '.jobs[] | {state, attempts, lease_owner}'"
echo "# worker-3 never answers: after its 1 s lease the reaper hands the job to the next poll"
show "curl -s $Q/poll --json '{\"worker_id\": \"worker-4\", \"queues\": [\"emails\"], \"wait\": 5}' | tee /tmp/leased.json | jq -c '.jobs[] | {state, attempts, lease_owner, last_error}'"
TOKEN=$(jq -r '.jobs[0].lease_token' /tmp/leased.json)
show "curl -s $Q/ack --json '{\"job_id\": \"$ID\", \"lease_token\": \"$TOKEN\", \"result\": {\"message_id\": 7}}' | jq -c '.job | {state, attempts, result}'"
show "curl -s $Q/stats"
show "curl -s $Q/enqueue --json '{\"payload\": 1, \"max_retries\": 3}'"
