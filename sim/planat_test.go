package sim_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/scenarios"
	"github.com/droverlab/drover/scheduler"
	"github.com/droverlab/drover/scheduler/policy"
	"github.com/droverlab/drover/scheduler/registry"
	"github.com/droverlab/drover/sim"
)

// drover plan --at T must see the cluster as the simulation has it at T:
// an evacuation or a disaster plan made at T on SnapshotAt is the plan the
// simulator's own Core made at T, move for move, on every bundled scenario.
var _ = Describe("Planning at an instant", func() {
	files, err := filepath.Glob("../scenarios/examples/*.yaml")
	if err != nil || len(files) == 0 {
		panic(fmt.Sprint("no bundled scenarios: ", err))
	}
	for _, f := range files {
		It("plans at T what the simulator planned at T: "+filepath.Base(f), func() {
			if _, err := os.Stat(f); err != nil {
				Skip(err.Error())
			}
			sc, err := scenarios.Load(f)
			Expect(err).NotTo(HaveOccurred())
			res, err := sim.RunFull(sc, sim.Options{})
			Expect(err).NotTo(HaveOccurred())

			// The simulator's plans, by the instant and policy they were
			// made at, as VM -> destination.
			type key struct {
				at     time.Duration
				policy string
			}
			planned := map[key][]string{}
			planAt := map[int]key{}
			for _, r := range res.Journal {
				if r.Kind == scheduler.RecMove && r.Move != nil && (r.Policy == "evacuate" || r.Policy == "disaster") {
					k, ok := planAt[r.Plan]
					if !ok {
						k = key{r.At, r.Policy}
						planAt[r.Plan] = k
					}
					planned[k] = append(planned[k], r.Move.VM+"->"+r.Move.Destination)
				}
			}
			cfg, err := scheduler.NewConfig(sc.Policy, sc.Migration)
			Expect(err).NotTo(HaveOccurred())
			checked := 0
			for k, want := range planned {
				in := &policy.Input{Now: k.at, Settings: cfg.Settings}
				for _, e := range sc.Events {
					if e.At != k.at {
						continue
					}
					switch {
					case k.policy == "evacuate" && e.Kind == scenarios.EventMaintenance:
						in.Drain = append(in.Drain, e.Host)
					case k.policy == "disaster" && e.Kind == scenarios.EventDisasterWarning:
						in.Zone, in.Deadline = e.Zone, e.FailsAt
					}
				}
				if len(in.Drain) == 0 && in.Zone == "" {
					continue // a retry's or a later round's plan: not one an operator asks for at T
				}
				snap, err := sim.SnapshotAt(sc, k.at, sim.Options{})
				Expect(err).NotTo(HaveOccurred())
				in.Snap = snap
				pol, err := registry.New(k.policy, sc.Policy.Settings(k.policy))
				Expect(err).NotTo(HaveOccurred())
				p, err := pol.Plan(in)
				Expect(err).NotTo(HaveOccurred())
				var got []string
				for _, m := range p.Moves {
					got = append(got, m.VM+"->"+m.Destination)
				}
				slices.Sort(got)
				slices.Sort(want)
				Expect(strings.Join(got, " ")).To(Equal(strings.Join(want, " ")), "%s plan at %s", k.policy, k.at)
				checked++
			}
			AddReportEntry(filepath.Base(f), fmt.Sprintf("%d plans compared", checked))
		})
	}
})
