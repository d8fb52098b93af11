package filter

import (
	"fmt"
	"math"
	"testing"

	"github.com/droverlab/drover/scheduler/cluster"
)

// PoolKey is built by hand for speed; it must read as the Sprintf it
// replaced, since keys are compared across the code.
func TestPoolKeyReadsAsSprintf(t *testing.T) {
	for _, speed := range []float64{0, 1.5, 10e9, 25e9, 1e21, 1e-7, 123456789.125, math.Inf(1), math.NaN(), -2} {
		for _, mode := range []cluster.TLSMode{cluster.TLSOff, cluster.TLSMatching} {
			h := &cluster.Host{CPUModel: "EPYC 7763", Memory: 512 << 30, NICs: 2, NICSpeed: speed, Security: "tls"}
			want := fmt.Sprintf("%s/%d/%dx%g", h.CPUModel, h.Memory, h.NICs, h.NICSpeed)
			if mode != cluster.TLSOff {
				want += "/" + string(h.Security)
			}
			if got := PoolKey(h, mode); got != want {
				t.Errorf("PoolKey(speed %v, %v) = %q, want %q", speed, mode, got, want)
			}
		}
	}
}
