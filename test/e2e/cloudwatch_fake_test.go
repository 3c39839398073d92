//go:build e2e

package e2e

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
)

// fakeCloudWatchLogs speaks the CloudWatch Logs JSON 1.1 protocol (`X-Amz-Target:
// Logs_20140328.<Operation>`) for the operations the awscloudwatchlogs and awsemf exporters call
// (contrib internal/aws/cwlogs): PutLogEvents, CreateLogStream, CreateLogGroup,
// PutRetentionPolicy, TagResource, DescribeLogStreams. Like the real service it refuses events
// for a group or stream that does not exist (ResourceNotFoundException), which is what makes the
// exporters create them, and answers duplicates with ResourceAlreadyExistsException.
type fakeCloudWatchLogs struct {
	mu        sync.Mutex
	groups    map[string]map[string][]cwLogEvent // group -> stream -> events
	retention map[string]int32
	calls     map[string]int
	bad       []string // requests the fake could not understand
}

type cwLogEvent struct {
	Timestamp int64  `json:"timestamp"`
	Message   string `json:"message"`
}

func startFakeCloudWatchLogs(t *testing.T) (*fakeCloudWatchLogs, string) {
	t.Helper()
	f := &fakeCloudWatchLogs{
		groups:    map[string]map[string][]cwLogEvent{},
		retention: map[string]int32{},
		calls:     map[string]int{},
	}
	srv := httptest.NewServer(f)
	t.Cleanup(func() {
		srv.Close()
		f.mu.Lock()
		defer f.mu.Unlock()
		if len(f.bad) > 0 {
			t.Errorf("the fake CloudWatch Logs endpoint got requests it does not understand: %v", f.bad)
		}
	})
	return f, srv.URL
}

func (f *fakeCloudWatchLogs) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "Logs_20140328.")
	if r.Method != http.MethodPost || !ok {
		f.fail(w, fmt.Sprintf("%s %s target %q", r.Method, r.URL.Path, r.Header.Get("X-Amz-Target")))
		return
	}
	if r.Header.Get("Authorization") == "" || !strings.Contains(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256") {
		f.fail(w, op+": request is not SigV4-signed")
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			f.fail(w, op+": "+err.Error())
			return
		}
		body = zr
	}
	var req struct {
		LogGroupName    string       `json:"logGroupName"`
		LogStreamName   string       `json:"logStreamName"`
		LogEvents       []cwLogEvent `json:"logEvents"`
		RetentionInDays int32        `json:"retentionInDays"`
	}
	if err := json.NewDecoder(body).Decode(&req); err != nil {
		f.fail(w, op+": "+err.Error())
		return
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[op]++
	streams, groupExists := f.groups[req.LogGroupName]
	switch op {
	case "CreateLogGroup":
		if groupExists {
			awsError(w, "ResourceAlreadyExistsException", "The specified log group already exists")
			return
		}
		f.groups[req.LogGroupName] = map[string][]cwLogEvent{}
		writeAWSJSON(w, struct{}{})
	case "CreateLogStream":
		if !groupExists {
			awsError(w, "ResourceNotFoundException", "The specified log group does not exist.")
			return
		}
		if _, ok := streams[req.LogStreamName]; ok {
			awsError(w, "ResourceAlreadyExistsException", "The specified log stream already exists")
			return
		}
		streams[req.LogStreamName] = nil
		writeAWSJSON(w, struct{}{})
	case "PutRetentionPolicy":
		if !groupExists {
			awsError(w, "ResourceNotFoundException", "The specified log group does not exist.")
			return
		}
		f.retention[req.LogGroupName] = req.RetentionInDays
		writeAWSJSON(w, struct{}{})
	case "TagResource":
		writeAWSJSON(w, struct{}{})
	case "DescribeLogStreams":
		if !groupExists {
			awsError(w, "ResourceNotFoundException", "The specified log group does not exist.")
			return
		}
		type stream struct {
			LogStreamName string `json:"logStreamName"`
		}
		out := struct {
			LogStreams []stream `json:"logStreams"`
		}{LogStreams: []stream{}}
		for name := range streams {
			out.LogStreams = append(out.LogStreams, stream{name})
		}
		writeAWSJSON(w, out)
	case "PutLogEvents":
		if _, ok := streams[req.LogStreamName]; !groupExists || !ok {
			awsError(w, "ResourceNotFoundException", "The specified log stream does not exist.")
			return
		}
		if len(req.LogEvents) == 0 {
			awsError(w, "InvalidParameterException", "logEvents must not be empty")
			return
		}
		streams[req.LogStreamName] = append(streams[req.LogStreamName], req.LogEvents...)
		// The exporter stops re-sending a batch only when it gets a token back.
		writeAWSJSON(w, map[string]string{"nextSequenceToken": fmt.Sprint(len(streams[req.LogStreamName]))})
	default:
		f.bad = append(f.bad, "unknown operation "+op)
		awsError(w, "UnknownOperationException", op)
	}
}

func (f *fakeCloudWatchLogs) fail(w http.ResponseWriter, what string) {
	f.mu.Lock()
	f.bad = append(f.bad, what)
	f.mu.Unlock()
	awsError(w, "InvalidParameterException", what)
}

func awsError(w http.ResponseWriter, typ, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Errortype", typ)
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
}

func writeAWSJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(v)
}

// events returns a copy of the events of every stream of a log group.
func (f *fakeCloudWatchLogs) events(group string) []cwLogEvent {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []cwLogEvent
	for _, evs := range f.groups[group] {
		out = append(out, evs...)
	}
	return out
}

func (f *fakeCloudWatchLogs) groupNames() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var names []string
	for g := range f.groups {
		names = append(names, g)
	}
	sort.Strings(names)
	return names
}

func (f *fakeCloudWatchLogs) retentionOf(group string) int32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.retention[group]
}
