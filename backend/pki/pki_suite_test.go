package pki_test

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/backend/pki"
)

func TestPKI(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "pki")
}

// now is the fixed epoch every spec runs at; CAs are made a year before it.
var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// h1 is the usual host: name h1, migration address 198.18.0.11, and the
// loopback address so that a test server can present it.
func h1() pki.HostSpec {
	return pki.HostSpec{Name: "h1", DNS: []string{"h1.lab"}, IPs: []net.IP{net.ParseIP("198.18.0.11"), net.ParseIP("127.0.0.1")}}
}

// MakeCA is a fresh ECDSA CA made a year before now.
func MakeCA(name string) *pki.CA {
	GinkgoHelper()
	ca, err := pki.NewCA(name, 0, now.Add(-365*24*time.Hour))
	Expect(err).NotTo(HaveOccurred())
	return ca
}

// MakeHost issues spec from ca at now.
func MakeHost(ca *pki.CA, spec pki.HostSpec) *pki.Issued {
	GinkgoHelper()
	h, err := ca.IssueHost(spec, now)
	Expect(err).NotTo(HaveOccurred())
	return h
}

// MakeRaw signs a leaf with the given usages directly with x509, for the
// certificates pki refuses to make.
func MakeRaw(ca *pki.CA, cn string, ips []net.IP, ku x509.KeyUsage, eku ...x509.ExtKeyUsage) *pki.Issued {
	GinkgoHelper()
	other, err := ca.IssueClient("key donor", 0, now)
	Expect(err).NotTo(HaveOccurred())
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	Expect(err).NotTo(HaveOccurred())
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn}, IPAddresses: ips,
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: ku, ExtKeyUsage: eku, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, other.Key.Public(), ca.Key)
	Expect(err).NotTo(HaveOccurred())
	cert, err := x509.ParseCertificate(der)
	Expect(err).NotTo(HaveOccurred())
	return &pki.Issued{CertPEM: pemCert(der), KeyPEM: other.KeyPEM, Cert: cert, Key: other.Key}
}

// failures returns the details of the failed findings of one check.
func failures(r pki.Report, check string) []string {
	var out []string
	for _, f := range r.Failures() {
		if f.Check == check {
			out = append(out, f.Detail)
		}
	}
	return out
}

// checks returns the names of every failed check, for a short diff.
func failedChecks(r pki.Report) []string {
	var out []string
	for _, f := range r.Failures() {
		out = append(out, f.Check)
	}
	return out
}
