package cost

import (
	"math"
	"sort"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// Point is one observation: a resource rate Y at a throughput X
// (operations per second).
type Point struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// Fit models.
const (
	// Linear is y = a + b·x by least squares: a is what the cluster uses
	// idle, b what each operation per second adds.
	Linear = "linear"
	// Proportional is y = b·x through the origin, for runs at one load
	// level, where idle use and per-operation use cannot be told apart
	// (so idle use is charged to operations: an overestimate).
	Proportional = "proportional"
	// Constant is y = a: what a linear fit becomes when its slope comes
	// out negative, use of a resource not falling as load rises (a
	// falling fit is noise, or caches warming up).
	Constant = "constant"
	// Single is one point and an assumed relative spread (FallbackSpread).
	Single = "single"
)

// FallbackSpread is the relative standard deviation given to a figure
// fitted from a single point: nothing measured says how wrong it is, so
// the interval is kept wide on purpose.
const FallbackSpread = 0.5

// Fit is a straight line through observations, with what it takes to give
// prediction intervals for a new observation at any x.
type Fit struct {
	Model     string  `json:"model"`
	Intercept float64 `json:"intercept"`
	Slope     float64 `json:"slope"`
	N         int     `json:"n"`
	// S is the residual standard error, DF its degrees of freedom.
	S  float64 `json:"s"`
	DF int     `json:"df"`
	// XMean and Sxx (Σ(x-x̄)²) for the linear model; SumX2 (Σx²) for the
	// proportional one.
	XMean  float64 `json:"x_mean,omitempty"`
	Sxx    float64 `json:"sxx,omitempty"`
	SumX2  float64 `json:"sum_x2,omitempty"`
	XMin   float64 `json:"x_min"`
	XMax   float64 `json:"x_max"`
	Points []Point `json:"points,omitempty"`
}

// FitLinear fits y = a + b·x (gonum stat.LinearRegression). With fewer
// than three points, or x values that barely vary, it falls back to
// FitProportional, which needs less of the data.
func FitLinear(pts []Point) Fit {
	xs, ys := split(pts)
	if len(pts) < 3 || spread(xs) < 1.5 {
		return FitProportional(pts)
	}
	a, b := stat.LinearRegression(xs, ys, nil, false)
	f := Fit{Model: Linear, Intercept: a, Slope: b, N: len(pts), DF: len(pts) - 2, Points: pts}
	f.XMean = stat.Mean(xs, nil)
	if b < 0 {
		f.Model, f.Intercept, f.Slope, f.DF = Constant, stat.Mean(ys, nil), 0, len(pts)-1
	}
	var rss float64
	for i := range xs {
		d := xs[i] - f.XMean
		f.Sxx += d * d
		r := ys[i] - (f.Intercept + f.Slope*xs[i])
		rss += r * r
	}
	f.S = math.Sqrt(rss / float64(f.DF))
	f.XMin, f.XMax = minMax(xs)
	return f
}

// FitProportional fits y = b·x through the origin. One point gives a
// Single fit with the FallbackSpread.
func FitProportional(pts []Point) Fit {
	xs, ys := split(pts)
	f := Fit{Model: Proportional, N: len(pts), Points: pts}
	if len(pts) == 0 {
		f.Model = Single
		return f
	}
	f.XMin, f.XMax = minMax(xs)
	for i := range xs {
		f.SumX2 += xs[i] * xs[i]
	}
	if f.SumX2 == 0 {
		f.Model = Single
		return f
	}
	_, f.Slope = stat.LinearRegression(xs, ys, nil, true)
	if len(pts) == 1 {
		f.Model = Single
		return f
	}
	f.DF = len(pts) - 1
	var rss float64
	for i := range xs {
		r := ys[i] - f.Slope*xs[i]
		rss += r * r
	}
	f.S = math.Sqrt(rss / float64(f.DF))
	return f
}

// Predict returns the fitted mean at x and the standard error of a new
// observation there: s·√(1 + 1/n + (x-x̄)²/Sxx) for the linear model,
// s·√(1 + 1/n) for the constant one, s·√(1 + x²/Σx²) for the
// proportional one, and FallbackSpread of the mean for a single point. Far outside the measured range the error grows
// with the distance, which is what makes extrapolation honest.
func (f Fit) Predict(x float64) (mean, se float64) {
	mean = f.Intercept + f.Slope*x
	switch f.Model {
	case Linear:
		d := x - f.XMean
		se = f.S * math.Sqrt(1+1/float64(f.N)+d*d/f.Sxx)
	case Constant:
		se = f.S * math.Sqrt(1+1/float64(f.N))
	case Proportional:
		se = f.S * math.Sqrt(1+x*x/f.SumX2)
	default:
		se = FallbackSpread * math.Abs(mean)
	}
	return mean, se
}

// Interval is the two-sided prediction interval at x with the given
// coverage (0.8 for P10–P90), from Student's t with the fit's degrees of
// freedom (a normal for a single point).
func (f Fit) Interval(x, coverage float64) (lo, hi float64) {
	mean, se := f.Predict(x)
	q := f.quantile(0.5 + coverage/2)
	return mean - q*se, mean + q*se
}

func (f Fit) quantile(p float64) float64 {
	if f.DF < 1 {
		return distuv.UnitNormal.Quantile(p)
	}
	return distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(f.DF)}.Quantile(p)
}

