#!/usr/bin/env bash
# The guest side of test/powercut/systemd-boot.test.ts (the host drives it through
# scripts/lab). flow's state directory is /var/lib/flow, the lab disk /dev/vda (ext4,
# holding lab/rootfs.ext4). Everything the host checks goes to the share; nothing is
# decided here.
#   cut      (plain lab, the disk mounted at /var/lib/flow) start two runs, each halting
#            inside a step: A delayed-device in create-delay after its dmsetup ran, B
#            loop-mount in mount after its intent; put a file into B's new mount point
#            (its rollback then needs an operator); create the share's `cut`: power cut
#   setup    (the default: --setup of the systemd boot, before systemd) install flow as README's
#            "Recovery at boot" says, the state disk as a late mount (fstab noauto: only
#            what needs it mounts it), and lab-probe.service, ordered after flow-recover
#   probe    (lab-probe.service) what a unit ordered after flow-recover.service finds
#   check    (the command, after multi-user.target) what systemd and flow report; then
#            the operator's fix and flow-recover.service started again
set -uo pipefail
S=${FLOW_LAB_SHARE:?run me in the kernel lab}
ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)
D=/var/lib/flow/lab
export LANG=C.UTF-8

kernel_state() { # PREFIX: device-mapper devices and loop devices now
  dmsetup ls >"$1.dmsetup" 2>&1
  losetup -J -l -O NAME,BACK-FILE >"$1.losetup" 2>&1
}

wait_for() { # FILE: until FILE exists or its run exited
  local pid=$2
  while [[ ! -e $1 ]]; do
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
}

cut() {
  local flow=(node "$ROOT/dist/test/flow.js") a b
  mkdir -p "$S/cut.d"
  FLOW_HALT_AT=apply:create-delay:command-done FLOW_HALT_MARKER="$S/cut.d/a.halted" \
    "${flow[@]}" run delayed-device --file "$D/a.img" --size 16M --delay 20 --no-mount >"$S/cut.d/a.out" 2>&1 &
  a=$!
  wait_for "$S/cut.d/a.halted" "$a" || { echo "run A exited before halting" >"$S/cut.d/fatal"; exit 1; }
  FLOW_HALT_AT=apply:mount:intent-synced FLOW_HALT_MARKER="$S/cut.d/b.halted" \
    "${flow[@]}" run loop-mount --file "$D/rootfs.ext4" --read-only --mountpoint "$D/mnt" >"$S/cut.d/b.out" 2>&1 &
  b=$!
  wait_for "$S/cut.d/b.halted" "$b" || { echo "run B exited before halting" >"$S/cut.d/fatal"; exit 1; }
  # someone leaves a file in B's mount point: its rollback cannot remove the directory
  echo litter >"$D/mnt/left-behind"
  node "$ROOT/dist/bin/flow.js" list --json >"$S/cut.d/list.json" 2>&1
  kernel_state "$S/cut.d/before-cut"
  sync
  touch "$S/cut"
  sleep 600
}

setup() {
  # README, "Recovery at boot" (`npm link` puts flow on PATH as a link to dist/bin/flow.js)
  ln -sf "$ROOT/dist/bin/flow.js" /usr/local/bin/flow
  install -m 0644 "$ROOT/systemd/flow-recover.service" /etc/systemd/system/
  systemctl enable flow-recover.service
  # the guest's root is the host's: its own /var/lib/flow must not stand in for the disk
  rm -rf /var/lib/flow && mkdir -m 0700 /var/lib/flow
  echo "/dev/vda /var/lib/flow ext4 noauto 0 0" >>/etc/fstab
  cat >/etc/systemd/system/lab-probe.service <<EOF
[Unit]
Description=flow lab: what a unit ordered after flow-recover.service finds
After=flow-recover.service

[Service]
Type=oneshot
ExecStart=/bin/bash $ROOT/test/powercut/systemd-guest.sh probe
Environment=FLOW_LAB_SHARE=$S

[Install]
WantedBy=multi-user.target
EOF
  systemctl enable lab-probe.service
  # flow-run@.service as README says: a RAM scratch disk provisioned at boot with --key scratch
  install -m 0644 "$ROOT/systemd/flow-run@.service" /etc/systemd/system/
  mkdir -p /etc/flow/run
  printf 'FLOW_WORKFLOW=%s\nFLOW_OPTIONS=--size 16M --filesystem ext4\n' "$ROOT/examples/ram-scratch.yaml" >/etc/flow/run/scratch.conf
  systemctl enable flow-run@scratch.service
}

