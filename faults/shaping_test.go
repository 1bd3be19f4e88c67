package faults

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/platform"
)

func TestNewShaping(t *testing.T) {
	base := func(kind string) Spec {
		return Spec{ID: 2, Kind: kind, Target: sel(t, "zone:a"), Duration: time.Second}
	}
	with := func(s Spec, f func(*Spec)) Spec { f(&s); return s }
	tests := []struct {
		name string
		spec Spec
		want []string // error substrings in order; none is valid
	}{
		{name: "latency", spec: with(base(KindLatency), func(s *Spec) { s.Delay = 50 * time.Millisecond; s.Jitter = 10 * time.Millisecond })},
		{name: "latency without delay", spec: base(KindLatency), want: []string{"faults[2].delay: required"}},
		{name: "jitter beyond delay, delay too long", spec: with(base(KindLatency), func(s *Spec) { s.Delay = 2 * time.Minute; s.Jitter = 3 * time.Minute }),
			want: []string{"faults[2].delay: 2m0s is longer than 1m0s", "faults[2].jitter: 3m0s exceeds the delay 2m0s"}},
		{name: "negative jitter", spec: with(base(KindLatency), func(s *Spec) { s.Delay = time.Millisecond; s.Jitter = -time.Millisecond }),
			want: []string{"faults[2].jitter: -1ms must not be negative"}},
		{name: "loss", spec: with(base(KindLoss), func(s *Spec) { s.Loss = 0.2 })},
		{name: "total loss", spec: with(base(KindLoss), func(s *Spec) { s.Loss = 1 })},
		{name: "loss as a percentage", spec: with(base(KindLoss), func(s *Spec) { s.Loss = 20 }),
			want: []string{"faults[2].loss: 20 must be a fraction of packets in (0, 1]"}},
		{name: "no loss", spec: base(KindLoss), want: []string{"faults[2].loss: 0 must be a fraction"}},
		{name: "bandwidth", spec: with(base(KindBandwidth), func(s *Spec) { s.Rate = 10_000_000 })},
		{name: "bandwidth too low", spec: with(base(KindBandwidth), func(s *Spec) { s.Rate = 100 }),
			want: []string{"faults[2].rate: 100 bit/s must be between 8000 bit/s and 100000000000 bit/s"}},
		{name: "another kind's parameter and a missing one", spec: with(base(KindBandwidth), func(s *Spec) { s.Delay = time.Second }),
			want: []string{"faults[2].delay: only latency and disk-latency take delay"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := New(tt.spec)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("New = %v", err)
				}
				if f.Name() != tt.spec.Kind {
					t.Errorf("Name() = %q", f.Name())
				}
				if _, ok := f.(Mechanism); !ok {
					t.Error("a shaping fault must report its mechanism")
				}
				return
			}
			if err == nil {
				t.Fatal("New accepted it")
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("got %d errors, want %d:\n%v", len(lines), len(tt.want), err)
			}
			for i, w := range tt.want {
				if !strings.Contains(lines[i], w) {
					t.Errorf("error %d = %q, want it to contain %q", i, lines[i], w)
				}
			}
		})
	}
}

func ruleText(rs RuleSet) string {
	var lines []string
	lines = append(lines, rs.Namespace+" "+rs.Node+" "+rs.table()+" "+rs.Chain+" hooks "+strings.Join(rs.Hooks, ","))
	for _, r := range rs.Rules {
		lines = append(lines, strings.Join(r, " "))
	}
	return strings.Join(lines, "\n")
}

// kindNS puts each node in a namespace of its own, as on kind.
func kindNS(node string) string { return node }

// hostNS puts every node in one, as on the local platform.
func hostNS(string) string { return "host" }

