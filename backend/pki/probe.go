package pki

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/droverlab/drover/scheduler/cluster"
)

// libvirtd's default listening ports.
const (
	TLSPort = 16514
	TCPPort = 16509
)

// settle is how long Probe waits after a TLS 1.3 handshake for the host to
// reject drover's client certificate: in TLS 1.3 the server checks it after
// the client has finished, so a refusal arrives only as the first record.
// libvirt's protocol has the client speak first, so silence means accepted.
const settle = 200 * time.Millisecond

// Probe finds a live host's security state as TLS enforcement uses it. addr
// is the host name or IP address drover uses for the host (without port);
// tlsPort and tcpPort are libvirtd's ports, TLSPort and TCPPort when 0.
// client supplies drover's certificate, the cluster CA (RootCAs) and the
// verification time (Time; the wall clock when nil), as ClientTLSConfig
// makes it; Probe uses a copy with ServerName set to addr and verification
// forced on. ctx bounds the whole probe.
//
// The answer:
//   - cluster.Secured: the TLS handshake verifies (chain to the CA, dates,
//     addr among the SANs), the certificate may also act as a client
//     (peer-to-peer migration), and the host accepts drover's certificate;
//   - cluster.Unsecured: the TLS port refuses connections and the TCP port
//     accepts one;
//   - cluster.Invalid: something answers on the TLS port but the handshake
//     or the certificate fails (unknown authority, expired, wrong SAN, the
//     host rejects drover's certificate, not TLS at all).
//
// The string says why, for people. The error, which wraps
// cluster.ErrHostUnreachable, is for a host that cannot be asked: nothing
// answers on either port, or the connection or handshake times out.
func Probe(ctx context.Context, addr string, tlsPort, tcpPort int, client *tls.Config) (cluster.Security, string, error) {
	if client == nil {
		return "", "", errors.New("pki: probe needs a client TLS config")
	}
	if tlsPort == 0 {
		tlsPort = TLSPort
	}
	if tcpPort == 0 {
		tcpPort = TCPPort
	}
	host := strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]")
	tlsAddr := net.JoinHostPort(host, strconv.Itoa(tlsPort))
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", tlsAddr)
	if err != nil {
		if !errors.Is(err, syscall.ECONNREFUSED) {
			return "", "", fmt.Errorf("%w: %s: %v", cluster.ErrHostUnreachable, tlsAddr, err)
		}
		tcpAddr := net.JoinHostPort(host, strconv.Itoa(tcpPort))
		c, err := d.DialContext(ctx, "tcp", tcpAddr)
		if err != nil {
			return "", "", fmt.Errorf("%w: TLS port %d refuses connections and %s: %v",
				cluster.ErrHostUnreachable, tlsPort, tcpAddr, err)
		}
		c.Close()
		return cluster.Unsecured, fmt.Sprintf("nothing listens on TLS port %d; TCP port %d answers", tlsPort, tcpPort), nil
	}
	defer raw.Close()

	cfg := client.Clone()
	cfg.ServerName = host
	cfg.InsecureSkipVerify = false
	conn := tls.Client(raw, cfg)
	if err := conn.HandshakeContext(ctx); err != nil {
		if ctx.Err() != nil || isTimeout(err) {
			return "", "", fmt.Errorf("%w: TLS handshake with %s: %v", cluster.ErrHostUnreachable, tlsAddr, err)
		}
		return cluster.Invalid, handshakeReason(tlsPort, err), nil
	}
	st := conn.ConnectionState()
	if st.Version >= tls.VersionTLS13 {
		deadline := time.Now().Add(settle)
		if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
			deadline = d
		}
		conn.SetReadDeadline(deadline)
		var b [1]byte
		if _, err := conn.Read(b[:]); err != nil && !isTimeout(err) {
			return cluster.Invalid, handshakeReason(tlsPort, err), nil
		}
	}
	leaf := st.PeerCertificates[0]
	if problems := usageProblems(leaf, true, true); len(problems) > 0 {
		return cluster.Invalid, fmt.Sprintf("certificate %s: %s", name(leaf), strings.Join(problems, "; ")), nil
	}
	chain := st.VerifiedChains[0]
	return cluster.Secured, fmt.Sprintf("%s: certificate %s for %s signed by %s, valid until %s",
		tls.VersionName(st.Version), name(leaf), host, name(chain[len(chain)-1]), stamp(leaf.NotAfter)), nil
}

// handshakeReason says in words why a handshake (or the record after it)
// failed.
func handshakeReason(port int, err error) string {
	var (
		verr *tls.CertificateVerificationError
		rerr tls.RecordHeaderError
		oerr *net.OpError
	)
	switch {
	case errors.As(err, &verr):
		return "host certificate: " + certReason(verr.Err)
	case errors.As(err, &rerr):
		return fmt.Sprintf("port %d does not speak TLS", port)
	case errors.As(err, &oerr) && oerr.Op == "remote error":
		return fmt.Sprintf("host rejected drover's client certificate or the handshake: %v", oerr.Err)
	case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET):
		return fmt.Sprintf("host closed the connection during the TLS handshake (%v): it may reject drover's client certificate", err)
	}
	return "TLS handshake failed: " + err.Error()
}

// certReason names the verification failure, keeping Go's own words.
func certReason(err error) string {
	var (
		ua x509.UnknownAuthorityError
		ci x509.CertificateInvalidError
		he x509.HostnameError
	)
	switch {
	case errors.As(err, &ua):
		return "signed by an unknown authority (not the cluster CA): " + err.Error()
	case errors.As(err, &ci) && ci.Reason == x509.Expired:
		return "expired or not yet valid: " + err.Error()
	case errors.As(err, &he):
		return "the address used is not a SAN: " + err.Error()
	}
	return err.Error()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}
