package auditlog

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// maxDepth bounds nesting: audit records are at most a few levels deep, and a hostile line must
// not be able to exhaust the stack.
const maxDepth = 32

var (
	errNotObject = errors.New("record is not a JSON object")
	errTooDeep   = fmt.Errorf("JSON nesting deeper than %d levels", maxDepth)
)

// Initial map capacities: a delivery line has 16 top-level keys and request parameter maps
// usually fewer than 8; sizing them up front saves the repeated growth of each map.
const (
	topLevelCapacity = 16
	nestedCapacity   = 8
)

// syntaxError reports where a line stops being JSON.
type syntaxError struct {
	msg    string
	offset int
}

func (e *syntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at byte %d: %s", e.offset, e.msg)
}

// decoder is a single-pass JSON scanner that writes straight into pdata values: no
// intermediate map[string]any and no allocation for object keys already seen (they are
// interned), so a record costs little more than its string values. It was chosen over
// encoding/json and json-iterator by BenchmarkDecodeOnly. It accepts exactly RFC 8259 JSON
// (FuzzDecoderMatchesEncodingJSON checks it against encoding/json), replacing invalid UTF-8 with
// U+FFFD as encoding/json does, because OTLP cannot carry invalid UTF-8 strings.
type decoder struct {
	data []byte
	// text is data as one string, made once per document: string values without escapes are
	// substrings of it, so a record costs one string allocation instead of one per value. The
	// values of a record share its line's memory, which they mostly cover anyway.
	text string
	pos  int
	keys map[string]internedKey
	buf  []byte // unescaping scratch
	// values interns the string values of top-level fields that take few distinct values
	// (version, auditLevel, serviceName, ...), which would otherwise be allocated per record.
	values map[string]string
	// seen[i] is the i-th key of the previous document and the last interned value under it.
	// Lines of one source repeat their structure, so comparing with the key at the same
	// position usually answers without hashing the key for a map lookup.
	seen    []seenKey
	ordinal int // of the next key in the current document
	// value is anyValue's scratch and empty its null; made on first use.
	value, empty pcommon.Value
	// validUTF8 says the current document is known to be valid UTF-8 (skimObject's text), so
	// its keys and values need not be checked again one by one.
	validUTF8 bool
}

// seenKey is a key at one position of the previous document (see decoder.seen).
type seenKey struct {
	key   internedKey
	value string // the last value interned under key at this position, if any
}

// maxSeenKeys bounds decoder.seen; audit records have about 30 keys, nested ones included.
const maxSeenKeys = 128

// internedKey is an object key as interned, with whether its top-level values are interned
// too, so that one map lookup answers both.
type internedKey struct {
	name           string
	lowCardinality bool
}

// lowCardinalityFields are the top-level fields whose values repeat across records.
var lowCardinalityFields = map[string]bool{
	"version": true, "auditLevel": true, "orgId": true, "shardName": true, "accountId": true,
	"serviceName": true, "actionName": true, "userAgent": true, "category": true,
	"operationName": true, "operationVersion": true, "resourceId": true,
}

func newDecoder() *decoder {
	return &decoder{keys: make(map[string]internedKey, 256), values: make(map[string]string, 256)}
}

// decodeObject decodes data, which must hold exactly one JSON object, into m (cleared first).
func (d *decoder) decodeObject(data []byte, m pcommon.Map) error {
	return d.decode(data, "", m)
}

// decodeObjectString is decodeObject for a document that is already a string (a JSON-encoded
// sub-document), whose values can then be substrings of it without another copy.
func (d *decoder) decodeObjectString(doc string, m pcommon.Map) error {
	return d.decode([]byte(doc), doc, m)
}

// decode is decodeObject with text = string(data) when the caller has it ("" = make it).
func (d *decoder) decode(data []byte, text string, m pcommon.Map) error {
	m.Clear()
	d.data, d.text, d.pos, d.ordinal, d.validUTF8 = data, text, 0, 0, false
	defer func() { d.data, d.text = nil, "" }() // do not keep the caller's buffer alive
	d.skipSpace()
	if d.pos >= len(d.data) || d.data[d.pos] != '{' {
		return errNotObject
	}
	if d.text == "" {
		d.text = string(data)
	}
	m.EnsureCapacity(topLevelCapacity)
	if err := d.readObject(m, 0); err != nil {
		return err
	}
	d.skipSpace()
	if d.pos != len(d.data) {
		return d.errorf("data after the object")
	}
	return nil
}

