package measure

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// HeaderBytes is what the model adds per TCP segment for IPv4 and TCP
// headers (20 + 20 bytes, plus 12 of the timestamp option every Linux
// connection carries), to turn payload counts into bytes on the wire,
// which is what clouds bill.
const HeaderBytes = 52

// SocketTraffic counts the bytes each node's processes send to each other
// node's processes over TCP, from the kernel's per-socket counters
// (tcp_info through sock_diag netlink: bytes acknowledged by the peer, and
// segments sent, each given HeaderBytes). It attributes traffic by the
// process that owns each end, not by address: processes on one machine
// that connect to each other's loopback addresses without binding a
// source address all send from 127.0.0.1, so address-based accounting
// cannot tell who sent what. It needs no privilege to see the caller's
// own processes.
//
// Per-socket counters vanish with their socket; SocketTraffic keeps
// cumulative totals per link so that what it reports never falls. Bytes a
// socket sent between its last reading and its closing are lost.
type SocketTraffic struct {
	proc string // proc mount, for tests

	mu     sync.Mutex
	last   map[sockKey]sockCount
	totals Traffic
}

type sockKey struct {
	inode  uint32
	cookie [2]uint32
}

type sockCount struct{ bytes, segs uint64 }

// NewSocketTraffic starts counting from now: sockets already open count
// from their first reading on.
func NewSocketTraffic() *SocketTraffic {
	return &SocketTraffic{proc: "/proc", last: map[sockKey]sockCount{}, totals: Traffic{}}
}

// Read attributes the TCP sockets of the given processes (pid → node) and
// returns the cumulative bytes sent over each link between nodes.
func (s *SocketTraffic) Read(owners map[int]string) (Traffic, error) {
	inodes := map[uint32]string{}
	for pid, node := range owners {
		for _, ino := range socketInodes(s.proc, pid) {
			inodes[ino] = node
		}
	}
	var socks []*netlink.InetDiagTCPInfoResp
	var errs []error
	for _, fam := range []uint8{unix.AF_INET, unix.AF_INET6} {
		r, err := netlink.SocketDiagTCPInfo(fam)
		if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
			errs = append(errs, fmt.Errorf("sock_diag: %w", err))
			continue
		}
		socks = append(socks, r...)
	}
	if len(socks) == 0 && len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	// Who owns each local endpoint: the other end of a connection between
	// two nodes is the peer's local endpoint.
	endpoint := map[string]string{}
	for _, sk := range socks {
		if node, ok := inodes[sk.InetDiagMsg.INode]; ok {
			endpoint[hostPort(sk.InetDiagMsg.ID.Source, sk.InetDiagMsg.ID.SourcePort)] = node
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[sockKey]bool{}
	for _, sk := range socks {
		m := sk.InetDiagMsg
		src, ok := inodes[m.INode]
		if !ok || sk.TCPInfo == nil {
			continue
		}
		dst, ok := endpoint[hostPort(m.ID.Destination, m.ID.DestinationPort)]
		if !ok || dst == src {
			continue
		}
		k := sockKey{inode: m.INode, cookie: m.ID.Cookie}
		seen[k] = true
		cur := sockCount{bytes: sk.TCPInfo.Bytes_acked, segs: uint64(sk.TCPInfo.Segs_out)}
		prev := s.last[k]
		if cur.bytes < prev.bytes || cur.segs < prev.segs {
			prev = sockCount{}
		}
		s.totals[Link{Src: src, Dst: dst}] += int64(cur.bytes-prev.bytes) + int64(cur.segs-prev.segs)*HeaderBytes
		s.last[k] = cur
	}
	for k := range s.last {
		if !seen[k] {
			delete(s.last, k)
		}
	}
	out := make(Traffic, len(s.totals))
	for l, b := range s.totals {
		out[l] = b
	}
	return out, errors.Join(errs...)
}

func hostPort(ip net.IP, port uint16) string {
	return net.JoinHostPort(ip.String(), strconv.Itoa(int(port)))
}

// socketInodes lists the inodes of the sockets pid has open. A process
// that exits while it is read yields what was read.
func socketInodes(proc string, pid int) []uint32 {
	dir := filepath.Join(proc, strconv.Itoa(pid), "fd")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []uint32
	for _, e := range ents {
		target, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		rest, ok := strings.CutPrefix(target, "socket:[")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSuffix(rest, "]"), 10, 32)
		if err == nil {
			out = append(out, uint32(n))
		}
	}
	return out
}
