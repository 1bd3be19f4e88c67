package cost

import (
	"fmt"
)

// The examples below run the model on fixed inputs; their outputs are
// the model's exact figures for them.

func ExampleRUModel() {
	m := DefaultRUModel()
	// The published examples: a 64-byte point read about 1.03 RU, a
	// 64-byte insert 6.71 RU (learn-about-request-units.md).
	fmt.Printf("read 64 B %.2f RU, write 64 B %.2f RU\n", m.ReadRU(64), m.WriteRU(64))
	fmt.Printf("read 1 KiB %.2f RU, write 1 KiB %.2f RU\n", m.ReadRU(1024), m.WriteRU(1024))
	fmt.Printf("80%% reads of 1 KiB rows: %.2f RU per operation\n", m.PerOp(0.8, 1024))
	// Output:
	// read 64 B 1.02 RU, write 64 B 6.70 RU
	// read 1 KiB 1.97 RU, write 1 KiB 9.52 RU
	// 80% reads of 1 KiB rows: 3.48 RU per operation
}

func ExampleCompute() {
	cat, err := Builtin()
	if err != nil {
		fmt.Println(err)
		return
	}
	// A run of a three-node CockroachDB cluster in load steps whose use
	// is exactly 0.05 idle cores a node + 0.6 ms of CPU per operation.
	p, err := ProfileFromHistory(defaultSynth().history(), ProfileOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	t := DefaultTarget()
	t.ReadFraction = 0.8
	est, err := Compute(cat, p, Options{Target: t, Cloud: AWS, Survive: ZoneSurvival, Commitment: NoCommitment, Samples: 200, Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, o := range est.Offerings {
		fmt.Printf("%-21s %8s (P10 %8s, P90 %8s) %6s per 1k ops/s; region survival +%s\n",
			o.ID, Money(o.Monthly), Money(o.P10), Money(o.P90), Money(o.PerKOps), Money(*o.Resilience[2].Premium-*o.Resilience[1].Premium))
	}
	// Output:
	// self-hosted             $4,141 (P10   $4,130, P90   $4,152)   $414 per 1k ops/s; region survival +$1,495
	// cockroachdb-basic      $19,104 (P10  $19,104, P90  $19,104) $1,910 per 1k ops/s; region survival +$6,341
	// cockroachdb-standard    $2,089 (P10   $2,089, P90   $2,089)   $209 per 1k ops/s; region survival +$1,169
	// cockroachdb-advanced    $2,934 (P10   $2,841, P90   $3,029)   $293 per 1k ops/s; region survival +$3,219
}

func ExampleProfileFromHistory() {
	h, err := readRealRun()
	if err != nil {
		fmt.Println(err)
		return
	}
	p, err := ProfileFromHistory(h, ProfileOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s on the %s platform, %d nodes, %d ok operations\n", p.Engine, p.Platform, p.Nodes, p.OKOps)
	for _, s := range p.Steps {
		fmt.Printf("step %d: offered %3.0f, achieved %5.1f ops/s, %.3f cores\n", s.Index, s.Offered, s.Achieved, s.Cores)
	}
	fmt.Printf("cpu: %.3f + %.5f cores per op/s\n", p.CPU.Intercept, p.CPU.Slope)
	fmt.Printf("network between nodes: %.0f bytes per operation\n", p.Net.Slope)
	// Output:
	// etcd on the local platform, 3 nodes, 8620 ok operations
	// step 0: offered  25, achieved  24.3 ops/s, 0.128 cores
	// step 1: offered  50, achieved  50.1 ops/s, 0.212 cores
	// step 2: offered 100, achieved 100.1 ops/s, 0.288 cores
	// step 3: offered 200, achieved 198.4 ops/s, 0.521 cores
	// step 4: offered   0, achieved 648.5 ops/s, 0.808 cores
	// cpu: 0.183 + 0.00102 cores per op/s
	// network between nodes: 713 bytes per operation
}

func ExampleSeedReference() {
	cat, err := Builtin()
	if err != nil {
		fmt.Println(err)
		return
	}
	ref, err := SeedReference(cat, AWS)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, l := range ref.Lines {
		fmt.Printf("%-30s %-28s %-10s %9s %s\n", l.Offering, l.Item, l.Document, Money(l.Recomputed), diffText(l.Diff))
	}
	// Output:
	// CockroachDB self-hosted        compute: 3 × 8 vCPU / 32 GB  ≈ $600          $715 +19%
	// CockroachDB self-hosted        storage: 3 × 200 GB SSD      ≈ $60         $48.00 -20%
	// CockroachDB self-hosted        inter-region traffic         ≈ $100          $215 n/a
	// CockroachDB self-hosted        engineering: 0.2 FTE         ≈ $3,000      $3,004 +0%
	// CockroachDB self-hosted        total                        ≈ $3,800      $3,982 +5%
	// CockroachDB Serverless (Basic) storage: 100 GB × $1         ≈ $100        $46.57 -53%
	// CockroachDB Serverless (Basic) compute: 10K RU/s × $0.20    ≈ $200        $5,256 +2528%
	// CockroachDB Serverless (Basic) total                        ≈ $300        $5,303 +1668%
	// CloudNativePG self-hosted      compute: 3 × 4 vCPU / 16 GB  ≈ $300          $357 +19%
	// CloudNativePG self-hosted      storage: 3 × 100 GB          ≈ $30         $24.00 -20%
	// CloudNativePG self-hosted      engineering: 0.1 FTE         ≈ $1,500      $1,502 +0%
	// CloudNativePG self-hosted      total                        ≈ $1,830      $1,883 +3%
	// RDS PostgreSQL Multi-AZ        db.r6g.xlarge × 2            ≈ $500          $656 +31%
	// RDS PostgreSQL Multi-AZ        storage: 100 GB gp3          ≈ $15         $23.00 +53%
	// RDS PostgreSQL Multi-AZ        total                        ≈ $515          $679 +32%
	// Neon                           storage: 100 GB × $0.25      ≈ $25         $35.00 +40%
	// Neon                           active compute               $25–175 (the rest of $50–200)    $77.38 n/a
	// Neon                           total                        $50–200         $112 n/a
}
