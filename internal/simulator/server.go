package simulator

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ServerOptions configures the simulated workspace API.
type ServerOptions struct {
	Token        string        // accepted personal access token (default "dapi-simulator-token")
	ClientID     string        // OAuth M2M client id (default "sim-client")
	ClientSecret string        // OAuth M2M client secret (default "sim-secret")
	TokenTTL     time.Duration // lifetime of issued OAuth tokens (default 1h)
	// Clock is the simulated "now": only what happened before it is visible. Default: the end
	// of the generated timeline (backfill: everything visible). See LiveClock.
	Clock            func() time.Time
	PageSize         int           // default and maximum page size of paged lists (default 100)
	ChunkRows        int           // rows per statement result chunk (default: scenario value)
	StatementLatency time.Duration // time statements stay PENDING/RUNNING (0 = scenario value, negative = none)
	Faults           []FaultRule
}

// LiveClock maps wall time to simulated time: the timeline starts at simStart when the clock is
// created and runs speedup times faster than the wall clock, stopping at simEnd.
func LiveClock(simStart, simEnd time.Time, speedup float64, wall func() time.Time) func() time.Time {
	if wall == nil {
		wall = time.Now
	}
	w0 := wall()
	return func() time.Time {
		t := simStart.Add(time.Duration(float64(wall().Sub(w0)) * speedup))
		if t.After(simEnd) {
			return simEnd
		}
		return t
	}
}

// Server serves a generated World over the Databricks REST, SCIM, OAuth and SQL Statement
// Execution APIs. It is an http.Handler: use it with httptest.NewServer or http.Server.
type Server struct {
	world  *World
	opts   ServerOptions
	mux    *http.ServeMux
	faults *faultState

	groupChanges []*AuditEvent

	mu         sync.Mutex
	tokens     map[string]time.Time // issued OAuth token -> wall-clock expiry
	statements map[string]*statement
	nextID     int
}

// NewServer builds the API server for a world.
func NewServer(w *World, opts ServerOptions) *Server {
	if opts.Token == "" {
		opts.Token = "dapi-simulator-token"
	}
	if opts.ClientID == "" {
		opts.ClientID = "sim-client"
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = "sim-secret"
	}
	if opts.TokenTTL == 0 {
		opts.TokenTTL = time.Hour
	}
	if opts.Clock == nil {
		end := w.End
		opts.Clock = func() time.Time { return end }
	}
	if opts.PageSize <= 0 {
		opts.PageSize = 100
	}
	if opts.ChunkRows <= 0 {
		opts.ChunkRows = w.Scenario.Statements.ChunkRows
	}
	if opts.StatementLatency == 0 {
		opts.StatementLatency = w.Scenario.Statements.Latency.D()
	}
	faults := opts.Faults
	if faults == nil {
		faults = w.Scenario.Faults
	}
	s := &Server{world: w, opts: opts, mux: http.NewServeMux(), faults: newFaultState(faults),
		tokens: map[string]time.Time{}, statements: map[string]*statement{}, groupChanges: groupChangeEvents(w)}
	s.routes()
	return s
}

// World returns the generated world the server serves.
func (s *Server) World() *World { return s.world }

// Now is the current simulated time.
func (s *Server) Now() time.Time { return s.opts.Clock() }

// Stats returns the counters of what the server served so far.
func (s *Server) Stats() Stats { return s.faults.snapshot() }

// SetFaults replaces the fault rules (and restarts their counting).
func (s *Server) SetFaults(rules []FaultRule) { s.faults.set(rules) }

// Token is the accepted personal access token.
func (s *Server) Token() string { return s.opts.Token }

type route struct {
	pattern string
	public  bool
	h       http.HandlerFunc
}

