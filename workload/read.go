package workload

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/faultline-dev/faultline/internal/excerpt"
)

// Names of a run directory's history file, plain and compressed.
const (
	HistoryFile           = "history.jsonl"
	CompressedHistoryFile = "history.jsonl.gz"
)

// FindHistory returns the history file of a run directory: history.jsonl,
// or history.jsonl.gz when the run compressed it.
func FindHistory(dir string) (string, error) {
	var first error
	for _, name := range []string{HistoryFile, CompressedHistoryFile} {
		p := filepath.Join(dir, name)
		_, err := os.Stat(p)
		if err == nil {
			return p, nil
		}
		if first == nil {
			first = err
		}
	}
	return "", fmt.Errorf("read history: %w", first)
}

// ReadFile reads a history file, plain or gzip-compressed (see Read).
func ReadFile(path string) (*History, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	defer f.Close()
	h, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("read history %s: %w", path, err)
	}
	return h, nil
}

// Read parses a history written by a Recorder and merges each invocation
// with its completion. An invocation without a completion becomes an info
// operation that ends with the history; a fault without an end is marked
// Open. A completion without an invocation is kept as it is, so files of
// already merged operations read too. A last line cut off without its
// newline (a crash in mid-write) is ignored; any other malformed line is an
// error naming its number. A gzip-compressed history (as a recorder with
// FileOptions.Compress writes it) is recognised by its first bytes, and a
// compressed stream cut short reads up to where it ends.
func Read(r io.Reader) (*History, error) {
	h := &History{}
	pending := map[int64]int{}
	faults := map[int]int{}
	br := bufio.NewReaderSize(r, 1<<16)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		br = bufio.NewReaderSize(cutShort{zr}, 1<<16)
	}
	for n := 1; ; n++ {
		b, err := br.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		last := errors.Is(err, io.EOF)
		b = bytes.TrimSpace(b)
		if len(b) == 0 {
			if last {
				break
			}
			continue
		}
		var l line
		if derr := json.Unmarshal(b, &l); derr != nil {
			if last {
				break // a record cut short by a crash
			}
			return nil, fmt.Errorf("line %d: %w", n, derr)
		}
		if err := apply(h, l, pending, faults); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if last {
			break
		}
	}
	closeOpen(h)
	h.Sort()
	return h, nil
}

// cutShort ends a compressed stream that stops before its end (a crash,
// or a file still being written) as if it ended there.
type cutShort struct{ r io.Reader }

func (c cutShort) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = io.EOF
	}
	return n, err
}

func apply(h *History, l line, pending map[int64]int, faults map[int]int) error {
	count := 0
	if l.Meta != nil {
		count++
		h.Meta = *l.Meta
	}
	if l.Op != nil {
		count++
		op := *l.Op
		if !op.Type.Valid() {
			return fmt.Errorf("op %d: unknown type %q", op.Index, excerpt.Value(op.Type))
		}
		switch i, ok := pending[op.Index]; {
		case op.Type == Invoke:
			if ok {
				return fmt.Errorf("op %d: invoked twice", op.Index)
			}
			pending[op.Index] = len(h.Ops)
			h.Ops = append(h.Ops, op)
		case ok:
			op.Call = h.Ops[i].Call
			if op.Return < op.Call {
				return fmt.Errorf("op %d: returns at %s, before its call at %s", op.Index, op.Return, op.Call)
			}
			h.Ops[i] = op
			delete(pending, op.Index)
		default:
			if op.Return < op.Call {
				return fmt.Errorf("op %d: returns at %s, before its call at %s", op.Index, op.Return, op.Call)
			}
			h.Ops = append(h.Ops, op)
		}
	}
	if l.Fault != nil {
		count++
		faults[l.Fault.ID] = len(h.Faults)
		h.Faults = append(h.Faults, *l.Fault)
	}
	if l.FaultEnd != nil {
		count++
		i, ok := faults[l.FaultEnd.ID]
		if !ok {
			return fmt.Errorf("fault_end %d: no such fault", l.FaultEnd.ID)
		}
		h.Faults[i].End = l.FaultEnd.End
		if l.FaultEnd.Mechanism != "" {
			h.Faults[i].Mechanism = l.FaultEnd.Mechanism
		}
		if l.FaultEnd.Error != "" {
			h.Faults[i].Error = joinErr(h.Faults[i].Error, l.FaultEnd.Error)
		}
	}
	if l.Sample != nil {
		count++
		h.Samples = append(h.Samples, *l.Sample)
	}
	if l.Event != nil {
		count++
		h.Events = append(h.Events, *l.Event)
	}
	if count != 1 {
		return fmt.Errorf("want exactly one of meta, op, fault, fault_end, sample, event; got %d", count)
	}
	return nil
}

// Write writes a merged history in the file format, one completed op per
// line (no separate invocations), for other tools to read.
func Write(w io.Writer, h *History) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	meta := h.Meta
	if err := enc.Encode(line{Meta: &meta}); err != nil {
		return err
	}
	for i := range h.Faults {
		f := h.Faults[i]
		if err := enc.Encode(line{Fault: &f}); err != nil {
			return err
		}
	}
	for i := range h.Ops {
		if err := enc.Encode(line{Op: &h.Ops[i]}); err != nil {
			return err
		}
	}
	for i := range h.Samples {
		if err := enc.Encode(line{Sample: &h.Samples[i]}); err != nil {
			return err
		}
	}
	for i := range h.Events {
		if err := enc.Encode(line{Event: &h.Events[i]}); err != nil {
			return err
		}
	}
	return bw.Flush()
}
