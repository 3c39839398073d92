//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// fakeAppInsights is an Application Insights ingestion endpoint: `POST /v2.1/track` with a
// (usually gzip-compressed) stream of newline-delimited JSON envelopes, answered with the
// service's itemsReceived/itemsAccepted summary.
type fakeAppInsights struct {
	mu        sync.Mutex
	envelopes []aiEnvelope
	bad       []string
}

// aiEnvelope is the part of an Application Insights envelope the tests read.
type aiEnvelope struct {
	Name string            `json:"name"`
	IKey string            `json:"iKey"`
	Time string            `json:"time"`
	Tags map[string]string `json:"tags"`
	Data struct {
		BaseType string `json:"baseType"`
		BaseData struct {
			Message       string            `json:"message"`
			SeverityLevel int               `json:"severityLevel"`
			Properties    map[string]string `json:"properties"`
			Metrics       []struct {
				Name  string  `json:"name"`
				Value float64 `json:"value"`
			} `json:"metrics"`
		} `json:"baseData"`
	} `json:"data"`
}

func startFakeAppInsights(t *testing.T) (*fakeAppInsights, string) {
	t.Helper()
	f := &fakeAppInsights{}
	srv := httptest.NewServer(f)
	t.Cleanup(func() {
		srv.Close()
		f.mu.Lock()
		defer f.mu.Unlock()
		if len(f.bad) > 0 {
			t.Errorf("the fake ingestion endpoint got requests it does not understand: %v", f.bad)
		}
	})
	return f, srv.URL
}

func (f *fakeAppInsights) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v2.1/track" {
		f.reject(w, http.StatusNotFound, fmt.Sprintf("%s %s", r.Method, r.URL.Path))
		return
	}
	// The whole body is read before it is parsed: a request the exporter abandons (the
	// collector shutting down mid-upload) ends in a read error, and its last, cut line must
	// not be reported as an envelope the fake does not understand.
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "aborted upload: "+err.Error(), http.StatusBadRequest)
		return
	}
	var body io.Reader = bytes.NewReader(raw)
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(body)
		if err != nil {
			f.reject(w, http.StatusBadRequest, "gzip: "+err.Error())
			return
		}
		body = zr
	}
	var batch []aiEnvelope
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	var lines [][]byte
	for sc.Scan() {
		if len(sc.Bytes()) > 0 {
			lines = append(lines, bytes.Clone(sc.Bytes()))
		}
	}
	if err := sc.Err(); err != nil {
		f.reject(w, http.StatusBadRequest, err.Error())
		return
	}
	for _, line := range lines {
		var env aiEnvelope
		if err := json.Unmarshal(line, &env); err != nil {
			f.reject(w, http.StatusBadRequest, "envelope: "+err.Error())
			return
		}
		batch = append(batch, env)
	}
	f.mu.Lock()
	f.envelopes = append(f.envelopes, batch...)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"itemsReceived": len(batch), "itemsAccepted": len(batch), "errors": []any{}})
}

func (f *fakeAppInsights) reject(w http.ResponseWriter, code int, what string) {
	f.mu.Lock()
	f.bad = append(f.bad, what)
	f.mu.Unlock()
	http.Error(w, what, code)
}

// find returns the first envelope of baseType for which match is true.
func (f *fakeAppInsights) find(baseType string, match func(aiEnvelope) bool) (aiEnvelope, int, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, e := range f.envelopes {
		if e.Data.BaseType != baseType {
			continue
		}
		n++
		if match(e) {
			return e, n, true
		}
	}
	return aiEnvelope{}, n, false
}
