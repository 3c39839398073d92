package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The exporter's own golden webhook payload: the printer must read what the exporter sends.
var exporterGolden = filepath.Join("..", "..", "exporter", "alertexporter", "testdata", "golden", "webhook.json")

func TestPrinterShowsTheExporterPayload(t *testing.T) {
	payload, err := os.ReadFile(exporterGolden)
	if err != nil {
		t.Fatal(err)
	}
	var console, archive bytes.Buffer
	srv := httptest.NewServer(newPrinter(&console, &archive))
	defer srv.Close()

	resp, err := http.Post(srv.URL+"/alerts", "application/json", bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	want := "09:12:00 HIGH     DBX-W01  alice@corp.com: 6 failed logins in 12m from 198.51.100.7  [workspace 1234567890123456 · T1110, T1110.001]\n"
	if console.String() != want {
		t.Errorf("console:\n got %q\nwant %q", console.String(), want)
	}
	if lines := strings.Split(strings.TrimSuffix(archive.String(), "\n"), "\n"); len(lines) != 1 || !strings.Contains(lines[0], `"security_rule.uuid":"DBX-W01"`) {
		t.Errorf("archive is not one compact JSON line of the payload: %q", archive.String())
	}
}

func TestPrinterRejectsWhatItCannotRead(t *testing.T) {
	tests := []struct {
		name   string
		method string
		body   string
		status int
	}{
		{"not JSON", http.MethodPost, "hello", http.StatusBadRequest},
		{"wrong type", http.MethodPost, `{"body": 42}`, http.StatusBadRequest},
		{"GET", http.MethodGet, "", http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var console, archive bytes.Buffer
			rec := httptest.NewRecorder()
			newPrinter(&console, &archive).ServeHTTP(rec, httptest.NewRequest(tt.method, "/", strings.NewReader(tt.body)))
			if rec.Code != tt.status {
				t.Errorf("status %d, want %d", rec.Code, tt.status)
			}
			if archive.Len() != 0 {
				t.Errorf("archived %q", archive.String())
			}
		})
	}
}

func TestFormatNotification(t *testing.T) {
	tests := []struct {
		name string
		n    notification
		want string
	}{
		{
			name: "severity from the attributes, reason as fallback body, held-back count",
			n: func() notification {
				var n notification
				n.Attributes = map[string]any{"anomaly.severity": "critical", "security_rule.uuid": "DBX-S01", "anomaly.reason": "admin granted"}
				n.Alert.HeldBack = 3
				return n
			}(),
			want: "--:--:-- CRITICAL DBX-S01  admin granted  [+3 similar held back]",
		},
		{
			name: "nothing known",
			n:    notification{},
			want: "--:--:--                   ",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := formatNotification(tt.n); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}
