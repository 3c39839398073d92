package simulator

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Param is a named statement parameter as sent in parameters[].
type Param struct {
	Name  string  `json:"name"`
	Value *string `json:"value,omitempty"`
	Type  string  `json:"type,omitempty"`
}

// ResultSet is the outcome of a query: output columns and JSON_ARRAY rows (nil = SQL NULL).
type ResultSet struct {
	Columns []Column
	Rows    [][]*string
}

// colPath addresses a column, or a field inside a STRUCT column.
type colPath struct {
	col      int
	fields   []string
	typeName string
	typeText string
}

func resolve(t *Table, ref []string) (colPath, error) {
	ci := t.columnIndex(ref[0])
	if ci < 0 {
		return colPath{}, &SQLError{0, fmt.Sprintf("[UNRESOLVED_COLUMN] A column with name `%s` cannot be resolved in %s", strings.Join(ref, "."), t.Name)}
	}
	c := t.Columns[ci]
	p := colPath{col: ci, typeName: c.TypeName, typeText: c.TypeText}
	for _, f := range ref[1:] {
		if p.typeName != "STRUCT" {
			return colPath{}, &SQLError{0, fmt.Sprintf("[INVALID_EXTRACT_BASE_FIELD_TYPE] Can't extract field %q from %s column `%s`", f, p.typeName, c.Name)}
		}
		ft, ok := structFieldType(p.typeText, f)
		if !ok {
			return colPath{}, &SQLError{0, fmt.Sprintf("[FIELD_NOT_FOUND] No such struct field `%s` in `%s`", f, strings.Join(ref, "."))}
		}
		p.fields = append(p.fields, f)
		p.typeText = ft
		p.typeName = typeNameOf(ft)
	}
	return p, nil
}

// structFieldType finds a field's type in "struct<a:string,b:int>" (flat structs only).
func structFieldType(typeText, field string) (string, bool) {
	inner := strings.TrimSuffix(strings.TrimPrefix(typeText, "struct<"), ">")
	for _, part := range strings.Split(inner, ",") {
		name, typ, ok := strings.Cut(part, ":")
		if ok && strings.TrimSpace(name) == field {
			return strings.TrimSpace(typ), true
		}
	}
	return "", false
}

func typeNameOf(typeText string) string {
	switch t := strings.ToLower(typeText); {
	case t == "string":
		return "STRING"
	case t == "int":
		return "INT"
	case t == "bigint":
		return "LONG"
	case t == "double":
		return "DOUBLE"
	case t == "boolean":
		return "BOOLEAN"
	case t == "timestamp":
		return "TIMESTAMP"
	case t == "date":
		return "DATE"
	case strings.HasPrefix(t, "decimal"):
		return "DECIMAL"
	case strings.HasPrefix(t, "struct"):
		return "STRUCT"
	case strings.HasPrefix(t, "map"):
		return "MAP"
	}
	return "STRING"
}

func (p colPath) get(row func(int) any) any {
	v := row(p.col)
	for _, f := range p.fields {
		s, ok := v.(Struct)
		if !ok {
			return nil
		}
		v, _ = s.Get(f)
	}
	return v
}

// typedCondition is a WHERE condition with its operand converted to the column's type.
type typedCondition struct {
	path  colPath
	op    string
	value any
}

func bindOperand(o Operand, params map[string]Param) (string, string, error) {
	if o.Param == "" {
		return o.Text, o.Kind, nil
	}
	p, ok := params[o.Param]
	if !ok {
		return "", "", &SQLError{0, fmt.Sprintf("[UNBOUND_SQL_PARAMETER] Found the unbound parameter: %s", o.Param)}
	}
	if p.Value == nil {
		return "", "NULL", nil
	}
	typ := strings.ToUpper(p.Type)
	if typ == "" {
		typ = "STRING"
	}
	return *p.Value, typ, nil
}

var timestampLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"}

