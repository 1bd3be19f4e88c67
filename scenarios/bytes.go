package scenarios

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/faultline-dev/faultline/internal/excerpt"
)

// Bytes is a size in bytes, written as Kubernetes writes quantities:
// 268435456, 256Mi, 1Gi, 500M.
type Bytes int64

// UnmarshalText parses a size.
func (b *Bytes) UnmarshalText(text []byte) error {
	q, err := resource.ParseQuantity(strings.TrimSpace(string(text)))
	if err != nil || q.Sign() < 0 {
		return fmt.Errorf("want a size such as 256Mi or 1Gi, got %q", excerpt.Value(text))
	}
	*b = Bytes(q.Value())
	return nil
}

// MarshalText writes the size as a quantity.
func (b Bytes) MarshalText() ([]byte, error) { return []byte(b.String()), nil }

// String writes the size as a quantity (256Mi).
func (b Bytes) String() string {
	return resource.NewQuantity(int64(b), resource.BinarySI).String()
}
