package simulator

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // user time zones must resolve on machines without zoneinfo
)

// Options override scenario values (command-line flags) and supply the wall clock for
// now-based starts.
type Options struct {
	Seed     int64         // 0 = scenario seed
	Users    int           // 0 = scenario value
	Rate     float64       // 0 = scenario value
	Start    string        // "" = scenario value
	Duration time.Duration // 0 = scenario value
	Now      time.Time     // resolves "now"-based starts; zero = time.Now()
	// Variant, when not 0, redraws what the users do inside their sessions (how many actions,
	// which ones, when) while keeping the population, who works when and from where: successive
	// variants of one timeline are fresh behaviour of the same identities, for loads that
	// repeat a short timeline without repeating its events.
	Variant int64
}

// World is everything generated for a scenario.
type World struct {
	Scenario   *Scenario
	Start, End time.Time
	Population *Population
	Events     []AuditEvent // sorted by time
	Truth      []Expectation
	Workspace  *Workspace
}

// Generate returns the audit events and the ground truth of a scenario.
func Generate(s *Scenario, opts Options) ([]AuditEvent, []Expectation, error) {
	w, err := Build(s, opts)
	if err != nil {
		return nil, nil, err
	}
	return w.Events, w.Truth, nil
}

// Build generates the whole simulated workspace.
func Build(base *Scenario, opts Options) (*World, error) {
	s := *base
	s.Attacks = append([]AttackSpec(nil), base.Attacks...)
	if opts.Seed != 0 {
		s.Seed = opts.Seed
	}
	if opts.Users > 0 {
		s.Users = opts.Users
	}
	if opts.Rate > 0 {
		s.Rate = opts.Rate
	}
	if opts.Start != "" {
		s.Start = opts.Start
	}
	if opts.Duration > 0 {
		s.Duration = Duration(opts.Duration)
	}
	s.variant = opts.Variant
	s.ApplyDefaults()
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	start, err := s.StartTime(opts.Now)
	if err != nil {
		return nil, err
	}
	w := &World{Scenario: &s, Start: start, End: start.Add(s.Duration.D())}
	w.Population = newPopulation(&s)
	b := newEventBuilder(&s)
	w.Workspace = newWorkspace(&s, w.Population, start, w.End)

	// The rate is honoured over the timeline: measure the users' session hours inside it first,
	// then give every session hour the same expected number of events.
	var activeHours float64
	for i, u := range w.Population.Users {
		userActivity(&s, b, w.Population, u, i, start, w.End, 0, &activeHours)
	}
	perHour := 0.0
	if activeHours > 0 {
		perHour = s.Rate * s.Duration.D().Seconds() / activeHours
	}
	var events []AuditEvent
	for i, u := range w.Population.Users {
		events = append(events, userActivity(&s, b, w.Population, u, i, start, w.End, perHour, nil)...)
	}
	for i, sp := range w.Population.ServicePrincipals {
		events = append(events, servicePrincipalActivity(&s, b, sp, i, start, w.End)...)
	}
	events = append(events, w.Workspace.auditEvents(b)...)

	attackEvents, truth, quiet := injectAttacks(&s, b, w.Population, start, w.End)
	events = silence(events, quiet)
	events = append(events, attackEvents...)
	for i := range events {
		if events[i].Time.Before(start) || !events[i].Time.Before(w.End) {
			events[i].Time = time.Time{} // dropped below
		}
	}
	kept := events[:0]
	for _, e := range events {
		if !e.Time.IsZero() {
			kept = append(kept, e)
		}
	}
	events = kept
	// Event ids are unique, so (time, id) is a total order and the result is deterministic.
	slices.SortFunc(events, func(a, b AuditEvent) int {
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		return strings.Compare(a.EventID, b.EventID)
	})
	assignDelivery(&s, events)
	w.Events = events
	w.Truth = truth
	return w, nil
}

// quietWindow suppresses an identity's normal activity (a dormant account).
type quietWindow struct {
	email    string
	from, to time.Time
}

func silence(events []AuditEvent, quiet []quietWindow) []AuditEvent {
	if len(quiet) == 0 {
		return events
	}
	out := events[:0]
	for _, e := range events {
		drop := false
		for _, q := range quiet {
			if e.Email == q.email && !e.Time.Before(q.from) && e.Time.Before(q.to) {
				drop = true
				break
			}
		}
		if !drop {
			out = append(out, e)
		}
	}
	return out
}

