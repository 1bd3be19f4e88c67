package delayer

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// The NFQUEUE protocol (linux/netfilter/nfnetlink_queue.h): netlink
// messages of the netfilter family, each starting with a struct nfgenmsg,
// whose attributes carry big-endian integers in host-endian headers.
const (
	subsysQueue = 3 // NFNL_SUBSYS_QUEUE

	msgPacket  = 0 // NFQNL_MSG_PACKET: kernel → user, a queued packet
	msgVerdict = 1 // NFQNL_MSG_VERDICT: user → kernel
	msgConfig  = 2 // NFQNL_MSG_CONFIG

	// Config attributes (NFQA_CFG_*).
	cfgCmd     = 1
	cfgParams  = 2
	cfgMaxLen  = 3
	cfgMask    = 4
	cfgFlags   = 5
	cmdBind    = 1 // NFQNL_CFG_CMD_BIND
	cmdUnbind  = 2 // NFQNL_CFG_CMD_UNBIND
	copyPacket = 2 // NFQNL_COPY_PACKET

	// Config flags (NFQA_CFG_F_*).
	flagFailOpen = 1 // accept packets when the queue or socket is full
	flagGSO      = 4 // queue GSO packets whole instead of segmenting them

	// Packet and verdict attributes (NFQA_*).
	attrPacketHdr  = 1
	attrVerdictHdr = 2
	attrMark       = 3
	attrPayload    = 10
	attrCapLen     = 13

	// Verdicts (linux/netfilter.h).
	verdictAccept = 1 // NF_ACCEPT: continue with the next hook
	verdictRepeat = 4 // NF_REPEAT: run the same hook (table) again
)

// headerType is the netlink message type of an NFQUEUE message.
func headerType(msg uint16) netlink.HeaderType {
	return netlink.HeaderType(subsysQueue<<8 | msg)
}

// nfgenmsg is struct nfgenmsg: address family, version 0, and the queue
// number (big-endian) as the resource id.
func nfgenmsg(family uint8, queue uint16) []byte {
	b := []byte{family, 0, 0, 0}
	binary.BigEndian.PutUint16(b[2:], queue)
	return b
}

func newEncoder() *netlink.AttributeEncoder {
	ae := netlink.NewAttributeEncoder()
	ae.ByteOrder = binary.BigEndian
	return ae
}

func message(msg uint16, flags netlink.HeaderFlags, queue uint16, ae *netlink.AttributeEncoder) (netlink.Message, error) {
	attrs, err := ae.Encode()
	if err != nil {
		return netlink.Message{}, err
	}
	return netlink.Message{
		Header: netlink.Header{Type: headerType(msg), Flags: flags},
		Data:   append(nfgenmsg(unix.AF_UNSPEC, queue), attrs...),
	}, nil
}

// bindMessage asks the kernel to send the packets of queue to this socket
// (struct nfqnl_msg_config_cmd: command, padding, protocol family).
func bindMessage(queue uint16, cmd uint8) (netlink.Message, error) {
	ae := newEncoder()
	b := []byte{cmd, 0, 0, 0}
	binary.BigEndian.PutUint16(b[2:], unix.AF_INET)
	ae.Bytes(cfgCmd, b)
	return message(msgConfig, netlink.Request|netlink.Acknowledge, queue, ae)
}

// paramsMessage configures a bound queue: copy the first copyRange bytes
// of each packet (struct nfqnl_msg_config_params, 5 bytes packed), hold
// at most maxLen packets, and set flags (fail-open, GSO).
func paramsMessage(queue uint16, copyRange, maxLen, flags uint32) (netlink.Message, error) {
	ae := newEncoder()
	p := make([]byte, 5)
	binary.BigEndian.PutUint32(p, copyRange)
	p[4] = copyPacket
	ae.Bytes(cfgParams, p)
	ae.Uint32(cfgMaxLen, maxLen)
	ae.Uint32(cfgMask, flags)
	ae.Uint32(cfgFlags, flags)
	return message(msgConfig, netlink.Request|netlink.Acknowledge, queue, ae)
}

