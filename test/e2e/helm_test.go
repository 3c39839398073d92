//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// helmModule is the Helm CLI the chart is rendered with: the real one, built by `go run` from
// the module proxy (Debian has no Helm package). deploy/README.md names the same version.
const helmModule = "helm.sh/helm/v3/cmd/helm@v3.22.0"

// TestHelmChartRendersValidConfig renders deploy/helm/otelcol-databricks in both of its modes
// with the example values and checks that the collector config it puts into the cluster
// passes `otelcol-databricks validate` with the environment the pod gets.
func TestHelmChartRendersValidConfig(t *testing.T) {
	chart, err := filepath.Abs(filepath.Join(repoRoot, "deploy", "helm", "otelcol-databricks"))
	if err != nil {
		t.Fatal(err)
	}
	values := filepath.Join(chart, "values-example.yaml")
	for _, mode := range []string{"statefulset", "sidecar"} {
		t.Run(mode, func(t *testing.T) {
			rendered := helmTemplate(t, chart, "-f", values, "--set", "mode="+mode)
			config := renderedCollectorConfig(t, rendered, mode)
			// The pod mounts its state volume at the file_storage directory; here a temp
			// directory stands in for it.
			const stateMount = "/var/lib/otelcol-databricks"
			if !strings.Contains(config, stateMount) {
				t.Fatalf("the rendered config does not keep its state under %s, where the chart mounts the volume:\n%s", stateMount, config)
			}
			config = strings.ReplaceAll(config, stateMount, t.TempDir())
			path := filepath.Join(t.TempDir(), "config.yaml")
			if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, collectorBinary(t), "validate", "--config", path)
			// The container's environment: the literal values the chart renders, and
			// stand-ins for what comes from the credentials Secret.
			cmd.Env = append(os.Environ(), renderedEnv(t, rendered)...)
			cmd.Env = append(cmd.Env,
				"DATABRICKS_CLIENT_ID=00000000-0000-0000-0000-000000000000",
				"DATABRICKS_CLIENT_SECRET=example-secret",
			)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("the config the chart renders in %s mode does not validate: %v\n%s\n--- config ---\n%s", mode, err, out, config)
			}
		})
	}
}

func helmTemplate(t *testing.T, chart string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute) // a cold build of Helm takes minutes
	defer cancel()
	full := append([]string{"run", helmModule, "template", "dbx", chart, "--kube-version", "1.30.0"}, args...)
	cmd := exec.CommandContext(ctx, "go", full...)
	cmd.Dir = t.TempDir() // outside our module: `go run module@version` builds Helm on its own
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm template %v: %v\n%s", args, err, stderr.String())
	}
	return out
}

// renderedCollectorConfig finds the collector config in the rendered manifests: the ConfigMap
// in statefulset mode, the OpenTelemetryCollector resource in sidecar mode.
func renderedCollectorConfig(t *testing.T, rendered []byte, mode string) string {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(rendered))
	var kinds []string
	for {
		var doc struct {
			Kind string            `yaml:"kind"`
			Data map[string]string `yaml:"data"`
			Spec struct {
				Config any `yaml:"config"`
			} `yaml:"spec"`
		}
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("rendered manifests are not YAML: %v", err)
		}
		kinds = append(kinds, doc.Kind)
		switch {
		case mode == "statefulset" && doc.Kind == "ConfigMap" && doc.Data["config.yaml"] != "":
			return doc.Data["config.yaml"]
		case mode == "sidecar" && doc.Kind == "OpenTelemetryCollector" && doc.Spec.Config != nil:
			if s, ok := doc.Spec.Config.(string); ok {
				return s
			}
			out, err := yaml.Marshal(doc.Spec.Config)
			if err != nil {
				t.Fatal(err)
			}
			return string(out)
		}
	}
	t.Fatalf("no collector config among the rendered %s manifests (kinds: %s)", mode, strings.Join(kinds, ", "))
	return ""
}

// renderedEnv collects the NAME=value environment entries with literal values from every
// rendered manifest (container env lists).
func renderedEnv(t *testing.T, rendered []byte) []string {
	t.Helper()
	var env []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			name, hasName := x["name"].(string)
			value, hasValue := x["value"].(string)
			if hasName && hasValue && name != "" && strings.ToUpper(name) == name {
				env = append(env, name+"="+value)
			}
			for _, child := range x {
				walk(child)
			}
		case []any:
			for _, child := range x {
				walk(child)
			}
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(rendered))
	for {
		var doc any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("rendered manifests are not YAML: %v", err)
		}
		walk(doc)
	}
	if len(env) == 0 {
		t.Fatal("the rendered manifests set no environment for the collector")
	}
	return env
}
