// Package calibrate fits a precopy.Profile to real migrations and says how
// well it predicts migrations it was not fitted on.
//
// Measurements come as the CSV that e2e/lab/calibrate.sh writes (libvirt's
// completed job statistics beside the guest's own dirty rate). The fit is
// least squares on relative errors of total time and bytes and on downtime
// in units of 30 ms, by Nelder-Mead (gonum/optimize) over the profile's free
// parameters. Accuracy is k-fold: each fold is predicted by a profile fitted
// on the other folds only.
package calibrate

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/gonum/optimize"
	"gonum.org/v1/gonum/stat"

	"github.com/droverlab/drover/reports"
	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/network"
	"github.com/droverlab/drover/scheduler/plan"
	"github.com/droverlab/drover/scheduler/precopy"
)

// Point is one measured migration.
type Point struct {
	ID       string
	Workload precopy.Workload
	Cap      float64 // libvirt's bandwidth cap, bytes/s, 0 if none
	Conc     int     // migrations sharing the link (1: alone)
	Link     float64 // the shaped link's rate, bytes/s, 0 if none
	Path     float64 // what the hosts' NICs offer one stream, bytes/s, 0 if unbounded
	TLS      bool    // QEMU native TLS
	// Group is where the point came from (a table, a run): CrossValidate
	// with byGroup holds each group out whole.
	Group string
	// TCG says the guest was emulated. A table does not record it (the
	// caller knows how its grid ran); a report's inputs do.
	TCG bool

	TimeMS, DowntimeMS float64 // libvirt's job time (time_elapsed) and downtime
	WallMS             float64 // the whole call on the wall clock, 0 if unknown
	Bytes              float64
	Iterations         int

	// Batch is every migration started together with this one on its
	// shaped link, this one included as Batch[Member]; nil for one alone.
	// Only their inputs count: what they are predicted to do decides
	// when this one gets the link to itself.
	Batch  []Point
	Member int
}

// Read parses measurements.csv; rows with ok != 1 are skipped.
func Read(r io.Reader) ([]Point, error) {
	rows, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return nil, err
	}
	if len(rows) < 2 {
		return nil, errors.New("calibrate: no measurements")
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, need := range []string{"id", "mem_mib", "wss_bytes", "guest_rate_bps", "cap_mibs", "time_ms", "downtime_ms", "data_processed", "iterations", "normal_pages", "page_size", "ok"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("calibrate: column %q missing", need)
		}
	}
	var pts []Point
	for n, row := range rows[1:] {
		f := func(name string) float64 {
			i, ok := col[name]
			if !ok || i >= len(row) || row[i] == "" {
				return 0
			}
			v, e := strconv.ParseFloat(row[i], 64)
			if e != nil && err == nil {
				err = fmt.Errorf("calibrate: line %d: %s: %v", n+2, name, e)
			}
			return v
		}
		if f("ok") != 1 {
			continue
		}
		mem := int64(f("mem_mib")) << 20
		p := Point{
			ID: row[col["id"]],
			Workload: precopy.Workload{
				Memory:    mem,
				Resident:  min(mem, resident(f)),
				WSS:       min(mem, int64(f("wss_bytes"))),
				DirtyRate: f("guest_rate_bps"),
			},
			Cap:        f("cap_mibs") * (1 << 20),
			TLS:        col["transport"] < len(row) && cluster.Transport(row[col["transport"]]) == cluster.TransportTLS,
			Conc:       max(1, int(f("conc"))),
			Link:       f("link_mibs") * (1 << 20),
			TimeMS:     f("time_ms"),
			WallMS:     f("wall_ms"),
			DowntimeMS: f("downtime_ms"),
			Bytes:      f("data_processed"),
			Iterations: int(f("iterations")),
		}
		pts = append(pts, p)
	}
	return batches(pts), err
}

// batches sets Batch on pts' concurrent migrations: a grid writes a batch
// as Conc consecutive rows of one configuration (one ID but for its
// trailing number) on a shaped link. A member whose row was skipped (not
// ok) is missing from its batch: what it did to the link is unknown.
func batches(pts []Point) []Point {
	config := func(p Point) string {
		if i := strings.LastIndexByte(p.ID, '-'); i > 0 {
			return p.ID[:i]
		}
		return p.ID
	}
	for i := 0; i < len(pts); {
		p := pts[i]
		if p.Conc <= 1 || p.Link <= 0 {
			i++
			continue
		}
		j := i + 1
		for j < len(pts) && j-i < p.Conc && pts[j].Conc == p.Conc && pts[j].Link == p.Link && config(pts[j]) == config(p) {
			j++
		}
		batch := slices.Clone(pts[i:j])
		for m := i; m < j; m++ {
			pts[m].Batch, pts[m].Member = batch, m-i
		}
		i = j
	}
	return pts
}

// resident is the guest's non-zero memory when the migration began: every
// page of the first pass that was not sent as a zero page. libvirt's
// "normal pages" will not do: it counts every page sent, so a dirtying
// guest's re-sent pages would swell its resident set (and the first pass)
// by exactly the bytes the model must predict.
func resident(f func(string) float64) int64 {
	page := f("page_size")
	if total, zero := f("data_total"), f("constant_pages"); page > 0 && total > 0 {
		return int64((math.Floor(total/page) - zero) * page)
	}
	return int64(f("normal_pages") * page)
}

