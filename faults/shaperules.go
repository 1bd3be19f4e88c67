package faults

import (
	"fmt"
	"sort"
	"strconv"

	"github.com/faultline-dev/faultline/platform"
)

// The iptables side of network shaping. Building rules is pure; they are
// installed with InstallRules, in chains that faults names (see
// chainName), so that every platform's heal finds them.
//
// A link's packets are matched by their connection's reply tuple, which
// conntrack keeps with every address translation applied, instead of by
// the packet's own addresses:
//
//	packets the source sends on connections it opened:
//	  -m conntrack --ctdir ORIGINAL --ctreplsrc DST --ctrepldst SRC
//	packets the source sends on connections the destination opened:
//	  -m conntrack --ctdir REPLY --ctreplsrc SRC --ctrepldst DST
//
// That holds wherever the rule sits. On the local platform a node's
// packets get the node's source address by SNAT in POSTROUTING, after
// OUTPUT, and replies to it are translated back to 127.0.0.1 in OUTPUT,
// so neither -s nor -d would say which node a packet is from or for; on
// kind, replies from a Service's pod are translated back to the Service
// address. The two rules never match the same packet, so a random drop
// is drawn once per packet. (Untracked packets match neither.)

// Shaping chains live in these tables: delays in security, which netfilter
// runs after filter, so that partitions and loss (filter) see a packet
// before it is delayed and a delayed packet re-entering the hook
// (NF_REPEAT) meets only other delays; loss and classification in filter.
const (
	tableDelay    = "security"
	tableFilter   = "filter"
	delayMarkBase = 0x01000000 // mark bits of delayers: 0x01000000 << 0..7
	delayMarkBits = 8
)

// linkMatches returns the conntrack matches of a link's packets, one pair
// per source and destination address (node address and pod networks).
func linkMatches(l Link, nets map[string][]string) [][]string {
	var out [][]string
	for _, s := range nodeAddrs(l.Src, nets) {
		for _, d := range nodeAddrs(l.Dst, nets) {
			out = append(out,
				[]string{"-m", "conntrack", "--ctdir", "ORIGINAL", "--ctreplsrc", d, "--ctrepldst", s},
				[]string{"-m", "conntrack", "--ctdir", "REPLY", "--ctreplsrc", s, "--ctrepldst", d})
		}
	}
	return out
}

// nodeAddrs are a node's address and the networks its pods use.
func nodeAddrs(n platform.Node, nets map[string][]string) []string {
	return append([]string{n.Addr}, nets[n.Name]...)
}

// linkRules turns links into rules: each match of each link, followed by
// the link's target arguments.
func linkRules(links []Link, nets map[string][]string, target func(Link) []string) [][]string {
	var rules [][]string
	for _, l := range links {
		t := target(l)
		for _, m := range linkMatches(l, nets) {
			rules = append(rules, append(m, t...))
		}
	}
	return rules
}

// side picks the end of a link whose namespace holds its rules.
type side int

const (
	atDst side = iota // rules where packets arrive: INPUT, FORWARD
	atSrc             // rules where packets leave: OUTPUT, FORWARD
)

// nsLinks are the links whose rules go into one network namespace, and a
// node to run the commands on.
type nsLinks struct {
	ns    string
	node  string
	links []Link
}

// groupLinks groups links by the namespace of the chosen end, in a stable
// order (namespaces sorted, links as given).
func groupLinks(links []Link, at side, namespace func(node string) string) []nsLinks {
	byNS := map[string]*nsLinks{}
	for _, l := range links {
		end := l.Dst
		if at == atSrc {
			end = l.Src
		}
		ns := namespace(end.Name)
		g, ok := byNS[ns]
		if !ok {
			g = &nsLinks{ns: ns, node: end.Name}
			byNS[ns] = g
		}
		g.links = append(g.links, l)
	}
	out := make([]nsLinks, 0, len(byNS))
	for _, g := range byNS {
		out = append(out, *g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ns < out[j].ns })
	return out
}

// queueRules is the rule set that queues the links' packets to a delayer
// (queue) in namespace g: in the security table, from INPUT and FORWARD
// (pod traffic is forwarded), skipping packets that carry mark, which the
// delayer sets on the packets it releases. --queue-bypass lets packets
// pass when no delayer listens.
func queueRules(chain string, g nsLinks, nets map[string][]string, queue uint16, mark uint32) RuleSet {
	m := fmt.Sprintf("%#x/%#x", mark, mark)
	target := []string{"-m", "mark", "!", "--mark", m, "-j", "NFQUEUE", "--queue-num", strconv.Itoa(int(queue)), "--queue-bypass"}
	return RuleSet{
		Namespace: g.ns, Node: g.node, Table: tableDelay, Chain: chain,
		Hooks: []string{"INPUT", "FORWARD"},
		Rules: linkRules(g.links, nets, func(Link) []string { return target }),
	}
}

// lossRules is the rule set that drops a fraction loss of the links'
// packets where they arrive, with the statistic match.
func lossRules(chain string, g nsLinks, nets map[string][]string, loss float64) RuleSet {
	target := []string{"-m", "statistic", "--mode", "random", "--probability", strconv.FormatFloat(loss, 'f', -1, 64), "-j", "DROP"}
	return RuleSet{
		Namespace: g.ns, Node: g.node, Table: tableFilter, Chain: chain,
		Hooks: []string{"INPUT", "FORWARD"},
		Rules: linkRules(g.links, nets, func(Link) []string { return target }),
	}
}

// classifyRules is the rule set that puts the links' packets into the tc
// class of their source node (class maps node names to class ids such as
// fa11:3) as they leave: the CLASSIFY target sets the packet's priority,
// which htb takes as its class before it consults any filter.
func classifyRules(chain string, g nsLinks, nets map[string][]string, class map[string]string) RuleSet {
	return RuleSet{
		Namespace: g.ns, Node: g.node, Table: tableFilter, Chain: chain,
		Hooks: []string{"OUTPUT", "FORWARD"},
		Rules: linkRules(g.links, nets, func(l Link) []string {
			return []string{"-j", "CLASSIFY", "--set-class", class[l.Src.Name]}
		}),
	}
}
