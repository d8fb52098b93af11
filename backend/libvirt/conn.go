// Package libvirt is drover's backend for real KVM hosts, spoken to with
// github.com/digitalocean/go-libvirt (the only package that imports it).
//
// Conn is one connection to one host (unix socket, qemu+tcp, qemu+tls with
// drover's client certificate, the server's certificate verified against
// the cluster CA and the address used) and reads the host's inventory and
// stats. Backend is the backend.Backend of a cluster described by an
// inventory file (Config): one connection per host, redialled with backoff
// and checked by a keepalive; snapshots with probed security states, CPU
// use and dirty rates; peer-to-peer live migrations with TLS enforcement
// before any connection, progress, abort, forced switch-over, post-copy,
// and post-conditions checked on both hosts.
package libvirt

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"

	"github.com/droverlab/drover/backend/pki"
	"github.com/droverlab/drover/scheduler/cluster"
)

// Transport is how drover reaches a libvirtd.
type Transport string

const (
	// Unix is the local socket (qemu:///system on this machine).
	Unix Transport = "unix"
	// TCP is qemu+tcp: libvirt RPC in clear text, port 16509.
	TCP Transport = "tcp"
	// TLS is qemu+tls: libvirt RPC over TLS with drover's client
	// certificate, port 16514.
	TLS Transport = "tls"
)

// DefaultSocket is libvirtd's read-write unix socket.
const DefaultSocket = "/var/run/libvirt/libvirt-sock"

// DefaultTimeout bounds Dial (TCP connect, TLS handshake, libvirt's
// connect-open) when the context has no earlier deadline.
const DefaultTimeout = 10 * time.Second

// Options says how to reach one host.
type Options struct {
	Transport Transport
	// Address is the host name or IP address for TCP and TLS (the one
	// the server certificate must name), or the socket path for Unix
	// (DefaultSocket when empty).
	Address string
	// Port overrides pki.TCPPort or pki.TLSPort.
	Port int
	// PKIDir is drover's client directory (cacert.pem, clientcert.pem,
	// clientkey.pem, as `drover pki issue client` writes it). TLS only.
	PKIDir string
	// InsecureSkipVerify turns off the verification of the server's
	// certificate (chain and name). Only for trials: it is logged as a
	// warning on every Dial. drover's client certificate is still sent.
	InsecureSkipVerify bool
	// Timeout bounds Dial; DefaultTimeout when 0.
	Timeout time.Duration
	// KeepAlive is the TCP keep-alive period of the socket; 15 s when 0,
	// none when negative. go-libvirt does not speak libvirt's own
	// keepalive protocol, so TCP keep-alive is what detects a dead peer
	// on an idle connection.
	KeepAlive time.Duration
	// Logger receives warnings; slog.Default() when nil.
	Logger *slog.Logger
}

// Conn is drover's one connection to one host.
type Conn struct {
	name string
	opts Options
	l    *golibvirt.Libvirt
	d    *dialer

	mu     sync.Mutex
	closed bool
}

// Dial connects to the host name (used in errors and as cluster.Host.Name)
// as opts says and opens libvirt's qemu:///system driver there. ctx (and
// opts.Timeout) bound the whole of it. Errors: cluster.ErrHostUnreachable
// when the host cannot be reached or does not answer in time; a TLS
// verification failure is returned as is (errors.As finds the
// *tls.CertificateVerificationError), not as unreachable: the host answers
// but is not to be trusted.
func Dial(ctx context.Context, name string, opts Options) (*Conn, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	d := &dialer{ctx: ctx, name: name, opts: opts}
	if opts.Transport == TLS {
		cfg, err := clientTLSConfig(opts)
		if err != nil {
			return nil, fmt.Errorf("libvirt: host %s: %w", name, err)
		}
		d.tls = cfg
	} else if opts.Transport != TCP && opts.Transport != Unix {
		return nil, fmt.Errorf("libvirt: host %s: unknown transport %q", name, opts.Transport)
	}
	return connect(ctx, name, opts, d)
}

// connect opens libvirt over d, bounded by ctx: if ctx ends first the
// socket is closed under go-libvirt, which makes it return.
func connect(ctx context.Context, name string, opts Options, d *dialer) (*Conn, error) {
	l := golibvirt.NewWithDialer(d)
	done := make(chan error, 1)
	go func() { done <- l.ConnectToURI(golibvirt.QEMUSystem) }()
	select {
	case err := <-done:
		if err != nil {
			if d.err != nil { // the dialer failed: already classified
				return nil, d.err
			}
			return nil, fmt.Errorf("%w: %s: connect: %w", cluster.ErrHostUnreachable, name, err)
		}
	case <-ctx.Done():
		d.closeConn()
		<-done
		return nil, fmt.Errorf("%w: %s: connect: %w", cluster.ErrHostUnreachable, name, ctx.Err())
	}
	return &Conn{name: name, opts: opts, l: l, d: d}, nil
}

