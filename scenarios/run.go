package scenarios

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/faultline-dev/faultline/check"
	"github.com/faultline-dev/faultline/engines"
	"github.com/faultline-dev/faultline/faults"
	"github.com/faultline-dev/faultline/measure"
	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/workload"
)

// Timeouts the runner sets at its boundary.
const (
	// ReadyTimeout bounds an engine's first WaitReady after Deploy.
	ReadyTimeout = 5 * time.Minute
	// RecoveryTimeout bounds the wait for the engine to be ready again
	// once every fault is healed.
	RecoveryTimeout = 2 * time.Minute
	// FinalTimeout bounds the final reads.
	FinalTimeout = time.Minute
	// interruptedGrace bounds checks and reports after an interruption.
	interruptedGrace = 20 * time.Second
)

// Options are a run's settings that are not part of the scenario.
type Options struct {
	// Dir is the run directory. Default runs/NAME-YYYYMMDD-HHMMSS.
	Dir string
	// Retain keeps the cluster (and the local platform's files) after
	// the run.
	Retain bool
	// Progress receives progress lines (stderr). Nil discards them.
	Progress io.Writer
	// Terminal makes progress rewrite one line instead of logging.
	Terminal bool
	// SampleInterval is the resource sampling period. Default 1s.
	SampleInterval time.Duration
	// LeaderInterval is how often the leader is polled. Default 500ms.
	LeaderInterval time.Duration
	// Version is faultline's version, recorded in the history.
	Version string
	// Compress writes the history gzip-compressed, as
	// history.jsonl.gz.
	Compress bool
}

// Outcome is what a run produced.
type Outcome struct {
	// Dir is the run directory; Report the path of its report.html.
	Dir    string
	Report string
	// Results are the checkers' results; Verdict merges them.
	Results []check.Result
	Verdict check.Verdict
	// Infra is the first infrastructure failure (the cluster, the
	// engine, an injection or a heal that failed), nil if none. A run
	// with an infrastructure failure still records and checks what it
	// saw.
	Infra error
	// Interrupted is true when the run was cancelled before it finished.
	Interrupted bool
}

// Run carries out a scenario: it boots the cluster, deploys the engine,
// drives the load while the nemesis injects the schedule, heals every
// fault, waits for recovery, makes the final reads, checks the history and
// writes the report. The scenario must have been validated against env.
//
// Whatever happens (an error, cancellation, a panic), every injected fault
// is healed, the cluster is deleted unless opts.Retain, and everything
// recorded stays in the run directory. Run returns an error only when
// nothing could be recorded; later failures are in Outcome.Infra.
func Run(ctx context.Context, s *Scenario, env Env, opts Options) (*Outcome, error) {
	r, err := newRun(s, env, opts)
	if err != nil {
		return nil, err
	}
	defer r.close()
	r.execute(ctx)
	return r.finish(ctx), nil
}

// run is one run's state, shared by its phases.
type run struct {
	s    *Scenario
	env  Env
	opts Options
	out  *Outcome
	p    *progress

	logFile  *os.File
	rec      *workload.Recorder
	faultLog *faults.Log

	gen     workload.Generator
	cluster platform.Cluster
	engine  engines.Engine
	nemesis *faults.Nemesis
	driver  *workload.Driver
	release func()
}

func newRun(s *Scenario, env Env, opts Options) (*run, error) {
	dir := opts.Dir
	if dir == "" {
		dir = filepath.Join("runs", fmt.Sprintf("%s-%s", s.Name, time.Now().Format("20060102-150405")))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("run directory: %w", err)
	}
	r := &run{s: s, env: env, opts: opts, out: &Outcome{Dir: dir}, p: newProgress(opts.Progress, opts.Terminal)}
	b, err := s.Marshal()
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, "scenario.yaml"), b, 0o644)
	}
	if err != nil {
		return nil, fmt.Errorf("save scenario: %w", err)
	}
	gen, genOpts, err := newGenerator(s)
	if err != nil {
		return nil, err
	}
	r.gen = gen
	if r.logFile, err = os.Create(filepath.Join(dir, "faults.log")); err != nil {
		return nil, fmt.Errorf("fault log: %w", err)
	}
	hist := workload.HistoryFile
	if opts.Compress {
		hist = workload.CompressedHistoryFile
	}
	clock := workload.NewClock()
	// The history goes to its file as the run goes and is read back for
	// the checks: a long run's memory does not grow with its load.
	r.rec, err = workload.CreateRecorder(filepath.Join(dir, hist), clock, workload.Meta{
		Run:       filepath.Base(dir),
		Scenario:  s.Name,
		Seed:      s.Seed,
		Platform:  s.Platform,
		Engine:    s.Engine.Name,
		Version:   s.Engine.Version,
		Workload:  s.Workload.Kind,
		Options:   withOptions(runOptions(s), genOpts),
		Faultline: opts.Version,
	}, workload.FileOptions{Compress: opts.Compress})
	if err != nil {
		r.logFile.Close()
		return nil, err
	}
	r.faultLog = faults.NewLog(r.logFile, clock.Now)
	return r, nil
}

