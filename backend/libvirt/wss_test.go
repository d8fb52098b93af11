package libvirt

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

const mib = 1 << 20

func samples(win int, mibps ...float64) []WSSSample {
	var out []WSSSample
	for _, r := range mibps {
		out = append(out, WSSSample{Window: time.Duration(win) * time.Second, Rate: r * mib})
	}
	return out
}

func TestDequantize(t *testing.T) {
	for _, tc := range []struct {
		rate, t   float64
		want, sd  float64 // MiB
		wantExact bool
	}{
		// 1 s: QEMU's elapsed time is a little over 1000 ms, so 4 dirty
		// pages (8 MiB) read as 7 MiB/s and 8 MiB/s alike.
		{7, 1, 8, 0, true},
		{8, 1, 8, 0, true},
		{0, 1, 0, 0, true},
		// 4 s: 3 MiB/s is 12, 14 or 16 MiB.
		{3, 4, 14, math.Sqrt(4 * 8 / 12.0), false},
		{0, 4, 2, math.Sqrt(4 * 8 / 12.0), false},
	} {
		m, v := dequantize(tc.rate*mib, tc.t, defaultQuantum)
		if math.Abs(m/mib-tc.want) > 1e-9 || math.Abs(math.Sqrt(v)/mib-tc.sd) > 1e-9 {
			t.Errorf("dequantize(%v MiB/s, %vs) = %.3f MiB ± %.3f, want %.3f ± %.3f", tc.rate, tc.t, m/mib, math.Sqrt(v)/mib, tc.want, tc.sd)
		}
	}
}

