#!/usr/bin/env bash
# The guest side of test/powercut/cow-powercut.test.ts (the host drives it through
# scripts/lab). flow's state directory is /var/lib/flow, the lab disk (ext4, mounted there
# by scripts/lab --disk-mount) holds lab/pi.img (scripts/make-pi-image); the COW files go
# to lab/ too. Everything the host checks goes to the share; nothing is decided here.
#   cut [no-sync]  run A: pi-image --cow-file, done; a file written into its root and one
#                  into its boot partition, each fsynced with its directory (no-sync: not
#                  synced, the mutant that must fail); run C: snapshot-image --cow-file,
#                  done, a file written into it and fsynced the same way; run B: pi-image
#                  --cow-file halted inside grow-root after resize2fs ran; then the
#                  share's `cut`: power cut
#   check          the boot after the cut: what is left in the kernel, A and C resumed
#                  (their files read back), B finished by `flow recover --policy resume`,
#                  all three rolled back; the image's sha256 at every stage
set -uo pipefail
S=${FLOW_LAB_SHARE:?run me in the kernel lab}
ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)
D=/var/lib/flow/lab
FLOW=(node "$ROOT/dist/bin/flow.js")
export LANG=C.UTF-8 FLOW_RUN_DIR=/run/flow
# root COW 32M + boot COW 16M in one sparse file; the root grown from 64 MiB to 96 MiB
PI=(--cow-size 32M --boot-cow-size 16M --size 96M)
# snapshot-image of the same root partition: its COW 32M in its own sparse file
SI=(--cow-size 32M --size 96M)

# device-mapper devices, loop devices and mounts now; the image's checksum
kernel_state() { # PREFIX
  dmsetup table >"$1.dmtable" 2>&1
  losetup -J -l -O NAME,BACK-FILE,RO,OFFSET,SIZELIMIT >"$1.losetup" 2>&1
  cat /proc/self/mountinfo >"$1.mountinfo"
  (cd "$D" && sha256sum pi.img) >"$1.sha256" 2>&1
  ls -A "$D" >"$1.files" 2>&1
}

# the stack of one done run, as the host compares it
stack() { # PREFIX ID
  local n
  for n in "" -base -boot -boot-base; do dmsetup table "flow-$2$n" >"$1$n.dmtable" 2>&1; done
  # to resolve the tables' major:minor to the devices behind them
  dmsetup info -c --noheadings --separator ' ' -o name,major,minor >"$1.dminfo" 2>&1
  losetup -J -l -O NAME,BACK-FILE,OFFSET,MAJ:MIN >"$1.losetup" 2>&1
  dumpe2fs -h "/dev/mapper/flow-$2" 2>/dev/null | sed -n 's/^Block count: *//p' >"$1.blocks"
  findmnt -rn -o TARGET,SOURCE,FSTYPE -R "/run/flow/$2/mnt" >"$1.findmnt" 2>&1
}

fatal() { echo "$*" >"$S/$1.d/fatal"; exit 1; }

