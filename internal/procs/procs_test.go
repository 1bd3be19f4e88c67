package procs

import (
	"os"
	"os/exec"
	"testing"
)

func TestParseParent(t *testing.T) {
	tests := []struct {
		name, stat string
		want       int
		ok         bool
	}{
		{"plain", "42 (sleep) S 7 42 42 0", 7, true},
		{"spaces and parentheses in the command", "42 (a (b) c) R 99 1 1", 99, true},
		{"truncated", "42 (x) S", 0, false},
		{"no command", "garbage", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseParent([]byte(tt.stat))
			if got != tt.want || ok != tt.ok {
				t.Errorf("parseParent = %d, %v; want %d, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestPick(t *testing.T) {
	env := []byte("PATH=/bin\x00FAULTLINE_X=1\x00FAULTLINE_Y=a=b\x00NOEQUALS\x00")
	got := pick(env, []string{"FAULTLINE_X", "FAULTLINE_Y", "FAULTLINE_Z"})
	if len(got) != 2 || got["FAULTLINE_X"] != "1" || got["FAULTLINE_Y"] != "a=b" {
		t.Errorf("pick = %v", got)
	}
	if pick(env, []string{"NOEQUALS"}) != nil {
		t.Error("a variable without = matched")
	}
}

// A child started with a mark is found, with this process as its parent,
// and is gone once killed and reaped.
func TestWithEnvFindsAMarkedChild(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	cmd.Env = append(os.Environ(), "FAULTLINE_PROCS_TEST=yes")
	if err := cmd.Start(); err != nil {
		t.Skipf("cannot start sleep: %v", err)
	}
	pid := cmd.Process.Pid
	found := false
	for _, p := range WithEnv("FAULTLINE_PROCS_TEST") {
		if p.PID == pid && p.Env["FAULTLINE_PROCS_TEST"] == "yes" {
			found = true
		}
	}
	if !found {
		t.Errorf("WithEnv did not find the marked child %d", pid)
	}
	if ppid, ok := Parent(pid); !ok || ppid != os.Getpid() {
		t.Errorf("Parent = %d, %v; want %d", ppid, ok, os.Getpid())
	}
	if !Alive(pid) {
		t.Error("Alive = false for a running child")
	}
	cmd.Process.Kill()
	cmd.Wait()
	if Alive(pid) {
		t.Error("Alive = true after the child was reaped")
	}
}
