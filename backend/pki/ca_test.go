package pki_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/backend/pki"
)

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

var _ = Describe("CA", func() {
	It("is a P-256 CA valid from now less Backdate for the given time", func() {
		ca, err := pki.NewCA("drover-ca", 48*time.Hour, now)
		Expect(err).NotTo(HaveOccurred())
		Expect(ca.Cert.IsCA).To(BeTrue())
		Expect(ca.Cert.Subject.CommonName).To(Equal("drover-ca"))
		Expect(ca.Cert.KeyUsage & x509.KeyUsageCertSign).NotTo(BeZero())
		Expect(ca.Cert.NotBefore).To(Equal(now.Add(-pki.Backdate)))
		Expect(ca.Cert.NotAfter).To(Equal(now.Add(48 * time.Hour)))
		Expect(ca.Cert.SerialNumber.Sign()).To(Equal(1))
		pub, ok := ca.Cert.PublicKey.(*ecdsa.PublicKey)
		Expect(ok).To(BeTrue())
		Expect(pub.Curve).To(Equal(elliptic.P256()))
		Expect(ca.KeyType).To(Equal(pki.ECDSAP256))
		Expect(string(ca.KeyPEM)).To(HavePrefix("-----BEGIN EC PRIVATE KEY-----"))
	})

	It("draws a different random serial each time", func() {
		a, b := MakeCA("a"), MakeCA("a")
		Expect(a.Cert.SerialNumber).NotTo(Equal(b.Cert.SerialNumber))
	})

	It("round-trips through Save and LoadCA with a 0600 key", func() {
		ca := MakeCA("drover-ca")
		dir := filepath.Join(GinkgoT().TempDir(), "ca")
		Expect(ca.Save(dir)).To(Succeed())
		st, err := os.Stat(filepath.Join(dir, pki.CAKeyFile))
		Expect(err).NotTo(HaveOccurred())
		Expect(st.Mode().Perm()).To(Equal(fs.FileMode(0o600)))
		st, err = os.Stat(filepath.Join(dir, pki.CACertFile))
		Expect(err).NotTo(HaveOccurred())
		Expect(st.Mode().Perm()).To(Equal(fs.FileMode(0o644)))

		back, err := pki.LoadCA(dir)
		Expect(err).NotTo(HaveOccurred())
		Expect(back.Cert.Equal(ca.Cert)).To(BeTrue())
		Expect(back.Key.Public()).To(Equal(ca.Key.Public()))
		Expect(back.KeyType).To(Equal(pki.ECDSAP256))
		h := MakeHost(back, h1())
		_, err = h.Cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), CurrentTime: now})
		Expect(err).NotTo(HaveOccurred())
	})

	It("never overwrites a saved CA", func() {
		dir := GinkgoT().TempDir()
		Expect(MakeCA("one").Save(dir)).To(Succeed())
		err := MakeCA("two").Save(dir)
		Expect(errors.Is(err, fs.ErrExist)).To(BeTrue(), "%v", err)
		back, err := pki.LoadCA(dir)
		Expect(err).NotTo(HaveOccurred())
		Expect(back.Cert.Subject.CommonName).To(Equal("one"))
	})

	It("refuses a key that is not the certificate's", func() {
		a, b := MakeCA("a"), MakeCA("b")
		_, err := pki.ParseCA(a.CertPEM, b.KeyPEM)
		Expect(err).To(MatchError(ContainSubstring("does not match")))
	})

	It("refuses a leaf as a CA", func() {
		ca := MakeCA("a")
		h := MakeHost(ca, h1())
		_, err := pki.ParseCA(h.CertPEM, h.KeyPEM)
		Expect(err).To(MatchError(ContainSubstring("not a CA")))
	})

	It("makes RSA 3072 keys on request, for itself and what it issues", func() {
		ca, err := pki.NewCAKey("rsa-ca", 0, now, pki.RSA3072)
		Expect(err).NotTo(HaveOccurred())
		Expect(ca.Key.(*rsa.PrivateKey).N.BitLen()).To(Equal(3072))
		h := MakeHost(ca, h1())
		Expect(h.Key.(*rsa.PrivateKey).N.BitLen()).To(Equal(3072))
		Expect(string(h.KeyPEM)).To(HavePrefix("-----BEGIN RSA PRIVATE KEY-----"))
		back, err := pki.ParseCA(ca.CertPEM, ca.KeyPEM)
		Expect(err).NotTo(HaveOccurred())
		Expect(back.KeyType).To(Equal(pki.RSA3072))
	})

	It("rejects an unknown key type and an empty name", func() {
		_, err := pki.NewCAKey("x", 0, now, "dsa")
		Expect(err).To(MatchError(ContainSubstring(`got "dsa"`)))
		_, err = pki.NewCA("", 0, now)
		Expect(err).To(HaveOccurred())
	})
})