// Predict is the model's figures for p under prof: alone, at what its
// stream may use (the cap, the path, the profile's stream rate); one of a
// batch on a shaped link, stepped with its batch (PredictBatch); sharing a
// link with a batch it does not know, at its fair share of it.
func Predict(p Point, prof precopy.Profile) precopy.Result {
	if len(p.Batch) > 1 {
		return PredictBatch(p.Batch, prof)[p.Member]
	}
	bw, _, c := config(p, prof)
	if p.Link > 0 {
		if share := p.Link / float64(p.Conc); bw <= 0 || share < bw {
			bw = share
		}
	}
	return precopy.Predict(p.Workload, c, bw)
}

// config is what p's stream may use alone (its cap, the path, the
// profile's stream rate), what its unthrottled final copy may use, and
// its model's configuration.
func config(p Point, prof precopy.Profile) (bw, link float64, c precopy.Config) {
	bw, link = prof.Stream(p.Path, p.Cap, p.TLS)
	if p.Link > 0 && (link <= 0 || p.Link < link) {
		link = p.Link
	}
	c = precopy.Config{Profile: prof, BandwidthCap: p.Cap, LinkRate: link, TLS: p.TLS, Bound: prof.Bound(p.Cap, p.TLS)}
	// Sharing a link, the final copy gets its share too, as in the
	// simulator: the other streams are still sending.
	c.CopyShared = p.Link > 0
	return bw, link, c
}

// PredictBatch is the model's figures for migrations started together
// between two hosts over one shaped link (pts[0].Link), in pts' order:
// stepped together as plan timing and the simulator step them, each
// holding a max-min fair share of the link while it sends, so that one
// finishing leaves the others more, and the last to switch over drains
// its queue at the whole link. The result does not depend on pts' order.
func PredictBatch(pts []Point, prof precopy.Profile) []precopy.Result {
	net := network.New()
	net.AddNode("source")
	net.AddNode("destination")
	if err := net.AddLink("link", "source", "destination", pts[0].Link, 0); err != nil {
		panic(err) // Read sets Batch only on points with a link
	}
	route, err := net.Route("source", "destination")
	if err != nil {
		panic(err)
	}
	s := plan.NewStreams(net)
	for _, p := range pts {
		bw, _, c := config(p, prof)
		s.Start(precopy.NewStepper(p.Workload, c), route, bw)
	}
	for range pts {
		if _, ok := s.Next(); !ok {
			break // the rest never end: their results say so
		}
	}
	out := make([]precopy.Result, len(pts))
	for i := range pts {
		out[i] = s.Stepper(i).Result()
	}
	return out
}

// Start is where a fit starts when no base profile is given: small fixed
// costs, the cap as goodput, an unthrottled copy at a few times the cap.
var Start = func() precopy.Profile {
	p := precopy.DefaultProfile()
	p.SetupMS, p.Goodput, p.SyncMS, p.SwitchoverMS, p.FinishMS = 100, 1, 5, 15, 50
	p.FinalRate, p.DirtyFactor, p.Overlap, p.ZeroPageUS = 400<<20, 0, 1, 0
	p.TCG = nil
	return p
}()

// param is one fitted field of a profile: the optimiser sees it divided by
// scale (so that every coordinate moves on the order of 1) and folded into
// [lo, hi].
type param struct {
	name      string
	field     func(*precopy.Profile) *float64
	scale     float64
	lo, hi    float64
	notFitted bool
	// sigma is how far the parameter plausibly moves from one cluster of
	// the same kind to the next, in its own unit: what FitNear's prior
	// measures a refit's departure from its base in.
	sigma float64
}

var params = []param{
	{name: "setup_ms", field: func(p *precopy.Profile) *float64 { return &p.SetupMS }, scale: 100, hi: math.Inf(1), sigma: 300},
	{name: "goodput", field: func(p *precopy.Profile) *float64 { return &p.Goodput }, scale: 1, lo: 0.05, hi: 2, sigma: 0.05},
	{name: "goodput_tls", field: func(p *precopy.Profile) *float64 { return &p.GoodputTLS }, scale: 1, lo: 0.05, hi: 2, sigma: 0.05},
	{name: "sync_ms", field: func(p *precopy.Profile) *float64 { return &p.SyncMS }, scale: 10, hi: math.Inf(1), sigma: 10},
	{name: "switchover_ms", field: func(p *precopy.Profile) *float64 { return &p.SwitchoverMS }, scale: 10, hi: math.Inf(1), sigma: 20},
	{name: "finish_ms", field: func(p *precopy.Profile) *float64 { return &p.FinishMS }, scale: 100, hi: math.Inf(1), sigma: 100},
	{name: "final_rate", field: func(p *precopy.Profile) *float64 { return &p.FinalRate }, scale: 100 << 20, lo: 1 << 20, hi: math.Inf(1), sigma: 200 << 20},
	{name: "overlap", field: func(p *precopy.Profile) *float64 { return &p.Overlap }, scale: 1, hi: 1, sigma: 0.2},
	{name: "stream_rate", field: func(p *precopy.Profile) *float64 { return &p.StreamRate }, scale: 100 << 20, lo: 1 << 20, hi: math.Inf(1), sigma: 50 << 20},
	{name: "stream_rate_tls", field: func(p *precopy.Profile) *float64 { return &p.StreamRateTLS }, scale: 100 << 20, lo: 1 << 20, hi: math.Inf(1), sigma: 30 << 20},
	{name: "zero_page_us", field: func(p *precopy.Profile) *float64 { return &p.ZeroPageUS }, scale: 10, hi: math.Inf(1), sigma: 4},
}

