package local

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"strings"
	"time"
)

// ProbeAgentName is the agent name under which binaries register
// ProbeAgent.
const ProbeAgentName = "probe"

// ProbeAgent is a tiny TCP service that tells whether one node can reach
// another, and with which source address its packets arrive: the evidence
// that source-address rewriting and partitions work on this host. It
// listens on --listen and answers one line per connection:
//
//	ping            → pong
//	whoami          → the caller's address as this node sees it
//	dial HOST:PORT  → ok ADDR (ADDR: this node as HOST:PORT saw it) or error MSG
//
// Run it as a process's Agent; see Probe for the client.
func ProbeAgent(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("probe", flag.ContinueOnError)
	listen := fs.String("listen", "", "address to listen on (host:port)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *listen == "" {
		return errors.New("probe: --listen is required")
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("probe: %w", err)
		}
		go answer(conn)
	}
}

func answer(conn net.Conn) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return
	}
	verb, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
	switch verb {
	case "ping":
		fmt.Fprintln(conn, "pong")
	case "whoami":
		fmt.Fprintln(conn, conn.RemoteAddr())
	case "dial":
		seen, err := ask(context.Background(), arg, "whoami", time.Second)
		if err != nil {
			fmt.Fprintln(conn, "error", err)
			return
		}
		fmt.Fprintln(conn, "ok", seen)
	default:
		fmt.Fprintf(conn, "error unknown request %q\n", verb)
	}
}

// ask sends one request line to a probe agent and returns its answer.
func ask(ctx context.Context, addr, req string, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	if _, err := fmt.Fprintln(conn, req); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(line), nil
}

// Probe asks the probe agent at from (host:port) to connect to the probe
// agent at to, and returns the source address to saw the connection come
// from. An error says from could not be asked, or could not reach to.
func Probe(ctx context.Context, from, to string) (string, error) {
	resp, err := ask(ctx, from, "dial "+to, 3*time.Second)
	if err != nil {
		return "", fmt.Errorf("probe %s: %w", from, err)
	}
	status, rest, _ := strings.Cut(resp, " ")
	if status != "ok" {
		return "", fmt.Errorf("probe %s → %s: %s", from, to, rest)
	}
	host, _, err := net.SplitHostPort(rest)
	if err != nil {
		return "", fmt.Errorf("probe %s → %s: bad answer %q", from, to, resp)
	}
	return host, nil
}

// Ping checks that the probe agent at addr answers.
func Ping(ctx context.Context, addr string) error {
	resp, err := ask(ctx, addr, "ping", time.Second)
	if err != nil {
		return err
	}
	if resp != "pong" {
		return fmt.Errorf("probe %s: unexpected answer %q", addr, resp)
	}
	return nil
}