var _ = Describe("IssueHost", func() {
	var ca *pki.CA
	BeforeEach(func() { ca = MakeCA("drover-ca") })

	It("makes a server and client certificate with every name as a SAN", func() {
		h := MakeHost(ca, h1())
		c := h.Cert
		Expect(c.Subject.CommonName).To(Equal("h1"))
		Expect(c.ExtKeyUsage).To(ConsistOf(x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth))
		Expect(c.KeyUsage).To(Equal(x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment))
		Expect(c.IsCA).To(BeFalse())
		Expect(c.BasicConstraintsValid).To(BeTrue())
		Expect(c.DNSNames).To(Equal([]string{"h1", "h1.lab"}))
		Expect(c.IPAddresses).To(HaveLen(2))
		Expect(c.IPAddresses[0].Equal(net.ParseIP("198.18.0.11"))).To(BeTrue())
		Expect(c.NotBefore).To(Equal(now.Add(-pki.Backdate)))
		Expect(c.NotAfter).To(Equal(now.Add(pki.DefaultHostValidity)))
		Expect(c.AuthorityKeyId).To(Equal(ca.Cert.SubjectKeyId))
		_, err := h.TLSCertificate()
		Expect(err).NotTo(HaveOccurred())
	})

	It("verifies for each SAN, as server and as client, and for no other name", func() {
		h := MakeHost(ca, h1())
		for _, name := range []string{"h1", "h1.lab", "198.18.0.11", "127.0.0.1", "H1"} {
			for _, use := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
				_, err := h.Cert.Verify(x509.VerifyOptions{DNSName: name, Roots: ca.Pool(), CurrentTime: now,
					KeyUsages: []x509.ExtKeyUsage{use}})
				Expect(err).NotTo(HaveOccurred(), "%s %v", name, use)
			}
		}
		for _, name := range []string{"h2", "198.18.0.12", "lab", "::1"} {
			_, err := h.Cert.Verify(x509.VerifyOptions{DNSName: name, Roots: ca.Pool(), CurrentTime: now})
			var he x509.HostnameError
			Expect(errors.As(err, &he)).To(BeTrue(), "%s: %v", name, err)
		}
		_, err := h.Cert.Verify(x509.VerifyOptions{Roots: MakeCA("drover-ca").Pool(), CurrentTime: now})
		var ua x509.UnknownAuthorityError
		Expect(errors.As(err, &ua)).To(BeTrue(), "%v", err)
	})

	It("makes an IP name an IP SAN and folds duplicates", func() {
		h := MakeHost(ca, pki.HostSpec{Name: "198.18.0.11", IPs: []net.IP{net.ParseIP("198.18.0.11"), net.ParseIP("::ffff:198.18.0.11")},
			DNS: []string{"H1.", "h1"}})
		Expect(h.Cert.IPAddresses).To(HaveLen(1))
		Expect(h.Cert.DNSNames).To(Equal([]string{"h1"}))
	})

	It("reports every bad name at once", func() {
		_, err := ca.IssueHost(pki.HostSpec{Name: "bad name", DNS: []string{"-x", "ok", "a..b"}}, now)
		Expect(err).To(MatchError(And(ContainSubstring(`"bad name"`), ContainSubstring(`"-x"`), ContainSubstring(`"a..b"`))))
		Expect(err.Error()).NotTo(ContainSubstring(`"ok"`))
		_, err = ca.IssueHost(pki.HostSpec{}, now)
		Expect(err).To(MatchError(ContainSubstring("empty")))
	})

	It("never outlives its CA", func() {
		short, err := pki.NewCA("short", 30*24*time.Hour, now)
		Expect(err).NotTo(HaveOccurred())
		h := MakeHost(short, h1())
		Expect(h.Cert.NotAfter).To(Equal(short.Cert.NotAfter))
	})

	It("refuses to issue from a CA that has expired or is not yet valid", func() {
		for _, at := range []time.Time{now.Add(20 * 365 * 24 * time.Hour), now.Add(-2 * 365 * 24 * time.Hour)} {
			_, err := ca.IssueHost(h1(), at)
			Expect(errors.Is(err, pki.ErrCAExpired)).To(BeTrue(), "%v", err)
		}
	})
})

var _ = Describe("IssueClient", func() {
	It("is ClientAuth only, named drover by default", func() {
		ca := MakeCA("drover-ca")
		c, err := ca.IssueClient("", 0, now)
		Expect(err).NotTo(HaveOccurred())
		Expect(c.Cert.Subject.CommonName).To(Equal("drover"))
		Expect(c.Cert.ExtKeyUsage).To(Equal([]x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}))
		Expect(c.Cert.DNSNames).To(BeEmpty())
		Expect(c.Cert.IPAddresses).To(BeEmpty())
		Expect(c.Cert.NotAfter).To(Equal(now.Add(pki.DefaultClientValidity)))
		_, err = c.Cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), CurrentTime: now,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
		Expect(err).NotTo(HaveOccurred())
		_, err = c.Cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), CurrentTime: now})
		Expect(err).To(MatchError(ContainSubstring("incompatible key usage")))
	})
})
