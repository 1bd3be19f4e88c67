package faults

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// lockHost takes the host-wide shaping lock, which serializes the steps
// that read shared state and then change it: choosing a delayer's mark
// bit, choosing a tc class id, adding or removing a root qdisc. Faults
// of one run start at the same instant, and several faultline processes
// may shape the host's loopback at once. An flock is released by the
// kernel if its holder dies, so a crash never leaves it held.
func lockHost(ctx context.Context) (unlock func(), err error) {
	path := filepath.Join(os.TempDir(), "faultline-shaping.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("shaping lock: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("shaping lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("shaping lock %s: %w", path, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}
