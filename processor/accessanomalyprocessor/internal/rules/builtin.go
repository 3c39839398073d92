// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package rules

import (
	_ "embed"
	"errors"
	"fmt"
	"sort"
	"sync"

	"go.opentelemetry.io/collector/confmap"
	"go.yaml.in/yaml/v3"
)

//go:embed builtin.yaml
var builtinYAML []byte

var (
	builtinOnce sync.Once
	builtinRaw  []map[string]any
	builtinErr  error
)

// builtinMaps returns the built-in pack as raw maps, so overrides can be laid
// over any field before decoding.
func builtinMaps() ([]map[string]any, error) {
	builtinOnce.Do(func() {
		builtinErr = yaml.Unmarshal(builtinYAML, &builtinRaw)
	})
	if builtinErr != nil {
		return nil, builtinErr
	}
	out := make([]map[string]any, len(builtinRaw))
	for i, m := range builtinRaw {
		out[i] = deepCopy(m)
	}
	return out, nil
}

// BuiltinIDs lists the rule ids of the built-in pack in pack order.
func BuiltinIDs() []string {
	maps, err := builtinMaps()
	if err != nil {
		return nil
	}
	ids := make([]string, 0, len(maps))
	for _, m := range maps {
		ids = append(ids, fmt.Sprint(m["id"]))
	}
	return ids
}

// Builtin returns the decoded built-in pack without overrides.
func Builtin() ([]Rule, error) {
	return Resolve(true, nil, nil)
}

// Resolve builds the effective rule list: the built-in pack (when
// defaultRules) with overrides applied, followed by the user's rules.
// Disabled rules are kept (with Enabled=false) so callers can report them.
func Resolve(defaultRules bool, user []Rule, overrides map[string]map[string]any) ([]Rule, error) {
	maps, err := builtinMaps()
	if err != nil {
		return nil, fmt.Errorf("built-in rule pack: %w", err)
	}
	builtinIndex := map[string]int{}
	for i, m := range maps {
		builtinIndex[fmt.Sprint(m["id"])] = i
	}
	userIDs := map[string]bool{}
	for _, r := range user {
		userIDs[r.ID] = true
	}
	var errs []error
	ids := make([]string, 0, len(overrides))
	for id := range overrides {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		i, ok := builtinIndex[id]
		switch {
		case ok:
			if _, hasID := overrides[id]["id"]; hasID {
				errs = append(errs, fmt.Errorf("overrides::%s: the rule id cannot be overridden", id))
				continue
			}
			maps[i] = deepMerge(maps[i], overrides[id])
		case userIDs[id]:
			errs = append(errs, fmt.Errorf("overrides::%s: %q is a user rule; change it under rules instead", id, id))
		default:
			errs = append(errs, fmt.Errorf("overrides::%s: unknown rule id %q (built-in ids: %v)", id, id, BuiltinIDs()))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	var out []Rule
	if defaultRules {
		for _, m := range maps {
			var r Rule
			if err := confmap.NewFromStringMap(m).Unmarshal(&r); err != nil {
				return nil, fmt.Errorf("rule %v: %w", m["id"], err)
			}
			out = append(out, r)
		}
	}
	seen := map[string]bool{}
	for _, r := range out {
		seen[r.ID] = true
	}
	for _, r := range user {
		if seen[r.ID] {
			errs = append(errs, fmt.Errorf("rules::%s: duplicate rule id (built-in ids are reserved; use overrides to change them)", r.ID))
			continue
		}
		seen[r.ID] = true
		out = append(out, r)
	}
	return out, errors.Join(errs...)
}

func deepMerge(base, over map[string]any) map[string]any {
	for k, v := range over {
		if vm, ok := v.(map[string]any); ok {
			if bm, ok := base[k].(map[string]any); ok {
				base[k] = deepMerge(bm, vm)
				continue
			}
		}
		base[k] = v
	}
	return base
}

func deepCopy(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		switch x := v.(type) {
		case map[string]any:
			out[k] = deepCopy(x)
		case []any:
			out[k] = append([]any(nil), x...)
		default:
			out[k] = v
		}
	}
	return out
}
