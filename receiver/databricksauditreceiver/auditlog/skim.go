package auditlog

import (
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Reading the members of a JSON document without building a pdata map of it: the path of
// body_format: string, where the Body is the record's text and only the fields the normaliser
// needs are read. It accepts exactly the documents decodeObject accepts (same grammar, same
// depth limit) and reads the same values (FuzzStringBodyMatchesMapBody).

// skimObject checks that data (whose string form is text, valid UTF-8: see bodyText) holds
// exactly one JSON object and calls member for each of its keys with d.pos at the key's value;
// member must consume the value (with skipValue, scalar, anyValue or members at depth 1).
func (d *decoder) skimObject(data []byte, text string, member func(key string) error) error {
	d.data, d.text, d.pos, d.ordinal, d.validUTF8 = data, text, 0, 0, true
	defer func() { d.data, d.text = nil, "" }() // do not keep the caller's buffer alive
	d.skipSpace()
	if d.pos >= len(d.data) || d.data[d.pos] != '{' {
		return errNotObject
	}
	if err := d.members(0, member); err != nil {
		return err
	}
	d.skipSpace()
	if d.pos != len(d.data) {
		return d.errorf("data after the object")
	}
	return nil
}

// members reads the object starting at d.pos ('{') like readObject, calling member for each
// key with d.pos at its value; the values are at depth+1.
func (d *decoder) members(depth int, member func(key string) error) error {
	more, err := d.openContainer(depth, '}')
	for more && err == nil {
		var key internedKey
		if key, _, err = d.memberKey(); err == nil {
			if err = member(key.name); err == nil {
				more, err = d.nextMember('}')
			}
		}
	}
	return err
}

// skipValue moves past the value at d.pos, checking it as readValue does.
func (d *decoder) skipValue(depth int) error {
	if d.pos >= len(d.data) {
		return d.errorf("unexpected end of input")
	}
	switch c := d.data[d.pos]; {
	case c == '"':
		_, _, _, err := d.scanString()
		return err
	case c == '{':
		return d.members(depth, func(string) error { return d.skipValue(depth + 1) })
	case c == '[':
		return d.skipArray(depth)
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	case c == '-' || ('0' <= c && c <= '9'):
		_, _, err := d.scanNumber()
		return err
	}
	return d.errorf("unexpected character")
}

func (d *decoder) skipArray(depth int) error {
	more, err := d.openContainer(depth, ']')
	for more && err == nil {
		if err = d.skipValue(depth + 1); err == nil {
			more, err = d.nextMember(']')
		}
	}
	return err
}

// scalar reads the value at d.pos as scalarString renders it: a string as it is (a substring of
// the document when it has no escapes), a number or boolean as text, anything else as "".
func (d *decoder) scalar(depth int) (string, error) {
	switch d.data[d.pos] {
	case '"':
		start, end, escaped, err := d.scanString()
		if err != nil {
			return "", err
		}
		return d.stringAt(start, end, escaped), nil
	case 'n':
		return "", d.literal("null")
	case '{', '[':
		return "", d.skipValue(depth)
	}
	v, err := d.anyValue(depth)
	return scalarString(v), err
}

// anyValue decodes the value at d.pos into a scratch Value that the next call overwrites; null
// gives an empty Value, as in a decoded map.
func (d *decoder) anyValue(depth int) (pcommon.Value, error) {
	if d.value == (pcommon.Value{}) {
		d.value, d.empty = pcommon.NewValueEmpty(), pcommon.NewValueEmpty()
	}
	if d.data[d.pos] == 'n' {
		return d.empty, d.literal("null")
	}
	return d.value, d.readValue(d.value, depth)
}

// isNull reports whether the value at d.pos is the null literal (not checking it).
func (d *decoder) isNull() bool {
	return d.data[d.pos] == 'n'
}

// bodyText is a record's text as a string Body: OTLP strings must be valid UTF-8.
func bodyText(raw []byte) string {
	if utf8.Valid(raw) {
		return string(raw)
	}
	return replaceInvalidUTF8(string(raw))
}

// replaceInvalidUTF8 replaces every byte of s that is not part of valid UTF-8 with U+FFFD, one
// per byte, as the map decoder does for each string value; the Body must be valid UTF-8 for OTLP.
func replaceInvalidUTF8(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteString(string(utf8.RuneError))
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}
