package simulator

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseSQLAccepts(t *testing.T) {
	tests := []struct {
		name string
		sql  string
		want func(t *testing.T, q *Query)
	}{
		{"star", "SELECT * FROM system.access.audit", func(t *testing.T, q *Query) {
			assert.True(t, q.Star)
			assert.Equal(t, "system.access.audit", q.Table)
			assert.Equal(t, -1, q.Limit)
		}},
		{"receiver recipe", `SELECT event_id, event_time, user_identity.email, to_json(request_params) AS request_params,
			response.status_code FROM system.access.audit
			WHERE event_date >= :since_date AND event_time > :since_ts AND event_time <= :until_ts
			ORDER BY event_time LIMIT 50000;`, func(t *testing.T, q *Query) {
			require.Len(t, q.Items, 5)
			assert.Equal(t, []string{"user_identity", "email"}, q.Items[2].Ref)
			assert.Equal(t, "email", q.Items[2].Name())
			assert.True(t, q.Items[3].ToJSON)
			assert.Equal(t, "request_params", q.Items[3].Name())
			assert.Equal(t, "status_code", q.Items[4].Name())
			require.Len(t, q.Where, 3)
			assert.Equal(t, Condition{Ref: []string{"event_time"}, Op: ">", Value: Operand{Param: "since_ts"}}, q.Where[1])
			assert.Equal(t, 50000, q.Limit)
		}},
		{"literals and flipped comparison", "select a from t where TIMESTAMP '2026-01-01 00:00:00' <= b and c = 'it''s' and DATE '2026-01-02' > d and e >= -1.5", func(t *testing.T, q *Query) {
			require.Len(t, q.Where, 4)
			assert.Equal(t, Condition{Ref: []string{"b"}, Op: ">=", Value: Operand{Kind: "TIMESTAMP", Text: "2026-01-01 00:00:00"}}, q.Where[0])
			assert.Equal(t, Operand{Kind: "STRING", Text: "it's"}, q.Where[1].Value)
			assert.Equal(t, "<", q.Where[2].Op)
			assert.Equal(t, Operand{Kind: "NUMBER", Text: "-1.5"}, q.Where[3].Value)
		}},
		{"order by several keys, implicit alias, backticks", "SELECT `action_name` act, service_name FROM x ORDER BY service_name DESC, act ASC, event_time", func(t *testing.T, q *Query) {
			assert.Equal(t, "act", q.Items[0].Alias)
			assert.Equal(t, []OrderItem{{Ref: []string{"service_name"}, Desc: true}, {Ref: []string{"act"}}, {Ref: []string{"event_time"}}}, q.OrderBy)
		}},
		{"comments", "SELECT a -- the column\nFROM t", func(t *testing.T, q *Query) { assert.Equal(t, "t", q.Table) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := ParseSQL(tt.sql)
			require.NoError(t, err)
			tt.want(t, q)
		})
	}
}

func TestParseSQLRejects(t *testing.T) {
	tests := []struct{ sql, msg string }{
		{"", "expected SELECT"},
		{"DELETE FROM t", "expected SELECT"},
		{"SELECT a FROM t WHERE a = 1 OR b = 2", "unexpected 'OR'"},
		{"SELECT a FROM t JOIN u", "unexpected 'JOIN'"},
		{"SELECT count(a) FROM t", "function count is not supported"},
		{"SELECT a FROM t WHERE a != 1", "expected one of"},
		{"SELECT a FROM t WHERE a <> 1", "expected one of"},
		{"SELECT a FROM t WHERE a LIKE 'x'", "expected one of"},
		{"SELECT a FROM t WHERE a = b", "expected a parameter or a literal"},
		{"SELECT a FROM t LIMIT -1", "LIMIT expects"},
		{"SELECT a FROM t LIMIT x", "LIMIT expects"},
		{"SELECT a FROM t GROUP BY a", "unexpected 'GROUP'"},
		{"SELECT a FROM t WHERE a = 'open", "unterminated string"},
		{"SELECT a FROM t WHERE a = :", "parameter name"},
		{"SELECT a, FROM t", "expected a column"},
		{"SELECT a FROM t; SELECT b FROM t", "unexpected"},
		{"SELECT DISTINCT a FROM t", "expected a column"},
		{"SELECT a FROM t WHERE a = TIMESTAMP 5", "expected a string after TIMESTAMP"},
		{"SELECT a FROM t ORDER a", "expected BY"},
		{"SELECT a FROM t WHERE a = 1 #", "unexpected character"},
	}
	for _, tt := range tests {
		t.Run(tt.sql, func(t *testing.T) {
			_, err := ParseSQL(tt.sql)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.msg)
			assert.Contains(t, err.Error(), "PARSE_SYNTAX_ERROR")
		})
	}
}

