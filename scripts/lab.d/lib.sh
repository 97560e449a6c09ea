# shellcheck shell=bash
# Host-side helpers of the kernel lab: messages, packages, kernel choice, initramfs cache.
# Sourced by scripts/lab; expects LAB_D (this folder) to be set.

# Exit codes of scripts/lab (the command's own status passes through unchanged).
readonly LAB_EXIT_SETUP=2        # not root, packages or qemu unavailable, bad usage
readonly LAB_EXIT_TIMEOUT=124    # --timeout elapsed, qemu killed
readonly LAB_EXIT_LAB=125        # guest never reached the command, panicked or died
readonly LAB_EXIT_POWERCUT=137   # --power-cut-on / --power-cut-after fired (SIGKILL)

# Modules loaded from the initramfs, in this order (dependencies are added by modprobe).
LAB_MODULES=(virtio_pci virtio_blk 9p 9pnet_virtio overlay loop dm_mod dm_delay
  dm_snapshot dm_zero dm_flakey zram ext4 vfat btrfs)
# shellcheck disable=SC2206
[[ -n "${FLOW_LAB_EXTRA_MODULES:-}" ]] && LAB_MODULES+=(${FLOW_LAB_EXTRA_MODULES//,/ })

# Debian packages: "package:probe" where probe is a command or a file that proves it.
LAB_PACKAGES=(
  qemu-system-x86:qemu-system-x86_64
  busybox-static:busybox-static
  fdisk:sfdisk
  dosfstools:mkfs.vfat
  e2fsprogs:mkfs.ext4
  btrfs-progs:mkfs.btrfs
  udev:/lib/systemd/systemd-udevd
  dmsetup:dmsetup
  kmod:modprobe
)

LAB_CACHE="${FLOW_LAB_CACHE:-/var/cache/flow-lab}"
LAB_QUIET="${LAB_QUIET:-0}"

lab_say() { [[ "$LAB_QUIET" == 1 ]] || printf 'lab: %s\n' "$*" >&2; }
lab_err() { printf 'lab: error: %s\n' "$*" >&2; }
lab_die() { local code=$1; shift; lab_err "$*"; exit "$code"; }

lab_require_root() {
  [[ $EUID -eq 0 ]] || lab_die "$LAB_EXIT_SETUP" \
    "the kernel lab must run as root (it installs packages, exports / over 9p and runs qemu); try: sudo $0 ${LAB_ARGS:-}"
}

lab_pkg_installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# True when the probe (a command name or an absolute path) is present.
lab_probe() {
  if [[ "$1" == /* ]]; then [[ -e "$1" ]]; else command -v "$1" >/dev/null 2>&1; fi
}

lab_kernels() {  # kernel versions that have both a vmlinuz and a module tree, newest last
  local d v
  for d in /lib/modules/*/; do
    v=$(basename "$d")
    [[ -r "/boot/vmlinuz-$v" && -e "$d/modules.dep" ]] && echo "$v"
  done | sort -V
}

# Install what is missing with apt-get (as root), serialised by a lock in the cache dir.
lab_ensure_packages() {
  local missing=() entry pkg probe
  for entry in "${LAB_PACKAGES[@]}"; do
    pkg=${entry%%:*}; probe=${entry#*:}
    if [[ "$pkg" == busybox-static ]]; then
      lab_pkg_installed busybox-static || missing+=(busybox-static)
    else
      lab_probe "$probe" || missing+=("$pkg")
    fi
  done
  if [[ -z "${FLOW_LAB_KERNEL:-}" && -z "$(lab_kernels)" ]]; then missing+=(linux-image-amd64); fi
  ((${#missing[@]} == 0)) && return 0

  command -v apt-get >/dev/null || lab_die "$LAB_EXIT_SETUP" \
    "missing ${missing[*]} and there is no apt-get to install them"
  mkdir -p "$LAB_CACHE"
  (
    flock -w 1800 9 || lab_die "$LAB_EXIT_SETUP" "timed out waiting for $LAB_CACHE/apt.lock"
    lab_say "installing Debian packages: ${missing[*]} (once; this takes a minute or two)"
    local apt=(apt-get -y -q -o DPkg::Lock::Timeout=600 --no-install-recommends)
    local need_update=0 p
    for p in "${missing[@]}"; do
      apt-cache policy "$p" 2>/dev/null | grep -q 'Candidate: [0-9]' || need_update=1
    done
    if ((need_update)); then
      apt-get -q -o DPkg::Lock::Timeout=600 update >&2 || lab_err "apt-get update failed"
    fi
    if ! DEBIAN_FRONTEND=noninteractive "${apt[@]}" install "${missing[@]}" >&2; then
      lab_say "install failed; retrying after apt-get update"
      apt-get -q -o DPkg::Lock::Timeout=600 update >&2 || true
      DEBIAN_FRONTEND=noninteractive "${apt[@]}" install "${missing[@]}" >&2 ||
        lab_die "$LAB_EXIT_SETUP" "apt-get install ${missing[*]} failed"
    fi
  ) 9>"$LAB_CACHE/apt.lock" || exit $?
  command -v qemu-system-x86_64 >/dev/null ||
    lab_die "$LAB_EXIT_SETUP" "qemu-system-x86_64 is still missing after installing qemu-system-x86"
}

lab_pick_kernel() {
  if [[ -n "${FLOW_LAB_KERNEL:-}" ]]; then
    LAB_KVER=$FLOW_LAB_KERNEL
  else
    LAB_KVER=$(lab_kernels | tail -n1)
  fi
  [[ -n "$LAB_KVER" && -r "/boot/vmlinuz-$LAB_KVER" && -d "/lib/modules/$LAB_KVER" ]] ||
    lab_die "$LAB_EXIT_SETUP" "no usable guest kernel (need /boot/vmlinuz-VER and /lib/modules/VER; install linux-image-amd64 or set FLOW_LAB_KERNEL)"
  LAB_VMLINUZ="/boot/vmlinuz-$LAB_KVER"
}

# The module files (with dependencies, in load order) for LAB_MODULES, deduplicated.
lab_module_files() {
  local m line path out=""
  declare -A seen=()
  for m in "${LAB_MODULES[@]}"; do
    line=$(modprobe -S "$LAB_KVER" --show-depends "$m" 2>&1) ||
      lab_die "$LAB_EXIT_SETUP" "module $m not found for kernel $LAB_KVER: $line"
    out+="$line"$'\n'
  done
  while read -r line; do
    [[ "$line" == insmod\ * ]] || continue   # "builtin foo" needs nothing
    path=$(awk '{print $2}' <<<"$line")
    [[ -n "${seen[$path]:-}" ]] && continue
    seen[$path]=1
    echo "$path"
  done <<<"$out"
}

# Sets LAB_INITRD to a cached initramfs, building it when absent.
lab_ensure_initramfs() {
  local files key tmp f base out
  files=$(lab_module_files) || exit $?
  [[ -n "$files" ]] || lab_die "$LAB_EXIT_SETUP" "no modules found for $LAB_KVER"
  key=$( {
    echo "v1 $LAB_KVER"; echo "$files"; cat "$LAB_D/init"
    readlink -f "$(command -v busybox)" 2>/dev/null; busybox 2>/dev/null | head -n1
  } | sha256sum | cut -c1-16)
  LAB_INITRD="$LAB_CACHE/initramfs-$LAB_KVER-$key.cpio.gz"
  [[ -s "$LAB_INITRD" ]] && return 0
  mkdir -p "$LAB_CACHE"
  (
    flock -w 600 9 || lab_die "$LAB_EXIT_SETUP" "timed out waiting for $LAB_CACHE/build.lock"
    [[ -s "$LAB_INITRD" ]] && exit 0
    lab_say "building initramfs for $LAB_KVER -> $LAB_INITRD"
    tmp=$(mktemp -d "$LAB_CACHE/build.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    mkdir -p "$tmp"/{bin,dev,proc,sys,lib/modules,ctl,lower,rw,newroot}
    [[ -x /bin/busybox ]] || lab_die "$LAB_EXIT_SETUP" "/bin/busybox missing (busybox-static)"
    cp /bin/busybox "$tmp/bin/busybox"
    : >"$tmp/lib/modules/order"
    while read -r f; do
      base=$(basename "$f")
      case "$f" in
        *.ko.xz) xz -dc "$f" >"$tmp/lib/modules/${base%.xz}"; base=${base%.xz} ;;
        *.ko.zst) zstd -qdc "$f" >"$tmp/lib/modules/${base%.zst}"; base=${base%.zst} ;;
        *.ko.gz) gzip -dc "$f" >"$tmp/lib/modules/${base%.gz}"; base=${base%.gz} ;;
        *) cp "$f" "$tmp/lib/modules/$base" ;;
      esac
      echo "$base" >>"$tmp/lib/modules/order"
    done <<<"$files"
    install -m 0755 "$LAB_D/init" "$tmp/init"
    out="$LAB_INITRD.tmp.$$"
    (cd "$tmp" && find . -mindepth 1 | LC_ALL=C sort | busybox cpio -o -H newc 2>/dev/null) |
      gzip -1 >"$out"
    mv -f "$out" "$LAB_INITRD"
  ) 9>"$LAB_CACHE/build.lock" || exit $?
}