// runOptions records the options that change what checkers expect.
func runOptions(s *Scenario) map[string]string {
	m := map[string]string{}
	for k, v := range s.Engine.Options {
		m["engine."+k] = v
	}
	for k, v := range s.Workload.Options {
		m["workload."+k] = v
	}
	if s.Workload.Rate > 0 || len(s.Workload.Steps) > 0 {
		// Open-loop latencies count from the intended start.
		m["workload.mode"] = s.Workload.Mode
	}
	if iso := expectedIsolation(s); s.Workload.Kind == WorkloadAppend {
		m["isolation"] = string(iso)
	}
	return m
}

func (r *run) close() {
	if r.release != nil {
		r.release()
	}
	if err := r.rec.Close(); err != nil {
		r.p.Printf("history: %v", err)
	}
	r.logFile.Close()
}

// fail records the first infrastructure failure.
func (r *run) fail(err error) {
	if err == nil {
		return
	}
	r.p.Printf("error: %v", err)
	if r.out.Infra == nil {
		r.out.Infra = err
	}
}

// execute runs every phase up to the final reads. It heals and deletes
// the cluster on its way out, even on panic.
func (r *run) execute(ctx context.Context) {
	defer func() {
		p := recover()
		r.teardown(ctx)
		if p != nil {
			panic(p)
		}
	}()
	if !r.boot(ctx) {
		return
	}
	r.load(ctx)
	r.recover(ctx)
}

// loadImages copies into the nodes the images the scenario runs instead
// of official ones (engine.image, engine.images, --image-override) that
// the platform's own image store holds, on clusters that can take them
// (platform.LocalImageLoader): a local build then runs without a registry.
func (r *run) loadImages(ctx context.Context) bool {
	l, ok := r.cluster.(platform.LocalImageLoader)
	if !ok {
		return true
	}
	var refs []string
	if r.s.Engine.Image != "" {
		refs = append(refs, r.s.Engine.Image)
	}
	for _, ref := range r.s.Engine.Images {
		refs = append(refs, ref)
	}
	if len(refs) == 0 {
		return true
	}
	loaded, err := l.LoadLocalImages(ctx, refs...)
	if err != nil {
		r.fail(fmt.Errorf("load images into the nodes: %w", err))
		return false
	}
	for _, ref := range loaded {
		r.p.Printf("image %s: copied into every node from the platform's image store", ref)
	}
	return true
}

