// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package accessanomalyprocessor

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-databricks/otelcol-databricks/processor/accessanomalyprocessor/internal/metadata"
)

// FuzzProcessRecord feeds arbitrary attribute values (as a receiver might
// produce from hostile input) through the whole built-in pack: the processor
// must not fail or panic, and every record must pass through.
func FuzzProcessRecord(f *testing.F) {
	f.Add("alice@corp.com", "accounts", "login", "198.51.100.7", "Mozilla/5.0", int64(401), "", int64(1772445600000000000), 52.5, 13.4)
	f.Add("System-User", "unityCatalog", "generateTemporaryTableCredential", "10.0.0.1", "Databricks-Runtime", int64(200), "main.hr.x", int64(0), 91.0, 500.0)
	f.Add("", "", "", "::", "", int64(-1), "\x00", int64(-5), 0.0, 0.0)
	cfg := createDefaultConfig().(*Config)
	cfg.Lists = map[string][]string{"sensitive_tables": {"main.hr.*"}, "allowed_cidrs": {"203.0.113.0/24"}}
	p, err := newAnomalyProcessor(cfg, processortest.NewNopSettings(metadata.Type))
	if err != nil {
		f.Fatal(err)
	}
	if err := p.start(context.Background(), componenttest.NewNopHost()); err != nil {
		f.Fatal(err)
	}
	defer func() { _ = p.shutdown(context.Background()) }()
	now := time.Now()
	f.Fuzz(func(t *testing.T, user, service, action, addr, ua string, status int64, object string, ts int64, lat, lon float64) {
		ld := plog.NewLogs()
		lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
		for i := 0; i < 3; i++ {
			lr := lrs.AppendEmpty()
			lr.SetTimestamp(pcommon.Timestamp(uint64(ts) + uint64(i)))
			lr.SetEventName("databricks.audit")
			a := lr.Attributes()
			a.PutStr("user.email", user)
			a.PutStr("databricks.service_name", service)
			a.PutStr("databricks.action_name", action)
			a.PutStr("source.address", addr)
			a.PutStr("user_agent.original", ua)
			a.PutInt("http.response.status_code", status)
			a.PutStr("databricks.object.name", object)
			a.PutDouble("geo.location.lat", lat)
			a.PutDouble("geo.location.lon", lon)
		}
		out, err := p.processLogs(context.Background(), ld)
		if err != nil {
			t.Fatal(err)
		}
		audits := 0
		forEachRecord(out, func(lr plog.LogRecord) {
			if lr.EventName() == "databricks.audit" {
				audits++
			}
		})
		if audits != 3 {
			t.Fatalf("%d of 3 records passed through", audits)
		}
		_ = now
	})
}
