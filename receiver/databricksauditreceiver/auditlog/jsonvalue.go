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
	pos  int
	keys map[string]string
	buf  []byte // unescaping scratch
	// values interns the string values of top-level fields that take few distinct values
	// (version, auditLevel, serviceName, ...), which would otherwise be allocated per record.
	values map[string]string
}

// lowCardinalityFields are the top-level fields whose values repeat across records.
var lowCardinalityFields = map[string]bool{
	"version": true, "auditLevel": true, "orgId": true, "shardName": true, "accountId": true,
	"serviceName": true, "actionName": true, "userAgent": true, "category": true,
	"operationName": true, "operationVersion": true, "resourceId": true,
}

func newDecoder() *decoder {
	return &decoder{keys: make(map[string]string, 256), values: make(map[string]string, 256)}
}

// decodeObject decodes data, which must hold exactly one JSON object, into m (cleared first).
func (d *decoder) decodeObject(data []byte, m pcommon.Map) error {
	m.Clear()
	d.data, d.pos = data, 0
	defer func() { d.data = nil }() // do not keep the caller's buffer alive
	d.skipSpace()
	if d.pos >= len(d.data) || d.data[d.pos] != '{' {
		return errNotObject
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
	if depth >= maxDepth {
		return errTooDeep
	}
	d.pos++ // '{'
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
		return nil
	}
	for {
		if d.pos >= len(d.data) || d.data[d.pos] != '"' {
			return d.errorf("expected a string key")
		}
		key, err := d.readKey()
		if err != nil {
			return err
		}
		d.skipSpace()
		if d.pos >= len(d.data) || d.data[d.pos] != ':' {
			return d.errorf("expected ':' after key")
		}
		d.pos++
		d.skipSpace()
		v := m.PutEmpty(key)
		if depth == 0 && d.pos < len(d.data) && d.data[d.pos] == '"' && lowCardinalityFields[key] {
			raw, escaped, err := d.scanString()
			if err != nil {
				return err
			}
			v.SetStr(d.internValue(raw, escaped))
		} else if err := d.readValue(v, depth+1); err != nil {
			return err
		}
		d.skipSpace()
		if d.pos >= len(d.data) {
			return d.errorf("unterminated object")
		}
		switch d.data[d.pos] {
		case ',':
			d.pos++
			d.skipSpace()
		case '}':
			d.pos++
			return nil
		default:
			return d.errorf("expected ',' or '}' in object")
		}
	}
}

func (d *decoder) readArray(s pcommon.Slice, depth int) error {
	if depth >= maxDepth {
		return errTooDeep
	}
	d.pos++ // '['
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == ']' {
		d.pos++
		return nil
	}
	for {
		if err := d.readValue(s.AppendEmpty(), depth+1); err != nil {
			return err
		}
		d.skipSpace()
		if d.pos >= len(d.data) {
			return d.errorf("unterminated array")
		}
		switch d.data[d.pos] {
		case ',':
			d.pos++
			d.skipSpace()
		case ']':
			d.pos++
			return nil
		default:
			return d.errorf("expected ',' or ']' in array")
		}
	}
}

func (d *decoder) readValue(v pcommon.Value, depth int) error {
	if d.pos >= len(d.data) {
		return d.errorf("unexpected end of input")
	}
	switch c := d.data[d.pos]; {
	case c == '"':
		raw, escaped, err := d.scanString()
		if err != nil {
			return err
		}
		v.SetStr(d.stringOf(raw, escaped))
	case c == '{':
		m := v.SetEmptyMap()
		m.EnsureCapacity(nestedCapacity)
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
func (d *decoder) readKey() (string, error) {
	raw, escaped, err := d.scanString()
	if err != nil {
		return "", err
	}
	if escaped || !utf8.Valid(raw) {
		return d.stringOf(raw, escaped), nil
	}
	if k, ok := d.keys[string(raw)]; ok { // the compiler does not allocate for this lookup
		return k, nil
	}
	k := string(raw)
	if len(d.keys) < maxCachedNames {
		d.keys[k] = k
	}
	return k, nil
}

func (d *decoder) internValue(raw []byte, escaped bool) string {
	if escaped || !utf8.Valid(raw) {
		return d.stringOf(raw, escaped)
	}
	if s, ok := d.values[string(raw)]; ok {
		return s
	}
	s := string(raw)
	if len(d.values) < maxCachedNames {
		d.values[s] = s
	}
	return s
}

// scanString moves past a string starting at '"' and returns its raw content (without quotes)
// and whether it holds escapes.
func (d *decoder) scanString() (raw []byte, escaped bool, err error) {
	d.pos++ // opening quote
	start := d.pos
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			raw = d.data[start:d.pos]
			d.pos++
			return raw, escaped, nil
		case c == '\\':
			escaped = true
			if d.pos+1 >= len(d.data) {
				return nil, false, d.errorf("unterminated escape")
			}
			switch d.data[d.pos+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				d.pos += 2
			case 'u':
				if d.pos+6 > len(d.data) {
					return nil, false, d.errorf("short \\u escape")
				}
				for _, h := range d.data[d.pos+2 : d.pos+6] {
					if !isHex(h) {
						return nil, false, d.errorf("invalid \\u escape")
					}
				}
				d.pos += 6
			default:
				return nil, false, d.errorf("invalid escape")
			}
		case c < 0x20:
			return nil, false, d.errorf("control character in string")
		default:
			d.pos++
		}
	}
	return nil, false, d.errorf("unterminated string")
}

// stringOf converts validated raw string content into a Go string, resolving escapes and
// replacing invalid UTF-8 bytes one by one with U+FFFD (as encoding/json does).
func (d *decoder) stringOf(raw []byte, escaped bool) string {
	if !escaped && utf8.Valid(raw) {
		return string(raw)
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
	if d.data[d.pos] == '-' {
		d.pos++
	}
	intStart := d.pos
	switch {
	case d.pos < len(d.data) && d.data[d.pos] == '0':
		d.pos++
	case d.pos < len(d.data) && '1' <= d.data[d.pos] && d.data[d.pos] <= '9':
		for d.pos < len(d.data) && isDigit(d.data[d.pos]) {
			d.pos++
		}
	default:
		return d.errorf("invalid number")
	}
	isInt := true
	if d.pos < len(d.data) && d.data[d.pos] == '.' {
		isInt = false
		d.pos++
		if d.pos >= len(d.data) || !isDigit(d.data[d.pos]) {
			return d.errorf("invalid number")
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
			return d.errorf("invalid number")
		}
		for d.pos < len(d.data) && isDigit(d.data[d.pos]) {
			d.pos++
		}
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

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
