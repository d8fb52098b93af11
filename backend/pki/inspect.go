package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"
)

// Check names a Finding carries; tools and tests match on them.
const (
	// CheckFile: a file is missing, unreadable or not PEM.
	CheckFile = "file"
	// CheckCAFile: the host's CA file is the cluster CA.
	CheckCAFile = "ca-file"
	// CheckKeyMode: a key file grants nothing to others.
	CheckKeyMode = "key-mode"
	// CheckKeyPair: a key file matches its certificate.
	CheckKeyPair = "key-pair"
	// CheckChain: the certificate chains to the cluster CA (whatever the
	// dates: those are CheckDates).
	CheckChain = "chain"
	// CheckDates: now is within the validity of the certificate and of
	// the CA it chains to.
	CheckDates = "dates"
	// CheckUsage: key usages fit the certificate's roles, as libvirt and
	// QEMU check them.
	CheckUsage = "usage"
	// CheckSAN: a name or address peers use is a SAN of a server
	// certificate.
	CheckSAN = "san"
)

// Finding is the outcome of one check.
type Finding struct {
	Check  string
	OK     bool
	Detail string
}

// String is "ok   check: detail" or "FAIL check: detail".
func (f Finding) String() string {
	mark := "ok  "
	if !f.OK {
		mark = "FAIL"
	}
	return fmt.Sprintf("%s %s: %s", mark, f.Check, f.Detail)
}

// Report is every finding about one host, in a fixed order. Valid is true
// when there is at least one finding and all are OK.
type Report struct {
	// Host is the subject CN of the host certificate ("" if none could
	// be read).
	Host     string
	Findings []Finding
	Valid    bool
}

// Failures returns the findings that are not OK.
func (r Report) Failures() []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if !f.OK {
			out = append(out, f)
		}
	}
	return out
}

func (r *Report) add(check string, ok bool, format string, args ...any) {
	r.Findings = append(r.Findings, Finding{Check: check, OK: ok, Detail: fmt.Sprintf(format, args...)})
}

func (r *Report) finish() Report {
	r.Valid = len(r.Findings) > 0 && len(r.Failures()) == 0
	return *r
}

// hostCertFiles are a host's certificate files with their keys and roles.
var hostCertFiles = []struct {
	cert, key string
	server    bool
}{
	{LibvirtServerCert, LibvirtServerKey, true},
	{LibvirtClientCert, LibvirtClientKey, false},
	{QEMUServerCert, QEMUServerKey, true},
	{QEMUClientCert, QEMUClientKey, false},
}

