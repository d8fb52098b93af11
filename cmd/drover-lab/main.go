// Command drover-lab starts, lists and removes a lab of real libvirt hosts
// in Docker containers, for trying drover's operator path on a laptop and
// for CI pipelines. It is a binary of its own so that drover itself does
// not carry a Docker client.
//
//	drover-lab up --hosts 3 --secured 2     # h1 (tcp), h2 and h3 (tls); prints the inventory's path
//	drover plan --inventory /var/tmp/drover-lab-drover/inventory.yaml --policy evacuate --hosts h1
//	drover-lab status
//	drover-lab down
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/droverlab/drover/e2e/containerlab"
)

func main() {
	// The lab outlives this process: no reaper (which also needs a pulled image).
	if os.Getenv("TESTCONTAINERS_RYUK_DISABLED") == "" {
		os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := root().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "drover-lab:", err)
		os.Exit(1)
	}
}

func root() *cobra.Command {
	var name string
	r := &cobra.Command{
		Use:           "drover-lab",
		Short:         "A lab of libvirt hosts in Docker containers",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	r.PersistentFlags().StringVar(&name, "name", "drover", "the lab's name (containers are NAME-h1, NAME-h2, ...)")
	r.AddCommand(upCmd(&name), downCmd(&name), statusCmd(&name))
	return r
}

func upCmd(name *string) *cobra.Command {
	cfg := containerlab.Config{}
	var dir, image, guestDir, kvm string
	c := &cobra.Command{
		Use:   "up",
		Short: "Start the lab and write its inventory (a lab of the same name is replaced)",
		Long: "up builds the host image if needed (e2e/container/build-image.sh, from the repository's root; or\n" +
			"--image), starts --hosts hosts on a Docker network of their own (the last --secured of them TLS,\n" +
			"certificates from the lab's CA; --foreign adds one whose CA drover does not trust), and writes\n" +
			"DIR/inventory.yaml and DIR/pki. Needs a Docker engine; hosts are unprivileged containers.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Name = *name
			if dir == "" {
				dir = filepath.Join(os.TempDir(), "drover-lab-"+cfg.Name)
				if _, err := os.Stat("/var/tmp"); err == nil {
					dir = "/var/tmp/drover-lab-" + cfg.Name
				}
			}
			cfg.Dir = dir
			if image == "" {
				img, err := buildImage(cmd.Context())
				if err != nil {
					return err
				}
				image = img
			}
			cfg.Image = image
			switch kvm {
			case "on":
				cfg.KVM = true
			case "off":
			case "auto":
				ok, why := containerlab.KVMUsable()
				if why != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "no KVM for the lab: %v\n", why)
				}
				cfg.KVM = ok
			default:
				return fmt.Errorf("--kvm %q: want auto, on or off", kvm)
			}
			if guestDir != "" {
				abs, err := filepath.Abs(guestDir)
				if err != nil {
					return err
				}
				cfg.GuestDir = abs
			}
			start := time.Now()
			l, err := containerlab.Up(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "lab %s up in %s: %d hosts on %s\n", l.Name, time.Since(start).Round(100*time.Millisecond), len(l.Hosts), l.Network)
			printHosts(out, l.Hosts)
			accel := "TCG (no usable /dev/kvm; guests' domain type qemu)"
			if cfg.KVM {
				accel = "KVM (/dev/kvm passed to every host; guests' domain type kvm)"
			}
			fmt.Fprintf(out, "guests:    %s\n", accel)
			inv := filepath.Join(dir, containerlab.InventoryFile)
			gd := containerlab.GuestDirInImage
			if cfg.GuestDir != "" {
				gd = cfg.GuestDir
			}
			kvmFlag := ""
			if cfg.KVM {
				kvmFlag = " --kvm"
			}
			fmt.Fprintf(out, "\ninventory: %s\nguest:     drover guest-xml --name g1 --memory 256 --wss 64MiB --dirty 8MiB/s --guest-dir %s%s >g1.xml\n"+
				"           virsh -c qemu+tcp://%s/system define g1.xml && virsh -c qemu+tcp://%s/system start g1\n"+
				"try:       drover inventory --inventory %s\n           drover plan --inventory %s --policy evacuate --hosts %s\n"+
				"           drover-lab down --name %s\n", inv, gd, kvmFlag, l.Hosts[0].Address, l.Hosts[0].Address, inv, inv, l.Hosts[0].Name, l.Name)
			return nil
		},
	}
	f := c.Flags()
	f.IntVar(&cfg.Hosts, "hosts", 3, "hosts")
	f.IntVar(&cfg.Secured, "secured", 0, "how many of them (the last ones) are TLS hosts")
	f.BoolVar(&cfg.Foreign, "foreign", false, "one more TLS host, its certificate from a CA drover does not trust")
	f.BoolVar(&cfg.Expiring, "expiring", false, "one more TLS host, its certificate expiring "+containerlab.ExpiringAfter.String()+" after it is made")
	f.BoolVar(&cfg.WrongSAN, "wrong-san", false, "one more TLS host, its certificate naming another host")
	f.IntVar(&cfg.Zones, "zones", 1, "zones the hosts are spread over (z1..zN)")
	f.IntVar(&cfg.Racks, "racks", 1, "racks per zone (r1..rM)")
	f.StringVar(&cfg.Subnet, "subnet", "198.18.64.0/24", "the lab network, inside 198.18.0.0/15")
	f.StringVar(&dir, "dir", "", "where the PKI and inventory go (default /var/tmp/drover-lab-NAME)")
	f.StringVar(&image, "image", os.Getenv("DROVER_LAB_IMAGE"), "host image (default: build it with e2e/container/build-image.sh)")
	f.StringVar(&guestDir, "guest-dir", "", "directory with another workload guest's kernel and initrd (e2e/lab/build-guest.sh), mounted in every host (default: the image's own, "+containerlab.GuestDirInImage+")")
	f.BoolVar(&cfg.PostCopy, "postcopy", false, "let the hosts run post-copy migrations (no seccomp filter, SYS_PTRACE: QEMU needs userfaultfd)")
	f.StringVar(&kvm, "kvm", "auto", "pass /dev/kvm to the hosts: auto (when this machine's /dev/kvm answers as QEMU needs), on or off")
	return c
}

