package planetlab

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

const testDay = "testdata/20110303.tar.gz"

func TestReadDayShippedArchive(t *testing.T) {
	day, err := ReadDay(testDay)
	if err != nil {
		t.Fatal(err)
	}
	if day.Name != "20110303" || len(day.VMs) != 1052 {
		t.Fatalf("day %q with %d VMs, want 20110303 with 1052", day.Name, len(day.VMs))
	}
	first, last := day.VMs[0], day.VMs[len(day.VMs)-1]
	if first.Name != "146-179_surfsnel_dsl_internl_net_colostate_557" || last.Name != "vn5_cse_wustl_edu_uw_oneswarm" {
		t.Errorf("first %q, last %q: not in byte order", first.Name, last.Name)
	}
	// From the file itself: head -3 and tail -1.
	if p := first.Percent; p[0] != 24 || p[1] != 34 || p[2] != 29 || p[287] != 51 {
		t.Errorf("first VM samples %v…%v, want 24 34 29 … 51", p[:3], p[287])
	}
	// Sum of every sample of the day (cat * | awk '{s+=$1}').
	var sum int
	for _, vm := range day.VMs {
		for _, p := range vm.Percent {
			sum += int(p)
		}
	}
	if sum != 3730979 {
		t.Errorf("sum of samples = %d, want 3730979", sum)
	}
	// The block boundary of the VM types falls after file 263.
	if day.VMs[262].Name != "plab1_cs_ust_hk_uw_oneswarm" || day.VMs[263].Name != "plab1_nec-labs_com_nyu_d" {
		t.Errorf("files 263/264 are %q/%q", day.VMs[262].Name, day.VMs[263].Name)
	}
}

// TestReadDayFolderMatchesArchive unpacks the archive and reads the folder:
// the same VMs in the same order, whatever order the directory lists them.
func TestReadDayFolderMatchesArchive(t *testing.T) {
	want, err := ReadDay(testDay)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "20110303")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, vm := range want.VMs {
		var b strings.Builder
		for _, p := range vm.Percent {
			b.WriteString(itoa(int(p)) + "\n")
		}
		if err := os.WriteFile(filepath.Join(dir, vm.Name), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ReadDay(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Error("folder and archive give different days")
	}
}

func itoa(v int) string { return strconv.Itoa(v) }

// lines is a valid trace body of n samples, each v.
func lines(n int, v string) string { return strings.Repeat(v+"\n", n) }

type entry struct {
	name, body string
	typ        byte
}

func writeArchive(t *testing.T, entries ...entry) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.body)), Typeflag: e.typ}
		switch e.typ {
		case 0:
			h.Typeflag = tar.TypeReg
		case tar.TypeDir, tar.TypeSymlink:
			h.Size = 0
			h.Linkname = "elsewhere"
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "day.tar.gz")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadDayArchiveErrors(t *testing.T) {
	good := lines(Samples, "5")
	tests := []struct {
		name    string
		entries []entry
		want    string
	}{
		{"letter", []entry{{name: "d/a", body: "1\n2\n1x\n" + lines(Samples-3, "5")}}, "d/a:3:2: unexpected 'x'"},
		{"negative", []entry{{name: "d/a", body: "-1\n" + lines(Samples-1, "5")}}, "d/a:1:1: unexpected '-'"},
		{"crlf", []entry{{name: "d/a", body: "12\r\n" + lines(Samples-1, "5")}}, "d/a:1:3: unexpected '\\r'"},
		{"above 100", []entry{{name: "d/a", body: "101\n" + lines(Samples-1, "5")}}, `d/a:1:1: "101" is above 100%`},
		{"empty line", []entry{{name: "d/a", body: "\n" + lines(Samples-1, "5")}}, "d/a:1:1: empty line"},
		{"short", []entry{{name: "d/a", body: lines(287, "5")}}, "d/a:287: ends after 287 lines, want 288"},
		{"long", []entry{{name: "d/a", body: lines(289, "5")}}, "d/a:289:1: more than 288 lines"},
		{"empty file", []entry{{name: "d/a"}}, "d/a: empty"},
		{"too big", []entry{{name: "d/a", body: strings.Repeat("0", MaxTraceBytes+1)}}, "larger than a trace can be"},
		{"nested", []entry{{name: "d/e/a", body: good}}, "d/e/a: nested too deep"},
		{"two folders", []entry{{name: "d/a", body: good}, {name: "e/b", body: good}}, `e/b: outside folder "d"`},
		{"two folder entries", []entry{{name: "d/", typ: tar.TypeDir}, {name: "e/", typ: tar.TypeDir}}, "e/: a day archive holds one folder"},
		{"parent folder", []entry{{name: "../", typ: tar.TypeDir}}, "../: a day archive holds one folder"},
		{"escape", []entry{{name: "../a", body: good}}, "../a: nested too deep"},
		{"absolute", []entry{{name: "/etc/a", body: good}}, "/etc/a: nested too deep"},
		{"symlink", []entry{{name: "d/a", typ: tar.TypeSymlink}}, "d/a: not a regular file"},
		{"duplicate", []entry{{name: "d/a", body: good}, {name: "d/a", body: good}}, `two trace files named "a"`},
		{"no files", []entry{{name: "d/", typ: tar.TypeDir}}, `day "d" has no trace files`},
	}
	for _, tt := range tests {
		p := writeArchive(t, tt.entries...)
		_, err := ReadDay(p)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want it to contain %q", tt.name, err, tt.want)
			continue
		}
		if !strings.Contains(err.Error(), "day.tar.gz") {
			t.Errorf("%s: err = %v does not name the archive", tt.name, err)
		}
	}
}