func TestShapeRules(t *testing.T) {
	links := []Link{{Src: nodes("n1")[0], Dst: nodes("n2")[0]}, {Src: nodes("n2")[0], Dst: nodes("n1")[0]}}
	pods := map[string][]string{"n1": {"10.244.1.0/24"}}
	tests := []struct {
		name string
		sets func() []RuleSet
		want string
	}{
		{
			name: "delay: queue where packets arrive, skipping the delayer's mark",
			sets: func() []RuleSet {
				var out []RuleSet
				for _, g := range groupLinks(links, atDst, kindNS) {
					out = append(out, queueRules("FL-x-l1", g, nil, 4001, 0x2000000))
				}
				return out
			},
			want: `n1 n1 security FL-x-l1 hooks INPUT,FORWARD
-m conntrack --ctdir ORIGINAL --ctreplsrc 10.0.0.1 --ctrepldst 10.0.0.2 -m mark ! --mark 0x2000000/0x2000000 -j NFQUEUE --queue-num 4001 --queue-bypass
-m conntrack --ctdir REPLY --ctreplsrc 10.0.0.2 --ctrepldst 10.0.0.1 -m mark ! --mark 0x2000000/0x2000000 -j NFQUEUE --queue-num 4001 --queue-bypass
n2 n2 security FL-x-l1 hooks INPUT,FORWARD
-m conntrack --ctdir ORIGINAL --ctreplsrc 10.0.0.2 --ctrepldst 10.0.0.1 -m mark ! --mark 0x2000000/0x2000000 -j NFQUEUE --queue-num 4001 --queue-bypass
-m conntrack --ctdir REPLY --ctreplsrc 10.0.0.1 --ctrepldst 10.0.0.2 -m mark ! --mark 0x2000000/0x2000000 -j NFQUEUE --queue-num 4001 --queue-bypass`,
		},
		{
			name: "loss on one shared namespace, with pod networks",
			sets: func() []RuleSet {
				var out []RuleSet
				for _, g := range groupLinks(links[:1], atDst, hostNS) {
					out = append(out, lossRules("FL-x-d2", g, pods, 0.2))
				}
				return out
			},
			want: `host n2 filter FL-x-d2 hooks INPUT,FORWARD
-m conntrack --ctdir ORIGINAL --ctreplsrc 10.0.0.2 --ctrepldst 10.0.0.1 -m statistic --mode random --probability 0.2 -j DROP
-m conntrack --ctdir REPLY --ctreplsrc 10.0.0.1 --ctrepldst 10.0.0.2 -m statistic --mode random --probability 0.2 -j DROP
-m conntrack --ctdir ORIGINAL --ctreplsrc 10.0.0.2 --ctrepldst 10.244.1.0/24 -m statistic --mode random --probability 0.2 -j DROP
-m conntrack --ctdir REPLY --ctreplsrc 10.244.1.0/24 --ctrepldst 10.0.0.2 -m statistic --mode random --probability 0.2 -j DROP`,
		},
		{
			name: "bandwidth: classify where packets leave, by source node",
			sets: func() []RuleSet {
				var out []RuleSet
				for _, g := range groupLinks(links, atSrc, hostNS) {
					out = append(out, classifyRules("FL-x-b3", g, nil, map[string]string{"n1": "fa11:1", "n2": "fa11:2"}))
				}
				return out
			},
			want: `host n1 filter FL-x-b3 hooks OUTPUT,FORWARD
-m conntrack --ctdir ORIGINAL --ctreplsrc 10.0.0.2 --ctrepldst 10.0.0.1 -j CLASSIFY --set-class fa11:1
-m conntrack --ctdir REPLY --ctreplsrc 10.0.0.1 --ctrepldst 10.0.0.2 -j CLASSIFY --set-class fa11:1
-m conntrack --ctdir ORIGINAL --ctreplsrc 10.0.0.1 --ctrepldst 10.0.0.2 -j CLASSIFY --set-class fa11:2
-m conntrack --ctdir REPLY --ctreplsrc 10.0.0.2 --ctrepldst 10.0.0.1 -j CLASSIFY --set-class fa11:2`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, rs := range tt.sets() {
				got = append(got, ruleText(rs))
			}
			if g := strings.Join(got, "\n"); g != tt.want {
				t.Errorf("rules\n got:\n%s\nwant:\n%s", g, tt.want)
			}
		})
	}
}

