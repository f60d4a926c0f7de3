#!/usr/bin/env bash
# Starts a single-node Slurm "cluster" on this machine, for the Slurm backend's tests:
# installs slurm-wlm and munge when missing (Debian/Ubuntu, as root), writes a minimal slurm.conf
# (node "localhost" with this machine's CPUs and memory, partition "debug", one fake GPU so that
# --gres=gpu:1 can be tested without one), starts munged, slurmctld and slurmd, and waits until
# sinfo shows the node ready. Idempotent: a second run with everything up returns at once.
# Refuses to touch a slurm.conf it did not write (a real cluster's).
set -euo pipefail

STATE=${SLURM_LOCAL_DIR:-/var/lib/slurm-local}
CONF_DIR=/etc/slurm
MARK="# written by scripts/start-slurm.sh (single-node test cluster)"

log() { echo "start-slurm: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (it installs packages and starts daemons)"

# One run at a time (several engineers or test sessions may call it at once).
mkdir -p "$STATE"
exec 9>"$STATE/.lock"  # daemons started below get 9>&- so they do not inherit the lock
flock -w 300 9 || die "another start-slurm.sh holds $STATE/.lock"

# --- packages -------------------------------------------------------------------------------
if ! command -v slurmctld >/dev/null 2>&1 || ! command -v slurmd >/dev/null 2>&1 \
   || ! command -v sbatch >/dev/null 2>&1 || ! command -v munged >/dev/null 2>&1; then
  command -v apt-get >/dev/null 2>&1 || die "Slurm is not installed and apt-get is not available"
  log "installing slurm-wlm and munge (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update failed"
  apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null \
    || die "apt-get install slurm-wlm munge failed"
fi

# --- configuration --------------------------------------------------------------------------
CPUS=$(nproc)
MEM_MB=$(awk '/^MemTotal:/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
mkdir -p "$CONF_DIR" "$STATE/ctld" "$STATE/spool" "$STATE/log"

new_conf=$(cat <<EOF
$MARK
ClusterName=autograder-test
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SlurmdParameters=config_overrides
ReturnToService=2
KillWait=5
MinJobAge=600
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
GresTypes=gpu
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM_MB Gres=gpu:1 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
)
new_gres=$(printf '%s\n%s\n' "$MARK" "NodeName=localhost Name=gpu File=/dev/null")

for f in slurm.conf gres.conf; do
  if [ -e "$CONF_DIR/$f" ] && ! grep -qxF "$MARK" "$CONF_DIR/$f"; then
    die "$CONF_DIR/$f exists and was not written by this script (a real cluster?); not touching it"
  fi
done

changed=0
write_if_changed() {  # path content
  if [ ! -e "$1" ] || [ "$(cat "$1")" != "$2" ]; then
    printf '%s\n' "$2" >"$1.tmp" && mv "$1.tmp" "$1"
    changed=1
  fi
}
write_if_changed "$CONF_DIR/slurm.conf" "$new_conf"
write_if_changed "$CONF_DIR/gres.conf" "$new_gres"

pid_alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

node_state() { timeout 10 sinfo -h -n localhost -o %t 2>/dev/null | head -n1 | tr -d '*~#!%$@^-'; }

# --- fast path: everything already up with this configuration ---------------------------------
if [ "$changed" = 0 ] && pid_alive "$STATE/slurmctld.pid" && pid_alive "$STATE/slurmd.pid"; then
  case "$(node_state)" in
    idle|mix|alloc|comp) log "already running ($(sinfo -h -o '%P %D %t' | head -n1))"; exit 0 ;;
  esac
fi

# --- munge ----------------------------------------------------------------------------------
if ! (munge -n 2>/dev/null | unmunge >/dev/null 2>&1); then
  id munge >/dev/null 2>&1 || die "the munge user does not exist (is the munge package installed?)"
  mkdir -p /etc/munge /var/lib/munge /var/log/munge /run/munge
  if [ ! -s /etc/munge/munge.key ]; then
    log "creating the munge key"
    if command -v mungekey >/dev/null 2>&1; then
      mungekey --create --keyfile=/etc/munge/munge.key
    else
      dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
    fi
  fi
  chown -R munge:munge /etc/munge /var/lib/munge /var/log/munge /run/munge
  chmod 0700 /etc/munge /var/lib/munge /var/log/munge
  chmod 0755 /run/munge
  chmod 0400 /etc/munge/munge.key
  if [ -s /run/munge/munged.pid ] && kill -0 "$(cat /run/munge/munged.pid)" 2>/dev/null; then
    kill "$(cat /run/munge/munged.pid)" 2>/dev/null || true
    sleep 1
  fi
  log "starting munged"
  if command -v runuser >/dev/null 2>&1; then
    runuser -u munge -- /usr/sbin/munged 9>&- </dev/null || die "munged failed to start"
  else
    su -s /bin/sh munge -c /usr/sbin/munged 9>&- </dev/null || die "munged failed to start"
  fi
  for _ in $(seq 50); do
    (munge -n 2>/dev/null | unmunge >/dev/null 2>&1) && break
    sleep 0.1
  done
  (munge -n | unmunge >/dev/null) || die "munge does not answer (see /var/log/munge/munged.log)"
fi

# --- slurmctld and slurmd -------------------------------------------------------------------
stop() {  # pidfile
  if pid_alive "$1"; then
    local pid
    pid=$(cat "$1")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
}
if [ "$changed" = 1 ]; then
  stop "$STATE/slurmd.pid"
  stop "$STATE/slurmctld.pid"
fi
if ! pid_alive "$STATE/slurmctld.pid"; then
  log "starting slurmctld"
  slurmctld 9>&- </dev/null >>"$STATE/log/daemons.out" 2>&1 \
    || die "slurmctld failed to start (see $STATE/log/slurmctld.log, $STATE/log/daemons.out)"
fi
if ! pid_alive "$STATE/slurmd.pid"; then
  log "starting slurmd"
  slurmd -N localhost 9>&- </dev/null >>"$STATE/log/daemons.out" 2>&1 \
    || die "slurmd failed to start (see $STATE/log/slurmd.log, $STATE/log/daemons.out)"
fi

# --- wait for the node ----------------------------------------------------------------------
for i in $(seq 120); do
  state=$(node_state || true)
  case "$state" in
    idle|mix|alloc|comp)
      log "ready: $(sinfo -h -o 'partition %P, %D node(s), %t, %c CPUs, %m MB, gres %G' | head -n1)"
      exit 0 ;;
    down|drain|drng|fail|unk|inval)
      # A node restarted with a different configuration, or marked down earlier: bring it back.
      if [ $((i % 10)) = 5 ]; then
        scontrol update nodename=localhost state=resume >/dev/null 2>&1 || true
      fi ;;
  esac
  sleep 0.5
done
die "the node did not become ready (state '${state:-no answer}'); see $STATE/log/slurmctld.log \
and $STATE/log/slurmd.log"