func (r *run) boot(ctx context.Context) bool {
	plat, err := r.env.Platform(r.s.Platform)
	if err != nil {
		r.fail(err)
		return false
	}
	topo := r.s.PlatformTopology()
	r.p.Phase("cluster", "creating a %s cluster: %d nodes in %d zones", plat.Name(), topo.Size(), len(topo.Zones()))
	// What the platform installs with the cluster and keeps installed
	// (standing region latency, again on each restarted node) goes to the
	// run's faults.log.
	if r.cluster, err = plat.Create(faults.ContextWithLog(ctx, r.faultLog), topo); err != nil {
		r.fail(fmt.Errorf("create cluster: %w", err))
		return false
	}
	nodes, err := r.cluster.Nodes(ctx)
	if err != nil {
		r.fail(fmt.Errorf("list nodes: %w", err))
		return false
	}
	r.rec.Event(workload.Event{Kind: "cluster", Detail: r.cluster.Name()})
	r.setNodes(nodes)

	if !r.loadImages(ctx) {
		return false
	}

	if r.engine, err = r.env.Engines.Lookup(r.s.Engine.Name); err != nil {
		r.fail(err)
		return false
	}
	r.p.Phase("deploy", "deploying %s", r.engine.Name())
	spec := r.s.EngineSpec()
	spec.Artifacts = filepath.Join(r.out.Dir, "manifests")
	if err := r.engine.Deploy(ctx, r.cluster, spec); err != nil {
		r.fail(fmt.Errorf("deploy %s: %w", r.engine.Name(), err))
		return false
	}
	if d, ok := r.engine.(engines.Describer); ok {
		if what := d.Describe(r.cluster); what != "" {
			r.rec.Event(workload.Event{Kind: workload.EventDeployed, Detail: what})
			r.p.Printf("%s: %s", r.engine.Name(), what)
		}
	}
	rctx, cancel := context.WithTimeout(ctx, ReadyTimeout)
	defer cancel()
	if err := r.engine.WaitReady(rctx, r.cluster); err != nil {
		r.fail(fmt.Errorf("%s not ready: %w", r.engine.Name(), err))
		return false
	}
	eps, err := r.engine.Endpoints(ctx, r.cluster)
	if err != nil {
		r.fail(fmt.Errorf("%s endpoints: %w", r.engine.Name(), err))
		return false
	}
	gen := r.gen
	proto := r.env.Protocols[r.engine.Protocol()]
	conn := Connection{
		Kind: r.s.Workload.Kind, Endpoints: eps, Options: r.s.Workload.Options, Generator: gen, Run: filepath.Base(r.out.Dir),
	}
	if tr, ok := r.engine.(engines.TableRouter); ok {
		conn.Route = func(ctx context.Context, table, key string) error { return tr.RouteTable(ctx, r.cluster, table, key) }
	}
	opener, release, err := proto.Connect(ctx, conn)
	if err != nil {
		r.fail(fmt.Errorf("connect workload: %w", err))
		return false
	}
	r.release = release
	r.driver = &workload.Driver{
		Config: workload.Config{
			Concurrency: r.s.Workload.Concurrency,
			Rate:        r.s.Workload.Rate,
			Mode:        workload.Mode(r.s.Workload.Mode),
			Duration:    r.s.Workload.Duration,
			Timeout:     r.s.Workload.Timeout,
			Seed:        r.s.Seed,
		},
		Gen: gen, Open: opener, Recorder: r.rec,
	}
	return r.buildNemesis(ctx)
}

func (r *run) setNodes(nodes []platform.Node) {
	infos := make([]workload.NodeInfo, 0, len(nodes))
	for _, n := range nodes {
		infos = append(infos, workload.NodeInfo{Name: n.Name, Region: n.Region, Zone: n.Zone, Addr: n.Addr})
		r.p.Printf("node %s  region %s  zone %s  %s", n.Name, n.Region, n.Zone, n.Addr)
	}
	r.rec.SetNodes(infos)
}

func (r *run) buildNemesis(ctx context.Context) bool {
	plat, err := r.env.Platform(r.s.Platform)
	if err != nil {
		r.fail(err)
		return false
	}
	var sched []faults.Scheduled
	for _, spec := range r.s.FaultSpecs() {
		f, err := r.env.injectors().New(plat, spec)
		if err != nil {
			r.fail(fmt.Errorf("fault %d: %w", spec.ID, err))
			return false
		}
		sched = append(sched, faults.Scheduled{Spec: spec, Fault: f})
	}
	r.nemesis = &faults.Nemesis{
		Cluster:  r.cluster,
		Schedule: sched,
		Recorder: r.rec,
		Seed:     r.s.Seed,
		Log:      r.faultLog,
		OnChange: r.p.Faults,
		Labels:   faults.RunLabels(filepath.Base(r.out.Dir), os.Getpid()),
	}
	if l, ok := r.engine.(engines.Leader); ok {
		r.nemesis.Leader = func(ctx context.Context) (string, error) {
			ld, err := l.Leader(ctx, r.cluster)
			return ld.Node, err
		}
	}
	if l, ok := r.engine.(engines.Leaders); ok {
		r.nemesis.Leaders = func(ctx context.Context) ([]string, error) {
			ls, err := l.Leaders(ctx, r.cluster)
			names := make([]string, len(ls))
			for i, ld := range ls {
				names[i] = ld.Node
			}
			return names, err
		}
	}
	if po, ok := r.engine.(engines.PodOwner); ok {
		if ps, err := po.Pods(r.cluster); err == nil {
			r.nemesis.Pods = &faults.Pods{Namespace: ps.Namespace, Labels: ps.Labels, Containers: ps.Containers}
		}
	}
	if len(sched) > 0 {
		r.p.Phase("prepare", "checking that the cluster can take %d faults", len(sched))
		if err := r.nemesis.Prepare(ctx); err != nil {
			r.fail(fmt.Errorf("faults cannot be injected: %w", err))
			return false
		}
	}
	return true
}

