//go:build !linux

package sweep

// totalMemory is unknown here: TuneGC sets no memory limit.
func totalMemory() uint64 { return 0 }
