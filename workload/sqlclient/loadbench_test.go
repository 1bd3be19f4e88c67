//go:build loadbench

package sqlclient_test

import (
	"context"
	"flag"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/engines"
	"github.com/faultline-dev/faultline/engines/dbtest"
	"github.com/faultline-dev/faultline/engines/postgres"
	"github.com/faultline-dev/faultline/internal/testenv"
	"github.com/faultline-dev/faultline/workload"
	"github.com/faultline-dev/faultline/workload/internal/loadbench"
	"github.com/faultline-dev/faultline/workload/sqlclient"
)

// The load benchmark (make bench; go test -tags loadbench -run LoadBench
// -v ./workload/sqlclient): faultline's load path against pgbench on one
// PostgreSQL, started with faultline's own options, with the same
// statements, isolation level, client count and prepared statements.
var (
	lbDuration = flag.Duration("loadbench.duration", 10*time.Second, "length of each measured run")
	lbReps     = flag.Int("loadbench.reps", 3, "repetitions of each comparison, in alternating order; the medians are reported")
	lbOnly     = flag.String("loadbench.only", "", "run only the comparisons whose name matches this regular expression")
	lbProcs    = flag.Int("loadbench.procs", 0, "GOMAXPROCS while faultline's side runs (0: as it is)")
	lbProfile  = flag.String("loadbench.cpuprofile", "", "write a CPU profile of faultline's side (every run of it) to this file")
)

// comparison is one line of the benchmark's output.
type comparison struct {
	kind    string
	clients int
	rate    float64 // ops/s targeted; 0 is as fast as the clients go
}

func (c comparison) name() string {
	n := fmt.Sprintf("postgres/%s/c%d", c.kind, c.clients)
	if c.rate > 0 {
		n += fmt.Sprintf("/r%g", c.rate)
	}
	return n
}

// benchKeys is the register workload's key count (the scenario default).
const benchKeys = 8

// TestLoadBench prints, for each comparison, a line such as
//
//	load postgres/register/c8: faultline 5188 ops/s, pgbench 8131 ops/s, throughput ratio 0.64, client CPU ratio 2.7 (client CPU per 1,000 ops: faultline 112 ms, pgbench 41 ms)
//
// Throughput counts the operations the database answered (ok, or declined
// because a compare-and-set's precondition did not hold: pgbench counts
// an UPDATE of no row as done); serialization failures count on neither
// side. Client CPU is the user and system time of faultline's process
// (its load path: driver, client, recorder writing history.jsonl) and of
// the pgbench process.
func TestLoadBench(t *testing.T) {
	testenv.NeedCommand(t, "pgbench")
	var only *regexp.Regexp
	if *lbOnly != "" {
		only = regexp.MustCompile(*lbOnly)
	}
	s := dbtest.Start(t, postgres.New(), engines.Spec{})
	all := []comparison{
		{kind: sqlclient.KindRegister, clients: 8},
		{kind: sqlclient.KindRegister, clients: 32},
		{kind: sqlclient.KindLedger, clients: 8},
		{kind: sqlclient.KindLedger, clients: 32},
		{kind: sqlclient.KindRegister, clients: 8, rate: 2000},
	}
	fmt.Printf("loadbench: %s per run, %d repetitions in alternating order, medians; %d CPUs, load average %s before\n", *lbDuration, *lbReps, runtime.NumCPU(), loadbench.LoadAverage())
	for ci, c := range all {
		if only != nil && !only.MatchString(c.name()) {
			continue
		}
		// faultline's compare-and-set expects the value last written, so
		// it often holds and writes; pgbench's cannot know it. So that
		// both sides do the same writes, a short run of faultline first
		// measures how many of its compare-and-sets hold, and pgbench
		// runs that share of its own as ones that hold.
		casHit := 0.0
		if c.kind == sqlclient.KindRegister {
			run := fmt.Sprintf("lb%dcal", ci)
			prepare(t, s, c, run)
			_, casHit = runFaultline(t, s, c, run, -1, min(*lbDuration, 3*time.Second))
			t.Logf("%s: %.0f%% of faultline's compare-and-sets held", c.name(), casHit*100)
		}
		fl, pg := loadbench.Alternate(*lbReps, func(rep int) (a, b func() loadbench.Measured) {
			run := fmt.Sprintf("lb%d%d", ci, rep)
			tables := prepare(t, s, c, run)
			return func() loadbench.Measured { m, _ := runFaultline(t, s, c, run, rep, *lbDuration); return m },
				func() loadbench.Measured { return runPgbench(t, s, c, tables, casHit) }
		})
		for i := range fl {
			t.Logf("%s rep %d: faultline %.0f ops/s %.1f ms/1k %s; pgbench %.0f ops/s %.1f ms/1k %s", c.name(), i, fl[i].OKPerSecond, fl[i].CPUPerK, fl[i].Note, pg[i].OKPerSecond, pg[i].CPUPerK, pg[i].Note)
		}
		fmt.Println(loadbench.Line(c.name(), "pgbench", loadbench.Median(fl), loadbench.Median(pg)))
	}
	fmt.Printf("loadbench: load average %s after\n", loadbench.LoadAverage())
}

