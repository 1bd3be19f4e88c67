package sqlclient_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/check"
	"github.com/faultline-dev/faultline/engines"
	"github.com/faultline-dev/faultline/engines/dbtest"
	"github.com/faultline-dev/faultline/engines/postgres"
	"github.com/faultline-dev/faultline/workload"
	"github.com/faultline-dev/faultline/workload/sqlclient"
)

// TestPostgresPauseOpenVsClosed runs the same load (400 ops/s, 8 clients,
// a 10 s operation timeout) through the same 3 s pause (SIGSTOP) of
// PostgreSQL in both modes. Open loop: the operations the schedule meant
// to start during the pause wait for it, their latency counts from their
// intended start, and the run's p99 (the stats checker's, as the report
// shows it) is seconds. Closed loop: the clients stall with the server,
// no operation starts during the pause, only those in flight see it, and
// the p99 stays far lower: the pause is hidden (coordinated omission).
func TestPostgresPauseOpenVsClosed(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL and pauses it twice; skipped under -short")
	}
	s := dbtest.Start(t, postgres.New(), engines.Spec{Options: map[string]string{"synchronous_commit": "off"}})
	const pause = 3 * time.Second
	p99 := map[workload.Mode]time.Duration{}
	for _, mode := range workload.Modes() {
		t.Run(string(mode), func(t *testing.T) {
			pauseAt := func(ctx context.Context, rec *workload.Recorder) {
				time.Sleep(3 * time.Second)
				f := rec.FaultStart(workload.FaultWindow{ID: 1, Name: "pause", Kind: "pause", Nodes: []string{s.Endpoint.Node}})
				err := s.Pause(ctx, s.Endpoint.Node)
				if err == nil {
					time.Sleep(pause)
					err = s.Resume(ctx, s.Endpoint.Node)
				}
				rec.FaultEnd(f.ID, "SIGSTOP", err)
				if err != nil {
					t.Error(err)
				}
			}
			h := load{kind: sqlclient.KindRegister, gen: workload.NewRegister(8, workload.DefaultMix), options: iso(sqlclient.ReadCommitted),
				concurrency: 8, rate: 400, mode: mode, timeout: 10 * time.Second, duration: 10 * time.Second, during: pauseAt}.run(t, s)
			requireClean(t, h)
			f := h.Faults[0]
			var meant []time.Duration // latencies of the ops meant to start during the pause
			for _, o := range h.Ops {
				if !o.Final && o.Start() >= f.Start && o.Start() < f.End {
					meant = append(meant, o.Latency())
				}
			}
			slices.Sort(meant)
			r := check.Stats{}.Check(context.Background(), h)
			p99[mode] = time.Duration(r.Metrics["p99_seconds"] * float64(time.Second))
			during := time.Duration(r.Faults[0].Metrics["during_p99_seconds"] * float64(time.Second))
			t.Logf("%s: %s; %d operations meant to start during the pause, their p99 %v", mode, r.Summary, len(meant), during)
			switch mode {
			case workload.Open:
				if len(meant) < 400 || meant[len(meant)/2] < pause/3 {
					t.Errorf("open loop: %d operations meant to start in the %s pause, median latency %v; want about 1,200 that waited for it", len(meant), pause, middle(meant))
				}
				// The report's "during the fault" p99 counts operations
				// by their intended start: it carries the wait.
				if during < pause/2 {
					t.Errorf("open loop: the stats checker's during-the-pause p99 is %v, want seconds", during)
				}
			case workload.Closed:
				// Those in flight when it began, and a few around its
				// edges (the fault window opens before SIGSTOP lands
				// and closes after SIGCONT, longer on a busy machine):
				// a tenth of the 1,200 the schedule meant is the bound.
				if len(meant) > 120 {
					t.Errorf("closed loop: %d operations started during the pause, want only the few around its edges", len(meant))
				}
			}
		})
	}
	if p99[workload.Open] < time.Second || p99[workload.Closed] > p99[workload.Open]/4 {
		t.Errorf("p99 open %v, closed %v: want seconds in open loop and far less in closed loop", p99[workload.Open], p99[workload.Closed])
	}
}

func middle(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[len(d)/2]
}
