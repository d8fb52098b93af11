package sweep_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/droverlab/drover/sweep"
	"github.com/droverlab/drover/sweep/slurmtest"
)

// TestSlurm runs sweeps as job arrays on a real one-node Slurm cluster
// started here (sweep/slurmtest), against drover sweep run on the same
// sweeps. Only with DROVER_SLURM=1, as root, with Debian's slurmctld,
// slurmd and munge installed (make e2e-slurm installs them).
func TestSlurm(t *testing.T) {
	if os.Getenv("DROVER_SLURM") != "1" {
		t.Skip("Slurm suite skipped: set DROVER_SLURM=1 (root; apt-get install slurmctld slurmd munge; make e2e-slurm)")
	}
	if m := slurmtest.Missing(); m != "" {
		t.Fatalf("not installed: %s (apt-get install -y slurmctld slurmd munge)", m)
	}
	tmp := t.TempDir()
	drover := buildDrover(t, tmp)
	cl, err := slurmtest.Start(filepath.Join(tmp, "slurm"), 60*time.Second, t.Logf)
	t.Cleanup(func() {
		cl.Stop()
		if t.Failed() {
			for _, f := range []string{"slurmctld.log", "slurmd.log"} {
				b, _ := os.ReadFile(filepath.Join(cl.Dir, "logs", f))
				t.Logf("%s (tail):\n%s", f, tail(string(b), 3000))
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SLURM_CONF", cl.Conf)

	t.Run("array equals local", func(t *testing.T) {
		sw := filepath.Join(tmp, "small.yaml")
		writeSweep(t, sw, `name: small-policies
base: `+abs(t, "../scenarios/examples/small.yaml")+`
matrix:
  policy.name: [balance, greedy-cv]
  policy.evacuation: [planned, fixed-batch]
  seed: [1..6]
exclude:
  - {policy.name: greedy-cv, policy.evacuation: fixed-batch, seed: 6}
`)
		shared, local := filepath.Join(tmp, "shared"), filepath.Join(tmp, "local")
		begin := time.Now()
		out := run(t, drover, "sweep", "submit", sw, "--out", shared, "--slurm", "--max-parallel", "2", "--time", "5:00", "--mem", "200M")
		if !regexp.MustCompile(`^\d+\n$`).MatchString(out) {
			t.Fatalf("submit printed %q, want a job id", out)
		}
		script, _ := os.ReadFile(filepath.Join(shared, "slurm", "array-0.sbatch"))
		if !strings.Contains(string(script), "#SBATCH --array=0-22%2") {
			t.Errorf("script:\n%s", script)
		}
		waitStatus(t, drover, shared, 90*time.Second, "23 runs: 23 done")
		t.Logf("the array of 23 runs, 2 at a time: %s from sbatch to the last report", time.Since(begin).Round(100*time.Millisecond))
		begin = time.Now()
		run(t, drover, "sweep", "run", sw, "--out", local, "--jobs", "2", "--no-progress")
		t.Logf("the same 23 runs on the local pool, 2 at a time: %s", time.Since(begin).Round(time.Millisecond))
		d, err := sweep.Open(shared)
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Runs) != 23 {
			t.Fatalf("%d runs, want 23", len(d.Runs))
		}
		for _, r := range d.Runs {
			for _, f := range []string{"report.json", "journal.jsonl", "scenario.yaml"} {
				a, err1 := os.ReadFile(filepath.Join(shared, "runs", r.ID, f))
				b, err2 := os.ReadFile(filepath.Join(local, "runs", r.ID, f))
				if err := errors.Join(err1, err2); err != nil || !bytes.Equal(a, b) || len(a) == 0 {
					t.Errorf("run %d %s: %s differs between the array and the local pool (%v)", r.Index, r.ID, f, err)
				}
			}
		}
		// The same sweep again, five runs a task: the same bytes.
		chunked := filepath.Join(tmp, "chunked")
		begin = time.Now()
		run(t, drover, "sweep", "submit", sw, "--out", chunked, "--slurm", "--per-task", "5", "--max-parallel", "2")
		waitStatus(t, drover, chunked, 90*time.Second, "23 runs: 23 done")
		t.Logf("the same 23 runs five a task (5 tasks), 2 tasks at a time: %s", time.Since(begin).Round(100*time.Millisecond))
		for _, r := range d.Runs {
			a, _ := os.ReadFile(filepath.Join(chunked, "runs", r.ID, "report.json"))
			b, _ := os.ReadFile(filepath.Join(local, "runs", r.ID, "report.json"))
			if len(a) == 0 || !bytes.Equal(a, b) {
				t.Errorf("run %d %s: report.json of the chunked array differs", r.Index, r.ID)
			}
		}
		col := run(t, drover, "sweep", "collect", shared)
		if !strings.Contains(col, "policy.name=greedy-cv policy.evacuation=fixed-batch: 5 runs (seeds 1, 2, 3, 4, 5)") {
			t.Errorf("collect:\n%s", col)
		}
	})

	t.Run("killed task is failed, resubmit completes it", func(t *testing.T) {
		// Two runs of a day of 1,000 hosts: seconds each, long enough to
		// cancel one mid-run.
		gen := filepath.Join(tmp, "gen.yaml")
		run(t, drover, "gen", "--hosts", "1000", "--vms", "20000", "--duration", "24h", "-o", gen)
		sw := filepath.Join(tmp, "big.yaml")
		writeSweep(t, sw, "name: big\nbase: "+gen+"\nmatrix:\n  seed: [1..2]\n")
		dir := filepath.Join(tmp, "big")
		job := strings.TrimSpace(run(t, drover, "sweep", "submit", sw, "--out", dir, "--slurm"))
		d, err := sweep.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		started := filepath.Join(dir, "runs", d.Runs[0].ID, "started")
		waitFor(t, 60*time.Second, "run 0 to start", func() bool { _, err := os.Stat(started); return err == nil })
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if out, err := cl.Command(ctx, "scancel", job+"_0").CombinedOutput(); err != nil {
			t.Fatalf("scancel: %v %s", err, out)
		}
		waitStatus(t, drover, dir, 90*time.Second, "2 runs: 1 done, 0 running, 0 pending, 1 failed, 0 missing")
		if _, err := os.Stat(filepath.Join(dir, "runs", d.Runs[0].ID, "report.json")); err == nil {
			t.Fatal("the cancelled run left a report.json")
		}
		st := run(t, drover, "sweep", "status", dir)
		if !strings.Contains(st, "failed 0 "+d.Runs[0].ID) {
			t.Errorf("status does not list run 0 as failed:\n%s", st)
		}
		run(t, drover, "sweep", "resubmit", dir)
		script, _ := os.ReadFile(filepath.Join(dir, "slurm", "array-1.sbatch"))
		if !strings.Contains(string(script), "#SBATCH --array=0\n") {
			t.Errorf("resubmitted script:\n%s", script)
		}
		waitStatus(t, drover, dir, 90*time.Second, "2 runs: 2 done")
	})

	t.Run("malformed sweep", func(t *testing.T) {
		sw := filepath.Join(tmp, "bad.yaml")
		writeSweep(t, sw, "base: "+abs(t, "../scenarios/examples/small.yaml")+"\nmatrix:\n  seed: [1..3, -1]\n")
		cmd := exec.Command(drover, "sweep", "submit", sw, "--out", filepath.Join(tmp, "bad"), "--slurm")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 {
			t.Fatalf("exit %v, want 2", err)
		}
		if want := sw + ":3:16: matrix: sim.seed: expected a seed"; !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr %q, want %q", stderr.String(), want)
		}
		if _, err := os.Stat(filepath.Join(tmp, "bad", "slurm")); err == nil {
			t.Error("a malformed sweep was submitted")
		}
	})
}

func buildDrover(t *testing.T, dir string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	out := filepath.Join(dir, "drover")
	cmd := exec.Command(goBin, "build", "-o", out, "github.com/droverlab/drover/cmd/drover")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return out
}

func abs(t *testing.T, p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func writeSweep(t *testing.T, path, body string) {
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func run(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("drover %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

func waitFor(t *testing.T, timeout time.Duration, what string, ok func() bool) {
	t.Helper()
	end := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(end) {
			t.Fatalf("waited %s for %s", timeout, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitStatus waits until drover sweep status's first line starts with want.
func waitStatus(t *testing.T, bin, dir string, timeout time.Duration, want string) {
	t.Helper()
	var last string
	end := time.Now().Add(timeout)
	for {
		last = run(t, bin, "sweep", "status", dir)
		if strings.HasPrefix(last, want) {
			t.Logf("status: %s", strings.TrimSpace(last))
			return
		}
		if time.Now().After(end) {
			b, _ := exec.Command("squeue", "-h", "-r", "-o", "%i %T %r").CombinedOutput()
			t.Fatalf("waited %s for %q; status:\n%s\nsqueue:\n%s", timeout, want, last, b)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
