package grid

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// Heartbeat is one line of the workload guest's console:
//
//	HEARTBEAT seq=N boot=<id> uptime=<s> dirtied=<bytes> rate=<bytes/s> bad=<pages> verified=<pages> pfn=<hex>
//
// The boot id is fixed for one boot, seq only grows within it, dirtied
// counts every byte the guest wrote since it started, and bad every page
// it found holding something other than what it last wrote (a guest built
// before the check printed no bad=).
type Heartbeat struct {
	Seq     int64
	Boot    string
	Uptime  float64
	Dirtied int64
	// Rate is what the guest measured it wrote over its last second.
	Rate float64
	Bad  int64
	// PFN is the guest-physical frame of the working set's first page
	// (0 from a guest that does not print it): where to corrupt it.
	PFN uint64
}

var heartbeatRE = regexp.MustCompile(`^HEARTBEAT seq=([0-9]+) boot=([^ ]+) uptime=([0-9.]+) dirtied=([0-9]+) rate=([0-9]+)(?: bad=([0-9]+)(?: verified=[0-9]+ pfn=0x([0-9a-f]+))?(?: .*)?)?$`)

// maxLine bounds a console line: a guest that never ends one cannot make
// the reader hold its whole output.
const maxLine = 4096

// Console reads one stay of a guest on one host: what its console printed
// from when it was opened. Only whole lines count, so that a line cut
// short (a partial boot id would look like a reboot) is never read.
type Console struct {
	mu       sync.Mutex
	partial  []byte
	beats    []Heartbeat
	started  bool // the guest printed GUEST START: it (re)booted
	panicked string
	corrupt  string   // the first GUEST CORRUPT line
	tail     []string // the last lines, for the raw record
}

// Write takes console output; it never blocks and never fails.
func (c *Console) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			c.partial = append(c.partial, p...)
			if len(c.partial) > maxLine {
				c.partial = c.partial[:0]
			}
			break
		}
		c.partial = append(c.partial, p[:i]...)
		c.line(strings.TrimRight(string(c.partial), "\r"))
		c.partial = c.partial[:0]
		p = p[i+1:]
	}
	return n, nil
}

const tailLines = 12

func (c *Console) line(s string) {
	if s == "" {
		return
	}
	if c.tail = append(c.tail, s); len(c.tail) > tailLines {
		c.tail = c.tail[1:]
	}
	switch {
	case strings.HasPrefix(s, "GUEST START"):
		c.started = true
	case strings.Contains(s, "GUEST PANIC"), strings.Contains(s, "Kernel panic"), strings.Contains(s, "Oops"):
		if c.panicked == "" {
			c.panicked = s
		}
	case strings.HasPrefix(s, "GUEST CORRUPT"):
		if c.corrupt == "" {
			c.corrupt = s
		}
	}
	m := heartbeatRE.FindStringSubmatch(s)
	if m == nil {
		return
	}
	seq, _ := strconv.ParseInt(m[1], 10, 64)
	up, _ := strconv.ParseFloat(m[3], 64)
	d, _ := strconv.ParseInt(m[4], 10, 64)
	rate, _ := strconv.ParseFloat(m[5], 64)
	bad, _ := strconv.ParseInt(m[6], 10, 64)
	pfn, _ := strconv.ParseUint(m[7], 16, 64)
	c.beats = append(c.beats, Heartbeat{Seq: seq, Boot: m[2], Uptime: up, Dirtied: d, Rate: rate, Bad: bad, PFN: pfn})
}

// Stay reads a guest's whole console log on one host, from the start of
// the file: its last heartbeat and what went wrong (Trouble). The log's
// first GUEST START is the boot the log was opened for, not a reboot; a
// second one is. Suites read QEMU's serial log file this way.
func Stay(log []byte) (Heartbeat, string) {
	if i := bytes.Index(log, []byte("GUEST START")); i >= 0 {
		if j := bytes.IndexByte(log[i:], '\n'); j >= 0 {
			log = log[i+j+1:]
		} else {
			log = nil // the banner is still being written
		}
	}
	var c Console
	_, _ = c.Write(log)
	last, _ := c.Last()
	return last, c.Trouble()
}

// Beats is how many heartbeats the guest printed.
func (c *Console) Beats() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.beats)
}

// First and Last are the first and last heartbeats (ok false when none).
func (c *Console) First() (Heartbeat, bool) { return c.at(0) }
func (c *Console) Last() (Heartbeat, bool)  { return c.at(-1) }

func (c *Console) at(i int) (Heartbeat, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.beats) == 0 {
		return Heartbeat{}, false
	}
	if i < 0 {
		i += len(c.beats)
	}
	return c.beats[i], true
}

// Rate is what the guest says it wrote, in bytes/s, over its last window
// heartbeats; 0 when it printed fewer than two.
func (c *Console) Rate(window int) float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.beats[max(0, len(c.beats)-window):]
	if len(b) < 2 || b[len(b)-1].Uptime <= b[0].Uptime {
		return 0
	}
	return float64(b[len(b)-1].Dirtied-b[0].Dirtied) / (b[len(b)-1].Uptime - b[0].Uptime)
}

// Trouble says what the console shows went wrong: a reboot, a panic, or
// memory that no longer holds what the guest wrote; "" when none.
func (c *Console) Trouble() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.panicked != "":
		return "guest panicked: " + c.panicked
	case c.started:
		return "guest rebooted"
	case c.corrupt != "":
		return "guest memory corrupt: " + c.corrupt
	case len(c.beats) > 0 && c.beats[len(c.beats)-1].Bad > 0:
		return fmt.Sprintf("guest memory corrupt: %d pages", c.beats[len(c.beats)-1].Bad)
	}
	return ""
}

// Tail is the console's last lines.
func (c *Console) Tail() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.tail...)
}
