// Package procs finds faultline's own processes on this machine by the
// environment it started them with, so that heal can clear what a killed
// run left behind without touching anything else.
package procs

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Process is a running process and the marks its environment carries.
type Process struct {
	PID int
	// Env holds the values of the keys asked for that the process's
	// environment sets.
	Env map[string]string
}

// WithEnv lists the processes other than this one whose environment sets
// at least one of keys. Processes it may not read are skipped.
func WithEnv(keys ...string) []Process {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []Process
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil {
			continue
		}
		if marks := pick(env, keys); len(marks) > 0 {
			out = append(out, Process{PID: pid, Env: marks})
		}
	}
	return out
}

// pick returns the values of keys in a NUL-separated environment block.
func pick(env []byte, keys []string) map[string]string {
	var out map[string]string
	for _, kv := range bytes.Split(env, []byte{0}) {
		k, v, ok := strings.Cut(string(kv), "=")
		if !ok {
			continue
		}
		for _, want := range keys {
			if k == want {
				if out == nil {
					out = map[string]string{}
				}
				out[k] = v
			}
		}
	}
	return out
}

// Parent returns a process's parent from /proc/PID/stat.
func Parent(pid int) (int, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	return parseParent(b)
}

// parseParent reads the parent from a stat line, whose second field (the
// command) may hold spaces and parentheses.
func parseParent(stat []byte) (int, bool) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(f[1])
	return ppid, err == nil
}

// Alive reports whether pid runs; a zombie is gone for this purpose.
func Alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || b[i+2] != 'Z'
}
