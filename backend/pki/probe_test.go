package pki_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/backend/pki"
	"github.com/droverlab/drover/scheduler/cluster"
)

// at pins a TLS config's clock to now.
func at() time.Time { return now }

// listen is a loopback listener closed after the spec.
func listen() net.Listener {
	GinkgoHelper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(ln.Close)
	return ln
}

func port(ln net.Listener) int { return ln.Addr().(*net.TCPAddr).Port }

// closedPort is a loopback port nothing listens on.
func closedPort() int {
	GinkgoHelper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	p := port(ln)
	Expect(ln.Close()).To(Succeed())
	return p
}

// serve runs handle on every connection ln accepts, until ln closes.
func serve(ln net.Listener, handle func(net.Conn)) {
	go func() {
		defer GinkgoRecover()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c)
			}()
		}
	}()
}

// serveTLS is libvirtd on a loopback port as far as a handshake can tell:
// it presents cert, requires a client certificate from clientCAs, and then
// waits for the client to speak.
func serveTLS(cert *pki.Issued, clientCAs *x509.CertPool, maxVersion uint16) int {
	GinkgoHelper()
	pair, err := cert.TLSCertificate()
	Expect(err).NotTo(HaveOccurred())
	cfg := &tls.Config{Certificates: []tls.Certificate{pair}, ClientAuth: tls.RequireAndVerifyClientCert,
		ClientCAs: clientCAs, Time: at, MaxVersion: maxVersion}
	ln := listen()
	serve(ln, func(c net.Conn) {
		t := tls.Server(c, cfg)
		if t.Handshake() == nil {
			io.Copy(io.Discard, t)
		}
	})
	return port(ln)
}

var _ = Describe("Probe", func() {
	var (
		ca     *pki.CA
		client *tls.Config
		ctx    context.Context
		tcp    int // an unused TCP port unless a spec listens on it
	)
	BeforeEach(func() {
		ca = MakeCA("drover-ca")
		c, err := ca.IssueClient("drover", 0, now)
		Expect(err).NotTo(HaveOccurred())
		dir := filepath.Join(GinkgoT().TempDir(), "client")
		Expect(pki.WriteClientLayout(dir, ca, c)).To(Succeed())
		client, err = pki.ClientTLSConfig(dir, "")
		Expect(err).NotTo(HaveOccurred())
		client.Time = at
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.Background(), 2*time.Second)
		DeferCleanup(cancel)
		tcp = closedPort()
	})

	probe := func(tlsPort int) (cluster.Security, string) {
		GinkgoHelper()
		st, why, err := pki.Probe(ctx, "127.0.0.1", tlsPort, tcp, client)
		Expect(err).NotTo(HaveOccurred())
		GinkgoWriter.Printf("%s: %s\n", st, why)
		return st, why
	}

	It("finds a host with a certificate from the cluster CA secured, over TLS 1.3 and 1.2", func() {
		for _, v := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
			st, why := probe(serveTLS(MakeHost(ca, h1()), ca.Pool(), v))
			Expect(st).To(Equal(cluster.Secured), why)
			Expect(why).To(And(ContainSubstring(tls.VersionName(v)), ContainSubstring(`"CN=h1"`), ContainSubstring(`"CN=drover-ca"`)))
		}
	})

	It("finds a certificate from a foreign CA invalid", func() {
		foreign := MakeCA("drover-ca")
		st, why := probe(serveTLS(MakeHost(foreign, h1()), ca.Pool(), 0))
		Expect(st).To(Equal(cluster.Invalid))
		Expect(why).To(ContainSubstring("unknown authority"))
	})

	It("finds an expired certificate invalid", func() {
		old, err := ca.IssueHost(pki.HostSpec{Name: "h1", IPs: []net.IP{net.ParseIP("127.0.0.1")}, ValidFor: 24 * time.Hour},
			now.Add(-48*time.Hour))
		Expect(err).NotTo(HaveOccurred())
		st, why := probe(serveTLS(old, ca.Pool(), 0))
		Expect(st).To(Equal(cluster.Invalid))
		Expect(why).To(ContainSubstring("expired"))
	})

	It("finds a certificate without the address used as a SAN invalid", func() {
		st, why := probe(serveTLS(MakeHost(ca, pki.HostSpec{Name: "h1", IPs: []net.IP{net.ParseIP("198.18.0.11")}}), ca.Pool(), 0))
		Expect(st).To(Equal(cluster.Invalid))
		Expect(why).To(And(ContainSubstring("not a SAN"), ContainSubstring("127.0.0.1")))
	})

	It("finds a host certificate that cannot act as a client invalid", func() {
		serverOnly := MakeRaw(ca, "h1", []net.IP{net.ParseIP("127.0.0.1")},
			x509.KeyUsageDigitalSignature|x509.KeyUsageKeyEncipherment, x509.ExtKeyUsageServerAuth)
		st, why := probe(serveTLS(serverOnly, ca.Pool(), 0))
		Expect(st).To(Equal(cluster.Invalid))
		Expect(why).To(ContainSubstring("lacks ClientAuth"))
	})

	It("finds a host that rejects drover's client certificate invalid, over TLS 1.3 and 1.2", func() {
		foreign := MakeCA("other-ca")
		for _, v := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
			st, why := probe(serveTLS(MakeHost(ca, h1()), foreign.Pool(), v))
			Expect(st).To(Equal(cluster.Invalid), tls.VersionName(v))
			Expect(why).To(ContainSubstring("rejected drover's client certificate"))
		}
	})

	It("finds a TLS port that does not speak TLS invalid", func() {
		ln := listen()
		serve(ln, func(c net.Conn) { io.WriteString(c, "HTTP/1.0 400 Bad Request\r\n\r\n") })
		st, why := probe(port(ln))
		Expect(st).To(Equal(cluster.Invalid))
		Expect(why).To(ContainSubstring("does not speak TLS"))
	})

	It("finds a host with only the TCP port open unsecured", func() {
		ln := listen()
		serve(ln, func(net.Conn) {})
		tcp = port(ln)
		st, why := probe(closedPort())
		Expect(st).To(Equal(cluster.Unsecured))
		Expect(why).To(ContainSubstring("nothing listens on TLS port"))
	})

	It("cannot ask a host where nothing listens", func() {
		st, _, err := pki.Probe(ctx, "127.0.0.1", closedPort(), tcp, client)
		Expect(errors.Is(err, cluster.ErrHostUnreachable)).To(BeTrue(), "%v", err)
		Expect(st).To(BeEmpty())
	})

	It("cannot ask a host that never answers the handshake, and says so within the deadline", func() {
		ln := listen()
		hold := make(chan struct{})
		DeferCleanup(func() { close(hold) })
		serve(ln, func(net.Conn) { <-hold })
		short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, _, err := pki.Probe(short, "127.0.0.1", port(ln), tcp, client)
		Expect(errors.Is(err, cluster.ErrHostUnreachable)).To(BeTrue(), "%v", err)
		Expect(time.Since(start)).To(BeNumerically("<", time.Second))
	})

	It("verifies even when handed a config that skips verification", func() {
		foreign := MakeCA("drover-ca")
		port := serveTLS(MakeHost(foreign, h1()), ca.Pool(), 0)
		client.InsecureSkipVerify = true
		st, _ := probe(port)
		Expect(st).To(Equal(cluster.Invalid))
	})

	It("needs a client config", func() {
		_, _, err := pki.Probe(ctx, "127.0.0.1", 0, 0, nil)
		Expect(err).To(HaveOccurred())
	})
})