// buildImage runs the repository's build-image.sh, found from the working
// directory upwards.
func buildImage(ctx context.Context) (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		script := filepath.Join(dir, "e2e", "container", "build-image.sh")
		if _, err := os.Stat(script); err == nil {
			cmd := exec.CommandContext(ctx, script)
			cmd.Stderr = os.Stderr
			out, err := cmd.Output()
			if err != nil {
				return "", fmt.Errorf("%s: %w", script, err)
			}
			return strings.TrimSpace(string(out)), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no --image, and no e2e/container/build-image.sh here or above to build one: run from drover's repository")
		}
		dir = parent
	}
}

func printHosts(out interface{ Write([]byte) (int, error) }, hosts []containerlab.Host) {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "HOST\tADDRESS\tTRANSPORT\tZONE\tRACK\tNOTE")
	for _, h := range hosts {
		tr, note := "tcp", ""
		if h.TLS {
			tr = "tls"
		}
		note = h.CertFault
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", h.Name, h.Address, tr, h.Zone, h.Rack, note)
	}
	w.Flush()
}

func downCmd(name *string) *cobra.Command {
	return &cobra.Command{
		Use:   "down",
		Short: "Remove the lab's containers and network (its guests go with them)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := containerlab.Remove(cmd.Context(), *name); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "lab %s down\n", *name)
			return nil
		},
	}
}

func statusCmd(name *string) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "List the lab's hosts and their state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := containerlab.List(cmd.Context(), *name)
			if err != nil {
				return err
			}
			if len(st) == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "lab %s: no hosts\n", *name)
				return nil
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "HOST\tADDRESS\tTRANSPORT\tZONE\tRACK\tSTATE")
			for _, s := range st {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", s.Host, s.Address, s.Transport, s.Zone, s.Rack, s.State)
			}
			return w.Flush()
		},
	}
}
