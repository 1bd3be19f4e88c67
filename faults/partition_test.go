package faults

import (
	"fmt"
	"strings"
	"testing"

	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/platform/iptables"
)

func nodes(names ...string) []platform.Node {
	out := make([]platform.Node, len(names))
	for i, n := range names {
		var k int
		fmt.Sscanf(n, "n%d", &k)
		out[i] = platform.Node{Name: n, Addr: fmt.Sprintf("10.0.0.%d", k)}
	}
	return out
}

func linkString(links []Link) string {
	var s []string
	for _, l := range links {
		s = append(s, l.Src.Name+">"+l.Dst.Name)
	}
	return strings.Join(s, " ")
}

func TestPartitionLinks(t *testing.T) {
	all := nodes("n1", "n2", "n3", "n4", "n5")
	tests := []struct {
		name    string
		target  Target
		oneWay  bool
		bridge  bool
		want    string
		wantErr string
	}{
		{name: "isolate one node", target: Target{Nodes: nodes("n1"), Peers: nodes("n2", "n3")},
			want: "n1>n2 n2>n1 n1>n3 n3>n1"},
		{name: "one-way: only the target's packets are dropped", target: Target{Nodes: nodes("n1"), Peers: nodes("n2", "n3")}, oneWay: true,
			want: "n1>n2 n1>n3"},
		{name: "minority against majority", target: Target{Nodes: nodes("n1", "n2"), Peers: nodes("n3", "n4", "n5")},
			want: "n1>n3 n3>n1 n1>n4 n4>n1 n1>n5 n5>n1 n2>n3 n3>n2 n2>n4 n4>n2 n2>n5 n5>n2"},
		{name: "zone against zone", target: Target{Nodes: nodes("n1"), Peers: nodes("n4")},
			want: "n1>n4 n4>n1"},
		{name: "a node on both sides keeps its link to itself", target: Target{Nodes: nodes("n1", "n2"), Peers: nodes("n2", "n3")},
			want: "n1>n2 n2>n1 n1>n3 n3>n1 n2>n3 n3>n2"},
		{name: "bridge of five: n3 reaches both halves", target: Target{Nodes: all}, bridge: true,
			want: "n1>n4 n4>n1 n1>n5 n5>n1 n2>n4 n4>n2 n2>n5 n5>n2"},
		{name: "bridge of three", target: Target{Nodes: nodes("n1", "n2", "n3")}, bridge: true,
			want: "n1>n3 n3>n1"},
		{name: "bridge of two", target: Target{Nodes: nodes("n1", "n2")}, bridge: true, wantErr: "at least 3 nodes"},
		{name: "no peers", target: Target{Nodes: all}, wantErr: "no peers"},
		{name: "same nodes", target: Target{Nodes: nodes("n1"), Peers: nodes("n1")}, wantErr: "nothing to cut"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			links, err := PartitionLinks(tt.target, tt.oneWay, tt.bridge)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := linkString(links); got != tt.want {
				t.Errorf("links\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestDropRules(t *testing.T) {
	links, err := PartitionLinks(Target{Nodes: nodes("n1"), Peers: nodes("n2", "n3")}, false, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("one shared namespace (local)", func(t *testing.T) {
		sets := DropRules("FL-0a0b0c0d-p1", links, func(string) string { return "host" })
		if len(sets) != 1 {
			t.Fatalf("%d rule sets, want 1", len(sets))
		}
		want := []string{
			"iptables -w 5 -t filter -N FL-0a0b0c0d-p1",
			"iptables -w 5 -t filter -A FL-0a0b0c0d-p1 -s 10.0.0.1 -d 10.0.0.2 -j DROP",
			"iptables -w 5 -t filter -A FL-0a0b0c0d-p1 -s 10.0.0.1 -m conntrack --ctdir REPLY --ctrepldst 10.0.0.2 -j DROP",
			"iptables -w 5 -t filter -A FL-0a0b0c0d-p1 -s 10.0.0.2 -d 10.0.0.1 -j DROP",
			"iptables -w 5 -t filter -A FL-0a0b0c0d-p1 -s 10.0.0.2 -m conntrack --ctdir REPLY --ctrepldst 10.0.0.1 -j DROP",
			"iptables -w 5 -t filter -A FL-0a0b0c0d-p1 -s 10.0.0.1 -d 10.0.0.3 -j DROP",
			"iptables -w 5 -t filter -A FL-0a0b0c0d-p1 -s 10.0.0.1 -m conntrack --ctdir REPLY --ctrepldst 10.0.0.3 -j DROP",
			"iptables -w 5 -t filter -A FL-0a0b0c0d-p1 -s 10.0.0.3 -d 10.0.0.1 -j DROP",
			"iptables -w 5 -t filter -A FL-0a0b0c0d-p1 -s 10.0.0.3 -m conntrack --ctdir REPLY --ctrepldst 10.0.0.1 -j DROP",
			"iptables -w 5 -t filter -I INPUT -j FL-0a0b0c0d-p1",
		}
		if got := argvs(sets[0].InstallArgv()); got != strings.Join(want, "\n") {
			t.Errorf("install:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
		}
		wantRemove := "iptables -w 5 -t filter -D INPUT -j FL-0a0b0c0d-p1\niptables -w 5 -t filter -F FL-0a0b0c0d-p1\niptables -w 5 -t filter -X FL-0a0b0c0d-p1"
		if got := argvs(sets[0].RemoveArgv()); got != wantRemove {
			t.Errorf("remove:\n%s\nwant:\n%s", got, wantRemove)
		}
	})
	t.Run("a namespace per node (kind): rules at each destination", func(t *testing.T) {
		sets := DropRules("FL-x-p1", links, func(n string) string { return n })
		got := map[string]string{}
		for _, rs := range sets {
			if rs.Node != rs.Namespace {
				t.Errorf("rules for namespace %s run on node %s", rs.Namespace, rs.Node)
			}
			var rules []string
			for _, r := range rs.Rules {
				if r[2] == "-d" { // the SNAT reply rules are checked above
					rules = append(rules, strings.Join(r, " "))
				}
			}
			got[rs.Namespace] = strings.Join(rules, "; ")
		}
		want := map[string]string{
			"n1": "-s 10.0.0.2 -d 10.0.0.1 -j DROP; -s 10.0.0.3 -d 10.0.0.1 -j DROP",
			"n2": "-s 10.0.0.1 -d 10.0.0.2 -j DROP",
			"n3": "-s 10.0.0.1 -d 10.0.0.3 -j DROP",
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("rules by namespace\n got %v\nwant %v", got, want)
		}
	})
}

func TestChainName(t *testing.T) {
	if got := chainName(chainNamer{}, "p3"); got != "FL-12345678-p3" {
		t.Errorf("a cluster's own name: %q", got)
	}
	a := chainName(plainCluster{name: "kind-a"}, "p3")
	b := chainName(plainCluster{name: "kind-b"}, "p3")
	if a == b || !strings.HasPrefix(a, "FL-") || len(a) > iptables.MaxChain {
		t.Errorf("fallback names %q and %q", a, b)
	}
	if long := chainName(plainCluster{name: "x"}, strings.Repeat("p", 40)); len(long) > iptables.MaxChain {
		t.Errorf("%q is longer than iptables allows", long)
	}
}

func argvs(cmds [][]string) string {
	var lines []string
	for _, c := range cmds {
		lines = append(lines, strings.Join(c, " "))
	}
	return strings.Join(lines, "\n")
}

// The default peers of a partition are the complement of its target; a
// target of n2 alone must leave both n1 and n3 as peers.
func TestComplementByExactName(t *testing.T) {
	workers := nodes("n1", "n2", "n3")
	for _, tt := range []struct {
		target []platform.Node
		want   string
	}{
		{nodes("n2"), "n1 n3"},
		{nodes("n1"), "n2 n3"},
		{nodes("n3", "n1"), "n2"},
	} {
		var got []string
		for _, n := range Complement(workers, tt.target) {
			got = append(got, n.Name)
		}
		if strings.Join(got, " ") != tt.want {
			t.Errorf("Complement(%v) = %v, want %s", tt.target, got, tt.want)
		}
	}
}
