// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package deploy_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

const (
	configFile     = "config/config.yaml"
	stateDir       = "/var/lib/otelcol-databricks"
	configPath     = "/etc/otelcol-databricks/config.yaml"
	sidecarFile    = "kubernetes/sidecar.yaml"
	chartDir       = "helm/otelcol-databricks"
	unitFile       = "systemd/otelcol-databricks.service"
	envExampleFile = "systemd/otelcol-databricks.env.example"
	dockerfile     = "docker/Dockerfile"
)

// collectorConfig is the part of a collector configuration the checks below read.
type collectorConfig struct {
	Extensions map[string]map[string]any `yaml:"extensions"`
	Receivers  map[string]any            `yaml:"receivers"`
	Processors map[string]any            `yaml:"processors"`
	Exporters  map[string]any            `yaml:"exporters"`
	Connectors map[string]any            `yaml:"connectors"`
	Service    struct {
		Extensions []string `yaml:"extensions"`
		Pipelines  map[string]struct {
			Receivers  []string `yaml:"receivers"`
			Processors []string `yaml:"processors"`
			Exporters  []string `yaml:"exporters"`
		} `yaml:"pipelines"`
	} `yaml:"service"`
}

func readYAML(t *testing.T, path string, out any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(raw, out), path)
}

// yamlDocuments decodes every document of a multi-document YAML file.
func yamlDocuments(t *testing.T, path string) []map[string]any {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	var docs []map[string]any
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return docs
		}
		require.NoError(t, err, path)
		docs = append(docs, doc)
	}
}

// TestConfigIsWellFormed checks what `otelcol-databricks validate` would reject first: a
// pipeline naming an undefined component, a defined component no pipeline uses, an extension
// not enabled, and file_storage outside the state volume every deployment mounts.
func TestConfigIsWellFormed(t *testing.T) {
	var raw map[string]any
	readYAML(t, configFile, &raw)
	checkConfig(t, configFile, raw)
}

// TestHelmExampleConfigIsWellFormed applies values-example.yaml's `config` to the default the way
// Helm merges values, and checks the result.
func TestHelmExampleConfigIsWellFormed(t *testing.T) {
	var values, example struct {
		Config map[string]any `yaml:"config"`
	}
	readYAML(t, filepath.Join(chartDir, "values.yaml"), &values)
	readYAML(t, filepath.Join(chartDir, "values-example.yaml"), &example)
	require.NotEmpty(t, example.Config)
	merged := mergeHelmValues(values.Config, example.Config)
	checkConfig(t, "values.yaml + values-example.yaml", merged)

	var cfg collectorConfig
	remarshal(t, merged, &cfg)
	assert.Contains(t, cfg.Service.Pipelines["logs/audit"].Exporters, "alert", "the example adds the alert exporter")
}

// mergeHelmValues merges src into a copy of dst as Helm merges values files: maps key by key,
// any other value replaced, a null value removes the key.
func mergeHelmValues(dst, src map[string]any) map[string]any {
	out := make(map[string]any, len(dst))
	for k, v := range dst {
		out[k] = v
	}
	for k, v := range src {
		if v == nil {
			delete(out, k)
			continue
		}
		srcMap, srcIsMap := v.(map[string]any)
		dstMap, dstIsMap := out[k].(map[string]any)
		if srcIsMap && dstIsMap {
			out[k] = mergeHelmValues(dstMap, srcMap)
			continue
		}
		out[k] = v
	}
	return out
}

func remarshal(t *testing.T, in, out any) {
	t.Helper()
	raw, err := yaml.Marshal(in)
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(raw, out))
}

