// The end-to-end suites on a lab of libvirt hosts in Docker containers
// (e2e/containerlab, testcontainers-go): what a CI runner with Docker, or a
// laptop, can run without root on the runner beyond Docker itself. They
// run only with DROVER_CONTAINERS=1 and a Docker engine; make e2e runs
// them in random order.
package containers_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/backend/libvirt"
	"github.com/droverlab/drover/calibrate/grid"
	"github.com/droverlab/drover/e2e/containerlab"
	"github.com/droverlab/drover/scheduler/cluster"
)

func TestContainers(t *testing.T) {
	if os.Getenv("DROVER_CONTAINERS") != "1" {
		t.Skip("container lab specs skipped: set DROVER_CONTAINERS=1 (needs a Docker engine; see e2e/container)")
	}
	if os.Getenv("TESTCONTAINERS_RYUK_DISABLED") == "" {
		os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true") // the reaper's image cannot be pulled everywhere
	}
	RegisterFailHandler(Fail)
	RunSpecs(t, "container lab")
}

const (
	repo     = "../.."
	guestDir = containerlab.GuestDirInImage
	labName  = "drover-e2e"
)

var (
	lab    *containerlab.Lab
	drover string // the drover binary under test
)

// Hosts: h1 and h2 unsecured, h3 and h4 secured by the lab's CA; h5, h6
// and h7 secured by a certificate drover must refuse (a foreign CA's, one
// that expires 75 s after the lab starts, one naming another host), out of
// the inventory; zones z1 (h1, h3, h5, h7) and z2 (h2, h4, h6).
var _ = BeforeSuite(func(ctx SpecContext) {
	run := func(name string, args ...string) string {
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Stderr = GinkgoWriter
		out, err := cmd.Output()
		Expect(err).NotTo(HaveOccurred(), "%s %v", name, args)
		return strings.TrimSpace(string(out))
	}
	image := os.Getenv("DROVER_LAB_IMAGE")
	if image == "" {
		image = run(filepath.Join(repo, "e2e/container/build-image.sh"))
	}
	drover = filepath.Join(GinkgoT().TempDir(), "drover")
	run("go", "build", "-o", drover, "../../cmd/drover")
	dir := filepath.Join(os.TempDir(), labName)
	Expect(os.RemoveAll(dir)).To(Succeed())
	start := time.Now()
	var err error
	lab, err = containerlab.Up(ctx, containerlab.Config{Name: labName, Image: image, Hosts: 4, Secured: 2, Foreign: true,
		Expiring: true, WrongSAN: true, Zones: 2, Subnet: "198.18.65.0/24", Dir: dir, KVM: containerlab.AutoKVM(GinkgoWriter)})
	Expect(err).NotTo(HaveOccurred())
	GinkgoWriter.Printf("container lab up in %s: %s\n", time.Since(start).Round(100*time.Millisecond), lab.Inventory())
}, NodeTimeout(10*time.Minute))

var _ = AfterSuite(func(ctx SpecContext) {
	if lab != nil {
		Expect(lab.Down(ctx)).To(Succeed())
	}
})

// inventory is the lab's inventory (which ends with its hosts list) with
// more hosts' lines and then extra top-level YAML appended, written to a
// spec's own file. Unless extra says otherwise, every drover command
// measures working sets with one 1 s window: the default campaign (16 s)
// ran in each of a spec's commands, minutes per suite, for specs whose
// moves do not depend on it.
func inventory(extra string, moreHosts ...string) string {
	GinkgoHelper()
	b, err := os.ReadFile(filepath.Join(lab.Dir, containerlab.InventoryFile))
	Expect(err).NotTo(HaveOccurred())
	b = append(b, strings.Join(moreHosts, "")...)
	if !strings.Contains(extra, "working_set:") {
		extra = quickWorkingSet + extra
	}
	f := filepath.Join(GinkgoT().TempDir(), "inventory.yaml")
	Expect(os.WriteFile(f, append(b, extra...), 0o644)).To(Succeed())
	return f
}

const quickWorkingSet = "working_set: {windows: [1s], samples: 1}\n"

