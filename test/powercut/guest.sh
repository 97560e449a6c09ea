#!/usr/bin/env bash
# The guest side of the power-cut tier (test/powercut/powercut.test.ts drives it from the
# host through scripts/lab). One boot does, in order, what its arguments say:
#   recover ROUND DISK resume|rollback   the boot after ROUND's power cut: read every
#                                        journal back (flow list/log/show), resume or roll
#                                        back every run, record the kernel state
#   cut ROUND DISK                       start every run of ROUND's plan at once, each
#                                        halting at its own point (FLOW_HALT_AT), then
#                                        create ROUND/cut: scripts/lab cuts the power
# DISK (vda, vdb) holds ROUND's partitions: 1 images, 2 main (the state directory of the
# plain runs), 3-6 one per fsync mutant. Everything the host reads goes to the share
# ($FLOW_LAB_SHARE/ROUND); nothing is decided here.
set -uo pipefail
S=${FLOW_LAB_SHARE:?run me in the kernel lab}
ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)
# the runs that halt (FLOW_HALT_AT) and the fsync mutants (FLOW_DISABLE_SYNC) go through the
# test entry; everything after the power cut (read back, resume, rollback) is the shipped flow
FLOW=(node "$ROOT/dist/bin/flow.js")
FLOW_TEST=(node "$ROOT/dist/test/flow.js")
FSES=(img main doc-file doc-dir log-append state-dir)
# ext4 as the tier needs it: no periodic journal commit and no replace-via-rename
# heuristic, so only flow's own fsyncs make anything durable (docs/LAB.md, power cuts)
MOUNT_OPTS=commit=600,noauto_da_alloc
export LANG=C.UTF-8 FLOW_RUN_DIR=/run/flow

now() { cut -d' ' -f1 /proc/uptime; }
log() { echo "$(now) $*" >>"$S/$R/guest.log"; }

mount_round() { # ROUND DISK
  local i fs dir
  udevadm settle --timeout=30 2>/dev/null
  for i in "${!FSES[@]}"; do
    fs=${FSES[$i]}; dir=/pc/$1/$fs
    mkdir -p "$dir"
    if [[ $fs == img ]]; then mount "/dev/${2}$((i + 1))" "$dir"; else mount -o "$MOUNT_OPTS" "/dev/${2}$((i + 1))" "$dir"; fi ||
      { log "FATAL cannot mount /dev/${2}$((i + 1)) at $dir"; echo "cannot mount /dev/${2}$((i + 1))" >"$S/$1/fatal"; exit 1; }
  done
}

# The kernel objects flow can make, as the host compares them (majors:minors resolved there).
record() { # NAME
  local q=$S/$R/rec/$1 z d
  dmsetup table >"$q.dmtable" 2>&1
  dmsetup info -c --noheadings --separator ' ' -o name,uuid,major,minor >"$q.dminfo" 2>&1
  losetup -J -l -O NAME,BACK-FILE,RO,MAJ:MIN >"$q.losetup" 2>&1
  for z in /sys/block/zram*; do echo "${z##*/} $(cat "$z/disksize") $(cat "$z/dev")"; done >"$q.zram"
  cat /proc/self/mountinfo >"$q.mountinfo"
  find /run/flow -xdev >"$q.runflow" 2>/dev/null
  (cd "/pc/$R" && find . -path ./img -prune -o -path '*/state' -prune -o -path '*/lost+found' -prune -o -print) >"$q.files"
  for d in /dev/mapper/flow-*; do
    [[ -e $d && $d != *-base ]] || continue
    echo "${d##*/} $(dumpe2fs -h "$d" 2>/dev/null | sed -n 's/^Block count: *//p')"
  done >"$q.blocks"
}

# One run's recovery: its journal read back, then resume or rollback, each output kept.
recover_one() { # FS ID HOW
  local st=/pc/$R/$1/state q=$S/$R/rec/$2
  FLOW_STATE_DIR=$st "${FLOW[@]}" log "$2" --json >"$q.log.json" 2>"$q.log.err"; echo $? >"$q.log.rc"
  FLOW_STATE_DIR=$st "${FLOW[@]}" show "$2" --json >"$q.show.json" 2>"$q.show.err"; echo $? >"$q.show.rc"
  FLOW_STATE_DIR=$st "${FLOW[@]}" "$3" "$2" >"$q.$3.out" 2>&1; echo $? >"$q.$3.rc"
}

