package measure

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/internal/testenv"
)

// startHelper re-executes the test binary as TestHelperSocketPeer in the
// given role and returns the process and the first line it prints.
func startHelper(t *testing.T, role string, env ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperSocketPeer$")
	cmd.Env = append(append(os.Environ(), "FAULTLINE_TEST_SOCKET_ROLE="+role), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin = strings.NewReader("") // not used; helpers wait to be killed
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("%s helper: %v", role, err)
	}
	return cmd, strings.TrimSpace(line)
}

// TestSocketTrafficAttributesByProcess runs two real processes that talk
// over loopback the way engine members do (the client does not bind a
// source address, so it sends from 127.0.0.1), and checks that the bytes
// are attributed to the processes' nodes.
func TestSocketTrafficAttributesByProcess(t *testing.T) {
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		testenv.Missing(t, "proc", "no /proc")
	}
	server, addr := startHelper(t, "server")
	client, sent := startHelper(t, "client", "FAULTLINE_TEST_SOCKET_ADDR="+addr)
	payload, err := strconv.Atoi(sent)
	if err != nil {
		t.Fatalf("client said %q", sent)
	}
	st := NewSocketTraffic()
	owners := map[int]string{client.Process.Pid: "n1", server.Process.Pid: "n2"}
	// The server may still be draining its socket; the client's bytes
	// count once acknowledged.
	var tr Traffic
	deadline := time.Now().Add(10 * time.Second)
	for {
		tr, err = st.Read(owners)
		if err != nil {
			t.Fatal(err)
		}
		if tr[Link{"n1", "n2"}] >= int64(payload) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	sentBytes, back := tr[Link{"n1", "n2"}], tr[Link{"n2", "n1"}]
	t.Logf("n1→n2 %d bytes, n2→n1 %d bytes, for a %d-byte payload", sentBytes, back, payload)
	if sentBytes < int64(payload) || sentBytes > int64(payload)*11/10 {
		t.Errorf("n1→n2 = %d bytes, want the %d-byte payload plus headers", sentBytes, payload)
	}
	if back <= 0 || back > int64(payload)/10 {
		t.Errorf("n2→n1 = %d bytes, want some acknowledgements' headers", back)
	}
	// Closing the sockets must not make the totals fall.
	client.Process.Kill()
	client.Wait()
	after, err := st.Read(owners)
	if err != nil {
		t.Fatal(err)
	}
	if after[Link{"n1", "n2"}] < sentBytes {
		t.Errorf("total fell from %d to %d when the socket closed", sentBytes, after[Link{"n1", "n2"}])
	}
}

// TestHelperSocketPeer is not a test: TestSocketTrafficAttributesByProcess
// runs it as a server (prints its address, then reads forever) or a client
// (connects without binding, sends a payload, prints its size, then waits).
func TestHelperSocketPeer(t *testing.T) {
	switch os.Getenv("FAULTLINE_TEST_SOCKET_ROLE") {
	case "server":
		l, err := net.Listen("tcp", "127.0.0.3:0")
		if err != nil {
			t.Fatal(err)
		}
		fmt.Println(l.Addr())
		c, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, c)
		time.Sleep(time.Hour)
	case "client":
		c, err := net.Dial("tcp", os.Getenv("FAULTLINE_TEST_SOCKET_ADDR"))
		if err != nil {
			t.Fatal(err)
		}
		const n = 1 << 20
		if _, err := c.Write(make([]byte, n)); err != nil {
			t.Fatal(err)
		}
		fmt.Println(n)
		time.Sleep(time.Hour)
	default:
		// Run as a test, not as a helper process: nothing to do.
	}
}
