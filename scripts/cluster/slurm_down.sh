#!/usr/bin/env bash
# Stop the one-node SLURM cluster of scripts/cluster/slurm_up.sh (slurmd, slurmctld, munged it
# started). Safe to call when it is already down. State and logs stay in $DVMAP_SLURM_DIR.
set -euo pipefail

CONF=/etc/slurm/slurm.conf
STATE=${DVMAP_SLURM_DIR:-/tmp/dvmap-slurm}
if [[ -f $CONF ]]; then
  ctld_dir=$(sed -n 's/^StateSaveLocation=//p' "$CONF")
  [[ -n $ctld_dir ]] && STATE=$(dirname "$ctld_dir")
fi

stop() {  # stop <name> <pid file>
  local pidfile=$2 pid
  [[ -f $pidfile ]] || return 0
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    echo "slurm_down: stopping $1 ($pid)"
    kill "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -f "$pidfile"
}

stop slurmd "$STATE/slurmd.pid"
stop slurmctld "$STATE/slurmctld.pid"
stop munged /run/munge/munged.pid
echo "slurm_down: down (state and logs kept in $STATE)"
