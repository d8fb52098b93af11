// Package pki makes and checks the certificates that secured drover hosts
// use: one cluster CA, one certificate per host, and drover's own client
// certificate. It writes them where libvirt and QEMU read them, inspects a
// host's files, and probes a live host for its security state
// (cluster.Secured, cluster.Unsecured or cluster.Invalid).
//
// # Certificates
//
// A host certificate serves four roles with one key: libvirtd's server
// certificate (qemu+tls:// on port 16514), libvirtd's client certificate (in
// peer-to-peer migration the source libvirtd dials the destination itself),
// and QEMU's server and client certificates for the native-TLS migration
// stream. So it carries both ExtKeyUsages, ServerAuth and ClientAuth, and an
// IP or DNS SAN for every name a peer uses to reach it: Go ignores the CN,
// and libvirt sets QEMU's tls-hostname to the destination's migration_host,
// so that address must be a SAN. Drover's client certificate carries
// ClientAuth only.
//
// Leaf certificates carry KeyUsage digitalSignature and keyEncipherment,
// even for ECDSA keys. Go marks KeyUsage critical, and libvirt and QEMU
// (before 10.0.7) refuse a certificate whose critical KeyUsage lacks
// keyEncipherment ("usage does not permit key encipherment").
//
// Keys are ECDSA P-256 by default (GnuTLS accepts them); RSA 3072 is an
// option. Private keys are written in their traditional PEM forms
// ("EC PRIVATE KEY", "RSA PRIVATE KEY"), which every GnuTLS reads; loading
// also accepts PKCS#8 ("PRIVATE KEY").
//
// # Files
//
// The CA lives in a directory of its own: ca-cert.pem and ca-key.pem (0600).
// A host's files, relative to its root ("/" on a real host):
//
//	etc/pki/CA/cacert.pem                  libvirtd: the cluster CA
//	etc/pki/libvirt/servercert.pem         libvirtd: server certificate
//	etc/pki/libvirt/private/serverkey.pem  0600
//	etc/pki/libvirt/clientcert.pem         libvirtd: client certificate (peer-to-peer)
//	etc/pki/libvirt/private/clientkey.pem  0600
//	etc/pki/qemu/ca-cert.pem               QEMU (default_tls_x509_cert_dir)
//	etc/pki/qemu/server-cert.pem
//	etc/pki/qemu/server-key.pem            LayoutOptions.QEMUKeyMode, 0600 by default
//	etc/pki/qemu/client-cert.pem
//	etc/pki/qemu/client-key.pem            LayoutOptions.QEMUKeyMode
//
// QEMU must read its keys. Drover's choice is to run QEMU as root
// (user = "root" in qemu.conf), so every key stays 0600 and owned by root.
// Hosts that keep QEMU as libvirt-qemu set QEMUKeyMode to 0640 and
// QEMUKeyGID to that group instead; otherwise object-add fails with "Cannot
// load certificate".
//
// Drover's client directory holds cacert.pem, clientcert.pem and
// clientkey.pem: the same names libvirt's clients read from
// $HOME/.pki/libvirt, so that directory works for virsh too.
//
// # Time
//
// Nothing here reads the clock: every function that depends on time takes
// now. Probe verifies with the client tls.Config's Time (the wall clock when
// nil) and uses wall-clock network deadlines.
package pki
