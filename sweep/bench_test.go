package sweep

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"syscall"
	"testing"
	"time"
)

// BenchmarkPool runs a sweep of 200 runs of the small example (4 cells of
// 50 seeds) on the local pool, one op a whole sweep into a fresh directory.
func BenchmarkPool(b *testing.B) {
	body := "base: BASE\nmatrix:\n  policy.name: [balance, greedy-cv]\n  policy.evacuation: [planned, fixed-batch]\n  seed: [1..50]\n"
	// As drover sweep run and task set it (TuneGC), restored after.
	pct := debug.SetGCPercent(100)
	debug.SetGCPercent(pct)
	defer debug.SetGCPercent(pct)
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	TuneGC()
	for _, jobs := range []int{1, 2} {
		b.Run(fmt.Sprintf("jobs=%d", jobs), func(b *testing.B) {
			s := benchSpec(b, body)
			runs, err := s.Expand()
			if err != nil {
				b.Fatal(err)
			}
			if len(runs) != 200 {
				b.Fatalf("%d runs", len(runs))
			}
			var cpu time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				d, err := Write(b.TempDir(), s, runs)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				c0 := cpuTime()
				res, err := d.RunLocal(context.Background(), jobs, SimRunner, nil)
				cpu += cpuTime() - c0
				if err != nil || len(res.Failed) > 0 || res.Done != 200 {
					b.Fatalf("%+v %v", res, err)
				}
			}
			b.ReportMetric(float64(200*b.N)/b.Elapsed().Seconds(), "runs/s")
			// How many cores the pool kept busy: the process's CPU time
			// (user and system) over the wall time.
			b.ReportMetric(cpu.Seconds()/b.Elapsed().Seconds(), "cores")
		})
	}
}

// BenchmarkExpand100k expands a sweep of 100,000 runs (2 policies × 5
// thresholds × 10,000 seeds) into a directory: parse, expand, check one
// run per cell, write runs.jsonl and the base once.
func BenchmarkExpand100k(b *testing.B) {
	body := "base: BASE\nmatrix:\n  policy.name: [balance, greedy-cv]\n  policy.threshold: [0.1, 0.2, 0.3, 0.4, 0.5]\n  seed: [1..10000]\n"
	var written int64
	for i := 0; i < b.N; i++ {
		s := benchSpec(b, body)
		runs, err := s.Expand()
		if err != nil {
			b.Fatal(err)
		}
		if len(runs) != 100_000 {
			b.Fatalf("%d runs", len(runs))
		}
		if err := s.Check(runs); err != nil {
			b.Fatal(err)
		}
		dir := b.TempDir()
		if _, err := Write(dir, s, runs); err != nil {
			b.Fatal(err)
		}
		written = 0
		filepath.Walk(dir, func(_ string, fi os.FileInfo, _ error) error {
			if fi != nil && !fi.IsDir() {
				written += fi.Size()
			}
			return nil
		})
	}
	b.ReportMetric(float64(written)/(1<<20), "MiB-written")
}

func benchSpec(b *testing.B, body string) *Spec {
	b.Helper()
	abs, err := filepath.Abs("../scenarios/examples/small.yaml")
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	f := filepath.Join(dir, "sweep.yaml")
	if err := os.WriteFile(f, []byte(fmt.Sprintf("%s", replaceBase(body, abs))), 0o644); err != nil {
		b.Fatal(err)
	}
	s, err := Load(f)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func replaceBase(body, base string) string {
	return "base: " + base + body[len("base: BASE"):]
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
