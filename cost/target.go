package cost

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/faultline-dev/faultline/internal/excerpt"
)

// Target is the workload to price: what the team expects to run.
type Target struct {
	// QPS is operations per second, steady.
	QPS float64 `json:"qps"`
	// DataBytes is the logical data size (what the application stored,
	// before the engine's overhead and replication).
	DataBytes float64 `json:"data_bytes"`
	// ReadFraction is the share of operations that read; negative means
	// "as measured".
	ReadFraction float64 `json:"read_fraction"`
	// RowBytes is the typical row (or value) size, for billing units that
	// count bytes (CockroachDB's request units).
	RowBytes float64 `json:"row_bytes"`
	// EgressBytes is data sent to clients outside the cloud each month.
	EgressBytes float64 `json:"egress_bytes_per_month"`
}

// TargetKeys are the keys --target accepts, in the order help lists them.
func TargetKeys() []string { return []string{"qps", "data", "reads", "row", "egress"} }

// DefaultTarget is the seed document's workload: 10,000 operations per
// second over 100 GiB, with the run's read share, 1 KiB rows and no
// internet egress.
func DefaultTarget() Target {
	return Target{QPS: 10000, DataBytes: 100 << 30, ReadFraction: -1, RowBytes: 1024}
}

// ParseTarget reads "qps=10000,data=100GiB,reads=0.8,row=1KiB,egress=50GB"
// over DefaultTarget. Every problem is reported at once, each naming the
// key.
func ParseTarget(s string) (Target, error) {
	t := DefaultTarget()
	var errs []string
	for _, kv := range strings.Split(s, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok {
			errs = append(errs, fmt.Sprintf("%q: want key=value", excerpt.Value(kv)))
			continue
		}
		var err error
		switch k {
		case "qps":
			t.QPS, err = parsePositive(v)
		case "data":
			t.DataBytes, err = ParseBytes(v)
		case "reads":
			t.ReadFraction, err = strconv.ParseFloat(v, 64)
			if err == nil && (t.ReadFraction < 0 || t.ReadFraction > 1) {
				err = fmt.Errorf("%v is not a fraction between 0 and 1", t.ReadFraction)
			}
		case "row":
			t.RowBytes, err = ParseBytes(v)
		case "egress":
			t.EgressBytes, err = ParseBytes(v)
		default:
			errs = append(errs, fmt.Sprintf("unknown key %q (want %s)", excerpt.Value(k), strings.Join(TargetKeys(), ", ")))
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", k, err))
		}
	}
	if len(errs) > 0 {
		return t, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return t, nil
}

func parsePositive(v string) (float64, error) {
	f, err := strconv.ParseFloat(strings.ReplaceAll(v, "_", ""), 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", excerpt.Value(v))
	}
	if f <= 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, fmt.Errorf("%v must be positive", f)
	}
	return f, nil
}

// unitBytes is the size of a unit: decimal for B/KB/MB/GB/TB, binary for
// KiB/MiB/GiB/TiB, as clouds bill in GB and engines count in GiB.
func unitBytes(u string) (float64, bool) {
	switch strings.ToLower(u) {
	case "b":
		return 1, true
	case "kb":
		return 1e3, true
	case "mb":
		return 1e6, true
	case "gb":
		return 1e9, true
	case "tb":
		return 1e12, true
	case "kib":
		return 1 << 10, true
	case "mib":
		return 1 << 20, true
	case "gib":
		return 1 << 30, true
	case "tib":
		return 1 << 40, true
	}
	return 0, false
}

// ParseBytes reads a size such as "100GiB", "1.5TB" or "512" (bytes).
func ParseBytes(v string) (float64, error) {
	s := strings.TrimSpace(v)
	i := len(s)
	for i > 0 && (s[i-1] < '0' || s[i-1] > '9') && s[i-1] != '.' {
		i--
	}
	num, unit := s[:i], strings.TrimSpace(s[i:])
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a size (like 100GiB)", excerpt.Value(v))
	}
	mult := 1.0
	if unit != "" {
		m, ok := unitBytes(unit)
		if !ok {
			return 0, fmt.Errorf("%q: unknown unit %q (want B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)", excerpt.Value(v), excerpt.Value(unit))
		}
		mult = m
	}
	if f < 0 {
		return 0, fmt.Errorf("%q is negative", excerpt.Value(v))
	}
	return f * mult, nil
}

// String renders the target the way --target takes it.
func (t Target) String() string {
	s := fmt.Sprintf("qps=%s,data=%s", trimFloat(t.QPS), FormatBytes(t.DataBytes))
	if t.ReadFraction >= 0 {
		s += ",reads=" + trimFloat(t.ReadFraction)
	}
	s += ",row=" + FormatBytes(t.RowBytes)
	if t.EgressBytes > 0 {
		s += ",egress=" + FormatBytes(t.EgressBytes)
	}
	return s
}

// FormatBytes renders a size in binary units, short.
func FormatBytes(b float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}
	i := 0
	for b >= 1024 && i < len(units)-1 {
		b /= 1024
		i++
	}
	if b == math.Trunc(b) {
		return fmt.Sprintf("%.0f%s", b, units[i])
	}
	return fmt.Sprintf("%.3g%s", b, units[i])
}
