package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/droverlab/drover/profiles"
	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/precopy"
	"github.com/droverlab/drover/units"
)

func predictCmd() *cobra.Command {
	var (
		memory, resident, wss, dirty, bandwidth, bwCap, link string
		cfg                                                  precopy.Config
		onLimit, profile, accel                              string
		rounds                                               bool
	)
	c := &cobra.Command{
		Use:   "predict --memory SIZE --dirty-rate RATE --bandwidth RATE [flags]",
		Short: "Run one migration through the pre-copy model and print the prediction as JSON",
		Long:  "Runs one migration through the pre-copy model (the one plan and sim use) and prints the prediction as JSON.\n\n" + predictFieldsDoc(),
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var w precopy.Workload
			var err error
			size := func(flag, s string, def int64) int64 {
				if s == "" || err != nil {
					return def
				}
				v, e := units.ParseSize(s)
				if e != nil {
					err = fmt.Errorf("--%s: %w", flag, e)
				}
				return v
			}
			rate := func(flag, s string) float64 {
				if s == "" || err != nil {
					return 0
				}
				v, e := units.ParseRate(s, 4096)
				if e != nil {
					err = fmt.Errorf("--%s: %w", flag, e)
				}
				return v
			}
			w.Memory = size("memory", memory, 0)
			w.Resident = size("resident", resident, w.Memory)
			w.WSS = size("wss", wss, w.Resident/4)
			w.DirtyRate = rate("dirty-rate", dirty)
			bw := rate("bandwidth", bandwidth)
			cfg.BandwidthCap = rate("bandwidth-cap", bwCap)
			cfg.LinkRate = rate("link", link)
			if err != nil {
				return err
			}
			if w.Memory <= 0 {
				return fmt.Errorf("--memory is required")
			}
			if bw <= 0 {
				return fmt.Errorf("--bandwidth is required")
			}
			if err := w.Validate(); err != nil {
				return err
			}
			cfg.OnLimit = cluster.OnLimit(onLimit)
			switch cfg.OnLimit {
			case cluster.LimitAbort, cluster.LimitForce, cluster.LimitPostcopy:
			default:
				return fmt.Errorf("--on-limit: want abort, force or postcopy, got %q", onLimit)
			}
			if profile != "" {
				p, err := loadProfile(profile)
				if err != nil {
					return err
				}
				cfg.Profile = p
			}
			switch accel {
			case "kvm", "tcg":
			default:
				return fmt.Errorf("--accel: want kvm or tcg, got %q", accel)
			}
			cfg = cfg.WithDefaults().For(accel == "tcg")
			// A stream granted less than its cap is bound by its path and
			// keeps the path's queue full; without a cap, --bandwidth is
			// taken to be the migration's own rate, as most callers mean it.
			cfg.Bound = cfg.BandwidthCap
			res := precopy.Predict(w, cfg, bw)
			if !rounds {
				res.Rounds = nil
			}
			// The model's own error on migrations outside its fit gives the
			// 80% interval of the total time.
			prof := cfg.Profile
			t := float64(res.TotalTime) / 1e6
			b, err := json.Marshal(res)
			if err != nil {
				return err
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				return err
			}
			m["total_time_interval_ms"] = [2]float64{t * max(0, 1-prof.Spread()), t * (1 + prof.Spread())}
			m["profile"] = prof.Name
			m["accel"] = accel
			if o := prof.Overhead(cfg.TLS); o > 0 {
				// What an operator waits for: libvirt's phases outside
				// the job it reports.
				m["wall_time_ms"] = t + float64(o)/1e6
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(m)
		},
	}
	f := c.Flags()
	f.StringVar(&memory, "memory", "", "guest memory (e.g. 4GiB)")
	f.StringVar(&resident, "resident", "", "non-zero memory (default: all of it)")
	f.StringVar(&wss, "wss", "", "writable working set (default: resident/4)")
	f.StringVar(&dirty, "dirty-rate", "0", "dirty rate (e.g. 200MiB/s or 5000pages/s)")
	f.StringVar(&bandwidth, "bandwidth", "", "bandwidth the migration gets (e.g. 10Gbit/s)")
	f.StringVar(&bwCap, "bandwidth-cap", "", "per-migration bandwidth cap, as libvirt's")
	f.DurationVar(&cfg.DowntimeLimit, "downtime-limit", 300*time.Millisecond, "downtime limit")
	f.DurationVar(&cfg.SwitchoverCost, "switchover-cost", 0, "fixed paused cost of switch-over (0: the profile's)")
	f.DurationVar(&cfg.SetupTime, "setup-time", 0, "fixed setup time (0: the profile's)")
	f.StringVar(&profile, "profile", "", "calibration profile: a built-in name or a profile file (default "+precopy.DefaultProfileName+")")
	f.StringVar(&accel, "accel", "kvm", "how QEMU runs the guest: kvm, or tcg (emulated), which takes the profile's TCG half (the default's is qemu10-tcg-lab)")
	f.DurationVar(&cfg.Latency, "latency", 0, "one-way network latency")
	f.StringVar(&link, "link", "", "what the path carries without a cap, bounding the unthrottled final copy (e.g. 10Gbit/s)")
	f.IntVar(&cfg.MaxIterations, "max-iterations", 0, "pre-copy rounds before the limit action (0: none)")
	f.DurationVar(&cfg.CompletionTimeoutPerGiB, "completion-timeout-per-gib", 0, "completion timeout per GiB of memory (0: none)")
	f.DurationVar(&cfg.ProgressTimeout, "progress-timeout", 0, "progress timeout (0: none)")
	f.StringVar(&onLimit, "on-limit", "abort", "at a limit: abort, force or postcopy")
	f.BoolVar(&cfg.AutoConverge, "auto-converge", false, "throttle the guest when it dirties faster than pages are sent")
	f.BoolVar(&rounds, "rounds", false, "include every round in the output")
	f.BoolVar(&cfg.TLS, "tls", false, "the stream is encrypted (QEMU native TLS): the profile's TLS stream rate and overhead apply")
	return c
}