func checkConfig(t *testing.T, name string, raw map[string]any) {
	t.Helper()
	var cfg collectorConfig
	remarshal(t, raw, &cfg)

	used := map[string]map[string]bool{"receivers": {}, "processors": {}, "exporters": {}}
	require.NotEmpty(t, cfg.Service.Pipelines, name)
	for pipeline, p := range cfg.Service.Pipelines {
		require.NotEmpty(t, p.Receivers, "%s: pipeline %s has no receivers", name, pipeline)
		require.NotEmpty(t, p.Exporters, "%s: pipeline %s has no exporters", name, pipeline)
		for _, r := range p.Receivers {
			_, isReceiver := cfg.Receivers[r]
			_, isConnector := cfg.Connectors[r]
			assert.True(t, isReceiver || isConnector, "%s: pipeline %s: receiver %s is not defined", name, pipeline, r)
			used["receivers"][r] = true
		}
		for _, proc := range p.Processors {
			assert.Contains(t, cfg.Processors, proc, "%s: pipeline %s: processor %s is not defined", name, pipeline, proc)
			used["processors"][proc] = true
		}
		for _, e := range p.Exporters {
			_, isExporter := cfg.Exporters[e]
			_, isConnector := cfg.Connectors[e]
			assert.True(t, isExporter || isConnector, "%s: pipeline %s: exporter %s is not defined", name, pipeline, e)
			used["exporters"][e] = true
		}
	}
	for r := range cfg.Receivers {
		assert.True(t, used["receivers"][r], "%s: receiver %s is defined but in no pipeline", name, r)
	}
	for proc := range cfg.Processors {
		assert.True(t, used["processors"][proc], "%s: processor %s is defined but in no pipeline", name, proc)
	}
	for e := range cfg.Exporters {
		assert.True(t, used["exporters"][e], "%s: exporter %s is defined but in no pipeline", name, e)
	}
	for c := range cfg.Connectors {
		assert.True(t, used["exporters"][c] && used["receivers"][c], "%s: connector %s must be an exporter of one pipeline and a receiver of another", name, c)
	}
	for e := range cfg.Extensions {
		assert.Contains(t, cfg.Service.Extensions, e, "%s: extension %s is defined but not enabled", name, e)
	}
	for _, e := range cfg.Service.Extensions {
		assert.Contains(t, cfg.Extensions, e, "%s: extension %s is enabled but not defined", name, e)
	}
	assert.Equal(t, stateDir, cfg.Extensions["file_storage"]["directory"], name)
}

var envReference = regexp.MustCompile(`\$\{env:([A-Z0-9_]+)(:-[^}]*)?\}`)

// requiredEnv is every variable the configuration needs: its ${env:...} references without a
// default, plus DATABRICKS_HOST, which the Databricks SDK reads itself.
func requiredEnv(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile(configFile)
	require.NoError(t, err)
	vars := []string{"DATABRICKS_HOST"}
	for _, m := range envReference.FindAllStringSubmatch(string(raw), -1) {
		if m[2] == "" && !slices.Contains(vars, m[1]) {
			vars = append(vars, m[1])
		}
	}
	require.Greater(t, len(vars), 1)
	return vars
}