// backendFor is a drover libvirt Backend on the lab (closed after the spec).
func backendFor(extra string, moreHosts ...string) *libvirt.Backend {
	GinkgoHelper()
	f := inventory("poll_interval: 200ms\n"+quickWorkingSet+extra, moreHosts...)
	b, err := os.ReadFile(f)
	Expect(err).NotTo(HaveOccurred())
	cfg, err := libvirt.ParseConfig(f, b)
	Expect(err).NotTo(HaveOccurred())
	be, err := libvirt.New(cfg, slog.New(slog.NewTextHandler(GinkgoWriter, nil)))
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() { _ = be.Close() })
	return be
}

// dial connects to a lab host as drover does.
func dial(host string) *libvirt.Conn {
	GinkgoHelper()
	h := lab.Host(host)
	Expect(h).NotTo(BeNil())
	opts := libvirt.Options{Transport: libvirt.TCP, Address: h.Address, Timeout: 10 * time.Second}
	if h.TLS {
		opts.Transport, opts.PKIDir = libvirt.TLS, filepath.Join(lab.Dir, containerlab.ClientDir)
		if h.CertFault != "" {
			opts.InsecureSkipVerify = true
		}
	}
	c, err := libvirt.Dial(context.Background(), host, opts)
	Expect(err).NotTo(HaveOccurred(), "dial %s", host)
	DeferCleanup(func() { _ = c.Close() })
	return c
}

// guest is a workload guest of a spec.
type guest struct {
	name, mac string
	dirty     int64 // bytes/s it writes
	wss       int64
	cpu       float64 // share of its vCPU it keeps busy
}

// boot defines and starts g on host (after removing it from every lab
// host, so that a spec starts from hosts it knows) and waits for its
// heartbeats.
func boot(g guest, host string) {
	GinkgoHelper()
	forget(g.name)
	DeferCleanup(func() { forget(g.name) })
	w := libvirt.Workload{Name: g.name, MemoryMiB: 160, WSS: max(g.wss, 16<<20), Dirty: g.dirty, GuestDir: guestDir, MAC: g.mac, CPU: g.cpu,
		KVM: lab.KVM}
	xml, err := w.XML()
	Expect(err).NotTo(HaveOccurred())
	l := dial(host).Libvirt()
	dom, err := l.DomainDefineXML(xml)
	Expect(err).NotTo(HaveOccurred())
	Expect(l.DomainCreate(dom)).To(Succeed())
	Eventually(func() int64 { b, _ := beat(host, g.name); return b.Seq }).WithTimeout(90*time.Second).WithPolling(500*time.Millisecond).
		Should(BeNumerically(">=", 2), "no heartbeat from %s on %s", g.name, host)
}

// forget destroys and undefines a guest on every running lab host.
func forget(name string) {
	for _, h := range lab.Hosts {
		_, _ = lab.Exec(context.Background(), h.Name, "virsh", "-q", "-c", "qemu:///system", "destroy", name)
		_, _ = lab.Exec(context.Background(), h.Name, "virsh", "-q", "-c", "qemu:///system", "undefine", name)
		_, _ = lab.Exec(context.Background(), h.Name, "rm", "-f", serial(name))
	}
}

func serial(name string) string { return "/var/log/libvirt/qemu/" + name + "-serial.log" }

// beat reads a guest's console log on host: its last heartbeat and what
// went wrong (a reboot, a panic, a page that changed under it).
func beat(host, name string) (grid.Heartbeat, string) {
	b, err := lab.ReadFile(context.Background(), host, serial(name))
	if err != nil {
		return grid.Heartbeat{}, ""
	}
	return grid.Stay(b)
}

// expectIntact checks the guest runs on host with the boot id it had
// (was), beats on, never restarted there, and found no page changed.
func expectIntact(host, name string, was grid.Heartbeat) {
	GinkgoHelper()
	Eventually(func() int64 { b, _ := beat(host, name); return b.Seq }).WithTimeout(30*time.Second).WithPolling(300*time.Millisecond).
		Should(BeNumerically(">=", was.Seq+3), "heartbeat of %s did not go on on %s", name, host)
	b, trouble := beat(host, name)
	Expect(b.Boot).To(Equal(was.Boot), "boot id changed: %s rebooted", name)
	Expect(trouble).To(BeEmpty(), "%s on %s", name, host)
	Expect(b.Bad).To(BeZero(), "%s found pages it did not write", name)
}

