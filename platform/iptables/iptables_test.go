package iptables

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/faultline-dev/faultline/platform"
)

func TestSplit(t *testing.T) {
	for _, tt := range []struct {
		line string
		want []string
	}{
		{`-A INPUT -j FL-1-p3`, []string{"-A", "INPUT", "-j", "FL-1-p3"}},
		{`-A INPUT -m comment --comment "faultline c n1" -j FL-1-rl`, []string{"-A", "INPUT", "-m", "comment", "--comment", "faultline c n1", "-j", "FL-1-rl"}},
		{`-A X -m comment --comment "say \"hi\"" -j ACCEPT`, []string{"-A", "X", "-m", "comment", "--comment", `say "hi"`, "-j", "ACCEPT"}},
		{`  -A   Y  `, []string{"-A", "Y"}},
		{`-A Z -m comment --comment "" -j DROP`, []string{"-A", "Z", "-m", "comment", "--comment", "", "-j", "DROP"}},
	} {
		if got := Split(tt.line); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Split(%q) = %q, want %q", tt.line, got, tt.want)
		}
	}
}

const save = `-P INPUT ACCEPT
-N FL-aa-rl
-N FL-aa-p1
-N KUBE-SERVICES
-A INPUT -m comment --comment "faultline region latency" -j FL-aa-rl
-A INPUT -j KUBE-SERVICES
-A FORWARD -j FL-aa-p1
-A FL-aa-rl -s 10.0.0.1/32 -j NFQUEUE --queue-num 3
-A FL-aa-p1 -j FL-aa-rl
`

func TestRemoval(t *testing.T) {
	owned := func(ch string) bool { return strings.HasPrefix(ch, Prefix) }
	cmds, chains := Removal("security", save, owned)
	if !reflect.DeepEqual(chains, []string{"FL-aa-rl", "FL-aa-p1"}) {
		t.Errorf("chains = %q", chains)
	}
	want := [][]string{
		Argv("security", "-D", "INPUT", "-m", "comment", "--comment", "faultline region latency", "-j", "FL-aa-rl"),
		Argv("security", "-D", "FORWARD", "-j", "FL-aa-p1"),
		Argv("security", "-F", "FL-aa-rl"), Argv("security", "-X", "FL-aa-rl"),
		Argv("security", "-F", "FL-aa-p1"), Argv("security", "-X", "FL-aa-p1"),
	}
	if !reflect.DeepEqual(cmds, want) {
		t.Errorf("cmds =\n%q\nwant\n%q", cmds, want)
	}
}

// A chain another heal removed in the meantime is not an error; any other
// failure is.
func TestRemoveOwnedToleratesWhatIsGone(t *testing.T) {
	gone := &platform.CommandError{Argv: []string{"iptables"}, Output: []byte("iptables v1.8.9 (nf_tables): Chain 'FL-aa-rl' does not exist"), Err: errExit}
	broken := &platform.CommandError{Argv: []string{"iptables"}, Output: []byte("iptables: Permission denied"), Err: errExit}
	for _, tt := range []struct {
		name    string
		fail    error
		wantErr bool
	}{
		{"gone", gone, false},
		{"other", broken, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var ran [][]string
			run := func(ctx context.Context, argv ...string) ([]byte, error) {
				ran = append(ran, argv)
				if argv[len(argv)-1] == "-S" {
					return []byte(save), nil
				}
				if argv[5] == "-X" {
					return nil, tt.fail
				}
				return nil, nil
			}
			var w strings.Builder
			err := RemoveOwned(context.Background(), run, func(ch string) bool { return strings.HasPrefix(ch, Prefix) }, " on n1", &w)
			if (err != nil) != tt.wantErr {
				t.Errorf("err = %v, want error %v", err, tt.wantErr)
			}
			if !tt.wantErr && !strings.Contains(w.String(), "removed iptables chain filter/FL-aa-rl on n1") {
				t.Errorf("log: %s", w.String())
			}
		})
	}
}

type exitErr struct{}

func (exitErr) Error() string { return "exit status 1" }

var errExit = exitErr{}
