// Package consolidate packs VMs onto fewer hosts so the emptied ones can be
// powered down. Off by default: it trades headroom and migrations for
// energy. A host is emptied only if all of its VMs find a home; otherwise
// nothing of it moves.
package consolidate

// Args tune consolidation.
type Args struct {
	// TargetCPU and TargetMemory cap a receiving host's utilisation.
	TargetCPU    float64
	TargetMemory float64
	// MaxHosts caps hosts emptied per run.
	MaxHosts int
}