func parseTimestamp(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, l := range timestampLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// convert casts an operand to the type of the column it is compared with, as Spark would.
func convert(text, kind, colType string) (any, error) {
	if kind == "NULL" {
		return nil, nil
	}
	bad := func() error {
		return &SQLError{0, fmt.Sprintf("[CAST_INVALID_INPUT] The value '%s' of the type %q cannot be cast to %q", text, kind, colType)}
	}
	switch colType {
	case "TIMESTAMP":
		t, ok := parseTimestamp(text)
		if !ok {
			return nil, bad()
		}
		return t, nil
	case "DATE":
		t, ok := parseTimestamp(text)
		if !ok {
			return nil, bad()
		}
		return Date(t.Format(time.DateOnly)), nil
	case "INT", "LONG", "DOUBLE", "DECIMAL":
		f, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
		if err != nil {
			return nil, bad()
		}
		return f, nil
	case "BOOLEAN":
		b, err := strconv.ParseBool(text)
		if err != nil {
			return nil, bad()
		}
		return b, nil
	case "STRING":
		return text, nil
	}
	return nil, &SQLError{0, fmt.Sprintf("[DATATYPE_MISMATCH] cannot compare a %s column with a literal", colType)}
}

// compareValues orders two non-null values of one column type.
func compareValues(a, b any) int {
	switch x := a.(type) {
	case time.Time:
		if y, ok := b.(time.Time); ok {
			return x.Compare(y)
		}
	case Date:
		return strings.Compare(string(x), fmt.Sprint(b))
	case string:
		return strings.Compare(x, fmt.Sprint(b))
	case bool:
		y, _ := b.(bool)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	}
	fa, fb := toFloat(a), toFloat(b)
	switch {
	case fa < fb:
		return -1
	case fa > fb:
		return 1
	}
	return 0
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case int:
		return float64(x)
	case float64:
		return x
	case Decimal:
		f, _ := strconv.ParseFloat(string(x), 64)
		return f
	}
	return 0
}

func (c typedCondition) match(row func(int) any) bool {
	v := c.path.get(row)
	if v == nil || c.value == nil {
		return false // comparisons with NULL are never true
	}
	n := compareValues(v, c.value)
	switch c.op {
	case "=":
		return n == 0
	case "<":
		return n < 0
	case "<=":
		return n <= 0
	case ">":
		return n > 0
	case ">=":
		return n >= 0
	}
	return false
}

// render turns a value into its JSON_ARRAY string form.
func render(v any) *string {
	if v == nil {
		return nil
	}
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case time.Time:
		s = x.UTC().Format("2006-01-02T15:04:05.000Z")
	case Date:
		s = string(x)
	case Decimal:
		s = string(x)
	case int64:
		s = strconv.FormatInt(x, 10)
	case float64:
		s = strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		s = strconv.FormatBool(x)
	default:
		s = string(jsonValue(v))
	}
	return &s
}

// jsonValue encodes STRUCT and MAP values the way to_json does (struct fields in order).
func jsonValue(v any) []byte {
	switch x := v.(type) {
	case Struct:
		var b strings.Builder
		b.WriteByte('{')
		for i, f := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			b.Write(marshalNoEscape(f.Name))
			b.WriteByte(':')
			b.Write(jsonValue(f.Value))
		}
		b.WriteByte('}')
		return []byte(b.String())
	case time.Time:
		return marshalNoEscape(x.UTC().Format("2006-01-02T15:04:05.000Z"))
	case Date:
		return marshalNoEscape(string(x))
	case Decimal:
		return []byte(x)
	}
	return marshalNoEscape(v)
}

