package planetlab

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// Bounds on what ReadDay accepts, so that no input exhausts memory or time.
// A valid trace file is at most 288 × len("100\n") = 1152 bytes and the
// busiest day has 1516 files; the caps leave room for a few times that.
const (
	MaxTraceBytes = 16 << 10
	MaxVMs        = 8192
	// maxErrors is how many problems one ReadDay reports before giving up.
	maxErrors = 10
)

// VM is one trace file: a VM's CPU utilisation in whole percent (0–100),
// one sample per Interval.
type VM struct {
	// Name is the file's base name.
	Name    string
	Percent [Samples]uint8
}

// Day is one folder of traces, VMs in the order CloudSim numbers them.
type Day struct {
	Name string
	VMs  []VM
}

// Utilization is the VM's CPU utilisation in [0, 1] at t seconds from the
// start, as CloudSim computes it (cloudsim/UtilizationModelPlanetLabInMemory.java
// getUtilization): the samples divided by 100, a 289th sample equal to the
// 288th so that the end of the day has a value, and linear interpolation
// between samples. t outside [0, 24 h] is clamped.
func (v *VM) Utilization(t float64) float64 {
	step := Interval.Seconds()
	at := func(i int) float64 {
		if i >= Samples {
			i = Samples - 1
		}
		return float64(v.Percent[i]) / 100
	}
	t = math.Max(0, math.Min(t, Samples*step))
	if math.Mod(t, step) == 0 {
		return at(int(t / step))
	}
	t1, t2 := math.Floor(t/step), math.Ceil(t/step)
	u1, u2 := at(int(t1)), at(int(t2))
	delta := (u2 - u1) / ((t2 - t1) * step)
	return u1 + delta*(t-t1*step)
}

// FirstZero is the index of the VM's first 0% sample, or -1: the earliest
// CloudSim could end it. CloudSim treats a VM whose requested MIPS is 0 at
// an update as finished and removes it for good
// (cloudsim/HostDynamicWorkload.java getCompletedVms: requested MIPS == 0
// and not migrating; cloudsim/power/PowerDatacenter.java deallocates it).
// Its updates fall 0.1 s after the samples, where Utilization interpolates
// toward the next sample, so the VM ends at the first 0% sample followed by
// another (or later, if it is migrating then), not at FirstZero itself when
// the next sample is above 0.
func (v *VM) FirstZero() int {
	for i, p := range v.Percent {
		if p == 0 {
			return i
		}
	}
	return -1
}

// TraceError is a problem in one trace file. Line and Column are 1-based and
// 0 when they do not apply.
type TraceError struct {
	// Archive is the .tar.gz the file came from, "" for a folder.
	Archive      string
	File         string
	Line, Column int
	Msg          string
}

func (e *TraceError) Error() string {
	var b strings.Builder
	if e.Archive != "" {
		b.WriteString(e.Archive + ": ")
	}
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	return b.String() + ": " + e.Msg
}

// ReadDay reads one day of traces from a folder or from a .tar.gz (or .tgz)
// holding one folder (or the files at its top), one file per VM, each of 288
// lines with an integer percentage (cloudsim/UtilizationModelPlanetLabInMemory.java:
// Integer.valueOf(readLine()) / 100.0 for 288 lines).
//
// Order: VM i is the i-th file name in byte order. CloudSim numbers VMs in
// the order of File.listFiles() (examples/power/planetlab/PlanetLabHelper.java
// createCloudletListPlanetLab: cloudlet i and VM i use files[i]), which Java
// leaves unspecified: it is the folder's directory order, so CloudSim itself
// can number the same day differently on two machines. Byte order is the
// deterministic choice, and it is the order of the shipped archives. It
// matters: VM sizes are given by block of that order (VMTypeIndex).
//
// ReadDay is stricter than CloudSim, which ignores lines after the 288th and
// accepts signs and values above 100: here a file must hold exactly 288
// values, each 0–100 written in decimal digits, the last newline optional.
// Every subfolder, link or special file is an error, as it would be one in
// CloudSim (it cannot read it as a trace). Errors name the file, line and
// column; up to 10 are reported together.
func ReadDay(p string) (*Day, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("planetlab: %w", err)
	}
	name := filepath.Base(filepath.Clean(p))
	if st.IsDir() {
		return readFolder(os.DirFS(p), p, name)
	}
	for _, ext := range []string{".tar.gz", ".tgz"} {
		if strings.HasSuffix(name, ext) {
			f, err := os.Open(p)
			if err != nil {
				return nil, fmt.Errorf("planetlab: %w", err)
			}
			defer f.Close()
			return readArchive(f, p, strings.TrimSuffix(name, ext))
		}
	}
	return nil, fmt.Errorf("planetlab: %s: want a folder or a .tar.gz of one", p)
}

