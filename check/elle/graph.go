package elle

import (
	"fmt"
	"math/bits"
	"slices"
	"strings"
)

// Kind is the kind of a dependency between two transactions. An edge
// carries a set of kinds, since T1 may, say, both precede T2's write of
// one key (ww) and be read by T2 on another (wr).
type Kind uint8

// The edge kinds. The first three are Adya's data dependencies; Process
// and Realtime are the orders that session and strict levels add.
const (
	// WW: T2 appended to a key right after T1's append in version order.
	WW Kind = 1 << iota
	// WR: T2 read a version of a key that ends with T1's append.
	WR
	// RW: T1 read a version of a key that T2's append overwrote next
	// (an anti-dependency).
	RW
	// Process: T2 was the next operation of T1's process.
	Process
	// Realtime: T1 completed before T2 was invoked.
	Realtime

	// composite marks an edge of the search graph for snapshot isolation
	// that stands for an A edge followed by an rw edge.
	composite
)

const (
	dataKinds = WW | WR | RW
	allKinds  = dataKinds | Process | Realtime
)

// labelOrder is the order in which a multi-kind edge picks the kind it is
// explained by: data before session and real time, so that a cycle needs
// process or real-time edges only when no data edge would do.
var labelOrder = [...]Kind{WW, WR, RW, Process, Realtime}

// label picks the kind an edge with kinds k is explained by, among those
// in mask.
func label(k, mask Kind) Kind {
	for _, l := range labelOrder {
		if k&mask&l != 0 {
			return l
		}
	}
	return 0
}

// String names the kinds in k: "ww", "wr", "rw", "process", "realtime",
// joined by "+".
func (k Kind) String() string {
	var parts []string
	for _, l := range labelOrder {
		if k&l != 0 {
			parts = append(parts, [...]string{"ww", "wr", "rw", "process", "realtime"}[bitIndex(l)])
		}
	}
	if len(parts) == 0 {
		return fmt.Sprintf("kind(%d)", uint8(k))
	}
	return strings.Join(parts, "+")
}

func bitIndex(k Kind) int {
	for i := 0; i < 8; i++ {
		if k == 1<<i {
			return i
		}
	}
	return -1
}

// Edges are packed into one uint64 so that a graph of millions of edges
// is a few flat slices, with no allocation per edge:
//
//	bits  0..7   the kinds
//	bits  8..35  the target node
//	bits 36..63  the source node (in an edge list) or, in the snapshot
//	             isolation search graph, the middle node of a composite
//
// which bounds a graph to 2^28 nodes (268M transactions).
const (
	nodeBits = 28
	maxNodes = 1 << nodeBits
	nodeMask = maxNodes - 1
)

func pack(aux, to int32, k Kind) uint64 {
	return uint64(aux)<<36 | uint64(to)<<8 | uint64(k)
}

func edgeTo(e uint64) int32   { return int32(e >> 8 & nodeMask) }
func edgeKind(e uint64) Kind  { return Kind(e) }
func edgeAux(e uint64) int32  { return int32(e >> 36) }
func edgeFrom(e uint64) int32 { return edgeAux(e) }

// csr is a directed graph in compressed sparse row form: the edges out of
// node v are adj[off[v]:off[v+1]], sorted by target, one per target with
// the union of kinds.
type csr struct {
	off []int32
	adj []uint64
}

func (g *csr) nodes() int { return len(g.off) - 1 }

func (g *csr) out(v int32) []uint64 { return g.adj[g.off[v]:g.off[v+1]] }

// edgeList collects edges before they become a csr.
type edgeList struct {
	e      []uint64
	counts [8]int // edges added, by kind bit
}

func (l *edgeList) add(from, to int32, k Kind) {
	l.e = append(l.e, pack(from, to, k))
	l.counts[bitIndex(k)]++
}

// build turns the edge list into a csr over n nodes, merging parallel
// edges. It sorts the edges by source with a least-significant-digit
// radix sort (a few sequential passes; an in-place permutation was ten
// times slower on millions of edges, all cache misses), then each node's
// few edges by target, and compacts. The list is consumed.
func (l *edgeList) build(n int) *csr {
	a := l.e
	l.e = nil
	a = radixByFrom(a, bits.Len(uint(n)))
	off := make([]int32, n+1)
	for _, e := range a {
		off[edgeFrom(e)+1]++
	}
	for v := 0; v < n; v++ {
		off[v+1] += off[v]
	}
	// Sort each node's edges by target and merge parallel edges.
	w := int32(0)
	start := int32(0)
	for v := 0; v < n; v++ {
		seg := a[start:off[v+1]]
		start = off[v+1]
		slices.Sort(seg) // same source, so this orders by target
		off[v] = w
		for _, e := range seg {
			if w > off[v] && edgeTo(a[w-1]) == edgeTo(e) {
				a[w-1] |= uint64(edgeKind(e))
				continue
			}
			a[w] = e
			w++
		}
	}
	off[n] = w
	return &csr{off: off, adj: a[:w:w]}
}

// radixByFrom sorts packed edges by their source node, of which only the
// low width bits can be set, and returns the sorted slice (a or a buffer
// of the same size).
func radixByFrom(a []uint64, width int) []uint64 {
	const digit = 11
	if width == 0 || len(a) < 2 {
		return a
	}
	tmp := make([]uint64, len(a))
	var count [1<<digit + 1]int
	for shift := 36; shift < 36+width; shift += digit {
		clear(count[:])
		for _, e := range a {
			count[(e>>shift)&(1<<digit-1)+1]++
		}
		for d := 1; d <= 1<<digit; d++ {
			count[d] += count[d-1]
		}
		for _, e := range a {
			d := (e >> shift) & (1<<digit - 1)
			tmp[count[d]] = e
			count[d]++
		}
		a, tmp = tmp, a
	}
	return a
}