func TestReadDayArchiveLayouts(t *testing.T) {
	good := lines(Samples, "7")
	for _, tt := range []struct {
		name     string
		entries  []entry
		wantName string
	}{
		{"folder", []entry{{name: "20110101/", typ: tar.TypeDir}, {name: "20110101/b", body: good}, {name: "20110101/a", body: good}}, "20110101"},
		{"dot prefix", []entry{{name: "./x/b", body: good}, {name: "./x/a", body: good}}, "x"},
		{"tar -C day .", []entry{{name: "./", typ: tar.TypeDir}, {name: "./b", body: good}, {name: "./a", body: good}}, "day"},
		{"flat, named after the archive", []entry{{name: "b", body: good}, {name: "a", body: strings.TrimSuffix(good, "\n")}}, "day"},
	} {
		day, err := ReadDay(writeArchive(t, tt.entries...))
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if day.Name != tt.wantName || len(day.VMs) != 2 || day.VMs[0].Name != "a" || day.VMs[1].Name != "b" || day.VMs[1].Percent[287] != 7 {
			t.Errorf("%s: got %q with %d VMs", tt.name, day.Name, len(day.VMs))
		}
	}
}

func TestReadDayReportsManyErrorsAtOnce(t *testing.T) {
	var entries []entry
	for i := range 12 {
		entries = append(entries, entry{name: "d/f" + itoa(i), body: "x\n"})
	}
	_, err := ReadDay(writeArchive(t, entries...))
	if err == nil {
		t.Fatal("want an error")
	}
	msg := err.Error()
	if n := strings.Count(msg, ":1:1: unexpected 'x'"); n != maxErrors {
		t.Errorf("%d file errors reported, want %d:\n%s", n, maxErrors, msg)
	}
	if !strings.Contains(msg, "too many errors") {
		t.Errorf("no note that it stopped:\n%s", msg)
	}
}

func TestReadDayFolderErrors(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "d")
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a"), []byte("1\n2\n300\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "big"), bytes.Repeat([]byte("1"), MaxTraceBytes+1), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ReadDay(dir)
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{
		filepath.Join(dir, "a") + `:3:1: "300" is above 100%`,
		filepath.Join(dir, "big") + ": 16385 bytes is larger",
		filepath.Join(dir, "sub") + ": not a regular file",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v\nwant it to contain %q", err, want)
		}
	}
}

func TestReadDayBadPaths(t *testing.T) {
	dir := t.TempDir()
	notGzip := filepath.Join(dir, "x.tar.gz")
	if err := os.WriteFile(notGzip, []byte("this is plain text, not a gzip stream"), 0o644); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "x.zip")
	if err := os.WriteFile(other, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{
		notGzip:                       "x.tar.gz: gzip: invalid header",
		other:                         "want a folder or a .tar.gz",
		filepath.Join(dir, "missing"): "no such file",
	} {
		if _, err := ReadDay(p); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ReadDay(%s) = %v, want %q", p, err, want)
		}
	}
}

func TestVMUtilizationInterpolates(t *testing.T) {
	var vm VM
	vm.Percent[0], vm.Percent[1] = 10, 20
	vm.Percent[287] = 40
	for _, tt := range []struct{ t, want float64 }{
		{0, 0.1},
		{150, 0.15}, // halfway between 10% and 20%
		{300, 0.2},
		{450, 0.1}, // halfway between 20% and 0%
		{287 * 300, 0.4},
		{287*300 + 150, 0.4}, // the 289th sample repeats the 288th
		{86400, 0.4},
		{-5, 0.1},
		{1e9, 0.4},
	} {
		if got := vm.Utilization(tt.t); !near(got, tt.want) {
			t.Errorf("Utilization(%v) = %v, want %v", tt.t, got, tt.want)
		}
	}
	if got := vm.FirstZero(); got != 2 {
		t.Errorf("FirstZero = %d, want 2", got)
	}
	for i := range vm.Percent {
		vm.Percent[i] = 1
	}
	if got := vm.FirstZero(); got != -1 {
		t.Errorf("FirstZero = %d, want -1", got)
	}
}

// FuzzParseTrace: any bytes give either a full trace of 0–100 values or an
// error with a line inside the file, never a panic.
func FuzzParseTrace(f *testing.F) {
	f.Add([]byte(lines(Samples, "42")))
	f.Add([]byte("1\n2\r\n"))
	f.Add([]byte("100\n101\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var out [Samples]uint8
		if e := parseTrace(data, &out); e != nil {
			if e.Line < 0 || e.Line > Samples+1 {
				t.Errorf("error at line %d: %v", e.Line, e)
			}
			return
		}
		for i, v := range out {
			if v > 100 {
				t.Errorf("sample %d = %d", i, v)
			}
		}
	})
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) }
