package simulator

import (
	"fmt"
	"strconv"
	"strings"
)

// Query is a parsed statement of the supported subset:
//
//	SELECT * | item [, item]... FROM table [WHERE cond [AND cond]...]
//	  [ORDER BY ref [ASC|DESC] [, ...]] [LIMIT n] [;]
//	item := ref [[AS] alias] | to_json(ref) [[AS] alias]
//	ref  := column[.field]...
//	cond := ref op operand | operand op ref        op := = < <= > >=
//	operand := :param | 'string' | TIMESTAMP 'x' | DATE 'x' | number
type Query struct {
	Star    bool
	Items   []SelectItem
	Table   string
	Where   []Condition
	OrderBy []OrderItem
	Limit   int // -1 = none
}

// SelectItem is one output column.
type SelectItem struct {
	Ref    []string // column path
	ToJSON bool
	Alias  string
}

// Name is the output column name: the alias, or what Databricks names it.
func (s SelectItem) Name() string {
	if s.Alias != "" {
		return s.Alias
	}
	if s.ToJSON {
		return "to_json(" + strings.Join(s.Ref, ".") + ")"
	}
	return s.Ref[len(s.Ref)-1]
}

// Operand is a literal or a parameter.
type Operand struct {
	Param string // non-empty for :name
	Kind  string // STRING, TIMESTAMP, DATE, NUMBER
	Text  string
}

// Condition is ref op operand (normalised so the column is on the left).
type Condition struct {
	Ref   []string
	Op    string
	Value Operand
}

// OrderItem is one ORDER BY key.
type OrderItem struct {
	Ref  []string
	Desc bool
}

type parser struct {
	toks []token
	i    int
}

