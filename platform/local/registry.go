package local

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"
)

// maxNodes is the number of node addresses in one /24 block (.1–.254).
const maxNodes = 254

// The registry is a directory of lock files through which concurrent
// faultline processes on this host stay out of each other's way: a cluster
// holds an flock on its own lock file, and on the lock of the address
// block it uses, for as long as it lives. A lock that can be taken belongs
// to a cluster whose owner is gone, which is how Heal tells a crashed run's
// leftovers from a live run's.
//
// The directory is shared by every user, like /tmp itself (mode 1777), so
// that root's Heal sees every cluster and no two users' clusters share an
// address block.
func registryDir() string { return filepath.Join(os.TempDir(), "faultline-local") }

// ensureRegistry creates the registry directory, world-writable and
// sticky.
func ensureRegistry() error {
	dir := registryDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	if fi.Mode()&(os.ModeSticky|0o777) == os.ModeSticky|0o777 {
		return nil
	}
	if err := os.Chmod(dir, os.ModeSticky|0o777); err != nil {
		return fmt.Errorf("registry: %s must be shared by every user (mode 1777) and this user cannot make it so: %w", dir, err)
	}
	return nil
}

// record is what the registry remembers of a cluster, for Heal.
type record struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	PID    int    `json:"pid"`
	Dir    string `json:"dir"`
	Retain bool   `json:"retain"`
	Block  string `json:"block"`
}

// lock is an flock held on a file in the registry.
type lock struct {
	f *os.File
}

// tryLock takes an exclusive flock on path without waiting. It returns
// (nil, nil) if another open file holds the lock.
func tryLock(path string) (*lock, error) {
	// Read-only is enough for flock, and lets users lock each other's
	// files; no symlink planted in the shared directory is followed.
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, nil
		}
		return nil, fmt.Errorf("flock %s: %w", path, err)
	}
	// A holder that released the lock unlinks the file; if that happened
	// between our open and our flock, we hold a lock nobody else can see.
	held, err1 := f.Stat()
	named, err2 := os.Stat(path)
	if err1 != nil || err2 != nil || !os.SameFile(held, named) {
		f.Close()
		return nil, nil
	}
	return &lock{f: f}, nil
}

// release drops the lock and removes its file.
func (l *lock) release() {
	if l == nil || l.f == nil {
		return
	}
	os.Remove(l.f.Name())
	l.f.Close()
	l.f = nil
}

// randomID returns 8 hex digits, the cluster's identity in chain names,
// uids and the registry.
func randomID() (string, error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

// block is a reserved /24 of loopback addresses, 127.X.Y.0/24.
type block struct {
	x, y byte
	lock *lock
}

// addr is the address of node k (1-based) in the block.
func (b block) addr(k int) string { return fmt.Sprintf("127.%d.%d.%d", b.x, b.y, k) }

// String is the block in CIDR notation.
func (b block) String() string { return fmt.Sprintf("127.%d.%d.0/24", b.x, b.y) }

// reserveBlock picks random 127.X.Y.0/24 blocks until it finds one that no
// other faultline cluster on this host holds and whose addresses this
// process can bind. X stays away from 0 and 1, where 127.0.0.1, the
// resolver's 127.0.0.53 and the hostname's 127.0.1.1 live.
func reserveBlock(nodes int) (block, error) {
	if err := ensureRegistry(); err != nil {
		return block{}, err
	}
	dir := registryDir()
	var last error
	for attempt := 0; attempt < 64; attempt++ {
		var r [2]byte
		if _, err := rand.Read(r[:]); err != nil {
			return block{}, err
		}
		b := block{x: 2 + r[0]%253, y: r[1]}
		l, err := tryLock(filepath.Join(dir, fmt.Sprintf("block-127.%d.%d.lock", b.x, b.y)))
		if err != nil {
			return block{}, fmt.Errorf("registry: %w", err)
		}
		if l == nil {
			continue // another live cluster holds it
		}
		if err := bindable(b, nodes); err != nil {
			l.release()
			last = err
			continue
		}
		b.lock = l
		return b, nil
	}
	if last != nil {
		return block{}, fmt.Errorf("no free loopback block: %w", last)
	}
	return block{}, errors.New("no free loopback block after 64 tries")
}

// bindable checks that each node address of the block can be bound on this
// host (loopback covers 127.0.0.0/8 on Linux; elsewhere it may not).
func bindable(b block, nodes int) error {
	for k := 1; k <= nodes; k++ {
		ln, err := net.Listen("tcp", net.JoinHostPort(b.addr(k), "0"))
		if err != nil {
			return fmt.Errorf("bind %s: %w", b.addr(k), err)
		}
		ln.Close()
	}
	return nil
}

// register records the cluster and takes its lock.
func register(rec record) (*lock, error) {
	dir := registryDir()
	l, err := tryLock(filepath.Join(dir, rec.ID+".lock"))
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	if l == nil {
		return nil, fmt.Errorf("registry: cluster id %s is already taken", rec.ID)
	}
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		l.release()
		return nil, err
	}
	if err := writeNew(filepath.Join(dir, rec.ID+".json"), append(b, '\n')); err != nil {
		l.release()
		return nil, fmt.Errorf("registry: %w", err)
	}
	return l, nil
}

// writeNew writes a file that must not exist yet, never through a symlink.
func writeNew(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// unregister removes the cluster's record and releases its lock.
func unregister(id string, l *lock) {
	os.Remove(filepath.Join(registryDir(), id+".json"))
	l.release()
}

// alive reports whether the cluster with the given id still has an owner:
// its lock is held. If not, it returns the lock, now held by the caller,
// so that nobody else heals the same cluster at once.
func alive(id string) (bool, *lock, error) {
	l, err := tryLock(filepath.Join(registryDir(), id+".lock"))
	if err != nil {
		return false, nil, err
	}
	return l == nil, l, nil
}

// readRecord reads a cluster's registry record, if there is one.
func readRecord(id string) (record, bool) {
	b, err := os.ReadFile(filepath.Join(registryDir(), id+".json"))
	if err != nil {
		return record{}, false
	}
	var rec record
	if json.Unmarshal(b, &rec) != nil {
		return record{}, false
	}
	return rec, true
}
