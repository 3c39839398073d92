// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package alertexporter // import "github.com/otelcol-databricks/otelcol-databricks/exporter/alertexporter"

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"go.opentelemetry.io/collector/confmap"
)

// confmap ignores unknown keys in any struct that squashes a type with its
// own Unmarshal method (confighttp.ClientConfig does), so a misspelt key in
// a target block, say "generatr_url", would silently do nothing. Each
// target therefore checks its keys itself before decoding.

var (
	_ confmap.Unmarshaler = (*AlertmanagerConfig)(nil)
	_ confmap.Unmarshaler = (*SlackConfig)(nil)
	_ confmap.Unmarshaler = (*PagerDutyConfig)(nil)
	_ confmap.Unmarshaler = (*WebhookConfig)(nil)

	alertmanagerKeys = structKeys(reflect.TypeFor[AlertmanagerConfig]())
	slackKeys        = structKeys(reflect.TypeFor[SlackConfig]())
	pagerDutyKeys    = structKeys(reflect.TypeFor[PagerDutyConfig]())
	webhookKeys      = structKeys(reflect.TypeFor[WebhookConfig]())
)

// Unmarshal rejects unknown keys, then decodes as usual.
func (c *AlertmanagerConfig) Unmarshal(conf *confmap.Conf) error {
	return decodeStrict(conf, c, alertmanagerKeys)
}

// Unmarshal rejects unknown keys, then decodes as usual.
func (c *SlackConfig) Unmarshal(conf *confmap.Conf) error {
	return decodeStrict(conf, c, slackKeys)
}

// Unmarshal rejects unknown keys, then decodes as usual.
func (c *PagerDutyConfig) Unmarshal(conf *confmap.Conf) error {
	return decodeStrict(conf, c, pagerDutyKeys)
}

// Unmarshal rejects unknown keys, then decodes as usual.
func (c *WebhookConfig) Unmarshal(conf *confmap.Conf) error {
	return decodeStrict(conf, c, webhookKeys)
}

func decodeStrict(conf *confmap.Conf, target any, known map[string]bool) error {
	var unknown []string
	for key := range conf.ToStringMap() {
		if !known[key] {
			unknown = append(unknown, key)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return fmt.Errorf("invalid keys: %s", strings.Join(unknown, ", "))
	}
	// The Conf handed to an Unmarshal method skips this type's own
	// Unmarshal, so this does not recurse.
	return conf.Unmarshal(target)
}

// structKeys collects the mapstructure keys of a struct, descending into
// squashed fields.
func structKeys(t reflect.Type) map[string]bool {
	keys := map[string]bool{}
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
		if slices.Contains(strings.Split(opts, ","), "squash") {
			for k := range structKeys(f.Type) {
				keys[k] = true
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		if name != "-" {
			keys[name] = true
		}
	}
	return keys
}
