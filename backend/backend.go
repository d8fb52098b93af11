// Package backend is the boundary between the scheduler's Core and a world
// it acts on: the simulator or real libvirt hosts. Both speak the same
// snapshots, commands, events and sentinel errors, and both pass the
// conformance specs in backendtest.
package backend

import (
	"context"

	"github.com/droverlab/drover/scheduler/cluster"
)

// Backend is a world migrations happen in.
type Backend interface {
	// Snapshot returns the cluster as it is now. The caller owns the
	// result; the backend never changes it afterwards. Errors:
	// cluster.ErrHostUnreachable when a host cannot be asked (the snapshot
	// is not partial: it fails whole).
	Snapshot(ctx context.Context) (*cluster.Snapshot, error)
	// Apply carries out commands in order. A command that the world
	// refuses (unknown VM, destination full, mixed security at the daemon)
	// is answered by a MigrationDone event with outcome rejected or
	// failed (its Err wrapping cluster.ErrNotFound for an unknown VM or
	// host), not by an error; an error is a fault of the backend itself
	// (cluster.ErrUnknownCommand for a command it cannot carry out), and
	// commands after it were not carried out.
	Apply(ctx context.Context, cmds []cluster.Command) error
	// Subscribe sets the sink that receives every event from then on, in
	// order, one at a time. The simulator calls it synchronously from its
	// event loop; a real backend from one goroutine of its own.
	Subscribe(sink func(cluster.Event))
}
