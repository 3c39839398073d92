// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package alertexporter // import "github.com/otelcol-databricks/otelcol-databricks/exporter/alertexporter"

import (
	"context"
	"encoding/json"
	"strings"
	"time"
)

const (
	alertmanagerAlertsPath = "/api/v2/alerts"
	// minAlertLifetime keeps an alert open when repeat_interval is 0 (every
	// finding sent); it equals Alertmanager's default resolve_timeout.
	minAlertLifetime = 5 * time.Minute
	// maxAnnotationRunes bounds annotations; Alertmanager has no documented
	// limit, but receivers such as e-mail and chat do.
	maxAnnotationRunes = 8192
	maxLabelRunes      = 1024
)

// postableAlert is an element of Alertmanager's postableAlerts
// (api/v2/openapi.yaml).
type postableAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     string            `json:"startsAt,omitempty"`
	EndsAt       string            `json:"endsAt,omitempty"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

type alertmanagerTarget struct {
	httpClient
	url            string
	generatorURL   string
	repeatInterval time.Duration
	now            func() time.Time
}

func newAlertmanagerTarget(cfg *AlertmanagerConfig, repeatInterval time.Duration, now func() time.Time) *alertmanagerTarget {
	return &alertmanagerTarget{
		httpClient:     httpClient{config: cfg.ClientConfig},
		url:            alertmanagerURL(cfg.ClientConfig.Endpoint),
		generatorURL:   cfg.GeneratorURL,
		repeatInterval: repeatInterval,
		now:            now,
	}
}

// alertmanagerURL accepts the base URL (http://am:9093) or the full
// alerts URL.
func alertmanagerURL(endpoint string) string {
	endpoint = strings.TrimSuffix(endpoint, "/")
	if strings.HasSuffix(endpoint, alertmanagerAlertsPath) {
		return endpoint
	}
	return endpoint + alertmanagerAlertsPath
}

func (*alertmanagerTarget) name() string { return targetAlertmanager }

// deliver posts every alert of the batch in one request: Alertmanager takes
// an array, and one answer covers them all.
func (t *alertmanagerTarget) deliver(ctx context.Context, alerts []*alert) []error {
	payload := make([]postableAlert, len(alerts))
	for i, a := range alerts {
		payload[i] = t.render(a)
	}
	errs := make([]error, len(alerts))
	body, err := json.Marshal(payload)
	if err == nil {
		err = postJSON(ctx, t.client, targetAlertmanager, t.url, body, t.now)
	}
	for i := range errs {
		errs[i] = err
	}
	return errs
}

func (t *alertmanagerTarget) render(a *alert) postableAlert {
	labels := map[string]string{
		"alertname": sanitizeLabel(a.RuleID),
		"severity":  string(a.Severity),
	}
	putIfSet(labels, "user", sanitizeLabel(a.User))
	putIfSet(labels, "workspace", sanitizeLabel(a.Workspace))
	putIfSet(labels, "source_ip", sanitizeLabel(a.SourceIP))

	annotations := map[string]string{}
	putIfSet(annotations, "summary", truncateRunes(a.Summary, maxAnnotationRunes))
	putIfSet(annotations, "description", truncateRunes(strings.Join(evidenceLines(a), "\n"), maxAnnotationRunes))
	putIfSet(annotations, "attack", truncateRunes(strings.Join(a.Techniques, ", "), maxAnnotationRunes))
	putIfSet(annotations, "rule_name", truncateRunes(a.RuleName, maxAnnotationRunes))

	// endsAt counts from when the finding reached us, not from the events:
	// a finding about old events is still news and must stay open.
	ends := a.ReceivedAt.Add(max(t.repeatInterval, minAlertLifetime))
	return postableAlert{
		Labels:       labels,
		Annotations:  annotations,
		StartsAt:     formatTime(a.startsAt()),
		EndsAt:       formatTime(ends),
		GeneratorURL: t.generatorURL,
	}
}

// sanitizeLabel makes a value Alertmanager accepts: valid UTF-8, bounded.
func sanitizeLabel(v string) string {
	return truncateRunes(v, maxLabelRunes)
}

func putIfSet(m map[string]string, key, value string) {
	if value != "" {
		m[key] = value
	}
}
