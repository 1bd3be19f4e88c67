package cost

import (
	"fmt"
	"math"
	"testing"
)

func TestFitLinearRecoversALine(t *testing.T) {
	var pts []Point
	for _, x := range []float64{50, 100, 200, 400, 800} {
		pts = append(pts, Point{x, 0.2 + 0.001*x})
	}
	f := FitLinear(pts)
	if f.Model != Linear || math.Abs(f.Intercept-0.2) > 1e-9 || math.Abs(f.Slope-0.001) > 1e-12 {
		t.Errorf("fit = %+v, want 0.2 + 0.001x", f)
	}
	if mean, se := f.Predict(10000); math.Abs(mean-10.2) > 1e-9 || se > 1e-9 {
		t.Errorf("predict(10000) = %v ± %v, want 10.2 ± 0", mean, se)
	}
}

func TestPredictionIntervalsWidenAwayFromTheData(t *testing.T) {
	pts := []Point{{50, 0.26}, {100, 0.29}, {200, 0.42}, {400, 0.58}, {800, 1.05}}
	f := FitLinear(pts)
	_, near := f.Predict(f.XMean)
	_, far := f.Predict(10000)
	if !(far > near) {
		t.Errorf("standard error at 10000 (%v) is not wider than at the mean (%v)", far, near)
	}
	lo, hi := f.Interval(10000, 0.8)
	mean, _ := f.Predict(10000)
	if !(lo < mean && mean < hi) {
		t.Errorf("80%% interval [%v, %v] does not contain the mean %v", lo, hi, mean)
	}
	if q := f.Quantile(10000, 0.5); math.Abs(q-mean) > 1e-9 {
		t.Errorf("median draw %v, mean %v", q, mean)
	}
	if f.Quantile(10000, 0.9) <= f.Quantile(10000, 0.1) {
		t.Error("quantiles not increasing")
	}
}

func TestFewPointsGiveWideIntervals(t *testing.T) {
	// The same noise, seen in 3 points and in 12: the t quantile with one
	// degree of freedom is far wider than with ten.
	base := []Point{{100, 1.0}, {200, 2.3}, {300, 2.9}}
	var many []Point
	for i := 0; i < 4; i++ {
		many = append(many, base...)
	}
	few, lots := FitLinear(base), FitLinear(many)
	lo1, hi1 := few.Interval(1000, 0.8)
	lo2, hi2 := lots.Interval(1000, 0.8)
	if !(hi1-lo1 > hi2-lo2) {
		t.Errorf("3 points: width %v; 12 points: width %v", hi1-lo1, hi2-lo2)
	}
}

func TestFitFallbacks(t *testing.T) {
	one := FitLinear([]Point{{100, 2}})
	if one.Model != Single || one.Slope != 0.02 {
		t.Errorf("one point: %+v", one)
	}
	if _, se := one.Predict(1000); math.Abs(se-FallbackSpread*20) > 1e-9 {
		t.Errorf("one point: se at 1000 = %v, want %v", se, FallbackSpread*20)
	}
	// Points at one load level: the slope cannot be told from the
	// intercept, so the fit goes through the origin.
	flat := FitLinear([]Point{{100, 2.1}, {101, 1.9}, {99, 2.0}, {100, 2.05}})
	if flat.Model != Proportional || math.Abs(flat.Slope-0.02) > 0.001 {
		t.Errorf("one level: %+v", flat)
	}
	if none := FitLinear(nil); none.Model != Single {
		t.Errorf("no points: %+v", none)
	}
}

func TestFindKnee(t *testing.T) {
	tests := []struct {
		name  string
		steps []StepPoint
		want  int // step index, -1 for none
	}{
		{"keeps up", []StepPoint{{0, 100, 100, 1}, {1, 200, 199, 2}, {2, 400, 395, 4}}, -1},
		{"falls short of the offer", []StepPoint{{0, 100, 100, 1}, {1, 200, 198, 2}, {2, 400, 310, 3}, {3, 800, 320, 3}}, 2},
		{"unlimited step gains nothing", []StepPoint{{0, 100, 100, 1}, {1, 200, 200, 2}, {2, 0, 205, 2.1}}, 2},
		{"out of order", []StepPoint{{3, 800, 320, 3}, {0, 100, 100, 1}, {2, 400, 310, 3}}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := FindKnee(tt.steps)
			switch {
			case tt.want < 0 && k != nil:
				t.Errorf("found a knee at %+v", k)
			case tt.want >= 0 && (k == nil || k.Step != tt.want):
				t.Errorf("knee = %+v, want step %d", k, tt.want)
			}
		})
	}
}

func ExampleFit_Interval() {
	// CPU cores of a cluster at five load steps.
	f := FitLinear([]Point{{50, 0.26}, {100, 0.29}, {200, 0.42}, {400, 0.58}, {800, 1.05}})
	mean, _ := f.Predict(10000)
	lo, hi := f.Interval(10000, 0.8)
	fmt.Printf("%s: %.3f + %.5f/op; at 10,000 ops/s %.1f cores (P10 %.1f, P90 %.1f)\n", f.Model, f.Intercept, f.Slope, mean, lo, hi)
	// Output:
	// linear: 0.193 + 0.00105/op; at 10,000 ops/s 10.7 cores (P10 10.1, P90 11.4)
}