// Execute runs a parsed query over a table.
func Execute(q *Query, t *Table, params []Param) (*ResultSet, error) {
	byName := map[string]Param{}
	for _, p := range params {
		byName[p.Name] = p
	}
	var conds []typedCondition
	var from, to time.Time
	for _, c := range q.Where {
		path, err := resolve(t, c.Ref)
		if err != nil {
			return nil, err
		}
		text, kind, err := bindOperand(c.Value, byName)
		if err != nil {
			return nil, err
		}
		v, err := convert(text, kind, path.typeName)
		if err != nil {
			return nil, err
		}
		conds = append(conds, typedCondition{path: path, op: c.Op, value: v})
		from, to = narrow(t, path, c.Op, v, from, to)
	}
	type outCol struct {
		path   colPath
		toJSON bool
	}
	var outs []outCol
	var cols []Column
	if q.Star {
		for i, c := range t.Columns {
			outs = append(outs, outCol{path: colPath{col: i, typeName: c.TypeName, typeText: c.TypeText}})
			cols = append(cols, c)
		}
	}
	aliases := map[string]int{}
	for _, it := range q.Items {
		path, err := resolve(t, it.Ref)
		if err != nil {
			return nil, err
		}
		c := Column{Name: it.Name(), TypeName: path.typeName, TypeText: path.typeText}
		if it.ToJSON {
			c.TypeName, c.TypeText = "STRING", "string"
		}
		aliases[c.Name] = len(outs)
		outs = append(outs, outCol{path: path, toJSON: it.ToJSON})
		cols = append(cols, c)
	}
	var keys []colPath
	for _, o := range q.OrderBy {
		if len(o.Ref) == 1 {
			if i, ok := aliases[o.Ref[0]]; ok && t.columnIndex(o.Ref[0]) < 0 {
				keys = append(keys, outs[i].path)
				continue
			}
		}
		path, err := resolve(t, o.Ref)
		if err != nil {
			return nil, err
		}
		keys = append(keys, path)
	}
	type row struct {
		out  []*string
		sort []any
	}
	var rows []row
	if t.Scan != nil {
		t.Scan(from, to, func(get func(int) any) {
			for _, c := range conds {
				if !c.match(get) {
					return
				}
			}
			r := row{out: make([]*string, len(outs))}
			for i, o := range outs {
				v := o.path.get(get)
				if o.toJSON && v != nil {
					s := string(jsonValue(v))
					r.out[i] = &s
				} else {
					r.out[i] = render(v)
				}
			}
			for _, k := range keys {
				r.sort = append(r.sort, k.get(get))
			}
			rows = append(rows, r)
		})
	}
	if len(keys) > 0 {
		sort.SliceStable(rows, func(i, j int) bool {
			for k, o := range q.OrderBy {
				a, b := rows[i].sort[k], rows[j].sort[k]
				var n int
				switch {
				case a == nil && b == nil:
					n = 0
				case a == nil:
					n = -1 // NULLS FIRST for ASC, NULLS LAST for DESC
				case b == nil:
					n = 1
				default:
					n = compareValues(a, b)
				}
				if o.Desc {
					n = -n
				}
				if n != 0 {
					return n < 0
				}
			}
			return false
		})
	}
	if q.Limit >= 0 && len(rows) > q.Limit {
		rows = rows[:q.Limit]
	}
	rs := &ResultSet{Columns: cols, Rows: make([][]*string, len(rows))}
	for i, r := range rows {
		rs.Rows[i] = r.out
	}
	return rs, nil
}

// narrow turns conditions on the table's time column (or a date derived from it) into scan
// bounds, the simulator's partition pruning. The WHERE is still applied to every row.
func narrow(t *Table, p colPath, op string, v any, from, to time.Time) (time.Time, time.Time) {
	if len(p.fields) > 0 || v == nil {
		return from, to
	}
	name := t.Columns[p.col].Name
	var lo, hi time.Time
	switch x := v.(type) {
	case time.Time:
		if name != t.TimeColumn {
			return from, to
		}
		lo, hi = x, x.Add(time.Nanosecond)
	case Date:
		d, err := time.Parse(time.DateOnly, string(x))
		if err != nil || name != t.DateColumn {
			return from, to
		}
		lo, hi = d, d.Add(24*time.Hour)
	default:
		return from, to
	}
	if op == ">" || op == ">=" || op == "=" {
		if from.IsZero() || lo.After(from) {
			from = lo
		}
	}
	if op == "<" || op == "<=" || op == "=" {
		if op == "<" {
			hi = lo
		}
		if to.IsZero() || hi.Before(to) {
			to = hi
		}
	}
	return from, to
}