// fixtureTable is a small table with every value kind, NULLs included.
func fixtureTable() *Table {
	t0 := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	type r struct {
		id    string
		at    time.Time
		n     int64
		who   any
		score float64
	}
	rows := []r{
		{"a", t0, 3, "x@example.com", 1.5},
		{"b", t0.Add(time.Hour), 1, nil, 2.25},
		{"c", t0.Add(2 * time.Hour), 2, "y@example.com", -1},
		{"d", t0.Add(26 * time.Hour), 2, "x@example.com", 0},
	}
	cols := []Column{{"id", "STRING", "string"}, {"at", "TIMESTAMP", "timestamp"}, {"day", "DATE", "date"}, {"n", "LONG", "bigint"},
		{"who", "STRUCT", "struct<email:string,code:int>"}, {"tags", "MAP", "map<string,string>"}, {"score", "DOUBLE", "double"}}
	return &Table{Name: "fixture", Columns: cols, TimeColumn: "at", DateColumn: "day",
		Scan: func(from, to time.Time, fn func(func(int) any)) {
			for _, x := range rows {
				x := x
				if (!from.IsZero() && x.at.Before(from)) || (!to.IsZero() && !x.at.Before(to)) {
					continue
				}
				fn(func(c int) any {
					switch c {
					case 0:
						return x.id
					case 1:
						return x.at
					case 2:
						return Date(x.at.Format(time.DateOnly))
					case 3:
						return x.n
					case 4:
						return Struct{{"email", x.who}, {"code", x.n * 100}}
					case 5:
						return map[string]string{"k": x.id, "a": "1"}
					default:
						return x.score
					}
				})
			}
		}}
}

func strp(s string) *string { return &s }

func TestExecuteSemantics(t *testing.T) {
	tests := []struct {
		name    string
		sql     string
		params  []Param
		want    [][]*string
		columns []string
	}{
		{"order desc with limit", "SELECT id FROM fixture ORDER BY at DESC LIMIT 2", nil,
			[][]*string{{strp("d")}, {strp("c")}}, []string{"id"}},
		{"multi-key order, NULLs of struct field", "SELECT id, who.email FROM fixture ORDER BY n, id DESC", nil,
			[][]*string{{strp("b"), nil}, {strp("d"), strp("x@example.com")}, {strp("c"), strp("y@example.com")}, {strp("a"), strp("x@example.com")}},
			[]string{"id", "email"}},
		{"timestamp params bound a window", "SELECT id FROM fixture WHERE at >= :from AND at < :to", []Param{
			{Name: "from", Value: strp("2026-01-05T11:00:00Z"), Type: "TIMESTAMP"}, {Name: "to", Value: strp("2026-01-05 12:00:00"), Type: "TIMESTAMP"}},
			[][]*string{{strp("b")}}, []string{"id"}},
		{"string param compared with a timestamp column is cast", "SELECT id FROM fixture WHERE at > :t", []Param{{Name: "t", Value: strp("2026-01-05T12:00:00.000Z")}},
			[][]*string{{strp("d")}}, []string{"id"}},
		{"date literal", "SELECT id FROM fixture WHERE day = DATE '2026-01-06'", nil, [][]*string{{strp("d")}}, []string{"id"}},
		{"date param from a timestamp", "SELECT id FROM fixture WHERE day <= :d ORDER BY id", []Param{{Name: "d", Value: strp("2026-01-05"), Type: "DATE"}},
			[][]*string{{strp("a")}, {strp("b")}, {strp("c")}}, []string{"id"}},
		{"numbers", "SELECT id, score FROM fixture WHERE n >= 2 AND score < 1 ORDER BY id", nil,
			[][]*string{{strp("c"), strp("-1")}, {strp("d"), strp("0")}}, []string{"id", "score"}},
		{"NULL never matches", "SELECT id FROM fixture WHERE who.email = 'nobody'", nil, [][]*string{}, []string{"id"}},
		{"struct field equality", "SELECT id FROM fixture WHERE who.email = 'x@example.com' ORDER BY id", nil,
			[][]*string{{strp("a")}, {strp("d")}}, []string{"id"}},
		{"to_json and raw struct/map rendering", "SELECT to_json(tags) AS t, who, tags FROM fixture WHERE id = 'b'", nil,
			[][]*string{{strp(`{"a":"1","k":"b"}`), strp(`{"email":null,"code":100}`), strp(`{"a":"1","k":"b"}`)}}, []string{"t", "who", "tags"}},
		{"timestamps render in ISO form", "SELECT at, day, n FROM fixture WHERE id = 'a'", nil,
			[][]*string{{strp("2026-01-05T10:00:00.000Z"), strp("2026-01-05"), strp("3")}}, []string{"at", "day", "n"}},
		{"order by alias", "SELECT n AS k, id FROM fixture ORDER BY k DESC, id LIMIT 3", nil,
			[][]*string{{strp("3"), strp("a")}, {strp("2"), strp("c")}, {strp("2"), strp("d")}}, []string{"k", "id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := ParseSQL(tt.sql)
			require.NoError(t, err)
			rs, err := Execute(q, fixtureTable(), tt.params)
			require.NoError(t, err)
			var names []string
			for _, c := range rs.Columns {
				names = append(names, c.Name)
			}
			assert.Equal(t, tt.columns, names)
			assert.Equal(t, tt.want, rs.Rows)
		})
	}
}

