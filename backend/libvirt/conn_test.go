package libvirt

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/libvirttest"

	"github.com/droverlab/drover/backend/pki"
	"github.com/droverlab/drover/scheduler/cluster"
)

// These unit tests cover error paths only, with plain sockets and
// go-libvirt's libvirttest mock; the real-daemon specs are in lab_test.go.

func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

func TestDialRefusedIsUnreachable(t *testing.T) {
	for _, tr := range []Transport{TCP, TLS} {
		opts := Options{Transport: tr, Address: "127.0.0.1", Port: closedPort(t), Timeout: 2 * time.Second}
		if tr == TLS {
			opts.PKIDir = clientDir(t, mustCA(t, "drover"))
		}
		_, err := Dial(context.Background(), "h1", opts)
		if !errors.Is(err, cluster.ErrHostUnreachable) {
			t.Errorf("%s: err = %v, want ErrHostUnreachable", tr, err)
		}
	}
}

func TestDialMissingSocketIsUnreachable(t *testing.T) {
	_, err := Dial(context.Background(), "local", Options{Transport: Unix, Address: filepath.Join(t.TempDir(), "nope")})
	if !errors.Is(err, cluster.ErrHostUnreachable) {
		t.Fatalf("err = %v, want ErrHostUnreachable", err)
	}
}

// A host that accepts the connection but never answers libvirt's RPC.
func TestDialSilentHostTimesOut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	start := time.Now()
	_, err = Dial(context.Background(), "h1", Options{Transport: TCP, Address: "127.0.0.1",
		Port: ln.Addr().(*net.TCPAddr).Port, Timeout: 300 * time.Millisecond})
	if !errors.Is(err, cluster.ErrHostUnreachable) {
		t.Fatalf("err = %v, want ErrHostUnreachable", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Dial took %v", d)
	}
}

func TestDialUnknownTransport(t *testing.T) {
	_, err := Dial(context.Background(), "h1", Options{Transport: "ssh", Address: "127.0.0.1"})
	if err == nil || errors.Is(err, cluster.ErrHostUnreachable) {
		t.Fatalf("err = %v, want a configuration error", err)
	}
}

func TestTLSNeedsPKIDir(t *testing.T) {
	_, err := Dial(context.Background(), "h1", Options{Transport: TLS, Address: "127.0.0.1"})
	if err == nil {
		t.Fatal("TLS without a PKI dir connected")
	}
}

// A TLS host whose certificate comes from another CA answers, but must not
// be trusted: a verification error, not "unreachable".
func TestTLSForeignCARefused(t *testing.T) {
	now := time.Now()
	ours, foreign := mustCA(t, "drover"), mustCA(t, "foreign")
	host, err := foreign.IssueHost(pki.HostSpec{Name: "127.0.0.1"}, now)
	if err != nil {
		t.Fatal(err)
	}
	port := tlsServer(t, host)
	_, err = Dial(context.Background(), "h1", Options{Transport: TLS, Address: "127.0.0.1", Port: port,
		PKIDir: clientDir(t, ours), Timeout: 3 * time.Second})
	var verr *tls.CertificateVerificationError
	if !errors.As(err, &verr) {
		t.Fatalf("err = %v, want a certificate verification error", err)
	}
	if errors.Is(err, cluster.ErrHostUnreachable) {
		t.Fatalf("err = %v: a foreign CA is not unreachable", err)
	}
}