// Quantile is the u-quantile (0 < u < 1) of the predictive distribution
// of a new observation at x (mean + se·t), never below zero: these are
// rates of things used. Monte Carlo draws call it with uniform u, so that
// correlated figures can share one u.
func (f Fit) Quantile(x, u float64) float64 {
	mean, se := f.Predict(x)
	return math.Max(0, mean+f.quantile(u)*se)
}

// RelativeError is the prediction's standard error over its mean at x,
// the figure reports quote as ±%.
func (f Fit) RelativeError(x float64) float64 {
	mean, se := f.Predict(x)
	if mean == 0 {
		return math.Inf(1)
	}
	return se / math.Abs(mean)
}

func split(pts []Point) (xs, ys []float64) {
	xs = make([]float64, len(pts))
	ys = make([]float64, len(pts))
	for i, p := range pts {
		xs[i], ys[i] = p.X, p.Y
	}
	return xs, ys
}

// minMax returns the smallest and largest of xs (0, 0 when empty).
func minMax(xs []float64) (lo, hi float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, x := range xs {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return lo, hi
}

// spread is max/min of positive xs (1 when there is nothing to compare).
func spread(xs []float64) float64 {
	lo, hi := minMax(xs)
	if lo <= 0 {
		return 1
	}
	return hi / lo
}

// Knee is where a load-step run stopped keeping up: the step from which
// more offered load no longer bought proportionally more throughput.
type Knee struct {
	Step     int     `json:"step"`
	Offered  float64 `json:"offered"`
	Achieved float64 `json:"achieved"`
	// Saturation is the most throughput any step achieved.
	Saturation float64 `json:"saturation"`
	Reason     string  `json:"reason"`
}

// StepPoint is a load step's offered rate, achieved rate and the cluster's
// CPU at it, as knee detection sees it.
type StepPoint struct {
	Index    int     `json:"index"`
	Offered  float64 `json:"offered"` // 0: unlimited
	Achieved float64 `json:"achieved"`
	Cores    float64 `json:"cores"`
}

// FindKnee looks for saturation in load steps, in order of offered load
// (an unlimited step last): the first step that achieved less than 90% of
// what it offered, or that gained less than 10% over the previous step
// although offered at least 25% more. It returns nil when every step kept
// up.
func FindKnee(steps []StepPoint) *Knee {
	s := append([]StepPoint(nil), steps...)
	sort.SliceStable(s, func(i, j int) bool { return offeredKey(s[i]) < offeredKey(s[j]) })
	var sat float64
	for _, p := range s {
		sat = math.Max(sat, p.Achieved)
	}
	for i, p := range s {
		switch {
		case p.Offered > 0 && p.Achieved < 0.9*p.Offered:
			return &Knee{Step: p.Index, Offered: p.Offered, Achieved: p.Achieved, Saturation: sat,
				Reason: "achieved less than 90% of the offered rate"}
		case i > 0 && p.Achieved < 1.1*s[i-1].Achieved && offeredKey(p) >= 1.25*offeredKey(s[i-1]):
			return &Knee{Step: p.Index, Offered: p.Offered, Achieved: p.Achieved, Saturation: sat,
				Reason: "throughput stopped rising with the offered rate"}
		}
	}
	return nil
}

func offeredKey(p StepPoint) float64 {
	if p.Offered <= 0 {
		return math.Inf(1)
	}
	return p.Offered
}