// TestSidecarManifest checks the Kubernetes sidecar against the shipped configuration.
func TestSidecarManifest(t *testing.T) {
	docs := yamlDocuments(t, sidecarFile)
	byKind := map[string]map[string]any{}
	for _, d := range docs {
		byKind[d["kind"].(string)] = d
	}
	require.Contains(t, byKind, "ConfigMap")
	require.Contains(t, byKind, "Deployment")
	require.Contains(t, byKind, "PersistentVolumeClaim")

	var embedded, shipped any
	require.NoError(t, yaml.Unmarshal([]byte(dig[string](t, byKind["ConfigMap"], "data", "config.yaml")), &embedded))
	readYAML(t, configFile, &shipped)
	assert.Equal(t, shipped, embedded, "the ConfigMap of %s differs from %s", sidecarFile, configFile)

	type container struct {
		Name    string `yaml:"name"`
		Env     []struct{ Name string }
		EnvFrom []struct {
			SecretRef *struct{ Name string } `yaml:"secretRef"`
		} `yaml:"envFrom"`
		Ports []struct {
			Name          string
			ContainerPort int `yaml:"containerPort"`
		}
		LivenessProbe  map[string]any `yaml:"livenessProbe"`
		ReadinessProbe map[string]any `yaml:"readinessProbe"`
		VolumeMounts   []struct {
			Name      string
			MountPath string `yaml:"mountPath"`
		} `yaml:"volumeMounts"`
		SecurityContext struct {
			AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
			ReadOnlyRootFilesystem   bool  `yaml:"readOnlyRootFilesystem"`
		} `yaml:"securityContext"`
	}
	var pod struct {
		Spec struct {
			Template struct {
				Spec struct {
					SecurityContext struct {
						RunAsNonRoot bool `yaml:"runAsNonRoot"`
					} `yaml:"securityContext"`
					Containers []container
					Volumes    []struct {
						Name                  string
						ConfigMap             *struct{ Name string } `yaml:"configMap"`
						PersistentVolumeClaim *struct {
							ClaimName string `yaml:"claimName"`
						} `yaml:"persistentVolumeClaim"`
					}
				}
			}
		}
	}
	raw, err := yaml.Marshal(byKind["Deployment"])
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(raw, &pod))
	spec := pod.Spec.Template.Spec
	assert.True(t, spec.SecurityContext.RunAsNonRoot)
	require.Len(t, spec.Containers, 2, "the collector runs next to a workload")
	idx := slices.IndexFunc(spec.Containers, func(c container) bool { return c.Name == "otelcol-databricks" })
	require.GreaterOrEqual(t, idx, 0)
	collector := spec.Containers[idx]

	var env []string
	for _, e := range collector.Env {
		env = append(env, e.Name)
	}
	require.Len(t, collector.EnvFrom, 1)
	require.NotNil(t, collector.EnvFrom[0].SecretRef, "credentials come from a Secret")
	for _, v := range requiredEnv(t) {
		assert.Contains(t, env, v, "%s must be set for the configuration", v)
	}
	assert.NotContains(t, env, "DATABRICKS_TOKEN", "the token comes from the Secret, not a literal")

	ports := map[string]int{}
	for _, p := range collector.Ports {
		ports[p.Name] = p.ContainerPort
	}
	assert.Equal(t, 8889, ports["metrics"])
	assert.Equal(t, 13133, ports["health"])
	assert.NotEmpty(t, collector.LivenessProbe)
	assert.NotEmpty(t, collector.ReadinessProbe)
	require.NotNil(t, collector.SecurityContext.AllowPrivilegeEscalation)
	assert.False(t, *collector.SecurityContext.AllowPrivilegeEscalation)
	assert.True(t, collector.SecurityContext.ReadOnlyRootFilesystem)

	mounts := map[string]string{}
	for _, m := range collector.VolumeMounts {
		mounts[m.MountPath] = m.Name
	}
	require.Contains(t, mounts, stateDir)
	require.Contains(t, mounts, filepath.Dir(configPath))
	for _, v := range spec.Volumes {
		switch v.Name {
		case mounts[stateDir]:
			require.NotNil(t, v.PersistentVolumeClaim, "state lives on a PersistentVolumeClaim")
			assert.Equal(t, dig[string](t, byKind["PersistentVolumeClaim"], "metadata", "name"), v.PersistentVolumeClaim.ClaimName)
		case mounts[filepath.Dir(configPath)]:
			require.NotNil(t, v.ConfigMap)
			assert.Equal(t, dig[string](t, byKind["ConfigMap"], "metadata", "name"), v.ConfigMap.Name)
		}
	}
}

// TestHelmChart checks the chart's files and that its default configuration is the shipped
// one. Rendering is left to the real helm (see deploy/README.md).
func TestHelmChart(t *testing.T) {
	var chart struct {
		APIVersion string `yaml:"apiVersion"`
		Name       string `yaml:"name"`
		Version    string `yaml:"version"`
		AppVersion string `yaml:"appVersion"`
	}
	readYAML(t, filepath.Join(chartDir, "Chart.yaml"), &chart)
	assert.Equal(t, "v2", chart.APIVersion)
	assert.Equal(t, "otelcol-databricks", chart.Name)
	assert.NotEmpty(t, chart.Version)
	assert.NotEmpty(t, chart.AppVersion)

	var values, example struct {
		Mode   string `yaml:"mode"`
		Config any    `yaml:"config"`
	}
	readYAML(t, filepath.Join(chartDir, "values.yaml"), &values)
	readYAML(t, filepath.Join(chartDir, "values-example.yaml"), &example)
	var shipped any
	readYAML(t, configFile, &shipped)
	assert.Equal(t, shipped, values.Config, "values.yaml config differs from %s", configFile)
	assert.Equal(t, "statefulset", values.Mode)
	assert.NotEmpty(t, example.Config)

	for _, f := range []string{"_helpers.tpl", "configmap.yaml", "statefulset.yaml", "service.yaml", "serviceaccount.yaml", "opentelemetrycollector.yaml", "NOTES.txt"} {
		assert.FileExists(t, filepath.Join(chartDir, "templates", f))
	}
	helpers, err := os.ReadFile(filepath.Join(chartDir, "templates", "_helpers.tpl"))
	require.NoError(t, err)
	for _, v := range requiredEnv(t) {
		assert.Contains(t, string(helpers), "- name: "+v, "the chart must set %s for the configuration", v)
	}
	statefulset, err := os.ReadFile(filepath.Join(chartDir, "templates", "statefulset.yaml"))
	require.NoError(t, err)
	assert.Contains(t, string(statefulset), "mountPath: "+stateDir)
	assert.Contains(t, string(statefulset), `--config=`+configPath)
}

