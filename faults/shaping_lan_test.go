package faults_test

import (
	"bytes"
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/faults"
	"github.com/faultline-dev/faultline/platform"
)

// These tests shape traffic for real between network namespaces on a
// bridge, each node in its own as on kind (see lanCluster), and measure
// what a TCP connect, a ping, UDP datagrams and a bulk transfer see.

func inject(t *testing.T, c platform.Cluster, spec faults.Spec, tg faults.Target) (faults.Heal, faults.Fault, *bytes.Buffer) {
	t.Helper()
	sel, err := faults.ParseSelector("node:" + tg.Nodes[0].Name)
	if err != nil {
		t.Fatal(err)
	}
	spec.Target = sel
	f, err := faults.New(spec)
	if err != nil {
		t.Fatal(err)
	}
	var logBuf bytes.Buffer
	tg.Log = faults.NewLog(&logBuf, nil)
	h, err := f.Inject(context.Background(), c, tg)
	if err != nil {
		t.Fatalf("inject: %v\nlog:\n%s", err, logBuf.String())
	}
	t.Cleanup(func() { h(context.Background()) })
	return h, f, &logBuf
}

func mechanism(f faults.Fault) string { return f.(faults.Mechanism).Mechanism() }

// A latency of 50ms between n1 and n2 adds 100ms to their round trips
// (50ms each way) as a TCP connect and a ping measure it, leaves n1–n3
// alone, and is gone once healed: rules, delayers and all.
func TestLatencyBetweenNamespaces(t *testing.T) {
	c := newLAN(t, 3)
	n1, n2, n3 := c.peer("n1"), c.peer("n2"), c.peer("n3")
	base := fastest(connectTimes(t, n1, n2, 5))
	basePing := fastest(pingTimes(t, n1, n2, 3))

	const delay = 50 * time.Millisecond
	h, f, log := inject(t, c, faults.Spec{ID: 1, Kind: faults.KindLatency, Delay: delay, Duration: time.Minute}, c.target("n1", "n2"))
	wantMechanism(t, mechanism(f))

	connects := connectTimes(t, n1, n2, 10)
	if got := fastest(connects) - base; !within(got, 2*delay) {
		t.Errorf("TCP connect n1→n2 grew by %v, want %v ± %v", got, 2*delay, tolerance(2*delay))
	}
	pings := pingTimes(t, n1, n2, 5)
	if len(pings) != 5 {
		t.Fatalf("%d of 5 pings answered", len(pings))
	}
	if got := fastest(pings) - basePing; !within(got, 2*delay) {
		t.Errorf("ping n1→n2 grew by %v, want %v ± %v", got, 2*delay, tolerance(2*delay))
	}
	if got := fastest(connectTimes(t, n1, n3, 5)); got > 5*time.Millisecond {
		t.Errorf("n1→n3 is not shaped, yet a connect takes %v", got)
	}
	if len(ownDelayers()) == 0 {
		t.Error("no delayer process is running")
	}
	t.Logf("connect +%v (interquartile range %v), ping +%v for a one-way delay of %v", fastest(connects)-base, iqr(connects), fastest(pings)-basePing, delay)

	heal(t, h)
	heal(t, h) // a heal is safe to repeat
	if got := fastest(connectTimes(t, n1, n2, 5)); got > 5*time.Millisecond {
		t.Errorf("after heal, connect n1→n2 takes %v", got)
	}
	for _, n := range []string{"n1", "n2"} {
		if left := leftovers(context.Background(), c, n, "FL-"); left != "" {
			t.Errorf("after heal, %s still has:\n%s", n, left)
		}
	}
	if pids := ownDelayers(); len(pids) > 0 {
		t.Errorf("after heal, delayers %v still run", pids)
	}
	t.Logf("the fault's log:\n%s", log.String())
	for _, want := range []string{"NFQUEUE --queue-num", "started delayer pid", "stopped", `"received"`} {
		if mechanism(f) == faults.MechDelayer && !strings.Contains(log.String(), want) {
			t.Errorf("the fault's log lacks %q:\n%s", want, log.String())
		}
	}
}