func TestTCArgv(t *testing.T) {
	tests := []struct {
		name string
		cmds [][]string
		want string
	}{
		{
			name: "bandwidth class with filters",
			cmds: tcClass{Dev: "lo", Minor: 10, Rate: 10_000_000, Filters: [][2]string{{"127.0.1.1", "127.0.1.2"}}}.InstallArgv(),
			want: `tc class add dev lo parent fa11: classid fa11:a htb rate 10000000bit ceil 10000000bit
tc filter add dev lo parent fa11: protocol ip prio 10 u32 match ip src 127.0.1.1 match ip dst 127.0.1.2 flowid fa11:a`,
		},
		{
			name: "netem class",
			cmds: tcClass{Dev: "eth0", Minor: 1, Netem: netemArgs(Shape{Delay: 50 * time.Millisecond, Jitter: 5 * time.Millisecond, Loss: 0.2})}.InstallArgv(),
			want: `tc class add dev eth0 parent fa11: classid fa11:1 htb rate 100gbit ceil 100gbit
tc qdisc add dev eth0 parent fa11:1 handle 1: netem delay 50000us 5000us loss 20% limit 100000`,
		},
		{
			name: "remove a class",
			cmds: removeClassArgv("eth0", 0x1f),
			want: `tc filter del dev eth0 parent fa11: prio 31
tc class del dev eth0 classid fa11:1f`,
		},
		{
			name: "root",
			cmds: [][]string{rootArgv("lo"), rootRemoveArgv("lo")},
			want: `tc qdisc add dev lo root handle fa11: htb
tc qdisc del dev lo root`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := argvs(tt.cmds); got != tt.want {
				t.Errorf("commands\n got:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestTCParse(t *testing.T) {
	classes := []byte(`class htb fa11:a root prio 0 rate 10Mbit ceil 10Mbit burst 1600b cburst 1600b
class htb fa11:2 root leaf 2: prio 0 rate 100Gbit ceil 100Gbit burst 0b cburst 0b
class htb 1:1 root prio 0 rate 1Mbit ceil 1Mbit burst 1600b cburst 1600b
`)
	if got := parseClasses(classes); len(got) != 2 || got[0] != 2 || got[1] != 10 {
		t.Errorf("parseClasses = %v, want [2 10]", got)
	}
	save := []byte(`-P OUTPUT ACCEPT
-N FL-1234abcd-b3
-A OUTPUT -j FL-1234abcd-b3
-A FL-1234abcd-b3 -m conntrack --ctdir ORIGINAL --ctreplsrc 10.0.0.2/32 --ctrepldst 10.0.0.1/32 -j CLASSIFY --set-class fa11:000a
`)
	if refs := classRefs(save); len(refs) != 1 || !refs[10] {
		t.Errorf("classRefs = %v, want {10}", refs)
	}
	if m, err := freeMinor([]uint16{1, 2, 4}, map[uint16]bool{3: true}); err != nil || m != 5 {
		t.Errorf("freeMinor = %d, %v, want 5", m, err)
	}
	for _, tt := range []struct{ out, want string }{
		{"local 127.0.3.4 dev lo table local src 127.0.0.1 uid 0 \\    cache <local> ", "lo"},
		{"10.231.0.2 dev eth0 src 10.231.0.1 uid 0 \\    cache ", "eth0"},
	} {
		if got, err := routeDev([]byte(tt.out)); err != nil || got != tt.want {
			t.Errorf("routeDev(%q) = %q, %v, want %q", tt.out, got, err, tt.want)
		}
	}
	if _, err := routeDev([]byte("RTNETLINK answers: Network is unreachable")); err == nil {
		t.Error("routeDev accepted a route without a device")
	}
	qs, err := parseQdiscs([]byte(`[{"kind":"noqueue","handle":"0:","dev":"lo","root":true,"refcnt":2,"options":{}},{"kind":"htb","handle":"fa11:","dev":"eth0","root":true,"refcnt":3,"options":{"r2q":10}}]`))
	if err != nil || len(qs) != 2 || qs[1].Dev != "eth0" || qs[1].Handle != "fa11:" || !qs[1].Root {
		t.Errorf("parseQdiscs = %+v, %v", qs, err)
	}
}

func TestFreeMark(t *testing.T) {
	tests := []struct {
		name string
		save string
		want uint32
		err  bool
	}{
		{name: "none used", save: "-P INPUT ACCEPT\n", want: 0x1000000},
		{name: "skips used bits of faultline chains only", save: `-A FL-aaaaaaaa-rl -m conntrack --ctdir ORIGINAL -m mark ! --mark 0x1000000/0x1000000 -j NFQUEUE --queue-num 4000 --queue-bypass
-A FL-bbbbbbbb-l2 -m mark ! --mark 0x2000000/0x2000000 -j NFQUEUE --queue-num 4001 --queue-bypass
-A OTHER -m mark --mark 0x4000000/0x4000000 -j ACCEPT
`, want: 0x4000000},
		{name: "all taken", save: func() string {
			var b strings.Builder
			for i := range delayMarkBits {
				fmt.Fprintf(&b, "-A FL-x-l%d -m mark ! --mark %#x/%#x -j NFQUEUE\n", i, delayMarkBase<<i, delayMarkBase<<i)
			}
			return b.String()
		}(), err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := freeMark([]byte(tt.save))
			if (err != nil) != tt.err || got != tt.want {
				t.Errorf("freeMark = %#x, %v; want %#x, error %v", got, err, tt.want, tt.err)
			}
		})
	}
}

func TestRegionLinks(t *testing.T) {
	ns := []platform.Node{
		{Name: "n1", Region: "r1"}, {Name: "n2", Region: "r1"},
		{Name: "n3", Region: "r2"}, {Name: "cp", Region: ""},
	}
	if got := linkString(RegionLinks(ns)); got != "n1>n3 n2>n3 n3>n1 n3>n2" {
		t.Errorf("RegionLinks = %s", got)
	}
}
