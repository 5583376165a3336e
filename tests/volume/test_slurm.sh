#!/bin/sh
# examples/slurm/map-stack.sbatch on a real single-node Slurm: the test starts munged (as
# the munge user), slurmctld and slurmd itself, in a temporary state folder, on free
# ports, submits the script as a 4-task job array with sbatch --wait on a small stack, and
# checks that the array equals the one-process map byte for byte. The daemons are stopped
# by their pids when the test ends, whatever happens. Root only (it runs daemons as root
# and the munge user): skipped with a message otherwise. Prints PASS/FAIL/SKIP lines.
. tests/lib/lib.sh
H="$PYTHON tests/volume/volume_helper.py"

if [ "$(id -u)" != 0 ]; then
    skip slurm "needs root to start munged, slurmctld and slurmd (CI runs as root)"
    exit 0
fi
for c in munged slurmctld slurmd sbatch sinfo runuser; do
    if ! command -v $c >/dev/null; then
        fail slurm "$c not installed (make deps: slurm-wlm, munge)"
        exit 1
    fi
done
if ! id munge >/dev/null 2>&1; then
    fail slurm "no munge user (the munge package creates it)"
    exit 1
fi

# The state folder: the munge user must reach its key and socket (munged refuses folders
# others may write), the Slurm daemons run as root.
S=$(mktemp -d /tmp/fcn-slurm.XXXXXX)
chmod 755 "$S"
pids=""
stop() {
    for f in "$S/slurmd.pid" "$S/slurmctld.pid" "$S/munge/munged.pid"; do
        [ -s "$f" ] && pids="$pids $(cat "$f")"
    done
    for p in $pids; do kill "$p" 2>/dev/null; done
    n=0
    for p in $pids; do
        while kill -0 "$p" 2>/dev/null && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
        kill -9 "$p" 2>/dev/null
    done
    rm -rf "$S" "$T"
}
trap stop EXIT
trap 'exit 1' INT TERM HUP

# munge: a key readable only by the munge user, munged as that user
mkdir -p "$S/munge"
dd if=/dev/urandom of="$S/munge/munge.key" bs=1024 count=1 2>/dev/null
chown -R munge:munge "$S/munge"
chmod 711 "$S/munge" # the socket: searchable by every user (munged checks)
chmod 400 "$S/munge/munge.key"
if ! runuser -u munge -- munged --key-file="$S/munge/munge.key" --socket="$S/munge/munge.sock" \
    --pid-file="$S/munge/munged.pid" --log-file="$S/munge/munged.log" --seed-file="$S/munge/munged.seed" \
    >"$S/munged.out" 2>&1; then
    fail slurm "munged did not start: $(cat "$S/munged.out" "$S/munge/munged.log" 2>/dev/null | tail -n 5)"
    exit 1
fi

# two free ports, a slurm.conf of one node (this machine) and one partition
ports=$("$PYTHON" -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))')
set -- $ports
cpus=$(nproc)
mkdir -p "$S/ctld" "$S/d"
cat >"$S/slurm.conf" <<EOF
ClusterName=fcntest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$1
SlurmdPort=$2
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$S/munge/munge.sock
StateSaveLocation=$S/ctld
SlurmdSpoolDir=$S/d
SlurmctldPidFile=$S/slurmctld.pid
SlurmdPidFile=$S/slurmd.pid
SlurmctldLogFile=$S/slurmctld.log
SlurmdLogFile=$S/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=fcn Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$S/slurm.conf"
slurmctld -f "$SLURM_CONF" >"$S/slurmctld.out" 2>&1
slurmd -f "$SLURM_CONF" -N localhost >"$S/slurmd.out" 2>&1
n=0
while [ $n -lt 150 ] && [ "$(sinfo -h -o %t 2>/dev/null)" != idle ]; do sleep 0.2; n=$((n + 1)); done
if [ "$(sinfo -h -o %t 2>/dev/null)" != idle ]; then
    fail slurm "the node did not come up: sinfo says '$(sinfo -h -o %t 2>&1)'; $(tail -n 3 "$S/slurmctld.log" "$S/slurmd.log" "$S/slurmctld.out" "$S/slurmd.out" 2>/dev/null | tr '\n' ' ')"
    exit 1
fi
pass "slurm: munged, slurmctld and slurmd up ($cpus CPUs, ports $1 and $2)"

# the stack and the one-process map
$H model "$T/m.fcn" 1 && $H stack "$T/st.tif" u16 3 2100 150 21 tile=64,64 deflate || { fail slurm "no test stack"; exit 1; }
opts="--chunk 1,256,64 --in-scale 0.00390625"
# shellcheck disable=SC2086
"$FCN" map "$T/m.fcn" "$T/st.tif" -o "$T/one.zarr" -q $opts || fail slurm "the one-process map failed"
# sbatch --wait: returns when every task has ended, with the array's exit status
# shellcheck disable=SC2086
if FCN=$(realpath "$FCN") sbatch --wait --array=0-3 -o "$T/task-%a.out" -D "$(pwd)" \
    examples/slurm/map-stack.sbatch "$T/m.fcn" "$T/st.tif" "$T/slurm.zarr" $opts >"$T/sbatch.out" 2>&1; then
    if diff -r "$T/one.zarr" "$T/slurm.zarr" >"$T/diff" 2>&1; then
        pass "slurm: a 4-task job array (examples/slurm/map-stack.sbatch) gives the one-process array, byte for byte"
    else
        fail slurm "the array differs: $(head -c 300 "$T/diff")"
    fi
    tasks=$(cat "$T"/task-*.out | grep -c 'shard [0-3]/4')
    if [ "$tasks" -eq 4 ]; then pass "slurm: each of the 4 tasks mapped its shard"
    else fail slurm "task reports: $(cat "$T"/task-*.out | tr '\n' ' ')"; fi
else
    fail slurm "sbatch --wait failed: $(cat "$T/sbatch.out" "$T"/task-*.out 2>/dev/null | tail -n 5 | tr '\n' ' ')"
fi