// unitDirectives reads a systemd unit into directive -> values (a directive may repeat).
func unitDirectives(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	directives := map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "[") {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		require.True(t, ok, "%s: not a directive: %q", path, line)
		directives[key] = append(directives[key], value)
	}
	require.NoError(t, sc.Err())
	return directives
}

func TestSystemdUnit(t *testing.T) {
	d := unitDirectives(t, unitFile)
	for key, want := range map[string]string{
		"DynamicUser":           "yes",
		"StateDirectory":        "otelcol-databricks",
		"StateDirectoryMode":    "0700",
		"ProtectSystem":         "strict",
		"ProtectHome":           "yes",
		"NoNewPrivileges":       "yes",
		"PrivateTmp":            "yes",
		"PrivateDevices":        "yes",
		"CapabilityBoundingSet": "",
		"EnvironmentFile":       "/etc/otelcol-databricks/otelcol-databricks.env",
		"ExecStart":             "/usr/bin/otelcol-databricks --config=" + configPath,
	} {
		assert.Equal(t, []string{want}, d[key], "%s in %s", key, unitFile)
	}
	// The state directory systemd creates is the one file_storage uses.
	assert.Equal(t, stateDir, "/var/lib/"+d["StateDirectory"][0])

	env := envFileNames(t, envExampleFile)
	for _, v := range requiredEnv(t) {
		assert.Contains(t, env, v, "%s must set %s", envExampleFile, v)
	}
}

func envFileNames(t *testing.T, path string) []string {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var names []string
	for _, line := range strings.Split(string(raw), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, _, ok := strings.Cut(line, "=")
		require.True(t, ok, "%s: not NAME=value: %q", path, line)
		names = append(names, name)
	}
	return names
}

// TestSystemdUnitVerifies runs systemd-analyze on the unit (with ExecStart pointed at a binary
// that exists here), which rejects unknown directives and bad values.
func TestSystemdUnitVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed (package systemd)")
	}
	raw, err := os.ReadFile(unitFile)
	require.NoError(t, err)
	trueBin, err := exec.LookPath("true")
	require.NoError(t, err)
	unit := strings.ReplaceAll(string(raw), "/usr/bin/otelcol-databricks", trueBin)
	path := filepath.Join(t.TempDir(), filepath.Base(unitFile))
	require.NoError(t, os.WriteFile(path, []byte(unit), 0o600))
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	require.NoError(t, err, "systemd-analyze verify:\n%s", out)
	assert.Empty(t, strings.TrimSpace(string(out)), "systemd-analyze verify reported problems")
}

func TestDockerfile(t *testing.T) {
	raw, err := os.ReadFile(dockerfile)
	require.NoError(t, err)
	text := string(raw)
	assert.Regexp(t, `(?m)^FROM .*golang:\$\{GO_VERSION\} AS build$`, text)
	assert.Regexp(t, `(?m)^ARG GO_VERSION=1\.26$`, text)
	assert.Regexp(t, `(?m)^FROM gcr\.io/distroless/static-debian12:nonroot$`, text)
	assert.Regexp(t, `(?m)^USER 65532:65532$`, text)
	assert.Contains(t, text, "COPY "+configFileFromRoot()+" "+configPath)
	assert.Contains(t, text, "cd cmd/otelcol-databricks && ")
	// Every path the image build copies from the repository must exist.
	for _, m := range regexp.MustCompile(`(?m)^COPY ((?:--\S+ )*)(\S+) `).FindAllStringSubmatch(text, -1) {
		if strings.Contains(m[1], "--from=") || m[2] == "." {
			continue // another stage's files, or the whole context
		}
		assert.FileExists(t, filepath.Join("..", m[2]), "COPY source %s", m[2])
	}
}

func configFileFromRoot() string { return "deploy/" + configFile }

// dig walks nested YAML maps.
func dig[T any](t *testing.T, m map[string]any, keys ...string) T {
	t.Helper()
	var cur any = m
	for _, k := range keys {
		mm, ok := cur.(map[string]any)
		require.True(t, ok, "%v: not a map at %q", keys, k)
		cur = mm[k]
	}
	v, ok := cur.(T)
	require.True(t, ok, "%v: unexpected type %T", keys, cur)
	return v
}
