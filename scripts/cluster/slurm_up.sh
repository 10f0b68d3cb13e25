#!/usr/bin/env bash
# A one-node SLURM cluster on this machine, for running the kit through profiles/slurm/ for real
# (CI and tests/test_slurm_cluster.py). Idempotent: when the node is already up it says so and
# does nothing. Needs root (Debian packages, daemons); no systemd is assumed.
#   scripts/cluster/slurm_up.sh      # install slurm-wlm + munge if missing, configure, start, wait
#   scripts/cluster/slurm_down.sh    # stop the daemons
# Partitions: cpu (default) and gpu, both on this one node (no GPUs are declared; GPU rules are
# only dry-run here). No accounting database: job status comes from squeue (MinJobAge below) and
# SLURM writes one line per finished job to $STATE/jobcomp.txt (jobcomp/filetxt).
# State, logs and pid files: $DVMAP_SLURM_DIR (default /tmp/dvmap-slurm).
set -euo pipefail

STATE=${DVMAP_SLURM_DIR:-/tmp/dvmap-slurm}
CONF=/etc/slurm/slurm.conf
CLUSTER=dvmap

say() { echo "slurm_up: $*"; }
die() { echo "slurm_up: error: $*" >&2; exit 1; }

node_state() { sinfo -h -N -p cpu -o '%T' 2>/dev/null | head -n1 | tr -d '*~#'; }
running() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

if command -v sinfo >/dev/null && [[ -f $CONF ]] && grep -q "^ClusterName=$CLUSTER$" "$CONF"; then
  case "$(node_state)" in
    idle|mixed|allocated|completing)
      say "already up: $(sinfo -h -o '%P %D %T' | tr '\n' ';') (state and logs in $(sed -n 's/^StateSaveLocation=//p' "$CONF" | xargs dirname))"
      exit 0 ;;
  esac
fi

[[ $(id -u) -eq 0 ]] || die "run as root (installs Debian packages and starts munged, slurmctld, slurmd)"

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
  say "installing slurm-wlm and munge (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends slurm-wlm munge >/dev/null
fi

mkdir -p "$STATE"/{ctld,spool,log}
# munge: the package creates the key; make one if it is missing.
if [[ ! -s /etc/munge/munge.key ]]; then
  mungekey --create --keyfile=/etc/munge/munge.key
  chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
fi
mkdir -p /run/munge && chown munge:munge /run/munge
if ! munge -n >/dev/null 2>&1; then
  say "starting munged"
  runuser -u munge -- munged
  for _ in $(seq 50); do munge -n >/dev/null 2>&1 && break; sleep 0.1; done
  munge -n >/dev/null 2>&1 || die "munged did not start (see /var/log/munge/munged.log)"
fi

host=$(hostname -s)
getent hosts "$host" >/dev/null || die "hostname $host does not resolve (add it to /etc/hosts)"
node=$(slurmd -C | head -n1)  # NodeName=<host> CPUs=... RealMemory=...
[[ $node == NodeName=* ]] || die "slurmd -C gave no node line: $node"

mkdir -p /etc/slurm
cat >"$CONF" <<EOF
# Written by scripts/cluster/slurm_up.sh: a one-node cluster for the DVMap kit.
ClusterName=$CLUSTER
SlurmctldHost=$host
AuthType=auth/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
# no cgroup set-up needed
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
# cores and memory are consumable: a job gets what it asks
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# no accounting database; finished jobs are kept 300 s for squeue and logged to a file
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$STATE/jobcomp.txt
MinJobAge=300
ReturnToService=2
SchedulerType=sched/backfill
SchedulerTimeSlice=30
SlurmctldTimeout=30
SlurmdTimeout=60
$node
PartitionName=cpu Nodes=$host Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=$host Default=NO MaxTime=INFINITE State=UP
EOF

if ! running "$STATE/slurmctld.pid"; then
  say "starting slurmctld"
  slurmctld -i   # -i: ignore state a previous run of another configuration left
fi
for _ in $(seq 100); do scontrol ping 2>/dev/null | grep -q UP && break; sleep 0.2; done
scontrol ping 2>/dev/null | grep -q UP || die "slurmctld is not answering (see $STATE/log/slurmctld.log)"
if ! running "$STATE/slurmd.pid"; then
  say "starting slurmd"
  slurmd
fi
for _ in $(seq 150); do
  case "$(node_state)" in idle|mixed|allocated) break ;; esac
  sleep 0.2
done
case "$(node_state)" in
  idle|mixed|allocated) ;;
  *) die "node $host is '$(node_state)', not idle (see $STATE/log/slurmd.log and slurmctld.log)" ;;
esac
say "up: cluster $CLUSTER, node $host ($(sinfo -h -N -p cpu -o '%c CPUs, %m MB')), partitions: $(sinfo -h -o '%P' | tr '\n' ' ')"
say "state, logs and the job completion log (jobcomp.txt) in $STATE; stop with scripts/cluster/slurm_down.sh"