func TestEstimateWSS(t *testing.T) {
	join := func(s ...[]WSSSample) []WSSSample {
		var out []WSSSample
		for _, x := range s {
			out = append(out, x...)
		}
		return out
	}
	for _, tc := range []struct {
		name            string
		in              WSSInput
		method          string  // substring
		wss, wlo, whi   float64 // MiB; wlo/whi: the bounds must reach at least this far
		rate, rlo, rhi  float64 // MiB/s
		tolWSS, tolRate float64 // MiB, MiB/s
	}{
		{name: "16 MiB at 8 MiB/s: saturated at 4 s",
			in:     WSSInput{Samples: join(samples(1, 7, 7), samples(4, 3, 3)), RSS: 160 * mib, Memory: 160 * mib},
			method: "page-sampling 1s×2 4s×2", wss: 14, wlo: 12, whi: 16, rate: 8, rlo: 6, rhi: 10, tolWSS: 0.01, tolRate: 0.01},
		{name: "64 MiB at 8 MiB/s: still linear at 4 s",
			in:     WSSInput{Samples: join(samples(1, 7, 9), samples(4, 7, 8)), RSS: 150 * mib, Memory: 160 * mib},
			method: "rss-bound", wss: 150, wlo: 30, whi: 150, rate: 9, rlo: 7, rhi: 10, tolWSS: 0.01, tolRate: 0.01},
		{name: "idle",
			in:     WSSInput{Samples: join(samples(1, 0, 0), samples(4, 0, 0)), RSS: 90 * mib, Memory: 160 * mib},
			method: "idle", wss: 2, wlo: 2, whi: 2, rate: 0, rlo: 0, rhi: 0, tolWSS: 0.01, tolRate: 0.01},
		{name: "8 MiB at 32 MiB/s: the short window saturates too",
			in:     WSSInput{Samples: join(samples(1, 7, 7, 7), samples(4, 1, 1, 1)), RSS: 160 * mib, Memory: 160 * mib},
			method: "short window saturated", wss: 6, wlo: 6, whi: 8, rate: 8, rlo: 8, rhi: 8, tolWSS: 0.01, tolRate: 0.01},
		{name: "one window: a lower bound only",
			in:     WSSInput{Samples: samples(1, 15, 17), RSS: 100 * mib, Memory: 160 * mib},
			method: "rss-bound, page-sampling 1s×2", wss: 100, wlo: 12.1, whi: 100, rate: 17, rlo: 14, rhi: 18, tolWSS: 0.01, tolRate: 0.01},
		{name: "the RSS caps the working set",
			in:     WSSInput{Samples: join(samples(1, 31, 31), samples(4, 10, 10)), RSS: 30 * mib, Memory: 160 * mib},
			method: "page-sampling", wss: 30, wlo: 30, whi: 30, rate: 32, rlo: 28, rhi: 36, tolWSS: 0.01, tolRate: 0.01},
		{name: "no RSS: the memory caps it",
			in:     WSSInput{Samples: samples(1, 9), Memory: 128 * mib},
			method: "rss-bound", wss: 128, wlo: 5, whi: 128, rate: 10, rlo: 6, rhi: 14, tolWSS: 0.01, tolRate: 0.01},
		{name: "samples that disagree widen the bounds",
			in:     WSSInput{Samples: join(samples(1, 1, 21), samples(4, 3, 3)), RSS: 160 * mib, Memory: 160 * mib},
			method: "rss-bound", wss: 160, wlo: 10, whi: 160, rate: 12, rlo: 0, rhi: 24, tolWSS: 0.01, tolRate: 0.01},
		{name: "background writes, below a sampled page per second",
			in:     WSSInput{Samples: join(samples(1, 0, 1, 0, 1, 1, 0, 1, 0), samples(4, 0, 0)), RSS: 160 * mib, Memory: 160 * mib},
			method: "slow", wss: 2, wlo: 2, whi: 160, rate: 1, rlo: 0.5, rhi: 1.5, tolWSS: 0.01, tolRate: 0.01},
		{name: "nothing measured",
			in:     WSSInput{RSS: 100 * mib, Memory: 160 * mib},
			method: "rss-bound, unmeasured", wss: 100, wlo: 0, whi: 100, tolWSS: 0.01},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := EstimateWSS(tc.in)
			t.Logf("%s: wss %.1f [%.1f, %.1f] MiB, rate %.1f [%.1f, %.1f] MiB/s; %+v", e.Method,
				float64(e.WSS)/mib, float64(e.WSSLow)/mib, float64(e.WSSHigh)/mib,
				e.DirtyRate/mib, e.DirtyRateLow/mib, e.DirtyRateHigh/mib, e.Windows)
			if !strings.Contains(e.Method, tc.method) {
				t.Errorf("method %q, want %q in it", e.Method, tc.method)
			}
			if math.Abs(float64(e.WSS)/mib-tc.wss) > tc.tolWSS {
				t.Errorf("wss %.2f MiB, want %.2f", float64(e.WSS)/mib, tc.wss)
			}
			if float64(e.WSSLow)/mib > tc.wlo || float64(e.WSSHigh)/mib < tc.whi || e.WSSLow > e.WSS || e.WSS > e.WSSHigh {
				t.Errorf("wss bounds [%.2f, %.2f] MiB around %.2f, want them to reach [%.2f, %.2f]",
					float64(e.WSSLow)/mib, float64(e.WSSHigh)/mib, float64(e.WSS)/mib, tc.wlo, tc.whi)
			}
			if math.Abs(e.DirtyRate/mib-tc.rate) > tc.tolRate {
				t.Errorf("rate %.2f MiB/s, want %.2f", e.DirtyRate/mib, tc.rate)
			}
			if e.DirtyRateLow/mib > tc.rlo || e.DirtyRateHigh/mib < tc.rhi || e.DirtyRateLow > e.DirtyRate || e.DirtyRate > e.DirtyRateHigh {
				t.Errorf("rate bounds [%.2f, %.2f] MiB/s, want them to reach [%.2f, %.2f]", e.DirtyRateLow/mib, e.DirtyRateHigh/mib, tc.rlo, tc.rhi)
			}
			if e.WSSLow < 0 || e.DirtyRateLow < 0 {
				t.Errorf("negative bound")
			}
		})
	}
}

func median(xs []float64) float64 {
	xs = slices.Clone(xs)
	slices.Sort(xs)
	return xs[len(xs)/2]
}

// simulate is QEMU's page sampling of a guest that sweeps w bytes at r
// bytes/s: each of M/q sample pages is dirty with chance d/M, and the rate
// is truncated to whole MiB/s over a little more than the window. Each
// window is measured for the same time, as campaignPlan does.
func simulate(rng *rand.Rand, mem, w, r float64, wins []int, n int) []WSSSample {
	var out []WSSSample
	pages := int(mem / defaultQuantum)
	for _, t := range wins {
		n := n * wins[len(wins)-1] / t
		d := min(w, r*float64(t))
		for range n {
			k := 0
			for range pages {
				if rng.Float64() < d/mem {
					k++
				}
			}
			msec := float64(t*1000) + 1 + rng.Float64()*5
			rate := math.Floor(float64(k) * (mem / mib) * 1000 / (float64(pages) * msec))
			out = append(out, WSSSample{Window: time.Duration(t) * time.Second, Rate: rate * mib})
		}
	}
	return out
}