// Jitter widens the spread of round trips; each stays within the delay
// range both ways.
func TestJitterBetweenNamespaces(t *testing.T) {
	c := newLAN(t, 2)
	n1, n2 := c.peer("n1"), c.peer("n2")
	const delay, jitter = 50 * time.Millisecond, 20 * time.Millisecond
	inject(t, c, faults.Spec{ID: 2, Kind: faults.KindLatency, Delay: delay, Jitter: jitter, Duration: time.Minute}, c.target("n1", "n2"))
	ds := connectTimes(t, n1, n2, 30)
	// The sum of two uniform draws of ±20ms is triangular on ±40ms,
	// with an interquartile range of 80ms·(1-1/√2) ≈ 23ms.
	if spread := iqr(ds); spread < 12*time.Millisecond {
		t.Errorf("with ±%v jitter, connect times spread only by %v (interquartile range)", jitter, spread)
	}
	// Some round trips must be well below the median: a loaded machine
	// delays every connect, the jitter spreads them both ways. The least
	// of 30 triangular draws on ±40ms is below -15ms but with
	// P ≈ 0.2%.
	if got, mid := fastest(ds), median(ds); mid-got < 15*time.Millisecond {
		t.Errorf("the fastest of %d connects took %v, the median %v; with ±%v jitter some should take 15ms less than the median", len(ds), got, mid, jitter)
	}
	// Nothing arrives early. (A loaded machine makes some late, so the
	// upper end proves nothing.)
	for _, d := range ds {
		if lo := 2 * (delay - jitter); d < lo {
			t.Errorf("connect took %v, less than the least delay %v", d, lo)
		}
	}
	t.Logf("interquartile range %v, median %v", iqr(ds), median(ds))
}

// Loss 20% drops a fifth of the datagrams from n1 to n2, within four
// standard deviations of the binomial count, and none once healed.
func TestLossBetweenNamespaces(t *testing.T) {
	c := newLAN(t, 2)
	n1, n2 := c.peer("n1"), c.peer("n2")
	const (
		n    = 2000
		loss = 0.2
	)
	h, f, _ := inject(t, c, faults.Spec{ID: 3, Kind: faults.KindLoss, Loss: loss, Duration: time.Minute}, c.target("n1", "n2"))
	if has, ok := netemInKernel(); ok && !has && mechanism(f) != faults.MechStatistic {
		t.Errorf("mechanism %q, want %q", mechanism(f), faults.MechStatistic)
	}
	lost := float64(n-udpDelivered(t, n1, n2, n)) / n
	sigma := math.Sqrt(loss * (1 - loss) / n)
	if math.Abs(lost-loss) > 4*sigma {
		t.Errorf("lost %.3f of %d datagrams, want %.2f ± %.3f", lost, n, loss, 4*sigma)
	}
	t.Logf("lost %.3f (want %.2f ± %.3f)", lost, loss, 4*sigma)
	heal(t, h)
	if got := udpDelivered(t, n1, n2, 500); got != 500 {
		t.Errorf("after heal, %d of 500 datagrams arrived", got)
	}
	if left := leftovers(context.Background(), c, "n2", "FL-"); left != "" {
		t.Errorf("after heal, n2 still has:\n%s", left)
	}
}

// A 10 mbit/s cap holds a bulk transfer to it, whether the capped node
// opened the connection (upload) or answers on one its peer opened
// (download, classified by the connection's reply tuple).
func TestBandwidthBetweenNamespaces(t *testing.T) {
	c := newLAN(t, 2)
	n1, n2 := c.peer("n1"), c.peer("n2")
	const rate = 10_000_000
	h, f, _ := inject(t, c, faults.Spec{ID: 4, Kind: faults.KindBandwidth, Rate: rate, Duration: time.Minute}, c.target("n1", "n2"))
	if mechanism(f) != faults.MechHTB {
		t.Errorf("mechanism %q, want %q", mechanism(f), faults.MechHTB)
	}
	for _, upload := range []bool{true, false} {
		got := bulkRate(t, n1, n2, 3*time.Second, upload)
		if got < 0.85*rate || got > 1.15*rate {
			t.Errorf("upload=%v: %.1f Mbit/s through a %d Mbit/s cap (±15%%)", upload, got/1e6, rate/1_000_000)
		}
		t.Logf("upload=%v: %.2f Mbit/s", upload, got/1e6)
	}
	heal(t, h)
	if got := bulkRate(t, n1, n2, time.Second, true); got < 5*rate {
		t.Errorf("after heal, only %.1f Mbit/s", got/1e6)
	}
	for _, n := range []string{"n1", "n2"} {
		if left := leftovers(context.Background(), c, n, "FL-"); left != "" {
			t.Errorf("after heal, %s still has:\n%s", n, left)
		}
	}
}
