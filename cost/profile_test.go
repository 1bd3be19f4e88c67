package cost

import (
	"compress/gzip"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/faultline-dev/faultline/workload"
)

// realRun reads testdata/etcd-local-steps.jsonl.gz: a real run of three
// etcd 3.7.3 members on loopback addresses in zones a, b and c, the
// register workload offered 25, 50, 100, 200 and unlimited operations a
// second for 8 s each, sampled from /proc every 0.5 s (recorded by
// measure.TestLocalEtcdRunInLoadSteps on one of this project's machines).
func realRun(t testing.TB) *workload.History {
	t.Helper()
	h, err := readRealRun()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func readRealRun() (*workload.History, error) {
	f, err := os.Open("testdata/etcd-local-steps.jsonl.gz")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	return workload.Read(z)
}

func TestProfileRecoversTheSyntheticCoefficients(t *testing.T) {
	s := defaultSynth()
	p, err := ProfileFromHistory(s.history(), ProfileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Nodes != 3 || p.Knee != nil || len(p.Steps) != 5 {
		t.Fatalf("nodes %d, knee %+v, %d steps", p.Nodes, p.Knee, len(p.Steps))
	}
	near := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-6*math.Max(1, math.Abs(want)) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	near("CPU slope", p.CPU.Slope, s.coresPerOp)
	near("CPU intercept", p.CPU.Intercept, 3*s.idleCores)
	near("busiest slope", p.Busiest.Slope, s.coresPerOp/2)
	near("network slope", p.Net.Slope, s.netBytesPerOp)
	near("disk write slope", p.DiskWrite.Slope, s.diskBytesPerOp)
	if p.CPU.Model != Linear {
		t.Errorf("CPU model %s, want linear", p.CPU.Model)
	}
	// Keys k0…k999 (10 of 2 bytes, 90 of 3, 900 of 4) with int64 values.
	if wantLogical := 10*2 + 90*3 + 900*4 + 1000*8.0; p.ReadFraction != 0 || p.LogicalBytes != wantLogical {
		t.Errorf("read fraction %v, logical %v; want 0, %v", p.ReadFraction, p.LogicalBytes, wantLogical)
	}
}

func TestProfileLeavesStepsPastTheKneeOut(t *testing.T) {
	s := defaultSynth()
	s.capRate = 420 // the unlimited step gains 5% over the 400 step
	p, err := ProfileFromHistory(s.history(), ProfileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Knee == nil || p.Knee.Step != 4 || p.Knee.Saturation < 419 {
		t.Fatalf("knee = %+v, want step 4 at 420 ops/s", p.Knee)
	}
	if p.CPU.N != 4 || p.CPU.XMax > 401 {
		t.Errorf("CPU fit of %d points up to %v ops/s, want the 4 steps before the knee", p.CPU.N, p.CPU.XMax)
	}
	if !strings.Contains(strings.Join(p.Notes, "\n"), "saturated at step 4") {
		t.Errorf("notes do not mention the saturation: %v", p.Notes)
	}
}

func TestProfileOfOneLoadLevel(t *testing.T) {
	s := defaultSynth()
	s.rates = []float64{200}
	s.stepSecs = 40
	h := s.history()
	h.Events = nil // not in load-step mode
	p, err := ProfileFromHistory(h, ProfileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.CPU.Model != Proportional || p.CPU.N < 5 {
		t.Errorf("CPU fit %s of %d points, want proportional over the run's slices", p.CPU.Model, p.CPU.N)
	}
	// Idle use is charged to operations: the slope is idle/200 too high.
	want := s.coresPerOp + 3*s.idleCores/200
	if math.Abs(p.CPU.Slope-want) > 1e-3*want {
		t.Errorf("slope %v, want %v", p.CPU.Slope, want)
	}
	if !strings.Contains(strings.Join(p.Notes, "\n"), "one load level") {
		t.Errorf("notes do not warn about the single level: %v", p.Notes)
	}
}

func TestProfileNeedsSamples(t *testing.T) {
	h := defaultSynth().history()
	h.Samples = nil
	if _, err := ProfileFromHistory(h, ProfileOptions{}); err == nil || !strings.Contains(err.Error(), "no resource samples") {
		t.Errorf("error = %v", err)
	}
}

func TestProfileOfARealLocalRun(t *testing.T) {
	p, err := ProfileFromHistory(realRun(t), ProfileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Engine != "etcd" || p.Platform != "local" || p.Nodes != 3 || len(p.Steps) != 5 {
		t.Fatalf("profile %s on %s, %d nodes, %d steps", p.Engine, p.Platform, p.Nodes, len(p.Steps))
	}
	for _, f := range []struct {
		name string
		fit  Fit
	}{{"cpu", p.CPU}, {"net", p.Net}, {"disk write", p.DiskWrite}} {
		if f.fit.Model != Linear || f.fit.Slope <= 0 {
			t.Errorf("%s: %s fit with slope %v, want a rising line", f.name, f.fit.Model, f.fit.Slope)
		}
	}
	if len(p.Unmeasured) != 0 {
		t.Errorf("unmeasured %v: the run measured everything", p.Unmeasured)
	}
	if p.ReadFraction < 0.3 || p.ReadFraction > 0.7 {
		t.Errorf("read fraction %v, the mix was half reads", p.ReadFraction)
	}
}
