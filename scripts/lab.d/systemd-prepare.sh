# shellcheck shell=bash
# Sourced by stage2.sh (PID 1, bash, on the overlay root) for `scripts/lab run --systemd`,
# just before it execs the host's systemd: leaves out what the host enabled and what cannot
# work or only slows a throwaway VM, installs lab-cmd.service (the command, after
# multi-user.target, then poweroff) and runs the --setup script. Every change is in the
# overlay's tmpfs, never on the host.

# Units that cannot work or are not wanted in the VM (a mask of a unit the host lacks is harmless).
LAB_SYSTEMD_MASK=(
  getty.target console-getty.service serial-getty@ttyS0.service  # no login on the console log
  systemd-logind.service dbus.service dbus.socket                # no sessions; systemctl uses the private socket
  systemd-networkd-wait-online.service NetworkManager-wait-online.service
  ifupdown-wait-online.service networking.service                # -nic none
  systemd-timesyncd.service systemd-tmpfiles-clean.timer
  # --remove would empty /tmp, where a --share often is (a writable 9p export of the host)
  systemd-tmpfiles-setup.service
  systemd-firstboot.service systemd-repart.service systemd-machine-id-commit.service
  systemd-pcrphase.service systemd-pcrphase-sysinit.service
  systemd-binfmt.service proc-sys-fs-binfmt_misc.automount
  systemd-update-utmp.service systemd-update-utmp-runlevel.service
  systemd-ask-password-wall.path systemd-ask-password-console.path
)

systemd_prepare() {
  local u etc=/etc/systemd/system
  mkdir -p -m 1777 /run/lock
  # what the host's admin enabled (its services, timers, gettys) is not the VM's business
  rm -f "$etc"/*.wants/* "$etc"/*.requires/*
  # a host that is a container marks it so; systemd would then believe it runs in one
  # (ignoring the kernel command line, exiting instead of powering off)
  rm -f /.dockerenv /run/.containerenv
  # the host's mounts and encrypted volumes do not exist here (each would wait 90 s)
  : >/etc/fstab
  : >/etc/crypttab
  for u in "${LAB_SYSTEMD_MASK[@]}"; do ln -sfn /dev/null "$etc/$u"; done
  cat >"$etc/lab-cmd.service" <<'EOF'
# scripts/lab --systemd: the command, once the boot reached multi-user.target
[Unit]
Description=scripts/lab command
After=multi-user.target
SuccessAction=poweroff-force
FailureAction=poweroff-force

[Service]
Type=oneshot
ExecStart=/bin/bash /run/flow-lab/ctl/stage2.sh --command
TimeoutStartSec=infinity
EOF
  mkdir -p "$etc/multi-user.target.wants"
  ln -sfn ../lab-cmd.service "$etc/multi-user.target.wants/lab-cmd.service"
  if [[ -n "${LAB_SETUP:-}" ]]; then
    echo "flow-lab stage2: --setup $LAB_SETUP at $(uptime_s)s"
    (
      for kv in "${LAB_ENV[@]}"; do export "${kv?}"; done
      export FLOW_LAB=1 FLOW_LAB_SHARE="$LAB_SHARE"
      cd "$LAB_CWD" && bash "$LAB_SETUP"
    ) </dev/null >>"$CTL/stderr" 2>&1 || fail "--setup $LAB_SETUP exited $?"
  fi
  echo "flow-lab stage2: exec /lib/systemd/systemd at $(uptime_s)s"
}
