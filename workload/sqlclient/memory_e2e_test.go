//go:build e2e

package sqlclient_test

import (
	"bufio"
	"context"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/engines"
	"github.com/faultline-dev/faultline/engines/dbtest"
	"github.com/faultline-dev/faultline/engines/postgres"
	"github.com/faultline-dev/faultline/workload"
	"github.com/faultline-dev/faultline/workload/sqlclient"
)

// The length of TestLoadMemoryIsFlat: the nightly default; the issue's
// hour by hand: go test -tags e2e -run MemoryIsFlat ./workload/sqlclient
// -memory.length 1h -timeout 2h.
var memoryLength = flag.Duration("memory.length", 10*time.Minute, "how long TestLoadMemoryIsFlat drives its load")

// TestLoadMemoryIsFlat drives the register workload at 2,000 ops/s (open
// loop, 8 clients) against PostgreSQL for memory.length, recording a
// compressed history as `faultline run --compress` does, and holds the
// process's memory flat in the length of the load: after the first tenth
// (connections, prepared statements, buffers), RSS may grow by less than
// 200 MiB and the live heap by less than 32 MiB. A recorder that kept
// the history in memory grows by about 150 bytes per operation: 1 GiB an
// hour at this rate.
func TestLoadMemoryIsFlat(t *testing.T) {
	s := dbtest.Start(t, postgres.New(), engines.Spec{Options: map[string]string{"synchronous_commit": "off"}})
	ctx := context.Background()
	gen := workload.NewRegister(8, workload.DefaultMix)
	open, release, err := sqlclient.Connect(ctx, sqlclient.Config{
		Protocol: s.Engine.Protocol(), Kind: sqlclient.KindRegister, Endpoints: []engines.Endpoint{s.Endpoint},
		Options: map[string]string{sqlclient.OptIsolation: sqlclient.ReadCommitted}, Generator: gen, Run: "memory",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	path := filepath.Join(t.TempDir(), workload.CompressedHistoryFile)
	rec, err := workload.CreateRecorder(path, workload.NewClock(), workload.Meta{Run: "memory"}, workload.FileOptions{Compress: true})
	if err != nil {
		t.Fatal(err)
	}
	d := &workload.Driver{
		Config: workload.Config{Concurrency: 8, Rate: 2000, Duration: *memoryLength, Timeout: 10 * time.Second, Seed: 1},
		Gen:    gen, Open: open, Recorder: rec,
	}
	type sample struct {
		at        time.Duration
		rss, heap uint64
	}
	var samples []sample
	stop := make(chan struct{})
	sampled := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(sampled)
		tick := time.NewTicker(max(*memoryLength/40, time.Second))
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			samples = append(samples, sample{at: time.Since(start), rss: rss(), heap: ms.HeapInuse})
		}
	}()
	if err := d.Run(ctx); err != nil {
		t.Fatal(err)
	}
	close(stop)
	<-sampled
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	ops := d.Counters.OK.Load() + d.Counters.Fail.Load() + d.Counters.Info.Load()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d operations in %s (%s), history %.1f MiB compressed (%.1f bytes per operation)", ops, *memoryLength, d.Kept(), mib(uint64(fi.Size())), float64(fi.Size())/float64(max(ops, 1)))
	if len(samples) < 4 {
		t.Fatalf("only %d memory samples", len(samples))
	}
	for _, s := range samples {
		if s.rss == 0 {
			t.Fatal("could not read VmRSS from /proc/self/status")
		}
	}
	// The baseline is the largest figure of the first tenth of the run.
	var base sample
	for _, s := range samples {
		if s.at > *memoryLength/10 && base.at != 0 {
			break
		}
		base.at, base.rss, base.heap = s.at, max(base.rss, s.rss), max(base.heap, s.heap)
	}
	var peak sample
	for _, s := range samples {
		peak.rss, peak.heap = max(peak.rss, s.rss), max(peak.heap, s.heap)
	}
	last := samples[len(samples)-1]
	t.Logf("RSS %.1f MiB after %s, peak %.1f, last %.1f; live heap %.1f, peak %.1f, last %.1f MiB",
		mib(base.rss), base.at.Round(time.Second), mib(peak.rss), mib(last.rss), mib(base.heap), mib(peak.heap), mib(last.heap))
	if grew := int64(peak.rss) - int64(base.rss); grew >= 200<<20 {
		t.Errorf("RSS grew by %.1f MiB over the run; the target is less than 200 MiB", float64(grew)/(1<<20))
	}
	if grew := int64(peak.heap) - int64(base.heap); grew >= 32<<20 {
		t.Errorf("the live heap grew by %.1f MiB over the run, want less than 32 MiB: something keeps every operation", float64(grew)/(1<<20))
	}
	if k := d.Kept(); k.Achieved < 0.99*k.Target {
		t.Errorf("achieved %.1f ops/s of %g: the load did not keep its rate, so it did not test what it says", k.Achieved, k.Target)
	}
	h, err := workload.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(h.Ops)) != ops {
		t.Errorf("history holds %d operations, the driver counted %d", len(h.Ops), ops)
	}
}

// rss is this process's resident set size, zero if unknown.
func rss() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }
