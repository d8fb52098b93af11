package main

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/droverlab/drover/backend/pki"
)

// runPKI runs `drover pki ARGS...` and returns its output.
func runPKI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	c := pkiCmd()
	c.SetArgs(args)
	c.SetOut(&out)
	c.SetErr(&out)
	c.SilenceUsage, c.SilenceErrors = true, true
	err := c.Execute()
	return out.String(), err
}

func TestPKIInitIssueInspect(t *testing.T) {
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca")
	if out, err := runPKI(t, "init", "--dir", ca, "--name", "lab-ca", "--valid", "1000h"); err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	if _, err := runPKI(t, "init", "--dir", ca); err == nil {
		t.Fatal("second init overwrote the CA")
	}

	out, err := runPKI(t, "issue", "host", "h1", "--ip", "198.18.0.11", "--ip", "127.0.0.1", "--dns", "h1.lab", "--dir", ca)
	if err != nil {
		t.Fatalf("issue host: %v\n%s", err, out)
	}
	root := filepath.Join(ca, "hosts", "h1")
	for _, p := range []string{pki.LibvirtServerKey, pki.QEMUServerKey, pki.QEMUClientKey} {
		st, err := os.Stat(filepath.Join(root, p))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", p, st.Mode(), err)
		}
	}

	caPEM := filepath.Join(ca, pki.CACertFile)
	out, err = runPKI(t, "inspect", "--root", root, "--ca", caPEM, "--name", "198.18.0.11", "--name", "h1")
	if err != nil {
		t.Fatalf("inspect: %v\n%s", err, out)
	}
	if !strings.Contains(out, `host "h1" under `+root+": valid") || !strings.Contains(out, "ok   san: host certificate: 198.18.0.11 is a SAN") {
		t.Fatalf("inspect output:\n%s", out)
	}

	out, err = runPKI(t, "inspect", "--root", root, "--ca", caPEM, "--name", "198.18.0.12")
	var ee exitError
	if !errors.As(err, &ee) || ee.code != 1 {
		t.Fatalf("inspect with a missing SAN: want exit 1, got %v\n%s", err, out)
	}
	if !strings.Contains(out, "FAIL san: host certificate: 198.18.0.12") || !strings.Contains(out, "invalid (1 of") {
		t.Fatalf("inspect output:\n%s", out)
	}

	out, err = runPKI(t, "inspect", "--root", root, "--ca", caPEM, "--name", "h1", "--at", "2000-01-01T00:00:00Z")
	if !errors.As(err, &ee) || !strings.Contains(out, "FAIL dates:") {
		t.Fatalf("inspect in 2000: want a dates failure, got %v\n%s", err, out)
	}

	if out, err := runPKI(t, "issue", "host", "bad name", "--dir", ca); err == nil {
		t.Fatalf("issued a host with a bad name:\n%s", out)
	}
	if out, err := runPKI(t, "issue", "host", "h2", "--dir", ca, "--qemu-key-mode", "rw"); err == nil {
		t.Fatalf("took a bad key mode:\n%s", out)
	}
}

func TestPKIClientProbe(t *testing.T) {
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca")
	for _, args := range [][]string{
		{"init", "--dir", ca},
		{"issue", "host", "h1", "--ip", "127.0.0.1", "--dir", ca},
		{"issue", "client", "--dir", ca},
	} {
		if out, err := runPKI(t, args...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	root := filepath.Join(ca, "hosts", "h1")
	client := filepath.Join(ca, "clients", "drover")

	// libvirtd as far as a handshake can tell, with the host's own files.
	pair, err := tls.LoadX509KeyPair(filepath.Join(root, pki.LibvirtServerCert), filepath.Join(root, pki.LibvirtServerKey))
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pki.LoadCertPool(filepath.Join(root, pki.LibvirtCACert))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool})
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
			go func() { defer c.Close(); io.Copy(io.Discard, c) }()
		}
	}()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	out, err := runPKI(t, "probe", "127.0.0.1", "--tls-port", port, "--client", client, "--timeout", "2s")
	if err != nil || !strings.HasPrefix(out, "127.0.0.1: tls (") {
		t.Fatalf("probe: %v\n%s", err, out)
	}
}
