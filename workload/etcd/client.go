// Package etcd is the etcd client of the register and ledger workloads:
// reads, writes and compare-and-sets of integer registers, and inserts of
// unique ledger keys, through clientv3, with every outcome classified as
// ok, fail (certainly did not happen) or info (may have happened).
package etcd

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"

	"github.com/faultline-dev/faultline/engines"
	"github.com/faultline-dev/faultline/workload"
)

// DefaultPrefix is the key prefix when Options names none.
const DefaultPrefix = "/faultline/"

// Options configure the clients an Opener opens.
type Options struct {
	// Endpoints are the engine's client endpoints.
	Endpoints []engines.Endpoint
	// Prefix goes before every key, so that runs sharing a cluster do not
	// see each other's keys; empty is DefaultPrefix. Registers live under
	// PREFIX/reg/ and ledger entries under PREFIX/ledger/.
	Prefix string
	// Serializable makes register reads serializable: the member the
	// client talks to answers from its own state without asking the
	// leader, so reads may be stale. The final ledger read is always
	// linearizable, because RPO is measured against the committed state.
	Serializable bool
	// Pinned makes worker w talk only to endpoint w mod n instead of
	// balancing over every endpoint: with Serializable, the negative
	// control that reads from a member cut off by a partition.
	Pinned bool
	// RequireLeader makes a member without a leader refuse requests at
	// once ("etcdserver: no leader", a definite failure) rather than hold
	// them until they time out.
	RequireLeader bool
}

// Opener opens the clients of a workload run; its Open method is a
// workload.Opener.
type Opener struct {
	opts  Options
	names *memberNames
}

// NewOpener checks the options and returns an Opener.
func NewOpener(opts Options) (*Opener, error) {
	if len(opts.Endpoints) == 0 {
		return nil, errors.New("etcd client: no endpoints")
	}
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if !strings.HasSuffix(opts.Prefix, "/") {
		opts.Prefix += "/"
	}
	return &Opener{opts: opts, names: &memberNames{ids: map[uint64]string{}}}, nil
}

// Open implements workload.Opener. Connecting is lazy: an unreachable
// member shows up as failed operations in the history, not as an error
// here.
func (o *Opener) Open(ctx context.Context, worker int) (workload.Client, error) {
	eps := o.opts.Endpoints
	node := ""
	if o.opts.Pinned {
		ep := eps[worker%len(eps)]
		eps, node = []engines.Endpoint{ep}, ep.Node
	}
	addrs := make([]string, len(eps))
	for i, ep := range eps {
		addrs[i] = ep.Addr
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:            addrs,
		Logger:               zap.NewNop(),
		DialKeepAliveTime:    2 * time.Second,
		DialKeepAliveTimeout: 2 * time.Second,
		DialOptions: []grpc.DialOption{
			// Reconnect to a restarted member within a second, not
			// after gRPC's default backoff of up to two minutes, so
			// that recovery times measure etcd and not the client.
			grpc.WithConnectParams(grpc.ConnectParams{
				Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
				MinConnectTimeout: time.Second,
			}),
		},
	})
	if err != nil {
		return nil, fmt.Errorf("etcd client: %w", err)
	}
	return &Client{cli: cli, opts: o.opts, node: node, names: o.names}, nil
}

// Client performs register and ledger operations for one worker. It
// implements workload.Client.
type Client struct {
	cli   *clientv3.Client
	opts  Options
	node  string // the pinned endpoint's node, if pinned
	names *memberNames
}

// Close implements workload.Client.
func (c *Client) Close() error { return c.cli.Close() }

// Invoke implements workload.Client.
func (c *Client) Invoke(ctx context.Context, op workload.Op) workload.Op {
	if c.opts.RequireLeader {
		ctx = clientv3.WithRequireLeader(ctx)
	}
	switch op.F {
	case workload.FRead:
		return c.read(ctx, op)
	case workload.FWrite:
		return c.write(ctx, op)
	case workload.FCAS:
		return c.cas(ctx, op)
	case workload.FLedgerAdd:
		return c.ledgerAdd(ctx, op)
	case workload.FLedgerRead:
		return c.ledgerRead(ctx, op)
	}
	op.Type, op.Error = workload.Fail, fmt.Sprintf("etcd client: unsupported function %q", op.F)
	return op
}

func (c *Client) registerKey(k string) string { return c.opts.Prefix + "reg/" + k }
func (c *Client) ledgerPrefix() string        { return c.opts.Prefix + "ledger/" }