// The certificate is from our CA but names another address.
func TestTLSWrongSANRefused(t *testing.T) {
	ca := mustCA(t, "drover")
	host, err := ca.IssueHost(pki.HostSpec{Name: "h9", IPs: []net.IP{net.ParseIP("198.18.0.99")}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	port := tlsServer(t, host)
	_, err = Dial(context.Background(), "h1", Options{Transport: TLS, Address: "127.0.0.1", Port: port,
		PKIDir: clientDir(t, ca), Timeout: 3 * time.Second})
	var verr *tls.CertificateVerificationError
	if !errors.As(err, &verr) {
		t.Fatalf("err = %v, want a certificate verification error", err)
	}
}

func mustCA(t *testing.T, name string) *pki.CA {
	t.Helper()
	ca, err := pki.NewCA(name, 24*time.Hour, time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func clientDir(t *testing.T, ca *pki.CA) string {
	t.Helper()
	cl, err := ca.IssueClient("drover", time.Hour, time.Now().Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "client")
	if err := pki.WriteClientLayout(dir, ca, cl); err != nil {
		t.Fatal(err)
	}
	return dir
}

// tlsServer presents host's certificate on a loopback port and completes
// handshakes (then says nothing).
func tlsServer(t *testing.T, host *pki.Issued) int {
	t.Helper()
	pair, err := host.TLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.(*tls.Conn).Handshake()
				time.Sleep(time.Second)
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// mockConn connects through libvirttest's mock daemon.
func mockConn(t *testing.T) (*Conn, *libvirttest.MockLibvirt) {
	t.Helper()
	m := libvirttest.New()
	d := &dialer{ctx: context.Background(), name: "mock", opts: Options{Transport: TCP, Address: "mock", Timeout: time.Second},
		raw: func(context.Context) (net.Conn, error) { return m.Dial() }}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := connect(ctx, "mock", d.opts, d)
	if err != nil {
		t.Fatal(err)
	}
	return c, m
}

// The daemon goes away under an open connection: calls answer
// ErrHostUnreachable instead of hanging.
func TestMockConnectionLostIsUnreachable(t *testing.T) {
	c, m := mockConn(t)
	m.Test.Close()
	select {
	case <-c.Disconnected():
	case <-time.After(5 * time.Second):
		t.Fatal("go-libvirt did not notice the closed socket")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err := c.Inventory(ctx, InventoryOptions{})
	if !errors.Is(err, cluster.ErrHostUnreachable) {
		t.Fatalf("err = %v, want ErrHostUnreachable", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close after loss: %v", err)
	}
}

// A call the (mock) daemon never answers is bounded by the context.
func TestMockUnansweredCallBoundedByContext(t *testing.T) {
	c, _ := mockConn(t)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	// libvirttest does not implement NodeGetInfo: the request stays unanswered.
	_, err := c.Inventory(ctx, InventoryOptions{})
	if !errors.Is(err, cluster.ErrHostUnreachable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want ErrHostUnreachable and DeadlineExceeded", err)
	}
}

func TestMockCloseTwice(t *testing.T) {
	c, _ := mockConn(t)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestMapError(t *testing.T) {
	noDom := golibvirt.Error{Code: uint32(golibvirt.ErrNoDomain), Message: "Domain not found: no domain with matching name 'x'"}
	err := MapError(noDom)
	if !errors.Is(err, cluster.ErrNotFound) {
		t.Fatalf("%v is not ErrNotFound", err)
	}
	var le golibvirt.Error
	if !errors.As(err, &le) || le.Code != uint32(golibvirt.ErrNoDomain) || !golibvirt.IsNotFound(err) {
		t.Fatalf("libvirt error lost in %v", err)
	}
	if err := MapError(golibvirt.Error{Code: uint32(golibvirt.ErrRPC), Message: "rpc"}); !errors.Is(err, cluster.ErrHostUnreachable) {
		t.Fatalf("%v is not ErrHostUnreachable", err)
	}
	other := golibvirt.Error{Code: uint32(golibvirt.ErrOperationInvalid), Message: "invalid"}
	if err := MapError(other); errors.Is(err, cluster.ErrNotFound) || errors.Is(err, cluster.ErrHostUnreachable) {
		t.Fatalf("%v mapped to a sentinel", err)
	}
	if MapError(nil) != nil {
		t.Fatal("MapError(nil) != nil")
	}
}

func TestDialerAddress(t *testing.T) {
	for _, c := range []struct {
		o       Options
		network string
		addr    string
	}{
		{Options{Transport: Unix}, "unix", DefaultSocket},
		{Options{Transport: TCP, Address: "198.18.0.11"}, "tcp", "198.18.0.11:" + strconv.Itoa(pki.TCPPort)},
		{Options{Transport: TLS, Address: "[fd00::1]"}, "tcp", "[fd00::1]:" + strconv.Itoa(pki.TLSPort)},
		{Options{Transport: TLS, Address: "lab1", Port: 1234}, "tcp", "lab1:1234"},
	} {
		n, a := (&dialer{opts: c.o}).address()
		if n != c.network || a != c.addr {
			t.Errorf("%+v: %s %s, want %s %s", c.o, n, a, c.network, c.addr)
		}
	}
}
