#!/usr/bin/env bash
# Captures real device-mapper / loop / zram outputs INSIDE the kernel lab, for the parser
# tests (test/fixtures/captured/lab/, see README.md there). Run from the repository root:
#   scripts/lab run --share test/fixtures/captured/lab -- bash scripts/lab.d/capture.sh
# It refuses to run outside the lab (it creates and removes dm devices freely).
set -uo pipefail
export LC_ALL=C
[[ "${FLOW_LAB:-}" == 1 ]] || {
  echo "capture.sh runs inside the lab: scripts/lab run --share test/fixtures/captured/lab -- bash $0" >&2
  exit 2
}
OUT=${OUT:-$FLOW_LAB_SHARE}
W=/tmp/flowcap            # the guest's /tmp is a throwaway tmpfs overlay: fixed paths
mkdir -p "$OUT" "$W"
EXITS="$OUT/exit-codes.txt"
: >"$EXITS"
find "$OUT" -maxdepth 1 -type f ! -name README.md ! -name exit-codes.txt -delete

# run NAME CMD...: stdout to NAME, stderr to NAME.stderr (each removed when empty), exit
# status and argv appended to exit-codes.txt. stdin is the caller's.
run() {
  local name=$1 rc=0; shift
  "$@" >"$OUT/$name" 2>"$OUT/$name.stderr" || rc=$?
  [[ -s "$OUT/$name.stderr" ]] || rm -f "$OUT/$name.stderr"
  [[ -s "$OUT/$name" ]] || rm -f "$OUT/$name"
  echo "$name: exit $rc: $*" >>"$EXITS"
  return 0
}
# kmsg NAME: kernel messages since the last kmsg call (dmesg -t), when there are any
kmsg() { dmesg -c -t >"$OUT/$1"; [[ -s "$OUT/$1" ]] || rm -f "$OUT/$1"; }
note() { echo "# $*" >>"$EXITS"; }
devno() { cat "/sys/class/block/${1#/dev/}/dev"; }   # /dev/loop0 -> 7:0
dmno() { dmsetup info -c --noheadings -o major,minor --separator : "$1"; }
INFO=(dmsetup info -c --noheadings --separator ';' -o name,uuid,attr,open,major,minor)
COLS=NAME,MAJ:MIN,BACK-FILE,BACK-INO,BACK-MAJ:MIN,OFFSET,SIZELIMIT,RO,AUTOCLEAR
P=flow-k3x9mz2p U=FLOW-k3x9mz2p
dmesg -c >/dev/null

note "guest kernel $(uname -r); $(dmsetup --version | tr '\n' ' ')"
run dmsetup-version.txt dmsetup version
run dmsetup-targets.txt dmsetup targets
run dmsetup-info-c-none.txt "${INFO[@]}"
run dmsetup-table-none.txt dmsetup table
run dmsetup-status-none.txt dmsetup status
run dmsetup-ls-none.txt dmsetup ls
run losetup-list-empty.json losetup -J -l -O $COLS

# --- origin: a 64 MiB ext4 (4 KiB blocks) image behind a read-only loop
truncate -s 64M $W/img.raw
mkfs.ext4 -F -q -b 4096 -U 6f1c2a8e-2b7a-4c39-9d0e-5b8f3a1c7e42 -L flowroot $W/img.raw
mkdir -p $W/seed && mount -o loop $W/img.raw $W/seed && head -c 4M /dev/urandom >$W/seed/data && umount $W/seed
LRO=$(losetup --find --show --read-only $W/img.raw)
LROMM=$(devno "$LRO") SZ=$(blockdev --getsz "$LRO")
note "read-only loop $LRO = $LROMM, $SZ sectors"