// assignDelivery decides when each event reaches its delivery object: all events of one
// object (workspace partition and interval) land together shortly after the interval ends; the
// late fraction lands LateBy after that, so the object is rewritten with extra lines.
func assignDelivery(s *Scenario, events []AuditEvent) {
	iv := s.Delivery.Interval.D()
	for i := range events {
		e := &events[i]
		bucket := e.Time.Truncate(iv)
		obj := stream(s.Seed, "deliver", e.WorkspaceID, bucket.Unix())
		e.DeliverAt = bucket.Add(iv + time.Duration(30+obj.IntN(150))*time.Second)
		if unit(uint64(len(e.EventID)), hashString(e.EventID)) < s.Delivery.LateFraction {
			e.DeliverAt = e.DeliverAt.Add(s.Delivery.LateBy.D())
		}
	}
}

func hashString(s string) uint64 {
	var h uint64 = 14695981039346656037
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * 1099511628211
	}
	return h
}

// userDayPlan is what a user does on one local day.
type userDayPlan struct {
	work, late bool
	travelIP   string
	newTable   string
}

// userActivity generates a user's benign events: a working session on working days in the
// user's own time zone, plus the scenario's benign novelty (travel, a new laptop, new tables,
// late evenings, mistyped passwords). With measure set it only adds up the session hours that
// fall inside the timeline.
func userActivity(s *Scenario, b *eventBuilder, pop *Population, u *Principal, idx int, start, end time.Time, perHour float64, measure *float64) []AuditEvent {
	shift := s.ActivityShift.D()
	out := userActivityAt(s, b, pop, u, idx, start.Add(-shift), end.Add(-shift), perHour, measure)
	for i := range out {
		out[i].Time = out[i].Time.Add(shift)
	}
	return out
}

// BusyShift is an activity_shift that puts now on a weekday at 16:00 UTC, when the simulated
// users in Europe and on both US coasts are at work: 0 when now is a weekday between 14:00 and
// 20:00 UTC already, otherwise the time since 16:00 UTC of the last weekday.
func BusyShift(now time.Time) time.Duration {
	now = now.UTC()
	weekday := func(t time.Time) bool { return t.Weekday() != time.Saturday && t.Weekday() != time.Sunday }
	if h := now.Hour(); weekday(now) && h >= 14 && h < 20 {
		return 0
	}
	day := now.Truncate(24 * time.Hour)
	for !weekday(day) || day.Add(16*time.Hour).After(now) {
		day = day.Add(-24 * time.Hour)
	}
	return now.Sub(day.Add(16 * time.Hour))
}

