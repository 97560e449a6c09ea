#!/usr/bin/env bash
# Power cut on the real kernel, from the host (two boots of the kernel lab on one state
# disk): boot 1 runs snapshot-image with its journal and image on the disk, writes into
# the snapshot, and loses power; boot 2 (new boot id, no devices) resumes the run — flow
# must re-apply every volatile step with new device numbers — then rolls it back and
# checks that nothing is left and the image is unchanged.
#   test/lab/power-cut-real.sh        (as root, on the host; ~1 min)
# Exit 0 when every check passed.
set -uo pipefail
ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)"
cd "$ROOT"
[[ -f dist/bin/flow.js ]] || { echo "build first: npm run build" >&2; exit 2; }
T=$(mktemp -d "${TMPDIR:-/tmp}/flow-powercut.XXXXXX")
trap 'rm -rf "$T"' EXIT
mkdir "$T/share"

cat >"$T/boot1.sh" <<'EOF'
set -e
export FLOW_STATE_DIR=/var/lib/flow/state FLOW_RUN_DIR=/run/flow
scripts/make-pi-image /var/lib/flow/pi.img 128 >/dev/null
sha256sum /var/lib/flow/pi.img >/var/lib/flow/pi.sha
cat /proc/sys/kernel/random/boot_id >/var/lib/flow/boot1
sync
node dist/bin/flow.js run snapshot-image --image /var/lib/flow/pi.img --size 256M --cow-size 32M >/var/lib/flow/run.out
echo "written before the power cut" >"/run/flow/$(head -n1 /var/lib/flow/run.out)/mnt/lost.txt"
sync
touch "$FLOW_LAB_SHARE/cut"
sleep 60
EOF

cat >"$T/boot2.sh" <<'EOF'
export FLOW_STATE_DIR=/var/lib/flow/state FLOW_RUN_DIR=/run/flow
fail=0
check() { local what=$1; shift; if "$@"; then echo "ok    $what"; else echo "FAIL  $what"; fail=1; fi; }
id=$(head -n1 /var/lib/flow/run.out)
check "a new boot" test "$(cat /proc/sys/kernel/random/boot_id)" != "$(cat /var/lib/flow/boot1)"
check "no device of the run survived the power cut" test -z "$(dmsetup ls | grep "flow-$id")"
node dist/bin/flow.js resume "$id" >/tmp/resume.out 2>&1; rc=$?
cat /tmp/resume.out
check "resume exits 0" test "$rc" = 0
check "resume saw the reboot" grep -q "rebooted" /tmp/resume.out
check "snapshot mounted again with the image's files" test -f "/run/flow/$id/mnt/etc/hostname"
check "what was written in RAM before the cut is gone" test ! -e "/run/flow/$id/mnt/lost.txt"
check "base and snapshot exist again" test "$(dmsetup ls | grep -c "flow-$id")" = 2
node dist/bin/flow.js rollback "$id"; check "rollback exits 0" test $? = 0
check "no dm device left" test -z "$(dmsetup ls | grep "flow-$id")"
check "no loop device left" test -z "$(losetup -j /var/lib/flow/pi.img)"
check "no zram device left" test "$(ls /sys/block | grep -c '^zram')" = 1
check "nothing mounted under /run/flow" test -z "$(findmnt -rn -o TARGET | grep -E '^/run/flow(/|$)')"
check "no directory left" test ! -e /run/flow
check "image unchanged" sha256sum --quiet -c /var/lib/flow/pi.sha
exit $fail
EOF

scripts/lab run -q --disk "$T/state.img" --disk-mount /var/lib/flow --share "$T/share" --power-cut-on cut -- bash "$T/boot1.sh"
rc=$?
[[ $rc == 137 ]] || { echo "power-cut-real: boot 1 ended with $rc, not a power cut (137)" >&2; exit 1; }
echo "power cut after the run was done; booting again on the same state disk"
scripts/lab run -q --disk "$T/state.img" --disk-mount /var/lib/flow -- bash "$T/boot2.sh"
rc=$?
echo "power-cut-real: $([[ $rc == 0 ]] && echo "all checks passed" || echo "FAILED (exit $rc)")"
exit "$rc"
