// Package containerlab runs a lab of real libvirt hosts as Docker
// containers (testcontainers-go): one unprivileged container per host, with
// Docker's default capabilities and NET_ADMIN (for tc), on a network of its
// own inside 198.18.0.0/15, each with a fixed address, a hostname, a zone
// and a rack. Secured hosts get certificates from the lab's CA (one may get
// them from a foreign CA, for refusal tests); the lab writes the inventory
// that drover's commands and the suites read. The image comes from
// e2e/container/build-image.sh.
//
// Containers and the network carry the label drover.lab=NAME, so that a
// later process (drover-lab status, down) finds them without a state file.
package containerlab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	mnetwork "github.com/moby/moby/api/types/network"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/droverlab/drover/backend/pki"
)

// Labels on every container and network of a lab.
const (
	LabelLab       = "drover.lab"
	LabelHost      = "drover.lab.host"
	LabelAddress   = "drover.lab.address"
	LabelTransport = "drover.lab.transport"
	LabelZone      = "drover.lab.zone"
	LabelRack      = "drover.lab.rack"
)

// Config says what lab to start. Zero fields take the defaults.
type Config struct {
	// Name names the lab (label value, container name prefix); "drover".
	Name string
	// Image is the host image (build-image.sh prints it). Required.
	Image string
	// Hosts is how many hosts (h1..hN); Secured of them, the last ones,
	// are TLS hosts. Foreign, Expiring and WrongSAN each add one more TLS
	// host (in that order, after them) whose certificate drover must
	// refuse: from another CA; expiring ExpiringAfter after the lab's
	// certificates are made (libvirtd refuses to start with an expired
	// one, so it must expire under a running daemon); naming another
	// host. They are left out of the inventory.
	Hosts, Secured              int
	Foreign, Expiring, WrongSAN bool
	// Subnet is the lab network, inside 198.18.0.0/15: 198.18.64.0/24.
	// Hosts get .1, .2, ...; the gateway is .254.
	Subnet string
	// Zones and Racks spread the hosts round-robin over z1..zN and, in
	// each zone, its racks zK-r1..zK-rM (default 1 and 1).
	Zones, Racks int
	// Dir holds the lab's PKI and inventory; it is made if missing.
	Dir string
	// GuestDir, when set, is bind-mounted read-only at the same path in
	// every host: a workload guest's kernel and initrd other than the
	// image's own (GuestDirInImage).
	GuestDir string
	// Shared, when set, is a directory of this machine bind-mounted
	// read-write at SharedDirInHost in every host: storage all hosts see
	// (the image's libvirt lists that path in shared_filesystems), as NFS
	// would be in a real cluster.
	Shared string
	// PostCopy lets the hosts run post-copy migrations. QEMU needs
	// userfaultfd(2) for them, which Docker's default seccomp profile
	// refuses and which the kernel grants only with CAP_SYS_PTRACE while
	// vm.unprivileged_userfaultfd is 0: the hosts then run without a
	// seccomp filter and with SYS_PTRACE (still unprivileged). Off, they
	// keep Docker's defaults and a post-copy switch fails with "Userfaultfd
	// not available".
	PostCopy bool
	// KVM passes /dev/kvm to the hosts (only where a guest really boots
	// with it, AutoKVM says where; the default is TCG).
	KVM bool
}

// Host is one lab host.
type Host struct {
	Name, Address, Zone, Rack string
	TLS                       bool
	// CertFault is why drover must refuse the host's certificate (one of
	// the Cert* values; "" for a good host).
	CertFault   string
	NotAfter    time.Time // when its certificate expires
	ContainerID string
}

// Why a lab host's certificate is bad (Host.CertFault).
const (
	CertForeign  = "certificate from a foreign CA"
	CertExpiring = "certificate expires soon after the lab starts"
	CertWrongSAN = "certificate names another host"
)

// ExpiringAfter is how long the Expiring host's certificate lasts: long
// enough for its daemon to start on a loaded machine.
const ExpiringAfter = 75 * time.Second

// Lab is a running lab.
type Lab struct {
	Name    string
	Dir     string
	Hosts   []Host
	Network string // the Docker network's name
	// KVM is whether the hosts have /dev/kvm: guests are then to be
	// started with libvirt.Workload.KVM.
	KVM    bool
	ctrs   map[string]testcontainers.Container
	docker *testcontainers.DockerClient
	net    *testcontainers.DockerNetwork
}

