package cost

import "testing"

// BenchmarkCompute prices every PostgreSQL-family offering on AWS for the
// real etcd run with 500 Monte Carlo draws, what `faultline cost --run`
// does by default.
func BenchmarkCompute(b *testing.B) {
	cat, err := Builtin()
	if err != nil {
		b.Fatal(err)
	}
	p, err := ProfileFromHistory(realRun(b), ProfileOptions{})
	if err != nil {
		b.Fatal(err)
	}
	o := Options{Target: DefaultTarget(), Cloud: AWS, Survive: ZoneSurvival, Commitment: NoCommitment, Engine: "postgres", Samples: 500, Seed: 1}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compute(cat, p, o); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProfileFromHistory reduces the real run (8,620 operations,
// 5 load steps, 3 nodes sampled twice a second) to its fits.
func BenchmarkProfileFromHistory(b *testing.B) {
	h := realRun(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ProfileFromHistory(h, ProfileOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
