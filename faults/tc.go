package faults

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/faultline-dev/faultline/platform"
)

// The tc side of network shaping: bandwidth (htb), and netem where the
// kernel has it. Each device that shapes anything gets one root qdisc,
// htb with handle fa11: and no default class, so that traffic faultline
// does not classify passes straight through (htb's direct queue). Each
// shaping fault adds one class per source node (fa11:N) with, for netem,
// a netem qdisc under it. Packets reach the class two ways: the CLASSIFY
// rules of classifyRules, and u32 filters at priority N on the node's
// addresses, which catch the first packet of a connection on the local
// platform (its source address is rewritten after every iptables hook
// that could classify it, but before tc).
//
// A class belongs to whatever iptables chain names it with CLASSIFY; one
// that no chain names is garbage (its fault healed, or its cluster died
// and the platform's heal removed its chains), and sweepTC removes it,
// and the root qdisc once it holds no class.

// tcHandle is the major handle of faultline's root qdiscs.
const tcHandle = "fa11"

// unlimited is the rate of classes that only carry netem.
const unlimited = "100gbit"

// tcClass is one class faultline adds under a device's root qdisc.
type tcClass struct {
	Dev   string
	Minor uint16
	// Rate is in bits per second; zero is unlimited.
	Rate int64
	// Netem holds the arguments of a netem qdisc under the class, if any.
	Netem []string
	// Filters are the source and destination address pairs the class's
	// u32 filters match.
	Filters [][2]string
}

// ID is the class id, such as fa11:3.
func (c tcClass) ID() string { return fmt.Sprintf("%s:%x", tcHandle, c.Minor) }

func (c tcClass) rate() string {
	if c.Rate <= 0 {
		return unlimited
	}
	return strconv.FormatInt(c.Rate, 10) + "bit"
}

// rootArgv adds faultline's root qdisc to dev.
func rootArgv(dev string) []string {
	return []string{"tc", "qdisc", "add", "dev", dev, "root", "handle", tcHandle + ":", "htb"}
}

// rootRemoveArgv removes the root qdisc of dev.
func rootRemoveArgv(dev string) []string {
	return []string{"tc", "qdisc", "del", "dev", dev, "root"}
}

// InstallArgv returns the commands that add the class, its netem qdisc
// and its filters.
func (c tcClass) InstallArgv() [][]string {
	cmds := [][]string{{"tc", "class", "add", "dev", c.Dev, "parent", tcHandle + ":", "classid", c.ID(),
		"htb", "rate", c.rate(), "ceil", c.rate()}}
	if len(c.Netem) > 0 {
		// The netem qdisc's handle is the class's minor: unique on the
		// device, and never fa11.
		cmds = append(cmds, append([]string{"tc", "qdisc", "add", "dev", c.Dev, "parent", c.ID(),
			"handle", fmt.Sprintf("%x:", c.Minor), "netem"}, c.Netem...))
	}
	for _, f := range c.Filters {
		cmds = append(cmds, []string{"tc", "filter", "add", "dev", c.Dev, "parent", tcHandle + ":",
			"protocol", "ip", "prio", strconv.Itoa(int(c.Minor)), "u32",
			"match", "ip", "src", f[0], "match", "ip", "dst", f[1], "flowid", c.ID()})
	}
	return cmds
}

// removeClassArgv returns the commands that remove class minor of dev
// and its filters (its netem qdisc goes with it).
func removeClassArgv(dev string, minor uint16) [][]string {
	id := fmt.Sprintf("%s:%x", tcHandle, minor)
	return [][]string{
		{"tc", "filter", "del", "dev", dev, "parent", tcHandle + ":", "prio", strconv.Itoa(int(minor))},
		{"tc", "class", "del", "dev", dev, "classid", id},
	}
}

// netemArgs are the arguments of a netem qdisc for a shape: delay with
// jitter, loss, and a queue long enough to hold what the delay holds.
func netemArgs(s Shape) []string {
	var args []string
	if s.Delay > 0 {
		args = append(args, "delay", tcTime(s.Delay))
		if s.Jitter > 0 {
			args = append(args, tcTime(s.Jitter))
		}
	}
	if s.Loss > 0 {
		args = append(args, "loss", strconv.FormatFloat(s.Loss*100, 'f', -1, 64)+"%")
	}
	return append(args, "limit", "100000")
}

// tcTime spells a duration for tc, in microseconds.
func tcTime(d time.Duration) string { return strconv.FormatInt(d.Microseconds(), 10) + "us" }

// qdisc is one entry of `tc -j qdisc show`.
type qdisc struct {
	Kind   string `json:"kind"`
	Handle string `json:"handle"`
	Dev    string `json:"dev"`
	Root   bool   `json:"root"`
}

// parseQdiscs reads `tc -j qdisc show [dev X]`.
func parseQdiscs(out []byte) ([]qdisc, error) {
	var qs []qdisc
	if err := json.Unmarshal(out, &qs); err != nil {
		return nil, fmt.Errorf("parse tc -j qdisc show: %w", err)
	}
	return qs, nil
}

var classLine = regexp.MustCompile(`(?m)^class htb ` + tcHandle + `:([0-9a-f]+) `)

// parseClasses returns the minors of faultline's classes in `tc class
// show dev X`, sorted.
func parseClasses(out []byte) []uint16 {
	var minors []uint16
	for _, m := range classLine.FindAllSubmatch(out, -1) {
		if v, err := strconv.ParseUint(string(m[1]), 16, 16); err == nil {
			minors = append(minors, uint16(v))
		}
	}
	sort.Slice(minors, func(i, j int) bool { return minors[i] < minors[j] })
	return minors
}