// AllParams are the names of every fitted field; FewParams those a handful
// of migrations can pin down, which differ most from one cluster to the
// next: the fixed cost, the goodput, and from uncapped migrations the
// stream rates. (The zero pages' cost trades against the fixed cost unless
// the guests' empty memory varies widely: a grid, not a few runs.)
var (
	AllParams = func() []string {
		var n []string
		for _, p := range params {
			n = append(n, p.name)
		}
		return n
	}()
	FewParams = []string{"setup_ms", "goodput", "stream_rate", "stream_rate_tls"}
)

// uncapped reports whether p's stream was bound by nothing drover knows
// (no cap, no shaped link, no path rate): only the hosts' own stream rate.
func uncapped(p Point) bool { return p.Cap <= 0 && p.Link <= 0 && p.Path <= 0 }

// Learnable is names less what pts cannot teach: a stream rate without
// uncapped migrations of its transport, goodput when every migration is
// uncapped (it only scales granted rates), the TLS goodput without capped
// TLS migrations.
func Learnable(pts []Point, names []string) []string {
	_, n := uncappedRates(pts)
	cappedTLS := slices.ContainsFunc(pts, func(p Point) bool { return p.TLS && !uncapped(p) })
	var out []string
	for _, name := range names {
		switch i := slices.Index([]string{"stream_rate", "stream_rate_tls"}, name); {
		case name == "goodput" && n[0]+n[1] == len(pts):
		case name == "goodput_tls" && !cappedTLS:
		case i >= 0 && n[i] == 0:
		default:
			out = append(out, name)
		}
	}
	return out
}

// uncappedRates are the summed flowing rates (bytes over time) and the
// counts of pts' uncapped migrations, over TCP (0) and TLS (1).
func uncappedRates(pts []Point) (sum [2]float64, n [2]int) {
	for _, p := range pts {
		if uncapped(p) && p.TimeMS > 0 {
			i := 0
			if p.TLS {
				i = 1
			}
			sum[i] += p.Bytes / (p.TimeMS / 1000)
			n[i]++
		}
	}
	return sum, n
}

// seed is where a fit of names (learnable ones) on pts starts from base:
// each free stream rate set by a line search (from what its migrations
// averaged when base has none) and, when the zero pages' cost is free and
// base leaves it unknown, the best of a few costs, since the two trade
// against each other (both slow the first pass).
func seed(pts []Point, base precopy.Profile, names []string) precopy.Profile {
	if slices.Contains(names, "goodput_tls") && base.GoodputTLS <= 0 {
		// Unset means "as goodput": start the search there, at the best
		// of a few shares of it for the capped TLS migrations.
		var tls []Point
		for _, p := range pts {
			if p.TLS && !uncapped(p) {
				tls = append(tls, p)
			}
		}
		var shares []float64
		for _, f := range []float64{0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 1} {
			shares = append(shares, f*base.Goodput)
		}
		base, _ = bestOf(func(p precopy.Profile) float64 { return loss(tls, p) }, base, "goodput_tls", shares, math.Inf(1))
	}
	sum, n := uncappedRates(pts)
	rates := func(b precopy.Profile) precopy.Profile {
		for i, name := range []string{"stream_rate", "stream_rate_tls"} {
			if !slices.Contains(names, name) {
				continue
			}
			f := &b.StreamRate
			if i == 1 {
				f = &b.StreamRateTLS
			}
			if *f <= 0 {
				*f = sum[i] / float64(n[i])
			}
			lineSearch(pts, &b, f, i == 1)
		}
		return b
	}
	if !slices.Contains(names, "zero_page_us") || base.ZeroPageUS > 0 {
		return rates(base)
	}
	best, bestLoss := base, math.Inf(1)
	for _, us := range []float64{0, 1, 2, 4, 8, 16} {
		b := base
		b.ZeroPageUS = us
		b = rates(b)
		if l := loss(pts, b); l < bestLoss {
			best, bestLoss = b, l
		}
	}
	return best
}

// lineSearch sets the stream rate *f (a field of *base) to the one that
// predicts the uncapped migrations of one transport best, all else as in
// *base: the loss is a step function of a stream rate (the threshold, hence
// the syncs and the final copy, moves with it), so a Nelder-Mead run started
// a few MiB/s off stays in the wrong step. A log-spaced scan from a third to
// three times the start, then a finer one around the best, starts the fit
// in the right one.
func lineSearch(pts []Point, base *precopy.Profile, f *float64, tls bool) {
	var mine []Point
	for _, p := range pts {
		if uncapped(p) && p.TLS == tls {
			mine = append(mine, p)
		}
	}
	best, bestLoss := *f, math.Inf(1)
	try := func(r float64) {
		*f = r
		if l := loss(mine, *base); l < bestLoss {
			best, bestLoss = r, l
		}
	}
	lo, hi := *f/3, *f*3
	for _, span := range []float64{0, 0.1} {
		if span > 0 {
			lo, hi = best*(1-span), best*(1+span)
		}
		for i := range 61 {
			try(lo * math.Pow(hi/lo, float64(i)/60))
		}
	}
	*f = best
}

