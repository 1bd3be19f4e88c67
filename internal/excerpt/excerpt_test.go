package excerpt

import (
	"fmt"
	"strings"
	"testing"
)

func TestQuote(t *testing.T) {
	long := strings.Repeat("ab", 2_000_000)
	for _, tt := range []struct{ in, want string }{
		{"", `""`},
		{"zone:a", `"zone:a"`},
		{strings.Repeat("x", 60), `"` + strings.Repeat("x", 60) + `"`},
		{strings.Repeat("x", 61), `"` + strings.Repeat("x", 60) + `"…(61 bytes)`},
		{long, `"` + long[:60] + `"…(4000000 bytes)`},
		{strings.Repeat("é", 40), `"` + strings.Repeat("é", 30) + `"…(80 bytes)`},
	} {
		if got := Quote(tt.in); got != tt.want {
			t.Errorf("Quote(%d bytes) = %s, want %s", len(tt.in), got, tt.want)
		}
	}
}

func TestValue(t *testing.T) {
	long := Value(strings.Repeat("y", 100))
	if got := fmt.Sprintf("%q", long); got != `"`+strings.Repeat("y", 60)+`"…(100 bytes)` {
		t.Errorf("%%q = %s", got)
	}
	if got := fmt.Sprintf("%s", long); got != strings.Repeat("y", 60)+"…(100 bytes)" {
		t.Errorf("%%s = %s", got)
	}
	if got := fmt.Sprintf("%v", Value("a")); got != `"a"` {
		t.Errorf("%%v = %s", got)
	}
}
