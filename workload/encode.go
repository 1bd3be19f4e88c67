package workload

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// appendOpLine appends op's history line, {"op":{…}}\n, to b. It writes by
// hand what json.Marshal(line{Op: op}) writes, field for field (the
// recorder writes two lines per operation, and reflection was a tenth of
// the load's client CPU); a test holds the two to decoding alike. The
// rare fields without a hand-written form (a bank read's balances) go
// through encoding/json.
func appendOpLine(b []byte, op *Op) []byte {
	b = append(b, `{"op":{"index":`...)
	b = strconv.AppendInt(b, op.Index, 10)
	b = append(b, `,"process":`...)
	b = strconv.AppendInt(b, int64(op.Process), 10)
	b = append(b, `,"type":`...)
	b = appendString(b, string(op.Type))
	b = append(b, `,"f":`...)
	b = appendString(b, op.F)
	if op.Key != "" {
		b = append(b, `,"key":`...)
		b = appendString(b, op.Key)
	}
	if op.Value != nil {
		b = append(b, `,"value":`...)
		b = strconv.AppendInt(b, *op.Value, 10)
	}
	if op.Prev != nil {
		b = append(b, `,"prev":`...)
		b = strconv.AppendInt(b, *op.Prev, 10)
	}
	if len(op.Txn) > 0 {
		b = append(b, `,"txn":[`...)
		for i, m := range op.Txn {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendMop(b, m)
		}
		b = append(b, ']')
	}
	if t := op.Transfer; t != nil {
		b = append(b, `,"transfer":{"from":`...)
		b = appendString(b, t.From)
		b = append(b, `,"to":`...)
		b = appendString(b, t.To)
		b = append(b, `,"amount":`...)
		b = strconv.AppendInt(b, t.Amount, 10)
		b = append(b, '}')
	}
	if len(op.Balances) > 0 {
		enc, _ := json.Marshal(op.Balances) // map[string]int64 always encodes
		b = append(b, `,"balances":`...)
		b = append(b, enc...)
	}
	if len(op.Keys) > 0 {
		b = append(b, `,"keys":[`...)
		for i, k := range op.Keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
		}
		b = append(b, ']')
	}
	b = append(b, `,"call":`...)
	b = strconv.AppendInt(b, int64(op.Call), 10)
	if op.Return != 0 {
		b = append(b, `,"return":`...)
		b = strconv.AppendInt(b, int64(op.Return), 10)
	}
	if op.Intended != 0 {
		b = append(b, `,"intended":`...)
		b = strconv.AppendInt(b, int64(op.Intended), 10)
	}
	if op.Node != "" {
		b = append(b, `,"node":`...)
		b = appendString(b, op.Node)
	}
	if op.Error != "" {
		b = append(b, `,"error":`...)
		b = appendString(b, op.Error)
	}
	if op.Final {
		b = append(b, `,"final":true`...)
	}
	return append(b, "}}\n"...)
}

func appendMop(b []byte, m Mop) []byte {
	b = append(b, `{"f":`...)
	b = appendString(b, m.F)
	b = append(b, `,"key":`...)
	b = strconv.AppendInt(b, m.Key, 10)
	if m.Value != 0 {
		b = append(b, `,"value":`...)
		b = strconv.AppendInt(b, m.Value, 10)
	}
	if len(m.List) > 0 {
		b = append(b, `,"list":[`...)
		for i, v := range m.List {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, v, 10)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

const hex = "0123456789abcdef"

// appendString appends s as a JSON string. Like encoding/json it replaces
// invalid UTF-8 with U+FFFD, so that both decode to the same string; it
// does not escape <, > and & (a history is not HTML).
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