func TestExecuteErrors(t *testing.T) {
	tests := []struct {
		sql    string
		params []Param
		msg    string
	}{
		{"SELECT nope FROM fixture", nil, "UNRESOLVED_COLUMN"},
		{"SELECT who.nope FROM fixture", nil, "FIELD_NOT_FOUND"},
		{"SELECT id.x FROM fixture", nil, "INVALID_EXTRACT_BASE_FIELD_TYPE"},
		{"SELECT id FROM fixture WHERE at > :missing", nil, "UNBOUND_SQL_PARAMETER"},
		{"SELECT id FROM fixture WHERE at > 'yesterday'", nil, "CAST_INVALID_INPUT"},
		{"SELECT id FROM fixture WHERE n > :p", []Param{{Name: "p", Value: strp("many")}}, "CAST_INVALID_INPUT"},
		{"SELECT id FROM fixture WHERE tags = 'x'", nil, "DATATYPE_MISMATCH"},
		{"SELECT id FROM fixture ORDER BY nope", nil, "UNRESOLVED_COLUMN"},
	}
	for _, tt := range tests {
		t.Run(tt.sql, func(t *testing.T) {
			q, err := ParseSQL(tt.sql)
			require.NoError(t, err)
			_, err = Execute(q, fixtureTable(), tt.params)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.msg)
		})
	}
}

func TestSystemTablesQueryable(t *testing.T) {
	world := buildWorld(t, smallScenario(t))
	srv := NewServer(world, ServerOptions{})
	now := world.End
	for _, tc := range []struct{ table, sql string }{
		{"system.access.audit", "SELECT event_id, event_date, response.status_code, identity_metadata.run_as, to_json(request_params) FROM system.access.audit WHERE event_date >= DATE '2026-01-05' ORDER BY event_time LIMIT 5"},
		{"system.compute.node_timeline", "SELECT cluster_id, instance_id, start_time, cpu_user_percent, to_json(disk_free_bytes_per_mount_point) FROM system.compute.node_timeline WHERE start_time >= TIMESTAMP '2026-01-05 09:00:00' AND start_time < TIMESTAMP '2026-01-05 09:02:00' ORDER BY cluster_id, start_time, instance_id"},
		{"system.billing.usage", "SELECT record_id, sku_name, usage_quantity, usage_metadata.cluster_id, usage_start_time FROM system.billing.usage WHERE usage_date = DATE '2026-01-05' ORDER BY usage_start_time"},
	} {
		t.Run(tc.table, func(t *testing.T) {
			q, err := ParseSQL(tc.sql)
			require.NoError(t, err)
			rs, err := Execute(q, srv.table(tc.table, now), nil)
			require.NoError(t, err)
			require.NotEmpty(t, rs.Rows)
			for _, row := range rs.Rows {
				require.Len(t, row, len(q.Items))
				require.NotNil(t, row[0])
			}
		})
	}
}
