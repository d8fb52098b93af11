// Command guest is the /init of the lab's test guest: a Linux kernel boots it
// from an initramfs, and it keeps a working set of memory, rewrites pages of
// it at a set rate, checks that every page still holds what it last wrote,
// and prints a heartbeat line on the console every 500 ms:
//
//	HEARTBEAT seq=N boot=<id> uptime=<seconds> dirtied=<bytes> rate=<bytes/s> bad=<pages> verified=<pages> pfn=<hex>
//
// boot is fixed for one boot (the kernel's random boot_id), so a reboot shows
// as a new id; seq only grows within one boot. A migration that kept the guest
// alive shows the same boot id with seq continuing; one that kept its memory
// intact shows bad=0. Every page of the working set is filled with a pattern
// of its index and of how many times it was written; a verifier reads the
// pages in turn and counts (and prints, as GUEST CORRUPT) every page that
// holds anything else, then writes it again so that it counts once. A write
// lost in a migration (QEMU 7.2 under TCG) shows there, where a guest that
// merely kept running would not. pfn is the guest-physical frame of the
// working set's first page, so a test can corrupt it from outside (through
// QEMU's gdbstub) and see the check catch it.
//
// Kernel command line parameters (sizes accept K, M, G suffixes, powers of 1024):
//
//	drover.wss=64M     working set allocated and filled at start (default 32M)
//	drover.dirty=16M   bytes per second rewritten, whole 4 KiB pages (default 8M; 0 = idle)
//	drover.verify=32M  bytes per second read back and checked (default 32M; 0 = none)
//	drover.cpu=0.5     share of the vCPU kept busy, for balancing tests (default 0)
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
	verify := size(args["drover.verify"], 32<<20)
	busy, _ := strconv.ParseFloat(args["drover.cpu"], 64)
	busy = min(max(busy, 0), 1)
	boot := bootID()
	start := time.Now()

	ws := newWorkingSet(wss)
	fmt.Fprintf(out, "GUEST START boot=%s wss=%d dirty=%d verify=%d hb=%s\n", boot, wss, rate, verify, hb)

	// Write and verify in small ticks so the rates are smooth; the heartbeat
	// goes out on its own schedule from the same loop, so no write races a
	// check (no goroutines needed).
	const tick = 20 * time.Millisecond
	var dirtied, seq int64
	nextHB := start.Add(hb)
	lastHB, lastDirtied := start, int64(0)
	due, vdue := 0.0, 0.0
	for {
		if rate > 0 && ws.pages > 0 {
			due += float64(rate) * tick.Seconds() / page
			for ; due >= 1; due-- {
				ws.rewrite()
				dirtied += page
			}
		}
		if verify > 0 && ws.pages > 0 {
			vdue += float64(verify) * tick.Seconds() / page
			for ; vdue >= 1; vdue-- {
				if i, k, want, got, bad := ws.check(); bad && ws.bad <= maxReports {
					fmt.Fprintf(out, "GUEST CORRUPT page=%d word=%d want=%#x got=%#x\n", i, k, want, got)
				}
			}
		}
		now := time.Now()
		if !now.Before(nextHB) {
			seq++
			r := float64(dirtied-lastDirtied) / now.Sub(lastHB).Seconds()
			fmt.Fprintf(out, "HEARTBEAT seq=%d boot=%s uptime=%.3f dirtied=%d rate=%.0f bad=%d verified=%d pfn=%#x\n",
				seq, boot, uptime(now.Sub(start)), dirtied, r, ws.bad, ws.verified, ws.pfn())
			lastHB, lastDirtied = now, dirtied
			nextHB = nextHB.Add(hb)
			if now.After(nextHB) { // fell behind (e.g. paused): do not burst
				nextHB = now.Add(hb)
			}
		}
		if busy == 0 {
			time.Sleep(tick)
			continue
		}
		// Burn the asked share of the tick, then sleep the rest of it.
		for spin := time.Duration(busy * float64(tick)); time.Since(now) < spin; {
		}
		time.Sleep(tick - min(time.Since(now), tick))
	}
}

// maxReports bounds the GUEST CORRUPT lines: the count goes on in the
// heartbeat, the console is not flooded.
const maxReports = 16

const words = page / 8

// workingSet is the guest's memory under test. Page i written for the g-th
// time holds pattern(i, g) in every word. The writer goes round the pages
// in order, so what each page should hold follows from the cursor and the
// round alone: no table of its own to be corrupted.
type workingSet struct {
	mem      []uint64
	pages    int64
	cursor   int64  // the next page to rewrite
	gen      uint64 // the round pages before the cursor were written in; those after hold gen-1
	vcursor  int64  // the next page to check
	bad      int64  // pages found holding something else
	verified int64  // pages checked
	pagemap  *os.File
}

func newWorkingSet(n int64) *workingSet {
	w := &workingSet{mem: make([]uint64, n/8), pages: n / page, gen: 2}
	for i := range w.pages {
		w.fill(i, 1)
	}
	w.pagemap, _ = os.Open("/proc/self/pagemap")
	return w
}

// pattern is never zero, so a page lost to a zero page shows, and differs
// between neighbouring pages and rounds, so a page sent stale or misplaced
// shows.
func pattern(i int64, g uint64) uint64 {
	return (uint64(i)<<24 ^ g*0x9E3779B97F4A7C15) | 1
}

func (w *workingSet) fill(i int64, g uint64) {
	v := pattern(i, g)
	p := w.mem[i*words : (i+1)*words]
	for k := range p {
		p[k] = v
	}
}

func (w *workingSet) want(i int64) uint64 {
	if i < w.cursor {
		return pattern(i, w.gen)
	}
	return pattern(i, w.gen-1)
}

func (w *workingSet) rewrite() {
	w.fill(w.cursor, w.gen)
	if w.cursor++; w.cursor == w.pages {
		w.cursor = 0
		w.gen++
	}
}

// check verifies the next page; a bad one is written again as it should
// be, so that it counts once.
func (w *workingSet) check() (i int64, k int, want, got uint64, bad bool) {
	i = w.vcursor
	if w.vcursor++; w.vcursor == w.pages {
		w.vcursor = 0
	}
	w.verified++
	want = w.want(i)
	for k, got = range w.mem[i*words : (i+1)*words] {
		if got != want {
			w.bad++
			g := w.gen - 1
			if i < w.cursor {
				g = w.gen
			}
			w.fill(i, g)
			return i, k, want, got, true
		}
	}
	return i, 0, want, want, false
}

// pfn is the guest-physical frame of the first page (0 if unknown): bits
// 0-54 of its /proc/self/pagemap entry, readable by PID 1 (root).
func (w *workingSet) pfn() uint64 {
	if w.pagemap == nil || len(w.mem) == 0 {
		return 0
	}
	var e [8]byte
	off := int64(uintptr(unsafe.Pointer(&w.mem[0]))/page) * 8
	if n, err := w.pagemap.ReadAt(e[:], off); n != 8 || err != nil {
		return 0
	}
	v := uint64(e[0]) | uint64(e[1])<<8 | uint64(e[2])<<16 | uint64(e[3])<<24 | uint64(e[4])<<32 | uint64(e[5])<<40 | uint64(e[6])<<48 | uint64(e[7])<<56
	if v&(1<<63) == 0 { // not present
		return 0
	}
	return v & (1<<55 - 1)
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
