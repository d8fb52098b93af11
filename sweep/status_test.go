package sweep

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func fmtTasks(ts []TaskState) string {
	var out []string
	for _, t := range ts {
		out = append(out, fmt.Sprintf("%s_%d=%s", t.Job, t.Index, t.State))
	}
	return strings.Join(out, " ")
}

// Output as squeue -h -r -o '%i %T' and sacct -n -P -X -o JobID,State
// print it (Slurm 22.05, Debian bookworm).
func TestParseSlurm(t *testing.T) {
	for _, tc := range []struct {
		name, out string
		sacct     bool
		want      string
	}{
		{"squeue running and pending", "41_0 RUNNING\n41_1 RUNNING\n41_[2-4%2] PENDING\n", false,
			"41_0=RUNNING 41_1=RUNNING 41_2=PENDING 41_3=PENDING 41_4=PENDING"},
		{"squeue list and blanks", "\n  42_[7,9-10] PENDING\n42_3 COMPLETING\n", false, "42_7=PENDING 42_9=PENDING 42_10=PENDING 42_3=COMPLETING"},
		{"squeue a plain job is not a sweep task", "43 RUNNING\n", false, ""},
		{"sacct", "41_0|COMPLETED\n41_1|CANCELLED by 0\n41_2|FAILED\n41_3|TIMEOUT\n41_[4-5%2]|PENDING\n41_6|OUT_OF_MEMORY\n", true,
			"41_0=COMPLETED 41_1=CANCELLED 41_2=FAILED 41_3=TIMEOUT 41_4=PENDING 41_5=PENDING 41_6=OUT_OF_MEMORY"},
		{"sacct steps are left out by -X, garbage ignored", "sacct: error: x\n41_0.batch|COMPLETED\n", true, ""},
	} {
		var got []TaskState
		if tc.sacct {
			got = ParseSacct(tc.out)
		} else {
			got = ParseSqueue(tc.out)
		}
		if s := fmtTasks(got); s != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, s, tc.want)
		}
	}
}

func TestClassify(t *testing.T) {
	dir := t.TempDir()
	d := &Dir{Path: dir}
	for i := range 7 {
		d.Runs = append(d.Runs, Run{Index: i, ID: fmt.Sprintf("run%d", i)})
	}
	write := func(i int, name, body string) {
		rd := d.RunDir(&d.Runs[i])
		os.MkdirAll(rd, 0o755)
		if err := os.WriteFile(filepath.Join(rd, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(0, "report.json", `{"schema_version":"1.0"}`)
	write(1, "report.json", `{"schema_ver`) // half a report is not one
	write(1, "started", "")
	write(2, "started", "")
	write(3, "error.txt", "boom\n")
	tasks := []TaskState{
		{"10", 0, "COMPLETED"},
		{"10", 1, "CANCELLED"},
		{"10", 4, "CANCELLED"}, {"11", 4, "RUNNING"}, // resubmitted: the later job wins
		{"10", 5, "PENDING"},
	}
	var got []string
	for _, s := range d.Classify(tasks) {
		got = append(got, s.State)
	}
	want := []string{Done, Failed, Failed, Failed, Running, Pending, Missing}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// With several runs a task, a task's state is each of its runs'.
func TestClassifyPerTask(t *testing.T) {
	dir := t.TempDir()
	d := &Dir{Path: dir}
	for i := range 7 {
		d.Runs = append(d.Runs, Run{Index: i, ID: fmt.Sprintf("run%d", i)})
	}
	os.MkdirAll(filepath.Join(dir, "slurm"), 0o755)
	os.WriteFile(filepath.Join(dir, "slurm", "jobs"), []byte("20 0-2 3\n21 1 1\n"), 0o644)
	rd := d.RunDir(&d.Runs[3])
	os.MkdirAll(rd, 0o755)
	os.WriteFile(filepath.Join(rd, "report.json"), []byte("{}"), 0o644)
	// Task 0 runs runs 0-2, task 1 runs 3-5 (3 is done), task 2 run 6;
	// job 21 resubmitted run 1 alone.
	ts := []TaskState{{"20", 0, "CANCELLED"}, {"20", 1, "RUNNING"}, {"20", 2, "PENDING"}, {"21", 1, "RUNNING"}}
	var got []string
	for _, s := range d.Classify(ts) {
		got = append(got, s.State)
	}
	want := []string{Failed, Running, Failed, Done, Running, Running, Pending}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if s, _ := d.Script(SlurmOptions{PerTask: 3, MaxParallel: 2, Drover: "/x/drover"}, []int{0, 1, 2, 3, 4, 5, 6}); !strings.Contains(s, "--array=0-2%2\n") || !strings.Contains(s, "\"$SLURM_ARRAY_TASK_ID\" --per-task 3\n") {
		t.Errorf("script:\n%s", s)
	}
}

// A large report is checked by its ends, a small one parsed.
func TestComplete(t *testing.T) {
	d := &Dir{Path: t.TempDir()}
	r := &Run{ID: "x"}
	os.MkdirAll(d.RunDir(r), 0o755)
	path := filepath.Join(d.RunDir(r), "report.json")
	big := `{"a":"` + strings.Repeat("y", 2<<20) + `"}` + "\n"
	for _, tc := range []struct {
		body string
		want bool
	}{
		{"", false},
		{"{}", true},
		{`{"a":1`, false},
		{big, true},
		{big[:len(big)/2], false},
		{"x" + big[1:], false},
	} {
		os.WriteFile(path, []byte(tc.body), 0o644)
		if got := d.Complete(r); got != tc.want {
			t.Errorf("%d bytes: complete %v, want %v", len(tc.body), got, tc.want)
		}
	}
}