// benchTables are a run's table names, as sqlclient names them for a run
// whose name is lower-case letters and digits: fl_RUN_KIND.
type benchTables struct{ register, ledger string }

// prepare creates the run's tables through sqlclient (the same schema
// faultline's load uses) and returns their names.
func prepare(t *testing.T, s *dbtest.Server, c comparison, run string) benchTables {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, release, err := sqlclient.Connect(ctx, sqlclient.Config{
		Protocol: s.Engine.Protocol(), Kind: c.kind, Endpoints: []engines.Endpoint{s.Endpoint},
		Generator: generator(c.kind), Run: run,
	})
	if err != nil {
		t.Fatal(err)
	}
	release()
	return benchTables{register: "fl_" + run + "_register", ledger: "fl_" + run + "_ledger"}
}

func generator(kind string) workload.Generator {
	if kind == sqlclient.KindLedger {
		return workload.NewLedger()
	}
	return workload.NewRegister(benchKeys, workload.DefaultMix)
}

// cpuTime is this process's user and system time so far.
func cpuTime(t *testing.T) time.Duration {
	t.Helper()
	d, err := loadbench.CPUTime()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// runFaultline drives the load as `faultline run` does (the driver, the
// SQL client, and a recorder writing the history file) for length, and
// returns what it measured and the share of compare-and-sets that held.
func runFaultline(t *testing.T, s *dbtest.Server, c comparison, run string, rep int, length time.Duration) (loadbench.Measured, float64) {
	t.Helper()
	ctx := context.Background()
	gen := generator(c.kind)
	open, release, err := sqlclient.Connect(ctx, sqlclient.Config{
		Protocol: s.Engine.Protocol(), Kind: c.kind, Endpoints: []engines.Endpoint{s.Endpoint},
		Options: map[string]string{sqlclient.OptIsolation: sqlclient.Serializable}, Generator: gen, Run: run,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	path := filepath.Join(t.TempDir(), workload.HistoryFile)
	rec, err := workload.CreateRecorder(path, workload.NewClock(), workload.Meta{Run: run, Workload: c.kind}, workload.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d := &workload.Driver{
		Config: workload.Config{Concurrency: c.clients, Rate: c.rate, Duration: length, Timeout: 10 * time.Second, Seed: int64(rep + 2)},
		Gen:    gen, Open: open, Recorder: rec,
	}
	runtime.GC()
	if *lbProcs > 0 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(*lbProcs))
	}
	if *lbProfile != "" {
		f, err := os.OpenFile(*lbProfile+"."+run, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			t.Fatal(err)
		}
	}
	cpu0, t0 := cpuTime(t), time.Now()
	if err := d.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	cpu, elapsed := cpuTime(t)-cpu0, time.Since(t0)
	if *lbProfile != "" {
		pprof.StopCPUProfile()
	}
	h, err := workload.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	answered, conflicts, other := 0, 0, 0
	held, cas := 0, 0 // compare-and-sets answered, and those that held
	for _, o := range h.Ops {
		switch {
		case o.Type == workload.OK || o.Type == workload.Fail && strings.Contains(o.Error, workload.ErrPrecondition):
			answered++
			if o.F == workload.FCAS {
				cas++
				if o.Type == workload.OK {
					held++
				}
			}
		case o.Declined():
			conflicts++
		default:
			other++
		}
	}
	if other > 0 {
		t.Errorf("faultline: %d operations neither ok nor declined", other)
	}
	m := loadbench.Rate(int64(answered), elapsed, length, cpu)
	m.Note = fmt.Sprintf("(%d conflicts", conflicts)
	if k := d.Kept(); k.Target > 0 {
		m.Note += fmt.Sprintf(", %s", k)
	}
	m.Note += ")"
	return m, float64(held) / float64(max(cas, 1))
}

var (
	pgProcessed = regexp.MustCompile(`(?m)^number of transactions actually processed: (\d+)`)
	pgFailed    = regexp.MustCompile(`(?m)^number of failed transactions: (\d+)`)
	pgTPS       = regexp.MustCompile(`(?m)^tps = ([0-9.]+)`)
)

// runPgbench runs pgbench with scripts of the same statements and mix;
// casHit of its compare-and-sets expect the value the register holds.
func runPgbench(t *testing.T, s *dbtest.Server, c comparison, tb benchTables, casHit float64) loadbench.Measured {
	t.Helper()
	dir := t.TempDir()
	script := func(name, body string, weight int) string {
		p := filepath.Join(dir, name+".sql")
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("%s@%d", p, weight)
	}
	// The ledger keys take their own prefix, apart from faultline's.
	ledger := fmt.Sprintf("\\set n random(1, 9000000000000000000)\nINSERT INTO %s (k) VALUES ('b' || :n);\n", tb.ledger)
	var scripts []string
	switch c.kind {
	case sqlclient.KindLedger:
		scripts = []string{script("ledger", ledger, 1)}
	default:
		m := workload.DefaultMix
		key := fmt.Sprintf("\\set k random(0, %d)\n", benchKeys-1)
		// Weights in thousandths; a script of weight 0 is left out.
		hit := int(math.Round(m.CAS * 1000 * casHit))
		scripts = []string{
			script("read", key+fmt.Sprintf("SELECT v FROM %s WHERE k = 'k' || :k;\n", tb.register), int(m.Read*1000)),
			script("write", key+"\\set v random(1, 1000000000)\n"+fmt.Sprintf("INSERT INTO %s (k, v) VALUES ('k' || :k, :v) ON CONFLICT (k) DO UPDATE SET v = excluded.v;\n", tb.register), int(m.Write*1000)),
			script("cas", key+"\\set v random(1, 1000000000)\n\\set p random(1, 1000000000)\n"+fmt.Sprintf("UPDATE %s SET v = :v WHERE k = 'k' || :k AND v = :p;\n", tb.register), int(m.CAS*1000)-hit),
			script("cashit", key+"\\set v random(1, 1000000000)\n"+fmt.Sprintf("UPDATE %s SET v = :v WHERE k = 'k' || :k AND v = v;\n", tb.register), hit),
			script("ledger", ledger, int(m.Ledger*1000)),
		}
		scripts = slices.DeleteFunc(scripts, func(sc string) bool { return strings.HasSuffix(sc, "@0") })
	}
	host, port, err := net.SplitHostPort(s.Endpoint.Addr)
	if err != nil {
		t.Fatal(err)
	}
	secs := int(max(1, lbDuration.Round(time.Second).Seconds()))
	args := []string{"-n", "-M", "prepared", "-c", strconv.Itoa(c.clients), "-j", strconv.Itoa(min(c.clients, runtime.NumCPU())),
		"-T", strconv.Itoa(secs), "-h", host, "-p", port, "-U", s.Endpoint.User}
	if c.rate > 0 {
		args = append(args, "-R", fmt.Sprint(c.rate))
	}
	for _, sc := range scripts {
		args = append(args, "-f", sc)
	}
	args = append(args, s.Endpoint.Database)
	cmd := exec.Command("pgbench", args...)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+s.Endpoint.Password, "PGOPTIONS=-c default_transaction_isolation=serializable")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pgbench %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	processed := atoi(t, pgProcessed, out)
	tps, err := strconv.ParseFloat(string(pgTPS.FindSubmatch(out)[1]), 64)
	if err != nil {
		t.Fatalf("pgbench output: %v\n%s", err, out)
	}
	m := loadbench.Measured{OKPerSecond: tps, CPUPerK: cpu.Seconds() * 1e6 / float64(max(processed, 1))}
	m.Note = fmt.Sprintf("(%d failed)", atoi(t, pgFailed, out))
	return m
}

func atoi(t *testing.T, re *regexp.Regexp, out []byte) int {
	t.Helper()
	m := re.FindSubmatch(out)
	if m == nil {
		t.Fatalf("pgbench output has no %s:\n%s", re, out)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}