func (c *Client) read(ctx context.Context, op workload.Op) workload.Op {
	var opts []clientv3.OpOption
	if c.opts.Serializable {
		opts = append(opts, clientv3.WithSerializable())
	}
	r, err := c.cli.Get(ctx, c.registerKey(op.Key), opts...)
	if err != nil {
		// A read changes nothing, so a failed one certainly did not
		// happen, whatever the error.
		return failed(op, workload.Fail, err)
	}
	op.Node = c.served(ctx, r.Header.MemberId)
	op.Value = nil
	if len(r.Kvs) > 0 {
		v, err := strconv.ParseInt(string(r.Kvs[0].Value), 10, 64)
		if err != nil {
			return failed(op, workload.Fail, fmt.Errorf("register %s holds %q, not an integer", op.Key, r.Kvs[0].Value))
		}
		op.Value = &v
	}
	op.Type = workload.OK
	return op
}

func (c *Client) write(ctx context.Context, op workload.Op) workload.Op {
	if op.Value == nil {
		return failed(op, workload.Fail, errors.New("write without a value"))
	}
	r, err := c.cli.Put(ctx, c.registerKey(op.Key), strconv.FormatInt(*op.Value, 10))
	if err != nil {
		return failed(op, writeOutcome(err), err)
	}
	op.Node = c.served(ctx, r.Header.MemberId)
	op.Type = workload.OK
	return op
}

// cas sets the register to Value if it holds Prev: one transaction that
// compares and puts. A register that is absent holds no value, so a cas
// on it fails its precondition.
func (c *Client) cas(ctx context.Context, op workload.Op) workload.Op {
	if op.Value == nil || op.Prev == nil {
		return failed(op, workload.Fail, errors.New("cas without a value and a previous value"))
	}
	key := c.registerKey(op.Key)
	r, err := c.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.Value(key), "=", strconv.FormatInt(*op.Prev, 10))).
		Then(clientv3.OpPut(key, strconv.FormatInt(*op.Value, 10))).
		Commit()
	if err != nil {
		return failed(op, writeOutcome(err), err)
	}
	op.Node = c.served(ctx, r.Header.MemberId)
	if !r.Succeeded {
		op.Type, op.Error = workload.Fail, workload.ErrPrecondition
		return op
	}
	op.Type = workload.OK
	return op
}

// ledgerAdd inserts the op's unique key; an acknowledgement means the
// insert was committed by a quorum.
func (c *Client) ledgerAdd(ctx context.Context, op workload.Op) workload.Op {
	if op.Key == "" {
		return failed(op, workload.Fail, errors.New("ledger-add without a key"))
	}
	r, err := c.cli.Put(ctx, c.ledgerPrefix()+op.Key, op.Key)
	if err != nil {
		return failed(op, writeOutcome(err), err)
	}
	op.Node = c.served(ctx, r.Header.MemberId)
	op.Type = workload.OK
	return op
}

// ledgerRead reads every ledger key, linearizably whatever the options
// say: it is the final state acknowledged inserts are checked against.
func (c *Client) ledgerRead(ctx context.Context, op workload.Op) workload.Op {
	prefix := c.ledgerPrefix()
	r, err := c.cli.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return failed(op, workload.Fail, err)
	}
	op.Node = c.served(ctx, r.Header.MemberId)
	op.Keys = make([]string, 0, len(r.Kvs))
	for _, kv := range r.Kvs {
		op.Keys = append(op.Keys, strings.TrimPrefix(string(kv.Key), prefix))
	}
	op.Type = workload.OK
	return op
}

func failed(op workload.Op, t workload.Type, err error) workload.Op {
	op.Type, op.Error = t, err.Error()
	return op
}

// served names the node whose member answered: the member id in the
// response header, which the member that received the request fills in.
func (c *Client) served(ctx context.Context, id uint64) string {
	if c.node != "" {
		return c.node
	}
	return c.names.lookup(ctx, c.cli, id)
}

// memberNames maps member ids to member names (the node names, as the
// etcd engine names members), shared by the clients of one Opener.
type memberNames struct {
	mu  sync.Mutex
	ids map[uint64]string
}

// lookup returns the name of member id, asking the cluster (without
// quorum, from the local member's view) the first time it meets an id.
func (m *memberNames) lookup(ctx context.Context, cli *clientv3.Client, id uint64) string {
	m.mu.Lock()
	name, ok := m.ids[id]
	m.mu.Unlock()
	if ok || id == 0 {
		return name
	}
	lctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	r, err := cli.MemberList(lctx, clientv3.WithSerializable())
	if err != nil {
		return ""
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, mem := range r.Members {
		m.ids[mem.ID] = mem.Name
	}
	if _, ok := m.ids[id]; !ok {
		m.ids[id] = "" // not a member we can name; do not ask again
	}
	return m.ids[id]
}
