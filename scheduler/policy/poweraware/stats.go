package poweraware

import (
	"math"
	"slices"
)

// scratch returns a slice of length n backed by buf when it fits, so that
// the statistics of a host history (at most HistoryLength values) do not
// allocate.
func scratch(buf *[HistoryLength]float64, n int) []float64 {
	if n <= len(buf) {
		return buf[:n]
	}
	return make([]float64, n)
}

// percentile is commons-math 3's default Percentile estimate
// (org.apache.commons.math3.stat.descriptive.rank.Percentile, legacy
// estimation, which DescriptiveStatistics.getPercentile uses): position
// p·(n+1)/100 in the sorted data, linear between neighbours, clamped to the
// extremes. CloudSim's MathUtil.median is percentile(data, 50).
func percentile(data []float64, p float64) float64 {
	n := len(data)
	if n == 0 {
		return math.NaN()
	}
	var buf [HistoryLength]float64
	sorted := scratch(&buf, n)
	copy(sorted, data)
	slices.Sort(sorted)
	if n == 1 {
		return sorted[0]
	}
	pos := p * float64(n+1) / 100
	fpos := math.Floor(pos)
	d := pos - fpos
	if pos < 1 {
		return sorted[0]
	}
	if pos >= float64(n) {
		return sorted[n-1]
	}
	lower, upper := sorted[int(fpos)-1], sorted[int(fpos)]
	return lower + d*(upper-lower)
}

// Median is the 50th percentile (MathUtil.median).
func Median(data []float64) float64 { return percentile(data, 50) }

// MAD is the median absolute deviation from the median (MathUtil.mad);
// 0 for no data.
func MAD(data []float64) float64 {
	if len(data) == 0 {
		return 0
	}
	m := Median(data)
	var buf [HistoryLength]float64
	dev := scratch(&buf, len(data))
	for i, x := range data {
		dev[i] = math.Abs(m - x)
	}
	return Median(dev)
}

// IQR is CloudSim's inter-quartile range (MathUtil.iqr): sorted data, the
// quartiles taken at the 1-based positions round(0.25·(n+1)) and
// round(0.75·(n+1)) with Java's Math.round (half up), no interpolation.
// So for 12 values it is x(10) − x(3).
func IQR(data []float64) float64 {
	var buf [HistoryLength]float64
	sorted := scratch(&buf, len(data))
	copy(sorted, data)
	slices.Sort(sorted)
	n := float64(len(sorted))
	q1 := int(math.Floor(0.25*(n+1)+0.5)) - 1
	q3 := int(math.Floor(0.75*(n+1)+0.5)) - 1
	return sorted[q3] - sorted[q1]
}

// tricubeWeights are MathUtil.getTricubeWeigts(n): 1/(1 − ((n−1−i)/(n−1))³)³
// for i ≥ 2 (Double.MAX_VALUE where that is not positive), the first two
// equal to the third. They are inverse weights, and see weightedRegression:
// they never take effect.
func tricubeWeights(n int) []float64 {
	if n == RegressionWindow {
		return tricube10[:]
	}
	return newTricubeWeights(n)
}

// tricube10 are the weights of the regression window, computed once: LR
// fits thousands of windows per round.
var tricube10 = [RegressionWindow]float64(newTricubeWeights(RegressionWindow))

func newTricubeWeights(n int) []float64 {
	w := make([]float64, n)
	top := float64(n - 1)
	for i := 2; i < n; i++ {
		k := math.Pow(1-math.Pow((top-float64(i))/top, 3), 3)
		if k > 0 {
			w[i] = 1 / k
		} else {
			w[i] = math.MaxFloat64
		}
	}
	if n > 2 {
		w[0], w[1] = w[2], w[2]
	}
	return w
}