// GuestDirInImage is where the host image keeps the workload guest
// (e2e/lab/guest with Debian's cloud kernel): the GuestDir of
// libvirt.Workload on a container lab.
const GuestDirInImage = "/usr/share/drover-guest"

// SharedDirInHost is where Config.Shared appears in every host; the host
// image makes the directory and lists it in qemu.conf's
// shared_filesystems (e2e/container/host-entrypoint.sh).
const SharedDirInHost = "/var/tmp/drover-lab-disks"

// Files a lab writes under its Dir.
const (
	InventoryFile = "inventory.yaml"
	PKIDir        = "pki"         // the CA (key included) and clients/drover
	ForeignPKIDir = "pki-foreign" // the foreign CA
	ClientDir     = "pki/clients/drover"
)

func (c *Config) defaults() error {
	if c.Name == "" {
		c.Name = "drover"
	}
	if c.Subnet == "" {
		c.Subnet = "198.18.64.0/24"
	}
	c.Zones, c.Racks = max(c.Zones, 1), max(c.Racks, 1)
	var errs []error
	if c.Image == "" {
		errs = append(errs, errors.New("containerlab: no image (e2e/container/build-image.sh prints one)"))
	}
	if c.Hosts < 1 || c.Hosts > 200 {
		errs = append(errs, fmt.Errorf("containerlab: %d hosts: want 1..200", c.Hosts))
	}
	if c.Secured < 0 || c.Secured > c.Hosts {
		errs = append(errs, fmt.Errorf("containerlab: %d secured of %d hosts", c.Secured, c.Hosts))
	}
	p, err := netip.ParsePrefix(c.Subnet)
	lab := netip.MustParsePrefix("198.18.0.0/15")
	switch {
	case err != nil:
		errs = append(errs, fmt.Errorf("containerlab: subnet: %w", err))
	case !p.Addr().Is4() || p.Bits() > 24 || !lab.Contains(p.Addr()) || p.Bits() < lab.Bits():
		errs = append(errs, fmt.Errorf("containerlab: subnet %s: want a /24 or larger inside %s", c.Subnet, lab))
	}
	if c.Dir == "" {
		errs = append(errs, errors.New("containerlab: no directory for the PKI and inventory"))
	}
	// Docker takes a relative bind source for a volume's name.
	for what, d := range map[string]string{"guest directory": c.GuestDir, "shared directory": c.Shared} {
		if d != "" && !filepath.IsAbs(d) {
			errs = append(errs, fmt.Errorf("containerlab: %s %q: want an absolute path", what, d))
		}
	}
	return errors.Join(errs...)
}

// plan is the hosts a config asks for, addresses and certificates to come.
func (c Config) plan() []Host {
	p := netip.MustParsePrefix(c.Subnet).Masked()
	var faults []string
	for _, f := range []struct {
		on    bool
		fault string
	}{{c.Foreign, CertForeign}, {c.Expiring, CertExpiring}, {c.WrongSAN, CertWrongSAN}} {
		if f.on {
			faults = append(faults, f.fault)
		}
	}
	n := c.Hosts + len(faults)
	hosts := make([]Host, 0, n)
	a := p.Addr()
	for i := range n {
		a = a.Next()
		z := i % c.Zones
		r := (i / c.Zones) % c.Racks
		// Rack names are unique across zones (drover's scenarios say so).
		h := Host{Name: fmt.Sprintf("h%d", i+1), Address: a.String(), Zone: fmt.Sprintf("z%d", z+1), Rack: fmt.Sprintf("z%d-r%d", z+1, r+1)}
		h.TLS = i >= c.Hosts-c.Secured
		if i >= c.Hosts {
			h.TLS, h.CertFault = true, faults[i-c.Hosts]
		}
		hosts = append(hosts, h)
	}
	return hosts
}