// load drives the workload (in steps, if the scenario has them) while the
// nemesis, the sampler and the leader poller run alongside.
func (r *run) load(ctx context.Context) {
	r.p.Phase("load", "%s workload, %d clients, %s, %d faults scheduled", r.s.Workload.Kind, r.s.Workload.Concurrency, r.s.Workload.Duration, len(r.nemesis.Schedule))
	r.p.Watch(&r.driver.Counters)
	bg, stopBG := context.WithCancel(ctx)
	defer stopBG()
	var wg sync.WaitGroup
	r.background(bg, &wg)

	nemesisDone := make(chan error, 1)
	go func() { nemesisDone <- r.nemesis.Run(ctx) }()

	if err := r.drive(ctx); err != nil {
		r.fail(err)
	}
	if n := r.driver.Counters.Skipped.Load(); n > 0 {
		r.p.Printf("load: %d intended starts skipped, no client free within the %s timeout (the target rate was not kept)", n, r.s.Workload.Timeout)
	}
	r.fail(<-nemesisDone)
	stopBG()
	wg.Wait()
}

// drive runs the driver once, or once per load step.
func (r *run) drive(ctx context.Context) error {
	steps := r.s.Workload.Steps
	if len(steps) == 0 {
		err := r.driver.Run(ctx)
		r.printRate()
		return err
	}
	per := r.s.Workload.Duration / time.Duration(len(steps))
	for i, rate := range steps {
		if ctx.Err() != nil {
			return nil
		}
		r.rec.Event(workload.Event{Kind: workload.EventLoadStep, Term: uint64(i), Detail: fmt.Sprintf("offered=%g", rate)})
		r.p.Printf("load step %d/%d: %g ops/s offered for %s", i+1, len(steps), rate, per)
		r.driver.Config.Rate, r.driver.Config.Duration = rate, per
		if err := r.driver.Run(ctx); err != nil {
			return err
		}
		r.printRate()
	}
	return nil
}

// printRate says how far the last load (step) kept its target rate.
func (r *run) printRate() {
	if k := r.driver.Kept(); k.Target > 0 {
		r.p.Printf("load: %s, achieved %.1f of %g ops/s targeted (%.1f%%)", k.Mode, k.Achieved, k.Target, 100*k.Achieved/k.Target)
	}
}

// background starts the progress ticker, the resource sampler and the
// leader poller; they stop when ctx is done.
func (r *run) background(ctx context.Context, wg *sync.WaitGroup) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				r.p.Tick()
			}
		}
	}()
	if r.env.Sampler != nil {
		if s, err := r.env.Sampler(ctx, r.cluster); err != nil {
			r.p.Printf("resource sampling off: %v", err)
		} else if s != nil {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var once sync.Once
				measure.Run(ctx, s, r.rec, r.opts.SampleInterval, func(err error) {
					once.Do(func() { r.p.Printf("sampling: %v", err) })
				})
				if c, ok := s.(interface{ Close(context.Context) error }); ok {
					if err := c.Close(context.WithoutCancel(ctx)); err != nil {
						r.p.Printf("sampling: %v", err)
					}
				}
			}()
		}
	}
	if l, ok := r.engine.(engines.Leaders); ok {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.pollLeaders(ctx, l)
		}()
	} else if l, ok := r.engine.(engines.Leader); ok {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.pollLeader(ctx, l)
		}()
	}
}

