#!/bin/sh
# One libvirt host per container. DROVER_TRANSPORT is tcp (qemu+tcp, no
# auth) or tls (qemu+tls and QEMU native TLS; the lab copies the host's
# certificates into /etc/pki before the container starts). What libvirt
# needs in an unprivileged container with Docker's default capabilities:
# remember_owner = 0 (no trusted.* xattrs), cgroup_controllers = [ ] (the
# cgroup tree is read-only), namespaces = [ ]; each host its own host_uuid.
set -eu
mode=${DROVER_TRANSPORT:-tcp}
ip=${DROVER_ADDRESS:-$(ip -4 -o addr show scope global | awk '{split($4, a, "/"); print a[1]; exit}')}
lc=/etc/libvirt/libvirtd.conf
qc=/etc/libvirt/qemu.conf
set_conf() { # FILE KEY VALUE: replace or append KEY = VALUE
	grep -v "^[# ]*$2 *=" "$1" >"$1.new" || true
	echo "$2 = $3" >>"$1.new"
	mv "$1.new" "$1"
}
set_conf $lc host_uuid "\"$(cat /proc/sys/kernel/random/uuid)\""
set_conf $lc listen_addr "\"0.0.0.0\""
set_conf $lc log_filters '"1:qemu.qemu_monitor 3:*"'
set_conf $lc log_outputs '"1:file:/var/log/libvirt/libvirtd.log"'
if [ "$mode" = tls ]; then
	set_conf $lc listen_tls 1
	set_conf $lc listen_tcp 0
	set_conf $lc auth_tls '"none"'
	set_conf $qc default_tls_x509_cert_dir '"/etc/pki/qemu"'
	set_conf $qc default_tls_x509_verify 1
else
	set_conf $lc listen_tls 0
	set_conf $lc listen_tcp 1
	set_conf $lc auth_tcp '"none"'
fi
set_conf $qc migration_address "\"$ip\""
set_conf $qc migration_host "\"$ip\""
set_conf $qc user '"root"'
set_conf $qc group '"root"'
set_conf $qc remember_owner 0
set_conf $qc cgroup_controllers '[ ]'
set_conf $qc namespaces '[ ]'
set_conf $qc security_driver '"none"'
# A peer lost mid-migration (killed, cut off, frozen) is given up on after
# 3 missed keepalives 2 s apart, not libvirt's 5 x 5 s: the fault specs end
# sooner and a stalled move is known for what it is.
set_conf $lc keepalive_interval 2
set_conf $lc keepalive_count 3
set_conf $qc keepalive_interval 2
set_conf $qc keepalive_count 3
mkdir -p /var/tmp/drover-lab-disks
set_conf $qc shared_filesystems '[ "/var/tmp/drover-lab-disks" ]'
virtlogd -d
echo "drover host $(hostname) at $ip ($mode)"
exec libvirtd --listen
