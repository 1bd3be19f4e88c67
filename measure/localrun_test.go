package measure

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/faultline-dev/faultline/engines/etcd"
	"github.com/faultline-dev/faultline/internal/agent"
	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/workload"
)

// TestMain lets the test binary run as an etcd member (the agent the
// faultline binary runs), so that the real-etcd test needs nothing
// installed.
func TestMain(m *testing.M) {
	agent.Main(map[string]agent.Func{etcd.AgentName: etcd.Agent})
	os.Exit(m.Run())
}

// TestLocalEtcdRunInLoadSteps is an end-to-end run on real processes:
// three etcd members (this test binary re-executed as faultline's etcd
// agent) on loopback addresses in three zones, the register workload at
// several offered rates with load-step events, and the /proc sampler
// (with byte accounting when root) recording into a real history file in
// a temporary directory: the kind of run cost/testdata's etcd-local-steps
// history came from.
func TestLocalEtcdRunInLoadSteps(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three etcd members for about 15 s; skipped under -short")
	}
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	steps := []float64{25, 100, 0}
	const stepDur = 4 * time.Second
	out := t.TempDir()
	// Addresses of their own, so that no other test's servers collide.
	base := fmt.Sprintf("127.%d.%d.", 100+rand.IntN(100), rand.IntN(250))
	nodes := []platform.Node{
		{Name: "n1", Region: "r1", Zone: "a", Addr: base + "2", Role: platform.RoleWorker},
		{Name: "n2", Region: "r1", Zone: "b", Addr: base + "3", Role: platform.RoleWorker},
		{Name: "n3", Region: "r1", Zone: "c", Addr: base + "4", Role: platform.RoleWorker},
	}
	h := newShellHost(t, nodes...)
	var peers []string
	for _, n := range nodes {
		peers = append(peers, fmt.Sprintf("%s=http://%s:32380", n.Name, n.Addr))
	}
	for _, n := range nodes {
		if err := h.Run(context.Background(), n.Name, platform.Process{Path: bin, Env: []string{agent.Command(etcd.AgentName)}, Args: []string{
			"--name", n.Name, "--data-dir", filepath.Join(h.DataDir(n.Name), "etcd"),
			"--listen-client-urls", "http://" + n.Addr + ":32379", "--advertise-client-urls", "http://" + n.Addr + ":32379",
			"--listen-peer-urls", "http://" + n.Addr + ":32380", "--initial-advertise-peer-urls", "http://" + n.Addr + ":32380",
			"--initial-cluster", strings.Join(peers, ","), "--log-level", "error",
		}}); err != nil {
			t.Fatal(err)
		}
	}
	var endpoints []string
	for _, n := range nodes {
		endpoints = append(endpoints, n.Addr+":32379")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	waitEtcd(ctx, t, endpoints)

	f, err := os.Create(filepath.Join(out, "history.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var infos []workload.NodeInfo
	for _, n := range nodes {
		infos = append(infos, workload.NodeInfo{Name: n.Name, Region: n.Region, Zone: n.Zone, Addr: n.Addr})
	}
	rec := workload.NewRecorder(f, workload.NewClock(), workload.Meta{
		Run: filepath.Base(out), Scenario: "etcd-load-steps", Seed: 1, Platform: "local", Engine: "etcd",
		Version: "3.7.3", Workload: "register", Nodes: infos,
	})
	s, err := NewProcSampler(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	for _, n := range s.Notes() {
		t.Log(n)
	}
	sctx, stopSampling := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		Run(sctx, s, rec, 500*time.Millisecond, func(err error) { t.Logf("sample: %v", err) })
	}()
	gen := workload.NewRegister(16, workload.Mix{Read: 0.5, Write: 0.2, CAS: 0.1, Ledger: 0.2})
	for i, rate := range steps {
		rec.Event(workload.Event{Kind: workload.EventLoadStep, Term: uint64(i), Detail: "offered=" + strconv.FormatFloat(rate, 'f', -1, 64)})
		d := &workload.Driver{
			Config:   workload.Config{Concurrency: 4, Rate: rate, Duration: stepDur, Timeout: 2 * time.Second, Seed: int64(i + 1)},
			Gen:      gen,
			Open:     etcdOpener(endpoints),
			Recorder: rec,
		}
		if err := d.Run(ctx); err != nil {
			t.Fatal(err)
		}
		t.Logf("step %d offered %v: ok %d fail %d info %d", i, rate, d.Counters.OK.Load(), d.Counters.Fail.Load(), d.Counters.Info.Load())
	}
	time.Sleep(time.Second) // one more sample after the last step
	stopSampling()
	wg.Wait()
	if err := rec.Err(); err != nil {
		t.Fatal(err)
	}
	hist, err := workload.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	st := Steps(hist, 2*time.Second)
	if len(st) != len(steps) {
		t.Fatalf("%d steps in the history, want %d", len(st), len(steps))
	}
	for _, s := range st {
		tot := s.Usage.Total()
		t.Logf("step %d offered %v: %.1f ok ops/s, %.3f cores, %.0f disk write B/s, %.0f net B/s (cross-zone %.0f)",
			s.Index, s.Offered, s.Usage.OpsPerSecond, sumRates(s.Usage).CPUSeconds, sumRates(s.Usage).DiskWriteBytes,
			sumRates(s.Usage).NetBytes(), sumRates(s.Usage).NetCrossZoneBytes)
		if s.Usage.OKOps == 0 || tot.Totals.CPUSeconds <= 0 {
			t.Errorf("step %d measured no work: %+v", s.Index, tot)
		}
	}
	if os.Geteuid() == 0 {
		if net := sumRates(st[len(st)-1].Usage); net.NetCrossZoneBytes <= 0 {
			t.Errorf("no cross-zone bytes counted between members in three zones")
		}
	}
	t.Logf("run directory: %s", out)
}

func sumRates(u Usage) Counters {
	var c Counters
	for _, n := range u.Nodes {
		c = c.Add(n.Rates())
	}
	return c
}

func waitEtcd(ctx context.Context, t *testing.T, endpoints []string) {
	t.Helper()
	c, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for {
		octx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := c.Put(octx, "faultline-ready", "1")
		cancel()
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("etcd never became ready: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// etcdClient performs the register workload's operations on etcd.
type etcdClient struct{ c *clientv3.Client }

func etcdOpener(endpoints []string) workload.Opener {
	return func(ctx context.Context, worker int) (workload.Client, error) {
		// Each worker talks to one member, as a client pinned to an
		// endpoint would.
		c, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoints[worker%len(endpoints)]}, DialTimeout: 2 * time.Second})
		if err != nil {
			return nil, err
		}
		return etcdClient{c}, nil
	}
}

func (e etcdClient) Close() error { return e.c.Close() }

func (e etcdClient) Invoke(ctx context.Context, op workload.Op) workload.Op {
	fail := func(err error) workload.Op {
		op.Error = err.Error()
		op.Type = workload.Info // a write may have taken effect
		if op.F == workload.FRead {
			op.Type = workload.Fail
		}
		return op
	}
	switch op.F {
	case workload.FRead:
		r, err := e.c.Get(ctx, op.Key)
		if err != nil {
			return fail(err)
		}
		if len(r.Kvs) > 0 {
			v, _ := strconv.ParseInt(string(r.Kvs[0].Value), 10, 64)
			op.Value = workload.Int(v)
		}
	case workload.FWrite, workload.FLedgerAdd:
		v := "1"
		if op.Value != nil {
			v = strconv.FormatInt(*op.Value, 10)
		}
		if _, err := e.c.Put(ctx, op.Key, v); err != nil {
			return fail(err)
		}
	case workload.FCAS:
		r, err := e.c.Txn(ctx).
			If(clientv3.Compare(clientv3.Value(op.Key), "=", strconv.FormatInt(*op.Prev, 10))).
			Then(clientv3.OpPut(op.Key, strconv.FormatInt(*op.Value, 10))).Commit()
		if err != nil {
			return fail(err)
		}
		if !r.Succeeded {
			op.Type, op.Error = workload.Fail, "precondition failed"
			return op
		}
	default:
		op.Type, op.Error = workload.Fail, "unsupported"
		return op
	}
	op.Type = workload.OK
	return op
}
