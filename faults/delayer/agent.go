package delayer

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"
)

// AgentName is the agent name under which binaries register Agent.
const AgentName = "delayer"

// Agent runs a Delayer as a helper process (see internal/agent). Its
// flags are Config's fields:
//
//	--queue N --delay D --jitter D --seed N --mark 0xBITS --max-len N
//	--netns PATH --parent PID
//
// Once its queue is bound it prints "queue N" on stdout, for the parent
// to install the rules that feed it; when it ends (SIGTERM, or its parent
// PID is no longer its parent) it releases what it holds and prints
// "stats {json}" (Stats).
func Agent(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet(AgentName, flag.ContinueOnError)
	var cfg Config
	queue := fs.Uint("queue", 1000, "first queue number to try")
	fs.DurationVar(&cfg.Delay, "delay", 0, "delay of each packet")
	fs.DurationVar(&cfg.Jitter, "jitter", 0, "jitter: delays are uniform in [delay-jitter, delay+jitter]")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed of the jitter")
	mark := fs.String("mark", "0", "bit set on released packets, which are repeated through their hook (0: accept them)")
	maxLen := fs.Uint("max-len", 16384, "packets held at most; past it, packets pass undelayed")
	fs.StringVar(&cfg.NetNS, "netns", "", "network namespace to work in (path)")
	parent := fs.Int("parent", 0, "exit when this process is no longer the parent")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *queue > 0xffff {
		return fmt.Errorf("--queue %d: queue numbers go up to 65535", *queue)
	}
	m, err := strconv.ParseUint(*mark, 0, 32)
	if err != nil {
		return fmt.Errorf("--mark %q: %w", *mark, err)
	}
	cfg.Queue, cfg.Mark, cfg.MaxLen = uint16(*queue), uint32(m), uint32(*maxLen)

	d, err := Open(cfg)
	if err != nil {
		return err
	}
	fmt.Printf("queue %d\n", d.Queue())
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if *parent > 0 {
		go watchParent(ctx, *parent, cancel)
	}
	err = d.Run(ctx)
	b, _ := json.Marshal(d.Stats())
	fmt.Printf("stats %s\n", b)
	return err
}

// watchParent cancels when the process is orphaned: a delayer must not
// outlive the faultline process whose rules feed it.
func watchParent(ctx context.Context, parent int, cancel func()) {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		if os.Getppid() != parent {
			cancel()
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
