// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package engine

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
)

// eventIDs holds event ids packed into one byte slice, oldest first. The
// ids the audit receiver writes are 32 lowercase hex digits (derived for
// delivery files and Azure records) or lowercase UUIDs (the system table's
// event_id): packed they take 17 bytes each instead of a 16-byte string
// header plus a 32- or 48-byte allocation, and a ring of ten is one
// allocation instead of eleven. Any other id is kept byte for byte. Windows
// and open suppression windows keep these for every identity near a
// threshold, for up to a day, so their size is much of the processor's
// state. They are stored as the JSON array of ids they always were.
type eventIDs []byte

// Kinds of packed id: the first byte of each entry.
const (
	idVerbatim byte = iota // a uvarint length, then the id's bytes
	idHex                  // 16 bytes, written as 32 lowercase hex digits
	idUUID                 // 16 bytes, written as a lowercase 8-4-4-4-12 UUID
)

const packedIDSize = 1 + 16

// maxPreallocatedRing is the largest ring allocated at its final size; a
// larger max_event_ids grows as ids arrive.
const maxPreallocatedRing = 32

// uuidDashes are the positions of the dashes in a UUID's text form.
var uuidDashes = [4]int{8, 13, 18, 23}

// push appends id, dropping the oldest ids so that at most n remain (a ring
// of the last n). Empty ids are not kept.
func (p eventIDs) push(id string, n int) eventIDs {
	if id == "" || n <= 0 {
		return p
	}
	for p.count() >= n {
		p = p.dropOldest()
	}
	if p == nil && n <= maxPreallocatedRing {
		// A ring that is kept fills up (threshold rules keep one only within n
		// events of their threshold): allocated at its final size for packed
		// ids, it does not grow 1, 2, 4, ... times over.
		p = make(eventIDs, 0, n*packedIDSize)
	}
	return appendPacked(p, id)
}

// add appends id unless it is held already or n ids are (the first n ids
// are kept, not the last).
func (p eventIDs) add(id string, n int) eventIDs {
	if id == "" || p.count() >= n || p.contains(id) {
		return p
	}
	return appendPacked(p, id)
}

// count is the number of ids held.
func (p eventIDs) count() int {
	n := 0
	for rest := []byte(p); len(rest) > 0; rest = rest[entrySize(rest):] {
		n++
	}
	return n
}

// contains reports whether id is held. It compares packed forms: an id
// packs one way only, so equal bytes mean an equal id, and nothing is decoded.
func (p eventIDs) contains(id string) bool {
	var buf [64]byte
	want := appendPacked(buf[:0], id)
	for rest := []byte(p); len(rest) > 0; {
		size := entrySize(rest)
		if string(rest[:size]) == string(want) {
			return true
		}
		rest = rest[size:]
	}
	return false
}

// strings returns the ids, oldest first; nil when there are none.
func (p eventIDs) strings() []string {
	if len(p) == 0 {
		return nil
	}
	out := make([]string, 0, p.count())
	p.each(func(s string) bool {
		out = append(out, s)
		return true
	})
	return out
}

func (p eventIDs) dropOldest() eventIDs {
	size := entrySize(p)
	copy(p, p[size:])
	return p[:len(p)-size]
}

// each calls fn with every id, oldest first, until it returns false.
func (p eventIDs) each(fn func(string) bool) {
	var buf [36]byte
	for rest := []byte(p); len(rest) > 0; rest = rest[entrySize(rest):] {
		var s string
		switch rest[0] {
		case idHex:
			hex.Encode(buf[:32], rest[1:packedIDSize])
			s = string(buf[:32])
		case idUUID:
			s = uuidText(&buf, rest[1:packedIDSize])
		default:
			n, w := binary.Uvarint(rest[1:])
			s = string(rest[1+w : 1+w+int(n)])
		}
		if !fn(s) {
			return
		}
	}
}

// entrySize is the size of the entry at the start of rest.
func entrySize(rest []byte) int {
	if rest[0] == idHex || rest[0] == idUUID {
		return packedIDSize
	}
	n, w := binary.Uvarint(rest[1:])
	return 1 + w + int(n)
}