var setClass = regexp.MustCompile(`--set-class ` + tcHandle + `:([0-9a-f]+)`)

// classRefs returns the class minors that CLASSIFY rules in `iptables -S`
// output name.
func classRefs(out []byte) map[uint16]bool {
	refs := map[uint16]bool{}
	for _, m := range setClass.FindAllSubmatch(out, -1) {
		if v, err := strconv.ParseUint(string(m[1]), 16, 16); err == nil {
			refs[uint16(v)] = true
		}
	}
	return refs
}

// freeMinor returns the lowest class minor that is neither used nor
// taken; minor 0xfa11 is skipped, being the root's handle.
func freeMinor(used []uint16, taken map[uint16]bool) (uint16, error) {
	in := map[uint16]bool{}
	for _, u := range used {
		in[u] = true
	}
	for m := uint16(1); m < 0xffff; m++ {
		if !in[m] && !taken[m] && m != 0xfa11 {
			return m, nil
		}
	}
	return 0, errors.New("no free tc class id")
}

// routeDev parses `ip -o route get ADDR` for the device.
func routeDev(out []byte) (string, error) {
	f := strings.Fields(string(out))
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "dev" {
			return f[i+1], nil
		}
	}
	return "", fmt.Errorf("no device in route %q", strings.TrimSpace(string(out)))
}

// egressDev is the device node's namespace sends packets for addr from.
func egressDev(ctx context.Context, nc platform.NetworkController, node, addr string, log *Log) (string, error) {
	out, err := netExec(ctx, nc, node, []string{"ip", "-o", "route", "get", addr}, log)
	if err != nil {
		return "", err
	}
	return routeDev(out)
}

// ensureRoot adds faultline's root qdisc to dev unless it is there. A
// root qdisc of anything else is left alone and refused: it is not ours
// to replace.
func ensureRoot(ctx context.Context, nc platform.NetworkController, node, dev string, log *Log) error {
	out, err := netExec(ctx, nc, node, []string{"tc", "-j", "qdisc", "show", "dev", dev}, log)
	if err != nil {
		return err
	}
	qs, err := parseQdiscs(out)
	if err != nil {
		return err
	}
	for _, q := range qs {
		if !q.Root {
			continue
		}
		switch {
		case q.Kind == "htb" && q.Handle == tcHandle+":":
			return nil
		case isDefaultQdisc(q.Kind):
		default:
			return fmt.Errorf("device %s on %s has a root qdisc faultline did not add (%s %s); remove it or shape elsewhere", dev, node, q.Kind, q.Handle)
		}
	}
	_, err = netExec(ctx, nc, node, rootArgv(dev), log)
	return err
}

// isDefaultQdisc reports whether kind is a root qdisc the kernel installs
// by itself.
func isDefaultQdisc(kind string) bool {
	switch kind {
	case "noqueue", "pfifo_fast", "mq", "fq_codel", "pfifo", "noop", "fq":
		return true
	}
	return false
}

// sweepTC removes, from every device of node's namespace that has
// faultline's root qdisc, the classes no CLASSIFY rule names, and the root
// qdisc once no class is left. It writes what it removed to w.
func sweepTC(ctx context.Context, nc platform.NetworkController, node string, log *Log, w io.Writer) error {
	out, err := netExec(ctx, nc, node, []string{"tc", "-j", "qdisc", "show"}, log)
	if err != nil {
		return err
	}
	qs, err := parseQdiscs(out)
	if err != nil {
		return err
	}
	save, err := netExec(ctx, nc, node, []string{"iptables", "-w", "5", "-t", tableFilter, "-S"}, log)
	if err != nil {
		return err
	}
	refs := classRefs(save)
	var errs []error
	for _, q := range qs {
		if !q.Root || q.Kind != "htb" || q.Handle != tcHandle+":" {
			continue
		}
		if err := sweepDev(ctx, nc, node, q.Dev, refs, log, w); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func sweepDev(ctx context.Context, nc platform.NetworkController, node, dev string, refs map[uint16]bool, log *Log, w io.Writer) error {
	out, err := netExec(ctx, nc, node, []string{"tc", "class", "show", "dev", dev}, log)
	if err != nil {
		return err
	}
	left := 0
	var errs []error
	for _, m := range parseClasses(out) {
		if refs[m] {
			left++
			continue
		}
		for _, argv := range removeClassArgv(dev, m) {
			if _, err := netExec(ctx, nc, node, argv, log); err != nil && !tcGone(err) {
				errs = append(errs, err)
			}
		}
		fmt.Fprintf(w, "%s: removed tc class %s:%x from %s\n", node, tcHandle, m, dev)
	}
	if left == 0 && len(errs) == 0 {
		if _, err := netExec(ctx, nc, node, rootRemoveArgv(dev), log); err != nil && !tcGone(err) {
			errs = append(errs, err)
		} else {
			fmt.Fprintf(w, "%s: removed faultline's root qdisc from %s\n", node, dev)
		}
	}
	return errors.Join(errs...)
}

// tcGone reports whether tc failed because what it was to delete is
// already gone.
func tcGone(err error) bool {
	var ce *platform.CommandError
	if !errors.As(err, &ce) {
		return false
	}
	out := string(ce.Output)
	return strings.Contains(out, "Cannot find specified filter chain") ||
		strings.Contains(out, "Cannot delete qdisc with handle of zero") ||
		strings.Contains(out, "No such file or directory") ||
		strings.Contains(out, "Cannot find device") ||
		strings.Contains(out, "Class doesn't exist") ||
		strings.Contains(out, "Invalid handle")
}
