package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// KeyType is the algorithm of a generated key.
type KeyType string

const (
	// ECDSAP256 is the default: small, fast, and accepted by GnuTLS.
	ECDSAP256 KeyType = "ecdsa-p256"
	// RSA3072 is for peers that insist on RSA.
	RSA3072 KeyType = "rsa-3072"
)

// Validity defaults, used when a validFor argument is zero.
const (
	DefaultCAValidity     = 10 * 365 * 24 * time.Hour
	DefaultHostValidity   = 365 * 24 * time.Hour
	DefaultClientValidity = 365 * 24 * time.Hour
)

// Backdate is how far before now a certificate becomes valid, so that a
// host whose clock lags the issuer's a little accepts it at once.
const Backdate = 5 * time.Minute

// Names of the files in a CA directory.
const (
	CACertFile = "ca-cert.pem"
	CAKeyFile  = "ca-key.pem"
)

// ErrCAExpired is returned when a CA is asked to issue at a time outside
// its own validity.
var ErrCAExpired = errors.New("pki: CA is not valid at this time")

// CA is the cluster certificate authority. Cert and Key are the parsed
// forms of CertPEM and KeyPEM; treat all four as read-only.
type CA struct {
	Cert    *x509.Certificate
	Key     crypto.Signer
	CertPEM []byte
	KeyPEM  []byte
	// KeyType is the algorithm of the keys IssueHost and IssueClient
	// generate. NewCA and LoadCA set it to the type of the CA's own key;
	// "" means ECDSAP256.
	KeyType KeyType
}

// Issued is a certificate and its new private key, as PEM and parsed. The
// caller owns it.
type Issued struct {
	CertPEM []byte
	KeyPEM  []byte
	Cert    *x509.Certificate
	Key     crypto.Signer
}

// TLSCertificate returns the pair for a tls.Config.
func (i *Issued) TLSCertificate() (tls.Certificate, error) {
	return tls.X509KeyPair(i.CertPEM, i.KeyPEM)
}

// NewCA makes a self-signed CA with an ECDSA P-256 key, valid from now
// (less Backdate) for validFor (DefaultCAValidity when zero).
func NewCA(name string, validFor time.Duration, now time.Time) (*CA, error) {
	return NewCAKey(name, validFor, now, ECDSAP256)
}

// NewCAKey is NewCA with a choice of key algorithm, for the CA and for every
// key it issues.
func NewCAKey(name string, validFor time.Duration, now time.Time, kt KeyType) (*CA, error) {
	if name == "" {
		return nil, errors.New("pki: CA name is empty")
	}
	if validFor < 0 {
		return nil, fmt.Errorf("pki: CA validity %s is negative", validFor)
	}
	if validFor == 0 {
		validFor = DefaultCAValidity
	}
	key, err := newKey(kt)
	if err != nil {
		return nil, err
	}
	serial, err := randSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             now.Add(-Backdate).UTC(),
		NotAfter:              now.Add(validFor).UTC(),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("pki: create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	keyPEM, err := marshalKey(key)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: key, CertPEM: certPEM(der), KeyPEM: keyPEM, KeyType: keyTypeOf(key)}, nil
}

// LoadCA reads dir/ca-cert.pem and dir/ca-key.pem and checks that they are
// a CA certificate and its key.
func LoadCA(dir string) (*CA, error) {
	cp, err := os.ReadFile(filepath.Join(dir, CACertFile))
	if err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	kp, err := os.ReadFile(filepath.Join(dir, CAKeyFile))
	if err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	return ParseCA(cp, kp)
}

// ParseCA builds a CA from its PEM certificate and key.
func ParseCA(certPEMBytes, keyPEMBytes []byte) (*CA, error) {
	certs, err := ParseCertificates(certPEMBytes)
	if err != nil {
		return nil, err
	}
	cert := certs[0]
	if !cert.IsCA || cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, fmt.Errorf("pki: %s is not a CA certificate", cert.Subject)
	}
	key, err := ParseKey(keyPEMBytes)
	if err != nil {
		return nil, err
	}
	if !publicKeysEqual(cert.PublicKey, key.Public()) {
		return nil, fmt.Errorf("pki: CA key does not match the certificate of %s", cert.Subject)
	}
	return &CA{Cert: cert, Key: key, CertPEM: certPEMBytes, KeyPEM: keyPEMBytes, KeyType: keyTypeOf(key)}, nil
}

