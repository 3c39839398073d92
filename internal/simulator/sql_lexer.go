package simulator

import (
	"fmt"
	"strings"
)

type tokenKind int

const (
	tokEOF tokenKind = iota
	tokIdent
	tokKeyword
	tokString
	tokNumber
	tokParam
	tokOp     // = < <= > >= and the rejected != <>
	tokSymbol // , . ( ) * ;
)

type token struct {
	kind tokenKind
	text string // keywords upper-cased; strings unquoted
	pos  int
}

var sqlKeywords = map[string]bool{
	"SELECT": true, "FROM": true, "WHERE": true, "AND": true, "ORDER": true, "BY": true, "ASC": true, "DESC": true,
	"LIMIT": true, "AS": true, "TIMESTAMP": true, "DATE": true,
	// recognised only to be rejected with a clear message
	"OR": true, "NOT": true, "JOIN": true, "GROUP": true, "HAVING": true, "UNION": true, "IN": true, "LIKE": true,
	"BETWEEN": true, "IS": true, "NULL": true, "DISTINCT": true, "OFFSET": true, "WITH": true,
}

// SQLError is a syntax or semantic error in a statement; the server reports it the way the
// Statement Execution API does (status FAILED with error.message).
type SQLError struct {
	Pos int
	Msg string
}

func (e *SQLError) Error() string {
	return fmt.Sprintf("[PARSE_SYNTAX_ERROR] %s (position %d)", e.Msg, e.Pos)
}

func lex(src string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '-' && i+1 < len(src) && src[i+1] == '-':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case isIdentStart(c):
			j := i
			for j < len(src) && isIdentPart(src[j]) {
				j++
			}
			word := src[i:j]
			if up := strings.ToUpper(word); sqlKeywords[up] {
				toks = append(toks, token{tokKeyword, up, i})
			} else {
				toks = append(toks, token{tokIdent, strings.ToLower(word), i})
			}
			i = j
		case c == '`':
			j := strings.IndexByte(src[i+1:], '`')
			if j < 0 {
				return nil, &SQLError{i, "unterminated quoted identifier"}
			}
			toks = append(toks, token{tokIdent, strings.ToLower(src[i+1 : i+1+j]), i})
			i += j + 2
		case c == '\'':
			var b strings.Builder
			j := i + 1
			for {
				if j >= len(src) {
					return nil, &SQLError{i, "unterminated string literal"}
				}
				if src[j] == '\'' {
					if j+1 < len(src) && src[j+1] == '\'' {
						b.WriteByte('\'')
						j += 2
						continue
					}
					break
				}
				b.WriteByte(src[j])
				j++
			}
			toks = append(toks, token{tokString, b.String(), i})
			i = j + 1
		case c >= '0' && c <= '9' || (c == '-' && i+1 < len(src) && src[i+1] >= '0' && src[i+1] <= '9' && numberMayStart(toks)):
			j := i + 1
			dot := false
			for j < len(src) && (src[j] >= '0' && src[j] <= '9' || (src[j] == '.' && !dot)) {
				dot = dot || src[j] == '.'
				j++
			}
			toks = append(toks, token{tokNumber, src[i:j], i})
			i = j
		case c == ':':
			j := i + 1
			for j < len(src) && isIdentPart(src[j]) {
				j++
			}
			if j == i+1 {
				return nil, &SQLError{i, "expected a parameter name after ':'"}
			}
			toks = append(toks, token{tokParam, src[i+1 : j], i})
			i = j
		case c == '<' || c == '>' || c == '=' || c == '!':
			j := i + 1
			if j < len(src) && (src[j] == '=' || (c == '<' && src[j] == '>')) {
				j++
			}
			toks = append(toks, token{tokOp, src[i:j], i})
			i = j
		case strings.IndexByte(",.()*;", c) >= 0:
			toks = append(toks, token{tokSymbol, string(c), i})
			i++
		default:
			return nil, &SQLError{i, fmt.Sprintf("unexpected character %q", c)}
		}
	}
	return append(toks, token{tokEOF, "", len(src)}), nil
}

// numberMayStart: a '-' starts a negative number only where an operand is expected.
func numberMayStart(toks []token) bool {
	if len(toks) == 0 {
		return true
	}
	last := toks[len(toks)-1]
	return last.kind == tokOp || last.kind == tokKeyword || (last.kind == tokSymbol && last.text != ")")
}

func isIdentStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isIdentPart(c byte) bool  { return isIdentStart(c) || c >= '0' && c <= '9' }
