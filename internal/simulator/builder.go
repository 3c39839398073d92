package simulator

import (
	"time"
)

// eventBuilder stamps the workspace constants and deterministic ids on events.
type eventBuilder struct {
	s   *Scenario
	seq map[string]int
}

func newEventBuilder(s *Scenario) *eventBuilder {
	return &eventBuilder{s: s, seq: map[string]int{}}
}

// ucServices are logged at account level (workspace_id "0"), with the originating workspace in
// the request parameters.
var ucServices = map[string]bool{"unityCatalog": true}

// event creates an event. label must be unique per generator so event ids never collide.
func (b *eventBuilder) event(label string, t time.Time, who *Principal, svc, act string, params map[string]string, status int) AuditEvent {
	n := b.seq[label]
	b.seq[label] = n + 1
	ws := b.s.Workspace
	e := AuditEvent{
		Time:          t.UTC().Truncate(time.Millisecond),
		WorkspaceID:   ws.ID,
		OrgID:         ws.ID,
		AccountID:     ws.AccountID,
		ShardName:     ws.Shard,
		AuditLevel:    WorkspaceLevel,
		ServiceName:   svc,
		ActionName:    act,
		RequestParams: params,
		StatusCode:    status,
		EventID:       stableHex(32, b.s.Seed, "event", label, n),
		RequestID:     stableUUID(b.s.Seed, "request", label, n),
	}
	if who != nil {
		e.Email = who.Email
	}
	if ucServices[svc] {
		e.WorkspaceID = "0"
		e.AuditLevel = AccountLevel
		if e.RequestParams == nil {
			e.RequestParams = map[string]string{}
		}
		e.RequestParams["workspace_id"] = ws.ID
		e.RequestParams["metastore_id"] = stableUUID("metastore", ws.AccountID)
	}
	if status >= 400 && e.ErrorMessage == "" {
		e.ErrorMessage = defaultErrorMessage(status, svc, act)
	}
	return e
}

func defaultErrorMessage(status int, svc, act string) string {
	switch {
	case status == 401:
		return "Authentication failed"
	case status == 403 && svc == "unityCatalog":
		return "PERMISSION_DENIED: User does not have SELECT on Table"
	case status == 403:
		return "User does not have permission to perform " + act
	case status == 404:
		return "RESOURCE_DOES_NOT_EXIST"
	default:
		return "Internal error"
	}
}

// withClient sets where the request came from.
func withClient(e AuditEvent, ip, ua, session string) AuditEvent {
	e.SourceIP, e.UserAgent, e.SessionID = ip, ua, session
	return e
}
