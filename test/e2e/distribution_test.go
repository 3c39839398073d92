//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// builderManifest is the part of builder-config.yaml that lists components.
type builderManifest struct {
	Receivers  []builderModule `yaml:"receivers"`
	Processors []builderModule `yaml:"processors"`
	Exporters  []builderModule `yaml:"exporters"`
	Connectors []builderModule `yaml:"connectors"`
	Extensions []builderModule `yaml:"extensions"`
}

type builderModule struct {
	GoMod  string `yaml:"gomod"`
	Import string `yaml:"import"`
}

// componentsOutput is what `otelcol-databricks components` prints.
type componentsOutput struct {
	Receivers  []listedComponent `yaml:"receivers"`
	Processors []listedComponent `yaml:"processors"`
	Exporters  []listedComponent `yaml:"exporters"`
	Connectors []listedComponent `yaml:"connectors"`
	Extensions []listedComponent `yaml:"extensions"`
}

type listedComponent struct {
	Name   string `yaml:"name"`
	Module string `yaml:"module"`
}

func TestComponentsMatchManifest(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot, "builder-config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var manifest builderManifest
	if err := yaml.Unmarshal(raw, &manifest); err != nil {
		t.Fatal(err)
	}
	out, err := runCollectorCommand(t, "components")
	if err != nil {
		t.Fatalf("components: %v\n%s", err, out)
	}
	var listed componentsOutput
	if err := yaml.Unmarshal([]byte(out), &listed); err != nil {
		t.Fatalf("components output is not YAML: %v\n%s", err, out)
	}

	kinds := []struct {
		kind   string
		want   []builderModule
		listed []listedComponent
	}{
		{"receivers", manifest.Receivers, listed.Receivers},
		{"processors", manifest.Processors, listed.Processors},
		{"exporters", manifest.Exporters, listed.Exporters},
		{"connectors", manifest.Connectors, listed.Connectors},
		{"extensions", manifest.Extensions, listed.Extensions},
	}
	for _, k := range kinds {
		modules := map[string]bool{}
		for _, c := range k.listed {
			modules[strings.Fields(c.Module + " ")[0]] = true
		}
		for _, m := range k.want {
			module := strings.Fields(m.GoMod)[0]
			if m.Import != "" {
				module = m.Import
			}
			if !modules[module] && !modules[strings.Fields(m.GoMod)[0]] {
				t.Errorf("%s: %s is in builder-config.yaml but not in `components`", k.kind, module)
			}
		}
		if len(k.listed) < len(k.want) {
			t.Errorf("%s: builder-config.yaml lists %d, the binary %d", k.kind, len(k.want), len(k.listed))
		}
	}

	// The types the distribution promises (DESIGN §4), by the names `components` prints.
	required := map[string][]string{
		"receivers":  {"otlp", "prometheus", "file_log", "kafka"},
		"processors": {"batch", "memory_limiter", "transform", "filter", "attributes", "resource", "redaction"},
		"exporters": {"debug", "otlp_grpc", "otlp_http", "file", "prometheus", "prometheus_remote_write",
			"awsemf", "awscloudwatchlogs", "azure_monitor", "load_balancing", "kafka"},
		"extensions": {"file_storage", "health_check", "pprof", "zpages", "bearertokenauth"},
	}
	names := map[string][]listedComponent{
		"receivers": listed.Receivers, "processors": listed.Processors,
		"exporters": listed.Exporters, "extensions": listed.Extensions,
	}
	for kind, want := range required {
		have := map[string]bool{}
		for _, c := range names[kind] {
			have[c.Name] = true
		}
		for _, name := range want {
			if !have[name] {
				t.Errorf("%s: %q missing from `components`", kind, name)
			}
		}
	}
}

// collectorConfigs lists every collector config we ship: configs/**/*.yaml except the simulator
// scenarios under configs/sim, which are not collector configs.
func collectorConfigs(t *testing.T) []string {
	t.Helper()
	var files []string
	root := filepath.Join(repoRoot, "configs")
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "sim" {
			return filepath.SkipDir
		}
		if !d.IsDir() && regexp.MustCompile(`\.ya?ml$`).MatchString(d.Name()) {
			rel, _ := filepath.Rel(repoRoot, path)
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	if len(files) == 0 {
		t.Fatal("no collector configs found under configs/")
	}
	return files
}

func TestShippedConfigsValidate(t *testing.T) {
	for _, cfg := range collectorConfigs(t) {
		t.Run(cfg, func(t *testing.T) {
			out, err := runCollectorCommand(t, "validate", "--config", cfg)
			if err != nil {
				t.Fatalf("validate %s: %v\n%s", cfg, err, out)
			}
		})
	}
}

func TestValidateRejectsBrokenConfig(t *testing.T) {
	broken := filepath.Join(t.TempDir(), "broken.yaml")
	cfg := `
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:0
exporters:
  debug:
    verbosity: loud
service:
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [debug]
`
	if err := os.WriteFile(broken, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := runCollectorCommand(t, "validate", "--config", broken)
	if err == nil {
		t.Fatalf("validate accepted an invalid verbosity:\n%s", out)
	}
	if !strings.Contains(out, "verbosity") {
		t.Errorf("the error does not name the key:\n%s", out)
	}
}
