package libvirt

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/droverlab/drover/scheduler/cluster"
)

// Unit tests of the Backend's refusals that come before any connection;
// everything that talks to a daemon is in backend_lab_test.go.

func unitBackend(t *testing.T, yaml string) (*Backend, func(id int) cluster.MigrationDone) {
	t.Helper()
	cfg, err := ParseConfig("unit.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	var mu sync.Mutex
	var events []cluster.Event
	b.Subscribe(func(e cluster.Event) { mu.Lock(); events = append(events, e); mu.Unlock() })
	wait := func(id int) cluster.MigrationDone {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			mu.Lock()
			for _, e := range events {
				if d, ok := e.(cluster.MigrationDone); ok && d.ID == id {
					mu.Unlock()
					return d
				}
			}
			mu.Unlock()
		}
		t.Fatalf("no MigrationDone for %d", id)
		return cluster.MigrationDone{}
	}
	return b, wait
}

// Addresses in 198.18.0.0/15 where nothing listens: a connection attempt
// would fail, so a refusal that names the rule proves none was needed.
// unitHosts are three hosts on loopback at a port where nothing listens:
// a dial is refused at once, and no packet leaves the machine.
func unitHosts(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return fmt.Sprintf(`
hosts:
  - {name: a, address: 127.0.0.1, port: %[1]d, transport: tcp}
  - {name: b, address: 127.0.0.2, port: %[1]d, transport: tcp, state: maintenance}
  - {name: c, address: 127.0.0.3, port: %[1]d, transport: tcp, state: down}
`, port)
}

func TestRefusalsBeforeAnyConnection(t *testing.T) {
	b, wait := unitBackend(t, unitHosts(t))
	cases := []struct {
		cmd  cluster.StartMigration
		want string
	}{
		{cluster.StartMigration{ID: 1, VM: "v", Source: "a", Destination: "nowhere"}, "unknown destination host nowhere"},
		{cluster.StartMigration{ID: 2, VM: "v", Source: "nowhere", Destination: "a"}, "unknown source host nowhere"},
		{cluster.StartMigration{ID: 3, VM: "v", Source: "a", Destination: "a"}, "both a"},
		{cluster.StartMigration{ID: 4, VM: "v", Source: "a", Destination: "b"}, "destination b is maintenance"},
		{cluster.StartMigration{ID: 5, VM: "v", Source: "c", Destination: "a"}, "source c is down"},
	}
	for _, tc := range cases {
		if err := b.Apply(context.Background(), []cluster.Command{tc.cmd}); err != nil {
			t.Fatal(err)
		}
		d := wait(tc.cmd.ID)
		if d.Outcome != cluster.OutcomeRejected || !strings.Contains(d.Reason, tc.want) {
			t.Errorf("move %d: %s %q, want rejected %q", tc.cmd.ID, d.Outcome, d.Reason, tc.want)
		}
	}
	for _, n := range b.names {
		if b.hosts[n].c != nil {
			t.Errorf("connected to %s", n)
		}
	}
}

func TestUnknownCommandIsAnError(t *testing.T) {
	b, _ := unitBackend(t, unitHosts(t))
	if err := b.Apply(context.Background(), []cluster.Command{struct{ cluster.Command }{}}); err == nil {
		t.Fatal("an unknown command must be an error")
	}
	// Abort of a migration that is not running is no error: it just ended.
	if err := b.Apply(context.Background(), []cluster.Command{cluster.AbortMigration{ID: 42}}); err != nil {
		t.Fatal(err)
	}
}

func TestSnapshotFailsWholeWhenAHostIsUnreachable(t *testing.T) {
	b, _ := unitBackend(t, "timeout: 300ms\n"+unitHosts(t))
	_, err := b.Snapshot(context.Background())
	if err == nil || !strings.Contains(err.Error(), "host unreachable") {
		t.Fatalf("err = %v, want host unreachable", err)
	}
	// The next attempt waits out the backoff rather than hammering the host.
	h := b.hosts["a"]
	h.mu.Lock()
	backoff, retry := h.backoff, h.retryAt
	h.mu.Unlock()
	if backoff < backoffFirst || time.Until(retry) <= 0 {
		t.Errorf("backoff %v, retry in %v: want a pause before redialling", backoff, time.Until(retry))
	}
}