func (d *decoder) errorf(msg string) error {
	return &syntaxError{msg: msg, offset: d.pos}
}

func (d *decoder) skipSpace() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\r', '\n':
			d.pos++
		default:
			return
		}
	}
}

// readObject reads an object starting at '{'.
func (d *decoder) readObject(m pcommon.Map, depth int) error {
	more, err := d.openContainer(depth, '}')
	for more && err == nil {
		var key internedKey
		var ordinal int
		if key, ordinal, err = d.memberKey(); err != nil {
			return err
		}
		v := m.PutEmpty(key.name)
		if depth == 0 && key.lowCardinality && d.data[d.pos] == '"' {
			start, end, escaped, err := d.scanString()
			if err != nil {
				return err
			}
			v.SetStr(d.internValue(start, end, escaped, ordinal))
		} else if err := d.readValue(v, depth+1); err != nil {
			return err
		}
		more, err = d.nextMember('}')
	}
	return err
}

func (d *decoder) readArray(s pcommon.Slice, depth int) error {
	more, err := d.openContainer(depth, ']')
	for more && err == nil {
		if err = d.readValue(s.AppendEmpty(), depth+1); err == nil {
			more, err = d.nextMember(']')
		}
	}
	return err
}

// openContainer moves past the '{' or '[' at d.pos and reports whether members follow (false
// for {} and [], after moving past closing too). It refuses nesting deeper than maxDepth.
func (d *decoder) openContainer(depth int, closing byte) (bool, error) {
	if depth >= maxDepth {
		return false, errTooDeep
	}
	d.pos++
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == closing {
		d.pos++
		return false, nil
	}
	return true, nil
}

// memberKey reads an object member's key and the ':' after it, leaving d.pos at the value;
// ordinal is the key's position in the document (see decoder.seen).
func (d *decoder) memberKey() (key internedKey, ordinal int, err error) {
	if d.pos >= len(d.data) || d.data[d.pos] != '"' {
		return key, 0, d.errorf("expected a string key")
	}
	ordinal = d.ordinal
	if key, err = d.readKey(); err != nil {
		return key, 0, err
	}
	d.skipSpace()
	if d.pos >= len(d.data) || d.data[d.pos] != ':' {
		return key, 0, d.errorf("expected ':' after key")
	}
	d.pos++
	d.skipSpace()
	if d.pos >= len(d.data) {
		return key, 0, d.errorf("unexpected end of input")
	}
	return key, ordinal, nil
}

// nextMember moves past what follows a member or element: a ',' (another follows) or the
// container's closing byte.
func (d *decoder) nextMember(closing byte) (bool, error) {
	d.skipSpace()
	if d.pos >= len(d.data) {
		if closing == '}' {
			return false, d.errorf("unterminated object")
		}
		return false, d.errorf("unterminated array")
	}
	switch d.data[d.pos] {
	case ',':
		d.pos++
		d.skipSpace()
		return true, nil
	case closing:
		d.pos++
		return false, nil
	}
	if closing == '}' {
		return false, d.errorf("expected ',' or '}' in object")
	}
	return false, d.errorf("expected ',' or ']' in array")
}

func (d *decoder) readValue(v pcommon.Value, depth int) error {
	if d.pos >= len(d.data) {
		return d.errorf("unexpected end of input")
	}
	switch c := d.data[d.pos]; {
	case c == '"':
		start, end, escaped, err := d.scanString()
		if err != nil {
			return err
		}
		v.SetStr(d.stringAt(start, end, escaped))
	case c == '{':
		m := v.SetEmptyMap()
		m.EnsureCapacity(d.countMembers())
		return d.readObject(m, depth)
	case c == '[':
		return d.readArray(v.SetEmptySlice(), depth)
	case c == 't':
		if err := d.literal("true"); err != nil {
			return err
		}
		v.SetBool(true)
	case c == 'f':
		if err := d.literal("false"); err != nil {
			return err
		}
		v.SetBool(false)
	case c == 'n':
		return d.literal("null") // an empty Value is pdata's null
	case c == '-' || ('0' <= c && c <= '9'):
		return d.readNumber(v)
	default:
		return d.errorf("unexpected character")
	}
	return nil
}

func (d *decoder) literal(word string) error {
	if len(d.data)-d.pos < len(word) || string(d.data[d.pos:d.pos+len(word)]) != word {
		return d.errorf("invalid literal")
	}
	d.pos += len(word)
	return nil
}