// packEventIDs packs ids (empty ones left out) into an array of their
// packed size: windows keep theirs for up to a day.
func packEventIDs(ids []string) eventIDs {
	size := 0
	for _, id := range ids {
		if id != "" {
			size += packedSize(id)
		}
	}
	if size == 0 {
		return nil
	}
	p := make(eventIDs, 0, size)
	for _, id := range ids {
		if id != "" {
			p = appendPacked(p, id)
		}
	}
	return p
}

// packedSize is the number of bytes id takes packed.
func packedSize(id string) int {
	if packedKind(id) != idVerbatim {
		return packedIDSize
	}
	var lenBuf [binary.MaxVarintLen64]byte
	return 1 + binary.PutUvarint(lenBuf[:], uint64(len(id))) + len(id)
}

// packedKind is how id is packed: in 16 bytes when they write it back
// exactly, verbatim otherwise.
func packedKind(id string) byte {
	switch {
	case len(id) == 32 && isLowerHex(id):
		return idHex
	case len(id) == 36 && isLowerUUID(id):
		return idUUID
	default:
		return idVerbatim
	}
}

func appendPacked(p eventIDs, id string) eventIDs {
	kind := packedKind(id)
	p = append(p, kind)
	switch kind {
	case idHex:
		p, _ = hex.AppendDecode(p, []byte(id)) // isLowerHex: no error
	case idUUID:
		for i, start := 0, 0; i <= len(uuidDashes); i++ {
			end := len(id)
			if i < len(uuidDashes) {
				end = uuidDashes[i]
			}
			p, _ = hex.AppendDecode(p, []byte(id[start:end])) // isLowerUUID: no error
			start = end + 1
		}
	default:
		p = binary.AppendUvarint(p, uint64(len(id)))
		p = append(p, id...)
	}
	return p
}

func uuidText(buf *[36]byte, b []byte) string {
	hex.Encode(buf[0:8], b[0:4])
	buf[8] = '-'
	hex.Encode(buf[9:13], b[4:6])
	buf[13] = '-'
	hex.Encode(buf[14:18], b[6:8])
	buf[18] = '-'
	hex.Encode(buf[19:23], b[8:10])
	buf[23] = '-'
	hex.Encode(buf[24:36], b[10:16])
	return string(buf[:])
}

// isLowerHex reports whether s is lowercase hex digits only, the form
// hex.Encode writes back.
func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func isLowerUUID(s string) bool {
	start := 0
	for _, d := range uuidDashes {
		if s[d] != '-' || !isLowerHex(s[start:d]) {
			return false
		}
		start = d + 1
	}
	return isLowerHex(s[start:])
}

// MarshalJSON writes the ids as a JSON array of strings, the stored form
// of earlier versions: the bytes json.Marshal(p.strings()) gives, without
// a string per id (packed ids are hex digits and dashes, which need no
// escaping; the others are quoted by encoding/json).
func (p eventIDs) MarshalJSON() ([]byte, error) {
	if len(p) == 0 {
		return []byte("null"), nil
	}
	return p.appendJSON(make([]byte, 0, len(p)*2+2))
}

// appendJSON appends the non-empty ids' JSON array to out.
func (p eventIDs) appendJSON(out []byte) ([]byte, error) {
	out = append(out, '[')
	start := len(out)
	var buf [36]byte
	for rest := []byte(p); len(rest) > 0; rest = rest[entrySize(rest):] {
		if len(out) > start {
			out = append(out, ',')
		}
		switch rest[0] {
		case idHex:
			out = append(out, '"')
			out = hex.AppendEncode(out, rest[1:packedIDSize])
			out = append(out, '"')
		case idUUID:
			out = append(out, '"')
			out = append(out, uuidText(&buf, rest[1:packedIDSize])...)
			out = append(out, '"')
		default:
			n, w := binary.Uvarint(rest[1:])
			q, err := json.Marshal(string(rest[1+w : 1+w+int(n)]))
			if err != nil {
				return nil, err
			}
			out = append(out, q...)
		}
	}
	return append(out, ']'), nil
}

// UnmarshalJSON reads a JSON array of ids (null or empty: none).
func (p *eventIDs) UnmarshalJSON(b []byte) error {
	var ids []string
	if err := json.Unmarshal(b, &ids); err != nil {
		return err
	}
	*p = packEventIDs(ids)
	return nil
}
