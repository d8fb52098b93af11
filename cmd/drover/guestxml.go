package main

import (
	"fmt"
	"math"

	"github.com/spf13/cobra"

	"github.com/droverlab/drover/backend/libvirt"
	"github.com/droverlab/drover/units"
)

// guestXMLCmd prints the workload guest's domain XML, the one drover
// calibrate boots, for the lab scripts (e2e/lab/heartbeat.sh), so that the
// guest is written in one place: libvirt.Workload.
func guestXMLCmd() *cobra.Command {
	var (
		w          libvirt.Workload
		wss, dirty string
	)
	c := &cobra.Command{
		Use:   "guest-xml --name N --memory MiB --wss SIZE --dirty RATE --guest-dir DIR [--kvm]",
		Short: "Print the domain XML of the lab's workload guest (e2e/lab/guest)",
		Long: `guest-xml prints on stdout the libvirt domain XML of the lab's workload
guest (e2e/lab/guest, built by e2e/lab/build-guest.sh): a kernel and an
initramfs from --guest-dir and no disk, which keeps a working set of
--wss bytes, writes --dirty bytes/s into it and prints a heartbeat on
its serial console. It is the guest drover calibrate boots; the lab
scripts define it with virsh.`,
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := units.ParseSize(wss)
			if err != nil {
				return fmt.Errorf("--wss: %w", err)
			}
			r, err := units.ParseRate(dirty, units.PageSize)
			if err != nil {
				return fmt.Errorf("--dirty: %w", err)
			}
			if r > math.MaxInt64 {
				return fmt.Errorf("--dirty: %s is too large", dirty)
			}
			w.WSS, w.Dirty = n, int64(math.Round(r))
			x, err := w.XML()
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), x)
			return err
		},
	}
	f := c.Flags()
	f.StringVar(&w.Name, "name", "", "the domain's name")
	f.IntVar(&w.MemoryMiB, "memory", 0, "the guest's memory in MiB")
	f.StringVar(&wss, "wss", "", "its working set, a size (64MiB, or bytes)")
	f.StringVar(&dirty, "dirty", "", "the rate it writes into its working set (16MiB/s, or bytes/s; 0: idle)")
	f.StringVar(&w.GuestDir, "guest-dir", "", "the directory of vmlinuz and initrd.gz, the same on every host")
	f.BoolVar(&w.KVM, "kvm", false, "hardware virtualization (TCG without)")
	f.StringVar(&w.SerialFile, "serial-file", "", "send the serial console to this file on the host instead of a pty (logged to /var/log/libvirt/qemu/NAME-serial.log)")
	f.BoolVar(&w.NoBalloon, "no-balloon", false, "no virtio-balloon")
	f.StringVar(&w.MAC, "mac", "", "one user-mode virtio NIC with this MAC address")
	for _, n := range []string{"name", "memory", "wss", "dirty", "guest-dir"} {
		_ = c.MarkFlagRequired(n)
	}
	return c
}
