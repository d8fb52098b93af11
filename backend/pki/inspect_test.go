package pki_test

import (
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/backend/pki"
)

var _ = Describe("InspectHost", func() {
	var (
		ca    *pki.CA
		root  string
		names = []string{"198.18.0.11", "h1"}
	)
	BeforeEach(func() {
		ca = MakeCA("drover-ca")
		root = GinkgoT().TempDir()
	})
	lay := func(c *pki.CA, h *pki.Issued) {
		GinkgoHelper()
		Expect(pki.WriteHostLayout(root, c, h, pki.LayoutOptions{})).To(Succeed())
	}

	It("passes a host laid out by WriteHostLayout, checking one certificate in four roles once", func() {
		lay(ca, MakeHost(ca, h1()))
		r := pki.InspectHost(root, ca.Pool(), names, now)
		Expect(failedChecks(r)).To(BeEmpty())
		Expect(r.Valid).To(BeTrue())
		Expect(r.Host).To(Equal("h1"))
		count := map[string]int{}
		for _, f := range r.Findings {
			count[f.Check]++
		}
		Expect(count).To(Equal(map[string]int{
			pki.CheckCAFile: 2, pki.CheckKeyMode: 4, pki.CheckKeyPair: 4,
			pki.CheckChain: 1, pki.CheckDates: 1, pki.CheckUsage: 1, pki.CheckSAN: 2,
		}))
	})

	It("detects an expired certificate, and only that", func() {
		old, err := ca.IssueHost(pki.HostSpec{Name: "h1", IPs: []net.IP{net.ParseIP("198.18.0.11")}, ValidFor: 24 * time.Hour},
			now.Add(-48*time.Hour))
		Expect(err).NotTo(HaveOccurred())
		lay(ca, old)
		r := pki.InspectHost(root, ca.Pool(), names, now)
		Expect(r.Valid).To(BeFalse())
		Expect(failedChecks(r)).To(Equal([]string{pki.CheckDates}))
		Expect(failures(r, pki.CheckDates)).To(ConsistOf(ContainSubstring("expired at")))
	})

	It("detects a certificate not yet valid", func() {
		lay(ca, MakeHost(ca, h1()))
		r := pki.InspectHost(root, ca.Pool(), names, now.Add(-time.Hour))
		Expect(failures(r, pki.CheckDates)).To(ConsistOf(ContainSubstring("not valid before")))
	})

	It("detects an expired CA", func() {
		short, err := pki.NewCA("short", 48*time.Hour, now)
		Expect(err).NotTo(HaveOccurred())
		lay(short, MakeHost(short, h1()))
		r := pki.InspectHost(root, short.Pool(), names, now.Add(72*time.Hour))
		Expect(failedChecks(r)).To(Equal([]string{pki.CheckDates}))
		Expect(failures(r, pki.CheckDates)).To(ConsistOf(And(ContainSubstring(`CA "CN=short" expired`), ContainSubstring(`"CN=h1" expired`))))
	})

	It("detects a foreign CA, in the CA files and in the chain", func() {
		foreign := MakeCA("drover-ca") // same name, other key
		lay(foreign, MakeHost(foreign, h1()))
		r := pki.InspectHost(root, ca.Pool(), names, now)
		Expect(failedChecks(r)).To(ConsistOf(pki.CheckCAFile, pki.CheckCAFile, pki.CheckChain))
		Expect(failures(r, pki.CheckChain)).To(ConsistOf(ContainSubstring("unknown authority")))
		Expect(failures(r, pki.CheckCAFile)).To(ConsistOf(
			ContainSubstring("etc/pki/CA/cacert.pem"), ContainSubstring("etc/pki/qemu/ca-cert.pem")))
	})

	It("detects a missing SAN, naming it", func() {
		lay(ca, MakeHost(ca, pki.HostSpec{Name: "h1", IPs: []net.IP{net.ParseIP("198.18.0.12")}}))
		r := pki.InspectHost(root, ca.Pool(), names, now)
		Expect(failedChecks(r)).To(Equal([]string{pki.CheckSAN}))
		Expect(failures(r, pki.CheckSAN)).To(ConsistOf(And(ContainSubstring("198.18.0.11"), ContainSubstring("198.18.0.12"))))
	})

	It("refuses to call a host valid without names to check", func() {
		lay(ca, MakeHost(ca, h1()))
		r := pki.InspectHost(root, ca.Pool(), nil, now)
		Expect(failures(r, pki.CheckSAN)).To(ConsistOf(ContainSubstring("no names")))
		Expect(r.Valid).To(BeFalse())
	})

	It("detects missing files, open key modes and keys of other certificates", func() {
		lay(ca, MakeHost(ca, h1()))
		Expect(os.Remove(filepath.Join(root, pki.QEMUServerKey))).To(Succeed())
		Expect(os.Remove(filepath.Join(root, pki.QEMUCACert))).To(Succeed())
		Expect(os.Chmod(filepath.Join(root, pki.LibvirtServerKey), 0o644)).To(Succeed())
		other := MakeHost(ca, h1())
		Expect(os.WriteFile(filepath.Join(root, pki.LibvirtClientKey), other.KeyPEM, 0o600)).To(Succeed())
		r := pki.InspectHost(root, ca.Pool(), names, now)
		Expect(failures(r, pki.CheckFile)).To(ConsistOf(
			"etc/pki/qemu/ca-cert.pem: no such file or directory",
			"etc/pki/qemu/server-key.pem: no such file or directory"))
		Expect(failures(r, pki.CheckKeyMode)).To(ConsistOf(ContainSubstring("serverkey.pem: mode 0644")))
		Expect(failures(r, pki.CheckKeyPair)).To(ConsistOf(ContainSubstring("clientkey.pem")))
	})

	It("treats an empty root as invalid", func() {
		r := pki.InspectHost(root, ca.Pool(), names, now)
		Expect(r.Valid).To(BeFalse())
		Expect(failures(r, pki.CheckFile)).To(HaveLen(6))
	})

	It("checks each certificate for its own roles", func() {
		lay(ca, MakeHost(ca, h1()))
		// A client-only certificate serves QEMU's outgoing stream...
		client, err := ca.IssueClient("h1-qemu-client", 0, now)
		Expect(err).NotTo(HaveOccurred())
		Expect(os.WriteFile(filepath.Join(root, pki.QEMUClientCert), client.CertPEM, 0o644)).To(Succeed())
		Expect(os.WriteFile(filepath.Join(root, pki.QEMUClientKey), client.KeyPEM, 0o600)).To(Succeed())
		r := pki.InspectHost(root, ca.Pool(), names, now)
		Expect(failedChecks(r)).To(BeEmpty())
		Expect(r.Valid).To(BeTrue())

		// ...but not libvirtd's server.
		Expect(os.WriteFile(filepath.Join(root, pki.LibvirtServerCert), client.CertPEM, 0o644)).To(Succeed())
		Expect(os.WriteFile(filepath.Join(root, pki.LibvirtServerKey), client.KeyPEM, 0o600)).To(Succeed())
		r = pki.InspectHost(root, ca.Pool(), names, now)
		Expect(failures(r, pki.CheckUsage)).To(ConsistOf(ContainSubstring("lacks ServerAuth")))
		Expect(failures(r, pki.CheckSAN)).To(HaveLen(2))
	})
})

