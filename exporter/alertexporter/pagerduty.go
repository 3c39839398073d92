// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package alertexporter // import "github.com/otelcol-databricks/otelcol-databricks/exporter/alertexporter"

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"
)

// PagerDuty Events API v2 limits.
const (
	pagerDutyMaxSummary  = 1024
	pagerDutyMaxDedupKey = 255
	pagerDutyClient      = "otelcol-databricks"
)

type pagerDutyPayload struct {
	Summary       string         `json:"summary"`
	Source        string         `json:"source"`
	Severity      string         `json:"severity"`
	Timestamp     string         `json:"timestamp,omitempty"`
	Component     string         `json:"component,omitempty"`
	Group         string         `json:"group,omitempty"`
	Class         string         `json:"class,omitempty"`
	CustomDetails map[string]any `json:"custom_details,omitempty"`
}

// pagerDutyEvent is a trigger event of the Events API v2.
type pagerDutyEvent struct {
	RoutingKey  string           `json:"routing_key"`
	EventAction string           `json:"event_action"`
	DedupKey    string           `json:"dedup_key"`
	Payload     pagerDutyPayload `json:"payload"`
	Client      string           `json:"client,omitempty"`
}

type pagerDutyTarget struct {
	httpClient
	endpoint   string
	routingKey string
	now        func() time.Time
}

func newPagerDutyTarget(cfg *PagerDutyConfig, now func() time.Time) *pagerDutyTarget {
	return &pagerDutyTarget{
		httpClient: httpClient{config: cfg.ClientConfig},
		endpoint:   cfg.ClientConfig.Endpoint,
		routingKey: string(cfg.RoutingKey),
		now:        now,
	}
}

func (*pagerDutyTarget) name() string { return targetPagerDuty }

// deliver sends one trigger per alert; the Events API takes one event per
// request.
func (t *pagerDutyTarget) deliver(ctx context.Context, alerts []*alert) []error {
	return sendEach(ctx, alerts, func(ctx context.Context, a *alert) error {
		body, err := json.Marshal(renderPagerDuty(a, t.routingKey))
		if err != nil {
			return err
		}
		return postJSON(ctx, t.client, targetPagerDuty, t.endpoint, body, t.now)
	})
}

func renderPagerDuty(a *alert, routingKey string) pagerDutyEvent {
	summary := "[" + string(a.Severity) + "] " + a.RuleID
	if a.Summary != "" {
		summary += ": " + a.Summary
	}
	details := map[string]any{
		"rule_id":  a.RuleID,
		"severity": string(a.Severity),
	}
	putDetail(details, "rule_name", a.RuleName)
	putDetail(details, "rule_category", a.RuleCategory)
	putDetail(details, "rule_reference", a.RuleRef)
	putDetail(details, "user", a.User)
	putDetail(details, "source_ip", a.SourceIP)
	putDetail(details, "user_agent", a.UserAgent)
	putDetail(details, "workspace", a.Workspace)
	putDetail(details, "reason", a.Reason)
	putDetail(details, "detector", a.Detector)
	putDetail(details, "mode", a.Mode)
	putDetail(details, "first_event_time", formatTime(a.FirstEvent))
	putDetail(details, "last_event_time", formatTime(a.LastEvent))
	if a.HasScore {
		details["score"] = a.Score
	}
	if a.Count > 0 {
		details["event_count"] = a.Count
	}
	if len(a.Techniques) > 0 {
		details["attack"] = a.Techniques
	}
	if len(a.EventIDs) > 0 {
		details["event_ids"] = a.EventIDs
	}
	if len(a.Baseline) > 0 {
		baseline := make(map[string]string, len(a.Baseline))
		for _, b := range a.Baseline {
			baseline[b.Name] = b.Value
		}
		details["baseline"] = baseline
	}
	if a.Suppressed > 0 {
		details["held_back_since_previous_notification"] = a.Suppressed
	}
	return pagerDutyEvent{
		RoutingKey:  routingKey,
		EventAction: "trigger",
		DedupKey:    pagerDutyDedupKey(a),
		Payload: pagerDutyPayload{
			Summary:       truncateRunes(summary, pagerDutyMaxSummary),
			Source:        firstNonEmpty(a.WorkspaceURL, a.Workspace, "databricks"),
			Severity:      a.Severity.pagerDutySeverity(),
			Timestamp:     formatTime(a.startsAt()),
			Component:     "databricks",
			Group:         a.RuleCategory,
			Class:         a.RuleID,
			CustomDetails: details,
		},
		Client: pagerDutyClient,
	}
}

// pagerDutyDedupKey is the processor's alert.dedup_key, so PagerDuty merges
// repeats into one incident. Keys over the 255-character limit, or a
// missing key, are replaced by a digest of the rule and group that stays
// stable across repeats.
func pagerDutyDedupKey(a *alert) string {
	key := a.DedupKey
	if key != "" && len(key) <= pagerDutyMaxDedupKey {
		return key
	}
	if key == "" {
		key = a.RuleID + "\x1f" + strings.Join(a.GroupValues, "\x1f")
	}
	sum := sha256.Sum256([]byte(key))
	return "alert-" + hex.EncodeToString(sum[:])
}

func putDetail(m map[string]any, key, value string) {
	if value != "" {
		m[key] = value
	}
}
