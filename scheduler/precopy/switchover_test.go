package precopy_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/droverlab/drover/scheduler/cluster"
	"github.com/droverlab/drover/scheduler/precopy"
)

// bare is a profile without fixed costs, so that the hand derivations below
// see QEMU's mechanism alone: 100 ms windows, 8-byte page headers.
var bare = precopy.Profile{Name: "bare", Version: 1, Goodput: 1, SwitchoverMS: 20, WindowMS: 100, Overlap: 1,
	ZeroPageBytes: 9, PageHeaderBytes: 8}

var _ = Describe("QEMU's switch-over rule, derived by hand", func() {
	const bw = 100 * MiB // 10 MiB per window; threshold 30 MiB at 300 ms
	first := float64(GiB) + 8*float64(GiB/4096)

	It("syncs once the unsent estimate is under the threshold, mid-pass, and copies the rest paused", func() {
		// 1 GiB + 2 MiB of headers: after 100 windows 26 MiB are left,
		// under 30 MiB (after 99: 36 MiB). The sync finds nothing new, so
		// the 26 MiB go paused: 260 ms, plus 20 ms of switch-over.
		r := precopy.Predict(precopy.Workload{Memory: GiB, Resident: GiB}, precopy.Config{Profile: bare}, bw)
		Expect(r.Outcome).To(Equal(cluster.OutcomeCompleted))
		Expect(r.Downtime).To(Equal(280 * time.Millisecond))
		Expect(r.TotalTime).To(Equal(10*time.Second + 280*time.Millisecond))
		Expect(r.TransferredBytes).To(Equal(int64(first)))
		// libvirt's count: setup, the exact check, the final sync.
		Expect(r.Iterations).To(Equal(3))
	})

	It("runs the final copy without the rate limit", func() {
		fast := bare
		fast.FinalRate = 4 * bw
		r := precopy.Predict(precopy.Workload{Memory: GiB, Resident: GiB}, precopy.Config{Profile: fast, BandwidthCap: bw}, 10*bw)
		Expect(r.Downtime).To(Equal(65*time.Millisecond + 20*time.Millisecond))
		Expect(r.TotalTime).To(Equal(10*time.Second + 85*time.Millisecond))
		// The path bounds it too.
		r = precopy.Predict(precopy.Workload{Memory: GiB, Resident: GiB}, precopy.Config{Profile: fast, BandwidthCap: bw, LinkRate: 2 * bw}, 10*bw)
		Expect(r.Downtime).To(Equal(130*time.Millisecond + 20*time.Millisecond))
	})

	It("waits, paused, for the queue a path-bound stream keeps full, and only then", func() {
		queued := bare
		queued.QueueBytes = 5 * MiB
		w := precopy.Workload{Memory: GiB, Resident: GiB}
		// Granted 100 MiB/s under a 200 MiB/s cap: the path binds the
		// stream, so its 5 MiB of queue drain at 100 MiB/s after the
		// 26 MiB of the first case: 50 ms more, paused, and no more bytes.
		r := precopy.Predict(w, precopy.Config{Profile: queued, Bound: 2 * bw}, bw)
		Expect(r.Downtime).To(Equal(280*time.Millisecond + 50*time.Millisecond))
		Expect(r.TotalTime).To(Equal(10*time.Second + 330*time.Millisecond))
		Expect(r.TransferredBytes).To(Equal(int64(first)))
		// Held to its own cap, QEMU's rate limit keeps the queue empty.
		r = precopy.Predict(w, precopy.Config{Profile: queued, Bound: bw}, bw)
		Expect(r.Downtime).To(Equal(280 * time.Millisecond))
		// Without a known bound nothing is counted.
		r = precopy.Predict(w, precopy.Config{Profile: queued}, bw)
		Expect(r.Downtime).To(Equal(280 * time.Millisecond))
	})

	It("syncs again each time the estimate falls under the threshold until what is pending fits", func() {
		// 64 MiB hot, 10 MiB/s. Sync 2 at 10.0 s: 26 MiB unsent, of which
		// 1/16 is hot; the 64 MiB dirtied add 64·(1+1/512)·(1−1/16) MiB:
		// 88.5 MiB pending. Six windows later (10.6 s) 28.5 MiB are unsent,
		// 72.5% of them hot (the set still holds pass 1's cold tail); of the
		// 6 MiB dirtied the unsent hot share is already pending: 32.6 MiB,
		// over 30 MiB. One window on (10.7 s), 22.6 MiB unsent plus
		// 1 MiB·(1−22.6/64.1): 23.2 MiB go paused in 232 ms.
		w := precopy.Workload{Memory: GiB, Resident: GiB, WSS: 64 * MiB, DirtyRate: 10 * MiB}
		r := precopy.Predict(w, precopy.Config{Profile: bare}, bw)
		Expect(r.Outcome).To(Equal(cluster.OutcomeCompleted))
		Expect(r.Rounds).To(HaveLen(3))
		Expect(roundEnd(r.Rounds[0])).To(Equal(10 * time.Second))
		Expect(roundEnd(r.Rounds[1])).To(Equal(10600 * time.Millisecond))
		Expect(roundEnd(r.Rounds[2])).To(Equal(10700 * time.Millisecond))
		Expect(r.Iterations).To(Equal(5))
		Expect(r.Downtime).To(BeNumerically("~", 232250*time.Microsecond+20*time.Millisecond, 100*time.Microsecond))
		Expect(r.TotalTime).To(BeNumerically("~", 10700*time.Millisecond+r.Downtime, time.Microsecond))
	})

	It("never switches over before a window has measured the bandwidth", func() {
		// 64 KiB go out in well under a window; the threshold is still 0,
		// so the sync waits for the window's end.
		r := precopy.Predict(precopy.Workload{Memory: 64 * KiB, Resident: 64 * KiB}, precopy.Config{Profile: bare}, bw)
		Expect(r.Outcome).To(Equal(cluster.OutcomeCompleted))
		Expect(roundEnd(r.Rounds[0])).To(Equal(100 * time.Millisecond))
	})
})