// clientTLSConfig is drover's client certificate and CA, for opts.Address.
func clientTLSConfig(opts Options) (*tls.Config, error) {
	if opts.PKIDir == "" {
		return nil, errors.New("TLS needs a PKI client directory")
	}
	cfg, err := pki.ClientTLSConfig(opts.PKIDir, hostOnly(opts.Address))
	if err != nil {
		return nil, err
	}
	if opts.InsecureSkipVerify {
		opts.Logger.Warn("libvirt: TLS server certificate NOT verified (InsecureSkipVerify)",
			"address", opts.Address)
		cfg.InsecureSkipVerify = true
	}
	return cfg, nil
}

// dialer is a socket.Dialer bound to a context; go-libvirt's Dial has none.
// It dials itself (rather than dialers.NewTLS, which panics when the user
// cannot be looked up) and remembers the socket so connect can close it.
type dialer struct {
	ctx  context.Context
	name string
	opts Options
	tls  *tls.Config
	// raw, if set, replaces the network dial (tests).
	raw func(ctx context.Context) (net.Conn, error)

	mu   sync.Mutex
	conn net.Conn
	err  error
}

func (d *dialer) Dial() (net.Conn, error) {
	c, err := d.dial()
	d.mu.Lock()
	defer d.mu.Unlock()
	if err != nil {
		d.err = err
		return nil, err
	}
	d.conn = c
	return c, nil
}

func (d *dialer) closeConn() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.conn != nil {
		d.conn.Close()
	}
}

func (d *dialer) dial() (net.Conn, error) {
	network, addr := d.address()
	var c net.Conn
	var err error
	if d.raw != nil {
		c, err = d.raw(d.ctx)
	} else {
		ka := d.opts.KeepAlive
		if ka == 0 {
			ka = 15 * time.Second
		}
		nd := net.Dialer{KeepAlive: ka}
		c, err = nd.DialContext(d.ctx, network, addr)
	}
	if err != nil {
		// net's error already names the network and the address.
		return nil, fmt.Errorf("%w: %s: %w", cluster.ErrHostUnreachable, d.name, err)
	}
	if d.tls == nil {
		return c, nil
	}
	tc := tls.Client(c, d.tls)
	if err := tc.HandshakeContext(d.ctx); err != nil {
		c.Close()
		var verr *tls.CertificateVerificationError
		if errors.As(err, &verr) {
			return nil, fmt.Errorf("libvirt: %s: TLS server certificate of %s: %w", d.name, addr, err)
		}
		var nerr net.Error
		if d.ctx.Err() != nil || (errors.As(err, &nerr) && nerr.Timeout()) {
			return nil, fmt.Errorf("%w: %s: TLS handshake with %s: %w", cluster.ErrHostUnreachable, d.name, addr, err)
		}
		return nil, fmt.Errorf("libvirt: %s: TLS handshake with %s: %w", d.name, addr, err)
	}
	// After the handshake libvirtd sends one byte: 1 when it accepts
	// drover's client certificate (and address). A refusal may also come
	// as a TLS alert on this read (TLS 1.3 checks the client late).
	if dl, ok := d.ctx.Deadline(); ok {
		tc.SetReadDeadline(dl)
	}
	var b [1]byte
	if _, err := io.ReadFull(tc, b[:]); err != nil {
		tc.Close()
		var nerr net.Error
		if d.ctx.Err() != nil || (errors.As(err, &nerr) && nerr.Timeout()) {
			return nil, fmt.Errorf("%w: %s: no TLS check answer from %s: %w", cluster.ErrHostUnreachable, d.name, addr, err)
		}
		return nil, fmt.Errorf("libvirt: %s: %s refused drover's client certificate: %w", d.name, addr, err)
	}
	if b[0] != 1 {
		tc.Close()
		return nil, fmt.Errorf("libvirt: %s: %s refused drover's client certificate (check byte %d)", d.name, addr, b[0])
	}
	tc.SetReadDeadline(time.Time{})
	return tc, nil
}