func (s *Server) routes() {
	rs := []route{
		{"GET /.well-known/databricks-config", true, s.hostMetadata},
		{"GET /oidc/.well-known/oauth-authorization-server", true, s.oauthMetadata},
		{"POST /oidc/v1/token", true, s.oauthToken},
		{"GET /sim/stats", true, s.simStats},
		{"GET /sim/faults", true, s.simGetFaults},
		{"PUT /sim/faults", true, s.simPutFaults},
		{"GET /sim/truth", true, s.simTruth},
		{"GET /sim/clock", true, s.simClock},
		{"GET /api/2.1/clusters/list", false, s.listClusters},
		{"GET /api/2.0/clusters/list", false, s.listClusters},
		{"GET /api/2.1/clusters/get", false, s.getCluster},
		{"GET /api/2.0/clusters/get", false, s.getCluster},
		{"POST /api/2.1/clusters/events", false, s.clusterEvents},
		{"POST /api/2.0/clusters/events", false, s.clusterEvents},
		{"GET /api/2.2/jobs/list", false, s.listJobs},
		{"GET /api/2.1/jobs/list", false, s.listJobs},
		{"GET /api/2.2/jobs/runs/list", false, s.listRuns},
		{"GET /api/2.1/jobs/runs/list", false, s.listRuns},
		{"GET /api/2.0/sql/warehouses", false, s.listWarehouses},
		{"GET /api/2.0/sql/warehouses/{id}", false, s.getWarehouse},
		{"GET /api/2.0/preview/scim/v2/Me", false, s.scimMe},
		{"GET /api/2.0/preview/scim/v2/Users", false, s.scimUsers},
		{"GET /api/2.0/preview/scim/v2/Groups", false, s.scimGroups},
		{"GET /api/2.0/preview/scim/v2/ServicePrincipals", false, s.scimServicePrincipals},
		{"GET /api/2.0/accounts/{account}/scim/v2/Users", false, s.scimUsers},
		{"GET /api/2.0/accounts/{account}/scim/v2/Groups", false, s.scimGroups},
		{"GET /api/2.0/accounts/{account}/scim/v2/ServicePrincipals", false, s.scimServicePrincipals},
		{"POST /api/2.0/sql/statements", false, s.executeStatement},
		{"GET /api/2.0/sql/statements/{id}", false, s.getStatement},
		{"GET /api/2.0/sql/statements/{id}/result/chunks/{n}", false, s.getChunk},
		{"POST /api/2.0/sql/statements/{id}/cancel", false, s.cancelStatement},
	}
	for _, r := range rs {
		s.mux.Handle(r.pattern, s.wrap(r))
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.faults.count(func(st *Stats) { st.Requests["unknown"]++ })
		writeError(w, http.StatusNotFound, "ENDPOINT_NOT_FOUND", "No API found for '"+r.Method+" "+r.URL.Path+"'")
	})
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// statusRecorder buffers a response so faults can truncate or corrupt it.
type statusRecorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (r *statusRecorder) Header() http.Header         { return r.header }
func (r *statusRecorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *statusRecorder) WriteHeader(code int)        { r.code = code }

func (s *Server) wrap(rt route) http.Handler {
	name := rt.pattern
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.faults.count(func(st *Stats) { st.Requests[name]++ })
		fault, faulty := FaultRule{}, false
		if !strings.HasPrefix(r.URL.Path, "/sim/") {
			fault, faulty = s.faults.match(r.URL.Path)
		}
		if faulty {
			switch fault.Kind {
			case Fault429:
				s.respondError(w, http.StatusTooManyRequests, "REQUEST_LIMIT_EXCEEDED", "Too many requests. Please wait a moment and try again.")
				return
			case Fault429RetryAfter:
				ra := fault.RetryAfter
				if ra <= 0 {
					ra = time.Second
				}
				w.Header().Set("Retry-After", strconv.Itoa(int((ra+time.Second-1)/time.Second)))
				s.respondError(w, http.StatusTooManyRequests, "REQUEST_LIMIT_EXCEEDED", "Workspace "+s.world.Scenario.Workspace.ID+" exceeded the concurrent limit of 30 requests.")
				return
			case Fault500:
				s.respondError(w, http.StatusInternalServerError, "INTERNAL_ERROR", "Internal error: the request could not be processed.")
				return
			case Fault503:
				s.respondError(w, http.StatusServiceUnavailable, "TEMPORARILY_UNAVAILABLE", "The service is temporarily unavailable.")
				return
			case FaultExpiredToken:
				s.respondError(w, http.StatusUnauthorized, "UNAUTHENTICATED", "Token is expired.")
				return
			case FaultSlow:
				d := fault.Delay
				if d <= 0 {
					d = 2 * time.Second
				}
				if !sleepCtx(r.Context(), d) {
					return
				}
				faulty = false
			}
		}
		if !rt.public && !s.authorized(r) {
			s.faults.count(func(st *Stats) { st.Unauthorized++ })
			s.respondError(w, http.StatusUnauthorized, "UNAUTHENTICATED", "Invalid access token.")
			return
		}
		if !faulty {
			rec := &statusRecorder{header: w.Header(), code: http.StatusOK}
			rt.h(rec, r)
			s.countResponse(rec.code)
			w.WriteHeader(rec.code)
			_, _ = w.Write(rec.body.Bytes())
			return
		}
		rec := &statusRecorder{header: w.Header(), code: http.StatusOK}
		rt.h(rec, r)
		s.countResponse(rec.code)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rec.code)
		body := rec.body.Bytes()
		if fault.Kind == FaultTruncated {
			_, _ = w.Write(body[:len(body)/2])
			return
		}
		_, _ = w.Write([]byte("<html><body>upstream connect error or disconnect/reset before headers</body>"))
	})
}