# linear + zero base (twice the image) on the read-only loop; first read-write, then -r
TBASE=$(printf '0 %d linear %s 0\n%d %d zero' "$SZ" "$LROMM" "$SZ" "$SZ")
run dmsetup-create-rw-on-ro-loop dmsetup create $P-base -u $U-base <<<"$TBASE"
kmsg dmesg-create-rw-on-ro-loop.txt
run dmsetup-info-c-rw-on-ro-loop.txt "${INFO[@]}"
run dd-write-rw-on-ro-loop dd if=/dev/zero of=/dev/mapper/$P-base bs=4k count=1 oflag=direct status=none
kmsg dmesg-write-rw-on-ro-loop.txt
dmsetup remove $P-base
run dmsetup-create-base dmsetup create $P-base -u $U-base -r <<<"$TBASE"
BASEMM=$(dmno $P-base)
run dmsetup-table-linear-zero.txt dmsetup table $P-base
run dmsetup-status-linear-zero.txt dmsetup status $P-base
run dmsetup-info-base.txt dmsetup info $P-base
run dev-mapper-ls.txt ls /dev/mapper

# --- zram COW (32 MiB) and a transient snapshot of the base
ZN=$(cat /sys/class/zram-control/hot_add)
echo 32M >/sys/block/zram$ZN/disksize
ZMM=$(devno /dev/zram$ZN)
note "zram$ZN = $ZMM, 32 MiB; base $P-base = $BASEMM"
TSNAP="0 $((2 * SZ)) snapshot $BASEMM $ZMM N 16"
run dmsetup-create-snap dmsetup create $P-snap -u $U-snap <<<"$TSNAP"
run dmsetup-table-snapshot.txt dmsetup table $P-snap
run dmsetup-status-snapshot-active.txt dmsetup status $P-snap
mkdir -p $W/m
run mount-snapshot mount /dev/mapper/$P-snap $W/m
run resize2fs-snapshot resize2fs /dev/mapper/$P-snap
head -c 8M /dev/urandom >$W/m/more && sync
run dmsetup-status-snapshot-written.txt dmsetup status $P-snap
run dmsetup-status-snapshot-written-noflush.txt dmsetup status --noflush $P-snap
kmsg dmesg-snapshot.txt

# --- half-created devices: no table, inactive table only, suspended read-only
run dmsetup-create-notable dmsetup create $P-half -u $U-half --notable
run dmsetup-table-no-live.txt dmsetup table $P-half
run dmsetup-status-no-live.txt dmsetup status $P-half
run dmsetup-create-inact dmsetup create $P-inact -u $U-inact --notable
run dmsetup-load-inact dmsetup load $P-inact --table "0 2048 zero"
run dmsetup-table-inactive-only.txt dmsetup table $P-inact
run dmsetup-table-inactive-flag.txt dmsetup table --inactive $P-inact
run dmsetup-create-susp dmsetup create $P-susp -u $U-susp -r --table "0 2048 zero"
run dmsetup-create-nouuid dmsetup create $P-nouuid --table "0 2048 zero"
dmsetup load $P-susp -r --table "0 4096 zero"
run dmsetup-suspend dmsetup suspend $P-susp
run dmsetup-info-c.txt "${INFO[@]}"
run dmsetup-info-c-one.txt "${INFO[@]}" $P-snap
run dmsetup-info-c-by-uuid.txt "${INFO[@]}" -u $U-snap
run dmsetup-info-half.txt dmsetup info $P-half
run dmsetup-info-susp.txt dmsetup info $P-susp
run dmsetup-table-all.txt dmsetup table
run dmsetup-status-all.txt dmsetup status
run dmsetup-ls.txt dmsetup ls
run dmsetup-resume-susp dmsetup resume $P-susp

# --- delay and flakey on a read-write loop
truncate -s 16M $W/rw.raw
LRW=$(losetup --find --show $W/rw.raw)
LRWMM=$(devno "$LRW") SZ2=$(blockdev --getsz "$LRW")
run dmsetup-create-delay dmsetup create $P-delay -u $U-delay --table "0 $SZ2 delay $LRWMM 0 100"
run dmsetup-table-delay.txt dmsetup table $P-delay
run dmsetup-status-delay.txt dmsetup status $P-delay
run dmsetup-create-delay6 dmsetup create $P-delay6 -u $U-delay6 --table "0 $SZ2 delay $LRWMM 0 0 $LRWMM 0 100"
run dmsetup-table-delay6.txt dmsetup table $P-delay6
run dmsetup-status-delay6.txt dmsetup status $P-delay6
run dmsetup-create-flakey dmsetup create $P-flakey -u $U-flakey --table "0 $SZ2 flakey $LRWMM 0 5 5 1 drop_writes"
run dmsetup-table-flakey.txt dmsetup table $P-flakey
run dmsetup-status-flakey.txt dmsetup status $P-flakey
run losetup-list.json losetup -J -l -O $COLS

