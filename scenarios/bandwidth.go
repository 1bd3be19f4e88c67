package scenarios

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/faultline-dev/faultline/internal/excerpt"
)

// Bandwidth is a rate in bits per second, written with an optional unit as
// tc writes them: 800, 500kbit, 10mbit, 1gbit (decimal multiples).
type Bandwidth int64

var bandwidthUnits = []struct {
	suffix string
	mult   int64
}{
	{"gbit", 1e9}, {"mbit", 1e6}, {"kbit", 1e3}, {"bit", 1},
}

// UnmarshalText parses a rate.
func (b *Bandwidth) UnmarshalText(text []byte) error {
	s := strings.ToLower(strings.TrimSpace(string(text)))
	mult := int64(1)
	for _, u := range bandwidthUnits {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 {
		return fmt.Errorf("want a rate such as 10mbit, 500kbit or 1gbit, got %q", excerpt.Value(text))
	}
	*b = Bandwidth(f * float64(mult))
	return nil
}

// MarshalText writes the rate in the largest whole unit.
func (b Bandwidth) MarshalText() ([]byte, error) { return []byte(b.String()), nil }

// String writes the rate in the largest whole unit.
func (b Bandwidth) String() string {
	for _, u := range bandwidthUnits {
		if int64(b) >= u.mult && int64(b)%u.mult == 0 {
			return fmt.Sprintf("%d%s", int64(b)/u.mult, u.suffix)
		}
	}
	return fmt.Sprintf("%dbit", int64(b))
}