cut() { # [no-sync]
  local c=$S/cut.d a b cid pid
  mkdir -p "$c"
  # unsynced data stays in the page cache until the cut (no flusher writeback): only an
  # fsync (ours, flow's, the loop device's flush) makes anything durable
  echo 0 >/proc/sys/vm/dirty_writeback_centisecs
  echo 360000 >/proc/sys/vm/dirty_expire_centisecs
  kernel_state "$c/start"
  "${FLOW[@]}" run pi-image --image "$D/pi.img" --cow-file "$D/a.cow" "${PI[@]}" --json >"$c/a.json" 2>"$c/a.err"
  echo $? >"$c/a.rc"
  a=$(node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0,"utf8").trim().split("\n").pop()).id)' <"$c/a.json") || fatal cut "run A printed no id"
  local m=/run/flow/$a/mnt
  printf 'kept across a power cut\n' >"$m/home/pi/kept.txt"
  printf 'dtparam=cowcut=on\n' >"$m/boot/firmware/cowcut.txt"
  # fsync each file and its directory: coreutils sync with arguments fsyncs each
  [[ ${1:-} == no-sync ]] || sync "$m/home/pi/kept.txt" "$m/home/pi" "$m/boot/firmware/cowcut.txt" "$m/boot/firmware"
  stack "$c/a" "$a"
  # run C: snapshot-image --cow-file, one partition, one COW file
  "${FLOW[@]}" run snapshot-image --image "$D/pi.img" --cow-file "$D/c.cow" "${SI[@]}" --json >"$c/c.json" 2>"$c/c.err"
  echo $? >"$c/c.rc"
  cid=$(node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0,"utf8").trim().split("\n").pop()).id)' <"$c/c.json") || fatal cut "run C printed no id"
  printf 'snapshot-image kept across a power cut\n' >"/run/flow/$cid/mnt/home/pi/c-kept.txt"
  [[ ${1:-} == no-sync ]] || sync "/run/flow/$cid/mnt/home/pi/c-kept.txt" "/run/flow/$cid/mnt/home/pi"
  stack "$c/c" "$cid"
  # run B stops for good inside grow-root, resize2fs done, its outcome not yet in the journal
  FLOW_HALT_AT=apply:grow-root:command-done FLOW_HALT_MARKER="$c/b.halted" \
    node "$ROOT/dist/test/flow.js" run pi-image --image "$D/pi.img" --cow-file "$D/b.cow" "${PI[@]}" >"$c/b.out" 2>&1 &
  pid=$!
  while [[ ! -e $c/b.halted ]]; do kill -0 "$pid" 2>/dev/null || fatal cut "run B exited before halting: $(cat "$c/b.out")"; sleep 0.1; done
  "${FLOW[@]}" list --json >"$c/list.json" 2>&1
  kernel_state "$c/before-cut"
  touch "$S/cut"
  sleep 600
}

check() {
  local k=$S/check.d id
  mkdir -p "$k"
  kernel_state "$k/start"
  "${FLOW[@]}" list --json >"$k/list.json" 2>&1
  local a b c
  a=$(node -e 'const r=JSON.parse(require("fs").readFileSync(0,"utf8"));process.stdout.write(r.find((x)=>x.status==="done"&&x.workflow==="pi-image").id)' <"$k/list.json") || fatal check "no done pi-image run"
  c=$(node -e 'const r=JSON.parse(require("fs").readFileSync(0,"utf8"));process.stdout.write(r.find((x)=>x.status==="done"&&x.workflow==="snapshot-image").id)' <"$k/list.json") || fatal check "no done snapshot-image run"
  b=$(node -e 'const r=JSON.parse(require("fs").readFileSync(0,"utf8"));process.stdout.write(r.find((x)=>x.status!=="done").id)' <"$k/list.json") || fatal check "no unfinished run"
  "${FLOW[@]}" resume "$a" --json >"$k/a-resume.json" 2>"$k/a-resume.err"; echo $? >"$k/a-resume.rc"
  cat "/run/flow/$a/mnt/home/pi/kept.txt" >"$k/a-kept.txt" 2>&1
  cat "/run/flow/$a/mnt/boot/firmware/cowcut.txt" >"$k/a-cowcut.txt" 2>&1
  stack "$k/a" "$a"
  "${FLOW[@]}" resume "$c" --json >"$k/c-resume.json" 2>"$k/c-resume.err"; echo $? >"$k/c-resume.rc"
  cat "/run/flow/$c/mnt/home/pi/c-kept.txt" >"$k/c-kept.txt" 2>&1
  stack "$k/c" "$c"
  "${FLOW[@]}" recover --policy resume --json >"$k/recover.json" 2>"$k/recover.err"; echo $? >"$k/recover.rc"
  stack "$k/b" "$b"
  "${FLOW[@]}" list --json >"$k/resumed-list.json" 2>&1
  kernel_state "$k/resumed"
  for id in "$a" "$b" "$c"; do
    "${FLOW[@]}" rollback "$id" >"$k/$id.rollback.out" 2>&1; echo $? >"$k/$id.rollback.rc"
  done
  "${FLOW[@]}" list --json >"$k/end-list.json" 2>&1
  kernel_state "$k/end"
  find /run/flow -mindepth 1 >"$k/end.runflow" 2>/dev/null
}

case "${1:-}" in
  cut) cut "${2:-}" ;;
  check) check ;;
  *) echo "usage: cow-guest.sh cut [no-sync] | check" >&2; exit 2 ;;
esac
