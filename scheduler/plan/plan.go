// Package plan is what a policy proposes: which VM moves where, in what
// order, with which options, and what the model predicts of it. Plans are
// data; the scheduler's Core carries them out, and Schedule times them under
// the same limits the Core enforces.
package plan

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/framework"
)

// Move is one planned migration.
type Move struct {
	// ID is unique within the plan, from 1, and is the move's key in the
	// journal.
	ID          int               `json:"id"`
	VM          string            `json:"vm"`
	Source      string            `json:"source"`
	Destination string            `json:"destination"`
	Transport   cluster.Transport `json:"transport"`
	// Bandwidth caps this migration in bytes/s (0: none).
	Bandwidth     float64       `json:"bandwidth,omitempty"`
	DowntimeLimit time.Duration `json:"downtime_limit,omitempty"`
	Priority      int           `json:"priority,omitempty"`
	// After lists moves that must finish first: they free the room this
	// one needs on its destination.
	After  []int  `json:"after,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Via lists the hosts a planning round placed the VM on before
	// Destination, in order: CloudSim's consolidation round can place a
	// VM off an overloaded host and then move it on again while
	// evacuating an underloaded one, and runs both migrations. Only
	// migration.model cloudsim acts on it (each a migration of its own to
	// that host, run beside this one); everything else moves the VM once,
	// straight to Destination.
	Via []string `json:"via,omitempty"`

	Predicted Prediction `json:"predicted"`
}

// Prediction is what Schedule expects of a move.
type Prediction struct {
	Start    time.Duration   `json:"start"`
	End      time.Duration   `json:"end"`
	Downtime time.Duration   `json:"downtime"`
	Bytes    int64           `json:"bytes"`
	Outcome  cluster.Outcome `json:"outcome"`
	// Reason is the limit that ends a move predicted not to complete.
	Reason string `json:"reason,omitempty"`
	// Low and High bound the move's duration (End − Start) with 80%
	// confidence: the profile's held-out error, widened by the bounds of
	// a live VM's measured working set and dirty rate.
	Low  time.Duration `json:"low,omitempty"`
	High time.Duration `json:"high,omitempty"`
	// Rate is the most the move's stream was predicted to get (bytes/s):
	// its cap, the path's speed or the rate these hosts achieve (the
	// profile's stream rate), whichever is least; 0 when unbounded.
	Rate float64 `json:"rate,omitempty"`
	// Late is set when the move would end after the plan's deadline.
	Late bool `json:"late,omitempty"`
}

// Limits bound how many migrations run at once. Zero means no limit.
type Limits struct {
	MaxParallel   int `json:"max_parallel"`
	MaxPerHostOut int `json:"max_per_host_out"`
	MaxPerHostIn  int `json:"max_per_host_in"`
	// Batch starts moves in batches and waits for a whole batch to end
	// before the next, as KubeVirt and ProxLB do; kept as a baseline.
	Batch bool `json:"batch,omitempty"`
}

// Or fills the zero fields of l from d: settings that name a limit win,
// the policy's defaults fill the rest.
func (l Limits) Or(d Limits) Limits {
	if l.MaxParallel == 0 {
		l.MaxParallel = d.MaxParallel
	}
	if l.MaxPerHostOut == 0 {
		l.MaxPerHostOut = d.MaxPerHostOut
	}
	if l.MaxPerHostIn == 0 {
		l.MaxPerHostIn = d.MaxPerHostIn
	}
	l.Batch = l.Batch || d.Batch
	return l
}

// Unplaced is a VM the policy wanted to move but could not.
type Unplaced struct {
	VM       string `json:"vm"`
	Host     string `json:"host"`
	Priority int    `json:"priority,omitempty"`
	Reason   string `json:"reason"`
}

// Plan is an ordered set of moves: the order is the order of dispatch.
type Plan struct {
	Policy string `json:"policy"`
	// At is when the plan was made; predictions are relative to it.
	At       time.Duration `json:"at"`
	Deadline time.Duration `json:"deadline,omitempty"`
	Limits   Limits        `json:"limits"`
	Moves    []Move        `json:"moves"`
	Unplaced []Unplaced    `json:"unplaced,omitempty"`
	// Makespan is the predicted time from the first start to the last end;
	// LowerBound no schedule can beat (the busiest NIC's bytes over its
	// bandwidth).
	Makespan   time.Duration `json:"makespan"`
	LowerBound time.Duration `json:"lower_bound"`
	// BoundBy names the term that sets LowerBound: a NIC ("nic h1"), a
	// shared link, or one of the plan's limits on migrations in flight.
	BoundBy  string        `json:"bound_by,omitempty"`
	Bytes    int64         `json:"bytes"`
	Downtime time.Duration `json:"total_downtime"`
	// Imbalance before and after, for balancing policies.
	ImbalanceBefore float64 `json:"imbalance_before,omitempty"`
	ImbalanceAfter  float64 `json:"imbalance_after,omitempty"`
	// Rejections explain refused hosts (only with --explain).
	Rejections []framework.Rejection `json:"rejections,omitempty"`
	// Basis is the live cluster the plan was made on (plan --inventory),
	// for apply to check it is still current; nil for plans made on a
	// scenario file.
	Basis *Basis `json:"basis,omitempty"`
}

// Move returns the move with id, or nil.
func (p *Plan) Move(id int) *Move {
	for i := range p.Moves {
		if p.Moves[i].ID == id {
			return &p.Moves[i]
		}
	}
	return nil
}

// WriteJSON writes the plan as indented JSON.
func (p *Plan) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(p)
}

// ReadJSON reads a plan written by WriteJSON.
func ReadJSON(r io.Reader) (*Plan, error) {
	var p Plan
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}
	return &p, nil
}

// WriteTable prints the plan as a table with its totals.
func (p *Plan) WriteTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "id\tvm\tsource\tdestination\ttransport\tstart\tend\tduration 80%\tdowntime\tbytes\toutcome\tafter\t")
	for _, m := range p.Moves {
		after := ""
		if len(m.After) > 0 {
			after = strings.Trim(fmt.Sprint(m.After), "[]")
		}
		outcome := m.Predicted.Outcome
		if m.Predicted.Late {
			outcome += " LATE"
		}
		span := "-"
		if m.Predicted.High > 0 {
			span = fmt.Sprintf("%s..%s", round(m.Predicted.Low), round(m.Predicted.High))
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", m.ID, m.VM, m.Source, m.Destination, m.Transport,
			round(m.Predicted.Start), round(m.Predicted.End), span, m.Predicted.Downtime.Round(time.Millisecond),
			mib(m.Predicted.Bytes), outcome, after)
	}
	tw.Flush()
	by := ""
	if p.BoundBy != "" {
		by = " set by " + p.BoundBy
	}
	fmt.Fprintf(w, "\n%s: %d moves, %s, makespan %s (lower bound %s%s, ratio %.2f), total downtime %s\n",
		p.Policy, len(p.Moves), mib(p.Bytes), round(p.Makespan), round(p.LowerBound), by, p.Ratio(),
		p.Downtime.Round(time.Millisecond))
	if p.Deadline > 0 {
		met := "met"
		if p.Makespan > p.Deadline-p.At {
			met = "MISSED"
		}
		fmt.Fprintf(w, "deadline %s: %s\n", round(p.Deadline-p.At), met)
	}
	if p.ImbalanceBefore > 0 || p.ImbalanceAfter > 0 {
		fmt.Fprintf(w, "imbalance %.4f -> %.4f\n", p.ImbalanceBefore, p.ImbalanceAfter)
	}
	if len(p.Unplaced) > 0 {
		fmt.Fprintf(w, "%d VMs not moved:\n", len(p.Unplaced))
		for _, u := range p.Unplaced {
			fmt.Fprintf(w, "  %s on %s: %s\n", u.VM, u.Host, u.Reason)
		}
	}
}

// Ratio is makespan over lower bound (0 without a bound).
func (p *Plan) Ratio() float64 {
	if p.LowerBound <= 0 {
		return 0
	}
	return float64(p.Makespan) / float64(p.LowerBound)
}

func round(d time.Duration) time.Duration { return d.Round(100 * time.Millisecond) }

func mib(b int64) string { return fmt.Sprintf("%.0fMiB", float64(b)/(1<<20)) }