// userActivityAt generates u's sessions in [start, end) of its own working clock.
func userActivityAt(s *Scenario, b *eventBuilder, pop *Population, u *Principal, idx int, start, end time.Time, perHour float64, measure *float64) []AuditEvent {
	loc, err := time.LoadLocation(u.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	r := stream(s.Seed, "activity", u.Email)
	days := int(math.Ceil(end.Sub(start).Hours()/24)) + 1

	// Benign novelty is drawn up front so it does not depend on the event volume.
	month := 30.0
	var travelFrom, travelTo, newDeviceAt time.Time
	if r.Float64() < s.Novelty.TravelPerUserMonth*float64(days)/month {
		travelFrom = start.Add(time.Duration(r.IntN(days*24)) * time.Hour).Truncate(24 * time.Hour)
		travelTo = travelFrom.Add(time.Duration(2+r.IntN(4)) * 24 * time.Hour)
	}
	travelCIDR := pick(r, []string{"89.160.20.112/28", "216.160.83.56/29", "2.125.160.216/29"})
	if r.Float64() < s.Novelty.NewDevicePerUserMonth*float64(days)/month {
		newDeviceAt = start.Add(time.Duration(r.IntN(days*24)) * time.Hour)
	}
	myTables := append([]string(nil), u.Tables...)

	var out []AuditEvent
	dayStart := time.Date(start.In(loc).Year(), start.In(loc).Month(), start.In(loc).Day(), 0, 0, 0, 0, loc)
	for d := 0; d < days; d++ {
		day := dayStart.AddDate(0, 0, d)
		dr := stream(s.Seed, "day", u.Email, day.Format(time.DateOnly))
		plan := userDayPlan{work: day.Weekday() != time.Saturday && day.Weekday() != time.Sunday && dr.Float64() > 0.04}
		if !day.Before(travelFrom) && day.Before(travelTo) {
			plan.travelIP = addrIn(travelCIDR, dr.IntN(16))
		}
		if dr.Float64() < s.Novelty.LateWorkPerUserWeek/5 {
			plan.late = plan.work
		}
		if dr.Float64() < s.Novelty.NewTablePerUserWeek/5 {
			plan.newTable = pick(dr, pop.AllTables)
			if !contains(myTables, plan.newTable) {
				myTables = append(myTables, plan.newTable)
			}
		}
		browser := u.UserAgents[0]
		if !newDeviceAt.IsZero() && day.After(newDeviceAt) {
			browser = newDeviceUAs[idx%len(newDeviceUAs)]
		}
		ip := u.OfficeIP
		if dr.Float64() < 0.3 {
			ip = u.HomeIP
		}
		if plan.travelIP != "" {
			ip = plan.travelIP
		}
		sessionFn := func(from time.Time, span time.Duration, share float64, tag string) {
			if measure != nil {
				lo, hi := maxTime(from, start), minTime(from.Add(span), end)
				if hi.After(lo) {
					*measure += hi.Sub(lo).Hours() * share
				}
				return
			}
			label := fmt.Sprintf("u%d/%s/%s", idx, day.Format(time.DateOnly), tag)
			sr := stream(s.Seed, "session", label)
			if s.variant != 0 {
				sr = stream(s.Seed, "session", label, s.variant)
			}
			session := stableUUID(s.Seed, "session", label)
			n := int(perHour*span.Hours()*share*(0.6+0.8*sr.Float64()) + 0.5)
			if sr.Float64() < s.Novelty.FailedLoginPerUserDay {
				e := b.event(label, from.Add(-time.Duration(20+sr.IntN(90))*time.Second), u, "accounts", "samlLogin",
					loginParams(u.Email, "BROWSER_BYO_IDP_SAML"), 401)
				e.ErrorMessage = "SAML assertion validation failed"
				out = append(out, withClient(e, ip, browser, ""))
			}
			out = append(out, withClient(b.event(label, from, u, "accounts", "samlLogin",
				loginParams(u.Email, "BROWSER_BYO_IDP_SAML"), 200), ip, browser, session))
			for k := 0; k < n; k++ {
				t := from.Add(time.Duration(sr.Int64N(int64(span))))
				if t.Before(start) || !t.Before(end) {
					continue // outside the timeline: not worth building
				}
				out = append(out, userAction(s, b, pop, sr, u, label, t, ip, browser, session, myTables, plan.newTable))
			}
		}
		if plan.work {
			from := day.Add(time.Duration(u.WorkStart)*time.Hour + time.Duration(dr.IntN(60))*time.Minute)
			span := time.Duration(u.WorkEnd-u.WorkStart)*time.Hour - time.Duration(dr.IntN(60))*time.Minute
			sessionFn(from, span, 1, "work")
		}
		if plan.late {
			sessionFn(day.Add(21*time.Hour+time.Duration(dr.IntN(60))*time.Minute), 75*time.Minute, 0.3, "late")
		}
	}
	return out
}

// userAction draws one ordinary action from a realistic mix.
func userAction(s *Scenario, b *eventBuilder, pop *Population, r *rand.Rand, u *Principal, label string, t time.Time, ip, browser, session string, myTables []string, newTable string) AuditEvent {
	table := pick(r, myTables)
	if newTable != "" && r.Float64() < 0.3 {
		table = newTable
	}
	ev := func(svc, act string, params map[string]string, status int) AuditEvent {
		return withClient(b.event(label, t, u, svc, act, params, status), ip, browser, session)
	}
	x := r.Float64()
	switch {
	case x < 0.25:
		e := ev("unityCatalog", "generateTemporaryTableCredential",
			map[string]string{"table_full_name": table, "table_id": stableUUID("table", table), "operation": "READ"}, 200)
		if r.Float64() < 0.5 {
			// Reads issued by a cluster come from the data plane with a runtime user agent.
			e.SourceIP, e.UserAgent, e.SessionID = fmt.Sprintf("10.%d.%d.%d", 20+r.IntN(5), r.IntN(255), 1+r.IntN(250)), serviceUAs[1], ""
		}
		return e
	case x < 0.37:
		return ev("unityCatalog", "getTable", map[string]string{"full_name_arg": table}, 200)
	case x < 0.47:
		nb := fmt.Sprintf("/Users/%s/%s", u.Email, pick(r, []string{"explore", "etl-dev", "report", "scratch"}))
		return ev("notebook", "attachNotebook", map[string]string{"path": nb, "clusterId": clusterID(s, r.IntN(s.Clusters)), "notebookId": stableDigits(16, nb)}, 200)
	case x < 0.57:
		return ev("databrickssql", "executeAdhocQuery", map[string]string{"queryId": stableUUID(u.Email, "query", r.IntN(20))}, 200)
	case x < 0.65:
		if len(u.UserAgents) > 1 {
			e := ev("accounts", "tokenLogin", map[string]string{"user": u.Email, "tokenId": stableHex(32, u.Email, "pat"), "authenticationMethod": "API_EXT_PAT_TOKEN"}, 200)
			e.UserAgent, e.SessionID = u.UserAgents[1], ""
			return e
		}
		return ev("workspace", "getRoleAssignment", map[string]string{}, 200)
	case x < 0.70:
		sec := u.Secrets[0]
		scope, key := splitSecret(sec)
		e := ev("secrets", "getSecret", map[string]string{"scope": scope, "key": key}, 200)
		e.SourceIP, e.UserAgent = fmt.Sprintf("10.%d.%d.%d", 20+r.IntN(5), r.IntN(255), 1+r.IntN(250)), serviceUAs[0]
		return e
	case x < 0.74:
		return ev("workspace", "workspaceExport", map[string]string{"notebookFullPath": "/Users/" + u.Email + "/report", "workspaceExportFormat": "SOURCE", "workspaceExportDirectDownload": "true"}, 200)
	case x < 0.76:
		return ev("databrickssql", "downloadQueryResult", map[string]string{"queryId": stableUUID(u.Email, "query", 1), "queryResultId": stableUUID(label, t.Unix()), "fileType": "csv"}, 200)
	case x < 0.82:
		return ev("workspace", "fileCreate", map[string]string{"path": fmt.Sprintf("/Users/%s/notes-%d.py", u.Email, r.IntN(50))}, 200)
	case x < 0.84:
		return ev("notebook", "deleteNotebook", map[string]string{"notebookId": stableDigits(16, u.Email, r.IntN(99)), "path": fmt.Sprintf("/Users/%s/old-%d", u.Email, r.IntN(99))}, 200)
	case x < 0.88:
		return ev("jobs", "runNow", map[string]string{"job_id": jobID(s, r.IntN(s.Jobs))}, 200)
	case x < 0.90:
		denied := pick(r, pop.AllTables)
		return ev("unityCatalog", "getTable", map[string]string{"full_name_arg": denied}, 403)
	case x < 0.93 && u.Admin:
		return ev("clusters", "changeClusterAcl", map[string]string{"aclPermissionSet": "CAN_RESTART", "targetUserId": stableDigits(16, "target", r.IntN(s.Users)), "resourceId": clusterID(s, r.IntN(s.Clusters))}, 200)
	case x < 0.96:
		return ev("clusters", "start", map[string]string{"cluster_id": clusterID(s, r.IntN(s.Clusters))}, 200)
	default:
		return ev("accounts", "getRoleAssignment", map[string]string{}, 200)
	}
}

func splitSecret(s string) (scope, key string) {
	for i := range s {
		if s[i] == '/' {
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}

// servicePrincipalActivity: each service principal runs on an hourly schedule at its own
// minute, mints an OAuth token, reads its secret and reads/writes its tables.
func servicePrincipalActivity(s *Scenario, b *eventBuilder, sp *Principal, idx int, start, end time.Time) []AuditEvent {
	var out []AuditEvent
	ua := sp.UserAgents[0]
	first := start.Truncate(time.Hour).Add(time.Duration(sp.ScheduleMin) * time.Minute)
	for t := first; t.Before(end); t = t.Add(time.Hour) {
		label := "sp" + strconv.Itoa(idx) + "/" + strconv.FormatInt(t.Unix(), 10)
		r := stream(s.Seed, "sprun", label)
		ev := func(at time.Time, svc, act string, p map[string]string) AuditEvent {
			return withClient(b.event(label, at, sp, svc, act, p, 200), sp.OfficeIP, ua, "")
		}
		out = append(out, ev(t, "accounts", "mintOAuthToken", map[string]string{"grant_type": "client_credentials", "scope": "all-apis", "client_id": sp.ApplicationID, "expires_in": "3600"}))
		scope, key := splitSecret(sp.Secrets[0])
		out = append(out, ev(t.Add(2*time.Second), "secrets", "getSecret", map[string]string{"scope": scope, "key": key}))
		for k, tbl := range sp.Tables {
			op := "READ"
			if k == len(sp.Tables)-1 {
				op = "READ_WRITE"
			}
			e := ev(t.Add(time.Duration(5+k*3+r.IntN(3))*time.Second), "unityCatalog", "generateTemporaryTableCredential",
				map[string]string{"table_full_name": tbl, "table_id": stableUUID("table", tbl), "operation": op})
			e.RunAs = sp.ApplicationID
			out = append(out, e)
		}
	}
	return out
}
