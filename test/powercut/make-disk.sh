#!/usr/bin/env bash
# A fresh state disk for one round of the power-cut tier, built on the host (no root, no
# loop device): GPT with 1 img (a Pi-like image and an ext4 image, the runs' inputs),
# 2 main (the plain runs' state directory and the files delayed-device creates), 3-6 one
# filesystem per fsync mutant (doc-file, doc-dir, log-append, state-dir), each ext4 with 4 KiB blocks.
#   make-disk.sh DISK IMAGES_DIR     IMAGES_DIR holds pi.img and rootfs.ext4
set -euo pipefail
export LC_ALL=C PATH="$PATH:/usr/sbin:/sbin"
disk=${1:?usage: make-disk.sh DISK IMAGES_DIR}
images=${2:?usage: make-disk.sh DISK IMAGES_DIR}
[[ -e "$disk" ]] && { echo "make-disk: $disk exists" >&2; exit 2; }
# name:MiB, in partition order (guest.sh relies on it)
parts=(img:160 main:320 doc-file:96 doc-dir:96 log-append:96 state-dir:96)
total=2
for p in "${parts[@]}"; do total=$((total + ${p#*:})); done
truncate -s "$((total + 1))M" "$disk"
{
  echo "label: gpt"
  for p in "${parts[@]}"; do echo "size=${p#*:}MiB, name=${p%%:*}"; done
} | sfdisk --quiet --no-reread --no-tell-kernel "$disk"
start=2048   # sectors: 1 MiB alignment, sfdisk's default
for p in "${parts[@]}"; do
  mib=${p#*:}
  populate=()
  [[ ${p%%:*} == img ]] && populate=(-d "$images")
  mkfs.ext4 -q -F -b 4096 -L "pc-${p%%:*}" -E "offset=$((start * 512)),nodiscard,lazy_itable_init=0,lazy_journal_init=0" \
    "${populate[@]}" "$disk" "$((mib * 1024))k"
  start=$((start + mib * 2048))
done
