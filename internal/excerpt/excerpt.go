// Package excerpt shortens values a user gave before an error message
// echoes them: a message quotes at most a short prefix of a bad value and
// says how long it was, so that a 4 MB scalar gives a one-line error.
package excerpt

import (
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Max is how many bytes of a value an error quotes.
const Max = 60

// Quote returns s quoted as %q does when it is at most Max bytes, and
// otherwise its first Max bytes (cut at a character boundary) quoted,
// followed by …(N bytes).
func Quote(s string) string {
	if len(s) <= Max {
		return strconv.Quote(s)
	}
	cut := Max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s…(%d bytes)", strconv.Quote(s[:cut]), len(s))
}

// Value is a user-given value for a format string: %q and %v print it as
// Quote does, %s prints the same without quotes.
type Value string

// Format implements fmt.Formatter.
func (v Value) Format(f fmt.State, verb rune) {
	s := string(v)
	if verb == 's' {
		if len(s) > Max {
			cut := Max
			for cut > 0 && !utf8.RuneStart(s[cut]) {
				cut--
			}
			s = fmt.Sprintf("%s…(%d bytes)", s[:cut], len(s))
		}
		fmt.Fprint(f, s)
		return
	}
	fmt.Fprint(f, Quote(s))
}
