// Package logsgolden reads, writes and compares plog.Logs golden files. Contrib's
// pkg/golden + pkg/pdatatest/plogtest are contrib modules whose served versions pull other
// collector releases, so this is the small comparer the receiver's tests need.
package logsgolden

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// ReadLogs loads a golden file written by WriteLogs.
func ReadLogs(path string) (plog.Logs, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return plog.Logs{}, err
	}
	return (&plog.JSONUnmarshaler{}).UnmarshalLogs(data)
}

// WriteLogs stores ld as OTLP/JSON.
func WriteLogs(path string, ld plog.Logs) error {
	data, err := (&plog.JSONMarshaler{}).MarshalLogs(ld)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o600)
}

// Option adjusts a comparison.
type Option func(*options)

type options struct{ ignoreObserved bool }

// IgnoreObservedTimestamp skips ObservedTimestamp, which is the time of reading.
func IgnoreObservedTimestamp() Option { return func(o *options) { o.ignoreObserved = true } }

// CompareLogs reports every difference between expected and actual. Resources are matched in
// order, records in order; attribute maps are compared as maps (order-insensitive).
func CompareLogs(expected, actual plog.Logs, opts ...Option) error {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	var errs []error
	er, ar := expected.ResourceLogs(), actual.ResourceLogs()
	if er.Len() != ar.Len() {
		return fmt.Errorf("resource count: expected %d, got %d", er.Len(), ar.Len())
	}
	for i := 0; i < er.Len(); i++ {
		if d := diffMap(er.At(i).Resource().Attributes(), ar.At(i).Resource().Attributes()); d != "" {
			errs = append(errs, fmt.Errorf("resource %d attributes: %s", i, d))
		}
		es, as := er.At(i).ScopeLogs(), ar.At(i).ScopeLogs()
		if es.Len() != as.Len() {
			errs = append(errs, fmt.Errorf("resource %d: scope count expected %d, got %d", i, es.Len(), as.Len()))
			continue
		}
		for j := 0; j < es.Len(); j++ {
			if es.At(j).Scope().Name() != as.At(j).Scope().Name() {
				errs = append(errs, fmt.Errorf("resource %d scope %d: name %q, got %q", i, j, es.At(j).Scope().Name(), as.At(j).Scope().Name()))
			}
			el, al := es.At(j).LogRecords(), as.At(j).LogRecords()
			if el.Len() != al.Len() {
				errs = append(errs, fmt.Errorf("resource %d scope %d: record count expected %d, got %d", i, j, el.Len(), al.Len()))
				continue
			}
			for k := 0; k < el.Len(); k++ {
				if err := compareRecord(el.At(k), al.At(k), o); err != nil {
					errs = append(errs, fmt.Errorf("resource %d record %d: %w", i, k, err))
				}
			}
		}
	}
	return errors.Join(errs...)
}

func compareRecord(e, a plog.LogRecord, o options) error {
	var errs []error
	check := func(what string, ev, av any) {
		if !reflect.DeepEqual(ev, av) {
			errs = append(errs, fmt.Errorf("%s: expected %v, got %v", what, ev, av))
		}
	}
	check("timestamp", e.Timestamp(), a.Timestamp())
	if !o.ignoreObserved {
		check("observed timestamp", e.ObservedTimestamp(), a.ObservedTimestamp())
	}
	check("severity number", e.SeverityNumber(), a.SeverityNumber())
	check("severity text", e.SeverityText(), a.SeverityText())
	check("event name", e.EventName(), a.EventName())
	check("body", e.Body().AsRaw(), a.Body().AsRaw())
	if d := diffMap(e.Attributes(), a.Attributes()); d != "" {
		errs = append(errs, fmt.Errorf("attributes: %s", d))
	}
	return errors.Join(errs...)
}

// diffMap lists missing, unexpected and different keys, sorted.
func diffMap(e, a pcommon.Map) string {
	em, am := e.AsRaw(), a.AsRaw()
	var diffs []string
	for k, ev := range em {
		av, ok := am[k]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("missing %s=%v", k, ev))
		case !reflect.DeepEqual(ev, av):
			diffs = append(diffs, fmt.Sprintf("%s: expected %v (%T), got %v (%T)", k, ev, ev, av, av))
		}
	}
	for k, av := range am {
		if _, ok := em[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("unexpected %s=%v", k, av))
		}
	}
	if len(diffs) == 0 {
		return ""
	}
	sort.Strings(diffs)
	return fmt.Sprint(diffs)
}
