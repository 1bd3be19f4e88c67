package elle

import (
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/graph/path"
	"gonum.org/v1/gonum/graph/simple"
	"gonum.org/v1/gonum/graph/topo"
)

// randomGraph returns an edge list of n nodes, with kinds drawn from
// allKinds and some parallel edges, and the same graph in gonum's form
// restricted to edges whose kinds meet mask.
func randomGraph(r *rand.Rand, n, m int, mask Kind) (*edgeList, *simple.DirectedGraph) {
	var l edgeList
	g := simple.NewDirectedGraph()
	for v := 0; v < n; v++ {
		g.AddNode(simple.Node(v))
	}
	kinds := []Kind{WW, WR, RW, Process, Realtime}
	for i := 0; i < m; i++ {
		u, v := int32(r.IntN(n)), int32(r.IntN(n))
		if u == v {
			continue
		}
		k := kinds[r.IntN(len(kinds))]
		l.add(u, v, k)
		if k&mask != 0 {
			g.SetEdge(g.NewEdge(simple.Node(u), simple.Node(v)))
		}
	}
	return &l, g
}

// TestTarjanMatchesGonum checks the iterative Tarjan against gonum's
// topo.TarjanSCC on random graphs, with and without an edge mask.
func TestTarjanMatchesGonum(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, mask := range []Kind{allKinds, WW | WR, RW, Realtime} {
		for trial := 0; trial < 50; trial++ {
			n := 1 + r.IntN(60)
			l, g := randomGraph(r, n, r.IntN(3*n), mask)
			c := l.build(n)
			var tj tarjan
			got := normalize(tj.run(c, mask))
			var want [][]int32
			for _, scc := range topo.TarjanSCC(g) {
				if len(scc) < 2 {
					continue
				}
				var s []int32
				for _, v := range scc {
					s = append(s, int32(v.ID()))
				}
				want = append(want, s)
			}
			want = normalize(want)
			if !slices.EqualFunc(got, want, slices.Equal[[]int32]) {
				t.Fatalf("mask %s, trial %d: components %v, gonum says %v", mask, trial, got, want)
			}
		}
	}
}

func normalize(sccs [][]int32) [][]int32 {
	for _, s := range sccs {
		slices.Sort(s)
	}
	slices.SortFunc(sccs, func(a, b []int32) int { return int(a[0] - b[0]) })
	return sccs
}

// TestBFSMatchesGonum checks shortest path lengths against gonum's
// Dijkstra with unit weights.
func TestBFSMatchesGonum(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	var b bfs
	for trial := 0; trial < 100; trial++ {
		n := 2 + r.IntN(40)
		l, g := randomGraph(r, n, r.IntN(3*n), WW|WR|RW)
		c := l.build(n)
		src, dst := int32(r.IntN(n)), int32(r.IntN(n))
		if src == dst {
			continue
		}
		work := 0
		p := b.path(c, src, dst, WW|WR|RW, nil, 0, &work)
		sp := path.DijkstraFrom(simple.Node(src), g)
		nodes, weight := sp.To(int64(dst))
		if nodes == nil {
			if p != nil {
				t.Fatalf("trial %d: found a path %v where gonum finds none", trial, p)
			}
			continue
		}
		if p == nil || len(p) != int(weight) {
			t.Fatalf("trial %d: path of %d hops, gonum's is %v", trial, len(p), weight)
		}
		for i, h := range p {
			if kindOf(c, h.from, h.to)&(WW|WR|RW) == 0 || (i > 0 && p[i-1].to != h.from) {
				t.Fatalf("trial %d: hop %d (%d→%d) is not an edge of the path", trial, i, h.from, h.to)
			}
		}
	}
}

func TestBuildMergesParallelEdges(t *testing.T) {
	var l edgeList
	l.add(2, 0, WW)
	l.add(0, 1, WR)
	l.add(0, 1, RW)
	l.add(2, 0, Realtime)
	l.add(0, 2, WW)
	l.add(0, 1, WR)
	g := l.build(3)
	type e struct {
		from, to int32
		k        Kind
	}
	var got []e
	for v := int32(0); v < 3; v++ {
		for _, x := range g.out(v) {
			got = append(got, e{v, edgeTo(x), edgeKind(x)})
		}
	}
	want := []e{{0, 1, WR | RW}, {0, 2, WW}, {2, 0, WW | Realtime}}
	if !slices.Equal(got, want) {
		t.Errorf("edges %v, want %v", got, want)
	}
	if l.counts[bitIndex(WR)] != 2 || l.counts[bitIndex(WW)] != 2 {
		t.Errorf("counts %v", l.counts)
	}
}

func TestClassify(t *testing.T) {
	h := func(ks ...Kind) []hop {
		var hs []hop
		for _, k := range ks {
			hs = append(hs, hop{kind: k})
		}
		return hs
	}
	tests := []struct {
		hops []hop
		want string
	}{
		{h(WW, WW), G0},
		{h(WW, WR), G1c},
		{h(WR, RW), GSingle},
		{h(RW, WR, RW, WR), GNonadjacent},
		{h(RW, RW), G2Item},
		{h(RW, WR, RW), G2Item}, // the last and first rw are adjacent
		{h(WW, Process), G0 + ProcessSuffix},
		{h(RW, Realtime, Process), GSingle + RealtimeSuffix},
	}
	for _, tt := range tests {
		if got := classify(tt.hops); got != tt.want {
			t.Errorf("classify(%v) = %s, want %s", tt.hops, got, tt.want)
		}
	}
}
