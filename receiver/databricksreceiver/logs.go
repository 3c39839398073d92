// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package databricksreceiver // import "github.com/otelcol-databricks/otelcol-databricks/receiver/databricksreceiver"

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/databricks/databricks-sdk-go/service/compute"
	"github.com/databricks/databricks-sdk-go/service/jobs"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-databricks/otelcol-databricks/receiver/databricksreceiver/internal/metadata"
)

// Event names (DESIGN §3.2).
const (
	eventClusterEvent   = "databricks.cluster.event"
	eventJobRun         = "databricks.job.run"
	eventIdentityChange = "databricks.identity.change"
)

// warnClusterEvents are cluster event types that indicate trouble.
var warnClusterEvents = map[compute.EventType]bool{
	compute.EventTypeAddNodesFailed:                  true,
	compute.EventTypeAutoscalingFailed:               true,
	compute.EventTypeAutoscalingBackoff:              true,
	compute.EventTypeDbfsDown:                        true,
	compute.EventTypeDidNotExpandDisk:                true,
	compute.EventTypeDriverNotResponding:             true,
	compute.EventTypeDriverUnavailable:               true,
	compute.EventTypeFailedToExpandDisk:              true,
	compute.EventTypeMetastoreDown:                   true,
	compute.EventTypeNodesLost:                       true,
	compute.EventTypeNodeBlacklisted:                 true,
	compute.EventTypeSparkException:                  true,
	compute.EventTypeDeferredPolicyEnforcementFailed: true,
	compute.EventTypeNodeExcludedDecommissioned:      true,
	compute.EventTypeUcVolumeMisconfigured:           true,
}

// logsBuilder groups log records by resource so that each cluster/job gets one ResourceLogs.
type logsBuilder struct {
	logs     plog.Logs
	byKey    map[string]plog.ScopeLogs
	observed pcommon.Timestamp
	version  string
}

func newLogsBuilder(observed time.Time, version string) *logsBuilder {
	return &logsBuilder{logs: plog.NewLogs(), byKey: map[string]plog.ScopeLogs{}, observed: pcommon.NewTimestampFromTime(observed), version: version}
}

func (b *logsBuilder) record(key string, res pcommon.Resource) plog.LogRecord {
	sl, ok := b.byKey[key]
	if !ok {
		rl := b.logs.ResourceLogs().AppendEmpty()
		res.CopyTo(rl.Resource())
		sl = rl.ScopeLogs().AppendEmpty()
		sl.Scope().SetName(metadata.ScopeName)
		sl.Scope().SetVersion(b.version)
		b.byKey[key] = sl
	}
	lr := sl.LogRecords().AppendEmpty()
	lr.SetObservedTimestamp(b.observed)
	return lr
}

func setSeverity(lr plog.LogRecord, n plog.SeverityNumber) {
	lr.SetSeverityNumber(n)
	switch n {
	case plog.SeverityNumberWarn:
		lr.SetSeverityText("WARN")
	case plog.SeverityNumberError:
		lr.SetSeverityText("ERROR")
	default:
		lr.SetSeverityText("INFO")
	}
}

// putJSONBody stores v (an SDK struct) as a map body, keeping the API's own field names.
func putJSONBody(lr plog.LogRecord, v any) {
	raw, err := json.Marshal(v)
	if err != nil {
		return
	}
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return
	}
	_ = lr.Body().SetEmptyMap().FromRaw(m)
}

// appendClusterEvent adds one databricks.cluster.event record; its body is the event as the
// API returned it (type, details, reason).
func (b *logsBuilder) appendClusterEvent(res pcommon.Resource, c *compute.ClusterDetails, e *compute.ClusterEvent) {
	lr := b.record("cluster/"+c.ClusterId, res)
	lr.SetEventName(eventClusterEvent)
	lr.SetTimestamp(pcommon.NewTimestampFromTime(time.UnixMilli(e.Timestamp)))
	attrs := lr.Attributes()
	attrs.PutStr("event.name", eventClusterEvent)
	attrs.PutStr("databricks.cluster.event.type", string(e.Type))
	severity := plog.SeverityNumberInfo
	if warnClusterEvents[e.Type] {
		severity = plog.SeverityNumberWarn
	}
	if d := e.Details; d != nil {
		if d.Reason != nil {
			attrs.PutStr("databricks.cluster.termination.code", string(d.Reason.Code))
			attrs.PutStr("databricks.cluster.termination.type", string(d.Reason.Type))
			if d.Reason.Type != "" && d.Reason.Type != compute.TerminationReasonTypeSuccess {
				severity = plog.SeverityNumberWarn
			}
		}
		if d.User != "" {
			attrs.PutStr("user.name", d.User)
		}
		if d.CurrentNumWorkers != 0 || d.TargetNumWorkers != 0 {
			attrs.PutInt("databricks.cluster.workers.current", int64(d.CurrentNumWorkers))
			attrs.PutInt("databricks.cluster.workers.target", int64(d.TargetNumWorkers))
		}
		if d.Cause != "" {
			attrs.PutStr("databricks.cluster.event.cause", string(d.Cause))
		}
	}
	setSeverity(lr, severity)
	putJSONBody(lr, e)
}

