package libvirt

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"libvirt.org/go/libvirtxml"

	"github.com/droverlab/drover/backend"
	"github.com/droverlab/drover/backend/backendtest"
	"github.com/droverlab/drover/calibrate/grid"
	"github.com/droverlab/drover/e2e/containerlab"
	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/units"
)

// The Backend against real daemons (the lab of lab_test.go).
const (
	tcp2Name    = "h2"
	tcp2IP      = "198.18.66.2"
	tls2Name    = "h4"
	tls2IP      = "198.18.66.4"
	foreignName = "h5"
	foreignIP   = "198.18.66.5"
)

type labHost struct {
	name, ip string
	tr       Transport
}

func labConfig(hosts ...labHost) *Config {
	GinkgoHelper()
	var b strings.Builder
	// One 1s window, as before working-set campaigns: the specs that do
	// not look at the working set keep their pace (wss_lab_test.go does).
	fmt.Fprintf(&b, "pki: %s\npoll_interval: 200ms\nworking_set: {windows: [1s], samples: 1}\nmigration: {completion_timeout_per_gib: 10m}\nhosts:\n", labPKI)
	for _, h := range hosts {
		fmt.Fprintf(&b, "  - {name: %s, address: %s, transport: %s, zone: z-%s, nics: 1, nic_speed: 1Gbit/s}\n", h.name, h.ip, h.tr, h.name)
	}
	cfg, err := ParseConfig("lab.yaml", []byte(b.String()))
	Expect(err).NotTo(HaveOccurred())
	return cfg
}

func newLabBackend(cfg *Config) *Backend {
	GinkgoHelper()
	log := slog.New(slog.NewTextHandler(GinkgoWriter, &slog.HandlerOptions{Level: slog.LevelDebug}))
	b, err := New(cfg, log)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() { Expect(b.Close()).To(Succeed()) })
	return b
}

// guest is a lab guest started on a host; its heartbeat proves it runs.
type guest struct {
	name, mac string
	dirty     string // the rate the guest writes (units.ParseRate), 4MiB/s when empty
	wss       string // the memory it writes in (units.ParseSize), 16MiB when empty
	disk      string // a qcow2 image attached as vda, none when empty
	mib       int    // its memory, guestMiB when 0
}

// startGuest defines and starts g on host h (after removing it from every
// given host) and waits for its first heartbeats.
func startGuest(g guest, h labHost, everywhere ...labHost) {
	GinkgoHelper()
	launchGuest(g, h, everywhere...)
	waitBeats(g, h)
}

// waitBeats waits for g's first heartbeats on h.
func waitBeats(g guest, h labHost) {
	GinkgoHelper()
	Eventually(func() int64 { return lastBeat(h.name, g.name).Seq }).WithTimeout(90*time.Second).WithPolling(500*time.Millisecond).
		Should(BeNumerically(">=", 2), "no heartbeat from %s on %s", g.name, h.name)
}

// launchGuest is startGuest without the wait, to boot several at once.
func launchGuest(g guest, h labHost, everywhere ...labHost) {
	GinkgoHelper()
	for _, o := range everywhere {
		removeGuest(o, g.name)
		_, _ = onHost(o.name, "rm", "-f", serialPath(g.name))
	}
	// Specs run in random order: leave no guest behind, even on failure.
	DeferCleanup(func() {
		for _, o := range everywhere {
			removeGuest(o, g.name)
		}
	})
	mib := guestMiB
	if g.mib > 0 {
		mib = g.mib
	}
	w := labGuest(g.name, mib, g.mac)
	if g.dirty != "" {
		r, err := units.ParseRate(g.dirty, units.PageSize)
		Expect(err).NotTo(HaveOccurred())
		w.Dirty = int64(r)
	}
	if g.wss != "" {
		n, err := units.ParseSize(g.wss)
		Expect(err).NotTo(HaveOccurred())
		w.WSS = n
	}
	xml := guestXML(w)
	if g.disk != "" {
		var d libvirtxml.Domain
		Expect(d.Unmarshal(xml)).To(Succeed())
		d.Devices.Disks = []libvirtxml.DomainDisk{{Device: "disk",
			// cache=none: libvirt allows migration with shared storage
			// only without the host's page cache in the way.
			Driver: &libvirtxml.DomainDiskDriver{Name: "qemu", Type: "qcow2", Cache: "none"},
			Source: &libvirtxml.DomainDiskSource{File: &libvirtxml.DomainDiskSourceFile{File: g.disk}},
			Target: &libvirtxml.DomainDiskTarget{Dev: "vda", Bus: "virtio"}}}
		var err error
		xml, err = d.Marshal()
		Expect(err).NotTo(HaveOccurred())
	}
	l := dialLab(h.name, h.options()).Libvirt()
	dom, err := l.DomainDefineXML(xml)
	Expect(err).NotTo(HaveOccurred())
	Expect(l.DomainCreate(dom)).To(Succeed())
}

