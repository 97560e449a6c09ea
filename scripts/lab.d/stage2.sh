#!/bin/bash
# Stage 2 of the lab guest: PID 1 after switch_root, running the HOST's bash on the
# overlay root. Starts udevd, mounts the share (and the disk), runs the command with its
# output in the control share, records its exit status there and powers off.
# Progress goes to ctl/stage: init -> stage2 -> udev -> disk -> command -> done.
# With --systemd (LAB_SYSTEMD=1): mounts the share, runs the --setup script, installs
# lab-cmd.service and execs the host's systemd (stage systemd); lab-cmd.service runs
# this script again as `stage2.sh --command` for the command (-> command -> done).
CTL=/run/flow-lab/ctl
BB=/run/flow-lab/busybox
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8 TERM=dumb
exec </dev/null >/dev/console 2>&1

uptime_s() { cut -d' ' -f1 /proc/uptime; }
stage() { echo "$1" >"$CTL/stage"; echo "flow-lab stage2: $1 at $(uptime_s)s"; }
power_off() {
  sync
  "$BB" poweroff -f
  sleep 5
  echo o >/proc/sysrq-trigger
  while :; do sleep 60; done
}
fail() {
  echo "flow-lab stage2: FATAL: $*"
  echo "stage2: $*" >"$CTL/boot-error"
  power_off
}
trap 'fail "stage2 exited unexpectedly"' EXIT

# The command, its output in the control share and its exit status recorded there.
run_command() {
  for kv in "${LAB_ENV[@]}"; do export "${kv?}"; done
  export FLOW_LAB=1 FLOW_LAB_SHARE="$LAB_SHARE"
  cd "$LAB_CWD" || fail "cannot cd to $LAB_CWD"
  stage command
  "${LAB_ARGV[@]}" </dev/null >"$CTL/stdout" 2>"$CTL/stderr"
  rc=$?
  cd /
  echo "flow-lab stage2: command exited $rc at $(uptime_s)s"
  echo "$rc" >"$CTL/status.tmp" && mv "$CTL/status.tmp" "$CTL/status"
  stage done
}

if [[ "${1:-}" == --command ]]; then   # lab-cmd.service, under systemd
  # shellcheck source=/dev/null
  source "$CTL/request" || { echo "stage2: cannot read the request" >"$CTL/boot-error"; exit 0; }
  fail() { echo "flow-lab stage2: FATAL: $*"; echo "stage2: $*" >"$CTL/boot-error"; exit 0; }
  trap - EXIT
  run_command
  exit 0   # the unit's SuccessAction powers the guest off
fi

stage stage2
# shellcheck source=/dev/null
source "$CTL/request" || fail "cannot read the request"

if [[ "${LAB_SYSTEMD:-0}" == 1 ]]; then
  mkdir -p "$LAB_SHARE" 2>/dev/null
  mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 labshare "$LAB_SHARE" ||
    fail "cannot mount the share at $LAB_SHARE"
  # shellcheck source=/dev/null
  source "$CTL/systemd-prepare.sh" || fail "cannot read systemd-prepare.sh"
  systemd_prepare
  stage systemd
  trap - EXIT
  exec /lib/systemd/systemd
fi

mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=0620,ptmxmode=0666 devpts /dev/pts
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
[[ -e /dev/fd ]] || ln -s /proc/self/fd /dev/fd
mkdir -p -m 1777 /run/lock
mkdir -p /run/mount
hostname flow-lab 2>/dev/null || true
mkdir -p "$LAB_SHARE" 2>/dev/null
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 labshare "$LAB_SHARE" ||
  fail "cannot mount the share at $LAB_SHARE"

stage udev
if [[ -x /lib/systemd/systemd-udevd ]]; then
  /lib/systemd/systemd-udevd --daemon || echo "flow-lab stage2: udevd failed to start"
  if [[ "${LAB_UDEV_TRIGGER:-}" == all ]]; then
    udevadm trigger --action=add
  else   # the devices flow touches; a full trigger costs ~3 s more under TCG
    udevadm trigger --action=add --subsystem-match=block --subsystem-match=misc
  fi
  udevadm settle --timeout=120 || echo "flow-lab stage2: udevadm settle timed out"
else
  echo "flow-lab stage2: no /lib/systemd/systemd-udevd: dmsetup will create no /dev/mapper nodes"
fi

if [[ -n "${LAB_DISK_MOUNT:-}" ]]; then
  stage disk
  [[ -b /dev/vda ]] || fail "--disk-mount given but /dev/vda is missing"
  if [[ -z "$(blkid -p -o value -s TYPE /dev/vda 2>/dev/null)" ]]; then
    echo "flow-lab stage2: /dev/vda is empty: mkfs.ext4"
    mkfs.ext4 -F -q -b 4096 -L flow-lab /dev/vda || fail "mkfs.ext4 /dev/vda failed"
  fi
  mkdir -p "$LAB_DISK_MOUNT"
  mount ${LAB_DISK_MOUNT_OPTS:+-o "$LAB_DISK_MOUNT_OPTS"} /dev/vda "$LAB_DISK_MOUNT" ||
    fail "cannot mount /dev/vda at $LAB_DISK_MOUNT${LAB_DISK_MOUNT_OPTS:+ (-o $LAB_DISK_MOUNT_OPTS)}"
fi

run_command
trap - EXIT
if [[ -n "${LAB_DISK_MOUNT:-}" ]]; then umount "$LAB_DISK_MOUNT" 2>/dev/null || sync; fi
power_off