func pick(names []string) ([]param, error) {
	var out []param
	for _, n := range names {
		i := slices.IndexFunc(params, func(p param) bool { return p.name == n })
		if i < 0 {
			return nil, fmt.Errorf("calibrate: no fitted parameter %q (have %v)", n, AllParams)
		}
		out = append(out, params[i])
	}
	return out, nil
}

func toVec(p precopy.Profile, ps []param) []float64 {
	x := make([]float64, len(ps))
	for i, q := range ps {
		x[i] = *q.field(&p) / q.scale
	}
	return x
}

func fromVec(base precopy.Profile, ps []param, x []float64) precopy.Profile {
	p := base
	for i, q := range ps {
		*q.field(&p) = min(q.hi, max(q.lo, math.Abs(x[i])*q.scale))
	}
	return p
}

// loss is the fit's objective: squared relative errors of time and bytes,
// downtime in units of 30 ms (the goal's tolerance), and iterations. Time
// weighs most: it is what an operator plans a window on, and bytes alone
// would let goodput trade time for iterations.
func loss(pts []Point, prof precopy.Profile) float64 {
	var s float64
	for _, p := range pts {
		r := Predict(p, prof)
		if r.Outcome != cluster.OutcomeCompleted {
			s += 10
			continue
		}
		et := (ms(r.TotalTime.Seconds()) - p.TimeMS) / p.TimeMS
		eb := (float64(r.TransferredBytes) - p.Bytes) / p.Bytes
		// A downtime QEMU stretched to 600 ms (a host's hiccup at the
		// switch-over, nothing a model of the migration can know) would
		// outweigh every time error of the table: past 90 ms, an error
		// counts as 90 ms.
		ed := max(-3, min(3, (ms(r.Downtime.Seconds())-p.DowntimeMS)/30))
		ei := float64(r.Iterations-p.Iterations) / 4
		s += 4*huber(et) + eb*eb + 0.25*ed*ed + 0.1*ei*ei
	}
	return s / float64(len(pts))
}

func ms(s float64) float64 { return s * 1000 }

// huberDelta is where the time error's loss turns from square to linear.
const huberDelta = 0.05

// huber is the pseudo-Huber loss of a relative error, scaled to e² near 0:
// linear in the tails, so a few migrations a host slowed down cannot pull
// the fit off the many it did not (the goal is a median).
func huber(e float64) float64 {
	d := huberDelta
	return 2 * d * d * (math.Sqrt(1+(e/d)*(e/d)) - 1)
}

// Fit returns the profile that minimises loss on pts, every parameter
// free. The loss is a step function of the parameters (iterations are
// counted, syncs fall on window boundaries), so a single Nelder-Mead run
// stops in whichever step it starts in; Fit starts from base and from a
// fixed set of other points (setup cost and overlap, the two a wrong start
// traps) and keeps the best, which keeps it deterministic.
func Fit(pts []Point, base precopy.Profile) (precopy.Profile, error) {
	return FitParams(pts, base, AllParams)
}

// streamParams are what only uncapped migrations tell: how fast these
// hosts feed a stream.
var streamParams = []string{"stream_rate", "stream_rate_tls"}

// FitParams is Fit with only the named parameters free; the others keep
// base's values. With capped and uncapped migrations both, it fits in two
// stages: every other parameter on the capped ones, then the stream
// parameters on the uncapped ones with the rest held: one search over all
// of them at once lets the noisier uncapped migrations (TLS handshakes,
// CPU contention) pull the mechanism's parameters off what the capped ones
// pin down.
func FitParams(pts []Point, base precopy.Profile, names []string) (precopy.Profile, error) {
	return FitNear(pts, base, names, 0)
}

// FitNear is FitParams held near base: base counts as weight migrations'
// worth of evidence, each parameter's departure from it costing, per sigma,
// what a 5 % time error on each of them would. A refit on a cluster's
// first few runs then moves base as far as they show, and no further: on
// six lab migrations an unheld fit of setup and goodput traded one for the
// other (setup 5 ms, goodput 0.73) and predicted the rest of the day 19 %
// off, where base alone was 4 % off. weight 0 is FitParams.
func FitNear(pts []Point, base precopy.Profile, names []string, weight float64) (precopy.Profile, error) {
	// A fit is of the measured hosts alone: base's TCG half (the built-in
	// default's) would otherwise travel on and answer for them under TCG.
	base.TCG = nil
	if len(pts) == 0 {
		return base, errors.New("calibrate: nothing to fit")
	}
	var capped, free []Point
	for _, p := range pts {
		if uncapped(p) {
			free = append(free, p)
		} else {
			capped = append(capped, p)
		}
	}
	if len(capped) > 0 && len(free) > 0 {
		var first, second []string
		for _, n := range names {
			if slices.Contains(streamParams, n) {
				second = append(second, n)
			} else {
				first = append(first, n)
			}
		}
		prof, err := fitParams(capped, base, first, base, weight)
		if err != nil {
			return base, err
		}
		return fitParams(free, prof, second, base, weight)
	}
	return fitParams(pts, base, names, base, weight)
}

// priorUnit is the loss of one migration predicted 5 % off.
var priorUnit = 4 * huber(0.05)

