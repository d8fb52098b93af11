package libvirt

import (
	"context"
	"crypto/tls"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/backend/pki"
	"github.com/droverlab/drover/e2e/containerlab"
	"github.com/droverlab/drover/scheduler/cluster"
)

// The specs in this file run against real libvirtd daemons in Docker
// containers (e2e/containerlab, the same lab as e2e/containers): they need
// a Docker engine and the host image (e2e/container/build-image.sh, or
// DROVER_LAB_IMAGE), and run only with DROVER_CONTAINERS=1.
func TestLab(t *testing.T) {
	if os.Getenv("DROVER_CONTAINERS") != "1" {
		t.Skip("real-daemon specs skipped: set DROVER_CONTAINERS=1 to run them (needs a Docker engine; see e2e/container)")
	}
	if os.Getenv("TESTCONTAINERS_RYUK_DISABLED") == "" {
		os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true") // the reaper's image cannot be pulled everywhere
	}
	RegisterFailHandler(Fail)
	RunSpecs(t, "libvirt lab")
}

// The lab: h1 and h2 unsecured (tcp), h3 and h4 secured by the lab's CA,
// h5 secured by a foreign CA, on a network of their own. Addresses follow
// from the subnet (containerlab gives host i the address .i).
const (
	labName   = "drover-libvirt"
	labSubnet = "198.18.66.0/24"
	guestDir  = containerlab.GuestDirInImage
	tcpName   = "h1"
	tcpIP     = "198.18.66.1"
	tlsName   = "h3"
	tlsIP     = "198.18.66.3"
	guestName = "drgo1"
	guestMAC  = "52:54:00:dd:00:01"
	guestMiB  = 160
)

var (
	// labDir holds the lab's PKI; fixed, so that table entries built
	// before the suite starts can name drover's client directory.
	labDir = filepath.Join(os.TempDir(), labName)
	labPKI = filepath.Join(labDir, containerlab.ClientDir)
	// sharedDir is storage every host sees, at containerlab.SharedDirInHost.
	sharedDir = filepath.Join(labDir, "shared")
	lab       *containerlab.Lab
)

var _ = BeforeSuite(func(ctx SpecContext) {
	image := os.Getenv("DROVER_LAB_IMAGE")
	if image == "" {
		cmd := exec.CommandContext(ctx, "../../e2e/container/build-image.sh")
		cmd.Stderr = GinkgoWriter
		out, err := cmd.Output()
		Expect(err).NotTo(HaveOccurred(), "build-image.sh")
		image = strings.TrimSpace(string(out))
	}
	Expect(os.RemoveAll(labDir)).To(Succeed())
	start := time.Now()
	var err error
	lab, err = containerlab.Up(ctx, containerlab.Config{Name: labName, Image: image, Hosts: 4, Secured: 2, Foreign: true,
		Subnet: labSubnet, Dir: labDir, Shared: sharedDir, PostCopy: true, KVM: containerlab.AutoKVM(GinkgoWriter)})
	Expect(err).NotTo(HaveOccurred())
	// The names and addresses the specs use are the lab's.
	for _, h := range []labHost{lab1, lab2, lab3, lab4, lab5} {
		got := lab.Host(h.name)
		Expect(got).NotTo(BeNil(), h.name)
		Expect(got.Address).To(Equal(h.ip), h.name)
		Expect(got.TLS).To(Equal(h.tr == TLS), h.name)
	}
	GinkgoWriter.Printf("lab up in %s\n", time.Since(start).Round(100*time.Millisecond))
}, NodeTimeout(10*time.Minute))

// AfterSuite runs after failures and interrupts too.
var _ = AfterSuite(func(ctx SpecContext) {
	if lab != nil {
		Expect(lab.Down(ctx)).To(Succeed())
	}
})

// onHost runs cmd in a lab host and returns its output.
func onHost(host string, cmd ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return lab.Exec(ctx, host, cmd...)
}

// hostFile reads a file inside a lab host.
func hostFile(host, path string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return lab.ReadFile(ctx, host, path)
}

// labGuest is the lab guest (see e2e/lab/README.md): the workload guest
// writing 4 MiB/s within 16 MiB, with its serial console to a file the
// specs read on each host (serialPath), no balloon and one user-mode NIC
// with a fixed MAC (none when mac is empty).
func labGuest(name string, mib int, mac string) Workload {
	return Workload{Name: name, MemoryMiB: mib, WSS: 16 << 20, Dirty: 4 << 20, GuestDir: guestDir,
		SerialFile: serialPath(name), NoBalloon: true, MAC: mac, KVM: lab != nil && lab.KVM}
}