// options are drover's connection options for h.
func (h labHost) options() Options {
	if h.tr == TLS {
		return Options{Transport: TLS, Address: h.ip, PKIDir: labPKI}
	}
	return Options{Transport: TCP, Address: h.ip}
}

// virsh runs a command in h against its own daemon and returns its output.
func virsh(h labHost, args ...string) (string, error) {
	return onHost(h.name, append([]string{"virsh", "-q", "-c", "qemu:///system"}, args...)...)
}

func serialPath(dom string) string { return "/var/log/libvirt/qemu/" + dom + "-serial.log" }

// beat is a guest's last heartbeat on a host, and what its console shows
// went wrong there (a reboot, a panic, a page that changed under it).
type beat struct {
	grid.Heartbeat
	trouble string
}

// lastBeat reads a guest's serial log on a host (grid.Stay: only whole
// lines count, QEMU writes the file as the guest prints).
func lastBeat(hostName, dom string) beat {
	log, err := hostFile(hostName, serialPath(dom))
	if err != nil {
		return beat{}
	}
	hb, trouble := grid.Stay(log)
	return beat{hb, trouble}
}

// expectAlive checks that the guest, last seen at was, keeps beating on
// hostName with the same boot id, without a reboot or a panic, and that
// every page it checked still held what it last wrote.
func expectAlive(hostName, dom string, was beat) {
	GinkgoHelper()
	Eventually(func() int64 { return lastBeat(hostName, dom).Seq }).WithTimeout(30*time.Second).WithPolling(300*time.Millisecond).
		Should(BeNumerically(">=", was.Seq+3), "heartbeat of %s did not go on on %s", dom, hostName)
	now := lastBeat(hostName, dom)
	Expect(now.Boot).To(Equal(was.Boot), "boot id changed: the guest rebooted")
	Expect(now.trouble).To(BeEmpty(), "%s on %s", dom, hostName)
	Expect(now.Bad).To(BeZero(), "the guest found pages it did not write on %s", hostName)
}

// events records a Backend's events.
type events struct {
	mu  sync.Mutex
	all []cluster.Event
}

func (e *events) add(ev cluster.Event) { e.mu.Lock(); e.all = append(e.all, ev); e.mu.Unlock() }

func (e *events) done(id int) (cluster.MigrationDone, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, ev := range e.all {
		if d, ok := ev.(cluster.MigrationDone); ok && d.ID == id {
			return d, true
		}
	}
	return cluster.MigrationDone{}, false
}

func (e *events) progressed(id int) (cluster.MigrationProgress, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var last cluster.MigrationProgress
	var ok bool
	for _, ev := range e.all {
		if p, is := ev.(cluster.MigrationProgress); is && p.ID == id {
			last, ok = p, true
		}
	}
	return last, ok
}

func waitDone(ev *events, id int, within time.Duration) cluster.MigrationDone {
	GinkgoHelper()
	var d cluster.MigrationDone
	Eventually(func() bool {
		var ok bool
		d, ok = ev.done(id)
		return ok
	}).WithTimeout(within).WithPolling(200 * time.Millisecond).Should(BeTrue())
	return d
}

