package sweep

import (
	"os"
	"runtime/debug"
)

// gcPercent is the collector's target in a process that only runs a
// sweep's runs. A small run's live heap is a few MiB and all of it dies
// with the run, so at Go's default of 100 the collector ran every few
// MiB allocated, and at --jobs 1 its background work took a fifth of the
// second core (BENCHMARKS.md, "Sweeps").
const gcPercent = 400

// TuneGC sets the collector for a process that runs a sweep's runs: less
// often (gcPercent), but never letting the heap past half the machine's
// memory (a sweep of 10,000-host days must not grow its heap four-fold;
// near the limit the collector runs as often as it must). GOGC and
// GOMEMLIMIT, when set, win.
func TuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		if total := totalMemory(); total > 0 {
			debug.SetMemoryLimit(int64(total / 2))
		}
	}
}
