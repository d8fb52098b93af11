package libvirt

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/droverlab/drover/scheduler/cluster"
)

// WSSSample is one page-sampling dirty-rate measurement: the rate libvirt
// reported (bytes/s, whole MiB/s as libvirt gives it) over a window of
// whole seconds.
type WSSSample struct {
	Window time.Duration
	Rate   float64
}

// WSSInput is what EstimateWSS works from: a campaign's samples and the
// guest's size.
type WSSInput struct {
	Samples []WSSSample
	// RSS bounds the working set from above (0: unknown, Memory then);
	// Memory is the guest's RAM, the population QEMU samples from.
	RSS, Memory int64
	// Quantum is the guest memory one sampled page stands for: QEMU
	// samples 512 pages per GiB unless told otherwise (libvirt never
	// tells it), so 2 MiB when 0.
	Quantum int64
}

// WSSEstimate is a VM's writable working set and dirty rate with their
// 80% bounds (in Measured) and the per-window figures behind them.
type WSSEstimate struct {
	WSS       int64
	DirtyRate float64
	cluster.Measured
	Windows []WindowStat
}

// WindowStat is one window length's mean distinct bytes dirtied, D, and
// its standard error, from N samples.
type WindowStat struct {
	Window    time.Duration
	N         int
	D, SE     float64
	Saturated bool
}

const (
	// z80 is the normal quantile of a two-sided 80% interval (and of a
	// one-sided 90% test).
	z80 = 1.2816
	// defaultQuantum is 1 GiB / QEMU's default 512 sample pages per GiB.
	defaultQuantum = 2 << 20
	// saturatedShare is how far below r·T a window's d must lie to count
	// as saturated, besides the statistical test: the short window's
	// rate runs high by the guest's background writes (kernel, console:
	// ≈0.75 MiB/s in the lab guest), which a long window sees only once,
	// and a guest's rate drifts more than page sampling's binomial error
	// says. Nearly saturated windows are called rss-bound instead.
	saturatedShare = 2.0 / 3
	// overshoot allows for QEMU dividing by the elapsed milliseconds, a
	// little more than the window (g_usleep overshoots), before
	// truncating to whole MiB/s.
	overshoot = 0.02
)