// where lists the lab hosts on which a guest runs (an unreachable host
// counts as running nothing).
func where(name string) []string {
	var on []string
	for _, h := range lab.Hosts {
		out, err := lab.Exec(context.Background(), h.Name, "virsh", "-q", "-c", "qemu:///system", "list", "--name")
		if err == nil && strings.Contains("\n"+out+"\n", "\n"+name+"\n") {
			on = append(on, h.Name)
		}
	}
	return on
}

// expectOnce checks that a guest runs on exactly one host, that one.
func expectOnce(name, host string) {
	GinkgoHelper()
	Expect(where(name)).To(Equal([]string{host}), "%s must run exactly once, on %s", name, host)
}

// events records a Backend's events.
type events struct{ ch chan cluster.Event }

func subscribe(b *libvirt.Backend) *events {
	e := &events{ch: make(chan cluster.Event, 1024)}
	b.Subscribe(func(ev cluster.Event) {
		select {
		case e.ch <- ev:
		default:
		}
	})
	return e
}

// done waits for migration id's end.
func (e *events) done(id int, within time.Duration) cluster.MigrationDone {
	GinkgoHelper()
	deadline := time.After(within)
	for {
		select {
		case ev := <-e.ch:
			if d, ok := ev.(cluster.MigrationDone); ok && d.ID == id {
				return d
			}
		case <-deadline:
			Fail(fmt.Sprintf("migration %d did not end within %s", id, within))
		}
	}
}

// progressed waits until migration id has sent at least n bytes.
func (e *events) progressed(id int, n int64, within time.Duration) {
	GinkgoHelper()
	deadline := time.After(within)
	for {
		select {
		case ev := <-e.ch:
			if p, ok := ev.(cluster.MigrationProgress); ok && p.ID == id && p.Sent >= n {
				return
			}
			if d, ok := ev.(cluster.MigrationDone); ok && d.ID == id {
				Fail(fmt.Sprintf("migration %d ended (%s: %s) before it sent %d bytes", id, d.Outcome, d.Reason, n))
			}
		case <-deadline:
			Fail(fmt.Sprintf("migration %d sent less than %d bytes within %s", id, n, within))
		}
	}
}

func migrate(b *libvirt.Backend, id int, vm, src, dst string, tr cluster.Transport, opts cluster.MigrationOptions) {
	GinkgoHelper()
	Expect(b.Apply(context.Background(), []cluster.Command{cluster.StartMigration{ID: id, VM: vm, Source: src,
		Destination: dst, Transport: tr, Options: opts}})).To(Succeed())
}

// bootAll boots gs on host, one after the other, and returns each one's
// heartbeat once it beats: what its memory check is compared against.
func bootAll(host string, gs []guest) map[string]grid.Heartbeat {
	GinkgoHelper()
	was := map[string]grid.Heartbeat{}
	for _, g := range gs {
		boot(g, host)
		was[g.name], _ = beat(host, g.name)
	}
	return was
}

// droverStart starts the drover binary without waiting for it, for a spec
// that interrupts it or runs another command meanwhile.
func droverStart(ctx context.Context, args ...string) (*exec.Cmd, *syncBuffer) {
	GinkgoHelper()
	cmd := exec.CommandContext(ctx, drover, args...)
	buf := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = buf, buf
	Expect(cmd.Start()).To(Succeed())
	return cmd, buf
}

// droverCmd runs the drover binary, returning its combined output and exit code.
func droverCmd(ctx context.Context, args ...string) (string, int) {
	cmd := exec.CommandContext(ctx, drover, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		code = -1
	}
	GinkgoWriter.Printf("$ drover %s\n%s", strings.Join(args, " "), out.String())
	return out.String(), code
}
