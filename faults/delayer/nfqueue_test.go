package delayer

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"testing"

	"github.com/mdlayher/netlink"
)

// nla builds one netlink attribute: host-endian header, padded to 4.
func nla(typ uint16, value []byte) []byte {
	b := make([]byte, 4, 4+len(value)+3)
	binary.NativeEndian.PutUint16(b, uint16(4+len(value)))
	binary.NativeEndian.PutUint16(b[2:], typ)
	b = append(b, value...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func cat(bs ...[]byte) []byte { return bytes.Join(bs, nil) }

func TestEncode(t *testing.T) {
	must := func(m netlink.Message, err error) netlink.Message {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	tests := []struct {
		name      string
		msg       netlink.Message
		wantType  netlink.HeaderType
		wantFlags netlink.HeaderFlags
		wantData  []byte
	}{
		{
			name:      "bind queue 1000",
			msg:       must(bindMessage(1000, cmdBind)),
			wantType:  0x0302,
			wantFlags: netlink.Request | netlink.Acknowledge,
			// nfgenmsg: AF_UNSPEC, v0, queue 1000 big-endian; then
			// NFQA_CFG_CMD {BIND, pad, AF_INET big-endian}.
			wantData: cat([]byte{0, 0, 0x03, 0xe8}, nla(1, []byte{1, 0, 0, 2})),
		},
		{
			name:      "unbind queue 7",
			msg:       must(bindMessage(7, cmdUnbind)),
			wantType:  0x0302,
			wantFlags: netlink.Request | netlink.Acknowledge,
			wantData:  cat([]byte{0, 0, 0, 7}, nla(1, []byte{2, 0, 0, 2})),
		},
		{
			name:      "params",
			msg:       must(paramsMessage(7, 64, 16384, flagFailOpen|flagGSO)),
			wantType:  0x0302,
			wantFlags: netlink.Request | netlink.Acknowledge,
			wantData: cat([]byte{0, 0, 0, 7},
				nla(2, []byte{0, 0, 0, 64, 2}), // copy 64 bytes, NFQNL_COPY_PACKET
				nla(3, []byte{0, 0, 0x40, 0}),  // max len 16384
				nla(4, []byte{0, 0, 0, 5}),     // mask: fail-open | GSO
				nla(5, []byte{0, 0, 0, 5})),    // flags
		},
		{
			name:      "verdict repeat with mark",
			msg:       must(verdictMessage(7, 0x01020304, verdictRepeat, 0x01000000)),
			wantType:  0x0301,
			wantFlags: netlink.Request,
			wantData: cat([]byte{0, 0, 0, 7},
				nla(2, []byte{0, 0, 0, 4, 1, 2, 3, 4}),
				nla(3, []byte{1, 0, 0, 0})),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.msg.Header.Type != tt.wantType || tt.msg.Header.Flags != tt.wantFlags {
				t.Errorf("header type %#x flags %v, want %#x %v", tt.msg.Header.Type, tt.msg.Header.Flags, tt.wantType, tt.wantFlags)
			}
			if !bytes.Equal(tt.msg.Data, tt.wantData) {
				t.Errorf("data\n got %s\nwant %s", hex.EncodeToString(tt.msg.Data), hex.EncodeToString(tt.wantData))
			}
		})
	}
}

// ipv4TCP is the start of a TCP packet from 10.0.0.1:40000 to
// 10.0.0.2:2379.
var ipv4TCP = []byte{
	0x45, 0, 0, 60, 0, 0, 0x40, 0, 64, 6, 0, 0,
	10, 0, 0, 1, 10, 0, 0, 2,
	0x9c, 0x40, 0x09, 0x4b,
}

func TestDecodePacket(t *testing.T) {
	hdr := []byte{0, 0, 0, 42, 0x08, 0x00, 1} // id 42, ETH_P_IP, NF_INET_LOCAL_IN
	tests := []struct {
		name    string
		msg     netlink.Message
		want    Packet
		wantErr bool
	}{
		{
			name: "packet with mark and truncated payload",
			msg: netlink.Message{
				Header: netlink.Header{Type: 0x0300},
				Data: cat([]byte{2, 0, 0x03, 0xe8},
					nla(attrPacketHdr, hdr),
					nla(attrMark, []byte{0, 0, 0x40, 0}),
					nla(attrCapLen, []byte{0, 0, 0x05, 0xdc}),
					nla(attrPayload, ipv4TCP)),
			},
			want: Packet{Queue: 1000, ID: 42, Mark: 0x4000, Payload: ipv4TCP, Len: 1500},
		},
		{
			name: "packet without mark",
			msg: netlink.Message{
				Header: netlink.Header{Type: 0x0300},
				Data:   cat([]byte{2, 0, 0, 1}, nla(attrPacketHdr, hdr), nla(attrPayload, ipv4TCP[:20])),
			},
			want: Packet{Queue: 1, ID: 42, Payload: ipv4TCP[:20], Len: 20},
		},
		{
			name:    "not a packet",
			msg:     netlink.Message{Header: netlink.Header{Type: 0x0302}, Data: []byte{0, 0, 0, 1}},
			wantErr: true,
		},
		{
			name:    "no packet header",
			msg:     netlink.Message{Header: netlink.Header{Type: 0x0300}, Data: cat([]byte{2, 0, 0, 1}, nla(attrPayload, ipv4TCP))},
			wantErr: true,
		},
		{
			name:    "short header attribute",
			msg:     netlink.Message{Header: netlink.Header{Type: 0x0300}, Data: cat([]byte{2, 0, 0, 1}, nla(attrPacketHdr, []byte{0, 1}))},
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodePacket(tt.msg)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if got.Queue != tt.want.Queue || got.ID != tt.want.ID || got.Mark != tt.want.Mark || got.Len != tt.want.Len || !bytes.Equal(got.Payload, tt.want.Payload) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestFlowKey(t *testing.T) {
	other := append([]byte(nil), ipv4TCP...)
	other[21] = 0x41 // another source port
	ipOnly := ipv4TCP[:20]
	icmp := append([]byte(nil), ipv4TCP...)
	icmp[9] = 1
	icmp2 := append([]byte(nil), icmp...)
	icmp2[21] = 0x41 // ICMP has no ports: same flow
	tests := []struct {
		name string
		a, b []byte
		same bool
	}{
		{"same packet", ipv4TCP, ipv4TCP, true},
		{"other port", ipv4TCP, other, false},
		{"ports missing", ipv4TCP, ipOnly, false},
		{"icmp ignores bytes past the header", icmp, icmp2, true},
		{"garbage shares flow 0", []byte{0x10}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := flowKey(tt.a) == flowKey(tt.b); got != tt.same {
				t.Errorf("same flow = %v, want %v", got, tt.same)
			}
		})
	}
}
