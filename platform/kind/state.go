package kind

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// The state directory remembers the clusters faultline created: one
// directory per cluster holding record.json (the mark Heal and Owned go
// by, since kind gives no way to label its node containers), the
// cluster's kubeconfig, and a lock file that the process using the
// cluster holds an flock on, so that Heal leaves clusters in use alone
// and two runs never share one.

// record is what the state directory remembers of a cluster.
type record struct {
	Name       string    `json:"name"`
	DockerHost string    `json:"docker_host,omitempty"`
	Created    time.Time `json:"created"`
	PID        int       `json:"pid"`
}

// defaultStateDir is $XDG_STATE_HOME/faultline/kind, or
// ~/.local/state/faultline/kind.
func defaultStateDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "faultline", "kind")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "state", "faultline", "kind")
	}
	return filepath.Join(os.TempDir(), "faultline-kind")
}

// state is the state directory.
type state struct{ dir string }

func (s state) clusterDir(name string) string { return filepath.Join(s.dir, name) }
func (s state) kubeconfig(name string) string {
	return filepath.Join(s.clusterDir(name), "kubeconfig")
}

// write records that faultline created cluster rec.Name.
func (s state) write(rec record) error {
	if err := os.MkdirAll(s.clusterDir(rec.Name), 0o700); err != nil {
		return fmt.Errorf("state: %w", err)
	}
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(s.clusterDir(rec.Name), "record.json"), data, 0o600); err != nil {
		return fmt.Errorf("state: %w", err)
	}
	return nil
}

// read returns the record of cluster name, and false if faultline did not
// create it.
func (s state) read(name string) (record, bool) {
	data, err := os.ReadFile(filepath.Join(s.clusterDir(name), "record.json"))
	if err != nil {
		return record{}, false
	}
	var rec record
	if json.Unmarshal(data, &rec) != nil || rec.Name != name {
		return record{}, false
	}
	return rec, true
}

// list returns the records of every cluster faultline created.
func (s state) list() []record {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil
	}
	var out []record
	for _, e := range ents {
		if rec, ok := s.read(e.Name()); ok {
			out = append(out, rec)
		}
	}
	return out
}

// remove forgets cluster name.
func (s state) remove(name string) error {
	return os.RemoveAll(s.clusterDir(name))
}

// errInUse says that another process holds a cluster's lock.
var errInUse = errors.New("in use by another faultline process")

// lock takes the lock of cluster name without waiting; errInUse if
// another process holds it.
func (s state) lock(name string) (*os.File, error) {
	if err := os.MkdirAll(s.clusterDir(name), 0o700); err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(s.clusterDir(name), "lock"), os.O_RDONLY|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errInUse
		}
		return nil, fmt.Errorf("state: lock %s: %w", name, err)
	}
	return f, nil
}