// Save writes dir/ca-cert.pem (0644) and dir/ca-key.pem (0600), creating
// dir (0700) if needed. It never overwrites: if either file exists it
// returns an error wrapping fs.ErrExist and writes nothing.
func (ca *CA) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	certPath, keyPath := filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile)
	for _, p := range []string{certPath, keyPath} {
		if _, err := os.Lstat(p); err == nil {
			return fmt.Errorf("pki: %s: %w", p, os.ErrExist)
		}
	}
	if err := writeNew(keyPath, ca.KeyPEM, 0o600); err != nil {
		return err
	}
	if err := writeNew(certPath, ca.CertPEM, 0o644); err != nil {
		os.Remove(keyPath)
		return err
	}
	return nil
}

// Pool returns a pool holding only this CA, for verifying.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// LoadCertPool reads a PEM file of CA certificates (such as ca-cert.pem).
func LoadCertPool(file string) (*x509.CertPool, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	certs, err := ParseCertificates(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c)
	}
	return p, nil
}

// HostSpec says what a host certificate names.
type HostSpec struct {
	// Name is the subject CN. It becomes a SAN too (an IP SAN if it parses
	// as an address, else a DNS SAN), since verifiers ignore the CN; so it
	// must be a host name or an address.
	Name string
	// DNS and IPs are further SANs: every name and address peers use,
	// above all the host's migration_host.
	DNS []string
	IPs []net.IP
	// ValidFor is DefaultHostValidity when zero.
	ValidFor time.Duration
}

// sans returns the spec's SANs, Name included, deduplicated in order.
func (s HostSpec) sans() (dns []string, ips []net.IP, err error) {
	var errs []error
	addDNS := func(d string) {
		d = strings.ToLower(strings.TrimSuffix(d, "."))
		if !validDNSName(d) {
			errs = append(errs, fmt.Errorf("pki: %q is not a valid DNS name", d))
			return
		}
		if !slices.Contains(dns, d) {
			dns = append(dns, d)
		}
	}
	addIP := func(ip net.IP) {
		if ip4 := ip.To4(); ip4 != nil {
			ip = ip4
		}
		if len(ip) != net.IPv4len && len(ip) != net.IPv6len {
			errs = append(errs, fmt.Errorf("pki: invalid IP address %v", []byte(ip)))
			return
		}
		if !slices.ContainsFunc(ips, ip.Equal) {
			ips = append(ips, ip)
		}
	}
	if s.Name == "" {
		errs = append(errs, errors.New("pki: host name is empty"))
	} else if ip := net.ParseIP(s.Name); ip != nil {
		addIP(ip)
	} else {
		addDNS(s.Name)
	}
	for _, d := range s.DNS {
		addDNS(d)
	}
	for _, ip := range s.IPs {
		addIP(ip)
	}
	return dns, ips, errors.Join(errs...)
}

// IssueHost makes a host certificate for spec, signed by ca: ServerAuth and
// ClientAuth, the SANs of spec, valid from now (less Backdate) for
// spec.ValidFor but never beyond the CA's own NotAfter. Errors:
// ErrCAExpired, or a joined error listing every bad name in spec.
func (ca *CA) IssueHost(spec HostSpec, now time.Time) (*Issued, error) {
	dns, ips, err := spec.sans()
	if err != nil {
		return nil, err
	}
	return ca.issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: spec.Name},
		DNSNames:    dns,
		IPAddresses: ips,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}, spec.ValidFor, DefaultHostValidity, now)
}

