package libvirt

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"libvirt.org/go/libvirtxml"

	"github.com/droverlab/drover/calibrate/grid"
)

// What drover calibrate --inventory does to a host besides migrating:
// boot the workload guest, read its console over libvirt's RPC (in clear
// and over TLS), remove it.
var _ = Describe("the workload guest", func() {
	DescribeTable("boots and beats on a console read over libvirt's RPC",
		func(name string, opts Options) {
			c := dialLab(name, opts)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			w := Workload{Name: "drwork-" + name, MemoryMiB: 160, WSS: 16 << 20, Dirty: 4 << 20, GuestDir: guestDir, KVM: lab.KVM}
			xml, err := w.XML()
			Expect(err).NotTo(HaveOccurred())
			Expect(c.Boot(ctx, xml)).To(Succeed())
			DeferCleanup(func() { _ = c.RemoveWorkload(context.Background(), w.Name) })

			// The console takes a connection of its own; closing it ends
			// the stream.
			cc := dialLab(name, opts)
			var con grid.Console
			ended := make(chan error, 1)
			go func() { ended <- cc.Console(w.Name, &con) }()
			Eventually(con.Beats, 60*time.Second, 200*time.Millisecond).Should(BeNumerically(">=", 6))
			first, _ := con.First()
			last, _ := con.Last()
			Expect(last.Boot).To(Equal(first.Boot))
			Expect(last.Seq).To(BeNumerically(">", first.Seq))
			Expect(con.Trouble()).To(Equal("guest rebooted"), "the console was open from the boot: GUEST START is in it")
			Expect(con.Rate(7)).To(BeNumerically("~", 4<<20, 1<<20), "the guest's own rate")

			Expect(c.RemoveWorkload(ctx, w.Name)).To(Succeed())
			Eventually(ended, 10*time.Second).Should(Receive(), "the stream ends with the guest")
			Expect(c.RemoveWorkload(ctx, w.Name)).To(Succeed(), "removing a guest that is not there")
		},
		Entry("tcp", tcpName, Options{Transport: TCP, Address: tcpIP}),
		Entry("tls", tlsName, Options{Transport: TLS, Address: tlsIP, PKIDir: labPKI}),
	)

	It("leaves alone a domain of the same name that is not a workload guest", func() {
		c := dialLab(tcpName, Options{Transport: TCP, Address: tcpIP})
		l := c.Libvirt()
		name := "drwork-foreign"
		var d libvirtxml.Domain
		Expect(d.Unmarshal(guestXML(labGuest(name, 128, "")))).To(Succeed())
		d.Description = "someone else's guest"
		x, err := d.Marshal()
		Expect(err).NotTo(HaveOccurred())
		dom, err := l.DomainDefineXML(x)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { _ = l.DomainUndefine(dom) })
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		Expect(c.RemoveWorkload(ctx, name)).To(MatchError(ContainSubstring("not a drover workload guest")))
		_, err = l.DomainLookupByName(name)
		Expect(err).NotTo(HaveOccurred(), "still defined")
	})

	It("says whether the host can run KVM guests, as the host's /dev/kvm says", func() {
		c := dialLab(tcpName, Options{Transport: TCP, Address: tcpIP})
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		ok, err := c.KVM(ctx)
		Expect(err).NotTo(HaveOccurred())
		// The lab passes no /dev/kvm to its hosts (TCG guests).
		_, statErr := onHost(tcpName, "test", "-e", "/dev/kvm")
		Expect(ok).To(Equal(statErr == nil))
	})

	It("refuses a workload without a guest directory", func() {
		_, err := Workload{Name: "x", MemoryMiB: 128}.XML()
		Expect(err).To(MatchError(ContainSubstring("guest directory")))
	})
})
