package pki_test

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/backend/pki"
)

// tree lists every regular file under root with its mode.
func tree(root string) map[string]fs.FileMode {
	GinkgoHelper()
	out := map[string]fs.FileMode{}
	Expect(filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		st, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		out[filepath.ToSlash(rel)] = st.Mode().Perm()
		return nil
	})).To(Succeed())
	return out
}

func read(root, p string) []byte {
	GinkgoHelper()
	b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(p)))
	Expect(err).NotTo(HaveOccurred())
	return b
}

var _ = Describe("WriteHostLayout", func() {
	var (
		ca   *pki.CA
		host *pki.Issued
		root string
	)
	BeforeEach(func() {
		ca = MakeCA("drover-ca")
		host = MakeHost(ca, h1())
		root = GinkgoT().TempDir()
	})

	It("writes exactly libvirt's and QEMU's files with 0600 keys", func() {
		Expect(pki.WriteHostLayout(root, ca, host, pki.LayoutOptions{})).To(Succeed())
		Expect(tree(root)).To(Equal(map[string]fs.FileMode{
			"etc/pki/CA/cacert.pem":                 0o644,
			"etc/pki/libvirt/servercert.pem":        0o644,
			"etc/pki/libvirt/private/serverkey.pem": 0o600,
			"etc/pki/libvirt/clientcert.pem":        0o644,
			"etc/pki/libvirt/private/clientkey.pem": 0o600,
			"etc/pki/qemu/ca-cert.pem":              0o644,
			"etc/pki/qemu/server-cert.pem":          0o644,
			"etc/pki/qemu/server-key.pem":           0o600,
			"etc/pki/qemu/client-cert.pem":          0o644,
			"etc/pki/qemu/client-key.pem":           0o600,
		}))
		for _, p := range []string{pki.LibvirtCACert, pki.QEMUCACert} {
			Expect(read(root, p)).To(Equal(ca.CertPEM))
		}
		for _, p := range []string{pki.LibvirtServerCert, pki.LibvirtClientCert, pki.QEMUServerCert, pki.QEMUClientCert} {
			Expect(read(root, p)).To(Equal(host.CertPEM))
		}
		for _, p := range []string{pki.LibvirtServerKey, pki.LibvirtClientKey, pki.QEMUServerKey, pki.QEMUClientKey} {
			Expect(read(root, p)).To(Equal(host.KeyPEM))
		}
		for _, p := range []string{"etc/pki/CA", "etc/pki/libvirt/private", "etc/pki/qemu"} {
			st, err := os.Stat(filepath.Join(root, p))
			Expect(err).NotTo(HaveOccurred())
			Expect(st.IsDir()).To(BeTrue())
		}
		st, err := os.Stat(filepath.Join(root, "etc/pki/libvirt/private"))
		Expect(err).NotTo(HaveOccurred())
		Expect(st.Mode().Perm()).To(Equal(fs.FileMode(0o700)))
		Expect(bytes.Contains(read(root, pki.LibvirtCACert), ca.KeyPEM)).To(BeFalse())
	})

	It("takes QEMU's key mode as a parameter, whatever the umask", func() {
		old := syscall.Umask(0o077)
		DeferCleanup(func() { syscall.Umask(old) })
		Expect(pki.WriteHostLayout(root, ca, host, pki.LayoutOptions{QEMUKeyMode: 0o640})).To(Succeed())
		files := tree(root)
		Expect(files[pki.QEMUServerKey]).To(Equal(fs.FileMode(0o640)))
		Expect(files[pki.QEMUClientKey]).To(Equal(fs.FileMode(0o640)))
		Expect(files[pki.LibvirtServerKey]).To(Equal(fs.FileMode(0o600)))
		Expect(files[pki.QEMUServerCert]).To(Equal(fs.FileMode(0o644)))
	})

	It("replaces an earlier host certificate and leaves no temporary files", func() {
		Expect(pki.WriteHostLayout(root, ca, host, pki.LayoutOptions{})).To(Succeed())
		again := MakeHost(ca, h1())
		Expect(pki.WriteHostLayout(root, ca, again, pki.LayoutOptions{})).To(Succeed())
		Expect(tree(root)).To(HaveLen(10))
		Expect(read(root, pki.QEMUServerCert)).To(Equal(again.CertPEM))
	})

	It("refuses to write without a certificate", func() {
		Expect(pki.WriteHostLayout(root, ca, &pki.Issued{}, pki.LayoutOptions{})).NotTo(Succeed())
		Expect(pki.WriteHostLayout(root, nil, host, pki.LayoutOptions{})).NotTo(Succeed())
	})
})

var _ = Describe("WriteClientLayout and ClientTLSConfig", func() {
	It("writes libvirt's client names and reads them back into a verifying config", func() {
		ca := MakeCA("drover-ca")
		client, err := ca.IssueClient("drover", 0, now)
		Expect(err).NotTo(HaveOccurred())
		dir := filepath.Join(GinkgoT().TempDir(), "client")
		Expect(pki.WriteClientLayout(dir, ca, client)).To(Succeed())
		Expect(tree(dir)).To(Equal(map[string]fs.FileMode{
			"cacert.pem": 0o644, "clientcert.pem": 0o644, "clientkey.pem": 0o600,
		}))

		cfg, err := pki.ClientTLSConfig(dir, "198.18.0.11")
		Expect(err).NotTo(HaveOccurred())
		Expect(cfg.InsecureSkipVerify).To(BeFalse())
		Expect(cfg.ServerName).To(Equal("198.18.0.11"))
		Expect(cfg.Certificates).To(HaveLen(1))
		Expect(cfg.Certificates[0].Leaf.Equal(client.Cert)).To(BeTrue())
		Expect(cfg.RootCAs.Equal(ca.Pool())).To(BeTrue())
	})

	It("fails on a missing directory", func() {
		_, err := pki.ClientTLSConfig(filepath.Join(GinkgoT().TempDir(), "none"), "h1")
		Expect(err).To(MatchError(ContainSubstring("cacert.pem")))
	})
})
