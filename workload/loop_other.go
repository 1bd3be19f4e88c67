//go:build !linux

package workload

import (
	"context"
	"errors"
	"time"
)

// loop is Linux's (epoll); elsewhere the driver runs a goroutine per
// worker.
type loop struct{}

type coworker struct{}

func newLoop() (*loop, error) { return nil, errors.ErrUnsupported }

func (l *loop) close()                                               {}
func (l *loop) run(context.Context, []func(*coworker))               {}
func (cw *coworker) Wait(int, bool, time.Time) bool                  { return true }
func (cw *coworker) Closing(int)                                     {}
func (cw *coworker) Do(f func())                                     { f() }
func (cw *coworker) Sleep(d time.Duration)                           { time.Sleep(d) }
func (cw *coworker) sleep(ctx context.Context, d time.Duration) bool { return ctx.Err() == nil }
