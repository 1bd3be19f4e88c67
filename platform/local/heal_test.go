package local

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/internal/agent"
)

// A harness that dies leaves chains and a directory; its node processes
// die with it (Pdeathsig); Heal removes the rest.
func TestHealAfterCrash(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	owner := exec.Command(exe)
	owner.Env = append(os.Environ(), agent.Command("crash-owner"))
	stdout, _ := owner.StdoutPipe()
	owner.Stderr = os.Stderr
	if err := owner.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		owner.Process.Kill()
		owner.Wait()
		t.Fatalf("crash-owner printed no cluster id: %v", err)
	}
	id := strings.TrimSpace(line)
	rec, ok := readRecord(id)
	if !ok {
		t.Fatalf("no registry record for cluster %s", id)
	}
	var mine = func(x string) bool { return x == id }

	var out bytes.Buffer
	if err := heal(ctx, &out, mine); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "is alive") {
		t.Errorf("heal touched a live cluster:\n%s", out.String())
	}

	owner.Process.Kill() // the crash
	owner.Wait()
	waitFor(t, ctx, "node processes to die with their owner", func() bool {
		for _, p := range nodeProcesses() {
			if p.id == id {
				return false
			}
		}
		return true
	})
	if os.Geteuid() == 0 && len(ownChains(t, id)) == 0 {
		t.Fatal("the crash left no chain: the test proves nothing")
	}
	out.Reset()
	if err := heal(ctx, &out, mine); err != nil {
		t.Fatal(err)
	}
	t.Logf("heal:\n%s", out.String())
	if chains := ownChains(t, id); len(chains) > 0 {
		t.Errorf("chains survived heal: %v", chains)
	}
	if _, err := os.Stat(rec.Dir); !os.IsNotExist(err) {
		t.Errorf("dir %s survived heal", rec.Dir)
	}
	out.Reset()
	if err := heal(ctx, &out, mine); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "nothing to heal") {
		t.Errorf("second heal:\n%s", out.String())
	}
}