// readKey returns an object key, interned: the keys of audit records repeat on every line.
func (d *decoder) readKey() (internedKey, error) {
	start, end, escaped, err := d.scanString()
	if err != nil {
		return internedKey{}, err
	}
	ordinal := d.ordinal
	d.ordinal++
	raw := d.data[start:end]
	// A seen key came from raw content without escapes and valid UTF-8, so if raw equals it, raw
	// is such content too.
	if ordinal < len(d.seen) && !escaped && d.seen[ordinal].key.name == string(raw) {
		return d.seen[ordinal].key, nil
	}
	if escaped || !d.valid(raw) {
		return internedKey{name: d.stringAt(start, end, escaped)}, nil
	}
	k, ok := d.keys[string(raw)] // the compiler does not allocate for this lookup
	if !ok {
		k = internedKey{name: string(raw), lowCardinality: lowCardinalityFields[string(raw)]}
		if len(d.keys) < maxCachedNames {
			d.keys[k.name] = k
		}
	}
	switch {
	case ordinal < len(d.seen):
		d.seen[ordinal] = seenKey{key: k}
	case ordinal == len(d.seen) && ordinal < maxSeenKeys:
		d.seen = append(d.seen, seenKey{key: k})
	}
	return k, nil
}

// internValue returns the string value d.data[start:end] of the key at position ordinal,
// interned.
func (d *decoder) internValue(start, end int, escaped bool, ordinal int) string {
	raw := d.data[start:end]
	if escaped || !d.valid(raw) {
		return d.stringAt(start, end, escaped)
	}
	var seen *seenKey
	if ordinal < len(d.seen) {
		if seen = &d.seen[ordinal]; seen.value == string(raw) && seen.value != "" {
			return seen.value
		}
	}
	s, ok := d.values[string(raw)]
	if !ok {
		s = string(raw) // a copy, not a substring: the cache must not keep a whole line alive
		if len(d.values) < maxCachedNames {
			d.values[s] = s
		}
	}
	if seen != nil {
		seen.value = s
	}
	return s
}

// countMembers returns the number of members of the object starting at d.pos ('{') without
// moving past it, so that its map is allocated once at its final size. It assumes valid JSON;
// on invalid input the count is only a capacity hint and readObject reports the error.
func (d *decoder) countMembers() int {
	depth, n, empty := 0, 0, true
	for i := d.pos; i < len(d.data); i++ {
		switch c := d.data[i]; c {
		case '"':
			for i++; i < len(d.data) && d.data[i] != '"'; i++ {
				if d.data[i] == '\\' {
					i++
				}
			}
			empty = false
		case '{', '[':
			depth++
			if depth > 1 {
				empty = false
			}
		case '}', ']':
			depth--
			if depth == 0 {
				if empty {
					return 0
				}
				return n + 1
			}
		case ',':
			if depth == 1 {
				n++
			}
		case ' ', '\t', '\r', '\n':
		default:
			empty = false
		}
	}
	return nestedCapacity
}

// scanString moves past a string starting at '"' and returns where its raw content (without
// quotes) starts and ends in d.data, and whether it holds escapes.
func (d *decoder) scanString() (start, end int, escaped bool, err error) {
	d.pos++ // opening quote
	start = d.pos
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			end = d.pos
			d.pos++
			return start, end, escaped, nil
		case c == '\\':
			escaped = true
			if d.pos+1 >= len(d.data) {
				return 0, 0, false, d.errorf("unterminated escape")
			}
			switch d.data[d.pos+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				d.pos += 2
			case 'u':
				if d.pos+6 > len(d.data) {
					return 0, 0, false, d.errorf("short \\u escape")
				}
				for _, h := range d.data[d.pos+2 : d.pos+6] {
					if !isHex(h) {
						return 0, 0, false, d.errorf("invalid \\u escape")
					}
				}
				d.pos += 6
			default:
				return 0, 0, false, d.errorf("invalid escape")
			}
		case c < 0x20:
			return 0, 0, false, d.errorf("control character in string")
		default:
			d.pos++
		}
	}
	return 0, 0, false, d.errorf("unterminated string")
}

