package elle

import (
	"strings"
	"testing"
)

func TestBoundary(t *testing.T) {
	tests := []struct {
		kinds                []string
		consistent, violates string
	}{
		{nil, "strict-serializable", ""},
		{[]string{GSingle + RealtimeSuffix}, "serializable", "strict-serializable"},
		{[]string{G0 + ProcessSuffix}, "serializable", "strict-serializable"},
		{[]string{G2Item}, "snapshot-isolation", "repeatable-read"},
		{[]string{Internal}, "repeatable-read", "snapshot-isolation"},
		{[]string{G2Item, Internal}, "read-committed", "repeatable-read, snapshot-isolation"},
		{[]string{GSingle}, "read-committed", "repeatable-read, snapshot-isolation"},
		{[]string{GNonadjacent}, "read-committed", "repeatable-read, snapshot-isolation"},
		{[]string{LostUpdate}, "read-committed", "repeatable-read, snapshot-isolation"},
		{[]string{G1a}, "read-uncommitted", "read-committed"},
		{[]string{G1b, G2Item}, "read-uncommitted", "read-committed"},
		{[]string{G1c}, "read-uncommitted", "read-committed"},
		{[]string{IncompatibleOrder}, "read-uncommitted", "read-committed"},
		{[]string{DirtyUpdate}, "read-uncommitted", "read-committed"},
		{[]string{FutureRead}, "read-uncommitted", "read-committed"},
		{[]string{G0}, "", "read-uncommitted"},
		{[]string{DuplicateElements}, "", "read-uncommitted"},
		{[]string{GarbageRead, GSingle}, "", "read-uncommitted"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.kinds, "+"), func(t *testing.T) {
			c, v := boundary(tt.kinds)
			if levelList(c) != tt.consistent || levelList(v) != tt.violates {
				t.Errorf("boundary(%v) = %q, %q; want %q, %q", tt.kinds, levelList(c), levelList(v), tt.consistent, tt.violates)
			}
		})
	}
}

func TestForbidsIsMonotone(t *testing.T) {
	kinds := []string{G0, G1a, G1b, G1c, GSingle, GNonadjacent, G2Item, LostUpdate, DirtyUpdate, Internal,
		FutureRead, IncompatibleOrder, DuplicateElements, GarbageRead, G2Item + ProcessSuffix, G1c + RealtimeSuffix}
	for _, strong := range Levels() {
		for _, weak := range Levels() {
			if !stronger(strong, weak) {
				continue
			}
			for _, k := range kinds {
				if weak.Forbids(k) && !strong.Forbids(k) {
					t.Errorf("%s forbids %s but the stronger %s does not", weak, k, strong)
				}
			}
		}
	}
	for _, k := range kinds {
		if !StrictSerializable.Forbids(k) {
			t.Errorf("strict-serializable allows %s", k)
		}
	}
	if SnapshotIsolation.Forbids(G2Item) || !RepeatableRead.Forbids(G2Item) {
		t.Error("snapshot isolation must allow write skew (G2-item), repeatable read forbid it")
	}
}

func TestParseLevel(t *testing.T) {
	tests := []struct {
		in   string
		want Level
		err  bool
	}{
		{in: "serializable", want: Serializable},
		{in: "SERIALIZABLE", want: Serializable},
		{in: "REPEATABLE READ", want: RepeatableRead},
		{in: "read_committed", want: ReadCommitted},
		{in: "Snapshot Isolation", want: SnapshotIsolation},
		{in: "si", want: SnapshotIsolation},
		{in: "strong-serializable", want: StrictSerializable},
		{in: " strict-serializable ", want: StrictSerializable},
		{in: "linearizable", err: true},
		{in: "", err: true},
	}
	for _, tt := range tests {
		got, err := ParseLevel(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseLevel(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}