rollback_one() { # FS ID
  local q=$S/$R/rec/$2
  FLOW_STATE_DIR=/pc/$R/$1/state "${FLOW[@]}" rollback "$2" >"$q.rollback.out" 2>&1; echo $? >"$q.rollback.rc"
}

# Two at a time: the guest has two CPUs.
throttle() { while (($(jobs -rp | wc -l) >= 2)); do wait -n; done; }

recover() { # ROUND DISK HOW
  R=$1
  mkdir -p "$S/$R/rec"
  log "recover $3: start"
  mount_round "$1" "$2"
  record base
  local fs id f
  : >"$S/$R/rec/ids"
  for fs in "${FSES[@]:1}"; do
    FLOW_STATE_DIR=/pc/$R/$fs/state "${FLOW[@]}" list --json >"$S/$R/rec/$fs.list.json" 2>"$S/$R/rec/$fs.list.err"
    echo $? >"$S/$R/rec/$fs.list.rc"
    for f in "/pc/$R/$fs/state/runs/"*.json; do
      [[ -e $f ]] || continue
      id=${f##*/}; id=${id%.json}
      echo "$fs $id" >>"$S/$R/rec/ids"
    done
  done
  log "recover $3: read $(wc -l <"$S/$R/rec/ids") journals' list"
  while read -r fs id; do throttle; recover_one "$fs" "$id" "$3" & done <"$S/$R/rec/ids"
  wait
  log "recover $3: done"
  record recovered
  if [[ $3 == resume ]]; then
    while read -r fs id; do throttle; rollback_one "$fs" "$id" & done <"$S/$R/rec/ids"
    wait
    log "rollback of the resumed runs: done"
    record rolledback
  fi
  (cd "/pc/$R/img" && sha256sum pi.img rootfs.ext4) >"$S/$R/rec/images.sha256"
  umount "/pc/$R/"* 2>/dev/null
  log "recover $3: end"
}

cut_round() { # ROUND DISK
  R=$1
  local o=$S/$R/out label fs point mutant wf pid n=0 left extra
  mkdir -p "$o"
  log "cut: start"
  mount_round "$1" "$2"
  # unsynced data and metadata stay in the page cache until the cut (no flusher writeback)
  echo 0 >/proc/sys/vm/dirty_writeback_centisecs
  echo 360000 >/proc/sys/vm/dirty_expire_centisecs
  declare -A pids=()
  while read -r label fs point mutant wf args; do
    [[ -n $label ]] || continue
    # each run in its own mount namespace with a private /run/flow-locks: a run halted inside an
    # allocating step holds the host-wide allocation lock forever (flow's mounts happen in
    # that namespace; the power cut throws them away with everything else)
    extra=()
    [[ $mutant != - ]] && extra=("FLOW_DISABLE_SYNC=$mutant")
    # shellcheck disable=SC2086
    env FLOW_STATE_DIR="/pc/$R/$fs/state" FLOW_HALT_AT="$point" FLOW_HALT_MARKER="$o/$label.halted" "${extra[@]}" \
      unshare -m --propagation private -- sh -c 'mkdir -p -m 700 /run/flow-locks && mount -t tmpfs -o mode=0700 flowlock /run/flow-locks && exec "$@"' sh \
      "${FLOW_TEST[@]}" run "$wf" $args >"$o/$label.stdout" 2>"$o/$label.stderr" &
    pids[$label]=$!
    n=$((n + 1))
  done <"$S/$R/plan"
  log "cut: $n runs started"
  while :; do
    left=0
    for label in "${!pids[@]}"; do
      pid=${pids[$label]}
      if [[ -e "$o/$label.halted" ]]; then continue; fi
      if ! kill -0 "$pid" 2>/dev/null; then
        wait "$pid"; echo $? >"$o/$label.exit"; unset "pids[$label]"; continue
      fi
      left=$((left + 1))
    done
    ((left == 0)) && break
    sleep 0.2
  done
  log "cut: every run halted or ended; cutting the power"
  touch "$S/$R/cut"
  sleep 600
}

while (($#)); do
  case "$1" in
    recover) recover "$2" "$3" "$4"; shift 4 ;;
    cut) cut_round "$2" "$3"; shift 3 ;;
    *) echo "guest.sh: unknown action $1" >&2; exit 2 ;;
  esac
done
