#!/bin/sh
# Runs inside the debootstrap chroot: make the tree boot as a qemu guest with
# root on /dev/vda, reachable over ssh on the user-net NIC.
set -eu
suite="$1"

cat >/etc/apt/sources.list <<SRC
deb http://deb.debian.org/debian ${suite} main non-free-firmware
deb http://deb.debian.org/debian ${suite}-updates main non-free-firmware
SRC
# Test image only: apt goes through the host's cache (scripts/ensure-apt-cache.sh),
# which qemu user-net shows the guest as 10.0.2.2.
printf 'Acquire::http::Proxy "http://10.0.2.2:3142";\n' >/etc/apt/apt.conf.d/00aihpc-kernel-vm-cache
echo 'Acquire::Languages "none";' >/etc/apt/apt.conf.d/10no-languages

echo '/dev/vda / ext4 rw,errors=remount-ro 0 1' >/etc/fstab
echo kernel-vm >/etc/hostname
printf '127.0.0.1 localhost\n' >/etc/hosts

# NICs (net.ifnames=0 on the kernel command line: eth0, eth1 in PCI order).
# eth0 is qemu user-net with a fixed MAC on every VM (each VM has its own
# user-net): qemu's fixed addresses, no DHCP wait.
mkdir -p /etc/systemd/network
cat >/etc/systemd/network/10-mgmt.network <<NET
[Match]
MACAddress=52:54:00:a1:00:03

[Network]
Address=10.0.2.15/24
Gateway=10.0.2.2
DNS=10.0.2.3
NET

# eth1 is the data network between the guests (qemu socket network). Its MAC
# and address come from the kernel command line:
#   aihpc.data_mac=52:54:00:.. aihpc.data_addr=10.77.0.11/24
# Root's ssh key comes as the systemd credential ssh.authorized_keys.root
# (qemu -smbios type=11); systemd's tmpfiles provision.conf installs it, and
# this script does too where that file is missing.
cat >/usr/local/sbin/aihpc-vm-setup <<'SCRIPT'
#!/bin/sh
set -eu
addr=""
mac=""
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    aihpc.data_addr=*) addr="${arg#aihpc.data_addr=}" ;;
    aihpc.data_mac=*) mac="${arg#aihpc.data_mac=}" ;;
  esac
done
if [ -n "$addr" ] && [ -n "$mac" ]; then
  mkdir -p /run/systemd/network
  printf '[Match]\nMACAddress=%s\n\n[Network]\nAddress=%s\nLinkLocalAddressing=no\n' "$mac" "$addr" \
    >/run/systemd/network/20-data.network
fi
cred=/run/credentials/@system/ssh.authorized_keys.root
if [ -r "$cred" ] && [ ! -s /root/.ssh/authorized_keys ]; then
  install -d -m 0700 /root/.ssh
  install -m 0600 "$cred" /root/.ssh/authorized_keys
fi
SCRIPT
chmod 0755 /usr/local/sbin/aihpc-vm-setup
cat >/etc/systemd/system/aihpc-vm-setup.service <<'UNIT'
[Unit]
Description=Data network address and root ssh key from the VM's boot parameters (kernel-lane test VMs)
DefaultDependencies=no
Before=systemd-networkd.service ssh.service
After=local-fs.target systemd-tmpfiles-setup.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/aihpc-vm-setup

[Install]
WantedBy=multi-user.target
UNIT
systemctl enable systemd-networkd.service aihpc-vm-setup.service
# nfs-kernel-server is preinstalled on every VM but a client must not run it:
# the storage role enables and starts it on the storage servers.
systemctl disable nfs-server.service

# Root logs in only with the key above; no password anywhere.
passwd -l root
# Host keys are made here once: generating RSA keys under emulation adds
# seconds to every boot, and these guests are throwaway test machines.
ssh-keygen -A

# What only slows an emulated boot down.
for unit in apt-daily.timer apt-daily-upgrade.timer man-db.timer e2scrub_all.timer \
            e2scrub_reap.service fstrim.timer dpkg-db-backup.timer getty@tty1.service \
            systemd-networkd-wait-online.service; do
  ln -sf /dev/null "/etc/systemd/system/${unit}"
done

: >/etc/machine-id
apt-get clean
rm -rf /var/lib/apt/lists/*
