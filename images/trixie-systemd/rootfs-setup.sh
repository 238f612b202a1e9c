#!/bin/sh
# Runs inside the debootstrap chroot: make the tree boot as a systemd container.
set -eu
suite="$1"
mirror="$2"

cat >/etc/apt/sources.list <<EOF
deb ${mirror} ${suite} main
deb ${mirror} ${suite}-updates main
EOF

# Keep downloaded .debs: the test harness mounts one shared archive cache.
rm -f /etc/apt/apt.conf.d/docker-clean
echo 'APT::Keep-Downloaded-Packages "true";' >/etc/apt/apt.conf.d/10keep-debs
echo 'Acquire::Languages "none";' >/etc/apt/apt.conf.d/10no-languages
# As Debian's own container images do: dpkg does not fsync every unpacked
# file (throwaway test nodes gain nothing from it, and 4 nodes unpacking at
# once on 2 cores wait on it), and skips man pages, docs and translations.
echo 'force-unsafe-io' >/etc/dpkg/dpkg.cfg.d/docker-apt-speedup
cat >/etc/dpkg/dpkg.cfg.d/docker-slim <<'EOF'
path-exclude /usr/share/man/*
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/info/*
EOF

# Units that make no sense (or hang) in a container.
for unit in getty@tty1.service console-getty.service systemd-remount-fs.service \
            systemd-udevd.service systemd-udev-trigger.service \
            systemd-firstboot.service systemd-networkd-wait-online.service \
            sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount \
            systemd-journald-audit.socket; do
  ln -sf /dev/null "/etc/systemd/system/${unit}"
done

# The host's hostname and a machine-id are set per container at start.
: >/etc/machine-id
rm -f /etc/ssh/ssh_host_*
# Host keys are generated on first boot, so every container gets its own.
mkdir -p /etc/systemd/system/ssh.service.d
cat >/etc/systemd/system/ssh.service.d/host-keys.conf <<'EOF'
[Service]
ExecStartPre=
ExecStartPre=/usr/bin/ssh-keygen -A
ExecStartPre=/usr/sbin/sshd -t
EOF
apt-get clean
rm -rf /var/lib/apt/lists/*