func migrateCmd(id int, vm, src, dst string, tr cluster.Transport, opts cluster.MigrationOptions) []cluster.Command {
	return []cluster.Command{cluster.StartMigration{ID: id, VM: vm, Source: src, Destination: dst, Transport: tr, Options: opts}}
}

// migrateFromLab1 starts g on lab1 and migrates it to lab3 as move id
// with opts, through a fresh Backend; it returns the Backend, its events
// and the guest's last heartbeat before the migration.
func migrateFromLab1(g guest, id int, opts cluster.MigrationOptions) (*Backend, *events, beat) {
	GinkgoHelper()
	startGuest(g, lab1, lab1, lab3)
	b := newLabBackend(labConfig(lab1, lab3))
	ev := &events{}
	b.Subscribe(ev.add)
	was := lastBeat(tcpName, g.name)
	Expect(b.Apply(context.Background(), migrateCmd(id, g.name, tcpName, tcp2Name, cluster.TransportTCP, opts))).To(Succeed())
	return b, ev, was
}

// removeGuest destroys and undefines a guest on h (a guest that is not
// there is no failure: this is cleanup).
func removeGuest(h labHost, name string) {
	_, _ = virsh(h, "destroy", name)
	_, _ = virsh(h, "undefine", name)
}

var (
	// lab1..lab5 are h1..h5 (see lab_test.go).
	lab1 = labHost{tcpName, tcpIP, TCP}
	lab2 = labHost{tlsName, tlsIP, TLS}
	lab3 = labHost{tcp2Name, tcp2IP, TCP}
	lab4 = labHost{tls2Name, tls2IP, TLS}
	lab5 = labHost{foreignName, foreignIP, TLS}
)

