package databricks

import (
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// ErrorClassAttribute is the attribute that splits the receivers' api_errors and api_retries
// counters by ErrorClass.
const ErrorClassAttribute = "class"

// classOptions are built once: the receivers' callbacks run at every self-telemetry
// collection and need not allocate an attribute set each time.
var classOptions = func() (opts [NumErrorClasses]metric.ObserveOption) {
	for c := range opts {
		opts[c] = metric.WithAttributeSet(attribute.NewSet(attribute.String(ErrorClassAttribute, ErrorClass(c).String())))
	}
	return opts
}()

// ObserveByClass reports Stats.ErrorsByClass or Stats.RetriesByClass to an observable
// counter, one data point per class (zeros included, so that a class appears before its
// first failure and rate() sees its first increase).
func ObserveByClass(o metric.Int64Observer, counts [NumErrorClasses]int64) {
	for c, n := range counts {
		o.Observe(n, classOptions[c])
	}
}