var _ = Describe("Profiles", func() {
	It("ships a valid default and refuses unknown keys, newer versions and bad values", func() {
		Expect(precopy.DefaultProfile().Validate()).To(Succeed())
		_, err := precopy.ParseProfile([]byte(`{"name":"x","version":1,"goodput":1,"window_ms":100,"bogus":1}`))
		Expect(err).To(MatchError(ContainSubstring("bogus")))
		_, err = precopy.ParseProfile([]byte(`{"name":"x","version":9,"goodput":1,"window_ms":100}`))
		Expect(err).To(MatchError(ContainSubstring("version 9")))
		_, err = precopy.ParseProfile([]byte(`{"name":"","version":1,"goodput":3,"window_ms":0,"setup_ms":-1}`))
		Expect(err).To(MatchError(ContainSubstring("goodput")))
		Expect(err).To(MatchError(ContainSubstring("window_ms")))
		Expect(err).To(MatchError(ContainSubstring("setup_ms")))
		Expect(err).To(MatchError(ContainSubstring("name")))
		b, err := precopy.DefaultProfile().Encode()
		Expect(err).NotTo(HaveOccurred())
		back, err := precopy.ParseProfile(b)
		Expect(err).NotTo(HaveOccurred())
		Expect(back).To(Equal(precopy.DefaultProfile()))
	})

	It("predicts an emulated guest with the profile's TCG half, and a KVM guest with the rest", func() {
		def := precopy.DefaultProfile()
		Expect(def.TCG).NotTo(BeNil())
		lab, err := precopy.BuiltinProfile("qemu10-tcg-lab")
		Expect(err).NotTo(HaveOccurred())
		Expect(def.For(true)).To(Equal(lab))
		Expect(def.For(false)).To(Equal(def))
		// The scan and the CPU-bound stream are emulation's costs.
		Expect(def.ZeroPageUS).To(BeZero())
		Expect(def.StreamRate).To(BeZero())
		Expect(lab.ZeroPageUS).To(BeNumerically(">", 0))
		Expect(lab.StreamRate).To(BeNumerically(">", 0))

		// A nested profile decodes as a top-level one: overlap 1 when
		// unsaid, unknown keys refused, no third level.
		p, err := precopy.ParseProfile([]byte(`{"name":"k","version":1,"goodput":1,"window_ms":100,
			"tcg":{"name":"t","version":1,"goodput":0.5,"window_ms":100,"setup_ms":900}}`))
		Expect(err).NotTo(HaveOccurred())
		Expect(p.For(true).Overlap).To(Equal(1.0))
		Expect(p.For(true).Goodput).To(Equal(0.5))
		_, err = precopy.ParseProfile([]byte(`{"name":"k","version":1,"goodput":1,"window_ms":100,"tcg":{"name":"t","version":1,"goodput":1,"window_ms":100,"bogus":2}}`))
		Expect(err).To(MatchError(ContainSubstring("bogus")))
		_, err = precopy.ParseProfile([]byte(`{"name":"k","version":1,"goodput":1,"window_ms":100,"tcg":{"name":"t","version":1,"goodput":7,"window_ms":100,
			"tcg":{"name":"u","version":1,"goodput":1,"window_ms":100}}}`))
		Expect(err).To(MatchError(ContainSubstring("tcg: a TCG profile has no TCG profile")))
		Expect(err).To(MatchError(ContainSubstring("tcg: ")))
		Expect(err).To(MatchError(ContainSubstring("goodput 7")))

		// The fixed costs the defaults took from the profile follow the
		// half; one set apart from it stays.
		c := precopy.Config{Profile: p}.WithDefaults()
		Expect(c.For(true).SetupTime).To(Equal(900 * time.Millisecond))
		c.SetupTime = 42 * time.Millisecond
		Expect(c.For(true).SetupTime).To(Equal(42 * time.Millisecond))

		// The same guest, emulated, takes longer: its zero pages are read
		// and its stream has the TCG hosts' rate and overhead.
		w := precopy.Workload{Memory: 512 << 20, Resident: 190 << 20, WSS: 64 << 20, DirtyRate: 12 << 20}
		kvm := precopy.Config{BandwidthCap: 32 << 20, Wall: true}.WithDefaults()
		tcg := kvm.For(true)
		a, b := precopy.Predict(w, kvm, 32<<20), precopy.Predict(w, tcg, 32<<20)
		Expect(b.TotalTime - a.TotalTime).To(BeNumerically(">", time.Duration(lab.OverheadMS)*time.Millisecond))
	})
})