var _ = Describe("InspectPEM", func() {
	It("checks chain, dates, both usages and SANs of PEM bytes", func() {
		ca := MakeCA("drover-ca")
		r := pki.InspectPEM(MakeHost(ca, h1()).CertPEM, ca.Pool(), []string{"h1", "127.0.0.1"}, now)
		Expect(failedChecks(r)).To(BeEmpty())
		Expect(r.Valid).To(BeTrue())

		serverOnly := MakeRaw(ca, "h1", []net.IP{net.ParseIP("127.0.0.1")}, x509.KeyUsageDigitalSignature, x509.ExtKeyUsageServerAuth)
		r = pki.InspectPEM(serverOnly.CertPEM, ca.Pool(), []string{"127.0.0.1"}, now)
		Expect(failures(r, pki.CheckUsage)).To(ConsistOf(And(ContainSubstring("lacks ClientAuth"), ContainSubstring("lacks keyEncipherment"))))

		r = pki.InspectPEM([]byte("junk"), ca.Pool(), nil, now)
		Expect(failedChecks(r)).To(Equal([]string{pki.CheckFile}))
	})

	It("prints a finding on one line", func() {
		Expect(pki.Finding{Check: "san", OK: false, Detail: "h2: no"}.String()).To(Equal("FAIL san: h2: no"))
		Expect(pki.Finding{Check: "san", OK: true, Detail: "h1"}.String()).To(Equal("ok   san: h1"))
	})
})
