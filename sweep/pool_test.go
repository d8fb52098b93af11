package sweep

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/droverlab/drover/scenarios"
)

// An interrupted pool leaves whole reports or none, and running it again
// does only what is left.
func TestRunLocalResumes(t *testing.T) {
	s, err := parse(t, "base: BASE\nmatrix:\n  policy.name: [balance, greedy-cv]\n  seed: [1..10]\n")
	if err != nil {
		t.Fatal(err)
	}
	runs, err := s.Expand()
	if err != nil {
		t.Fatal(err)
	}
	d, err := Write(t.TempDir(), s, runs)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var n atomic.Int32
	release := make(chan struct{})
	runner := func(sc *scenarios.Scenario, dir string) error {
		if n.Add(1) > 5 {
			cancel()
			<-release // a run under way when the pool is stopped never writes
			return nil
		}
		return os.WriteFile(filepath.Join(dir, "report.json"), []byte(`{"seed":1}`), 0o644)
	}
	res, err := d.RunLocal(ctx, 2, runner, nil)
	close(release)
	if err == nil || res.Done > 5 {
		t.Fatalf("first pool: %+v, %v", res, err)
	}
	done := 0
	for i := range d.Runs {
		if d.Complete(&d.Runs[i]) {
			done++
		}
	}
	// The pool returns at once when stopped: a run may finish after it
	// said how many had.
	if done < res.Done || done > 5 {
		t.Fatalf("%d complete, pool says %d", done, res.Done)
	}
	d2, err := Open(d.Path)
	if err != nil {
		t.Fatal(err)
	}
	var again atomic.Int32
	res2, err := d2.RunLocal(context.Background(), 2, func(sc *scenarios.Scenario, dir string) error {
		again.Add(1)
		return os.WriteFile(filepath.Join(dir, "report.json"), []byte(`{}`), 0o644)
	}, nil)
	if err != nil || res2.Skipped != done || res2.Done != 20-done || int(again.Load()) != 20-done {
		t.Fatalf("second pool: %+v, %v, %d runs", res2, err, again.Load())
	}
}

// Runs of the simulator share nothing: the pool with two goroutines gives
// the reports one goroutine gives (and the race detector stays quiet).
func TestRunLocalSim(t *testing.T) {
	s, err := parse(t, "base: BASE\nmatrix:\n  policy.name: [balance, greedy-cv]\n  seed: [1..3]\n")
	if err != nil {
		t.Fatal(err)
	}
	runs, err := s.Expand()
	if err != nil {
		t.Fatal(err)
	}
	var dirs []*Dir
	for _, jobs := range []int{1, 2} {
		d, err := Write(t.TempDir(), s, runs)
		if err != nil {
			t.Fatal(err)
		}
		res, err := d.RunLocal(context.Background(), jobs, SimRunner, nil)
		if err != nil || res.Done != len(runs) {
			t.Fatalf("jobs %d: %+v %v", jobs, res, err)
		}
		dirs = append(dirs, d)
	}
	for i := range runs {
		a, _ := os.ReadFile(filepath.Join(dirs[0].RunDir(&runs[i]), "report.json"))
		b, _ := os.ReadFile(filepath.Join(dirs[1].RunDir(&runs[i]), "report.json"))
		if len(a) == 0 || string(a) != string(b) {
			t.Errorf("run %s: reports differ", runs[i].ID)
		}
	}
}
