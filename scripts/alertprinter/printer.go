package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// notification is the part of the alert exporter's webhook payload that the console line shows
// (exporter/alertexporter README, "Webhook").
type notification struct {
	Timestamp  time.Time      `json:"timestamp"`
	Body       string         `json:"body"`
	Attributes map[string]any `json:"attributes"`
	Resource   map[string]any `json:"resource"`
	Alert      struct {
		Severity   string `json:"severity"`
		HeldBack   int    `json:"held_back_since_previous_notification"`
		ReceivedAt string `json:"received_time"`
	} `json:"alert"`
}

// printer answers every POST: 200 and one console line for a notification it can read, 400
// (which the exporter does not retry) for anything else.
type printer struct {
	mu      sync.Mutex
	console io.Writer
	archive io.Writer // nil: no archive
}

func newPrinter(console, archive io.Writer) *printer {
	return &printer{console: console, archive: archive}
}

func (p *printer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST a finding", http.StatusMethodNotAllowed)
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var n notification
	if err := json.Unmarshal(raw, &n); err != nil {
		p.mu.Lock()
		fmt.Fprintf(p.console, "alertprinter: unreadable notification (%v): %.200s\n", err, raw)
		p.mu.Unlock()
		http.Error(w, "not an alert exporter notification: "+err.Error(), http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintln(p.console, formatNotification(n))
	if p.archive != nil {
		compact := bytes.Buffer{}
		if json.Compact(&compact, raw) == nil {
			compact.WriteByte('\n')
			_, _ = p.archive.Write(compact.Bytes())
		}
	}
	w.WriteHeader(http.StatusOK)
}

// formatNotification renders one finding as a console line:
//
//	09:12:00 HIGH     DBX-W01  alice@corp.com: 6 failed logins in 12m from 198.51.100.7  [workspace 1234567890123456 · T1110, T1110.001]
func formatNotification(n notification) string {
	severity := n.Alert.Severity
	if severity == "" {
		severity = attr(n.Attributes, "anomaly.severity")
	}
	when := "--:--:--"
	if !n.Timestamp.IsZero() {
		when = n.Timestamp.UTC().Format("15:04:05")
	}
	rule := attr(n.Attributes, "security_rule.uuid")
	body := n.Body
	if body == "" {
		body = attr(n.Attributes, "anomaly.reason")
	}
	var context []string
	if ws := attr(n.Resource, "databricks.workspace.id"); ws != "" {
		context = append(context, "workspace "+ws)
	}
	if ids := attr(n.Attributes, "threat.technique.id"); ids != "" {
		context = append(context, ids)
	}
	if n.Alert.HeldBack > 0 {
		context = append(context, fmt.Sprintf("+%d similar held back", n.Alert.HeldBack))
	}
	line := fmt.Sprintf("%s %-8s %-8s %s", when, strings.ToUpper(severity), rule, body)
	if len(context) > 0 {
		line += "  [" + strings.Join(context, " · ") + "]"
	}
	return line
}

// attr renders an attribute as text; lists are joined with ", ".
func attr(m map[string]any, key string) string {
	switch v := m[key].(type) {
	case nil:
		return ""
	case string:
		return v
	case []any:
		parts := make([]string, 0, len(v))
		for _, e := range v {
			parts = append(parts, fmt.Sprint(e))
		}
		return strings.Join(parts, ", ")
	default:
		return fmt.Sprint(v)
	}
}
