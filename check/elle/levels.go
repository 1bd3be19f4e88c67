package elle

import (
	"fmt"
	"slices"
	"strings"

	"github.com/faultline-dev/faultline/internal/excerpt"
)

// The anomaly kinds the checker reports. Cycle kinds (G0 to G2-item) also
// come in "-process" and "-realtime" variants when the cycle needs the
// order of a process's operations or real-time order (T1 completed before
// T2 began) to close. Definitions follow Adya's "Weak Consistency" (1999)
// and Elle (Kingsbury & Alvaro, VLDB 2020; jepsen-io/elle).
const (
	// G0 (write cycle): a cycle of write-write dependencies.
	G0 = "G0"
	// G1a (aborted read): a committed read saw a value that a failed
	// transaction appended.
	G1a = "G1a"
	// G1b (intermediate read): a committed read ended in a value that its
	// transaction then followed with another append to the same key.
	G1b = "G1b"
	// G1c (circular information flow): a cycle of ww and wr dependencies
	// with at least one wr.
	G1c = "G1c"
	// GSingle (read skew): a cycle with exactly one rw anti-dependency.
	GSingle = "G-single"
	// GNonadjacent: a cycle with two or more rw anti-dependencies, no two
	// of them adjacent. Snapshot isolation forbids it, as it forbids
	// G-single (Cerone & Gotsman, "Analysing Snapshot Isolation").
	GNonadjacent = "G-nonadjacent"
	// G2Item (write skew and friends): a cycle with two or more rw
	// anti-dependencies, some two adjacent. Snapshot isolation allows it.
	G2Item = "G2-item"
	// LostUpdate: two committed transactions read the same version of a
	// key and both appended to it.
	LostUpdate = "lost-update"
	// DirtyUpdate: a committed append directly follows a failed one in a
	// key's version order.
	DirtyUpdate = "dirty-update"
	// Internal: a read disagrees with its own transaction's earlier reads
	// or appends of that key.
	Internal = "internal"
	// FutureRead: a read shows a value its own transaction appends later.
	FutureRead = "future-read"
	// IncompatibleOrder: two reads of a key are not prefixes of one order
	// of appends.
	IncompatibleOrder = "incompatible-order"
	// DuplicateElements: a read holds one appended value twice.
	DuplicateElements = "duplicate-elements"
	// GarbageRead: a read holds a value nobody appended to that key.
	GarbageRead = "garbage-read"
)

// Suffixes of the cycle kinds that need process or real-time order.
const (
	ProcessSuffix  = "-process"
	RealtimeSuffix = "-realtime"
)

// Level is an isolation level a history can be consistent with.
type Level string

// The levels, weakest first. Repeatable read (Adya's PL-2.99) and
// snapshot isolation are incomparable: snapshot isolation allows G2-item
// (write skew) which repeatable read forbids, and forbids internal
// inconsistency which repeatable read does not name.
const (
	ReadUncommitted    Level = "read-uncommitted"
	ReadCommitted      Level = "read-committed"
	RepeatableRead     Level = "repeatable-read"
	SnapshotIsolation  Level = "snapshot-isolation"
	Serializable       Level = "serializable"
	StrictSerializable Level = "strict-serializable"
)

// Levels returns every level, weakest first.
func Levels() []Level {
	return []Level{ReadUncommitted, ReadCommitted, RepeatableRead, SnapshotIsolation, Serializable, StrictSerializable}
}

// ParseLevel reads a level name. It accepts the names above in any case,
// with spaces or underscores for hyphens ("REPEATABLE READ"), and the
// aliases strong-serializable, si and snapshot.
func ParseLevel(s string) (Level, error) {
	n := strings.ToLower(strings.TrimSpace(s))
	n = strings.NewReplacer(" ", "-", "_", "-").Replace(n)
	switch n {
	case "strong-serializable":
		return StrictSerializable, nil
	case "si", "snapshot":
		return SnapshotIsolation, nil
	}
	for _, l := range Levels() {
		if string(l) == n {
			return l, nil
		}
	}
	return "", fmt.Errorf("unknown isolation level %q (want one of %s)", excerpt.Value(s), levelList(Levels()))
}

// implies lists the levels a level directly implies: a history consistent
// with l is consistent with each of them.
func implies(l Level) []Level {
	switch l {
	case StrictSerializable:
		return []Level{Serializable}
	case Serializable:
		return []Level{RepeatableRead, SnapshotIsolation}
	case RepeatableRead, SnapshotIsolation:
		return []Level{ReadCommitted}
	case ReadCommitted:
		return []Level{ReadUncommitted}
	}
	return nil
}

// proscribes lists the anomalies a level forbids in addition to those
// the levels it implies forbid. This is the table the facts
// "consistent_with" and "violates" come from; it follows Elle's
// consistency-model table restricted to these six levels:
//
//	read-uncommitted     G0, duplicate-elements, garbage-read
//	read-committed       + G1a, G1b, G1c, incompatible-order, dirty-update, future-read
//	repeatable-read      + G-single, G-nonadjacent, G2-item, lost-update
//	snapshot-isolation   + G-single, G-nonadjacent, lost-update, internal   (not G2-item)
//	serializable         + everything the two above forbid
//	strict-serializable  + the -process and -realtime variant of every cycle
func proscribes(l Level) []string {
	switch l {
	case ReadUncommitted:
		return []string{G0, DuplicateElements, GarbageRead}
	case ReadCommitted:
		return []string{G1a, G1b, G1c, IncompatibleOrder, DirtyUpdate, FutureRead}
	case RepeatableRead:
		return []string{GSingle, GNonadjacent, G2Item, LostUpdate}
	case SnapshotIsolation:
		return []string{GSingle, GNonadjacent, LostUpdate, Internal}
	case StrictSerializable:
		var v []string
		for _, c := range []string{G0, G1c, GSingle, GNonadjacent, G2Item} {
			v = append(v, c+ProcessSuffix, c+RealtimeSuffix)
		}
		return v
	}
	return nil
}

// Forbids reports whether a history with an anomaly of the given kind
// violates level l.
func (l Level) Forbids(kind string) bool {
	if slices.Contains(proscribes(l), kind) {
		return true
	}
	for _, w := range implies(l) {
		if w.Forbids(kind) {
			return true
		}
	}
	return false
}

// Valid reports whether l is one of the six levels.
func (l Level) Valid() bool { return slices.Contains(Levels(), l) }

// stronger reports whether a implies b (a is at least as strong).
func stronger(a, b Level) bool {
	if a == b {
		return true
	}
	for _, w := range implies(a) {
		if stronger(w, b) {
			return true
		}
	}
	return false
}

// boundary works out, from the anomaly kinds found, the strongest levels
// the history is consistent with and the weakest it violates.
func boundary(kinds []string) (consistent, violated []Level) {
	var ok, bad []Level
	for _, l := range Levels() {
		if slices.ContainsFunc(kinds, l.Forbids) {
			bad = append(bad, l)
		} else {
			ok = append(ok, l)
		}
	}
	for _, l := range ok {
		if !slices.ContainsFunc(ok, func(m Level) bool { return m != l && stronger(m, l) }) {
			consistent = append(consistent, l)
		}
	}
	for _, l := range bad {
		if !slices.ContainsFunc(bad, func(m Level) bool { return m != l && stronger(l, m) }) {
			violated = append(violated, l)
		}
	}
	return consistent, violated
}

func levelList(ls []Level) string {
	s := make([]string, len(ls))
	for i, l := range ls {
		s[i] = string(l)
	}
	return strings.Join(s, ", ")
}