func fitParams(pts []Point, base precopy.Profile, names []string, anchor precopy.Profile, weight float64) (precopy.Profile, error) {
	if len(pts) == 0 {
		return base, errors.New("calibrate: nothing to fit")
	}
	names = Learnable(pts, names)
	base = seed(pts, base, names)
	ps, err := pick(names)
	if err != nil || len(ps) == 0 {
		// Nothing left free (all held, or nothing these points can
		// teach): the base, as seeded, is the fit.
		return base, err
	}
	prior := func(p precopy.Profile) float64 {
		if weight <= 0 {
			return 0
		}
		var s float64
		for _, q := range ps {
			// A parameter the anchor never set (a stream rate first
			// learnt here) is free.
			if v0 := *q.field(&anchor); v0 > 0 && q.sigma > 0 {
				d := (*q.field(&p) - v0) / q.sigma
				s += d * d
			}
		}
		return weight / float64(len(pts)) * priorUnit * s
	}
	objective := func(p precopy.Profile) float64 { return loss(pts, p) + prior(p) }
	prob := optimize.Problem{Func: func(x []float64) float64 { return objective(fromVec(base, ps, x)) }}
	best, bestLoss := base, math.Inf(1)
	var firstErr error
	for _, start := range starts(base) {
		res, err := nelderMead(prob, toVec(start, ps))
		if res == nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if res.F < bestLoss {
			best, bestLoss = fromVec(base, ps, res.X), res.F
		}
	}
	if math.IsInf(bestLoss, 1) {
		return base, firstErr
	}
	if slices.Contains(names, "zero_page_us") {
		// The zero pages' cost trades against the fixed cost (both slow
		// every migration, the one in proportion to the guest's empty
		// memory): a run that settled on one rarely finds the other. Try
		// a few costs with the rest held, and search again from the best.
		var at precopy.Profile
		at, bestLoss = bestOf(objective, best, "zero_page_us", []float64{0, 2, 4, 8, 12, 16, 24}, bestLoss)
		if at != best {
			best = at
			if res, err := nelderMead(prob, toVec(at, ps)); res != nil && err == nil && res.F < bestLoss {
				best = fromVec(base, ps, res.X)
			}
		}
	}
	return best, nil
}

// nelderMead is one bounded local search from x.
func nelderMead(prob optimize.Problem, x []float64) (*optimize.Result, error) {
	return optimize.Minimize(prob, x, &optimize.Settings{MajorIterations: 400, FuncEvaluations: 3000}, &optimize.NelderMead{})
}

// bestOf sets the parameter called name to each of values in turn, all
// else as in b, and returns the profile with the lowest objective and its
// value, if it is below floor (b and floor otherwise).
func bestOf(objective func(precopy.Profile) float64, b precopy.Profile, name string, values []float64, floor float64) (precopy.Profile, float64) {
	field := params[slices.IndexFunc(params, func(q param) bool { return q.name == name })].field
	best := b
	for _, v := range values {
		c := b
		*field(&c) = v
		if l := objective(c); l < floor {
			best, floor = c, l
		}
	}
	return best, floor
}

// starts is base and its variants with other set-up costs and overlaps.
func starts(base precopy.Profile) []precopy.Profile {
	out := []precopy.Profile{base}
	for _, setup := range []float64{100, 400} {
		for _, ov := range []float64{0.25, 0.5, 1} {
			p := base
			p.SetupMS, p.Overlap, p.Goodput = setup, ov, 1
			out = append(out, p)
		}
	}
	return out
}

// Row is one migration predicted by a profile not fitted on it.
type Row struct {
	Point
	Predicted precopy.Result
	// LoMS and HiMS bound the total time with the 80% interval the fold's
	// own training residuals give (±1.28 σ of the relative error).
	LoMS, HiMS float64
}

// Z80 is the half-width of a central 80% normal interval in σ.
const Z80 = precopy.Z80

// Errors summarises held-out accuracy.
type Errors struct {
	N                         int
	TimeMedian, TimeMax       float64 // |relative error|
	BytesMedian, BytesMax     float64
	DowntimeMedianMS, DownMax float64 // |error| in ms
	IterWithin1               float64 // share of rows with |Δiterations| <= 1
	IterMedianAbs, IterMaxAbs float64
	TimeWithin8, TimeWithin3  float64 // shares
	InInterval                float64 // share of actual times inside the row's 80% interval
}

// CrossValidate predicts every point with a profile fitted on the other k-1
// folds (point i is in fold i mod k) and returns the rows in input order.
// Each row's interval comes from a cross-validation inside its training
// folds, as a profile's own RelErr comes from a cross-validation of its
// whole table: residuals on the points a fit was made from are smaller
// than on new ones, and an interval built on them would cover too little.
//
// names are the parameters to fit (nil: all).
func CrossValidate(pts []Point, base precopy.Profile, k int, names []string) ([]Row, error) {
	return CrossValidateNear(pts, base, k, names, 0)
}

// CrossValidateNear is CrossValidate of FitNear's fits, held near base
// by weight.
func CrossValidateNear(pts []Point, base precopy.Profile, k int, names []string, weight float64) ([]Row, error) {
	if k < 2 || k > len(pts) {
		return nil, fmt.Errorf("calibrate: %d folds for %d points", k, len(pts))
	}
	return crossValidate(pts, base, modFolds(len(pts), k), names, weight, func(train []Point) []int {
		if k-1 < 2 || k-1 > len(train) {
			return nil
		}
		return modFolds(len(train), k-1)
	})
}