// stringAt converts the validated raw string content d.data[start:end] into a Go string,
// resolving escapes and replacing invalid UTF-8 bytes one by one with U+FFFD (as encoding/json
// does). Content that needs neither is a substring of d.text.
func (d *decoder) stringAt(start, end int, escaped bool) string {
	raw := d.data[start:end]
	if !escaped && d.valid(raw) {
		return d.text[start:end]
	}
	b := d.buf[:0]
	for i := 0; i < len(raw); {
		c := raw[i]
		if c == '\\' {
			switch raw[i+1] {
			case 'u':
				r := rune(hexVal(raw[i+2 : i+6]))
				i += 6
				if utf16.IsSurrogate(r) {
					r2 := utf8.RuneError
					if i+6 <= len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
						r2 = rune(hexVal(raw[i+2 : i+6]))
					}
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						i += 6
						r = dec
					} else {
						r = utf8.RuneError
					}
				}
				b = utf8.AppendRune(b, r)
			default:
				b = append(b, unescape(raw[i+1]))
				i += 2
			}
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(raw[i:])
		b = utf8.AppendRune(b, r) // RuneError for an invalid byte
		i += size
	}
	d.buf = b
	return string(b)
}

// valid reports whether raw, a part of the current document, is valid UTF-8.
func (d *decoder) valid(raw []byte) bool {
	return d.validUTF8 || utf8.Valid(raw)
}

func unescape(c byte) byte {
	switch c {
	case 'b':
		return '\b'
	case 'f':
		return '\f'
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	}
	return c // '"', '\\', '/'
}

func hexVal(h []byte) uint16 {
	var v uint16
	for _, c := range h {
		v <<= 4
		switch {
		case c <= '9':
			v |= uint16(c - '0')
		case c >= 'a':
			v |= uint16(c - 'a' + 10)
		default:
			v |= uint16(c - 'A' + 10)
		}
	}
	return v
}

// readNumber validates the JSON number grammar and stores integers exactly (epoch millis,
// status codes) and everything else as float.
func (d *decoder) readNumber(v pcommon.Value) error {
	start := d.pos
	intStart, isInt, err := d.scanNumber()
	if err != nil {
		return err
	}
	num := d.data[start:d.pos]
	if isInt && d.pos-intStart <= 18 { // fits int64 without overflow checks
		var n int64
		for _, c := range d.data[intStart:d.pos] {
			n = n*10 + int64(c-'0')
		}
		if start != intStart {
			n = -n
		}
		v.SetInt(n)
		return nil
	}
	if isInt {
		if n, err := strconv.ParseInt(string(num), 10, 64); err == nil {
			v.SetInt(n)
			return nil
		}
	}
	if f, err := strconv.ParseFloat(string(num), 64); err == nil {
		v.SetDouble(f)
		return nil
	}
	v.SetStr(string(num)) // out of float64 range: keep the digits rather than lose them
	return nil
}

// scanNumber moves past a number that must start at d.pos, checking the JSON number grammar,
// and returns where its digits start (after a minus sign) and whether it is an integer.
func (d *decoder) scanNumber() (intStart int, isInt bool, err error) {
	if d.data[d.pos] == '-' {
		d.pos++
	}
	intStart = d.pos
	switch {
	case d.pos < len(d.data) && d.data[d.pos] == '0':
		d.pos++
	case d.pos < len(d.data) && '1' <= d.data[d.pos] && d.data[d.pos] <= '9':
		for d.pos < len(d.data) && isDigit(d.data[d.pos]) {
			d.pos++
		}
	default:
		return 0, false, d.errorf("invalid number")
	}
	isInt = true
	if d.pos < len(d.data) && d.data[d.pos] == '.' {
		isInt = false
		d.pos++
		if d.pos >= len(d.data) || !isDigit(d.data[d.pos]) {
			return 0, false, d.errorf("invalid number")
		}
		for d.pos < len(d.data) && isDigit(d.data[d.pos]) {
			d.pos++
		}
	}
	if d.pos < len(d.data) && (d.data[d.pos] == 'e' || d.data[d.pos] == 'E') {
		isInt = false
		d.pos++
		if d.pos < len(d.data) && (d.data[d.pos] == '+' || d.data[d.pos] == '-') {
			d.pos++
		}
		if d.pos >= len(d.data) || !isDigit(d.data[d.pos]) {
			return 0, false, d.errorf("invalid number")
		}
		for d.pos < len(d.data) && isDigit(d.data[d.pos]) {
			d.pos++
		}
	}
	return intStart, isInt, nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