// collector gathers the VMs and the first maxErrors problems of one day.
type collector struct {
	// label names the folder or archive in errors about the whole day.
	label string
	day   Day
	errs  []error
}

func (c *collector) fail(e *TraceError) bool {
	c.errs = append(c.errs, e)
	return len(c.errs) >= maxErrors
}

func (c *collector) result() (*Day, error) {
	if len(c.errs) > 0 {
		if len(c.errs) >= maxErrors {
			c.errs = append(c.errs, fmt.Errorf("planetlab: too many errors, stopped after %d", maxErrors))
		}
		return nil, errors.Join(c.errs...)
	}
	if len(c.day.VMs) == 0 {
		return nil, fmt.Errorf("planetlab: %s: day %q has no trace files", c.label, c.day.Name)
	}
	slices.SortFunc(c.day.VMs, func(a, b VM) int { return strings.Compare(a.Name, b.Name) })
	for i := 1; i < len(c.day.VMs); i++ {
		if c.day.VMs[i].Name == c.day.VMs[i-1].Name {
			return nil, fmt.Errorf("planetlab: %s: day %q has two trace files named %q", c.label, c.day.Name, c.day.VMs[i].Name)
		}
	}
	return &c.day, nil
}

// add parses one trace file of at most size bytes from r.
func (c *collector) add(archive, file, base string, size int64, r io.Reader) (stop bool) {
	if len(c.day.VMs) >= MaxVMs {
		return c.fail(&TraceError{Archive: archive, File: file, Msg: fmt.Sprintf("more than %d trace files in one day", MaxVMs)})
	}
	if size > MaxTraceBytes {
		return c.fail(&TraceError{Archive: archive, File: file, Msg: fmt.Sprintf("%d bytes is larger than a trace can be (%d)", size, MaxTraceBytes)})
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxTraceBytes+1))
	if err != nil {
		return c.fail(&TraceError{Archive: archive, File: file, Msg: err.Error()})
	}
	if len(data) > MaxTraceBytes {
		return c.fail(&TraceError{Archive: archive, File: file, Msg: fmt.Sprintf("larger than a trace can be (%d bytes)", MaxTraceBytes)})
	}
	vm := VM{Name: base}
	if e := parseTrace(data, &vm.Percent); e != nil {
		e.Archive, e.File = archive, file
		return c.fail(e)
	}
	c.day.VMs = append(c.day.VMs, vm)
	return false
}

// parseTrace reads exactly Samples lines of decimal 0–100 into out.
func parseTrace(data []byte, out *[Samples]uint8) *TraceError {
	text := string(data)
	text = strings.TrimSuffix(text, "\n")
	if text == "" {
		return &TraceError{Msg: fmt.Sprintf("empty, want %d lines", Samples)}
	}
	lines := strings.Split(text, "\n")
	for i, line := range lines {
		if i >= Samples {
			return &TraceError{Line: i + 1, Column: 1, Msg: fmt.Sprintf("more than %d lines", Samples)}
		}
		if line == "" {
			return &TraceError{Line: i + 1, Column: 1, Msg: "empty line, want an integer percentage 0-100"}
		}
		v := 0
		for j := 0; j < len(line); j++ {
			ch := line[j]
			if ch < '0' || ch > '9' {
				return &TraceError{Line: i + 1, Column: j + 1, Msg: fmt.Sprintf("unexpected %q, want an integer percentage 0-100", rune(ch))}
			}
			v = v*10 + int(ch-'0')
			if v > 100 {
				return &TraceError{Line: i + 1, Column: 1, Msg: fmt.Sprintf("%q is above 100%%", line)}
			}
		}
		out[i] = uint8(v)
	}
	if len(lines) < Samples {
		return &TraceError{Line: len(lines), Msg: fmt.Sprintf("ends after %d lines, want %d", len(lines), Samples)}
	}
	return nil
}