// CrossValidateGroups is CrossValidate with each Group held out whole:
// a day's grid on a machine is predicted by a profile fitted on the other
// days, which is what a profile does on a machine it has never seen (rows
// of the same day share its drift, so in a k-fold split they flatter the
// figure).
func CrossValidateGroups(pts []Point, base precopy.Profile, names []string) ([]Row, error) {
	fold, k := groupFolds(pts)
	if k < 2 {
		return nil, fmt.Errorf("calibrate: %d groups: want at least 2 to hold one out", k)
	}
	return crossValidate(pts, base, fold, names, 0, func(train []Point) []int {
		if f, k := groupFolds(train); k >= 2 {
			return f
		}
		return nil
	})
}

// crossValidate predicts each fold by a fit on the others; the interval's
// width is the training set's own held-out error, from inner's split of
// it (none when inner gives nil).
func crossValidate(pts []Point, base precopy.Profile, fold []int, names []string, weight float64, inner func([]Point) []int) ([]Row, error) {
	if names == nil {
		names = AllParams
	}
	return folds(pts, base, fold, names, weight, func(train []Point, prof precopy.Profile) (func(Point) Row, error) {
		sd := 0.0
		if f := inner(train); f != nil {
			rows, err := folds(train, base, f, names, weight, nil)
			if err != nil {
				return nil, err
			}
			sd = RelErr(rows)
		}
		return func(p Point) Row { return predictRow(p, prof, sd) }, nil
	})
}

// modFolds puts point i in fold i mod k.
func modFolds(n, k int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i % k
	}
	return out
}

// groupFolds numbers pts' groups in order of first appearance.
func groupFolds(pts []Point) (fold []int, k int) {
	seen := map[string]int{}
	fold = make([]int, len(pts))
	for i, p := range pts {
		f, ok := seen[p.Group]
		if !ok {
			f = len(seen)
			seen[p.Group] = f
		}
		fold[i] = f
	}
	return fold, len(seen)
}

// folds fits a profile on all but each fold in turn and predicts that
// fold's points with it: as predictor, given the fold's training points and
// profile, says, or without an interval when predictor is nil. fold[i] is
// point i's fold, numbered from 0.
func folds(pts []Point, base precopy.Profile, fold []int, names []string, weight float64, predictor func([]Point, precopy.Profile) (func(Point) Row, error)) ([]Row, error) {
	rows := make([]Row, len(pts))
	for f := range slices.Max(fold) + 1 {
		var train []Point
		for i, p := range pts {
			if fold[i] != f {
				train = append(train, p)
			}
		}
		prof, err := FitNear(train, base, names, weight)
		if err != nil {
			return nil, err
		}
		var pred func(Point) Row
		if predictor != nil {
			if pred, err = predictor(train, prof); err != nil {
				return nil, err
			}
		}
		for i, p := range pts {
			if fold[i] != f {
				continue
			}
			if pred == nil {
				rows[i] = Row{Point: p, Predicted: Predict(p, prof)}
			} else {
				rows[i] = pred(p)
			}
		}
	}
	return rows, nil
}

// predictRow predicts p under prof, with the 80% interval a relative error
// of sd gives.
func predictRow(p Point, prof precopy.Profile, sd float64) Row {
	r := Row{Point: p, Predicted: Predict(p, prof)}
	t := ms(r.Predicted.TotalTime.Seconds())
	r.LoMS, r.HiMS = t*(1-Z80*sd), t*(1+Z80*sd)
	return r
}

// Evaluate predicts every point under prof, which was not fitted on them,
// with the interval of the profile's own held-out error.
func Evaluate(pts []Point, prof precopy.Profile) []Row {
	rows := make([]Row, 0, len(pts))
	for _, p := range pts {
		rows = append(rows, predictRow(p, prof, prof.RelErr))
	}
	return rows
}

// Summarize computes the held-out error figures of rows.
func Summarize(rows []Row) Errors {
	var t, b, d, it []float64
	e := Errors{N: len(rows)}
	for _, r := range rows {
		t = append(t, math.Abs(ms(r.Predicted.TotalTime.Seconds())-r.TimeMS)/r.TimeMS)
		b = append(b, math.Abs(float64(r.Predicted.TransferredBytes)-r.Bytes)/r.Bytes)
		d = append(d, math.Abs(ms(r.Predicted.Downtime.Seconds())-r.DowntimeMS))
		it = append(it, math.Abs(float64(r.Predicted.Iterations-r.Iterations)))
	}
	med := func(xs []float64) float64 {
		xs = slices.Clone(xs)
		slices.Sort(xs)
		return stat.Quantile(0.5, stat.Empirical, xs, nil)
	}
	share := func(xs []float64, lim float64) float64 {
		n := 0
		for _, x := range xs {
			if x <= lim {
				n++
			}
		}
		return float64(n) / float64(len(xs))
	}
	if len(rows) == 0 {
		return e
	}
	e.TimeMedian, e.TimeMax = med(t), slices.Max(t)
	e.BytesMedian, e.BytesMax = med(b), slices.Max(b)
	e.DowntimeMedianMS, e.DownMax = med(d), slices.Max(d)
	e.IterMedianAbs, e.IterMaxAbs = med(it), slices.Max(it)
	e.IterWithin1 = share(it, 1)
	e.TimeWithin8, e.TimeWithin3 = share(t, 0.08), share(t, 0.03)
	in := 0
	for _, r := range rows {
		if r.HiMS > 0 && r.TimeMS >= r.LoMS && r.TimeMS <= r.HiMS {
			in++
		}
	}
	e.InInterval = float64(in) / float64(len(rows))
	return e
}