var _ = Describe("Overlap", func() {
	It("counts a page dirtied while still unsent once at 1, twice at 0, and in between", func() {
		// The hand case above: at sync 2, 26 MiB are unsent, 1/16 of the hot
		// set; the 64 MiB dirtied add 64·(1+1/512)·(1−ov/16) MiB. At 0
		// nothing is de-duplicated, so every later round is larger.
		w := precopy.Workload{Memory: GiB, Resident: GiB, WSS: 64 * MiB, DirtyRate: 10 * MiB}
		sent := map[float64]int64{}
		for _, ov := range []float64{0, 0.5, 1} {
			p := bare
			p.Overlap = ov
			r := precopy.Predict(w, precopy.Config{Profile: p}, bw100)
			Expect(r.Outcome).To(Equal(cluster.OutcomeCompleted))
			Expect(r.Rounds[1].Start).To(Equal(10 * time.Second))
			sent[ov] = r.TransferredBytes
		}
		Expect(sent[0]).To(BeNumerically(">", sent[0.5]))
		Expect(sent[0.5]).To(BeNumerically(">", sent[1]))
		// At sync 2 the set is pass 1's (1026 MiB) and 26 MiB of it are
		// unsent, so U/H = 26/1026 of the 64·(1+1/512) MiB dirtied were
		// still pending: overlap 1 spares them, overlap 0 sends them again
		// (and every later round is larger for it).
		dedup := 64 * MiB * (1 + 1.0/512) * 26 / 1026
		Expect(float64(sent[0] - sent[1])).To(BeNumerically(">=", dedup))
	})

	It("is 1 in a profile file that predates it, and refused outside 0..1", func() {
		p, err := precopy.ParseProfile([]byte(`{"name":"x","version":1,"goodput":1,"window_ms":100}`))
		Expect(err).NotTo(HaveOccurred())
		Expect(p.Overlap).To(Equal(1.0))
		p, err = precopy.ParseProfile([]byte(`{"name":"x","version":1,"goodput":1,"window_ms":100,"overlap":0}`))
		Expect(err).NotTo(HaveOccurred())
		Expect(p.Overlap).To(BeZero())
		_, err = precopy.ParseProfile([]byte(`{"name":"x","version":1,"goodput":1,"window_ms":100,"overlap":1.5}`))
		Expect(err).To(MatchError(ContainSubstring("overlap")))
	})
})

const bw100 = 100 * MiB

