// Command guest is the /init of the lab's test guest: a Linux kernel boots it
// from an initramfs, and it keeps a working set of memory, dirties pages of it
// at a set rate, and prints a heartbeat line on the console every 500 ms:
//
//	HEARTBEAT seq=N boot=<id> uptime=<seconds> dirtied=<bytes> rate=<bytes/s>
//
// boot is fixed for one boot (the kernel's random boot_id), so a reboot shows
// as a new id; seq only grows within one boot. A migration that kept the guest
// alive shows the same boot id with seq continuing.
//
// Kernel command line parameters (sizes accept K, M, G suffixes, powers of 1024):
//
//	drover.wss=64M     working set allocated and touched at start (default 32M)
//	drover.dirty=16M   bytes per second written, one write per 4 KiB page (default 8M; 0 = idle)
//	drover.hb=500ms    heartbeat interval (default 500ms)
//
// It must never exit: it is PID 1.
package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

const page = 4096

func main() {
	mounts()
	out := console()
	loadModules(out)
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(out, "GUEST PANIC %v\n", r)
		}
		for {
			time.Sleep(time.Hour)
		}
	}()

	args := cmdline()
	wss := size(args["drover.wss"], 32<<20)
	rate := size(args["drover.dirty"], 8<<20)
	hb, err := time.ParseDuration(args["drover.hb"])
	if err != nil || hb <= 0 {
		hb = 500 * time.Millisecond
	}
	boot := bootID()
	start := time.Now()

	mem := make([]byte, wss)
	for i := 0; i < len(mem); i += page {
		mem[i] = 1
	}
	fmt.Fprintf(out, "GUEST START boot=%s wss=%d dirty=%d hb=%s\n", boot, wss, rate, hb)

	// Dirty in small ticks so the rate is smooth; the heartbeat goes out on
	// its own schedule from the same loop (no goroutines needed).
	const tick = 20 * time.Millisecond
	pages := int64(len(mem) / page)
	var cursor, dirtied, seq int64
	var gen byte = 2
	nextHB := start.Add(hb)
	lastHB, lastDirtied := start, int64(0)
	due := 0.0
	for {
		if rate > 0 && pages > 0 {
			due += float64(rate) * tick.Seconds() / page
			for ; due >= 1; due-- {
				mem[cursor*page] = gen
				cursor++
				if cursor == pages {
					cursor = 0
					gen++
				}
				dirtied += page
			}
		}
		now := time.Now()
		if !now.Before(nextHB) {
			seq++
			r := float64(dirtied-lastDirtied) / now.Sub(lastHB).Seconds()
			fmt.Fprintf(out, "HEARTBEAT seq=%d boot=%s uptime=%.3f dirtied=%d rate=%.0f\n",
				seq, boot, uptime(now.Sub(start)), dirtied, r)
			lastHB, lastDirtied = now, dirtied
			nextHB = nextHB.Add(hb)
			if now.After(nextHB) { // fell behind (e.g. paused): do not burst
				nextHB = now.Add(hb)
			}
		}
		time.Sleep(tick)
	}
}

// balloonModules are virtio-balloon and what it needs, in load order: with
// the balloon's statistics libvirt reports the guest's free memory, the
// only live figure of how much of it is zero pages that migrate as
// markers. A guest without them (no modules in the initramfs, no balloon
// device) runs as before.
var balloonModules = []string{"virtio_ring", "virtio", "virtio_pci_modern_dev", "virtio_pci_legacy_dev", "virtio_pci", "virtio_balloon"}

// sysFinitModule is finit_module(2) on x86_64, which build-guest.sh builds
// for (the frozen syscall package does not name it).
const sysFinitModule = 313

func loadModules(out *os.File) {
	for _, m := range balloonModules {
		f, err := os.Open("/modules/" + m + ".ko")
		if err != nil {
			return
		}
		params := []byte{0}
		_, _, errno := syscall.Syscall(sysFinitModule, f.Fd(), uintptr(unsafe.Pointer(&params[0])), 0)
		f.Close()
		if errno != 0 && errno != syscall.EEXIST {
			fmt.Fprintf(out, "GUEST MODULE %s: %v\n", m, errno)
			return
		}
	}
}

func mounts() {
	for _, m := range []struct{ src, dst, typ string }{
		{"proc", "/proc", "proc"},
		{"sysfs", "/sys", "sysfs"},
		{"devtmpfs", "/dev", "devtmpfs"},
	} {
		_ = os.MkdirAll(m.dst, 0o755)
		_ = syscall.Mount(m.src, m.dst, m.typ, 0, "")
	}
}

// console returns the kernel console; PID 1 normally inherits it on fd 1.
func console() *os.File {
	if f, err := os.OpenFile("/dev/console", os.O_WRONLY|syscall.O_NOCTTY, 0); err == nil {
		return f
	}
	return os.Stdout
}

func cmdline() map[string]string {
	m := map[string]string{}
	b, _ := os.ReadFile("/proc/cmdline")
	for _, f := range strings.Fields(string(b)) {
		if k, v, ok := strings.Cut(f, "="); ok {
			m[k] = v
		}
	}
	return m
}

func size(s string, def int64) int64 {
	if s == "" {
		return def
	}
	mult := int64(1)
	switch strings.ToUpper(s[len(s)-1:]) {
	case "K":
		mult = 1 << 10
	case "M":
		mult = 1 << 20
	case "G":
		mult = 1 << 30
	}
	if mult > 1 {
		s = s[:len(s)-1]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return def
	}
	return n * mult
}

func bootID() string {
	if b, err := os.ReadFile("/proc/sys/kernel/random/boot_id"); err == nil {
		if id := strings.TrimSpace(string(b)); id != "" {
			return id
		}
	}
	return strconv.FormatInt(time.Now().UnixNano(), 36)
}

// uptime is the kernel's uptime when readable (it includes boot time),
// else the time since this program started.
func uptime(since time.Duration) float64 {
	if b, err := os.ReadFile("/proc/uptime"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			if v, err := strconv.ParseFloat(f[0], 64); err == nil {
				return v
			}
		}
	}
	return since.Seconds()
}