// loadProfile reads a profile by built-in name or from a file.
func loadProfile(name string) (precopy.Profile, error) {
	p, err := profiles.LoadProfile(name, "")
	if err != nil {
		return precopy.Profile{}, fmt.Errorf("--profile: %w", err)
	}
	return p, nil
}

// predictFields documents every field predict prints, in the order of the
// output (keys sorted); round fields appear inside "rounds" with --rounds.
// A test checks that nothing printed is missing here.
var predictFields = []struct{ key, doc string }{
	{"accel", "how QEMU runs the guest (--accel): tcg predicts with the profile's TCG half, when it has one"},
	{"converged", "true when pre-copy converged and the switch-over went as planned (outcome completed)"},
	{"downtime_ms", "how long the guest is paused: the final copy plus the switch-over cost; 0 if aborted"},
	{"iterations", "pre-copy rounds run before the final stop-and-copy (a round a limit cut short counts)"},
	{"outcome", "completed, forced (a limit forced the switch-over), postcopy (a limit switched to post-copy) or aborted"},
	{"profile", "the calibration profile the prediction was made with (--profile)"},
	{"reason", "the limit that ended a migration that did not complete: max-iterations, completion-timeout or progress-timeout"},
	{"rounds", "every pre-copy round with --rounds (index, start_ms, duration_ms, bytes, dirtied, throttle, partial); [] without"},
	{"rounds[].index", "the round's number, from 1"},
	{"rounds[].start_ms", "when the round started, from the start of the migration"},
	{"rounds[].duration_ms", "how long the round took"},
	{"rounds[].bytes", "bytes sent in the round, page headers and zero-page markers included"},
	{"rounds[].dirtied", "bytes the guest dirtied during the round: what the next round must send"},
	{"rounds[].throttle", "the auto-converge throttle in force during the round, 0 to 0.99"},
	{"rounds[].partial", "set on a round cut short by a limit or an abort"},
	{"throttle", "the auto-converge throttle at the end (0: never throttled), 0 to 0.99"},
	{"total_time_interval_ms", "the 80 % interval of total_time_ms: the profile's error on migrations it was not fitted on"},
	{"total_time_ms", "from the start of the migration to the guest running on the destination, as libvirt's job counts it"},
	{"transferred_bytes", "bytes sent over the network in all, every round and the final copy"},
	{"wall_time_ms", "total_time_ms plus libvirt's own phases outside its job (begin, prepare, confirm), when the profile measured them: what an operator waits for"},
}

func predictFieldsDoc() string {
	var b strings.Builder
	b.WriteString("Fields (times in milliseconds, sizes in bytes):\n")
	for _, f := range predictFields {
		fmt.Fprintf(&b, "  %-24s %s\n", f.key, f.doc)
	}
	return strings.TrimRight(b.String(), "\n")
}
