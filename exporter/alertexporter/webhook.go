// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package alertexporter // import "github.com/otelcol-databricks/otelcol-databricks/exporter/alertexporter"

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"math"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

type webhookScope struct {
	Name    string `json:"name,omitempty"`
	Version string `json:"version,omitempty"`
}

// webhookAlert is the bookkeeping the exporter adds to the finding.
type webhookAlert struct {
	Severity   Severity          `json:"severity"`
	Group      map[string]string `json:"group"`
	ReceivedAt string            `json:"received_time"`
	Suppressed int64             `json:"held_back_since_previous_notification"`
}

// webhookFinding is the finding record in full: every attribute, the
// resource attributes, body, severity and timestamps.
type webhookFinding struct {
	Timestamp         string         `json:"timestamp,omitempty"`
	ObservedTimestamp string         `json:"observed_timestamp,omitempty"`
	SeverityText      string         `json:"severity_text,omitempty"`
	SeverityNumber    int32          `json:"severity_number"`
	EventName         string         `json:"event_name,omitempty"`
	Body              any            `json:"body"`
	Attributes        map[string]any `json:"attributes"`
	Resource          map[string]any `json:"resource"`
	Scope             webhookScope   `json:"scope"`
	TraceID           string         `json:"trace_id,omitempty"`
	SpanID            string         `json:"span_id,omitempty"`
	Alert             webhookAlert   `json:"alert"`
}

type webhookTarget struct {
	httpClient
	endpoint string
	groupBy  []string
	now      func() time.Time
}

func newWebhookTarget(cfg *WebhookConfig, groupBy []string, now func() time.Time) *webhookTarget {
	return &webhookTarget{
		httpClient: httpClient{config: cfg.ClientConfig},
		endpoint:   cfg.ClientConfig.Endpoint,
		groupBy:    groupBy,
		now:        now,
	}
}

func (*webhookTarget) name() string { return targetWebhook }

// deliver posts each finding as its own JSON document, the shape most
// SIEM HTTP collectors ingest without a splitting step.
func (t *webhookTarget) deliver(ctx context.Context, alerts []*alert) []error {
	return sendEach(ctx, alerts, func(ctx context.Context, a *alert) error {
		body, err := json.Marshal(renderWebhook(a, t.groupBy))
		if err != nil {
			return err
		}
		return postJSON(ctx, t.client, targetWebhook, t.endpoint, body, t.now)
	})
}

func renderWebhook(a *alert, groupBy []string) webhookFinding {
	lr := a.record
	out := webhookFinding{
		SeverityText:   lr.SeverityText(),
		SeverityNumber: int32(lr.SeverityNumber()),
		EventName:      lr.EventName(),
		Body:           jsonValue(lr.Body()),
		Attributes:     jsonMap(lr.Attributes(), true),
		Resource:       jsonMap(a.resource.Attributes(), false),
		Scope:          webhookScope{Name: a.scope.Name(), Version: a.scope.Version()},
		Alert: webhookAlert{
			Severity:   a.Severity,
			Group:      make(map[string]string, len(groupBy)),
			ReceivedAt: formatTime(a.ReceivedAt),
			Suppressed: a.Suppressed,
		},
	}
	if lr.Timestamp() != 0 {
		out.Timestamp = formatTime(lr.Timestamp().AsTime())
	}
	if lr.ObservedTimestamp() != 0 {
		out.ObservedTimestamp = formatTime(lr.ObservedTimestamp().AsTime())
	}
	if !lr.TraceID().IsEmpty() {
		out.TraceID = lr.TraceID().String()
	}
	if !lr.SpanID().IsEmpty() {
		out.SpanID = lr.SpanID().String()
	}
	for i, key := range groupBy {
		if i < len(a.GroupValues) {
			out.Alert.Group[key] = a.GroupValues[i]
		}
	}
	return out
}

// jsonMap converts attributes to JSON-ready values. skipInternal drops the
// exporter's own retry bookkeeping, which is not part of the finding.
func jsonMap(m pcommon.Map, skipInternal bool) map[string]any {
	out := make(map[string]any, m.Len())
	m.Range(func(k string, v pcommon.Value) bool {
		if skipInternal && strings.HasPrefix(k, internalAttrPrefix) {
			return true
		}
		out[k] = jsonValue(v)
		return true
	})
	return out
}

// jsonValue maps a pdata value to something encoding/json always accepts:
// NaN and infinities (which JSON cannot carry) become strings, bytes
// become base64 text.
func jsonValue(v pcommon.Value) any {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return v.Str()
	case pcommon.ValueTypeInt:
		return v.Int()
	case pcommon.ValueTypeDouble:
		d := v.Double()
		if math.IsNaN(d) || math.IsInf(d, 0) {
			return v.AsString()
		}
		return d
	case pcommon.ValueTypeBool:
		return v.Bool()
	case pcommon.ValueTypeBytes:
		return base64.StdEncoding.EncodeToString(v.Bytes().AsRaw())
	case pcommon.ValueTypeMap:
		return jsonMap(v.Map(), false)
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		out := make([]any, s.Len())
		for i := 0; i < s.Len(); i++ {
			out[i] = jsonValue(s.At(i))
		}
		return out
	default:
		return nil
	}
}
