package simulator

import (
	"strings"
	"testing"
)

// FuzzParseSQL: any input either parses or returns a *SQLError; never panics. Whatever parses
// also executes over the fixture table without panicking, and a parsed query's LIMIT holds.
func FuzzParseSQL(f *testing.F) {
	for _, seed := range []string{
		"SELECT * FROM system.access.audit",
		"SELECT event_id, user_identity.email AS email, to_json(request_params) FROM system.access.audit WHERE event_date >= :d AND event_time > :t ORDER BY event_time DESC, event_id LIMIT 10",
		"select id from fixture where at >= TIMESTAMP '2026-01-05 10:00:00' and n = 2 and who.email = 'x@example.com'",
		"SELECT id FROM fixture WHERE DATE '2026-01-06' <= day;",
		"SELECT `id` i FROM fixture ORDER BY i",
		"SELECT a FROM t WHERE a = 'it''s' -- comment",
		"SELECT a FROM t WHERE a >= -1.5 LIMIT 0",
	} {
		f.Add(seed)
	}
	table := fixtureTable()
	v := "2026-01-05T11:00:00Z"
	params := []Param{{Name: "d", Value: &v, Type: "DATE"}, {Name: "t", Value: &v, Type: "TIMESTAMP"}}
	f.Fuzz(func(t *testing.T, src string) {
		q, err := ParseSQL(src)
		if err != nil {
			if _, ok := err.(*SQLError); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			if !strings.Contains(err.Error(), "PARSE_SYNTAX_ERROR") {
				t.Fatalf("unexpected error text %q", err)
			}
			return
		}
		if q.Table == "" || (!q.Star && len(q.Items) == 0) {
			t.Fatalf("parsed without a table or columns: %+v", q)
		}
		rs, err := Execute(q, table, params)
		if err != nil {
			return
		}
		if q.Limit >= 0 && len(rs.Rows) > q.Limit {
			t.Fatalf("LIMIT %d returned %d rows", q.Limit, len(rs.Rows))
		}
		for _, row := range rs.Rows {
			if len(row) != len(rs.Columns) {
				t.Fatalf("row has %d values for %d columns", len(row), len(rs.Columns))
			}
		}
	})
}