// Specs run in random order (make e2e randomizes them all): each starts
// its guests on hosts it first clears of them, and none leaves a host
// otherwise changed (the one that kills a daemon starts it again and
// waits until it answers).
var _ = Describe("the libvirt backend", func() {

	Describe("conformance, between two unsecured hosts", func() {
		fast := guest{name: "drcf1", mac: "52:54:00:dd:01:01", dirty: "2MiB/s"}
		slow := guest{name: "drcf2", mac: "52:54:00:dd:01:02", dirty: "8MiB/s"}
		backendtest.Specs(func() backendtest.Harness {
			// Booted together: each spec waits for one boot, not two.
			launchGuest(fast, lab1, lab1, lab3)
			launchGuest(slow, lab1, lab1, lab3)
			waitBeats(fast, lab1)
			waitBeats(slow, lab1)
			return &labHarness{b: newLabBackend(labConfig(lab1, lab3)), fx: backendtest.Fixture{
				Source: tcpName, Destination: tcp2Name, VM: fast.name, SlowVM: slow.name,
				Transport:   cluster.TransportTCP,
				SlowOptions: cluster.MigrationOptions{Bandwidth: 1 << 20},
				Patience:    90 * time.Second,
			}}
		}, func(f func()) { conformanceMu.Lock(); defer conformanceMu.Unlock(); f() })
	})

	It("reports a running TCG guest's CPU use and the dirty rate libvirt measures beside the guest's own", func() {
		g := guest{name: "drst1", mac: "52:54:00:dd:02:01", dirty: "16MiB/s"}
		startGuest(g, lab1, lab1)
		b := newLabBackend(labConfig(lab1, lab3))
		snap, err := b.Snapshot(context.Background())
		Expect(err).NotTo(HaveOccurred())
		v := snap.VM(g.name)
		Expect(v).NotTo(BeNil())
		Expect(v.Host).To(Equal(tcpName))
		Expect(v.VCPUs).To(Equal(1))
		Expect(v.Memory).To(Equal(int64(guestMiB) << 20))
		Expect(v.MACs).To(Equal([]string{g.mac}))
		Expect(v.CPU).To(BeNumerically(">", 0.01), "a guest that writes memory uses CPU")
		Expect(v.CPU).To(BeNumerically("<=", 1))
		Expect(v.Resident).To(BeNumerically(">", 16<<20))
		own := lastBeat(tcpName, g.name).Rate
		GinkgoWriter.Printf("dirty rate: libvirt %.1f MiB/s, guest %.1f MiB/s; cpu %.2f cores; resident %d MiB\n",
			v.DirtyRate/(1<<20), own/(1<<20), v.CPU, v.Resident>>20)
		Expect(own).To(BeNumerically(">", 8<<20))
		// Page sampling counts pages, not writes, over a 1 s window: it may
		// see fewer distinct pages than the guest's writes, never far more.
		Expect(v.DirtyRate).To(BeNumerically(">", own/8))
		Expect(v.DirtyRate).To(BeNumerically("<", own*4))
		h := snap.Host(tcpName)
		Expect(h.Security).To(Equal(cluster.Unsecured))
		Expect(h.Zone).To(Equal("z-" + tcpName))
		Expect(h.NICSpeed).To(Equal(1e9 / 8))
		removeGuest(lab1, g.name)
	})

	It("live-migrates over TCP: the guest goes on on the destination, persistent there, gone from the source", func() {
		g := guest{name: "drtcp1", mac: "52:54:00:dd:03:01", dirty: "8MiB/s"}
		startGuest(g, lab1, lab1, lab3)
		b := newLabBackend(labConfig(lab1, lab3))
		ev := &events{}
		b.Subscribe(ev.add)
		was := lastBeat(tcpName, g.name)
		start := time.Now()
		Expect(b.Apply(context.Background(), migrateCmd(1, g.name, tcpName, tcp2Name, cluster.TransportTCP, cluster.MigrationOptions{DowntimeLimit: 300 * time.Millisecond}))).To(Succeed())
		d := waitDone(ev, 1, 90*time.Second)
		Expect(d.Outcome).To(Equal(cluster.OutcomeCompleted), d.Reason)
		GinkgoWriter.Printf("tcp migration: %s wall, downtime %s, %d MiB sent, %d rounds\n", time.Since(start).Round(time.Millisecond), d.Downtime, d.Bytes>>20, d.Rounds)
		Expect(d.Downtime).To(BeNumerically(">", 0))
		Expect(d.Bytes).To(BeNumerically(">", 0))
		Expect(d.Rounds).To(BeNumerically(">=", 1))
		expectAlive(tcp2Name, g.name, was)
		snap, err := b.Snapshot(context.Background())
		Expect(err).NotTo(HaveOccurred())
		Expect(snap.VM(g.name).Host).To(Equal(tcp2Name))
		Expect(snap.VM(g.name).MACs).To(Equal([]string{g.mac}))
		out, err := virsh(lab3, "list", "--persistent", "--name")
		Expect(err).NotTo(HaveOccurred())
		Expect(strings.Fields(out)).To(ContainElement(g.name))
		out, err = virsh(lab1, "list", "--all", "--name")
		Expect(err).NotTo(HaveOccurred())
		Expect(strings.Fields(out)).NotTo(ContainElement(g.name))
		removeGuest(lab3, g.name)
	})

	It("live-migrates over TLS between secured hosts, with QEMU native TLS", func() {
		g := guest{name: "drtls1", mac: "52:54:00:dd:04:01", dirty: "8MiB/s"}
		startGuest(g, lab2, lab2, lab4)
		b := newLabBackend(labConfig(lab2, lab4))
		ev := &events{}
		b.Subscribe(ev.add)
		snap, err := b.Snapshot(context.Background())
		Expect(err).NotTo(HaveOccurred())
		Expect(snap.Host(tlsName).Security).To(Equal(cluster.Secured))
		Expect(snap.Host(tls2Name).Security).To(Equal(cluster.Secured))
		was := lastBeat(tlsName, g.name)
		Expect(b.Apply(context.Background(), migrateCmd(1, g.name, tlsName, tls2Name, cluster.TransportTLS, cluster.MigrationOptions{}))).To(Succeed())
		d := waitDone(ev, 1, 90*time.Second)
		Expect(d.Outcome).To(Equal(cluster.OutcomeCompleted), d.Reason)
		GinkgoWriter.Printf("tls migration: downtime %s, %d MiB sent, %d rounds\n", d.Downtime, d.Bytes>>20, d.Rounds)
		expectAlive(tls2Name, g.name, was)
		// QMP is logged: both QEMUs used x509 credentials for the stream.
		for _, h := range []string{tlsName, tls2Name} {
			log, err := hostFile(h, "/var/log/libvirt/libvirtd.log")
			Expect(err).NotTo(HaveOccurred())
			Expect(string(log)).To(ContainSubstring(`"qom-type":"tls-creds-x509"`), "no TLS credentials in %s's QMP log", h)
		}
		removeGuest(lab4, g.name)
	})

	It("refuses a mixed pair by TLS enforcement before connecting to either daemon", func() {
		g := guest{name: "drmix1", mac: "52:54:00:dd:05:01"}
		startGuest(g, lab1, lab1)
		b := newLabBackend(labConfig(lab1, lab2))
		ev := &events{}
		b.Subscribe(ev.add)
		for _, tr := range []cluster.Transport{cluster.TransportTCP, cluster.TransportTLS, ""} {
			Expect(b.Apply(context.Background(), migrateCmd(1, g.name, tcpName, tlsName, tr, cluster.MigrationOptions{}))).To(Succeed())
			d := waitDone(ev, 1, 30*time.Second)
			Expect(d.Outcome).To(Equal(cluster.OutcomeRejected))
			Expect(d.Reason).To(ContainSubstring("security"), d.Reason)
			ev.mu.Lock()
			ev.all = nil
			ev.mu.Unlock()
		}
		for _, n := range []string{tcpName, tlsName} {
			h := b.hosts[n]
			h.mu.Lock()
			Expect(h.c).To(BeNil(), "the backend connected to %s", n)
			h.mu.Unlock()
		}
		was := lastBeat(tcpName, g.name)
		expectAlive(tcpName, g.name, was)
		removeGuest(lab1, g.name)
	})

	It("refuses a host whose certificate comes from another CA", func() {
		g := guest{name: "drfor1", mac: "52:54:00:dd:06:01"}
		startGuest(g, lab2, lab2)
		b := newLabBackend(labConfig(lab2, lab5))
		ev := &events{}
		b.Subscribe(ev.add)
		// The snapshot cannot even open lab5: its certificate does not verify.
		_, err := b.Snapshot(context.Background())
		Expect(err).To(MatchError(ContainSubstring("certificate")))
		sec, why, err := b.hosts[foreignName].securityState(context.Background())
		Expect(err).NotTo(HaveOccurred())
		Expect(sec).To(Equal(cluster.Invalid), why)
		GinkgoWriter.Printf("%s: %s (%s)\n", foreignName, sec, why)
		Expect(b.Apply(context.Background(), migrateCmd(1, g.name, tlsName, foreignName, cluster.TransportTLS, cluster.MigrationOptions{}))).To(Succeed())
		d := waitDone(ev, 1, 30*time.Second)
		Expect(d.Outcome).To(Equal(cluster.OutcomeRejected))
		Expect(d.Reason).To(ContainSubstring("invalid"))
		expectAlive(tlsName, g.name, lastBeat(tlsName, g.name))
		removeGuest(lab2, g.name)
	})

	It("aborts a migration capped at 1 MiB/s and leaves the guest running on its source", func() {
		g := guest{name: "drab1", mac: "52:54:00:dd:07:01", dirty: "8MiB/s"}
		b, ev, was := migrateFromLab1(g, 7, cluster.MigrationOptions{Bandwidth: 1 << 20})
		Eventually(func() int64 { p, _ := ev.progressed(7); return p.Sent }).WithTimeout(30 * time.Second).Should(BeNumerically(">", 1<<20))
		p, _ := ev.progressed(7)
		GinkgoWriter.Printf("before abort: iteration %d, %d KiB sent, %d KiB left\n", p.Iteration, p.Sent>>10, p.Remaining>>10)
		Expect(b.Apply(context.Background(), []cluster.Command{cluster.AbortMigration{ID: 7, Reason: "operator abort"}})).To(Succeed())
		d := waitDone(ev, 7, 30*time.Second)
		Expect(d.Outcome).To(Equal(cluster.OutcomeAborted), d.Reason)
		Expect(d.Lost).To(BeFalse())
		snap, err := b.Snapshot(context.Background())
		Expect(err).NotTo(HaveOccurred())
		Expect(snap.VM(g.name).Host).To(Equal(tcpName))
		Expect(snap.VM(g.name).Migrating).To(BeFalse())
		expectAlive(tcpName, g.name, was)
		removeGuest(lab1, g.name)
	})

	// A guest that re-dirties 16 MiB four times a second cannot converge at
	// 32 MiB/s with a 300 ms downtime limit: each round leaves ~16 MiB,
	// above the 9.6 MiB QEMU may send while paused.
	hot := func(name, mac string) guest { return guest{name: name, mac: mac, dirty: "64MiB/s"} }
	stuck := cluster.MigrationOptions{Bandwidth: 32 << 20, DowntimeLimit: 300 * time.Millisecond}
	waitRound := func(ev *events, id, round int) {
		GinkgoHelper()
		Eventually(func() int { p, _ := ev.progressed(id); return p.Iteration }).WithTimeout(60*time.Second).
			Should(BeNumerically(">=", round), "migration %d never reached round %d", id, round)
	}

	It("forces the switch-over of a migration that does not converge", func() {
		g := hot("drfo1", "52:54:00:dd:09:01")
		b, ev, was := migrateFromLab1(g, 9, stuck)
		waitRound(ev, 9, 4)
		Expect(b.Apply(context.Background(), []cluster.Command{cluster.ForceSwitchover{ID: 9, Reason: "max iterations"}})).To(Succeed())
		d := waitDone(ev, 9, 60*time.Second)
		Expect(d.Outcome).To(Equal(cluster.OutcomeForced), d.Reason)
		GinkgoWriter.Printf("forced: downtime %s after %d rounds, %d MiB\n", d.Downtime, d.Rounds, d.Bytes>>20)
		Expect(d.Downtime).To(BeNumerically(">", 0))
		Expect(d.Rounds).To(BeNumerically(">=", 4), "it ended after the force, not before")
		expectAlive(tcp2Name, g.name, was)
		removeGuest(lab3, g.name)
	})

	It("switches a migration that does not converge to post-copy: the guest goes on on the destination", func() {
		g := hot("drpc1", "52:54:00:dd:09:02")
		opts := stuck
		opts.PostCopy = true
		b, ev, was := migrateFromLab1(g, 10, opts)
		waitRound(ev, 10, 3)
		Expect(b.Apply(context.Background(), []cluster.Command{cluster.StartPostCopy{ID: 10, Reason: "progress timeout"}})).To(Succeed())
		d := waitDone(ev, 10, 60*time.Second)
		Expect(d.Outcome).To(Equal(cluster.OutcomePostCopy), d.Reason)
		GinkgoWriter.Printf("post-copy: downtime %s after %d rounds, %d MiB\n", d.Downtime, d.Rounds, d.Bytes>>20)
		expectAlive(tcp2Name, g.name, was)
		removeGuest(lab3, g.name)
	})

	It("throttles a guest that does not converge when auto-converge is on, from the configured first step", func() {
		g := hot("drac1", "52:54:00:dd:09:03")
		opts := stuck
		opts.AutoConverge = true
		// QEMU's first step is 20%; libvirt's auto_converge.initial sets it.
		opts.ThrottleInitial, opts.ThrottleIncrement = 35, 5
		b, ev, was := migrateFromLab1(g, 11, opts)
		c := dialLab(tcpName, Options{Transport: TCP, Address: tcpIP})
		dom, err := c.Libvirt().DomainLookupByName(g.name)
		Expect(err).NotTo(HaveOccurred())
		var throttle, first uint64
		Eventually(func() uint64 {
			if _, done := ev.done(11); done {
				return 100 // converged already: the throttle did its work
			}
			_, ps, err := c.Libvirt().DomainGetJobStats(dom, 0)
			if err == nil {
				throttle = params(ps).uint(golibvirt.DomainJobAutoConvergeThrottle)
				if first == 0 {
					first = throttle
				}
			}
			return throttle
		}).WithTimeout(60 * time.Second).WithPolling(300 * time.Millisecond).Should(BeNumerically(">=", 35))
		GinkgoWriter.Printf("auto-converge throttle: first seen %d%%, reached %d%%\n", first, throttle)
		if first > 0 {
			// Steps come at least two one-second periods apart, so a 300 ms
			// poll sees the first.
			Expect(first).To(BeNumerically("==", 35), "the first throttle step")
		}
		Expect(b.Apply(context.Background(), []cluster.Command{cluster.AbortMigration{ID: 11, Reason: "test over"}})).To(Succeed())
		d := waitDone(ev, 11, 60*time.Second)
		if d.Outcome == cluster.OutcomeCompleted {
			expectAlive(tcp2Name, g.name, was)
			removeGuest(lab3, g.name)
			return
		}
		Expect(d.Outcome).To(Equal(cluster.OutcomeAborted), d.Reason)
		expectAlive(tcpName, g.name, was)
		removeGuest(lab1, g.name)
	})

	It("follows a migration to its end when drover's connection to the source drops", func() {
		g := guest{name: "drfw1", mac: "52:54:00:dd:0b:01", dirty: "4MiB/s"}
		b, ev, was := migrateFromLab1(g, 12, cluster.MigrationOptions{Bandwidth: 16 << 20})
		Eventually(func() int64 { p, _ := ev.progressed(12); return p.Sent }).WithTimeout(30 * time.Second).Should(BeNumerically(">", 16<<20))
		b.hosts[tcpName].mu.Lock()
		c := b.hosts[tcpName].c
		b.hosts[tcpName].mu.Unlock()
		c.d.closeConn() // drover's socket dies; the source daemon carries on
		d := waitDone(ev, 12, 90*time.Second)
		Expect(d.Outcome).To(Equal(cluster.OutcomeCompleted), d.Reason)
		GinkgoWriter.Printf("followed after reconnecting: downtime %s, %d MiB, %d rounds\n", d.Downtime, d.Bytes>>20, d.Rounds)
		expectAlive(tcp2Name, g.name, was)
		removeGuest(lab3, g.name)
	})

	// The spec starts from hosts without its guest. Its disk lives on
	// storage every host sees (the lab's shared directory, which the host
	// image lists in qemu.conf's shared_filesystems: without it every
	// migration of the disk is "unsafe").
	It("pins a guest with a local disk, and moves it once its storage is declared shared", func() {
		removeGuest(lab1, "drdk1")
		removeGuest(lab3, "drdk1")
		DeferCleanup(func() { removeGuest(lab1, "drdk1"); removeGuest(lab3, "drdk1") })
		dir := containerlab.SharedDirInHost
		img := dir + "/drdk1.qcow2"
		out, err := onHost(tcpName, "qemu-img", "create", "-q", "-f", "qcow2", img, "16M")
		Expect(err).NotTo(HaveOccurred(), out)
		DeferCleanup(func() { _, _ = onHost(tcpName, "rm", "-f", img) })
		g := guest{name: "drdk1", mac: "52:54:00:dd:0c:01", disk: img}
		startGuest(g, lab1, lab1, lab3)

		b := newLabBackend(labConfig(lab1, lab3))
		ev := &events{}
		b.Subscribe(ev.add)
		snap, err := b.Snapshot(context.Background())
		Expect(err).NotTo(HaveOccurred())
		Expect(snap.VM(g.name).Pinned).To(ContainSubstring("local file disk vda (" + img + ")"))
		Expect(b.Apply(context.Background(), migrateCmd(13, g.name, tcpName, tcp2Name, cluster.TransportTCP, cluster.MigrationOptions{}))).To(Succeed())
		d := waitDone(ev, 13, 30*time.Second)
		Expect(d.Outcome).To(Equal(cluster.OutcomeRejected))
		Expect(d.Reason).To(ContainSubstring("not movable"))

		cfg := labConfig(lab1, lab3)
		cfg.SharedPaths = []string{dir}
		shared := newLabBackend(cfg)
		ev2 := &events{}
		shared.Subscribe(ev2.add)
		snap, err = shared.Snapshot(context.Background())
		Expect(err).NotTo(HaveOccurred())
		Expect(snap.VM(g.name).Pinned).To(BeEmpty())
		was := lastBeat(tcpName, g.name)
		Expect(shared.Apply(context.Background(), migrateCmd(14, g.name, tcpName, tcp2Name, cluster.TransportTCP, cluster.MigrationOptions{}))).To(Succeed())
		d = waitDone(ev2, 14, 90*time.Second)
		Expect(d.Outcome).To(Equal(cluster.OutcomeCompleted), d.Reason)
		expectAlive(tcp2Name, g.name, was)
	})

	It("reconnects to a host whose daemon restarted", func() {
		b := newLabBackend(labConfig(lab1, lab3))
		_, err := b.Snapshot(context.Background())
		Expect(err).NotTo(HaveOccurred())
		old := b.hosts[tcpName].c
		Expect(old).NotTo(BeNil())
		old.d.closeConn() // the socket dies under go-libvirt, as when a daemon restarts
		Eventually(old.Disconnected()).WithTimeout(5 * time.Second).Should(BeClosed())
		_, err = b.Snapshot(context.Background())
		Expect(err).NotTo(HaveOccurred())
		Expect(b.hosts[tcpName].c).NotTo(BeIdenticalTo(old))
	})

	It("leaves the guest running on its source when the destination host is killed mid-migration", func() {
		g := guest{name: "drkill1", mac: "52:54:00:dd:08:01", dirty: "8MiB/s"}
		b, ev, was := migrateFromLab1(g, 8, cluster.MigrationOptions{Bandwidth: 1 << 20})
		Eventually(func() int64 { p, _ := ev.progressed(8); return p.Sent }).WithTimeout(30 * time.Second).Should(BeNumerically(">", 1<<20))
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// The whole destination host dies: its daemon and the QEMU that
		// was receiving the guest.
		Expect(lab.Kill(ctx, tcp2Name)).To(Succeed())
		restarted := false
		// Other specs need the host back, whatever this one finds.
		DeferCleanup(func(ctx SpecContext) {
			if !restarted {
				Expect(lab.Restart(ctx, tcp2Name)).To(Succeed())
			}
		}, NodeTimeout(2*time.Minute))
		d := waitDone(ev, 8, 60*time.Second)
		Expect(d.Outcome).To(Equal(cluster.OutcomeFailed), d.Reason)
		Expect(d.Lost).To(BeFalse())
		GinkgoWriter.Printf("destination killed: %s\n", d.Reason)
		c := dialLab(tcpName, Options{Transport: TCP, Address: tcpIP})
		inv := inventory(c)
		v := findVM(inv, g.name)
		Expect(v).NotTo(BeNil())
		Expect(v.State).To(Equal(stateRunning))
		expectAlive(tcpName, g.name, was)
		removeGuest(lab1, g.name)

		// The same Backend finds the destination unreachable while it is
		// down, and reconnects by itself once it is back.
		_, err := b.Snapshot(context.Background())
		Expect(err).To(MatchError(cluster.ErrHostUnreachable))
		Expect(lab.Restart(ctx, tcp2Name)).To(Succeed())
		restarted = true
		back := time.Now()
		Eventually(func() error { _, err := b.Snapshot(context.Background()); return err }).
			WithTimeout(60 * time.Second).WithPolling(time.Second).Should(Succeed())
		GinkgoWriter.Printf("reconnected to %s %s after it restarted\n", tcp2Name, time.Since(back).Round(100*time.Millisecond))
	})
})

// labHarness runs the conformance specs on real daemons in real time.
type labHarness struct {
	b  *Backend
	fx backendtest.Fixture
}

func (h *labHarness) Backend() backend.Backend     { return h.b }
func (h *labHarness) Fixture() backendtest.Fixture { return h.fx }
func (h *labHarness) Wait(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond != nil && cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var conformanceMu sync.Mutex