// guestXML is w's domain.
func guestXML(w Workload) string {
	GinkgoHelper()
	s, err := w.XML()
	Expect(err).NotTo(HaveOccurred())
	return s
}

func dialLab(name string, opts Options) *Conn {
	GinkgoHelper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c, err := Dial(ctx, name, opts)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() { Expect(c.Close()).To(Succeed()) })
	return c
}

func inventory(c *Conn) *Inventory {
	GinkgoHelper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	inv, err := c.Inventory(ctx, InventoryOptions{})
	Expect(err).NotTo(HaveOccurred())
	return inv
}

func findVM(inv *Inventory, name string) *VM {
	for i := range inv.VMs {
		if inv.VMs[i].Name == name {
			return &inv.VMs[i]
		}
	}
	return nil
}

var _ = Describe("a tcp lab host", func() {
	var c *Conn

	BeforeEach(func() {
		c = dialLab(tcpName, Options{Transport: TCP, Address: tcpIP})
	})

	It("reports its CPUs, memory and CPU model", func() {
		inv := inventory(c)
		Expect(inv.Host.Name).To(Equal(tcpName))
		Expect(inv.Host.CPUs).To(BeNumerically(">", 0))
		Expect(inv.Host.Memory).To(BeNumerically(">", 256<<20))
		Expect(inv.Host.CPUModel).NotTo(BeEmpty())
		Expect(inv.UUID).NotTo(BeEmpty())
		Expect(findVM(inv, guestName)).To(BeNil())

		// the same figures as virsh gives
		out, err := onHost(tcpName, "virsh", "-c", "qemu:///system", "capabilities")
		Expect(err).NotTo(HaveOccurred())
		caps, err := parseCapabilities(out)
		Expect(err).NotTo(HaveOccurred())
		Expect(inv.Host.CPUModel).To(Equal(cpuModel(caps)))
		Expect(inv.UUID).To(Equal(caps.Host.UUID))
		GinkgoWriter.Printf("host %s: %d CPUs, %d MiB, model %s, uuid %s\n",
			inv.Host.Name, inv.Host.CPUs, inv.Host.Memory>>20, inv.Host.CPUModel, inv.UUID)
	})

	It("lists a running persistent guest with its vCPUs, memory and MAC", func() {
		l := c.Libvirt()
		dom, err := l.DomainDefineXML(guestXML(labGuest(guestName, guestMiB, guestMAC)))
		Expect(err).NotTo(HaveOccurred())
		Expect(l.DomainCreate(dom)).To(Succeed())
		DeferCleanup(func() {
			_ = l.DomainDestroy(dom)
			_ = l.DomainUndefine(dom)
		})

		inv := inventory(c)
		vm := findVM(inv, guestName)
		Expect(vm).NotTo(BeNil(), "inventory %+v", inv.VMs)
		Expect(vm.Host).To(Equal(tcpName))
		Expect(vm.VCPUs).To(Equal(1))
		Expect(vm.Memory).To(Equal(int64(guestMiB) << 20))
		Expect(vm.MACs).To(Equal([]string{guestMAC}))
		Expect(vm.Persistent).To(BeTrue())
		Expect(vm.Disks).To(BeEmpty())
		Expect(vm.Movable).To(BeTrue())
		Expect(vm.UUID).NotTo(BeEmpty())
		GinkgoWriter.Printf("vm %+v\n", *vm)
	})

	It("lists a transient guest as not persistent", func() {
		l := c.Libvirt()
		dom, err := l.DomainCreateXML(guestXML(labGuest("drgo2", 96, "")), 0)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { _ = l.DomainDestroy(dom) })

		vm := findVM(inventory(c), "drgo2")
		Expect(vm).NotTo(BeNil())
		Expect(vm.Persistent).To(BeFalse())
		Expect(vm.MACs).To(BeEmpty())
	})

	It("answers ErrNotFound for an unknown domain", func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := call(ctx, c, func() (golibvirt.Domain, error) { return c.Libvirt().DomainLookupByName("nosuchvm") })
		Expect(err).To(MatchError(cluster.ErrNotFound))
		Expect(golibvirt.IsNotFound(err)).To(BeTrue())
	})

	It("refuses qemu+tls: the host listens on tcp only", func() {
		_, err := Dial(context.Background(), tcpName, Options{Transport: TLS, Address: tcpIP, PKIDir: labPKI, Timeout: 5 * time.Second})
		Expect(err).To(MatchError(cluster.ErrHostUnreachable))
	})
})