// address is the network and address Dial uses.
func (d *dialer) address() (string, string) {
	o := d.opts
	switch o.Transport {
	case Unix:
		if o.Address == "" {
			return "unix", DefaultSocket
		}
		return "unix", o.Address
	case TLS:
		return "tcp", net.JoinHostPort(hostOnly(o.Address), strconv.Itoa(portOr(o.Port, pki.TLSPort)))
	default:
		return "tcp", net.JoinHostPort(hostOnly(o.Address), strconv.Itoa(portOr(o.Port, pki.TCPPort)))
	}
}

func portOr(p, def int) int {
	if p > 0 {
		return p
	}
	return def
}

// hostOnly strips IPv6 brackets.
func hostOnly(a string) string { return strings.TrimSuffix(strings.TrimPrefix(a, "["), "]") }

// Name is the host's name as given to Dial.
func (c *Conn) Name() string { return c.name }

// Libvirt is the underlying go-libvirt client, for calls this package does
// not wrap yet. Its errors are not mapped; pass them through MapError.
func (c *Conn) Libvirt() *golibvirt.Libvirt { return c.l }

// Disconnected is closed when the connection is lost or closed.
func (c *Conn) Disconnected() <-chan struct{} { return c.l.Disconnected() }

// Close says goodbye to libvirtd and closes the socket. A daemon that does
// not answer the goodbye within the dial timeout has its socket closed
// anyway. Closing twice is a no-op.
func (c *Conn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	if !c.l.IsConnected() {
		c.d.closeConn()
		return nil
	}
	timeout := c.opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	done := make(chan error, 1)
	go func() { done <- c.l.Disconnect() }()
	select {
	case err := <-done:
		if err != nil && !c.l.IsConnected() {
			return nil // already gone: nothing left to close
		}
		return err
	case <-time.After(timeout):
		c.d.closeConn()
		return fmt.Errorf("libvirt: %s: close: no answer in %v; socket closed", c.name, timeout)
	}
}

// call runs fn, a go-libvirt call, bounded by ctx, and maps its error.
// go-libvirt calls take no context: when ctx ends first the call is left
// to finish in the background and the answer is ErrHostUnreachable.
func call[T any](ctx context.Context, c *Conn, fn func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := fn()
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			return r.v, c.mapError(r.err)
		}
		return r.v, nil
	case <-ctx.Done():
		var zero T
		return zero, fmt.Errorf("%w: %s: %w", cluster.ErrHostUnreachable, c.name, ctx.Err())
	case <-c.l.Disconnected():
		// the call may still have answered: prefer its result
		select {
		case r := <-ch:
			if r.err != nil {
				return r.v, c.mapError(r.err)
			}
			return r.v, nil
		case <-time.After(100 * time.Millisecond):
		}
		var zero T
		return zero, fmt.Errorf("%w: %s: connection lost", cluster.ErrHostUnreachable, c.name)
	}
}

func (c *Conn) mapError(err error) error {
	if !c.l.IsConnected() && !isLibvirtError(err) {
		return fmt.Errorf("%w: %s: connection lost: %w", cluster.ErrHostUnreachable, c.name, err)
	}
	return fmt.Errorf("%s: %w", c.name, MapError(err))
}

func isLibvirtError(err error) bool {
	var le golibvirt.Error
	return errors.As(err, &le)
}

// MapError makes libvirt's error codes answer errors.Is with the backend's
// sentinels: VIR_ERR_NO_DOMAIN is cluster.ErrNotFound; VIR_ERR_NO_CONNECT,
// VIR_ERR_SYSTEM_ERROR on the RPC layer and VIR_ERR_RPC are
// cluster.ErrHostUnreachable. The libvirt error stays reachable with
// errors.As (golibvirt.Error) and its message is kept. nil stays nil.
func MapError(err error) error {
	if err == nil {
		return nil
	}
	var le golibvirt.Error
	if !errors.As(err, &le) {
		return err
	}
	switch golibvirt.ErrorNumber(le.Code) {
	case golibvirt.ErrNoDomain:
		return &mappedError{cluster.ErrNotFound, err}
	case golibvirt.ErrNoConnect, golibvirt.ErrRPC:
		return &mappedError{cluster.ErrHostUnreachable, err}
	}
	return err
}

// mappedError is a libvirt error that also is a backend sentinel. It has a
// single Unwrap chain so that go-libvirt's own checks (IsNotFound, which
// follows errors.Unwrap) still find the libvirt error.
type mappedError struct {
	sentinel error
	err      error
}

func (e *mappedError) Error() string        { return e.sentinel.Error() + ": " + e.err.Error() }
func (e *mappedError) Unwrap() error        { return e.err }
func (e *mappedError) Is(target error) bool { return target == e.sentinel }