// RelErr is the standard deviation of the relative total-time errors of
// rows: the width a prediction's interval takes from the model itself.
func RelErr(rows []Row) float64 {
	var xs []float64
	for _, r := range rows {
		xs = append(xs, (ms(r.Predicted.TotalTime.Seconds())-r.TimeMS)/r.TimeMS)
	}
	if len(xs) < 2 {
		return 0
	}
	return stat.StdDev(xs, nil)
}

// FromReport turns the completed migrations of a real run's report (drover
// apply --out, drover run --out) into points: each with the inputs the
// live snapshot gave when it started, predicted alone at what its stream
// could get (its cap, the path, the profile's stream rate), with libvirt's
// own bytes, downtime and iteration count. Migrations without recorded inputs (older
// reports, simulated runs) are skipped.
func FromReport(r *reports.Report, label string) []Point {
	var pts []Point
	for _, m := range r.Migrations {
		in := m.Inputs
		// The model is fitted on libvirt's own job time; the rest of the
		// move's wall time is the profile's overhead.
		if in == nil || m.Outcome != cluster.OutcomeCompleted || m.JobMS <= 0 || m.Bytes <= 0 {
			continue
		}
		pts = append(pts, Point{
			ID: fmt.Sprintf("%s/%s#%d", label, m.VM, m.ID), Group: label,
			Workload: precopy.Workload{Memory: in.MemoryBytes, Resident: in.ResidentBytes, WSS: in.WSSBytes,
				DirtyRate: in.DirtyRate},
			Cap: in.Cap, Path: in.PathRate, TLS: in.TLS, TCG: in.Accel == "tcg", Conc: 1,
			TimeMS: m.JobMS, WallMS: m.DurationMS, DowntimeMS: m.DowntimeMS, Bytes: float64(m.Bytes), Iterations: m.Rounds,
		})
	}
	return pts
}

// Overheads are the median wall time outside libvirt's job over pts that
// have both, over TCP and over TLS (0 where none has).
func Overheads(pts []Point) (tcp, tls float64) {
	var xs [2][]float64
	for _, p := range pts {
		if p.WallMS > p.TimeMS && p.TimeMS > 0 {
			i := 0
			if p.TLS {
				i = 1
			}
			xs[i] = append(xs[i], p.WallMS-p.TimeMS)
		}
	}
	med := func(v []float64) float64 {
		if len(v) == 0 {
			return 0
		}
		slices.Sort(v)
		return stat.Quantile(0.5, stat.Empirical, v, nil)
	}
	return med(xs[0]), med(xs[1])
}

// WallErrors are the relative errors of predicted wall times (the job's
// prediction plus the profile's overhead) over rows that have a wall time.
func WallErrors(rows []Row, prof precopy.Profile) []float64 {
	var out []float64
	for _, r := range rows {
		if r.WallMS <= 0 {
			continue
		}
		w := ms(r.Predicted.TotalTime.Seconds()) + float64(prof.Overhead(r.TLS))/1e6
		out = append(out, math.Abs(w-r.WallMS)/r.WallMS)
	}
	return out
}

// QueueParam is the profile field FitQueue fits.
const QueueParam = "queue_bytes"

// maxQueue bounds the queue a fit may find: Linux's largest TCP send
// buffer by default (tcp_wmem, 4 MiB) twice over, for the link's own queue.
const maxQueue = 8 << 20

// FitQueue is the profile's queue_bytes that best predicts the downtimes of
// pts' migrations bound by a shaped link, all else as in prof (0 when none
// is): the queue shows in nothing else a single capped migration measures,
// so it is fitted apart, after the rest. The loss is the summed absolute
// downtime error, so that a switch-over QEMU stretched for its own reasons
// pulls it no more than any other.
func FitQueue(pts []Point, prof precopy.Profile) float64 {
	var shared []Point
	for _, p := range pts {
		if p.Link > 0 {
			shared = append(shared, p)
		}
	}
	if len(shared) == 0 {
		return 0
	}
	best, bestLoss := 0.0, math.Inf(1)
	for q := 0.0; q <= maxQueue; q += 64 << 10 {
		prof.QueueBytes = q
		l := 0.0
		for _, p := range shared {
			l += math.Abs(ms(Predict(p, prof).Downtime.Seconds()) - p.DowntimeMS)
		}
		if l < bestLoss-1e-9 {
			best, bestLoss = q, l
		}
	}
	return best
}

// LinkGoodputParam is the profile field FitLinkGoodput fits.
const LinkGoodputParam = "link_goodput"

// LinkParams are what migrations sharing a shaped link teach, fitted
// after the rest: the streams' goodput of the link, then the queue.
var LinkParams = []string{LinkGoodputParam, QueueParam}