// InspectHost checks the files WriteHostLayout lays out under root against
// the cluster CA pool ca, the names and addresses peers use for the host
// (names; every one must be a SAN of the server certificates) and now. It
// reports every problem it finds rather than stopping at the first; a
// missing file is a CheckFile finding, not an error.
func InspectHost(root string, ca *x509.CertPool, names []string, now time.Time) Report {
	var r Report
	for _, p := range []string{LibvirtCACert, QEMUCACert} {
		certs, ok := readCerts(&r, root, p)
		if !ok {
			continue
		}
		c := certs[0]
		if ca == nil {
			r.add(CheckCAFile, false, "%s: no cluster CA given", p)
			continue
		}
		if !c.IsCA {
			r.add(CheckCAFile, false, "%s: %s is not a CA certificate", p, name(c))
			continue
		}
		_, err := c.Verify(x509.VerifyOptions{Roots: ca, CurrentTime: within(now, c),
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
		if err != nil {
			r.add(CheckCAFile, false, "%s: %s is not the cluster CA: %v", p, name(c), err)
			continue
		}
		r.add(CheckCAFile, true, "%s: %s is the cluster CA", p, name(c))
	}
	// Group identical certificates so that one certificate in four roles
	// is checked once.
	type group struct {
		files          []string
		certs          []*x509.Certificate
		server, client bool
	}
	var groups []*group
	for _, f := range hostCertFiles {
		certs, ok := readCerts(&r, root, f.cert)
		if !ok {
			continue
		}
		checkKey(&r, root, f.cert, f.key)
		i := slices.IndexFunc(groups, func(g *group) bool { return g.certs[0].Equal(certs[0]) })
		if i < 0 {
			groups = append(groups, &group{certs: certs})
			i = len(groups) - 1
		}
		g := groups[i]
		g.files = append(g.files, f.cert)
		g.server = g.server || f.server
		g.client = g.client || !f.server
	}
	for _, g := range groups {
		label := strings.Join(g.files, ", ")
		if len(g.files) == len(hostCertFiles) {
			label = "host certificate"
		}
		if r.Host == "" {
			r.Host = g.certs[0].Subject.CommonName
		}
		checkLeaf(&r, label, g.certs, ca, names, g.server, g.client, now)
	}
	return r.finish()
}

// InspectPEM checks a host certificate given as PEM (leaf first, then any
// intermediates) as InspectHost checks the files: chain to ca, dates at
// now, both usages, and every one of names as a SAN.
func InspectPEM(certPEM []byte, ca *x509.CertPool, names []string, now time.Time) Report {
	var r Report
	certs, err := ParseCertificates(certPEM)
	if err != nil {
		r.add(CheckFile, false, "%v", err)
		return r.finish()
	}
	r.Host = certs[0].Subject.CommonName
	checkLeaf(&r, "host certificate", certs, ca, names, true, true, now)
	return r.finish()
}

// readCerts reads a certificate file, adding a CheckFile finding when it
// cannot.
func readCerts(r *Report, root, p string) ([]*x509.Certificate, bool) {
	b, err := os.ReadFile(under(root, p))
	if err != nil {
		r.add(CheckFile, false, "%s: %v", p, unwrapPath(err))
		return nil, false
	}
	certs, err := ParseCertificates(b)
	if err != nil {
		r.add(CheckFile, false, "%s: %v", p, err)
		return nil, false
	}
	return certs, true
}

// checkKey checks a key file's mode and that it matches its certificate.
func checkKey(r *Report, root, certPath, keyPath string) {
	st, err := os.Stat(under(root, keyPath))
	if err != nil {
		r.add(CheckFile, false, "%s: %v", keyPath, unwrapPath(err))
		return
	}
	if perm := st.Mode().Perm(); perm&0o037 != 0 {
		r.add(CheckKeyMode, false, "%s: mode %04o lets others read or write it (want 0600, or 0640 for QEMU's group)", keyPath, perm)
	} else {
		r.add(CheckKeyMode, true, "%s: mode %04o", keyPath, perm)
	}
	cb, err1 := os.ReadFile(under(root, certPath))
	kb, err2 := os.ReadFile(under(root, keyPath))
	if err := errors.Join(err1, err2); err != nil {
		r.add(CheckFile, false, "%s: %v", keyPath, unwrapPath(err))
		return
	}
	if _, err := tls.X509KeyPair(cb, kb); err != nil {
		r.add(CheckKeyPair, false, "%s: %v", keyPath, err)
		return
	}
	r.add(CheckKeyPair, true, "%s matches %s", keyPath, certPath)
}

// checkLeaf adds the chain, dates, usage and SAN findings of one
// certificate (certs[0]; the rest are intermediates). SANs are checked for
// the server role only: nobody checks a client certificate's names.
func checkLeaf(r *Report, label string, certs []*x509.Certificate, ca *x509.CertPool, names []string, server, client bool, now time.Time) {
	leaf := certs[0]
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}

	var chain []*x509.Certificate
	if ca == nil {
		r.add(CheckChain, false, "%s: no cluster CA given", label)
	} else {
		chains, err := leaf.Verify(x509.VerifyOptions{Roots: ca, Intermediates: inter, CurrentTime: within(now, leaf),
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
		if err != nil {
			r.add(CheckChain, false, "%s: %s: %v", label, name(leaf), err)
		} else {
			chain = chains[0]
			r.add(CheckChain, true, "%s: %s signed by %s", label, name(leaf), name(chain[len(chain)-1]))
		}
	}

	var bad []string
	for i, c := range append([]*x509.Certificate{leaf}, chain[min(1, len(chain)):]...) {
		who := name(c)
		if i > 0 {
			who = "CA " + who
		}
		switch {
		case now.Before(c.NotBefore):
			bad = append(bad, fmt.Sprintf("%s is not valid before %s (in %s)", who, stamp(c.NotBefore), c.NotBefore.Sub(now).Round(time.Second)))
		case now.After(c.NotAfter):
			bad = append(bad, fmt.Sprintf("%s expired at %s (%s ago)", who, stamp(c.NotAfter), now.Sub(c.NotAfter).Round(time.Second)))
		}
	}
	if len(bad) > 0 {
		r.add(CheckDates, false, "%s: %s", label, strings.Join(bad, "; "))
	} else {
		r.add(CheckDates, true, "%s: valid until %s (%s left)", label, stamp(leaf.NotAfter), leaf.NotAfter.Sub(now).Round(time.Second))
	}

	if problems := usageProblems(leaf, server, client); len(problems) > 0 {
		r.add(CheckUsage, false, "%s: %s", label, strings.Join(problems, "; "))
	} else {
		r.add(CheckUsage, true, "%s: %s", label, usageString(leaf))
	}

	if !server {
		return
	}
	if len(names) == 0 {
		r.add(CheckSAN, false, "%s: no names given to check (want every name and address peers use)", label)
	}
	for _, n := range names {
		if err := leaf.VerifyHostname(n); err != nil {
			r.add(CheckSAN, false, "%s: %s: %v", label, n, err)
		} else {
			r.add(CheckSAN, true, "%s: %s is a SAN", label, n)
		}
	}
}

// usageProblems lists what libvirt, QEMU or Go would refuse about a leaf's
// usages in the given roles.
func usageProblems(c *x509.Certificate, server, client bool) []string {
	var out []string
	if c.BasicConstraintsValid && c.IsCA {
		out = append(out, "is a CA certificate, not a leaf")
	}
	if c.KeyUsage != 0 {
		if c.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
			out = append(out, "KeyUsage lacks digitalSignature")
		}
		if c.KeyUsage&x509.KeyUsageKeyEncipherment == 0 {
			out = append(out, "KeyUsage lacks keyEncipherment (libvirt and QEMU refuse it)")
		}
	}
	if server && !hasEKU(c, x509.ExtKeyUsageServerAuth) {
		out = append(out, "ExtKeyUsage lacks ServerAuth (needed by libvirtd and QEMU as servers)")
	}
	if client && !hasEKU(c, x509.ExtKeyUsageClientAuth) {
		out = append(out, "ExtKeyUsage lacks ClientAuth (needed for peer-to-peer migration and QEMU's outgoing stream)")
	}
	return out
}

// hasEKU reports whether c may be used for u; no ExtKeyUsage at all means
// any use.
func hasEKU(c *x509.Certificate, u x509.ExtKeyUsage) bool {
	return len(c.ExtKeyUsage) == 0 && len(c.UnknownExtKeyUsage) == 0 ||
		slices.Contains(c.ExtKeyUsage, u) || slices.Contains(c.ExtKeyUsage, x509.ExtKeyUsageAny)
}

func usageString(c *x509.Certificate) string {
	var parts []string
	for _, u := range c.ExtKeyUsage {
		switch u {
		case x509.ExtKeyUsageServerAuth:
			parts = append(parts, "ServerAuth")
		case x509.ExtKeyUsageClientAuth:
			parts = append(parts, "ClientAuth")
		case x509.ExtKeyUsageAny:
			parts = append(parts, "any")
		default:
			parts = append(parts, fmt.Sprintf("eku(%d)", u))
		}
	}
	if len(parts) == 0 {
		parts = append(parts, "any use")
	}
	return strings.Join(parts, ", ")
}

// within returns now clamped to c's validity, so that a chain check does
// not fail on dates alone.
func within(now time.Time, c *x509.Certificate) time.Time {
	if now.Before(c.NotBefore) {
		return c.NotBefore
	}
	if now.After(c.NotAfter) {
		return c.NotAfter
	}
	return now
}

func name(c *x509.Certificate) string { return fmt.Sprintf("%q", "CN="+c.Subject.CommonName) }

// unwrapPath drops the absolute path of an fs.PathError, since findings
// name files relative to the root.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