// pollLeaders records an event whenever a shard's leader changes (its
// Detail names the shard), for engines with a leader per shard.
func (r *run) pollLeaders(ctx context.Context, l engines.Leaders) {
	every := r.opts.LeaderInterval
	if every <= 0 {
		every = 500 * time.Millisecond
	}
	t := time.NewTicker(every)
	defer t.Stop()
	type lead struct {
		node string
		term uint64
	}
	last := map[string]lead{}
	for {
		qctx, cancel := context.WithTimeout(ctx, every*2)
		ls, err := l.Leaders(qctx, r.cluster)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			cur := map[string]lead{}
			for _, ld := range ls {
				cur[ld.Shard] = lead{ld.Node, ld.Term}
				if prev, ok := last[ld.Shard]; !ok || prev != cur[ld.Shard] {
					r.rec.Event(workload.Event{Kind: workload.EventLeader, Node: ld.Node, Term: ld.Term, Detail: "shard " + ld.Shard})
				}
			}
			for shard, prev := range last {
				if _, ok := cur[shard]; !ok && prev.node != "" {
					r.rec.Event(workload.Event{Kind: workload.EventNoLeader, Detail: "shard " + shard})
				}
			}
			last = cur
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// pollLeader records an event whenever the engine's leader changes.
func (r *run) pollLeader(ctx context.Context, l engines.Leader) {
	every := r.opts.LeaderInterval
	if every <= 0 {
		every = 500 * time.Millisecond
	}
	t := time.NewTicker(every)
	defer t.Stop()
	last, lastTerm := "\x00", uint64(0)
	for {
		qctx, cancel := context.WithTimeout(ctx, every*2)
		ld, err := l.Leader(qctx, r.cluster)
		cancel()
		if ctx.Err() != nil {
			return
		}
		cur := ld.Node
		if err != nil {
			cur = ""
		}
		// A new term under the same leader (a timeline a primary
		// starts again on) is a change too.
		if cur != last || (cur != "" && ld.Term != lastTerm) {
			lastTerm = ld.Term
			if cur == "" {
				r.rec.Event(workload.Event{Kind: workload.EventNoLeader})
			} else {
				r.rec.Event(workload.Event{Kind: workload.EventLeader, Node: cur, Term: ld.Term})
			}
			last = cur
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// recover heals whatever is left, waits for the engine and makes the
// final reads.
func (r *run) recover(ctx context.Context) {
	r.p.Phase("heal", "healing every fault and waiting for %s", r.engine.Name())
	r.fail(r.nemesis.HealAll(context.WithoutCancel(ctx)))
	if ctx.Err() != nil {
		r.out.Interrupted = true
		return
	}
	rctx, cancel := context.WithTimeout(ctx, RecoveryTimeout)
	defer cancel()
	if err := r.engine.WaitReady(rctx, r.cluster); err != nil {
		// Not an infrastructure failure: the engine did not come back,
		// which the checks will see in the final reads.
		r.p.Printf("%s did not recover within %s: %v", r.engine.Name(), RecoveryTimeout, err)
	}
	r.p.Phase("final", "final reads")
	fctx, cancel := context.WithTimeout(ctx, FinalTimeout)
	defer cancel()
	if err := r.driver.Final(fctx); err != nil {
		r.p.Printf("%v", err)
	}
	if ctx.Err() != nil {
		r.out.Interrupted = true
	}
}

// teardown heals and deletes the cluster unless asked to keep it.
func (r *run) teardown(ctx context.Context) {
	bg := context.WithoutCancel(ctx)
	if r.nemesis != nil {
		r.fail(r.nemesis.HealAll(bg))
	}
	if ctx.Err() != nil {
		r.out.Interrupted = true
	}
	if r.cluster == nil {
		return
	}
	r.p.Phase("teardown", "collecting logs and deleting cluster %s", r.cluster.Name())
	if lx, ok := r.cluster.(platform.LogExporter); ok {
		if err := lx.ExportLogs(bg, filepath.Join(r.out.Dir, "logs")); err != nil {
			r.p.Printf("export logs: %v", err)
		}
	}
	if r.opts.Retain {
		r.p.Printf("keeping cluster %s (--retain)", r.cluster.Name())
		return
	}
	if td, ok := r.engine.(engines.Teardown); ok {
		if err := td.Teardown(bg, r.cluster); err != nil {
			r.fail(fmt.Errorf("tear down %s: %w", r.engine.Name(), err))
		}
	}
	if err := r.cluster.Delete(bg); err != nil {
		r.fail(fmt.Errorf("delete cluster: %w", err))
	}
}

// finish checks the history and writes the report.
func (r *run) finish(ctx context.Context) *Outcome {
	cctx := context.WithoutCancel(ctx)
	if r.out.Interrupted {
		var cancel context.CancelFunc
		cctx, cancel = context.WithTimeout(cctx, interruptedGrace)
		defer cancel()
	}
	if r.out.Interrupted && r.out.Infra == nil {
		r.out.Infra = errInterrupted
	}
	h := r.rec.History()
	r.p.Phase("check", "checking %d operations", len(h.Ops))
	r.out.Results = check.Run(cctx, h, Checkers(r.s)...)
	r.out.Verdict = check.Overall(r.out.Results)
	if err := r.rec.Err(); err != nil {
		r.fail(err)
	}
	r.p.Phase("report", "writing %s", r.out.Dir)
	report, err := writeReport(cctx, r.out.Dir, r.s, h, r.out)
	if err != nil {
		r.fail(fmt.Errorf("write report: %w", err))
	}
	r.out.Report = report
	return r.out
}

// errInterrupted is the infrastructure error of a cancelled run.
var errInterrupted = errors.New("run interrupted")