// appendJobRun adds the databricks.job.run record of a finished run.
func (b *logsBuilder) appendJobRun(res pcommon.Resource, jobName string, r *jobs.BaseRun) {
	lr := b.record("job/"+strconv.FormatInt(r.JobId, 10), res)
	lr.SetEventName(eventJobRun)
	lr.SetTimestamp(pcommon.NewTimestampFromTime(time.UnixMilli(r.EndTime)))
	result := runResult(r)
	duration := runDurationSeconds(r)
	attrs := lr.Attributes()
	attrs.PutStr("event.name", eventJobRun)
	attrs.PutInt("databricks.job.run.id", r.RunId)
	if r.RunName != "" {
		attrs.PutStr("databricks.job.run.name", r.RunName)
	}
	attrs.PutStr("databricks.job.run.result", result)
	attrs.PutDouble("databricks.job.run.duration", duration)
	attrs.PutDouble("databricks.job.run.queue_duration", float64(r.QueueDuration)/1000)
	if r.Trigger != "" {
		attrs.PutStr("databricks.job.run.trigger", string(r.Trigger))
	}
	if r.RunType != "" {
		attrs.PutStr("databricks.job.run.type", string(r.RunType))
	}
	// Tasks are listed only when the runs list was expanded; an unexpanded list reports no count.
	if len(r.Tasks) > 0 {
		attrs.PutInt("databricks.job.run.task_count", int64(len(r.Tasks)))
	}
	if r.AttemptNumber > 0 {
		attrs.PutInt("databricks.job.run.attempt", int64(r.AttemptNumber))
	}
	if r.Status != nil && r.Status.TerminationDetails != nil {
		td := r.Status.TerminationDetails
		attrs.PutStr("databricks.job.run.termination.code", string(td.Code))
		attrs.PutStr("databricks.job.run.termination.type", string(td.Type))
		if td.Message != "" {
			attrs.PutStr("databricks.job.run.termination.message", td.Message)
		}
	}
	if r.RunPageUrl != "" {
		attrs.PutStr("databricks.job.run.page_url", r.RunPageUrl)
	}
	if r.CreatorUserName != "" {
		attrs.PutStr("user.name", r.CreatorUserName)
	}
	if r.ClusterInstance != nil && r.ClusterInstance.ClusterId != "" {
		attrs.PutStr("databricks.cluster.id", r.ClusterInstance.ClusterId)
	}
	switch result {
	case "SUCCESS":
		setSeverity(lr, plog.SeverityNumberInfo)
	case "FAILED", "TIMEDOUT", "INTERNAL_ERROR", "UPSTREAM_FAILED":
		setSeverity(lr, plog.SeverityNumberError)
	default:
		setSeverity(lr, plog.SeverityNumberWarn)
	}
	name := jobName
	if name == "" {
		name = strconv.FormatInt(r.JobId, 10)
	}
	lr.Body().SetStr(fmt.Sprintf("job %q run %d finished: %s after %s", name, r.RunId, result,
		time.Duration(duration*float64(time.Second)).Round(time.Second)))
}

// appendIdentityChange adds one databricks.identity.change record.
func (b *logsBuilder) appendIdentityChange(res pcommon.Resource, at time.Time, c identityChange) {
	lr := b.record("workspace", res)
	lr.SetEventName(eventIdentityChange)
	lr.SetTimestamp(pcommon.NewTimestampFromTime(at))
	attrs := lr.Attributes()
	attrs.PutStr("event.name", eventIdentityChange)
	attrs.PutStr("databricks.identity.change.type", c.Type)
	attrs.PutStr("databricks.principal.id", c.PrincipalID)
	attrs.PutStr("databricks.principal.type", c.PrincipalKind)
	attrs.PutStr("databricks.principal.name", c.PrincipalName)
	if c.PrincipalKind == principalUser {
		attrs.PutStr("user.email", c.PrincipalName)
	}
	if c.GroupID != "" {
		attrs.PutStr("databricks.group.id", c.GroupID)
		attrs.PutStr("databricks.group.name", c.GroupName)
	}
	var body string
	switch c.Type {
	case changeAdminGranted:
		setSeverity(lr, plog.SeverityNumberWarn)
		body = fmt.Sprintf("%s %s became a workspace admin", c.PrincipalKind, c.PrincipalName)
	case changeAdminRevoked:
		setSeverity(lr, plog.SeverityNumberWarn)
		body = fmt.Sprintf("%s %s is no longer a workspace admin", c.PrincipalKind, c.PrincipalName)
	case changeMemberAdded:
		setSeverity(lr, plog.SeverityNumberInfo)
		body = fmt.Sprintf("%s %s added to group %s", c.PrincipalKind, c.PrincipalName, c.GroupName)
	case changeMemberRemoved:
		setSeverity(lr, plog.SeverityNumberInfo)
		body = fmt.Sprintf("%s %s removed from group %s", c.PrincipalKind, c.PrincipalName, c.GroupName)
	case changePrincipalCreated:
		setSeverity(lr, plog.SeverityNumberInfo)
		body = fmt.Sprintf("%s %s created", c.PrincipalKind, c.PrincipalName)
	default:
		setSeverity(lr, plog.SeverityNumberInfo)
		body = fmt.Sprintf("%s %s deleted", c.PrincipalKind, c.PrincipalName)
	}
	lr.Body().SetStr(body)
}
