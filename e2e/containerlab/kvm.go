package containerlab

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// kvmAPIVersion is the only KVM API Linux has had since 2.6.22; a device
// that answers anything else is not one QEMU can use.
const kvmAPIVersion = 12

// KVMUsable says whether this machine's /dev/kvm works for the lab: it
// exists, opens read-write, and answers KVM_GET_API_VERSION as QEMU
// expects. A runner with KVM then runs the lab's guests with it (Config.KVM
// and libvirt.Workload.KVM); everywhere else they run under TCG. The error
// says why not, for the suite's log; a missing device is no error.
func KVMUsable() (bool, error) {
	return kvmUsable("/dev/kvm")
}

func kvmUsable(dev string) (bool, error) {
	f, err := os.OpenFile(dev, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("containerlab: %s: %w", dev, err)
	}
	defer f.Close()
	// KVM_GET_API_VERSION is _IO(KVMIO, 0x00).
	v, err := unix.IoctlRetInt(int(f.Fd()), 0xAE00)
	if err != nil {
		return false, fmt.Errorf("containerlab: %s: KVM_GET_API_VERSION: %w", dev, err)
	}
	if v != kvmAPIVersion {
		return false, fmt.Errorf("containerlab: %s: KVM API version %d, want %d", dev, v, kvmAPIVersion)
	}
	return true, nil
}