// The 80% bounds hold the truth about 80% of the time (page sampling is
// the only noise here), and the estimate is right on average.
func TestEstimateWSSCoverage(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const runs = 1000
	for _, tc := range []struct {
		name        string
		mem, w, r   float64 // MiB, MiB/s
		n           int
		wantMethod  string // most runs' method, by prefix
		minCoverage float64
	}{
		{"16 MiB at 8 MiB/s, 160 MiB guest", 160, 16, 8, 2, "page-sampling", 0.7},
		{"16 MiB at 8 MiB/s, 3 samples", 160, 16, 8, 3, "page-sampling", 0.7},
		{"idle, 256 MiB guest", 256, 0, 0, 2, "page-sampling", 0.7},
		{"128 MiB at 16 MiB/s, 256 MiB guest", 256, 128, 16, 2, "rss-bound", 0.7},
		{"64 MiB at 8 MiB/s, 160 MiB guest", 160, 64, 8, 2, "rss-bound", 0.7},
		{"24 MiB at 16 MiB/s, 256 MiB guest", 256, 24, 16, 2, "page-sampling", 0.7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var inW, inR, methodOK int
			var ws []float64
			var sumR float64
			for range runs {
				e := EstimateWSS(WSSInput{Samples: simulate(rng, tc.mem*mib, tc.w*mib, tc.r*mib, []int{1, 4}, tc.n),
					RSS: int64(tc.mem) * mib, Memory: int64(tc.mem) * mib})
				if float64(e.WSSLow) <= tc.w*mib && tc.w*mib <= float64(e.WSSHigh) {
					inW++
				}
				if e.DirtyRateLow <= tc.r*mib && tc.r*mib <= e.DirtyRateHigh {
					inR++
				}
				if strings.HasPrefix(e.Method, tc.wantMethod) {
					methodOK++
				}
				ws = append(ws, float64(e.WSS)/mib)
				sumR += e.DirtyRate / mib
			}
			t.Logf("wss inside %.0f%%, rate inside %.0f%%, method %s %.0f%%; median wss %.1f MiB, mean rate %.1f MiB/s",
				100*float64(inW)/runs, 100*float64(inR)/runs, tc.wantMethod, 100*float64(methodOK)/runs, median(ws), sumR/runs)
			if float64(inW)/runs < tc.minCoverage || float64(inR)/runs < tc.minCoverage {
				t.Errorf("coverage wss %d/%d, rate %d/%d: want at least %.0f%%", inW, runs, inR, runs, 100*tc.minCoverage)
			}
			if float64(methodOK)/runs < 0.6 {
				t.Errorf("method %q in only %d/%d runs", tc.wantMethod, methodOK, runs)
			}
			if math.Abs(sumR/runs-tc.r) > 0.15*tc.r {
				t.Errorf("mean rate %.2f MiB/s, want %.2f ±15%%", sumR/runs, tc.r)
			}
			if tc.wantMethod == "page-sampling" && math.Abs(median(ws)-tc.w) > max(0.2*tc.w, 2) {
				t.Errorf("median wss %.2f MiB, want %.2f ±20%% (±2 MiB)", median(ws), tc.w)
			}
		})
	}
}

func TestResidentPrefersTheGuestsFreeMemory(t *testing.T) {
	const MiB = 1 << 20
	for _, c := range []struct {
		name string
		s    DomainStats
		want int64
	}{
		{"rss only", DomainStats{RSS: 300 * MiB, Memory: 512 * MiB}, 300 * MiB},
		{"rss above memory", DomainStats{RSS: 600 * MiB, Memory: 512 * MiB}, 512 * MiB},
		{"guest's free memory", DomainStats{RSS: 600 * MiB, Memory: 512 * MiB, Unused: 400 * MiB}, 112 * MiB},
		{"rss below what the guest uses", DomainStats{RSS: 80 * MiB, Memory: 512 * MiB, Unused: 400 * MiB}, 80 * MiB},
		{"nonsense free memory", DomainStats{RSS: 300 * MiB, Memory: 512 * MiB, Unused: 600 * MiB}, 300 * MiB},
	} {
		if got := Resident(c.s); got != c.want {
			t.Errorf("%s: %d MiB, want %d MiB", c.name, got/MiB, c.want/MiB)
		}
	}
}
