package cost

import (
	"fmt"
	"strings"
	"testing"
)

// profiles are the fixed inputs the property tests sweep: synthetic runs
// of a scale-out and a primary-based engine, and the real etcd run.
func profiles(t *testing.T) map[string]*Profile {
	t.Helper()
	out := map[string]*Profile{}
	crdb := defaultSynth()
	pg := defaultSynth()
	pg.engine = "postgres"
	my := defaultSynth()
	my.engine = "mariadb"
	for name, s := range map[string]synth{"cockroachdb": crdb, "postgres": pg, "mariadb": my} {
		p, err := ProfileFromHistory(s.history(), ProfileOptions{})
		if err != nil {
			t.Fatal(err)
		}
		out[name] = p
	}
	p, err := ProfileFromHistory(realRun(t), ProfileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out["etcd (real run)"] = p
	return out
}

func mustCompute(t *testing.T, cat *Catalog, p *Profile, o Options) *Estimate {
	t.Helper()
	if o.Samples == 0 {
		o.Samples = 1
	}
	if o.Commitment == "" {
		o.Commitment = NoCommitment
	}
	est, err := Compute(cat, p, o)
	if err != nil {
		t.Fatal(err)
	}
	return est
}

func TestCostNeverFallsWhenQPSOrDataRise(t *testing.T) {
	cat, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	qpss := []float64{100, 300, 1000, 3000, 10000, 30000, 100000}
	datas := []float64{1 << 30, 10 << 30, 100 << 30, 1 << 40, 10 << 40}
	for name, p := range profiles(t) {
		for _, cloud := range []string{AWS, GCP, Azure} {
			for _, survive := range SurvivalLevels() {
				t.Run(fmt.Sprintf("%s/%s/%s", name, cloud, survive), func(t *testing.T) {
					prev := map[string]float64{}
					for _, q := range qpss {
						tg := DefaultTarget()
						tg.QPS = q
						for _, o := range mustCompute(t, cat, p, Options{Target: tg, Cloud: cloud, Survive: survive}).Offerings {
							if o.Unsupported == "" && o.Monthly < prev[o.ID]-1e-6 {
								t.Errorf("%s: %s at %.0f ops/s, less than %s at the rate before", o.ID, Money(o.Monthly), q, Money(prev[o.ID]))
							}
							prev[o.ID] = o.Monthly
						}
					}
					prev = map[string]float64{}
					for _, d := range datas {
						tg := DefaultTarget()
						tg.DataBytes = d
						for _, o := range mustCompute(t, cat, p, Options{Target: tg, Cloud: cloud, Survive: survive}).Offerings {
							if o.Unsupported == "" && o.Monthly < prev[o.ID]-1e-6 {
								t.Errorf("%s: %s for %s, less than %s for less data", o.ID, Money(o.Monthly), FormatBytes(d), Money(prev[o.ID]))
							}
							prev[o.ID] = o.Monthly
						}
					}
				})
			}
		}
	}
}

func TestRegionSurvivalNeverCheaperThanZoneSurvival(t *testing.T) {
	cat, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for name, p := range profiles(t) {
		for _, cloud := range []string{AWS, GCP, Azure} {
			for _, q := range []float64{100, 1000, 10000, 100000} {
				tg := DefaultTarget()
				tg.QPS = q
				for _, o := range mustCompute(t, cat, p, Options{Target: tg, Cloud: cloud, Survive: ZoneSurvival}).Offerings {
					lv := map[string]Level{}
					for _, l := range o.Resilience {
						lv[l.Survive] = l
					}
					one, zone, region := lv[SingleZone], lv[ZoneSurvival], lv[RegionSurvival]
					if region.Unsupported == "" && zone.Unsupported == "" && region.Monthly < zone.Monthly {
						t.Errorf("%s on %s at %.0f ops/s, %s: region survival %s is cheaper than zone survival %s",
							name, cloud, q, o.ID, Money(region.Monthly), Money(zone.Monthly))
					}
					if zone.Unsupported == "" && one.Unsupported == "" && zone.Monthly < one.Monthly {
						t.Errorf("%s on %s at %.0f ops/s, %s: zone survival %s is cheaper than a single zone %s",
							name, cloud, q, o.ID, Money(zone.Monthly), Money(one.Monthly))
					}
				}
			}
		}
	}
}

func TestSelfHostedCostNeverFallsWhenReplicasRise(t *testing.T) {
	cat, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	prm, err := loadParams(cat)
	if err != nil {
		t.Fatal(err)
	}
	for name, p := range profiles(t) {
		base, err := LookupEngine(p.Engine)
		if err != nil {
			t.Fatal(err)
		}
		for _, scaleOut := range []bool{true, false} {
			prev := 0.0
			for _, rf := range []int{3, 5, 7} {
				eng := base
				eng.ScaleOut, eng.RF, eng.MinNodes = scaleOut, rf, rf
				d := demandAt(p, eng, DefaultTarget(), 0.5, 0.5, 0.5, 0.5, 0.5)
				b, err := selfHosted(env{cat: cat, cloud: AWS, survive: ZoneSurvival, commit: NoCommitment, engine: eng, p: prm}, d)
				if err != nil {
					t.Fatal(err)
				}
				if b.total() < prev-1e-6 {
					t.Errorf("%s, scale-out %v: %d replicas cost %s, less than %s with fewer", name, scaleOut, rf, Money(b.total()), Money(prev))
				}
				prev = b.total()
			}
		}
	}
}

func TestMonteCarloPercentilesAreOrdered(t *testing.T) {
	cat, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	p, err := ProfileFromHistory(realRun(t), ProfileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	est := mustCompute(t, cat, p, Options{Target: DefaultTarget(), Cloud: AWS, Survive: ZoneSurvival, Samples: 300, Seed: 7})
	again := mustCompute(t, cat, p, Options{Target: DefaultTarget(), Cloud: AWS, Survive: ZoneSurvival, Samples: 300, Seed: 7})
	for i, o := range est.Offerings {
		if !(o.P10 <= o.P50 && o.P50 <= o.P90) || o.P10 == o.P90 {
			t.Errorf("%s: P10 %v, P50 %v, P90 %v", o.ID, o.P10, o.P50, o.P90)
		}
		if again.Offerings[i].P50 != o.P50 {
			t.Errorf("%s: same seed, P50 %v then %v", o.ID, o.P50, again.Offerings[i].P50)
		}
	}
}

func TestOptionsValidateReportsEveryProblem(t *testing.T) {
	err := Options{Cloud: "ibm", Survive: "galaxy", Commitment: "5y", Offerings: []string{"dynamo"}}.Validate()
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{`cloud: "ibm"`, `survive: "galaxy"`, `commitment: "5y"`, "target: qps must be positive", `offerings: unknown offering "dynamo"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not mention %q", err, want)
		}
	}
}