var _ = Describe("an address where no host runs", func() {
	It("is unreachable within the timeout", func() {
		start := time.Now()
		_, err := Dial(context.Background(), "h9", Options{Transport: TCP, Address: "198.18.66.9", Timeout: 2 * time.Second})
		Expect(err).To(MatchError(cluster.ErrHostUnreachable))
		Expect(time.Since(start)).To(BeNumerically("<", 5*time.Second))
	})
})

var _ = Describe("a tls lab host", func() {
	It("accepts drover's client certificate and verifies the host's", func() {
		c := dialLab(tlsName, Options{Transport: TLS, Address: tlsIP, PKIDir: labPKI})
		inv := inventory(c)
		Expect(inv.Host.Name).To(Equal(tlsName))
		Expect(inv.Host.CPUs).To(BeNumerically(">", 0))
		Expect(inv.Host.CPUModel).NotTo(BeEmpty())
	})

	It("refuses the host when drover trusts another CA", func() {
		_, err := Dial(context.Background(), tlsName, Options{Transport: TLS, Address: tlsIP, PKIDir: foreignCADir(), Timeout: 5 * time.Second})
		var verr *tls.CertificateVerificationError
		Expect(errors.As(err, &verr)).To(BeTrue(), "err = %v", err)
		Expect(err).NotTo(MatchError(cluster.ErrHostUnreachable))
	})

	It("is refused by the host when drover's client certificate is from another CA", func() {
		ca, err := pki.NewCA("foreign", 24*time.Hour, time.Now().Add(-time.Hour))
		Expect(err).NotTo(HaveOccurred())
		cl, err := ca.IssueClient("drover", time.Hour, time.Now().Add(-time.Minute))
		Expect(err).NotTo(HaveOccurred())
		dir := GinkgoT().TempDir()
		Expect(os.WriteFile(filepath.Join(dir, pki.ClientCertFile), cl.CertPEM, 0o644)).To(Succeed())
		Expect(os.WriteFile(filepath.Join(dir, pki.ClientKeyFile), cl.KeyPEM, 0o600)).To(Succeed())
		caPEM, err := os.ReadFile(filepath.Join(labPKI, pki.ClientCACertFile))
		Expect(err).NotTo(HaveOccurred())
		Expect(os.WriteFile(filepath.Join(dir, pki.ClientCACertFile), caPEM, 0o644)).To(Succeed())
		_, err = Dial(context.Background(), tlsName, Options{Transport: TLS, Address: tlsIP, PKIDir: dir, Timeout: 5 * time.Second})
		Expect(err).To(MatchError(ContainSubstring("refused drover's client certificate")))
		Expect(err).NotTo(MatchError(cluster.ErrHostUnreachable))
	})

	It("connects to a host it cannot verify only with InsecureSkipVerify", func() {
		c := dialLab(tlsName, Options{Transport: TLS, Address: tlsIP, PKIDir: foreignCADir(), InsecureSkipVerify: true})
		Expect(inventory(c).Host.Name).To(Equal(tlsName))
	})
})

// foreignCADir is drover's lab client certificate and key with the CA
// certificate of an unrelated CA: the host's certificate cannot verify.
func foreignCADir() string {
	GinkgoHelper()
	ca, err := pki.NewCA("foreign", 24*time.Hour, time.Now().Add(-time.Hour))
	Expect(err).NotTo(HaveOccurred())
	dir := GinkgoT().TempDir()
	for _, f := range []string{pki.ClientCertFile, pki.ClientKeyFile} {
		b, err := os.ReadFile(filepath.Join(labPKI, f))
		Expect(err).NotTo(HaveOccurred())
		Expect(os.WriteFile(filepath.Join(dir, f), b, 0o600)).To(Succeed())
	}
	Expect(os.WriteFile(filepath.Join(dir, pki.ClientCACertFile), ca.CertPEM, 0o644)).To(Succeed())
	return dir
}