# --- errors
run dmsetup-remove-busy dmsetup remove $P-snap
run dmsetup-remove-busy-retry dmsetup remove --retry $P-snap
run dmsetup-remove-busy-stacked dmsetup remove $P-base
run dmsetup-create-taken dmsetup create $P-base -u $U-other --table "0 2048 zero"
run dmsetup-create-dup-uuid dmsetup create $P-other -u $U-base --table "0 2048 zero"
DMMAJ=${BASEMM%%:*}
note "a missing device: $DMMAJ:250 (dm does not autoload minors; 7:250 would create loop250)"
run dmsetup-create-bad-table dmsetup create $P-bad1 -u $U-bad1 --table "0 2048 linear $DMMAJ:250 0"
kmsg dmesg-create-bad-table.txt
run dmsetup-create-bad-path dmsetup create $P-bad2 -u $U-bad2 --table "0 2048 linear /dev/flow-no-such-disk 0"
kmsg dmesg-create-bad-path.txt
run dmsetup-create-bad-args dmsetup create $P-bad3 -u $U-bad3 --table "0 2048 linear"
kmsg dmesg-create-bad-args.txt
run dmsetup-create-bad-target dmsetup create $P-bad4 -u $U-bad4 --table "0 2048 nosuchtarget"
kmsg dmesg-create-bad-target.txt
run dmsetup-create-bad-length dmsetup create $P-bad5 -u $U-bad5 --table "0 999999999 linear $LRWMM 0"
kmsg dmesg-create-bad-length.txt
run dmsetup-create-autoload-loop dmsetup create $P-bad6 -u $U-bad6 --table "0 2048 linear 7:250 0"
kmsg dmesg-create-autoload-loop.txt
run dmsetup-info-c-after-errors.txt "${INFO[@]}"
run dmsetup-info-missing dmsetup info $P-nope
run dmsetup-info-c-missing "${INFO[@]}" $P-nope
run dmsetup-table-missing dmsetup table $P-nope
run dmsetup-status-missing dmsetup status $P-nope
run dmsetup-remove-missing dmsetup remove $P-nope
run dmsetup-remove-missing-uuid dmsetup remove -u $U-nope
run dmsetup-resume-missing dmsetup resume $P-nope
run dmsetup-create-empty-name dmsetup create "" --table "0 8 zero"
run dmsetup-create-bad-name dmsetup create "$P/x" --table "0 8 zero"
run dmsetup-create-long-uuid dmsetup create $P-long -u "$(printf 'U%.0s' {1..129})" --table "0 8 zero"

# --- deferred remove of a busy device: the attr while pending, then cancelled
run dmsetup-remove-deferred dmsetup remove --deferred $P-snap
run dmsetup-info-c-deferred.txt "${INFO[@]}" $P-snap
run dmsetup-info-deferred.txt dmsetup info $P-snap
run dmsetup-cancel-deferred dmsetup message $P-snap 0 @cancel_deferred_remove
run dmsetup-info-c-deferred-cancelled.txt "${INFO[@]}" $P-snap

# --- remove by UUID (device with no table)
run dmsetup-remove-by-uuid dmsetup remove -u $U-half
run dmsetup-info-c-after-remove-by-uuid.txt "${INFO[@]}"