var _ = Describe("Profile.Stream", func() {
	It("bounds a stream by the least of cap, path and the hosts' stream rate, and the final copy by path and stream rate", func() {
		p := bare // goodput 1: stream rates are granted rates as they are
		rate, link := p.Stream(1000, 0, false)
		Expect([]float64{rate, link}).To(Equal([]float64{1000, 1000}))
		rate, link = p.Stream(0, 0, false)
		Expect([]float64{rate, link}).To(Equal([]float64{0, 0}))
		p.StreamRate = 300
		rate, link = p.Stream(1000, 0, true)
		Expect([]float64{rate, link}).To(Equal([]float64{300, 300}), "TLS takes the TCP rate when it has none of its own")
		p.StreamRateTLS = 100
		rate, link = p.Stream(1000, 200, true)
		Expect([]float64{rate, link}).To(Equal([]float64{100, 100}))
		rate, link = p.Stream(1000, 200, false)
		Expect([]float64{rate, link}).To(Equal([]float64{200, 300}))
		rate, link = p.Stream(0, 0, false)
		Expect([]float64{rate, link}).To(Equal([]float64{300, 300}))
	})
})

var _ = Describe("CopyShared", func() {
	It("runs the final copy at the share the caller grants, never above it, held back by the final rate only down to pre-copy's rate", func() {
		w := precopy.Workload{Memory: GiB, Resident: GiB}
		fast := bare
		fast.FinalRate = 4 * bw100
		alone := precopy.Predict(w, precopy.Config{Profile: fast, BandwidthCap: bw100, LinkRate: 10 * bw100}, bw100)
		// Alone, the 26 MiB go at the final rate: 65 ms + 20 ms.
		Expect(alone.Downtime).To(Equal(85 * time.Millisecond))
		shared := precopy.Predict(w, precopy.Config{Profile: fast, BandwidthCap: bw100, LinkRate: 10 * bw100, CopyShared: true}, bw100)
		// Sharing, the copy gets the share passed in (here the same
		// 100 MiB/s): 260 ms + 20 ms.
		Expect(shared.Downtime).To(Equal(280 * time.Millisecond))
	})
})

var _ = Describe("ZeroPageUS", func() {
	It("slows a first pass by the scan's time, whatever holds the stream back", func() {
		// 1 GiB, 64 MiB of it non-zero: 245,760 zero pages at 10 µs are
		// 2.46 s of scanning, plus 0.16 s for the normal pages at 400 MiB/s:
		// the 66.2 MiB of the pass go at 25.3 MiB/s. Its last 7.6 MiB (the
		// threshold at that rate) go in the final copy, so the pass sends
		// 58.6 MiB in 2.32 s where, free, it switched over after one window
		// and a 26 MiB copy: 2.2 s more.
		w := precopy.Workload{Memory: GiB, Resident: 64 * MiB}
		p := bare
		p.StreamRate = 400 * MiB
		free := precopy.Predict(w, precopy.Config{Profile: p}, 400*MiB)
		p.ZeroPageUS = 10
		slow := precopy.Predict(w, precopy.Config{Profile: p}, 400*MiB)
		Expect(slow.TotalTime - free.TotalTime).To(BeNumerically("~", 2200*time.Millisecond, 100*time.Millisecond))
		// Capped at 10 MiB/s the scan does not hide in the waits: the zero
		// pages lie in long runs, where the thread scans and sends nothing.
		// The pass's 66.2 MiB take 6.62 s and 2.46 s more; all but the
		// last 3 MiB or so (the threshold at 10 MiB/s) go in it, so about
		// 2.46 s × 63/66 = 2.35 s more.
		capped0 := precopy.Predict(w, precopy.Config{Profile: bare, BandwidthCap: 10 * MiB}, 10*MiB)
		capped := precopy.Predict(w, precopy.Config{Profile: p, BandwidthCap: 10 * MiB}, 10*MiB)
		Expect(capped.TotalTime - capped0.TotalTime).To(BeNumerically("~", 2350*time.Millisecond, 60*time.Millisecond))
	})
})

var _ = Describe("link goodput", func() {
	It("slows a stream its path binds, and not one its cap binds", func() {
		w := precopy.Workload{Memory: 256 << 20, Resident: 128 << 20, WSS: 16 << 20}
		p := precopy.DefaultProfile()
		p.LinkGoodput = p.Goodput / 2
		at := func(bound float64) time.Duration {
			c := precopy.Config{Profile: p, Bound: bound}.WithDefaults()
			return precopy.Predict(w, c, 32<<20).TotalTime
		}
		byCap, byPath := at(32<<20), at(64<<20)
		fixed := time.Duration((p.SetupMS + p.FinishMS) * float64(time.Millisecond))
		// Half the goodput: the sending part takes about twice as long.
		Expect(float64(byPath-fixed) / float64(byCap-fixed)).To(BeNumerically("~", 2, 0.1))
	})
})
