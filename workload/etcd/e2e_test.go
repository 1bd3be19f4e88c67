package etcd

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/engines"
	etcdengine "github.com/faultline-dev/faultline/engines/etcd"
	"github.com/faultline-dev/faultline/engines/etcd/etcdtest"
	"github.com/faultline-dev/faultline/faults"
	"github.com/faultline-dev/faultline/workload"
)

// TestLeaderKillEndToEnd drives the register workload against a real
// three-member cluster while the nemesis kills the leader for three
// seconds, as a run would, and checks what the history holds.
func TestLeaderKillEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a real etcd cluster for about ten seconds")
	}
	ec := etcdtest.Start(t, etcdtest.Zones(1, 1, 1), engines.Spec{Options: etcdtest.FastElections()})
	var file bytes.Buffer
	h := runLeaderKill(t, ec, &file)

	if len(h.Faults) != 1 {
		t.Fatalf("%d fault windows, want 1", len(h.Faults))
	}
	fw := h.Faults[0]
	if fw.Error != "" || fw.Mechanism != "SIGKILL" || len(fw.Nodes) != 1 || fw.End <= fw.Start {
		t.Errorf("fault window %+v", fw)
	}
	checkOKAround(t, h, fw)
	checkLeaders(t, h, fw)
	checkLedger(t, h)
	back, err := workload.Read(&file)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Ops) != len(h.Ops) || len(back.Faults) != 1 || len(back.Events) != len(h.Events) {
		t.Errorf("history file: %d ops, %d faults, %d events; in memory %d, 1, %d", len(back.Ops), len(back.Faults), len(back.Events), len(h.Ops), len(h.Events))
	}
}

// runLeaderKill runs ten seconds of load with a leader kill from 3s to
// 6s, records leadership as the runner does, makes the final reads, and
// returns the history (also written to file).
func runLeaderKill(t *testing.T, ec *etcdtest.Cluster, file *bytes.Buffer) *workload.History {
	t.Helper()
	var faultLog bytes.Buffer
	rec := workload.NewRecorder(file, workload.NewClock(), workload.Meta{Seed: 7, Engine: "etcd", Workload: "register"})
	opener, err := NewOpener(Options{Endpoints: ec.Endpoints, Prefix: "/e2e/"})
	if err != nil {
		t.Fatal(err)
	}
	driver := &workload.Driver{
		Config:   workload.Config{Concurrency: 4, Rate: 150, Duration: 10 * time.Second, Timeout: 2 * time.Second, Seed: 7},
		Gen:      workload.NewRegister(3, workload.DefaultMix),
		Open:     opener.Open,
		Recorder: rec,
	}
	spec := faults.Spec{ID: 0, Kind: faults.KindKill, At: 3 * time.Second, Duration: 3 * time.Second}
	spec.Target, _ = faults.ParseSelector("leader")
	fault, err := faults.New(spec)
	if err != nil {
		t.Fatal(err)
	}
	nemesis := &faults.Nemesis{
		Cluster:  ec.Cluster,
		Schedule: []faults.Scheduled{{Spec: spec, Fault: fault}},
		Recorder: rec,
		Leader: func(ctx context.Context) (string, error) {
			l, err := ec.Engine.Leader(ctx, ec.Cluster)
			return l.Node, err
		},
		Seed: 7,
		Log:  faults.NewLog(&faultLog, rec.Clock().Now),
	}
	defer nemesis.HealAll(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	pollCtx, stopPolling := context.WithCancel(ctx)
	polled := make(chan struct{})
	go func() { defer close(polled); recordLeadership(pollCtx, ec, rec) }()
	var (
		wg             sync.WaitGroup
		runErr, nemErr error
	)
	wg.Add(2)
	go func() { defer wg.Done(); runErr = driver.Run(ctx) }()
	go func() { defer wg.Done(); nemErr = nemesis.Run(ctx) }()
	wg.Wait()
	stopPolling()
	<-polled
	if runErr != nil || nemErr != nil {
		t.Fatalf("driver: %v; nemesis: %v", runErr, nemErr)
	}
	if err := ec.Engine.WaitReady(ctx, ec.Cluster); err != nil {
		t.Fatal(err)
	}
	if err := driver.Final(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("ops ok %d, fail %d, info %d\n%s", driver.Counters.OK.Load(), driver.Counters.Fail.Load(), driver.Counters.Info.Load(), faultLog.String())
	return rec.History()
}

// checkOKAround checks that operations succeeded before the fault and
// after it was healed.
func checkOKAround(t *testing.T, h *workload.History, fw workload.FaultWindow) {
	t.Helper()
	before, during, after := 0, 0, 0
	for _, o := range h.Ops {
		if o.Type != workload.OK || o.Final {
			continue
		}
		switch {
		case o.Return < fw.Start:
			before++
		case o.Call > fw.End:
			after++
		default:
			during++
		}
	}
	if before == 0 || after == 0 {
		t.Errorf("ok ops: %d before the kill, %d during, %d after; want some before and after", before, during, after)
	}
}

// checkLeaders checks that the killed node led once and another after it.
func checkLeaders(t *testing.T, h *workload.History, fw workload.FaultWindow) {
	t.Helper()
	leaders := map[string]bool{}
	for _, e := range h.Events {
		if e.Kind == workload.EventLeader {
			leaders[e.Node] = true
		}
	}
	if len(leaders) < 2 || !leaders[fw.Nodes[0]] {
		t.Errorf("leaders recorded %v; want the killed %s and a successor", leaders, fw.Nodes[0])
	}
}

// checkLedger checks that etcd lost no acknowledged insert to the kill.
func checkLedger(t *testing.T, h *workload.History) {
	t.Helper()
	var final *workload.Op
	acked := map[string]bool{}
	for i, o := range h.Ops {
		switch {
		case o.F == workload.FLedgerRead && o.Final && o.Type == workload.OK:
			final = &h.Ops[i]
		case o.F == workload.FLedgerAdd && o.Type == workload.OK:
			acked[o.Key] = true
		}
	}
	if final == nil {
		t.Fatal("no final ledger read")
	}
	if len(acked) == 0 {
		t.Fatal("no acknowledged ledger insert: the check proves nothing")
	}
	for _, k := range final.Keys {
		delete(acked, k)
	}
	if len(acked) > 0 {
		t.Errorf("%d acknowledged ledger inserts missing from the final read", len(acked))
	}
}

// recordLeadership polls the engine's leader as the runner does and
// records each change.
func recordLeadership(ctx context.Context, ec *etcdtest.Cluster, rec *workload.Recorder) {
	last := ""
	for ctx.Err() == nil {
		l, err := ec.Engine.Leader(ctx, ec.Cluster)
		node := l.Node
		if errors.Is(err, etcdengine.ErrNoLeader) {
			node = "-"
		}
		if err == nil || node == "-" {
			if node != last {
				kind := workload.EventLeader
				if node == "-" {
					kind = workload.EventNoLeader
				}
				rec.Event(workload.Event{Kind: kind, Node: l.Node, Term: l.Term})
				last = node
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}