# --- a 1 KiB-block ext4 origin under a snapshot with a zram COW: mount fails
truncate -s 32M $W/img1k.raw
mkfs.ext4 -F -q -b 1024 -U 0b5e1f2d-3c4a-4d5e-8f60-718293a4b5c6 $W/img1k.raw
L1K=$(losetup --find --show --read-only $W/img1k.raw)
SZ1K=$(blockdev --getsz "$L1K")
dmsetup create $P-base1k -u $U-base1k -r --table "0 $SZ1K linear $(devno "$L1K") 0"
Z1=$(cat /sys/class/zram-control/hot_add); echo 16M >/sys/block/zram$Z1/disksize
dmsetup create $P-snap1k -u $U-snap1k --table "0 $SZ1K snapshot $(dmno $P-base1k) $(devno /dev/zram$Z1) N 16"
run blockdev-getss-zram.txt blockdev --getss /dev/zram$Z1
run blockdev-getss-snap1k.txt blockdev --getss /dev/mapper/$P-snap1k
mkdir -p $W/m1k
dmesg -c >/dev/null
run mount-bad-block-size mount /dev/mapper/$P-snap1k $W/m1k
kmsg dmesg-mount-bad-block-size.txt
umount $W/m1k 2>/dev/null

# --- overflow a transient snapshot (4 MiB zram COW, 16 MiB written): Invalid
Z2=$(cat /sys/class/zram-control/hot_add); echo 4M >/sys/block/zram$Z2/disksize
dmsetup create $P-small -u $U-small --table "0 $((2 * SZ)) snapshot $BASEMM $(devno /dev/zram$Z2) N 16"
run dmsetup-status-small-before.txt dmsetup status $P-small
run dd-overflow-transient dd if=/dev/urandom of=/dev/mapper/$P-small bs=1M count=16 oflag=direct status=none
run dmsetup-status-snapshot-invalid.txt dmsetup status $P-small
run dmsetup-info-c-invalid.txt "${INFO[@]}" $P-small
kmsg dmesg-snapshot-invalid.txt

# --- overflow a persistent snapshot with overflow support (PO) on a 4 MiB loop COW: Overflow
truncate -s 4M $W/cow.raw
LCOW=$(losetup --find --show $W/cow.raw)
dmsetup create $P-po -u $U-po --table "0 $((2 * SZ)) snapshot $BASEMM $(devno "$LCOW") PO 16"
run dmsetup-table-snapshot-po.txt dmsetup table $P-po
run dmsetup-status-snapshot-po.txt dmsetup status $P-po
run dd-overflow-po dd if=/dev/urandom of=/dev/mapper/$P-po bs=1M count=16 oflag=direct status=none
run dmsetup-status-snapshot-overflow.txt dmsetup status $P-po
kmsg dmesg-snapshot-overflow.txt

# --- zram in use, then teardown (in dependency order)
run zram-reset-busy.txt bash -c "echo 1 > /sys/block/zram$ZN/reset"
run zram-hot-remove-busy.txt bash -c "echo $ZN > /sys/class/zram-control/hot_remove"
run zram-holders-snap.txt ls /sys/block/zram$ZN/holders
run losetup-detach-held losetup -d "$LRO"
run losetup-list-held.json losetup -J -l -O $COLS
umount $W/m
run dmsetup-remove-snap dmsetup remove $P-snap
for d in small po snap1k base1k delay delay6 flakey inact susp nouuid; do dmsetup remove --retry $P-$d; done
run dmsetup-remove-base dmsetup remove --retry $P-base
for d in $(dmsetup ls | awk -v p="$P-" 'index($1, p) == 1 {print $1}'); do
  note "left over after the errors: $d"; dmsetup remove --retry "$d"
done
run dmsetup-info-c-end.txt "${INFO[@]}"
run dev-mapper-ls-end.txt ls /dev/mapper
for z in $ZN $Z1 $Z2; do echo 1 >/sys/block/zram$z/reset; echo $z >/sys/class/zram-control/hot_remove; done
losetup -d "$LRW" "$L1K" "$LCOW" 2>/dev/null
run losetup-list-end.json losetup -J -l -O $COLS
echo "capture done: $(find "$OUT" -maxdepth 1 -type f | wc -l) files in $OUT" >&2
