package containers_test

import (
	"context"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/backend/libvirt"
	"github.com/droverlab/drover/e2e/containerlab"
	"github.com/droverlab/drover/scheduler/cluster"
)

// migrateWhole boots g on src and migrates it to dst through drover's
// backend: it must complete, and the guest run on once, on dst, as it was.
// It returns the backend, for further questions.
func migrateWhole(g guest, src, dst string, tr cluster.Transport) *libvirt.Backend {
	GinkgoHelper()
	boot(g, src)
	b := backendFor("")
	ev := subscribe(b)
	was, _ := beat(src, g.name)
	migrate(b, 1, g.name, src, dst, tr, cluster.MigrationOptions{})
	d := ev.done(1, 2*time.Minute)
	Expect(d.Outcome).To(Equal(cluster.OutcomeCompleted), d.Reason)
	GinkgoWriter.Printf("%s: downtime %s, %d MiB, %d rounds\n", tr, d.Downtime, d.Bytes>>20, d.Rounds)
	expectIntact(dst, g.name, was)
	expectOnce(g.name, dst)
	return b
}

var _ = Describe("live migration between container hosts", Label("migration"), func() {
	It("moves a dirtying guest over TCP: it runs on once, on the destination, same MAC, memory intact", func() {
		g := guest{name: "ct-tcp1", mac: "52:54:00:ee:01:01", dirty: 8 << 20}
		b := migrateWhole(g, "h1", "h2", cluster.TransportTCP)
		snap, err := b.Snapshot(context.Background())
		Expect(err).NotTo(HaveOccurred())
		Expect(snap.VM(g.name).MACs).To(Equal([]string{g.mac}))
		// The inventory reads how QEMU runs it from the domain's type.
		Expect(snap.VM(g.name).TCG).To(Equal(!lab.KVM))
	})
})

var _ = Describe("TLS enforcement on container hosts", Label("tls"), func() {
	It("migrates between secured hosts over qemu+tls with QEMU native TLS", func() {
		g := guest{name: "ct-tls1", mac: "52:54:00:ee:02:01", dirty: 4 << 20}
		migrateWhole(g, "h3", "h4", cluster.TransportTLS)
		// QMP is logged: both QEMUs made x509 credentials for the stream.
		for _, h := range []string{"h3", "h4"} {
			log, err := lab.ReadFile(context.Background(), h, "/var/log/libvirt/libvirtd.log")
			Expect(err).NotTo(HaveOccurred())
			Expect(string(log)).To(ContainSubstring(`"qom-type":"tls-creds-x509"`), "no TLS credentials in %s's QMP log", h)
		}
	})

	It("refuses a mixed pair before connecting, and leaves the guest where it was", func() {
		g := guest{name: "ct-mix1", mac: "52:54:00:ee:02:02"}
		boot(g, "h1")
		b := backendFor("")
		ev := subscribe(b)
		was, _ := beat("h1", g.name)
		for i, tr := range []cluster.Transport{cluster.TransportTCP, cluster.TransportTLS} {
			migrate(b, 10+i, g.name, "h1", "h3", tr, cluster.MigrationOptions{})
			d := ev.done(10+i, 30*time.Second)
			Expect(d.Outcome).To(Equal(cluster.OutcomeRejected))
			Expect(d.Reason).To(ContainSubstring("security"))
		}
		expectIntact("h1", g.name, was)
		expectOnce(g.name, "h1")
	})

	// A secured guest's move to a host whose certificate drover cannot
	// accept is refused, and the guest stays where it was.
	DescribeTable("refuses a host whose certificate it cannot accept",
		func(host, why string) {
			h := lab.Host(host)
			Expect(h.CertFault).NotTo(BeEmpty())
			if wait := time.Until(h.NotAfter); wait > 0 && h.CertFault == containerlab.CertExpiring {
				GinkgoWriter.Printf("waiting %s for %s's certificate to expire\n", wait.Round(time.Second), host)
				time.Sleep(wait + time.Second)
			}
			g := guest{name: "ct-cert-" + host, mac: "52:54:00:ee:02:1" + host[1:]}
			boot(g, "h3")
			was, _ := beat("h3", g.name)
			b := backendFor("", h.Line())
			_, err := b.Snapshot(context.Background())
			Expect(err).To(HaveOccurred())
			Expect(err.Error()).To(ContainSubstring(host))
			Expect(strings.ToLower(err.Error())).To(ContainSubstring(why))
			ev := subscribe(b)
			migrate(b, 20, g.name, "h3", host, cluster.TransportTLS, cluster.MigrationOptions{})
			d := ev.done(20, 30*time.Second)
			Expect(d.Outcome).To(Equal(cluster.OutcomeRejected), d.Reason)
			GinkgoWriter.Printf("%s (%s): %s\n", host, h.CertFault, d.Reason)
			expectIntact("h3", g.name, was)
			expectOnce(g.name, "h3")
		},
		Entry("from a CA drover does not trust", "h5", "certificate signed by unknown authority"),
		Entry("expired", "h6", "expired"),
		Entry("naming another host", "h7", "198.18.65.7"),
	)

	It("leaves unsecured hosts out of plans under tls: required", func(ctx SpecContext) {
		g := guest{name: "ct-req1", mac: "52:54:00:ee:02:03"}
		boot(g, "h1")
		inv := inventory("tls: required\n")
		out, code := droverCmd(ctx, "plan", "--inventory", inv, "--policy", "evacuate", "--hosts", "h1")
		Expect(code).To(Equal(3), "exit 3: a move the plan could not place")
		Expect(out).To(ContainSubstring("evacuate: 0 moves"))
		Expect(out).To(MatchRegexp(`ct-req1 on h1: no feasible host: .*refused by tls`))
		// And a secured host's guest goes to the other secured host.
		s := guest{name: "ct-req2", mac: "52:54:00:ee:02:04"}
		boot(s, "h3")
		out, code = droverCmd(ctx, "plan", "--inventory", inv, "--policy", "evacuate", "--hosts", "h3")
		Expect(code).To(BeZero(), out)
		Expect(out).To(MatchRegexp(`ct-req2\s+h3\s+h4\s+tls`))
	})
})