// FitLinkGoodput is the profile's link_goodput that best predicts the
// total times of pts' migrations bound by a shaped link, all else as in
// prof (0 when none is): the share of a link's rate their streams carry.
// The loss is the summed absolute relative time error; candidates run from
// 0.80 to 1.05 in steps of 0.0025, and a tie keeps the first.
func FitLinkGoodput(pts []Point, prof precopy.Profile) float64 {
	var shared []Point
	for _, p := range pts {
		if p.Link > 0 && p.TimeMS > 0 {
			shared = append(shared, p)
		}
	}
	if len(shared) == 0 {
		return 0
	}
	best, bestLoss := 0.0, math.Inf(1)
	for i := 0; i <= 100; i++ {
		g := 0.80 + 0.0025*float64(i)
		prof.LinkGoodput = g
		l := 0.0
		for _, p := range shared {
			l += math.Abs(ms(Predict(p, prof).TotalTime.Seconds())-p.TimeMS) / p.TimeMS
		}
		if l < bestLoss-1e-12 {
			best, bestLoss = g, l
		}
	}
	return best
}

// FitLink fits the named LinkParams on pts' migrations over a shaped link,
// the goodput first (it moves their times) and the queue after (it moves
// their downtimes).
func FitLink(pts []Point, prof precopy.Profile, names []string) precopy.Profile {
	if slices.Contains(names, LinkGoodputParam) {
		prof.LinkGoodput = FitLinkGoodput(pts, prof)
	}
	if slices.Contains(names, QueueParam) {
		prof.QueueBytes = FitQueue(pts, prof)
	}
	return prof
}

// CrossValidateLink predicts each of pts (migrations sharing a shaped
// link) under prof with the named LinkParams fitted on the other folds
// only. Folds are contiguous runs of whole batches, so that no batch-mate
// of a held-out migration is in its fit.
func CrossValidateLink(pts []Point, prof precopy.Profile, k int, names []string) []Row {
	// starts[b] is where the b-th batch (or lone migration) begins.
	var starts []int
	for i, p := range pts {
		if len(p.Batch) <= 1 || p.Member == 0 || i == 0 {
			starts = append(starts, i)
		}
	}
	starts = append(starts, len(pts))
	nb := len(starts) - 1
	k = min(k, nb)
	rows := make([]Row, 0, len(pts))
	for f := range k {
		lo, hi := starts[f*nb/k], starts[(f+1)*nb/k]
		train := slices.Concat(pts[:lo], pts[hi:])
		p := FitLink(train, prof, names)
		for _, x := range pts[lo:hi] {
			rows = append(rows, predictRow(x, p, prof.RelErr))
		}
	}
	return rows
}

// RankedDowntime is the median and largest |error| of rows' downtimes in
// ms when each batch's predicted downtimes are matched to its measured
// ones in rank order (a lone migration to its own). Batch-mates alike
// enough finish in an order the inputs cannot tell (a race decided by
// the hosts' noise), and the one that switches over last, with the link
// to itself, is down the shortest: matched member by member, a joint
// prediction that picks the wrong one counts two misses where it got the
// batch's downtimes right. Rows of a batch must be adjacent.
func RankedDowntime(rows []Row) (median, worst float64) {
	var errs []float64
	for _, b := range batchesOf(rows) {
		var pred, real []float64
		for _, r := range b {
			pred = append(pred, ms(r.Predicted.Downtime.Seconds()))
			real = append(real, r.DowntimeMS)
		}
		slices.Sort(pred)
		slices.Sort(real)
		for k := range pred {
			errs = append(errs, math.Abs(pred[k]-real[k]))
		}
	}
	if len(errs) == 0 {
		return 0, 0
	}
	slices.Sort(errs)
	return stat.Quantile(0.5, stat.Empirical, errs, nil), errs[len(errs)-1]
}

// batchesOf splits rows into their batches (a lone migration is a batch of
// one). Rows of a batch must be adjacent.
func batchesOf(rows []Row) [][]Row {
	var out [][]Row
	for i := 0; i < len(rows); {
		j := i + 1
		if len(rows[i].Batch) > 1 {
			for j < len(rows) && rows[j].Member > rows[j-1].Member && &rows[j].Batch[0] == &rows[i].Batch[0] {
				j++
			}
		}
		out = append(out, rows[i:j])
		i = j
	}
	return out
}

// BatchScatter is the floor of any prediction of rows' batch-mates, whose
// inputs are alike: with each batch's own median downtime and iteration
// count as the prediction for every member, the median |error| of
// downtime in ms and the share of iteration counts within ±1. A grid's
// batch-mates are the same guest started together, so no model given
// their inputs tells them apart; ok is false without a batch of two or more.
func BatchScatter(rows []Row) (downtimeMS, iterWithin1 float64, ok bool) {
	var errs []float64
	within, n := 0, 0
	for _, b := range batchesOf(rows) {
		if len(b) < 2 {
			continue
		}
		var down, iter []float64
		for _, r := range b {
			down = append(down, r.DowntimeMS)
			iter = append(iter, float64(r.Iterations))
		}
		md, mi := middle(down), middle(iter)
		for k := range b {
			errs = append(errs, math.Abs(down[k]-md))
			if math.Abs(iter[k]-mi) <= 1 {
				within++
			}
			n++
		}
	}
	if n == 0 {
		return 0, 0, false
	}
	return middle(errs), float64(within) / float64(n), true
}

// middle is the median of v, the mean of the two middle values when their
// number is even (so that a batch of two is one half-difference off each).
func middle(v []float64) float64 {
	s := slices.Sorted(slices.Values(v))
	h := len(s) / 2
	if len(s)%2 == 0 {
		return (s[h-1] + s[h]) / 2
	}
	return s[h]
}
