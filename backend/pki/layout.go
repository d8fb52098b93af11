package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Paths of a host's files, relative to its root, with forward slashes.
const (
	LibvirtCACert     = "etc/pki/CA/cacert.pem"
	LibvirtServerCert = "etc/pki/libvirt/servercert.pem"
	LibvirtServerKey  = "etc/pki/libvirt/private/serverkey.pem"
	LibvirtClientCert = "etc/pki/libvirt/clientcert.pem"
	LibvirtClientKey  = "etc/pki/libvirt/private/clientkey.pem"
	// QEMUDir is qemu.conf's default_tls_x509_cert_dir.
	QEMUDir        = "etc/pki/qemu"
	QEMUCACert     = QEMUDir + "/ca-cert.pem"
	QEMUServerCert = QEMUDir + "/server-cert.pem"
	QEMUServerKey  = QEMUDir + "/server-key.pem"
	QEMUClientCert = QEMUDir + "/client-cert.pem"
	QEMUClientKey  = QEMUDir + "/client-key.pem"
)

// Names of the files in drover's client directory (libvirt's own names for
// $HOME/.pki/libvirt).
const (
	ClientCACertFile = "cacert.pem"
	ClientCertFile   = "clientcert.pem"
	ClientKeyFile    = "clientkey.pem"
)

// LayoutOptions adjusts WriteHostLayout. The zero value is drover's choice:
// QEMU runs as root and every key is 0600.
type LayoutOptions struct {
	// QEMUKeyMode is the mode of QEMU's two key files; 0 means 0600. Use
	// 0640 with QEMUKeyGID when QEMU runs as libvirt-qemu.
	QEMUKeyMode fs.FileMode
	// QEMUKeyGID, when positive, is the group QEMU's key files are given
	// (needs the right to chown). 0 leaves the writer's group.
	QEMUKeyGID int
}

// WriteHostLayout writes the cluster CA certificate (never its key) and the
// host certificate and key under root, at the paths libvirtd and QEMU read
// (see the package comment). The one host certificate serves as libvirt's
// server and client certificate and as QEMU's server and client
// certificate. Missing directories are made (0755; etc/pki/libvirt/private
// 0700); existing ones keep their modes. Each file is replaced atomically.
func WriteHostLayout(root string, ca *CA, host *Issued, opt LayoutOptions) error {
	if ca == nil || len(ca.CertPEM) == 0 {
		return errors.New("pki: host layout needs the CA certificate")
	}
	if host == nil || len(host.CertPEM) == 0 || len(host.KeyPEM) == 0 {
		return errors.New("pki: host layout needs a certificate and key")
	}
	qemuKeyMode := opt.QEMUKeyMode
	if qemuKeyMode == 0 {
		qemuKeyMode = 0o600
	}
	for _, d := range []struct {
		path string
		mode fs.FileMode
	}{
		{"etc/pki/CA", 0o755},
		{"etc/pki/libvirt", 0o755},
		{"etc/pki/libvirt/private", 0o700},
		{QEMUDir, 0o755},
	} {
		if err := os.MkdirAll(under(root, d.path), d.mode); err != nil {
			return fmt.Errorf("pki: %w", err)
		}
	}
	files := []struct {
		path string
		data []byte
		mode fs.FileMode
		gid  int
	}{
		{LibvirtCACert, ca.CertPEM, 0o644, 0},
		{LibvirtServerCert, host.CertPEM, 0o644, 0},
		{LibvirtServerKey, host.KeyPEM, 0o600, 0},
		{LibvirtClientCert, host.CertPEM, 0o644, 0},
		{LibvirtClientKey, host.KeyPEM, 0o600, 0},
		{QEMUCACert, ca.CertPEM, 0o644, 0},
		{QEMUServerCert, host.CertPEM, 0o644, 0},
		{QEMUServerKey, host.KeyPEM, qemuKeyMode, opt.QEMUKeyGID},
		{QEMUClientCert, host.CertPEM, 0o644, 0},
		{QEMUClientKey, host.KeyPEM, qemuKeyMode, opt.QEMUKeyGID},
	}
	for _, f := range files {
		if err := writeAtomic(under(root, f.path), f.data, f.mode, f.gid); err != nil {
			return err
		}
	}
	return nil
}

// WriteClientLayout writes drover's client directory: cacert.pem (0644),
// clientcert.pem (0644) and clientkey.pem (0600), making dir (0700) if
// needed. ClientTLSConfig reads it back.
func WriteClientLayout(dir string, ca *CA, client *Issued) error {
	if ca == nil || len(ca.CertPEM) == 0 {
		return errors.New("pki: client layout needs the CA certificate")
	}
	if client == nil || len(client.CertPEM) == 0 || len(client.KeyPEM) == 0 {
		return errors.New("pki: client layout needs a certificate and key")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	for _, f := range []struct {
		name string
		data []byte
		mode fs.FileMode
	}{
		{ClientCACertFile, ca.CertPEM, 0o644},
		{ClientCertFile, client.CertPEM, 0o644},
		{ClientKeyFile, client.KeyPEM, 0o600},
	} {
		if err := writeAtomic(filepath.Join(dir, f.name), f.data, f.mode, 0); err != nil {
			return err
		}
	}
	return nil
}

// ClientTLSConfig reads drover's client directory and returns a config that
// presents the client certificate and trusts only the CA in cacert.pem
// (not the system roots). It verifies the server's chain, dates and that
// serverName (a host name or an IP address: the one in the URI) is among
// its SANs; it never skips verification. With serverName "" Go refuses to
// handshake until ServerName is set (Probe sets it). Time is nil (the wall
// clock); set it to pin verification to another time.
func ClientTLSConfig(dir, serverName string) (*tls.Config, error) {
	caPEM, err := os.ReadFile(filepath.Join(dir, ClientCACertFile))
	if err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	cas, err := ParseCertificates(caPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ClientCACertFile, err)
	}
	pool := x509.NewCertPool()
	for _, c := range cas {
		pool.AddCert(c)
	}
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, ClientCertFile), filepath.Join(dir, ClientKeyFile))
	if err != nil {
		return nil, fmt.Errorf("pki: client certificate: %w", err)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{pair},
		RootCAs:      pool,
		ServerName:   serverName,
		MinVersion:   tls.VersionTLS12,
	}, nil
}

// under joins a slash path to root.
func under(root, p string) string { return filepath.Join(root, filepath.FromSlash(p)) }

// writeAtomic replaces path with data: a temporary file in the same
// directory, chmod (so the umask does not matter), optional chown to gid,
// sync, rename.
func writeAtomic(path string, data []byte, mode fs.FileMode, gid int) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("pki: write %s: %w", path, err)
	}
	if err := f.Chmod(mode); err != nil {
		return fail(err)
	}
	if gid > 0 {
		if err := f.Chown(-1, gid); err != nil {
			return fail(err)
		}
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("pki: write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("pki: %w", err)
	}
	return nil
}

// writeNew creates path with data and fails if it exists.
func writeNew(path string, data []byte, mode fs.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return fmt.Errorf("pki: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("pki: write %s: %w", path, err)
	}
	return f.Close()
}