// IssueClient makes drover's client certificate: CN name ("drover" when
// empty), ClientAuth only, no SANs. validFor is DefaultClientValidity when
// zero and is capped at the CA's NotAfter.
func (ca *CA) IssueClient(name string, validFor time.Duration, now time.Time) (*Issued, error) {
	if name == "" {
		name = "drover"
	}
	return ca.issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: name},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, validFor, DefaultClientValidity, now)
}

// issue fills in the common fields of a leaf, makes its key and signs it.
func (ca *CA) issue(tmpl *x509.Certificate, validFor, def time.Duration, now time.Time) (*Issued, error) {
	if ca == nil || ca.Cert == nil || ca.Key == nil {
		return nil, errors.New("pki: CA without certificate or key")
	}
	if now.Before(ca.Cert.NotBefore) || now.After(ca.Cert.NotAfter) {
		return nil, fmt.Errorf("%w: %s is valid from %s to %s, now is %s", ErrCAExpired, ca.Cert.Subject,
			stamp(ca.Cert.NotBefore), stamp(ca.Cert.NotAfter), stamp(now))
	}
	if validFor < 0 {
		return nil, fmt.Errorf("pki: validity %s is negative", validFor)
	}
	if validFor == 0 {
		validFor = def
	}
	key, err := newKey(ca.KeyType)
	if err != nil {
		return nil, err
	}
	if tmpl.SerialNumber, err = randSerial(); err != nil {
		return nil, err
	}
	tmpl.NotBefore = maxTime(now.Add(-Backdate), ca.Cert.NotBefore).UTC()
	tmpl.NotAfter = minTime(now.Add(validFor), ca.Cert.NotAfter).UTC()
	tmpl.BasicConstraintsValid = true
	// keyEncipherment even for ECDSA: see the package comment.
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return nil, fmt.Errorf("pki: sign %s: %w", tmpl.Subject, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	keyPEM, err := marshalKey(key)
	if err != nil {
		return nil, err
	}
	return &Issued{CertPEM: certPEM(der), KeyPEM: keyPEM, Cert: cert, Key: key}, nil
}

// ParseCertificates returns every CERTIFICATE block of a PEM file, in
// order; the first is the leaf of a chain. At least one is required.
func ParseCertificates(b []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("pki: %w", err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("pki: no PEM certificate found")
	}
	return certs, nil
}

// ParseKey reads the first private key of a PEM file: SEC1 ("EC PRIVATE
// KEY"), PKCS#1 ("RSA PRIVATE KEY") or PKCS#8 ("PRIVATE KEY").
func ParseKey(b []byte) (crypto.Signer, error) {
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return nil, errors.New("pki: no PEM private key found")
		}
		var (
			k   any
			err error
		)
		switch blk.Type {
		case "EC PRIVATE KEY":
			k, err = x509.ParseECPrivateKey(blk.Bytes)
		case "RSA PRIVATE KEY":
			k, err = x509.ParsePKCS1PrivateKey(blk.Bytes)
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("pki: %s: %w", blk.Type, err)
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("pki: want a signing key, got %T", k)
		}
		return s, nil
	}
}

func newKey(kt KeyType) (crypto.Signer, error) {
	switch kt {
	case "", ECDSAP256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case RSA3072:
		return rsa.GenerateKey(rand.Reader, 3072)
	}
	return nil, fmt.Errorf("pki: want key type %s or %s, got %q", ECDSAP256, RSA3072, kt)
}

func keyTypeOf(k crypto.Signer) KeyType {
	if _, ok := k.(*rsa.PrivateKey); ok {
		return RSA3072
	}
	return ECDSAP256
}

func marshalKey(k crypto.Signer) ([]byte, error) {
	switch k := k.(type) {
	case *ecdsa.PrivateKey:
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			return nil, err
		}
		return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
	case *rsa.PrivateKey:
		return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}), nil
	}
	return nil, fmt.Errorf("pki: cannot encode a %T", k)
}

func certPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// randSerial is a positive random 128-bit serial number.
func randSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("pki: serial number: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	ea, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ea.Equal(b)
}

// validDNSName accepts host names: dot-separated labels of letters, digits
// and inner hyphens, up to 63 bytes each and 253 in all.
func validDNSName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