func (s *Server) countResponse(code int) {
	s.faults.count(func(st *Stats) { st.Responses[strconv.Itoa(code)]++ })
}

func (s *Server) respondError(w http.ResponseWriter, code int, errCode, msg string) {
	s.countResponse(code)
	writeError(w, code, errCode, msg)
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (s *Server) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || tok == "" {
		return false
	}
	if tok == s.opts.Token {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.tokens[tok]
	return ok && time.Now().Before(exp)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError writes the Databricks REST error shape.
func writeError(w http.ResponseWriter, code int, errCode, msg string) {
	writeJSON(w, code, map[string]string{"error_code": errCode, "message": msg})
}

func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *Server) hostMetadata(w http.ResponseWriter, r *http.Request) {
	ws := s.world.Scenario.Workspace
	writeJSON(w, http.StatusOK, map[string]any{"oidc_endpoint": baseURL(r) + "/oidc", "account_id": ws.AccountID,
		"workspace_id": ws.ID, "host_type": "WORKSPACE_HOST"})
}

func (s *Server) oauthMetadata(w http.ResponseWriter, r *http.Request) {
	b := baseURL(r)
	writeJSON(w, http.StatusOK, map[string]any{"issuer": b + "/oidc", "authorization_endpoint": b + "/oidc/v1/authorize",
		"token_endpoint": b + "/oidc/v1/token", "grant_types_supported": []string{"client_credentials", "authorization_code", "refresh_token"},
		"scopes_supported": []string{"all-apis", "offline_access"}})
}

func (s *Server) oauthToken(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if r.PostForm.Get("grant_type") != "client_credentials" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type", "error_description": "only client_credentials is supported"})
		return
	}
	if id != s.opts.ClientID || secret != s.opts.ClientSecret {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client", "error_description": "Client authentication failed"})
		return
	}
	s.mu.Lock()
	s.nextID++
	tok := "dsim-oauth-" + stableHex(40, s.opts.ClientSecret, s.nextID, time.Now().UnixNano())
	for old, exp := range s.tokens {
		if time.Now().After(exp) {
			delete(s.tokens, old)
		}
	}
	s.tokens[tok] = time.Now().Add(s.opts.TokenTTL)
	s.mu.Unlock()
	s.faults.count(func(st *Stats) { st.TokensIssued++ })
	scope := r.PostForm.Get("scope")
	if scope == "" {
		scope = "all-apis"
	}
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": int(s.opts.TokenTTL.Seconds()), "scope": scope})
}

func (s *Server) simStats(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Stats())
}

func (s *Server) simGetFaults(w http.ResponseWriter, _ *http.Request) {
	s.faults.mu.Lock()
	rules := append([]FaultRule{}, s.faults.rules...)
	s.faults.mu.Unlock()
	writeJSON(w, http.StatusOK, rules)
}

func (s *Server) simPutFaults(w http.ResponseWriter, r *http.Request) {
	var rules []FaultRule
	if err := json.NewDecoder(r.Body).Decode(&rules); err != nil {
		writeError(w, http.StatusBadRequest, "MALFORMED_REQUEST", err.Error())
		return
	}
	for _, f := range rules {
		if err := f.validate(); err != nil {
			writeError(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", err.Error())
			return
		}
	}
	s.SetFaults(rules)
	writeJSON(w, http.StatusOK, rules)
}

func (s *Server) simTruth(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, NewGroundTruth(s.world))
}

func (s *Server) simClock(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"now": s.Now().Format(time.RFC3339Nano),
		"start": s.world.Start.Format(time.RFC3339), "end": s.world.End.Format(time.RFC3339)})
}

// Page tokens are opaque to clients; here they carry an offset.
func encodePageToken(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(offset)))
}

func decodePageToken(tok string) (int, bool) {
	if tok == "" {
		return 0, true
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimPrefix(string(b), "offset:"))
	return n, err == nil && n >= 0 && strings.HasPrefix(string(b), "offset:")
}

// page returns the [lo, hi) window and the next token for a list of n items.
func (s *Server) page(w http.ResponseWriter, r *http.Request, n int, sizeParam string, maxSize int) (lo, hi int, next string, ok bool) {
	off, valid := decodePageToken(r.URL.Query().Get("page_token"))
	if !valid {
		writeError(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", "Invalid page token")
		return 0, 0, "", false
	}
	size := maxSize
	if v := r.URL.Query().Get(sizeParam); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil || p < 0 {
			writeError(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", sizeParam+" must be a non-negative integer")
			return 0, 0, "", false
		}
		if p > 0 && p < maxSize {
			size = p
		}
	}
	lo = min(off, n)
	hi = min(lo+size, n)
	if hi < n {
		next = encodePageToken(hi)
	}
	return lo, hi, next, true
}