// tarjan finds strongly connected components with Tarjan's algorithm,
// iteratively (a history's real-time chain would overflow a recursive
// version's stack), reusing its scratch space between runs.
type tarjan struct {
	index, low []int32 // 0: not visited yet
	onStack    []bool
	stack      []int32
	frames     []frame
	comp       []int32 // component of each node, after run
}

type frame struct {
	v  int32
	ei int32 // next edge of v to look at
}

// run labels each node of g with its component, following only edges
// whose kinds intersect mask, and returns the components that can hold a
// cycle (two or more nodes), each as a list of nodes. Components come out
// in reverse topological order.
func (t *tarjan) run(g *csr, mask Kind) [][]int32 {
	n := g.nodes()
	t.index = grow(t.index, n)
	t.low = grow(t.low, n)
	t.comp = grow(t.comp, n)
	if cap(t.onStack) < n {
		t.onStack = make([]bool, n)
	}
	t.onStack = t.onStack[:n]
	clear(t.index)
	var (
		sccs    [][]int32
		counter int32
		ncomp   int32
	)
	for root := int32(0); root < int32(n); root++ {
		if t.index[root] != 0 {
			continue
		}
		counter++
		t.index[root], t.low[root] = counter, counter
		t.stack = append(t.stack, root)
		t.onStack[root] = true
		t.frames = append(t.frames[:0], frame{v: root, ei: g.off[root]})
		for len(t.frames) > 0 {
			f := &t.frames[len(t.frames)-1]
			v := f.v
			if f.ei < g.off[v+1] {
				e := g.adj[f.ei]
				f.ei++
				if edgeKind(e)&mask == 0 {
					continue
				}
				w := edgeTo(e)
				if t.index[w] == 0 {
					counter++
					t.index[w], t.low[w] = counter, counter
					t.stack = append(t.stack, w)
					t.onStack[w] = true
					t.frames = append(t.frames, frame{v: w, ei: g.off[w]})
				} else if t.onStack[w] {
					t.low[v] = min(t.low[v], t.index[w])
				}
				continue
			}
			// v is done: pop its frame, maybe emit its component.
			t.frames = t.frames[:len(t.frames)-1]
			if len(t.frames) > 0 {
				p := t.frames[len(t.frames)-1].v
				t.low[p] = min(t.low[p], t.low[v])
			}
			if t.low[v] != t.index[v] {
				continue
			}
			if members := t.pop(v, ncomp); len(members) > 1 {
				sccs = append(sccs, slices.Clone(members))
			}
			ncomp++
		}
	}
	return sccs
}

// pop takes the component rooted at v off the stack, labels its members
// c and returns them (valid until the stack grows again).
func (t *tarjan) pop(v, c int32) []int32 {
	i := len(t.stack) - 1
	for t.stack[i] != v {
		i--
	}
	members := t.stack[i:]
	for _, w := range members {
		t.onStack[w] = false
		t.comp[w] = c
	}
	t.stack = t.stack[:i]
	return members
}

func grow(s []int32, n int) []int32 {
	if cap(s) < n {
		return make([]int32, n)
	}
	return s[:n]
}

// bfs finds shortest paths in a csr, reusing its scratch space. Nodes
// outside the component being searched (comp[v] != c) are never entered.
type bfs struct {
	seen   []uint32 // epoch at which the node was reached
	epoch  uint32
	parent []int32
	via    []uint64 // the edge that reached the node
	queue  []int32
}

func (b *bfs) reset(n int) {
	if len(b.seen) < n {
		b.seen = make([]uint32, n)
		b.parent = make([]int32, n)
		b.via = make([]uint64, n)
		b.epoch = 0
	}
	b.epoch++
	if b.epoch == 0 { // wrapped: forget every old mark
		clear(b.seen)
		b.epoch = 1
	}
}

// hop is one edge of a path or cycle: from → to with the kinds it has,
// and for a composite edge of the snapshot isolation search graph the
// middle node it stands for.
type hop struct {
	from, to int32
	kind     Kind
	via      int32
}

func hopOf(from int32, e uint64) hop {
	return hop{from: from, to: edgeTo(e), kind: edgeKind(e), via: edgeAux(e)}
}

// path returns the shortest path from src to dst over edges whose kinds
// intersect mask, staying inside component c of comp (nil: anywhere), as
// the hops taken in order; nil if dst is unreachable. src == dst asks for
// the shortest cycle through src. Every edge looked at is charged to
// *work.
func (b *bfs) path(g *csr, src, dst int32, mask Kind, comp []int32, c int32, work *int) []hop {
	b.reset(g.nodes())
	b.queue = append(b.queue[:0], src)
	b.seen[src] = b.epoch
	for qi := 0; qi < len(b.queue); qi++ {
		u := b.queue[qi]
		out := g.out(u)
		*work += len(out)
		for _, e := range out {
			if edgeKind(e)&mask == 0 {
				continue
			}
			v := edgeTo(e)
			if comp != nil && comp[v] != c {
				continue
			}
			if v == dst {
				return b.trace(src, u, e)
			}
			if b.seen[v] == b.epoch {
				continue
			}
			b.seen[v] = b.epoch
			b.parent[v] = u
			b.via[v] = e
			b.queue = append(b.queue, v)
		}
	}
	return nil
}

// trace rebuilds the path from src to u, then appends the last edge e
// out of u.
func (b *bfs) trace(src, u int32, last uint64) []hop {
	rev := []hop{hopOf(u, last)}
	for v := u; v != src; v = b.parent[v] {
		rev = append(rev, hopOf(b.parent[v], b.via[v]))
	}
	slices.Reverse(rev)
	return rev
}