// EstimateWSS turns a measurement campaign into a working set and a dirty
// rate. d(T) = rate(T)·T are the distinct bytes written in a window of T.
// The model is d(T) = min(W, r·T): the lab guest (and a sequential
// writer, a log, a copy) sweeps its working set, so d grows linearly
// until the sweep wraps and is flat after that; the smooth alternative
// W·(1−exp(−r·T/W)), a uniformly random writer, overstates W by a quarter
// for such a guest at r·T = 2W and needs a third window to tell the two
// apart, which the campaign's budget does not buy. Against a random
// writer min() understates W when the long window is only just
// saturated; the saturation test below then usually calls it unsaturated
// (rss-bound) rather than wrong.
//
// r comes from the shortest window, W from the longer windows whose d lies
// clearly (one-sided 90%, and below two thirds) under r·T. When none
// does, W is only known to be at least d of the longest window: WSS is
// then the RSS ("rss-bound"). An idle guest (less than one sampled page
// per short window) has W = d of the longest window, however small.
func EstimateWSS(in WSSInput) WSSEstimate {
	capB := in.RSS
	if capB <= 0 {
		capB = in.Memory
	}
	q := float64(in.Quantum)
	if q <= 0 {
		q = defaultQuantum
	}
	byWin := map[time.Duration][]WSSSample{}
	for _, s := range in.Samples {
		if w := s.Window.Truncate(time.Second); w > 0 {
			byWin[w] = append(byWin[w], s)
		}
	}
	wins := make([]time.Duration, 0, len(byWin))
	for w := range byWin {
		wins = append(wins, w)
	}
	slices.Sort(wins)
	var desc []string
	for _, w := range wins {
		desc = append(desc, fmt.Sprintf("%ds×%d", int(w/time.Second), len(byWin[w])))
	}
	method := "page-sampling " + strings.Join(desc, " ")
	out := WSSEstimate{WSS: capB}
	if len(wins) == 0 {
		out.Measured = cluster.Measured{Method: "rss-bound, unmeasured", WSSHigh: capB}
		return out
	}
	for _, w := range wins {
		out.Windows = append(out.Windows, windowStat(w, byWin[w], q, float64(in.Memory)))
	}

	short := out.Windows[0]
	t1 := short.Window.Seconds()
	r, seR := short.D/t1, short.SE/t1
	out.DirtyRate = r
	out.DirtyRateLow, out.DirtyRateHigh = max(0, r-z80*seR), r+z80*seR

	// Inverse-variance mean of the saturated windows: under min() each
	// of them measured W itself.
	var sumW, sumInv float64
	for i := range out.Windows[1:] {
		ws := &out.Windows[i+1]
		t := ws.Window.Seconds()
		gap := r*t - ws.D
		seGap := math.Hypot(t*seR, ws.SE)
		if gap > z80*seGap && ws.D < saturatedShare*r*t {
			ws.Saturated = true
			sumW += ws.D / (ws.SE * ws.SE)
			sumInv += 1 / (ws.SE * ws.SE)
		}
	}
	long := out.Windows[len(out.Windows)-1]
	var w, seW float64
	switch {
	case sumInv > 0:
		w, seW = sumW/sumInv, math.Sqrt(1/sumInv)
		// A short window that saw as much as the long ones was saturated
		// too: r is then only a lower bound.
		if len(out.Windows) > 1 && math.Abs(short.D-w) <= z80*math.Hypot(short.SE, seW) {
			method += ", short window saturated: rate is a lower bound"
		}
	case r < q/t1:
		// Less than one sampled page per short window: a slow sweep of
		// a large set and a small set look alike. The set is taken to be
		// what the longest window saw; at this rate the rate, not the
		// set, bounds what a migration re-sends. The bounds still admit
		// the RSS when something clearly writes.
		w, seW = long.D, long.SE
		out.WSS = clampB(w, capB)
		out.WSSLow = min(clampB(w-z80*seW, capB), out.WSS)
		out.WSSHigh = max(clampB(w+z80*seW, capB), out.WSS)
		out.Method = method + ", idle"
		if out.DirtyRateLow > 0 {
			out.WSSHigh = capB
			out.Method = method + ", slow"
		}
		return out
	default:
		out.WSS = capB
		out.Measured = cluster.Measured{Method: "rss-bound, " + method,
			WSSLow: clampB(long.D-z80*long.SE, capB), WSSHigh: capB,
			DirtyRateLow: out.DirtyRateLow, DirtyRateHigh: out.DirtyRateHigh}
		return out
	}
	out.WSS = clampB(w, capB)
	out.Method = method
	out.WSSLow, out.WSSHigh = min(clampB(w-z80*seW, capB), out.WSS), max(clampB(w+z80*seW, capB), out.WSS)
	return out
}

// windowStat is one window's mean d and its standard error. The error is
// the larger of the samples' spread and what page sampling alone implies
// (binomial: q·d·(1−d/M), plus the rounding to whole MiB/s), because two
// or three samples that happen to agree say little about the spread.
func windowStat(w time.Duration, ss []WSSSample, q, mem float64) WindowStat {
	t := w.Seconds()
	n := float64(len(ss))
	var sum, sumQ float64
	ds := make([]float64, len(ss))
	for i, s := range ss {
		d, v := dequantize(s.Rate, t, q)
		ds[i] = d
		sum += d
		sumQ += v
	}
	mean := sum / n
	spread := 0.0
	if len(ss) > 1 {
		for _, d := range ds {
			spread += (d - mean) * (d - mean)
		}
		spread /= (n - 1) * n
	}
	p := 0.0
	if mem > 0 {
		p = min(mean/mem, 1)
	}
	// An all-zero window still has half a quantum's doubt: a page or
	// two dirtied and missed.
	binom := q * max(mean, q/2) * (1 - p) / n
	return WindowStat{Window: w, N: len(ss), D: mean, SE: math.Sqrt(max(spread, binom+sumQ/n/n))}
}

// dequantize recovers the distinct bytes dirtied in a window of t seconds
// from libvirt's whole MiB/s: QEMU reports floor(k·q/elapsed) for k dirty
// sample pages, so k·q lies in [R·t, (R+1)·t·(1+overshoot)). The answer is
// the mean of the multiples of q there, and their variance.
func dequantize(rate, t, q float64) (mean, variance float64) {
	const mib = 1 << 20
	r := math.Floor(max(rate, 0)/mib + 1e-9)
	lo, hi := r*t*mib, (r+1)*t*mib*(1+overshoot)
	first, last := math.Ceil(lo/q-1e-9), math.Ceil(hi/q)-1
	if last >= first {
		n := last - first + 1
		return (first + last) / 2 * q, q * q * (n*n - 1) / 12
	}
	return (lo + hi) / 2, (hi - lo) * (hi - lo) / 12
}

func clampB(x float64, capB int64) int64 {
	return int64(min(max(x, 0), float64(capB)))
}
