package loadbench

import (
	"slices"
	"testing"
	"time"
)

func TestAlternate(t *testing.T) {
	var order []string
	as, bs := Alternate(3, func(rep int) (a, b func() Measured) {
		return func() Measured { order = append(order, "a"); return Measured{OKPerSecond: float64(rep)} },
			func() Measured { order = append(order, "b"); return Measured{OKPerSecond: float64(10 + rep)} }
	})
	if want := []string{"a", "b", "b", "a", "a", "b"}; !slices.Equal(order, want) {
		t.Errorf("order %v, want %v", order, want)
	}
	if len(as) != 3 || len(bs) != 3 || as[1].OKPerSecond != 1 || bs[2].OKPerSecond != 12 {
		t.Errorf("as %v bs %v: want each side's runs in repetition order", as, bs)
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []Measured
		want Measured
	}{
		{name: "none"},
		{name: "each figure on its own", in: []Measured{{OKPerSecond: 3, CPUPerK: 10}, {OKPerSecond: 1, CPUPerK: 30}, {OKPerSecond: 2, CPUPerK: 20}}, want: Measured{OKPerSecond: 2, CPUPerK: 20}},
		{name: "even count takes the upper", in: []Measured{{OKPerSecond: 1, CPUPerK: 1}, {OKPerSecond: 2, CPUPerK: 2}}, want: Measured{OKPerSecond: 2, CPUPerK: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Median(tc.in); got != tc.want {
				t.Errorf("Median = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestLineAndRate(t *testing.T) {
	f := Rate(5188*20, 21*time.Second, 20*time.Second, time.Duration(float64(5188*20)*112*float64(time.Microsecond)))
	r := Measured{OKPerSecond: 8131, CPUPerK: 41}
	want := "load postgres/register/c8: faultline 5188 ops/s, pgbench 8131 ops/s, throughput ratio 0.64, client CPU ratio 2.7 (client CPU per 1,000 ops: faultline 112 ms, pgbench 41 ms)"
	if got := Line("postgres/register/c8", "pgbench", f, r); got != want {
		t.Errorf("Line =\n%s\nwant\n%s", got, want)
	}
}
