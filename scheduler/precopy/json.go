package precopy

import (
	"encoding/json"
	"math"
	"time"

	"github.com/droverlab/drover/scheduler/cluster"
)

// Durations travel as float milliseconds, as everywhere in drover's reports.
type resultJSON struct {
	TotalTimeMS      float64         `json:"total_time_ms"`
	DowntimeMS       float64         `json:"downtime_ms"`
	Iterations       int             `json:"iterations"`
	TransferredBytes int64           `json:"transferred_bytes"`
	Converged        bool            `json:"converged"`
	Outcome          cluster.Outcome `json:"outcome"`
	Reason           string          `json:"reason,omitempty"`
	Throttle         float64         `json:"throttle"`
	Rounds           []Round         `json:"rounds"`
}

type roundJSON struct {
	Index      int     `json:"index"`
	StartMS    float64 `json:"start_ms"`
	DurationMS float64 `json:"duration_ms"`
	Bytes      int64   `json:"bytes"`
	Dirtied    int64   `json:"dirtied"`
	Throttle   float64 `json:"throttle"`
	Partial    bool    `json:"partial,omitempty"`
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

func fromMS(v float64) time.Duration { return time.Duration(math.Round(v * 1e6)) }

// MarshalJSON writes r with durations in float milliseconds; rounds is
// always an array, never null.
func (r Result) MarshalJSON() ([]byte, error) {
	rounds := r.Rounds
	if rounds == nil {
		rounds = []Round{}
	}
	return json.Marshal(resultJSON{
		TotalTimeMS:      ms(r.TotalTime),
		DowntimeMS:       ms(r.Downtime),
		Iterations:       r.Iterations,
		TransferredBytes: r.TransferredBytes,
		Converged:        r.Converged,
		Outcome:          r.Outcome,
		Reason:           r.Reason,
		Throttle:         r.Throttle,
		Rounds:           rounds,
	})
}

// UnmarshalJSON reads what MarshalJSON writes, to the nanosecond.
func (r *Result) UnmarshalJSON(b []byte) error {
	var v resultJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*r = Result{
		TotalTime:        fromMS(v.TotalTimeMS),
		Downtime:         fromMS(v.DowntimeMS),
		Iterations:       v.Iterations,
		TransferredBytes: v.TransferredBytes,
		Converged:        v.Converged,
		Outcome:          v.Outcome,
		Reason:           v.Reason,
		Throttle:         v.Throttle,
		Rounds:           v.Rounds,
	}
	return nil
}

// MarshalJSON writes a round with times in float milliseconds.
func (r Round) MarshalJSON() ([]byte, error) {
	return json.Marshal(roundJSON{
		Index:      r.Index,
		StartMS:    ms(r.Start),
		DurationMS: ms(r.Duration),
		Bytes:      r.Bytes,
		Dirtied:    r.Dirtied,
		Throttle:   r.Throttle,
		Partial:    r.Partial,
	})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (r *Round) UnmarshalJSON(b []byte) error {
	var v roundJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*r = Round{
		Index:    v.Index,
		Start:    fromMS(v.StartMS),
		Duration: fromMS(v.DurationMS),
		Bytes:    v.Bytes,
		Dirtied:  v.Dirtied,
		Throttle: v.Throttle,
		Partial:  v.Partial,
	}
	return nil
}
