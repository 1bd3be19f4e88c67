//go:build loadbench

package etcd

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/faultline-dev/faultline/engines"
	"github.com/faultline-dev/faultline/engines/etcd/etcdtest"
	"github.com/faultline-dev/faultline/workload"
	"github.com/faultline-dev/faultline/workload/internal/loadbench"
)

// The etcd half of the load benchmark (make bench): faultline's load path
// against a bare clientv3 loop making the same requests, on one
// three-member cluster.
var (
	lbDuration = flag.Duration("loadbench.duration", 10*time.Second, "length of each measured run")
	lbReps     = flag.Int("loadbench.reps", 3, "repetitions of each comparison, in alternating order; the medians are reported")
	lbOnly     = flag.String("loadbench.only", "", "run only the comparisons whose name matches this regular expression")
)

// TestLoadBench prints, for 8 and 32 clients, a line such as
//
//	load etcd/register/c8: faultline 1818 ops/s, clientv3 1707 ops/s, throughput ratio 1.07, client CPU ratio 1.0 (client CPU per 1,000 ops: faultline 300 ms, clientv3 290 ms)
//
// Both sides run the register workload's mix (reads, writes,
// compare-and-sets, ledger inserts) over 8 keys, one client per worker,
// as fast as they go; throughput counts answered requests (a
// compare-and-set that did not match included), CPU is this process's.
func TestLoadBench(t *testing.T) {
	ec := etcdtest.Start(t, etcdtest.Zones(1, 1, 1), engines.Spec{})
	fmt.Printf("loadbench: etcd, %s per run, %d repetitions in alternating order, medians; load average %s before\n", *lbDuration, *lbReps, loadbench.LoadAverage())
	var only *regexp.Regexp
	if *lbOnly != "" {
		only = regexp.MustCompile(*lbOnly)
	}
	for _, clients := range []int{8, 32} {
		name := fmt.Sprintf("etcd/register/c%d", clients)
		if only != nil && !only.MatchString(name) {
			continue
		}
		fl, bare := loadbench.Alternate(*lbReps, func(rep int) (a, b func() loadbench.Measured) {
			prefix := fmt.Sprintf("/lb/c%d/%d/", clients, rep)
			return func() loadbench.Measured { return runFaultline(t, ec, clients, prefix+"f/", rep) },
				func() loadbench.Measured { return runBare(t, ec, clients, prefix+"b/", rep) }
		})
		for i := range fl {
			t.Logf("c%d rep %d: faultline %.0f ops/s %.1f ms/1k; clientv3 %.0f ops/s %.1f ms/1k", clients, i, fl[i].OKPerSecond, fl[i].CPUPerK, bare[i].OKPerSecond, bare[i].CPUPerK)
		}
		fmt.Println(loadbench.Line(name, "clientv3", loadbench.Median(fl), loadbench.Median(bare)))
	}
}

// cpuTime is this process's CPU time so far.
func cpuTime(t *testing.T) time.Duration {
	t.Helper()
	d, err := loadbench.CPUTime()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func runFaultline(t *testing.T, ec *etcdtest.Cluster, clients int, prefix string, rep int) loadbench.Measured {
	t.Helper()
	opener, err := NewOpener(Options{Endpoints: ec.Endpoints, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), workload.HistoryFile)
	rec, err := workload.CreateRecorder(path, workload.NewClock(), workload.Meta{}, workload.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d := &workload.Driver{
		Config: workload.Config{Concurrency: clients, Duration: *lbDuration, Timeout: 10 * time.Second, Seed: int64(rep + 1)},
		Gen:    workload.NewRegister(8, workload.DefaultMix), Open: opener.Open, Recorder: rec,
	}
	runtime.GC()
	cpu0, t0 := cpuTime(t), time.Now()
	if err := d.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	cpu, elapsed := cpuTime(t)-cpu0, time.Since(t0)
	h, err := workload.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	answered := 0
	for _, o := range h.Ops {
		if o.Type == workload.OK || o.Declined() {
			answered++
		}
	}
	return loadbench.Rate(int64(answered), elapsed, *lbDuration, cpu)
}

// runBare makes the register mix's requests from a plain loop per
// client: no driver, no history, no outcome classification.
func runBare(t *testing.T, ec *etcdtest.Cluster, clients int, prefix string, rep int) loadbench.Measured {
	t.Helper()
	addrs := make([]string, len(ec.Endpoints))
	for i, ep := range ec.Endpoints {
		addrs[i] = ep.Addr
	}
	clis := make([]*clientv3.Client, clients)
	for i := range clis {
		cli, err := clientv3.New(clientv3.Config{Endpoints: addrs, Logger: zap.NewNop()})
		if err != nil {
			t.Fatal(err)
		}
		defer cli.Close()
		clis[i] = cli
	}
	var answered, value atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), *lbDuration)
	defer cancel()
	runtime.GC()
	cpu0, t0 := cpuTime(t), time.Now()
	var wg sync.WaitGroup
	for w, cli := range clis {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(rep), uint64(w)))
			m := workload.DefaultMix
			for ctx.Err() == nil {
				key := prefix + "reg/k" + strconv.Itoa(r.IntN(8))
				var err error
				switch x := r.Float64(); {
				case x < m.Read:
					_, err = cli.Get(ctx, key)
				case x < m.Read+m.Write:
					_, err = cli.Put(ctx, key, strconv.FormatInt(value.Add(1), 10))
				case x < m.Read+m.Write+m.CAS:
					_, err = cli.Txn(ctx).If(clientv3.Compare(clientv3.Value(key), "=", strconv.FormatInt(value.Load(), 10))).
						Then(clientv3.OpPut(key, strconv.FormatInt(value.Add(1), 10))).Commit()
				default:
					n := strconv.FormatInt(value.Add(1), 10)
					_, err = cli.Put(ctx, prefix+"ledger/"+n, n)
				}
				if err == nil {
					answered.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	cpu, elapsed := cpuTime(t)-cpu0, time.Since(t0)
	n := answered.Load()
	return loadbench.Rate(n, elapsed, *lbDuration, cpu)
}