// ParseSQL parses a statement of the supported subset.
func ParseSQL(src string) (*Query, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	q, err := p.query()
	if err != nil {
		return nil, err
	}
	return q, nil
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

func (p *parser) errf(t token, format string, args ...any) error {
	return &SQLError{t.pos, fmt.Sprintf(format, args...)}
}

func (p *parser) isKeyword(kw string) bool {
	t := p.peek()
	return t.kind == tokKeyword && t.text == kw
}

func (p *parser) isSymbol(s string) bool {
	t := p.peek()
	return t.kind == tokSymbol && t.text == s
}

func (p *parser) expectKeyword(kw string) error {
	t := p.next()
	if t.kind != tokKeyword || t.text != kw {
		return p.errf(t, "expected %s, found %s", kw, describe(t))
	}
	return nil
}

func describe(t token) string {
	switch t.kind {
	case tokEOF:
		return "end of input"
	case tokString:
		return "string '" + t.text + "'"
	case tokParam:
		return "parameter :" + t.text
	}
	return "'" + t.text + "'"
}

func (p *parser) query() (*Query, error) {
	q := &Query{Limit: -1}
	if err := p.expectKeyword("SELECT"); err != nil {
		return nil, err
	}
	if p.isSymbol("*") {
		p.next()
		q.Star = true
	} else {
		for {
			item, err := p.selectItem()
			if err != nil {
				return nil, err
			}
			q.Items = append(q.Items, item)
			if !p.isSymbol(",") {
				break
			}
			p.next()
		}
	}
	if err := p.expectKeyword("FROM"); err != nil {
		return nil, err
	}
	table, err := p.ref()
	if err != nil {
		return nil, err
	}
	q.Table = strings.Join(table, ".")
	if p.isKeyword("WHERE") {
		p.next()
		for {
			c, err := p.condition()
			if err != nil {
				return nil, err
			}
			q.Where = append(q.Where, c)
			if !p.isKeyword("AND") {
				break
			}
			p.next()
		}
	}
	if p.isKeyword("ORDER") {
		p.next()
		if err := p.expectKeyword("BY"); err != nil {
			return nil, err
		}
		for {
			r, err := p.ref()
			if err != nil {
				return nil, err
			}
			o := OrderItem{Ref: r}
			if p.isKeyword("ASC") {
				p.next()
			} else if p.isKeyword("DESC") {
				p.next()
				o.Desc = true
			}
			q.OrderBy = append(q.OrderBy, o)
			if !p.isSymbol(",") {
				break
			}
			p.next()
		}
	}
	if p.isKeyword("LIMIT") {
		p.next()
		t := p.next()
		n, err := strconv.Atoi(t.text)
		if t.kind != tokNumber || err != nil || n < 0 {
			return nil, p.errf(t, "LIMIT expects a non-negative integer, found %s", describe(t))
		}
		q.Limit = n
	}
	if p.isSymbol(";") {
		p.next()
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, p.errf(t, "unsupported or unexpected %s", describe(t))
	}
	return q, nil
}

// ref parses ident{.ident}.
func (p *parser) ref() ([]string, error) {
	t := p.next()
	if t.kind != tokIdent {
		return nil, p.errf(t, "expected a column or table name, found %s", describe(t))
	}
	parts := []string{t.text}
	for p.isSymbol(".") {
		p.next()
		t = p.next()
		if t.kind != tokIdent {
			return nil, p.errf(t, "expected a name after '.', found %s", describe(t))
		}
		parts = append(parts, t.text)
	}
	return parts, nil
}

func (p *parser) selectItem() (SelectItem, error) {
	var item SelectItem
	t := p.peek()
	if t.kind == tokIdent && t.text == "to_json" && p.toks[p.i+1].kind == tokSymbol && p.toks[p.i+1].text == "(" {
		p.next()
		p.next()
		r, err := p.ref()
		if err != nil {
			return item, err
		}
		if !p.isSymbol(")") {
			return item, p.errf(p.peek(), "expected ')' after to_json argument, found %s", describe(p.peek()))
		}
		p.next()
		item = SelectItem{Ref: r, ToJSON: true}
	} else {
		r, err := p.ref()
		if err != nil {
			return item, err
		}
		if p.isSymbol("(") {
			return item, p.errf(p.peek(), "function %s is not supported", strings.Join(r, "."))
		}
		item = SelectItem{Ref: r}
	}
	if p.isKeyword("AS") {
		p.next()
		t := p.next()
		if t.kind != tokIdent {
			return item, p.errf(t, "expected an alias after AS, found %s", describe(t))
		}
		item.Alias = t.text
	} else if p.peek().kind == tokIdent {
		item.Alias = p.next().text
	}
	return item, nil
}

var flipOp = map[string]string{"=": "=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}

func (p *parser) condition() (Condition, error) {
	if p.peek().kind == tokIdent {
		r, err := p.ref()
		if err != nil {
			return Condition{}, err
		}
		op, err := p.op()
		if err != nil {
			return Condition{}, err
		}
		v, err := p.operand()
		if err != nil {
			return Condition{}, err
		}
		return Condition{Ref: r, Op: op, Value: v}, nil
	}
	v, err := p.operand()
	if err != nil {
		return Condition{}, err
	}
	op, err := p.op()
	if err != nil {
		return Condition{}, err
	}
	r, err := p.ref()
	if err != nil {
		return Condition{}, err
	}
	return Condition{Ref: r, Op: flipOp[op], Value: v}, nil
}

func (p *parser) op() (string, error) {
	t := p.next()
	if t.kind != tokOp || flipOp[t.text] == "" {
		return "", p.errf(t, "expected one of = < <= > >=, found %s", describe(t))
	}
	return t.text, nil
}

func (p *parser) operand() (Operand, error) {
	t := p.next()
	switch {
	case t.kind == tokParam:
		return Operand{Param: t.text}, nil
	case t.kind == tokString:
		return Operand{Kind: "STRING", Text: t.text}, nil
	case t.kind == tokNumber:
		return Operand{Kind: "NUMBER", Text: t.text}, nil
	case t.kind == tokKeyword && (t.text == "TIMESTAMP" || t.text == "DATE"):
		s := p.next()
		if s.kind != tokString {
			return Operand{}, p.errf(s, "expected a string after %s, found %s", t.text, describe(s))
		}
		return Operand{Kind: t.text, Text: s.text}, nil
	}
	return Operand{}, p.errf(t, "expected a parameter or a literal, found %s", describe(t))
}