probe() {
  local p=$S/probe
  mkdir -p "$p"
  systemctl show -p ActiveState,Result,ExecMainStatus flow-recover.service >"$p/recover-state" 2>&1
  findmnt -n -o SOURCE /var/lib/flow >"$p/findmnt" 2>&1
  if [[ -d /var/lib/flow/runs ]]; then flow list --json >"$p/list.json" 2>"$p/list.err"; fi
  ls -A "$D" >"$p/files" 2>&1
  kernel_state "$p/kernel"
}

check() {
  local c=$S/check
  mkdir -p "$c"
  findmnt -n -o SOURCE /var/lib/flow >/dev/null || mount /var/lib/flow
  systemctl show -p Result,ExecMainStatus,ActiveState,ExecMainStartTimestampMonotonic,ExecMainExitTimestampMonotonic flow-recover.service >"$c/recover-show" 2>&1
  systemctl show -p ExecMainStartTimestampMonotonic,Result lab-probe.service >"$c/probe-show" 2>&1
  journalctl -b -u flow-recover.service --no-pager -o cat >"$c/journal" 2>&1
  systemctl --failed --no-legend --plain >"$c/failed" 2>&1
  systemctl show -p After,Requires flow-recover.service >"$c/recover-deps" 2>&1
  flow list --json >"$c/list.json" 2>"$c/list.err"
  kernel_state "$c/kernel"
  systemd-analyze time >"$c/analyze-time" 2>&1
  # flow-run@scratch.service, started at boot: then once more by hand (the key's run is done)
  local u=$S/unit
  mkdir -p "$u"
  systemctl show -p Result,ExecMainStatus,ActiveState,ExecMainStartTimestampMonotonic flow-run@scratch.service >"$u/show" 2>&1
  journalctl -b -u flow-run@scratch.service --no-pager -o cat >"$u/journal" 2>&1
  flow list --json >"$u/list.json" 2>&1
  findmnt -rn -o SOURCE,TARGET >"$u/mounts" 2>&1
  systemctl restart flow-run@scratch.service; echo $? >"$u/restart.rc"
  journalctl -b -u flow-run@scratch.service --no-pager -o cat >"$u/restart-journal" 2>&1
  flow list --json >"$u/restart-list.json" 2>&1
  # the operator: removes what was left in the mount point, starts the unit again
  rm -f "$D/mnt/left-behind"
  systemctl start flow-recover.service; echo $? >"$c/restart.rc"
  systemctl show -p Result,ExecMainStatus flow-recover.service >"$c/restart-show" 2>&1
  systemctl --failed --no-legend --plain >"$c/restart-failed" 2>&1
  journalctl -b -u flow-recover.service --no-pager -o cat >"$c/restart-journal" 2>&1
  flow list --json >"$c/restart-list.json" 2>&1
  ls -A "$D" >"$c/restart-files" 2>&1
  kernel_state "$c/restart-kernel"
  # the resume drop-in: run C stopped (SIGKILL) inside create-delay is finished, not undone
  local r=$S/resume
  mkdir -p "$r" /etc/systemd/system/flow-recover.service.d
  install -m 0644 "$ROOT/systemd/flow-recover-resume.conf" /etc/systemd/system/flow-recover.service.d/resume.conf
  systemctl daemon-reload
  FLOW_HALT_AT=apply:create-delay:command-done FLOW_HALT_MARKER="$r/c.halted" \
    node "$ROOT/dist/test/flow.js" run delayed-device --file "$D/c.img" --size 16M --delay 20 --no-mount >"$r/c.out" 2>&1 &
  local pid=$!
  wait_for "$r/c.halted" "$pid" || { echo "run C exited before halting" >"$r/fatal"; return; }
  kill -KILL "$pid"; wait "$pid" 2>/dev/null
  systemctl start flow-recover.service; echo $? >"$r/start.rc"
  systemctl show -p Result,ExecMainStatus,ExecStart flow-recover.service >"$r/show" 2>&1
  journalctl -b -u flow-recover.service --no-pager -o cat >"$r/journal" 2>&1
  flow list --json >"$r/list.json" 2>&1
  dmsetup table >"$r/dmtable" 2>&1
}

action=${1:-setup}   # no argument: as scripts/lab --setup runs it
case "$action" in
  cut | setup | probe | check) "$action" ;;
  *) echo "usage: systemd-guest.sh cut|setup|probe|check" >&2; exit 2 ;;
esac