// bisquareWeights are MathUtil.getTricubeBisquareWeigts: the tricube
// weights times 1/(1 − (r/6s)²)² with s the median absolute residual.
func bisquareWeights(residuals []float64) []float64 {
	n := len(residuals)
	w := tricubeWeights(n)
	var buf [HistoryLength]float64
	abs := scratch(&buf, n)
	for i, r := range residuals {
		abs[i] = math.Abs(r)
	}
	s6 := Median(abs) * 6
	w2 := make([]float64, n)
	for i := 2; i < n; i++ {
		k := math.Pow(1-math.Pow(residuals[i]/s6, 2), 2)
		if k > 0 {
			w2[i] = (1 / k) * w[i]
		} else {
			w2[i] = math.MaxFloat64
		}
	}
	if n > 2 {
		w2[0], w2[1] = w2[2], w2[2]
	}
	return w2
}

// weightedRegression is MathUtil.createWeigthedLinearRegression followed by
// regress(): it scales x and y by √w only when at least 40% of the weights
// are ≤ 0. The tricube and bisquare weights are all positive (or NaN), so
// CloudSim's "loess" is an ordinary least-squares line, and LR and LRR fit
// the same line: the reason their reference figures are identical. Kept,
// because those figures are what we compare with.
func weightedRegression(x, y, w []float64) (intercept, slope float64) {
	zero := 0
	for _, wi := range w {
		if wi <= 0 {
			zero++
		}
	}
	xw, yw := x, y
	if float64(zero) >= 0.4*float64(len(w)) {
		xw, yw = make([]float64, len(x)), make([]float64, len(y))
		for i := range x {
			xw[i] = math.Sqrt(w[i]) * x[i]
			yw[i] = math.Sqrt(w[i]) * y[i]
		}
	}
	return linearRegression(xw, yw)
}

// linearRegression is ordinary least squares with an intercept, computed
// with commons-math SimpleRegression's running updates (addData): centred
// sums updated point by point, slope = sumXY / sumXX, intercept =
// (Σy − slope·Σx) / n.
func linearRegression(x, y []float64) (intercept, slope float64) {
	var sumX, sumY, sumXX, sumXY, xbar, ybar float64
	for i := range x {
		n := float64(i)
		if i == 0 {
			xbar, ybar = x[0], y[0]
		} else {
			fact1 := 1 + n
			fact2 := n / (1 + n)
			dx := x[i] - xbar
			dy := y[i] - ybar
			sumXX += dx * dx * fact2
			sumXY += dx * dy * fact2
			xbar += dx / fact1
			ybar += dy / fact1
		}
		sumX += x[i]
		sumY += y[i]
	}
	slope = sumXY / sumXX
	intercept = (sumY - slope*sumX) / float64(len(x))
	return intercept, slope
}

// Loess is MathUtil.getLoessParameterEstimates: the line (intercept,
// slope) through y at x = 1, 2, …, n with tricube weights, which, as
// weightedRegression explains, is the least-squares line.
func Loess(y []float64) (intercept, slope float64) {
	var buf [HistoryLength]float64
	x := scratch(&buf, len(y))
	for i := range x {
		x[i] = float64(i + 1)
	}
	return weightedRegression(x, y, tricubeWeights(len(y)))
}

// RobustLoess is MathUtil.getRobustLoessParameterEstimates: a tricube fit,
// then a refit with bisquare weights of its residuals, falling back to the
// first fit when the second gives NaN.
func RobustLoess(y []float64) (intercept, slope float64) {
	n := len(y)
	var xb, rb [HistoryLength]float64
	x := scratch(&xb, n)
	for i := range x {
		x[i] = float64(i + 1)
	}
	a, b := weightedRegression(x, y, tricubeWeights(n))
	res := scratch(&rb, n)
	for i := range y {
		res[i] = y[i] - (a + b*x[i])
	}
	a2, b2 := weightedRegression(x, y, bisquareWeights(res))
	if math.IsNaN(a2) || math.IsNaN(b2) {
		return a, b
	}
	return a2, b2
}
