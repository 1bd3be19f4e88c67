package etcd

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/faultline-dev/faultline/engines"
)

// ErrNoLeader says that the members that answered agree there is no
// leader: an election is under way or quorum is lost.
var ErrNoLeader = errors.New("etcd: no member has a leader")

// statusTimeout bounds each member's answer, so that a dead or frozen
// member does not hold up a question about the others.
const statusTimeout = time.Second

// memberStatus is one member's answer to a status request.
type memberStatus struct {
	ep  engines.Endpoint
	id  uint64 // the member's own id
	res *clientv3.StatusResponse
	err error
}

// statusAll asks every endpoint for its status at once.
func statusAll(ctx context.Context, eps []engines.Endpoint) []memberStatus {
	out := make([]memberStatus, len(eps))
	var wg sync.WaitGroup
	for i, ep := range eps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = status(ctx, ep)
		}()
	}
	wg.Wait()
	return out
}

func status(ctx context.Context, ep engines.Endpoint) memberStatus {
	ctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	ms := memberStatus{ep: ep}
	c, err := newClient([]string{ep.Addr})
	if err != nil {
		ms.err = err
		return ms
	}
	defer c.Close()
	ms.res, ms.err = c.Status(ctx, ep.Addr)
	if ms.err == nil {
		ms.id = ms.res.Header.MemberId
	}
	return ms
}

// newClient is a client for the harness's own questions: no dial timeout
// (the first request connects), no logging, no endpoint sync (the caller
// chose the endpoints).
func newClient(endpoints []string) (*clientv3.Client, error) {
	return clientv3.New(clientv3.Config{
		Endpoints:          endpoints,
		Logger:             zap.NewNop(),
		DialKeepAliveTime:  2 * time.Second,
		MaxUnaryRetries:    1,
		BackoffWaitBetween: 10 * time.Millisecond,
	})
}

// leaderOf names the leader the statuses report: the one claimed in the
// highest raft term, since a member cut off from the others may still
// believe in an older leader. names maps member ids to node names for
// members that did not answer themselves.
func leaderOf(statuses []memberStatus, names map[uint64]string) (engines.Leadership, error) {
	var best *clientv3.StatusResponse
	var errs []string
	for _, s := range statuses {
		if s.err != nil {
			errs = append(errs, s.ep.Node+": "+s.err.Error())
			continue
		}
		if best == nil || s.res.RaftTerm > best.RaftTerm || (s.res.RaftTerm == best.RaftTerm && best.Leader == 0) {
			best = s.res
		}
	}
	if best == nil {
		return engines.Leadership{}, fmt.Errorf("etcd: no member answered: %s", strings.Join(errs, "; "))
	}
	if best.Leader == 0 {
		return engines.Leadership{Term: best.RaftTerm}, ErrNoLeader
	}
	name, ok := names[best.Leader]
	for _, s := range statuses {
		if s.err == nil && s.id == best.Leader {
			name, ok = s.ep.Node, true
		}
	}
	if !ok {
		return engines.Leadership{Term: best.RaftTerm}, fmt.Errorf("etcd: leader %x is not a known member", best.Leader)
	}
	return engines.Leadership{Node: name, Term: best.RaftTerm}, nil
}

// health checks that every member answers, that they agree on a leader,
// and that a linearizable read through all of them succeeds: the cluster
// can serve. It returns what is wrong, member by member.
func health(ctx context.Context, eps []engines.Endpoint) error {
	statuses := statusAll(ctx, eps)
	var problems []string
	leaders := map[uint64]bool{}
	for _, s := range statuses {
		switch {
		case s.err != nil:
			problems = append(problems, s.ep.Node+": "+s.err.Error())
		case s.res.Leader == 0:
			problems = append(problems, s.ep.Node+": no leader")
		case len(s.res.Errors) > 0:
			problems = append(problems, s.ep.Node+": "+strings.Join(s.res.Errors, ", "))
		default:
			leaders[s.res.Leader] = true
		}
	}
	if len(problems) == 0 && len(leaders) > 1 {
		problems = append(problems, fmt.Sprintf("members disagree on the leader (%d candidates)", len(leaders)))
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return errors.New(strings.Join(problems, "; "))
	}
	addrs := make([]string, len(eps))
	for i, ep := range eps {
		addrs[i] = ep.Addr
	}
	c, err := newClient(addrs)
	if err != nil {
		return err
	}
	defer c.Close()
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := c.Get(rctx, "faultline-health"); err != nil {
		return fmt.Errorf("linearizable read: %w", err)
	}
	return nil
}
