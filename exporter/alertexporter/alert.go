// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package alertexporter // import "github.com/otelcol-databricks/otelcol-databricks/exporter/alertexporter"

import (
	"time"
)

// alert is one notification: a finding that passed the severity filter and
// the repeat_interval check.
type alert struct {
	*finding
	// ReceivedAt is when the exporter first took the finding in; it anchors
	// Alertmanager's endsAt and survives retries unchanged.
	ReceivedAt time.Time
	// Suppressed counts the group's findings held back since the group's
	// previous notification.
	Suppressed int64
	// GroupValues are the values of group_by, in its order.
	GroupValues []string
}

// startsAt is the first event time, or the receive time when the finding
// does not say.
func (a *alert) startsAt() time.Time {
	if a.FirstEvent.IsZero() || a.FirstEvent.After(a.ReceivedAt) {
		return a.ReceivedAt
	}
	return a.FirstEvent
}