// readFolder reads the files at the top of fsys; label names it in errors.
func readFolder(fsys fs.FS, label, name string) (*Day, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("planetlab: %w", err)
	}
	if len(entries) > MaxVMs {
		return nil, fmt.Errorf("planetlab: %s: %d entries, more than %d trace files in one day", label, len(entries), MaxVMs)
	}
	c := collector{label: label, day: Day{Name: name}}
	for _, e := range entries {
		file := filepath.Join(label, e.Name())
		if !e.Type().IsRegular() {
			if c.fail(&TraceError{File: file, Msg: "not a regular file; a day folder holds only trace files"}) {
				break
			}
			continue
		}
		info, err := e.Info()
		if err != nil {
			if c.fail(&TraceError{File: file, Msg: err.Error()}) {
				break
			}
			continue
		}
		stop := func() bool {
			if info.Size() > MaxTraceBytes {
				return c.add("", file, e.Name(), info.Size(), nil)
			}
			f, err := fsys.Open(e.Name())
			if err != nil {
				return c.fail(&TraceError{File: file, Msg: err.Error()})
			}
			defer f.Close()
			return c.add("", file, e.Name(), info.Size(), f)
		}()
		if stop {
			break
		}
	}
	return c.result()
}

// readArchive reads a gzip-compressed tar of one day; label names it in
// errors and name is the day's name when the files sit at the top.
func readArchive(r io.Reader, label, name string) (*Day, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("planetlab: %s: %w", label, err)
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	c := collector{label: label, day: Day{Name: name}}
	folder, entries, seen := "", 0, false
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			c.fail(&TraceError{Archive: label, File: fmt.Sprintf("entry %d", entries+1), Msg: err.Error()})
			break
		}
		if entries++; entries > MaxVMs+1 {
			c.fail(&TraceError{Archive: label, File: h.Name, Msg: fmt.Sprintf("more than %d trace files in one day", MaxVMs)})
			break
		}
		clean := path.Clean(strings.TrimPrefix(h.Name, "./"))
		dir, base := path.Split(clean)
		dir = strings.TrimSuffix(dir, "/")
		if h.Typeflag == tar.TypeDir {
			if clean == "." {
				continue // "./", as `tar -C day .` writes: the top itself
			}
			if strings.Contains(clean, "/") || clean == ".." || (folder != "" && folder != clean) {
				if c.fail(&TraceError{Archive: label, File: h.Name, Msg: "a day archive holds one folder of trace files"}) {
					break
				}
				continue
			}
			folder = clean
			continue
		}
		if h.Typeflag != tar.TypeReg {
			if c.fail(&TraceError{Archive: label, File: h.Name, Msg: "not a regular file; a day archive holds only trace files"}) {
				break
			}
			continue
		}
		if strings.Contains(dir, "/") || clean == ".." || strings.HasPrefix(clean, "../") {
			if c.fail(&TraceError{Archive: label, File: h.Name, Msg: "nested too deep; a day archive holds one folder of trace files"}) {
				break
			}
			continue
		}
		if !seen {
			seen = true
			if folder == "" {
				folder = dir
			}
		}
		if dir != folder {
			if c.fail(&TraceError{Archive: label, File: h.Name, Msg: fmt.Sprintf("outside folder %q; a day archive holds one folder of trace files", folder)}) {
				break
			}
			continue
		}
		if c.add(label, h.Name, base, h.Size, tr) {
			break
		}
	}
	if folder != "" {
		c.day.Name = folder
	}
	return c.result()
}