// verdictMessage releases packet id of queue with verdict, setting its
// mark (struct nfqnl_msg_verdict_hdr: verdict, id).
func verdictMessage(queue uint16, id, verdict, mark uint32) (netlink.Message, error) {
	ae := newEncoder()
	v := make([]byte, 8)
	binary.BigEndian.PutUint32(v, verdict)
	binary.BigEndian.PutUint32(v[4:], id)
	ae.Bytes(attrVerdictHdr, v)
	ae.Uint32(attrMark, mark)
	return message(msgVerdict, netlink.Request, queue, ae)
}

// Packet is a packet the kernel queued: its id in the queue, its mark,
// and the first bytes of it (from the IP header on).
type Packet struct {
	Queue   uint16
	ID      uint32
	Mark    uint32
	Payload []byte
	// Len is the packet's length, of which Payload is a prefix.
	Len int
}

// errNotPacket is a message that is not a queued packet.
var errNotPacket = errors.New("not an NFQUEUE packet message")

// decodePacket parses an NFQNL_MSG_PACKET message.
func decodePacket(m netlink.Message) (Packet, error) {
	if m.Header.Type != headerType(msgPacket) {
		return Packet{}, fmt.Errorf("%w: type %#x", errNotPacket, m.Header.Type)
	}
	if len(m.Data) < 4 {
		return Packet{}, fmt.Errorf("nfqueue: packet message of %d bytes", len(m.Data))
	}
	p := Packet{Queue: binary.BigEndian.Uint16(m.Data[2:4])}
	ad, err := netlink.NewAttributeDecoder(m.Data[4:])
	if err != nil {
		return Packet{}, fmt.Errorf("nfqueue: %w", err)
	}
	ad.ByteOrder = binary.BigEndian
	haveID := false
	for ad.Next() {
		switch ad.Type() {
		case attrPacketHdr:
			b := ad.Bytes()
			if len(b) < 4 {
				return Packet{}, fmt.Errorf("nfqueue: packet header of %d bytes", len(b))
			}
			p.ID = binary.BigEndian.Uint32(b)
			haveID = true
		case attrMark:
			p.Mark = ad.Uint32()
		case attrPayload:
			p.Payload = ad.Bytes()
		case attrCapLen:
			p.Len = int(ad.Uint32())
		}
	}
	if err := ad.Err(); err != nil {
		return Packet{}, fmt.Errorf("nfqueue: %w", err)
	}
	if !haveID {
		return Packet{}, errors.New("nfqueue: packet message without a packet header")
	}
	if p.Len == 0 {
		p.Len = len(p.Payload)
	}
	return p, nil
}

// flowKey identifies the flow of an IPv4 or IPv6 packet from its first
// bytes: addresses, protocol and, for TCP, UDP and SCTP, ports. Packets
// it cannot parse share flow 0.
func flowKey(b []byte) uint64 {
	if len(b) < 1 {
		return 0
	}
	var (
		addrs []byte
		proto byte
		l4    []byte
	)
	switch b[0] >> 4 {
	case 4:
		ihl := int(b[0]&0x0f) * 4
		if len(b) < 20 || ihl < 20 {
			return 0
		}
		addrs, proto = b[12:20], b[9]
		if len(b) >= ihl+4 {
			l4 = b[ihl : ihl+4]
		}
	case 6:
		if len(b) < 40 {
			return 0
		}
		addrs, proto = b[8:40], b[6]
		if len(b) >= 44 {
			l4 = b[40:44]
		}
	default:
		return 0
	}
	// FNV-1a over the fields: cheap, and collisions only merge the
	// ordering of two flows.
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	mix := func(bs []byte) {
		for _, c := range bs {
			h ^= uint64(c)
			h *= prime
		}
	}
	mix(addrs)
	mix([]byte{proto})
	switch proto {
	case unix.IPPROTO_TCP, unix.IPPROTO_UDP, unix.IPPROTO_SCTP, unix.IPPROTO_UDPLITE:
		mix(l4)
	}
	return h
}
