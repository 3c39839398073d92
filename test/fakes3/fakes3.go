// Package fakes3 is an in-process S3 server for tests: the subset of the S3 REST API
// (ListObjectsV2, GetObject, HeadObject, PutObject, path-style addressing) that gocloud.dev's
// s3blob driver uses, so the audit receiver's `s3://` delivery source and the simulator's
// object store can be exercised without AWS. It serves gofakes3's in-memory backend and accepts
// any credentials.
package fakes3

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Static credentials that the tests hand to AWS SDK clients (through AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY); the server does not check signatures.
const (
	AccessKeyID     = "AKIAFAKES3TEST000000"
	SecretAccessKey = "fakes3-secret-access-key"
	Region          = "us-east-1"
)

// Server is a running fake S3 endpoint.
type Server struct {
	http *httptest.Server

	mu       sync.Mutex
	requests map[string]int
}

// Start serves a fresh in-memory store holding the given (empty) buckets on a loopback port.
func Start(buckets ...string) (*Server, error) {
	backend := s3mem.New()
	for _, b := range buckets {
		if err := backend.CreateBucket(b); err != nil {
			return nil, fmt.Errorf("create bucket %q: %w", b, err)
		}
	}
	s := &Server{requests: map[string]int{}}
	api := gofakes3.New(backend).Server()
	s.http = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.count(r)
		if r.Header.Get("Range") != "" {
			w = &rangeResponse{ResponseWriter: w}
		}
		api.ServeHTTP(w, r)
	}))
	return s, nil
}

// URL is the endpoint, e.g. http://127.0.0.1:41234.
func (s *Server) URL() string { return s.http.URL }

// BucketURL is the gocloud.dev URL of a key prefix in bucket on this server, in the form the
// audit receiver's `delivery.url` and the simulator's `--delivery-url` take: path-style
// addressing over plain HTTP against the custom endpoint.
func (s *Server) BucketURL(bucket, prefix string) string {
	q := url.Values{}
	q.Set("region", Region)
	q.Set("endpoint", s.http.URL)
	q.Set("use_path_style", "true")
	q.Set("disable_https", "true")
	return (&url.URL{Scheme: "s3", Host: bucket, Path: "/" + prefix, RawQuery: q.Encode()}).String()
}

// Env returns the environment variables an AWS SDK client needs to talk to this server with
// static credentials, keeping the machine's own AWS configuration out of the way.
func Env() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + SecretAccessKey,
		"AWS_SESSION_TOKEN=",
		"AWS_REGION=" + Region,
		"AWS_PROFILE=",
		"AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// Requests reports how many requests of each kind (LIST, GET, HEAD, PUT, ...) were served, so a
// test can tell that a client really went through S3.
func (s *Server) Requests() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.requests))
	for k, v := range s.requests {
		out[k] = v
	}
	return out
}

func (s *Server) count(r *http.Request) {
	kind := r.Method
	if r.Method == http.MethodGet && r.URL.Query().Get("list-type") == "2" {
		kind = "LIST"
	}
	s.mu.Lock()
	s.requests[kind]++
	s.mu.Unlock()
}

// rangeResponse drops the whole-object checksums gofakes3 sends with a ranged GET: S3 sends none
// for a part of an object, and the AWS SDK would check the part against them and fail.
type rangeResponse struct {
	http.ResponseWriter
	wroteHeader bool
}

func (r *rangeResponse) WriteHeader(code int) {
	if !r.wroteHeader {
		r.wroteHeader = true
		for k := range r.Header() {
			if strings.HasPrefix(strings.ToLower(k), "x-amz-checksum-") {
				r.Header().Del(k)
			}
		}
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *rangeResponse) Write(b []byte) (int, error) {
	if !r.wroteHeader {
		r.WriteHeader(http.StatusOK)
	}
	return r.ResponseWriter.Write(b)
}

// Close stops the server.
func (s *Server) Close() { s.http.Close() }