// Up starts a lab: its network, the PKI, every host (in parallel), and
// writes the inventory. On failure it removes what it started.
func Up(ctx context.Context, cfg Config) (l *Lab, err error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	for _, d := range []string{cfg.Dir, cfg.Shared} {
		if d == "" {
			continue
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	dc, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return nil, fmt.Errorf("containerlab: docker: %w", err)
	}
	l = &Lab{Name: cfg.Name, Dir: cfg.Dir, Hosts: cfg.plan(), KVM: cfg.KVM, ctrs: map[string]testcontainers.Container{}, docker: dc}
	defer func() {
		if err != nil {
			_ = l.Down(context.WithoutCancel(ctx))
			l = nil
		}
	}()
	if err := Remove(ctx, cfg.Name); err != nil {
		return nil, err
	}
	gw := netip.MustParsePrefix(cfg.Subnet).Masked().Addr()
	for range 254 {
		gw = gw.Next()
	}
	l.net, err = network.New(ctx,
		network.WithLabels(map[string]string{LabelLab: cfg.Name}),
		network.WithIPAM(&mnetwork.IPAM{Config: []mnetwork.IPAMConfig{{Subnet: netip.MustParsePrefix(cfg.Subnet), Gateway: gw}}}))
	if err != nil {
		return nil, fmt.Errorf("containerlab: network %s: %w", cfg.Subnet, err)
	}
	l.Network = l.net.Name
	files, err := l.pki(cfg)
	if err != nil {
		return nil, err
	}
	type started struct {
		h   int
		c   testcontainers.Container
		err error
	}
	ch := make(chan started, len(l.Hosts))
	for i := range l.Hosts {
		go func() {
			c, err := l.start(ctx, cfg, l.Hosts[i], files[l.Hosts[i].Name])
			ch <- started{i, c, err}
		}()
	}
	var errs []error
	for range l.Hosts {
		s := <-ch
		if s.c != nil {
			l.ctrs[l.Hosts[s.h].Name] = s.c
			l.Hosts[s.h].ContainerID = s.c.GetContainerID()
		}
		if s.err != nil {
			errs = append(errs, fmt.Errorf("host %s: %w", l.Hosts[s.h].Name, s.err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(cfg.Dir, InventoryFile), l.Inventory(), 0o644); err != nil {
		return nil, err
	}
	return l, nil
}

// pki makes the lab's CA, drover's client directory, a foreign CA when
// asked, and each secured host's /etc/pki files.
func (l *Lab) pki(cfg Config) (map[string][]testcontainers.ContainerFile, error) {
	now := time.Now()
	caDir := filepath.Join(cfg.Dir, PKIDir)
	ca, err := pki.LoadCA(caDir)
	if err != nil {
		if ca, err = pki.NewCA("drover lab "+cfg.Name, 30*24*time.Hour, now.Add(-time.Hour)); err != nil {
			return nil, err
		}
		if err := ca.Save(caDir); err != nil {
			return nil, err
		}
	}
	cl, err := ca.IssueClient("drover", 30*24*time.Hour, now.Add(-time.Hour))
	if err != nil {
		return nil, err
	}
	if err := pki.WriteClientLayout(filepath.Join(cfg.Dir, ClientDir), ca, cl); err != nil {
		return nil, err
	}
	var foreign *pki.CA
	if cfg.Foreign {
		if foreign, err = pki.NewCA("foreign", 30*24*time.Hour, now.Add(-time.Hour)); err != nil {
			return nil, err
		}
		if err := foreign.Save(filepath.Join(cfg.Dir, ForeignPKIDir)); err != nil {
			return nil, err
		}
	}
	out := map[string][]testcontainers.ContainerFile{}
	for i := range l.Hosts {
		h := &l.Hosts[i]
		if !h.TLS {
			continue
		}
		issuer := ca
		spec := pki.HostSpec{Name: h.Name, IPs: []net.IP{netip.MustParseAddr(h.Address).AsSlice()}}
		from := now.Add(-time.Hour)
		switch h.CertFault {
		case CertForeign:
			issuer = foreign
		case CertExpiring:
			from, spec.ValidFor = now, ExpiringAfter
		case CertWrongSAN:
			// The name and address of a host that is not there: the
			// subnet's .250.
			other := netip.MustParsePrefix(cfg.Subnet).Masked().Addr()
			for range 250 {
				other = other.Next()
			}
			spec = pki.HostSpec{Name: "elsewhere.invalid", IPs: []net.IP{other.AsSlice()}}
		}
		hc, err := issuer.IssueHost(spec, from)
		if err != nil {
			return nil, err
		}
		h.NotAfter = hc.Cert.NotAfter
		root, err := os.MkdirTemp("", "drover-lab-pki-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(root)
		if err := pki.WriteHostLayout(root, issuer, hc, pki.LayoutOptions{}); err != nil {
			return nil, err
		}
		for _, p := range []string{pki.LibvirtCACert, pki.LibvirtServerCert, pki.LibvirtServerKey, pki.LibvirtClientCert,
			pki.LibvirtClientKey, pki.QEMUCACert, pki.QEMUServerCert, pki.QEMUServerKey, pki.QEMUClientCert, pki.QEMUClientKey} {
			b, err := os.ReadFile(filepath.Join(root, p))
			if err != nil {
				return nil, err
			}
			mode := int64(0o644)
			if strings.Contains(p, "key") {
				mode = 0o600
			}
			out[h.Name] = append(out[h.Name], testcontainers.ContainerFile{
				Reader: strings.NewReader(string(b)), ContainerFilePath: "/" + p, FileMode: mode})
		}
	}
	return out, nil
}

// endpoint is a host's place on the lab network: its fixed address and its
// name as an alias.
func endpoint(name, addr string) *mnetwork.EndpointSettings {
	return &mnetwork.EndpointSettings{Aliases: []string{name},
		IPAMConfig: &mnetwork.EndpointIPAMConfig{IPv4Address: netip.MustParseAddr(addr)}}
}

func (l *Lab) start(ctx context.Context, cfg Config, h Host, files []testcontainers.ContainerFile) (testcontainers.Container, error) {
	transport := "tcp"
	if h.TLS {
		transport = "tls"
	}
	opts := []testcontainers.ContainerCustomizer{
		testcontainers.WithName(cfg.Name + "-" + h.Name),
		testcontainers.WithLabels(map[string]string{LabelLab: cfg.Name, LabelHost: h.Name, LabelAddress: h.Address,
			LabelTransport: transport, LabelZone: h.Zone, LabelRack: h.Rack}),
		testcontainers.WithEnv(map[string]string{"DROVER_TRANSPORT": transport, "DROVER_ADDRESS": h.Address}),
		testcontainers.WithConfigModifier(func(c *container.Config) { c.Hostname = h.Name }),
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			hc.CapAdd = append(hc.CapAdd, "NET_ADMIN")
			if cfg.GuestDir != "" {
				hc.Binds = append(hc.Binds, cfg.GuestDir+":"+cfg.GuestDir+":ro")
			}
			if cfg.PostCopy {
				hc.CapAdd = append(hc.CapAdd, "SYS_PTRACE")
				hc.SecurityOpt = append(hc.SecurityOpt, "seccomp=unconfined")
			}
			if cfg.Shared != "" {
				hc.Binds = append(hc.Binds, cfg.Shared+":"+SharedDirInHost)
			}
			if cfg.KVM {
				hc.Devices = append(hc.Devices, container.DeviceMapping{PathOnHost: "/dev/kvm", PathInContainer: "/dev/kvm", CgroupPermissions: "rwm"})
			}
		}),
		network.WithNetwork([]string{h.Name}, l.net),
		testcontainers.WithEndpointSettingsModifier(func(s map[string]*mnetwork.EndpointSettings) {
			s[l.net.Name] = endpoint(h.Name, h.Address)
		}),
		testcontainers.WithFiles(files...),
		testcontainers.WithWaitStrategyAndDeadline(90*time.Second,
			wait.ForExec([]string{"virsh", "-q", "-c", "qemu:///system", "uri"}).WithPollInterval(300*time.Millisecond)),
	}
	return testcontainers.Run(ctx, cfg.Image, opts...)
}

// AutoKVM is whether a suite's lab should use KVM: where this machine's
// /dev/kvm works (KVMUsable), unless DROVER_LAB_KVM=0 asks for TCG. The
// reason there is none goes to log.
func AutoKVM(log io.Writer) bool {
	if os.Getenv("DROVER_LAB_KVM") == "0" {
		fmt.Fprintln(log, "containerlab: TCG guests (DROVER_LAB_KVM=0)")
		return false
	}
	ok, why := KVMUsable()
	switch {
	case ok:
		fmt.Fprintln(log, "containerlab: KVM guests (/dev/kvm works)")
	case why != nil:
		fmt.Fprintf(log, "containerlab: TCG guests: %v\n", why)
	default:
		fmt.Fprintln(log, "containerlab: TCG guests (no /dev/kvm)")
	}
	return ok
}
